// SPDX-License-Identifier: GPL-2.0
/*
 * status: what synguard protects on each interface, and whether it works:
 * gathered here into struct iface_state, rendered by status_show.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg.h"
#include "status.h"

static int cmd_status(int argc, char **argv);

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
 * bpf_ktime_get_ns(), CLOCK_MONOTONIC here as there. The program moves the
 * state only when a SYN to a protected port arrives: an engaged state that
 * hold_time has run out for changes at the next SYN.
 */
static void adaptive(struct iface_state *s)
{
	const struct sg_state *st = &s->state;
	__u64 now;

	now = sg_mono_ns();
	s->rate_now = sg_syn_rate_now(st, now);
	s->rate_age = -1;
	if (st->measured_ns && st->measured_ns <= now)
		s->rate_age = (now - st->measured_ns) / 1e9;
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
	s->proxy_held = -1;
	s->iface = iface;
	sg_pins_open(iface, &s->p);
	for (i = 0; i < SG_M_MAX; i++)
		if (s->p.fd[i] < 0)
			problem(s, "pinned map %s: %s", sg_map_names[i],
				s->p.problem[i]);
	s->have_info =
		!sg_map_read(&s->p, SG_M_INFO, &s->info) && s->info.ifindex;
	s->have_cfg = !sg_map_read(&s->p, SG_M_CONFIG, &s->cfg);
	s->have_ports = !sg_ports_read(&s->p, &s->ports);
	s->have_keys = !sg_map_read(&s->p, SG_M_KEYS, &s->keys);
	s->have_state = !sg_map_read(&s->p, SG_M_STATE, &s->state);
	s->sampling = !sg_map_read(&s->p, SG_M_SAMPLE_CTL, &s->sample_ctl) &&
		      sg_sample_ctl_active(&s->sample_ctl);
	if (s->have_state && s->have_cfg)
		adaptive(s);
	s->lists[0] = sg_list_count(&s->p, SG_M_ALLOW4, NULL);
	s->lists[1] = sg_list_count(&s->p, SG_M_DENY4, NULL);
	s->src_entries = sg_src_count(&s->p);
	if (s->have_info && s->info.key_installed_unix <= (__u64)now)
		s->key_age = now - s->info.key_installed_unix;
	if (!s->have_info) {
		problem(s, "no attach record (sg_info)");
		return;
	}
	ifindex = if_nametoindex(iface);
	if (((s->info.netns_ino && s->info.netns_ino != sg_netns_ino()) ||
	     (__u32)ifindex != s->info.ifindex) &&
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
	if (!sg_engine_has_tc(&s->info))
		s->tc = TC_NONE;
	else if ((err = sg_tc_query(ifindex, s->info.tc_hook, &s->info,
				    &s->tc_prog_now)) < 0) {
		problem(s, "cannot query the TC program (%s): %s",
			sg_tc_hook_name(s->info.tc_hook), sg_strerr(err));
	} else if (!err) {
		s->tc = TC_MISSING;
		problem(s,
			"TC program missing (%s): validated ACKs reach no listener",
			sg_tc_hook_name(s->info.tc_hook));
	} else if (s->tc_prog_now != s->info.tc_prog_id) {
		s->tc = TC_REPLACED;
		problem(s, "TC filter runs program %u, not synguard's %u",
			s->tc_prog_now, s->info.tc_prog_id);
	} else {
		s->tc = TC_IN_PLACE;
	}
	if (s->have_cfg && s->cfg.draining)
		problem(s,
			"a detach stopped while draining: SYNs pass to the kernel unprotected; run `synguard detach %s` again",
			s->iface);
	s->proxy_held = s->info.synproxy ? sg_notrack_held(ifindex) : -1;
	if (s->have_cfg && (s->cfg.nf & SG_NF_NOTRACK)) {
		s->notrack = sg_notrack_present(ifindex);
		if (!s->notrack)
			problem(s,
				"nftables table inet " SG_NFT_TABLE_FMT
				" missing: with conntrack and NAT, handed-off connections get a RST",
				ifindex);
	}
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

bool sg_status_healthy(const struct iface_state *s)
{
	return s->present && s->xdp &&
	       (s->tc == TC_IN_PLACE || s->tc == TC_NONE) && !s->problems[0] &&
	       !s->host[0];
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
	.doc = "XDP and HANDOFF show what is attached now (queried, not remembered):\nXDP single = synguard's program alone, multiprog = through libxdp's dispatcher.\nTCP-SACK..TCP-SYNCOOKIES: the net.ipv4 sysctls the programs follow (what attach\nread, kept current by `synguard run`); PREV-WSCALE: the scale before the last\nwscale change, still valid for cookies in flight, and for how long.\nSOURCES: sources in the per-source limits table, and its size (LRU: when full,\nthe least recently seen make room).\nWith IFACE, the exit code is 1 unless IFACE is fully protected (for probes),\nwhich includes tcp_syncookies on and the sysctls followed.\nLOCAL, NAT, NOTHING, LOCAL+NAT: the protected ports by kind, found now in this\nnetwork namespace (a TCP listener here, a DNAT rule in nftables, neither, or\n"
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
	rc = 0;
	if (flags[SO_JSON])
		rc = sg_status_json(st, n) ? SG_EXIT_FAIL : 0;
	else
		sg_status_text(st, n);
	/* A named interface that is not fully protected fails (probes). */
	if (first < argc && !sg_status_healthy(&st[0]))
		rc = SG_EXIT_FAIL;
	for (i = 0; i < n; i++)
		sg_pins_close(&st[i].p);
	free(st);
	sg_free_list(names, n);
	return rc;
}
