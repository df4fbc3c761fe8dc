/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connections the kernel owns, seen lately: the packets of an established
 * flow skip the socket lookup (doc/design.md, "The established-flow
 * cache").
 */
#ifndef SG_ESTCACHE_H
#define SG_ESTCACHE_H

#define SG_EST_TTL_NS (1000 * 1000 * 1000ULL) /* then looked up again */

/*
 * Direct-mapped, shared by the CPUs: a slot holds the last connection
 * hashed to it, and a collision only costs a lookup. An entry only ever
 * lets a packet pass to the kernel, which is what happens to every packet
 * without synguard: a stale one (the connection closed since) is harmless
 * as long as no cookie ACK of a new handshake on the same connection
 * meets it, which sg_est_forget() sees to.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_EST_SLOTS);
	__type(key, __u32);
	__type(value, struct sg_est);
} sg_est SEC(".maps");

/* Drawn by attach for each load, so nobody outside can aim collisions. */
const volatile __u64 sg_est_seed;

static __always_inline __u64 sg_est_mix(__u64 h, __u64 v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* 64 bits of the connection's addresses and ports; never 0. */
static __always_inline __u64 sg_est_hash(const struct sg_flow *f)
{
	__u64 h = sg_est_seed ^ f->family;
	int i;

	h = sg_est_mix(h, (__u64)f->sport << 16 | f->dport);
	for (i = 0; i < 4; i++) {
		h = sg_est_mix(h, (__u64)f->saddr[i] << 32 | f->daddr[i]);
		if (f->family == 4)
			break;
	}
	return h | 1;
}

static __always_inline struct sg_est *sg_est_slot(__u64 h)
{
	__u32 k = (__u32)h & (SG_EST_SLOTS - 1);

	return bpf_map_lookup_elem(&sg_est, &k);
}

/* Did the kernel own this connection less than SG_EST_TTL_NS ago? */
static __always_inline int sg_est_hit(const struct sg_flow *f, __u64 *h)
{
	struct sg_est *e;

	*h = sg_est_hash(f);
	e = sg_est_slot(*h);
	return e && e->tag == *h && bpf_ktime_get_coarse_ns() < e->until;
}

/* The kernel has a socket of this connection (h: sg_est_hash()). */
static __always_inline void sg_est_add(__u64 h)
{
	struct sg_est *e = sg_est_slot(h);

	if (!e)
		return;
	e->tag = h;
	e->until = bpf_ktime_get_coarse_ns() + SG_EST_TTL_NS;
}

/*
 * A SYN of this connection is answered with a cookie: its ACK must meet
 * the cookie check, not an entry left by an earlier connection of the
 * same addresses and ports.
 */
static __always_inline void sg_est_forget(const struct sg_flow *f)
{
	__u64 h = sg_est_hash(f);
	struct sg_est *e = sg_est_slot(h);

	if (e && e->tag == h)
		e->tag = 0;
}

#endif /* SG_ESTCACHE_H */
