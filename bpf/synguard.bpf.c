// SPDX-License-Identifier: GPL-2.0
/*
 * synguard's BPF programs. XDP: answers SYNs to protected ports with cookie
 * SYN-ACKs (XDP_TX), validates the returning ACKs and marks valid ones with
 * metadata; applies the lists, per-source limits and cookies auto. TC
 * ingress: hands marked ACKs to the kernel (bpf_sk_assign_tcp_reqsk).
 * The kernel engine (sg_engine, bpf/kengine.h) answers with the kernel's
 * own cookies instead, checks their ACKs at XDP and has no TC program.
 * Everything else passes untouched. Every frame the XDP program sees
 * increments exactly one verdict counter (include/synguard.h, SG_COUNTERS).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "synguard.h"
#include "parse.h"
#include "cookie.h"
#include "common.h"
#include "csum.h"
#include "adaptive.h"
#include "lists.h"
#include "limits.h"
#include "syncheck.h"
#include "kengine.h"
#include "synack.h"
#include "firstflight.h"
#include "handoff.h"
#include "conntrack.h"

char LICENSE[] SEC("license") = "GPL";

/* sg_handle_syn in the kernel engine: answer it, with sg_kernel_syn. */
#define SG_SYN_KERNEL (-1)

/*
 * A SYN to a protected port while cookies are on. The rule: whatever the
 * kernel would take as a SYN, synguard answers or drops, and it answers
 * only what the kernel would answer and the handoff can serve. Cheap
 * checks first; the socket lookup last.
 *
 * sg_handle_syn and sg_handle_ack are global functions: the verifier
 * checks each once, with arguments it knows nothing about, instead of once
 * for every path of the entry point that reaches it (which took it past
 * its 1M-instruction limit). So they trust nothing in *p for memory
 * safety: every packet access is bounded and checked against data_end
 * again, and a global function must accept NULL pointers.
 */
__noinline int sg_handle_syn(struct xdp_md *ctx, struct sg_pkt *p,
			     struct sg_flow *flow, const struct sg_config *cfg)
{
	void *data, *data_end;
	const struct sg_keys *keys;
	__u32 zero = 0;

	if (!ctx || !p || !flow || !cfg)
		return XDP_PASS; /* not reached */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	if (sg_port_in(&sg_pass_ports, bpf_ntohs(flow->dport))) {
		sg_count(SG_CNT_SYN_LOCAL_NAT_PASS);
		return XDP_PASS;
	}
	/* The SG_BENCH_* switches compile a check out in bench-only builds
	 * (bench/bench.mk), so make bench can show what each costs. */
#ifndef SG_BENCH_NO_UNICAST
	if (!sg_syn_unicast(data, data_end, p)) {
		sg_count(SG_CNT_SYN_NOT_UNICAST);
		return XDP_DROP;
	}
#endif
#ifndef SG_BENCH_NO_CSUM
	if (!sg_syn_csum_ok(ctx, p)) {
		sg_count(SG_CNT_SYN_BAD_CSUM);
		return XDP_DROP;
	}
#endif
	/*
	 * The kernel refuses every handoff while tcp_syncookies is 0, and a
	 * double-tagged frame reaches TC with an 802.1Q protocol, which the
	 * kfunc refuses: a SYN-ACK would promise what cannot be kept.
	 */
	if (!(cfg->tcp_sysctl & SG_SYSCTL_SYNCOOKIES) || p->nvlan > 1) {
		sg_count(SG_CNT_SYN_NO_HANDOFF_PASS);
		return XDP_PASS;
	}
	if (sg_engine == SG_ENGINE_KERNEL)
		return SG_SYN_KERNEL;
	keys = bpf_map_lookup_elem(&sg_keys, &zero);
	if (!keys || !keys->valid[keys->current & 1]) {
		sg_count(SG_CNT_SYN_NO_KEY);
		return XDP_PASS;
	}
	switch (sg_owner(ctx, flow)) {
	case SG_OWNER_LISTENER:
		return sg_synack(ctx, p, flow, cfg, keys, 0, 0);
	case SG_OWNER_SOCKET:
		/* TIME_WAIT takes a new SYN (TCP_TW_SYN); a cookie would be
		 * answered there by the old connection's ACK, forever. */
		sg_count(SG_CNT_SYN_SOCKET_PASS);
		return XDP_PASS;
	case SG_OWNER_MPTCP:
		sg_count(SG_CNT_SYN_MPTCP_PASS);
		return XDP_PASS;
	default:
		/* No local listener: the kernel forwards or translates it,
		 * or resets it; no handoff could serve a cookie. */
		sg_count(SG_CNT_SYN_NO_LISTENER_PASS);
		return XDP_PASS;
	}
}

/*
 * Kernel engine: the SYN sg_handle_syn cleared for an answer, answered with
 * the kernel's cookie. A global function of its own, called by the entry
 * point, not by sg_handle_syn: in one frame with those checks, the SYN-ACK
 * builder took the stack past what 6.1's verifier allows (it adds up the
 * frames of a call chain, each rounded up to 32 bytes, the option walk's
 * bpf_loop callback included).
 */
__noinline int sg_kernel_syn(struct xdp_md *ctx, struct sg_pkt *p,
			     struct sg_flow *flow, const struct sg_config *cfg)
{
	__u32 cookie = 0;
	int v;

	/* Verified in both engines, like every global function. */
	if (!ctx || !p || !flow || !cfg || sg_engine != SG_ENGINE_KERNEL)
		return XDP_PASS; /* not reached */
	v = sg_kernel_cookie(ctx, p, flow, &cookie);
	return v >= 0 ? v : sg_synack(ctx, p, flow, cfg, NULL, cookie, 1);
}

/* The window scale a cookie may carry besides ours now: the one before a
 * change made within a cookie lifetime, or none. Signed, as the gate in
 * sg_handle_ack: after the clock steps back the change is recent. */
static __always_inline __u32 sg_wscale_prev(const struct sg_config *cfg,
					    __u64 now)
{
	if (cfg->wscale_prev == cfg->wscale || !cfg->wscale_changed_ns ||
	    (__s64)(now - cfg->wscale_changed_ns) >=
		    (__s64)SG_WSCALE_PREV_NS(cfg->cookie_lifetime))
		return SG_COOKIE_WS_NONE;
	return cfg->wscale_prev;
}

/*
 * Does the ACK carry a cookie of ours? A random ACK matches some cookie
 * with probability 2^-25 at most (2^-24 just after a wscale change;
 * include/synguard.h), and a match becomes a real kernel connection.
 * Unless this host sent a cookie that could still be valid (lifetime, one
 * period of age rounding, the skew, and the second to which synack_ns is
 * kept), no ACK can carry one: refuse without hashing. An ACK flood on its
 * own then gets nothing through, and costs less. opt: the ACK's options
 * (a timestamp option makes it a TS cookie); *ws: the window scale the
 * cookie was made with; *o: what the client's SYN offered.
 */
static __always_inline enum sg_cookie_result
sg_ack_cookie(const struct sg_flow *flow, const struct sg_config *cfg,
	      __u32 cookie, const struct sg_tcpopt *opt, __u64 now, __u32 *ws,
	      struct sg_cookie_opts *o)
{
	const struct sg_keys *keys;
	struct sg_state *st;
	__u32 zero = 0;

	keys = bpf_map_lookup_elem(&sg_keys, &zero);
	st = bpf_map_lookup_elem(&sg_state, &zero);
	/* Signed: after the clock steps back, the last cookie is young. */
	if (st && (__s64)(now - st->synack_ns) >
			  (__s64)(SG_COOKIE_MAX_AGE_NS(cfg->cookie_lifetime) +
				  SG_NSEC_PER_SEC))
		return SG_COOKIE_NONE_ISSUED;
	if (!keys)
		return SG_COOKIE_INVALID;
	return sg_cookie_check(flow, keys, cookie, opt->have_ts, opt->tsecr,
			       now, cfg->cookie_lifetime, ws,
			       sg_wscale_prev(cfg, now), o);
}

/*
 * Not our cookie, but the listener sk may have answered a SYN that reached
 * it (no key yet, SYN-ACK not buildable) with a syncookie of its own when
 * its queue overflowed: such ACKs are the kernel's. The helper returns at
 * once unless the listener overflowed recently.
 */
static __always_inline int sg_ack_kernel_cookie(struct bpf_sock *sk, void *data,
						void *data_end,
						const struct sg_pkt *p,
						struct tcphdr *th)
{
	void *iph = data + (p->l3_off & SG_L3_OFF_MASK);
	__u32 iph_len =
		p->family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);

	if (iph + iph_len > data_end)
		return 0;
	return bpf_tcp_check_syncookie(sk, iph, iph_len, th, sizeof(*th)) == 0;
}

/*
 * Kernel engine: the verdict on an ACK with no socket of its connection,
 * counted; sk is the listener or NULL, released here. A valid kernel
 * cookie passes: the kernel accepts it itself, because making it stamped
 * the listener. Anything else would be refused (and reset) by the kernel.
 */
static __always_inline int sg_kernel_ack(struct bpf_sock *sk, void *data,
					 void *data_end, const struct sg_pkt *p,
					 struct tcphdr *th,
					 const struct sg_flow *flow,
					 const struct sg_config *cfg)
{
	int ok = sk && sg_ack_kernel_cookie(sk, data, data_end, p, th);

	if (sk)
		bpf_sk_release(sk);
	if (!ok) {
		sg_count(SG_CNT_ACK_KERNEL_COOKIE_BAD);
		return XDP_DROP;
	}
	if (cfg->src_ack_rate &&
	    !sg_src_allow(flow, SG_SRC_ACK, cfg, cfg->src_ack_rate,
			  cfg->src_ack_burst)) {
		sg_count(SG_CNT_ACK_SRC_LIMITED);
		return XDP_DROP;
	}
	sg_count(SG_CNT_ACK_KERNEL_COOKIE_PASS);
	return XDP_PASS;
}

/* The verdict on an ACK without a valid cookie of ours, counted. */
static __always_inline int
sg_ack_refused(enum sg_cookie_result res, const struct sg_flow *flow,
	       const struct tcphdr *th, const struct sg_config *cfg, __u64 now)
{
	switch (res) {
	case SG_COOKIE_TOO_OLD:
		sg_count(SG_CNT_COOKIE_EXPIRED);
		return XDP_DROP;
	case SG_COOKIE_NONE_ISSUED:
		sg_count(SG_CNT_COOKIE_NONE_ISSUED);
		return XDP_DROP;
	default:
		break;
	}
	if (sg_first_flight(flow, th, cfg, now)) {
		sg_count(SG_CNT_ACK_FIRST_FLIGHT_PASS);
		return XDP_PASS;
	}
	sg_count(SG_CNT_COOKIE_BAD);
	return XDP_DROP;
}

/*
 * An ACK to a protected port. The kernel's socket is looked up first: an
 * established-flow packet (the common case by far) then costs one socket
 * lookup and no hash, and never risks being mistaken for a cookie. Only an
 * ACK the kernel has no socket for pays for the SipHash; an ACK flood pays
 * both, which is still far below what it costs the kernel.
 */
__noinline int sg_handle_ack(struct xdp_md *ctx, struct sg_pkt *p,
			     struct sg_flow *flow, const struct sg_config *cfg)
{
	void *data, *data_end;
	/* The tuple is done with before the options are read: one slot for
	 * both keeps the call chain within the verifier's 512-byte stack. */
	union {
		struct bpf_sock_tuple tup;
		struct {
			struct sg_tcpopt opt;
			struct sg_cookie_opts o;
		};
	} u = {};
	enum sg_cookie_result res;
	__u32 tlen, cookie, ws;
	struct bpf_sock *sk;
	struct tcphdr *th;
	__u64 now;

	if (!ctx || !p || !flow || !cfg)
		return XDP_PASS; /* not reached */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	th = sg_tcp(data, data_end, p);
	if (!th)
		return XDP_PASS;
	/* The caller's flow: its isn is ours to set (the stack is tight). */
	flow->isn = bpf_ntohl(th->seq) - 1;
	cookie = bpf_ntohl(th->ack_seq) - 1;

	tlen = sg_tuple_fill(&u.tup, flow);
	sk = bpf_skc_lookup_tcp(ctx, &u.tup, tlen, BPF_F_CURRENT_NETNS, 0);
	/* A listener matches any 4-tuple: only a socket of this connection
	 * (established, request or time-wait) means the kernel owns it. */
	if (sk && sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_ACK_ESTABLISHED_PASS);
		return XDP_PASS;
	}
	/*
	 * No socket of this connection, but conntrack knows it: the kernel
	 * forwards or translates it (a DNAT-ed port, even one with a local
	 * listener such as a proxy on the same port). It is not ours to
	 * judge. Before the cookie check, so that such flows never pay the
	 * hash; a flow synguard handed off is never found here, because its
	 * socket is found first (and its handshake ACK was not tracked).
	 * Only where the kernel can translate or forward: no local listener,
	 * or one on a local+nat port. A local port's ACK flood then does not
	 * pay the lookup (about 90 ns an ACK here, measured with make bench),
	 * and no SYN to such a port went anywhere but to us.
	 */
	if ((!sk || sg_port_in(&sg_pass_ports, bpf_ntohs(flow->dport))) &&
	    sg_ct_known(ctx, &u.tup, tlen)) {
		if (sk)
			bpf_sk_release(sk);
		sg_count(SG_CNT_ACK_CONNTRACK_PASS);
		return XDP_PASS;
	}

	if (sg_engine == SG_ENGINE_KERNEL)
		return sg_kernel_ack(sk, data, data_end, p, th, flow, cfg);

	now = sg_now(cfg);
	ws = cfg->wscale;
	/* The timestamp option says which cookie variant to check. */
	__builtin_memset(&u, 0, sizeof(u));
	if (sg_load_opts(ctx, p, &u.opt)) {
		if (sk)
			bpf_sk_release(sk);
		sg_count(SG_CNT_MALFORMED); /* not reached: parse checked */
		return XDP_PASS;
	}
	res = sg_ack_cookie(flow, cfg, cookie, &u.opt, now, &ws, &u.o);
	if (sk) {
		int kernel = res != SG_COOKIE_VALID &&
			     sg_ack_kernel_cookie(sk, data, data_end, p, th);

		bpf_sk_release(sk);
		if (kernel) {
			sg_count(SG_CNT_ACK_KERNEL_COOKIE_PASS);
			return XDP_PASS;
		}
	}
	if (res != SG_COOKIE_VALID)
		return sg_ack_refused(res, flow, th, cfg, now);

	if (cfg->src_ack_rate &&
	    !sg_src_allow(flow, SG_SRC_ACK, cfg, cfg->src_ack_rate,
			  cfg->src_ack_burst)) {
		sg_count(SG_CNT_ACK_SRC_LIMITED);
		return XDP_DROP;
	}
	sg_first_flight_add(flow, th, now);
	return sg_write_meta(ctx, cfg, &u.opt, &u.o, p->family, ws);
}

/* What is not a complete TCP header: counted, and passed unless it could
 * hide a SYN to a protected port while cookies are on. */
static __always_inline int sg_not_tcp(enum sg_parse r,
				      const struct sg_config *cfg)
{
	switch (r) {
	case SG_PARSE_FRAGMENT:
		sg_count(SG_CNT_FRAGMENT_PASS);
		return XDP_PASS;
	case SG_PARSE_FRAG_SHORT:
		/* A first fragment too short to show the flags (RFC 1858). */
		if (sg_cookies_on(cfg)) {
			sg_count(SG_CNT_FRAGMENT_DROP);
			return XDP_DROP;
		}
		sg_count(SG_CNT_FRAGMENT_PASS);
		return XDP_PASS;
	case SG_PARSE_UNPARSED:
		if (sg_cookies_on(cfg)) {
			sg_count(SG_CNT_UNPARSED_DROP);
			return XDP_DROP;
		}
		sg_count(SG_CNT_UNPARSED_PASS);
		return XDP_PASS;
	case SG_PARSE_MALFORMED:
		/* The kernel drops these before TCP sees them. */
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	default:
		sg_count(SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
}

SEC("xdp")
int synguard_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct sg_config *cfg;
	struct sg_flow flow = {};
	struct sg_pkt p = {};
	enum sg_parse r;
	struct tcphdr *th;
	__u32 zero = 0;
	int list, engaged, v;
	__u8 fl;

	cfg = bpf_map_lookup_elem(&sg_config, &zero);
	if (!cfg) { /* not reached: an array entry always exists */
		sg_count(SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
	r = sg_parse(data, data_end, &p);
	if (r != SG_PARSE_TCP)
		return sg_not_tcp(r, cfg);

	th = sg_tcp(data, data_end, &p);
	if (!th) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	if (!sg_port_protected(bpf_ntohs(th->dest))) {
		sg_count(p.first_frag ? SG_CNT_FRAGMENT_PASS
				      : SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
	fl = ((__u8 *)th)[13];
	/*
	 * A first fragment shows the flags but maybe not all options. The
	 * kernel reassembles it into a SYN like any other: while cookies are
	 * on, such a SYN would walk past them.
	 */
	if (p.first_frag) {
		if ((fl & TCPF_SYN) && sg_cookies_on(cfg)) {
			sg_count(SG_CNT_FRAGMENT_DROP);
			return XDP_DROP;
		}
		sg_count(SG_CNT_FRAGMENT_PASS);
		return XDP_PASS;
	}
	p.tcp_len = th->doff * 4;
	if (p.tcp_len < sizeof(*th) || data + p.l4_off + p.tcp_len > data_end ||
	    p.l4_off + p.tcp_len > p.ip_end ||
	    sg_flow_fill(&flow, data, data_end, &p, th, 0)) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	list = sg_list_match(&flow, cfg->lists);
	if (list == SG_LIST_DENY) {
		sg_count(SG_CNT_DENY_DROP);
		return XDP_DROP;
	}

	if ((fl & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN)) == TCPF_SYN) {
		sg_count(SG_CNT_SYN_RECEIVED);
		if (list == SG_LIST_ALLOW) {
			sg_count(SG_CNT_SYN_ALLOW_PASS);
			return XDP_PASS;
		}
		engaged = sg_rate_update(cfg);
		if (cfg->src_syn_rate &&
		    !sg_src_allow(&flow, SG_SRC_SYN, cfg, cfg->src_syn_rate,
				  cfg->src_syn_burst)) {
			sg_count(SG_CNT_SYN_SRC_LIMITED);
			return XDP_DROP;
		}
		if (!engaged) {
			sg_count(SG_CNT_SYN_DISENGAGED_PASS);
			return XDP_PASS;
		}
		v = sg_handle_syn(ctx, &p, &flow, cfg);
		return v == SG_SYN_KERNEL ? sg_kernel_syn(ctx, &p, &flow, cfg)
					  : v;
	}
	if ((fl & TCPF_SYN) && (fl & (TCPF_RST | TCPF_FIN))) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	if ((fl & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_ACK)
		return sg_handle_ack(ctx, &p, &flow, cfg);
	/* SYN-ACK, RST or FIN (no ACK): backscatter unless a socket wants it.
	 */
	if ((fl & (TCPF_SYN | TCPF_RST | TCPF_FIN)) && cfg->reflection_drop &&
	    sg_owner(ctx, &flow) != SG_OWNER_SOCKET) {
		sg_count(SG_CNT_REFLECTION_DROP);
		return XDP_DROP;
	}
	sg_count(SG_CNT_OTHER_PASS);
	return XDP_PASS;
}

/*
 * TC ingress: the kernel handoff. Reads the metadata XDP wrote for a
 * cookie-validated ACK, finds the listener and asks the kernel to build the
 * connection from the decoded options. A frame without synguard metadata is
 * not touched: TC never acts on traffic XDP did not mark. Frames it does
 * not hand off return TC_ACT_UNSPEC, so later filters still see them (OK
 * would end classification).
 */
SEC("tc")
int synguard_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sg_meta *m = (void *)(long)skb->data_meta;
	struct bpf_tcp_req_attrs attrs = {};
	struct bpf_sock_tuple tup = {};
	const struct sg_config *cfg;
	struct sg_flow flow = {};
	struct sg_pkt p = {};
	struct bpf_sock *sk;
	struct tcp_sock *tp;
	struct tcphdr *th;
	__u64 now, *last;
	__u32 tlen, zero = 0;
	int err;

	/* The kernel engine never loads this program; a kernel without the
	 * kfunc never gets past here if it does. */
	if ((void *)m == data || sg_engine != SG_ENGINE_OWN ||
	    !bpf_ksym_exists(bpf_sk_assign_tcp_reqsk))
		return TC_ACT_UNSPEC;
	/* A separate '>' test: the verifier learns the bound only from it. */
	if ((void *)(m + 1) > data || !sg_meta_ours(m, data)) {
		sg_count(SG_CNT_HANDOFF_META_BAD);
		return TC_ACT_UNSPEC;
	}
	if (sg_parse(data, data_end, &p) != SG_PARSE_TCP ||
	    !(th = sg_tcp(data, data_end, &p)) ||
	    sg_flow_fill(&flow, data, data_end, &p, th, 0)) {
		sg_count(SG_CNT_HANDOFF_META_BAD);
		return TC_ACT_UNSPEC;
	}
	tlen = sg_tuple_fill(&tup, &flow);
	/*
	 * skc, not sk: bpf_sk_lookup_tcp() returns the listener even when a
	 * request socket exists, and assigning a second one creates a bogus
	 * child (doc/design.md, "The socket lookup on a SYN").
	 */
	sk = bpf_skc_lookup_tcp(skb, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk) {
		sg_count(SG_CNT_HANDOFF_NO_LISTENER);
		return TC_ACT_UNSPEC;
	}
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_HANDOFF_EXISTS);
		return TC_ACT_UNSPEC;
	}
	/* The kfunc takes a full socket; the verifier rejects sock_common. */
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_HANDOFF_KFUNC_ERROR);
		return TC_ACT_UNSPEC;
	}
	flow.isn = bpf_ntohl(th->seq) - 1;
	now = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&sg_handoffs, &flow);
	if (last && now - *last < SG_HANDOFF_DUP_NS) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_HANDOFF_DUP);
		return TC_ACT_UNSPEC;
	}
	sg_req_attrs(&attrs, m);
	err = bpf_sk_assign_tcp_reqsk(skb, (struct sock *)tp, &attrs,
				      sizeof(attrs));
	bpf_sk_release(sk);
	if (err) {
		sg_kfunc_error(err);
		return TC_ACT_UNSPEC;
	}
	bpf_map_update_elem(&sg_handoffs, &flow, &now, BPF_ANY);
	/* Keep conntrack off this ACK: NAT would orphan the request socket
	 * (include/synguard.h, SG_NF_NOTRACK). */
	cfg = bpf_map_lookup_elem(&sg_config, &zero);
	if (cfg && (cfg->nf & SG_NF_NOTRACK))
		skb->priority = SG_NOTRACK_PRIORITY;
	sg_count(SG_CNT_HANDOFF_OK);
	return TC_ACT_OK;
}
