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

int sg_notrack_install(const char *iface, int ifindex)
{
	char name[32], script[1024], out[NFT_OUT_MAX];
	const char *const args[] = {"-f", "-", NULL};
	int rc;

	if (!sg_conntrack_present())
		return 0;
	sg_notrack_name(ifindex, name, sizeof(name));
	/*
	 * Create-then-delete first: a table of this name is ours, left by an
	 * attach that was killed; the whole script is one transaction.
	 * priority raw (-300) runs before conntrack (-200).
	 */
	/* clang-format off: one line of the script a line */
	snprintf(
		script, sizeof(script),
		"table inet %s {}\n"
		"delete table inet %s\n"
		"table inet %s {\n"
		"\tcomment \"synguard on %s: handed-off handshake ACKs skip "
		"conntrack\"\n"
		"\tchain handoff {\n"
		"\t\ttype filter hook prerouting priority raw; policy accept;\n"
		"\t\tiif \"%s\" meta priority %04x:%04x meta priority set 0 "
		"notrack\n"
		"\t}\n"
		"}\n",
		name, name, name, iface, iface, SG_NOTRACK_PRIORITY >> 16,
		SG_NOTRACK_PRIORITY & 0xffff);
	/* clang-format on */
	rc = nft(script, args, out, sizeof(out));
	if (rc == -ENOENT) {
		nft_missing("keep conntrack off handed-off connections");
		return -1;
	}
	if (rc) {
		sg_err("cannot install nftables table inet %s: %s", name,
		       out[0] ? out : sg_strerr(rc));
		return -1;
	}
	return 1;
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
