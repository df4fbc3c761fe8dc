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
	__u32 isn; /* client's ISN */
	__u32 ack; /* cookie + 1: the ack number of every segment */
	__u64 until; /* SG clock */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sg_flow);
	__type(value, struct sg_recent);
} sg_recent SEC(".maps");

/*
 * A SYN's payload (TCP Fast Open data) is summed in a per-CPU copy: the
 * checksum helper cannot take a packet range of variable length. Larger
 * SYN payloads are not verified, and dropped (syn_bad_csum).
 */
#define SG_SYN_DATA_MAX 2048
#define SG_SCRATCH_MASK 4095

struct sg_scratch {
	__u8 b[SG_SCRATCH_MASK + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_scratch);
} sg_scratch SEC(".maps");

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

#define NSEC_PER_SEC 1000000000ULL

/* The SG clock (include/synguard.h): REALTIME, which a fleet agrees on. */
static __always_inline __u64 sg_now(const struct sg_config *cfg)
{
	return bpf_ktime_get_tai_ns() - cfg->tai_offset_ns;
}

/* Time counter of cookies, from the SG clock. */
static __always_inline __u32 sg_counter_now(__u64 now)
{
	return now >> SG_PERIOD_SHIFT;
}

/* Are cookies on? For frames that are not SYNs, which do not move it. */
static __always_inline int sg_cookies_on(const struct sg_config *cfg)
{
	struct sg_state *st;
	__u32 zero = 0;

	if (cfg->cookies == SG_COOKIES_ALWAYS)
		return 1;
	st = bpf_map_lookup_elem(&sg_state, &zero);
	return !st || st->engaged; /* no state: fail towards protection */
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
		struct iphdr *ip = data + (p->l3_off & SG_L3_OFF_MASK);

		if ((void *)(ip + 1) > data_end)
			return -1;
		f->saddr[0] = ip->saddr;
		f->daddr[0] = ip->daddr;
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & SG_L3_OFF_MASK);

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

/*
 * Verifier: for a v the caller checked to be in [1, max], max a power of
 * two, returns v unchanged but provably in that range, as a helper's size
 * argument must be. The barrier keeps clang from dropping the arithmetic
 * as redundant and passing the caller's unchecked 64-bit register.
 */
static __always_inline __u32 sg_size_bound(__u32 v, __u32 max)
{
	asm volatile("" : "+r"(v));
	return ((v - 1) & (max - 1)) + 1;
}

/*
 * The general option walk, for layouts sg_opts_fast does not know. A
 * subprogram, not inlined: its 64-byte buffer then lives in a stack frame
 * of its own instead of adding to the entry point's 512 bytes at every
 * call site.
 */
static __noinline int sg_load_opts_slow(struct xdp_md *ctx, __u32 off,
					__u32 len, struct sg_tcpopt *o)
{
	struct sg_optwalk w;

	if (!len || len > TCP_MAX_OPTLEN)
		return -1;
	/* Zeroed: the walk reads the whole buffer's slots. */
	__builtin_memset(&w, 0, sizeof(w));
	w.len = sg_size_bound(len, SG_OPTBUF);
	if (bpf_xdp_load_bytes(ctx, off, w.b, w.len))
		return -1;
	if (sg_parse_opts(&w))
		return -1;
	*o = w.o;
	return 0;
}

/* The TCP options as the kernel reads them; -1 only if they cannot be. */
static __always_inline int sg_load_opts(struct xdp_md *ctx,
					const struct sg_pkt *p,
					struct sg_tcpopt *o)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = p->tcp_len - sizeof(struct tcphdr);

	if (len == 0)
		return 0;
	if (sg_opts_fast(data + (p->l4_off & SG_L4_OFF_MASK) +
				 sizeof(struct tcphdr),
			 data_end, len, o))
		return 0;
	return sg_load_opts_slow(ctx, p->l4_off + sizeof(struct tcphdr), len,
				 o);
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
struct sg_rate_sum {
	__u64 win; /* the current window */
	__u64 sum; /* SYNs of every CPU in the last complete window */
};

/*
 * One CPU's last complete window. A bpf_loop() callback: the verifier
 * checks it once, where a plain loop over 256 CPUs was walked again on
 * every path into it, past the 1M-instruction limit.
 */
static long sg_rate_sum_cpu(__u32 c, void *ctx)
{
	struct sg_rate_sum *s = ctx;
	struct sg_rate_cpu *o;
	__u32 zero = 0;

	o = bpf_map_lookup_percpu_elem(&sg_rate, &zero, c);
	if (!o)
		return 1; /* past the last possible CPU */
	if (o->win == s->win)
		s->sum += o->prev;
	else if (o->win + 1 == s->win)
		s->sum += o->cur;
	return 0;
}

static __always_inline int sg_rate_update(const struct sg_config *cfg)
{
	struct sg_rate_sum sum_ctx = {};
	/* The coarse clock (a few ms of resolution) is plenty for 134 ms
	 * windows and costs a fraction of a precise read. */
	__u64 now = bpf_ktime_get_coarse_ns(), win = now >> SG_RATE_SHIFT;
	__u64 sum = 0;
	struct sg_rate_cpu *r;
	struct sg_state *st;
	__u32 zero = 0, rate;

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

	sum_ctx.win = win;
	bpf_loop(SG_MAX_CPUS, sg_rate_sum_cpu, &sum_ctx, 0);
	sum = sum_ctx.sum;
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

/* Who owns a SYN's connection in the kernel: what decides if we answer. */
enum sg_owner {
	SG_OWNER_NONE, /* no socket: forwarded, DNAT-ed, or a closed port */
	SG_OWNER_LISTENER, /* a TCP listener: ours to answer */
	SG_OWNER_MPTCP, /* an MPTCP listener: the handoff refuses it */
	SG_OWNER_SOCKET, /* a socket of this very connection (TIME_WAIT...) */
};

static __always_inline enum sg_owner sg_owner(struct xdp_md *ctx,
					      const struct sg_flow *f)
{
	struct bpf_sock_tuple tup = {};
	__u32 tlen = sg_tuple_fill(&tup, f);
	enum sg_owner o = SG_OWNER_SOCKET;
	struct bpf_sock *sk;
	struct tcp_sock *tp;

#ifdef SG_BENCH_OWNER
	/* Bench-only build (bench/bench.mk): a fixed owner, no lookup, so
	 * make bench can show what the lookup costs. */
	return SG_BENCH_OWNER;
#endif
	sk = bpf_skc_lookup_tcp(ctx, &tup, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return SG_OWNER_NONE;
	if (sk->state == BPF_TCP_LISTEN) {
		/* The kfunc takes only full sockets: sock_common first. */
		tp = bpf_skc_to_tcp_sock(sk);
		o = tp && tp->is_mptcp ? SG_OWNER_MPTCP : SG_OWNER_LISTENER;
	}
	bpf_sk_release(sk);
	return o;
}

/*
 * IPv4 addresses the kernel never answers a SYN from or to on a NIC: 0/8
 * ("this network"), 127/8 (loopback is martian off lo) and 224/3
 * (multicast, reserved, and the limited broadcast).
 * XXX: a subnet-directed broadcast (192.0.2.255 on a /24) needs the
 * routing table to recognise; it is answered like a unicast address.
 */
static __always_inline int sg_v4_unicast(__be32 a)
{
	__u8 top = bpf_ntohl(a) >> 24;

	return top != 0 && top != 127 && top < 224;
}

/* IPv6: multicast, the unspecified and loopback addresses. */
static __always_inline int sg_v6_special(const __be32 *a)
{
	if ((a[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000))
		return 1;
	return !a[0] && !a[1] && !a[2] && (!a[3] || a[3] == bpf_htonl(1));
}

/*
 * Would the kernel take this SYN at all? It drops frames to a group MAC
 * (not PACKET_HOST), SYNs to broadcast and multicast addresses, martian
 * sources, and IPv6 SYNs from v4-mapped sources (tcp_v4_conn_request,
 * tcp_v6_conn_request, ip_route_input). Answering them would make us the
 * reflector the kernel refuses to be.
 */
static __always_inline int sg_syn_unicast(void *data, void *data_end,
					  const struct sg_pkt *p)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || (eth->h_dest[0] & 1))
		return 0;
	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & SG_L3_OFF_MASK);

		if ((void *)(ip + 1) > data_end)
			return 0;
		return sg_v4_unicast(ip->saddr) && sg_v4_unicast(ip->daddr);
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & SG_L3_OFF_MASK);
		const __be32 *s, *d;

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		s = (const __be32 *)&ip6->saddr;
		d = (const __be32 *)&ip6->daddr;
		if (!s[0] && !s[1] && s[2] == bpf_htonl(0xffff))
			return 0; /* v4-mapped source */
		return !sg_v6_special(s) && !sg_v6_special(d);
	}
}

/* Adds the n (at most 15) 32-bit words at p to *sum; -1 past data_end. */
static __always_inline int sg_sum_words(const void *p, const void *data_end,
					__u32 n, __u64 *sum)
{
	const __u32 *w = p;
	int i;

	for (i = 0; i < 15; i++) {
		if (i >= (int)n)
			break;
		/*
		 * Verifier: without the barrier clang folds the bound check
		 * into arithmetic on the packet pointer (a NOT of it),
		 * which the verifier refuses; a cursor compared as is passes.
		 */
		asm volatile("" : "+r"(w));
		if ((void *)(w + 1) > data_end)
			return -1;
		*sum += *w;
		w++;
	}
	return 0;
}

/* Adds a SYN's payload of len bytes at off to *sum; -1 if it cannot. A
 * subprogram: rare (TCP Fast Open), and kept off the common path's stack. */
static __noinline int sg_sum_payload(struct xdp_md *ctx, __u32 off,
					  __u32 len, __u64 *sum)
{
	struct sg_scratch *b;
	__u32 zero = 0, len4, chunk;
	int i;

	b = bpf_map_lookup_elem(&sg_scratch, &zero);
	if (!b || !len || len > SG_SYN_DATA_MAX)
		return -1;
	len = sg_size_bound(len, SG_SYN_DATA_MAX);
	if (bpf_xdp_load_bytes(ctx, off, b->b, len))
		return -1;
	/* Zero up to the next word: the copy holds older bytes past len. */
	b->b[len & SG_SCRATCH_MASK] = 0;
	b->b[(len + 1) & SG_SCRATCH_MASK] = 0;
	b->b[(len + 2) & SG_SCRATCH_MASK] = 0;
	len4 = (len + 3) & ~3u;
	/* The helper sums at most 512 bytes a call. */
#pragma unroll
	for (i = 0; i < SG_SYN_DATA_MAX / 512; i++) {
		if (len4 <= i * 512u)
			break;
		chunk = len4 - i * 512u;
		if (chunk > 512)
			chunk = 512;
		*sum += (__u32)bpf_csum_diff(NULL, 0, (void *)&b->b[i * 512],
					     chunk, 0);
	}
	return 0;
}

/*
 * Are the IPv4 header and TCP checksums right? The kernel drops a SYN with
 * a wrong one; answering it would reflect garbage. One exception: a sender
 * on this host behind a veth with checksum offload leaves the TCP checksum
 * partial (the pseudo-header sum only), which the kernel accepts from such
 * a sender, so that form passes too. A sender elsewhere gains nothing from
 * it: a right checksum costs it nothing either.
 */
static __always_inline int sg_syn_csum_ok(struct xdp_md *ctx,
					  const struct sg_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *l3 = data + (p->l3_off & SG_L3_OFF_MASK);
	void *l4 = data + (p->l4_off & SG_L4_OFF_MASK);
	__u32 seg_len = p->ip_end - p->l4_off;
	__u64 pseudo = 0, sum;
	struct tcphdr *th = l4;

	if ((void *)(th + 1) > data_end)
		return 0;
	if (p->family == 4) {
		struct iphdr *ip = l3;
		__u64 hs = 0;

		if ((void *)(ip + 1) > data_end ||
		    sg_sum_words(ip, data_end, ip->ihl, &hs) ||
		    sg_csum_fold(hs))
			return 0;
		pseudo = sg_sum32(&ip->saddr, 2);
	} else {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		pseudo = sg_sum32(&ip6->saddr, 8);
	}
	/* Protocol and length: the same words in both pseudo headers. */
	pseudo += bpf_htons(IPPROTO_TCP) + bpf_htons(seg_len);
	sum = pseudo;
	if (sg_sum_words(th, data_end, p->tcp_len / 4, &sum))
		return 0;
	if (seg_len > p->tcp_len &&
	    sg_sum_payload(ctx, p->l4_off + p->tcp_len, seg_len - p->tcp_len,
			   &sum))
		return 0;
	if (!sg_csum_fold(sum))
		return 1;
	return th->check == (__u16)~sg_csum_fold(pseudo);
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
 * not itself ECT-marked, unless it sets a reserved bit. Returns the
 * cookie's data bits; *ece says whether to answer with ECE.
 */
static __always_inline __u32 sg_syn_offer(void *data, void *data_end,
					  const struct sg_pkt *p,
					  const struct tcphdr *in,
					  const struct sg_config *cfg,
					  struct sg_tcpopt *opt, int *ece)
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
	client_mss = opt->have_mss ? opt->mss :
		     (p->family == 4 ? SG_MSS4_DEFAULT : SG_MSS6_DEFAULT);
	for (i = 3; i > 0; i--) {
		if (client_mss >= sg_mss_table(p->family, i)) {
			mss_idx = i;
			break;
		}
	}
	if (opt->wscale > SG_WSCALE_MAX)
		opt->wscale = SG_WSCALE_MAX;
	*ece = cfg->ecn && (cfg->tcp_sysctl & SG_SYSCTL_ECN) && in->ece &&
	       in->cwr && (!sg_ip_ecn(data, data_end, p) || in->res1);
	return mss_idx | (opt->sack_ok ? SG_COOKIE_SACK : 0) |
	       (*ece ? SG_COOKIE_ECN : 0) |
	       (opt->have_ws ? opt->wscale : SG_COOKIE_WS_NONE)
		       << SG_COOKIE_WS_SHIFT;
}

/*
 * Turn the SYN into our SYN-ACK in place. Everything needed from the SYN is
 * on the stack before the frame is resized, so the IPv4 options, IPv6
 * extension headers and any payload of the SYN are simply not copied: the
 * reply is Ethernet (+ the same VLAN tags) + IP + TCP + our options.
 */
static __always_inline int sg_synack(struct xdp_md *ctx, struct sg_pkt *p,
				     struct sg_flow *flow,
				     const struct sg_config *cfg,
				     const struct sg_keys *keys)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_tcpopt opt = {};
	struct tcphdr *th, in;
	union {
		struct sg_synack4 v4;
		struct sg_synack6 v6;
	} r = {};
	struct sg_synack_tcp *t;
	struct sg_state *st;
	__u32 zero = 0, data_bits, cookie, tcp_len, ip_len, ours;
	__u32 optlen, *dst;
	int nwords;
	__u64 now, pseudo;
	struct ethhdr *eth;
	__u8 mac[ETH_ALEN];
	int ece = 0, i, delta;

	th = sg_tcp(data, data_end, p);
	if (!th || sg_load_opts(ctx, p, &opt)) {
		sg_count(SG_CNT_SYNACK_ERROR); /* not reached: parse checked */
		return XDP_PASS;
	}
	in = *th;
	data_bits = sg_syn_offer(data, data_end, p, &in, cfg, &opt, &ece);
	ours = opt.have_ws ? cfg->wscale : SG_COOKIE_WS_NONE;

	now = sg_now(cfg);
	/* Cookies are out: the ACK path accepts them for their lifetime.
	 * Written once a second at most, so CPUs do not fight over it. */
	st = bpf_map_lookup_elem(&sg_state, &zero);
	if (st && now - st->synack_ns >= NSEC_PER_SEC)
		st->synack_ns = now;
	/* The caller's flow: its isn is ours to set (the stack is tight). */
	flow->isn = bpf_ntohl(in.seq);
	cookie = sg_cookie_make(flow, keys, keys->current & 1,
				sg_counter_now(now), data_bits, ours);

	/* TSval: the SG clock in units of 2^20 ns (about 1 ms): a shift, not
	 * a division. Any rate works: the kernel's socket continues from the
	 * TSval it is told (rcv_tsecr) with its own clock. */
	if (p->family == 4) {
		t = &r.v4.t;
		optlen = sg_synack_opts(t->opts, cfg->mss4, &opt, cfg->wscale,
					now >> 20);
		tcp_len = sizeof(struct tcphdr) + optlen;
		ip_len = sizeof(struct iphdr);
		r.v4.ip.version = 4;
		r.v4.ip.ihl = 5;
		r.v4.ip.tot_len = bpf_htons(ip_len + tcp_len);
		r.v4.ip.frag_off = bpf_htons(IP_DF);
		r.v4.ip.ttl = cfg->ttl;
		r.v4.ip.protocol = IPPROTO_TCP;
		r.v4.ip.saddr = flow->daddr[0];
		r.v4.ip.daddr = flow->saddr[0];
		r.v4.ip.check = sg_csum_fold(sg_sum32(&r.v4.ip, 5));
		pseudo = sg_sum32(&r.v4.ip.saddr, 2);
	} else {
		t = &r.v6.t;
		optlen = sg_synack_opts(t->opts, cfg->mss6, &opt, cfg->wscale,
					now >> 20);
		tcp_len = sizeof(struct tcphdr) + optlen;
		ip_len = sizeof(struct ipv6hdr);
		r.v6.ip6.version = 6;
		r.v6.ip6.payload_len = bpf_htons(tcp_len);
		r.v6.ip6.nexthdr = IPPROTO_TCP;
		r.v6.ip6.hop_limit = cfg->ttl;
		__builtin_memcpy(&r.v6.ip6.saddr, flow->daddr, 16);
		__builtin_memcpy(&r.v6.ip6.daddr, flow->saddr, 16);
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
	 */
	dst = data + (p->l3_off & SG_L3_OFF_MASK);
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
 * A SYN to a protected port while cookies are on. The rule: whatever the
 * kernel would take as a SYN, synguard answers or drops, and it answers
 * only what the kernel would answer and the handoff can serve. Cheap
 * checks first; the socket lookup last.
 *
 * sg_handle_syn and sg_handle_ack are global functions: the verifier
 * checks each once, with arguments it knows nothing about, instead of once
 * for every path of the entry point that reaches it (which took it past
 * its 1M-instruction limit). So they trust nothing in *p for memory
 * safety: every packet access is bounded and checked against data_end
 * again, and a global function must accept NULL pointers.
 */
__noinline int sg_handle_syn(struct xdp_md *ctx, struct sg_pkt *p,
			     struct sg_flow *flow, const struct sg_config *cfg)
{
	void *data, *data_end;
	const struct sg_keys *keys;
	__u32 zero = 0;

	if (!ctx || !p || !flow || !cfg)
		return XDP_PASS; /* not reached */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	/* The SG_BENCH_* switches compile a check out in bench-only builds
	 * (bench/bench.mk), so make bench can show what each costs. */
#ifndef SG_BENCH_NO_UNICAST
	if (!sg_syn_unicast(data, data_end, p)) {
		sg_count(SG_CNT_SYN_NOT_UNICAST);
		return XDP_DROP;
	}
#endif
#ifndef SG_BENCH_NO_CSUM
	if (!sg_syn_csum_ok(ctx, p)) {
		sg_count(SG_CNT_SYN_BAD_CSUM);
		return XDP_DROP;
	}
#endif
	/*
	 * The kernel refuses every handoff while tcp_syncookies is 0, and a
	 * double-tagged frame reaches TC with an 802.1Q protocol, which the
	 * kfunc refuses: a SYN-ACK would promise what cannot be kept.
	 */
	if (!(cfg->tcp_sysctl & SG_SYSCTL_SYNCOOKIES) || p->nvlan > 1) {
		sg_count(SG_CNT_SYN_NO_HANDOFF_PASS);
		return XDP_PASS;
	}
	keys = bpf_map_lookup_elem(&sg_keys, &zero);
	if (!keys || !keys->valid[keys->current & 1]) {
		sg_count(SG_CNT_SYN_NO_KEY);
		return XDP_PASS;
	}
	switch (sg_owner(ctx, flow)) {
	case SG_OWNER_LISTENER:
		return sg_synack(ctx, p, flow, cfg, keys);
	case SG_OWNER_SOCKET:
		/* TIME_WAIT takes a new SYN (TCP_TW_SYN); a cookie would be
		 * answered there by the old connection's ACK, forever. */
		sg_count(SG_CNT_SYN_SOCKET_PASS);
		return XDP_PASS;
	case SG_OWNER_MPTCP:
		sg_count(SG_CNT_SYN_MPTCP_PASS);
		return XDP_PASS;
	default:
		/* No local listener: the kernel forwards or translates it,
		 * or resets it; no handoff could serve a cookie. */
		sg_count(SG_CNT_SYN_NO_LISTENER_PASS);
		return XDP_PASS;
	}
}

/* The window scale a cookie may carry besides ours now: the one before a
 * change made within a cookie lifetime, or none. */
static __always_inline __u32 sg_wscale_prev(const struct sg_config *cfg,
					    __u64 now)
{
	if (cfg->wscale_prev == cfg->wscale || !cfg->wscale_changed_ns ||
	    now - cfg->wscale_changed_ns >=
		    (__u64)cfg->cookie_lifetime * NSEC_PER_SEC +
			    (2ULL << SG_PERIOD_SHIFT))
		return SG_COOKIE_WS_NONE;
	return cfg->wscale_prev;
}

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

static __always_inline void sg_first_flight_add(const struct sg_flow *f,
						const struct tcphdr *th,
						__u64 now)
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

/* Metadata for the TC handoff of a validated ACK; its verdict. */
static __always_inline int sg_write_meta(struct xdp_md *ctx,
					 const struct sg_pkt *p,
					 const struct sg_config *cfg,
					 __u32 cookie, __u32 ws)
{
	struct sg_tcpopt opt = {};
	__u32 data_bits = cookie & SG_COOKIE_DATA_MASK;
	void *data;
	struct sg_meta *m;

	if (sg_load_opts(ctx, p, &opt)) {
		sg_count(SG_CNT_MALFORMED); /* not reached: parse checked */
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
	/* Options whose sysctl went off since the SYN-ACK are dropped: the
	 * kfunc would refuse the handoff for them. */
	if (!(cfg->tcp_sysctl & SG_SYSCTL_TS))
		opt.have_ts = 0;
	m->magic = SG_META_MAGIC;
	m->rcv_tsval = opt.have_ts ? opt.tsval : 0;
	m->rcv_tsecr = opt.have_ts ? opt.tsecr : 0;
	m->mss = sg_mss_table(p->family, data_bits & SG_COOKIE_MSS_MASK);
	m->flags = (opt.have_ts ? SG_META_F_TSTAMP : 0) |
		   ((data_bits & SG_COOKIE_SACK) &&
				    (cfg->tcp_sysctl & SG_SYSCTL_SACK) ?
			    SG_META_F_SACK :
			    0) |
		   (data_bits & SG_COOKIE_ECN ? SG_META_F_ECN : 0);
	m->rcv_wscale = 0;
	m->snd_wscale = 0;
	if (((data_bits >> SG_COOKIE_WS_SHIFT) & SG_COOKIE_WS_MASK) !=
		    SG_COOKIE_WS_NONE &&
	    (cfg->tcp_sysctl & SG_SYSCTL_WS)) {
		m->flags |= SG_META_F_WSCALE;
		m->snd_wscale = (data_bits >> SG_COOKIE_WS_SHIFT) &
				SG_COOKIE_WS_MASK;
		/* The one our SYN-ACK offered, as the MAC proved. */
		m->rcv_wscale = ws;
	}
	m->pad[0] = m->pad[1] = m->pad[2] = 0;
	m->secret[0] = sg_meta_secret[0];
	m->secret[1] = sg_meta_secret[1];
	sg_count(SG_CNT_COOKIE_OK);
	return XDP_PASS;
}

/*
 * An ACK to a protected port. The kernel's socket is looked up first: an
 * established-flow packet (the common case by far) then costs one socket
 * lookup and no hash, and never risks being mistaken for a cookie. Only an
 * ACK the kernel has no socket for pays for the SipHash; an ACK flood pays
 * both, which is still far below what it costs the kernel.
 */
__noinline int sg_handle_ack(struct xdp_md *ctx, struct sg_pkt *p,
			     struct sg_flow *flow, const struct sg_config *cfg)
{
	void *data, *data_end;
	struct bpf_sock_tuple tup = {};
	const struct sg_keys *keys;
	struct bpf_sock *sk;
	struct tcphdr *th;
	struct sg_state *st;
	__u32 zero = 0, tlen, cookie, ws;
	enum sg_cookie_result res;
	__u64 now;

	if (!ctx || !p || !flow || !cfg)
		return XDP_PASS; /* not reached */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	th = sg_tcp(data, data_end, p);
	if (!th)
		return XDP_PASS;
	/* The caller's flow: its isn is ours to set (the stack is tight). */
	flow->isn = bpf_ntohl(th->seq) - 1;
	cookie = bpf_ntohl(th->ack_seq) - 1;

	tlen = sg_tuple_fill(&tup, flow);
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
	now = sg_now(cfg);
	ws = cfg->wscale;
	res = SG_COOKIE_INVALID;
	/*
	 * A random ACK matches some cookie with probability 2^-20, and a
	 * match becomes a real kernel connection. Unless this host sent a
	 * cookie that could still be valid (lifetime, one period of age
	 * rounding, one of skew, and the second to which synack_ns is
	 * kept), no ACK can carry one: refuse without hashing. An ACK flood
	 * on its own then gets nothing through, and costs less.
	 */
	/* Signed: after the clock steps back, the last cookie is young. */
	if (st && (__s64)(now - st->synack_ns) >
			  (__s64)((__u64)cfg->cookie_lifetime * NSEC_PER_SEC +
				  (2ULL << SG_PERIOD_SHIFT) + NSEC_PER_SEC))
		res = SG_COOKIE_NONE_ISSUED;
	else if (keys)
		res = sg_cookie_check(flow, keys, cookie, sg_counter_now(now),
				      ((__u64)cfg->cookie_lifetime *
				       NSEC_PER_SEC) >> SG_PERIOD_SHIFT,
				      &ws, sg_wscale_prev(cfg, now));
	if (res != SG_COOKIE_VALID && sk) {
		/*
		 * Not ours, but the listener may have answered a SYN that
		 * reached it (no key yet, SYN-ACK not buildable) with a
		 * syncookie of its own when its queue overflowed: let the
		 * kernel have those ACKs. The helper returns at once unless
		 * the listener overflowed recently.
		 */
		void *iph = data + (p->l3_off & SG_L3_OFF_MASK);
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
		if (sg_first_flight(flow, th, cfg, now)) {
			sg_count(SG_CNT_ACK_FIRST_FLIGHT_PASS);
			return XDP_PASS;
		}
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
	    !sg_src_allow(flow, SG_SRC_ACK, cfg, cfg->src_ack_rate,
			  cfg->src_ack_burst)) {
		sg_count(SG_CNT_ACK_SRC_LIMITED);
		return XDP_DROP;
	}
	sg_first_flight_add(flow, th, now);
	return sg_write_meta(ctx, p, cfg, cookie, ws);
}

/* What is not a complete TCP header: counted, and passed unless it could
 * hide a SYN to a protected port while cookies are on. */
static __always_inline int sg_not_tcp(enum sg_parse r,
				      const struct sg_config *cfg)
{
	switch (r) {
	case SG_PARSE_FRAGMENT:
		sg_count(SG_CNT_FRAGMENT_PASS);
		return XDP_PASS;
	case SG_PARSE_FRAG_SHORT:
		/* A first fragment too short to show the flags (RFC 1858). */
		if (sg_cookies_on(cfg)) {
			sg_count(SG_CNT_FRAGMENT_DROP);
			return XDP_DROP;
		}
		sg_count(SG_CNT_FRAGMENT_PASS);
		return XDP_PASS;
	case SG_PARSE_UNPARSED:
		if (sg_cookies_on(cfg)) {
			sg_count(SG_CNT_UNPARSED_DROP);
			return XDP_DROP;
		}
		sg_count(SG_CNT_UNPARSED_PASS);
		return XDP_PASS;
	case SG_PARSE_MALFORMED:
		/* The kernel drops these before TCP sees them. */
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	default:
		sg_count(SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
}

SEC("xdp")
int synguard_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct sg_config *cfg;
	struct sg_flow flow = {};
	struct sg_pkt p = {};
	enum sg_parse r;
	struct tcphdr *th;
	__u32 zero = 0;
	int list, engaged;
	__u8 fl;

	cfg = bpf_map_lookup_elem(&sg_config, &zero);
	if (!cfg) { /* not reached: an array entry always exists */
		sg_count(SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
	r = sg_parse(data, data_end, &p);
	if (r != SG_PARSE_TCP)
		return sg_not_tcp(r, cfg);

	th = sg_tcp(data, data_end, &p);
	if (!th) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	if (!sg_port_protected(bpf_ntohs(th->dest))) {
		sg_count(p.first_frag ? SG_CNT_FRAGMENT_PASS :
					SG_CNT_OTHER_PASS);
		return XDP_PASS;
	}
	fl = ((__u8 *)th)[13];
	/*
	 * A first fragment shows the flags but maybe not all options. The
	 * kernel reassembles it into a SYN like any other: while cookies are
	 * on, such a SYN would walk past them.
	 */
	if (p.first_frag) {
		if ((fl & TCPF_SYN) && sg_cookies_on(cfg)) {
			sg_count(SG_CNT_FRAGMENT_DROP);
			return XDP_DROP;
		}
		sg_count(SG_CNT_FRAGMENT_PASS);
		return XDP_PASS;
	}
	p.tcp_len = th->doff * 4;
	if (p.tcp_len < sizeof(*th) || data + p.l4_off + p.tcp_len > data_end ||
	    p.l4_off + p.tcp_len > p.ip_end ||
	    sg_flow_fill(&flow, data, data_end, &p, th, 0)) {
		sg_count(SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	list = sg_list_match(&flow, cfg->lists);
	if (list == SG_LIST_DENY) {
		sg_count(SG_CNT_DENY_DROP);
		return XDP_DROP;
	}

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
	    sg_owner(ctx, &flow) != SG_OWNER_SOCKET) {
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
