/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The handoff to the kernel: the per-load metadata secret, the metadata
 * XDP writes in front of a validated ACK, and what TC needs to hand it to
 * bpf_sk_assign_tcp_reqsk (doc/design.md, "The handoff and its metadata").
 */
#ifndef SG_HANDOFF_H
#define SG_HANDOFF_H

/*
 * Random per load, set by attach before the object is loaded (.rodata is
 * frozen then): XDP writes it into the metadata of every ACK it validated,
 * and TC hands off only frames whose metadata carries it. Metadata that
 * came from anywhere else (a veth peer's XDP_TX, an skb's own metadata
 * under generic XDP) cannot know it.
 */
const volatile __u32 sg_meta_secret[2];

/* TC: failures of bpf_sk_assign_tcp_reqsk, indexed by -errno. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_KFUNC_ERRNO_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_kfunc_errors SEC(".maps");

/*
 * Handshakes handed off in the last SG_HANDOFF_DUP_NS, keyed by connection
 * and client ISN. A client's ACK and its first data segment both carry the
 * cookie; arriving in one batch, both reach TC before TCP has built the
 * socket from the first. A second request socket makes the kernel build a
 * duplicate child and drop it with the data, so the client waits for its
 * retransmission timeout. The second segment must instead pass as is: TCP
 * processes it after the first and finds the new socket. A retransmission
 * (200 ms or later) is outside the window and is handed off again, in case
 * the first handoff came to nothing.
 */
#define SG_HANDOFF_DUP_NS (50 * 1000 * 1000ULL)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sg_flow);
	__type(value, __u64);
} sg_handoffs SEC(".maps");

/*
 * Linux 6.9+: turns a validated ACK into a request socket of the listener.
 * Weak: on older kernels libbpf leaves it unresolved instead of refusing
 * the whole object; the kernel engine runs there and never loads the TC
 * program that calls it (its own, for --synproxy, is synguard_tc_proxy).
 */
extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *skb, struct sock *sk,
				   struct bpf_tcp_req_attrs *attrs,
				   int attrs__sz) __weak __ksym;

/* libbpf 1.2's test for a weak kfunc, for libbpf 1.1's headers. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) (!!(sym))
#endif

/*
 * Room for synguard's metadata in front of the frame, stamped with this
 * load's secret and flags; NULL (counted as cookie_meta_error) when the
 * driver leaves no headroom. Packet pointers are stale after it.
 */
static __always_inline struct sg_meta *sg_meta_push(struct xdp_md *ctx,
						    __u8 flags)
{
	struct sg_meta *m;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct sg_meta))) {
		sg_count(SG_CNT_COOKIE_META_ERROR);
		return NULL;
	}
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data) {
		sg_count(SG_CNT_COOKIE_META_ERROR);
		return NULL;
	}
	__builtin_memset(m, 0, sizeof(*m));
	m->magic = SG_META_MAGIC;
	m->flags = flags;
	m->secret[0] = sg_meta_secret[0];
	m->secret[1] = sg_meta_secret[1];
	return m;
}

/*
 * Metadata for the TC handoff of a validated ACK; its verdict. opt: the
 * ACK's options; o: what the cookie says the SYN offered; ws: the window
 * scale our SYN-ACK offered.
 */
static __always_inline int sg_write_meta(struct xdp_md *ctx,
					 const struct sg_config *cfg,
					 const struct sg_tcpopt *opt,
					 const struct sg_cookie_opts *o,
					 __u32 family, __u32 ws)
{
	struct sg_meta *m;
	/* Options whose sysctl went off since the SYN-ACK are dropped: the
	 * kfunc would refuse the handoff for them. */
	int ts = opt->have_ts && (cfg->tcp_sysctl & SG_SYSCTL_TS);

	/* Monitor mode: counted, and passed without metadata, so TC hands
	 * nothing off and the kernel judges the ACK by its own state. */
	if (cfg->monitor) {
		sg_count(SG_CNT_COOKIE_OK);
		return XDP_PASS;
	}
	m = sg_meta_push(ctx,
			 (ts ? SG_META_F_TSTAMP : 0) |
				 (o->sack && (cfg->tcp_sysctl & SG_SYSCTL_SACK)
					  ? SG_META_F_SACK
					  : 0) |
				 (o->ecn ? SG_META_F_ECN : 0));
	if (!m)
		return XDP_PASS;
	m->rcv_tsval = ts ? opt->tsval : 0;
	m->rcv_tsecr = ts ? opt->tsecr : 0;
	m->mss = sg_mss_table(family, o->mss_idx);
	if (o->snd_ws != SG_COOKIE_WS_NONE &&
	    (cfg->tcp_sysctl & SG_SYSCTL_WS)) {
		m->flags |= SG_META_F_WSCALE;
		m->snd_wscale = o->snd_ws;
		/* The one our SYN-ACK offered, as the MAC proved. */
		m->rcv_wscale = ws;
	}
	sg_count(SG_CNT_COOKIE_OK);
	return XDP_PASS;
}

/*
 * An IPv6 ACK with a valid raw cookie, for SYNPROXY: passed with metadata
 * that has TC verify its TCP checksum (bpf/proxycsum.h); its verdict.
 * Monitor mode sent no SYN-ACK, and changes no frame: no metadata.
 */
static __always_inline int sg_proxy_meta(struct xdp_md *ctx,
					 const struct sg_config *cfg)
{
	if (!cfg->monitor && !sg_meta_push(ctx, SG_META_F_PROXY))
		return XDP_PASS;
	sg_count(SG_CNT_ACK_PROXY_COOKIE_PASS);
	return XDP_PASS;
}

/*
 * A client segment of a flow SYNPROXY is still opening (SG_CT_PROXY_EARLY):
 * passed with metadata that has TC give it SG_HOLD_PRIORITY, for the hold
 * rule after conntrack. Either engine: the flow is marked only where attach
 * installed SYNPROXY's rules, and then the kernel engine loads a TC
 * program too (synguard_tc_proxy). Monitor mode changes no frame: no
 * metadata.
 */
static __always_inline int sg_proxy_early(struct xdp_md *ctx,
					  const struct sg_config *cfg)
{
	if (!cfg->monitor && !sg_meta_push(ctx, SG_META_F_HOLD))
		return XDP_PASS;
	sg_count(SG_CNT_ACK_PROXY_EARLY_PASS);
	return XDP_PASS;
}

/*
 * TC: did this load's XDP program write the metadata m in front of data?
 * Only it knows the secret (doc/design.md, "The handoff and its metadata").
 */
static __always_inline int sg_meta_ours(const struct sg_meta *m, void *data)
{
	return m->magic == SG_META_MAGIC && (void *)(m + 1) == data &&
	       m->secret[0] == sg_meta_secret[0] &&
	       m->secret[1] == sg_meta_secret[1];
}

/* TC: the kfunc's request attributes, as XDP decoded them from the cookie. */
static __always_inline void sg_req_attrs(struct bpf_tcp_req_attrs *a,
					 const struct sg_meta *m)
{
	a->mss = m->mss;
	a->rcv_tsval = m->rcv_tsval;
	a->rcv_tsecr = m->rcv_tsecr;
	a->tstamp_ok = !!(m->flags & SG_META_F_TSTAMP);
	a->sack_ok = !!(m->flags & SG_META_F_SACK);
	a->ecn_ok = !!(m->flags & SG_META_F_ECN);
	a->wscale_ok = !!(m->flags & SG_META_F_WSCALE);
	a->rcv_wscale = m->rcv_wscale;
	a->snd_wscale = m->snd_wscale;
}

/* TC: a refused handoff, counted by errno (status shows which). */
static __always_inline void sg_kfunc_error(int err)
{
	__u32 k = -err;
	__u64 *v;

	if (k >= SG_KFUNC_ERRNO_MAX)
		k = SG_KFUNC_ERRNO_MAX - 1;
	v = bpf_map_lookup_elem(&sg_kfunc_errors, &k);
	if (v)
		*v += 1;
	sg_count(SG_CNT_HANDOFF_KFUNC_ERROR);
}

/*
 * The handoff of an ACK XDP validated, whose metadata m carries the
 * options: the kernel builds a request socket under the listener from
 * them, and owns the connection from here on. flow is the ACK's.
 */
static __always_inline int sg_handoff(struct __sk_buff *skb,
				      const struct sg_meta *m,
				      struct sg_flow *flow,
				      const struct tcphdr *th)
{
	struct bpf_tcp_req_attrs attrs = {};
	struct bpf_sock_tuple tup = {};
	const struct sg_config *cfg;
	struct bpf_sock *sk;
	struct tcp_sock *tp;
	__u64 now, *last;
	__u32 tlen, zero = 0;
	int err;

	tlen = sg_tuple_fill(&tup, flow);
	/*
	 * skc, not sk: bpf_sk_lookup_tcp() returns the listener even when a
	 * request socket exists, and assigning a second one creates a bogus
	 * child (doc/design.md, "The socket lookup on a SYN").
	 */
	sk = bpf_skc_lookup_tcp(skb, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk) {
		sg_count(SG_CNT_HANDOFF_NO_LISTENER);
		return TC_ACT_UNSPEC;
	}
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_HANDOFF_EXISTS);
		return TC_ACT_UNSPEC;
	}
	/* The kfunc takes a full socket; the verifier rejects sock_common. */
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_HANDOFF_KFUNC_ERROR);
		return TC_ACT_UNSPEC;
	}
	flow->isn = bpf_ntohl(th->seq) - 1;
	now = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&sg_handoffs, flow);
	if (last && now - *last < SG_HANDOFF_DUP_NS) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_HANDOFF_DUP);
		return TC_ACT_UNSPEC;
	}
	sg_req_attrs(&attrs, m);
	err = bpf_sk_assign_tcp_reqsk(skb, (struct sock *)tp, &attrs,
				      sizeof(attrs));
	bpf_sk_release(sk);
	if (err) {
		sg_kfunc_error(err);
		return TC_ACT_UNSPEC;
	}
	bpf_map_update_elem(&sg_handoffs, flow, &now, BPF_ANY);
	/* Keep conntrack off this ACK: NAT would orphan the request socket
	 * (include/synguard.h, SG_NF_NOTRACK). */
	cfg = bpf_map_lookup_elem(&sg_config, &zero);
	if (cfg && (cfg->nf & SG_NF_NOTRACK))
		skb->priority = SG_NOTRACK_PRIORITY;
	sg_count(SG_CNT_HANDOFF_OK);
	return TC_ACT_OK;
}

#endif /* SG_HANDOFF_H */
