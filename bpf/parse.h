/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet parsing shared by the XDP and TC programs: a cursor over
 * (data, data_end), one small always-inline helper per header, every loop
 * bounded so the verifier can follow it.
 */
#ifndef SG_PARSE_H
#define SG_PARSE_H

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_ALEN 6

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IP_DF 0x4000
#define IP6_MF 0x0001
#define IP6_OFFSET 0xfff8

#define NEXTHDR_HOP 0
#define NEXTHDR_TCP 6
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60

/* uapi pkt_cls.h; not in vmlinux.h */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0

#define SG_MAX_VLAN 2 /* 802.1Q and 802.1ad (QinQ) */
/* HBH, DST, RT, FRAG, DST is the longest chain RFC 8200 recommends; a few
 * more for senders that repeat headers. Deeper chains are "unparsed". */
#define SG_MAX_EXTHDR 8

/*
 * One bound per packet offset. The verifier needs a provable bound before
 * an offset is added to a packet pointer; parsing rejects any offset above
 * the bound, so masking with it afterwards never changes a value (a mask
 * alone would wrap a large offset back into the packet).
 */
#define SG_L3_OFF_MASK 0x1f /* Ethernet + two VLAN tags: at most 22 */
#define SG_L4_OFF_MASK 0x1ff /* IP header + extension headers: < 512 */

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WINDOW 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_TIMESTAMP 8
#define TCP_MAX_OPTLEN 40

/* TCP flag bits in byte 13 of the header. */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20
#define TCPF_ECE 0x40
#define TCPF_CWR 0x80

struct sg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* What parsing found: offsets from the start of the frame. */
struct sg_pkt {
	__u32 l3_off; /* IP header */
	__u32 l4_off; /* TCP header */
	__u32 tcp_len; /* doff * 4 */
	__u32 ip_end; /* end of the IP packet per its length field */
	__u8 family; /* 4 or 6 */
	__u8 flags; /* TCP flags byte */
	__u8 nvlan; /* VLAN tags in front of the IP header */
	__u8 first_frag; /* first fragment of a fragmented IP packet */
	/* The port map's byte of the destination port (SG_PORT_*), looked
	 * up once by sg_xdp: what SYNs and ACKs to it get. */
	__u8 port;
};

/* Outcome of parsing: what the caller should do before looking at ports. */
enum sg_parse {
	SG_PARSE_TCP, /* a complete TCP header (options not yet checked) */
	SG_PARSE_OTHER, /* not TCP over IP */
	SG_PARSE_FRAGMENT, /* not the first fragment: no TCP header in it */
	SG_PARSE_FRAG_SHORT, /* first fragment, TCP header cut short */
	SG_PARSE_UNPARSED, /* header chain deeper than we walk */
	SG_PARSE_MALFORMED, /* truncated or invalid IP or TCP header */
};

/*
 * A 16-bit length from the packet, in host order, for pointer arithmetic.
 * Verifiers before 6.13 or so lose the bounds of a byte swap (the result
 * of be16 is "scalar()", unbounded), and refuse adding it to a packet
 * pointer; the mask gives them back the 0..65535 every kernel agrees on.
 * clang knows a 16-bit swap fits and drops a plain mask: barrier_var hides
 * the value from it so the AND reaches the verifier.
 */
static __always_inline __u32 sg_ntohs_bounded(__be16 v)
{
	__u32 h = bpf_ntohs(v);

	barrier_var(h);
	return h & 0xffff;
}

static __always_inline enum sg_parse sg_parse_ipv4(void *data, void *data_end,
						  struct sg_pkt *p)
{
	struct iphdr *ip = data + p->l3_off;
	__u32 ihl, tot_len;

	if ((void *)(ip + 1) > data_end)
		return SG_PARSE_MALFORMED;
	ihl = ip->ihl * 4;
	if (ip->version != 4 || ihl < sizeof(*ip))
		return SG_PARSE_MALFORMED;
	tot_len = sg_ntohs_bounded(ip->tot_len);
	if (tot_len < ihl || data + p->l3_off + tot_len > data_end)
		return SG_PARSE_MALFORMED;
	/*
	 * DF is irrelevant here: only MF and the offset make a fragment. A
	 * later fragment cannot carry TCP flags: the kernel drops fragments
	 * that overlap the first one's header. The first one is parsed.
	 */
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return SG_PARSE_FRAGMENT;
	if (ip->protocol != IPPROTO_TCP)
		return SG_PARSE_OTHER;
	p->first_frag = !!(ip->frag_off & bpf_htons(IP_MF));
	p->family = 4;
	p->l4_off = p->l3_off + ihl;
	p->ip_end = p->l3_off + tot_len;
	return SG_PARSE_TCP;
}

static __always_inline enum sg_parse sg_parse_ipv6(void *data, void *data_end,
						  struct sg_pkt *p)
{
	struct ipv6hdr *ip6 = data + p->l3_off;
	__u32 off = p->l3_off + sizeof(*ip6), plen;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return SG_PARSE_MALFORMED;
	plen = sg_ntohs_bounded(ip6->payload_len);
	if (ip6->version != 6 || (void *)(ip6 + 1) + plen > data_end)
		return SG_PARSE_MALFORMED;
	nexthdr = ip6->nexthdr;
	p->ip_end = off + plen;
	for (i = 0; i < SG_MAX_EXTHDR; i++) {
		struct ipv6_opt_hdr *eh;

		switch (nexthdr) {
		case NEXTHDR_TCP:
			p->family = 6;
			p->l4_off = off;
			return SG_PARSE_TCP;
		case NEXTHDR_FRAGMENT:
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
			break;
		default:
			return SG_PARSE_OTHER;
		}
		/* Rejected, never masked: a mask would wrap into the packet. */
		if (off > SG_L4_OFF_MASK)
			return SG_PARSE_UNPARSED;
		eh = data + off;
		if ((void *)(eh + 1) > data_end)
			return SG_PARSE_MALFORMED;
		if (nexthdr == NEXTHDR_FRAGMENT) {
			struct frag_hdr *fh = (void *)eh;

			if ((void *)(fh + 1) > data_end)
				return SG_PARSE_MALFORMED;
			/*
			 * Offset 0 and M clear is an atomic fragment, which
			 * the kernel treats as unfragmented (RFC 6946): go
			 * on. A later fragment holds no TCP header; a first
			 * one is parsed like an IPv4 first fragment.
			 */
			if (fh->frag_off & bpf_htons(IP6_OFFSET))
				return SG_PARSE_FRAGMENT;
			if (fh->frag_off & bpf_htons(IP6_MF))
				p->first_frag = 1;
			nexthdr = fh->nexthdr;
			off += sizeof(*fh);
			continue;
		}
		/*
		 * Segments left in a routing header: we are a waypoint, not
		 * the destination, so the packet is not ours to answer.
		 */
		if (nexthdr == NEXTHDR_ROUTING) {
			__u8 *rh = (void *)eh;

			if ((void *)(rh + 4) > data_end)
				return SG_PARSE_MALFORMED;
			if (rh[3])
				return SG_PARSE_OTHER;
		}
		nexthdr = eh->nexthdr;
		off += (eh->hdrlen + 1) * 8;
	}
	if (nexthdr == NEXTHDR_TCP) {
		p->family = 6;
		p->l4_off = off;
		return SG_PARSE_TCP;
	}
	if (nexthdr == NEXTHDR_FRAGMENT || nexthdr == NEXTHDR_HOP ||
	    nexthdr == NEXTHDR_ROUTING || nexthdr == NEXTHDR_DEST)
		return SG_PARSE_UNPARSED;
	return SG_PARSE_OTHER;
}

/*
 * Ethernet, up to two VLAN tags, IPv4 or IPv6, and the fixed TCP header.
 * On SG_PARSE_TCP, p->l4_off points at 20 valid bytes of TCP header.
 */
static __always_inline enum sg_parse sg_parse(void *data, void *data_end,
					     struct sg_pkt *p)
{
	struct ethhdr *eth = data;
	enum sg_parse r;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return SG_PARSE_MALFORMED;
	proto = eth->h_proto;
	for (i = 0; i < SG_MAX_VLAN; i++) {
		struct sg_vlan_hdr *vh = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return SG_PARSE_MALFORMED;
		proto = vh->proto;
		off += sizeof(*vh);
		p->nvlan++;
	}
	p->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP))
		r = sg_parse_ipv4(data, data_end, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		r = sg_parse_ipv6(data, data_end, p);
	else if (proto == bpf_htons(ETH_P_8021Q) ||
		 proto == bpf_htons(ETH_P_8021AD))
		return SG_PARSE_UNPARSED;
	else
		return SG_PARSE_OTHER;
	if (r != SG_PARSE_TCP)
		return r;

	/* The verifier needs a constant bound on the offset it adds. */
	if (p->l4_off > SG_L4_OFF_MASK)
		return SG_PARSE_UNPARSED;
	/* The TCP header must lie inside the IP packet, not just the frame. */
	if (data + p->l4_off + sizeof(struct tcphdr) > data_end ||
	    p->l4_off + sizeof(struct tcphdr) > p->ip_end)
		return p->first_frag ? SG_PARSE_FRAG_SHORT : SG_PARSE_MALFORMED;
	return SG_PARSE_TCP;
}

static __always_inline struct tcphdr *sg_tcp(void *data, void *data_end,
					     const struct sg_pkt *p)
{
	struct tcphdr *th = data + (p->l4_off & SG_L4_OFF_MASK);

	if ((void *)(th + 1) > data_end)
		return NULL;
	return th;
}

/* TCP options, as far as synguard cares. */
struct sg_tcpopt {
	__u32 tsval;
	__u32 tsecr;
	__u16 mss;
	__u8 wscale;
	__u8 have_mss : 1, have_ws : 1, sack_ok : 1, have_ts : 1;
};

/* Options are copied into a 64-byte stack buffer: indexes are masked with 63
 * because the verifier cannot bound them otherwise. */
#define SG_OPTBUF 64

/*
 * State of one walk over the options, copied to the stack first.
 * Verifier: the whole state fits in the 64-byte buffer, the walk's own
 * fields in the bytes past the longest options (40), so that the walk's
 * frame is 64 bytes. With clang 16 the ACK path's call chain (entry
 * point, sg_handle_ack, sg_load_opts_slow) otherwise passes the
 * verifier's 512 bytes of stack: at 88 bytes it came to 528 on 6.18, and
 * 6.1, which rounds each frame up to 32 bytes, refused 80 too. The
 * options never reach those fields (len <= 40); the masked reads past len
 * may see them, and their bytes are never used.
 */
struct sg_optwalk {
	union {
		__u8 b[SG_OPTBUF];
		struct {
			__u8 opts[TCP_MAX_OPTLEN];
			__u8 len; /* bytes of options, at most 40 */
			__u8 i;	  /* next byte */
			struct sg_tcpopt o;
		};
	};
};
_Static_assert(sizeof(struct sg_optwalk) == SG_OPTBUF,
	       "the walk's state must fit in its buffer");

/*
 * Verifier: an index into an option buffer, masked into it. The barrier
 * keeps the mask: clang 19 drops a plain `& 63` once it has proved the
 * index below the options' length (at most 40), a proof the verifier
 * cannot follow (it bounds the index by a register, not a constant), and
 * the verifier then refuses the read as unbounded.
 */
static __always_inline __u32 sg_ob(__u32 i)
{
	asm volatile("" : "+r"(i));
	return i & (SG_OPTBUF - 1);
}

static __always_inline __u32 sg_be32_at(const __u8 *b, __u32 i)
{
	return (__u32)b[sg_ob(i)] << 24 | (__u32)b[sg_ob(i + 1)] << 16 |
	       (__u32)b[sg_ob(i + 2)] << 8 | b[sg_ob(i + 3)];
}

/*
 * One option per call; returns 1 to stop the walk. The rules are the
 * kernel's (tcp_parse_options): an option with a length below 2 or running
 * past the header ends the walk, and what was found before it stands. The
 * kernel accepts such a SYN, so synguard must answer it like any other: a
 * stricter parser would hand every SYN with a bad trailing option to the
 * kernel, a bypass of the whole defense.
 */
static long sg_opt_step(__u32 idx, void *ctx)
{
	struct sg_optwalk *w = ctx;
	__u32 i = w->i, len = w->len;
	__u8 kind, olen;

	if (i >= len || len > TCP_MAX_OPTLEN)
		return 1;
	kind = w->b[sg_ob(i)];
	if (kind == TCPOPT_EOL)
		return 1;
	if (kind == TCPOPT_NOP) {
		w->i = i + 1;
		return 0;
	}
	if (i + 1 >= len)
		return 1;
	olen = w->b[sg_ob(i + 1)];
	if (olen < 2 || i + olen > len)
		return 1;
	if (kind == TCPOPT_MSS && olen == 4) {
		w->o.mss = (__u16)w->b[sg_ob(i + 2)] << 8 | w->b[sg_ob(i + 3)];
		w->o.have_mss = 1;
	} else if (kind == TCPOPT_WINDOW && olen == 3) {
		w->o.wscale = w->b[sg_ob(i + 2)];
		w->o.have_ws = 1;
	} else if (kind == TCPOPT_SACK_PERM && olen == 2) {
		w->o.sack_ok = 1;
	} else if (kind == TCPOPT_TIMESTAMP && olen == 10) {
		w->o.tsval = sg_be32_at(w->b, i + 2);
		w->o.tsecr = sg_be32_at(w->b, i + 6);
		w->o.have_ts = 1;
	}
	w->i = i + olen;
	return 0;
}

/*
 * Walk the options in w->b[0..len) as the kernel does: options of known
 * kinds with a wrong length are ignored, a bad length ends the walk.
 * Returns -1 only if the walk could not run.
 *
 * bpf_loop() rather than a bounded for loop: the verifier checks the
 * callback once, while the plain loop's states (a different offset on every
 * path) multiplied past the 1M-instruction limit. Every option takes at
 * least one byte, so 40 steps cover the largest header.
 */
static __always_inline int sg_parse_opts(struct sg_optwalk *w)
{
	if (bpf_loop(TCP_MAX_OPTLEN, sg_opt_step, w, 0) < 0)
		return -1;
	return 0;
}

/*
 * The option layouts real stacks send, recognised in place with a few
 * word compares (little-endian views of the option bytes). The general
 * walk below costs a copy and a callback per option: about 60 ns of a SYN.
 * Returns 1 with o filled, 0 if the layout is another one.
 */
#define SG_OPT_MSS 0x0402 /* 02 04: MSS, length 4 */
#define SG_OPT_SACK_TS 0x0a080204 /* 04 02 08 0a: SACK-perm, TS */
#define SG_OPT_NOP_TS 0x0a080101 /* 01 01 08 0a: NOP NOP TS */
#define SG_OPT_NOP_SACK 0x02040101 /* 01 01 04 02: NOP NOP SACK-perm */
#define SG_OPT_NOP_WS 0x030301 /* 01 03 03: NOP, WS of length 3 */

static __always_inline int sg_opts_fast(const void *opt, const void *data_end,
					__u32 len, struct sg_tcpopt *o)
{
	const __u32 *w = opt;

	if (len == 20) {
		/* Linux SYN: MSS, SACK-perm (or NOPs), TS, NOP, WS. */
		if ((void *)(w + 5) > data_end || (w[0] & 0xffff) != SG_OPT_MSS ||
		    (w[1] != SG_OPT_SACK_TS && w[1] != SG_OPT_NOP_TS) ||
		    (w[4] & 0xffffff) != SG_OPT_NOP_WS)
			return 0;
		o->mss = bpf_ntohs(w[0] >> 16);
		o->sack_ok = w[1] == SG_OPT_SACK_TS;
		o->tsval = bpf_ntohl(w[2]);
		o->tsecr = bpf_ntohl(w[3]);
		o->wscale = w[4] >> 24;
		o->have_mss = o->have_ts = o->have_ws = 1;
		return 1;
	}
	if (len == 12) {
		if ((void *)(w + 3) > data_end)
			return 0;
		/* An ACK with timestamps: NOP, NOP, TS. */
		if (w[0] == SG_OPT_NOP_TS) {
			o->tsval = bpf_ntohl(w[1]);
			o->tsecr = bpf_ntohl(w[2]);
			o->have_ts = 1;
			return 1;
		}
		if ((w[0] & 0xffff) != SG_OPT_MSS)
			return 0;
		/* Windows: MSS, NOP, WS, NOP, NOP, SACK-perm. */
		if ((w[1] & 0xffffff) == SG_OPT_NOP_WS &&
		    w[2] == SG_OPT_NOP_SACK) {
			o->wscale = w[1] >> 24;
		/* Linux without timestamps: MSS, NOP, NOP, SACK-perm, NOP, WS. */
		} else if (w[1] == SG_OPT_NOP_SACK &&
			   (w[2] & 0xffffff) == SG_OPT_NOP_WS) {
			o->wscale = w[2] >> 24;
		} else {
			return 0;
		}
		o->mss = bpf_ntohs(w[0] >> 16);
		o->have_mss = o->have_ws = o->sack_ok = 1;
		return 1;
	}
	if (len == 4) {
		if ((void *)(w + 1) > data_end || (w[0] & 0xffff) != SG_OPT_MSS)
			return 0;
		o->mss = bpf_ntohs(w[0] >> 16);
		o->have_mss = 1;
		return 1;
	}
	return 0;
}

#endif /* SG_PARSE_H */
