// SPDX-License-Identifier: GPL-2.0
/*
 * synguard's BPF programs. XDP: answers SYNs to protected ports with cookie
 * SYN-ACKs (XDP_TX), validates the returning ACKs and marks valid ones with
 * metadata; applies the lists, per-source limits and cookies auto. TC
 * ingress: hands marked ACKs to the kernel (bpf_sk_assign_tcp_reqsk).
 * Everything else passes untouched. Every frame the XDP program sees
 * increments exactly one verdict counter (include/synguard.h, SG_COUNTERS).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "synguard.h"
#include "parse.h"
#include "cookie.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Random per load, set by attach before the object is loaded (.rodata is
 * frozen then): XDP writes it into the metadata of every ACK it validated,
 * and TC hands off only frames whose metadata carries it. Metadata that
 * came from anywhere else (a veth peer's XDP_TX, an skb's own metadata
 * under generic XDP) cannot know it.
 */
const volatile __u32 sg_meta_secret[2];

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_keys);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_ports);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_counters SEC(".maps");

/* TC: failures of bpf_sk_assign_tcp_reqsk, indexed by -errno. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_KFUNC_ERRNO_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_kfunc_errors SEC(".maps");

/* Cookies auto: state (read by `status`) and per-CPU SYN counts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_state SEC(".maps");

struct sg_rate_cpu {
	__u64 win; /* window number: ktime >> SG_RATE_SHIFT */
	__u32 cur; /* SYNs in window win */
	__u32 prev; /* SYNs in window win - 1 */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_rate_cpu);
} sg_rate SEC(".maps");

/* Bounds the loop over CPUs; the lookup stops at the last possible one. */
#define SG_MAX_CPUS 256

#define SG_LPM_MAP(name, keytype)                                              \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                           \
		__uint(max_entries, SG_LIST_MAX);                              \
		__type(key, keytype);                                          \
		__type(value, __u32);                                          \
		__uint(map_flags, BPF_F_NO_PREALLOC);                          \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                           \
	} name SEC(".maps")

SG_LPM_MAP(sg_allow4, struct sg_lpm4);
SG_LPM_MAP(sg_allow6, struct sg_lpm6);
SG_LPM_MAP(sg_deny4, struct sg_lpm4);
SG_LPM_MAP(sg_deny6, struct sg_lpm6);

/* Per-source buckets: SG_DEFAULT_SRC_TABLE entries, whatever the number of
 * sources (LRU: the least recently seen make room). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_DEFAULT_SRC_TABLE);
	__type(key, struct sg_src_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_src SEC(".maps");

/* Written and read by user space only (include/synguard.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_info SEC(".maps");

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

/* Linux 6.9+: turns a validated ACK into a request socket of the listener. */
extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *skb, struct sock *sk,
				   struct bpf_tcp_req_attrs *attrs,
				   int attrs__sz) __ksym;

/*
 * The MSS tables (include/synguard.h) as a function, not static const
 * arrays: clang folds those away but leaves an empty .rodata section in BTF,
 * which bpftool 7.1's skeleton generator refuses.
 */
static __always_inline __u16 sg_mss_table(int family, __u32 idx)
{
	__u64 t = family == 4 ? SG_MSS4_PACKED : SG_MSS6_PACKED;

	return t >> ((idx & 3) * 16);
}

/* Per-CPU slot, so no atomics: XDP runs in softirq, one packet at a time. */
static __always_inline void sg_count(enum sg_counter c)
{
	__u32 k = c;
	__u64 *v = bpf_map_lookup_elem(&sg_counters, &k);

	if (v)
		*v += 1;
}

static __always_inline int sg_port_protected(__u16 port)
{
	__u32 zero = 0;
	struct sg_ports *p = bpf_map_lookup_elem(&sg_ports, &zero);

	if (!p)
		return 0;
	return (p->bits[(port >> 6) & 1023] >> (port & 63)) & 1;
}

static __always_inline __u16 sg_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s;
}

/* One's complement sum of n 32-bit words; n is constant: unrolled. */
static __always_inline __u64 sg_sum32(const void *p, int n)
{
	const __u32 *w = p;
	__u64 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		s += w[i];
	return s;
}

/* Time counter and TSval clock: TAI, so that hosts sharing a key agree. */
static __always_inline __u32 sg_counter_now(__u64 tai)
{
	return tai >> SG_PERIOD_SHIFT;
}

/* The connection's addresses and ports; -1 if the frame is too short. */
static __always_inline int sg_flow_fill(struct sg_flow *f, void *data,
					void *data_end, const struct sg_pkt *p,
					const struct tcphdr *th, __u32 isn)
{
	f->family = p->family;
	f->sport = th->source;
	f->dport = th->dest;
	f->isn = isn;
	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & 0xff);

		if ((void *)(ip + 1) > data_end)
			return -1;
		f->saddr[0] = ip->saddr;
		f->daddr[0] = ip->daddr;
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & 0xff);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		__builtin_memcpy(f->saddr, &ip6->saddr, 16);
		__builtin_memcpy(f->daddr, &ip6->daddr, 16);
	}
	return 0;
}

/* The socket lookup key of a flow, as the receiving host sees it. */
static __always_inline __u32 sg_tuple_fill(struct bpf_sock_tuple *t,
					   const struct sg_flow *f)
{
	if (f->family == 4) {
		t->ipv4.saddr = f->saddr[0];
		t->ipv4.daddr = f->daddr[0];
		t->ipv4.sport = f->sport;
		t->ipv4.dport = f->dport;
		return sizeof(t->ipv4);
	}
	__builtin_memcpy(t->ipv6.saddr, f->saddr, 16);
	__builtin_memcpy(t->ipv6.daddr, f->daddr, 16);
	t->ipv6.sport = f->sport;
	t->ipv6.dport = f->dport;
	return sizeof(t->ipv6);
}

/* Copy the options to the stack and parse them: -1 if malformed. */
static __always_inline int sg_load_opts(struct xdp_md *ctx,
					const struct sg_pkt *p,
					struct sg_tcpopt *o)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = p->tcp_len - sizeof(struct tcphdr);
	struct sg_optwalk w;

	if (len == 0)
		return 0;
	/* Masks keep the offset provably small for the verifier. */
	if (sg_opts_fast(data + (p->l4_off & 0x1ff) + sizeof(struct tcphdr),
			 data_end, len, o))
		return 0;
	/* Zeroed only now: the walk reads the whole buffer's slots. */
	__builtin_memset(&w, 0, sizeof(w));
	w.len = len;
	/* The helper needs a provable bound: doff <= 15 gives 40. */
	if (w.len > TCP_MAX_OPTLEN ||
	    bpf_xdp_load_bytes(ctx, p->l4_off + sizeof(struct tcphdr), w.b,
			       w.len))
		return -1;
	if (sg_parse_opts(&w))
		return -1;
	*o = w.o;
	return 0;
}

/* ---- allow and deny lists ---- */

enum { SG_LIST_NONE, SG_LIST_ALLOW, SG_LIST_DENY };

/*
 * The longest matching prefix decides: "deny 10.0.0.0/8, allow 10.1.2.3"
 * does what it says. On equal prefixes deny wins. Only tries marked in
 * cfg->lists are looked up.
 */
static __always_inline int sg_list_match(const struct sg_flow *f,
					 __u8 lists)
{
	__u32 *a = NULL, *d = NULL;

	if (f->family == 4) {
		struct sg_lpm4 k = { .prefixlen = 32 };

		if (!(lists & (SG_LISTS_ALLOW4 | SG_LISTS_DENY4)))
			return SG_LIST_NONE;
		__builtin_memcpy(k.addr, &f->saddr[0], 4);
		if (lists & SG_LISTS_ALLOW4)
			a = bpf_map_lookup_elem(&sg_allow4, &k);
		if (lists & SG_LISTS_DENY4)
			d = bpf_map_lookup_elem(&sg_deny4, &k);
	} else {
		struct sg_lpm6 k = { .prefixlen = 128 };

		if (!(lists & (SG_LISTS_ALLOW6 | SG_LISTS_DENY6)))
			return SG_LIST_NONE;
		__builtin_memcpy(k.addr, f->saddr, 16);
		if (lists & SG_LISTS_ALLOW6)
			a = bpf_map_lookup_elem(&sg_allow6, &k);
		if (lists & SG_LISTS_DENY6)
			d = bpf_map_lookup_elem(&sg_deny6, &k);
	}
	if (d && (!a || *d >= *a))
		return SG_LIST_DENY;
	if (a)
		return SG_LIST_ALLOW;
	return SG_LIST_NONE;
}

/* ---- per-source limits ---- */

/* Network-order mask of the first `bits` bits of a 32-bit word. */
static __always_inline __u32 sg_mask32(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(~0u << (32 - bits));
}

/*
 * One token bucket per (masked) source, as GCRA: the value is the
 * theoretical arrival time of the next packet. A packet may come up to
 * (burst - 1) intervals early. Updates race between CPUs without atomics;
 * the worst case is a few packets more than the limit, never fewer.
 */
static __always_inline int sg_src_allow(const struct sg_flow *f, __u8 kind,
					const struct sg_config *cfg,
					__u32 rate, __u32 burst)
{
	struct sg_src_key k = { .family = f->family, .kind = kind };
	__u64 now = bpf_ktime_get_ns(), interval, tolerance, tat, *v;
	int prefix = f->family == 4 ? cfg->src_prefix4 : cfg->src_prefix6;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		k.addr[i] = f->saddr[i] & sg_mask32(prefix - 32 * i);
	interval = 1000000000ULL / rate;
	tolerance = interval * (burst > 1 ? burst - 1 : 0);
	v = bpf_map_lookup_elem(&sg_src, &k);
	if (!v) {
		tat = now + interval;
		bpf_map_update_elem(&sg_src, &k, &tat, BPF_ANY);
		return 1;
	}
	tat = *v > now ? *v : now;
	if (tat - now > tolerance)
		return 0;
	*v = tat + interval;
	return 1;
}

/* ---- cookies auto: the SYN rate ---- */

/*
 * Add this SYN to the CPU's window count. When a CPU starts a new window it
 * sums the last complete window of every CPU (the only cross-CPU work, once
 * per window per CPU) and moves the engaged state. Returns whether cookies
 * are on for this SYN.
 */
static __always_inline int sg_rate_update(const struct sg_config *cfg)
{
	/* The coarse clock (a few ms of resolution) is plenty for 134 ms
	 * windows and costs a fraction of a precise read. */
	__u64 now = bpf_ktime_get_coarse_ns(), win = now >> SG_RATE_SHIFT;
	__u64 sum = 0;
	struct sg_rate_cpu *r;
	struct sg_state *st;
	__u32 zero = 0, rate, c;

	r = bpf_map_lookup_elem(&sg_rate, &zero);
	st = bpf_map_lookup_elem(&sg_state, &zero);
	if (!r || !st)
		return 1; /* not reached; fail towards protection */
	if (r->win == win) {
		r->cur++;
		goto out;
	}
	r->prev = r->win + 1 == win ? r->cur : 0;
	r->cur = 1;
	r->win = win;

	for (c = 0; c < SG_MAX_CPUS; c++) {
		struct sg_rate_cpu *o;

		o = bpf_map_lookup_percpu_elem(&sg_rate, &zero, c);
		if (!o)
			break; /* past the last possible CPU */
		if (o->win == win)
			sum += o->prev;
		else if (o->win + 1 == win)
			sum += o->cur;
	}
	rate = (sum * 1000000000ULL) >> SG_RATE_SHIFT;
	st->rate = rate;
	st->measured_ns = now;
	if (rate >= cfg->syn_rate_off)
		st->above_ns = now;
	/* Transitions mean something only in auto mode; the rate is kept
	 * in both for `status`. */
	if (cfg->cookies != SG_COOKIES_AUTO)
		goto out;
	if (!st->engaged && rate >= cfg->syn_rate_on) {
		st->engaged = 1;
		st->changed_ns = now;
		sg_count(SG_CNT_COOKIES_ENGAGED);
	} else if (st->engaged && rate < cfg->syn_rate_off &&
		   now - st->above_ns >= (__u64)cfg->hold_time * 1000000000ULL) {
		st->engaged = 0;
		st->changed_ns = now;
		sg_count(SG_CNT_COOKIES_DISENGAGED);
	}
out:
	return cfg->cookies == SG_COOKIES_ALWAYS || st->engaged;
}

/* Does the kernel have a socket of this very connection (not a listener)? */
static __always_inline int sg_has_socket(struct xdp_md *ctx,
					 const struct sg_flow *f)
{
	struct bpf_sock_tuple tup = {};
	struct bpf_sock *sk;
	__u32 tlen = sg_tuple_fill(&tup, f);
	int own;

	sk = bpf_skc_lookup_tcp(ctx, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	own = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return own;
}

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

/*
 * Turn the SYN into our SYN-ACK in place. Everything needed from the SYN is
 * on the stack before the frame is resized, so the IPv4 options, IPv6
 * extension headers and any payload of the SYN are simply not copied: the
 * reply is Ethernet (+ the same VLAN tags) + IP + TCP + our options.
 */
static __always_inline int sg_handle_syn(struct xdp_md *ctx, struct sg_pkt *p,
					 struct sg_flow *flow_in,
					 const struct sg_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_tcpopt opt = {};
	const struct sg_keys *keys;
	struct sg_flow flow = *flow_in;
	struct tcphdr *th, in;
	union {
		struct sg_synack4 v4;
		struct sg_synack6 v6;
	} r = {};
	struct sg_synack_tcp *t;
	struct sg_state *st;
	__u32 zero = 0, data_bits, mss_idx = 0, cookie, tcp_len, ip_len;
	__u32 optlen, *dst;
	int nwords;
	__u16 client_mss;
	__u64 tai, pseudo;
	struct ethhdr *eth;
	__u8 mac[ETH_ALEN];
	int ece = 0, i, delta;

	keys = bpf_map_lookup_elem(&sg_keys, &zero);
	if (!keys || !keys->valid[keys->current & 1]) {
		sg_count(SG_CNT_SYN_NO_KEY);
		return XDP_PASS;
	}
	th = sg_tcp(data, data_end, p);
	if (!th)
		return XDP_PASS; /* not reached: sg_parse checked it */
	in = *th;
	if (sg_load_opts(ctx, p, &opt)) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}

	client_mss = opt.have_mss ? opt.mss :
		     (p->family == 4 ? SG_MSS4_DEFAULT : SG_MSS6_DEFAULT);
	for (i = 3; i > 0; i--) {
		if (client_mss >= sg_mss_table(p->family, i)) {
			mss_idx = i;
			break;
		}
	}
	if (opt.wscale > SG_WSCALE_MAX)
		opt.wscale = SG_WSCALE_MAX;
	if (cfg->ecn && in.ece && in.cwr)
		ece = 1;
	data_bits = mss_idx | (opt.sack_ok ? SG_COOKIE_SACK : 0) |
		    (ece ? SG_COOKIE_ECN : 0) |
		    (opt.have_ws ? opt.wscale : SG_COOKIE_WS_NONE)
			    << SG_COOKIE_WS_SHIFT;

	tai = bpf_ktime_get_tai_ns();
	/* Cookies are out: the ACK path accepts them for their lifetime.
	 * Written once a second at most, so CPUs do not fight over it. */
	st = bpf_map_lookup_elem(&sg_state, &zero);
	if (st && tai - st->synack_tai >= 1000000000ULL)
		st->synack_tai = tai;
	flow.isn = bpf_ntohl(in.seq);
	cookie = sg_cookie_make(&flow, keys->key[keys->current & 1],
				keys->current & 1, sg_counter_now(tai),
				data_bits);

	/* TSval: TAI in units of 2^20 ns (about 1 ms): a shift, not a
	 * division. Any rate works: the kernel's socket continues from the
	 * TSval it is told (rcv_tsecr) with its own clock. */
	if (p->family == 4) {
		t = &r.v4.t;
		optlen = sg_synack_opts(t->opts, cfg->mss4, &opt, cfg->wscale,
					tai >> 20);
		tcp_len = sizeof(struct tcphdr) + optlen;
		ip_len = sizeof(struct iphdr);
		r.v4.ip.version = 4;
		r.v4.ip.ihl = 5;
		r.v4.ip.tot_len = bpf_htons(ip_len + tcp_len);
		r.v4.ip.frag_off = bpf_htons(IP_DF);
		r.v4.ip.ttl = cfg->ttl;
		r.v4.ip.protocol = IPPROTO_TCP;
		r.v4.ip.saddr = flow.daddr[0];
		r.v4.ip.daddr = flow.saddr[0];
		r.v4.ip.check = sg_csum_fold(sg_sum32(&r.v4.ip, 5));
		pseudo = sg_sum32(&r.v4.ip.saddr, 2);
	} else {
		t = &r.v6.t;
		optlen = sg_synack_opts(t->opts, cfg->mss6, &opt, cfg->wscale,
					tai >> 20);
		tcp_len = sizeof(struct tcphdr) + optlen;
		ip_len = sizeof(struct ipv6hdr);
		r.v6.ip6.version = 6;
		r.v6.ip6.payload_len = bpf_htons(tcp_len);
		r.v6.ip6.nexthdr = IPPROTO_TCP;
		r.v6.ip6.hop_limit = cfg->ttl;
		__builtin_memcpy(&r.v6.ip6.saddr, flow.daddr, 16);
		__builtin_memcpy(&r.v6.ip6.daddr, flow.saddr, 16);
		pseudo = sg_sum32(&r.v6.ip6.saddr, 8);
	}
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

	/* A Linux SYN has as many option bytes as our answer: no resize. */
	delta = (int)(p->l3_off + ip_len + tcp_len) - (int)(data_end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta)) {
		sg_count(SG_CNT_SYNACK_ERROR);
		return XDP_PASS;
	}
	/* adjust_tail invalidated every packet pointer: reload. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/*
	 * Copy the headers word by word into the frame: cheaper than
	 * bpf_xdp_store_bytes (about 30 ns). Each store is bounds-checked
	 * for the verifier; the frame is exactly this long, so none fails.
	 * The mask keeps the offset (14, 18 or 22) provably small.
	 */
	dst = data + (p->l3_off & 0x1f);
	nwords = (ip_len + tcp_len) / 4;
	for (i = 0; i < (int)(sizeof(r) / 4); i++) {
		if (i >= nwords)
			break;
		if ((void *)(dst + i + 1) > data_end) {
			sg_count(SG_CNT_SYNACK_ERROR);
			return XDP_DROP; /* frame half rewritten: never send */
		}
		dst[i] = ((const __u32 *)&r)[i];
	}
	eth = data;
	if ((void *)(eth + 1) > data_end) {
		sg_count(SG_CNT_SYNACK_ERROR);
		return XDP_DROP;
	}
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	sg_count(SG_CNT_SYNACK_SENT);
	return XDP_TX;
}

/*
 * An ACK to a protected port. The kernel's socket is looked up first: an
 * established-flow packet (the common case by far) then costs one socket
 * lookup and no hash, and never risks being mistaken for a cookie. Only an
 * ACK the kernel has no socket for pays for the SipHash; an ACK flood pays
 * both, which is still far below what it costs the kernel.
 */
static __always_inline int sg_handle_ack(struct xdp_md *ctx, struct sg_pkt *p,
					 struct sg_flow *flow_in,
					 const struct sg_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_sock_tuple tup = {};
	struct sg_tcpopt opt = {};
	const struct sg_keys *keys;
	struct sg_flow flow = *flow_in;
	struct bpf_sock *sk;
	struct tcphdr *th;
	struct sg_meta *m;
	struct sg_state *st;
	__u32 zero = 0, tlen, cookie, data_bits;
	enum sg_cookie_result res;
	__u64 tai;

	th = sg_tcp(data, data_end, p);
	if (!th)
		return XDP_PASS;
	flow.isn = bpf_ntohl(th->seq) - 1;
	cookie = bpf_ntohl(th->ack_seq) - 1;

	tlen = sg_tuple_fill(&tup, &flow);
	sk = bpf_skc_lookup_tcp(ctx, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	/* A listener matches any 4-tuple: only a socket of this connection
	 * (established, request or time-wait) means the kernel owns it. */
	if (sk && sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_ACK_ESTABLISHED_PASS);
		return XDP_PASS;
	}

	keys = bpf_map_lookup_elem(&sg_keys, &zero);
	st = bpf_map_lookup_elem(&sg_state, &zero);
	tai = bpf_ktime_get_tai_ns();
	res = SG_COOKIE_INVALID;
	/*
	 * A random ACK matches some cookie with probability 2^-20, and a
	 * match becomes a real kernel connection. Unless this host sent a
	 * cookie that could still be valid (lifetime, one period of age
	 * rounding, one of skew, and the second to which synack_tai is
	 * kept), no ACK can carry one: refuse without hashing. An ACK flood
	 * on its own then gets nothing through, and costs less.
	 */
	if (st && tai - st->synack_tai > (__u64)cfg->cookie_lifetime *
						 1000000000ULL +
					 (2ULL << SG_PERIOD_SHIFT) +
					 1000000000ULL)
		res = SG_COOKIE_NONE_ISSUED;
	else if (keys)
		res = sg_cookie_check(&flow, keys, cookie, sg_counter_now(tai),
				      ((__u64)cfg->cookie_lifetime *
				       1000000000ULL) >> SG_PERIOD_SHIFT);
	if (res != SG_COOKIE_VALID && sk) {
		/*
		 * Not ours, but the listener may have answered a SYN that
		 * reached it (no key yet, SYN-ACK not buildable) with a
		 * syncookie of its own when its queue overflowed: let the
		 * kernel have those ACKs. The helper returns at once unless
		 * the listener overflowed recently.
		 */
		void *iph = data + (p->l3_off & 0xff);
		__u32 iph_len = p->family == 4 ? sizeof(struct iphdr) :
						 sizeof(struct ipv6hdr);
		long kc = -1;

		if (iph + iph_len <= data_end)
			kc = bpf_tcp_check_syncookie(sk, iph, iph_len, th,
						     sizeof(*th));
		bpf_sk_release(sk);
		if (kc == 0) {
			sg_count(SG_CNT_ACK_KERNEL_COOKIE_PASS);
			return XDP_PASS;
		}
	} else if (sk) {
		bpf_sk_release(sk);
	}
	if (res == SG_COOKIE_INVALID) {
		sg_count(SG_CNT_COOKIE_BAD);
		return XDP_DROP;
	}
	if (res == SG_COOKIE_TOO_OLD) {
		sg_count(SG_CNT_COOKIE_EXPIRED);
		return XDP_DROP;
	}
	if (res == SG_COOKIE_NONE_ISSUED) {
		sg_count(SG_CNT_COOKIE_NONE_ISSUED);
		return XDP_DROP;
	}

	if (cfg->src_ack_rate &&
	    !sg_src_allow(&flow, SG_SRC_ACK, cfg, cfg->src_ack_rate,
			  cfg->src_ack_burst)) {
		sg_count(SG_CNT_ACK_SRC_LIMITED);
		return XDP_DROP;
	}
	if (sg_load_opts(ctx, p, &opt)) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct sg_meta))) {
		sg_count(SG_CNT_COOKIE_META_ERROR);
		return XDP_PASS;
	}
	data = (void *)(long)ctx->data;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > data) {
		sg_count(SG_CNT_COOKIE_META_ERROR);
		return XDP_PASS;
	}
	data_bits = cookie & SG_COOKIE_DATA_MASK;
	m->magic = SG_META_MAGIC;
	m->rcv_tsval = opt.tsval;
	m->rcv_tsecr = opt.tsecr;
	m->mss = sg_mss_table(p->family, data_bits & SG_COOKIE_MSS_MASK);
	m->flags = (opt.have_ts ? SG_META_F_TSTAMP : 0) |
		   (data_bits & SG_COOKIE_SACK ? SG_META_F_SACK : 0) |
		   (data_bits & SG_COOKIE_ECN ? SG_META_F_ECN : 0);
	m->rcv_wscale = 0;
	m->snd_wscale = 0;
	if (((data_bits >> SG_COOKIE_WS_SHIFT) & SG_COOKIE_WS_MASK) !=
	    SG_COOKIE_WS_NONE) {
		m->flags |= SG_META_F_WSCALE;
		m->snd_wscale = (data_bits >> SG_COOKIE_WS_SHIFT) &
				SG_COOKIE_WS_MASK;
		/* XXX: if wscale was changed by `config` between our SYN-ACK
		 * and this ACK, the client uses the old value. */
		m->rcv_wscale = cfg->wscale;
	}
	m->pad[0] = m->pad[1] = m->pad[2] = 0;
	m->secret[0] = sg_meta_secret[0];
	m->secret[1] = sg_meta_secret[1];
	sg_count(SG_CNT_COOKIE_OK);
	return XDP_PASS;
}

SEC("xdp")
int synguard_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct sg_config *cfg;
	struct sg_flow flow = {};
	struct sg_pkt p = {};
	struct tcphdr *th;
	__u32 zero = 0;
	int list, engaged;
	__u8 fl;

	switch (sg_parse(data, data_end, &p)) {
	case SG_PARSE_TCP:
		break;
	case SG_PARSE_FRAGMENT:
		sg_count(SG_CNT_FRAGMENT_PASS);
		return XDP_PASS;
	case SG_PARSE_UNPARSED:
		sg_count(SG_CNT_UNPARSED_PASS);
		return XDP_PASS;
	case SG_PARSE_MALFORMED:
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	default:
		sg_count(SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}

	th = sg_tcp(data, data_end, &p);
	if (!th) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	if (!sg_port_protected(bpf_ntohs(th->dest))) {
		sg_count(SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
	p.tcp_len = th->doff * 4;
	if (p.tcp_len < sizeof(*th) || data + p.l4_off + p.tcp_len > data_end ||
	    p.l4_off + p.tcp_len > p.ip_end ||
	    sg_flow_fill(&flow, data, data_end, &p, th, 0)) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	cfg = bpf_map_lookup_elem(&sg_config, &zero);
	if (!cfg) { /* not reached: an array entry always exists */
		sg_count(SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
	list = sg_list_match(&flow, cfg->lists);
	if (list == SG_LIST_DENY) {
		sg_count(SG_CNT_DENY_DROP);
		return XDP_DROP;
	}

	fl = ((__u8 *)th)[13];
	if ((fl & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN)) == TCPF_SYN) {
		sg_count(SG_CNT_SYN_RECEIVED);
		if (list == SG_LIST_ALLOW) {
			sg_count(SG_CNT_SYN_ALLOW_PASS);
			return XDP_PASS;
		}
		engaged = sg_rate_update(cfg);
		if (cfg->src_syn_rate &&
		    !sg_src_allow(&flow, SG_SRC_SYN, cfg, cfg->src_syn_rate,
				  cfg->src_syn_burst)) {
			sg_count(SG_CNT_SYN_SRC_LIMITED);
			return XDP_DROP;
		}
		if (!engaged) {
			sg_count(SG_CNT_SYN_DISENGAGED_PASS);
			return XDP_PASS;
		}
		return sg_handle_syn(ctx, &p, &flow, cfg);
	}
	if ((fl & TCPF_SYN) && (fl & (TCPF_RST | TCPF_FIN))) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	if ((fl & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_ACK)
		return sg_handle_ack(ctx, &p, &flow, cfg);
	/* SYN-ACK, RST or FIN (no ACK): backscatter unless a socket wants it. */
	if ((fl & (TCPF_SYN | TCPF_RST | TCPF_FIN)) && cfg->reflection_drop &&
	    !sg_has_socket(ctx, &flow)) {
		sg_count(SG_CNT_REFLECTION_DROP);
		return XDP_DROP;
	}
	sg_count(SG_CNT_OTHER_PASS);
	return XDP_PASS;
}

/*
 * TC ingress: the kernel handoff. Reads the metadata XDP wrote for a
 * cookie-validated ACK, finds the listener and asks the kernel to build the
 * connection from the decoded options. A frame without synguard metadata is
 * not touched: TC never acts on traffic XDP did not mark. Frames it does
 * not hand off return TC_ACT_UNSPEC, so later filters still see them (OK
 * would end classification).
 */
SEC("tc")
int synguard_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sg_meta *m = (void *)(long)skb->data_meta;
	struct bpf_tcp_req_attrs attrs = {};
	struct bpf_sock_tuple tup = {};
	struct sg_flow flow = {};
	struct sg_pkt p = {};
	struct bpf_sock *sk;
	struct tcp_sock *tp;
	struct tcphdr *th;
	__u64 now, *last;
	__u32 tlen, k;
	int err;

	if ((void *)m == data)
		return TC_ACT_UNSPEC;
	/* A separate '>' test: the verifier learns the bound only from it. */
	if ((void *)(m + 1) > data) {
		sg_count(SG_CNT_HANDOFF_META_BAD);
		return TC_ACT_UNSPEC;
	}
	if (m->magic != SG_META_MAGIC || (void *)(m + 1) != data ||
	    m->secret[0] != sg_meta_secret[0] ||
	    m->secret[1] != sg_meta_secret[1]) {
		sg_count(SG_CNT_HANDOFF_META_BAD);
		return TC_ACT_UNSPEC;
	}
	if (sg_parse(data, data_end, &p) != SG_PARSE_TCP ||
	    !(th = sg_tcp(data, data_end, &p)) ||
	    sg_flow_fill(&flow, data, data_end, &p, th, 0)) {
		sg_count(SG_CNT_HANDOFF_META_BAD);
		return TC_ACT_UNSPEC;
	}
	tlen = sg_tuple_fill(&tup, &flow);
	/*
	 * skc, not sk: bpf_sk_lookup_tcp() returns the listener even when a
	 * request socket exists, and assigning a second one creates a bogus
	 * child (see DESIGN.md).
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
	flow.isn = bpf_ntohl(th->seq) - 1;
	now = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&sg_handoffs, &flow);
	if (last && now - *last < SG_HANDOFF_DUP_NS) {
		bpf_sk_release(sk);
		sg_count(SG_CNT_HANDOFF_DUP);
		return TC_ACT_UNSPEC;
	}
	attrs.mss = m->mss;
	attrs.rcv_tsval = m->rcv_tsval;
	attrs.rcv_tsecr = m->rcv_tsecr;
	attrs.tstamp_ok = !!(m->flags & SG_META_F_TSTAMP);
	attrs.sack_ok = !!(m->flags & SG_META_F_SACK);
	attrs.ecn_ok = !!(m->flags & SG_META_F_ECN);
	attrs.wscale_ok = !!(m->flags & SG_META_F_WSCALE);
	attrs.rcv_wscale = m->rcv_wscale;
	attrs.snd_wscale = m->snd_wscale;
	err = bpf_sk_assign_tcp_reqsk(skb, (struct sock *)tp, &attrs,
				      sizeof(attrs));
	bpf_sk_release(sk);
	if (err) {
		__u64 *v;

		k = -err;
		if (k >= SG_KFUNC_ERRNO_MAX)
			k = SG_KFUNC_ERRNO_MAX - 1;
		v = bpf_map_lookup_elem(&sg_kfunc_errors, &k);
		if (v)
			*v += 1;
		sg_count(SG_CNT_HANDOFF_KFUNC_ERROR);
		return TC_ACT_UNSPEC;
	}
	bpf_map_update_elem(&sg_handoffs, &flow, &now, BPF_ANY);
	sg_count(SG_CNT_HANDOFF_OK);
	return TC_ACT_OK;
}
