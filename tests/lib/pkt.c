// SPDX-License-Identifier: GPL-2.0
/*
 * Test frame builder and inspection helpers: see pkt.h.
 */
#include <string.h>

#include "pkt.h"
#include "ref.h"

void pkt_spec_init(struct pkt_spec *s, int family)
{
	static const uint8_t v6_client[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t v6_server[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	static const uint8_t v4_client[4] = { 192, 0, 2, 1 };
	static const uint8_t v4_server[4] = { 198, 51, 100, 1 };
	static const uint8_t mac_client[6] = { 2, 0, 0, 0, 0, 1 };
	static const uint8_t mac_server[6] = { 2, 0, 0, 0, 0, 2 };

	memset(s, 0, sizeof(*s));
	memcpy(s->eth_dst, mac_server, 6);
	memcpy(s->eth_src, mac_client, 6);
	s->family = family;
	if (family == 6) {
		memcpy(s->saddr, v6_client, 16);
		memcpy(s->daddr, v6_server, 16);
	} else {
		memcpy(s->saddr, v4_client, 4);
		memcpy(s->daddr, v4_server, 4);
	}
	if (family == 0)
		s->ethertype = PKT_ETH_P_ARP;
	s->ttl = 64;
	s->ip_len = -1;
	/* Linux sets DF on TCP once PMTU discovery is on, the usual case. */
	s->frag_off = PKT_IP_DF;
	s->ihl = -1;
	s->l4proto = 6;
	s->sport = 40000;
	s->dport = 80;
	s->seq = 0x12345678;
	s->tcp_flags = PKT_TCP_SYN;
	s->window = 64240;
	s->doff = -1;
}

void pkt_spec_linux_syn(struct pkt_spec *s, int family, uint32_t seq)
{
	pkt_spec_init(s, family);
	s->seq = seq;
	s->tcp_opts_len = 0;
	pkt_opt_mss(s->tcp_opts, &s->tcp_opts_len, 1460);
	pkt_opt_sackperm(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, 0x11223344, 0);
	pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ws(s->tcp_opts, &s->tcp_opts_len, 7);
	pkt_opt_pad(s->tcp_opts, &s->tcp_opts_len);
}

/* A bump allocator over the caller's buffer: one overflow check. */
struct out {
	uint8_t *buf;
	size_t cap, len;
	int err;
};

static uint8_t *reserve(struct out *o, size_t n)
{
	uint8_t *p;

	if (o->err || n > o->cap - o->len) {
		o->err = 1;
		return NULL;
	}
	p = o->buf + o->len;
	memset(p, 0, n);
	o->len += n;
	return p;
}

static size_t pad4(int n)
{
	return ((size_t)n + 3) & ~(size_t)3;
}

static void build_arp(struct out *o, const struct pkt_spec *s)
{
	uint8_t *p = reserve(o, 28);

	if (!p)
		return;
	pkt_put_be16(p, 1); /* Ethernet */
	pkt_put_be16(p + 2, PKT_ETH_P_IP);
	p[4] = 6;
	p[5] = 4;
	pkt_put_be16(p + 6, 1); /* request */
	memcpy(p + 8, s->eth_src, 6);
	memcpy(p + 14, s->saddr, 4);
	memcpy(p + 24, s->daddr, 4);
}

static void build_v6_ext(uint8_t *p, const struct pkt_v6_ext *e, uint8_t nh,
			 size_t hlen)
{
	p[0] = nh;
	switch (e->type) {
	case 44:
		pkt_put_be16(p + 2, (uint16_t)((e->frag_offset & 0x1fff) << 3 |
					       (e->frag_more ? 1 : 0)));
		pkt_put_be32(p + 4, e->frag_id);
		return;
	case 51:
		p[1] = (uint8_t)(hlen / 4 - 2);
		return;
	case 43:
		p[1] = (uint8_t)(hlen / 8 - 1);
		p[2] = e->rt_type;
		p[3] = e->seg_left;
		return;
	case 0:
	case 60:
		p[1] = (uint8_t)(hlen / 8 - 1);
		/* One PadN over the option area keeps the header parseable. */
		p[2] = 1;
		p[3] = (uint8_t)(hlen - 4);
		return;
	default:
		p[1] = (uint8_t)(hlen / 8 - 1);
		return;
	}
}

static int spec_ok(const struct pkt_spec *s)
{
	int i;

	if (s->nvlan < 0 || s->nvlan > PKT_MAX_VLAN)
		return 0;
	if (s->ip_opts_len < 0 || s->ip_opts_len > PKT_MAX_IPOPT)
		return 0;
	if (s->tcp_opts_len < 0 || s->tcp_opts_len > PKT_MAX_TCPOPT)
		return 0;
	if (s->nv6_ext < 0 || s->nv6_ext > PKT_MAX_V6_EXT)
		return 0;
	if (s->payload_len < 0 || (s->payload_len && !s->payload))
		return 0;
	if (s->eth_pad < 0)
		return 0;
	for (i = 0; i < s->nv6_ext; i++) {
		/* PadN's length byte caps hop-by-hop/dest options at 256. */
		if (s->v6_ext[i].len8 > 30)
			return 0;
	}
	return s->family == 0 || s->family == 4 || s->family == 6;
}

int pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap)
{
	struct out o = { .buf = buf, .cap = cap };
	uint8_t *eth, *l3, *l4, *p;
	size_t l3_off, l4_off, l4_len, hlen;
	uint16_t ethertype;
	int i;

	if (!spec_ok(s))
		return -1;

	eth = reserve(&o, 12);
	if (!eth)
		return -1;
	memcpy(eth, s->eth_dst, 6);
	memcpy(eth + 6, s->eth_src, 6);
	for (i = 0; i < s->nvlan; i++) {
		p = reserve(&o, 4);
		if (!p)
			return -1;
		pkt_put_be16(p, s->vlan_tpid[i] ? s->vlan_tpid[i] :
						  PKT_ETH_P_8021Q);
		pkt_put_be16(p + 2, s->vlan_tci[i]);
	}
	ethertype = s->ethertype;
	if (!ethertype)
		ethertype = s->family == 6 ? PKT_ETH_P_IPV6 : PKT_ETH_P_IP;
	p = reserve(&o, 2);
	if (!p)
		return -1;
	pkt_put_be16(p, ethertype);

	if (s->family == 0) {
		if (!s->payload && ethertype == PKT_ETH_P_ARP) {
			build_arp(&o, s);
		} else if (s->payload_len) {
			p = reserve(&o, (size_t)s->payload_len);
			if (p)
				memcpy(p, s->payload, (size_t)s->payload_len);
		}
		reserve(&o, (size_t)s->eth_pad);
		return o.err ? -1 : (int)o.len;
	}

	/* L3 headers first with length fields left for later. */
	l3_off = o.len;
	if (s->family == 4) {
		hlen = 20 + pad4(s->ip_opts_len);
		l3 = reserve(&o, hlen);
		if (!l3)
			return -1;
		l3[0] = (uint8_t)(0x40 | (s->ihl >= 0 ? s->ihl & 0xf :
							(int)hlen / 4));
		l3[1] = s->tos;
		pkt_put_be16(l3 + 4, s->ip_id);
		pkt_put_be16(l3 + 6, s->frag_off);
		l3[8] = s->ttl;
		l3[9] = s->l4proto;
		memcpy(l3 + 12, s->saddr, 4);
		memcpy(l3 + 16, s->daddr, 4);
		memcpy(l3 + 20, s->ip_opts, (size_t)s->ip_opts_len);
	} else {
		l3 = reserve(&o, 40);
		if (!l3)
			return -1;
		pkt_put_be32(l3, 6u << 28 | (uint32_t)s->tos << 20 |
					 (s->flow_label & 0xfffff));
		l3[6] = s->nv6_ext ? s->v6_ext[0].type : s->l4proto;
		l3[7] = s->ttl;
		memcpy(l3 + 8, s->saddr, 16);
		memcpy(l3 + 24, s->daddr, 16);
		for (i = 0; i < s->nv6_ext; i++) {
			const struct pkt_v6_ext *e = &s->v6_ext[i];
			uint8_t nh = i + 1 < s->nv6_ext ? s->v6_ext[i + 1].type :
							  s->l4proto;

			hlen = e->type == 44 ? 8 : 8 * (1 + (size_t)e->len8);
			p = reserve(&o, hlen);
			if (!p)
				return -1;
			build_v6_ext(p, e, nh, hlen);
		}
	}

	l4_off = o.len;
	if (s->l4proto == 6) {
		hlen = 20 + pad4(s->tcp_opts_len);
		l4 = reserve(&o, hlen);
		if (!l4)
			return -1;
		pkt_put_be16(l4, s->sport);
		pkt_put_be16(l4 + 2, s->dport);
		pkt_put_be32(l4 + 4, s->seq);
		pkt_put_be32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((s->doff >= 0 ? s->doff & 0xf : (int)hlen / 4)
				   << 4 | (s->tcp_flags >> 8 & 1));
		l4[13] = (uint8_t)s->tcp_flags;
		pkt_put_be16(l4 + 14, s->window);
		pkt_put_be16(l4 + 18, s->urg_ptr);
		memcpy(l4 + 20, s->tcp_opts, (size_t)s->tcp_opts_len);
	} else if (s->l4proto == 17) {
		l4 = reserve(&o, 8);
		if (!l4)
			return -1;
		pkt_put_be16(l4, s->sport);
		pkt_put_be16(l4 + 2, s->dport);
	}
	if (s->payload_len) {
		p = reserve(&o, (size_t)s->payload_len);
		if (!p)
			return -1;
		memcpy(p, s->payload, (size_t)s->payload_len);
	}
	if (o.err)
		return -1;

	/* Raw L4 payloads (ICMP...) never set l4 above. */
	l4 = buf + l4_off;
	l4_len = o.len - l4_off;
	if (s->l4proto == 17)
		pkt_put_be16(l4 + 4, (uint16_t)l4_len);
	if (s->family == 4)
		pkt_put_be16(l3 + 2, (uint16_t)(s->ip_len >= 0 ? s->ip_len :
					       (int)(o.len - l3_off)));
	else
		pkt_put_be16(l3 + 4, (uint16_t)(s->ip_len >= 0 ? s->ip_len :
					       (int)(o.len - l3_off - 40)));

	/* The L4 sum reads only the addresses, so the order does not matter. */
	/* A forced IHL may claim more header than the frame holds. */
	if (s->family == 4 && !(s->flags & PKT_F_NO_IP_CSUM) &&
	    l3_off + (l3[0] & 0xfu) * 4 <= o.len)
		ref_fill_ipv4_csum(l3);
	if (!(s->flags & PKT_F_NO_L4_CSUM))
		ref_fill_l4_csum(s->family, l3, s->l4proto, l4, l4_len);

	reserve(&o, (size_t)s->eth_pad);
	return o.err ? -1 : (int)o.len;
}

int pkt_offsets(const uint8_t *buf, size_t len, struct pkt_offs *o)
{
	size_t off = 12, l3, pos, end;
	uint16_t et;
	uint8_t nh;

	memset(o, 0, sizeof(*o));
	o->l3_off = -1;
	o->l4_off = -1;
	if (len < 14)
		return -1;
	et = pkt_be16(buf + off);
	while (et == PKT_ETH_P_8021Q || et == PKT_ETH_P_8021AD) {
		if (off + 4 + 2 > len)
			return -1;
		off += 4;
		o->nvlan++;
		et = pkt_be16(buf + off);
	}
	off += 2;
	o->ethertype = et;
	l3 = off;

	if (et == PKT_ETH_P_IP) {
		size_t ihl, tot;
		uint16_t fo;

		o->family = 4;
		if (l3 + 20 > len)
			return -1;
		o->l3_off = (int)l3;
		ihl = (buf[l3] & 0xf) * 4u;
		if (ihl < 20 || l3 + ihl > len)
			return -1;
		fo = pkt_be16(buf + l3 + 6);
		o->is_frag = (fo & (PKT_IP_MF | 0x1fff)) != 0;
		o->frag_offset = (fo & 0x1fff) * 8;
		o->l4proto = buf[l3 + 9];
		tot = pkt_be16(buf + l3 + 2);
		end = l3 + tot < len ? l3 + tot : len;
		pos = l3 + ihl;
	} else if (et == PKT_ETH_P_IPV6) {
		int n;

		o->family = 6;
		if (l3 + 40 > len)
			return -1;
		o->l3_off = (int)l3;
		end = l3 + 40 + pkt_be16(buf + l3 + 4);
		if (end > len)
			end = len;
		pos = l3 + 40;
		nh = buf[l3 + 6];
		/* Bounded: a frame of 8-byte headers ends long before this. */
		for (n = 0; n < 64; n++) {
			size_t hl;

			if (nh != 0 && nh != 43 && nh != 60 && nh != 44 &&
			    nh != 51)
				break;
			if (pos + 8 > len)
				return -1;
			if (nh == 44) {
				o->is_frag = 1;
				o->frag_offset = pkt_be16(buf + pos + 2) & 0xfff8;
				hl = 8;
			} else if (nh == 51) {
				hl = (buf[pos + 1] + 2u) * 4;
			} else {
				hl = (buf[pos + 1] + 1u) * 8;
			}
			nh = buf[pos];
			pos += hl;
			o->nv6_ext++;
		}
		o->l4proto = nh;
	} else {
		return -1;
	}
	if (pos > len)
		return -1;
	o->l4_off = (int)pos;
	o->l4_len = end > pos ? (int)(end - pos) : 0;
	return 0;
}

int pkt_fix_csums(uint8_t *buf, size_t len)
{
	struct pkt_offs o;

	if (pkt_offsets(buf, len, &o))
		return -1;
	return ref_fill_csums(o.family, buf + o.l3_off, o.l4proto,
			      buf + o.l4_off, (size_t)o.l4_len);
}

/* ---- TCP options ---- */

static int opt_append(uint8_t *opts, int *len, const uint8_t *bytes, int n)
{
	if (*len < 0 || n < 0 || *len + n > PKT_MAX_TCPOPT)
		return -1;
	memcpy(opts + *len, bytes, (size_t)n);
	*len += n;
	return 0;
}

int pkt_opt_mss(uint8_t *opts, int *len, uint16_t mss)
{
	uint8_t b[4] = { PKT_TCPOPT_MSS, 4 };

	pkt_put_be16(b + 2, mss);
	return opt_append(opts, len, b, 4);
}

int pkt_opt_ws(uint8_t *opts, int *len, uint8_t shift)
{
	uint8_t b[3] = { PKT_TCPOPT_WS, 3, shift };

	return opt_append(opts, len, b, 3);
}

int pkt_opt_sackperm(uint8_t *opts, int *len)
{
	uint8_t b[2] = { PKT_TCPOPT_SACKPERM, 2 };

	return opt_append(opts, len, b, 2);
}

int pkt_opt_ts(uint8_t *opts, int *len, uint32_t tsval, uint32_t tsecr)
{
	uint8_t b[10] = { PKT_TCPOPT_TS, 10 };

	pkt_put_be32(b + 2, tsval);
	pkt_put_be32(b + 6, tsecr);
	return opt_append(opts, len, b, 10);
}

int pkt_opt_sack(uint8_t *opts, int *len, const uint32_t *edges, int nblocks)
{
	uint8_t b[PKT_MAX_TCPOPT];
	int i;

	if (nblocks < 0 || 2 + 8 * nblocks > PKT_MAX_TCPOPT)
		return -1;
	b[0] = PKT_TCPOPT_SACK;
	b[1] = (uint8_t)(2 + 8 * nblocks);
	for (i = 0; i < 2 * nblocks; i++)
		pkt_put_be32(b + 2 + 4 * i, edges[i]);
	return opt_append(opts, len, b, b[1]);
}

int pkt_opt_nop(uint8_t *opts, int *len)
{
	uint8_t b = PKT_TCPOPT_NOP;

	return opt_append(opts, len, &b, 1);
}

int pkt_opt_eol(uint8_t *opts, int *len)
{
	uint8_t b = PKT_TCPOPT_EOL;

	return opt_append(opts, len, &b, 1);
}

int pkt_opt_unknown(uint8_t *opts, int *len, uint8_t kind, const uint8_t *data,
		    int dlen)
{
	uint8_t b[PKT_MAX_TCPOPT];

	if (dlen < 0 || 2 + dlen > PKT_MAX_TCPOPT)
		return -1;
	b[0] = kind;
	b[1] = (uint8_t)(2 + dlen);
	if (dlen)
		memcpy(b + 2, data, (size_t)dlen);
	return opt_append(opts, len, b, 2 + dlen);
}

int pkt_opt_raw(uint8_t *opts, int *len, const uint8_t *bytes, int n)
{
	return opt_append(opts, len, bytes, n);
}

int pkt_opt_pad(uint8_t *opts, int *len)
{
	static const uint8_t zero[3];

	if (*len < 0)
		return -1;
	return opt_append(opts, len, zero, (int)pad4(*len) - *len);
}

int pkt_tcpopt_find(const uint8_t *tcphdr, size_t tcp_len, uint8_t kind,
		    const uint8_t **data, int *dlen)
{
	size_t end, i;

	if (tcp_len < 20)
		return -1;
	end = (tcphdr[12] >> 4) * 4u;
	if (end < 20)
		return -1;
	if (end > tcp_len)
		end = tcp_len;
	for (i = 20; i < end;) {
		uint8_t k = tcphdr[i];
		size_t l;

		if (k == PKT_TCPOPT_EOL && kind != PKT_TCPOPT_EOL)
			return -1;
		if (k == PKT_TCPOPT_EOL || k == PKT_TCPOPT_NOP) {
			l = 1;
		} else {
			if (i + 2 > end)
				return -1;
			l = tcphdr[i + 1];
			if (l < 2 || i + l > end)
				return -1;
		}
		if (k == kind) {
			if (data)
				*data = l > 2 ? tcphdr + i + 2 : NULL;
			if (dlen)
				*dlen = l > 2 ? (int)l - 2 : 0;
			return (int)i;
		}
		i += l;
	}
	return -1;
}

/* ---- Dumps ---- */

void pkt_hexdump(FILE *f, const char *label, const uint8_t *buf, size_t len)
{
	size_t i;

	fprintf(f, "%s (%zu bytes):\n", label ? label : "frame", len);
	for (i = 0; i < len; i++) {
		if (i % 16 == 0)
			fprintf(f, "  %04zx ", i);
		fprintf(f, "%s%02x", i % 16 == 8 ? "  " : " ", buf[i]);
		if (i % 16 == 15 || i + 1 == len)
			fputc('\n', f);
	}
}

static void diff_row(FILE *f, const char *tag, size_t base, const uint8_t *b,
		     size_t len)
{
	size_t i;

	fprintf(f, base < len ? "  %04zx %-4s" : "  %04zx %s", base, tag);
	for (i = base; i < base + 16 && i < len; i++)
		fprintf(f, "%s%02x", i % 16 == 8 ? "  " : " ", b[i]);
	fputc('\n', f);
}

void pkt_diff(FILE *f, const uint8_t *want, size_t wlen, const uint8_t *got,
	      size_t glen)
{
	size_t max = wlen > glen ? wlen : glen, base, i, ndiff = 0;

	for (i = 0; i < max; i++) {
		if (i >= wlen || i >= glen || want[i] != got[i])
			ndiff++;
	}
	fprintf(f, "want %zu bytes, got %zu bytes, %zu differ\n", wlen, glen,
		ndiff);
	for (base = 0; base < max; base += 16) {
		int row_differs = 0;
		size_t last = base;

		/* The marker line stops at the last difference: no trailing blanks. */
		for (i = base; i < base + 16 && i < max; i++) {
			if (i >= wlen || i >= glen || want[i] != got[i]) {
				row_differs = 1;
				last = i;
			}
		}
		diff_row(f, "want", base, want, wlen);
		diff_row(f, "got", base, got, glen);
		if (!row_differs)
			continue;
		fprintf(f, "           ");
		for (i = base; i <= last; i++) {
			int d = i >= wlen || i >= glen || want[i] != got[i];

			fprintf(f, "%s%s", i % 16 == 8 ? "  " : " ",
				d ? "^^" : "  ");
		}
		fputc('\n', f);
	}
}
