// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness of the data path: every input is a frame, run through
 * the real XDP and TC programs with BPF_PROG_TEST_RUN, and the result is
 * checked in user space against invariants that hold for any frame:
 *
 *   tx       XDP_TX only for a well-formed SYN to a protected port with a
 *            listener, and then a well-formed SYN-ACK (lengths, checksums,
 *            swapped MACs, addresses and ports, VLAN tags kept, options as
 *            offered, a cookie the reference in tests/lib/ref.c makes too)
 *   intact   XDP_PASS and XDP_DROP leave the frame's bytes unchanged (a
 *            pass may put synguard's metadata in front of them)
 *   verdict  exactly one XDP verdict counter moves per frame, no TC one;
 *            no XDP_ABORTED or XDP_REDIRECT
 *   tc       the TC program hands off nothing XDP did not mark: on a frame
 *            without metadata it returns TC_ACT_UNSPEC and moves no counter;
 *            run live behind XDP (check_live), it moves a TC verdict counter
 *            only for a frame XDP validated, and then exactly one
 *   cookie   the ACK completing a handshake the program answered is passed
 *            with metadata that says what the SYN offered; a data segment
 *            behind it passes as first flight; an old cookie is dropped
 *   monitor  with enforce off, every frame passes byte for byte (no
 *            SYN-ACK, no drop, no metadata), still with exactly one
 *            verdict counter, and TC moves none of its counters
 *
 * The first two bytes of an input choose the configuration (fz_config), the
 * rest is the frame. A violated invariant prints its name and aborts, so
 * libFuzzer saves the input as a reproducer. At exit the harness prints
 * the executions and which verdicts and counters were reached.
 *
 * Seeds: at start the harness writes frames built with tests/lib/pkt.c, as
 * the unit tests build them, into the first corpus directory given.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include "harness.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define FZ_CFG_BYTES 2
/* Frames up to a jumbo-less MTU; the output buffer also holds metadata. */
#define FZ_FRAME_MAX 1600
#define FZ_ETH_HLEN 14

/* Protected ports: 80 and 443 have listeners (harness.c), 8080 is local+nat
 * (SG_PORT_PASS), 8443 has no listener, 9443 an MPTCP one. */
#define FZ_PORT_PASS 8080
#define FZ_PORT_NONE 8443
#define FZ_PORT_MPTCP 9443
static const int fz_ports[] = {80, 443, FZ_PORT_PASS, FZ_PORT_NONE,
			       FZ_PORT_MPTCP};

/* Configuration byte 0. */
/* Mode 0: cookies always; 1: the same with enforce off (monitor mode);
 * 2: auto, rate low; 3: auto, engaging. */
#define FZ_MODE_MASK 0x3
#define FZ_MODE_MONITOR 1
#define FZ_LISTS (1u << 2)	   /* allow and deny lists in use */
#define FZ_SRC_LIMITS (1u << 3)	   /* per-source SYN and ACK limits, tight */
#define FZ_SYSCTL_FEW (1u << 4)	   /* tcp_sack, _timestamps, _ecn off */
#define FZ_NO_SYNCOOKIES (1u << 5) /* tcp_syncookies=0 */
#define FZ_KEY_SLOT1 (1u << 6)	   /* cookies made with key slot 1 */
#define FZ_NO_KEY (1u << 7)	   /* the current slot holds no key */
/* Configuration byte 1. */
#define FZ_NO_REFLECTION_DROP (1u << 0)
#define FZ_NO_ECN (1u << 1)
#define FZ_WSCALE_CHANGED (1u << 2) /* wscale changed a moment ago */
#define FZ_SHORT_LIFETIME (1u << 3)
#define FZ_NO_RECENT_COOKIE (1u << 4) /* no SYN-ACK sent lately */
#define FZ_FOLLOW (1u << 5) /* a data segment follows the handshake's ACK */
/* With FZ_SHORT_LIFETIME: the handshake's ACK carries the cookie of four
 * periods ago, which must be refused. */
#define FZ_OLD_COOKIE (1u << 6)
#define FZ_ACK_LIMIT (1u << 7) /* one valid ACK a second per source */

/*
 * The lists, when in use: the seeds' sources 192.0.2.1 and 2001:db8::1 are
 * denied, the rest of their /24 and /64 allowed (longest prefix wins).
 */
#define FZ_ALLOW4 "192.0.2.0", 24
#define FZ_DENY4 "192.0.2.0", 30
#define FZ_ALLOW6 "2001:db8::", 64
#define FZ_DENY6 "2001:db8::", 126

static int tc_fd, trace;

/*
 * libFuzzer sees the coverage of this harness only, not of the BPF
 * program. What the program did goes into its extra counters instead, so
 * an input that reaches a new counter, or one under a new configuration
 * or family, is kept and mutated further (FZ_COV_* are the regions).
 */
#define FZ_COV_CNT 0	   /* counter moved, by family: 2 x 64 */
#define FZ_COV_CNT_CFG 128 /* verdict counter x config byte 0: 64 x 256 */
#define FZ_COV_SYNACK (FZ_COV_CNT_CFG + 64 * 256) /* options answered */
#define FZ_COV_TC (FZ_COV_SYNACK + 64)		  /* TC verdict counter moved */
#define FZ_COV_SIZE (FZ_COV_TC + 64)
_Static_assert(SG_CNT_MAX <= 64, "FZ_COV_* regions hold 64 counters");
__attribute__((section("__libfuzzer_extra_counters"),
	       used)) static uint8_t fz_cov[FZ_COV_SIZE];

static unsigned int cur_sel = ~0u;
static int fz_monitor; /* the configuration has enforce off */
static uint8_t in[OUT_CAP], ack_in[PKT_BUF_SIZE];
static const uint8_t *fz_input;
static size_t fz_input_len;

/* What was reached, for the report at exit. */
static unsigned long long execs, handshakes, monitor_execs;
static unsigned long long cnt_seen[SG_CNT_MAX];
static unsigned long long xdp_seen[XDP_REDIRECT + 1];
static unsigned long long tc_unspec, tc_other, tc_refused;
static unsigned long long live_runs, tc_handoffs;
static struct timespec t_start;

static void hexdump_err(const char *label, const uint8_t *b, size_t n)
{
	pkt_hexdump(stderr, label, b, n);
}

/* A violated invariant: say which, show the frames, abort for libFuzzer. */
static void __attribute__((noreturn, format(printf, 2, 3)))
violated(const char *inv, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nINVARIANT VIOLATED: %s: ", inv);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nconfig %02x %02x\n", fz_input[0], fz_input[1]);
	hexdump_err("input frame", fz_input + FZ_CFG_BYTES,
		    fz_input_len - FZ_CFG_BYTES);
	abort();
}

/* harness.c reports map and test_run errors through fail(): fatal here. */
static void harness_ok(const char *what)
{
	if (case_errors)
		violated("harness", "%s failed (see above)", what);
}

/* ---- configuration ---- */

static void put_lpm(struct bpf_map *m, int family, const char *addr, int plen)
{
	struct sg_lpm6 k6 = {.prefixlen = plen};
	struct sg_lpm4 k4 = {.prefixlen = plen};
	__u32 v = plen;
	int err;

	if (family == 4) {
		inet_pton(AF_INET, addr, k4.addr);
		err = bpf_map__update_elem(m, &k4, sizeof(k4), &v, sizeof(v),
					   BPF_ANY);
	} else {
		inet_pton(AF_INET6, addr, k6.addr);
		err = bpf_map__update_elem(m, &k6, sizeof(k6), &v, sizeof(v),
					   BPF_ANY);
	}
	if (err)
		fail("%s update: %s", bpf_map__name(m), strerror(errno));
}

/* Two input bytes choose the configuration: written only on a change. */
static void fz_config(unsigned int sel)
{
	uint8_t b0 = sel & 0xff, b1 = sel >> 8;
	int mode = b0 & FZ_MODE_MASK;

	if (sel == cur_sel)
		return;
	cur_sel = sel;
	/* config_defaults() sets only what differs from zero (lists and
	 * limits off): clear what the previous input chose first. */
	memset(&cfg, 0, sizeof(cfg));
	config_defaults();
	fz_monitor = mode == FZ_MODE_MONITOR;
	cfg.monitor = fz_monitor;
	if (mode >= 2) {
		cfg.cookies = SG_COOKIES_AUTO;
		/* Mode 2 never engages; mode 3 engages on the first SYN and
		 * may disengage again after a second of quiet. */
		cfg.syn_rate_on = mode == 2 ? 1000000000 : 1;
		cfg.syn_rate_off = mode == 2 ? 1000000000 : 1;
		cfg.hold_time = mode == 2 ? SG_DEFAULT_HOLD_TIME : 1;
		state_engaged(0);
	}
	if (b0 & FZ_LISTS)
		cfg.lists = SG_LISTS_ALLOW4 | SG_LISTS_ALLOW6 | SG_LISTS_DENY4 |
			    SG_LISTS_DENY6;
	if (b0 & FZ_SRC_LIMITS) {
		cfg.src_syn_rate = 1;
		cfg.src_syn_burst = 2;
		cfg.src_ack_rate = 1;
		cfg.src_ack_burst = 2;
	}
	if (b0 & FZ_SYSCTL_FEW)
		cfg.tcp_sysctl &=
			~(SG_SYSCTL_SACK | SG_SYSCTL_TS | SG_SYSCTL_ECN);
	if (b0 & FZ_NO_SYNCOOKIES)
		cfg.tcp_sysctl &= ~SG_SYSCTL_SYNCOOKIES;
	if (b1 & FZ_NO_REFLECTION_DROP)
		cfg.reflection_drop = 0;
	if (b1 & FZ_NO_ECN)
		cfg.ecn = 0;
	if (b1 & FZ_WSCALE_CHANGED) {
		cfg.wscale_prev = 3;
		cfg.wscale_changed_ns = ref_tai_ns();
	}
	if (b1 & FZ_ACK_LIMIT) {
		cfg.src_ack_rate = 1;
		cfg.src_ack_burst = 1;
	}
	if (b1 & FZ_SHORT_LIFETIME)
		cfg.cookie_lifetime = SG_LIFETIME_MIN;
	put_config();
	keys.current = b0 & FZ_KEY_SLOT1 ? 1 : 0;
	keys.valid[0] = keys.valid[1] = 1;
	if (b0 & FZ_NO_KEY)
		keys.valid[keys.current] = 0;
	put_keys();
	harness_ok("configuration");
}

/* As if no SYN-ACK went out for longer than a cookie lives. */
static void no_recent_cookie(void)
{
	struct sg_state st = {};
	__u32 zero = 0;

	if (bpf_map__lookup_elem(skel->maps.sg_state, &zero, sizeof(zero), &st,
				 sizeof(st), 0))
		fail("cannot read sg_state");
	st.synack_ns = 0;
	if (bpf_map__update_elem(skel->maps.sg_state, &zero, sizeof(zero), &st,
				 sizeof(st), BPF_ANY))
		fail("cannot write sg_state");
	harness_ok("sg_state update");
}

/* ---- the SYN's options, parsed as the kernel does (tcp_parse_options) */

struct fz_opts {
	int have_mss, have_ws, sack, have_ts;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
};

static void parse_opts(const uint8_t *th, size_t doff_len, struct fz_opts *o)
{
	size_t i = 20;

	memset(o, 0, sizeof(*o));
	while (i < doff_len) {
		uint8_t kind = th[i], sz;

		if (kind == PKT_TCPOPT_EOL)
			break;
		if (kind == PKT_TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= doff_len)
			break;
		sz = th[i + 1];
		if (sz < 2 || sz > doff_len - i)
			break;
		if (kind == PKT_TCPOPT_MSS && sz == 4) {
			o->have_mss = 1;
			o->mss = pkt_be16(th + i + 2);
		} else if (kind == PKT_TCPOPT_WS && sz == 3) {
			o->have_ws = 1;
			o->ws = th[i + 2];
		} else if (kind == PKT_TCPOPT_SACKPERM && sz == 2) {
			o->sack = 1;
		} else if (kind == PKT_TCPOPT_TS && sz == 10) {
			o->have_ts = 1;
			o->tsval = pkt_be32(th + i + 2);
			o->tsecr = pkt_be32(th + i + 6);
		}
		i += sz;
	}
}

/* ---- invariant: tx ---- */

static int port_is(uint16_t p, const int *ports, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p == ports[i])
			return 1;
	return 0;
}

static int in_prefix(const uint8_t *a, const char *pfx, int plen, int family)
{
	uint8_t p[16];
	int i;

	inet_pton(family == 4 ? AF_INET : AF_INET6, pfx, p);
	for (i = 0; i < plen; i++)
		if ((a[i / 8] ^ p[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

/*
 * An IPv6 fragment header with offset 0 and no more fragments (an atomic
 * fragment, RFC 6946) makes no fragment: the kernel takes what follows as
 * a whole packet (ipv6_frag_rcv), so a SYN behind one is answered. pkt.c
 * counts any fragment header as a fragment: look at its fields here.
 */
static int v6_atomic_fragment(const uint8_t *f, size_t len,
			      const struct pkt_offs *o)
{
	size_t pos = o->l3_off + 40;
	uint8_t nh = f[o->l3_off + 6];
	int n;

	for (n = 0; n < o->nv6_ext && pos + 8 <= len; n++) {
		uint8_t next = f[pos];

		/* IP6_OFFSET | IP6_MF, as ipv6_frag_rcv tests them. */
		if (nh == 44)
			return !(pkt_be16(f + pos + 2) & 0xfff9);
		pos += nh == 51 ? (f[pos + 1] + 2u) * 4 : (f[pos + 1] + 1u) * 8;
		nh = next;
	}
	return 0;
}

/* Why the input is not a SYN synguard may answer, or NULL if it is one. */
static const char *not_answerable(const uint8_t *f, size_t len,
				  const struct pkt_offs *o)
{
	static const int answered[] = {80, 443};
	const uint8_t *ip, *th;
	size_t ip_total, tcp_len, doff;
	uint8_t flags;

	if (o->family != 4 && o->family != 6)
		return "not IP";
	if (o->l4_off < 0 || o->l4proto != 6)
		return "not TCP";
	if (o->is_frag && !(o->family == 6 && v6_atomic_fragment(f, len, o)))
		return "a fragment";
	if (o->nvlan > 1)
		return "more than one VLAN tag";
	if (f[0] & 1)
		return "to a group MAC address";
	ip = f + o->l3_off;
	th = f + o->l4_off;
	if (o->family == 4) {
		ip_total = pkt_be16(ip + 2);
		if (!ref_ipv4_csum_ok(ip))
			return "bad IPv4 header checksum";
	} else {
		ip_total = 40 + pkt_be16(ip + 4);
	}
	if (o->l3_off + ip_total > len)
		return "IP length beyond the frame";
	tcp_len = o->l3_off + ip_total - o->l4_off;
	if (o->l4_off + 20 > (int)len || tcp_len < 20)
		return "TCP header truncated";
	doff = (th[12] >> 4) * 4u;
	if (doff < 20 || doff > tcp_len)
		return "bad TCP data offset";
	flags = th[13];
	if ((flags & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST | PKT_TCP_FIN)) !=
	    PKT_TCP_SYN)
		return "not a SYN";
	if (!port_is(pkt_be16(th + 2), answered, 2))
		return "not to a protected port with a listener";
	if (!ref_tcp_csum_ok(o->family, ip, th, tcp_len))
		return "bad TCP checksum";
	if (!keys.valid[keys.current & 1])
		return "no cookie key";
	if (!(cfg.tcp_sysctl & SG_SYSCTL_SYNCOOKIES))
		return "tcp_syncookies off";
	if (cfg.cookies == SG_COOKIES_AUTO && cfg.syn_rate_on == 1000000000)
		return "cookies auto and the rate low";
	if (cfg.lists && (o->family == 4 ? in_prefix(ip + 12, FZ_ALLOW4, 4)
					 : in_prefix(ip + 8, FZ_ALLOW6, 6)))
		return "source on the allow or deny list";
	return NULL;
}

/*
 * The cookie the reference makes for this SYN with the current key, given
 * the options our SYN-ACK agreed to: for a timestamp client from our TSval
 * tsval (which carries the time), else at a time counter.
 */
static uint32_t ref_cookie_of(const uint8_t *syn, const struct pkt_offs *so,
			      const struct fz_opts *cli,
			      const struct fz_opts *ours, uint32_t tsval,
			      uint32_t counter)
{
	const uint8_t *ip = syn + so->l3_off, *th = syn + so->l4_off;
	const uint8_t *sa = ip + (so->family == 4 ? 12 : 8);
	const uint8_t *da = ip + (so->family == 4 ? 16 : 24);
	unsigned int slot = keys.current & 1;
	uint16_t sport_be, dport_be;
	uint8_t key[16], data;

	memcpy(&sport_be, th, 2);
	memcpy(&dport_be, th + 2, 2);
	key_bytes(key, slot);
	if (ours->have_ts)
		return ref_cookie_ts(so->family, sa, da, sport_be, dport_be,
				     pkt_be32(th + 4), tsval, key,
				     ref_ts_ours(tsval & 0xff, cfg.wscale));
	data = ref_cookie_data(so->family, cli->have_mss, cli->mss, ours->sack,
			       ours->have_ws, cli->ws);
	return ref_cookie(so->family, sa, da, sport_be, dport_be,
			  pkt_be32(th + 4), counter, slot, key, data,
			  ref_cookie_ours(data, cfg.wscale));
}

/* Is it the reference's cookie at the time counter of the run's start or
 * end (the run may straddle a period)? */
static int cookie_ok(const uint8_t *syn, const struct pkt_offs *so,
		     uint32_t cookie, const struct fz_opts *cli,
		     const struct fz_opts *ours, int ece, const struct run *r)
{
	(void)ece; /* the cookie does not carry ECN: the TSval does */
	return ref_cookie_of(syn, so, cli, ours, ours->tsval,
			     ref_counter(r->tai_before)) == cookie ||
	       ref_cookie_of(syn, so, cli, ours, ours->tsval,
			     ref_counter(r->tai_after)) == cookie;
}

static void check_tx(const uint8_t *f, size_t len, const struct run *r)
{
	const uint8_t *out = r->out, *sip, *sth, *oip, *oth;
	size_t alen, aoff, l2len, iplen, tcp_len, doff;
	struct pkt_offs so, oo;
	struct fz_opts cli, ours;
	const char *why;
	uint8_t flags;
	int ece;

	pkt_offsets(f, len, &so);
	why = not_answerable(f, len, &so);
	if (why)
		violated("tx", "XDP_TX for a frame that is %s", why);
	if (pkt_offsets(out, r->out_len, &oo) || oo.family != so.family ||
	    oo.l4proto != 6 || oo.nvlan != so.nvlan || oo.is_frag)
		violated(
			"tx",
			"the SYN-ACK does not parse as TCP of the SYN's family and VLAN tags");
	sip = f + so.l3_off;
	sth = f + so.l4_off;
	oip = out + oo.l3_off;
	oth = out + oo.l4_off;
	l2len = so.l3_off;
	if (memcmp(out, f + 6, 6) || memcmp(out + 6, f, 6))
		violated("tx", "MAC addresses not swapped");
	if (memcmp(out + 12, f + 12, l2len - 12))
		violated("tx", "VLAN tags or ethertype not kept");
	iplen = so.family == 4 ? 20 : 40;
	if (oo.l4_off != (int)(l2len + iplen))
		violated("tx", "SYN-ACK has IP options or extension headers");
	tcp_len = r->out_len - oo.l4_off;
	doff = (oth[12] >> 4) * 4u;
	if (doff != tcp_len || tcp_len < 24 || tcp_len > 40)
		violated("tx", "TCP length %zu, data offset %zu", tcp_len,
			 doff);
	if (so.family == 4) {
		if (oip[0] != 0x45 || pkt_be16(oip + 2) != iplen + tcp_len ||
		    oip[9] != 6 || (pkt_be16(oip + 6) & 0x3fff))
			violated(
				"tx",
				"bad IPv4 header (version/IHL, length, protocol or fragment)");
		if (!ref_ipv4_csum_ok(oip))
			violated("tx", "bad IPv4 header checksum");
		if (oip[8] != cfg.ttl)
			violated("tx", "TTL %u, want %u", oip[8], cfg.ttl);
	} else {
		if ((oip[0] >> 4) != 6 || pkt_be16(oip + 4) != tcp_len ||
		    oip[6] != 6)
			violated(
				"tx",
				"bad IPv6 header (version, length or next header)");
		if (oip[7] != cfg.ttl)
			violated("tx", "hop limit %u, want %u", oip[7],
				 cfg.ttl);
	}
	aoff = so.family == 4 ? 12 : 8;
	alen = so.family == 4 ? 4 : 16;
	if (memcmp(oip + aoff, sip + aoff + alen, alen) ||
	    memcmp(oip + aoff + alen, sip + aoff, alen))
		violated("tx", "IP addresses not swapped");
	if (memcmp(oth, sth + 2, 2) || memcmp(oth + 2, sth, 2))
		violated("tx", "ports not swapped");
	if (!ref_tcp_csum_ok(so.family, oip, oth, tcp_len))
		violated("tx", "bad TCP checksum");
	if (pkt_be32(oth + 8) != pkt_be32(sth + 4) + 1)
		violated("tx", "ack %u, want the SYN's seq + 1",
			 pkt_be32(oth + 8));
	flags = oth[13];
	ece = !!(flags & PKT_TCP_ECE);
	if ((flags & ~PKT_TCP_ECE) != (PKT_TCP_SYN | PKT_TCP_ACK) ||
	    (oth[12] & 0x0f))
		violated("tx", "flags %#x, want SYN|ACK", flags);
	if (ece && (!cfg.ecn || (sth[13] & (PKT_TCP_ECE | PKT_TCP_CWR)) !=
					(PKT_TCP_ECE | PKT_TCP_CWR)))
		violated(
			"tx",
			"ECE answered to a SYN that did not ask for ECN (or ecn off)");
	if (pkt_be16(oth + 14) != cfg.window)
		violated("tx", "window %u, want %u", pkt_be16(oth + 14),
			 cfg.window);

	parse_opts(sth, (sth[12] >> 4) * 4u, &cli);
	parse_opts(oth, doff, &ours);
	if (!ours.have_mss ||
	    ours.mss != (so.family == 4 ? cfg.mss4 : cfg.mss6))
		violated(
			"tx",
			"SYN-ACK MSS option missing or not the configured one");
	if (ours.sack != (cli.sack && (cfg.tcp_sysctl & SG_SYSCTL_SACK)))
		violated("tx", "SACK-permitted %d, the SYN offered %d",
			 ours.sack, cli.sack);
	if (ours.have_ts != (cli.have_ts && (cfg.tcp_sysctl & SG_SYSCTL_TS)))
		violated("tx", "timestamps %d, the SYN offered %d",
			 ours.have_ts, cli.have_ts);
	if (ours.have_ts && ours.tsecr != cli.tsval)
		violated("tx", "TSecr %u, the SYN's TSval %u", ours.tsecr,
			 cli.tsval);
	if (ours.have_ws != (cli.have_ws && (cfg.tcp_sysctl & SG_SYSCTL_WS)))
		violated("tx", "window scale %d, the SYN offered %d",
			 ours.have_ws, cli.have_ws);
	if (ours.have_ws && ours.ws != cfg.wscale)
		violated("tx", "window scale %u, want %u", ours.ws, cfg.wscale);
	fz_cov[FZ_COV_SYNACK +
	       (ours.sack | ours.have_ts << 1 | ours.have_ws << 2 | ece << 3 |
		(so.family == 6) << 4 | (so.nvlan > 0) << 5)] = 1;
	if (!cookie_ok(f, &so, pkt_be32(oth + 4), &cli, &ours, ece, r))
		violated(
			"tx",
			"cookie %#x is not one the reference makes for this SYN",
			pkt_be32(oth + 4));
}

/* ---- invariant: verdict ---- */

/*
 * Exactly one XDP verdict counter moved, by one, and no TC counter; the
 * verdict is one of synguard's, and XDP_TX comes with synack_sent. Returns
 * the verdict counter, after noting what was reached.
 */
static int one_verdict(const uint8_t *f, size_t len, const struct run *r,
		       const char *what)
{
	int k, moved = 0, which = -1;

	if (r->verdict < 0 || r->verdict > XDP_REDIRECT)
		violated("verdict", "XDP returned %d on %s", r->verdict, what);
	xdp_seen[r->verdict]++;
	for (k = 0; k < SG_CNT_MAX; k++) {
		if (!r->delta[k])
			continue;
		cnt_seen[k]++;
		fz_cov[FZ_COV_CNT + k * 2 + (len > 12 && f[12] == 0x86)] = 1;
		if (SG_CNT_IS_XDP_VERDICT(k)) {
			moved += r->delta[k];
			which = k;
		} else if (SG_CNT_IS_TC_VERDICT(k)) {
			violated("verdict", "XDP moved the TC counter %s on %s",
				 counter_names[k], what);
		} else if (r->delta[k] != 1) {
			violated("verdict", "counter %s moved by %llu on %s",
				 counter_names[k],
				 (unsigned long long)r->delta[k], what);
		}
	}
	if (moved != 1) {
		for (k = SG_CNT_XDP_VERDICT_FIRST; k <= SG_CNT_XDP_VERDICT_LAST;
		     k++)
			if (r->delta[k])
				fprintf(stderr, "  %s +%llu\n",
					counter_names[k],
					(unsigned long long)r->delta[k]);
		violated("verdict",
			 "%d verdict counters moved on %s, want exactly 1",
			 moved, what);
	}
	fz_cov[FZ_COV_CNT_CFG + which * 256 + fz_input[0]] = 1;
	if (trace)
		printf("fuzz: config %02x %02x, %s, %zu bytes: verdict %d, %s\n",
		       fz_input[0], fz_input[1], what, len, r->verdict,
		       counter_names[which]);
	if (r->verdict == XDP_ABORTED || r->verdict == XDP_REDIRECT)
		violated("verdict", "XDP returned %d on %s (counted as %s)",
			 r->verdict, what, counter_names[which]);
	if (fz_monitor && r->verdict != XDP_PASS)
		violated("monitor", "verdict %d on %s (counted as %s)",
			 r->verdict, what, counter_names[which]);
	if (!fz_monitor &&
	    (r->verdict == XDP_TX) != (which == SG_CNT_SYNACK_SENT))
		violated("verdict", "verdict %d on %s counted as %s",
			 r->verdict, what, counter_names[which]);
	return which;
}

/* ---- invariant: cookie (the handshake's ACK) ---- */

static void check_tc(const uint8_t *f, size_t len, const char *what);
static void check_live(const uint8_t *f, size_t len, const char *what,
		       int marked);

/*
 * A data segment right behind the handshake's ACK (spec s), as a client's
 * first flight: it carries no valid cookie but passes as the first flight.
 */
static void follow_segment(struct pkt_spec *s)
{
	static const uint8_t byte = 'x';
	struct run r;
	int len, which;

	s->seq += 1;
	s->tcp_flags |= PKT_TCP_PSH;
	s->payload = &byte;
	s->payload_len = 1;
	len = pkt_build(s, ack_in, sizeof(ack_in));
	if (len < 0)
		violated("harness", "cannot build the first-flight segment");
	run_prog(ack_in, len, &r);
	harness_ok("BPF_PROG_TEST_RUN of the first-flight segment");
	which = one_verdict(ack_in, len, &r, "the first-flight segment");
	/* 2^-20: its own bits happen to make a valid cookie. */
	if (which == SG_CNT_COOKIE_OK)
		return;
	if (r.verdict != XDP_PASS || which != SG_CNT_ACK_FIRST_FLIGHT_PASS)
		violated(
			"cookie",
			"the segment after the handshake's ACK got verdict %d without ack_first_flight_pass",
			r.verdict);
	if (r.out_len != (__u32)len || memcmp(r.out, ack_in, len))
		violated("intact", "the first-flight segment was changed");
}

/*
 * The handshake's ACK (spec s) with the cookie the SYN would have got four
 * periods ago, beyond the short lifetime: dropped, as expired or (should
 * the format not tell) as bad.
 */
static void old_cookie(struct pkt_spec *s, const uint8_t *syn,
		       const struct pkt_offs *so, const struct fz_opts *cli,
		       const struct fz_opts *ours, int ece)
{
	struct run r;
	int len, which;

	/* Four periods ago, or for a timestamp client a TSval 200 s old. */
	uint32_t old_ts = ref_tsval(ref_tai_ns() - 200ULL * 1000000000ULL,
				    keys.current, ours->tsval & 0xff);

	(void)ece;
	if (ours->have_ts) {
		s->tcp_opts_len = 0;
		pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
		pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
		pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, cli->tsval + 1,
			   old_ts);
	}
	s->ack = ref_cookie_of(syn, so, cli, ours, old_ts,
			       ref_counter(ref_tai_ns()) - 4) +
		 1;
	len = pkt_build(s, ack_in, sizeof(ack_in));
	if (len < 0)
		violated("harness", "cannot build the ACK with an old cookie");
	run_prog(ack_in, len, &r);
	harness_ok("BPF_PROG_TEST_RUN of the ACK with an old cookie");
	which = one_verdict(ack_in, len, &r, "the ACK with an old cookie");
	if (r.verdict != XDP_DROP ||
	    (which != SG_CNT_COOKIE_EXPIRED && which != SG_CNT_COOKIE_BAD))
		violated(
			"cookie",
			"the ACK with a cookie of four periods ago got verdict %d, not a drop as expired",
			r.verdict);
}

/*
 * The client's ACK to our SYN-ACK (frame sa, a SYN-ACK check_tx passed):
 * the program must take it, with metadata of what the SYN-ACK agreed.
 */
static void complete_handshake(const struct run *sar, const uint8_t *syn,
			       size_t synlen)
{
	const uint8_t *sa = sar->out, *ip, *th;
	struct pkt_offs o, so;
	struct fz_opts cli, ours;
	struct pkt_spec s;
	struct sg_meta m;
	unsigned int snd_ws;
	struct run r;
	size_t alen, aoff;
	int len, i, which, limited;

	pkt_offsets(sa, sar->out_len, &o);
	pkt_offsets(syn, synlen, &so);
	ip = sa + o.l3_off;
	th = sa + o.l4_off;
	parse_opts(th, (th[12] >> 4) * 4u, &ours);
	parse_opts(syn + so.l4_off, (syn[so.l4_off + 12] >> 4) * 4u, &cli);

	pkt_spec_init(&s, o.family);
	memcpy(s.eth_dst, sa + 6, 6);
	memcpy(s.eth_src, sa, 6);
	s.nvlan = o.nvlan;
	for (i = 0; i < o.nvlan; i++) {
		s.vlan_tpid[i] = pkt_be16(sa + 12 + 4 * i);
		s.vlan_tci[i] = pkt_be16(sa + 14 + 4 * i);
	}
	aoff = o.family == 4 ? 12 : 8;
	alen = o.family == 4 ? 4 : 16;
	memcpy(s.saddr, ip + aoff + alen, alen);
	memcpy(s.daddr, ip + aoff, alen);
	s.sport = pkt_be16(th + 2);
	s.dport = pkt_be16(th);
	s.seq = pkt_be32(th + 8);
	s.ack = pkt_be32(th + 4) + 1;
	s.tcp_flags = PKT_TCP_ACK;
	if (ours.have_ts) {
		pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
		pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
		pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, cli.tsval + 1,
			   ours.tsval);
	}
	if ((fz_input[1] & (FZ_OLD_COOKIE | FZ_SHORT_LIFETIME)) ==
	    (FZ_OLD_COOKIE | FZ_SHORT_LIFETIME)) {
		old_cookie(&s, syn, &so, &cli, &ours, !!(th[13] & PKT_TCP_ECE));
		return;
	}
	len = pkt_build(&s, ack_in, sizeof(ack_in));
	if (len < 0)
		violated("harness", "cannot build the handshake's ACK");
	handshakes++;
	run_prog(ack_in, len, &r);
	harness_ok("BPF_PROG_TEST_RUN of the handshake's ACK");
	which = one_verdict(ack_in, len, &r, "the handshake's ACK");
	limited = cfg.src_ack_rate && r.verdict == XDP_DROP &&
		  which == SG_CNT_ACK_SRC_LIMITED;
	if (!limited && (r.verdict != XDP_PASS || which != SG_CNT_COOKIE_OK))
		violated(
			"cookie",
			"the ACK of our SYN-ACK got verdict %d without cookie_ok",
			r.verdict);
	if (limited)
		return;
	if (r.out_len != len + sizeof(m) ||
	    memcmp(r.out + sizeof(m), ack_in, len))
		violated(
			"cookie",
			"the ACK was not passed as it came with metadata in front");
	memcpy(&m, r.out, sizeof(m));
	if (m.magic != SG_META_MAGIC || m.secret[0] != TEST_META_SECRET0 ||
	    m.secret[1] != TEST_META_SECRET1)
		violated("cookie", "metadata magic or secret wrong");
	if (!!(m.flags & SG_META_F_TSTAMP) != ours.have_ts ||
	    !!(m.flags & SG_META_F_SACK) != ours.sack ||
	    !!(m.flags & SG_META_F_WSCALE) != ours.have_ws ||
	    !!(m.flags & SG_META_F_ECN) != !!(th[13] & PKT_TCP_ECE))
		violated("cookie",
			 "metadata flags %#x disagree with the SYN-ACK",
			 m.flags);
	/*
	 * A timestamp client's scale rides exactly in our TSval; without
	 * timestamps the cookie codes it as none, 0, 7 or 8, rounded down.
	 */
	snd_ws = cli.ws > SG_WSCALE_MAX ? SG_WSCALE_MAX : cli.ws;
	if (!ours.have_ts)
		snd_ws = ref_ws_of_code(
			(ref_cookie_data(o.family, cli.have_mss, cli.mss,
					 ours.sack, ours.have_ws, cli.ws) >>
			 3) &
			3);
	if (ours.have_ws &&
	    (m.rcv_wscale != cfg.wscale || m.snd_wscale != snd_ws))
		violated("cookie", "metadata window scales %u/%u", m.rcv_wscale,
			 m.snd_wscale);
	if (ours.have_ts &&
	    (m.rcv_tsval != cli.tsval + 1 || m.rcv_tsecr != ours.tsval))
		violated("cookie", "metadata timestamps %u/%u", m.rcv_tsval,
			 m.rcv_tsecr);
	/* The MSS: a table entry, not above what the client offered (or the
	 * protocol default without the option). */
	{
		uint16_t lim = cli.have_mss && cli.mss
				       ? cli.mss
				       : (o.family == 4 ? 536 : 1220);
		uint16_t want = ref_cookie_mss(o.family, 0);
		unsigned int k;

		for (k = 1; ref_cookie_mss(o.family, k); k++)
			if (ref_cookie_mss(o.family, k) <= lim)
				want = ref_cookie_mss(o.family, k);
		if (m.mss != want)
			violated("cookie", "metadata MSS %u, want %u", m.mss,
				 want);
	}
	check_tc(ack_in, len, "the handshake's ACK");
	check_live(ack_in, len, "the handshake's ACK", 1);
	if (fz_input[1] & FZ_FOLLOW)
		follow_segment(&s);
}

/* ---- invariant: intact ---- */

static void check_xdp(const uint8_t *f, size_t len, const struct run *r)
{
	int which = one_verdict(f, len, r, "the frame");

	if (r->verdict == XDP_TX) {
		check_tx(f, len, r);
		return;
	}
	if (r->out_len == len && !memcmp(r->out, f, len))
		return;
	if (fz_monitor) {
		hexdump_err("output", r->out, r->out_len);
		violated("monitor", "%s changed the frame (%zu -> %u bytes)",
			 counter_names[which], len, r->out_len);
	}
	if (r->verdict == XDP_PASS && which == SG_CNT_COOKIE_OK &&
	    r->out_len == len + sizeof(struct sg_meta) &&
	    !memcmp(r->out + sizeof(struct sg_meta), f, len))
		return;
	hexdump_err("output", r->out, r->out_len);
	violated("intact",
		 "verdict %d (%s) changed the frame (%zu -> %u bytes)",
		 r->verdict, counter_names[which], len, r->out_len);
}

/* ---- invariant: tc ---- */

static void check_tc(const uint8_t *f, size_t len, const char *what)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	static uint8_t out[OUT_CAP];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int k;

	read_counters(before);
	if (bpf_prog_test_run_opts(tc_fd, &opts)) {
		/* The skb test run refuses frames whose IP header is shorter
		 * than the ethertype promises: the stack would drop them
		 * before TC's verdict matters. */
		if (errno == EINVAL) {
			tc_refused++;
			return;
		}
		violated("harness", "BPF_PROG_TEST_RUN of TC on %s: %s", what,
			 strerror(errno));
	}
	read_counters(after);
	harness_ok("counter read");
	if ((int)opts.retval == TC_ACT_UNSPEC)
		tc_unspec++;
	else
		tc_other++;
	for (k = 0; k < SG_CNT_MAX; k++)
		if (after[k] != before[k])
			violated("tc", "TC on %s without metadata moved %s",
				 what, counter_names[k]);
	if ((int)opts.retval != TC_ACT_UNSPEC)
		violated("tc", "TC returned %d on %s without metadata",
			 (int)opts.retval, what);
}

/* ---- a connection of the kernel's ---- */

/*
 * One TCP connection in the namespace, between addresses the fuzzer's
 * frames use too (on lo, but not loopback addresses: XDP never answers
 * those): its frames are the kernel's, SYNs (syn_socket_pass) and ACKs
 * (ack_established_pass) alike.
 */
#define FZ_CONN_CLIENT "192.0.2.99"
#define FZ_CONN_SERVER "198.51.100.1"
#define FZ_CONN_PORT 40001

static int fz_connection(void)
{
	struct sockaddr_in c = {.sin_family = AF_INET,
				.sin_port = htons(FZ_CONN_PORT)};
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(80)};
	int fd, one = 1;

	if (system("ip addr add " FZ_CONN_CLIENT "/32 dev lo && "
		   "ip addr add " FZ_CONN_SERVER "/32 dev lo")) {
		errno = EINVAL;
		return -1;
	}
	inet_pton(AF_INET, FZ_CONN_CLIENT, &c.sin_addr);
	inet_pton(AF_INET, FZ_CONN_SERVER, &srv.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Left open for the life of the process, as the listeners are. */
	if (bind(fd, (void *)&c, sizeof(c)) ||
	    connect(fd, (void *)&srv, sizeof(srv)))
		return -1;
	return 0;
}

static void conn_spec(struct pkt_spec *s, uint16_t flags)
{
	pkt_spec_init(s, 4);
	inet_pton(AF_INET, FZ_CONN_CLIENT, s->saddr);
	inet_pton(AF_INET, FZ_CONN_SERVER, s->daddr);
	s->sport = FZ_CONN_PORT;
	s->dport = 80;
	s->tcp_flags = flags;
	s->seq = 1;
	s->ack = 0x12345; /* not a cookie */
}

/* ---- invariant: tc, with the metadata XDP really wrote ---- */

/*
 * A test run of TC takes no metadata, so the marked path is run live: the
 * XDP program runs on the frame again with BPF_F_TEST_XDP_LIVE_FRAMES on
 * lo, a frame it passes goes up the stack as on a NIC, with the metadata
 * it wrote, and meets the TC program on lo's ingress. The frames are not
 * addressed to lo's MAC, so the stack drops them right after TC.
 */
static int lo_ifindex;

static void live_setup(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = tc_fd);
	int err;

	lo_ifindex = if_nametoindex("lo");
	hook.ifindex = lo_ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		fprintf(stderr,
			"fuzz: cannot create the clsact hook on lo: %s\n",
			strerror(-err));
		exit(1);
	}
	if (bpf_tc_attach(&hook, &opts)) {
		fprintf(stderr,
			"fuzz: cannot attach the TC program to lo: %s\n",
			strerror(errno));
		exit(1);
	}
}

/*
 * marked: the frame is the ACK of a handshake the program answered, which
 * XDP marks (unless the ACK limit drops it) and TC must then take, with
 * exactly one TC verdict counter. Any other frame: TC must take it only if
 * this run of XDP validated a cookie in it.
 */
static void check_live(const uint8_t *f, size_t len, const char *what,
		       int marked)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	struct xdp_md ctx = {.data_end = len, .ingress_ifindex = lo_ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .repeat = 1);
	unsigned long long tc = 0, ok;
	int k, which = -1;

	read_counters(before);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		violated("harness", "live BPF_PROG_TEST_RUN of XDP on %s: %s",
			 what, strerror(errno));
	read_counters(after);
	harness_ok("counter read");
	live_runs++;
	for (k = SG_CNT_TC_VERDICT_FIRST; k <= SG_CNT_TC_VERDICT_LAST; k++) {
		if (after[k] == before[k])
			continue;
		tc += after[k] - before[k];
		which = k;
		cnt_seen[k]++;
		fz_cov[FZ_COV_TC + k - SG_CNT_TC_VERDICT_FIRST] = 1;
	}
	ok = after[SG_CNT_COOKIE_OK] - before[SG_CNT_COOKIE_OK];
	if (fz_monitor && tc)
		violated("monitor", "TC moved %s on %s with enforce off",
			 counter_names[which], what);
	if (fz_monitor)
		return;
	if (tc > ok)
		violated("tc", "TC moved %s on %s, which XDP did not mark",
			 counter_names[which], what);
	if (ok && tc != ok)
		violated("tc", "XDP marked %s, TC moved %llu verdict counters",
			 what, tc);
	if (marked && !ok &&
	    after[SG_CNT_ACK_SRC_LIMITED] == before[SG_CNT_ACK_SRC_LIMITED])
		violated("cookie", "the live run did not validate %s", what);
	if (which == SG_CNT_HANDOFF_OK)
		tc_handoffs++;
}

/* ---- seeds ---- */

static int seed_n;
static const char *seed_dir;

static void seed(unsigned int sel, const struct pkt_spec *s)
{
	uint8_t buf[FZ_CFG_BYTES + PKT_BUF_SIZE];
	char path[4096];
	int len = pkt_build(s, buf + FZ_CFG_BYTES, PKT_BUF_SIZE);
	FILE *fp;

	if (len < 0) {
		fprintf(stderr, "fuzz: seed %d does not build\n", seed_n);
		exit(1);
	}
	buf[0] = sel & 0xff;
	buf[1] = sel >> 8;
	snprintf(path, sizeof(path), "%s/seed-%03d", seed_dir, seed_n++);
	fp = fopen(path, "w");
	if (!fp ||
	    fwrite(buf, 1, FZ_CFG_BYTES + len, fp) !=
		    (size_t)(FZ_CFG_BYTES + len) ||
	    fclose(fp)) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
}

/* A Linux SYN's options: MSS, SACK-permitted, TS, NOP, WS. */
static void linux_opts(struct pkt_spec *s)
{
	s->tcp_opts_len = 0;
	pkt_opt_mss(s->tcp_opts, &s->tcp_opts_len, 1460);
	pkt_opt_sackperm(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, 0x01020304, 0);
	pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ws(s->tcp_opts, &s->tcp_opts_len, 7);
}

/*
 * The kinds of frames the unit tests send (tests/unit/test_xdp.c,
 * test_parity.c), each under a few configurations.
 */
static void write_seeds(void)
{
	static const unsigned int sels[] = {
		0x0000,
		FZ_MODE_MONITOR,
		FZ_MODE_MONITOR | FZ_LISTS | FZ_SRC_LIMITS,
		2,
		3,
		FZ_LISTS,
		FZ_SRC_LIMITS,
		FZ_SYSCTL_FEW | FZ_KEY_SLOT1,
		FZ_NO_SYNCOOKIES,
		FZ_NO_KEY,
		(FZ_NO_REFLECTION_DROP | FZ_WSCALE_CHANGED) << 8,
		(FZ_NO_RECENT_COOKIE | FZ_SHORT_LIFETIME) << 8,
		FZ_FOLLOW << 8,
		(FZ_OLD_COOKIE | FZ_SHORT_LIFETIME) << 8,
		FZ_ACK_LIMIT << 8,
	};
	static const uint8_t unknown[] = {0xaa, 0xbb};
	static const uint8_t bad_len[] = {2, 1, 0x05};
	struct pkt_spec s;
	size_t c;
	int fam;

	for (c = 0; c < sizeof(sels) / sizeof(sels[0]); c++) {
		for (fam = 4; fam <= 6; fam += 2) {
			unsigned int sel = sels[c];

			/* SYNs: no options, Linux, Windows-like, odd. */
			pkt_spec_init(&s, fam);
			seed(sel, &s);
			linux_opts(&s);
			seed(sel, &s);
			s.tcp_flags |= PKT_TCP_ECE | PKT_TCP_CWR;
			s.nvlan = 1;
			s.vlan_tci[0] = 100;
			s.dport = 443;
			seed(sel, &s);
			pkt_spec_init(&s, fam);
			pkt_opt_mss(s.tcp_opts, &s.tcp_opts_len, 1440);
			pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_ws(s.tcp_opts, &s.tcp_opts_len, 8);
			pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_sackperm(s.tcp_opts, &s.tcp_opts_len);
			seed(sel, &s);
			pkt_opt_unknown(s.tcp_opts, &s.tcp_opts_len, 30,
					unknown, 2);
			pkt_opt_raw(s.tcp_opts, &s.tcp_opts_len, bad_len, 3);
			pkt_opt_pad(s.tcp_opts, &s.tcp_opts_len);
			seed(sel, &s);
			/* Two tags, an IPv4 option or IPv6 extension header,
			 * a fragment, other protected ports. */
			pkt_spec_init(&s, fam);
			linux_opts(&s);
			s.nvlan = 2;
			s.vlan_tpid[0] = PKT_ETH_P_8021AD;
			s.vlan_tci[0] = 10;
			s.vlan_tci[1] = 20;
			seed(sel, &s);
			pkt_spec_init(&s, fam);
			if (fam == 4) {
				s.ip_opts[0] = 1;
				s.ip_opts_len = 4;
			} else {
				s.nv6_ext = 2;
				s.v6_ext[0].type = 0;
				s.v6_ext[1].type = 60;
			}
			seed(sel, &s);
			pkt_spec_init(&s, fam);
			if (fam == 4) {
				s.frag_off = PKT_IP_MF;
			} else {
				s.nv6_ext = 1;
				s.v6_ext[0].type = 44;
				s.v6_ext[0].frag_more = 1;
			}
			seed(sel, &s);
			pkt_spec_init(&s, fam);
			s.dport = FZ_PORT_PASS;
			seed(sel, &s);
			s.dport = FZ_PORT_NONE;
			seed(sel, &s);
			s.dport = FZ_PORT_MPTCP;
			seed(sel, &s);
			/* ACKs: random cookie, with timestamps, data. */
			pkt_spec_init(&s, fam);
			s.tcp_flags = PKT_TCP_ACK;
			s.seq = 0x12345679;
			s.ack = 0x55667788;
			seed(sel, &s);
			pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 5, 6);
			s.tcp_flags |= PKT_TCP_PSH;
			s.payload = unknown;
			s.payload_len = 2;
			seed(sel, &s);
			/* Backscatter and oddities. */
			pkt_spec_init(&s, fam);
			s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
			seed(sel, &s);
			s.tcp_flags = PKT_TCP_RST;
			seed(sel, &s);
			s.tcp_flags = PKT_TCP_SYN | PKT_TCP_FIN;
			seed(sel, &s);
			s.tcp_flags = PKT_TCP_SYN;
			s.dport = 22; /* not protected */
			seed(sel, &s);
			pkt_spec_init(&s, fam);
			s.l4proto = 17;
			seed(sel, &s);
			/* The connection: a socket owns it. */
			if (fam == 4) {
				conn_spec(&s, PKT_TCP_ACK);
				seed(sel, &s);
				conn_spec(&s, PKT_TCP_SYN);
				seed(sel, &s);
			}
		}
		pkt_spec_init(&s, 0); /* ARP */
		seed(sels[c], &s);
	}
}

/* ---- setup and report ---- */

static void report(void)
{
	static const char *const xdp_names[] = {"XDP_ABORTED", "XDP_DROP",
						"XDP_PASS", "XDP_TX",
						"XDP_REDIRECT"};
	struct timespec now;
	double secs;
	int k, n, total;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (now.tv_sec - t_start.tv_sec) +
	       (now.tv_nsec - t_start.tv_nsec) / 1e9;
	printf("fuzz: %llu executions in %.0f s (%.0f/s), %llu handshakes completed\n",
	       execs, secs, secs > 0 ? execs / secs : 0.0, handshakes);
	/* XDP_REDIRECT is not one of synguard's verdicts. */
	printf("fuzz: XDP verdicts reached %d of 4:",
	       !!xdp_seen[XDP_ABORTED] + !!xdp_seen[XDP_DROP] +
		       !!xdp_seen[XDP_PASS] + !!xdp_seen[XDP_TX]);
	for (k = 0; k <= XDP_TX; k++)
		if (xdp_seen[k])
			printf(" %s %llu", xdp_names[k], xdp_seen[k]);
	printf("\n");
	n = 0;
	total = SG_CNT_XDP_VERDICT_LAST - SG_CNT_XDP_VERDICT_FIRST + 1;
	for (k = SG_CNT_XDP_VERDICT_FIRST; k <= SG_CNT_XDP_VERDICT_LAST; k++)
		n += !!cnt_seen[k];
	printf("fuzz: XDP verdict counters reached %d of %d; never:", n, total);
	for (k = SG_CNT_XDP_VERDICT_FIRST; k <= SG_CNT_XDP_VERDICT_LAST; k++)
		if (!cnt_seen[k])
			printf(" %s", counter_names[k]);
	printf("\n");
	n = 0;
	total = SG_CNT_TC_VERDICT_LAST - SG_CNT_TC_VERDICT_FIRST + 1;
	for (k = SG_CNT_TC_VERDICT_FIRST; k <= SG_CNT_TC_VERDICT_LAST; k++)
		n += !!cnt_seen[k];
	printf("fuzz: TC test runs %llu (TC_ACT_UNSPEC %llu, other %llu, refused by the test run %llu); live XDP runs into TC %llu, handoffs %llu\n",
	       tc_unspec + tc_other + tc_refused, tc_unspec, tc_other,
	       tc_refused, live_runs, tc_handoffs);
	printf("fuzz: TC verdict counters reached %d of %d; never:", n, total);
	for (k = SG_CNT_TC_VERDICT_FIRST; k <= SG_CNT_TC_VERDICT_LAST; k++)
		if (!cnt_seen[k])
			printf(" %s", counter_names[k]);
	printf("\n");
	printf("fuzz: other counters reached:");
	for (k = 0; k < SG_CNT_MAX; k++)
		if (!SG_CNT_IS_XDP_VERDICT(k) && !SG_CNT_IS_TC_VERDICT(k))
			printf(" %s %s", counter_names[k],
			       cnt_seen[k] ? "yes" : "no");
	printf("\n");
	printf("fuzz: %llu executions with enforce off (monitor mode)\n",
	       monitor_execs);
	fflush(stdout);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i, fd;
	struct stat st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup())
		exit(1);
	begin("fuzz");
	tc_fd = bpf_program__fd(skel->progs.synguard_tc);
	/* SG_FUZZ_TRACE=1: a line per frame, to follow a reproducer. */
	trace = getenv("SG_FUZZ_TRACE") != NULL;
	live_setup();
	/*
	 * SACK off in the namespace, while the default configuration says the
	 * host takes it (as in the moment before `run` sees a sysctl change):
	 * the kernel refuses the handoff of a client that was promised SACK
	 * (handoff_kfunc_error); FZ_SYSCTL_FEW is the configuration that
	 * agrees with the host.
	 */
	if (write_sysctl("/proc/sys/net/ipv4/tcp_sack", "0")) {
		fprintf(stderr,
			"fuzz: cannot set net.ipv4.tcp_sack in the namespace: %s\n",
			strerror(errno));
		exit(1);
	}
	put_ports(fz_ports, sizeof(fz_ports) / sizeof(fz_ports[0]));
	{
		const int pass[] = {FZ_PORT_PASS};

		put_port_bits(SG_PORT_PASS, pass, 1);
	}
	put_lpm(skel->maps.sg_allow4, 4, FZ_ALLOW4);
	put_lpm(skel->maps.sg_deny4, 4, FZ_DENY4);
	put_lpm(skel->maps.sg_allow6, 6, FZ_ALLOW6);
	put_lpm(skel->maps.sg_deny6, 6, FZ_DENY6);
	random_key(0);
	random_key(1);
	/* An MPTCP listener, where the kernel has MPTCP. */
	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd >= 0) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons(FZ_PORT_MPTCP)};

		if (bind(fd, (void *)&a, sizeof(a)) || listen(fd, 8))
			close(fd);
	}
	/* A connection on port 80: frames of it belong to its socket. */
	if (fz_connection()) {
		fprintf(stderr,
			"fuzz: cannot make the connection %s:%d -> %s:80: %s\n",
			FZ_CONN_CLIENT, FZ_CONN_PORT, FZ_CONN_SERVER,
			strerror(errno));
		exit(1);
	}
	harness_ok("setup");
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	atexit(report);

	/* Seeds into the first corpus directory, if one was given. */
	for (i = 1; i < *argc; i++) {
		const char *a = (*argv)[i];

		if (a[0] == '-')
			continue;
		if (!stat(a, &st) && S_ISDIR(st.st_mode)) {
			seed_dir = a;
			write_seeds();
		}
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r;
	size_t len;

	if (size < FZ_CFG_BYTES + FZ_ETH_HLEN ||
	    size > FZ_CFG_BYTES + FZ_FRAME_MAX)
		return -1; /* not added to the corpus */
	fz_input = data;
	fz_input_len = size;
	len = size - FZ_CFG_BYTES;
	memcpy(in, data + FZ_CFG_BYTES, len);
	fz_config(data[0] | data[1] << 8);
	if (data[1] & FZ_NO_RECENT_COOKIE)
		no_recent_cookie();
	execs++;
	monitor_execs += fz_monitor;
	run_prog(in, len, &r);
	harness_ok("BPF_PROG_TEST_RUN of XDP");
	check_xdp(in, len, &r);
	check_tc(in, len, "the frame");
	if (r.verdict == XDP_PASS)
		check_live(in, len, "the frame", 0);
	if (r.verdict == XDP_TX)
		complete_handshake(&r, in, len);
	return 0;
}
