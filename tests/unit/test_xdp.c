// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the real XDP program: load it through its skeleton, run it
 * on crafted frames with BPF_PROG_TEST_RUN, and assert the verdict, the exact
 * output bytes and the exact change of every counter. Expected SYN-ACKs and
 * cookies come from tests/lib/ref.c and tests/lib/pkt.c, which share no code with
 * bpf/.
 *
 * The process moves into a network namespace of its own, so the sockets it
 * opens for the "kernel has a socket" cases exist only here, and the XDP
 * program's socket lookups see exactly those.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "harness.h"

/* ---- SYN -> SYN-ACK ---- */

/* What the client's SYN offered, for building the expected answer. */
struct offer {
	int have_mss, have_ws, sack, have_ts, ecn;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval;
};

static void offer_opts(const struct offer *o, struct pkt_spec *s, int shuffle)
{
	s->tcp_opts_len = 0;
	if (shuffle) {
		/* Unusual order, NOPs between, as some stacks send them. */
		if (o->have_ts)
			pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, o->tsval, 0);
		pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
		if (o->have_ws)
			pkt_opt_ws(s->tcp_opts, &s->tcp_opts_len, o->ws);
		pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
		if (o->sack)
			pkt_opt_sackperm(s->tcp_opts, &s->tcp_opts_len);
		if (o->have_mss)
			pkt_opt_mss(s->tcp_opts, &s->tcp_opts_len, o->mss);
	} else {
		if (o->have_mss)
			pkt_opt_mss(s->tcp_opts, &s->tcp_opts_len, o->mss);
		if (o->sack)
			pkt_opt_sackperm(s->tcp_opts, &s->tcp_opts_len);
		if (o->have_ts)
			pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, o->tsval, 0);
		if (o->have_ws) {
			pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
			pkt_opt_ws(s->tcp_opts, &s->tcp_opts_len, o->ws);
		}
	}
	pkt_opt_pad(s->tcp_opts, &s->tcp_opts_len);
	if (o->ecn)
		s->tcp_flags |= PKT_TCP_ECE | PKT_TCP_CWR;
}

/*
 * The SYN-ACK synguard must send for a SYN, written out independently of
 * bpf/ (kernel option order and padding; doc/design.md, "The cookie").
 */
static void expected_synack(const struct pkt_spec *syn, const struct offer *o,
			    uint32_t cookie, uint32_t tsval,
			    struct pkt_spec *sa)
{
	int i;

	pkt_spec_init(sa, syn->family);
	memcpy(sa->eth_dst, syn->eth_src, 6);
	memcpy(sa->eth_src, syn->eth_dst, 6);
	sa->nvlan = syn->nvlan;
	for (i = 0; i < syn->nvlan; i++) {
		sa->vlan_tpid[i] = syn->vlan_tpid[i];
		sa->vlan_tci[i] = syn->vlan_tci[i];
	}
	memcpy(sa->saddr, syn->daddr, 16);
	memcpy(sa->daddr, syn->saddr, 16);
	sa->ttl = cfg.ttl;
	sa->tos = 0;
	sa->ip_id = 0;
	sa->frag_off = PKT_IP_DF;
	sa->sport = syn->dport;
	sa->dport = syn->sport;
	sa->seq = cookie;
	sa->ack = syn->seq + 1;
	/* ECN only with timestamps: only our TSval has room for it. */
	sa->tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK |
			(o->ecn && cfg.ecn && o->have_ts ? PKT_TCP_ECE : 0);
	sa->window = cfg.window;
	sa->tcp_opts_len = 0;
	pkt_opt_mss(sa->tcp_opts, &sa->tcp_opts_len,
		    syn->family == 4 ? cfg.mss4 : cfg.mss6);
	if (o->have_ts) {
		if (o->sack) {
			pkt_opt_sackperm(sa->tcp_opts, &sa->tcp_opts_len);
		} else {
			pkt_opt_nop(sa->tcp_opts, &sa->tcp_opts_len);
			pkt_opt_nop(sa->tcp_opts, &sa->tcp_opts_len);
		}
		pkt_opt_ts(sa->tcp_opts, &sa->tcp_opts_len, tsval, o->tsval);
	} else if (o->sack) {
		pkt_opt_nop(sa->tcp_opts, &sa->tcp_opts_len);
		pkt_opt_nop(sa->tcp_opts, &sa->tcp_opts_len);
		pkt_opt_sackperm(sa->tcp_opts, &sa->tcp_opts_len);
	}
	if (o->have_ws) {
		pkt_opt_nop(sa->tcp_opts, &sa->tcp_opts_len);
		pkt_opt_ws(sa->tcp_opts, &sa->tcp_opts_len, cfg.wscale);
	}
}

static int addr_len(int family)
{
	return family == 4 ? 4 : 16;
}

static uint32_t ref_cookie_for(const struct pkt_spec *syn, uint32_t isn,
			       uint32_t counter, unsigned int slot,
			       uint8_t data)
{
	uint8_t key[16];

	key_bytes(key, slot);
	return ref_cookie(syn->family, syn->saddr, syn->daddr,
			  htons(syn->sport), htons(syn->dport), isn, counter,
			  slot, key, data, ref_cookie_ours(data, cfg.wscale));
}

/* Result of a SYN case, for the ACK cases built on it. */
struct synack_result {
	int ok;
	uint32_t cookie;
	uint32_t our_tsval;
	uint8_t data; /* without timestamps: the cookie's bits 0..4 */
	uint8_t opts; /* with: our TSval's low 8 bits */
};

/*
 * Sends the SYN, checks the SYN-ACK byte for byte. Retries once if the run
 * straddled a change of the time counter (every 69 s). A timestamp client's
 * cookie is the MAC over our TSval, whose time is taken from the frame
 * (bounded by the run's clock readings) and whose other bits must be exact.
 */
static struct synack_result check_syn(const char *name,
				      const struct pkt_spec *syn,
				      const struct offer *o)
{
	struct synack_result res = {};
	uint8_t in[PKT_BUF_SIZE], want[PKT_BUF_SIZE];
	struct pkt_spec sa;
	struct pkt_offs off;
	struct run r;
	int len, wlen, attempt;
	uint32_t counter = 0, tsval = 0;
	uint8_t data;

	begin(name);
	len = pkt_build(syn, in, sizeof(in));
	if (len < 0) {
		fail("test bug: pkt_build failed");
		end();
		return res;
	}
	data = ref_cookie_data(syn->family, o->have_mss, o->mss, o->sack,
			       o->have_ws, o->ws);
	res.opts = ref_ts_opts(syn->family, o->have_mss, o->mss, o->sack,
			       o->ecn && cfg.ecn, o->have_ws, o->ws);
	for (attempt = 0; attempt < 2; attempt++) {
		if (run_prog(in, len, &r))
			break;
		counter = ref_counter(r.tai_before);
		if (counter != ref_counter(r.tai_after))
			continue;
		break;
	}
	if (case_errors) {
		end();
		return res;
	}
	expect_verdict(&r, XDP_TX);
	expect_counters(&r, SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT, CNT_END);

	res.cookie = ref_cookie_for(syn, syn->seq, counter,
				    keys.current & 1, data);
	res.data = data;
	if (o->have_ts) {
		const uint8_t *ts;
		int dlen;
		uint8_t key[16];
		uint32_t lo = ref_tsval(r.tai_before, keys.current, res.opts),
			 hi = ref_tsval(r.tai_after, keys.current, res.opts);

		if (pkt_offsets(r.out, r.out_len, &off) ||
		    pkt_tcpopt_find(r.out + off.l4_off, r.out_len - off.l4_off,
				    PKT_TCPOPT_TS, &ts, &dlen) < 0 ||
		    dlen != 8) {
			fail("no timestamp option in the SYN-ACK");
		} else {
			tsval = pkt_be32(ts);
			if ((tsval & 0x1ff) != (lo & 0x1ff))
				fail("TSval %#x: key and options, want %#x",
				     tsval, lo & 0x1ff);
			else if (tsval - lo > hi - lo)
				fail("TSval %#x outside [%#x, %#x]", tsval, lo,
				     hi);
		}
		key_bytes(key, keys.current & 1);
		res.cookie = ref_cookie_ts(syn->family, syn->saddr, syn->daddr,
					   htons(syn->sport), htons(syn->dport),
					   syn->seq, tsval, key,
					   ref_ts_ours(res.opts, cfg.wscale));
	}
	res.our_tsval = tsval;
	expected_synack(syn, o, res.cookie, tsval, &sa);
	wlen = pkt_build(&sa, want, sizeof(want));
	expect_bytes(want, wlen, r.out, r.out_len);
	/* The checksums once more, from the frame alone. */
	if (!pkt_offsets(r.out, r.out_len, &off)) {
		if (off.family == 4 && !ref_ipv4_csum_ok(r.out + off.l3_off))
			fail("bad IPv4 header checksum");
		if (!ref_tcp_csum_ok(off.family, r.out + off.l3_off,
				     r.out + off.l4_off,
				     r.out_len - off.l4_off))
			fail("bad TCP checksum");
	} else {
		fail("SYN-ACK does not parse");
	}
	res.ok = !case_errors;
	end();
	return res;
}

/* ---- ACK -> metadata ---- */

/* The client's ACK completing the handshake of syn. */
static void ack_for(const struct pkt_spec *syn, const struct offer *o,
		    const struct synack_result *sa, struct pkt_spec *ack)
{
	*ack = *syn;
	ack->tcp_flags = PKT_TCP_ACK;
	ack->seq = syn->seq + 1;
	ack->ack = sa->cookie + 1;
	ack->tcp_opts_len = 0;
	if (o->have_ts) {
		pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
		pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
		pkt_opt_ts(ack->tcp_opts, &ack->tcp_opts_len, o->tsval + 1,
			   sa->our_tsval);
	}
}

static void check_meta(const struct sg_meta *m, const struct pkt_spec *syn,
		       const struct offer *o, const struct synack_result *sa)
{
	uint8_t want_flags = 0;
	/* What the cookie keeps of the offer: exact with timestamps; the
	 * scale rounded down to the table without. */
	unsigned int idx = o->have_ts ? sa->opts >> 6 : sa->data & 3;
	unsigned int ws = o->have_ts ? (o->ws > 14 ? 14 : o->ws) :
				       ref_ws_of_code(sa->data >> 3 & 3);

	if (m->magic != SG_META_MAGIC)
		fail("meta magic %#x", m->magic);
	if (m->secret[0] != TEST_META_SECRET0 ||
	    m->secret[1] != TEST_META_SECRET1)
		fail("meta secret %#x %#x, want the load's %#x %#x",
		     m->secret[0], m->secret[1], TEST_META_SECRET0,
		     TEST_META_SECRET1);
	if (m->mss != ref_cookie_mss(syn->family, idx))
		fail("meta mss %u, want %u", m->mss,
		     ref_cookie_mss(syn->family, idx));
	if (o->have_ts) {
		want_flags |= SG_META_F_TSTAMP;
		if (m->rcv_tsval != o->tsval + 1 ||
		    m->rcv_tsecr != sa->our_tsval)
			fail("meta timestamps %u/%u, want %u/%u", m->rcv_tsval,
			     m->rcv_tsecr, o->tsval + 1, sa->our_tsval);
	} else if (m->rcv_tsval || m->rcv_tsecr) {
		fail("meta timestamps set without the option");
	}
	if (o->sack)
		want_flags |= SG_META_F_SACK;
	if (o->ecn && cfg.ecn && o->have_ts)
		want_flags |= SG_META_F_ECN;
	if (o->have_ws) {
		want_flags |= SG_META_F_WSCALE;
		if (m->snd_wscale != ws || m->rcv_wscale != cfg.wscale)
			fail("meta wscale snd %u rcv %u, want %u %u",
			     m->snd_wscale, m->rcv_wscale, ws, cfg.wscale);
	} else if (m->snd_wscale || m->rcv_wscale) {
		fail("meta wscale set without the option");
	}
	if (m->flags != want_flags)
		fail("meta flags %#x, want %#x", m->flags, want_flags);
}

/* Sends the ACK for a SYN-ACK; expects a pass with metadata. */
static void check_ack_ok(const char *name, const struct pkt_spec *syn,
			 const struct offer *o, const struct synack_result *sa)
{
	uint8_t in[PKT_BUF_SIZE];
	struct pkt_spec ack;
	struct run r;
	int len;

	begin(name);
	ack_for(syn, o, sa, &ack);
	len = pkt_build(&ack, in, sizeof(in));
	if (len > 0 && !run_prog(in, len, &r)) {
		expect_verdict(&r, XDP_PASS);
		expect_counters(&r, SG_CNT_COOKIE_OK, CNT_END);
		if (r.out_len != len + sizeof(struct sg_meta)) {
			fail("output %u bytes, want metadata (%zu) + frame (%d)",
			     r.out_len, sizeof(struct sg_meta), len);
		} else {
			struct sg_meta m;

			memcpy(&m, r.out, sizeof(m));
			check_meta(&m, syn, o, sa);
			expect_bytes(in, len, r.out + sizeof(m),
				     r.out_len - sizeof(m));
		}
	}
	end();
}


/* ---- test groups ---- */

static void vlan(struct pkt_spec *s, int n)
{
	s->nvlan = n;
	s->vlan_tpid[0] = n == 2 ? PKT_ETH_P_8021AD : PKT_ETH_P_8021Q;
	s->vlan_tci[0] = 100;
	s->vlan_tpid[1] = PKT_ETH_P_8021Q;
	s->vlan_tci[1] = 0x2007;
}

struct syn_case {
	const char *name;
	struct offer o;
	int shuffle;
	int unknown_opt;
	/* Options as these bytes instead (o still says what they offer). */
	const uint8_t *raw;
	int rawlen;
};

/*
 * Layouts of real stacks, which the program recognises in place, and near
 * misses of them, which must take the general walk and agree.
 */
static const uint8_t opt_linux_nosack[20] = { 2, 4, 0x05, 0xb4, 1, 1, 8, 10,
					      0, 0, 0, 9, 0, 0, 0, 0,
					      1, 3, 3, 7 };
static const uint8_t opt_windows[12] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 8,
					 1, 1, 4, 2 };
static const uint8_t opt_linux_nots[12] = { 2, 4, 0x05, 0x8c, 1, 1, 4, 2,
					    1, 3, 3, 9 };
/* Like Linux, but NOPs and an EOL where the window scale would be. */
static const uint8_t opt_near_linux[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10,
					    0, 0, 0, 9, 0, 0, 0, 0,
					    1, 1, 1, 0 };
/* Windows order, but SACK-permitted replaced by two more NOPs. */
static const uint8_t opt_near_windows[12] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 8,
					      1, 1, 1, 1 };

static const struct syn_case syn_cases[] = {
	{ "no options", {}, 0, 0, NULL, 0 },
	{ "MSS only", { .have_mss = 1, .mss = 1460 }, 0, 0, NULL, 0 },
	{ "MSS+WS+SACK+TS",
	  { .have_mss = 1, .mss = 1460, .have_ws = 1, .ws = 7, .sack = 1,
	    .have_ts = 1, .tsval = 0x01020304 },
	  0, 0, NULL, 0 },
	{ "TS without WS",
	  { .have_mss = 1, .mss = 1440, .have_ts = 1, .tsval = 77 }, 0, 0, NULL, 0 },
	{ "WS without TS", { .have_mss = 1, .mss = 1300, .have_ws = 1, .ws = 2 },
	  0, 0, NULL, 0 },
	{ "SACK only", { .sack = 1 }, 0, 0, NULL, 0 },
	{ "unusual order with NOPs",
	  { .have_mss = 1, .mss = 1400, .have_ws = 1, .ws = 14, .sack = 1,
	    .have_ts = 1, .tsval = 0xfffffff0 },
	  1, 0, NULL, 0 },
	{ "unknown option",
	  { .have_mss = 1, .mss = 1460, .sack = 1 }, 0, 1, NULL, 0 },
	{ "MSS below the table", { .have_mss = 1, .mss = 100 }, 0, 0, NULL, 0 },
	{ "jumbo MSS, WS 15 clamped",
	  { .have_mss = 1, .mss = 9000, .have_ws = 1, .ws = 15 }, 0, 0, NULL, 0 },
	{ "ECN setup",
	  { .have_mss = 1, .mss = 1460, .ecn = 1, .have_ts = 1, .tsval = 5 },
	  0, 0, NULL, 0 },
	{ "Linux layout without SACK",
	  { .have_mss = 1, .mss = 1460, .have_ts = 1, .tsval = 9,
	    .have_ws = 1, .ws = 7 },
	  0, 0, opt_linux_nosack, 20 },
	{ "Windows layout",
	  { .have_mss = 1, .mss = 1460, .have_ws = 1, .ws = 8, .sack = 1 },
	  0, 0, opt_windows, 12 },
	{ "Linux layout without timestamps",
	  { .have_mss = 1, .mss = 1420, .have_ws = 1, .ws = 9, .sack = 1 },
	  0, 0, opt_linux_nots, 12 },
	{ "near miss of the Linux layout",
	  { .have_mss = 1, .mss = 1460, .have_ts = 1, .tsval = 9, .sack = 1 },
	  0, 0, opt_near_linux, 20 },
	{ "near miss of the Windows layout",
	  { .have_mss = 1, .mss = 1460, .have_ws = 1, .ws = 8 },
	  0, 0, opt_near_windows, 12 },
};

static void syn_spec(struct pkt_spec *s, int family, const struct syn_case *c)
{
	static uint32_t isn = 0x9abc0000;

	pkt_spec_init(s, family);
	s->seq = isn += 0x1111;
	s->sport = 40000 + (isn & 0xfff);
	offer_opts(&c->o, s, c->shuffle);
	if (c->unknown_opt) {
		const uint8_t d[4] = { 1, 2, 3, 4 };

		s->tcp_opts_len = 0;
		pkt_opt_mss(s->tcp_opts, &s->tcp_opts_len, c->o.mss);
		pkt_opt_unknown(s->tcp_opts, &s->tcp_opts_len, 99, d, 4);
		pkt_opt_sackperm(s->tcp_opts, &s->tcp_opts_len);
		pkt_opt_pad(s->tcp_opts, &s->tcp_opts_len);
	}
	if (c->raw) {
		s->tcp_opts_len = 0;
		pkt_opt_raw(s->tcp_opts, &s->tcp_opts_len, c->raw, c->rawlen);
	}
}

static void test_syn_ack_roundtrip(void)
{
	static const int families[] = { 4, 6 };
	char name[160];
	unsigned int i, f;
	int nv;

	for (f = 0; f < 2; f++) {
		for (nv = 0; nv <= 2; nv++) {
			for (i = 0; i < sizeof(syn_cases) / sizeof(syn_cases[0]);
			     i++) {
				const struct syn_case *c = &syn_cases[i];
				struct synack_result sa;
				struct pkt_spec s;

				/* Every option set untagged; VLANs on two. */
				if (nv && i != 0 && i != 2)
					continue;
				syn_spec(&s, families[f], c);
				vlan(&s, nv);
				/*
				 * Two tags: the kfunc refuses a frame whose
				 * protocol at TC is still 802.1Q, so a cookie
				 * would promise a connection that cannot be.
				 */
				if (nv == 2) {
					snprintf(name, sizeof(name),
						 "SYN IPv%d 2 VLAN, %s -> pass, "
						 "no handoff possible",
						 families[f], c->name);
					expect_syn_untouched(
						name, &s,
						SG_CNT_SYN_NO_HANDOFF_PASS);
					continue;
				}
				snprintf(name, sizeof(name),
					 "SYN IPv%d %d VLAN, %s -> SYN-ACK",
					 families[f], nv, c->name);
				sa = check_syn(name, &s, &c->o);
				if (!sa.ok)
					continue;
				snprintf(name, sizeof(name),
					 "ACK IPv%d %d VLAN, %s -> metadata",
					 families[f], nv, c->name);
				check_ack_ok(name, &s, &c->o, &sa);
			}
		}
	}
}

static void test_syn_headers(void)
{
	const struct offer full = { .have_mss = 1, .mss = 1460, .have_ws = 1,
				    .ws = 7, .sack = 1, .have_ts = 1,
				    .tsval = 1000 };
	const struct offer none = {};
	struct synack_result sa;
	struct pkt_spec s;
	int i;

	/* IPv4 options are not echoed. */
	pkt_spec_init(&s, 4);
	offer_opts(&full, &s, 0);
	s.ip_opts[0] = 1; /* NOP */
	s.ip_opts[1] = 1;
	s.ip_opts[2] = 1;
	s.ip_opts[3] = 0; /* EOL */
	s.ip_opts_len = 4;
	sa = check_syn("SYN IPv4 with IP options -> SYN-ACK without", &s, &full);
	if (sa.ok)
		check_ack_ok("ACK IPv4 with IP options -> metadata", &s, &full,
			     &sa);

	/* Extension headers are not echoed (a routing header must never be). */
	pkt_spec_init(&s, 6);
	offer_opts(&full, &s, 0);
	s.nv6_ext = 3;
	s.v6_ext[0].type = 0;
	s.v6_ext[1].type = 60;
	s.v6_ext[1].len8 = 1;
	s.v6_ext[2].type = 43;
	sa = check_syn("SYN IPv6 HBH+DST+RT -> SYN-ACK without them", &s, &full);
	if (sa.ok)
		check_ack_ok("ACK IPv6 HBH+DST+RT -> metadata", &s, &full, &sa);

	/* A SYN with payload: the payload is not echoed either. */
	pkt_spec_init(&s, 4);
	s.payload = (const uint8_t *)"hello";
	s.payload_len = 5;
	check_syn("SYN with payload -> SYN-ACK without it", &s, &none);

	/* Non-DF is ordinary IPv4: a SYN without DF is still answered. */
	pkt_spec_init(&s, 4);
	s.frag_off = 0;
	check_syn("SYN IPv4 without DF -> SYN-ACK", &s, &none);

	/* Ethernet padding after the IP packet is trimmed. */
	pkt_spec_init(&s, 4);
	s.eth_pad = 6;
	check_syn("SYN IPv4 with Ethernet padding -> SYN-ACK", &s, &none);

	/* ECN off in the config: ECE|CWR gets no ECE. */
	cfg.ecn = 0;
	put_config();
	for (i = 4; i <= 6; i += 2) {
		struct offer ecn = { .ecn = 1 };

		pkt_spec_init(&s, i);
		offer_opts(&ecn, &s, 0);
		sa = check_syn(i == 4 ? "SYN IPv4 ECN, ECN off -> no ECE" :
					"SYN IPv6 ECN, ECN off -> no ECE",
			       &s, &ecn);
		if (sa.ok)
			check_ack_ok(i == 4 ? "ACK IPv4 ECN off -> no ECN" :
					      "ACK IPv6 ECN off -> no ECN",
				     &s, &ecn, &sa);
	}
	cfg.ecn = SG_DEFAULT_ECN;
	put_config();

	/* Config changes at run time are used by the next SYN. */
	cfg.mss4 = 1400;
	cfg.mss6 = 1380;
	cfg.window = 29200;
	cfg.ttl = 200;
	cfg.wscale = 10;
	put_config();
	for (i = 4; i <= 6; i += 2) {
		pkt_spec_init(&s, i);
		offer_opts(&full, &s, 0);
		sa = check_syn(i == 4 ? "SYN IPv4 with changed config" :
					"SYN IPv6 with changed config",
			       &s, &full);
		if (sa.ok)
			check_ack_ok(i == 4 ? "ACK IPv4 with changed config" :
					      "ACK IPv6 with changed config",
				     &s, &full, &sa);
	}
	config_defaults();
}


static void test_ack_ages(void);

static void test_ack_rejects(void)
{
	const struct offer o = { .have_mss = 1, .mss = 1460 };
	struct synack_result sa;
	struct pkt_spec syn, ack;
	int family;
	char name[128];

	for (family = 4; family <= 6; family += 2) {
		pkt_spec_init(&syn, family);
		offer_opts(&o, &syn, 0);
		snprintf(name, sizeof(name), "SYN IPv%d for the reject cases",
			 family);
		sa = check_syn(name, &syn, &o);
		if (!sa.ok)
			continue;

		ack_for(&syn, &o, &sa, &ack);
		ack.ack += 1;
		snprintf(name, sizeof(name), "ACK IPv%d wrong ack number",
			 family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);

		ack_for(&syn, &o, &sa, &ack);
		ack.seq += 1; /* a different client ISN */
		snprintf(name, sizeof(name), "ACK IPv%d wrong sequence number",
			 family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);

		ack_for(&syn, &o, &sa, &ack);
		ack.sport += 1;
		snprintf(name, sizeof(name), "ACK IPv%d wrong source port",
			 family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);

		ack_for(&syn, &o, &sa, &ack);
		ack.dport = 443; /* also protected */
		snprintf(name, sizeof(name),
			 "ACK IPv%d other protected destination port", family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);

		ack_for(&syn, &o, &sa, &ack);
		ack.saddr[addr_len(family) - 1] ^= 1;
		snprintf(name, sizeof(name), "ACK IPv%d wrong source address",
			 family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);

		ack_for(&syn, &o, &sa, &ack);
		ack.daddr[addr_len(family) - 1] ^= 1;
		snprintf(name, sizeof(name),
			 "ACK IPv%d wrong destination address", family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);

		if (family == 6) {
			/* The MAC covers the whole IPv6 address. */
			ack_for(&syn, &o, &sa, &ack);
			ack.saddr[0] ^= 0x80;
			check_ack_dropped("ACK IPv6 first address byte changed",
					  &ack, SG_CNT_COOKIE_BAD);
		}

		/* Data bits flipped: the MAC covers them. */
		ack_for(&syn, &o, &sa, &ack);
		ack.ack ^= 1u << SG_COOKIE_WS_SHIFT;
		snprintf(name, sizeof(name), "ACK IPv%d data bits flipped",
			 family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);
	}

	test_ack_ages();
}

/*
 * Time. Without timestamps a cookie is good in the periods (2^36 ns) that
 * overlap [now - lifetime, now + skew]; the parity bit picks one of them,
 * and a genuine cookie of the period before is expired. With timestamps
 * the echoed TSval dates it to 2^29 ns. The SG clock is moved to a chosen
 * point of its period, so the cases do not depend on the wall clock.
 */
static void test_ack_ages(void)
{
	const uint64_t sec = 1000000000ULL, period = 1ULL << SG_PERIOD_SHIFT;
	/* Where in the period, the lifetime, cookie counters relative to
	 * now's, and the counter expected from them. */
	static const struct {
		uint64_t at_sec;
		unsigned int lifetime;
		int age;
		int want; /* counter */
		const char *why;
	} c[] = {
		{ 30, 60, 0, SG_CNT_COOKIE_OK, "this period" },
		{ 30, 60, 1, SG_CNT_COOKIE_OK, "the period before, within 60 s" },
		{ 30, 60, 2, SG_CNT_COOKIE_BAD, "two periods old: wrong parity" },
		{ 30, 60, -1, SG_CNT_COOKIE_BAD, "next period, skew not reached" },
		{ 65, 60, 0, SG_CNT_COOKIE_OK, "this period, 65 s in" },
		{ 65, 60, -1, SG_CNT_COOKIE_OK, "next period within the skew" },
		{ 65, 60, 1, SG_CNT_COOKIE_BAD, "the period before, parity of next" },
		{ 30, 18, 0, SG_CNT_COOKIE_OK, "lifetime 18 s: this period" },
		{ 30, 18, 1, SG_CNT_COOKIE_EXPIRED,
		  "lifetime 18 s: the period before ended 30 s ago" },
		{ 10, 18, 1, SG_CNT_COOKIE_OK,
		  "lifetime 18 s: the period before ended 10 s ago" },
		{ 30, 18, 2, SG_CNT_COOKIE_BAD,
		  "lifetime 18 s: two periods old, checked as this one" },
		{ 30, 18, 3, SG_CNT_COOKIE_BAD,
		  "lifetime 18 s: three periods old, checked as the last" },
	};
	/* TSval ages in seconds (negative: ahead) and the expected counter. */
	static const struct {
		int age_sec;
		int want;
	} t[] = {
		{ 0, SG_CNT_COOKIE_OK },       { 59, SG_CNT_COOKIE_OK },
		{ 62, SG_CNT_COOKIE_EXPIRED }, { 3600, SG_CNT_COOKIE_EXPIRED },
		{ -8, SG_CNT_COOKIE_OK },      { -10, SG_CNT_COOKIE_EXPIRED },
	};
	uint8_t key[16], other[16];
	struct pkt_spec ack;
	char name[160];
	unsigned int i;
	uint64_t now;
	uint32_t n;
	int family;

	key_bytes(key, keys.current);
	for (family = 4; family <= 6; family += 2) {
		const uint8_t d = ref_cookie_data(family, 1, 1460, 0, 0, 0);
		const uint8_t to = ref_ts_opts(family, 1, 1460, 1, 0, 1, 7);

		for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			cfg.cookie_lifetime = c[i].lifetime;
			now = sg_clock_at(c[i].at_sec * sec);
			n = (uint32_t)(now / period);
			forged_ack(family, &ack, n - c[i].age, keys.current,
				   key, d);
			snprintf(name, sizeof(name),
				 "ACK IPv%d no TS, %llu s into the period, "
				 "%s -> %s",
				 family, (unsigned long long)c[i].at_sec,
				 c[i].why, counter_names[c[i].want]);
			check_ack(name, &ack,
				  c[i].want == SG_CNT_COOKIE_OK ? XDP_PASS
								: XDP_DROP,
				  c[i].want);
		}
		cfg.cookie_lifetime = 60;
		now = sg_clock_at(30 * sec);
		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			forged_ack_ts(family, &ack,
				      now - (int64_t)t[i].age_sec * (int64_t)sec,
				      keys.current, key, to);
			snprintf(name, sizeof(name),
				 "ACK IPv%d TS, TSecr %d s old, lifetime 60 s "
				 "-> %s",
				 family, t[i].age_sec, counter_names[t[i].want]);
			check_ack(name, &ack,
				  t[i].want == SG_CNT_COOKIE_OK ? XDP_PASS
								: XDP_DROP,
				  t[i].want);
		}

		/* A TS cookie ACK with its timestamp option stripped, and a
		 * cookie without timestamps given one: never the other. */
		forged_ack_ts(family, &ack, now, keys.current, key, to);
		ack.tcp_opts_len = 0;
		snprintf(name, sizeof(name),
			 "ACK IPv%d TS cookie without its timestamp -> bad",
			 family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);
		forged_ack(family, &ack, (uint32_t)(now / period), keys.current,
			   key, d);
		pkt_opt_nop(ack.tcp_opts, &ack.tcp_opts_len);
		pkt_opt_nop(ack.tcp_opts, &ack.tcp_opts_len);
		pkt_opt_ts(ack.tcp_opts, &ack.tcp_opts_len, 1, ack.ack - 1);
		snprintf(name, sizeof(name),
			 "ACK IPv%d cookie without TS given a timestamp -> bad",
			 family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);
		/* The options echoed in TSecr are in the MAC. */
		forged_ack_ts(family, &ack, now, keys.current, key, to);
		ack.tcp_opts[2 + 2 + 4 + 3] ^= 0x10; /* TSecr's SACK bit */
		snprintf(name, sizeof(name),
			 "ACK IPv%d TSecr options changed -> bad", family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);

		/* A key that is neither current nor previous. */
		if (getrandom(other, 16, 0) != 16)
			fail("getrandom");
		forged_ack(family, &ack, (uint32_t)(now / period), keys.current,
			   other, d);
		snprintf(name, sizeof(name), "ACK IPv%d cookie of an unknown key",
			 family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);
		forged_ack_ts(family, &ack, now, keys.current, other, to);
		snprintf(name, sizeof(name),
			 "ACK IPv%d TS cookie of an unknown key", family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);
		/* The other slot holds no key. */
		forged_ack(family, &ack, (uint32_t)(now / period),
			   !keys.current, key, d);
		snprintf(name, sizeof(name),
			 "ACK IPv%d cookie naming an empty key slot", family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);
		forged_ack_ts(family, &ack, now, !keys.current, key, to);
		snprintf(name, sizeof(name),
			 "ACK IPv%d TSecr naming an empty key slot", family);
		check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);
	}
	config_defaults();
}

static void test_key_rotation(void)
{
	const struct offer o = { .have_mss = 1, .mss = 1460, .sack = 1 };
	struct synack_result before, after;
	struct pkt_spec s4, s6;
	unsigned int old = keys.current & 1;
	uint8_t oldkey[16];

	pkt_spec_init(&s4, 4);
	offer_opts(&o, &s4, 0);
	pkt_spec_init(&s6, 6);
	offer_opts(&o, &s6, 0);
	before = check_syn("SYN IPv4 before key rotation", &s4, &o);

	/* Rotate: the new key goes to the other slot, which becomes current. */
	random_key(!old);
	keys.current = !old;
	put_keys();
	if (before.ok)
		check_ack_ok("ACK IPv4 of the previous key after rotation", &s4,
			     &o, &before);
	after = check_syn("SYN IPv6 after rotation uses the new key", &s6, &o);
	if (after.ok && !(after.cookie >> SG_COOKIE_KEY_SHIFT & 1) == !old)
		fail("new cookie names the old key slot");
	if (after.ok)
		check_ack_ok("ACK IPv6 of the new key", &s6, &o, &after);

	/* Rotate again: the first key is gone, its cookies with it. */
	key_bytes(oldkey, old);
	random_key(old);
	keys.current = old;
	put_keys();
	if (before.ok) {
		struct pkt_spec ack;

		ack_for(&s4, &o, &before, &ack);
		check_ack_dropped("ACK IPv4 of a key rotated out twice", &ack,
				  SG_CNT_COOKIE_BAD);
	}
	if (after.ok)
		check_ack_ok("ACK IPv6 of the previous key after 2nd rotation",
			     &s6, &o, &after);

	/* No key at all: SYNs go to the kernel, counted. */
	keys.valid[keys.current] = 0;
	put_keys();
	{
		uint8_t in[PKT_BUF_SIZE];
		struct run r;
		int len = pkt_build(&s4, in, sizeof(in));

		begin("SYN with no key installed -> pass, syn_no_key");
		if (!run_prog(in, len, &r)) {
			expect_verdict(&r, XDP_PASS);
			expect_counters(&r, SG_CNT_SYN_RECEIVED,
					SG_CNT_SYN_NO_KEY, CNT_END);
			expect_bytes(in, len, r.out, r.out_len);
		}
		end();
	}
	keys.valid[keys.current] = 1;
	put_keys();
}

static void test_edges(void)
{
	uint8_t buf[PKT_BUF_SIZE];
	struct pkt_spec s;
	struct pkt_offs off;
	char name[128];
	int len, cut, family;

	/* Truncation at every header boundary (and inside each header). */
	for (family = 4; family <= 6; family += 2) {
		const int hdr = family == 4 ? 20 : 40;
		const int cuts[] = { 14, 15, 14 + 4, 14 + 4 + 2, 18 + hdr - 1,
				     18 + hdr, 18 + hdr + 3, 18 + hdr + 19 };

		pkt_spec_init(&s, family);
		vlan(&s, 1);
		pkt_opt_mss(s.tcp_opts, &s.tcp_opts_len, 1460);
		len = pkt_build(&s, buf, sizeof(buf));
		for (cut = 0; cut < (int)(sizeof(cuts) / sizeof(cuts[0]));
		     cut++) {
			snprintf(name, sizeof(name),
				 "IPv%d SYN with a VLAN cut to %d of %d bytes",
				 family, cuts[cut], len);
			expect_untouched(name, buf, cuts[cut], XDP_PASS,
					 SG_CNT_MALFORMED);
		}
		/* Options announced by doff but cut off. */
		snprintf(name, sizeof(name),
			 "IPv%d SYN cut inside its options", family);
		expect_untouched(name, buf, len - 2, XDP_PASS, SG_CNT_MALFORMED);
	}

	/* A bare 14-byte frame. */
	pkt_spec_init(&s, 4);
	len = pkt_build(&s, buf, sizeof(buf));
	expect_untouched("14-byte frame (IPv4 ethertype)", buf, 14, XDP_PASS,
			 SG_CNT_MALFORMED);
	buf[12] = 0x88;
	buf[13] = 0xb5; /* local experimental ethertype */
	expect_untouched("14-byte frame (other ethertype)", buf, 14, XDP_PASS,
			 SG_CNT_OTHER_PASS);

	pkt_spec_init(&s, 4);
	s.doff = 4;
	expect_spec_untouched("doff 4", &s, XDP_PASS, SG_CNT_MALFORMED);
	pkt_spec_init(&s, 6);
	s.doff = 0;
	expect_spec_untouched("IPv6 doff 0", &s, XDP_PASS, SG_CNT_MALFORMED);
	pkt_spec_init(&s, 4);
	s.doff = 15; /* 60 bytes of header in a 20-byte segment */
	expect_spec_untouched("doff past the segment", &s, XDP_PASS,
			      SG_CNT_MALFORMED);

	{
		const uint8_t zero_len[] = { 2, 0, 1, 1 };
		const uint8_t one_len[] = { 1, 1, 3, 1 };
		const uint8_t past[] = { 2, 4, 5, 0xb4, 8, 10, 0, 0 };
		const uint8_t lonely[] = { 1, 1, 1, 3 };

		/*
		 * The kernel's option parser stops at a bad length and keeps
		 * the SYN with what it found before: so must we, or every
		 * flood SYN with such a tail would walk past the cookies.
		 */
		const struct offer none = {};
		const struct offer mss_only = { .have_mss = 1, .mss = 1460 };
		const uint8_t tail[] = { 2, 4, 5, 0xb4, 4, 2, 0xfe, 0 };
		const struct offer mss_sack = { .have_mss = 1, .mss = 1460,
						.sack = 1 };

		pkt_spec_init(&s, 4);
		pkt_opt_raw(s.tcp_opts, &s.tcp_opts_len, zero_len, 4);
		check_syn("option length 0 -> SYN-ACK, walk stops", &s, &none);
		pkt_spec_init(&s, 4);
		pkt_opt_raw(s.tcp_opts, &s.tcp_opts_len, one_len, 4);
		check_syn("option length 1 -> SYN-ACK, walk stops", &s, &none);
		pkt_spec_init(&s, 6);
		pkt_opt_raw(s.tcp_opts, &s.tcp_opts_len, past, 8);
		check_syn("option running past the header -> SYN-ACK, MSS kept",
			  &s, &mss_only);
		pkt_spec_init(&s, 4);
		pkt_opt_raw(s.tcp_opts, &s.tcp_opts_len, lonely, 4);
		check_syn("option kind in the last byte -> SYN-ACK", &s, &none);
		pkt_spec_init(&s, 4);
		pkt_opt_raw(s.tcp_opts, &s.tcp_opts_len, tail, 8);
		check_syn("options ending in fe 00 00 00 -> SYN-ACK, MSS+SACK kept",
			  &s, &mss_sack);
	}

	pkt_spec_init(&s, 4);
	s.ihl = 4;
	expect_spec_untouched("IHL 4", &s, XDP_PASS, SG_CNT_MALFORMED);
	pkt_spec_init(&s, 4);
	s.ip_len = 30; /* shorter than IP + TCP header */
	len = pkt_build(&s, buf, sizeof(buf));
	expect_spec_untouched("IPv4 total length inside the TCP header", &s,
			      XDP_PASS, SG_CNT_MALFORMED);
	pkt_spec_init(&s, 4);
	s.ip_len = 200;
	expect_spec_untouched("IPv4 total length past the frame", &s, XDP_PASS,
			      SG_CNT_MALFORMED);
	pkt_spec_init(&s, 6);
	s.ip_len = 300;
	expect_spec_untouched("IPv6 payload length past the frame", &s,
			      XDP_PASS, SG_CNT_MALFORMED);

	pkt_spec_init(&s, 0);
	expect_spec_untouched("ARP request", &s, XDP_PASS, SG_CNT_OTHER_PASS);

	/* A fragmented SYN is reassembled by the kernel into a SYN. */
	pkt_spec_init(&s, 4);
	s.frag_off = PKT_IP_MF;
	expect_spec_untouched("IPv4 first fragment of a SYN -> drop", &s,
			      XDP_DROP, SG_CNT_FRAGMENT_DROP);
	pkt_spec_init(&s, 4);
	s.frag_off = PKT_IP_MF;
	s.tcp_flags = PKT_TCP_ACK;
	expect_spec_untouched("IPv4 first fragment of an ACK -> pass", &s,
			      XDP_PASS, SG_CNT_FRAGMENT_PASS);
	pkt_spec_init(&s, 4);
	s.frag_off = 185; /* offset 1480 */
	expect_spec_untouched("IPv4 later fragment", &s, XDP_PASS,
			      SG_CNT_FRAGMENT_PASS);
	pkt_spec_init(&s, 6);
	s.nv6_ext = 1;
	s.v6_ext[0].type = 44;
	s.v6_ext[0].frag_more = 1;
	expect_spec_untouched("IPv6 first fragment of a SYN -> drop", &s,
			      XDP_DROP, SG_CNT_FRAGMENT_DROP);
	{
		/* An atomic fragment (offset 0, M clear) is no fragment. */
		const struct offer none = {};

		pkt_spec_init(&s, 6);
		s.nv6_ext = 1;
		s.v6_ext[0].type = 44;
		check_syn("IPv6 atomic fragment SYN -> SYN-ACK", &s, &none);
	}
	pkt_spec_init(&s, 6);
	s.nv6_ext = 2;
	s.v6_ext[0].type = 0;
	s.v6_ext[1].type = 44;
	s.v6_ext[1].frag_offset = 10;
	expect_spec_untouched("IPv6 HBH then later fragment", &s, XDP_PASS,
			      SG_CNT_FRAGMENT_PASS);

	pkt_spec_init(&s, 4);
	s.frag_off = 0;
	s.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
	s.dport = 22;
	expect_spec_untouched("non-DF TCP to an unprotected port", &s, XDP_PASS,
			      SG_CNT_OTHER_PASS);
	pkt_spec_init(&s, 4);
	s.frag_off = 0;
	s.l4proto = 17;
	expect_spec_untouched("non-DF UDP to port 80", &s, XDP_PASS,
			      SG_CNT_OTHER_PASS);
	pkt_spec_init(&s, 6);
	s.l4proto = 17;
	expect_spec_untouched("IPv6 UDP to port 80", &s, XDP_PASS,
			      SG_CNT_OTHER_PASS);
	pkt_spec_init(&s, 4);
	s.l4proto = 1;
	s.payload = (const uint8_t *)"\x08\x00\xf7\xff\x00\x00\x00\x00";
	s.payload_len = 8;
	expect_spec_untouched("ICMP echo", &s, XDP_PASS, SG_CNT_OTHER_PASS);

	pkt_spec_init(&s, 4);
	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_RST;
	expect_spec_untouched("SYN+RST", &s, XDP_PASS, SG_CNT_MALFORMED);
	pkt_spec_init(&s, 6);
	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_FIN;
	expect_spec_untouched("SYN+FIN", &s, XDP_PASS, SG_CNT_MALFORMED);
	pkt_spec_init(&s, 4);
	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	expect_spec_untouched("SYN+ACK from outside, no socket -> drop", &s,
			      XDP_DROP, SG_CNT_REFLECTION_DROP);
	pkt_spec_init(&s, 4);
	s.tcp_flags = PKT_TCP_RST;
	expect_spec_untouched("RST, no socket -> drop", &s,
			      XDP_DROP, SG_CNT_REFLECTION_DROP);
	pkt_spec_init(&s, 4);
	s.tcp_flags = PKT_TCP_RST | PKT_TCP_ACK;
	expect_spec_untouched("RST+ACK, no socket -> drop", &s,
			      XDP_DROP, SG_CNT_REFLECTION_DROP);
	pkt_spec_init(&s, 6);
	s.tcp_flags = PKT_TCP_FIN;
	expect_spec_untouched("FIN without ACK, no socket -> drop", &s,
			      XDP_DROP, SG_CNT_REFLECTION_DROP);
	pkt_spec_init(&s, 4);
	s.tcp_flags = 0;
	expect_spec_untouched("no flags", &s, XDP_PASS, SG_CNT_OTHER_PASS);
	cfg.reflection_drop = 0;
	put_config();
	pkt_spec_init(&s, 4);
	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	expect_spec_untouched("SYN+ACK, reflection_drop off -> pass", &s,
			      XDP_PASS, SG_CNT_OTHER_PASS);
	pkt_spec_init(&s, 6);
	s.tcp_flags = PKT_TCP_RST;
	expect_spec_untouched("RST, reflection_drop off -> pass", &s, XDP_PASS,
			      SG_CNT_OTHER_PASS);
	cfg.reflection_drop = 1;
	put_config();

	pkt_spec_init(&s, 4);
	s.dport = 8080;
	expect_spec_untouched("SYN to an unprotected port", &s, XDP_PASS,
			      SG_CNT_OTHER_PASS);
	pkt_spec_init(&s, 6);
	s.dport = 81;
	s.tcp_flags = PKT_TCP_ACK;
	expect_spec_untouched("ACK to an unprotected port", &s, XDP_PASS,
			      SG_CNT_OTHER_PASS);
	pkt_spec_init(&s, 4);
	s.dport = 8080;
	s.doff = 3;
	expect_spec_untouched("doff 3 to an unprotected port", &s, XDP_PASS,
			      SG_CNT_OTHER_PASS);

	/* Too deep to rule out a SYN to us: dropped while cookies are on. */
	pkt_spec_init(&s, 4);
	s.nvlan = 3;
	expect_spec_untouched("three VLAN tags, cookies on -> drop", &s,
			      XDP_DROP, SG_CNT_UNPARSED_DROP);
	pkt_spec_init(&s, 6);
	s.nv6_ext = 9;
	for (cut = 0; cut < 9; cut++)
		s.v6_ext[cut].type = 60;
	expect_spec_untouched("IPv6 with 9 extension headers, cookies on -> drop",
			      &s, XDP_DROP, SG_CNT_UNPARSED_DROP);
	cfg.cookies = SG_COOKIES_AUTO;
	put_config();
	state_engaged(0);
	expect_spec_untouched("IPv6 with 9 extension headers, cookies idle -> pass",
			      &s, XDP_PASS, SG_CNT_UNPARSED_PASS);
	config_defaults();
	pkt_spec_init(&s, 6);
	s.nv6_ext = 6;
	for (cut = 0; cut < 6; cut++)
		s.v6_ext[cut].type = 60;
	len = pkt_build(&s, buf, sizeof(buf));
	{
		const struct offer none = {};

		check_syn("IPv6 SYN with 6 extension headers -> SYN-ACK", &s,
			  &none);
	}
	pkt_spec_init(&s, 6);
	s.nv6_ext = 1;
	s.v6_ext[0].type = 43;
	s.v6_ext[0].seg_left = 1;
	expect_spec_untouched("IPv6 SYN with segments left in a routing header",
			      &s, XDP_PASS, SG_CNT_OTHER_PASS);
	pkt_spec_init(&s, 6);
	s.nv6_ext = 1;
	s.v6_ext[0].type = 51;
	expect_spec_untouched("IPv6 AH", &s, XDP_PASS, SG_CNT_OTHER_PASS);
	pkt_spec_init(&s, 6);
	s.nv6_ext = 1;
	s.v6_ext[0].type = 0;
	s.ip_len = 4; /* the HBH header runs past the payload length */
	len = pkt_build(&s, buf, sizeof(buf));
	if (!pkt_offsets(buf, len, &off))
		expect_untouched("IPv6 extension header cut off", buf,
				 off.l3_off + 40 + 4, XDP_PASS,
				 SG_CNT_MALFORMED);
}

/* ---- the kernel's own sockets ---- */

/*
 * An ACK with no socket but a conntrack entry: a flow the kernel forwards
 * or translates. The entry is made with conntrack(8) through ctnetlink in
 * this test's own network namespace (the harness unshares one), so no
 * traffic is needed.
 */
static void set_synack_ns(uint64_t tai);

/*
 * A conntrack entry of a loopback flow, established, in place of one an
 * earlier group left; extra: more options of conntrack -I ("" for none).
 */
static int ct_insert_with(int family, int sport, int dport, const char *extra)
{
	const char *a =
		family == 4 ? "-s 127.0.0.1 -d 127.0.0.1" : "-s ::1 -d ::1";
	char cmd[512];

	snprintf(
		cmd, sizeof(cmd),
		"conntrack -D -p tcp %s --sport %d --dport %d >/dev/null 2>&1; "
		"conntrack -I -p tcp %s --sport %d --dport %d --state ESTABLISHED -t 60 %s >/dev/null 2>&1",
		a, sport, dport, a, sport, dport, extra);
	return system(cmd);
}

static int ct_insert(int family, int sport, int dport)
{
	return ct_insert_with(family, sport, dport, "");
}

/*
 * ACKs without a socket that conntrack knows pass where the kernel can
 * translate or forward: a protected port with no local listener, or a
 * local+nat one (SG_PORT_PASS). A local port's ACKs never consult it.
 */
static void test_conntrack_pass(void)
{
	enum { P_NOLISTEN = 8099 };
	const int ports[] = {80, 443, P_NOLISTEN};
	struct pkt_spec s;
	char name[128];
	int family;

	put_ports(ports, 3);
	/* A cookie went out just now: the drops below are the MAC's. */
	set_synack_ns(ref_tai_ns());
	for (family = 4; family <= 6; family += 2) {
		snprintf(name, sizeof(name),
			 "IPv%d ACK, no listener, a conntrack entry -> pass",
			 family);
		if (ct_insert(family, 4242, P_NOLISTEN) ||
		    ct_insert(family, 4244, 80)) {
			printf("skip %s: conntrack(8) could not insert an entry (apt-get install conntrack)\n",
			       name);
			continue;
		}
		loopback_spec(&s, family, 4242);
		s.dport = P_NOLISTEN;
		expect_spec_untouched(name, &s, XDP_PASS,
				      SG_CNT_ACK_CONNTRACK_PASS);
		/* The neighbouring tuple has no entry: the cookie check. */
		loopback_spec(&s, family, 4243);
		s.dport = P_NOLISTEN;
		snprintf(name, sizeof(name),
			 "IPv%d ACK, no listener, no conntrack entry -> drop",
			 family);
		check_ack_dropped(name, &s, SG_CNT_COOKIE_BAD);
		/* A local listener: conntrack is not consulted. */
		loopback_spec(&s, family, 4244);
		snprintf(name, sizeof(name),
			 "IPv%d ACK to a local port, a conntrack entry -> cookie check, drop",
			 family);
		check_ack_dropped(name, &s, SG_CNT_COOKIE_BAD);
		put_port_bits(SG_PORT_PASS, (const int[]){80}, 1);
		snprintf(name, sizeof(name),
			 "IPv%d ACK to a local+nat port, a conntrack entry -> pass",
			 family);
		expect_spec_untouched(name, &s, XDP_PASS,
				      SG_CNT_ACK_CONNTRACK_PASS);
		put_port_bits(SG_PORT_PASS, NULL, 0);
	}
	put_ports(ports, 2);
}

/*
 * A client segment of a flow SYNPROXY is still opening: conntrack has it
 * with the mark bit of synguard's nft rule (SG_PROXY_CT_MARK), the backend's
 * reply seen, no sequence translation yet. Passed with metadata that has TC
 * give it the hold rule's priority (SG_META_F_HOLD, the load's secret,
 * nothing else). Another mark bit is a plain conntrack pass. (ctnetlink
 * cannot set IPS_SEQ_ADJUST: a flow with the translation set up is
 * tests/integration/test_synproxy.sh's, through SYNPROXY itself.) Either
 * engine: test_kengine.c runs it too.
 */
void test_proxy_early(void)
{
	enum { P_NOLISTEN = 8099 };
	const int ports[] = {80, 443, P_NOLISTEN};
	const struct sg_meta want = {
		.magic = SG_META_MAGIC,
		.flags = SG_META_F_HOLD,
		.secret = {TEST_META_SECRET0, TEST_META_SECRET1},
	};
	uint8_t in[PKT_BUF_SIZE];
	char name[128], opt[64];
	struct pkt_spec s;
	struct run r;
	int family, len;

	put_ports(ports, 3);
	for (family = 4; family <= 6; family += 2) {
		snprintf(
			name, sizeof(name),
			"IPv%d ACK of a flow SYNPROXY is opening -> pass, hold metadata",
			family);
		/* conntrack 1.4.7 takes --status before --mark. */
		snprintf(opt, sizeof(opt), "--status SEEN_REPLY --mark %u",
			 SG_PROXY_CT_MARK);
		if (ct_insert_with(family, 4252, P_NOLISTEN, opt) ||
		    ct_insert_with(family, 4253, P_NOLISTEN,
				   "--status SEEN_REPLY --mark 2097152")) {
			printf("skip %s: conntrack(8) could not insert an entry (apt-get install conntrack)\n",
			       name);
			continue;
		}
		loopback_spec(&s, family, 4252);
		s.dport = P_NOLISTEN;
		s.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
		begin(name);
		len = pkt_build(&s, in, sizeof(in));
		if (len > 0 && !run_prog(in, len, &r)) {
			expect_verdict(&r, XDP_PASS);
			expect_counters(&r, SG_CNT_ACK_PROXY_EARLY_PASS,
					CNT_END);
			if (r.out_len != len + sizeof(want)) {
				fail("output %u bytes, want %zu (metadata + frame)",
				     r.out_len, len + sizeof(want));
			} else {
				expect_bytes((const uint8_t *)&want,
					     sizeof(want), r.out, sizeof(want));
				expect_bytes(in, len, r.out + sizeof(want),
					     len);
			}
		}
		end();
		loopback_spec(&s, family, 4253);
		s.dport = P_NOLISTEN;
		s.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
		snprintf(
			name, sizeof(name),
			"IPv%d ACK of a flow with another mark bit -> conntrack pass",
			family);
		expect_spec_untouched(name, &s, XDP_PASS,
				      SG_CNT_ACK_CONNTRACK_PASS);
	}
	put_ports(ports, 2);
}

static void test_kernel_sockets(void)
{
	int family;

	for (family = 4; family <= 6; family += 2) {
		int lfd = -1, cfd = -1, afd = -1;
		struct pkt_spec s;
		uint16_t cport = 0;
		char name[128];

		snprintf(name, sizeof(name),
			 "IPv%d ACK of an established kernel connection -> pass",
			 family);
		if (sock_pair(family, 80, &lfd, &cfd, &afd, &cport)) {
			begin(name);
			fail("could not set up sockets: %s", strerror(errno));
			end();
		} else {
			loopback_spec(&s, family, cport);
			s.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
			expect_spec_untouched(name, &s, XDP_PASS,
					      SG_CNT_ACK_ESTABLISHED_PASS);
			/* Same listener, a 4-tuple it has no connection for. */
			loopback_spec(&s, family, cport + 1);
			snprintf(name, sizeof(name),
				 "IPv%d ACK to a listener, no connection, no"
				 " cookie -> drop",
				 family);
			check_ack_dropped(name, &s, SG_CNT_COOKIE_BAD);
			/* Reflection drops spare the kernel's own flows. */
			loopback_spec(&s, family, cport);
			s.tcp_flags = PKT_TCP_RST | PKT_TCP_ACK;
			snprintf(name, sizeof(name),
				 "IPv%d RST of an established connection -> pass",
				 family);
			expect_spec_untouched(name, &s, XDP_PASS,
					      SG_CNT_OTHER_PASS);
			loopback_spec(&s, family, cport);
			s.tcp_flags = PKT_TCP_FIN;
			snprintf(name, sizeof(name),
				 "IPv%d FIN of an established connection -> pass",
				 family);
			expect_spec_untouched(name, &s, XDP_PASS,
					      SG_CNT_OTHER_PASS);
			loopback_spec(&s, family, cport + 1);
			s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
			snprintf(name, sizeof(name),
				 "IPv%d SYN-ACK to a listener's port -> drop",
				 family);
			expect_spec_untouched(name, &s, XDP_DROP,
					      SG_CNT_REFLECTION_DROP);
		}
		sock_pair_close(lfd, cfd, afd);
	}
}

/*
 * A SYN-ACK the kernel itself answers with a syncookie (tcp_syncookies=2 in
 * this namespace): send a SYN to a real listener through a raw socket, read
 * the listener's SYN-ACK, and build the ACK a client would send.
 */
static int kernel_cookie_ack(int family, struct pkt_spec *ack)
{
	uint8_t frame[PKT_BUF_SIZE], rx[2048];
	struct pkt_spec syn;
	struct pkt_offs off;
	int fd, len, n, tries, on = 1;
	uint16_t sport = 33333;

	loopback_spec(&syn, family, sport);
	syn.tcp_flags = PKT_TCP_SYN;
	syn.seq = 0x01020304;
	syn.tcp_opts_len = 0;
	pkt_opt_mss(syn.tcp_opts, &syn.tcp_opts_len, 1460);
	len = pkt_build(&syn, frame, sizeof(frame));
	if (len < 0 || pkt_offsets(frame, len, &off))
		return -1;

	fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW, IPPROTO_TCP);
	if (fd < 0)
		return -1;
	if (family == 6) {
		/* Raw IPv6 sockets take no IP header (no IPV6_HDRINCL);
		 * the TCP checksum from pkt_build() is already right. */
		struct sockaddr_in6 a = { .sin6_family = AF_INET6,
					  .sin6_addr = in6addr_loopback };
		if (sendto(fd, frame + off.l4_off, len - off.l4_off, 0,
			   (void *)&a, sizeof(a)) < 0)
			goto fail;
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr =
						 htonl(INADDR_LOOPBACK) };
		if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) ||
		    sendto(fd, frame + off.l3_off, len - off.l3_off, 0,
			   (void *)&a, sizeof(a)) < 0)
			goto fail;
	}
	/* Raw TCP sockets see every TCP segment: our SYN, then the reply. */
	for (tries = 0; tries < 8; tries++) {
		struct timeval tv = { .tv_sec = 1 };
		const uint8_t *th;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, rx, sizeof(rx), 0);
		if (n < 0)
			goto fail;
		th = family == 4 ? rx + (rx[0] & 0xf) * 4 : rx;
		if (th + 20 > rx + n)
			continue;
		if (pkt_be16(th) == 80 && pkt_be16(th + 2) == sport &&
		    (th[13] & (PKT_TCP_SYN | PKT_TCP_ACK)) ==
			    (PKT_TCP_SYN | PKT_TCP_ACK)) {
			close(fd);
			*ack = syn;
			ack->tcp_flags = PKT_TCP_ACK;
			ack->seq = syn.seq + 1;
			ack->ack = pkt_be32(th + 4) + 1;
			ack->tcp_opts_len = 0;
			return 0;
		}
	}
fail:
	close(fd);
	return -1;
}


static void test_kernel_syncookies(void)
{
	int family;

	if (write_sysctl("/proc/sys/net/ipv4/tcp_syncookies", "2")) {
		begin("kernel syncookies: set tcp_syncookies=2");
		fail("cannot write tcp_syncookies: %s", strerror(errno));
		end();
		return;
	}
	for (family = 4; family <= 6; family += 2) {
		int lfd = -1;
		struct pkt_spec ack;
		char name[128];

		snprintf(name, sizeof(name),
			 "IPv%d ACK with the kernel's own syncookie -> pass",
			 family);
		if (sock_pair(family, 80, &lfd, NULL, NULL, NULL) ||
		    kernel_cookie_ack(family, &ack)) {
			begin(name);
			fail("could not get a kernel SYN-ACK: %s",
			     strerror(errno));
			end();
		} else {
			expect_spec_untouched(name, &ack, XDP_PASS,
					      SG_CNT_ACK_KERNEL_COOKIE_PASS);
			/* Not +1: that only moves the kernel's MSS index,
			 * which can land on another valid entry. */
			ack.ack ^= 1u << 20;
			snprintf(name, sizeof(name),
				 "IPv%d ACK with a wrong kernel syncookie -> drop",
				 family);
			check_ack_dropped(name, &ack, SG_CNT_COOKIE_BAD);
		}
		if (lfd >= 0)
			close(lfd);
	}
	write_sysctl("/proc/sys/net/ipv4/tcp_syncookies", "1");
}

/* ---- setup ---- */



static void test_reference(void)
{
	begin("reference SipHash-2-4 matches the 64 published vectors");
	if (ref_siphash_selftest())
		fail("%d vectors differ", ref_siphash_selftest());
	end();
}

/*
 * The cookie gate: an ACK can only carry a valid cookie if this host sent
 * one within the cookie lifetime; otherwise it is refused unhashed.
 */
static void set_synack_ns(uint64_t tai)
{
	struct sg_state st;
	__u32 zero = 0;

	if (bpf_map__lookup_elem(skel->maps.sg_state, &zero, 4, &st,
				 sizeof(st), 0))
		fail("state read: %s", strerror(errno));
	st.synack_ns = tai;
	if (bpf_map__update_elem(skel->maps.sg_state, &zero, 4, &st,
				 sizeof(st), 0))
		fail("state write: %s", strerror(errno));
}

static void expect_forged(const char *name, int verdict, int counter)
{
	uint8_t key[16], in[PKT_BUF_SIZE];
	uint8_t d = ref_cookie_data(4, 1, 1460, 0, 0, 0);
	struct pkt_spec ack;
	struct run r;
	int len;

	key_bytes(key, keys.current);
	forged_ack(4, &ack, ref_counter(ref_tai_ns()), keys.current, key, d);
	len = pkt_build(&ack, in, sizeof(in));
	begin(name);
	if (!run_prog(in, len, &r)) {
		expect_verdict(&r, verdict);
		expect_counters(&r, counter, CNT_END);
	}
	end();
}

static void test_cookie_gate(void)
{
	/* What the program allows: lifetime, one period, the skew, one
	 * second. */
	const uint64_t gate = cfg.cookie_lifetime * 1000000000ULL +
			      (1ULL << SG_PERIOD_SHIFT) +
			      (1ULL << SG_SKEW_SHIFT) + 1000000000ULL;
	struct pkt_spec s, ack;
	uint8_t in[PKT_BUF_SIZE];
	struct sg_state st;
	__u32 zero = 0;
	struct run r;
	int len;

	set_synack_ns(0);
	expect_forged("no cookie ever sent: a valid cookie ACK -> drop unhashed",
		      XDP_DROP, SG_CNT_COOKIE_NONE_ISSUED);
	pkt_spec_init(&ack, 6);
	ack.tcp_flags = PKT_TCP_ACK;
	ack.ack = 0x77777777;
	check_ack_dropped("no cookie ever sent: a random IPv6 ACK -> drop",
			  &ack, SG_CNT_COOKIE_NONE_ISSUED);

	/* A SYN-ACK opens the gate and says when. */
	pkt_spec_init(&s, 4);
	len = pkt_build(&s, in, sizeof(in));
	begin("a cookie SYN-ACK records when cookies went out");
	if (!run_prog(in, len, &r)) {
		expect_verdict(&r, XDP_TX);
		if (bpf_map__lookup_elem(skel->maps.sg_state, &zero, 4, &st,
					 sizeof(st), 0))
			fail("state read: %s", strerror(errno));
		else if (st.synack_ns < r.tai_before - 25000000ULL ||
			 st.synack_ns > r.tai_after)
			fail("synack_ns %llu outside [%llu, %llu]",
			     (unsigned long long)st.synack_ns,
			     (unsigned long long)r.tai_before,
			     (unsigned long long)r.tai_after);
	}
	end();
	expect_forged("after a SYN-ACK: a valid cookie ACK -> pass", XDP_PASS,
		      SG_CNT_COOKIE_OK);

	/* Just inside and just outside the window (1 s of margin each). */
	set_synack_ns(ref_tai_ns() - gate + 1000000000ULL);
	expect_forged("last cookie sent just within the window -> pass",
		      XDP_PASS, SG_CNT_COOKIE_OK);
	set_synack_ns(ref_tai_ns() - gate - 1000000000ULL);
	expect_forged("last cookie sent before the window -> drop", XDP_DROP,
		      SG_CNT_COOKIE_NONE_ISSUED);

	/* The kernel's own syncookies do not depend on ours. */
	{
		int lfd = -1;

		if (write_sysctl("/proc/sys/net/ipv4/tcp_syncookies", "2") ||
		    sock_pair(4, 80, &lfd, NULL, NULL, NULL) ||
		    kernel_cookie_ack(4, &ack)) {
			begin("gate closed: the kernel's own syncookie -> pass");
			fail("could not get a kernel SYN-ACK: %s",
			     strerror(errno));
			end();
		} else {
			expect_spec_untouched(
				"gate closed: the kernel's own syncookie -> pass",
				&ack, XDP_PASS, SG_CNT_ACK_KERNEL_COOKIE_PASS);
		}
		if (lfd >= 0)
			close(lfd);
		write_sysctl("/proc/sys/net/ipv4/tcp_syncookies", "1");
	}
	set_synack_ns(ref_tai_ns());
}

/* README.md mirrors SG_COUNTERS: check it names every counter. */
static void test_readme_counters(void)
{
	static char buf[1 << 16];
	char needle[64];
	size_t n;
	FILE *f;
	int k;

	begin("README.md documents every counter of SG_COUNTERS");
	f = fopen("README.md", "r");
	if (!f) {
		fail("cannot read README.md (run from the top of the tree)");
		end();
		return;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	for (k = 0; k < SG_CNT_MAX; k++) {
		snprintf(needle, sizeof(needle), "| `%s` |", counter_names[k]);
		if (!strstr(buf, needle))
			fail("no table row for %s", counter_names[k]);
	}
	end();
}

/*
 * The established-flow cache (bpf/estcache.h): a connection the kernel
 * owns passes without a socket lookup for a second, even closed since; a
 * SYN answered with a cookie clears its connection's entry, so the ACK of
 * a new handshake on the same addresses and ports is checked as a cookie.
 */
static void test_est_cache(void)
{
	const struct syn_case *c = &syn_cases[0];
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct bpf_map *m = skel->maps.sg_est;
	int family;

	for (family = 4; family <= 6; family += 2) {
		int lfd = -1, cfd = -1, afd = -1;
		struct sg_est e = {}, zero = {};
		struct synack_result sa;
		struct pkt_spec s, syn;
		uint16_t cport = 0;
		uint32_t k;
		char name[128];

		for (k = 0; k < SG_EST_SLOTS; k++)
			bpf_map__update_elem(m, &k, sizeof(k), &zero,
					     sizeof(zero), BPF_ANY);
		if (sock_pair(family, 80, &lfd, &cfd, &afd, &cport)) {
			begin("established-flow cache");
			fail("no loopback connection: %s", strerror(errno));
			end();
			continue;
		}
		loopback_spec(&s, family, cport);
		s.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
		snprintf(
			name, sizeof(name),
			"IPv%d ACK of an established connection -> pass, cached",
			family);
		expect_spec_untouched(name, &s, XDP_PASS,
				      SG_CNT_ACK_ESTABLISHED_PASS);
		begin(name);
		k = ref_est_tag(family, s.saddr, s.daddr, htons(s.sport),
				htons(s.dport), 0) &
		    (SG_EST_SLOTS - 1);
		if (bpf_map__lookup_elem(m, &k, sizeof(k), &e, sizeof(e), 0) ||
		    e.tag != ref_est_tag(family, s.saddr, s.daddr,
					 htons(s.sport), htons(s.dport), 0))
			fail("slot %u holds tag %#llx, not the reference's", k,
			     (unsigned long long)e.tag);
		end();
		/* A reset, not a close: no TIME_WAIT socket stays. */
		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		setsockopt(afd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(cfd);
		close(afd);
		cfd = afd = -1;
		snprintf(name, sizeof(name),
			 "IPv%d ACK of it, reset since -> pass from the cache",
			 family);
		expect_spec_untouched(name, &s, XDP_PASS,
				      SG_CNT_ACK_ESTABLISHED_PASS);
		/* Loopback SYNs are martian: a connection of the test
		 * addresses, put in the cache as the program would. */
		syn_spec(&syn, family, c);
		e.tag = ref_est_tag(family, syn.saddr, syn.daddr,
				    htons(syn.sport), htons(syn.dport), 0);
		e.until = UINT64_MAX;
		k = e.tag & (SG_EST_SLOTS - 1);
		bpf_map__update_elem(m, &k, sizeof(k), &e, sizeof(e), BPF_ANY);
		s = syn;
		s.tcp_flags = PKT_TCP_ACK;
		s.seq = syn.seq + 1;
		s.ack = 0x12345; /* not a cookie */
		s.tcp_opts_len = 0;
		snprintf(
			name, sizeof(name),
			"IPv%d ACK of a cached connection -> pass, no cookie check",
			family);
		expect_spec_untouched(name, &s, XDP_PASS,
				      SG_CNT_ACK_ESTABLISHED_PASS);
		snprintf(name, sizeof(name),
			 "IPv%d SYN of that connection again -> SYN-ACK",
			 family);
		sa = check_syn(name, &syn, &c->o);
		if (sa.ok) {
			snprintf(name, sizeof(name),
				 "IPv%d ... and its cache entry is gone",
				 family);
			begin(name);
			if (bpf_map__lookup_elem(m, &k, sizeof(k), &e,
						 sizeof(e), 0) ||
			    e.tag)
				fail("slot %u still holds tag %#llx", k,
				     (unsigned long long)e.tag);
			end();
			snprintf(
				name, sizeof(name),
				"IPv%d ACK of the new handshake -> cookie checked, metadata",
				family);
			check_ack_ok(name, &syn, &c->o, &sa);
		}
		sock_pair_close(lfd, cfd, afd);
	}
}

/* Groups in the order they run; `test_xdp NAME` runs those whose name
 * contains NAME, so a newcomer can run one at a time. */
static const struct {
	const char *name;
	void (*run)(void);
	bool needs_setup; /* loads the programs and the test listeners */
} groups[] = {
	{"reference", test_reference, false},
	{"readme_counters", test_readme_counters, false},
	{"syn_ack_roundtrip", test_syn_ack_roundtrip, true},
	{"syn_headers", test_syn_headers, true},
	{"ack_rejects", test_ack_rejects, true},
	{"key_rotation", test_key_rotation, true},
	{"edges", test_edges, true},
	{"kernel_sockets", test_kernel_sockets, true},
	{"est_cache", test_est_cache, true},
	{"conntrack_pass", test_conntrack_pass, true},
	{"proxy_early", test_proxy_early, true},
	{"kernel_syncookies", test_kernel_syncookies, true},
	{"cookie_gate", test_cookie_gate, true},
	{"limits", test_limits, true},
	{"parity", test_parity, true},
	{"forgery", test_forgery, true},
	{"kernel_engine", test_kernel_engine, true},
	{"monitor", test_monitor, true},
	{"synproxy_ports", test_synproxy_ports, true},
	{"synproxy_tc_csum", test_proxy_csum, false}, /* needs 5.7 only */
	{"port_map", test_port_map, true},
	{"sample", test_sample, true},
};

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	bool loaded = false;
	size_t i, ran = 0;

	if (argc > 2 || (filter && !strcmp(filter, "-h"))) {
		fprintf(stderr, "usage: %s [NAME | --list]: runs the groups whose name contains NAME, all without it\n",
			argv[0]);
		return 2;
	}
	if (filter && !strcmp(filter, "--list")) {
		for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
			printf("%s\n", groups[i].name);
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# XDP unit tests (BPF_PROG_TEST_RUN)\n");
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (filter && !strstr(groups[i].name, filter))
			continue;
		if (groups[i].needs_setup && !loaded) {
			if (setup()) {
				failed++;
				printf("%d passed, %d failed\n", passed, failed);
				return 1;
			}
			loaded = true;
		}
		/* Every group but kernel_engine runs the own engine. */
		if (groups[i].needs_setup && !skel &&
		    groups[i].run != test_kernel_engine) {
			printf("skip %s: no bpf_sk_assign_tcp_reqsk in this kernel (the own engine needs Linux 6.9)\n",
			       groups[i].name);
			skipped++;
			ran++;
			continue;
		}
		printf("# group %s\n", groups[i].name);
		groups[i].run();
		ran++;
	}
	if (!ran) {
		/* A filter that matches nothing must not look like a pass. */
		printf("no test group matches '%s'\n", filter);
		failed++;
	}
	if (skel)
		synguard__destroy(skel);
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed,
		       skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
