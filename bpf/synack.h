/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cookie SYN-ACK: the options offered (as the host's sysctls allow),
 * the headers and checksums, written over the SYN and sent with XDP_TX.
 */
#ifndef SG_SYNACK_H
#define SG_SYNACK_H

/* sg_synack's kernel argument for a raw cookie SYNPROXY checks. */
#define SG_SYNACK_PROXY 2

/* The headers of our SYN-ACK, built on the stack and stored in one go. */
struct sg_synack_tcp {
	struct tcphdr th;
	/* At most 20 bytes are used; 32 lets the window scale option be
	 * written at a masked offset the verifier can bound. */
	__u8 opts[32];
};

struct sg_synack4 {
	struct iphdr ip;
	struct sg_synack_tcp t;
};

struct sg_synack6 {
	struct ipv6hdr ip6;
	struct sg_synack_tcp t;
};

/*
 * SYN-ACK options, in the kernel's order and padding: MSS; SACK-permitted
 * folded into the timestamp's NOPs when both are present; window scale.
 * Returns the options' length (a multiple of 4, at most 20).
 */
static __always_inline __u32 sg_synack_opts(__u8 *o, __u16 mss,
					    const struct sg_tcpopt *in,
					    __u8 wscale, __u32 tsval)
{
	__u32 n = 4;

	o[0] = TCPOPT_MSS;
	o[1] = 4;
	o[2] = mss >> 8;
	o[3] = mss & 0xff;
	if (in->have_ts) {
		__be32 v = bpf_htonl(tsval), e = bpf_htonl(in->tsval);

		if (in->sack_ok) {
			o[4] = TCPOPT_SACK_PERM;
			o[5] = 2;
		} else {
			o[4] = TCPOPT_NOP;
			o[5] = TCPOPT_NOP;
		}
		o[6] = TCPOPT_TIMESTAMP;
		o[7] = 10;
		__builtin_memcpy(&o[8], &v, 4);
		__builtin_memcpy(&o[12], &e, 4);
		n = 16;
	} else if (in->sack_ok) {
		o[4] = TCPOPT_NOP;
		o[5] = TCPOPT_NOP;
		o[6] = TCPOPT_SACK_PERM;
		o[7] = 2;
		n = 8;
	}
	if (in->have_ws) {
		__u8 *w = o + (n & 0x1c);

		w[0] = TCPOPT_NOP;
		w[1] = TCPOPT_WINDOW;
		w[2] = 3;
		w[3] = wscale;
		n += 4;
	}
	return n;
}

static __always_inline void sg_fill_tcp(struct tcphdr *t,
					const struct tcphdr *in, __u32 cookie,
					__u32 tcp_len, int ece,
					const struct sg_config *cfg)
{
	t->source = in->dest;
	t->dest = in->source;
	t->seq = bpf_htonl(cookie);
	t->ack_seq = bpf_htonl(bpf_ntohl(in->seq) + 1);
	t->doff = tcp_len / 4;
	t->syn = 1;
	t->ack = 1;
	t->ece = ece;
	t->window = bpf_htons(cfg->window);
}

/* ECN field of the IP header: ECT(0), ECT(1) or CE, or 0 (not ECT). */
static __always_inline __u8 sg_ip_ecn(void *data, void *data_end,
				      const struct sg_pkt *p)
{
	__u8 *l3 = data + (p->l3_off & SG_L3_OFF_MASK);

	if ((void *)(l3 + 2) > data_end)
		return 0;
	/* IPv4: the low bits of the TOS byte; IPv6: of the traffic class,
	 * which straddles bytes 0 and 1. */
	return p->family == 4 ? l3[1] & 3 : (l3[1] >> 4) & 3;
}

/*
 * What our SYN-ACK offers: the client's options as far as this
 * namespace's TCP takes them (the handoff refuses an option whose sysctl is
 * off), and ECN as tcp_ecn_create_request grants it: only to a SYN that is
 * not itself ECT-marked, unless it sets a reserved bit. Only to a client
 * with timestamps: the cookie without them has no room for it, as with the
 * kernel's own cookies. Returns the options as the cookie carries them: the
 * low 8 bits of our TSval for a timestamp client, the cookie's data bits
 * for another (include/synguard.h); *ece says whether to answer with ECE.
 * kernel: for the kernel engine's cookie (a constant: each engine gets its
 * own code), whose caller encodes the options itself.
 */
static __always_inline __u32 sg_syn_offer(void *data, void *data_end,
					  const struct sg_pkt *p,
					  const struct tcphdr *in,
					  const struct sg_config *cfg,
					  struct sg_tcpopt *opt, int *ece,
					  int kernel)
{
	__u16 client_mss;
	__u32 mss_idx = 0;
	int i;

	if (!(cfg->tcp_sysctl & SG_SYSCTL_SACK))
		opt->sack_ok = 0;
	if (!(cfg->tcp_sysctl & SG_SYSCTL_TS))
		opt->have_ts = 0;
	if (!(cfg->tcp_sysctl & SG_SYSCTL_WS))
		opt->have_ws = 0;
	/* Kernel engine: options the kernel cannot decode are not offered
	 * (include/synguard.h, SG_SYSCTL_TS_RAW). SYNPROXY reads them from
	 * the TSecr as it is, with no per-address offset to take off. */
	if (kernel == 1 && !(cfg->tcp_sysctl & SG_SYSCTL_TS_RAW))
		opt->have_ts = 0;
	client_mss = opt->have_mss ? opt->mss
				   : (p->family == 4 ? SG_MSS4_DEFAULT
						     : SG_MSS6_DEFAULT);
	for (i = 3; i > 0; i--) {
		if (client_mss >= sg_mss_table(p->family, i)) {
			mss_idx = i;
			break;
		}
	}
	if (opt->wscale > SG_WSCALE_MAX)
		opt->wscale = SG_WSCALE_MAX;
	*ece = opt->have_ts && cfg->ecn && (cfg->tcp_sysctl & SG_SYSCTL_ECN) &&
	       in->ece && in->cwr &&
	       (!sg_ip_ecn(data, data_end, p) || in->res1);
	/* A kernel cookie keeps options only in the timestamp: without one,
	 * none, as the kernel's own cookies give. */
	if (kernel && !opt->have_ts) {
		opt->have_ws = 0;
		opt->sack_ok = 0;
	}
	if (opt->have_ts)
		return mss_idx << SG_TS_MSS_SHIFT |
		       (opt->sack_ok ? SG_TS_SACK : 0) |
		       (*ece ? SG_TS_ECN : 0) |
		       (opt->have_ws ? opt->wscale : SG_COOKIE_WS_NONE);
	return mss_idx << SG_COOKIE_MSS_SHIFT |
	       (opt->sack_ok ? SG_COOKIE_SACK : 0) |
	       sg_ws_code(opt->have_ws, opt->wscale) << SG_COOKIE_WS_SHIFT;
}

/* The reply's IP and TCP headers, built on the stack. */
union sg_synack_hdr {
	struct sg_synack4 v4;
	struct sg_synack6 v6;
};

/*
 * The SYN-ACK's cookie, and in *tsval its TSval. A timestamp client's
 * cookie is a MAC over the TSval it will echo, which carries the time and
 * the options. As a number that TSval is about the SG clock in 2^20 ns
 * units; any rate works: the kernel's socket continues from the TSval it is
 * told (rcv_tsecr). The kernel engine's cookie comes from the kernel, its
 * TSval encodes the options the way the kernel's cookie_init_timestamp
 * does. Sets flow's isn, and records that cookies are out.
 */
static __always_inline __u32
sg_synack_cookie(struct sg_flow *flow, const struct sg_config *cfg,
		 const struct sg_keys *keys, const struct sg_tcpopt *opt,
		 const struct tcphdr *in, __u32 data_bits, int ece,
		 __u32 kcookie, int kernel, __u32 *tsval)
{
	__u32 ours = opt->have_ws ? cfg->wscale : SG_COOKIE_WS_NONE, zero = 0;
	__u64 now = sg_now(cfg);
	struct sg_state *st;

	/*
	 * Cookies are out: the ACK path accepts them for their lifetime.
	 * Written once a second at most, so CPUs do not fight over it. In
	 * monitor mode too, though none went out: the ACK path then hashes
	 * a stray ACK and counts it cookie_bad as enforcing would, not
	 * cookie_none_issued. It lets nothing through either way (monitor
	 * mode passes every ACK), and after a switch to enforcing it costs
	 * at most a hash per stray ACK for one cookie lifetime.
	 */
	st = bpf_map_lookup_elem(&sg_state, &zero);
	if (st && now - st->synack_ns >= SG_NSEC_PER_SEC)
		st->synack_ns = now;
	/* The caller's flow: its isn is ours to set (the stack is tight). */
	flow->isn = bpf_ntohl(in->seq);
	if (kernel) {
		*tsval = sg_kernel_tsval(opt, ece);
		return kcookie;
	}
	if (opt->have_ts) {
		*tsval = sg_tsval_make(now, keys->current, data_bits);
		return sg_mac_ts(flow, keys, *tsval, ours);
	}
	return sg_cookie_make(flow, keys, keys->current, now, data_bits, ours);
}

/*
 * The reply's IP header and TCP options in r, for p's family. Returns the
 * TCP length; *ip_len gets the IP header's, *t the TCP part and *pseudo
 * the pseudo header's addresses summed.
 */
static __always_inline __u32
sg_synack_ip(union sg_synack_hdr *r, const struct sg_pkt *p,
	     const struct sg_flow *flow, const struct sg_config *cfg,
	     const struct sg_tcpopt *opt, __u32 tsval, __u8 ws, __u32 *ip_len,
	     struct sg_synack_tcp **t, __u64 *pseudo)
{
	__u32 tcp_len;

	if (p->family == 4) {
		*t = &r->v4.t;
		tcp_len =
			sizeof(struct tcphdr) +
			sg_synack_opts(r->v4.t.opts, cfg->mss4, opt, ws, tsval);
		*ip_len = sizeof(struct iphdr);
		r->v4.ip.version = 4;
		r->v4.ip.ihl = 5;
		r->v4.ip.tot_len = bpf_htons(*ip_len + tcp_len);
		r->v4.ip.frag_off = bpf_htons(IP_DF);
		r->v4.ip.ttl = cfg->ttl;
		r->v4.ip.protocol = IPPROTO_TCP;
		r->v4.ip.saddr = flow->daddr[0];
		r->v4.ip.daddr = flow->saddr[0];
		r->v4.ip.check = sg_csum_fold(sg_sum32(&r->v4.ip, 5));
		*pseudo = sg_sum32(&r->v4.ip.saddr, 2);
		return tcp_len;
	}
	*t = &r->v6.t;
	tcp_len = sizeof(struct tcphdr) +
		  sg_synack_opts(r->v6.t.opts, cfg->mss6, opt, ws, tsval);
	*ip_len = sizeof(struct ipv6hdr);
	r->v6.ip6.version = 6;
	r->v6.ip6.payload_len = bpf_htons(tcp_len);
	r->v6.ip6.nexthdr = IPPROTO_TCP;
	r->v6.ip6.hop_limit = cfg->ttl;
	__builtin_memcpy(&r->v6.ip6.saddr, flow->daddr, 16);
	__builtin_memcpy(&r->v6.ip6.daddr, flow->saddr, 16);
	*pseudo = sg_sum32(&r->v6.ip6.saddr, 8);
	return tcp_len;
}

/*
 * The reply r copied over the frame, which the caller cut (or grew) to
 * its len bytes after the L2 header, and the MACs swapped: XDP_TX, or a
 * verdict counted as an error.
 */
static __always_inline int sg_synack_write(struct xdp_md *ctx,
					   const struct sg_pkt *p,
					   const union sg_synack_hdr *r,
					   __u32 len, int kernel)
{
	/* Loaded after the caller's adjust_tail, which invalidated every
	 * packet pointer it had. */
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth;
	__u8 mac[ETH_ALEN];
	int nwords, i;
	__u32 *dst;

	/*
	 * Copy the headers word by word into the frame: cheaper than
	 * bpf_xdp_store_bytes (about 30 ns). Each store is bounds-checked
	 * for the verifier; the frame is exactly this long, so none fails.
	 */
	dst = data + (p->l3_off & SG_L3_OFF_MASK);
	nwords = len / 4;
	for (i = 0; i < (int)(sizeof(*r) / 4); i++) {
		if (i >= nwords)
			break;
		if ((void *)(dst + i + 1) > data_end) {
			sg_count(SG_CNT_SYNACK_ERROR);
			return XDP_DROP; /* frame half rewritten: never send */
		}
		dst[i] = ((const __u32 *)r)[i];
	}
	eth = data;
	if ((void *)(eth + 1) > data_end) {
		sg_count(SG_CNT_SYNACK_ERROR);
		return XDP_DROP;
	}
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	sg_count(kernel == SG_SYNACK_PROXY ? SG_CNT_SYN_PROXY_COOKIE
		 : kernel		   ? SG_CNT_SYN_KERNEL_COOKIE
					   : SG_CNT_SYNACK_SENT);
	return XDP_TX;
}

/*
 * Turn the SYN into our SYN-ACK in place. Everything needed from the SYN is
 * on the stack before the frame is resized, so the IPv4 options, IPv6
 * extension headers and any payload of the SYN are simply not copied: the
 * reply is Ethernet (+ the same VLAN tags) + IP + TCP + our options.
 * The kernel engine passes kernel = 1 (a constant, so that clang builds
 * each engine's code without the other's) and the kernel's cookie in
 * kcookie; keys is then unused. SG_SYNACK_PROXY: the same for a raw kernel
 * cookie that netfilter's SYNPROXY will check (sg_proxy_cookie).
 */
static __always_inline int sg_synack(struct xdp_md *ctx, struct sg_pkt *p,
				     struct sg_flow *flow,
				     const struct sg_config *cfg,
				     const struct sg_keys *keys, __u32 kcookie,
				     int kernel)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_tcpopt opt = {};
	union sg_synack_hdr r = {};
	struct sg_synack_tcp *t;
	struct tcphdr *th, in;
	__u32 data_bits, cookie, tcp_len, ip_len, tsval = 0;
	__u64 pseudo;
	int ece = 0, delta;

	th = sg_tcp(data, data_end, p);
	if (!th || sg_load_opts(ctx, p, &opt)) {
		sg_count(SG_CNT_SYNACK_ERROR); /* not reached: parse checked */
		return XDP_PASS;
	}
	in = *th;
	data_bits =
		sg_syn_offer(data, data_end, p, &in, cfg, &opt, &ece, kernel);
	cookie = sg_synack_cookie(flow, cfg, keys, &opt, &in, data_bits, ece,
				  kcookie, kernel, &tsval);
	/* SYNPROXY's backend scales its windows by its own factor, which
	 * the client must have been told: the backends', not ours. */
	tcp_len = sg_synack_ip(&r, p, flow, cfg, &opt, tsval,
			       kernel == SG_SYNACK_PROXY ? cfg->proxy_wscale
							 : cfg->wscale,
			       &ip_len, &t, &pseudo);
	sg_fill_tcp(&t->th, &in, cookie, tcp_len, ece, cfg);
	/*
	 * Checksums in software, summed inline over the stack copy: the
	 * header and all 20 option bytes whatever optlen is (the unused ones
	 * are zero and add nothing), plus the pseudo header's protocol and
	 * length. Little-endian words are fine: the one's complement sum
	 * does not care about byte order as long as it is stored the same.
	 */
	t->th.check = sg_csum_fold(pseudo + sg_sum32(t, 10) +
				   bpf_htons(IPPROTO_TCP) + bpf_htons(tcp_len));

	/*
	 * Monitor mode: counted as sent, and the SYN left as it came for the
	 * kernel to answer. Everything up to here ran as when enforcing, so
	 * the cost and the cookie state are those of enforcing too.
	 */
	if (cfg->monitor) {
		sg_count(kernel ? SG_CNT_SYN_KERNEL_COOKIE
				: SG_CNT_SYNACK_SENT);
		return XDP_PASS;
	}
	/* A Linux SYN has as many option bytes as our answer: no resize. */
	delta = (int)(p->l3_off + ip_len + tcp_len) - (int)(data_end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta)) {
		sg_count(SG_CNT_SYNACK_ERROR);
		return XDP_PASS;
	}
	return sg_synack_write(ctx, p, &r, ip_len + tcp_len, kernel);
}

#endif /* SG_SYNACK_H */
