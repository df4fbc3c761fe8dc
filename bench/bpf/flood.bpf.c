// SPDX-License-Identifier: GPL-2.0
/*
 * SYN / ACK flood generator, run by bench/flood.c through BPF_PROG_TEST_RUN
 * with BPF_F_TEST_XDP_LIVE_FRAMES and ingress_ifindex: every run that sends
 * writes one frame and returns XDP_TX, which the kernel turns into a
 * transmit on that interface (one end of a veth pair, so the frame arrives
 * at the peer).
 *
 * Each sent frame restores the WHOLE template, not only the fields it
 * randomises: live-frames pages are recycled without copying data_in again,
 * and a page comes back holding whatever its last user wrote into it, such
 * as the SYN-ACK a responder made of it with XDP_TX
 * (doc/design.md, "veth and network namespaces").
 *
 * Pacing happens here, not in user space: one BPF_PROG_TEST_RUN call costs
 * tens of milliseconds of setup and teardown on this kernel, so a call per
 * burst cannot go faster than a few thousand frames a second. Instead one
 * call runs for the whole flood, and a run that falls between two bursts
 * returns XDP_DROP without sending (the page goes straight back to the
 * pool). The thread spins, like a busy-polling traffic generator.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flood_cfg);
} flood_cfg SEC(".maps");

/* Per CPU: each sending thread is pinned to its own CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flood_state);
} flood_state SEC(".maps");

/* Folds a 32-bit one's complement sum of native 16-bit words. */
static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s;
}

/* The two native 16-bit halves of a 32-bit field, for the checksum. */
static __always_inline __u32 halves(__u32 v)
{
	return (v & 0xffff) + (v >> 16);
}

/* One word of a random source address: the prefix, random host bits. */
static __always_inline __u32 src_word(const struct flood_cfg *c, int i)
{
	return c->src_prefix[i] | (bpf_get_prandom_u32() & c->src_mask[i]);
}

/* 1 if this run may send: a token bucket of whole bursts. */
static __always_inline int may_send(const struct flood_cfg *c,
				    struct flood_state *st)
{
	__u64 now;

	if (!c->gap_ns && !c->end_ns)
		return 1;
	now = bpf_ktime_get_ns();
	if (c->end_ns && now >= c->end_ns)
		return 0;
	if (!c->gap_ns)
		return 1;
	if (st->left) {
		st->left--;
		return 1;
	}
	if (now < st->next_ns)
		return 0;
	if (!st->next_ns) {
		st->next_ns = now;
	} else if (now - st->next_ns > c->catchup_ns) {
		/* Far behind (the thread was off the CPU): do not make up
		 * for it all at once, but say how much was skipped. */
		__u64 owed = (now - st->next_ns) / c->gap_ns;

		st->skipped += owed * c->burst;
		st->next_ns += owed * c->gap_ns;
	}
	st->next_ns += c->gap_ns;
	st->left = c->burst - 1;
	return 1;
}

SEC("xdp")
int flood(struct xdp_md *ctx)
{
	struct flood_state *st;
	struct flood_cfg *c;
	struct tcphdr *th;
	void *data, *data_end;
	__u32 zero = 0, len, sum, v;
	int cur;

	c = bpf_map_lookup_elem(&flood_cfg, &zero);
	st = bpf_map_lookup_elem(&flood_state, &zero);
	if (!c || !st)
		return XDP_ABORTED;
	if (!may_send(c, st)) {
		st->idle++;
		return XDP_DROP;
	}
	len = c->len;
	/* Verifier: the store needs a size it can bound by the map value. */
	if (len < FLOOD_FRAME_MIN || len > FLOOD_FRAME_MAX)
		return XDP_ABORTED;
	cur = ctx->data_end - ctx->data;
	if (cur != (int)len && bpf_xdp_adjust_tail(ctx, (int)len - cur))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, c->frame, len))
		return XDP_ABORTED;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (c->family == 4) {
		struct iphdr *ip = data + FLOOD_L3_OFF;

		th = (void *)(ip + 1);
		if ((void *)(th + 1) > data_end)
			return XDP_ABORTED;
		v = src_word(c, 0);
		ip->saddr = v;
		ip->check = csum_fold(c->ip_sum + halves(v));
		sum = c->tcp_sum + halves(v);
	} else {
		struct ipv6hdr *ip6 = data + FLOOD_L3_OFF;
		__u32 *sa;
		int i;

		th = (void *)(ip6 + 1);
		if ((void *)(th + 1) > data_end)
			return XDP_ABORTED;
		sa = (__u32 *)&ip6->saddr;
		sum = c->tcp_sum;
#pragma unroll
		for (i = 0; i < 4; i++) {
			v = src_word(c, i);
			sa[i] = v;
			sum += halves(v);
		}
	}
	/* Ports from 1024 up: bit 10 of the port set, the rest random. */
	v = (bpf_get_prandom_u32() & 0xffff) | bpf_htons(0x400);
	th->source = v;
	sum += v;
	v = bpf_get_prandom_u32();
	th->seq = v;
	sum += halves(v);
	if (c->ack_mode) {
		v = bpf_get_prandom_u32();
		th->ack_seq = v;
		sum += halves(v);
	}
	th->check = csum_fold(sum);
	st->sent++;
	return XDP_TX;
}
