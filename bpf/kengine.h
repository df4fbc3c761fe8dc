/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel engine (doc/design.md, "The kernel engine"): a SYN is answered
 * with the kernel's own syncookie, made at XDP by bpf_tcp_gen_syncookie()
 * for the listener the SYN is for; that marks the listener as recently
 * overflowed, so the kernel itself accepts the returning ACK. For kernels
 * without the handoff kfunc (before 6.9); no TC program.
 */
#ifndef SG_KENGINE_H
#define SG_KENGINE_H

/*
 * The TSval of a kernel-cookie SYN-ACK: the kernel's TCP clock in ms with
 * the options in its low bits, as cookie_init_timestamp() makes it
 * (include/synguard.h, SG_KTS_*). o and ece are what the SYN-ACK offers.
 */
static __always_inline __u32 sg_kernel_tsval(const struct sg_tcpopt *o, int ece)
{
	/* tcp_ns_to_ts(): the TCP clock is CLOCK_MONOTONIC, in ms. */
	__u64 now = bpf_ktime_get_ns() / 1000000, ts;
	__u32 opts = o->have_ws ? o->wscale & SG_KTS_WS_MASK : SG_KTS_WS_MASK;

	if (o->sack_ok)
		opts |= SG_KTS_SACK;
	if (ece)
		opts |= SG_KTS_ECN;
	ts = (now >> SG_KTS_BITS) << SG_KTS_BITS | opts;
	if (ts > now)
		ts -= 1u << SG_KTS_BITS;
	return ts;
}

/*
 * The kernel's cookie for the SYN in ctx: made for the listener sk by
 * bpf_tcp_gen_syncookie (which stamps its overflow time), or with sk NULL
 * by the raw helper, which needs no listener and stamps nothing (only
 * netfilter's SYNPROXY accepts those). Negative when there is none. The
 * TCP header and options are copied: the helpers take a length the
 * verifier must bound from above, which a packet range of variable length
 * cannot give (the parser checked 20 <= len <= 60). Into the per-CPU
 * scratch buffer, not the stack, which has no room left.
 */
static __always_inline __s64 sg_cookie_gen(struct xdp_md *ctx,
					   const struct sg_pkt *p,
					   struct bpf_sock *sk)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *iph = data + (p->l3_off & SG_L3_OFF_MASK);
	__u32 len = sg_size_bound(p->tcp_len, SG_OPTBUF), zero = 0;
	struct sg_scratch *thb;
	struct tcphdr *th;

	thb = bpf_map_lookup_elem(&sg_scratch, &zero);
	if (!thb || bpf_xdp_load_bytes(ctx, p->l4_off, thb->b, len))
		return -1;
	th = (struct tcphdr *)thb->b;
	/* Constant lengths per family: the verifier wants a bound. */
	if (p->family == 4 && iph + sizeof(struct iphdr) <= data_end)
		return sk ? bpf_tcp_gen_syncookie(sk, iph, sizeof(struct iphdr),
						  th, len)
			  : bpf_tcp_raw_gen_syncookie_ipv4(iph, th, len);
	if (p->family == 6 && iph + sizeof(struct ipv6hdr) <= data_end)
		return sk ? bpf_tcp_gen_syncookie(
				    sk, iph, sizeof(struct ipv6hdr), th, len)
			  : bpf_tcp_raw_gen_syncookie_ipv6(iph, th, len);
	return -1;
}

/*
 * A cookie subprogram's result: SG_COOKIE_MADE with the cookie in the low
 * 32 bits when the SYN-ACK is to be sent, else the verdict (counted). A
 * return value, not an out-parameter: the caller is the entry point, whose
 * frame a pointed-to slot would grow on every call chain.
 */
#define SG_COOKIE_MADE (1ULL << 32)

/*
 * The kernel's cookie for this SYN (SG_COOKIE_MADE | cookie, or the
 * verdict). Only a TCP listener makes one: a socket of this very
 * connection or an MPTCP listener gets the SYN, as in the own engine
 * (sg_owner). A subprogram called by the entry point, before
 * sg_kernel_syn: its socket tuple takes no room in the SYN paths' frames,
 * and the two frames are never on one call chain, which 6.1's verifier
 * sums (each rounded up to 32 bytes) against its 512-byte limit.
 */
static __noinline __s64 sg_kernel_cookie(struct xdp_md *ctx,
					 const struct sg_pkt *p,
					 const struct sg_flow *flow)
{
	const struct sg_config *cfg;
	struct bpf_sock_tuple tup = {};
	__u32 tlen = sg_tuple_fill(&tup, flow), zero = 0;
	struct bpf_sock *sk;
	struct tcp_sock *tp;
	__s64 r;

	sk = bpf_skc_lookup_tcp(ctx, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk) {
		sg_count(SG_CNT_SYN_NO_LISTENER_PASS);
		return XDP_PASS;
	}
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_SYN_SOCKET_PASS);
		return XDP_PASS;
	}
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp && tp->is_mptcp) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_SYN_MPTCP_PASS);
		return XDP_PASS;
	}
	/*
	 * Monitor mode: the helper is not called. Making a cookie stamps the
	 * listener as overflowed (and counts in TcpExt TCPReqQFullDoCookies),
	 * a change to the kernel's own state that monitor mode must not make.
	 * Counted as made (syn_kernel_cookie, by sg_synack): with
	 * tcp_syncookies=2, which attach sets for this engine, the helper
	 * makes one for every listener found here. The config is looked
	 * up again rather than passed: an argument kept across the socket
	 * lookup takes a stack slot (this frame from 80 to 88 bytes, 96 in
	 * the verifier's sum), on the call chain closest to its 512.
	 */
	cfg = bpf_map_lookup_elem(&sg_config, &zero);
	if (cfg && cfg->monitor) {
		bpf_sk_release(sk);
		return SG_COOKIE_MADE;
	}
	r = sg_cookie_gen(ctx, p, sk);
	bpf_sk_release(sk);
	/* tcp_syncookies set back from 2 since attach, or the listener
	 * closed: the kernel answers the SYN itself. */
	if (r < 0) {
		sg_count(SG_CNT_SYN_KERNEL_COOKIE_ERROR);
		return XDP_PASS;
	}
	return SG_COOKIE_MADE | (__u32)r;
}

/*
 * attach --gateway: is this flow routed through this host (not to one of
 * its addresses)? The kernel's FIB says, as it will for the packet: a route
 * out (neighbour known or not) is forwarding; a local address, forwarding
 * off or no route is not. A subprogram: the lookup's 64 bytes stay off the
 * caller's stack.
 */
static __noinline int sg_routed(struct xdp_md *ctx, const struct sg_flow *f)
{
	struct bpf_fib_lookup fib = {
		.l4_protocol = IPPROTO_TCP,
	};
	long rc;

	if (!ctx || !f)
		return 0;
	fib.sport = f->sport;
	fib.dport = f->dport;
	if (f->family == 4) {
		fib.family = 2; /* AF_INET */
		fib.tot_len = 40;
		fib.ipv4_src = f->saddr[0];
		fib.ipv4_dst = f->daddr[0];
	} else {
		fib.family = 10; /* AF_INET6 */
		fib.tot_len = 60;
		__builtin_memcpy(fib.ipv6_src, f->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, f->daddr, 16);
	}
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	return rc == BPF_FIB_LKUP_RET_SUCCESS ||
	       rc == BPF_FIB_LKUP_RET_NO_NEIGH;
}

/*
 * Is this flow one SYNPROXY completes: to a nat port of this host, or
 * (--gateway) routed through it? A nat port's number routed to another
 * host is not this host's port: without --gateway no rule would take its
 * ACK in FORWARD. SYNPROXY drops an IPv6 ACK whose checksum the kernel
 * has not verified yet: TC verifies and marks it (bpf/proxycsum.h), in the
 * kernel engine with synguard_tc_proxy, which attach loads with these
 * options.
 */
static __always_inline int sg_proxied(struct xdp_md *ctx,
				      const struct sg_pkt *p,
				      const struct sg_flow *flow,
				      const struct sg_config *cfg)
{
	int nat = !!(p->port & SG_PORT_PROXY);

	if (!nat && !cfg->gateway)
		return 0;
	return sg_routed(ctx, flow) ? cfg->gateway : nat;
}

/*
 * A SYN to a translated port (SG_PORT_PROXY): the raw kernel cookie for
 * netfilter's SYNPROXY (SG_COOKIE_MADE | cookie, or the verdict). A
 * subprogram called by the entry point, like sg_kernel_cookie.
 */
static __noinline __s64 sg_proxy_cookie(struct xdp_md *ctx,
					const struct sg_pkt *p)
{
	__s64 r = sg_cookie_gen(ctx, p, NULL);

	if (r < 0) {
		sg_count(SG_CNT_SYN_PROXY_COOKIE_ERROR);
		return XDP_PASS;
	}
	return SG_COOKIE_MADE | (__u32)r;
}

/* Is a valid kernel cookie's ACK over its source's ACK limit? Counted. */
static __always_inline int sg_ack_limited(const struct sg_flow *flow,
					  const struct sg_config *cfg)
{
	if (cfg->src_ack_rate &&
	    !sg_src_allow(flow, SG_SRC_ACK, cfg, cfg->src_ack_rate,
			  cfg->src_ack_burst)) {
		sg_count(SG_CNT_ACK_SRC_LIMITED);
		return 1;
	}
	return 0;
}

/*
 * An ACK with no socket and no conntrack entry to a translated port: a
 * valid raw cookie passes to SYNPROXY, which checks it again with the same
 * secret and opens the connection to the backend; anything else is
 * dropped, as SYNPROXY would drop it, but before the kernel pays for it.
 * A valid IPv6 one carries metadata for TC, which verifies its checksum
 * for SYNPROXY (sg_proxy_meta).
 */
static __always_inline int
sg_proxy_ack(struct xdp_md *ctx, const struct sg_pkt *p, struct tcphdr *th,
	     const struct sg_flow *flow, const struct sg_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *iph = data + (p->l3_off & SG_L3_OFF_MASK);
	long r = -1;

	if (p->family == 4 && iph + sizeof(struct iphdr) <= data_end)
		r = bpf_tcp_raw_check_syncookie_ipv4(iph, th);
	else if (p->family == 6 && iph + sizeof(struct ipv6hdr) <= data_end)
		r = bpf_tcp_raw_check_syncookie_ipv6(iph, th);
	if (r) {
		sg_count(SG_CNT_ACK_PROXY_COOKIE_BAD);
		return XDP_DROP;
	}
	if (sg_ack_limited(flow, cfg))
		return XDP_DROP;
	if (p->family == 6)
		return sg_proxy_meta(ctx, cfg);
	sg_count(SG_CNT_ACK_PROXY_COOKIE_PASS);
	return XDP_PASS;
}

/*
 * Not our cookie, but the listener sk may have answered a SYN that reached
 * it (no key yet, SYN-ACK not buildable) with a syncookie of its own when
 * its queue overflowed: such ACKs are the kernel's. The helper returns at
 * once unless the listener overflowed recently.
 */
static __always_inline int sg_ack_kernel_cookie(struct bpf_sock *sk, void *data,
						void *data_end,
						const struct sg_pkt *p,
						struct tcphdr *th)
{
	void *iph = data + (p->l3_off & SG_L3_OFF_MASK);
	__u32 iph_len =
		p->family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);

	if (iph + iph_len > data_end)
		return 0;
	return bpf_tcp_check_syncookie(sk, iph, iph_len, th, sizeof(*th)) == 0;
}

/*
 * Kernel engine: the verdict on an ACK with no socket of its connection,
 * counted; sk is the listener or NULL, released here. A valid kernel
 * cookie passes: the kernel accepts it itself, because making it stamped
 * the listener. Anything else would be refused (and reset) by the kernel.
 */
static __always_inline int sg_kernel_ack(struct bpf_sock *sk, void *data,
					 void *data_end, const struct sg_pkt *p,
					 struct tcphdr *th,
					 const struct sg_flow *flow,
					 const struct sg_config *cfg)
{
	int ok = sk && sg_ack_kernel_cookie(sk, data, data_end, p, th);

	if (sk)
		bpf_sk_release(sk);
	if (!ok) {
		sg_count(SG_CNT_ACK_KERNEL_COOKIE_BAD);
		return XDP_DROP;
	}
	if (sg_ack_limited(flow, cfg))
		return XDP_DROP;
	sg_count(SG_CNT_ACK_KERNEL_COOKIE_PASS);
	return XDP_PASS;
}

#endif /* SG_KENGINE_H */
