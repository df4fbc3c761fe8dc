// SPDX-License-Identifier: GPL-2.0
/*
 * Monitor mode (`enforce off`, sg_config.monitor): every frame runs twice,
 * enforcing and not. Not enforcing, the verdict is XDP_PASS and the frame
 * comes back byte for byte as it went in, with no metadata in front; the
 * counters move exactly as they did while enforcing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "harness.h"

/* TcpExt NAME of this network namespace, or -1. */
static long long mo_netstat(const char *name)
{
	char head[4096], vals[4096], *hs, *vs, *h, *v;
	long long r = -1;
	FILE *f = fopen("/proc/net/netstat", "r");

	if (!f)
		return -1;
	while (fgets(head, sizeof(head), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(head, "TcpExt:", 7))
			continue;
		h = strtok_r(head, " \n", &hs);
		v = strtok_r(vals, " \n", &vs);
		while (h && v) {
			if (!strcmp(h, name)) {
				r = atoll(v);
				break;
			}
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(f);
	return r;
}

/*
 * Frame in[m] (m = 0 enforcing, 1 monitor; usually the same bytes) through
 * the program in both modes. While enforcing: the verdict want. In monitor
 * mode: XDP_PASS, the frame untouched, and the same counter deltas, of
 * which the one verdict counter is cnt. The
 * enforcing run into *enf, for cases that need its output.
 */
static void mo_frames(const char *name, uint8_t in[2][PKT_BUF_SIZE],
		      const int len[2], int want, int cnt, struct run *enf)
{
	int m, k, verdicts;
	struct run r[2];

	begin(name);
	if (len[0] <= 0 || len[1] <= 0) {
		fail("test bug: pkt_build failed");
		goto out;
	}
	for (m = 0; m < 2; m++) {
		cfg.monitor = m;
		put_config();
		if (run_prog(in[m], len[m], &r[m]))
			goto out;
	}
	expect_verdict(&r[0], want);
	expect_verdict(&r[1], XDP_PASS);
	/* data_out starts at data_meta: equal bytes mean no metadata. */
	expect_bytes(in[1], len[1], r[1].out, r[1].out_len);
	for (k = 0, verdicts = 0; k < SG_CNT_MAX; k++) {
		if (r[0].delta[k] != r[1].delta[k])
			fail("counter %s moved by %llu enforcing, %llu in monitor mode",
			     counter_names[k],
			     (unsigned long long)r[0].delta[k],
			     (unsigned long long)r[1].delta[k]);
		if (SG_CNT_IS_XDP_VERDICT(k))
			verdicts += r[1].delta[k];
	}
	if (verdicts != 1 || r[1].delta[cnt] != 1)
		fail("%d verdict counters moved in monitor mode, want 1: %s",
		     verdicts, counter_names[cnt]);
	if (enf)
		*enf = r[0];
out:
	cfg.monitor = 0;
	put_config();
	end();
}

/* mo_frames on s0 enforcing and s1 (NULL: s0 too) in monitor mode. */
static void mo_pair(const char *name, const struct pkt_spec *s0,
		    const struct pkt_spec *s1, int want, int cnt,
		    struct run *enf)
{
	uint8_t in[2][PKT_BUF_SIZE];
	int len[2];

	len[0] = pkt_build(s0, in[0], sizeof(in[0]));
	len[1] = pkt_build(s1 ? s1 : s0, in[1], sizeof(in[1]));
	mo_frames(name, in, len, want, cnt, enf);
}

/* The ACK completing syn's handshake, from the SYN-ACK the program sent. */
static int mo_ack_for(const struct pkt_spec *syn, const struct run *sa,
		      struct pkt_spec *ack)
{
	const uint8_t *tcp, *ts;
	struct pkt_offs o;
	int dlen;

	if (sa->verdict != XDP_TX || pkt_offsets(sa->out, sa->out_len, &o) ||
	    o.l4_off < 0)
		return -1;
	tcp = sa->out + o.l4_off;
	if (pkt_tcpopt_find(tcp, sa->out_len - o.l4_off, PKT_TCPOPT_TS, &ts,
			    &dlen) < 0 ||
	    dlen != 8)
		return -1;
	*ack = *syn;
	ack->tcp_flags = PKT_TCP_ACK;
	ack->seq = syn->seq + 1;
	ack->ack = pkt_be32(tcp + 4) + 1;
	ack->tcp_opts_len = 0;
	pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
	pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
	pkt_opt_ts(ack->tcp_opts, &ack->tcp_opts_len, 0x11223345, pkt_be32(ts));
	return 0;
}

static void mo_own_engine(void)
{
	const uint8_t deny[4] = TEST_DENY_NET;
	struct pkt_spec s, s1, ack;
	struct run sa = {}, r = {};
	uint8_t in[PKT_BUF_SIZE];
	int family, len;

	for (family = 4; family <= 6; family += 2) {
		char name[128];

		pkt_spec_linux_syn(&s, family, 0x01020304 + family);
		snprintf(
			name, sizeof(name),
			"IPv%d SYN with options: SYN-ACK enforcing, passed as is in monitor mode",
			family);
		mo_pair(name, &s, NULL, XDP_TX, SG_CNT_SYNACK_SENT, &sa);
		begin("the SYN-ACK has a cookie and a TSval to answer");
		if (mo_ack_for(&s, &sa, &ack))
			fail("no SYN-ACK with a timestamp to answer");
		end();
		if (case_errors)
			continue;
		len = pkt_build(&ack, in, sizeof(in));
		mo_pair("valid cookie ACK: cookie_ok in both modes", &ack, NULL,
			XDP_PASS, SG_CNT_COOKIE_OK, &r);
		begin("enforcing, the valid cookie ACK carried the handoff metadata");
		if (r.out_len != len + sizeof(struct sg_meta))
			fail("output %u bytes, want %zu (frame + metadata)",
			     r.out_len, len + sizeof(struct sg_meta));
		end();
	}

	/* A wrong TCP checksum: built right, then a bit of it flipped. */
	{
		uint8_t bad[2][PKT_BUF_SIZE];
		struct pkt_offs o;
		int blen[2] = {-1, -1};

		pkt_spec_linux_syn(&s, 4, 0x2000);
		blen[0] = pkt_build(&s, bad[0], sizeof(bad[0]));
		if (blen[0] > 0 && !pkt_offsets(bad[0], blen[0], &o)) {
			bad[0][o.l4_off + 17] ^= 0x40;
			memcpy(bad[1], bad[0], blen[0]);
			blen[1] = blen[0];
		}
		mo_frames(
			"SYN with a bad TCP checksum: syn_bad_csum in both modes",
			bad, blen, XDP_DROP, SG_CNT_SYN_BAD_CSUM, NULL);
	}

	pkt_spec_linux_syn(&s, 4, 0x3000);
	memset(s.eth_dst, 0xff, 6);
	mo_pair("broadcast SYN: syn_not_unicast in both modes", &s, NULL,
		XDP_DROP, SG_CNT_SYN_NOT_UNICAST, NULL);

	/* Random ACKs while cookies are out: an ACK flood. */
	pkt_spec_init(&s, 4);
	s.tcp_flags = PKT_TCP_ACK;
	s.seq = 0x55555555;
	s.ack = 0x12345678;
	mo_pair("random ACK (ACK flood): cookie_bad in both modes", &s, NULL,
		XDP_DROP, SG_CNT_COOKIE_BAD, NULL);

	/* The deny list: 203.0.113.0/24. */
	put_deny_net(true);
	pkt_spec_linux_syn(&s, 4, 0x4000);
	memcpy(s.saddr, deny, 3);
	s.saddr[3] = 7;
	mo_pair("SYN from the deny list: deny_drop in both modes", &s, NULL,
		XDP_DROP, SG_CNT_DENY_DROP, NULL);
	put_deny_net(false);

	/* Per-source limit 1/s, burst 1: the second SYN of a source is
	 * over it. A source of its own per mode, so both start full. */
	cfg.src_syn_rate = 1;
	cfg.src_syn_burst = 1;
	put_config();
	pkt_spec_linux_syn(&s, 4, 0x5000);
	s.saddr[3] = 41;
	pkt_spec_linux_syn(&s1, 4, 0x5000);
	s1.saddr[3] = 42;
	mo_pair("first SYN of a source under a limit: answered / passed", &s,
		&s1, XDP_TX, SG_CNT_SYNACK_SENT, NULL);
	mo_pair("second SYN of that source: syn_src_limited in both modes", &s,
		&s1, XDP_DROP, SG_CNT_SYN_SRC_LIMITED, NULL);
	cfg.src_syn_rate = 0;
	put_config();

	pkt_spec_init(&s, 4);
	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	mo_pair("reflected SYN-ACK: reflection_drop in both modes", &s, NULL,
		XDP_DROP, SG_CNT_REFLECTION_DROP, NULL);

	pkt_spec_linux_syn(&s, 4, 0x6000);
	s.frag_off = PKT_IP_MF;
	mo_pair("first fragment of a SYN, cookies on: fragment_drop in both modes",
		&s, NULL, XDP_DROP, SG_CNT_FRAGMENT_DROP, NULL);

	pkt_spec_init(&s, 4);
	s.dport = 8080;
	mo_pair("SYN to a port not protected: other_pass in both modes", &s,
		NULL, XDP_PASS, SG_CNT_OTHER_PASS, NULL);
}

/*
 * The kernel engine: in monitor mode bpf_tcp_gen_syncookie is not called
 * (it stamps the listener), yet the SYN counts syn_kernel_cookie. The
 * helper's own trace, TcpExt TCPReqQFullDoCookies of this namespace, moves
 * while enforcing and not in monitor mode.
 */
static void mo_kernel_syns(void)
{
	long long before, after, moved[2] = {-1, -1};
	struct pkt_spec s;
	int m;

	cfg.tcp_sysctl = SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW;
	put_config();
	/* One SYN per mode, each step read around its own run. */
	for (m = 0; m < 2; m++) {
		struct run r;
		uint8_t in[PKT_BUF_SIZE];
		int len;

		pkt_spec_linux_syn(&s, 4, 0x7000 + m);
		len = pkt_build(&s, in, sizeof(in));
		cfg.monitor = m;
		put_config();
		before = mo_netstat("TCPReqQFullDoCookies");
		begin(m ? "kernel engine, monitor mode: SYN passed as is, counted syn_kernel_cookie"
			: "kernel engine, enforcing: SYN answered, syn_kernel_cookie");
		if (!run_prog(in, len, &r)) {
			expect_verdict(&r, m ? XDP_PASS : XDP_TX);
			expect_counters(&r, SG_CNT_SYN_RECEIVED,
					SG_CNT_SYN_KERNEL_COOKIE, CNT_END);
			if (m)
				expect_bytes(in, len, r.out, r.out_len);
		}
		end();
		after = mo_netstat("TCPReqQFullDoCookies");
		if (before >= 0 && after >= 0)
			moved[m] = after - before;
	}
	begin("kernel engine: bpf_tcp_gen_syncookie called enforcing only (TCPReqQFullDoCookies)");
	if (moved[0] < 0 || moved[1] < 0)
		fail("cannot read TcpExt TCPReqQFullDoCookies from /proc/net/netstat");
	else if (moved[0] != 1 || moved[1] != 0)
		fail("moved by %lld enforcing and %lld in monitor mode, want 1 and 0",
		     moved[0], moved[1]);
	end();
}

void test_monitor(void)
{
	const int ports[] = {80, 443};

	mo_own_engine();
	with_kernel_engine(ports, 2, mo_kernel_syns);
}
