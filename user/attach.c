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

static int cmd_attach(int argc, char **argv);

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

/* What attach has done so far, for the rollback. */
struct undo {
	bool pins, notrack, tc_filter, tc_hook, xdp;
	const struct sg_info *sysctls; /* the kernel engine set some */
};

static void rollback(const char *iface, int ifindex, const struct undo *u,
		     const struct sg_info *info)
{
	__u32 other, xdp_id = info->xdp_prog_id;
	int err;

	if (u->xdp && (err = sg_xdp_detach(ifindex, &xdp_id, &other)) < 0)
		sg_err("rollback: cannot remove the XDP program from %s: %s",
		       iface, sg_strerr(err));
	if (u->tc_filter &&
	    (err = sg_tc_detach(ifindex, info->tc_hook, info->tc_prog_id)))
		sg_err("rollback: cannot remove the TC program from %s (%s): %s",
		       iface, sg_tc_hook_name(info->tc_hook), sg_strerr(err));
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

static int write_maps(struct synguard *skel, const struct sg_settings *s,
		      const __u8 key[SG_KEY_BYTES], const struct sg_info *info,
		      __u8 nf, const struct sg_ports *pass,
		      const struct sg_ports *proxy)
{
	static struct sg_port_map ports;
	struct sg_config cfg = s->cfg;
	struct sg_keys keys = {};
	struct timespec tai;
	__u32 zero = 0;
	struct {
		struct bpf_map *map;
		const void *val;
	} w[] = {
		{skel->maps.sg_config, &cfg},
		{skel->maps.sg_port_map, &ports},
		{skel->maps.sg_keys, &keys},
		{skel->maps.sg_info, info},
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
	memset(&ports, 0, sizeof(ports));
	sg_port_map_mark(&ports, SG_PORT_PROTECTED, &s->ports);
	sg_port_map_mark(&ports, SG_PORT_PASS, pass);
	sg_port_map_mark(&ports, SG_PORT_PROXY, proxy);
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

/*
 * The lists of the config file, written before the programs run, so that
 * a denied source is dropped from the first packet: the maps of the
 * skeleton as the pins that sg_conf_lists_write() takes. 0 or -1 (said).
 */
static int lists_write(struct synguard *skel, const struct sg_attach_args *a)
{
	struct bpf_map *m[SG_M_MAX] = {
		[SG_M_CONFIG] = skel->maps.sg_config,
		[SG_M_ALLOW4] = skel->maps.sg_allow4,
		[SG_M_ALLOW6] = skel->maps.sg_allow6,
		[SG_M_DENY4] = skel->maps.sg_deny4,
		[SG_M_DENY6] = skel->maps.sg_deny6,
	};
	struct sg_pins p = {};
	int i;

	if (!a->conf)
		return 0;
	snprintf(p.iface, sizeof(p.iface), "%s", a->iface);
	for (i = 0; i < SG_M_MAX; i++) {
		p.fd[i] = m[i] ? bpf_map__fd(m[i]) : -1;
		p.max_entries[i] = m[i] ? bpf_map__max_entries(m[i]) : 0;
	}
	return sg_conf_lists_write(&p, a, false);
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
	/* base_load decides: only the kernel engine's --synproxy has it. */
	bpf_program__set_autoload(skel->progs.synguard_tc_proxy, false);
	/* The samples' control word is no LIBBPF_PIN_BY_NAME map but a
	 * global (bpf/sample.h): pinned by path, with the others. */
	if (!shared) {
		char path[320];

		snprintf(path, sizeof(path), "%s/%s", dir,
			 sg_map_names[SG_M_SAMPLE_CTL]);
		err = bpf_map__set_pin_path(skel->maps.data_sample, path);
		if (err) {
			sg_err("cannot pin map %s: %s",
			       sg_map_names[SG_M_SAMPLE_CTL], sg_strerr(err));
			synguard__destroy(skel);
			return NULL;
		}
	}
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

/*
 * Refused before anything changes: an interface protected already, or one
 * that carries our programs without pins. Then the pin directory, which the
 * rollback removes from here on. 0, or -1 after a message.
 */
static int attach_begin(const char *iface, int ifindex, char *dir, size_t len)
{
	bool taken = sg_is_protected(iface), other;
	unsigned long long ino = 0;

	/* The name's directory records another network namespace: this
	 * interface's pins go to a directory of its own. */
	other = taken && !sg_pins_netns(iface, &ino) && ino &&
		ino != sg_netns_ino();
	if (taken && !other) {
		sg_err("%s is already protected; use `synguard config %s KEY=VALUE...` to change it (or `synguard detach %s` first)",
		       iface, iface, iface);
		return -1;
	}
	if (sg_orphans(ifindex)) {
		sg_err("%s has synguard's programs attached but nothing pinned (the pins were lost, e.g. bpffs was unmounted): run `synguard detach %s` to remove them, then attach again",
		       iface, iface);
		return -1;
	}
	if (other)
		sg_pin_dir_netns(iface, dir, len);
	else
		sg_pin_dir(iface, dir, len);
	if ((mkdir(SG_PIN_DIR, 0700) && errno != EEXIST) || mkdir(dir, 0700)) {
		sg_err("cannot create %s: %s", dir, sg_strerr(errno));
		return -1;
	}
	return 0;
}

/*
 * The first object: every map, pinned in dir, and the TC program (none in
 * the kernel engine, which has no handoff, unless SYNPROXY needs one:
 * sg_engine_has_tc). NULL after a message.
 */
static struct synguard *base_load(const char *dir, const struct sg_info *info,
				  bool notrack, __u32 src_table)
{
	bool kernel = info->engine == SG_ENGINE_KERNEL;
	struct synguard *base;
	int err;

	base = skel_open(dir, false, NULL);
	if (!base)
		return NULL;
	bpf_program__set_autoload(base->progs.synguard_tc, !kernel);
	bpf_program__set_autoload(base->progs.synguard_tc_proxy,
				  kernel && sg_engine_has_tc(info));
	err = bpf_map__set_max_entries(base->maps.sg_src, src_table);
	if (err) {
		sg_err("cannot size the per-source table: %s", sg_strerr(err));
		goto fail;
	}
	base->rodata->sg_engine = info->engine;
	/* The XDP object shares base's .rodata map, so one draw serves both:
	 * the metadata secret and the established-flow cache's seed. */
	if (getrandom((void *)base->rodata->sg_meta_secret,
		      sizeof(base->rodata->sg_meta_secret),
		      0) != sizeof(base->rodata->sg_meta_secret) ||
	    getrandom((void *)&base->rodata->sg_est_seed,
		      sizeof(base->rodata->sg_est_seed),
		      0) != sizeof(base->rodata->sg_est_seed)) {
		sg_err("cannot draw the per-load secrets: %s",
		       sg_strerr(errno));
		goto fail;
	}
	base->rodata->sg_ct_enabled = kernel ? sg_conntrack_present() : notrack;
	err = synguard__load(base);
	if (!err)
		return base;
	sg_err("cannot load the BPF programs: %s%s", sg_strerr(err),
	       sg_verbose ? "" : "; run with -v for the verifier log");
fail:
	synguard__destroy(base);
	return NULL;
}

/*
 * The XDP program, through libxdp, on maps base loaded: the step that turns
 * protection on. Retried alone where libxdp's dispatcher refuses it.
 */
static int xdp_load(const char *iface, int ifindex, const char *dir,
		    struct synguard *base, enum sg_xdp_mode mode,
		    struct sg_info *info)
{
	struct synguard *xdp;
	int err;

	xdp = skel_open(dir, true, base);
	if (!xdp)
		return -1;
	err = sg_xdp_attach(iface, ifindex, xdp, mode, info);
	if (err == SG_XDP_RETRY_ALONE) {
		/* A failed load leaves the object unusable: open it again. */
		synguard__destroy(xdp);
		setenv(SG_SKIP_DISPATCHER, "1", 1);
		xdp = skel_open(dir, true, base);
		if (!xdp)
			return -1;
		err = sg_xdp_attach(iface, ifindex, xdp, mode, info);
		if (!err)
			sg_warn("libxdp's dispatcher cannot run synguard on this kernel (it refuses an extension program that changes packet data in a dispatcher built by libxdp before 1.5): attached alone, so no other XDP program can share %s",
				iface);
	}
	/* Attached, the program holds its own reference: the object can go. */
	synguard__destroy(xdp);
	return err;
}

static void attach_report(const char *iface, int ifindex,
			  const struct sg_attach_args *a,
			  const struct sg_info *info, bool notrack)
{
	char ports[128], table[32], tc[96];

	sg_ports_fmt(&a->s.ports, ports, sizeof(ports));
	if (!sg_engine_has_tc(info))
		snprintf(
			tc, sizeof(tc),
			"kernel engine: the kernel's own cookies, no TC program");
	else if (info->engine == SG_ENGINE_KERNEL)
		snprintf(
			tc, sizeof(tc),
			"kernel engine: the kernel's own cookies; TC prog %u (%s) for SYNPROXY",
			info->tc_prog_id, sg_tc_hook_name(info->tc_hook));
	else
		snprintf(tc, sizeof(tc), "TC prog %u (%s)", info->tc_prog_id,
			 sg_tc_hook_name(info->tc_hook));
	printf("%s: protected (%s XDP, %s program, XDP prog %u, %s); ports %s\n",
	       iface, sg_xdp_mode_name(info->xdp_mode),
	       info->multiprog ? "libxdp dispatcher" : "single",
	       info->xdp_prog_id, tc, ports);
	printf("%s: engine %s (%s)\n", iface, sg_engine_names[info->engine],
	       sg_engine_why_str(info));
	sg_notrack_name(ifindex, table, sizeof(table));
	if (info->engine == SG_ENGINE_KERNEL)
		; /* the kernel's own cookie path: no table to keep */
	else if (notrack)
		printf("%s: handed-off handshake ACKs skip conntrack (nftables table inet %s)\n",
		       iface, table);
	else
		printf("%s: no conntrack in this kernel: no nftables table needed\n",
		       iface);
	if (a->gateway)
		printf("%s: --gateway: SYNs routed through this host are answered at XDP and netfilter's SYNPROXY opens their connections (nftables table inet %s, set gateway_ports, chain proxy_forward)\n",
		       iface, table);
	if (a->synproxy)
		printf("%s: --synproxy nat: SYNs to translated ports are answered at XDP and netfilter's SYNPROXY opens their connections (nftables table inet %s, set proxy_ports, chain proxy)\n",
		       iface, table);
	sg_proxy_families_text(iface, info);
}

/*
 * The TC program, recorded in u: the handoff, or the kernel engine's
 * SYNPROXY program (sg_engine_has_tc). On a TCX link pinned in dir, or a
 * filter on clsact (which this adds if missing).
 */
static int tc_load(const char *iface, int ifindex, const char *dir, int hook,
		   struct synguard *base, struct sg_info *info, struct undo *u)
{
	struct bpf_program *prog = info->engine == SG_ENGINE_KERNEL
					   ? base->progs.synguard_tc_proxy
					   : base->progs.synguard_tc;
	bool hook_created = false;
	int err;

	err = sg_tc_attach(iface, ifindex, bpf_program__fd(prog), hook, dir,
			   info, &hook_created);
	u->tc_hook = hook_created;
	if (err)
		return err;
	u->tc_filter = true;
	return 0;
}

/* No ports: what --synproxy's map gets without it. */
static const struct sg_ports no_ports;

/*
 * --synproxy nat and --gateway, before the programs load: what the nft
 * rules need (sp), the window scale their SYN-ACKs offer (cfg), and
 * nf_conntrack_tcp_loose at 0 (recorded in info). 0, or -1 after a message.
 */
static int synproxy_prepare(const char *iface, const struct sg_attach_args *a,
			    const struct sg_port_kinds *kinds,
			    struct sg_config *cfg, struct sg_synproxy *sp,
			    struct sg_info *info)
{
	/* Loads conntrack if it is a module: its sysctl exists only then. */
	if (!sg_conntrack_present()) {
		sg_err("%s: --%s needs conntrack and netfilter's SYNPROXY in the kernel (nf_conntrack, nft_synproxy), and this kernel has no conntrack",
		       iface, a->synproxy ? "synproxy" : "gateway");
		return -1;
	}
	info->synproxy = (a->synproxy ? SG_PROXY_NAT : 0) |
			 (a->gateway ? SG_PROXY_GATEWAY : 0);
	sp->ports = a->synproxy ? &kinds->kind[SG_PK_NAT] : &no_ports;
	sp->gateway = a->gateway ? &a->s.ports : NULL;
	/* One rule for both families: SYNPROXY uses its mss only for SYNs
	 * it answers itself, and XDP answers them all. */
	sp->mss = cfg->mss4;
	/* The backends' window scale: on this host, the kernel's; a --wscale
	 * given says what remote backends use. */
	sp->wscale = a->wscale_set ? cfg->wscale
				   : (unsigned int)sg_engine_kernel_wscale();
	if ((int)sp->wscale < 0) {
		sg_err("%s: cannot read net.ipv4.tcp_rmem, from which the kernel derives the window scale that --synproxy's SYN-ACKs must offer",
		       iface);
		return -1;
	}
	cfg->proxy_wscale = sp->wscale;
	cfg->gateway = a->gateway;
	return sg_engine_sysctls_set(iface, info, SG_SYSCTL_TCP_LOOSE) ? -1 : 0;
}

static int do_attach(const char *iface, int ifindex,
		     const struct sg_attach_args *a,
		     const __u8 key[SG_KEY_BYTES], struct sg_info *out,
		     const struct sg_info *chosen)
{
	static struct sg_port_kinds kinds;
	struct sg_synproxy sp = {};
	struct synguard *base = NULL;
	struct sg_info info = *chosen;
	struct sg_attach_args args = *a;
	bool kernel = chosen->engine == SG_ENGINE_KERNEL;
	struct undo u = {};
	char dir[256];
	int nf;

	if (attach_begin(iface, ifindex, dir, sizeof(dir)))
		return -1;
	u.pins = true;
	/* The sysctls either engine or --synproxy sets go back on rollback. */
	u.sysctls = &info;
	if (kernel &&
	    (sg_engine_kernel_check(a, &args.s.cfg) ||
	     sg_engine_sysctls_set(iface, &info,
				   SG_SYSCTL_SYNCOOKIES | SG_SYSCTL_TS)))
		goto fail;
	/* The ports' kinds first: --synproxy's rules name the nat ones. */
	sg_port_kinds_check(iface, &a->s.ports, &kinds, a->synproxy);
	if ((a->synproxy || a->gateway) &&
	    synproxy_prepare(iface, a, &kinds, &args.s.cfg, &sp, &info))
		goto fail;

	/*
	 * Before the programs load: it loads conntrack if it is a module not
	 * loaded yet, and the XDP program's conntrack lookups resolve only
	 * against a kernel that has it at load time. The kernel engine needs
	 * no table: no handoff, the kernel's own cookie path.
	 */
	nf = kernel && !info.synproxy
		     ? 0
		     : sg_notrack_install(iface, ifindex,
					  info.synproxy ? &sp : NULL);
	if (nf < 0)
		goto fail;
	u.notrack = nf > 0;
	base = base_load(dir, &info, nf > 0, a->src_table);
	if (!base)
		goto fail;

	/* Settings first: the programs must never run unconfigured. */
	info.ifindex = ifindex;
	info.netns_ino = sg_netns_ino();
	info.attached_unix = time(NULL);
	info.key_installed_unix = info.attached_unix;
	/*
	 * Attached whatever it says: a port's kind can change at any time.
	 * Before the programs run, so that a local+nat port is never
	 * answered (SG_PORT_PASS); `run` keeps the kinds current.
	 */
	if (write_maps(base, &args.s, key, &info,
		       nf > 0 && !kernel ? SG_NF_NOTRACK : 0, &kinds.pass,
		       a->synproxy ? &kinds.kind[SG_PK_NAT] : &no_ports) ||
	    lists_write(base, a))
		goto fail;

	/*
	 * TC before XDP: the TC program only acts on frames XDP marked, so it
	 * is harmless alone, while XDP alone would answer SYNs whose ACKs no
	 * handoff takes yet. XDP is the switch that turns protection on.
	 */
	if (sg_engine_has_tc(&info) &&
	    tc_load(iface, ifindex, dir, a->tc_hook, base, &info, &u))
		goto fail;
	/* Recorded at each step, so detach knows what a killed attach did. */
	if (info_write(base, &info) ||
	    xdp_load(iface, ifindex, dir, base, a->mode, &info))
		goto fail;
	u.xdp = true;
	if (info_write(base, &info))
		goto fail;
	attach_report(iface, ifindex, a, &info, nf > 0);
	synguard__destroy(base);
	*out = info;
	return 0;
fail:
	rollback(iface, ifindex, &u, &info);
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

