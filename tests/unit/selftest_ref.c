// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test of the test helpers (ref.c, pkt.c): the BPF tests trust them, so
 * they are checked against published vectors and against a second,
 * differently written computation before anything else runs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synguard.h"
#include "ref.h"
#include "pkt.h"

static int passed, failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			passed++;                                              \
		} else {                                                       \
			failed++;                                              \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__,         \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

/*
 * RFC 1071 2(B): the sum is byte-order independent, so summing little-endian
 * words and swapping the result must agree with ref.c's big-endian sum.
 */
static uint16_t alt_csum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < len; i++)
		sum += (uint64_t)p[i] << (i % 2 ? 8 : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return (uint16_t)(sum >> 8 | (sum & 0xff) << 8);
}

/* Pseudo-header and segment laid out flat, summed by alt_csum(). */
static uint16_t alt_l4_csum(int family, const uint8_t *l3, uint8_t proto,
			    const uint8_t *l4, size_t len)
{
	uint8_t flat[PKT_BUF_SIZE + 40];
	size_t n = 0;

	if (family == 4) {
		memcpy(flat, l3 + 12, 8);
		flat[8] = 0;
		flat[9] = proto;
		pkt_put_be16(flat + 10, (uint16_t)len);
		n = 12;
	} else {
		memcpy(flat, l3 + 8, 32);
		pkt_put_be32(flat + 32, (uint32_t)len);
		flat[36] = flat[37] = flat[38] = 0;
		flat[39] = proto;
		n = 40;
	}
	memcpy(flat + n, l4, len);
	return alt_csum(flat, n + len);
}

static void test_siphash(void)
{
	uint8_t key[16], msg[15], want_key[16];
	int i;

	CHECK(ref_siphash_selftest() == 0);

	for (i = 0; i < 16; i++)
		want_key[i] = (uint8_t)i;
	for (i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* Vector 0 once more, from the bytes 31 0e 0e dd 47 db 6f 72. */
	CHECK(ref_siphash24(want_key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	/* Vector 15 (message 00..0e), a partial last block. */
	CHECK(ref_siphash24(want_key, msg, 15) == 0xa129ca6149be45e5ULL);

	ref_siphash_key(key, 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL);
	CHECK(memcmp(key, want_key, 16) == 0);
}

static void test_csum_vectors(void)
{
	/* RFC 1071 3: words 0001 f203 f4f5 f6f7 sum to ddf2. */
	static const uint8_t rfc1071[] = { 0x00, 0x01, 0xf2, 0x03,
					   0xf4, 0xf5, 0xf6, 0xf7 };
	/* A commonly quoted IPv4 header whose checksum is b861. */
	static const uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00,
					0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
					0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
					0x00, 0xc7 };
	static const uint8_t odd1[] = { 0xab };
	static const uint8_t odd3[] = { 0x00, 0x01, 0xf2 };
	uint8_t hdr[20];

	CHECK(ref_csum_add(0, rfc1071, sizeof(rfc1071)) == 0x2ddf0);
	CHECK(ref_csum(rfc1071, sizeof(rfc1071)) == (uint16_t)~0xddf2);
	CHECK(alt_csum(rfc1071, sizeof(rfc1071)) == (uint16_t)~0xddf2);
	CHECK(ref_csum(odd1, 1) == 0x54ff);
	CHECK(ref_csum(odd3, 3) == (uint16_t)~0xf201);
	CHECK(alt_csum(odd3, 3) == ref_csum(odd3, 3));
	/* Chunked sums agree with one pass when the chunks are even. */
	CHECK(ref_csum_fold(ref_csum_add(ref_csum_add(0, ip, 10), ip + 10, 10)) ==
	      ref_csum(ip, 20));

	CHECK(ref_ipv4_csum_ok(ip));
	memcpy(hdr, ip, 20);
	hdr[10] = hdr[11] = 0;
	CHECK(!ref_ipv4_csum_ok(hdr));
	ref_fill_ipv4_csum(hdr);
	CHECK(memcmp(hdr, ip, 20) == 0);
	hdr[0] = 0x44; /* IHL 4: no valid header is that short */
	CHECK(!ref_ipv4_csum_ok(hdr));
}

static void check_frame_csums(const uint8_t *buf, int len, int want_family,
			      uint8_t want_proto)
{
	struct pkt_offs o;
	const uint8_t *l3, *l4;

	CHECK(pkt_offsets(buf, (size_t)len, &o) == 0);
	if (o.l4_off < 0)
		return;
	CHECK(o.family == want_family);
	CHECK(o.l4proto == want_proto);
	l3 = buf + o.l3_off;
	l4 = buf + o.l4_off;
	if (o.family == 4)
		CHECK(ref_ipv4_csum_ok(l3) && alt_csum(l3, (l3[0] & 0xf) * 4u) == 0);
	if (want_proto == 6)
		CHECK(ref_tcp_csum_ok(o.family, l3, l4, (size_t)o.l4_len));
	else if (want_proto == 17)
		CHECK(ref_udp_csum_ok(o.family, l3, l4, (size_t)o.l4_len));
	else
		CHECK(ref_l4_csum(o.family, l3, want_proto, l4,
				  (size_t)o.l4_len) == 0);
	if (want_proto != 1)
		CHECK(alt_l4_csum(o.family, l3, want_proto, l4,
				  (size_t)o.l4_len) == 0);
}

static void test_tcp4_syn(void)
{
	struct pkt_spec s;
	struct pkt_offs o;
	uint8_t buf[PKT_BUF_SIZE];
	const uint8_t *d, *tcp;
	int len, dlen;

	pkt_spec_init(&s, 4);
	CHECK(pkt_opt_mss(s.tcp_opts, &s.tcp_opts_len, 1460) == 0);
	CHECK(pkt_opt_sackperm(s.tcp_opts, &s.tcp_opts_len) == 0);
	CHECK(pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 0x01020304, 0) == 0);
	CHECK(pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len) == 0);
	CHECK(pkt_opt_ws(s.tcp_opts, &s.tcp_opts_len, 7) == 0);
	CHECK(s.tcp_opts_len == 20);
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 14 + 20 + 40);
	if (len < 0)
		return;
	check_frame_csums(buf, len, 4, 6);

	CHECK(pkt_offsets(buf, (size_t)len, &o) == 0);
	CHECK(o.l3_off == 14 && o.l4_off == 34 && o.l4_len == 40);
	CHECK(o.nvlan == 0 && !o.is_frag);
	tcp = buf + o.l4_off;
	CHECK(pkt_be16(buf + 12) == PKT_ETH_P_IP);
	CHECK(pkt_be16(buf + 14 + 2) == 60); /* total length */
	CHECK(pkt_be16(buf + 14 + 6) == PKT_IP_DF);
	CHECK(pkt_be16(tcp) == 40000 && pkt_be16(tcp + 2) == 80);
	CHECK(pkt_be32(tcp + 4) == 0x12345678);
	CHECK(tcp[12] == 0xa0 && tcp[13] == PKT_TCP_SYN);
	CHECK(pkt_tcpopt_find(tcp, 40, PKT_TCPOPT_MSS, &d, &dlen) == 20 &&
	      dlen == 2 && pkt_be16(d) == 1460);
	CHECK(pkt_tcpopt_find(tcp, 40, PKT_TCPOPT_WS, &d, &dlen) == 37 &&
	      dlen == 1 && d[0] == 7);
	CHECK(pkt_tcpopt_find(tcp, 40, PKT_TCPOPT_TS, &d, &dlen) == 26 &&
	      dlen == 8 && pkt_be32(d) == 0x01020304);
	CHECK(pkt_tcpopt_find(tcp, 40, PKT_TCPOPT_SACK, NULL, NULL) == -1);

	/* A test edits a field, then repairs the checksum. */
	pkt_put_be32(buf + o.l4_off + 4, 0xdeadbeef);
	CHECK(!ref_tcp_csum_ok(4, buf + 14, tcp, 40));
	CHECK(pkt_fix_csums(buf, (size_t)len) == 0);
	CHECK(ref_tcp_csum_ok(4, buf + 14, tcp, 40));

	/* Checksums can be left out on request. */
	s.flags = PKT_F_NO_L4_CSUM | PKT_F_NO_IP_CSUM;
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 74 && !ref_ipv4_csum_ok(buf + 14) &&
	      !ref_tcp_csum_ok(4, buf + 14, buf + 34, 40));
}

static void test_tcp4_vlan_opts_frag(void)
{
	static const uint8_t ipopts[] = { 0x94, 0x04, 0x00, 0x00, 0x01 };
	static const uint8_t data[] = "hello, odd";
	struct pkt_spec s;
	struct pkt_offs o;
	uint8_t buf[PKT_BUF_SIZE];
	int len;

	pkt_spec_init(&s, 4);
	s.nvlan = 2;
	s.vlan_tpid[0] = PKT_ETH_P_8021AD;
	s.vlan_tci[0] = 100;
	s.vlan_tci[1] = 200;
	memcpy(s.ip_opts, ipopts, sizeof(ipopts));
	s.ip_opts_len = sizeof(ipopts); /* padded to 8 */
	s.frag_off = PKT_IP_MF;
	s.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
	s.payload = data;
	s.payload_len = sizeof(data) - 1; /* odd on purpose */
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 22 + 28 + 20 + 10);
	if (len < 0)
		return;
	check_frame_csums(buf, len, 4, 6);
	CHECK(pkt_be16(buf + 12) == PKT_ETH_P_8021AD &&
	      pkt_be16(buf + 14) == 100);
	CHECK(pkt_be16(buf + 16) == PKT_ETH_P_8021Q &&
	      pkt_be16(buf + 18) == 200);
	CHECK(pkt_offsets(buf, (size_t)len, &o) == 0);
	CHECK(o.nvlan == 2 && o.l3_off == 22 && o.l4_off == 50);
	CHECK(o.is_frag && o.frag_offset == 0 && o.l4_len == 30);
	CHECK(buf[22] == 0x47 && buf[22 + 24] == 0x01 && buf[22 + 25] == 0);

	/* Forced length fields change the fields only. */
	s.ihl = 3;
	s.doff = 15;
	s.ip_len = 1000;
	s.frag_off = 185; /* 1480 bytes in */
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 80 && buf[22] == 0x43 && buf[50 + 12] >> 4 == 15);
	CHECK(pkt_be16(buf + 24) == 1000);
	CHECK(pkt_offsets(buf, (size_t)len, &o) == -1); /* IHL < 5 */
	s.ihl = -1;
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(pkt_offsets(buf, (size_t)len, &o) == 0 && o.is_frag &&
	      o.frag_offset == 1480 && o.l4_len == 30);
}

static void test_tcp6_ext(void)
{
	static const uint8_t types[] = { 0, 60, 43, 44 };
	struct pkt_spec s;
	struct pkt_offs o;
	uint8_t buf[PKT_BUF_SIZE];
	int len, i;

	pkt_spec_init(&s, 6);
	s.tos = 0x02; /* ECT(0) */
	s.flow_label = 0xabcde;
	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ECE | PKT_TCP_CWR;
	pkt_opt_mss(s.tcp_opts, &s.tcp_opts_len, 1440);
	pkt_opt_pad(s.tcp_opts, &s.tcp_opts_len);
	for (i = 0; i < 4; i++)
		s.v6_ext[i].type = types[i];
	s.v6_ext[1].len8 = 1; /* 16-byte destination options */
	s.v6_ext[3].frag_id = 0x11223344;
	s.nv6_ext = 4;
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 14 + 40 + 8 + 16 + 8 + 8 + 24);
	if (len < 0)
		return;
	check_frame_csums(buf, len, 6, 6);
	CHECK(pkt_offsets(buf, (size_t)len, &o) == 0);
	CHECK(o.l3_off == 14 && o.l4_off == 14 + 40 + 40 && o.l4_len == 24);
	CHECK(o.nv6_ext == 4 && o.is_frag && o.frag_offset == 0);
	CHECK(pkt_be32(buf + 14) == (6u << 28 | 0x02u << 20 | 0xabcde));
	CHECK(pkt_be16(buf + 14 + 4) == 40 + 24);
	CHECK(buf[14 + 6] == 0 && buf[54] == 60 && buf[62] == 43 &&
	      buf[78] == 44 && buf[86] == 6);
	CHECK(buf[63] == 1 && buf[80] == 0 && buf[81] == 0);

	/* A non-first fragment with the M flag. */
	s.v6_ext[3].frag_offset = 100;
	s.v6_ext[3].frag_more = 1;
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(pkt_be16(buf + 86 + 2) == (100 << 3 | 1));
	CHECK(pkt_offsets(buf, (size_t)len, &o) == 0 && o.frag_offset == 800);
}

static void test_udp_icmp(void)
{
	static const uint8_t data[] = { 1, 2, 3, 4, 5 };
	/* Echo request, checksum left for the builder. */
	static const uint8_t echo[] = { 128, 0, 0, 0, 0x12, 0x34, 0, 1, 'x' };
	struct pkt_spec s;
	struct pkt_offs o;
	uint8_t buf[PKT_BUF_SIZE];
	int len;

	pkt_spec_init(&s, 6);
	s.l4proto = 17;
	s.sport = 5353;
	s.dport = 53;
	s.payload = data;
	s.payload_len = sizeof(data);
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 14 + 40 + 8 + 5);
	if (len < 0)
		return;
	check_frame_csums(buf, len, 6, 17);
	CHECK(pkt_be16(buf + 54 + 4) == 13);

	pkt_spec_init(&s, 4);
	s.l4proto = 17;
	s.payload = data;
	s.payload_len = sizeof(data);
	s.eth_pad = 60 - (14 + 20 + 8 + 5);
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 60);
	if (len < 0)
		return;
	check_frame_csums(buf, len, 4, 17);
	CHECK(pkt_be16(buf + 16) == 33 && pkt_offsets(buf, 60, &o) == 0 &&
	      o.l4_len == 13);

	pkt_spec_init(&s, 6);
	s.l4proto = 58;
	s.payload = echo;
	s.payload_len = sizeof(echo);
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 14 + 40 + 9);
	if (len < 0)
		return;
	check_frame_csums(buf, len, 6, 58);
	CHECK(buf[54 + 2] != 0 || buf[54 + 3] != 0);
}

static void test_non_ip(void)
{
	static const uint8_t lldp[] = { 0x02, 0x07, 0x04 };
	struct pkt_spec s;
	struct pkt_offs o;
	uint8_t buf[PKT_BUF_SIZE];
	int len;

	pkt_spec_init(&s, 0);
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 42);
	CHECK(pkt_be16(buf + 12) == PKT_ETH_P_ARP && pkt_be16(buf + 20) == 1);
	CHECK(memcmp(buf + 28, s.saddr, 4) == 0 &&
	      memcmp(buf + 38, s.daddr, 4) == 0);
	CHECK(pkt_offsets(buf, (size_t)len, &o) == -1 && o.l3_off == -1 &&
	      o.ethertype == PKT_ETH_P_ARP);

	s.ethertype = 0x88cc;
	s.nvlan = 1;
	s.payload = lldp;
	s.payload_len = sizeof(lldp);
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 18 + 3 && pkt_be16(buf + 16) == 0x88cc);
	CHECK(pkt_offsets(buf, (size_t)len, &o) == -1 && o.nvlan == 1);

	/* IPv4 inside a frame that claims IPv6: the mismatch a parser meets. */
	pkt_spec_init(&s, 4);
	s.ethertype = PKT_ETH_P_IPV6;
	len = pkt_build(&s, buf, sizeof(buf));
	CHECK(len == 54 && buf[14] == 0x45 && pkt_be16(buf + 12) == 0x86dd);
}

static void test_builder_limits(void)
{
	static const uint8_t junk[] = { 0x02, 0x09, 0x05 };
	struct pkt_spec s;
	uint8_t opts[PKT_MAX_TCPOPT], buf[PKT_BUF_SIZE];
	uint8_t big[PKT_BUF_SIZE];
	uint32_t edges[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	int n = 0, i;

	for (i = 0; i < 4; i++)
		CHECK(pkt_opt_ts(opts, &n, 1, 2) == 0);
	CHECK(n == 40 && pkt_opt_nop(opts, &n) == -1 && n == 40);
	n = 0;
	CHECK(pkt_opt_sack(opts, &n, edges, 4) == 0 && n == 34);
	CHECK(pkt_opt_sack(opts, &n, edges, 1) == -1);
	CHECK(pkt_opt_pad(opts, &n) == 0 && n == 36 && opts[35] == 0);
	n = 0;
	CHECK(pkt_opt_unknown(opts, &n, 254, (const uint8_t *)"ab", 2) == 0 &&
	      n == 4 && opts[1] == 4);
	CHECK(pkt_opt_raw(opts, &n, junk, 3) == 0 && n == 7);
	CHECK(pkt_opt_eol(opts, &n) == 0 && n == 8 && opts[7] == 0);

	/* Malformed option lengths make the finder give up. */
	pkt_spec_init(&s, 4);
	memcpy(s.tcp_opts, junk, 3);
	s.tcp_opts_len = 3;
	CHECK(pkt_build(&s, buf, sizeof(buf)) == 58);
	CHECK(pkt_tcpopt_find(buf + 34, 24, PKT_TCPOPT_MSS, NULL, NULL) == -1);

	memset(big, 0, sizeof(big));
	s.payload = big;
	s.payload_len = PKT_BUF_SIZE;
	CHECK(pkt_build(&s, buf, sizeof(buf)) == -1);
	s.payload_len = 0;
	s.nvlan = PKT_MAX_VLAN + 1;
	CHECK(pkt_build(&s, buf, sizeof(buf)) == -1);
	s.nvlan = 0;
	CHECK(pkt_build(&s, buf, 40) == -1);
	/* An IHL of 15 over a 44-byte IP packet: no checksum past the end. */
	s.ihl = 15;
	CHECK(pkt_build(&s, buf, 58) == 58 && buf[14] == 0x4f &&
	      pkt_be16(buf + 24) == 0);
}

static void test_dumps(void)
{
	uint8_t a[20], b[20];
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;
	int i;

	for (i = 0; i < 20; i++)
		a[i] = b[i] = (uint8_t)i;
	b[17] = 0xff;
	f = open_memstream(&out, &outlen);
	if (!f) {
		CHECK(0);
		return;
	}
	pkt_diff(f, a, 20, b, 19);
	pkt_hexdump(f, "a", a, 20);
	fclose(f);
	CHECK(strstr(out, "want 20 bytes, got 19 bytes, 2 differ") != NULL);
	CHECK(strstr(out, "  0010 got  10 ff 12\n") != NULL);
	CHECK(strstr(out, "  0010  10 11 12 13\n") != NULL);
	free(out);
}

static void test_cookie(void)
{
	static const uint8_t c4[4] = { 192, 0, 2, 1 }, s4[4] = { 198, 51, 100, 1 };
	uint8_t key[16], msg[21];
	uint32_t cookie, counter = 0x0abcdef5, mac, tsval;
	uint16_t sport_be, dport_be;
	uint64_t tai, ns;

	/* ports as stored in a packet: 40000 = 9c 40, 80 = 00 50 */
	memcpy(&sport_be, "\x9c\x40", 2);
	memcpy(&dport_be, "\x00\x50", 2);
	ref_siphash_key(key, 0x0123456789abcdefULL, 0xfedcba9876543210ULL);

	/* Without timestamps: the message of synguard.h, byte by byte. */
	memcpy(msg, c4, 4);
	memcpy(msg + 4, s4, 4);
	memcpy(msg + 8, "\x9c\x40\x00\x50", 4);
	memcpy(msg + 12, "\x78\x56\x34\x12", 4); /* ISN 0x12345678 */
	/* counter 0abcdef5: low 25 bits << 7 | key 1, parity 1, data 0x17 */
	memcpy(msg + 16, "\xf7\x7a\x6f\x5e", 4);
	msg[20] = 7; /* the window scale we offered */
	mac = (uint32_t)(ref_siphash24(key, msg, 21) >> 39);

	cookie = ref_cookie(4, c4, s4, sport_be, dport_be, 0x12345678, counter,
			    1, key, 0x17, 7);
	CHECK(cookie >> SG_COOKIE_MAC_SHIFT == mac);
	CHECK((cookie >> SG_COOKIE_KEY_SHIFT & 1) == 1);
	CHECK((cookie >> SG_COOKIE_PAR_SHIFT & 1) == 1);
	CHECK((cookie & 0x1f) == 0x17);
	CHECK(ref_cookie_mac(4, c4, s4, sport_be, dport_be, 0x12345678,
			     counter, key, 0x77, 7) == mac);
	/* Our window scale is in the MAC. */
	CHECK(ref_cookie_mac(4, c4, s4, sport_be, dport_be, 0x12345678,
			     counter, key, 0x77, 6) != mac);
	/* Counter bits above 25 stay out of the MAC. */
	CHECK(ref_cookie(4, c4, s4, sport_be, dport_be, 0x12345678,
			 counter & 0x1ffffff, 1, key, 0x17, 7) == cookie);
	/* The key slot and the parity are in the MAC too. */
	CHECK((ref_cookie(4, c4, s4, sport_be, dport_be, 0x12345678, counter,
			  0, key, 0x17, 7) ^
	       cookie) >> SG_COOKIE_MAC_SHIFT);
	CHECK((ref_cookie(4, c4, s4, sport_be, dport_be, 0x12345678,
			  counter + 1, 1, key, 0x17, 7) &
	       SG_COOKIE_DATA_MASK) == 0x57);
	CHECK(ref_cookie(4, c4, s4, sport_be, dport_be, 0x12345679, counter, 1,
			 key, 0x17, 7) != cookie);

	/* With timestamps: our TSval, and the 32-bit MAC over it. */
	ns = (0x123456ULL << SG_TS_UNIT_SHIFT) + 12345;
	tsval = ref_tsval(ns, 1, 0xd7);
	CHECK(tsval == 0x2468add7);
	CHECK(ref_tsval(ns | 1ULL << 52, 0, 0x0f) == 0x2468ac0f);
	memcpy(msg + 16, "\xd7\xad\x68\x24", 4);
	msg[20] = 0x80 | 7; /* the TS flag, and the scale we offered */
	CHECK(ref_cookie_ts(4, c4, s4, sport_be, dport_be, 0x12345678, tsval,
			    key, 7) ==
	      (uint32_t)(ref_siphash24(key, msg, 21) >> 32));
	CHECK(ref_cookie_ts(4, c4, s4, sport_be, dport_be, 0x12345678,
			    tsval ^ 1u << 9, key, 7) !=
	      ref_cookie_ts(4, c4, s4, sport_be, dport_be, 0x12345678, tsval,
			    key, 7));

	/* The data bits: MSS index, SACK, ws code (0 none; 0, 7, 8). */
	CHECK(ref_cookie_data(4, 1, 1460, 0, 1, 7) == (3 | 2 << 3));
	CHECK(ref_cookie_data(4, 1, 1459, 1, 1, 6) == (2 | 4 | 1 << 3));
	CHECK(ref_cookie_data(4, 1, 100, 0, 1, 20) == (0 | 3 << 3));
	CHECK(ref_cookie_data(4, 0, 9000, 1, 0, 3) == (0 | 4));
	CHECK(ref_cookie_data(6, 1, 9000, 0, 1, 0) == (3 | 1 << 3));
	CHECK(ref_cookie_data(6, 1, 1420, 0, 1, 8) == (1 | 3 << 3));
	CHECK(ref_cookie_data(6, 1, 1219, 0, 0, 0) == 0);
	CHECK(ref_cookie_ours(0x07, 7) == SG_COOKIE_WS_NONE &&
	      ref_cookie_ours(0x08, 9) == 9);
	CHECK(ref_ws_of_code(1) == 0 && ref_ws_of_code(2) == 7 &&
	      ref_ws_of_code(3) == 8);
	/* The TSval's options: ws (15 none), SACK, ECN, MSS index. */
	CHECK(ref_ts_opts(4, 1, 1460, 1, 0, 1, 7) == (7 | 0x10 | 3 << 6));
	CHECK(ref_ts_opts(4, 1, 1300, 0, 1, 1, 20) == (14 | 0x20 | 1 << 6));
	CHECK(ref_ts_opts(6, 0, 0, 0, 0, 0, 0) == 15);
	CHECK(ref_ts_ours(15, 7) == SG_COOKIE_WS_NONE && ref_ts_ours(0, 7) == 7);
	CHECK(ref_cookie_mss(4, 3) == 1460 && ref_cookie_mss(6, 0) == 1220 &&
	      ref_cookie_mss(6, 4) == 0);

	tai = ref_tai_ns();
	CHECK(tai > 1600000000ULL * 1000000000ULL);
	CHECK(ref_counter(tai) == (uint32_t)(tai >> SG_PERIOD_SHIFT));
	CHECK(ref_counter(3ULL << SG_PERIOD_SHIFT | 12345) == 3);
}

int main(void)
{
	test_siphash();
	test_csum_vectors();
	test_tcp4_syn();
	test_tcp4_vlan_opts_frag();
	test_tcp6_ext();
	test_udp_icmp();
	test_non_ip();
	test_builder_limits();
	test_dumps();
	test_cookie();

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
