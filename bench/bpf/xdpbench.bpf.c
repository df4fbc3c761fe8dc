// SPDX-License-Identifier: GPL-2.0
/*
 * XDP programs for the end-to-end benchmark (bench/e2e.sh), attached by
 * bench/xdpctl.c:
 *
 *  xb_count    counts frames by TCP flags and passes them. On the client
 *              side it also drops the answers to the flood's spoofed
 *              sources (drop_foreign), and its being there is what lets the
 *              server's XDP_TX reach this end of the veth at all
 *              (doc/design.md, "veth and network namespaces").
 *              On the server side it counts the SYNs that arrive when the
 *              defense is the kernel's own.
 *  xb_reflect  the ceiling: the least a SYN responder can do. Swap MACs,
 *              addresses and ports, turn the SYN into a SYN-ACK, XDP_TX.
 *              Every responder's end-to-end rate is reported as a fraction
 *              of this one's under the same flood.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_ALEN 6
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} xb_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xb_cfg);
} xb_cfg SEC(".maps");

/* Per-CPU slot: softirq context, one frame at a time, no atomics needed. */
static __always_inline void count(enum xb_counter c)
{
	__u32 k = c;
	__u64 *v = bpf_map_lookup_elem(&xb_counters, &k);

	if (v)
		*v += 1;
}

/*
 * The TCP header of an untagged IPv4 (no options) or IPv6 (no extension
 * headers) frame: all the benchmark sends. *local is set when the frame is
 * addressed to the configured local address.
 */
static __always_inline struct tcphdr *tcp_of(void *data, void *data_end,
					     const struct xb_cfg *cfg,
					     int *local, int *v6)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return NULL;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 ||
		    ip->protocol != IPPROTO_TCP)
			return NULL;
		*local = cfg && ip->daddr == cfg->local4;
		*v6 = 0;
		return (void *)(ip + 1);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		const __u32 *d;

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
			return NULL;
		d = (const __u32 *)&ip6->daddr;
		*local = cfg && d[0] == cfg->local6[0] &&
			 d[1] == cfg->local6[1] && d[2] == cfg->local6[2] &&
			 d[3] == cfg->local6[3];
		*v6 = 1;
		return (void *)(ip6 + 1);
	}
	return NULL;
}

SEC("xdp")
int xb_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xb_cfg *cfg;
	struct tcphdr *th;
	__u32 zero = 0;
	int local = 0, v6 = 0;
	__u8 fl;

	count(XB_CNT_FRAMES);
	cfg = bpf_map_lookup_elem(&xb_cfg, &zero);
	th = tcp_of(data, data_end, cfg, &local, &v6);
	if (!th || (void *)(th + 1) > data_end) {
		count(XB_CNT_OTHER);
		return XDP_PASS;
	}
	fl = ((__u8 *)th)[13];
	if ((fl & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
		count(XB_CNT_SYNACK);
		if (local)
			count(XB_CNT_SYNACK_LOCAL);
	} else if (fl & TCPF_SYN) {
		count(XB_CNT_SYN);
	} else if (fl & TCPF_RST) {
		count(XB_CNT_RST);
	} else if (fl & TCPF_ACK) {
		count(XB_CNT_ACK);
	} else {
		count(XB_CNT_OTHER);
	}
	if (cfg && cfg->drop_foreign && !local) {
		count(XB_CNT_FOREIGN_DROP);
		return XDP_DROP;
	}
	return XDP_PASS;
}

/* RFC 1624 incremental update of a checksum for one 16-bit word. */
static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new)
{
	__u32 s = (__u16)~check + (__u16)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s;
}

SEC("xdp")
int xb_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u8 mac[ETH_ALEN];
	__u16 oldw, neww;
	__be16 port;
	int local, v6;

	th = tcp_of(data, data_end, NULL, &local, &v6);
	if (!th || (void *)(th + 1) > data_end)
		return XDP_PASS;
	if ((((__u8 *)th)[13] & (TCPF_SYN | TCPF_ACK | TCPF_RST)) != TCPF_SYN)
		return XDP_PASS;
	count(XB_CNT_SYN);

	/* Swapping addresses and ports leaves every checksum as it is. */
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	if (v6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct in6_addr a = ip6->saddr;

		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
	} else {
		struct iphdr *ip = (void *)(eth + 1);
		__be32 a = ip->saddr;

		ip->saddr = ip->daddr;
		ip->daddr = a;
	}
	port = th->source;
	th->source = th->dest;
	th->dest = port;
	/* SYN -> SYN|ACK: one 16-bit word (data offset + flags) changes. */
	oldw = *(__u16 *)((__u8 *)th + 12);
	((__u8 *)th)[13] |= TCPF_ACK;
	neww = *(__u16 *)((__u8 *)th + 12);
	th->check = csum_replace2(th->check, oldw, neww);
	count(XB_CNT_REFLECTED);
	return XDP_TX;
}
