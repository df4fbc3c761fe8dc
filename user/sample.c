// SPDX-License-Identifier: GPL-2.0
/*
 * A sample of a protected interface: its counters summed over the CPUs and
 * the gauges of its state, what `stats` prints and the metrics endpoint of
 * `run` serves. Both render the same sample; the Prometheus rendering is
 * here, so that a scrape and `stats --prometheus` can never differ.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sg.h"

const char *sg_errno_label(unsigned int k, char *buf, size_t len)
{
	const char *name = strerrorname_np(k);

	/* The last slot collects every errno at or above it. */
	if (k == SG_KFUNC_ERRNO_MAX - 1)
		return "other";
	if (name)
		return name;
	snprintf(buf, len, "E%u", k);
	return buf;
}

__u32 sg_syn_rate_now(const struct sg_state *st, __u64 now)
{
	/*
	 * The program measures the rate only when a SYN to a protected port
	 * arrives: a measurement older than a full window means no SYN came
	 * in the last one.
	 */
	if (!st->measured_ns || st->measured_ns > now)
		return 0;
	if ((now >> SG_RATE_SHIFT) - (st->measured_ns >> SG_RATE_SHIFT) > 1)
		return 0;
	return st->rate;
}

/* The gauges: cookies engaged, the SYN rate, the key's age, the table. */
static void gauges_read(struct sg_sample *s)
{
	struct sg_config cfg;
	struct sg_state st;
	struct sg_info info;
	time_t now = time(NULL);

	s->have_state = !sg_map_read(s->p, SG_M_STATE, &st) &&
			!sg_map_read(s->p, SG_M_CONFIG, &cfg);
	if (s->have_state) {
		s->engaged = cfg.cookies != SG_COOKIES_AUTO || st.engaged;
		s->monitor = cfg.monitor;
		s->syn_rate = sg_syn_rate_now(&st, sg_mono_ns());
	}
	s->src_size = s->p->max_entries[SG_M_SRC];
	s->src_entries = s->no_src ? -1 : sg_src_count(s->p);
	s->key_age = -1;
	if (!sg_map_read(s->p, SG_M_INFO, &info) &&
	    info.key_installed_unix <= (__u64)now)
		s->key_age = now - info.key_installed_unix;
}

int sg_sample_read(struct sg_sample *s)
{
	int err;

	memcpy(s->prev, s->cnt, sizeof(s->cnt));
	err = sg_percpu_sum(s->cnt_fd, s->ncnt, s->cnt);
	if (!err && s->err_fd >= 0)
		err = sg_percpu_sum(s->err_fd, s->nerr, s->err);
	if (err) {
		sg_err("%s: cannot read the counters: %s", s->iface,
		       sg_strerr(err));
		return err;
	}
	gauges_read(s);
	return 0;
}

int sg_sample_open(const char *iface, struct sg_pins *p, struct sg_sample *s)
{
	const int need[] = {SG_M_COUNTERS};

	if (sg_pins_need(iface, p, need, ARRAY_SIZE(need)))
		return -1;
	s->iface = iface;
	s->p = p;
	s->cnt_fd = p->fd[SG_M_COUNTERS];
	s->ncnt = p->max_entries[SG_M_COUNTERS];
	if (s->ncnt > SG_CNT_MAX)
		s->ncnt = SG_CNT_MAX;
	s->err_fd = p->fd[SG_M_KFUNC_ERRORS];
	s->nerr = p->max_entries[SG_M_KFUNC_ERRORS];
	if (s->nerr > SG_KFUNC_ERRNO_MAX)
		s->nerr = SG_KFUNC_ERRNO_MAX;
	return sg_sample_read(s);
}

/* Label values escape backslash, quote and newline; HELP text the rest. */
static void prom_escape(FILE *f, const char *s, bool label)
{
	for (; *s; s++) {
		if (*s == '\\' || (label && *s == '"'))
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* One sample line: NAME{iface="IFACE"} VALUE. */
static void prom_line(FILE *f, const char *name, const char *iface,
		      long long v)
{
	fprintf(f, "%s{iface=\"", name);
	prom_escape(f, iface, true);
	fprintf(f, "\"} %lld\n", v);
}

/* In the order gauge() reads them. */
static const struct {
	const char *name, *help;
} gauges[] = {
	{"synguard_cookies_engaged",
	 "1 while SYN cookies answer SYNs to protected ports (cookies always, or auto engaged)"},
	{"synguard_enforcing",
	 "1 while synguard acts on what it counts; 0 in monitor mode (enforce off): the counters say what it would have done, nothing is dropped or answered"},
	{"synguard_syn_rate",
	 "SYNs per second to protected ports, as the program measured them in its last window"},
	{"synguard_key_age_seconds",
	 "seconds since the current cookie key was installed"},
	{"synguard_src_table_entries",
	 "sources in the per-source limits table (LRU: the least recently seen make room when full)"},
	{"synguard_src_table_size",
	 "entries the per-source limits table holds"},
};

/* Gauge g of sample s into *v; false where the sample does not know it. */
static bool gauge(const struct sg_sample *s, size_t g, long long *v)
{
	switch (g) {
	case 0:
		*v = s->engaged;
		return s->have_state;
	case 1:
		*v = !s->monitor;
		return s->have_state;
	case 2:
		*v = s->syn_rate;
		return s->have_state;
	case 3:
		*v = s->key_age;
		return s->key_age >= 0;
	case 4:
		*v = s->src_entries;
		return s->src_entries >= 0;
	default:
		*v = s->src_size;
		return s->src_entries >= 0;
	}
}

static void prom_gauges(FILE *f, const struct sg_sample *s, int n)
{
	long long v;
	size_t g;
	int i;

	for (g = 0; g < ARRAY_SIZE(gauges); g++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name,
			gauges[g].help, gauges[g].name);
		for (i = 0; i < n; i++)
			if (gauge(&s[i], g, &v))
				prom_line(f, gauges[g].name, s[i].iface, v);
	}
}

void sg_prom_write(FILE *f, const struct sg_sample *s, int n)
{
	char name[96], lbl[16];
	unsigned int k;
	int i;

	for (k = 0; k < SG_CNT_MAX; k++) {
		snprintf(name, sizeof(name), "synguard_%s_total",
			 sg_counter_desc[k].name);
		fprintf(f, "# HELP %s ", name);
		prom_escape(f, sg_counter_desc[k].help, false);
		fprintf(f, "\n# TYPE %s counter\n", name);
		for (i = 0; i < n; i++)
			prom_line(f, name, s[i].iface, s[i].cnt[k]);
	}
	fprintf(f, "# HELP synguard_handoff_kfunc_errors_total TC: bpf_sk_assign_tcp_reqsk failures by errno\n"
		   "# TYPE synguard_handoff_kfunc_errors_total counter\n");
	for (i = 0; i < n; i++) {
		for (k = 1; k < s[i].nerr; k++) {
			if (!s[i].err[k])
				continue;
			fprintf(f, "synguard_handoff_kfunc_errors_total{iface=\"");
			prom_escape(f, s[i].iface, true);
			fprintf(f, "\",errno=\"%s\"} %llu\n",
				sg_errno_label(k, lbl, sizeof(lbl)),
				(unsigned long long)s[i].err[k]);
		}
	}
	prom_gauges(f, s, n);
}
