// SPDX-License-Identifier: GPL-2.0
/*
 * The TC checksum step of SYNPROXY for IPv6 (bpf/proxycsum.h) under
 * BPF_PROG_TEST_RUN, through tests/bpf/tc_proxycsum.bpf.c: that program
 * runs sg_proxy_csum on the frame and returns bpf_csum_level(QUERY), so
 * each case asserts both the counter that moved and what the skb became
 * (0: CHECKSUM_UNNECESSARY, level 0; -EACCES: not verified). A test-run
 * skb starts as CHECKSUM_NONE, as a frame from a veth whose sender has
 * checksum offload off, or a NIC that does not verify checksums.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "harness.h"
#include "tc_proxycsum.skel.h"

#define PC_BUF 4096

static struct tc_proxycsum *pc;

static void pc_counters(__u64 *out)
{
	__u64 vals[SG_CNT_MAX * ncpus];
	int fd = bpf_map__fd(pc->maps.sg_counters), c;
	__u32 k;

	memset(out, 0, SG_CNT_MAX * sizeof(*out));
	for (k = 0; k < SG_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			fail("counter read: %s", strerror(errno));
			return;
		}
		for (c = 0; c < ncpus; c++)
			out[k] += vals[c];
	}
}

/* The frame through the step: the skb's state after it, counter c by 1. */
static void pc_run(const char *name, const uint8_t *in, size_t len,
		   int want_level, int c)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
		    .repeat = 1);
	int k;

	begin(name);
	pc_counters(before);
	if (bpf_prog_test_run_opts(bpf_program__fd(pc->progs.tc_proxycsum),
				   &opts)) {
		fail("BPF_PROG_TEST_RUN: %s", strerror(errno));
		end();
		return;
	}
	pc_counters(after);
	if ((int)opts.retval != want_level)
		fail("skb csum level %d after the step, want %d (%s)",
		     (int)opts.retval, want_level,
		     want_level ? "not verified" : "CHECKSUM_UNNECESSARY");
	for (k = 0; k < SG_CNT_MAX; k++)
		if (after[k] - before[k] != (__u64)(k == c))
			fail("counter %s changed by %llu, want %d",
			     counter_names[k],
			     (unsigned long long)(after[k] - before[k]),
			     k == c);
	end();
}

/* A client's handshake ACK (with timestamps), payload bytes after it. */
static int pc_ack(int family, int payload_len, uint8_t *buf, size_t cap,
		  struct pkt_offs *o)
{
	static uint8_t payload[PC_BUF];
	struct pkt_spec s;
	int i, len;

	for (i = 0; i < (int)sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	pkt_spec_init(&s, family);
	s.tcp_flags = PKT_TCP_ACK;
	s.dport = 8080;
	s.seq = 0x0a0b0c0e;
	s.ack = 0x12345679;
	s.tcp_opts_len = 0;
	pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
	pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
	pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 0x11223345, 0x01020304);
	s.payload = payload;
	s.payload_len = payload_len;
	len = pkt_build(&s, buf, cap);
	if (len < 0 || pkt_offsets(buf, len, o) || o->l4_off < 0) {
		begin("test bug: building the ACK");
		fail("pkt_build failed");
		end();
		return -1;
	}
	return len;
}

/* The TCP checksum as a sender with offload leaves it: the pseudo
 * header's sum only, not complemented (a CHECKSUM_PARTIAL skb's). */
static void pc_partial(uint8_t *buf, const struct pkt_offs *o)
{
	const uint8_t *ip6 = buf + o->l3_off;
	uint8_t ph[40] = {0};
	uint16_t sum;

	memcpy(ph, ip6 + 8, 32);
	ph[34] = o->l4_len >> 8;
	ph[35] = o->l4_len & 0xff;
	ph[39] = 6;
	sum = ~ref_csum_fold(ref_csum_add(0, ph, sizeof(ph)));
	buf[o->l4_off + 16] = sum >> 8;
	buf[o->l4_off + 17] = sum & 0xff;
}

/* How a case changes the ACK it builds. */
enum pc_edit {
	PC_AS_BUILT,
	PC_CSUM_BIT,  /* a bit of the checksum field */
	PC_HDR_BIT,   /* a bit of the cookie, not the checksum */
	PC_PARTIAL,   /* the checksum a sender with offload leaves */
	PC_LAST_BYTE, /* a bit of the payload's last byte */
};

static const struct pc_case {
	const char *name;
	int family, payload_len;
	enum pc_edit edit;
	int want_level, counter;
} pc_cases[] = {
	{"IPv6 ACK, right checksum -> CHECKSUM_UNNECESSARY, proxy_csum_ok", 6,
	 0, PC_AS_BUILT, 0, SG_CNT_PROXY_CSUM_OK},
	{"IPv6 ACK, checksum off by one bit -> unverified, proxy_csum_bad", 6,
	 0, PC_CSUM_BIT, -EACCES, SG_CNT_PROXY_CSUM_BAD},
	{"IPv6 ACK, a header bit flipped after the checksum -> unverified, proxy_csum_bad",
	 6, 0, PC_HDR_BIT, -EACCES, SG_CNT_PROXY_CSUM_BAD},
	{"IPv6 ACK, partial checksum (offload) -> left unverified, proxy_csum_unmarked",
	 6, 0, PC_PARTIAL, -EACCES, SG_CNT_PROXY_CSUM_UNMARKED},
	/* An odd length: the copy's padding to a word must be zeros. */
	{"IPv6 ACK with 1201 bytes of data, right checksum -> CHECKSUM_UNNECESSARY",
	 6, 1201, PC_AS_BUILT, 0, SG_CNT_PROXY_CSUM_OK},
	{"IPv6 ACK with 1201 bytes of data, last byte changed -> proxy_csum_bad",
	 6, 1201, PC_LAST_BYTE, -EACCES, SG_CNT_PROXY_CSUM_BAD},
	{"IPv6 ACK with 2048 bytes of data (the most summed) -> CHECKSUM_UNNECESSARY",
	 6, 2048, PC_AS_BUILT, 0, SG_CNT_PROXY_CSUM_OK},
	{"IPv6 ACK with 2049 bytes of data -> not summed, proxy_csum_unmarked",
	 6, 2049, PC_AS_BUILT, -EACCES, SG_CNT_PROXY_CSUM_UNMARKED},
	{"IPv4 ACK (never sent here by XDP) -> proxy_csum_unmarked", 4, 0,
	 PC_AS_BUILT, -EACCES, SG_CNT_PROXY_CSUM_UNMARKED},
};

void test_proxy_csum(void)
{
	static uint8_t buf[PC_BUF];
	struct pkt_offs o;
	size_t i;
	int len;

	/* Runs without the harness's setup (it needs Linux 5.7, not the
	 * own engine's 6.9), which is what sizes the per-CPU reads. */
	if (ncpus <= 0)
		ncpus = libbpf_num_possible_cpus();
	begin("TC checksum step: the test program loads");
	if (ncpus <= 0) {
		fail("cannot count the possible CPUs: %s", strerror(-ncpus));
		end();
		return;
	}
	pc = tc_proxycsum__open();
	if (!pc) {
		fail("open: %s", strerror(errno));
	} else {
		struct bpf_map *m;

		bpf_object__for_each_map (m, pc->obj)
			bpf_map__set_pin_path(m, NULL);
		if (tc_proxycsum__load(pc)) {
			fail("load: %s", strerror(errno));
			tc_proxycsum__destroy(pc);
			pc = NULL;
		}
	}
	end();
	if (!pc)
		return;
	for (i = 0; i < sizeof(pc_cases) / sizeof(pc_cases[0]); i++) {
		const struct pc_case *c = &pc_cases[i];

		len = pc_ack(c->family, c->payload_len, buf, sizeof(buf), &o);
		if (len < 0)
			continue;
		if (c->edit == PC_CSUM_BIT)
			buf[o.l4_off + 17] ^= 0x01;
		else if (c->edit == PC_HDR_BIT)
			buf[o.l4_off + 4] ^= 0x80;
		else if (c->edit == PC_PARTIAL)
			pc_partial(buf, &o);
		else if (c->edit == PC_LAST_BYTE)
			buf[len - 1] ^= 0x10;
		pc_run(c->name, buf, len, c->want_level, c->counter);
	}
	tc_proxycsum__destroy(pc);
	pc = NULL;
}
