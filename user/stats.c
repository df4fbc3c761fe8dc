// SPDX-License-Identifier: GPL-2.0
/* stats: what synguard has done, as text, JSON or Prometheus. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg.h"

static int cmd_stats(int argc, char **argv);

enum { TO_INTERVAL, TO_COUNT, TO_JSON, TO_PROM };

static const struct sg_opt stats_opts[] = {
	[TO_INTERVAL] = {"interval", 'i', "SEC",
			 "print rates per second every SEC seconds"},
	[TO_COUNT] = {"count", 'c', "N",
		      "stop after N intervals (default: until interrupted)"},
	[TO_JSON] = {"json", 'j', NULL, "print one JSON object per line"},
	[TO_PROM] = {"prometheus", 'p', NULL,
		     "print the Prometheus text exposition format"},
	{NULL},
};

const struct sg_cmd sg_cmd_stats = {
	.name = "stats",
	.min_abbrev = 5,
	.run = cmd_stats,
	.args = "[IFACE] [--interval SEC] [--count N] [--json | --prometheus]",
	.summary = "show the counters (summed over CPUs), or their rates",
	.opts = stats_opts,
	.doc = "Without IFACE: every protected interface.\n"
	       "--prometheus: cumulative counters, one metric per counter, "
	       "for a scrape or\nnode_exporter's textfile collector (Prometheus derives rates itself, so it\ndoes not combine with --interval):\n"
	       "  synguard_<counter>_total{iface=\"IFACE\"}\n"
	       "  synguard_handoff_kfunc_errors_total{iface=\"IFACE\",errno=\"ENAME\"}",
};

struct stats_args {
	double interval;
	unsigned long long count;
	bool json, prom;
};

static int stats_opt(void *ctx, int idx, const char *arg)
{
	struct stats_args *a = ctx;

	switch (idx) {
	case TO_INTERVAL:
		if (sg_parse_seconds(arg, &a->interval) || a->interval < 0.1 ||
		    a->interval > 86400) {
			sg_err("invalid --interval '%s': seconds from 0.1 to 86400",
			       arg);
			return -1;
		}
		return 0;
	case TO_COUNT:
		if (sg_parse_uint(arg, &a->count) || !a->count) {
			sg_err("invalid --count '%s': a positive number", arg);
			return -1;
		}
		return 0;
	case TO_JSON:
		a->json = true;
		return 0;
	default:
		a->prom = true;
		return 0;
	}
}

static void print_text(struct sg_sample *s, int n, double dt)
{
	struct sg_table t = {.cols = 3, .right = dt ? 6 : 2};
	char v[32], r[32], lbl[16], when[16];
	time_t now = time(NULL);
	unsigned int k;
	int i;

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	for (i = 0; i < n; i++) {
		if (dt)
			printf("%s  %s  (%.2f s)\n", s[i].iface, when, dt);
		else
			printf("%s\n", s[i].iface);
		if (s[i].have_state && s[i].monitor)
			printf("  " SG_MONITOR_NOTE "\n");
		sg_tbl_add(&t, "COUNTER");
		sg_tbl_add(&t, "TOTAL");
		sg_tbl_add(&t, dt ? "PER-SEC" : "MEANING");
		for (k = 0; k < SG_CNT_MAX; k++) {
			snprintf(v, sizeof(v), "%llu",
				 (unsigned long long)s[i].cnt[k]);
			snprintf(r, sizeof(r), "%.1f",
				 dt ? (s[i].cnt[k] - s[i].prev[k]) / dt : 0);
			sg_tbl_add(&t, sg_counter_desc[k].name);
			sg_tbl_add(&t, v);
			sg_tbl_add(&t, dt ? r : sg_counter_desc[k].help);
		}
		sg_tbl_print(&t, "  ");
		for (k = 1; k < s[i].nerr; k++)
			if (s[i].err[k])
				printf("  kfunc error %s: %llu\n",
				       sg_errno_label(k, lbl, sizeof(lbl)),
				       (unsigned long long)s[i].err[k]);
		if (i < n - 1)
			putchar('\n');
	}
}

/* A member per counter: the totals, or with prev the rates over dt. */
static json_t *counters_json(const __u64 *cnt, const __u64 *prev, double dt)
{
	json_t *o = json_object();
	unsigned int k;

	for (k = 0; o && k < SG_CNT_MAX; k++)
		sg_jset(o, sg_counter_desc[k].name,
			prev ? json_real((cnt[k] - prev[k]) / dt)
			     : json_integer(cnt[k]));
	return o;
}

static json_t *iface_json(const struct sg_sample *s, double dt)
{
	json_t *o = json_object(), *errs = json_object();
	unsigned int k;
	char lbl[16];

	if (s->have_state) {
		sg_jset(o, "enforcing", json_boolean(!s->monitor));
		if (s->monitor)
			sg_jset(o, "monitor", json_string(SG_MONITOR_NOTE));
	}
	sg_jset(o, "counters", counters_json(s->cnt, NULL, 0));
	if (dt)
		sg_jset(o, "rates", counters_json(s->cnt, s->prev, dt));
	for (k = 1; errs && k < s->nerr; k++)
		if (s->err[k])
			sg_jset(errs, sg_errno_label(k, lbl, sizeof(lbl)),
				json_integer(s->err[k]));
	sg_jset(o, "kfunc_errors", errs);
	return o;
}

static void print_json(struct sg_sample *s, int n, double dt)
{
	json_t *doc = json_object(), *ifs = json_object();
	int i;

	sg_jset(doc, "time", json_real(sg_now_real()));
	if (dt)
		sg_jset(doc, "interval", json_real(dt));
	for (i = 0; i < n; i++)
		sg_jset(ifs, s[i].iface, iface_json(&s[i], dt));
	sg_jset(doc, "interfaces", ifs);
	sg_json_print(doc);
}

static void print_stats(const struct stats_args *a, struct sg_sample *s, int n,
			double dt)
{
	if (a->prom)
		sg_prom_write(stdout, s, n);
	else if (a->json)
		print_json(s, n, dt);
	else if (n)
		print_text(s, n, dt);
	else
		printf("no interface is protected by synguard\n");
	fflush(stdout);
}

/* --interval: rates every interval, on absolute deadlines (no drift). */
static int print_every(const struct stats_args *a, struct sg_sample *s, int n)
{
	struct timespec next, t0, t1;
	unsigned long long round;
	double dt;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &next);
	t0 = next;
	for (round = 0; !a->count || round < a->count; round++) {
		next.tv_sec += (time_t)a->interval;
		next.tv_nsec +=
			(long)((a->interval - (time_t)a->interval) * 1e9);
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
				       NULL) == EINTR)
			;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		t0 = t1;
		for (i = 0; i < n; i++)
			if (sg_sample_read(&s[i]))
				return -1;
		print_stats(a, s, n, dt);
	}
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	struct stats_args a = {};
	struct sg_pins *p = NULL;
	struct sg_sample *s = NULL;
	int first, rc, n, i, ret = SG_EXIT_FAIL;
	char **names = NULL;

	rc = sg_parse_opts(&sg_cmd_stats, argc, argv, stats_opt, &a, &first);
	if (rc)
		return rc;
	if (a.json && a.prom) {
		sg_err("--json and --prometheus exclude each other");
		return SG_EXIT_USAGE;
	}
	if (a.prom && (a.interval || a.count)) {
		sg_err("--prometheus prints cumulative counters (Prometheus computes rates itself): it does not combine with --interval or --count");
		return SG_EXIT_USAGE;
	}
	if (a.count && !a.interval)
		a.interval = 1;
	n = sg_pick_ifaces(argc, argv, first, "stats", &names);
	if (n < 0)
		return SG_EXIT_FAIL;
	s = calloc(n ? n : 1, sizeof(*s));
	p = calloc(n ? n : 1, sizeof(*p));
	if (!s || !p)
		goto out;
	for (i = 0; i < n; i++)
		if (sg_sample_open(names[i], &p[i], &s[i]))
			goto out;
	/* The maps stay open: a long --interval run must not block attach. */
	sg_unlock();
	if (!a.interval) {
		print_stats(&a, s, n, 0);
		ret = 0;
		goto out;
	}
	if (print_every(&a, s, n))
		goto out;
	ret = 0;
out:
	for (i = 0; p && i < n; i++)
		sg_pins_close(&p[i]);
	free(p);
	free(s);
	sg_free_list(names, n);
	return ret;
}
