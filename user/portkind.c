// SPDX-License-Identifier: GPL-2.0
/*
 * What each protected port is on this host: a local listener, a DNAT
 * target, both, or nothing. The XDP program decides per SYN from the
 * socket lookup alone (a port without a listener passes,
 * syn_no_listener_pass); this tells the user beforehand, and names the
 * one case the lookup cannot see through: a local listener on a port
 * that NAT also translates (doc/design.md, "Ports by kind").
 *
 * Everything is read in the caller's network namespace, which is the
 * interface's: /proc/net/tcp{,6} for listeners here, NAT rules in
 * natrules.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "sg.h"

const char *const sg_port_kind_names[SG_PK_MAX] = {
	[SG_PK_LOCAL] = "local",
	[SG_PK_NAT] = "nat",
	[SG_PK_NOTHING] = "nothing",
	[SG_PK_LOCAL_NAT] = "local+nat",
};

/* What a port of each kind gets: attach's warnings, run's lines. */
const char *const sg_port_kind_gets[SG_PK_MAX] = {
	[SG_PK_LOCAL] = "a local listener: protected (SYN cookies, handoff to the listener)",
	[SG_PK_NAT] = "no local listener, translated by a DNAT rule (Docker, kube-proxy): SYNs and ACKs pass to the kernel untouched (syn_no_listener_pass, ack_conntrack_pass): never broken, but not protected",
	[SG_PK_NOTHING] = "nothing listening and no DNAT rule: SYNs pass to the kernel (syn_no_listener_pass), which resets them or forwards them to another host; a listener that starts later is protected from its first SYN",
	[SG_PK_LOCAL_NAT] =
		"a local listener AND a DNAT rule (Docker's userland proxy): SYNs pass to the kernel untouched (syn_local_nat_pass), since a handoff to the listener would be reset once NAT sends the rest of the connection elsewhere: never broken, but not protected; with dockerd --userland-proxy=false such a port is nat",
};

/* What a nat port gets with attach --synproxy nat. */
static const char nat_synproxy_gets[] =
	"no local listener, translated by a DNAT rule (Docker, kube-proxy): protected with --synproxy: SYN cookies at XDP (syn_proxy_cookie), and netfilter's SYNPROXY opens the connection to the backend";

const char *sg_port_kind_what(int kind, bool synproxy)
{
	return kind == SG_PK_NAT && synproxy ? nat_synproxy_gets
					     : sg_port_kind_gets[kind];
}

/* /proc/net/tcp's st column for TCP_LISTEN. */
#define PROC_LISTEN 0x0A

/*
 * Is the local address of a /proc/net/tcp{,6} line (hex, each 32-bit word
 * as this host stores it) loopback? A listener there never gets a packet
 * from a NIC, and the XDP program's lookup does not find it.
 */
static bool loopback(const char *hex)
{
	unsigned char a[16];
	size_t len = strlen(hex), i;
	char word[9] = {};
	__u32 v;

	if (len != 8 && len != 32)
		return false;
	for (i = 0; i < len / 8; i++) {
		memcpy(word, hex + i * 8, 8);
		v = strtoul(word, NULL, 16);
		memcpy(a + i * 4, &v, 4);
	}
	if (len == 8)
		return a[0] == 127;
	/* ::1, or ::ffff:127.x.y.z */
	return !memcmp(a, "\0\0\0\0\0\0\0\0\0\0", 10) &&
	       ((!memcmp(a + 10, "\0\0\0\0\0", 5) && a[15] == 1) ||
		(a[10] == 0xff && a[11] == 0xff && a[12] == 127));
}

/*
 * Listeners of this namespace, from one /proc/net file: on any address,
 * or on one address that is not loopback.
 */
static int listeners_read(const char *path, struct sg_ports *out)
{
	unsigned int port, state;
	char line[512], addr[33];
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		/* No IPv6 in this kernel: no tcp6 file, no IPv6 listener. */
		return errno == ENOENT ? 0 : -errno;
	/* "  sl  local_address rem_address   st ...", then one a socket. */
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x",
			   addr, &port, &state) == 3 &&
		    state == PROC_LISTEN && port && !loopback(addr))
			sg_port_set(out, port);
	fclose(f);
	return 0;
}

int sg_port_scan(struct sg_port_scan *scan)
{
	int err;

	memset(scan, 0, sizeof(*scan));
	err = listeners_read("/proc/net/tcp", &scan->listen);
	if (!err)
		err = listeners_read("/proc/net/tcp6", &scan->listen);
	if (err)
		return err;
	scan->nat_err = sg_nat_ports(&scan->nat);
	return 0;
}

void sg_port_classify(const struct sg_port_scan *scan,
		      const struct sg_ports *prot, struct sg_port_kinds *out)
{
	__u64 p, l, n;
	size_t w;
	int k;

	for (w = 0; w < ARRAY_SIZE(prot->bits); w++) {
		p = prot->bits[w];
		l = scan->listen.bits[w];
		n = scan->nat.bits[w];
		out->kind[SG_PK_LOCAL].bits[w] = p & l & ~n;
		out->kind[SG_PK_NAT].bits[w] = p & ~l & n;
		out->kind[SG_PK_NOTHING].bits[w] = p & ~l & ~n;
		out->kind[SG_PK_LOCAL_NAT].bits[w] = p & l & n;
		out->pass.bits[w] = l & n;
	}
	for (k = 0; k < SG_PK_MAX; k++)
		out->count[k] = sg_ports_count(&out->kind[k]);
}

const char *sg_port_list_fmt(const struct sg_ports *p, char *buf, size_t len)
{
	char list[96];
	unsigned int n = sg_ports_count(p);

	sg_ports_fmt(p, list, sizeof(list));
	if (n == 1)
		snprintf(buf, len, "port %s", list);
	else if (strpbrk(list, "-."))
		/* Ranges, or cut short: the count says how many. */
		snprintf(buf, len, "%u ports (%s)", n, list);
	else
		snprintf(buf, len, "ports %s", list);
	return buf;
}

void sg_port_kinds_warn(const char *iface, const struct sg_port_kinds *k,
			int nat_err, bool synproxy)
{
	char list[160];
	int kind;

	if (nat_err)
		sg_warn("%s: cannot read the NAT rules (`nft -j list ruleset`: %s): ports without a local listener are shown as nothing listening, whether NAT translates them or not",
			iface,
			nat_err == -ENOENT ? "nft not installed"
					   : sg_strerr(nat_err));
	for (kind = 0; kind < SG_PK_MAX; kind++)
		if (kind == SG_PK_NAT && synproxy && k->count[kind])
			printf("%s: %s: %s\n", iface,
			       sg_port_list_fmt(&k->kind[kind], list,
						sizeof(list)),
			       nat_synproxy_gets);
		else if (kind != SG_PK_LOCAL && k->count[kind])
			sg_warn("%s: %s: %s", iface,
				sg_port_list_fmt(&k->kind[kind], list,
						 sizeof(list)),
				sg_port_kind_gets[kind]);
}

int sg_port_kinds_check(const char *iface, const struct sg_ports *prot,
			struct sg_port_kinds *out, bool synproxy)
{
	struct sg_port_scan *scan = malloc(sizeof(*scan));
	int err = scan ? sg_port_scan(scan) : -ENOMEM;

	if (err) {
		sg_warn("%s: cannot tell which protected ports have a local listener (/proc/net/tcp): %s",
			iface, sg_strerr(err));
	} else {
		sg_port_classify(scan, prot, out);
		sg_port_kinds_warn(iface, out, scan->nat_err, synproxy);
	}
	free(scan);
	return err;
}
