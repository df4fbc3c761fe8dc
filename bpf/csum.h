/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One's complement arithmetic for the checksums synguard checks and
 * writes.
 */
#ifndef SG_CSUM_H
#define SG_CSUM_H

static __always_inline __u16 sg_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s;
}

/* One's complement sum of n 32-bit words; n is constant: unrolled. */
static __always_inline __u64 sg_sum32(const void *p, int n)
{
	const __u32 *w = p;
	__u64 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		s += w[i];
	return s;
}

#endif /* SG_CSUM_H */
