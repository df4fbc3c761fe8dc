// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel engine (sg_engine = SG_ENGINE_KERNEL) under BPF_PROG_TEST_RUN:
 * SYNs answered with the kernel's own cookie for the harness's listeners,
 * the options in the TSval as the kernel's cookie_init_timestamp() lays
 * them out, and ACKs checked with the kernel's cookie check. The kernel's
 * secret is not ours to compute with: a cookie is proved good by feeding
 * its ACK back and bad by changing a bit of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "harness.h"

/* A protected port nothing listens on (the harness listens on 80, 443). */
#define KE_PORT_NONE 8080

/* What a SYN offers and what the SYN-ACK must then offer back. */
struct ke_case {
	const char *name;
	int family;
	int mss, ws, sack, ts, ecn; /* the SYN's options; ws < 0: none */
	__u8 sysctl;		    /* cfg.tcp_sysctl for the case */
};

struct ke_synack {
	uint32_t cookie, tsval;
};

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void ke_syn_spec(const struct ke_case *c, struct pkt_spec *s)
{
	pkt_spec_init(s, c->family);
	s->seq = 0x0a0b0c0d;
	s->tcp_opts_len = 0;
	if (c->mss)
		pkt_opt_mss(s->tcp_opts, &s->tcp_opts_len, c->mss);
	if (c->sack)
		pkt_opt_sackperm(s->tcp_opts, &s->tcp_opts_len);
	if (c->ts)
		pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, 0x11223344, 0);
	if (c->ws >= 0) {
		pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
		pkt_opt_ws(s->tcp_opts, &s->tcp_opts_len, c->ws);
	}
	pkt_opt_pad(s->tcp_opts, &s->tcp_opts_len);
	if (c->ecn)
		s->tcp_flags |= PKT_TCP_ECE | PKT_TCP_CWR;
}

/*
 * The SYN of c through the program: XDP_TX and syn_kernel_cookie, and a
 * SYN-ACK whose headers, checksums and options are exactly what the kernel's
 * cookies can restore. 0 with the cookie and TSval in *sa.
 */
static int ke_check_syn_as(const struct ke_case *c, struct ke_synack *sa,
			   int proxy)
{
	uint8_t in[PKT_BUF_SIZE];
	const uint8_t *th, *o;
	struct pkt_spec syn;
	struct pkt_offs off;
	int len, dlen, alen = c->family == 4 ? 4 : 16;
	/* What the kernel decodes: nothing without a timestamp. SYNPROXY
	 * reads the TSecr with no per-address offset: no need for TS_RAW. */
	int ts = c->ts && (proxy || (c->sysctl & SG_SYSCTL_TS_RAW));
	int want_ws = ts && c->ws >= 0, want_sack = ts && c->sack;
	int want_ecn = ts && c->ecn;
	uint64_t before, after;
	struct run r;
	char name[160];

	snprintf(name, sizeof(name), "%s: %s: SYN -> kernel-cookie SYN-ACK",
		 proxy ? "synproxy" : "kernel engine", c->name);
	begin(name);
	cfg.tcp_sysctl = c->sysctl;
	put_config();
	ke_syn_spec(c, &syn);
	if (proxy)
		syn.dport = KE_PORT_NONE;
	len = pkt_build(&syn, in, sizeof(in));
	before = mono_ms();
	if (len < 0 || run_prog(in, len, &r)) {
		fail("cannot run the SYN");
		end();
		return -1;
	}
	after = mono_ms();
	expect_verdict(&r, XDP_TX);
	expect_counters(&r, SG_CNT_SYN_RECEIVED,
			proxy ? SG_CNT_SYN_PROXY_COOKIE
			      : SG_CNT_SYN_KERNEL_COOKIE,
			CNT_END);
	if (case_errors || pkt_offsets(r.out, r.out_len, &off)) {
		fail("no SYN-ACK");
		end();
		return -1;
	}
	th = r.out + off.l4_off;
	if (memcmp(r.out + off.l3_off + (c->family == 4 ? 12 : 8), syn.daddr,
		   alen) ||
	    memcmp(r.out + off.l3_off + (c->family == 4 ? 12 : 8) + alen,
		   syn.saddr, alen))
		fail("addresses not swapped");
	if (pkt_be16(th) != syn.dport || pkt_be16(th + 2) != syn.sport)
		fail("ports not swapped");
	if (pkt_be32(th + 8) != syn.seq + 1)
		fail("ack %#x, want %#x", pkt_be32(th + 8), syn.seq + 1);
	if ((th[13] & 0xff) !=
	    ((want_ecn ? PKT_TCP_ECE : 0) | PKT_TCP_SYN | PKT_TCP_ACK))
		fail("flags %#x, want SYN|ACK%s", th[13],
		     want_ecn ? "|ECE" : "");
	if (c->family == 4 && !ref_ipv4_csum_ok(r.out + off.l3_off))
		fail("bad IPv4 header checksum");
	if (!ref_tcp_csum_ok(c->family, r.out + off.l3_off, th,
			     r.out_len - off.l4_off))
		fail("bad TCP checksum");
	sa->cookie = pkt_be32(th + 4);

	if (pkt_tcpopt_find(th, r.out_len - off.l4_off, PKT_TCPOPT_MSS, &o,
			    &dlen) < 0 ||
	    dlen != 2 || pkt_be16(o) != (c->family == 4 ? cfg.mss4 : cfg.mss6))
		fail("MSS option missing or not ours");
	if ((pkt_tcpopt_find(th, r.out_len - off.l4_off, PKT_TCPOPT_WS, &o,
			     &dlen) >= 0) != want_ws)
		fail("window scale %s, want it %s",
		     want_ws ? "missing" : "offered", want_ws ? "" : "absent");
	else if (want_ws && o[0] != (proxy ? cfg.proxy_wscale : cfg.wscale))
		fail("window scale %u, want %u", o[0],
		     proxy ? cfg.proxy_wscale : cfg.wscale);
	if ((pkt_tcpopt_find(th, r.out_len - off.l4_off, PKT_TCPOPT_SACKPERM,
			     &o, &dlen) >= 0) != want_sack)
		fail("SACK-permitted %s", want_sack ? "missing" : "offered");
	sa->tsval = 0;
	if ((pkt_tcpopt_find(th, r.out_len - off.l4_off, PKT_TCPOPT_TS, &o,
			     &dlen) >= 0) != ts) {
		fail("timestamp %s", ts ? "missing" : "offered");
	} else if (ts) {
		uint32_t want = (want_ws ? (uint32_t)c->ws : SG_KTS_WS_MASK) |
				(want_sack ? SG_KTS_SACK : 0) |
				(want_ecn ? SG_KTS_ECN : 0);
		uint32_t lo = ((before >> SG_KTS_BITS) - 1) << SG_KTS_BITS;

		sa->tsval = pkt_be32(o);
		if ((sa->tsval & ((1u << SG_KTS_BITS) - 1)) != want)
			fail("TSval %#x: option bits %#x, want %#x", sa->tsval,
			     sa->tsval & ((1u << SG_KTS_BITS) - 1), want);
		/* The kernel's clock in ms, rounded down, never ahead. */
		if (sa->tsval < (uint32_t)lo || sa->tsval > (uint32_t)after)
			fail("TSval %u outside the TCP clock's [%u, %u] ms",
			     sa->tsval, (uint32_t)lo, (uint32_t)after);
		if (pkt_be32(o + 4) != 0x11223344)
			fail("TSecr %#x, want the client's TSval 0x11223344",
			     pkt_be32(o + 4));
	}
	end();
	return case_errors ? -1 : 0;
}

static int ke_check_syn(const struct ke_case *c, struct ke_synack *sa)
{
	return ke_check_syn_as(c, sa, 0);
}

/* The client's ACK to the SYN-ACK sa of c: ack_delta changes the cookie. */
static void ke_ack_spec(const struct ke_case *c, const struct ke_synack *sa,
			uint32_t flip, struct pkt_spec *ack)
{
	ke_syn_spec(c, ack);
	ack->tcp_flags = PKT_TCP_ACK;
	ack->seq = 0x0a0b0c0d + 1;
	ack->ack = (sa->cookie ^ flip) + 1;
	ack->tcp_opts_len = 0;
	if (sa->tsval) {
		pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
		pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
		pkt_opt_ts(ack->tcp_opts, &ack->tcp_opts_len, 0x11223345,
			   sa->tsval);
	}
}

static const struct ke_case ke_cases[] = {
	{"IPv4 Linux SYN (MSS, SACK, TS, WS 7)", 4, 1460, 7, 1, 1, 0,
	 SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW},
	{"IPv4 SYN with ECN setup, WS 9", 4, 1460, 9, 1, 1, 1,
	 SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW},
	{"IPv4 SYN with TS, no WS, no SACK", 4, 1400, -1, 0, 1, 0,
	 SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW},
	{"IPv4 SYN without TS (WS, SACK dropped)", 4, 1460, 7, 1, 0, 1,
	 SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW},
	{"IPv4 SYN, tcp_timestamps=1 (no TS, so no WS/SACK)", 4, 1460, 7, 1, 1,
	 0, SG_SYSCTL_ALL},
	{"IPv6 Linux SYN (MSS, SACK, TS, WS 7)", 6, 1440, 7, 1, 1, 0,
	 SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW},
	{"IPv6 SYN without options", 6, 0, -1, 0, 0, 0,
	 SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW},
};

static void ke_roundtrips(void)
{
	size_t i;

	for (i = 0; i < sizeof(ke_cases) / sizeof(ke_cases[0]); i++) {
		const struct ke_case *c = &ke_cases[i];
		struct ke_synack sa;
		struct pkt_spec ack;
		char name[160];

		if (ke_check_syn(c, &sa))
			continue;
		ke_ack_spec(c, &sa, 0, &ack);
		snprintf(
			name, sizeof(name),
			"kernel engine: %s: its ACK -> kernel cookie good, pass",
			c->name);
		expect_spec_untouched(name, &ack, XDP_PASS,
				      SG_CNT_ACK_KERNEL_COOKIE_PASS);
		/* Not the low bits: those only move the MSS index, which
		 * can land on another valid entry. */
		ke_ack_spec(c, &sa, 1u << 20, &ack);
		snprintf(name, sizeof(name),
			 "kernel engine: %s: ACK with a wrong cookie -> drop",
			 c->name);
		check_ack_dropped(name, &ack, SG_CNT_ACK_KERNEL_COOKIE_BAD);
	}
}

static void ke_no_listener(void)
{
	const struct ke_case c = {
		"", 4, 1460, 7, 1, 1, 0, SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW};
	struct ke_synack sa = {.cookie = 0x12345678, .tsval = 0};
	struct pkt_spec s;

	cfg.tcp_sysctl = c.sysctl;
	put_config();
	ke_syn_spec(&c, &s);
	s.dport = KE_PORT_NONE;
	expect_syn_untouched(
		"kernel engine: SYN to a port nothing listens on -> pass", &s,
		SG_CNT_SYN_NO_LISTENER_PASS);
	ke_ack_spec(&c, &sa, 0, &s);
	s.dport = KE_PORT_NONE;
	check_ack_dropped(
		"kernel engine: ACK to a port nothing listens on -> drop", &s,
		SG_CNT_ACK_KERNEL_COOKIE_BAD);
	ke_ack_spec(&c, &sa, 0, &s);
	check_ack_dropped("kernel engine: ACK with a made-up cookie -> drop",
			  &s, SG_CNT_ACK_KERNEL_COOKIE_BAD);
}

/* With tcp_syncookies back at 1 and the queue empty, the helper makes no
 * cookie: the SYN goes to the kernel, counted. */
static void ke_helper_refuses(void)
{
	const struct ke_case c = {
		"", 4, 1460, 7, 1, 1, 0, SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW};
	struct pkt_spec s;

	if (write_sysctl("/proc/sys/net/ipv4/tcp_syncookies", "1")) {
		begin("kernel engine: tcp_syncookies=1 -> SYN passes");
		fail("cannot write tcp_syncookies: %s", strerror(errno));
		end();
		return;
	}
	ke_syn_spec(&c, &s);
	expect_syn_untouched(
		"kernel engine: tcp_syncookies=1, queue not full -> SYN passes, counted",
		&s, SG_CNT_SYN_KERNEL_COOKIE_ERROR);
}

/* What does not depend on the engine, run once in the kernel engine too. */
static void ke_shared_paths(void)
{
	const struct ke_case c = {
		"", 4, 1460, 7, 1, 1, 0, SG_SYSCTL_ALL | SG_SYSCTL_TS_RAW};
	int lfd = -1, cfd = -1, afd = -1;
	struct pkt_spec s;
	uint16_t cport;

	cfg.tcp_sysctl = c.sysctl;
	cfg.cookies = SG_COOKIES_AUTO;
	put_config();
	state_engaged(0);
	ke_syn_spec(&c, &s);
	expect_syn_untouched(
		"kernel engine: cookies auto, disengaged -> SYN passes", &s,
		SG_CNT_SYN_DISENGAGED_PASS);
	cfg.cookies = SG_COOKIES_ALWAYS;
	put_config();

	ke_syn_spec(&c, &s);
	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	expect_spec_untouched(
		"kernel engine: SYN-ACK with no socket -> reflection drop", &s,
		XDP_DROP, SG_CNT_REFLECTION_DROP);

	if (sock_pair(4, 80, &lfd, &cfd, &afd, &cport)) {
		begin("kernel engine: ACK of an established connection -> pass");
		fail("no loopback connection: %s", strerror(errno));
		end();
	} else {
		loopback_spec(&s, 4, cport);
		expect_spec_untouched(
			"kernel engine: ACK of an established connection -> pass",
			&s, XDP_PASS, SG_CNT_ACK_ESTABLISHED_PASS);
	}
	sock_pair_close(lfd, cfd, afd);
}

/*
 * A valid IPv6 cookie ACK for SYNPROXY, own engine: passed as is, with
 * metadata in front that has TC verify its checksum (SG_META_F_PROXY, the
 * load's secret, nothing else).
 */
static void ke_proxy_ack6(const char *name, const struct pkt_spec *ack)
{
	uint8_t in[PKT_BUF_SIZE];
	const struct sg_meta *m;
	struct sg_meta want = {
		.magic = SG_META_MAGIC,
		.flags = SG_META_F_PROXY,
		.secret = {TEST_META_SECRET0, TEST_META_SECRET1},
	};
	struct run r;
	int len;

	begin(name);
	len = pkt_build(ack, in, sizeof(in));
	if (len > 0 && !run_prog(in, len, &r)) {
		expect_verdict(&r, XDP_PASS);
		expect_counters(&r, SG_CNT_ACK_PROXY_COOKIE_PASS, CNT_END);
		if (r.out_len != len + sizeof(*m)) {
			fail("output %u bytes, want %zu (metadata + frame)",
			     r.out_len, len + sizeof(*m));
		} else {
			m = (const void *)r.out;
			expect_bytes((const uint8_t *)&want, sizeof(want),
				     (const uint8_t *)m, sizeof(*m));
			expect_bytes(in, len, r.out + sizeof(*m), len);
		}
	}
	end();
}

/*
 * attach --synproxy nat: a port nothing listens on, SG_PORT_PROXY in the
 * port map. SYNs get the raw kernel cookie (no listener needed), their
 * ACKs are checked with the raw helper, in either engine; a valid IPv6 one
 * carries metadata for TC, which verifies its checksum for SYNPROXY (the
 * kernel engine's TC program is synguard_tc_proxy).
 */
static void ke_proxy_ports(void)
{
	const struct ke_case cases[] = {
		{"IPv4 Linux SYN (MSS, SACK, TS, WS 7)", 4, 1460, 7, 1, 1, 0,
		 SG_SYSCTL_ALL},
		{"IPv4 SYN without TS (WS, SACK dropped)", 4, 1460, 7, 1, 0, 0,
		 SG_SYSCTL_ALL},
		{"IPv6 Linux SYN (MSS, SACK, TS, WS 7)", 6, 1440, 7, 1, 1, 0,
		 SG_SYSCTL_ALL},
		{"IPv6 SYN without TS (WS, SACK dropped)", 6, 1440, 7, 1, 0, 0,
		 SG_SYSCTL_ALL},
	};
	struct ke_synack sa;
	struct pkt_spec s;
	char name[160];
	size_t i;

	put_port_bits(SG_PORT_PROXY, (const int[]){KE_PORT_NONE}, 1);
	/* Not the own window scale: the SYN-ACK must offer the backend's. */
	cfg.proxy_wscale = cfg.wscale + 3;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ke_case *c = &cases[i];

		if (ke_check_syn_as(c, &sa, 1))
			continue;
		ke_ack_spec(c, &sa, 0, &s);
		s.dport = KE_PORT_NONE;
		snprintf(name, sizeof(name),
			 "synproxy: %s: its ACK -> raw cookie good, pass%s",
			 c->name,
			 c->family == 6 ? " with metadata for TC" : "");
		if (c->family == 6)
			ke_proxy_ack6(name, &s);
		else
			expect_spec_untouched(name, &s, XDP_PASS,
					      SG_CNT_ACK_PROXY_COOKIE_PASS);
		ke_ack_spec(c, &sa, 1u << 20, &s);
		s.dport = KE_PORT_NONE;
		snprintf(name, sizeof(name),
			 "synproxy: %s: ACK with a wrong cookie -> drop",
			 c->name);
		check_ack_dropped(name, &s, SG_CNT_ACK_PROXY_COOKIE_BAD);
	}
	put_port_bits(SG_PORT_PROXY, NULL, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i += 2) {
		ke_syn_spec(&cases[i], &s);
		s.dport = KE_PORT_NONE;
		snprintf(
			name, sizeof(name),
			"synproxy: IPv%d SYN once the port left the map -> pass",
			cases[i].family);
		expect_syn_untouched(name, &s, SG_CNT_SYN_NO_LISTENER_PASS);
	}
}

void test_synproxy_ports(void)
{
	const int ports[] = {80, 443, KE_PORT_NONE};

	config_defaults();
	put_ports(ports, 3);
	ke_proxy_ports();
	put_ports(ports, 2);
	config_defaults();
}

/*
 * Runs body with the kernel engine loaded as attach loads it (its sysctls
 * set, ports protected, the default config), then puts the own engine back
 * and the sysctls to their defaults.
 */
void with_kernel_engine(const int *ports, int nports, void (*body)(void))
{
	struct synguard *own = skel, *ke;
	int own_fd = prog_fd;

	if (kengine_sysctls_set()) {
		begin("kernel engine: sysctls as attach sets them");
		fail("cannot write tcp_syncookies or tcp_timestamps: %s",
		     strerror(errno));
		end();
		return;
	}
	begin("kernel engine: the object loads, with the TC program of --synproxy");
	ke = load_engine(SG_ENGINE_KERNEL);
	if (!ke)
		fail("load failed");
	end();
	if (!ke)
		goto out;
	skel = ke;
	prog_fd = bpf_program__fd(ke->progs.synguard_xdp);
	config_defaults();
	put_ports(ports, nports);

	body();

	synguard__destroy(ke);
	skel = own;
	prog_fd = own_fd;
	if (own)
		config_defaults();
out:
	kengine_sysctls_reset();
}

static void ke_all(void)
{
	ke_roundtrips();
	ke_proxy_ports();
	ke_no_listener();
	ke_shared_paths();
	ke_helper_refuses();
	test_proxy_early();
}

void test_kernel_engine(void)
{
	const int ports[] = {80, 443, KE_PORT_NONE};

	with_kernel_engine(ports, 3, ke_all);
}
