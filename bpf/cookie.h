/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SYN cookie: SipHash-2-4 over the connection and the client's ISN,
 * laid out as documented in include/synguard.h. BPF is little-endian here
 * like the hosts we run on, so loading packet bytes into integers yields the
 * little-endian words SipHash reads; tests/lib/ref.c recomputes every cookie with
 * a byte-oriented SipHash checked against the published test vectors.
 */
#ifndef SG_COOKIE_H
#define SG_COOKIE_H

#define SG_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define SG_SIPROUND(v0, v1, v2, v3)                                            \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = SG_ROTL(v1, 13);                                          \
		v1 ^= v0;                                                      \
		v0 = SG_ROTL(v0, 32);                                          \
		v2 += v3;                                                      \
		v3 = SG_ROTL(v3, 16);                                          \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = SG_ROTL(v3, 21);                                          \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = SG_ROTL(v1, 17);                                          \
		v1 ^= v2;                                                      \
		v2 = SG_ROTL(v2, 32);                                          \
	} while (0)

/*
 * SipHash-2-4 of n whole little-endian words followed by a final block
 * that already holds the length byte and the trailing bytes. n is a
 * compile-time constant at every call, so the loop unrolls.
 */
static __always_inline __u64 sg_siphash(const __u64 *key, const __u64 *w,
					int n, __u64 last)
{
	__u64 v0 = key[0] ^ 0x736f6d6570736575ULL;
	__u64 v1 = key[1] ^ 0x646f72616e646f6dULL;
	__u64 v2 = key[0] ^ 0x6c7967656e657261ULL;
	__u64 v3 = key[1] ^ 0x7465646279746573ULL;
	int i;

#pragma unroll
	for (i = 0; i < n; i++) {
		v3 ^= w[i];
		SG_SIPROUND(v0, v1, v2, v3);
		SG_SIPROUND(v0, v1, v2, v3);
		v0 ^= w[i];
	}
	v3 ^= last;
	SG_SIPROUND(v0, v1, v2, v3);
	SG_SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	SG_SIPROUND(v0, v1, v2, v3);
	SG_SIPROUND(v0, v1, v2, v3);
	SG_SIPROUND(v0, v1, v2, v3);
	SG_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The connection as the cookie sees it, in packet byte order. */
struct sg_flow {
	__u32 saddr[4]; /* client (IPv4: saddr[0]) */
	__u32 daddr[4]; /* server */
	__u16 sport; /* client */
	__u16 dport; /* server */
	__u32 isn; /* client's ISN, host order */
	__u8 family;
};

/*
 * The 20 MAC bits for a flow, a time counter, the 8 data bits and the
 * window scale we offered (SG_COOKIE_WS_NONE if none), with the key of
 * keys' slot. The message is 21 bytes for IPv4 and 45 for IPv6 (see
 * include/synguard.h).
 *
 * meta holds them as the last bytes of the message (sg_cookie_mac below).
 * A global function, verified once on its own: inlined, its thousand
 * instructions were walked again on every path to each of its call sites,
 * past the verifier's 1M-instruction limit. A global function must accept
 * NULL pointers; the answer then is no MAC at all (bits above the 20).
 */
__noinline __u32 sg_cookie_mac_meta(const struct sg_flow *f,
				    const struct sg_keys *keys, __u32 slot,
				    __u64 meta)
{
	const __u64 *key;
	__u64 ports = (__u64)f->sport | (__u64)f->dport << 16 |
		      (__u64)f->isn << 32;
	__u64 h;

	if (!f || !keys)
		return ~0u;
	key = keys->key[slot & 1];
	if (f->family == 4) {
		__u64 w[2] = { (__u64)f->saddr[0] | (__u64)f->daddr[0] << 32,
			       ports };

		h = sg_siphash(key, w, 2, 21ULL << 56 | meta);
	} else {
		__u64 w[5] = {
			(__u64)f->saddr[0] | (__u64)f->saddr[1] << 32,
			(__u64)f->saddr[2] | (__u64)f->saddr[3] << 32,
			(__u64)f->daddr[0] | (__u64)f->daddr[1] << 32,
			(__u64)f->daddr[2] | (__u64)f->daddr[3] << 32,
			ports,
		};

		h = sg_siphash(key, w, 5, 45ULL << 56 | meta);
	}
	return (h >> (64 - SG_COOKIE_MAC_BITS)) & ((1u << SG_COOKIE_MAC_BITS) - 1);
}

/* The trailing bytes of the message: counter, data bits, our wscale. */
static __always_inline __u32 sg_cookie_mac(const struct sg_flow *f,
					   const struct sg_keys *keys,
					   __u32 slot, __u32 counter,
					   __u32 data, __u32 ours)
{
	return sg_cookie_mac_meta(f, keys, slot,
				  ((counter & SG_COUNTER_MASK) << 8) |
					  (data & 0xff) |
					  (__u64)(ours & 0xff) << 32);
}

static __always_inline __u32 sg_cookie_make(const struct sg_flow *f,
					    const struct sg_keys *keys,
					    __u32 slot, __u32 counter,
					    __u32 data, __u32 ours)
{
	return sg_cookie_mac(f, keys, slot, counter, data, ours)
		       << SG_COOKIE_MAC_SHIFT |
	       (slot & 1) << SG_COOKIE_KEY_SHIFT |
	       (counter & SG_COOKIE_TIME_MASK) << SG_COOKIE_TIME_SHIFT |
	       (data & SG_COOKIE_DATA_MASK);
}

enum sg_cookie_result {
	SG_COOKIE_VALID,
	SG_COOKIE_INVALID,
	SG_COOKIE_TOO_OLD,
	SG_COOKIE_NONE_ISSUED, /* no cookie went out that could still be valid */
};

/* The window scale a cookie's SYN-ACK offered, given ours then. */
static __always_inline __u32 sg_cookie_ours(__u32 cookie, __u32 wscale)
{
	return ((cookie >> SG_COOKIE_WS_SHIFT) & SG_COOKIE_WS_MASK) ==
			       SG_COOKIE_WS_NONE ?
		       SG_COOKIE_WS_NONE :
		       wscale;
}

/*
 * Check a cookie against the clock and keys. max_age is the number of whole
 * periods a cookie may be old (lifetime >> period); an age of 7 (mod 8)
 * means one period in the future: a fleet peer whose clock is just ahead.
 * The MAC covers the window scale we offered: *ws holds ours now, and
 * ws_prev, if not SG_COOKIE_WS_NONE, the one before a change made within a
 * cookie lifetime; on success *ws is the one the client was told.
 */
static __always_inline enum sg_cookie_result
sg_cookie_check(const struct sg_flow *f, const struct sg_keys *keys,
		__u32 cookie, __u32 now, __u32 max_age, __u32 *ws,
		__u32 ws_prev)
{
	__u32 slot = (cookie >> SG_COOKIE_KEY_SHIFT) & 1;
	__u32 age = (now - (cookie >> SG_COOKIE_TIME_SHIFT)) &
		    SG_COOKIE_TIME_MASK;
	__u32 counter = age == SG_COOKIE_TIME_MASK ? now + 1 : now - age;
	__u32 data = cookie & SG_COOKIE_DATA_MASK, mac, ours;

	if (!keys->valid[slot])
		return SG_COOKIE_INVALID;
	mac = cookie >> SG_COOKIE_MAC_SHIFT;
	ours = sg_cookie_ours(cookie, *ws);
	if (sg_cookie_mac(f, keys, slot, counter, data, ours) != mac) {
		/* A second hash only in the lifetime after a change. */
		if (ours == SG_COOKIE_WS_NONE || ws_prev == SG_COOKIE_WS_NONE ||
		    sg_cookie_mac(f, keys, slot, counter, data, ws_prev) != mac)
			return SG_COOKIE_INVALID;
		*ws = ws_prev;
	}
	if (age != SG_COOKIE_TIME_MASK && age > max_age)
		return SG_COOKIE_TOO_OLD;
	return SG_COOKIE_VALID;
}

#endif /* SG_COOKIE_H */
