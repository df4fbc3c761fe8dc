/* SPDX-License-Identifier: GPL-2.0 */
/*
 * First flight: the segments of a handshake just validated that arrive
 * before TCP has built its socket (doc/design.md, "First flight").
 */
#ifndef SG_FIRSTFLIGHT_H
#define SG_FIRSTFLIGHT_H

/*
 * Handshakes validated in the last SG_FIRST_FLIGHT_NS, keyed by connection
 * (isn 0). A client's first flight can be several segments; on a real NIC
 * they reach XDP in one batch with the ACK, before TCP has built the socket
 * from it. Only the segment at isn + 1 carries a cookie that validates, so
 * the others would be dropped as bad cookies and wait for a retransmission.
 * A segment with the same ack number and a sequence number within the
 * window of our SYN-ACK passes instead: only who saw the SYN-ACK knows that
 * ack number, and the kernel then finds the new socket.
 */
#define SG_FIRST_FLIGHT_NS (1000 * 1000 * 1000ULL)

struct sg_recent {
	__u32 isn;   /* client's ISN */
	__u32 ack;   /* cookie + 1: the ack number of every segment */
	__u64 until; /* SG clock */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sg_flow);
	__type(value, struct sg_recent);
} sg_recent SEC(".maps");

/* The flow as a key of sg_recent: no ISN, padding zeroed. */
static __always_inline void sg_recent_key(struct sg_flow *k,
					  const struct sg_flow *f)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->saddr, f->saddr, sizeof(k->saddr));
	__builtin_memcpy(k->daddr, f->daddr, sizeof(k->daddr));
	k->sport = f->sport;
	k->dport = f->dport;
	k->family = f->family;
}

/* Is this a later segment of a handshake validated just before? */
static __always_inline int sg_first_flight(const struct sg_flow *f,
					   const struct tcphdr *th,
					   const struct sg_config *cfg,
					   __u64 now)
{
	struct sg_recent *r;
	struct sg_flow k;

#ifdef SG_BENCH_NO_FIRST_FLIGHT
	/* Bench-only build (bench/bench.mk): no LRU lookup, so make bench
	 * can show what it costs. */
	return 0;
#endif
	sg_recent_key(&k, f);
	r = bpf_map_lookup_elem(&sg_recent, &k);
	/* Offset 0 is the segment that carries the cookie: judged by it. */
	return r && r->ack == bpf_ntohl(th->ack_seq) && now < r->until &&
	       bpf_ntohl(th->seq) - (r->isn + 1) - 1 < cfg->window - 1u;
}

static __always_inline void
sg_first_flight_add(const struct sg_flow *f, const struct tcphdr *th, __u64 now)
{
	struct sg_recent v = {
		.isn = f->isn,
		.ack = bpf_ntohl(th->ack_seq),
		.until = now + SG_FIRST_FLIGHT_NS,
	};
	struct sg_flow k;

#ifdef SG_BENCH_NO_FIRST_FLIGHT
	return; /* bench-only build: no LRU update either (see above) */
#endif
	sg_recent_key(&k, f);
	bpf_map_update_elem(&sg_recent, &k, &v, BPF_ANY);
}

#endif /* SG_FIRSTFLIGHT_H */
