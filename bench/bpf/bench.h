/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Definitions shared by the benchmark BPF programs (bench/bpf/) and the
 * benchmark tools (the C files of bench/). Like include/synguard.h, nothing
 * BPF-only: it compiles with clang -target bpf and with the host compiler.
 */
#ifndef SG_BENCH_H
#define SG_BENCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* ---- flood.bpf.c: the live-frames SYN/ACK flood generator ---- */

#define FLOOD_FRAME_MAX 128 /* Ethernet + IPv6 + TCP with 40 bytes options */
#define FLOOD_FRAME_MIN 60  /* Ethernet minimum without the FCS */
#define FLOOD_L3_OFF 14	    /* no VLAN: the generator sends untagged frames */

/*
 * One entry of the flood_cfg array, written by bench/flood.c before the
 * first run. The template holds every field that does not change; the
 * random fields (source address host bits, source port, sequence number,
 * and in ACK mode the ack number) are zero in it, and so are both
 * checksums. The *_sum fields are the one's complement sums (not folded)
 * of what is constant, taken as native 16-bit words, so the program only
 * adds the random words and folds.
 */
struct flood_cfg {
	__u32 len;     /* frame length */
	__u8 family;   /* 4 or 6 */
	__u8 ack_mode; /* random ack numbers (ACK flood) */
	__u8 pad[2];
	__u32 src_prefix[4]; /* network order; IPv4 uses [0] */
	__u32 src_mask[4];   /* host bits to randomise, network order */
	__u32 ip_sum;	     /* IPv4 header, saddr and check zero */
	__u32 tcp_sum; /* pseudo header + TCP segment, random fields zero */
	/* Pacing, per CPU (one sending thread per CPU): a burst of `burst`
	 * frames every gap_ns; 0 = unpaced. */
	__u64 gap_ns;
	__u32 burst;
	__u32 pad2;
	__u64 catchup_ns; /* owed bursts older than this are skipped */
	__u64 end_ns;	  /* CLOCK_MONOTONIC: send nothing from then on */
	__u8 frame[FLOOD_FRAME_MAX];
};

/* Per-CPU state and counts of the generator (flood_state map). */
struct flood_state {
	__u64 next_ns; /* when the next burst may start */
	__u32 left;    /* frames left in the current burst */
	__u32 pad;
	__u64 sent;    /* frames sent (XDP_TX) */
	__u64 idle;    /* runs that sent nothing: waiting for the next burst */
	__u64 skipped; /* frames owed but skipped after falling behind */
};

/* ---- xdpbench.bpf.c: counters and the reflector for bench/e2e.sh ---- */

/*
 * Counters of the xb_* programs, one per-CPU array slot each; xdpctl prints
 * them by these names.
 * X(enum suffix, printed name)
 */
#define XB_COUNTERS(X)                                                         \
	X(FRAMES, "frames")                                                    \
	X(SYN, "syn")                                                          \
	X(SYNACK, "synack")                                                    \
	X(SYNACK_LOCAL, "synack_local")                                        \
	X(ACK, "ack")                                                          \
	X(RST, "rst")                                                          \
	X(OTHER, "other")                                                      \
	X(FOREIGN_DROP, "foreign_drop")                                        \
	X(REFLECTED, "reflected")

#define XB_X_ENUM(name, str) XB_CNT_##name,
enum xb_counter { XB_COUNTERS(XB_X_ENUM) XB_CNT_MAX };
#undef XB_X_ENUM

/*
 * One entry of xb_cfg. With drop_foreign set, TCP frames to an address
 * that is not local4/local6 are counted and dropped: on the client side,
 * those are the answers to the flood's spoofed sources, which must not
 * cost the client's kernel anything (nor be answered with RSTs).
 */
struct xb_cfg {
	__u32 local4; /* network order */
	__u32 local6[4];
	__u8 drop_foreign;
	__u8 pad[3];
};

#endif /* SG_BENCH_H */
