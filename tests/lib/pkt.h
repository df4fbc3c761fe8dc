/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test frame builder: Ethernet, VLAN tags, IPv4 (with options, fragments),
 * IPv6 (with extension headers), TCP (any options, flags, data offset), UDP,
 * ARP and other ethertypes. Meant for crafting both well-formed and broken
 * frames, so every length field can be forced to a wrong value.
 *
 * Usage:
 *	struct pkt_spec s;
 *	uint8_t buf[PKT_BUF_SIZE];
 *
 *	pkt_spec_init(&s, 4);		// TCP SYN 192.0.2.1:40000 -> 198.51.100.1:80
 *	pkt_opt_mss(s.tcp_opts, &s.tcp_opts_len, 1460);
 *	pkt_opt_sackperm(s.tcp_opts, &s.tcp_opts_len);
 *	int len = pkt_build(&s, buf, sizeof(buf));
 */
#ifndef SG_TESTS_PKT_H
#define SG_TESTS_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PKT_BUF_SIZE 512
/* More than synguard parses, so tests can exceed its limits. */
#define PKT_MAX_VLAN 4
#define PKT_MAX_V6_EXT 10
#define PKT_MAX_IPOPT 40
#define PKT_MAX_TCPOPT 40

#define PKT_ETH_P_IP 0x0800
#define PKT_ETH_P_ARP 0x0806
#define PKT_ETH_P_8021Q 0x8100
#define PKT_ETH_P_8021AD 0x88a8
#define PKT_ETH_P_IPV6 0x86dd

/* struct pkt_spec.tcp_flags; PKT_TCP_AE is the bit below CWR (ex NS). */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20
#define PKT_TCP_ECE 0x40
#define PKT_TCP_CWR 0x80
#define PKT_TCP_AE 0x100

/* IPv4 frag_off bits (host order). */
#define PKT_IP_DF 0x4000
#define PKT_IP_MF 0x2000

/* TCP option kinds. */
#define PKT_TCPOPT_EOL 0
#define PKT_TCPOPT_NOP 1
#define PKT_TCPOPT_MSS 2
#define PKT_TCPOPT_WS 3
#define PKT_TCPOPT_SACKPERM 4
#define PKT_TCPOPT_SACK 5
#define PKT_TCPOPT_TS 8

/* struct pkt_spec.flags */
#define PKT_F_NO_IP_CSUM (1u << 0) /* leave the IPv4 header checksum 0 */
#define PKT_F_NO_L4_CSUM (1u << 1) /* leave the TCP/UDP/ICMP checksum 0 */

/*
 * One IPv6 extension header. Hop-by-hop (0), routing (43) and destination
 * options (60) are 8 * (1 + len8) bytes, options filled with one PadN so the
 * header is valid. Fragment (44) is always 8 bytes. AH (51) is 8 * (1 + len8)
 * bytes with its own length encoding. Any other type is emitted like
 * hop-by-hop, with next header and length but zero contents.
 */
struct pkt_v6_ext {
	uint8_t type;
	uint8_t len8; /* extra 8-byte units, at most 30; not for fragment */
	uint8_t rt_type; /* routing: routing type */
	uint8_t seg_left; /* routing: segments left */
	uint16_t frag_offset; /* fragment: offset in 8-byte units, 13 bits */
	uint8_t frag_more; /* fragment: M flag */
	uint32_t frag_id; /* fragment: identification */
};

/*
 * What to build. Start from pkt_spec_init(): the fields marked "-1 =
 * computed" would otherwise be taken literally as 0. A forced length field
 * (ihl, ip_len, doff) changes only the field: the layout is always what the
 * other fields describe.
 */
struct pkt_spec {
	uint8_t eth_dst[6], eth_src[6];
	int nvlan; /* 0..PKT_MAX_VLAN tags */
	uint16_t vlan_tpid[PKT_MAX_VLAN]; /* outermost first; 0 = 0x8100 */
	uint16_t vlan_tci[PKT_MAX_VLAN];
	uint16_t ethertype; /* 0 = from family; else emitted as is */

	int family; /* 4, 6, or 0: no IP header, payload right after L2 */
	uint8_t saddr[16], daddr[16]; /* network order; IPv4 uses 4 bytes */
	uint8_t ttl; /* TTL / hop limit */
	uint8_t tos; /* TOS / traffic class, ECN bits included */
	int ip_len; /* -1 = computed: IPv4 total length / IPv6 payload length */

	/* IPv4 only */
	uint16_t ip_id;
	uint16_t frag_off; /* host order, whole field: DF, MF, offset/8 */
	uint8_t ip_opts[PKT_MAX_IPOPT];
	int ip_opts_len; /* zero-padded (EOL) to a multiple of 4 */
	int ihl; /* -1 = computed */

	/* IPv6 only */
	uint32_t flow_label; /* 20 bits */
	int nv6_ext;
	struct pkt_v6_ext v6_ext[PKT_MAX_V6_EXT]; /* in order after the header */

	uint8_t l4proto; /* 6 TCP, 17 UDP; any other: payload after L3 */
	uint16_t sport, dport; /* host order */

	/* TCP only */
	uint32_t seq, ack;
	uint16_t tcp_flags; /* PKT_TCP_* */
	uint16_t window, urg_ptr;
	uint8_t tcp_opts[PKT_MAX_TCPOPT];
	int tcp_opts_len; /* zero-padded (EOL) to a multiple of 4 */
	int doff; /* -1 = computed */

	/*
	 * L4 payload (for l4proto other than TCP/UDP, the whole L4 part, e.g.
	 * an ICMP header; for family 0, everything after the ethertype, and an
	 * ARP request from eth_src/saddr/daddr when NULL with ethertype ARP).
	 */
	const uint8_t *payload;
	int payload_len;
	int eth_pad; /* zero bytes after the IP packet, outside its length */
	unsigned int flags; /* PKT_F_* */
};

/*
 * Defaults: a checksummed TCP SYN with no options, client to server,
 * 02:00:00:00:00:01 -> 02:00:00:00:00:02, 192.0.2.1 -> 198.51.100.1 or
 * 2001:db8::1 -> 2001:db8::2, port 40000 -> 80, seq 0x12345678, window
 * 64240, TTL 64, IPv4 DF. Family 0 gives an ARP request.
 */
void pkt_spec_init(struct pkt_spec *s, int family);
/* pkt_spec_init's SYN with seq, offering every option as Linux does (MSS
 * 1460, SACK, timestamps, window scale 7). */
void pkt_spec_linux_syn(struct pkt_spec *s, int family, uint32_t seq);

/* Builds the frame; returns its length, or -1 if s is invalid or cap small. */
int pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap);

/* Where things are in a frame, as read from the frame itself. */
struct pkt_offs {
	int nvlan; /* VLAN tags skipped (0x8100 and 0x88a8) */
	uint16_t ethertype; /* the one after the tags */
	int family; /* 4 or 6 from the ethertype, 0 if neither */
	int l3_off; /* -1 if not IP or truncated */
	int l4_off; /* -1 if not reached (truncated, IHL < 5, ...) */
	uint8_t l4proto; /* after any IPv6 extension headers */
	int l4_len; /* from the IP length fields, clipped to the frame */
	int is_frag; /* IPv4 MF/offset, or an IPv6 fragment header */
	int frag_offset; /* bytes; non-zero: l4_off is not an L4 header */
	int nv6_ext; /* IPv6 extension headers skipped */
};

/* Returns 0 if an L4 offset was found, -1 otherwise (o filled either way). */
int pkt_offsets(const uint8_t *buf, size_t len, struct pkt_offs *o);

/*
 * Recomputes the IPv4 header and TCP/UDP/ICMP checksums of a frame after a
 * test edited it. Fragments are summed as if whole, as pkt_build() does.
 */
int pkt_fix_csums(uint8_t *buf, size_t len);

/*
 * TCP option builders: append to opts (PKT_MAX_TCPOPT bytes) at *len and
 * advance *len. Return 0, or -1 without writing if the option does not fit.
 */
int pkt_opt_mss(uint8_t *opts, int *len, uint16_t mss);
int pkt_opt_ws(uint8_t *opts, int *len, uint8_t shift);
int pkt_opt_sackperm(uint8_t *opts, int *len);
int pkt_opt_ts(uint8_t *opts, int *len, uint32_t tsval, uint32_t tsecr);
/* nblocks (left, right) edge pairs, host order. */
int pkt_opt_sack(uint8_t *opts, int *len, const uint32_t *edges, int nblocks);
int pkt_opt_nop(uint8_t *opts, int *len);
int pkt_opt_eol(uint8_t *opts, int *len);
/* kind, 2 + dlen, data: a well-formed option of any kind. */
int pkt_opt_unknown(uint8_t *opts, int *len, uint8_t kind, const uint8_t *data,
		    int dlen);
/* Bytes as given, for malformed options (bad length bytes, truncation). */
int pkt_opt_raw(uint8_t *opts, int *len, const uint8_t *bytes, int n);
/* EOL bytes up to a multiple of 4, as the wire will carry them. */
int pkt_opt_pad(uint8_t *opts, int *len);

/*
 * Finds the first option of a kind in a TCP header (options area per its
 * data offset, bounded by tcp_len). Returns its offset from the start of the
 * TCP header and sets *data and *dlen to its contents (after kind and length),
 * or -1 if absent or the options are malformed before it.
 */
int pkt_tcpopt_find(const uint8_t *tcphdr, size_t tcp_len, uint8_t kind,
		    const uint8_t **data, int *dlen);

void pkt_hexdump(FILE *f, const char *label, const uint8_t *buf, size_t len);
/* Both frames in hex, 16 bytes a line; differing bytes marked with ^^. */
void pkt_diff(FILE *f, const uint8_t *want, size_t wlen, const uint8_t *got,
	      size_t glen);

static inline uint16_t pkt_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t pkt_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void pkt_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pkt_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* SG_TESTS_PKT_H */
