/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet samples for `synguard top` and `synguard capture` (doc/design.md,
 * "Who is attacking: packet samples"). While a reader's mask is set
 * (sg_sample_ctl, below), the entry point copies the first bytes of
 * each frame into this CPU's slot (sg_sample_arm) before anything can
 * rewrite it into a SYN-ACK, and sg_count, where the frame's verdict is
 * counted, sends the slot to the ring buffer if that verdict is masked
 * (sg_sample_take). At most sg_sample_ctl.rate samples a second per CPU:
 * once a CPU has sent that many, it stops copying until the second is over.
 */
#ifndef SG_SAMPLE_H
#define SG_SAMPLE_H

/* Included by bpf/common.h before sg_count, which uses what follows. */
static __always_inline __u64 sg_now(const struct sg_config *cfg);
static __always_inline __u32 sg_size_bound(__u32 v, __u32 max);

/*
 * The control word a reader sets, in a data section of its own, so that
 * user space can pin it and write it alone. A global, not a map entry:
 * reading it is one load, no lookup.
 */
struct sg_sample_ctl sg_sample_ctl SEC(".data.sample") = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SG_SAMPLE_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_samples SEC(".maps");

struct sg_sample_cpu {
	__u64 window_ns; /* bpf_ktime_get_coarse_ns() at the window's start */
	__u32 taken;	 /* samples sent in the window */
	__u32 armed;	 /* s holds the frame being decided */
	struct sg_pktsample s;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_sample_cpu);
} sg_sample_buf SEC(".maps");

/*
 * Called by the entry point while the mask is set: the frame as it came,
 * into this CPU's slot, if the CPU may still send a sample this second.
 * Clears the mask once the reader's lease ran out. A global function: the
 * verifier checks it once, and the entry point's stack does not grow.
 */
__noinline int sg_sample_arm(struct xdp_md *ctx)
{
	struct sg_sample_cpu *b;
	__u64 now;
	__u32 zero = 0, len, cap;

	if (!ctx)
		return 0;
	b = bpf_map_lookup_elem(&sg_sample_buf, &zero);
	if (!b)
		return 0;
	b->armed = 0;
	now = bpf_ktime_get_coarse_ns();
	/* Signed: a lease renewed after this CPU read the time is not over. */
	if ((__s64)(now - sg_sample_ctl.lease_ns) > 0) {
		sg_sample_ctl.mask = 0;
		return 0;
	}
	if (now - b->window_ns >= SG_NSEC_PER_SEC) {
		b->window_ns = now;
		b->taken = 0;
	}
	if (b->taken >= sg_sample_ctl.rate)
		return 0;
	len = bpf_xdp_get_buff_len(ctx);
	if (!len)
		return 0;
	cap = len < SG_SAMPLE_BYTES ? len : SG_SAMPLE_BYTES;
	/* Verifier: the size must be provably in [1, SG_SAMPLE_BYTES]. */
	cap = sg_size_bound(cap, SG_SAMPLE_BYTES);
	if (bpf_xdp_load_bytes(ctx, 0, b->s.data, cap))
		return 0;
	b->s.len = len;
	b->s.cap_len = cap;
	b->armed = 1;
	return 0;
}

/*
 * Verifier: sg_sample_take's lookup key, in .rodata rather than on the
 * stack of the function sg_count is inlined in.
 */
static const volatile __u32 sg_sample_key;

/*
 * sg_count's half: this frame's verdict is c, a masked one. Inlined, not a
 * function of its own: sg_count runs at the bottom of the deepest call
 * chains, which 6.1's verifier sums frame by frame (each at least 32
 * bytes) against 512, and the kernel engine's chain built by clang 16 was
 * at 512 already.
 */
static __always_inline int sg_sample_take(__u32 c)
{
	const struct sg_config *cfg;
	struct sg_sample_cpu *b;

	b = bpf_map_lookup_elem(&sg_sample_buf, (const void *)&sg_sample_key);
	if (!b || !b->armed)
		return 0;
	b->armed = 0;
	b->taken++;
	cfg = bpf_map_lookup_elem(&sg_config, (const void *)&sg_sample_key);
	b->s.time_ns = cfg ? sg_now(cfg) : 0;
	b->s.counter = c;
	b->s.cpu = bpf_get_smp_processor_id();
	/* A full ring: the reader fell behind. Counted for it to report;
	 * atomic, since every CPU may lose one at once. */
	if (bpf_ringbuf_output(&sg_samples, &b->s, sizeof(b->s), 0))
		__sync_fetch_and_add(&sg_sample_ctl.lost, 1);
	return 0;
}

#endif /* SG_SAMPLE_H */
