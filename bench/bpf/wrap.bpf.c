// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost harness (bench/prog_cost.c). BPF_PROG_TEST_RUN with
 * `repeat` reruns a program on the same buffer without restoring it, so a
 * program that rewrites a SYN into a SYN-ACK would measure its own SYN-ACK
 * from the second run on (doc/design.md, "Measuring the cost"). sg_wrap
 * puts the original frame back before every run and tail-calls the program
 * under test; running it around sg_floor too lets the harness subtract what
 * the restore and the tail call cost.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define WRAP_FRAME_MAX 256 /* the largest test frame is ~110 bytes */
#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Slot 0: the program under test. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wrap_target SEC(".maps");

/*
 * The frame to restore, written by user space before each measurement. A
 * map rather than a global: bpftool 7.1's skeleton generator chokes on some
 * data sections, and an array value is a plain, bounded pointer.
 */
struct wrap_frame {
	__u32 len;
	__u8 data[WRAP_FRAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wrap_frame);
} wrap_frame SEC(".maps");

SEC("xdp")
int sg_wrap(struct xdp_md *ctx)
{
	struct wrap_frame *f;
	__u32 zero = 0, len;
	int cur, meta;

	f = bpf_map_lookup_elem(&wrap_frame, &zero);
	if (!f)
		return XDP_ABORTED;
	/* Drop any metadata the previous run left (the cookie-ACK path
	 * writes some): a second bpf_xdp_adjust_meta() would otherwise
	 * fail for lack of room and take the error path. */
	meta = ctx->data - ctx->data_meta;
	if (meta > 0 && bpf_xdp_adjust_meta(ctx, meta))
		return XDP_ABORTED;
	/* XXX: a program that moved the head (bpf_xdp_adjust_head) is not
	 * put back; synguard never does. */
	cur = ctx->data_end - ctx->data;
	len = f->len;
	/* Verifier: the store below needs a size provably within the map
	 * value, so bound it with a test it can follow. */
	if (len < ETH_ALEN * 2 || len > WRAP_FRAME_MAX)
		return XDP_ABORTED;
	if (cur != (int)len && bpf_xdp_adjust_tail(ctx, (int)len - cur))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, f->data, len))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &wrap_target, 0);
	return XDP_ABORTED; /* the slot was empty */
}

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 mac[ETH_ALEN];

	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
}

/*
 * The floor: the least an XDP program that answers a frame can do. Swap the
 * MACs and send it back. Every XDP program pays at least this.
 */
SEC("xdp")
int sg_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	swap_macs(eth);
	return XDP_TX;
}

/*
 * The floor plus the socket lookup every SYN pays in either engine, and
 * nothing else: the listener of the frame's 4-tuple from
 * bpf_skc_lookup_tcp(), its state read, the reference released. XDP_TX
 * only when it found a listener, so a run that measured a miss cannot
 * pass for one. Its cost minus the floor's is the lookup with the few
 * loads that find the tuple. The frames prog_cost gives it: plain
 * Ethernet, IPv4 without options or IPv6 without extension headers.
 */
SEC("xdp")
int sg_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	struct tcphdr *th;
	__u32 tlen, state;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		th = (void *)(ip + 1);
		if ((void *)(th + 1) > data_end)
			return XDP_ABORTED;
		t.ipv4.saddr = ip->saddr;
		t.ipv4.daddr = ip->daddr;
		t.ipv4.sport = th->source;
		t.ipv4.dport = th->dest;
		tlen = sizeof(t.ipv4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		th = (void *)(ip6 + 1);
		if ((void *)(th + 1) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(t.ipv6.saddr, &ip6->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, &ip6->daddr, 16);
		t.ipv6.sport = th->source;
		t.ipv6.dport = th->dest;
		tlen = sizeof(t.ipv6);
	} else {
		return XDP_ABORTED;
	}
	sk = bpf_skc_lookup_tcp(ctx, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return XDP_DROP;
	state = sk->state;
	bpf_sk_release(sk);
	if (state != BPF_TCP_LISTEN)
		return XDP_DROP;
	swap_macs(eth);
	return XDP_TX;
}
