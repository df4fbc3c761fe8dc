/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-source limits: token buckets of SYNs and ACKs per source address
 * (IPv6 per prefix), in an LRU table.
 */
#ifndef SG_LIMITS_H
#define SG_LIMITS_H

/* Per-source buckets: SG_DEFAULT_SRC_TABLE entries unless attach's
 * --src-table sets another size, whatever the number of sources (LRU:
 * the least recently seen make room). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_DEFAULT_SRC_TABLE);
	__type(key, struct sg_src_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_src SEC(".maps");

/* ---- per-source limits ---- */

/* Network-order mask of the first `bits` bits of a 32-bit word. */
static __always_inline __u32 sg_mask32(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(~0u << (32 - bits));
}

/*
 * One token bucket per (masked) source, as GCRA: the value is the
 * theoretical arrival time of the next packet. A packet may come up to
 * (burst - 1) intervals early. Updates race between CPUs without atomics;
 * the worst case is a few packets more than the limit, never fewer.
 */
static __always_inline int sg_src_allow(const struct sg_flow *f, __u8 kind,
					const struct sg_config *cfg, __u32 rate,
					__u32 burst)
{
	struct sg_src_key k = {.family = f->family, .kind = kind};
	__u64 now = bpf_ktime_get_ns(), interval, tolerance, tat, *v;
	int prefix = f->family == 4 ? cfg->src_prefix4 : cfg->src_prefix6;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		k.addr[i] = f->saddr[i] & sg_mask32(prefix - 32 * i);
	interval = SG_NSEC_PER_SEC / rate;
	tolerance = interval * (burst > 1 ? burst - 1 : 0);
	v = bpf_map_lookup_elem(&sg_src, &k);
	if (!v) {
		tat = now + interval;
		bpf_map_update_elem(&sg_src, &k, &tat, BPF_ANY);
		return 1;
	}
	tat = *v > now ? *v : now;
	if (tat - now > tolerance)
		return 0;
	*v = tat + interval;
	return 1;
}

#endif /* SG_LIMITS_H */
