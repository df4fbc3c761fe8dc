// SPDX-License-Identifier: GPL-2.0
/*
 * The options of attach and of run, which takes attach's and a few of its
 * own: parsed, and checked against each other before anything changes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sg.h"

enum {
	AO_MODE,
	AO_KEY_FILE,
	AO_ENGINE,
	AO_SRC_TABLE,
	AO_SYNPROXY,
	AO_GATEWAY,
	AO_TC_HOOK,
	/* run only, from here: */
	AO_KEY_ROTATE,
	AO_METRICS,
	AO_LOG_FORMAT,
	AO_ON_EVENT,
	AO_ACK_FLOOD,
	AO_CONFIG,
	AO_MAX,
};
_Static_assert(AO_MAX <= SG_CONF_MAX_OPTS, "SG_CONF_MAX_OPTS too small");

/* Shared with `run`, which takes attach's options and one more. */
/* clang-format off */
const struct sg_opt sg_attach_opts[] = {
	[AO_MODE] = {"mode", 'm', "native|skb",
		     "XDP mode: native (default, in the driver) or skb (generic, any driver, slower)"},
	[AO_KEY_FILE] = {"key-file", 'k', "FILE",
			 "cookie key: 32 hex digits, mode 600 (default: random); share it across hosts behind one address"},
	[AO_KEY_ROTATE] = {"key-rotate", 0, "SEC",
			   "`synguard run` only: rotate to a random key every SEC seconds, at least the cookie lifetime + "
			   SG_XSTR(SG_COOKIE_MARGIN_SEC_LIT) " s (attach exits at once: nothing would rotate)"},
	[AO_ENGINE] = {"engine", 0, "auto|own|kernel",
		       "own: synguard's cookies and the TC handoff (Linux 6.9+); kernel: the kernel's own cookies, made and checked at XDP (Linux 6.1+); auto (default): own if the kernel has its kfunc, else kernel"},
	[AO_SRC_TABLE] = {"src-table", 0, "N",
			   "entries of the per-source limits table (default " SG_XSTR(SG_DEFAULT_SRC_TABLE) ", " SG_XSTR(SG_SRC_TABLE_MIN) " to " SG_XSTR(SG_SRC_TABLE_MAX) "), fixed until detach; when full, the least recently seen source makes room"},
	[AO_SYNPROXY] = {"synproxy", 0, "nat",
			 "answer SYNs to ports NAT translates to another namespace (Docker -p, NodePort) at XDP with the kernel's cookie, and let netfilter's SYNPROXY open the connection to the backend: installs nftables rules and sets net.netfilter.nf_conntrack_tcp_loose to 0 until detach (IPv4; IPv6 too with the own engine)"},
	[AO_GATEWAY] = {"gateway", 0, NULL,
			"also answer SYNs this host routes to others (a router, a load balancer) at XDP, and let netfilter's SYNPROXY open their connections; the SYN-ACKs offer --wscale, which must be the backends' (IPv4; IPv6 too with the own engine)"},
	[AO_TC_HOOK] = {"tc-hook", 0, "auto|tcx|clsact",
			"where the TC program goes: tcx (Linux 6.6+, a BPF link, no qdisc), clsact (a filter on the clsact qdisc, which attach adds if missing: adding or removing it drops the frames the interface is sending at that instant), or auto (default): tcx where the kernel has it"},
	[AO_METRICS] = {"metrics", 0, "[ADDR:]PORT",
			"`synguard run` only: serve Prometheus metrics on http://ADDR:PORT/metrics (ADDR defaults to 127.0.0.1; [::1]:PORT for IPv6)"},
	[AO_LOG_FORMAT] = {"log-format", 0, "text|json",
			   "`synguard run` only: events (cookies engaging, limits dropping, ACK floods, key rotations) as text lines (default) or one JSON object a line"},
	[AO_ON_EVENT] = {"on-event", 0, "CMD",
			 "`synguard run` only: run CMD (sh -c) at each event, with SYNGUARD_EVENT, SYNGUARD_IFACE and the event's figures in its environment; one at a time, in order, each killed after 10 s"},
	[AO_ACK_FLOOD] = {"ack-flood-rate", 0, "N",
			  "`synguard run` only: ACKs/s without a valid cookie that make an ack_flood_start event (default " SG_XSTR(SG_DEFAULT_ACK_FLOOD) ")"},
	[AO_CONFIG] = {"config", 'c', "FILE",
		       "`synguard run` only: the config file (default " SG_CONF_DIR "/IFACE.conf, if it exists); options given here override its keys"},
	{NULL},
};
/* clang-format on */

/* Longest --key-rotate: a year; longer is a typo for a shorter one. */
#define SG_KEY_ROTATE_MAX (365 * 86400ULL)

/* The options only `run` takes; attach refused them before. */
/*
 * --name arg: a whole number of unit from min to max, in *out. 0, or -1
 * after a message.
 */
static int parse_range(const char *name, const char *arg, const char *unit,
		       unsigned long long min, unsigned long long max,
		       unsigned long long *out)
{
	if (!sg_parse_uint(arg, out) && *out >= min && *out <= max)
		return 0;
	sg_err("invalid --%s '%s': %s, from %llu to %llu", name, arg, unit, min,
	       max);
	return -1;
}

static int run_opt(struct sg_attach_args *a, int idx, const char *arg)
{
	switch (idx) {
	case AO_METRICS:
		if (sg_metrics_addr(arg, &a->metrics)) {
			sg_err("invalid --metrics '%s': [ADDR:]PORT, e.g. 9469, 127.0.0.1:9469 or [::1]:9469",
			       arg);
			return -1;
		}
		a->want_metrics = true;
		return 0;
	case AO_LOG_FORMAT:
		if (strcmp(arg, "text") && strcmp(arg, "json")) {
			sg_err("invalid --log-format '%s': must be text or json",
			       arg);
			return -1;
		}
		a->ev.json = !strcmp(arg, "json");
		return 0;
	case AO_ON_EVENT:
		if (!*arg) {
			sg_err("invalid --on-event '': a shell command");
			return -1;
		}
		a->ev.on_event = arg;
		return 0;
	case AO_CONFIG:
		a->config = arg;
		return 0;
	case AO_ACK_FLOOD:
		return parse_range("ack-flood-rate", arg, "ACKs per second", 1,
				   1000000000, &a->ev.ack_flood_rate);
	default:
		/* The lower bound, from the cookie lifetime, is checked once
		 * every option is read. */
		return parse_range("key-rotate", arg, "seconds", 1,
				   SG_KEY_ROTATE_MAX, &a->key_rotate);
	}
}

int sg_attach_opt(void *ctx, int idx, const char *arg)
{
	struct sg_attach_args *a = ctx;
	char label[64], opt[40];

	if (idx < 0) {
		const struct sg_param *p = &sg_params[-1 - idx];

		/* In the config file, the key is what the line says. */
		snprintf(label, sizeof(label), "%s%s", a->in_file ? "" : "--",
			 a->in_file ? p->key
				    : sg_param_opt(p, opt, sizeof(opt)));
		if (p->off == offsetof(struct sg_config, wscale))
			a->wscale_set = true;
		if (p->off == offsetof(struct sg_config, cookie_lifetime))
			a->lifetime_set = true;
		return sg_param_set(p, arg, label, &a->s);
	}
	if (idx == AO_CONFIG && a->cmd == &sg_cmd_attach) {
		sg_err("attach does not take --config: the config file is read by `synguard run IFACE` (and the systemd unit synguard@IFACE), which stays to follow it; `synguard reload IFACE` applies one to what attach protected");
		return -1;
	}
	if (idx >= AO_KEY_ROTATE && a->cmd == &sg_cmd_attach) {
		sg_err("attach does not take --%s: it exits at once, so nothing would %s; use `synguard run IFACE --ports LIST ... --%s`, which attaches, stays in the foreground and detaches when stopped",
		       sg_attach_opts[idx].name,
		       idx == AO_KEY_ROTATE ? "rotate the key"
		       : idx == AO_METRICS  ? "serve them (`synguard stats --prometheus` prints them for node_exporter's textfile collector)"
					    : "report events",
		       sg_attach_opts[idx].name);
		return -1;
	}
	switch (idx) {
	case AO_MODE:
		if (!strcmp(arg, "native")) {
			a->mode = SG_MODE_NATIVE;
		} else if (!strcmp(arg, "skb")) {
			a->mode = SG_MODE_SKB;
		} else {
			sg_err("invalid --mode '%s': must be native or skb",
			       arg);
			return -1;
		}
		return 0;
	case AO_KEY_FILE:
		a->key_file = arg;
		return 0;
	case AO_ENGINE:
		return sg_engine_parse(arg, &a->engine);
	case AO_SRC_TABLE:
		return parse_range("src-table", arg, "entries",
				   SG_SRC_TABLE_MIN, SG_SRC_TABLE_MAX,
				   &a->src_table);
	case AO_SYNPROXY:
		if (strcmp(arg, "nat")) {
			sg_err("invalid --synproxy '%s': must be nat (ports translated by DNAT)",
			       arg);
			return -1;
		}
		a->synproxy = true;
		return 0;
	case AO_GATEWAY:
		a->gateway = true;
		return 0;
	case AO_TC_HOOK:
		if (!strcmp(arg, "auto")) {
			a->tc_hook = SG_TC_HOOK_AUTO;
		} else if (!strcmp(arg, "tcx")) {
			a->tc_hook = SG_TC_HOOK_TCX;
		} else if (!strcmp(arg, "clsact")) {
			a->tc_hook = SG_TC_HOOK_CLSACT;
		} else {
			sg_err("invalid --tc-hook '%s': must be auto, tcx or clsact",
			       arg);
			return -1;
		}
		return 0;
	default:
		return run_opt(a, idx, arg);
	}
}

void sg_attach_defaults(const struct sg_cmd *cmd, struct sg_attach_args *a)
{
	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->mode = SG_MODE_NATIVE;
	a->ev.ack_flood_rate = SG_DEFAULT_ACK_FLOOD;
	a->engine = SG_ENGINE_AUTO;
	a->tc_hook = SG_TC_HOOK_AUTO;
	a->src_table = SG_DEFAULT_SRC_TABLE;
	sg_settings_default(&a->s);
}

const char *sg_attach_opt_key(int idx, char *buf, size_t len)
{
	char *c;

	if (idx < 0 || idx >= AO_MAX || idx == AO_CONFIG)
		return NULL;
	snprintf(buf, len, "%s", sg_attach_opts[idx].name);
	for (c = buf; *c; c++)
		if (*c == '-')
			*c = '_';
	return buf;
}

int sg_attach_opt_find(const char *key)
{
	char name[40];
	int i;

	for (i = 0; i < AO_MAX; i++)
		if (sg_attach_opt_key(i, name, sizeof(name)) &&
		    !strcmp(name, key))
			return i;
	return -1;
}

int sg_attach_keys_check(const struct sg_attach_args *a,
			 const struct sg_info *info, __u32 src_max)
{
	static const char *const modes[] = {"", "native", "skb"};
	static const char *const hooks[] = {"tc-hook clsact", "tc-hook tcx"};
	char where[4200];
	const char *path = a->conf ? a->conf->path : "the options";
	int idx, bad = 0;
	bool differs;

	for (idx = 0; idx < AO_KEY_ROTATE; idx++) {
		switch (idx) {
		case AO_MODE:
			differs = a->mode != info->xdp_mode;
			break;
		case AO_ENGINE:
			differs = a->engine != SG_ENGINE_AUTO &&
				  a->engine != info->engine;
			break;
		case AO_SRC_TABLE:
			differs = a->src_table != src_max;
			break;
		case AO_SYNPROXY:
			differs = a->synproxy !=
				  !!(info->synproxy & SG_PROXY_NAT);
			break;
		case AO_GATEWAY:
			differs = a->gateway !=
				  !!(info->synproxy & SG_PROXY_GATEWAY);
			break;
		case AO_TC_HOOK:
			/* Without a TC program, no hook to differ. */
			differs = a->tc_hook != SG_TC_HOOK_AUTO &&
				  sg_engine_has_tc(info) &&
				  a->tc_hook != info->tc_hook;
			break;
		default:
			/* key_file: the key is `synguard key IFACE load`'s. */
			differs = false;
		}
		if (!differs)
			continue;
		snprintf(where, sizeof(where), "%s:%d", path,
			 a->conf ? a->conf->opt_line[idx] : 0);
		sg_err_where = a->conf && a->conf->opt_line[idx] ? where : path;
		sg_err("%s: %s differs from what %s runs with (%s); it is set when synguard attaches: restart the service (systemctl restart synguard@%s), or detach and run again",
		       a->iface, sg_attach_opts[idx].name, a->iface,
		       idx == AO_MODE
			       ? modes[info->xdp_mode < 3 ? info->xdp_mode : 0]
		       : idx == AO_ENGINE    ? sg_engine_names[info->engine & 1]
		       : idx == AO_SRC_TABLE ? "another size"
		       : idx == AO_TC_HOOK   ? hooks[info->tc_hook & 1]
		       : idx == AO_SYNPROXY
			       ? (info->synproxy & SG_PROXY_NAT ? "synproxy nat"
								: "no synproxy")
			       : (info->synproxy & SG_PROXY_GATEWAY
					  ? "gateway on"
					  : "gateway off"),
		       a->iface);
		sg_err_where = NULL;
		bad++;
	}
	return bad ? -1 : 0;
}

int sg_attach_finish(struct sg_attach_args *a)
{
	unsigned int min;

	if (!a->s.ports_set) {
		sg_err("%s needs --ports LIST (or ports = LIST in its config file): the TCP ports to protect, e.g. --ports 80,443",
		       a->cmd->name);
		return SG_EXIT_USAGE;
	}
	if (sg_settings_check(&a->s.cfg, true))
		return SG_EXIT_USAGE;
	if (!a->key_rotate)
		return 0;
	/* The rule `key rotate` enforces, known here before attaching. */
	min = sg_key_min_interval(&a->s.cfg);
	if (a->key_rotate < min) {
		sg_err("invalid --key-rotate %llu: at least %u s (the cookie lifetime %u s plus %u s of time period and clock skew); a faster rotation would drop the previous key while handshakes made with it are in flight",
		       a->key_rotate, min, a->s.cfg.cookie_lifetime,
		       SG_COOKIE_MARGIN_SEC);
		return SG_EXIT_USAGE;
	}
	if (a->key_file) {
		sg_err("--key-rotate installs random keys, which hosts sharing --key-file %s would not share; rotate a shared key with `synguard key IFACE load FILE` on every host",
		       a->key_file);
		return SG_EXIT_USAGE;
	}
	return 0;
}

int sg_attach_parse(const struct sg_cmd *cmd, int argc, char **argv,
		    struct sg_attach_args *a)
{
	char *path;
	int first, rc;

	sg_attach_defaults(cmd, a);
	rc = sg_parse_opts(cmd, argc, argv, sg_attach_opt, a, &first);
	if (rc)
		return rc;
	if (argc - first != 1) {
		sg_err("%s takes one interface", cmd->name);
		sg_usage_hint(cmd);
		return SG_EXIT_USAGE;
	}
	if (sg_iface_check(argv[first], NULL))
		return SG_EXIT_USAGE;
	/*
	 * run: the file first, then the options again over it, so that
	 * an option given overrides the file's key.
	 */
	path = cmd == &sg_cmd_run ? sg_conf_find(argv[first], a->config) : NULL;
	if (path) {
		sg_attach_defaults(cmd, a);
		rc = sg_conf_load(path, a);
		if (rc)
			return rc;
		rc = sg_parse_opts(cmd, argc, argv, sg_attach_opt, a, &first);
		if (rc)
			return rc;
	}
	a->iface = argv[first];
	return sg_attach_finish(a);
}
