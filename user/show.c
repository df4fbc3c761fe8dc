// SPDX-License-Identifier: GPL-2.0
/* status and stats: what synguard protects, and what it has done. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg.h"

static int cmd_status(int argc, char **argv);
static int cmd_stats(int argc, char **argv);

/* The counters' names and meanings: from SG_COUNTERS, the only list. */
#define SG_X_DESC(name, str, help) [SG_CNT_##name] = {str, help},
static const struct {
	const char *name, *help;
} counters[SG_CNT_MAX] = {SG_COUNTERS(SG_X_DESC)};
#undef SG_X_DESC

/* ---- aligned text tables ---- */

struct table {
	size_t cols, n;
	unsigned int right; /* bit i: column i right-aligned (numbers) */
	char **cell;
};

static void tbl_add(struct table *t, const char *s)
{
	char **c = realloc(t->cell, (t->n + 1) * sizeof(*c));

	if (!c)
		return;
	t->cell = c;
	t->cell[t->n] = strdup(s ? s : "-");
	if (t->cell[t->n])
		t->n++;
}

static void tbl_print(struct table *t, const char *indent)
{
	size_t *w = calloc(t->cols, sizeof(*w)), i, len;

	for (i = 0; w && i < t->n; i++) {
		len = strlen(t->cell[i]);
		if (len > w[i % t->cols])
			w[i % t->cols] = len;
	}
	for (i = 0; w && i < t->n; i++) {
		size_t col = i % t->cols;

		if (!col)
			fputs(indent, stdout);
		if (t->right >> col & 1)
			printf("%*s", (int)w[col], t->cell[i]);
		else if (col == t->cols - 1)
			printf("%s", t->cell[i]);
		else
			printf("%-*s", (int)w[col], t->cell[i]);
		fputs(col == t->cols - 1 ? "\n" : "  ", stdout);
	}
	for (i = 0; i < t->n; i++)
		free(t->cell[i]);
	free(w);
	free(t->cell);
	t->cell = NULL;
	t->n = 0;
}

static const char *age_fmt(__u64 s, char *buf, size_t len)
{
	if (s < 120)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 2 * 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600,
			 (unsigned long long)s / 60 % 60);
	else
		snprintf(buf, len, "%llud%02lluh",
			 (unsigned long long)s / 86400,
			 (unsigned long long)s / 3600 % 24);
	return buf;
}

/* ---- status ---- */

enum tc_state { TC_UNKNOWN, TC_IN_PLACE, TC_MISSING, TC_REPLACED };

static const char *const tc_state_name[] = {
	[TC_UNKNOWN] = "unknown",
	[TC_IN_PLACE] = "in place",
	[TC_MISSING] = "missing",
	[TC_REPLACED] = "replaced",
};

struct iface_state {
	const char *iface;
	struct sg_pins p;
	struct sg_info info;
	struct sg_config cfg;
	struct sg_ports ports;
	struct sg_keys keys;
	bool have_info, have_cfg, have_ports, have_keys, have_state;
	struct sg_state state;
	/* Cookies auto, read in gather (times in seconds before now): */
	__u32 rate_now;	    /* the SYN rate of the last complete window */
	double rate_age;    /* when the program last measured it */
	double change_age;  /* the last change of state; < 0: none yet */
	double change_unix; /* ... as wall-clock time */
	bool pending;	    /* disengages at the next SYN to a protected port */
	int lists[2];	    /* allow, deny entries; -1 unknown */
	bool present;	    /* the interface attach saw is still there */
	bool elsewhere;	    /* ... in another network namespace */
	bool xdp;	    /* our XDP program is attached */
	bool multiprog;
	enum tc_state tc;
	__u32 tc_prog_now;
	__u64 key_age;
	int notrack; /* the nftables table of SG_NF_NOTRACK: 1, 0 or -1 */
	char problems[512];
	/* The host the programs follow: */
	double wscale_prev_left; /* seconds wscale_prev stays valid; 0 none */
	bool host_read;		 /* host_now holds this namespace's sysctls */
	__u8 host_now;		 /* SG_SYSCTL_* read now (present only) */
	char host[384];		 /* what is wrong with the host state */
	/* The protected ports by kind, read now (present only): */
	bool kinds_read;
	int nat_err; /* sg_port_scan.nat_err */
	struct sg_port_kinds kinds;
};

/* Appends "; " and a message to the string in buf (size bytes). */
static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used)
		used += snprintf(buf + used, size - used, "; ");
	if (used >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* What is wrong with the attachment, and with the host state it follows. */
#define problem(s, ...)                                                        \
	append((s)->problems, sizeof((s)->problems), __VA_ARGS__)
#define host_problem(s, ...) append((s)->host, sizeof((s)->host), __VA_ARGS__)

/*
 * The host state in the config: what the programs follow. With the
 * interface in this namespace, also whether the sysctls still say so: a
 * change since attach that no `synguard run` followed makes the handoff
 * refuse options the SYN-ACKs still offer, or offer less than it could.
 */
static void host_state(struct iface_state *s)
{
	struct sg_config now = {};
	char diff[160] = "";
	size_t i;

	s->wscale_prev_left = sg_wscale_prev_left(&s->cfg);
	if (!(s->cfg.tcp_sysctl & SG_SYSCTL_SYNCOOKIES))
		host_problem(s, "net.ipv4.tcp_syncookies is 0: the kernel refuses every handoff, so SYNs pass to it unprotected; `sysctl -w net.ipv4.tcp_syncookies=1`");
	if (!s->present || sg_host_state(&now))
		return;
	s->host_read = true;
	s->host_now = now.tcp_sysctl;
	for (i = 0; i < SG_NSYSCTLS; i++)
		if ((now.tcp_sysctl ^ s->cfg.tcp_sysctl) & sg_sysctls[i].bit)
			snprintf(diff + strlen(diff),
				 sizeof(diff) - strlen(diff), "%s%s is %s",
				 diff[0] ? ", " : "", sg_sysctls[i].name,
				 now.tcp_sysctl & sg_sysctls[i].bit ? "on"
								    : "off");
	if (diff[0])
		host_problem(s,
			     "the TCP sysctls changed and the programs do not follow (%s now): `synguard run` follows them; after attach, detach and attach again",
			     diff);
}

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * What the state of cookies auto means now. Its times are the program's
 * bpf_ktime_get_ns(), CLOCK_MONOTONIC here as there. The program measures
 * the rate, and moves the state, only when a SYN to a protected port
 * arrives: a measurement older than a full window means no SYN came in the
 * last one (rate 0), and an engaged state that hold_time has run out for
 * changes at the next SYN.
 */
static void adaptive(struct iface_state *s)
{
	const struct sg_state *st = &s->state;
	struct timespec ts;
	__u64 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * SG_NSEC_PER_SEC + ts.tv_nsec;
	s->rate_now = 0;
	s->rate_age = -1;
	if (st->measured_ns && st->measured_ns <= now) {
		s->rate_age = (now - st->measured_ns) / 1e9;
		if ((now >> SG_RATE_SHIFT) -
			    (st->measured_ns >> SG_RATE_SHIFT) <=
		    1)
			s->rate_now = st->rate;
	}
	s->change_age = st->changed_ns && st->changed_ns <= now
				? (now - st->changed_ns) / 1e9
				: -1;
	s->change_unix = now_real() - s->change_age;
	s->pending = s->cfg.cookies == SG_COOKIES_AUTO && st->engaged &&
		     s->rate_now < s->cfg.syn_rate_off &&
		     SG_HOLD_OVER(now, st->above_ns, s->cfg.hold_time);
}

static void gather_attach(const char *iface, struct iface_state *s)
{
	enum sg_xdp_mode mode_now;
	int i, ifindex, err;
	time_t now = time(NULL);

	memset(s, 0, sizeof(*s));
	s->iface = iface;
	sg_pins_open(iface, &s->p);
	for (i = 0; i < SG_M_MAX; i++)
		if (s->p.fd[i] < 0)
			problem(s, "pinned map %s: %s", sg_map_names[i],
				s->p.problem[i]);
	s->have_info =
		!sg_map_read(&s->p, SG_M_INFO, &s->info) && s->info.ifindex;
	s->have_cfg = !sg_map_read(&s->p, SG_M_CONFIG, &s->cfg);
	s->have_ports = !sg_map_read(&s->p, SG_M_PORTS, &s->ports);
	s->have_keys = !sg_map_read(&s->p, SG_M_KEYS, &s->keys);
	s->have_state = !sg_map_read(&s->p, SG_M_STATE, &s->state);
	if (s->have_state && s->have_cfg)
		adaptive(s);
	s->lists[0] = sg_list_count(&s->p, SG_M_ALLOW4, NULL);
	s->lists[1] = sg_list_count(&s->p, SG_M_DENY4, NULL);
	if (s->have_info && s->info.key_installed_unix <= (__u64)now)
		s->key_age = now - s->info.key_installed_unix;
	if (!s->have_info) {
		problem(s, "no attach record (sg_info)");
		return;
	}
	ifindex = if_nametoindex(iface);
	if ((__u32)ifindex != s->info.ifindex &&
	    sg_prog_alive(s->info.xdp_prog_id)) {
		s->elsewhere = true;
		problem(s, "in another network namespace (its programs run, but not on an interface of this one)");
		return;
	}
	if (!ifindex) {
		problem(s, "interface gone");
		return;
	}
	if ((__u32)ifindex != s->info.ifindex) {
		problem(s, "interface recreated (ifindex %u, now %d)",
			s->info.ifindex, ifindex);
		return;
	}
	s->present = true;
	/* What is really attached, not what attach recorded. */
	s->xdp = sg_xdp_attached(ifindex, s->info.xdp_prog_id, &s->multiprog,
				 &mode_now) > 0;
	if (!s->xdp)
		problem(s, "XDP program %u not attached", s->info.xdp_prog_id);
	err = sg_tc_query(ifindex, &s->tc_prog_now);
	if (err < 0) {
		problem(s, "cannot query the TC filter: %s", sg_strerr(err));
	} else if (!err) {
		s->tc = TC_MISSING;
		problem(s, "TC handoff filter missing: validated ACKs reach no listener");
	} else if (s->tc_prog_now != s->info.tc_prog_id) {
		s->tc = TC_REPLACED;
		problem(s, "TC filter runs program %u, not synguard's %u",
			s->tc_prog_now, s->info.tc_prog_id);
	} else {
		s->tc = TC_IN_PLACE;
	}
	if (s->have_cfg && (s->cfg.nf & SG_NF_NOTRACK)) {
		s->notrack = sg_notrack_present(ifindex);
		if (!s->notrack)
			problem(s,
				"nftables table inet " SG_NFT_TABLE_FMT
				" missing: with conntrack and NAT, handed-off connections get a RST",
				ifindex);
	}
}

/* What keeps conntrack off handed-off ACKs, for status. */
static const char *notrack_str(const struct iface_state *s)
{
	if (!s->have_cfg || !s->present)
		return "-";
	if (!(s->cfg.nf & SG_NF_NOTRACK))
		return "not-needed";
	return s->notrack > 0 ? "installed"
	       : s->notrack   ? "unknown"
			      : "missing";
}

/*
 * The protected ports by kind. The listeners and NAT rules are this
 * namespace's, so one scan serves every interface status shows.
 */
static void port_kinds(struct iface_state *s)
{
	static struct sg_port_scan scan;
	static int scanned; /* 0 not yet, 1 done, < 0 -errno */

	if (!s->present || !s->have_ports)
		return;
	if (!scanned)
		scanned = sg_port_scan(&scan) ?: 1;
	if (scanned < 0)
		return;
	sg_port_classify(&scan, &s->ports, &s->kinds);
	s->nat_err = scan.nat_err;
	s->kinds_read = true;
}

static void gather(const char *iface, struct iface_state *s)
{
	gather_attach(iface, s);
	if (s->have_cfg)
		host_state(s);
	port_kinds(s);
}

static bool healthy(const struct iface_state *s)
{
	return s->present && s->xdp && s->tc == TC_IN_PLACE &&
	       !s->problems[0] && !s->host[0];
}

static const char *mode_str(const struct iface_state *s)
{
	if (!s->have_info)
		return "-";
	return s->info.xdp_mode == SG_MODE_SKB ? "skb" : "native";
}

static bool in_table(const struct sg_param *p, int group)
{
	return p->kind != SG_P_PORTS && (int)p->group == group;
}

/* A setting as status shows it: config syntax and the unit, "-" if unread. */
static const char *setting(const struct iface_state *s,
			   const struct sg_param *p, char *buf, size_t len)
{
	if (!s->have_cfg)
		return NULL;
	sg_param_fmt(p, &s->cfg, buf, len);
	if (p->unit && isdigit((unsigned char)buf[0]))
		strncat(buf, p->unit, len - strlen(buf) - 1);
	return buf;
}

/* always, or in auto mode the program's state. */
static const char *adaptive_state(const struct iface_state *s)
{
	if (s->cfg.cookies != SG_COOKIES_AUTO)
		return "always";
	return s->state.engaged ? "engaged" : "disengaged";
}

/* "12s ago (14:02:11)", or "never" (since attach). */
static const char *change_fmt(const struct iface_state *s, char *buf,
			      size_t len)
{
	char age[32], when[32];
	time_t t;

	if (s->change_age < 0)
		return "never";
	t = (time_t)s->change_unix;
	strftime(when, sizeof(when),
		 s->change_age < 86400 ? "%H:%M:%S" : "%Y-%m-%d %H:%M",
		 localtime(&t));
	snprintf(buf, len, "%s ago (%s)",
		 age_fmt((__u64)s->change_age, age, sizeof(age)), when);
	return buf;
}

/* The NAT side of the port kinds, for status. */
static const char *nat_rules_str(const struct iface_state *s)
{
	static char buf[224];

	if (!s->nat_err)
		return "read";
	if (s->nat_err == -ENOENT)
		return "nft not installed";
	snprintf(buf, sizeof(buf), "unreadable: %s", sg_strerr(s->nat_err));
	return buf;
}

/* One cell of the ports-by-kind table: the list, with the count if cut. */
static const char *kind_cell(const struct iface_state *s, int k, char *buf,
			     size_t len)
{
	char list[48];

	if (!s->kinds_read || !s->kinds.count[k])
		return NULL;
	sg_ports_fmt(&s->kinds.kind[k], list, sizeof(list));
	if (strstr(list, "..."))
		snprintf(buf, len, "%u: %s", s->kinds.count[k], list);
	else
		snprintf(buf, len, "%s", list);
	return buf;
}

/* What the kinds of an interface's ports mean, where it needs saying. */
static void kind_notes(const struct iface_state *s)
{
	char list[160];

	if (!s->kinds_read)
		return;
	if (s->nat_err)
		printf("%s: NAT rules not read (%s): ports translated by NAT show as NOTHING\n",
		       s->iface, nat_rules_str(s));
	if (s->kinds.count[SG_PK_LOCAL_NAT])
		printf("%s: %s: a local listener AND a DNAT rule: their SYNs pass to the kernel untouched (syn_local_nat_pass), not protected\n",
		       s->iface,
		       sg_port_list_fmt(&s->kinds.kind[SG_PK_LOCAL_NAT], list,
					sizeof(list)));
}

static void status_text(struct iface_state *st, int n)
{
	struct table t = {.cols = 8};
	char buf[64], ports[96], age[64];
	const char *xdp;
	int i, g;
	size_t k;

	tbl_add(&t, "IFACE");
	tbl_add(&t, "MODE");
	tbl_add(&t, "XDP");
	tbl_add(&t, "XDP-PROG");
	tbl_add(&t, "TC-PROG");
	tbl_add(&t, "HANDOFF");
	tbl_add(&t, "KEY-AGE");
	tbl_add(&t, "PORTS");
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];

		if (!s->present)
			xdp = "-";
		else if (!s->xdp)
			xdp = "missing";
		else
			xdp = s->multiprog ? "multiprog" : "single";
		tbl_add(&t, s->iface);
		tbl_add(&t, mode_str(s));
		tbl_add(&t, xdp);
		snprintf(buf, sizeof(buf), "%u", s->info.xdp_prog_id);
		tbl_add(&t, s->have_info ? buf : NULL);
		snprintf(buf, sizeof(buf), "%u", s->info.tc_prog_id);
		tbl_add(&t, s->have_info ? buf : NULL);
		tbl_add(&t, s->present ? tc_state_name[s->tc] : NULL);
		tbl_add(&t, s->have_info ? age_fmt(s->key_age, age, sizeof(age))
					 : NULL);
		tbl_add(&t, s->have_ports ? sg_ports_fmt(&s->ports, ports,
							 sizeof(ports))
					  : NULL);
	}
	tbl_print(&t, "");
	for (i = 0; i < n; i++) {
		if (!st[i].have_cfg || !st[i].present)
			continue;
		if (st[i].cfg.nf & SG_NF_NOTRACK)
			printf("%s: handed-off handshake ACKs skip conntrack: nftables table inet " SG_NFT_TABLE_FMT " %s\n",
			       st[i].iface, st[i].info.ifindex,
			       notrack_str(&st[i]));
		else
			printf("%s: no conntrack in this kernel at attach: no nftables table needed\n",
			       st[i].iface);
	}

	/* The settings: a table per group, a column per parameter. */
	for (g = 0; g < SG_G_MAX; g++) {
		putchar('\n');
		t.cols = 1;
		tbl_add(&t, "IFACE");
		for (k = 0; k < sg_nparams; k++) {
			if (!in_table(&sg_params[k], g))
				continue;
			snprintf(buf, sizeof(buf), "%s", sg_params[k].key);
			for (char *c = buf; *c; c++)
				*c = *c == '_' ? '-'
					       : toupper((unsigned char)*c);
			tbl_add(&t, buf);
			t.cols++;
		}
		for (i = 0; i < n; i++) {
			tbl_add(&t, st[i].iface);
			for (k = 0; k < sg_nparams; k++) {
				if (in_table(&sg_params[k], g))
					tbl_add(&t,
						setting(&st[i], &sg_params[k],
							buf, sizeof(buf)));
			}
		}
		tbl_print(&t, "");
	}

	/* What cookies auto and the lists are doing now. */
	putchar('\n');
	t.cols = 6;
	tbl_add(&t, "IFACE");
	tbl_add(&t, "COOKIES");
	tbl_add(&t, "SYN-RATE");
	tbl_add(&t, "LAST-CHANGE");
	tbl_add(&t, "ALLOW");
	tbl_add(&t, "DENY");
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];
		bool known = s->have_state && s->have_cfg;

		tbl_add(&t, s->iface);
		snprintf(buf, sizeof(buf), "%s%s",
			 s->cfg.cookies == SG_COOKIES_AUTO ? "auto: " : "",
			 adaptive_state(s));
		tbl_add(&t, known ? buf : NULL);
		snprintf(buf, sizeof(buf), "%u/s", s->rate_now);
		tbl_add(&t, known ? buf : NULL);
		tbl_add(&t, known ? change_fmt(s, age, sizeof(age)) : NULL);
		snprintf(buf, sizeof(buf), "%d", s->lists[0]);
		tbl_add(&t, s->lists[0] >= 0 ? buf : NULL);
		snprintf(buf, sizeof(buf), "%d", s->lists[1]);
		tbl_add(&t, s->lists[1] >= 0 ? buf : NULL);
	}
	tbl_print(&t, "");

	/* The host state the programs follow, and the window scale. */
	putchar('\n');
	t.cols = 1 + SG_NSYSCTLS + 2;
	tbl_add(&t, "IFACE");
	for (k = 0; k < SG_NSYSCTLS; k++) {
		snprintf(buf, sizeof(buf), "%s", sg_sysctls[k].name);
		for (char *c = buf; *c; c++)
			*c = *c == '_' ? '-' : toupper((unsigned char)*c);
		tbl_add(&t, buf);
	}
	tbl_add(&t, "WSCALE");
	tbl_add(&t, "PREV-WSCALE");
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];

		tbl_add(&t, s->iface);
		for (k = 0; k < SG_NSYSCTLS; k++)
			tbl_add(&t, !s->have_cfg ? NULL
				    : s->cfg.tcp_sysctl & sg_sysctls[k].bit
					    ? "on"
					    : "off");
		snprintf(buf, sizeof(buf), "%u", s->cfg.wscale);
		tbl_add(&t, s->have_cfg ? buf : NULL);
		snprintf(buf, sizeof(buf), "%u for %s", s->cfg.wscale_prev,
			 age_fmt((__u64)(s->wscale_prev_left + 0.999), age,
				 sizeof(age)));
		tbl_add(&t, s->wscale_prev_left > 0 ? buf : "none");
	}
	tbl_print(&t, "");

	/* The protected ports by kind: what each gets. */
	putchar('\n');
	t.cols = 1 + SG_PK_MAX;
	tbl_add(&t, "IFACE");
	for (k = 0; k < SG_PK_MAX; k++) {
		snprintf(buf, sizeof(buf), "%s", sg_port_kind_names[k]);
		for (char *c = buf; *c; c++)
			*c = toupper((unsigned char)*c);
		tbl_add(&t, buf);
	}
	for (i = 0; i < n; i++) {
		tbl_add(&t, st[i].iface);
		for (k = 0; k < SG_PK_MAX; k++)
			tbl_add(&t, kind_cell(&st[i], k, ports, sizeof(ports)));
	}
	tbl_print(&t, "");
	for (i = 0; i < n; i++)
		kind_notes(&st[i]);
	for (i = 0; i < n; i++)
		if (st[i].host[0])
			printf("\n%s: %s\n", st[i].iface, st[i].host);
	for (i = 0; i < n; i++)
		if (st[i].pending)
			printf("\n%s: the SYN rate stayed below syn_rate_off for hold_time: cookies disengage at the next SYN to a protected port (the state moves only when SYNs arrive)\n",
			       st[i].iface);

	for (i = 0; i < n; i++) {
		if (!st[i].problems[0])
			continue;
		if (st[i].elsewhere)
			printf("\n%s: %s: run synguard there, e.g. `nsenter --net=/run/netns/NAME synguard status %s`\n",
			       st[i].iface, st[i].problems, st[i].iface);
		else if (st[i].present || !st[i].have_info)
			printf("\n%s: %s: `synguard detach %s` and attach again to repair\n",
			       st[i].iface, st[i].problems, st[i].iface);
		else
			printf("\n%s: %s: if it was deleted, `synguard detach %s` removes its pins\n",
			       st[i].iface, st[i].problems, st[i].iface);
	}
}

/*
 * A minimal JSON writer: members of the innermost open object or array
 * get their commas from it. Enough for our flat documents.
 */
struct jw {
	int depth;
	bool first[8];
};

static void j_open(struct jw *j, const char *key, char c)
{
	if (j->depth) {
		fputs(j->first[j->depth] ? "" : ",", stdout);
		j->first[j->depth] = false;
	}
	if (key) {
		sg_json_str(stdout, key);
		putchar(':');
	}
	putchar(c);
	j->first[++j->depth] = true;
}

static void j_close(struct jw *j, char c)
{
	putchar(c);
	if (!--j->depth)
		putchar('\n');
}

static void j_key(struct jw *j, const char *key)
{
	fputs(j->first[j->depth] ? "" : ",", stdout);
	j->first[j->depth] = false;
	if (key) {
		sg_json_str(stdout, key);
		putchar(':');
	}
}

static void j_uint(struct jw *j, const char *key, unsigned long long v)
{
	j_key(j, key);
	printf("%llu", v);
}

static void j_double(struct jw *j, const char *key, double v)
{
	j_key(j, key);
	printf("%.3f", v);
}

static void j_bool(struct jw *j, const char *key, bool v)
{
	j_key(j, key);
	fputs(v ? "true" : "false", stdout);
}

static void j_str(struct jw *j, const char *key, const char *v)
{
	j_key(j, key);
	sg_json_str(stdout, v);
}

/* Ranges, not ports: a list may hold all 65535. [[80,80],[8000,8100]] */
static void j_ranges(struct jw *j, const char *key, const struct sg_ports *p)
{
	unsigned int port, lo;

	j_open(j, key, '[');
	for (port = 1; port <= 65535; port++) {
		if (!sg_port_isset(p, port))
			continue;
		for (lo = port; port < 65535 && sg_port_isset(p, port + 1);)
			port++;
		j_key(j, NULL);
		printf("[%u,%u]", lo, port);
	}
	j_close(j, ']');
}

static void status_json_iface(struct jw *j, const struct iface_state *s)
{
	static char ports[65536 * 7];
	const struct sg_info *in = &s->info;
	char val[32];
	size_t k;

	j_open(j, NULL, '{');
	j_str(j, "iface", s->iface);
	j_bool(j, "present", s->present);
	j_bool(j, "other_netns", s->elsewhere);
	j_bool(j, "healthy", healthy(s));
	if (s->have_info) {
		j_uint(j, "ifindex", in->ifindex);
		j_str(j, "mode", mode_str(s));
		j_bool(j, "multiprog",
		       s->present ? s->multiprog : in->multiprog);
		j_uint(j, "xdp_prog_id", in->xdp_prog_id);
		j_bool(j, "xdp_attached", s->xdp);
		j_uint(j, "tc_prog_id", in->tc_prog_id);
		j_uint(j, "tc_handle", in->tc_handle);
		j_uint(j, "tc_priority", in->tc_priority);
		j_bool(j, "tc_hook_created", in->tc_hook_created);
		j_bool(j, "tc_handoff", s->tc == TC_IN_PLACE);
		j_str(j, "tc_state", tc_state_name[s->tc]);
		j_str(j, "notrack", notrack_str(s));
		j_uint(j, "attached_unix", in->attached_unix);
		j_uint(j, "key_installed_unix", in->key_installed_unix);
		j_uint(j, "key_age_s", s->key_age);
	}
	if (s->have_keys) {
		j_uint(j, "key_slot", s->keys.current & 1);
		j_bool(j, "previous_key_valid",
		       s->keys.valid[!(s->keys.current & 1)]);
	}
	if (s->have_ports) {
		j_str(j, "ports",
		      sg_ports_fmt(&s->ports, ports, sizeof(ports)));
		j_uint(j, "port_count", sg_ports_count(&s->ports));
		j_ranges(j, "port_ranges", &s->ports);
	}
	if (s->kinds_read) {
		j_open(j, "ports_by_kind", '{');
		for (k = 0; k < SG_PK_MAX; k++)
			j_ranges(j, sg_port_kind_names[k], &s->kinds.kind[k]);
		j_close(j, '}');
		j_open(j, "port_counts_by_kind", '{');
		for (k = 0; k < SG_PK_MAX; k++)
			j_uint(j, sg_port_kind_names[k], s->kinds.count[k]);
		j_close(j, '}');
		j_str(j, "nat_rules", nat_rules_str(s));
	}
	if (s->have_cfg) {
		j_open(j, "config", '{');
		for (k = 0; k < sg_nparams; k++) {
			const struct sg_param *p = &sg_params[k];

			if (p->kind == SG_P_ONOFF)
				j_bool(j, p->key, sg_param_get(p, &s->cfg));
			else if (p->kind == SG_P_UINT)
				j_uint(j, p->key, sg_param_get(p, &s->cfg));
			else if (p->kind == SG_P_ENUM)
				j_str(j, p->key,
				      sg_param_fmt(p, &s->cfg, val,
						   sizeof(val)));
		}
		j_close(j, '}');
	}
	if (s->have_cfg) {
		j_open(j, "host", '{');
		for (k = 0; k < SG_NSYSCTLS; k++)
			j_bool(j, sg_sysctls[k].name,
			       s->cfg.tcp_sysctl & sg_sysctls[k].bit);
		j_key(j, "tai_offset_s");
		printf("%lld",
		       (long long)(s->cfg.tai_offset_ns / 1000000000LL));
		/* Only where status could read them: this namespace. */
		if (s->host_read)
			j_bool(j, "current", s->host_now == s->cfg.tcp_sysctl);
		j_close(j, '}');
		j_open(j, "wscale", '{');
		j_uint(j, "current", s->cfg.wscale);
		if (s->wscale_prev_left > 0) {
			j_uint(j, "previous", s->cfg.wscale_prev);
			j_double(j, "previous_valid_s", s->wscale_prev_left);
		}
		if (s->cfg.wscale_changed_ns)
			j_double(j, "changed_unix",
				 s->cfg.wscale_changed_ns / 1e9);
		j_close(j, '}');
	}
	if (s->have_state && s->have_cfg) {
		bool always = s->cfg.cookies != SG_COOKIES_AUTO;

		j_open(j, "adaptive", '{');
		j_str(j, "state", adaptive_state(s));
		j_bool(j, "engaged", always || s->state.engaged);
		j_uint(j, "syn_rate", s->rate_now);
		j_uint(j, "syn_rate_measured", s->state.rate);
		if (s->rate_age >= 0)
			j_double(j, "rate_measured_ago_s", s->rate_age);
		if (s->change_age >= 0) {
			j_double(j, "last_change_ago_s", s->change_age);
			j_double(j, "last_change_unix", s->change_unix);
		}
		j_bool(j, "disengage_pending", s->pending);
		j_close(j, '}');
	}
	if (s->lists[0] >= 0)
		j_uint(j, "allow_entries", s->lists[0]);
	if (s->lists[1] >= 0)
		j_uint(j, "deny_entries", s->lists[1]);
	j_str(j, "problems", s->problems);
	j_str(j, "host_problems", s->host);
	j_close(j, '}');
}

static void status_json(struct iface_state *st, int n)
{
	struct jw j = {};
	int i;

	j_open(&j, NULL, '{');
	j_open(&j, "interfaces", '[');
	for (i = 0; i < n; i++)
		status_json_iface(&j, &st[i]);
	j_close(&j, ']');
	j_close(&j, '}');
}

enum { SO_JSON };

static const struct sg_opt status_opts[] = {
	[SO_JSON] = {"json", 'j', NULL, "print JSON, for scripts"},
	{NULL},
};

const struct sg_cmd sg_cmd_status = {
	.name = "status",
	.min_abbrev = 4, /* "stat" */
	.run = cmd_status,
	.args = "[IFACE] [--json]",
	.summary = "show the protected interfaces and their settings",
	.opts = status_opts,
	.doc = "XDP and HANDOFF show what is attached now (queried, not remembered):\nXDP single = synguard's program alone, multiprog = through libxdp's dispatcher.\nTCP-SACK..TCP-SYNCOOKIES: the net.ipv4 sysctls the programs follow (what attach\nread, kept current by `synguard run`); PREV-WSCALE: the scale before the last\nwscale change, still valid for cookies in flight, and for how long.\nWith IFACE, the exit code is 1 unless IFACE is fully protected (for probes),\nwhich includes tcp_syncookies on and the sysctls followed.\nLOCAL, NAT, NOTHING, LOCAL+NAT: the protected ports by kind, found now in this\nnetwork namespace (a TCP listener here, a DNAT rule in nftables, neither, or\n"
	       "both, whose SYNs the program passes).",
};

static int set_flag(void *ctx, int idx, const char *arg)
{
	(void)arg;
	((bool *)ctx)[idx] = true;
	return 0;
}

/*
 * The interfaces a status or stats command covers: the one named, or all.
 * Returns the count (0: none protected), or -1 after a message.
 */
static int pick_ifaces(int argc, char **argv, int first, const char *what,
		       char ***names)
{
	int rc, n;

	if (argc - first > 1) {
		sg_err("%s takes at most one interface", what);
		return -1;
	}
	if (first < argc && sg_iface_check(argv[first], NULL))
		return -1;
	if (sg_require_root())
		return -1;
	rc = sg_bpffs_ready(false);
	if (rc < 0 || sg_lock(false))
		return -1;
	if (first < argc) {
		if (rc > 0 || !sg_is_protected(argv[first])) {
			sg_not_protected(argv[first]);
			return -1;
		}
		*names = calloc(1, sizeof(char *));
		if (!*names || !((*names)[0] = strdup(argv[first])))
			return -1;
		return 1;
	}
	if (rc > 0) {
		*names = NULL;
		return 0;
	}
	n = sg_list_protected(names);
	if (n < 0)
		sg_err("cannot list %s: %s", SG_PIN_DIR, sg_strerr(n));
	return n;
}

static int cmd_status(int argc, char **argv)
{
	bool flags[1] = {};
	struct iface_state *st;
	char **names;
	int first, rc, n, i;

	rc = sg_parse_opts(&sg_cmd_status, argc, argv, set_flag, flags, &first);
	if (rc)
		return rc;
	n = pick_ifaces(argc, argv, first, "status", &names);
	if (n < 0)
		return SG_EXIT_FAIL;
	if (!n && !flags[SO_JSON]) {
		printf("no interface is protected by synguard\n");
		return 0;
	}
	st = calloc(n ? n : 1, sizeof(*st));
	if (!st)
		return SG_EXIT_FAIL;
	for (i = 0; i < n; i++)
		gather(names[i], &st[i]);
	if (flags[SO_JSON])
		status_json(st, n);
	else
		status_text(st, n);
	/* A named interface that is not fully protected fails (probes). */
	rc = first < argc && !healthy(&st[0]) ? SG_EXIT_FAIL : 0;
	for (i = 0; i < n; i++)
		sg_pins_close(&st[i].p);
	free(st);
	sg_free_list(names, n);
	return rc;
}

/* ---- stats ---- */

struct src {
	const char *iface;
	int cnt_fd, err_fd;
	__u32 ncnt, nerr;
	__u64 cnt[SG_CNT_MAX], prev[SG_CNT_MAX];
	__u64 err[SG_KFUNC_ERRNO_MAX];
};

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

static const char *errno_label(unsigned int k, char *buf, size_t len)
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

static int sample(struct src *s)
{
	int err;

	memcpy(s->prev, s->cnt, sizeof(s->cnt));
	err = sg_percpu_sum(s->cnt_fd, s->ncnt, s->cnt);
	if (!err && s->err_fd >= 0)
		err = sg_percpu_sum(s->err_fd, s->nerr, s->err);
	if (err)
		sg_err("%s: cannot read the counters: %s", s->iface,
		       sg_strerr(err));
	return err;
}

static void print_text(struct src *s, int n, double dt)
{
	struct table t = {.cols = 3, .right = dt ? 6 : 2};
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
		tbl_add(&t, "COUNTER");
		tbl_add(&t, "TOTAL");
		tbl_add(&t, dt ? "PER-SEC" : "MEANING");
		for (k = 0; k < SG_CNT_MAX; k++) {
			snprintf(v, sizeof(v), "%llu",
				 (unsigned long long)s[i].cnt[k]);
			snprintf(r, sizeof(r), "%.1f",
				 dt ? (s[i].cnt[k] - s[i].prev[k]) / dt : 0);
			tbl_add(&t, counters[k].name);
			tbl_add(&t, v);
			tbl_add(&t, dt ? r : counters[k].help);
		}
		tbl_print(&t, "  ");
		for (k = 1; k < s[i].nerr; k++)
			if (s[i].err[k])
				printf("  kfunc error %s: %llu\n",
				       errno_label(k, lbl, sizeof(lbl)),
				       (unsigned long long)s[i].err[k]);
		if (i < n - 1)
			putchar('\n');
	}
}

static void print_json(struct src *s, int n, double dt)
{
	struct jw j = {};
	unsigned int k;
	char lbl[16];
	int i;

	j_open(&j, NULL, '{');
	j_double(&j, "time", now_real());
	if (dt)
		j_double(&j, "interval", dt);
	j_open(&j, "interfaces", '{');
	for (i = 0; i < n; i++) {
		j_open(&j, s[i].iface, '{');
		j_open(&j, "counters", '{');
		for (k = 0; k < SG_CNT_MAX; k++)
			j_uint(&j, counters[k].name, s[i].cnt[k]);
		j_close(&j, '}');
		if (dt) {
			j_open(&j, "rates", '{');
			for (k = 0; k < SG_CNT_MAX; k++)
				j_double(&j, counters[k].name,
					 (s[i].cnt[k] - s[i].prev[k]) / dt);
			j_close(&j, '}');
		}
		j_open(&j, "kfunc_errors", '{');
		for (k = 1; k < s[i].nerr; k++)
			if (s[i].err[k])
				j_uint(&j, errno_label(k, lbl, sizeof(lbl)),
				       s[i].err[k]);
		j_close(&j, '}');
		j_close(&j, '}');
	}
	j_close(&j, '}');
	j_close(&j, '}');
}

/* Label values escape backslash, quote and newline; HELP text the rest. */
static void prom_escape(const char *s, bool label)
{
	for (; *s; s++) {
		if (*s == '\\' || (label && *s == '"'))
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	}
}

static void print_prom(struct src *s, int n)
{
	char lbl[16];
	unsigned int k;
	int i;

	for (k = 0; k < SG_CNT_MAX; k++) {
		printf("# HELP synguard_%s_total ", counters[k].name);
		prom_escape(counters[k].help, false);
		printf("\n# TYPE synguard_%s_total counter\n",
		       counters[k].name);
		for (i = 0; i < n; i++) {
			printf("synguard_%s_total{iface=\"", counters[k].name);
			prom_escape(s[i].iface, true);
			printf("\"} %llu\n", (unsigned long long)s[i].cnt[k]);
		}
	}
	printf("# HELP synguard_handoff_kfunc_errors_total TC: bpf_sk_assign_tcp_reqsk failures by errno\n"
	       "# TYPE synguard_handoff_kfunc_errors_total counter\n");
	for (i = 0; i < n; i++) {
		for (k = 1; k < s[i].nerr; k++) {
			if (!s[i].err[k])
				continue;
			printf("synguard_handoff_kfunc_errors_total{iface=\"");
			prom_escape(s[i].iface, true);
			printf("\",errno=\"%s\"} %llu\n",
			       errno_label(k, lbl, sizeof(lbl)),
			       (unsigned long long)s[i].err[k]);
		}
	}
}

static void print_stats(const struct stats_args *a, struct src *s, int n,
			double dt)
{
	if (a->prom)
		print_prom(s, n);
	else if (a->json)
		print_json(s, n, dt);
	else if (n)
		print_text(s, n, dt);
	else
		printf("no interface is protected by synguard\n");
	fflush(stdout);
}

static int cmd_stats(int argc, char **argv)
{
	const int need[] = {SG_M_COUNTERS};
	struct stats_args a = {};
	struct timespec next, t0, t1;
	struct sg_pins *p = NULL;
	struct src *s = NULL;
	int first, rc, n, i, ret = SG_EXIT_FAIL;
	unsigned long long round;
	char **names = NULL;
	double dt;

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
	n = pick_ifaces(argc, argv, first, "stats", &names);
	if (n < 0)
		return SG_EXIT_FAIL;
	s = calloc(n ? n : 1, sizeof(*s));
	p = calloc(n ? n : 1, sizeof(*p));
	if (!s || !p)
		goto out;
	for (i = 0; i < n; i++) {
		if (sg_pins_need(names[i], &p[i], need, ARRAY_SIZE(need)))
			goto out;
		s[i].iface = names[i];
		s[i].cnt_fd = p[i].fd[SG_M_COUNTERS];
		s[i].ncnt = p[i].max_entries[SG_M_COUNTERS];
		if (s[i].ncnt > SG_CNT_MAX)
			s[i].ncnt = SG_CNT_MAX;
		s[i].err_fd = p[i].fd[SG_M_KFUNC_ERRORS];
		s[i].nerr = p[i].max_entries[SG_M_KFUNC_ERRORS];
		if (s[i].nerr > SG_KFUNC_ERRNO_MAX)
			s[i].nerr = SG_KFUNC_ERRNO_MAX;
		if (sample(&s[i]))
			goto out;
	}
	/* The maps stay open: a long --interval run must not block attach. */
	sg_unlock();
	if (!a.interval) {
		print_stats(&a, s, n, 0);
		ret = 0;
		goto out;
	}
	/* Absolute deadlines, so that the intervals do not drift. */
	clock_gettime(CLOCK_MONOTONIC, &next);
	t0 = next;
	for (round = 0; !a.count || round < a.count; round++) {
		next.tv_sec += (time_t)a.interval;
		next.tv_nsec += (long)((a.interval - (time_t)a.interval) * 1e9);
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
			if (sample(&s[i]))
				goto out;
		print_stats(&a, s, n, dt);
	}
	ret = 0;
out:
	for (i = 0; p && i < n; i++)
		sg_pins_close(&p[i]);
	free(p);
	free(s);
	sg_free_list(names, n);
	return ret;
}
