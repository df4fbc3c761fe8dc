/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What decides whether a SYN is answered, the way the kernel decides it:
 * who owns its connection (one socket lookup), unicast addresses, and the
 * IP and TCP checksums (doc/design.md, "Kernel parity: the rule").
 */
#ifndef SG_SYNCHECK_H
#define SG_SYNCHECK_H

/*
 * The longest payload whose checksum is verified (sg_payload_buf): a SYN
 * with more is dropped (syn_bad_csum), a SYNPROXY ACK with more is left
 * unverified (proxy_csum_unmarked, bpf/proxycsum.h).
 */
#define SG_SYN_DATA_MAX 2048
#define SG_SCRATCH_MASK 4095

struct sg_scratch {
	__u8 b[SG_SCRATCH_MASK + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_scratch);
} sg_scratch SEC(".maps");

/* Who owns a SYN's connection in the kernel: what decides if we answer. */
enum sg_owner {
	SG_OWNER_NONE,	   /* no socket: forwarded, DNAT-ed, or a closed port */
	SG_OWNER_LISTENER, /* a TCP listener: ours to answer */
	SG_OWNER_MPTCP,	   /* an MPTCP listener: the handoff refuses it */
	SG_OWNER_SOCKET,   /* a socket of this very connection (TIME_WAIT...) */
};

static __always_inline enum sg_owner sg_owner(struct xdp_md *ctx,
					      const struct sg_flow *f)
{
	struct bpf_sock_tuple tup = {};
	__u32 tlen = sg_tuple_fill(&tup, f);
	enum sg_owner o = SG_OWNER_SOCKET;
	struct bpf_sock *sk;
	struct tcp_sock *tp;

#ifdef SG_BENCH_OWNER
	/* Bench-only build (bench/bench.mk): a fixed owner, no lookup, so
	 * make bench can show what the lookup costs. */
	return SG_BENCH_OWNER;
#endif
	sk = bpf_skc_lookup_tcp(ctx, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return SG_OWNER_NONE;
	if (sk->state == BPF_TCP_LISTEN) {
		/* The kfunc takes only full sockets: sock_common first. */
		tp = bpf_skc_to_tcp_sock(sk);
		o = tp && tp->is_mptcp ? SG_OWNER_MPTCP : SG_OWNER_LISTENER;
	}
	bpf_sk_release(sk);
	return o;
}

/*
 * IPv4 addresses the kernel never answers a SYN from or to on a NIC: 0/8
 * ("this network"), 127/8 (loopback is martian off lo) and 224/3
 * (multicast, reserved, and the limited broadcast).
 * XXX: a subnet-directed broadcast (192.0.2.255 on a /24) needs the
 * routing table to recognise; it is answered like a unicast address.
 */
static __always_inline int sg_v4_unicast(__be32 a)
{
	__u8 top = bpf_ntohl(a) >> 24;

	return top != 0 && top != 127 && top < 224;
}

/* IPv6: multicast, the unspecified and loopback addresses. */
static __always_inline int sg_v6_special(const __be32 *a)
{
	if ((a[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000))
		return 1;
	return !a[0] && !a[1] && !a[2] && (!a[3] || a[3] == bpf_htonl(1));
}

/*
 * Would the kernel take this SYN at all? It drops frames to a group MAC
 * (not PACKET_HOST), SYNs to broadcast and multicast addresses, martian
 * sources, and IPv6 SYNs from v4-mapped sources (tcp_v4_conn_request,
 * tcp_v6_conn_request, ip_route_input). Answering them would make us the
 * reflector the kernel refuses to be.
 */
static __always_inline int sg_syn_unicast(void *data, void *data_end,
					  const struct sg_pkt *p)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || (eth->h_dest[0] & 1))
		return 0;
	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & SG_L3_OFF_MASK);

		if ((void *)(ip + 1) > data_end)
			return 0;
		return sg_v4_unicast(ip->saddr) && sg_v4_unicast(ip->daddr);
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & SG_L3_OFF_MASK);
		const __be32 *s, *d;

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		s = (const __be32 *)&ip6->saddr;
		d = (const __be32 *)&ip6->daddr;
		if (!s[0] && !s[1] && s[2] == bpf_htonl(0xffff))
			return 0; /* v4-mapped source */
		return !sg_v6_special(s) && !sg_v6_special(d);
	}
}

/* Adds the n (at most 15) 32-bit words at p to *sum; -1 past data_end. */
static __always_inline int sg_sum_words(const void *p, const void *data_end,
					__u32 n, __u64 *sum)
{
	const __u32 *w = p;
	int i;

	for (i = 0; i < 15; i++) {
		if (i >= (int)n)
			break;
		/*
		 * Verifier: without the barrier clang folds the bound check
		 * into arithmetic on the packet pointer (a NOT of it),
		 * which the verifier refuses; a cursor compared as is passes.
		 */
		asm volatile("" : "+r"(w));
		if ((void *)(w + 1) > data_end)
			return -1;
		*sum += *w;
		w++;
	}
	return 0;
}

/*
 * A segment's payload (a SYN's TCP Fast Open data, a first data segment)
 * is summed in the per-CPU scratch copy: the checksum helper cannot take a
 * packet range of variable length. The copy, for len bytes; NULL if there
 * is none or len is 0 or past SG_SYN_DATA_MAX. *len comes back bounded
 * for the verifier.
 */
static __always_inline struct sg_scratch *sg_payload_buf(__u32 *len)
{
	__u32 zero = 0;

	if (!*len || *len > SG_SYN_DATA_MAX)
		return NULL;
	*len = sg_size_bound(*len, SG_SYN_DATA_MAX);
	return bpf_map_lookup_elem(&sg_scratch, &zero);
}

/* Adds the len bytes copied into b to *sum; 0. */
static __always_inline int sg_sum_copy(struct sg_scratch *b, __u32 len,
				       __u64 *sum)
{
	__u32 len4, chunk;
	int i;

	/* Zero up to the next word: the copy holds older bytes past len. */
	b->b[len & SG_SCRATCH_MASK] = 0;
	b->b[(len + 1) & SG_SCRATCH_MASK] = 0;
	b->b[(len + 2) & SG_SCRATCH_MASK] = 0;
	len4 = (len + 3) & ~3u;
	/* The helper sums at most 512 bytes a call. */
#pragma unroll
	for (i = 0; i < SG_SYN_DATA_MAX / 512; i++) {
		if (len4 <= i * 512u)
			break;
		chunk = len4 - i * 512u;
		if (chunk > 512)
			chunk = 512;
		/*
		 * Verifier (6.1): it also walks the branch where the test
		 * above failed on bounds that cannot hold, sees chunk below
		 * 0 and refuses the call. A mask it follows keeps it in
		 * [0, 1020]; the real values (multiples of 4, at most 512)
		 * pass through. The barrier keeps clang from dropping the
		 * mask as redundant.
		 */
		asm volatile("" : "+r"(chunk));
		chunk &= 0x3fc;
		*sum += (__u32)bpf_csum_diff(NULL, 0, (void *)&b->b[i * 512],
					     chunk, 0);
	}
	return 0;
}

/* XDP: adds the payload of len bytes at off to *sum; -1 if it cannot. A
 * subprogram: rare (TCP Fast Open), and kept off the common path's stack. */
static __noinline int sg_sum_payload(struct xdp_md *ctx, __u32 off, __u32 len,
				     __u64 *sum)
{
	struct sg_scratch *b = sg_payload_buf(&len);

	if (!b || bpf_xdp_load_bytes(ctx, off, b->b, len))
		return -1;
	return sg_sum_copy(b, len, sum);
}

/*
 * The one's complement sums of a TCP segment's pseudo header (*pseudo)
 * and of the pseudo header and TCP header (*sum, the payload still to
 * add); -1 if the headers are not all in [data, data_end), or an IPv4
 * header's own checksum is wrong. Shared by the SYN check at XDP and the
 * SYNPROXY ACK check at TC (bpf/proxycsum.h).
 */
static __always_inline int sg_tcp_sum_hdr(void *data, void *data_end,
					  const struct sg_pkt *p, __u64 *pseudo,
					  __u64 *sum)
{
	void *l3 = data + (p->l3_off & SG_L3_OFF_MASK);
	void *l4 = data + (p->l4_off & SG_L4_OFF_MASK);
	__u32 seg_len = p->ip_end - p->l4_off;

	if (p->family == 4) {
		struct iphdr *ip = l3;
		__u64 hs = 0;

		if ((void *)(ip + 1) > data_end ||
		    sg_sum_words(ip, data_end, ip->ihl, &hs) ||
		    sg_csum_fold(hs))
			return -1;
		*pseudo = sg_sum32(&ip->saddr, 2);
	} else {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		*pseudo = sg_sum32(&ip6->saddr, 8);
	}
	/* Protocol and length: the same words in both pseudo headers. */
	*pseudo += bpf_htons(IPPROTO_TCP) + bpf_htons(seg_len);
	*sum = *pseudo;
	return sg_sum_words(l4, data_end, p->tcp_len / 4, sum);
}

/*
 * Are the IPv4 header and TCP checksums right? The kernel drops a SYN with
 * a wrong one; answering it would reflect garbage. One exception: a sender
 * on this host behind a veth with checksum offload leaves the TCP checksum
 * partial (the pseudo-header sum only), which the kernel accepts from such
 * a sender, so that form passes too. A sender elsewhere gains nothing from
 * it: a right checksum costs it nothing either.
 */
static __always_inline int sg_syn_csum_ok(struct xdp_md *ctx,
					  const struct sg_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = data + (p->l4_off & SG_L4_OFF_MASK);
	__u32 seg_len = p->ip_end - p->l4_off;
	__u64 pseudo = 0, sum = 0;

	if ((void *)(th + 1) > data_end ||
	    sg_tcp_sum_hdr(data, data_end, p, &pseudo, &sum))
		return 0;
	if (seg_len > p->tcp_len && sg_sum_payload(ctx, p->l4_off + p->tcp_len,
						   seg_len - p->tcp_len, &sum))
		return 0;
	if (!sg_csum_fold(sum))
		return 1;
	return th->check == (__u16)~sg_csum_fold(pseudo);
}

#endif /* SG_SYNCHECK_H */
