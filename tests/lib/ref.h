/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reference implementations for the unit tests of the BPF program.
 *
 * Everything here is written from the specifications (the SipHash paper,
 * RFC 1071, include/synguard.h) and shares no code with bpf/, so a test that
 * compares the two catches a bug on either side instead of agreeing with it.
 * Clarity wins over speed throughout.
 */
#ifndef SG_TESTS_REF_H
#define SG_TESTS_REF_H

#include <stddef.h>
#include <stdint.h>

/* ---- SipHash-2-4 ---- */

/* k0 = le64(key[0..7]), k1 = le64(key[8..15]), as in the paper. */
uint64_t ref_siphash24(const uint8_t key[16], const void *msg, size_t len);

/*
 * The BPF side keeps a key as two u64 (struct sg_keys.key[slot][0] = k0,
 * [1] = k1); this gives the 16 key bytes ref_siphash24() wants for them.
 */
void ref_siphash_key(uint8_t out[16], uint64_t k0, uint64_t k1);

/* Checks all 64 published SipHash-2-4 vectors; returns the mismatch count. */
int ref_siphash_selftest(void);

/* ---- Cookies (layout: include/synguard.h) ---- */

/*
 * Common arguments. family: 4 or 6. saddr/daddr: 4 or 16 bytes, network
 * order, client's view (saddr = client, daddr = server). sport_be/dport_be:
 * as in the packet (network order). client_isn: host-order sequence number
 * of the SYN. ours: the window scale our SYN-ACK offered,
 * SG_COOKIE_WS_NONE if it offered none.
 */

/*
 * The cookie of a client without timestamps. counter: full time counter
 * (ref_counter()); its parity goes into the cookie, its low 25 bits into the
 * MAC. key_slot: 0 or 1. data: bits 0..4 (ref_cookie_data()).
 */
uint32_t ref_cookie(int family, const uint8_t *saddr, const uint8_t *daddr,
		    uint16_t sport_be, uint16_t dport_be, uint32_t client_isn,
		    uint32_t counter, unsigned int key_slot,
		    const uint8_t key[16], uint8_t data, uint8_t ours);

/* The 25-bit MAC of such a cookie, data being its bits 0..6. */
uint32_t ref_cookie_mac(int family, const uint8_t *saddr, const uint8_t *daddr,
			uint16_t sport_be, uint16_t dport_be,
			uint32_t client_isn, uint32_t counter,
			const uint8_t key[16], uint8_t data, uint8_t ours);

/* The cookie of a timestamp client: tsval is the TSval of our SYN-ACK,
 * which the client echoes (ref_tsval()). */
uint32_t ref_cookie_ts(int family, const uint8_t *saddr, const uint8_t *daddr,
		       uint16_t sport_be, uint16_t dport_be,
		       uint32_t client_isn, uint32_t tsval,
		       const uint8_t key[16], uint8_t ours);

/* Our TSval for a timestamp client: SG clock ns, key slot, ref_ts_opts(). */
uint32_t ref_tsval(uint64_t sg_ns, unsigned int key_slot, uint8_t opts);

/*
 * Bits 0..4 of a cookie without timestamps from what the client's SYN
 * offered. client_mss and client_ws are ignored unless have_mss / have_ws.
 */
uint8_t ref_cookie_data(int family, int have_mss, uint16_t client_mss,
			int sack, int have_ws, uint8_t client_ws);

/* The low 8 bits of our TSval for a timestamp client; ecn means the SYN
 * asked for ECN and we answer it (the caller applies sg_config.ecn). */
uint8_t ref_ts_opts(int family, int have_mss, uint16_t client_mss, int sack,
		    int ecn, int have_ws, uint8_t client_ws);

/* The window scale a SYN-ACK offered, ours being wscale, from a cookie's
 * data bits (no timestamps) or from our TSval's options. */
uint8_t ref_cookie_ours(uint8_t data, uint8_t wscale);
uint8_t ref_ts_ours(uint8_t opts, uint8_t wscale);

/* MSS that a cookie's mss index stands for (0 for a bad family). */
uint16_t ref_cookie_mss(int family, unsigned int idx);

/* The client's window scale a ws code (1..3) of a cookie stands for. */
uint8_t ref_ws_of_code(unsigned int code);

/* CLOCK_TAI now, in nanoseconds: the clock synguard.h bases cookies on. */
uint64_t ref_tai_ns(void);

/* Full time counter of cookies without timestamps, tai_ns >> SG_PERIOD_SHIFT. */
uint32_t ref_counter(uint64_t tai_ns);

/* ---- Internet checksum (RFC 1071) ---- */

/*
 * All checksums are host-order numbers meant to be stored big-endian:
 * p[0] = c >> 8, p[1] = c & 0xff.
 */

/* Adds buf to a running 32-bit one's complement sum (not yet folded). Only
 * the last chunk may have an odd length: it is padded with a zero byte. */
uint32_t ref_csum_add(uint32_t sum, const void *buf, size_t len);

/* Folds a running sum and complements it: the value to put in the packet. */
uint16_t ref_csum_fold(uint32_t sum);

/* Checksum of one buffer; 0 when buf already holds a correct checksum. */
uint16_t ref_csum(const void *buf, size_t len);

/* 1 if the IPv4 header (length from its IHL, which must be >= 5) verifies. */
int ref_ipv4_csum_ok(const uint8_t *iphdr);

/*
 * Checksum of an L4 segment with its pseudo-header, as the segment stands
 * (its checksum field included): 0 means it verifies. The pseudo-header
 * addresses are taken from the fixed IPv4/IPv6 header at l3hdr; with an
 * IPv6 routing header whose segments left is non-zero that is not the final
 * destination, which this does not try to model.
 */
uint16_t ref_l4_csum(int family, const uint8_t *l3hdr, uint8_t proto,
		     const uint8_t *l4hdr, size_t l4_len);

int ref_tcp_csum_ok(int family, const uint8_t *l3hdr, const uint8_t *tcphdr,
		    size_t tcp_len);
int ref_udp_csum_ok(int family, const uint8_t *l3hdr, const uint8_t *udphdr,
		    size_t udp_len);

/* Writes the IPv4 header checksum (IHL from the header). */
void ref_fill_ipv4_csum(uint8_t *iphdr);

/*
 * Writes the checksum of a TCP, UDP, ICMP or ICMPv6 segment (other protocols
 * are left alone; returns -1 for them, else 0). UDP's computed 0 is sent as
 * 0xffff (RFC 768).
 */
int ref_fill_l4_csum(int family, const uint8_t *l3hdr, uint8_t proto,
		     uint8_t *l4hdr, size_t l4_len);

/* Both of the above: the IPv4 header (if family is 4) and the segment. */
int ref_fill_csums(int family, uint8_t *l3hdr, uint8_t proto, uint8_t *l4hdr,
		   size_t l4_len);

/* ---- The established-flow cache (bpf/estcache.h) ---- */

/*
 * The cache's tag of a connection (addresses and ports as in ref_cookie)
 * under seed: each step h = (h ^ v) * 0x9e3779b97f4a7c15, h ^= h >> 29, over
 * the ports (sport << 16 | dport, host order) and then each address word
 * pair (saddr << 32 | daddr, host order of the words as loaded), one for
 * IPv4, four for IPv6; bit 0 set. The slot is its low 14 bits.
 */
uint64_t ref_est_tag(int family, const uint8_t *saddr, const uint8_t *daddr,
		     uint16_t sport_be, uint16_t dport_be, uint64_t seed);

#endif /* SG_TESTS_REF_H */
