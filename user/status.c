// SPDX-License-Identifier: GPL-2.0
/* status: what synguard protects on each interface, and whether it works. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg.h"

static int cmd_status(int argc, char **argv);

enum tc_state { TC_UNKNOWN, TC_IN_PLACE, TC_MISSING, TC_REPLACED, TC_NONE };

static const char *const tc_state_name[] = {
	[TC_UNKNOWN] = "unknown",
	[TC_IN_PLACE] = "in place",
	[TC_MISSING] = "missing",
	[TC_REPLACED] = "replaced",
	[TC_NONE] = "none", /* the kernel engine has no TC program */
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
		host_problem(
			s,
			"net.ipv4.tcp_syncookies is 0: the kernel refuses every handoff, so SYNs pass to it unprotected; `sysctl -w net.ipv4.tcp_syncookies=1`");
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
		host_problem(
			s,
			"the TCP sysctls changed and the programs do not follow (%s now): `synguard run` follows them; after attach, detach and attach again",
			diff);
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
	s->change_unix = sg_now_real() - s->change_age;
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
		problem(s,
			"in another network namespace (its programs run, but not on an interface of this one)");
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
	if (s->info.engine == SG_ENGINE_KERNEL)
		s->tc = TC_NONE;
	else if ((err = sg_tc_query(ifindex, &s->tc_prog_now)) < 0) {
		problem(s, "cannot query the TC filter: %s", sg_strerr(err));
	} else if (!err) {
		s->tc = TC_MISSING;
		problem(s,
			"TC handoff filter missing: validated ACKs reach no listener");
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

/* The engine's own view of the host (user/engine.c). */
static void engine_host(struct iface_state *s)
{
	char buf[256];

	if (s->present && s->have_info &&
	    sg_engine_host_problem(&s->info, buf, sizeof(buf))[0])
		host_problem(s, "%s", buf);
}

static void gather(const char *iface, struct iface_state *s)
{
	gather_attach(iface, s);
	if (s->have_cfg)
		host_state(s);
	engine_host(s);
	port_kinds(s);
}

static bool healthy(const struct iface_state *s)
{
	return s->present && s->xdp &&
	       (s->tc == TC_IN_PLACE || s->tc == TC_NONE) && !s->problems[0] &&
	       !s->host[0];
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
		 sg_age_fmt((__u64)s->change_age, age, sizeof(age)), when);
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
	struct sg_table t = {.cols = 8};
	char buf[64], ports[96], age[64];
	const char *xdp;
	int i, g;
	size_t k;

	sg_tbl_add(&t, "IFACE");
	sg_tbl_add(&t, "MODE");
	sg_tbl_add(&t, "XDP");
	sg_tbl_add(&t, "XDP-PROG");
	sg_tbl_add(&t, "TC-PROG");
	sg_tbl_add(&t, "HANDOFF");
	sg_tbl_add(&t, "KEY-AGE");
	sg_tbl_add(&t, "PORTS");
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];

		if (!s->present)
			xdp = "-";
		else if (!s->xdp)
			xdp = "missing";
		else
			xdp = s->multiprog ? "multiprog" : "single";
		sg_tbl_add(&t, s->iface);
		sg_tbl_add(&t, mode_str(s));
		sg_tbl_add(&t, xdp);
		snprintf(buf, sizeof(buf), "%u", s->info.xdp_prog_id);
		sg_tbl_add(&t, s->have_info ? buf : NULL);
		snprintf(buf, sizeof(buf), "%u", s->info.tc_prog_id);
		sg_tbl_add(&t, s->have_info ? buf : NULL);
		sg_tbl_add(&t, s->present ? tc_state_name[s->tc] : NULL);
		sg_tbl_add(&t, s->have_info ? sg_age_fmt(s->key_age, age,
							 sizeof(age))
					    : NULL);
		sg_tbl_add(&t, s->have_ports ? sg_ports_fmt(&s->ports, ports,
							    sizeof(ports))
					     : NULL);
	}
	sg_tbl_print(&t, "");
	for (i = 0; i < n; i++) {
		if (!st[i].have_cfg || !st[i].present)
			continue;
		sg_engine_status_text(st[i].iface, &st[i].info);
		if (st[i].info.engine == SG_ENGINE_KERNEL)
			continue; /* no handoff, no table */
		if (st[i].cfg.nf & SG_NF_NOTRACK)
			printf("%s: handed-off handshake ACKs skip conntrack: nftables table inet " SG_NFT_TABLE_FMT
			       " %s\n",
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
		sg_tbl_add(&t, "IFACE");
		for (k = 0; k < sg_nparams; k++) {
			if (!in_table(&sg_params[k], g))
				continue;
			snprintf(buf, sizeof(buf), "%s", sg_params[k].key);
			for (char *c = buf; *c; c++)
				*c = *c == '_' ? '-'
					       : toupper((unsigned char)*c);
			sg_tbl_add(&t, buf);
			t.cols++;
		}
		for (i = 0; i < n; i++) {
			sg_tbl_add(&t, st[i].iface);
			for (k = 0; k < sg_nparams; k++) {
				if (in_table(&sg_params[k], g))
					sg_tbl_add(&t,
						   setting(&st[i],
							   &sg_params[k], buf,
							   sizeof(buf)));
			}
		}
		sg_tbl_print(&t, "");
	}

	/* What cookies auto and the lists are doing now. */
	putchar('\n');
	t.cols = 6;
	sg_tbl_add(&t, "IFACE");
	sg_tbl_add(&t, "COOKIES");
	sg_tbl_add(&t, "SYN-RATE");
	sg_tbl_add(&t, "LAST-CHANGE");
	sg_tbl_add(&t, "ALLOW");
	sg_tbl_add(&t, "DENY");
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];
		bool known = s->have_state && s->have_cfg;

		sg_tbl_add(&t, s->iface);
		snprintf(buf, sizeof(buf), "%s%s",
			 s->cfg.cookies == SG_COOKIES_AUTO ? "auto: " : "",
			 adaptive_state(s));
		sg_tbl_add(&t, known ? buf : NULL);
		snprintf(buf, sizeof(buf), "%u/s", s->rate_now);
		sg_tbl_add(&t, known ? buf : NULL);
		sg_tbl_add(&t, known ? change_fmt(s, age, sizeof(age)) : NULL);
		snprintf(buf, sizeof(buf), "%d", s->lists[0]);
		sg_tbl_add(&t, s->lists[0] >= 0 ? buf : NULL);
		snprintf(buf, sizeof(buf), "%d", s->lists[1]);
		sg_tbl_add(&t, s->lists[1] >= 0 ? buf : NULL);
	}
	sg_tbl_print(&t, "");

	/* The host state the programs follow, and the window scale. */
	putchar('\n');
	t.cols = 1 + SG_NSYSCTLS + 2;
	sg_tbl_add(&t, "IFACE");
	for (k = 0; k < SG_NSYSCTLS; k++) {
		snprintf(buf, sizeof(buf), "%s", sg_sysctls[k].name);
		for (char *c = buf; *c; c++)
			*c = *c == '_' ? '-' : toupper((unsigned char)*c);
		sg_tbl_add(&t, buf);
	}
	sg_tbl_add(&t, "WSCALE");
	sg_tbl_add(&t, "PREV-WSCALE");
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];

		sg_tbl_add(&t, s->iface);
		for (k = 0; k < SG_NSYSCTLS; k++)
			sg_tbl_add(&t, !s->have_cfg ? NULL
				       : s->cfg.tcp_sysctl & sg_sysctls[k].bit
					       ? "on"
					       : "off");
		snprintf(buf, sizeof(buf), "%u", s->cfg.wscale);
		sg_tbl_add(&t, s->have_cfg ? buf : NULL);
		snprintf(buf, sizeof(buf), "%u for %s", s->cfg.wscale_prev,
			 sg_age_fmt((__u64)(s->wscale_prev_left + 0.999), age,
				    sizeof(age)));
		sg_tbl_add(&t, s->wscale_prev_left > 0 ? buf : "none");
	}
	sg_tbl_print(&t, "");

	/* The protected ports by kind: what each gets. */
	putchar('\n');
	t.cols = 1 + SG_PK_MAX;
	sg_tbl_add(&t, "IFACE");
	for (k = 0; k < SG_PK_MAX; k++) {
		snprintf(buf, sizeof(buf), "%s", sg_port_kind_names[k]);
		for (char *c = buf; *c; c++)
			*c = toupper((unsigned char)*c);
		sg_tbl_add(&t, buf);
	}
	for (i = 0; i < n; i++) {
		sg_tbl_add(&t, st[i].iface);
		for (k = 0; k < SG_PK_MAX; k++)
			sg_tbl_add(&t,
				   kind_cell(&st[i], k, ports, sizeof(ports)));
	}
	sg_tbl_print(&t, "");
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

static void status_json_iface(struct sg_jw *j, const struct iface_state *s)
{
	static char ports[65536 * 7];
	const struct sg_info *in = &s->info;
	char val[32];
	size_t k;

	sg_j_open(j, NULL, '{');
	sg_j_str(j, "iface", s->iface);
	sg_j_bool(j, "present", s->present);
	sg_j_bool(j, "other_netns", s->elsewhere);
	sg_j_bool(j, "healthy", healthy(s));
	if (s->have_info) {
		sg_j_uint(j, "ifindex", in->ifindex);
		sg_j_str(j, "mode", mode_str(s));
		sg_j_bool(j, "multiprog",
			  s->present ? s->multiprog : in->multiprog);
		sg_j_uint(j, "xdp_prog_id", in->xdp_prog_id);
		sg_j_bool(j, "xdp_attached", s->xdp);
		sg_j_uint(j, "tc_prog_id", in->tc_prog_id);
		sg_j_uint(j, "tc_handle", in->tc_handle);
		sg_j_uint(j, "tc_priority", in->tc_priority);
		sg_j_bool(j, "tc_hook_created", in->tc_hook_created);
		sg_j_bool(j, "tc_handoff", s->tc == TC_IN_PLACE);
		sg_j_str(j, "tc_state", tc_state_name[s->tc]);
		sg_j_str(j, "notrack", notrack_str(s));
		sg_engine_status_json(j, in);
		sg_j_uint(j, "attached_unix", in->attached_unix);
		sg_j_uint(j, "key_installed_unix", in->key_installed_unix);
		sg_j_uint(j, "key_age_s", s->key_age);
	}
	if (s->have_keys) {
		sg_j_uint(j, "key_slot", s->keys.current & 1);
		sg_j_bool(j, "previous_key_valid",
			  s->keys.valid[!(s->keys.current & 1)]);
	}
	if (s->have_ports) {
		sg_j_str(j, "ports",
			 sg_ports_fmt(&s->ports, ports, sizeof(ports)));
		sg_j_uint(j, "port_count", sg_ports_count(&s->ports));
		sg_j_ranges(j, "port_ranges", &s->ports);
	}
	if (s->kinds_read) {
		sg_j_open(j, "ports_by_kind", '{');
		for (k = 0; k < SG_PK_MAX; k++)
			sg_j_ranges(j, sg_port_kind_names[k],
				    &s->kinds.kind[k]);
		sg_j_close(j, '}');
		sg_j_open(j, "port_counts_by_kind", '{');
		for (k = 0; k < SG_PK_MAX; k++)
			sg_j_uint(j, sg_port_kind_names[k], s->kinds.count[k]);
		sg_j_close(j, '}');
		sg_j_str(j, "nat_rules", nat_rules_str(s));
	}
	if (s->have_cfg) {
		sg_j_open(j, "config", '{');
		for (k = 0; k < sg_nparams; k++) {
			const struct sg_param *p = &sg_params[k];

			if (p->kind == SG_P_ONOFF)
				sg_j_bool(j, p->key, sg_param_get(p, &s->cfg));
			else if (p->kind == SG_P_UINT)
				sg_j_uint(j, p->key, sg_param_get(p, &s->cfg));
			else if (p->kind == SG_P_ENUM)
				sg_j_str(j, p->key,
					 sg_param_fmt(p, &s->cfg, val,
						      sizeof(val)));
		}
		sg_j_close(j, '}');
	}
	if (s->have_cfg) {
		sg_j_open(j, "host", '{');
		for (k = 0; k < SG_NSYSCTLS; k++)
			sg_j_bool(j, sg_sysctls[k].name,
				  s->cfg.tcp_sysctl & sg_sysctls[k].bit);
		sg_j_key(j, "tai_offset_s");
		printf("%lld",
		       (long long)(s->cfg.tai_offset_ns / 1000000000LL));
		/* Only where status could read them: this namespace. */
		if (s->host_read)
			sg_j_bool(j, "current",
				  s->host_now == s->cfg.tcp_sysctl);
		sg_j_close(j, '}');
		sg_j_open(j, "wscale", '{');
		sg_j_uint(j, "current", s->cfg.wscale);
		if (s->wscale_prev_left > 0) {
			sg_j_uint(j, "previous", s->cfg.wscale_prev);
			sg_j_double(j, "previous_valid_s", s->wscale_prev_left);
		}
		if (s->cfg.wscale_changed_ns)
			sg_j_double(j, "changed_unix",
				    s->cfg.wscale_changed_ns / 1e9);
		sg_j_close(j, '}');
	}
	if (s->have_state && s->have_cfg) {
		bool always = s->cfg.cookies != SG_COOKIES_AUTO;

		sg_j_open(j, "adaptive", '{');
		sg_j_str(j, "state", adaptive_state(s));
		sg_j_bool(j, "engaged", always || s->state.engaged);
		sg_j_uint(j, "syn_rate", s->rate_now);
		sg_j_uint(j, "syn_rate_measured", s->state.rate);
		if (s->rate_age >= 0)
			sg_j_double(j, "rate_measured_ago_s", s->rate_age);
		if (s->change_age >= 0) {
			sg_j_double(j, "last_change_ago_s", s->change_age);
			sg_j_double(j, "last_change_unix", s->change_unix);
		}
		sg_j_bool(j, "disengage_pending", s->pending);
		sg_j_close(j, '}');
	}
	if (s->lists[0] >= 0)
		sg_j_uint(j, "allow_entries", s->lists[0]);
	if (s->lists[1] >= 0)
		sg_j_uint(j, "deny_entries", s->lists[1]);
	sg_j_str(j, "problems", s->problems);
	sg_j_str(j, "host_problems", s->host);
	sg_j_close(j, '}');
}

static void status_json(struct iface_state *st, int n)
{
	struct sg_jw j = {};
	int i;

	sg_j_open(&j, NULL, '{');
	sg_j_open(&j, "interfaces", '[');
	for (i = 0; i < n; i++)
		status_json_iface(&j, &st[i]);
	sg_j_close(&j, ']');
	sg_j_close(&j, '}');
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
int sg_pick_ifaces(int argc, char **argv, int first, const char *what,
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
	n = sg_pick_ifaces(argc, argv, first, "status", &names);
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
