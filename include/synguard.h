/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Definitions shared by the BPF programs (bpf/) and the user-space tools
 * (user/, tests/). Nothing BPF-only lives here: it must compile both with
 * clang -target bpf and with the host compiler.
 *
 * Mirrored elsewhere: the counter names below are printed by the CLI and
 * documented in README.md ("Counters"); both come from SG_COUNTERS, so add a
 * counter here and nowhere else.
 */
#ifndef SYNGUARD_H
#define SYNGUARD_H

/* BPF code gets these types from vmlinux.h, which clashes with uapi. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SG_NSEC_PER_SEC 1000000000ULL

/*
 * The maps are pinned by name under /sys/fs/bpf/synguard/<ifname>/: their
 * names, types and sizes are those of bpf/synguard.bpf.c, which user space
 * reads from the skeleton (user/pins.c).
 */
/* sg_kfunc_errors is indexed by -errno, the last slot collecting the rest. */
#define SG_KFUNC_ERRNO_MAX 64

/*
 * Counters: one per-CPU array slot each. Every packet the XDP program sees
 * increments exactly one verdict counter (SG_CNT_IS_XDP_VERDICT below);
 * syn_received counts SYNs to a protected port on top of their outcome.
 * cookies_engaged/disengaged count state changes, not packets. The
 * handoff_*, proxy_csum_* and proxy_hold_tagged counters belong to the TC
 * programs and count only frames that carry metadata, exactly one each
 * (SG_CNT_IS_TC_VERDICT); proxy_csum_* count the IPv6 ACKs of
 * ack_proxy_cookie_pass, proxy_hold_tagged those of ack_proxy_early_pass;
 * cookie_ok minus all handoff_* is the number of validated ACKs whose
 * metadata never reached TC (a driver that drops XDP metadata).
 * X(enum suffix, printed name, meaning)
 */
#define SG_COUNTERS(X)                                                         \
	X(SYN_RECEIVED, "syn_received",                                        \
	  "SYNs to a protected port (input, whatever became of them)")         \
	X(SYNACK_SENT, "synack_sent",                                          \
	  "SYNs answered at XDP with a cookie SYN-ACK (XDP_TX)")               \
	X(SYN_DISENGAGED_PASS, "syn_disengaged_pass",                          \
	  "SYNs passed to the kernel: cookies auto and the SYN rate is low")   \
	X(SYN_DETACH_PASS, "syn_detach_pass",                                  \
	  "SYNs passed to the kernel while detach lets handshakes finish")     \
	X(SYN_ALLOW_PASS, "syn_allow_pass",                                    \
	  "SYNs from the allow list: passed to the kernel, never limited")     \
	X(SYN_SRC_LIMITED, "syn_src_limited",                                  \
	  "SYNs over their source's rate limit: dropped")                      \
	X(DENY_DROP, "deny_drop",                                              \
	  "packets from the deny list to a protected port: dropped")           \
	X(SYN_NO_KEY, "syn_no_key",                                            \
	  "SYNs passed to the kernel because no cookie key is installed")      \
	X(SYN_SOCKET_PASS, "syn_socket_pass",                                  \
	  "SYNs whose connection has a kernel socket (TIME_WAIT...): passed")  \
	X(SYN_NO_LISTENER_PASS, "syn_no_listener_pass",                        \
	  "SYNs with no local listener (forwarded, DNAT-ed, closed): passed")  \
	X(SYN_LOCAL_NAT_PASS, "syn_local_nat_pass",                            \
	  "SYNs to a port with a local listener and a NAT rule: passed")       \
	X(SYN_MPTCP_PASS, "syn_mptcp_pass",                                    \
	  "SYNs to an MPTCP listener, which the handoff cannot serve: passed") \
	X(SYN_NO_HANDOFF_PASS, "syn_no_handoff_pass",                          \
	  "SYNs passed: net.ipv4.tcp_syncookies=0 refuses every handoff")      \
	X(SYN_NOT_UNICAST, "syn_not_unicast",                                  \
	  "SYNs the kernel refuses (broadcast, multicast, martian): dropped")  \
	X(SYN_BAD_CSUM, "syn_bad_csum",                                        \
	  "SYNs with a wrong IPv4 header or TCP checksum: dropped")            \
	X(SYN_KERNEL_COOKIE, "syn_kernel_cookie",                              \
	  "kernel engine: SYNs answered at XDP with a kernel-cookie SYN-ACK")  \
	X(SYN_KERNEL_COOKIE_ERROR, "syn_kernel_cookie_error",                  \
	  "kernel engine: SYNs the kernel would not make a cookie for: passed") \
	X(SYN_PROXY_COOKIE, "syn_proxy_cookie",                                \
	  "SYNs to a nat port or routed, answered at XDP for SYNPROXY")        \
	X(SYN_PROXY_COOKIE_ERROR, "syn_proxy_cookie_error",                    \
	  "SYNs to a nat port the raw cookie helper refused: passed")          \
	X(SYNACK_ERROR, "synack_error",                                        \
	  "SYNs passed to the kernel because the SYN-ACK could not be built")  \
	X(COOKIE_OK, "cookie_ok",                                              \
	  "ACKs with a valid cookie, passed with handoff metadata")            \
	X(COOKIE_BAD, "cookie_bad",                                            \
	  "ACKs with no socket and an invalid cookie: dropped (ACK flood)")    \
	X(COOKIE_EXPIRED, "cookie_expired",                                    \
	  "ACKs with no socket and a genuine but expired cookie: dropped")     \
	X(COOKIE_NONE_ISSUED, "cookie_none_issued",                            \
	  "ACKs with no socket while no cookie was sent within its lifetime: dropped") \
	X(ACK_SRC_LIMITED, "ack_src_limited",                                  \
	  "valid cookie ACKs over their source's rate limit: dropped")         \
	X(COOKIE_META_ERROR, "cookie_meta_error",                              \
	  "valid cookie ACKs passed without metadata (no headroom)")          \
	X(ACK_ESTABLISHED_PASS, "ack_established_pass",                        \
	  "ACKs to a protected port with a kernel socket: passed")             \
	X(ACK_KERNEL_COOKIE_PASS, "ack_kernel_cookie_pass",                    \
	  "ACKs with no socket but a valid kernel syncookie: passed")          \
	X(ACK_KERNEL_COOKIE_BAD, "ack_kernel_cookie_bad",                      \
	  "kernel engine: ACKs with no socket and no valid kernel cookie: dropped") \
	X(ACK_FIRST_FLIGHT_PASS, "ack_first_flight_pass",                      \
	  "later segments of a handshake validated just before: passed")       \
	X(ACK_CONNTRACK_PASS, "ack_conntrack_pass",                            \
	  "ACKs with no socket but a conntrack entry (forwarded): passed")     \
	X(ACK_PROXY_EARLY_PASS, "ack_proxy_early_pass",                        \
	  "ACKs of a flow SYNPROXY is still opening: passed, tagged")          \
	X(ACK_PROXY_COOKIE_PASS, "ack_proxy_cookie_pass",                      \
	  "ACKs to a nat port with a valid cookie: passed to SYNPROXY")        \
	X(ACK_PROXY_COOKIE_BAD, "ack_proxy_cookie_bad",                        \
	  "ACKs to a nat port, unknown, no valid cookie: dropped")             \
	X(REFLECTION_DROP, "reflection_drop",                                  \
	  "SYN-ACK, RST or FIN to a protected port with no socket: dropped")   \
	X(MALFORMED, "malformed",                                              \
	  "malformed TCP to a protected port: passed for the kernel to drop")  \
	X(FRAGMENT_PASS, "fragment_pass",                                      \
	  "IP fragments that cannot make a SYN to a protected port: passed")   \
	X(FRAGMENT_DROP, "fragment_drop",                                      \
	  "cookies on: first fragments of a SYN to a protected port: dropped") \
	X(UNPARSED_PASS, "unparsed_pass",                                      \
	  "cookies off: headers too deep to parse (VLAN, IPv6 ext): passed")   \
	X(UNPARSED_DROP, "unparsed_drop",                                      \
	  "cookies on: headers too deep to rule out a SYN to us: dropped")     \
	X(OTHER_PASS, "other_pass",                                            \
	  "everything else (other ports, non-TCP, RST/FIN/SYN-ACK...): passed") \
	X(COOKIES_ENGAGED, "cookies_engaged",                                  \
	  "event: cookies auto switched cookies on (SYN rate above syn_rate_on)") \
	X(COOKIES_DISENGAGED, "cookies_disengaged",                            \
	  "event: cookies auto switched cookies off (rate low for hold time)") \
	X(HANDOFF_OK, "handoff_ok",                                            \
	  "TC: validated ACKs handed to the kernel as a new connection")       \
	X(HANDOFF_NO_LISTENER, "handoff_no_listener",                          \
	  "TC: validated ACKs with no listener: passed, the kernel resets")    \
	X(HANDOFF_EXISTS, "handoff_exists",                                    \
	  "TC: validated ACKs whose connection already had a socket: passed")  \
	X(HANDOFF_DUP, "handoff_dup",                                          \
	  "TC: more segments of a handshake just handed off: passed as is")    \
	X(HANDOFF_KFUNC_ERROR, "handoff_kfunc_error",                          \
	  "TC: bpf_sk_assign_tcp_reqsk failed (errno in sg_kfunc_errors)")     \
	X(PROXY_CSUM_OK, "proxy_csum_ok",                                      \
	  "TC: IPv6 cookie ACKs for SYNPROXY, TCP checksum right: verified")   \
	X(PROXY_CSUM_BAD, "proxy_csum_bad",                                    \
	  "TC: IPv6 cookie ACKs for SYNPROXY, wrong TCP checksum: unverified") \
	X(PROXY_CSUM_UNMARKED, "proxy_csum_unmarked",                          \
	  "TC: IPv6 cookie ACKs for SYNPROXY not checked or not markable here") \
	X(PROXY_HOLD_TAGGED, "proxy_hold_tagged",                              \
	  "TC: ACKs of ack_proxy_early_pass: priority for the hold rule")      \
	X(HANDOFF_META_BAD, "handoff_meta_bad",                                \
	  "TC: metadata of the wrong size or magic, or not a TCP frame")

#define SG_X_ENUM(name, str, help) SG_CNT_##name,
enum sg_counter { SG_COUNTERS(SG_X_ENUM) SG_CNT_MAX };
#undef SG_X_ENUM

/*
 * Which counters are verdicts, by their place in SG_COUNTERS: the XDP
 * verdicts run from synack_sent to other_pass, the TC ones from handoff_ok
 * to handoff_meta_bad. A new counter goes inside the range of its kind (or
 * outside both if it counts no outcome); tests/fuzz checks per frame that
 * exactly one counter of each range moves.
 */
#define SG_CNT_XDP_VERDICT_FIRST SG_CNT_SYNACK_SENT
#define SG_CNT_XDP_VERDICT_LAST SG_CNT_OTHER_PASS
#define SG_CNT_TC_VERDICT_FIRST SG_CNT_HANDOFF_OK
#define SG_CNT_TC_VERDICT_LAST SG_CNT_HANDOFF_META_BAD
#define SG_CNT_IS_XDP_VERDICT(c)                                               \
	((c) >= SG_CNT_XDP_VERDICT_FIRST && (c) <= SG_CNT_XDP_VERDICT_LAST)
#define SG_CNT_IS_TC_VERDICT(c)                                                \
	((c) >= SG_CNT_TC_VERDICT_FIRST && (c) <= SG_CNT_TC_VERDICT_LAST)

/*
 * Packet samples (`synguard top`, `synguard capture`; doc/design.md, "Who
 * is attacking: packet samples"). A reader sets sg_sample_ctl.mask, one bit
 * per XDP verdict counter; a frame counted as a masked verdict is copied,
 * its first SG_SAMPLE_BYTES bytes, into the ring buffer sg_samples, at
 * most `rate` a second on each CPU. With the mask 0 (no reader) the
 * program pays one load and an untaken branch where it counts the verdict
 * and one at its entry.
 */
#define SG_SAMPLE_BYTES 256
#define SG_SAMPLE_RING_BYTES (1u << 20) /* sg_samples; a power of two */
/*
 * A reader renews its lease every second; the program clears a mask whose
 * lease ran out, so a reader killed with SIGKILL stops sampling by itself.
 */
#define SG_SAMPLE_LEASE_NS (3 * SG_NSEC_PER_SEC)
#define SG_SAMPLE_RATE_DEFAULT 1000 /* samples a second per CPU */
#define SG_SAMPLE_RATE_MAX 100000

struct sg_pktsample {
	__u64 time_ns; /* SG clock (REALTIME ns) when it was taken */
	__u32 len;     /* the frame's length as it arrived */
	__u16 cap_len; /* bytes of it in data: up to SG_SAMPLE_BYTES */
	__u16 counter; /* enum sg_counter: the frame's XDP verdict */
	__u32 cpu;
	__u32 pad;
	__u8 data[SG_SAMPLE_BYTES]; /* the frame from its Ethernet header */
};

/* The control word, a global of the BPF object pinned as sg_sample_ctl. */
struct sg_sample_ctl {
	__u64 mask;	/* bit c: sample verdict counter c; 0: sampling off */
	__u64 lease_ns; /* CLOCK_MONOTONIC ns until which the mask holds */
	__u32 rate;	/* samples a second per CPU, at most */
	/* Only user space reads these: the reader that set the mask, and its
	 * start time (/proc/PID/stat), so that a reused PID is not it. */
	__u32 pid;
	__u64 pid_start;
	/* Samples the ring had no room for since the reader started: it
	 * fell behind (the program counts, the reader reports). */
	__u64 lost;
};

_Static_assert(SG_CNT_XDP_VERDICT_LAST < 64, "the sample mask has 64 bits");
#define SG_CNT_BIT(n) (1ULL << SG_CNT_##n)
/*
 * The kinds a reader picks (--what), as sets of verdict counters.
 * X(name, counters, meaning)
 */
#define SG_SAMPLE_KINDS(X)                                                     \
	X("syn",                                                               \
	  SG_CNT_BIT(SYNACK_SENT) | SG_CNT_BIT(SYN_KERNEL_COOKIE) |            \
		  SG_CNT_BIT(SYN_PROXY_COOKIE),                                \
	  "SYNs answered with a cookie SYN-ACK")                               \
	X("ack",                                                               \
	  SG_CNT_BIT(COOKIE_BAD) | SG_CNT_BIT(COOKIE_EXPIRED) |                \
		  SG_CNT_BIT(COOKIE_NONE_ISSUED) |                             \
		  SG_CNT_BIT(ACK_KERNEL_COOKIE_BAD) |                          \
		  SG_CNT_BIT(ACK_PROXY_COOKIE_BAD),                            \
	  "ACKs dropped: no valid cookie")                                     \
	X("limited",                                                           \
	  SG_CNT_BIT(SYN_SRC_LIMITED) | SG_CNT_BIT(ACK_SRC_LIMITED),           \
	  "SYNs and ACKs over their source's rate limit")                      \
	X("denied", SG_CNT_BIT(DENY_DROP), "packets from the deny list")       \
	X("dropped",                                                           \
	  SG_CNT_BIT(SYN_SRC_LIMITED) | SG_CNT_BIT(DENY_DROP) |                \
		  SG_CNT_BIT(SYN_NOT_UNICAST) | SG_CNT_BIT(SYN_BAD_CSUM) |     \
		  SG_CNT_BIT(COOKIE_BAD) | SG_CNT_BIT(COOKIE_EXPIRED) |        \
		  SG_CNT_BIT(COOKIE_NONE_ISSUED) |                             \
		  SG_CNT_BIT(ACK_SRC_LIMITED) |                                \
		  SG_CNT_BIT(ACK_KERNEL_COOKIE_BAD) |                          \
		  SG_CNT_BIT(ACK_PROXY_COOKIE_BAD) |                           \
		  SG_CNT_BIT(REFLECTION_DROP) | SG_CNT_BIT(FRAGMENT_DROP) |    \
		  SG_CNT_BIT(UNPARSED_DROP),                                   \
	  "every frame the program drops")                                     \
	X("all",                                                               \
	  ((SG_CNT_BIT(XDP_VERDICT_LAST) << 1) -                               \
	   SG_CNT_BIT(XDP_VERDICT_FIRST)),                                     \
	  "every frame, whatever its verdict")

/* Run-time configuration: one entry of the sg_config array. */
struct sg_config {
	__u16 mss4; /* MSS option in IPv4 SYN-ACKs */
	__u16 mss6; /* MSS option in IPv6 SYN-ACKs */
	__u16 window; /* SYN-ACK window (never scaled) */
	__u8 wscale; /* our window scale, offered when the client offers one */
	__u8 ttl; /* IPv4 TTL / IPv6 hop limit of SYN-ACKs */
	__u8 ecn; /* answer ECN setup (ECE|CWR) with ECE, as the kernel does */
	__u8 cookies; /* enum sg_cookies_mode */
	__u8 reflection_drop; /* drop SYN-ACK/RST/FIN with no socket */
	__u8 src_prefix4; /* per-source limits aggregate IPv4 by this prefix */
	__u32 cookie_lifetime; /* seconds; see SG_LIFETIME_MIN/MAX */
	__u32 syn_rate_on; /* auto: engage at or above (SYNs/s, whole host) */
	__u32 syn_rate_off; /* auto: disengage below this ... */
	__u32 hold_time; /* ... once it stayed below for this long (s) */
	__u32 src_syn_rate; /* SYNs/s per source; 0 = no limit */
	__u32 src_syn_burst;
	__u32 src_ack_rate; /* valid cookie ACKs/s per source; 0 = no limit */
	__u32 src_ack_burst;
	__u8 src_prefix6; /* ... and IPv6 by this one */
	__u8 lists; /* SG_LISTS_*: tries that hold entries (kept by the CLI) */
	/* Not settings: state the CLI keeps for the programs. */
	__u8 tcp_sysctl; /* SG_SYSCTL_*: what the interface's netns TCP takes */
	__u8 wscale_prev; /* wscale before the last change of it */
	__u64 wscale_changed_ns; /* SG clock (below) of that change; 0 never */
	__s64 tai_offset_ns; /* this kernel's TAI - REALTIME, from adjtimex */
	__u8 nf; /* SG_NF_*: what attach set up in netfilter */
	__u8 draining; /* detach under way: SYNs pass (SG_DRAIN_NS) */
	/*
	 * A setting after all (`enforce off`), kept in the padding so the
	 * layout stays. Stored inverted, 0 = enforcing: a config built field
	 * by field (tests, bench) that does not name it enforces.
	 */
	__u8 monitor;
	/* attach --synproxy, --gateway: the window scale of SYN-ACKs for
	 * SYNPROXY, the backends' (SYNPROXY does not rescale windows):
	 * --wscale if given, else this kernel's. */
	__u8 proxy_wscale;
	/* attach --gateway: flows routed through this host get SYNPROXY too
	 * (bpf/kengine.h, sg_proxied). */
	__u8 gateway;
	__u8 pad_nf[3];
};

/*
 * sg_config.monitor (`enforce off`, doc/design.md, "Monitor mode"): the
 * XDP program decides and counts every frame as it would, then passes it
 * untouched: no SYN-ACK, no metadata, no drop. Every counter then says
 * what synguard would have done.
 */

/*
 * sg_config.nf. SG_NF_NOTRACK: attach installed the nftables table that
 * exempts handed-off ACKs from conntrack (SG_NFT_TABLE_FMT), so TC marks
 * them with skb->priority = SG_NOTRACK_PRIORITY; the table's rule matches
 * that mark on this interface, resets the priority to 0 and sets notrack.
 * Without conntrack and NAT a tracked handshake ACK loses the socket the
 * handoff assigned to it (doc/design.md, "NAT hosts").
 */
#define SG_NF_NOTRACK (1u << 0)
#define SG_NOTRACK_PRIORITY 0x53474e54 /* "SGNT"; nft writes 5347:4e54 */
#define SG_NFT_TABLE_FMT "synguard_if%d" /* inet family, per ifindex */

/*
 * --synproxy: the conntrack mark bit that the table's rule puts on a flow
 * SYNPROXY opens to a backend. XDP tags a client segment of such a flow
 * whose sequence translation was not set up yet when it looked (struct
 * sg_meta, SG_META_F_HOLD), TC turns the tag into skb->priority =
 * SG_HOLD_PRIORITY, and the table's hold rule, after conntrack, drops the
 * segment if conntrack may have judged it before the translation
 * (doc/design.md, "SYNPROXY for translated ports").
 */
#define SG_PROXY_CT_MARK 0x00100000
#define SG_HOLD_PRIORITY 0x5347484c /* "SGHL"; nft writes 5347:484c */

/*
 * The established-flow cache (bpf/estcache.h): SG_EST_SLOTS entries of
 * struct sg_est, a slot per connection hash (its low bits), shared with
 * the tests, which check the hash against their own.
 */
#define SG_EST_SLOTS 16384 /* a power of two */
struct sg_est {
	__u64 tag;   /* the connection's hash, bit 0 set; 0: empty */
	__u64 until; /* bpf_ktime_get_coarse_ns() */
};

/*
 * detach first sets sg_config.draining: new SYNs then pass to the kernel,
 * while the programs stay until SG_DRAIN_NS after the last cookie SYN-ACK
 * (sg_state.synack_ns, kept to the second, so one second more), so the
 * handoff takes the ACK of every handshake whose ACK comes back within
 * 1 s of its SYN-ACK. Without it such an ACK reaches a kernel that knows
 * nothing of the cookie, and resets a connection the client thinks open.
 */
#define SG_DRAIN_NS (2 * SG_NSEC_PER_SEC)

/*
 * sg_config.tcp_sysctl: the TCP sysctls of the interface's network
 * namespace, as attach read them (and `run` keeps reading them). The kernel
 * refuses a handoff that claims an option its sysctl turned off, so the
 * SYN-ACK offers only what is set here; with SYNCOOKIES clear (tcp_syncookies
 * = 0) it refuses every handoff, and SYNs pass to the kernel.
 */
#define SG_SYSCTL_SACK (1u << 0) /* net.ipv4.tcp_sack */
#define SG_SYSCTL_TS (1u << 1) /* net.ipv4.tcp_timestamps */
#define SG_SYSCTL_WS (1u << 2) /* net.ipv4.tcp_window_scaling */
#define SG_SYSCTL_ECN (1u << 3) /* net.ipv4.tcp_ecn != 0 */
#define SG_SYSCTL_SYNCOOKIES (1u << 4) /* net.ipv4.tcp_syncookies != 0 */
#define SG_SYSCTL_ALL 0x1f
/*
 * Not a switch of its own: net.ipv4.tcp_timestamps is 2, so the kernel adds
 * no secret per-address offset to TSvals. The kernel engine encodes the
 * options in the TSval, and the kernel subtracts that offset from the echo
 * before it decodes them: only without one do they come back as sent.
 */
#define SG_SYSCTL_TS_RAW (1u << 5)
/* sg_info.sysctl_set only: net.netfilter.nf_conntrack_tcp_loose, which
 * attach --synproxy sets to 0. */
#define SG_SYSCTL_TCP_LOOSE (1u << 6)

/*
 * The SG clock of cookies and TSvals: REALTIME nanoseconds, computed in BPF
 * as TAI - tai_offset_ns. Hosts sharing a key must agree
 * on REALTIME (NTP), not on their kernels' TAI offsets, which are 0 or 37 s
 * depending on whether a time daemon set them. BPF reads TAI as the coarse
 * monotonic clock plus TAI's offset to it (bpf/common.h, sg_now), so the
 * SG clock lags REALTIME by up to a tick of the kernel (4 ms at HZ=250,
 * 10 ms at HZ=100) and never leads it: SG_CLOCK_LAG_NS bounds that, with
 * a tick's margin, for the tests that bracket the program's clock.
 */
#define SG_CLOCK_LAG_NS (20 * 1000 * 1000ULL)

/*
 * sg_config.lists: the XDP program looks up only the tries marked here,
 * so lists cost nothing until they are used (two empty lookups were about
 * 20 ns on every packet to a protected port). The CLI sets a bit after
 * adding entries and clears it once a trie is empty.
 */
#define SG_LISTS_ALLOW4 (1u << 0)
#define SG_LISTS_ALLOW6 (1u << 1)
#define SG_LISTS_DENY4 (1u << 2)
#define SG_LISTS_DENY6 (1u << 3)

enum sg_cookies_mode {
	SG_COOKIES_ALWAYS = 0,
	SG_COOKIES_AUTO = 1,
};

#define SG_DEFAULT_MSS4 1460
#define SG_DEFAULT_MSS6 1440
#define SG_DEFAULT_WINDOW 65535
#define SG_DEFAULT_WSCALE 7
#define SG_DEFAULT_TTL 64
#define SG_DEFAULT_ECN 1
#define SG_DEFAULT_LIFETIME 60
#define SG_DEFAULT_COOKIES SG_COOKIES_AUTO
#define SG_DEFAULT_SYN_RATE_ON 5000
#define SG_DEFAULT_SYN_RATE_OFF 1000
#define SG_DEFAULT_HOLD_TIME 30
#define SG_DEFAULT_REFLECTION_DROP 1
#define SG_DEFAULT_SRC_PREFIX4 32
#define SG_DEFAULT_SRC_PREFIX6 64
/*
 * Per-source limits are off by default: NAT puts many clients behind one
 * address, so no rate suits every site. The bursts serve once a rate is
 * set: a browser opens up to 6 connections per host name and a page uses a
 * few names on one address, plus a retransmitted SYN or two, so 20 SYNs at
 * once are a page load, not a flood. Each handshake can spend two ACK
 * tokens (its ACK, and a first data segment that carries the same cookie
 * when both arrive in one batch), hence twice that for ACKs.
 */
#define SG_DEFAULT_SRC_SYN_RATE 0
#define SG_DEFAULT_SRC_SYN_BURST 20
#define SG_DEFAULT_SRC_ACK_RATE 0
#define SG_DEFAULT_SRC_ACK_BURST 40
#define SG_DEFAULT_SRC_TABLE 65536 /* LRU entries for per-source limits */
/*
 * attach --src-table: the LRU keeps a few entries free per CPU, so far
 * fewer than a thousand would hold no real sources; 4M entries take about
 * 400 MB of kernel memory (bpftool map show), a host's worth.
 */
#define SG_SRC_TABLE_MIN 1024
#define SG_SRC_TABLE_MAX 4194304

/*
 * State of cookies auto: one entry of sg_state, written by the XDP
 * program when the state changes, read by `status`. Times are
 * CLOCK_MONOTONIC_COARSE nanoseconds (bpf_ktime_get_coarse_ns): the same
 * clock as CLOCK_MONOTONIC, a few milliseconds behind at most.
 */
struct sg_state {
	__u32 engaged; /* cookies on (auto mode) */
	__u32 rate; /* last measured SYN rate to protected ports, SYNs/s */
	__u64 changed_ns; /* last change of engaged */
	__u64 above_ns; /* last time the rate was >= syn_rate_off */
	__u64 measured_ns; /* when rate was measured */
	__u64 synack_ns; /* SG clock of a recent cookie SYN-ACK, to the second */
};

/* The SYN rate is counted per CPU in windows of 2^27 ns (134 ms). */
#define SG_RATE_SHIFT 27
/*
 * Cookies auto disengages once the rate has been below syn_rate_off for
 * hold_time: the BPF side moves the state on it, `status` says it is due.
 */
#define SG_HOLD_OVER(now_ns, above_ns, hold_time_sec)                          \
	((__u64)(now_ns) - (__u64)(above_ns) >=                                \
	 (__u64)(hold_time_sec) * SG_NSEC_PER_SEC)

/* Allow and deny lists: LPM tries keyed by prefix, the value its length. */
#define SG_LIST_MAX 16384

struct sg_lpm4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct sg_lpm6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Per-source token buckets (GCRA), an LRU hash keyed by masked source. */

enum sg_src_kind {
	SG_SRC_SYN = 0,
	SG_SRC_ACK = 1,
};

struct sg_src_key {
	__u32 addr[4]; /* masked by the configured prefix; IPv4 in addr[0] */
	__u8 family;
	__u8 kind; /* enum sg_src_kind */
	__u8 pad[2];
};

/* Cookie keys: one entry of the sg_keys array. */
struct sg_keys {
	__u64 key[2][2]; /* two 128-bit SipHash keys (k0, k1) */
	__u8 current; /* slot new cookies are made with; the other is previous */
	__u8 valid[2]; /* slot holds a key */
	__u8 pad[5];
	__u64 installed_tai_ns[2]; /* when each slot was written (for status) */
};

/*
 * What `attach` did, for `status` and `detach`: one entry of sg_info.
 * Only user space reads or writes it; it lives in a pinned map so that it
 * stays with the other pins and goes away with them.
 */

/*
 * Which cookies answer SYNs (doc/design.md, "The kernel engine"). own:
 * synguard's SipHash cookies and the TC handoff (bpf_sk_assign_tcp_reqsk,
 * Linux 6.9+). kernel: the kernel's own syncookies, made at XDP by
 * bpf_tcp_gen_syncookie() and accepted by the kernel itself; no TC program.
 * The XDP program reads it from sg_engine in its .rodata, set by attach.
 */
enum sg_engine {
	SG_ENGINE_OWN = 0,
	SG_ENGINE_KERNEL = 1,
};

/* Why attach chose the engine, for status. */
enum sg_engine_why {
	SG_ENGINE_WHY_ASKED = 0,   /* --engine own|kernel */
	SG_ENGINE_WHY_KFUNC = 1,   /* auto: the kernel has the handoff kfunc */
	SG_ENGINE_WHY_NO_KFUNC = 2, /* auto: no kfunc, the cookie helpers */
};

enum sg_xdp_mode {
	SG_MODE_NATIVE = 1,
	SG_MODE_SKB = 2,
};

struct sg_info {
	__u32 ifindex;
	__u32 xdp_prog_id;
	__u32 tc_prog_id;
	__u32 tc_handle;
	__u32 tc_priority;
	__u8 xdp_mode; /* enum sg_xdp_mode */
	__u8 tc_hook_created; /* attach created the clsact qdisc: detach removes it */
	__u8 multiprog; /* attached through libxdp's dispatcher */
	__u8 engine; /* enum sg_engine */
	__u8 engine_why; /* enum sg_engine_why */
	/* Kernel engine: the sysctls attach changed (SG_SYSCTL_SYNCOOKIES,
	 * SG_SYSCTL_TS) and their values before, which detach restores. */
	__u8 sysctl_set;
	__u8 syncookies_prev;
	__u8 timestamps_prev;
	__u8 synproxy; /* SG_PROXY_*: what gets SYNPROXY (attach options) */
	__u8 tcp_loose_prev; /* SG_SYSCTL_TCP_LOOSE in sysctl_set */
	__u8 tc_hook; /* enum sg_tc_hook: where the TC program is attached */
	__u8 pad;
	__u64 attached_unix; /* seconds since the epoch */
	__u64 key_installed_unix; /* last key rotation or load */
	/* The network namespace's nsfs inode: which of two interfaces of the
	 * same name in two namespaces this is (0: unknown). */
	__u64 netns_ino;
};

/*
 * sg_info.tc_hook. A record of a build before TCX reads 0: clsact, which is
 * what those builds used.
 */
enum sg_tc_hook {
	/* A filter on the clsact qdisc (tc_handle, tc_priority): kernels
	 * before 6.6, or --tc-hook clsact. */
	SG_TC_HOOK_CLSACT = 0,
	/* A TCX link (Linux 6.6+), pinned in the interface's pin directory:
	 * no qdisc to add or remove (doc/design.md, "TC hooks"). */
	SG_TC_HOOK_TCX = 1,
};

/* sg_info.synproxy: --synproxy nat, --gateway. */
#define SG_PROXY_NAT (1u << 0)
#define SG_PROXY_GATEWAY (1u << 1)

/* A set of destination ports: a 65536-bit bitmap (the CLI's port lists). */
struct sg_ports {
	__u64 bits[65536 / 64];
};

/*
 * The port map (sg_port_map, one array entry): a byte per destination port
 * saying all the XDP program asks of it, so that a packet pays one lookup
 * and one load. Protected is the port list (--ports, config ports=); the
 * kind bits say how the SYNs of a protected port are handled, as the CLI
 * last found them (user/portkind.c, "Ports by kind" in doc/design.md); they
 * mean nothing while the port is not protected. A port's bits share its
 * byte, so a write moves each port from its old state to its new one at
 * once: the kernel copies the value without a lock, but no byte is torn,
 * and no packet sees a port protected without the kind written with it.
 */
#define SG_PORT_PROTECTED (1u << 0)
/* Local+nat: its SYNs pass (syn_local_nat_pass), its ACKs are checked
 * against conntrack. Written for every port, protected or not, so that a
 * port config adds gets it with its protected bit. */
#define SG_PORT_PASS (1u << 1)
/* Nat, with attach --synproxy nat: SYNPROXY completes its handshakes. Only
 * protected ports, as in the nftables set proxy_ports (user/notrack.c). */
#define SG_PORT_PROXY (1u << 2)

struct sg_port_map {
	__u8 port[65536];
};

#ifndef __bpf__
/*
 * For user space (the CLI, the tests, the benchmarks), which writes the map
 * read-modify-write: bit (SG_PORT_*) set on exactly the ports of set, every
 * other bit of every port kept.
 */
static inline void sg_port_map_mark(struct sg_port_map *m, __u8 bit,
				    const struct sg_ports *set)
{
	unsigned int i;

	for (i = 0; i < 65536; i++)
		m->port[i] = (m->port[i] & ~bit) |
			     ((set->bits[i / 64] >> (i % 64) & 1) ? bit : 0);
}

/* The ports with bit set, into *out. */
static inline void sg_port_map_get(const struct sg_port_map *m, __u8 bit,
				   struct sg_ports *out)
{
	unsigned int i;

	for (i = 0; i < 65536 / 64; i++)
		out->bits[i] = 0;
	for (i = 0; i < 65536; i++)
		if (m->port[i] & bit)
			out->bits[i / 64] |= 1ULL << (i % 64);
}
#endif

/*
 * The cookie (sequence number of our SYN-ACK) comes in two variants. Which
 * one an ACK is checked as depends on whether the ACK carries a timestamp
 * option: a client echoes timestamps exactly when our SYN-ACK sent one, and
 * our SYN-ACK sent one exactly when the cookie was made as a TS cookie. The
 * last byte of the MAC message says which variant made it, so a cookie of
 * one variant never checks as the other (doc/design.md, "The cookie").
 *
 * Without timestamps (bit 0 = least significant):
 *
 *   31                           7  6   5   4 3   2   1 0
 *  +------------------------------+---+---+----+---+-----+
 *  |        MAC (25 bits)         |key|par| ws |sak| mss |
 *  +------------------------------+---+---+----+---+-----+
 *
 *  mss  index into the MSS table of the family (largest entry not above the
 *       client's MSS option, or the protocol default if it sent none)
 *  sak  client offered SACK-permitted
 *  ws   0: the client offered no window scale; 1..3: it did, and its scale
 *       rounded down to SG_WS_TABLE (0, 7, 8): a smaller scale makes us
 *       read the client's window as smaller than it is, which is safe
 *  par  parity of the time counter (SG clock ns >> SG_PERIOD_SHIFT)
 *  key  which of the two key slots made the cookie
 *  MAC  bits 63..39 of SipHash-2-4(key, saddr daddr sport dport (network
 *       order, client's view) || client ISN (le32) || (counter << 7 |
 *       bits 0..6) (le32, counter's low 25 bits) || ours (1 byte)), ours
 *       being the window scale our SYN-ACK offered, SG_COOKIE_WS_NONE if
 *       none: 21 bytes for IPv4, 45 for IPv6.
 *
 * No room for ECN: a client without timestamps gets no ECE, as with the
 * kernel's own cookies.
 *
 * The validator accepts the periods that overlap [now - lifetime, now +
 * skew]. SG_LIFETIME_MAX + skew fits in one period, so those are at most
 * two consecutive periods, which the parity tells apart: one hash. A
 * cookie is accepted for at least the lifetime and less than lifetime +
 * one period (+ skew for a fleet peer whose clock is ahead).
 *
 * With timestamps, the TSval of our SYN-ACK carries the options and the
 * time, and the client echoes it in its ACK's TSecr:
 *
 *   31                                  9   8   7 6  5   4  3    0
 *  +-------------------------------------+---+----+---+---+------+
 *  |  SG clock ns >> 29 (23 bits)        |key|mss |ecn|sak|  ws  |
 *  +-------------------------------------+---+----+---+---+------+
 *
 *  ws   the client's window scale (0..14), 15 = it offered none
 *  ecn  client asked for ECN (ECE|CWR) and we answered with ECE
 *  the others as above; the time unit is 2^29 ns, about 0.54 s. As a
 *  number the TSval is close to the SG clock in units of 2^20 ns (about
 *  1 ms), the low 9 bits replaced.
 *
 * and the cookie is 32 MAC bits: bits 63..32 of SipHash-2-4(key, saddr
 * daddr sport dport || client ISN (le32) || TSecr (le32) || ours | 0x80).
 * The time is exact to a unit, so the age is checked against the lifetime
 * itself (plus one unit), and the skew allowance likewise.
 *
 * Probability that a random ACK is accepted, the attacker choosing the
 * variant, the key bit and every time field (doc/design.md has the
 * arithmetic): without timestamps, 2 periods x 2 keys x 2^5 data values
 * out of 2^32: 2^-25; with timestamps 2^-32 per hash. After a change of
 * wscale, for SG_WSCALE_PREV_NS, a cookie that fails with the current
 * scale is tried with the previous one: twice that, 2^-24 at most. The
 * kernel's own cookies: about 2^-29.
 */
#define SG_COOKIE_MSS_SHIFT 0
#define SG_COOKIE_MSS_MASK 0x3
#define SG_COOKIE_SACK (1u << 2)
#define SG_COOKIE_WS_SHIFT 3
#define SG_COOKIE_WS_MASK 0x3
#define SG_COOKIE_PAR_SHIFT 5
#define SG_COOKIE_KEY_SHIFT 6
#define SG_COOKIE_MAC_SHIFT 7
#define SG_COOKIE_MAC_BITS 25
#define SG_COOKIE_DATA_MASK 0x7f /* bits covered by the MAC as data */
#define SG_COOKIE_WS_NONE 0xf /* "ours": our SYN-ACK offered no scale */
/* Window scales of ws codes 1..3 (code 0: none offered), ascending. */
#define SG_WS_TABLE_1 0
#define SG_WS_TABLE_2 7
#define SG_WS_TABLE_3 8
/* The last byte of the MAC message of a TS cookie: ours | this. */
#define SG_MAC_TS_FLAG 0x80

#define SG_TS_WS_MASK 0xf
#define SG_TS_SACK (1u << 4)
#define SG_TS_ECN (1u << 5)
#define SG_TS_MSS_SHIFT 6
#define SG_TS_KEY_SHIFT 8
#define SG_TS_TIME_SHIFT 9
#define SG_TS_TIME_MASK 0x7fffff
#define SG_TS_UNIT_SHIFT 29 /* TSval time = SG clock ns >> 29 */

#define SG_PERIOD_SHIFT 36 /* time counter = SG clock ns >> 36 (68.7 s) */
/*
 * How far ahead a fleet peer's clock may be: its cookies still validate.
 * NTP keeps hosts within milliseconds; 2^33 ns is about 8.6 s.
 */
#define SG_SKEW_SHIFT 33
/* Lifetime bounds, seconds. The maximum plus the skew must fit in one
 * period (checked below); the minimum outlasts a lost ACK's retransmitted
 * first data segments (1 + 2 + 4 + 8 s). */
#define SG_LIFETIME_MIN 18
#define SG_LIFETIME_MAX 60
_Static_assert((__u64)SG_LIFETIME_MAX * SG_NSEC_PER_SEC +
			       (1ULL << SG_SKEW_SHIFT) <=
		       1ULL << SG_PERIOD_SHIFT,
	       "lifetime + skew must fit in one period");
/*
 * What a cookie may outlive its lifetime by: one period of age rounding
 * and the skew (see above); in seconds rounded up, for messages.
 */
#define SG_COOKIE_MARGIN_NS ((1ULL << SG_PERIOD_SHIFT) + (1ULL << SG_SKEW_SHIFT))
#define SG_COOKIE_MARGIN_SEC                                                   \
	((unsigned int)((SG_COOKIE_MARGIN_NS + SG_NSEC_PER_SEC - 1) /          \
			SG_NSEC_PER_SEC))
/*
 * The longest a cookie can still validate after its SYN-ACK left, ns. The
 * XDP program refuses every ACK unhashed once no SYN-ACK was sent for this
 * long, and tries the window scale before a change (wscale_prev) for this
 * long after it; `config`, `key` and `status` reckon that window with it
 * too.
 */
#define SG_COOKIE_MAX_AGE_NS(lifetime)                                         \
	((__u64)(lifetime) * SG_NSEC_PER_SEC + SG_COOKIE_MARGIN_NS)
#define SG_WSCALE_PREV_NS(lifetime) SG_COOKIE_MAX_AGE_NS(lifetime)

/* MSS tables (the kernel's), indexed by the cookie's mss bits. */
#define SG_MSS4_0 536
#define SG_MSS4_1 1300
#define SG_MSS4_2 1440
#define SG_MSS4_3 1460
#define SG_MSS6_0 1220
#define SG_MSS6_1 1420
#define SG_MSS6_2 1440
#define SG_MSS6_3 8940
#define SG_MSS4_TABLE { SG_MSS4_0, SG_MSS4_1, SG_MSS4_2, SG_MSS4_3 }
#define SG_MSS6_TABLE { SG_MSS6_0, SG_MSS6_1, SG_MSS6_2, SG_MSS6_3 }
/* The same tables packed 16 bits an entry, index 0 lowest, for BPF. */
#define SG_MSS_PACK(a, b, c, d)                                                \
	((__u64)(a) | (__u64)(b) << 16 | (__u64)(c) << 32 | (__u64)(d) << 48)
#define SG_MSS4_PACKED SG_MSS_PACK(SG_MSS4_0, SG_MSS4_1, SG_MSS4_2, SG_MSS4_3)
#define SG_MSS6_PACKED SG_MSS_PACK(SG_MSS6_0, SG_MSS6_1, SG_MSS6_2, SG_MSS6_3)
#define SG_MSS4_DEFAULT 536 /* RFC 9293: no MSS option */
#define SG_MSS6_DEFAULT 1220 /* RFC 8200: minimum MTU 1280 - 60 */
#define SG_WSCALE_MAX 14

/*
 * Kernel engine: the options of a kernel-cookie SYN-ACK, in the low bits of
 * its TSval, laid out as the kernel's cookie_init_timestamp() does (the
 * same in 6.1 and 6.12), so that its cookie_timestamp_decode() restores
 * them from the client's echo: bits 0-3 the client's window scale (0xf:
 * none), bit 4 SACK, bit 5 ECN. The bits above are the kernel's TCP clock
 * in ms (CLOCK_MONOTONIC), rounded down so as not to run ahead of it.
 */
#define SG_KTS_BITS 6
#define SG_KTS_WS_MASK 0xf
#define SG_KTS_SACK (1u << 4)
#define SG_KTS_ECN (1u << 5)

/*
 * XDP metadata for a cookie-validated ACK, written in front of the frame
 * with bpf_xdp_adjust_meta() and read by the TC handoff as skb->data_meta.
 * The magic tells it apart from metadata of other XDP programs.
 */
#define SG_META_MAGIC 0x53474d31 /* "SGM1" */
#define SG_META_F_TSTAMP (1u << 0)
#define SG_META_F_WSCALE (1u << 1)
#define SG_META_F_SACK (1u << 2)
#define SG_META_F_ECN (1u << 3)
/*
 * Not a handoff: an IPv6 ACK with a valid raw cookie for netfilter's
 * SYNPROXY (attach --synproxy nat, --gateway), whose TCP checksum TC
 * verifies and marks so that SYNPROXY's IPv4-only checksum routine lets it
 * through (bpf/proxycsum.h; doc/design.md, "SYNPROXY for translated
 * ports"). Only magic, flags and secret are set.
 */
#define SG_META_F_PROXY (1u << 4)
/*
 * Not a handoff: a client segment of a flow SYNPROXY is still opening
 * (SG_PROXY_CT_MARK), for TC to mark with SG_HOLD_PRIORITY. Only magic,
 * flags and secret are set.
 */
#define SG_META_F_HOLD (1u << 5)

struct sg_meta {
	__u32 magic;
	__u32 rcv_tsval; /* client's TSval (its ACK) */
	__u32 rcv_tsecr; /* client's TSecr: the TSval we sent */
	__u16 mss; /* client's MSS, from the cookie's table index */
	__u8 rcv_wscale; /* our window scale */
	__u8 snd_wscale; /* client's window scale */
	__u8 flags; /* SG_META_F_* */
	__u8 pad[3];
	/*
	 * The random secret of this load of the programs (sg_meta_secret in
	 * the object's .rodata, set by attach). Metadata can reach TC from
	 * elsewhere (a veth peer's XDP_TX keeps it; generic XDP leaves an
	 * skb's own): TC hands off only frames whose metadata carries it.
	 */
	__u32 secret[2];
};

#endif /* SYNGUARD_H */
