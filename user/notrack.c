// SPDX-License-Identifier: GPL-2.0
/*
 * The nftables table that keeps conntrack off handed-off handshake ACKs.
 *
 * On a host with conntrack, any NAT rule and nf_conntrack_tcp_loose=1 (every
 * Docker and kube-proxy host), conntrack picks up a handed-off ACK as a new
 * mid-stream flow, and NAT's LOCAL_IN hook then takes the request socket
 * the handoff assigned away from it: the kernel answers with a RST
 * (doc/design.md, "NAT hosts"). The TC program marks those ACKs with
 * SG_NOTRACK_PRIORITY; this table, one per interface and ours alone,
 * matches the mark on that interface before conntrack, clears it and sets
 * notrack. Nothing else is touched: no other table is read or changed.
 *
 * nft is run as a program (`nft -f -`): its error messages are the ones a
 * user can act on, and one script is one atomic transaction.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sg.h"

#define NFT_OUT_MAX 1024
/* Present in every network namespace while conntrack is in the kernel. */
#define CONNTRACK_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_max"

void sg_notrack_name(int ifindex, char *buf, size_t len)
{
	snprintf(buf, len, SG_NFT_TABLE_FMT, ifindex);
}

static int nft(const char *script, const char *const args[], char *out,
	       size_t outlen)
{
	const char *argv[8] = {"nft"};
	char *res;
	int i, rc;

	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	rc = sg_run_tool(argv, script, true, &res);
	snprintf(out, outlen, "%s", res ? res : "");
	free(res);
	return rc;
}

static void nft_missing(const char *what)
{
	sg_err("nft (nftables) not found: synguard needs it to %s on a host with conntrack; install it (apt-get install nftables) and try again",
	       what);
}

/*
 * Is conntrack in this kernel? A module that is not loaded is loaded now:
 * the XDP program's conntrack lookups resolve only against a kernel that
 * has it when it loads, and a container runtime started later would load
 * it anyway. Loading it tracks nothing until a rule asks for it.
 */
bool sg_conntrack_present(void)
{
	const char *const modprobe[] = {"modprobe", "-q", "nf_conntrack", NULL};
	char *out;

	if (!access(CONNTRACK_SYSCTL, F_OK))
		return true;
	sg_run_tool(modprobe, NULL, true, &out);
	free(out);
	return !access(CONNTRACK_SYSCTL, F_OK);
}

/* Room for the ports of a synproxy set: about 5000 ranges. */
#define PROXY_LIST_MAX 65536

/*
 * The elements of the synproxy set as nft writes them ("8080, 30000-30010",
 * from sg_ports_fmt's commas), into buf; -1 (said) if they do not fit.
 */
static int proxy_elements(const struct sg_ports *ports, char *buf, size_t len)
{
	size_t n;

	sg_ports_fmt(ports, buf, len);
	n = strlen(buf);
	if (n >= 3 && !strcmp(buf + n - 3, "...")) {
		sg_err("too many separate port ranges for the SYNPROXY set: give --ports as fewer ranges");
		return -1;
	}
	return 0;
}

/*
 * A SYNPROXY set of ports and its chain on hook (input: translated ports,
 * forward: routed ones), appended to the script at *n. -1 (said) if the
 * ports do not fit.
 */
static int proxy_chain(char *script, size_t len, int *n, const char *set,
		       const char *chain, const char *hook,
		       const struct sg_ports *ports, const char *iface,
		       const struct sg_synproxy *sp)
{
	char *elems = malloc(PROXY_LIST_MAX);
	int rc = -1;

	if (!elems) {
		sg_err("out of memory");
		return -1;
	}
	if (!proxy_elements(ports, elems, PROXY_LIST_MAX) && *n < (int)len) {
		/* One line of the script a line. */
		/* clang-format off */
		*n += snprintf(
			script + *n, len - *n,
			"\tset %s {\n"
			"\t\ttype inet_service; flags interval;\n"
			"%s%s%s"
			"\t}\n"
			"\tchain %s {\n"
			"\t\ttype filter hook %s priority filter - 10; policy accept;\n"
			"\t\tiif \"%s\" tcp dport @%s ct state invalid synproxy mss %u wscale %u timestamp sack-perm\n"
			"\t}\n",
			set, elems[0] ? "\t\telements = { " : "", elems,
			elems[0] ? " }\n" : "", chain, hook, iface, set, sp->mss,
			sp->wscale);
		/* clang-format on */
		rc = 0;
	}
	free(elems);
	return rc;
}

/*
 * One set's lines of chain proxy_mark: a SYN of SYNPROXY's own to a flow it
 * marked before, once the backend has answered, goes no further; then the
 * mark on a new one.
 */
/* clang-format off */
#define PROXY_MARK_RULE                                                        \
	"\t\ttcp flags & (syn|ack) == syn fib saddr type != local ct original proto-dst @%s ct mark & 0x%08x == 0x%08x ct status & seen-reply == seen-reply counter name \"" SG_NFT_HELD_COUNTER "\" drop\n" \
	"\t\ttcp flags & (syn|ack) == syn fib saddr type != local ct original proto-dst @%s ct mark set ct mark | 0x%08x\n"
/* clang-format on */
/*
 * One set's line of chain proxy_hold. The port set keeps a flow that other
 * software marked with the same bit to any other port out of it.
 */
/* clang-format off */
#define PROXY_HOLD_RULE                                                        \
	"\t\tiif \"%s\" meta l4proto tcp ct direction original ct original proto-dst @%s ct mark & 0x%08x == 0x%08x ct status & seen-reply == seen-reply ct status & 0x40 == 0 counter name \"" SG_NFT_HELD_COUNTER "\" drop\n"
/*
 * The same for a segment XDP tagged (SG_HOLD_PRIORITY): XDP saw the flow
 * before its sequence translation was set up, so conntrack, which ran
 * later, may have judged it before that too, whatever the flow shows now.
 */
#define PROXY_HOLD_TAGGED_RULE                                                 \
	"\t\tiif \"%s\" meta priority %04x:%04x meta l4proto tcp ct direction original ct original proto-dst @%s ct mark & 0x%08x == 0x%08x ct status & seen-reply == seen-reply counter name \"" SG_NFT_HELD_COUNTER "\" drop\n"
/* The tag has done its work: the priority goes back to 0. */
#define PROXY_HOLD_UNTAG_RULE                                                  \
	"\t\tiif \"%s\" meta priority %04x:%04x meta priority set 0\n"
/* clang-format on */

/*
 * SYNPROXY's races (doc/design.md, "SYNPROXY for translated ports"):
 * - once conntrack has seen the backend's SYN-ACK (seen-reply) and before
 *   SYNPROXY's hook has set up the sequence adjustment (IPS_SEQ_ADJUST,
 *   0x40), a client segment would reach the backend unadjusted and be
 *   reset;
 * - the hold rule runs after conntrack. A segment conntrack judged before
 *   the adjustment was set up, against the backend's numbers, is ignored
 *   there (not recorded); if the adjustment is set by the time the rule
 *   looks, the segment goes on, and conntrack takes the backend's ACK of
 *   it for invalid: not translated back, the host resets it. XDP looks
 *   before conntrack: it tags a segment of a marked flow it saw without
 *   the adjustment (SG_HOLD_PRIORITY, either engine), and the rule holds a
 *   tagged segment once the reply was seen, whatever it sees now;
 * - a client data segment that conntrack still finds in SYN_SENT (invalid)
 *   carries the cookie too, and SYNPROXY sends the backend a second SYN.
 *   If that SYN leaves after the backend's SYN-ACK was handled, conntrack
 *   takes the backend's answer to it for a reopened connection (SYN_RECV
 *   again) and SYNPROXY handles it a second time: its second ACK to the
 *   backend is adjusted twice, and the backend resets it.
 * SYNPROXY's own SYN to the backend (a non-local source, leaving through
 * OUTPUT) marks its flow. A client segment of a marked flow in the first
 * moment is dropped before NAT; a second SYN of a marked flow whose reply
 * was seen is dropped in OUTPUT. The client sends its segment again, by
 * then into the established flow. The named counter shows how often
 * either happened (status).
 */
static int hold_chains(char *script, size_t len, const char *iface, bool gw)
{
	const char *sets[] = {SG_NFT_NAT_SET, SG_NFT_GATEWAY_SET};
	int nsets = gw ? 2 : 1, n, i;

	/* One line of the script a line. */
	/* clang-format off */
	n = snprintf(script, len,
		"\tcounter " SG_NFT_HELD_COUNTER " {\n\t}\n"
		"\tchain proxy_mark {\n"
		"\t\ttype filter hook output priority filter; policy accept;\n");
	for (i = 0; i < nsets && n < (int)len; i++)
		n += snprintf(script + n, len - n, PROXY_MARK_RULE, sets[i],
			      SG_PROXY_CT_MARK, SG_PROXY_CT_MARK, sets[i],
			      SG_PROXY_CT_MARK);
	if (n < (int)len)
		n += snprintf(script + n, len - n,
			"\t}\n"
			"\tchain proxy_hold {\n"
			"\t\ttype filter hook prerouting priority mangle; policy accept;\n");
	for (i = 0; i < nsets && n < (int)len; i++) {
		n += snprintf(script + n, len - n, PROXY_HOLD_RULE, iface,
			      sets[i], SG_PROXY_CT_MARK, SG_PROXY_CT_MARK);
		if (n < (int)len)
			n += snprintf(script + n, len - n,
				      PROXY_HOLD_TAGGED_RULE, iface,
				      SG_HOLD_PRIORITY >> 16,
				      SG_HOLD_PRIORITY & 0xffff, sets[i],
				      SG_PROXY_CT_MARK, SG_PROXY_CT_MARK);
	}
	if (n < (int)len)
		n += snprintf(script + n, len - n, PROXY_HOLD_UNTAG_RULE "\t}\n",
			      iface, SG_HOLD_PRIORITY >> 16,
			      SG_HOLD_PRIORITY & 0xffff);
	/* clang-format on */
	return n;
}

int sg_notrack_install(const char *iface, int ifindex,
		       const struct sg_synproxy *sp)
{
	char name[32], out[NFT_OUT_MAX], *script;
	const char *const args[] = {"-f", "-", NULL};
	/* The table, and two port sets at their largest. */
	size_t len = 2 * PROXY_LIST_MAX + 2048;
	int rc = -1, n;

	if (!sg_conntrack_present()) {
		if (sp) {
			sg_err("%s: --synproxy needs conntrack and netfilter's SYNPROXY in the kernel (nf_conntrack, nft_synproxy), and this kernel has no conntrack",
			       iface);
			return -1;
		}
		return 0;
	}
	script = malloc(len);
	if (!script) {
		sg_err("out of memory");
		return -1;
	}
	sg_notrack_name(ifindex, name, sizeof(name));
	/*
	 * Create-then-delete first: a table of this name is ours, left by an
	 * attach that was killed; the whole script is one transaction.
	 * priority raw (-300) runs before conntrack (-200).
	 */
	/* One line of the script a line. */
	/* clang-format off */
	n = snprintf(
		script, len,
		"table inet %s {}\n"
		"delete table inet %s\n"
		"table inet %s {\n"
		"\tcomment \"synguard on %s: handed-off handshake ACKs skip "
		"conntrack\"\n"
		"\tchain handoff {\n"
		"\t\ttype filter hook prerouting priority raw; policy accept;\n"
		"\t\tiif \"%s\" meta priority %04x:%04x meta priority set 0 "
		"notrack\n"
		"\t}\n",
		name, name, name, iface, iface, SG_NOTRACK_PRIORITY >> 16,
		SG_NOTRACK_PRIORITY & 0xffff);
	/* clang-format on */
	/*
	 * --synproxy: a cookie ACK that XDP passed for a translated port is
	 * unknown to conntrack (tcp_loose 0: invalid), so NAT leaves it
	 * alone and it comes to INPUT, where SYNPROXY checks the cookie and
	 * opens the connection through NAT's OUTPUT hook to the backend
	 * (doc/design.md, "SYNPROXY for translated ports"). Before the
	 * filter chains, which may drop invalid packets. IPv6 too: TC
	 * verifies the ACK's checksum, which nftables' synproxy checks as if
	 * it were IPv4 (bpf/proxycsum.h).
	 * --gateway: a cookie ACK for a host behind this one is invalid too,
	 * and forwarded: SYNPROXY in FORWARD opens the connection to it.
	 */
	if (sp && proxy_chain(script, len, &n, SG_NFT_NAT_SET, "proxy", "input",
			      sp->ports, iface, sp))
		goto out;
	if (sp && sp->gateway &&
	    proxy_chain(script, len, &n, SG_NFT_GATEWAY_SET, "proxy_forward",
			"forward", sp->gateway, iface, sp))
		goto out;
	if (sp && n < (int)len)
		n += hold_chains(script + n, len - n, iface,
				 sp->gateway != NULL);
	if (n < (int)len)
		snprintf(script + n, len - n, "}\n");
	rc = nft(script, args, out, sizeof(out));
	if (rc == -ENOENT) {
		nft_missing(sp ? "hand connections to netfilter's SYNPROXY"
			       : "keep conntrack off handed-off connections");
		rc = -1;
	} else if (rc) {
		sg_err("cannot install nftables table inet %s: %s", name,
		       out[0] ? out : sg_strerr(rc));
		rc = -1;
	} else {
		rc = 1;
	}
out:
	free(script);
	return rc;
}

int sg_nft_ports_set(int ifindex, const char *set, const struct sg_ports *ports)
{
	char name[32], out[NFT_OUT_MAX], *script, *elems;
	const char *const args[] = {"-f", "-", NULL};
	size_t len = PROXY_LIST_MAX + 256;
	int rc = -1;

	script = malloc(len);
	elems = malloc(PROXY_LIST_MAX);
	if (!script || !elems || proxy_elements(ports, elems, PROXY_LIST_MAX))
		goto out;
	sg_notrack_name(ifindex, name, sizeof(name));
	snprintf(script, len, "flush set inet %s %s\n%s%s%s%s%s%s%s", name, set,
		 elems[0] ? "add element inet " : "", elems[0] ? name : "",
		 elems[0] ? " " : "", elems[0] ? set : "",
		 elems[0] ? " { " : "", elems, elems[0] ? " }\n" : "");
	rc = nft(script, args, out, sizeof(out));
	if (rc)
		sg_err("cannot update the SYNPROXY ports (set %s) in nftables table inet %s: %s",
		       set, name, out[0] ? out : sg_strerr(rc));
out:
	free(script);
	free(elems);
	return rc ? -1 : 0;
}

int sg_notrack_present(int ifindex)
{
	char name[32], out[NFT_OUT_MAX];
	const char *args[] = {"list", "table", "inet", name, NULL};
	int rc;

	sg_notrack_name(ifindex, name, sizeof(name));
	rc = nft(NULL, args, out, sizeof(out));
	if (rc < 0)
		return -1;
	return rc == 0;
}

long long sg_notrack_held(int ifindex)
{
	char name[32], out[NFT_OUT_MAX];
	const char *args[] = {"-j",   "list", "counter",
			      "inet", name,   SG_NFT_HELD_COUNTER,
			      NULL};
	long long packets = -1;
	json_t *root, *items, *it, *c;
	size_t i;

	sg_notrack_name(ifindex, name, sizeof(name));
	if (nft(NULL, args, out, sizeof(out)))
		return -1;
	root = json_loads(out, 0, NULL);
	items = json_object_get(root, "nftables");
	json_array_foreach(items, i, it)
	{
		c = json_object_get(it, "counter");
		if (json_is_integer(json_object_get(c, "packets")))
			packets = json_integer_value(
				json_object_get(c, "packets"));
	}
	json_decref(root);
	return packets;
}

int sg_notrack_remove(int ifindex)
{
	char name[32], out[NFT_OUT_MAX];
	const char *args[] = {"delete", "table", "inet", name, NULL};
	int rc;

	sg_notrack_name(ifindex, name, sizeof(name));
	rc = nft(NULL, args, out, sizeof(out));
	if (rc == -ENOENT)
		return 0; /* no nft: attach could not have made the table */
	if (rc && strstr(out, "No such file or directory"))
		return 0;
	if (rc) {
		sg_err("cannot remove nftables table inet %s: %s", name,
		       out[0] ? out : sg_strerr(rc));
		return -1;
	}
	return 1;
}
