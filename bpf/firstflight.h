/* SPDX-License-Identifier: GPL-2.0 */
/*
 * First flight: the segments of a handshake just validated that arrive
 * before TCP has built its socket (doc/design.md, "First flight").
 */
#ifndef SG_FIRSTFLIGHT_H
#define SG_FIRSTFLIGHT_H

/*
 * Handshakes validated in the last SG_FIRST_FLIGHT_NS. A client's first flight
 * can be several segments; on a real NIC they reach XDP in one batch with the
 * ACK, before TCP has built the socket from it. Only the segment at isn + 1
 * carries a cookie that validates, so the others would be dropped as bad
 * cookies and wait for a retransmission. A segment with the same ack number and
 * a sequence number within the window of our SYN-ACK passes instead: only who
 * saw the SYN-ACK knows that ack number, and the kernel then finds the new
 * socket.
 */
#define SG_FIRST_FLIGHT_NS (1000 * 1000 * 1000ULL)

/*
 * Direct-mapped and shared by the CPUs, indexed by the ack number: the
 * low bits of a cookie above its data bits are MAC bits (include/
 * synguard.h), which nobody without the key can aim, and every segment
 * of the flight carries the same ack number. A slot holds the last
 * handshake validated into it; a later one overwrites it, which costs
 * the earlier one's first flight a retransmission, as an LRU eviction
 * did. An array lookup is inlined by the verifier and the entry written
 * in place: an LRU hash update cost 95-150 ns a valid ACK, most of the
 * path (doc/design.md, "First flight").
 */
#define SG_RECENT_SLOTS 16384 /* a power of two */

struct sg_recent {
	struct sg_flow flow; /* the connection; isn: the client's ISN */
	__u32 ack;	     /* cookie + 1: the ack number of every segment */
	__u64 until;	     /* SG clock */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_RECENT_SLOTS);
	__type(key, __u32);
	__type(value, struct sg_recent);
} sg_recent SEC(".maps");

static __always_inline struct sg_recent *sg_recent_slot(__u32 ack)
{
	__u32 k = (ack >> SG_COOKIE_MAC_SHIFT) & (SG_RECENT_SLOTS - 1);

	return bpf_map_lookup_elem(&sg_recent, &k);
}

/* The same connection: addresses, ports and family (not the ISN). */
static __always_inline int sg_recent_match(const struct sg_flow *a,
					   const struct sg_flow *b)
{
	return a->saddr[0] == b->saddr[0] && a->daddr[0] == b->daddr[0] &&
	       a->saddr[1] == b->saddr[1] && a->daddr[1] == b->daddr[1] &&
	       a->saddr[2] == b->saddr[2] && a->daddr[2] == b->daddr[2] &&
	       a->saddr[3] == b->saddr[3] && a->daddr[3] == b->daddr[3] &&
	       a->sport == b->sport && a->dport == b->dport &&
	       a->family == b->family;
}

/* Is this a later segment of a handshake validated just before? */
static __always_inline int sg_first_flight(const struct sg_flow *f,
					   const struct tcphdr *th,
					   const struct sg_config *cfg,
					   __u64 now)
{
	__u32 ack = bpf_ntohl(th->ack_seq);
	struct sg_recent *r;

#ifdef SG_BENCH_NO_FIRST_FLIGHT
	/* Bench-only build (bench/bench.mk): no lookup, so make bench can
	 * show what it costs. */
	return 0;
#endif
	r = sg_recent_slot(ack);
	/* Offset 0 is the segment that carries the cookie: judged by it. */
	return r && r->ack == ack && now < r->until &&
	       sg_recent_match(&r->flow, f) &&
	       bpf_ntohl(th->seq) - (r->flow.isn + 1) - 1 < cfg->window - 1u;
}

static __always_inline void
sg_first_flight_add(const struct sg_flow *f, const struct tcphdr *th, __u64 now)
{
	__u32 ack = bpf_ntohl(th->ack_seq);
	struct sg_recent *r;

#ifdef SG_BENCH_NO_FIRST_FLIGHT
	return; /* bench-only build: no update either (see above) */
#endif
	r = sg_recent_slot(ack);
	if (!r)
		return;
	/*
	 * Plain stores, no lock: two CPUs validating handshakes into one
	 * slot at once may leave it mixed, which matches neither and costs
	 * both a retransmission, like a collision. Whoever sees a mixed or
	 * stale entry only gets a segment passed to the kernel, which finds
	 * no socket for it (doc/design.md, "First flight").
	 */
	r->flow = *f;
	r->ack = ack;
	r->until = now + SG_FIRST_FLIGHT_NS;
}

#endif /* SG_FIRSTFLIGHT_H */
