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
#include "handoff.h"
#include "kengine.h"
#include "synack.h"
#include "firstflight.h"
#include "proxycsum.h"
#include "conntrack.h"
#include "estcache.h"
#include "ack.h"

char LICENSE[] SEC("license") = "GPL";

/* sg_handle_syn in the kernel engine: answer it, with sg_kernel_syn. */
#define SG_SYN_KERNEL (-1)
/* sg_handle_syn for a translated port: answer it, with sg_proxy_syn. */
#define SG_SYN_PROXY (-2)

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

	if (p->port & SG_PORT_PASS) {
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
	/* No local listener, and NAT translates it (attach --synproxy), or
	 * routed through (--gateway): SYNPROXY completes the handshake, no
	 * handoff. For IPv6, TC verifies the ACK's checksum for nftables'
	 * synproxy (bpf/proxycsum.h), in either engine. */
	if (sg_proxied(ctx, p, flow, cfg))
		return SG_SYN_PROXY;
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
		sg_est_forget(flow);
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
 * Kernel engine: the SYN sg_handle_syn cleared for an answer and
 * sg_kernel_cookie made a cookie for, answered. A global function of its
 * own, called by the entry point, not by sg_handle_syn: in one frame with
 * those checks, the SYN-ACK builder took the stack past what 6.1's
 * verifier allows (it adds up the frames of a call chain, each rounded up
 * to 32 bytes, the option walk's bpf_loop callback included). For the same
 * reason it calls no cookie subprogram itself: clang 16's frame for it
 * (232 bytes, 256 in the sum) with the entry's and sg_kernel_cookie's came
 * to 528.
 */
__noinline int sg_kernel_syn(struct xdp_md *ctx, struct sg_pkt *p,
			     struct sg_flow *flow, const struct sg_config *cfg,
			     __u32 cookie)
{
	/* Verified in both engines, like every global function. */
	if (!ctx || !p || !flow || !cfg || sg_engine != SG_ENGINE_KERNEL)
		return XDP_PASS; /* not reached */
	return sg_synack(ctx, p, flow, cfg, NULL, cookie, 1);
}

/*
 * A SYN to a translated port (SG_PORT_PROXY), answered with the raw
 * kernel cookie netfilter's SYNPROXY accepts (doc/design.md, "SYNPROXY for
 * translated ports"), which sg_proxy_cookie made. A global function of its
 * own, like sg_kernel_syn.
 */
__noinline int sg_proxy_syn(struct xdp_md *ctx, struct sg_pkt *p,
			    struct sg_flow *flow, const struct sg_config *cfg,
			    __u32 cookie)
{
	if (!ctx || !p || !flow || !cfg)
		return XDP_PASS; /* not reached */
	return sg_synack(ctx, p, flow, cfg, NULL, cookie, SG_SYNACK_PROXY);
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
	__u32 tlen, cookie;
	struct bpf_sock *sk;
	struct tcphdr *th;
	__u64 h = 0;

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

	/* Most packets here are of a flow the kernel owned a moment ago. */
	if (sg_est_hit(flow, &h)) {
		sg_count(SG_CNT_ACK_ESTABLISHED_PASS);
		return XDP_PASS;
	}
	tlen = sg_tuple_fill(&u.tup, flow);
	sk = bpf_skc_lookup_tcp(ctx, &u.tup, tlen, BPF_F_CURRENT_NETNS, 0);
	/* A listener matches any 4-tuple: only a socket of this connection
	 * (established, request or time-wait) means the kernel owns it. */
	if (sk && sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sg_est_add(h);
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
	if (!sk || (p->port & SG_PORT_PASS)) {
		enum sg_ct_seen seen = sg_ct_find(ctx, &u.tup, tlen);

		if (sk && seen != SG_CT_NONE)
			bpf_sk_release(sk);
		if (seen == SG_CT_PROXY_EARLY)
			return sg_proxy_early(ctx, cfg);
		if (seen == SG_CT_KNOWN) {
			sg_count(SG_CNT_ACK_CONNTRACK_PASS);
			return XDP_PASS;
		}
	}

	/* Unknown to conntrack, for a translated port: SYNPROXY's. */
	if (!sk && sg_proxied(ctx, p, flow, cfg))
		return sg_proxy_ack(ctx, p, th, flow, cfg);
	if (sg_engine == SG_ENGINE_KERNEL)
		return sg_kernel_ack(sk, data, data_end, p, th, flow, cfg);
	return sg_own_ack(ctx, p, flow, cfg, th, sk, cookie, &u.opt, &u.o);
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

/*
 * A first fragment shows the flags but maybe not all options. The kernel
 * reassembles it into a SYN like any other: while cookies are on, such a
 * SYN would walk past them.
 */
static __always_inline int sg_first_frag(__u8 fl, const struct sg_config *cfg)
{
	if ((fl & TCPF_SYN) && sg_cookies_on(cfg)) {
		sg_count(SG_CNT_FRAGMENT_DROP);
		return XDP_DROP;
	}
	sg_count(SG_CNT_FRAGMENT_PASS);
	return XDP_PASS;
}

/*
 * A SYN to a protected port: allowed, counted against the SYN rate that
 * engages cookies and against its source's limit, then answered while
 * cookies are on.
 */
static __always_inline int sg_syn(struct xdp_md *ctx, struct sg_pkt *p,
				  struct sg_flow *flow,
				  const struct sg_config *cfg, int list)
{
	int engaged, v;
	__s64 c;

	sg_count(SG_CNT_SYN_RECEIVED);
	if (list == SG_LIST_ALLOW) {
		sg_count(SG_CNT_SYN_ALLOW_PASS);
		return XDP_PASS;
	}
	engaged = sg_rate_update(cfg);
	if (cfg->src_syn_rate &&
	    !sg_src_allow(flow, SG_SRC_SYN, cfg, cfg->src_syn_rate,
			  cfg->src_syn_burst)) {
		sg_count(SG_CNT_SYN_SRC_LIMITED);
		return XDP_DROP;
	}
	if (!engaged) {
		sg_count(SG_CNT_SYN_DISENGAGED_PASS);
		return XDP_PASS;
	}
	if (cfg->draining) {
		sg_count(SG_CNT_SYN_DETACH_PASS);
		return XDP_PASS;
	}
	v = sg_handle_syn(ctx, p, flow, cfg);
	if (v == SG_SYN_PROXY) {
		c = sg_proxy_cookie(ctx, p);
		if (!(c & SG_COOKIE_MADE))
			return c;
		return sg_proxy_syn(ctx, p, flow, cfg, (__u32)c);
	}
	if (v == SG_SYN_KERNEL) {
		c = sg_kernel_cookie(ctx, p, flow);
		if (!(c & SG_COOKIE_MADE))
			return c;
		return sg_kernel_syn(ctx, p, flow, cfg, (__u32)c);
	}
	return v;
}

/* The verdict on a frame, counted. */
static __always_inline int sg_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct sg_config *cfg;
	struct sg_flow flow = {};
	struct sg_pkt p = {};
	enum sg_parse r;
	struct tcphdr *th;
	__u32 zero = 0;
	__u8 fl;
	int list;

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
	p.port = sg_port_bits(th->dest);
	if (!p.port) {
		sg_count(p.first_frag ? SG_CNT_FRAGMENT_PASS
				      : SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
	fl = ((__u8 *)th)[13];
	if (p.first_frag)
		return sg_first_frag(fl, cfg);
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
		return sg_syn(ctx, &p, &flow, cfg, list);
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

SEC("xdp")
int synguard_xdp(struct xdp_md *ctx)
{
	const struct sg_config *cfg;
	__u32 zero = 0;
	int v;

	/* Packet samples: the frame before it can become a SYN-ACK. */
	if (sg_sample_ctl.mask)
		sg_sample_arm(ctx);
	v = sg_xdp(ctx);
	/*
	 * Monitor mode: a drop, counted as one, passes. Here, once, rather
	 * than at every drop; the SYN-ACK and the handoff metadata, which
	 * change the frame, check the mode themselves (sg_synack,
	 * sg_write_meta), so no XDP_TX comes back in this mode. The config
	 * is looked up again rather than passed down: sg_xdp taking it as
	 * an argument grew this frame from 160 to 192 bytes, and the
	 * deepest call chain past the verifier's 512.
	 */
	if (v != XDP_DROP)
		return v;
	cfg = bpf_map_lookup_elem(&sg_config, &zero);
	return cfg && cfg->monitor ? XDP_PASS : XDP_DROP;
}

/*
 * TC: the metadata this load's XDP program wrote in front of the frame, or
 * NULL: none (not counted), or someone else's (handoff_meta_bad).
 */
static __always_inline struct sg_meta *sg_tc_meta(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct sg_meta *m = (void *)(long)skb->data_meta;

	if ((void *)m == data)
		return NULL;
	/* A separate '>' test: the verifier learns the bound only from it. */
	if ((void *)(m + 1) > data || !sg_meta_ours(m, data)) {
		sg_count(SG_CNT_HANDOFF_META_BAD);
		return NULL;
	}
	return m;
}

/* TC: a segment XDP tagged for SYNPROXY's hold gets the priority that the
 * table's rule matches after conntrack (user/notrack.c, hold_chains). */
static __always_inline int sg_tc_hold(struct __sk_buff *skb)
{
	skb->priority = SG_HOLD_PRIORITY;
	sg_count(SG_CNT_PROXY_HOLD_TAGGED);
	return TC_ACT_UNSPEC;
}

/*
 * TC ingress: the kernel handoff. Reads the metadata XDP wrote for a
 * cookie-validated ACK, finds the listener and asks the kernel to build the
 * connection from the decoded options; or, for an IPv6 cookie ACK XDP
 * passed to SYNPROXY, verifies its checksum (sg_proxy_csum); or, for a
 * segment of a flow SYNPROXY is still opening, sets the hold priority
 * (sg_tc_hold). A frame without synguard metadata is not touched: TC never
 * acts on traffic XDP did not mark. Frames it does not hand off return
 * TC_ACT_UNSPEC, so later filters still see them (OK would end
 * classification).
 */
SEC("tc")
int synguard_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sg_flow flow = {};
	struct sg_pkt p = {};
	struct tcphdr *th;
	struct sg_meta *m;

	/* The kernel engine loads synguard_tc_proxy instead; a kernel without
	 * the kfunc never gets past here if it does load this one. */
	if (sg_engine != SG_ENGINE_OWN ||
	    !bpf_ksym_exists(bpf_sk_assign_tcp_reqsk))
		return TC_ACT_UNSPEC;
	m = sg_tc_meta(skb);
	if (!m)
		return TC_ACT_UNSPEC;
	/* Before the parse: the hold rule needs nothing more. */
	if (m->flags & SG_META_F_HOLD)
		return sg_tc_hold(skb);
	if (sg_parse(data, data_end, &p) != SG_PARSE_TCP ||
	    !(th = sg_tcp(data, data_end, &p)) ||
	    sg_flow_fill(&flow, data, data_end, &p, th, 0)) {
		sg_count(SG_CNT_HANDOFF_META_BAD);
		return TC_ACT_UNSPEC;
	}
	if (m->flags & SG_META_F_PROXY) {
		p.tcp_len = th->doff * 4;
		return sg_proxy_csum(skb, &p);
	}
	return sg_handoff(skb, m, &flow, th);
}

/*
 * TC ingress of the kernel engine with --synproxy nat or --gateway: what
 * synguard_tc does for SYNPROXY, without the handoff. The hold tag of a
 * segment of a flow SYNPROXY is still opening (sg_tc_hold), and the
 * checksum of an IPv6 cookie ACK (sg_proxy_csum). A program of its own,
 * without synguard_tc's kfunc call: Linux before 6.9 has no such kfunc,
 * and the verifier of some of them refuses a call to an unresolved one
 * even where it is dead code.
 */
SEC("tc")
int synguard_tc_proxy(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sg_pkt p = {};
	struct tcphdr *th;
	struct sg_meta *m;

	m = sg_tc_meta(skb);
	if (!m)
		return TC_ACT_UNSPEC;
	if (m->flags & SG_META_F_HOLD)
		return sg_tc_hold(skb);
	/* The kernel engine's XDP writes no handoff metadata. */
	if (!(m->flags & SG_META_F_PROXY) ||
	    sg_parse(data, data_end, &p) != SG_PARSE_TCP ||
	    !(th = sg_tcp(data, data_end, &p))) {
		sg_count(SG_CNT_HANDOFF_META_BAD);
		return TC_ACT_UNSPEC;
	}
	p.tcp_len = th->doff * 4;
	return sg_proxy_csum(skb, &p);
}
