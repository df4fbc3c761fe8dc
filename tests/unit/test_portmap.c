// SPDX-License-Identifier: GPL-2.0
/*
 * The port map (include/synguard.h, struct sg_port_map): one byte per
 * port, the protected bit and the kind bits side by side, written read-
 * modify-write by the port list (config ports=) and by the kinds (run's
 * scan). Each SYN below names the exact verdict and counters of a port's
 * state, and each rewrite of one part of the map must leave the other
 * part as it was.
 */
#include <stdio.h>

#include <linux/bpf.h>

#include "harness.h"

/* 80 has a listener (harness); nothing listens on P_NAT. */
#define P_NAT 8099
#define P_OTHER 8098

static void syn_to(const char *what, int family, int dport, int verdict,
		   int counter)
{
	struct pkt_spec s;
	char name[160];

	pkt_spec_init(&s, family);
	s.dport = dport;
	snprintf(name, sizeof(name), "IPv%d SYN to %s", family, what);
	if (verdict == XDP_TX)
		spec_untouched2(name, &s, XDP_TX, SG_CNT_SYN_RECEIVED, counter);
	else if (counter == SG_CNT_OTHER_PASS)
		expect_spec_untouched(name, &s, XDP_PASS, counter);
	else
		expect_syn_untouched(name, &s, counter);
}

void test_port_map(void)
{
	const int prot[] = {80, P_NAT};
	int family;

	config_defaults();
	put_port_bits(SG_PORT_PASS, NULL, 0);
	put_port_bits(SG_PORT_PROXY, NULL, 0);
	put_ports(prot, 2);
	for (family = 4; family <= 6; family += 2) {
		syn_to("a protected local port -> SYN-ACK", family, 80, XDP_TX,
		       SG_CNT_SYNACK_SENT);
		syn_to("a protected nat port without --synproxy -> pass",
		       family, P_NAT, XDP_PASS, SG_CNT_SYN_NO_LISTENER_PASS);
	}

	/* The scan marks 80 local+nat: its SYNs pass, it stays protected. */
	put_port_bits(SG_PORT_PASS, (const int[]){80}, 1);
	for (family = 4; family <= 6; family += 2)
		syn_to("a protected local+nat port -> pass", family, 80,
		       XDP_PASS, SG_CNT_SYN_LOCAL_NAT_PASS);
	/* --synproxy nat marks P_NAT: both families get the kernel's raw
	 * cookie (the own engine; bpf/kengine.h, sg_proxied). */
	put_port_bits(SG_PORT_PROXY, (const int[]){P_NAT}, 1);
	for (family = 4; family <= 6; family += 2)
		syn_to("a protected nat port with --synproxy -> SYNPROXY SYN-ACK",
		       family, P_NAT, XDP_TX, SG_CNT_SYN_PROXY_COOKIE);
	/* The kind of one port is not another's: 80 is pass, not proxy. */
	syn_to("a protected local+nat port, synproxy elsewhere -> pass", 4, 80,
	       XDP_PASS, SG_CNT_SYN_LOCAL_NAT_PASS);

	/* config ports= drops P_NAT: kind bits alone protect nothing. */
	put_ports((const int[]){80}, 1);
	syn_to("an unprotected port that keeps its proxy bit -> other_pass", 4,
	       P_NAT, XDP_PASS, SG_CNT_OTHER_PASS);
	put_port_bits(SG_PORT_PASS, (const int[]){80, P_OTHER}, 2);
	syn_to("an unprotected local+nat port -> other_pass", 4, P_OTHER,
	       XDP_PASS, SG_CNT_OTHER_PASS);
	/* ... and keeps the kinds the scan wrote: 80 still passes. */
	for (family = 4; family <= 6; family += 2)
		syn_to("a local+nat port after config ports= -> pass", family,
		       80, XDP_PASS, SG_CNT_SYN_LOCAL_NAT_PASS);
	/* Added back, P_NAT comes with its proxy bit in the same write. */
	put_ports(prot, 2);
	syn_to("a nat port config added back -> SYNPROXY SYN-ACK", 4, P_NAT,
	       XDP_TX, SG_CNT_SYN_PROXY_COOKIE);

	/* The scan clears the kinds: the protected set stays. */
	put_port_bits(SG_PORT_PASS, NULL, 0);
	put_port_bits(SG_PORT_PROXY, NULL, 0);
	for (family = 4; family <= 6; family += 2) {
		syn_to("a port that is local again -> SYN-ACK", family, 80,
		       XDP_TX, SG_CNT_SYNACK_SENT);
		syn_to("a nat port without --synproxy again -> pass", family,
		       P_NAT, XDP_PASS, SG_CNT_SYN_NO_LISTENER_PASS);
	}
	put_ports((const int[]){80, 443}, 2);
	config_defaults();
}
