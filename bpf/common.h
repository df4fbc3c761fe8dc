/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every path of the programs reads: the configuration, the port map,
 * the key slots and the verdict counters (and sg_info, which only user
 * space reads); the SG clock, the flow of a frame, the TCP options.
 */
#ifndef SG_COMMON_H
#define SG_COMMON_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_keys);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_keys SEC(".maps");

/*
 * Per destination port: protected, and how its SYNs are handled
 * (include/synguard.h, struct sg_port_map). The CLI writes it read-modify-
 * write: the port list (attach, config ports=) and the kinds (attach, and
 * run's scan: doc/design.md, "Ports by kind") each keep the other's bits.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_port_map);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_port_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_counters SEC(".maps");

/* Written and read by user space only (include/synguard.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_info SEC(".maps");

/*
 * enum sg_engine, set by attach before the load: the verifier then sees a
 * constant and drops the other engine's code as dead.
 */
const volatile __u8 sg_engine = SG_ENGINE_OWN;

/*
 * The MSS tables (include/synguard.h) as a function, not static const
 * arrays: clang folds those away but leaves an empty .rodata section in BTF,
 * which bpftool 7.1's skeleton generator refuses.
 */
static __always_inline __u16 sg_mss_table(int family, __u32 idx)
{
	__u64 t = family == 4 ? SG_MSS4_PACKED : SG_MSS6_PACKED;

	return t >> ((idx & 3) * 16);
}

#include "sample.h"

/*
 * Per-CPU slot, so no atomics: XDP runs in softirq, one packet at a time.
 * Every frame's verdict is counted here, so this is where it is sampled.
 */
static __always_inline void sg_count(enum sg_counter c)
{
	__u32 k = c;
	__u64 *v = bpf_map_lookup_elem(&sg_counters, &k);

	if (v)
		*v += 1;
	if (SG_CNT_IS_XDP_VERDICT(c) && (sg_sample_ctl.mask >> c & 1))
		sg_sample_take(c);
}

/*
 * The port map's byte for a TCP destination port (SG_PORT_*): 0 if the
 * port is not protected. The one lookup of the port a packet pays; the
 * caller keeps the byte in sg_pkt for the SYN and ACK paths. The port
 * indexes the value: sg_ntohs_bounded keeps it 0..65535 for verifiers that
 * lose the bounds of a byte swap (bpf/parse.h).
 */
static __always_inline __u8 sg_port_bits(__be16 dport)
{
	__u32 zero = 0;
	const struct sg_port_map *m = bpf_map_lookup_elem(&sg_port_map, &zero);
	__u8 b;

	if (!m)
		return 0;
	b = m->port[sg_ntohs_bounded(dport)];
	return b & SG_PORT_PROTECTED ? b : 0;
}

/*
 * The SG clock's source: the coarse monotonic clock plus TAI's offset to
 * it, measured per CPU (doc/design.md, "The clock"). The precise TAI read
 * (the TSC: a tenth of a valid ACK's cost in a perf profile) then happens
 * once per CPU per SG_CLOCK_RECAL_NS instead of on every SYN and ACK.
 */
struct sg_clock {
	__u64 at;  /* coarse monotonic ns of the last calibration */
	__u64 off; /* TAI - monotonic then */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_clock);
} sg_clock SEC(".maps");

/* TAI - monotonic moves only when the clock is set: seen within this. */
#define SG_CLOCK_RECAL_NS (1ULL << 27) /* 134 ms */

/*
 * The SG clock (include/synguard.h): REALTIME, which a fleet agrees on.
 * It lags the precise one by up to a tick (at most SG_CLOCK_LAG_NS),
 * never leads it.
 */
static __always_inline __u64 sg_now(const struct sg_config *cfg)
{
	__u64 mono = bpf_ktime_get_coarse_ns();
	struct sg_clock *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&sg_clock, &zero);
	if (!c) /* not reached: an array entry always exists */
		return bpf_ktime_get_tai_ns() - cfg->tai_offset_ns;
	if (!c->at || mono - c->at >= SG_CLOCK_RECAL_NS) {
		/* Both precise: their difference is the kernel's offset,
		 * whatever the coarse clock lags. */
		c->off = bpf_ktime_get_tai_ns() - bpf_ktime_get_ns();
		c->at = mono;
	}
	return mono + c->off - cfg->tai_offset_ns;
}

/* The connection's addresses and ports; -1 if the frame is too short. */
static __always_inline int sg_flow_fill(struct sg_flow *f, void *data,
					void *data_end, const struct sg_pkt *p,
					const struct tcphdr *th, __u32 isn)
{
	f->family = p->family;
	f->sport = th->source;
	f->dport = th->dest;
	f->isn = isn;
	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & SG_L3_OFF_MASK);

		if ((void *)(ip + 1) > data_end)
			return -1;
		f->saddr[0] = ip->saddr;
		f->daddr[0] = ip->daddr;
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & SG_L3_OFF_MASK);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		__builtin_memcpy(f->saddr, &ip6->saddr, 16);
		__builtin_memcpy(f->daddr, &ip6->daddr, 16);
	}
	return 0;
}

/* The socket lookup key of a flow, as the receiving host sees it. */
static __always_inline __u32 sg_tuple_fill(struct bpf_sock_tuple *t,
					   const struct sg_flow *f)
{
	if (f->family == 4) {
		t->ipv4.saddr = f->saddr[0];
		t->ipv4.daddr = f->daddr[0];
		t->ipv4.sport = f->sport;
		t->ipv4.dport = f->dport;
		return sizeof(t->ipv4);
	}
	__builtin_memcpy(t->ipv6.saddr, f->saddr, 16);
	__builtin_memcpy(t->ipv6.daddr, f->daddr, 16);
	t->ipv6.sport = f->sport;
	t->ipv6.dport = f->dport;
	return sizeof(t->ipv6);
}

/*
 * Verifier: for a v the caller checked to be in [1, max], max a power of
 * two, returns v unchanged but provably in that range, as a helper's size
 * argument must be. The barrier keeps clang from dropping the arithmetic
 * as redundant and passing the caller's unchecked 64-bit register.
 */
static __always_inline __u32 sg_size_bound(__u32 v, __u32 max)
{
	asm volatile("" : "+r"(v));
	return ((v - 1) & (max - 1)) + 1;
}

/*
 * The general option walk, for layouts sg_opts_fast does not know. A
 * subprogram, not inlined: its 64-byte buffer then lives in a stack frame
 * of its own instead of adding to the entry point's 512 bytes at every
 * call site.
 */
static __noinline int sg_load_opts_slow(struct xdp_md *ctx, __u32 off,
					__u32 len, struct sg_tcpopt *o)
{
	struct sg_optwalk w;

	if (!len || len > TCP_MAX_OPTLEN)
		return -1;
	/* Zeroed: the walk reads the whole buffer's slots. */
	__builtin_memset(&w, 0, sizeof(w));
	/* The bounded length from the register: read back from its byte in
	 * w, it would be bounded by 255 only, past the buffer. */
	len = sg_size_bound(len, SG_OPTBUF);
	w.len = len;
	if (bpf_xdp_load_bytes(ctx, off, w.b, len))
		return -1;
	if (sg_parse_opts(&w))
		return -1;
	*o = w.o;
	return 0;
}

/* The TCP options as the kernel reads them; -1 only if they cannot be. */
static __always_inline int
sg_load_opts(struct xdp_md *ctx, const struct sg_pkt *p, struct sg_tcpopt *o)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = p->tcp_len - sizeof(struct tcphdr);

	if (len == 0)
		return 0;
	if (sg_opts_fast(data + (p->l4_off & SG_L4_OFF_MASK) +
				 sizeof(struct tcphdr),
			 data_end, len, o))
		return 0;
	return sg_load_opts_slow(ctx, p->l4_off + sizeof(struct tcphdr), len,
				 o);
}

#endif /* SG_COMMON_H */
