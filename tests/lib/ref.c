// SPDX-License-Identifier: GPL-2.0
/*
 * Reference SipHash-2-4, cookie and checksum code for the tests: see ref.h.
 */
#include <string.h>
#include <time.h>

#include "synguard.h"
#include "ref.h"

/* ---- SipHash-2-4 (Aumasson, Bernstein: "SipHash: a fast short-input PRF") */

static uint64_t rotl64(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

static void sip_compress(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

uint64_t ref_siphash24(const uint8_t key[16], const void *msg, size_t len)
{
	const uint8_t *in = msg;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	struct sip_state s = {
		.v0 = k0 ^ 0x736f6d6570736575ULL, /* "somepseudorandomlygeneratedbytes" */
		.v1 = k1 ^ 0x646f72616e646f6dULL,
		.v2 = k0 ^ 0x6c7967656e657261ULL,
		.v3 = k1 ^ 0x7465646279746573ULL,
	};
	uint64_t m = 0;
	size_t i;

	/* Byte at a time on purpose: no alignment or endianness assumptions. */
	for (i = 0; i < len; i++) {
		m |= (uint64_t)in[i] << (8 * (i % 8));
		if (i % 8 == 7) {
			sip_compress(&s, m);
			m = 0;
		}
	}
	/* Last block: the remaining bytes, and the length mod 256 on top. */
	m |= (uint64_t)(len & 0xff) << 56;
	sip_compress(&s, m);

	s.v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

void ref_siphash_key(uint8_t out[16], uint64_t k0, uint64_t k1)
{
	int i;

	for (i = 0; i < 8; i++) {
		out[i] = (uint8_t)(k0 >> (8 * i));
		out[8 + i] = (uint8_t)(k1 >> (8 * i));
	}
}

/*
 * SipHash-2-4, 64-bit output, key 00..0f, message 00..(len-1): the published
 * vectors (veorq/SipHash, vectors.h, vectors_sip64), output as le64 bytes.
 */
static const uint8_t sip64_vectors[64][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 },
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d },
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf },
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb },
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 },
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a },
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 },
	{ 0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14 },
	{ 0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7 },
	{ 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 },
	{ 0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f },
	{ 0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69 },
	{ 0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b },
	{ 0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb },
	{ 0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe },
	{ 0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0 },
	{ 0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93 },
	{ 0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8 },
	{ 0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8 },
	{ 0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc },
	{ 0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17 },
	{ 0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f },
	{ 0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde },
	{ 0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6 },
	{ 0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad },
	{ 0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32 },
	{ 0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71 },
	{ 0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7 },
	{ 0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12 },
	{ 0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15 },
	{ 0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31 },
	{ 0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02 },
	{ 0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca },
	{ 0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a },
	{ 0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e },
	{ 0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad },
	{ 0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18 },
	{ 0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4 },
	{ 0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9 },
	{ 0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9 },
	{ 0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb },
	{ 0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0 },
	{ 0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6 },
	{ 0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7 },
	{ 0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee },
	{ 0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1 },
	{ 0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a },
	{ 0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81 },
	{ 0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f },
	{ 0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24 },
	{ 0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7 },
	{ 0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea },
	{ 0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60 },
	{ 0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66 },
	{ 0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c },
	{ 0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f },
	{ 0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5 },
	{ 0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95 },
};

int ref_siphash_selftest(void)
{
	uint8_t key[16], msg[64];
	int i, bad = 0;

	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (i = 0; i < 64; i++) {
		if (ref_siphash24(key, msg, (size_t)i) != le64(sip64_vectors[i]))
			bad++;
	}
	return bad;
}

/* ---- Cookies ---- */

static size_t addr_len(int family)
{
	return family == 6 ? 16 : 4;
}

/*
 * SipHash-2-4 of the MAC message (include/synguard.h): client and server
 * address, ports as stored in the packet, the client's ISN and word as
 * little-endian 32-bit numbers, then one last byte.
 */
static uint64_t mac_hash(int family, const uint8_t *saddr,
			 const uint8_t *daddr, uint16_t sport_be,
			 uint16_t dport_be, uint32_t client_isn, uint32_t word,
			 uint8_t last, const uint8_t key[16])
{
	uint8_t msg[16 + 16 + 2 + 2 + 4 + 4 + 1];
	size_t alen = addr_len(family), n = 0;

	memcpy(msg + n, saddr, alen);
	n += alen;
	memcpy(msg + n, daddr, alen);
	n += alen;
	/* Ports go in with the packet's byte order: copy the bytes as stored. */
	memcpy(msg + n, &sport_be, 2);
	n += 2;
	memcpy(msg + n, &dport_be, 2);
	n += 2;
	put_le32(msg + n, client_isn);
	n += 4;
	put_le32(msg + n, word);
	n += 4;
	msg[n++] = last;
	return ref_siphash24(key, msg, n);
}

uint32_t ref_cookie_mac(int family, const uint8_t *saddr, const uint8_t *daddr,
			uint16_t sport_be, uint16_t dport_be,
			uint32_t client_isn, uint32_t counter,
			const uint8_t key[16], uint8_t data, uint8_t ours)
{
	/* The counter's low 25 bits above the 7 data bits. */
	uint32_t word = (uint32_t)(counter * 128u) | (data & 0x7fu);

	/* The top 25 of the 64 hash bits. */
	return (uint32_t)(mac_hash(family, saddr, daddr, sport_be, dport_be,
				   client_isn, word, ours, key) /
			  (1ULL << (64 - SG_COOKIE_MAC_BITS)));
}

uint32_t ref_cookie(int family, const uint8_t *saddr, const uint8_t *daddr,
		    uint16_t sport_be, uint16_t dport_be, uint32_t client_isn,
		    uint32_t counter, unsigned int key_slot,
		    const uint8_t key[16], uint8_t data, uint8_t ours)
{
	uint8_t d = (uint8_t)((data & 0x1f) | (counter & 1) << 5 |
			      (key_slot & 1) << 6);
	uint32_t mac = ref_cookie_mac(family, saddr, daddr, sport_be, dport_be,
				      client_isn, counter, key, d, ours);

	return mac << 7 | d;
}

uint32_t ref_cookie_ts(int family, const uint8_t *saddr, const uint8_t *daddr,
		       uint16_t sport_be, uint16_t dport_be,
		       uint32_t client_isn, uint32_t tsval,
		       const uint8_t key[16], uint8_t ours)
{
	/* The top 32 hash bits; the last byte flags the variant. */
	return (uint32_t)(mac_hash(family, saddr, daddr, sport_be, dport_be,
				   client_isn, tsval, (uint8_t)(ours | 0x80),
				   key) >>
			  32);
}

uint32_t ref_tsval(uint64_t sg_ns, unsigned int key_slot, uint8_t opts)
{
	/* 23 bits of time in 2^29 ns units, the key slot, the options. */
	uint32_t t = (uint32_t)(sg_ns >> SG_TS_UNIT_SHIFT) & 0x7fffff;

	return t << 9 | (key_slot & 1u) << 8 | opts;
}

uint8_t ref_cookie_ours(uint8_t data, uint8_t wscale)
{
	/* ws code 0: the client offered no scale, so neither did we. */
	if (((data >> 3) & 3) == 0)
		return SG_COOKIE_WS_NONE;
	return wscale;
}

uint8_t ref_ts_ours(uint8_t opts, uint8_t wscale)
{
	if ((opts & 0xf) == 15)
		return SG_COOKIE_WS_NONE;
	return wscale;
}

static const uint16_t mss4_table[] = SG_MSS4_TABLE;
static const uint16_t mss6_table[] = SG_MSS6_TABLE;

uint16_t ref_cookie_mss(int family, unsigned int idx)
{
	if (idx > 3)
		return 0;
	if (family == 4)
		return mss4_table[idx];
	if (family == 6)
		return mss6_table[idx];
	return 0;
}

static unsigned int mss_index(int family, int have_mss, uint16_t client_mss)
{
	const uint16_t *tab = family == 6 ? mss6_table : mss4_table;
	unsigned int idx = 0, i;

	/*
	 * No option means the protocol default, which is entry 0 of both
	 * tables; an MSS below entry 0 also gets entry 0, as the kernel does.
	 */
	if (have_mss) {
		for (i = 0; i < 4; i++) {
			if (tab[i] <= client_mss)
				idx = i;
		}
	}
	return idx;
}

static const uint8_t ws_table[4] = { 0, SG_WS_TABLE_1, SG_WS_TABLE_2,
				     SG_WS_TABLE_3 };

uint8_t ref_ws_of_code(unsigned int code)
{
	return code >= 1 && code <= 3 ? ws_table[code] : 0;
}

uint8_t ref_cookie_data(int family, int have_mss, uint16_t client_mss,
			int sack, int have_ws, uint8_t client_ws)
{
	unsigned int code = 0, c;

	/* The largest table scale not above the client's (rounding down). */
	if (have_ws) {
		for (c = 1; c <= 3; c++) {
			if (ws_table[c] <= client_ws)
				code = c;
		}
	}
	return (uint8_t)(mss_index(family, have_mss, client_mss) |
			 (sack ? 4 : 0) | code << 3);
}

uint8_t ref_ts_opts(int family, int have_mss, uint16_t client_mss, int sack,
		    int ecn, int have_ws, uint8_t client_ws)
{
	unsigned int ws;

	if (!have_ws)
		ws = 15;
	else
		ws = client_ws > SG_WSCALE_MAX ? SG_WSCALE_MAX : client_ws;
	return (uint8_t)(ws | (sack ? 0x10 : 0) | (ecn ? 0x20 : 0) |
			 mss_index(family, have_mss, client_mss) << 6);
}

uint64_t ref_tai_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_TAI, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint32_t ref_counter(uint64_t tai_ns)
{
	return (uint32_t)(tai_ns >> SG_PERIOD_SHIFT);
}

/* ---- Internet checksum ---- */

uint32_t ref_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = sum;
	size_t i;

	/* Big-endian 16-bit words, so the result is host-order everywhere. */
	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	/* Carries folded back keep the partial sum from overflowing 32 bits. */
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t ref_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t ref_csum(const void *buf, size_t len)
{
	return ref_csum_fold(ref_csum_add(0, buf, len));
}

static unsigned int ipv4_hdr_len(const uint8_t *iphdr)
{
	return (iphdr[0] & 0x0f) * 4u;
}

int ref_ipv4_csum_ok(const uint8_t *iphdr)
{
	unsigned int hlen = ipv4_hdr_len(iphdr);

	if (hlen < 20)
		return 0;
	return ref_csum(iphdr, hlen) == 0;
}

void ref_fill_ipv4_csum(uint8_t *iphdr)
{
	unsigned int hlen = ipv4_hdr_len(iphdr);
	uint16_t c;

	if (hlen < 20)
		return;
	iphdr[10] = 0;
	iphdr[11] = 0;
	c = ref_csum(iphdr, hlen);
	iphdr[10] = (uint8_t)(c >> 8);
	iphdr[11] = (uint8_t)c;
}

static uint32_t pseudo_sum(int family, const uint8_t *l3hdr, uint8_t proto,
			   size_t l4_len)
{
	uint8_t tail[8];
	uint32_t sum;

	if (family == 6) {
		sum = ref_csum_add(0, l3hdr + 8, 32);
		/* RFC 8200 8.1: 32-bit length, 3 zero bytes, next header. */
		tail[0] = (uint8_t)(l4_len >> 24);
		tail[1] = (uint8_t)(l4_len >> 16);
		tail[2] = (uint8_t)(l4_len >> 8);
		tail[3] = (uint8_t)l4_len;
		tail[4] = tail[5] = tail[6] = 0;
		tail[7] = proto;
		return ref_csum_add(sum, tail, 8);
	}
	sum = ref_csum_add(0, l3hdr + 12, 8);
	tail[0] = 0;
	tail[1] = proto;
	tail[2] = (uint8_t)(l4_len >> 8);
	tail[3] = (uint8_t)l4_len;
	return ref_csum_add(sum, tail, 4);
}

uint16_t ref_l4_csum(int family, const uint8_t *l3hdr, uint8_t proto,
		     const uint8_t *l4hdr, size_t l4_len)
{
	uint32_t sum = 0;

	/* ICMP for IPv4 is the one L4 checksum without a pseudo-header. */
	if (!(family == 4 && proto == 1))
		sum = pseudo_sum(family, l3hdr, proto, l4_len);
	return ref_csum_fold(ref_csum_add(sum, l4hdr, l4_len));
}

int ref_tcp_csum_ok(int family, const uint8_t *l3hdr, const uint8_t *tcphdr,
		    size_t tcp_len)
{
	if (tcp_len < 20)
		return 0;
	return ref_l4_csum(family, l3hdr, 6, tcphdr, tcp_len) == 0;
}

int ref_udp_csum_ok(int family, const uint8_t *l3hdr, const uint8_t *udphdr,
		    size_t udp_len)
{
	if (udp_len < 8)
		return 0;
	/* Zero means "no checksum", allowed for IPv4 only (RFC 8200 8.1). */
	if (udphdr[6] == 0 && udphdr[7] == 0)
		return family == 4;
	return ref_l4_csum(family, l3hdr, 17, udphdr, udp_len) == 0;
}

int ref_fill_l4_csum(int family, const uint8_t *l3hdr, uint8_t proto,
		     uint8_t *l4hdr, size_t l4_len)
{
	size_t off;
	uint16_t c;

	switch (proto) {
	case 6:
		off = 16;
		break;
	case 17:
		off = 6;
		break;
	case 1:
	case 58:
		off = 2;
		break;
	default:
		return -1;
	}
	if (l4_len < off + 2)
		return -1;
	l4hdr[off] = 0;
	l4hdr[off + 1] = 0;
	c = ref_l4_csum(family, l3hdr, proto, l4hdr, l4_len);
	if (proto == 17 && c == 0)
		c = 0xffff;
	l4hdr[off] = (uint8_t)(c >> 8);
	l4hdr[off + 1] = (uint8_t)c;
	return 0;
}

int ref_fill_csums(int family, uint8_t *l3hdr, uint8_t proto, uint8_t *l4hdr,
		   size_t l4_len)
{
	if (family == 4)
		ref_fill_ipv4_csum(l3hdr);
	return ref_fill_l4_csum(family, l3hdr, proto, l4hdr, l4_len);
}

/* ---- The established-flow cache ---- */

static uint64_t est_mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

uint64_t ref_est_tag(int family, const uint8_t *saddr, const uint8_t *daddr,
		     uint16_t sport_be, uint16_t dport_be, uint64_t seed)
{
	uint64_t h = seed ^ (uint64_t)family;
	int i, words = family == 4 ? 1 : 4;

	h = est_mix(h, (uint64_t)sport_be << 16 | dport_be);
	for (i = 0; i < words; i++) {
		uint32_t s, d;

		memcpy(&s, saddr + 4 * i, 4);
		memcpy(&d, daddr + 4 * i, 4);
		h = est_mix(h, (uint64_t)s << 32 | d);
	}
	return h | 1;
}
