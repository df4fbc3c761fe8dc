/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cookies auto: the SYN rate of the whole host, measured per CPU in
 * 134 ms windows, and the engaged state with its hold time (sg_state,
 * sg_rate).
 */
#ifndef SG_ADAPTIVE_H
#define SG_ADAPTIVE_H

/* Cookies auto: state (read by `status`) and per-CPU SYN counts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_state SEC(".maps");

struct sg_rate_cpu {
	__u64 win;  /* window number: ktime >> SG_RATE_SHIFT */
	__u32 cur;  /* SYNs in window win */
	__u32 prev; /* SYNs in window win - 1 */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_rate_cpu);
} sg_rate SEC(".maps");

/* Bounds the loop over CPUs; the lookup stops at the last possible one. */
#define SG_MAX_CPUS 256

/* Are cookies on? For frames that are not SYNs, which do not move it. */
static __always_inline int sg_cookies_on(const struct sg_config *cfg)
{
	struct sg_state *st;
	__u32 zero = 0;

	if (cfg->cookies == SG_COOKIES_ALWAYS)
		return 1;
	st = bpf_map_lookup_elem(&sg_state, &zero);
	return !st || st->engaged; /* no state: fail towards protection */
}

/* ---- cookies auto: the SYN rate ---- */

/*
 * Add this SYN to the CPU's window count. When a CPU starts a new window it
 * sums the last complete window of every CPU (the only cross-CPU work, once
 * per window per CPU) and moves the engaged state. Returns whether cookies
 * are on for this SYN.
 */
struct sg_rate_sum {
	__u64 win; /* the current window */
	__u64 sum; /* SYNs of every CPU in the last complete window */
};

/*
 * One CPU's last complete window. A bpf_loop() callback: the verifier
 * checks it once, where a plain loop over 256 CPUs was walked again on
 * every path into it, past the 1M-instruction limit.
 */
static long sg_rate_sum_cpu(__u32 c, void *ctx)
{
	struct sg_rate_sum *s = ctx;
	struct sg_rate_cpu *o;
	__u32 zero = 0;

	o = bpf_map_lookup_percpu_elem(&sg_rate, &zero, c);
	if (!o)
		return 1; /* past the last possible CPU */
	if (o->win == s->win)
		s->sum += o->prev;
	else if (o->win + 1 == s->win)
		s->sum += o->cur;
	return 0;
}

/*
 * A subprogram, not inlined: its locals then leave the XDP entry point's
 * stack frame, which 6.1's verifier (32-byte rounding per frame) counted
 * past 512 bytes together with sg_handle_syn's and the option walk's.
 */
static __noinline int sg_rate_update(const struct sg_config *cfg)
{
	struct sg_rate_sum sum_ctx = {};
	/* The coarse clock (a few ms of resolution) is plenty for 134 ms
	 * windows and costs a fraction of a precise read. */
	__u64 now = bpf_ktime_get_coarse_ns(), win = now >> SG_RATE_SHIFT;
	__u64 sum = 0;
	struct sg_rate_cpu *r;
	struct sg_state *st;
	__u32 zero = 0, rate;

	r = bpf_map_lookup_elem(&sg_rate, &zero);
	st = bpf_map_lookup_elem(&sg_state, &zero);
	if (!r || !st)
		return 1; /* not reached; fail towards protection */
	if (r->win == win) {
		r->cur++;
		goto out;
	}
	r->prev = r->win + 1 == win ? r->cur : 0;
	r->cur = 1;
	r->win = win;

	sum_ctx.win = win;
	bpf_loop(SG_MAX_CPUS, sg_rate_sum_cpu, &sum_ctx, 0);
	sum = sum_ctx.sum;
	rate = (sum * SG_NSEC_PER_SEC) >> SG_RATE_SHIFT;
	st->rate = rate;
	st->measured_ns = now;
	if (rate >= cfg->syn_rate_off)
		st->above_ns = now;
	/* Transitions mean something only in auto mode; the rate is kept
	 * in both for `status`. */
	if (cfg->cookies != SG_COOKIES_AUTO)
		goto out;
	if (!st->engaged && rate >= cfg->syn_rate_on) {
		st->engaged = 1;
		st->changed_ns = now;
		sg_count(SG_CNT_COOKIES_ENGAGED);
	} else if (st->engaged && rate < cfg->syn_rate_off &&
		   SG_HOLD_OVER(now, st->above_ns, cfg->hold_time)) {
		st->engaged = 0;
		st->changed_ns = now;
		sg_count(SG_CNT_COOKIES_DISENGAGED);
	}
out:
	return cfg->cookies == SG_COOKIES_ALWAYS || st->engaged;
}

#endif /* SG_ADAPTIVE_H */
