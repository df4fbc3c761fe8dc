// SPDX-License-Identifier: GPL-2.0
/* capture: the packet samples of an interface into a pcap file. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

#include "sg.h"

static int cmd_capture(int argc, char **argv);

enum { CO_WRITE, CO_WHAT, CO_COUNT, CO_SECONDS, CO_RATE };

static const struct sg_opt capture_opts[] = {
	[CO_WRITE] = {"write", 'w', "FILE", "write the samples to FILE (pcap)"},
	[CO_WHAT] =
		{"what", 0, "syn|ack|limited|denied|dropped|all",
		 "which frames (Kinds below), several separated by commas (default: dropped)"},
	[CO_COUNT] = {"count", 'c', "N", "stop after N samples"},
	[CO_SECONDS] = {"seconds", 's', "S", "stop after S seconds"},
	[CO_RATE] = {"rate", 0, "N",
		     "at most N samples a second per CPU (default " SG_XSTR(
			     SG_SAMPLE_RATE_DEFAULT) ")"},
	{NULL},
};

const struct sg_cmd sg_cmd_capture = {
	.name = "capture",
	.run = cmd_capture,
	.args = "IFACE -w FILE [--what KIND[,KIND...]] [--count N] [--seconds S] [--rate N]",
	.summary = "write a sample of the frames of a kind to a pcap file",
	.opts = capture_opts,
	.doc = "Kinds (the XDP verdict counters each covers):\n"
	       "  syn      SYNs answered with a cookie SYN-ACK (synack_sent, syn_kernel_cookie,\n"
	       "           syn_proxy_cookie), captured as they arrived\n"
	       "  ack      ACKs dropped for want of a valid cookie (cookie_bad, cookie_expired,\n"
	       "           cookie_none_issued, ack_kernel_cookie_bad, ack_proxy_cookie_bad)\n"
	       "  limited  SYNs and ACKs over their source's limit (syn_src_limited,\n"
	       "           ack_src_limited)\n"
	       "  denied   packets from the deny list (deny_drop)\n"
	       "  dropped  every frame dropped, whatever the reason\n"
	       "  all      every frame\n"
	       "Each sample holds the first " SG_XSTR(
		       SG_SAMPLE_BYTES) " bytes of the frame; the pcap records its\nfull length. Stops at --count, --seconds or SIGINT/SIGTERM. One reader (top or\ncapture) per interface at a time.",
};

struct capture_args {
	const char *iface, *file;
	__u64 mask;
	__u32 rate;
	unsigned long long count;
	double seconds;
};

static int capture_opt(void *ctx, int idx, const char *arg)
{
	struct capture_args *a = ctx;

	switch (idx) {
	case CO_WRITE:
		a->file = arg;
		return 0;
	case CO_WHAT:
		return sg_sample_kinds_parse(arg, &a->mask);
	case CO_COUNT:
		if (sg_parse_uint(arg, &a->count) || !a->count) {
			sg_err("invalid --count '%s': a positive number of samples",
			       arg);
			return -1;
		}
		return 0;
	case CO_SECONDS:
		return sg_sample_seconds_parse(arg, &a->seconds);
	default:
		return sg_sample_rate_parse(arg, &a->rate);
	}
}

struct capture {
	struct sg_reader r;
	pcap_dumper_t *d;
	unsigned long long n, want;
};

static int capture_one(void *ctx, void *data, size_t size)
{
	struct capture *c = ctx;
	const struct sg_pktsample *s = data;
	struct pcap_pkthdr h = {};

	if (size < sizeof(*s) || c->r.done)
		return 0;
	h.ts.tv_sec = s->time_ns / SG_NSEC_PER_SEC;
	h.ts.tv_usec = s->time_ns % SG_NSEC_PER_SEC / 1000;
	h.caplen = s->cap_len <= SG_SAMPLE_BYTES ? s->cap_len : SG_SAMPLE_BYTES;
	h.len = s->len;
	pcap_dump((u_char *)c->d, &h, s->data);
	if (++c->n == c->want)
		c->r.done = true;
	return 0;
}

static int cmd_capture(int argc, char **argv)
{
	struct capture_args a = {.rate = SG_SAMPLE_RATE_DEFAULT};
	struct capture c = {};
	pcap_t *dead;
	int rc, first, ret = SG_EXIT_FAIL;

	rc = sg_parse_opts(&sg_cmd_capture, argc, argv, capture_opt, &a,
			   &first);
	if (rc)
		return rc;
	if (argc - first != 1) {
		sg_err("capture takes one interface");
		sg_usage_hint(&sg_cmd_capture);
		return SG_EXIT_USAGE;
	}
	a.iface = argv[first];
	if (!a.file) {
		sg_err("capture needs a file: -w FILE.pcap");
		sg_usage_hint(&sg_cmd_capture);
		return SG_EXIT_USAGE;
	}
	if (!a.mask)
		sg_sample_kinds_parse("dropped", &a.mask);
	if (sg_iface_check(a.iface, NULL))
		return SG_EXIT_USAGE;
	dead = pcap_open_dead(DLT_EN10MB, SG_SAMPLE_BYTES);
	if (!dead) {
		sg_err("cannot set up libpcap: out of memory");
		return SG_EXIT_FAIL;
	}
	sg_block_signals();
	c.want = a.count;
	/* The interface first: a refused reader leaves no file behind. */
	if (sg_reader_open(&c.r, a.iface, a.mask, a.rate, capture_one, &c))
		goto out;
	c.d = pcap_dump_open(dead, a.file);
	if (!c.d) {
		sg_err("cannot write %s: %s; give -w a path in a writable directory",
		       a.file, pcap_geterr(dead));
		goto out;
	}
	if (!sg_reader_run(&c.r, a.seconds, NULL, NULL))
		ret = 0;
out:
	sg_reader_close(&c.r);
	if (c.d) {
		if (pcap_dump_flush(c.d))
			sg_err("cannot write %s: %s", a.file, strerror(errno));
		pcap_dump_close(c.d);
		sg_note("%s: %llu samples written to %s", a.iface, c.n, a.file);
	}
	pcap_close(dead);
	return ret;
}
