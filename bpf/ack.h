/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdicts on an ACK to a protected port that no socket of the kernel
 * owns: our cookie checked, and what to do with one that is not ours.
 */
#ifndef SG_ACK_H
#define SG_ACK_H

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
 * Own engine: the verdict on an ACK with no socket of its connection, by
 * our cookie; sk is the listener or NULL, released here. A valid cookie
 * writes the handoff's metadata and passes to TC. opt and o are the
 * caller's stack slots (its stack is tight), cleared here.
 */
static __always_inline int
sg_own_ack(struct xdp_md *ctx, struct sg_pkt *p, struct sg_flow *flow,
	   const struct sg_config *cfg, struct tcphdr *th, struct bpf_sock *sk,
	   __u32 cookie, struct sg_tcpopt *opt, struct sg_cookie_opts *o)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	enum sg_cookie_result res;
	__u32 ws;
	__u64 now;

	now = sg_now(cfg);
	ws = cfg->wscale;
	/* The timestamp option says which cookie variant to check. */
	__builtin_memset(opt, 0, sizeof(*opt));
	__builtin_memset(o, 0, sizeof(*o));
	if (sg_load_opts(ctx, p, opt)) {
		if (sk)
			bpf_sk_release(sk);
		sg_count(SG_CNT_MALFORMED); /* not reached: parse checked */
		return XDP_PASS;
	}
	res = sg_ack_cookie(flow, cfg, cookie, opt, now, &ws, o);
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
	return sg_write_meta(ctx, cfg, opt, o, p->family, ws);
}

#endif /* SG_ACK_H */
