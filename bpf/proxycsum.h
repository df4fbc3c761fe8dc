/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TC: the checksum step of SYNPROXY for IPv6 (doc/design.md, "SYNPROXY for
 * translated ports"). nftables' synproxy statement checks the TCP checksum
 * of an IPv6 ACK with nf_ip_checksum(), the IPv4 routine: unless the skb
 * says the checksum was verified already (CHECKSUM_UNNECESSARY, where it
 * returns 0 at once), it sums an IPv4 pseudo header out of the IPv6 one,
 * finds the checksum wrong and drops the ACK. So TC verifies the checksum
 * of the IPv6 cookie ACKs XDP passed to SYNPROXY (metadata with
 * SG_META_F_PROXY) properly, and marks a right one verified; a wrong one
 * stays as it is, and SYNPROXY drops it as before.
 */
#ifndef SG_PROXYCSUM_H
#define SG_PROXYCSUM_H

/* TC: adds the payload of len bytes at off to *sum; -1 if it cannot. */
static __noinline int sg_skb_sum_payload(struct __sk_buff *skb, __u32 off,
					 __u32 len, __u64 *sum)
{
	struct sg_scratch *b = sg_payload_buf(&len);

	if (!b || bpf_skb_load_bytes(skb, off, b->b, len))
		return -1;
	return sg_sum_copy(b, len, sum);
}

/*
 * The IPv6 ACK p of skb, which XDP found to carry a valid raw cookie for
 * SYNPROXY: its TCP checksum verified and, if right, the skb marked
 * CHECKSUM_UNNECESSARY. Counted; the frame always goes on (TC_ACT_UNSPEC).
 *
 * bpf_csum_level(INC) (__skb_incr_checksum_unnecessary) turns
 * CHECKSUM_NONE into CHECKSUM_UNNECESSARY, level 0, and leaves
 * CHECKSUM_COMPLETE and CHECKSUM_PARTIAL as they are: those are not
 * markable (proxy_csum_unmarked). A PARTIAL one passes SYNPROXY anyway; a
 * COMPLETE one with a right checksum is turned into UNNECESSARY by
 * conntrack's own check at PREROUTING (nf_ip6_checksum, with
 * nf_conntrack_checksum=1, the default) before SYNPROXY sees it.
 */
static __noinline int sg_proxy_csum(struct __sk_buff *skb,
				    const struct sg_pkt *p)
{
	void *data, *data_end;
	__u64 pseudo = 0, sum = 0;
	__u32 seg_len;

	if (!skb || !p)
		return TC_ACT_UNSPEC; /* not reached */
	/* A NIC verified it: nothing to add, nothing to compute. */
	if (bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY) >= 0) {
		sg_count(SG_CNT_PROXY_CSUM_OK);
		return TC_ACT_UNSPEC;
	}
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	seg_len = p->ip_end - p->l4_off;
	/* The headers must be in the linear part; a payload past
	 * SG_SYN_DATA_MAX is not summed (a handshake ACK has none). */
	if (p->family != 6 || seg_len < p->tcp_len ||
	    sg_tcp_sum_hdr(data, data_end, p, &pseudo, &sum) ||
	    (seg_len > p->tcp_len &&
	     sg_skb_sum_payload(skb, p->l4_off + p->tcp_len,
				seg_len - p->tcp_len, &sum))) {
		sg_count(SG_CNT_PROXY_CSUM_UNMARKED);
		return TC_ACT_UNSPEC;
	}
	if (sg_csum_fold(sum)) {
		/*
		 * The partial form (the pseudo header's sum only): a sender
		 * on this host behind a veth with checksum offload, whose
		 * skb is CHECKSUM_PARTIAL, which SYNPROXY passes anyway.
		 * Not marked: from anywhere else it is a wrong checksum.
		 */
		struct tcphdr *th = data + (p->l4_off & SG_L4_OFF_MASK);

		if ((void *)(th + 1) <= data_end &&
		    th->check == (__u16)~sg_csum_fold(pseudo)) {
			sg_count(SG_CNT_PROXY_CSUM_UNMARKED);
			return TC_ACT_UNSPEC;
		}
		sg_count(SG_CNT_PROXY_CSUM_BAD);
		return TC_ACT_UNSPEC;
	}
	bpf_csum_level(skb, BPF_CSUM_LEVEL_INC);
	/* Asked again rather than assumed: INC changes only CHECKSUM_NONE. */
	sg_count(bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY) >= 0
			 ? SG_CNT_PROXY_CSUM_OK
			 : SG_CNT_PROXY_CSUM_UNMARKED);
	return TC_ACT_UNSPEC;
}

#endif /* SG_PROXYCSUM_H */
