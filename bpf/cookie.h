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
 * SipHash-2-4 of the MAC message of a flow (include/synguard.h): the
 * addresses, ports and ISN, then word (le32) and last (1 byte), with the
 * key of keys' slot. 21 bytes for IPv4, 45 for IPv6.
 *
 * A global function, verified once on its own: inlined, its thousand
 * instructions were walked again on every path to each of its call sites,
 * past the verifier's 1M-instruction limit. A global function must accept
 * NULL pointers; callers never pass one, and get 0 if they did.
 */
__noinline __u64 sg_cookie_hash(const struct sg_flow *f,
				const struct sg_keys *keys, __u32 slot,
				__u32 word, __u32 last)
{
	const __u64 *key;
	__u64 ports, tail;

	if (!f || !keys)
		return 0;
	ports = (__u64)f->sport | (__u64)f->dport << 16 | (__u64)f->isn << 32;
	tail = (__u64)word | (__u64)(last & 0xff) << 32;
	key = keys->key[slot & 1];
	if (f->family == 4) {
		__u64 w[2] = { (__u64)f->saddr[0] | (__u64)f->daddr[0] << 32,
			       ports };

		return sg_siphash(key, w, 2, 21ULL << 56 | tail);
	} else {
		__u64 w[5] = {
			(__u64)f->saddr[0] | (__u64)f->saddr[1] << 32,
			(__u64)f->saddr[2] | (__u64)f->saddr[3] << 32,
			(__u64)f->daddr[0] | (__u64)f->daddr[1] << 32,
			(__u64)f->daddr[2] | (__u64)f->daddr[3] << 32,
			ports,
		};

		return sg_siphash(key, w, 5, 45ULL << 56 | tail);
	}
}

/*
 * The 25 MAC bits of a cookie without timestamps; word: the time counter
 * above the 7 data bits (its low 25 bits stay).
 */
static __always_inline __u32 sg_mac_nots(const struct sg_flow *f,
					 const struct sg_keys *keys,
					 __u32 slot, __u32 word, __u32 ours)
{
	return sg_cookie_hash(f, keys, slot, word, ours) >>
	       (64 - SG_COOKIE_MAC_BITS);
}

/* The cookie of a timestamp client: 32 MAC bits over the TSval we send. */
static __always_inline __u32 sg_mac_ts(const struct sg_flow *f,
				       const struct sg_keys *keys, __u32 tsval,
				       __u32 ours)
{
	return sg_cookie_hash(f, keys, tsval >> SG_TS_KEY_SHIFT, tsval,
			      ours | SG_MAC_TS_FLAG) >>
	       32;
}

/* The ws code of a cookie without timestamps: the table entry not above
 * the client's scale (include/synguard.h), 0 if it offered none. */
static __always_inline __u32 sg_ws_code(__u32 have_ws, __u32 ws)
{
	if (!have_ws)
		return 0;
	if (ws >= SG_WS_TABLE_3)
		return 3;
	return ws >= SG_WS_TABLE_2 ? 2 : 1;
}

static __always_inline __u32 sg_ws_of_code(__u32 code)
{
	return code == 3 ? SG_WS_TABLE_3 :
	       code == 2 ? SG_WS_TABLE_2 : SG_WS_TABLE_1;
}

/*
 * A cookie without timestamps made now (SG clock ns) with keys' slot;
 * data: the mss, sack and ws bits.
 */
static __always_inline __u32 sg_cookie_make(const struct sg_flow *f,
					    const struct sg_keys *keys,
					    __u32 slot, __u64 now, __u32 data,
					    __u32 ours)
{
	__u32 counter = now >> SG_PERIOD_SHIFT;

	data = (data & ((1u << SG_COOKIE_PAR_SHIFT) - 1)) |
	       (counter & 1) << SG_COOKIE_PAR_SHIFT |
	       (slot & 1) << SG_COOKIE_KEY_SHIFT;
	return sg_mac_nots(f, keys, slot, counter << SG_COOKIE_MAC_SHIFT | data,
			   ours)
		       << SG_COOKIE_MAC_SHIFT |
	       data;
}

/* The TSval our SYN-ACK sends a timestamp client: time and options. */
static __always_inline __u32 sg_tsval_make(__u64 now, __u32 slot, __u32 opts)
{
	return (__u32)(now >> SG_TS_UNIT_SHIFT) << SG_TS_TIME_SHIFT |
	       (slot & 1) << SG_TS_KEY_SHIFT | (opts & 0xff);
}

enum sg_cookie_result {
	SG_COOKIE_VALID,
	SG_COOKIE_INVALID,
	SG_COOKIE_TOO_OLD,
	SG_COOKIE_NONE_ISSUED, /* no cookie went out that could still be valid */
};

/* What a valid cookie says about the client's SYN. */
struct sg_cookie_opts {
	__u8 mss_idx;
	__u8 sack;
	__u8 ecn;
	__u8 snd_ws; /* the client's window scale, SG_COOKIE_WS_NONE if none */
};

/*
 * The MAC of a cookie with ours = *ws, else with ws_prev (if not
 * SG_COOKIE_WS_NONE: a change made within a cookie lifetime), a second hash
 * paid only in that window. On success *ws is the one the client was told.
 * none: the client offered no scale, so ours was SG_COOKIE_WS_NONE.
 */
static __always_inline int sg_cookie_mac_ok(const struct sg_flow *f,
					    const struct sg_keys *keys,
					    __u32 cookie, int ts, __u32 slot,
					    __u32 word, int none, __u32 *ws,
					    __u32 ws_prev)
{
	__u32 ours = none ? SG_COOKIE_WS_NONE : *ws;

	if (ts ? sg_mac_ts(f, keys, word, ours) == cookie :
		 sg_mac_nots(f, keys, slot, word, ours) ==
			 cookie >> SG_COOKIE_MAC_SHIFT)
		return 1;
	if (none || ws_prev == SG_COOKIE_WS_NONE)
		return 0;
	if (ts ? sg_mac_ts(f, keys, word, ws_prev) != cookie :
		 sg_mac_nots(f, keys, slot, word, ws_prev) !=
			 cookie >> SG_COOKIE_MAC_SHIFT)
		return 0;
	*ws = ws_prev;
	return 1;
}

/*
 * Check a cookie against the clock (now, SG clock ns), the lifetime (s)
 * and the keys. ts: the ACK carries a timestamp option, whose TSecr is
 * tsecr: the cookie is then checked as a TS cookie, else as one without.
 * *ws holds our window scale now, ws_prev the one before a change made
 * within a cookie lifetime (or SG_COOKIE_WS_NONE); on success *ws is the
 * one the client was told and *o what its SYN offered.
 */
static __always_inline enum sg_cookie_result
sg_cookie_check(const struct sg_flow *f, const struct sg_keys *keys,
		__u32 cookie, int ts, __u32 tsecr, __u64 now, __u32 lifetime,
		__u32 *ws, __u32 ws_prev, struct sg_cookie_opts *o)
{
	__u64 life_ns = (__u64)lifetime * SG_NSEC_PER_SEC;
	__u32 slot, word, none, age;
	int old;

	if (ts) {
		slot = (tsecr >> SG_TS_KEY_SHIFT) & 1;
		word = tsecr;
		none = (tsecr & SG_TS_WS_MASK) == SG_COOKIE_WS_NONE;
		/* Age in units; a TSval from the future wraps to a large
		 * age, accepted up to the skew (and a unit of rounding). */
		age = ((__u32)(now >> SG_TS_UNIT_SHIFT) -
		       (tsecr >> SG_TS_TIME_SHIFT)) &
		      SG_TS_TIME_MASK;
		old = age > (life_ns >> SG_TS_UNIT_SHIFT) + 1 &&
		      ((0u - age) & SG_TS_TIME_MASK) >
			      (1u << (SG_SKEW_SHIFT - SG_TS_UNIT_SHIFT)) + 1;
		o->mss_idx = (tsecr >> SG_TS_MSS_SHIFT) & SG_COOKIE_MSS_MASK;
		o->sack = !!(tsecr & SG_TS_SACK);
		o->ecn = !!(tsecr & SG_TS_ECN);
		o->snd_ws = tsecr & SG_TS_WS_MASK;
	} else {
		/* The periods overlapping [now - lifetime, now + skew]: at
		 * most two, told apart by the parity bit. Of the other
		 * parity, the one before: a genuine cookie there is too old. */
		__u32 hi = (now + (1ULL << SG_SKEW_SHIFT)) >> SG_PERIOD_SHIFT;
		__u32 lo = (now - life_ns) >> SG_PERIOD_SHIFT;
		__u32 counter = hi - ((hi ^ (cookie >> SG_COOKIE_PAR_SHIFT)) & 1);

		slot = (cookie >> SG_COOKIE_KEY_SHIFT) & 1;
		word = counter << SG_COOKIE_MAC_SHIFT |
		       (cookie & SG_COOKIE_DATA_MASK);
		none = !((cookie >> SG_COOKIE_WS_SHIFT) & SG_COOKIE_WS_MASK);
		old = (__s32)(counter - lo) < 0;
		o->mss_idx = cookie & SG_COOKIE_MSS_MASK;
		o->sack = !!(cookie & SG_COOKIE_SACK);
		o->ecn = 0;
		o->snd_ws = none ? SG_COOKIE_WS_NONE :
				   sg_ws_of_code((cookie >> SG_COOKIE_WS_SHIFT) &
						 SG_COOKIE_WS_MASK);
	}
	if (!keys->valid[slot])
		return SG_COOKIE_INVALID;
	if (!sg_cookie_mac_ok(f, keys, cookie, ts, slot, word, none, ws,
			      ws_prev))
		return SG_COOKIE_INVALID;
	return old ? SG_COOKIE_TOO_OLD : SG_COOKIE_VALID;
}

#endif /* SG_COOKIE_H */
