// SPDX-License-Identifier: GPL-2.0
/*
 * top: who is sending what, from the packet samples: the source prefixes,
 * destination ports and verdicts of the frames sampled each second.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sg.h"

static int cmd_top(int argc, char **argv);

enum { TP_JSON, TP_SECONDS, TP_PREFIX4, TP_PREFIX6, TP_WHAT, TP_RATE };

static const struct sg_opt top_opts[] = {
	[TP_JSON] = {"json", 'j', NULL, "print one JSON object per second"},
	[TP_SECONDS] = {"seconds", 's', "S", "stop after S seconds"},
	[TP_PREFIX4] = {"prefix4", 0, "N",
			"aggregate IPv4 sources by /N (default 24)"},
	[TP_PREFIX6] = {"prefix6", 0, "N",
			"aggregate IPv6 sources by /N (default 64)"},
	[TP_WHAT] = {"what", 0, "syn|ack|limited|denied|dropped|all",
		     "which frames, as for capture (default: all)"},
	[TP_RATE] = {"rate", 0, "N",
		     "at most N samples a second per CPU (default " SG_XSTR(
			     SG_SAMPLE_RATE_DEFAULT) ")"},
	{NULL},
};

const struct sg_cmd sg_cmd_top = {
	.name = "top",
	.run = cmd_top,
	.args = "IFACE [--json] [--seconds S] [--prefix4 N] [--prefix6 N] [--what KIND[,KIND...]] [--rate N]",
	.summary =
		"show the top sources, ports and verdicts, live, from packet samples",
	.opts = top_opts,
	.doc = "Counts are samples of the last second, at most --rate a second on each CPU:\nunder a flood they show shares, not packet rates (`synguard stats --interval 1`\nhas the rates). Sources are aggregated by prefix (/24 and /64 by default).\nStops at --seconds or SIGINT/SIGTERM. One reader (top or capture) per\ninterface at a time.",
};

#define TOP_ROWS 10

struct top_args {
	const char *iface;
	bool json;
	double seconds;
	unsigned long long prefix4, prefix6;
	__u64 mask;
	__u32 rate;
};

static int prefix_parse(const char *arg, int family, unsigned long long *out)
{
	unsigned long long max = family == 4 ? 32 : 128;

	if (sg_parse_uint(arg, out) || !*out || *out > max) {
		sg_err("invalid --prefix%d '%s': a prefix length from 1 to %llu",
		       family, arg, max);
		return -1;
	}
	return 0;
}

static int top_opt(void *ctx, int idx, const char *arg)
{
	struct top_args *a = ctx;

	switch (idx) {
	case TP_JSON:
		a->json = true;
		return 0;
	case TP_SECONDS:
		return sg_sample_seconds_parse(arg, &a->seconds);
	case TP_PREFIX4:
		return prefix_parse(arg, 4, &a->prefix4);
	case TP_PREFIX6:
		return prefix_parse(arg, 6, &a->prefix6);
	case TP_WHAT:
		return sg_sample_kinds_parse(arg, &a->mask);
	default:
		return sg_sample_rate_parse(arg, &a->rate);
	}
}

/* What top reads of a frame: its source and destination port. */
struct frame_info {
	int family; /* 4, 6; 0 not IP */
	__u8 saddr[16];
	int dport; /* -1: not TCP or UDP, or not in the captured bytes */
};

/* Ethernet, up to two VLAN tags, IPv4 or IPv6 (and its extension headers). */
static void frame_parse(const __u8 *d, __u32 len, struct frame_info *f)
{
	__u32 off = 12, i;
	__u16 proto;
	__u8 next, hdr;

	memset(f, 0, sizeof(*f));
	f->dport = -1;
	if (len < off + 2)
		return;
	proto = d[off] << 8 | d[off + 1];
	for (i = 0; i < 2 && (proto == 0x8100 || proto == 0x88a8); i++) {
		off += 4;
		if (len < off + 2)
			return;
		proto = d[off] << 8 | d[off + 1];
	}
	off += 2;
	if (proto == 0x0800 && len >= off + 20) {
		f->family = 4;
		memcpy(f->saddr, d + off + 12, 4);
		next = d[off + 9];
		/* A later fragment carries no ports. */
		if ((d[off + 6] & 0x1f) || d[off + 7])
			return;
		off += (d[off] & 0xf) * 4;
	} else if (proto == 0x86dd && len >= off + 40) {
		f->family = 6;
		memcpy(f->saddr, d + off + 8, 16);
		next = d[off + 6];
		off += 40;
		for (i = 0; i < 8 && (next == 0 || next == 43 || next == 60 ||
				      next == 44);
		     i++) {
			if (len < off + 8)
				return;
			if (next == 44 &&
			    ((d[off + 2] << 8 | d[off + 3]) & 0xfff8))
				return;
			hdr = next;
			next = d[off];
			off += hdr == 44 ? 8 : (d[off + 1] + 1) * 8;
		}
	} else {
		return;
	}
	if ((next == 6 || next == 17) && len >= off + 4)
		f->dport = d[off + 2] << 8 | d[off + 3];
}

/* A count per key, the keys as text. */
struct tally {
	char (*key)[64];
	unsigned long long *n;
	size_t len, cap;
};

static void tally_add(struct tally *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (!strcmp(t->key[i], key)) {
			t->n[i]++;
			return;
		}
	if (t->len == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		void *k = realloc(t->key, cap * sizeof(*t->key));
		void *n = k ? realloc(t->n, cap * sizeof(*t->n)) : NULL;

		if (k)
			t->key = k;
		if (!n)
			return; /* out of memory: this one goes uncounted */
		t->n = n;
		t->cap = cap;
	}
	snprintf(t->key[t->len], sizeof(t->key[0]), "%s", key);
	t->n[t->len++] = 1;
}

/* The top TOP_ROWS entries to the front, most samples first. */
static void tally_sort(struct tally *t)
{
	size_t i, j, best;
	char k[64];
	unsigned long long n;

	for (i = 0; i < t->len && i < TOP_ROWS; i++) {
		for (best = i, j = i + 1; j < t->len; j++)
			if (t->n[j] > t->n[best] ||
			    (t->n[j] == t->n[best] &&
			     strcmp(t->key[j], t->key[best]) < 0))
				best = j;
		memcpy(k, t->key[i], sizeof(k));
		memcpy(t->key[i], t->key[best], sizeof(k));
		memcpy(t->key[best], k, sizeof(k));
		n = t->n[i];
		t->n[i] = t->n[best];
		t->n[best] = n;
	}
}

enum { T_SRC, T_PORT, T_VERDICT, T_MAX };
static const char *const tally_names[T_MAX] = {"sources", "ports", "verdicts"};
static const char *const tally_heads[T_MAX] = {"SOURCE", "PORT", "VERDICT"};

struct top {
	struct sg_reader r;
	const struct top_args *a;
	struct tally t[T_MAX];
	unsigned long long n;
	__u64 last_ns;
};

/* addr masked to its first bits bits, as "ADDR/BITS". */
static void prefix_fmt(int family, const __u8 *addr, unsigned int bits,
		       char *buf, size_t len)
{
	__u8 a[16] = {};
	char s[INET6_ADDRSTRLEN];
	unsigned int i;

	for (i = 0; i < bits / 8; i++)
		a[i] = addr[i];
	if (bits % 8)
		a[i] = addr[i] & (0xff << (8 - bits % 8));
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	snprintf(buf, len, "%s/%u", s, bits);
}

static int top_one(void *ctx, void *data, size_t size)
{
	struct top *tp = ctx;
	const struct sg_pktsample *s = data;
	struct frame_info f;
	char key[64];

	if (size < sizeof(*s))
		return 0;
	frame_parse(s->data,
		    s->cap_len <= SG_SAMPLE_BYTES ? s->cap_len
						  : SG_SAMPLE_BYTES,
		    &f);
	if (f.family)
		prefix_fmt(f.family, f.saddr,
			   f.family == 4 ? tp->a->prefix4 : tp->a->prefix6, key,
			   sizeof(key));
	else
		snprintf(key, sizeof(key), "not IP");
	tally_add(&tp->t[T_SRC], key);
	if (f.dport >= 0)
		snprintf(key, sizeof(key), "%d", f.dport);
	else
		snprintf(key, sizeof(key), "-");
	tally_add(&tp->t[T_PORT], key);
	tally_add(&tp->t[T_VERDICT], s->counter < SG_CNT_MAX
					     ? sg_counter_desc[s->counter].name
					     : "?");
	tp->n++;
	return 0;
}

static json_t *tally_json(const struct tally *t, int which)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; a && i < t->len && i < TOP_ROWS; i++) {
		o = json_object();
		sg_jset(o,
			which == T_SRC	  ? "prefix"
			: which == T_PORT ? "port"
					  : "verdict",
			which == T_PORT && strcmp(t->key[i], "-")
				? json_integer(atoi(t->key[i]))
				: sg_json_str(t->key[i]));
		sg_jset(o, "samples", json_integer(t->n[i]));
		sg_jappend(a, o);
	}
	return a;
}

static void top_print(struct top *tp, double dt)
{
	struct sg_table tbl = {.cols = 3, .right = 6};
	char n[32], share[32], when[16];
	time_t now = time(NULL);
	size_t i;
	int k;

	for (k = 0; k < T_MAX; k++)
		tally_sort(&tp->t[k]);
	if (tp->a->json) {
		json_t *doc = json_object();

		sg_jset(doc, "time", json_real(sg_now_real()));
		sg_jset(doc, "iface", sg_json_str(tp->a->iface));
		sg_jset(doc, "interval", json_real(dt));
		sg_jset(doc, "samples", json_integer(tp->n));
		for (k = 0; k < T_MAX; k++)
			sg_jset(doc, tally_names[k], tally_json(&tp->t[k], k));
		sg_json_print(doc);
	} else {
		if (isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
		printf("%s  %s  %llu samples in %.2f s (at most %u a second per CPU)\n",
		       tp->a->iface, when, tp->n, dt, tp->a->rate);
		for (k = 0; k < T_MAX; k++) {
			sg_tbl_add(&tbl, tally_heads[k]);
			sg_tbl_add(&tbl, "SAMPLES");
			sg_tbl_add(&tbl, "SHARE");
			for (i = 0; i < tp->t[k].len && i < TOP_ROWS; i++) {
				snprintf(n, sizeof(n), "%llu", tp->t[k].n[i]);
				snprintf(share, sizeof(share), "%.1f%%",
					 100.0 * tp->t[k].n[i] / tp->n);
				sg_tbl_add(&tbl, tp->t[k].key[i]);
				sg_tbl_add(&tbl, n);
				sg_tbl_add(&tbl, share);
			}
			putchar('\n');
			sg_tbl_print(&tbl, "  ");
		}
	}
	fflush(stdout);
	for (k = 0; k < T_MAX; k++)
		tp->t[k].len = 0;
	tp->n = 0;
}

static int top_tick(void *ctx)
{
	struct top *tp = ctx;
	__u64 now = sg_mono_ns();

	top_print(tp, (now - tp->last_ns) / 1e9);
	tp->last_ns = now;
	return 0;
}

static int cmd_top(int argc, char **argv)
{
	struct top_args a = {
		.rate = SG_SAMPLE_RATE_DEFAULT, .prefix4 = 24, .prefix6 = 64};
	struct top tp = {.a = &a};
	int rc, first, k, ret = SG_EXIT_FAIL;

	rc = sg_parse_opts(&sg_cmd_top, argc, argv, top_opt, &a, &first);
	if (rc)
		return rc;
	if (argc - first != 1) {
		sg_err("top takes one interface");
		sg_usage_hint(&sg_cmd_top);
		return SG_EXIT_USAGE;
	}
	a.iface = argv[first];
	if (sg_iface_check(a.iface, NULL))
		return SG_EXIT_USAGE;
	if (!a.mask)
		sg_sample_kinds_parse("all", &a.mask);
	sg_block_signals();
	if (sg_reader_open(&tp.r, a.iface, a.mask, a.rate, top_one, &tp))
		goto out;
	tp.last_ns = sg_mono_ns();
	if (!sg_reader_run(&tp.r, a.seconds, top_tick, &tp))
		ret = 0;
	/* The part of a second since the last table. */
	if (!ret && tp.n)
		top_tick(&tp);
out:
	sg_reader_close(&tp.r);
	for (k = 0; k < T_MAX; k++) {
		free(tp.t[k].key);
		free(tp.t[k].n);
	}
	return ret;
}
