// SPDX-License-Identifier: GPL-2.0
/*
 * attach: the preflight checks, then the programs, settings, TC handoff,
 * XDP program and pins (tc.c, xdp.c), in that order. Every step is undone if
 * a later one fails, so an interface is either fully protected or untouched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "sg.h"
#include "synguard.skel.h"

/* ---- attach ---- */

static int cmd_attach(int argc, char **argv);

enum {
	AO_MODE,
	AO_KEY_FILE,
	AO_ENGINE,
	/* run only, from here: */
	AO_KEY_ROTATE,
	AO_METRICS,
	AO_LOG_FORMAT,
	AO_ON_EVENT,
	AO_ACK_FLOOD,
};

/* Shared with `run`, which takes attach's options and one more. */
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
	[AO_METRICS] = {"metrics", 0, "[ADDR:]PORT",
			"`synguard run` only: serve Prometheus metrics on http://ADDR:PORT/metrics (ADDR defaults to 127.0.0.1; [::1]:PORT for IPv6)"},
	[AO_LOG_FORMAT] = {"log-format", 0, "text|json",
			   "`synguard run` only: events (cookies engaging, limits dropping, ACK floods, key rotations) as text lines (default) or one JSON object a line"},
	[AO_ON_EVENT] = {"on-event", 0, "CMD",
			 "`synguard run` only: run CMD (sh -c) at each event, with SYNGUARD_EVENT, SYNGUARD_IFACE and the event's figures in its environment; one at a time, in order, each killed after 10 s"},
	[AO_ACK_FLOOD] = {"ack-flood-rate", 0, "N",
			  "`synguard run` only: ACKs/s without a valid cookie that make an ack_flood_start event (default " SG_XSTR(SG_DEFAULT_ACK_FLOOD) ")"},
	{NULL},
};

const struct sg_cmd sg_cmd_attach = {
	.name = "attach",
	.min_abbrev = 1, /* "a" stays attach, though allow shares it */
	.run = cmd_attach,
	.args = "IFACE --ports LIST [options]",
	.summary = "protect an interface: XDP SYN cookies and the TC handoff",
	.opts = sg_attach_opts,
	.with_params = true,
	.doc = "The protection stays after the command exits: `synguard config` changes its\nsettings in place, `synguard detach` removes it. To rotate the key on a schedule,\nrun `synguard run IFACE ... --key-rotate SEC` instead: it attaches the same way,\nstays in the foreground and detaches when stopped.\nPins: " SG_PIN_DIR "/IFACE/.",
};

/* Longest --key-rotate: a year; longer is a typo for a shorter one. */
#define SG_KEY_ROTATE_MAX (365 * 86400ULL)

static int attach_opt(void *ctx, int idx, const char *arg)
{
	struct sg_attach_args *a = ctx;
	char label[64], opt[40];

	if (idx < 0) {
		const struct sg_param *p = &sg_params[-1 - idx];

		snprintf(label, sizeof(label), "--%s",
			 sg_param_opt(p, opt, sizeof(opt)));
		if (p->off == offsetof(struct sg_config, wscale))
			a->wscale_set = true;
		if (p->off == offsetof(struct sg_config, cookie_lifetime))
			a->lifetime_set = true;
		return sg_param_set(p, arg, label, &a->s);
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
	case AO_METRICS:
		if (sg_metrics_addr(arg, &a->metrics)) {
			sg_err("invalid --metrics '%s': [ADDR:]PORT, e.g. 9469, 127.0.0.1:9469 or [::1]:9469", arg);
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
	case AO_ACK_FLOOD:
		if (sg_parse_uint(arg, &a->ev.ack_flood_rate) ||
		    !a->ev.ack_flood_rate || a->ev.ack_flood_rate > 1000000000) {
			sg_err("invalid --ack-flood-rate '%s': ACKs per second, from 1 to 1000000000",
			       arg);
			return -1;
		}
		return 0;
	default:
		if (sg_parse_uint(arg, &a->key_rotate) || !a->key_rotate ||
		    a->key_rotate > SG_KEY_ROTATE_MAX) {
			sg_err("invalid --key-rotate '%s': seconds, from the cookie lifetime + %u to %llu",
			       arg, SG_COOKIE_MARGIN_SEC, SG_KEY_ROTATE_MAX);
			return -1;
		}
		return 0;
	}
}

int sg_attach_parse(const struct sg_cmd *cmd, int argc, char **argv,
		    struct sg_attach_args *a)
{
	unsigned int min;
	int first, rc;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->mode = SG_MODE_NATIVE;
	a->ev.ack_flood_rate = SG_DEFAULT_ACK_FLOOD;
	a->engine = SG_ENGINE_AUTO;
	sg_settings_default(&a->s);
	rc = sg_parse_opts(cmd, argc, argv, attach_opt, a, &first);
	if (rc)
		return rc;
	if (argc - first != 1) {
		sg_err("%s takes one interface", cmd->name);
		sg_usage_hint(cmd);
		return SG_EXIT_USAGE;
	}
	a->iface = argv[first];
	if (sg_iface_check(a->iface, NULL))
		return SG_EXIT_USAGE;
	if (!a->s.ports_set) {
		sg_err("%s needs --ports LIST: the TCP ports to protect, e.g. --ports 80,443",
		       cmd->name);
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

/* What attach has done so far, for the rollback. */
struct undo {
	bool pins, notrack, tc_filter, tc_hook, xdp;
	const struct sg_info *sysctls; /* the kernel engine set some */
};

static void rollback(const char *iface, int ifindex, const struct undo *u,
		     __u32 xdp_id)
{
	__u32 other;
	int err;

	if (u->xdp && (err = sg_xdp_detach(ifindex, &xdp_id, &other)) < 0)
		sg_err("rollback: cannot remove the XDP program from %s: %s",
		       iface, sg_strerr(err));
	if (u->tc_filter && (err = sg_tc_detach(ifindex)))
		sg_err("rollback: cannot remove the TC filter from %s: %s",
		       iface, sg_strerr(err));
	if (u->tc_hook && (err = sg_tc_hook_remove(ifindex)) < 0)
		sg_err("rollback: cannot remove the clsact qdisc of %s: %s",
		       iface, sg_strerr(err));
	if (u->notrack && sg_notrack_remove(ifindex) < 0)
		sg_err("rollback: the nftables table above is left on %s",
		       iface);
	if (u->pins)
		sg_pins_remove(iface);
	if (u->sysctls)
		sg_engine_sysctls_restore(iface, u->sysctls);
}

/*
 * What the kernel engine cannot do, refused before anything changes
 * (doc/design.md, "The kernel engine"), and the window scale it must offer:
 * the kernel's, from its buffer sysctls. 0, or -1 after a message.
 */
static int kernel_engine_check(const struct sg_attach_args *a,
			       struct sg_config *cfg)
{
	int ws;

	if (a->key_file || a->key_rotate) {
		sg_err("%s: the kernel engine answers with the kernel's own cookies and secret: %s needs the own engine (--engine own, Linux 6.9 or later)",
		       a->iface,
		       a->key_file ? "--key-file (a key shared by hosts)"
				   : "--key-rotate");
		return -1;
	}
	if (a->lifetime_set) {
		sg_err("%s: the kernel engine's cookies stay valid as long as the kernel's own do (2 to 3 minutes): --cookie-lifetime needs the own engine (--engine own, Linux 6.9 or later)",
		       a->iface);
		return -1;
	}
	ws = sg_engine_kernel_wscale();
	if (ws < 0) {
		sg_err("%s: cannot read net.ipv4.tcp_rmem, from which the kernel derives its window scale",
		       a->iface);
		return -1;
	}
	if (a->wscale_set && cfg->wscale != ws) {
		sg_err("%s: with the kernel engine the kernel picks its own window scale (%d here, from net.ipv4.tcp_rmem and net.core.rmem_max), and the SYN-ACK must offer that one: --wscale %u needs the own engine (--engine own, Linux 6.9 or later)",
		       a->iface, ws, cfg->wscale);
		return -1;
	}
	cfg->wscale = ws;
	return 0;
}

static int write_maps(struct synguard *skel, const struct sg_settings *s,
		      const __u8 key[SG_KEY_BYTES], const struct sg_info *info,
		      __u8 nf, const struct sg_ports *pass)
{
	struct sg_config cfg = s->cfg;
	struct sg_keys keys = {};
	struct timespec tai;
	__u32 zero = 0;
	struct {
		struct bpf_map *map;
		const void *val;
	} w[] = {
		{skel->maps.sg_config, &cfg},
		{skel->maps.sg_ports, &s->ports},
		{skel->maps.sg_keys, &keys},
		{skel->maps.sg_info, info},
		{skel->maps.sg_pass_ports, pass},
	};
	size_t i;
	int err;

	err = sg_host_state(&cfg);
	if (err)
		return err;
	cfg.wscale_prev = cfg.wscale; /* no change yet */
	cfg.nf = nf;
	if (!(cfg.tcp_sysctl & SG_SYSCTL_SYNCOOKIES)) {
		sg_err("net.ipv4.tcp_syncookies is 0 in this network namespace: the kernel refuses every connection synguard hands off; set it to 1 (sysctl -w net.ipv4.tcp_syncookies=1) and attach again");
		return -EINVAL;
	}
	sg_key_words(key, keys.key[0]);
	keys.valid[0] = 1;
	keys.current = 0;
	clock_gettime(CLOCK_TAI, &tai);
	keys.installed_tai_ns[0] =
		(__u64)tai.tv_sec * SG_NSEC_PER_SEC + tai.tv_nsec;
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		err = bpf_map__update_elem(
			w[i].map, &zero, sizeof(zero), w[i].val,
			bpf_map__value_size(w[i].map), BPF_ANY);
		if (err) {
			sg_err("cannot write map %s: %s",
			       bpf_map__name(w[i].map), sg_strerr(err));
			return err;
		}
	}
	return 0;
}

static int info_write(struct synguard *skel, const struct sg_info *info)
{
	__u32 zero = 0;
	int err;

	err = bpf_map__update_elem(skel->maps.sg_info, &zero, sizeof(zero),
				   info, sizeof(*info), BPF_ANY);
	if (err)
		sg_err("cannot write map %s: %s", sg_map_names[SG_M_INFO],
		       sg_strerr(err));
	return err;
}

/*
 * The skeleton opened to load one of its two programs. attach loads them
 * from two objects: the TC program (and every map) first, because the
 * settings must be in the maps before the XDP program can run; then the
 * XDP program, which libxdp must load itself (as an freplace component
 * when it builds a dispatcher). With shared set, the second object uses the
 * first one's maps, all of them, as one object would.
 */
static struct synguard *skel_open(const char *dir, bool xdp,
				  struct synguard *shared)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = dir);
	struct bpf_map *m, *from;
	struct synguard *skel;
	int err = 0;

	/* The maps are LIBBPF_PIN_BY_NAME: libbpf pins them in dir. */
	skel = sg_skel_open(&oo);
	if (!skel) {
		sg_err("cannot open the BPF object: %s", sg_strerr(errno));
		return NULL;
	}
	bpf_program__set_autoload(skel->progs.synguard_xdp, xdp);
	bpf_program__set_autoload(skel->progs.synguard_tc, !xdp);
	bpf_object__for_each_map (m, skel->obj) {
		if (!shared)
			break;
		from = bpf_object__find_map_by_name(shared->obj,
						    bpf_map__name(m));
		err = from ? bpf_map__reuse_fd(m, bpf_map__fd(from)) : -ENOENT;
		if (!err)
			err = bpf_map__set_pin_path(m, NULL);
		if (err) {
			sg_err("cannot share map %s: %s", bpf_map__name(m),
			       sg_strerr(err));
			synguard__destroy(skel);
			return NULL;
		}
	}
	return skel;
}

static int do_attach(const char *iface, int ifindex,
		     const struct sg_attach_args *a,
		     const __u8 key[SG_KEY_BYTES], struct sg_info *out,
		     const struct sg_info *chosen)
{
	struct synguard *base = NULL, *xdp = NULL;
	static struct sg_port_kinds kinds;
	struct sg_info info = *chosen;
	struct sg_attach_args args = *a;
	bool kernel = chosen->engine == SG_ENGINE_KERNEL;
	bool hook_created = false;
	struct undo u = {};
	char dir[256], ports[128], table[32];
	int err, nf;

	if (sg_is_protected(iface)) {
		sg_err("%s is already protected; use `synguard config %s KEY=VALUE...` to change it (or `synguard detach %s` first)",
		       iface, iface, iface);
		return -1;
	}
	if (sg_orphans(ifindex)) {
		sg_err("%s has synguard's programs attached but nothing pinned (the pins were lost, e.g. bpffs was unmounted): run `synguard detach %s` to remove them, then attach again",
		       iface, iface);
		return -1;
	}
	sg_pin_dir(iface, dir, sizeof(dir));
	if ((mkdir(SG_PIN_DIR, 0700) && errno != EEXIST) || mkdir(dir, 0700)) {
		sg_err("cannot create %s: %s", dir, sg_strerr(errno));
		return -1;
	}
	u.pins = true;
	if (kernel) {
		if (kernel_engine_check(a, &args.s.cfg) ||
		    sg_engine_sysctls_set(iface, &info))
			goto fail;
		u.sysctls = &info;
	}

	/*
	 * Before the programs load: it loads conntrack if it is a module not
	 * loaded yet, and the XDP program's conntrack lookups resolve only
	 * against a kernel that has it at load time. The kernel engine needs
	 * no table: no handoff, the kernel's own cookie path.
	 */
	nf = kernel ? 0 : sg_notrack_install(iface, ifindex);
	if (nf < 0)
		goto fail;
	u.notrack = nf > 0;

	base = skel_open(dir, false, NULL);
	if (!base)
		goto fail;
	/* No handoff in the kernel engine: base then loads only the maps. */
	bpf_program__set_autoload(base->progs.synguard_tc, !kernel);
	base->rodata->sg_engine = info.engine;
	/* The XDP object shares base's .rodata map, so one secret serves both. */
	if (getrandom((void *)base->rodata->sg_meta_secret,
		      sizeof(base->rodata->sg_meta_secret), 0) !=
	    sizeof(base->rodata->sg_meta_secret)) {
		sg_err("cannot draw the metadata secret: %s", sg_strerr(errno));
		goto fail;
	}
	base->rodata->sg_ct_enabled = kernel ? sg_conntrack_present() : nf > 0;
	err = synguard__load(base);
	if (err) {
		sg_err("cannot load the BPF programs: %s%s", sg_strerr(err),
		       sg_verbose ? "" : "; run with -v for the verifier log");
		goto fail;
	}

	/* Settings first: the programs must never run unconfigured. */
	info.ifindex = ifindex;
	info.attached_unix = time(NULL);
	info.key_installed_unix = info.attached_unix;
	/*
	 * Attached whatever it says: a port's kind can change at any time.
	 * Before the programs run, so that a local+nat port is never
	 * answered (sg_pass_ports); `run` keeps that map current.
	 */
	sg_port_kinds_check(iface, &a->s.ports, &kinds);
	if (write_maps(base, &args.s, key, &info, nf > 0 ? SG_NF_NOTRACK : 0,
		       &kinds.kind[SG_PK_LOCAL_NAT]))
		goto fail;

	/*
	 * TC before XDP: the TC program only acts on frames XDP marked, so it
	 * is harmless alone, while XDP alone would answer SYNs whose ACKs no
	 * handoff takes yet. XDP is the switch that turns protection on.
	 */
	if (!kernel) {
		err = sg_tc_attach(iface, ifindex,
				   bpf_program__fd(base->progs.synguard_tc),
				   &info, &hook_created);
		u.tc_hook = hook_created;
		if (err)
			goto fail;
		u.tc_filter = true;
	}
	/* Recorded at each step, so detach knows what a killed attach did. */
	if (info_write(base, &info))
		goto fail;

	xdp = skel_open(dir, true, base);
	if (!xdp)
		goto fail;
	err = sg_xdp_attach(iface, ifindex, xdp, a->mode, &info);
	if (err == SG_XDP_RETRY_ALONE) {
		/* A failed load leaves the object unusable: open it again. */
		synguard__destroy(xdp);
		setenv(SG_SKIP_DISPATCHER, "1", 1);
		xdp = skel_open(dir, true, base);
		if (!xdp)
			goto fail;
		err = sg_xdp_attach(iface, ifindex, xdp, a->mode, &info);
		if (!err)
			sg_warn("libxdp's dispatcher cannot run synguard on this kernel (it refuses an extension program that changes packet data in a dispatcher built by libxdp before 1.5): attached alone, so no other XDP program can share %s",
				iface);
	}
	if (err)
		goto fail;
	u.xdp = true;
	if (info_write(base, &info))
		goto fail;

	if (kernel)
		printf("%s: protected (%s XDP, %s program, XDP prog %u, kernel engine: the kernel's own cookies, no TC program); ports %s\n",
		       iface, sg_xdp_mode_name(info.xdp_mode),
		       info.multiprog ? "libxdp dispatcher" : "single",
		       info.xdp_prog_id,
		       sg_ports_fmt(&a->s.ports, ports, sizeof(ports)));
	else
		printf("%s: protected (%s XDP, %s program, XDP prog %u, TC prog %u); ports %s\n",
		       iface, sg_xdp_mode_name(info.xdp_mode),
		       info.multiprog ? "libxdp dispatcher" : "single",
		       info.xdp_prog_id, info.tc_prog_id,
		       sg_ports_fmt(&a->s.ports, ports, sizeof(ports)));
	printf("%s: engine %s (%s)\n", iface, sg_engine_names[info.engine],
	       sg_engine_why_str(&info));
	sg_notrack_name(ifindex, table, sizeof(table));
	if (kernel)
		; /* the kernel's own cookie path: no table to keep */
	else if (nf > 0)
		printf("%s: handed-off handshake ACKs skip conntrack (nftables table inet %s)\n",
		       iface, table);
	else
		printf("%s: no conntrack in this kernel: no nftables table needed\n",
		       iface);
	synguard__destroy(xdp);
	synguard__destroy(base);
	*out = info;
	return 0;
fail:
	rollback(iface, ifindex, &u, info.xdp_prog_id);
	synguard__destroy(xdp);
	synguard__destroy(base);
	sg_note("%s left as it was: nothing attached, nothing pinned", iface);
	return -1;
}

int sg_attach(const struct sg_attach_args *a, struct sg_info *info)
{
	struct sg_info chosen = {};
	__u8 key[SG_KEY_BYTES];
	int ifindex, rc;

	if (sg_require_root())
		return SG_EXIT_FAIL;
	if (a->key_file ? sg_key_file_read(a->key_file, key)
			: sg_key_random(key))
		return SG_EXIT_FAIL;
	if (sg_iface_check(a->iface, &ifindex) ||
	    sg_engine_choose(a->engine, &chosen) || sg_bpffs_ready(true) < 0 ||
	    sg_lock(true))
		return SG_EXIT_FAIL;
	sg_block_signals();
	rc = do_attach(a->iface, ifindex, a, key, info, &chosen);
	memset(key, 0, sizeof(key));
	return rc ? SG_EXIT_FAIL : 0;
}

static int cmd_attach(int argc, char **argv)
{
	struct sg_attach_args a;
	struct sg_info info;
	int rc;

	rc = sg_attach_parse(&sg_cmd_attach, argc, argv, &a);
	return rc ? rc : sg_attach(&a, &info);
}

