// SPDX-License-Identifier: GPL-2.0
/*
 * attach and detach: the XDP program through libxdp, the TC handoff through
 * libbpf's TC API, and the pins. Every step of attach is undone if a later
 * one fails, so an interface is either fully protected or untouched.
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

#define SG_KFUNC "bpf_sk_assign_tcp_reqsk"
#define SG_XDP_PROG "synguard_xdp"
#define SG_TC_PROG "synguard_tc"

/* ---- preflight ---- */

int sg_kfunc_check(void)
{
	/* The test suite points this at a BTF without the kfunc. */
	const char *path = getenv("SYNGUARD_VMLINUX_BTF");
	const struct btf_type *t = NULL;
	struct utsname u = {};
	struct btf *btf;
	int id;

	btf = path ? btf__parse(path, NULL) : btf__load_vmlinux_btf();
	if (!btf) {
		sg_err("cannot read the kernel's BTF (%s): %s; synguard needs Linux 6.9 or later built with CONFIG_DEBUG_INFO_BTF=y",
		       path ? path : "/sys/kernel/btf/vmlinux",
		       sg_strerr(errno));
		return -1;
	}
	id = btf__find_by_name_kind(btf, SG_KFUNC, BTF_KIND_FUNC);
	if (id > 0)
		t = btf__type_by_id(btf, id);
	/*
	 * An object file declares a kfunc it calls as an extern FUNC: only a
	 * definition (the kernel's are static) means the kernel has it.
	 */
	if (t && btf_vlen(t) != BTF_FUNC_EXTERN) {
		btf__free(btf);
		return 0;
	}
	btf__free(btf);
	uname(&u);
	sg_err("the kernel's BTF (%s) has no kfunc " SG_KFUNC ", which the TC handoff needs: synguard requires Linux 6.9 or later (this is %s)",
	       path ? path : "/sys/kernel/btf/vmlinux", u.release);
	return -1;
}

/* ---- TC ---- */

#define TC_HOOK(name, idx)                                                     \
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, name, .ifindex = (idx),               \
			    .attach_point = BPF_TC_INGRESS)

int sg_tc_query(int ifindex, __u32 *prog_id)
{
	TC_HOOK(hook, ifindex);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE,
			    .priority = SG_TC_PRIORITY);
	int err;

	err = bpf_tc_query(&hook, &opts);
	if (err == -ENOENT || err == -EINVAL)
		return 0; /* no filter, or no clsact at all */
	if (err)
		return err;
	*prog_id = opts.prog_id;
	return 1;
}

/*
 * How many filters a clsact direction holds. libbpf's TC API can only query
 * a filter whose handle and priority it knows, so this is the one netlink
 * request we make ourselves: an RTM_GETTFILTER dump, counting the replies.
 */
static int tc_filter_count(int ifindex, __u32 parent)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh =
			{
				.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
				.nlmsg_type = RTM_GETTFILTER,
				.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
				.nlmsg_seq = 1,
			},
		.tc =
			{
				.tcm_family = AF_UNSPEC,
				.tcm_ifindex = ifindex,
				.tcm_parent = parent,
			},
	};
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd, count = 0, err = 0;
	struct nlmsghdr *nh;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))
					      ->error;
				goto out;
			}
			if (nh->nlmsg_type == RTM_NEWTFILTER)
				count++;
		}
	}
out:
	close(fd);
	return err ? err : count;
}

/* Filters left on the clsact qdisc, both directions (it holds both). */
static int tc_filters_left(int ifindex)
{
	__u32 dirs[] = {TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
			TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)};
	int i, n, total = 0;

	for (i = 0; i < 2; i++) {
		n = tc_filter_count(ifindex, dirs[i]);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

static int tc_attach(const char *iface, int ifindex, int prog_fd,
		     struct sg_info *info, bool *hook_created)
{
	TC_HOOK(hook, ifindex);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd,
			    .handle = SG_TC_HANDLE, .priority = SG_TC_PRIORITY);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		sg_err("cannot create the clsact qdisc on %s: %s", iface,
		       sg_strerr(err));
		return err;
	}
	*hook_created = !err;
	/* libbpf attaches in direct-action mode, without replacing. */
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		sg_err("cannot attach the TC handoff filter to %s ingress (pref %u, handle 0x%x): %s",
		       iface, SG_TC_PRIORITY, SG_TC_HANDLE, sg_strerr(err));
		/* EEXIST: same handle; EINVAL: another kind at that pref. */
		if (err == -EEXIST || err == -EINVAL)
			sg_err("another filter uses that priority: see `tc filter show dev %s ingress`",
			       iface);
		return err;
	}
	info->tc_prog_id = opts.prog_id;
	info->tc_handle = SG_TC_HANDLE;
	info->tc_priority = SG_TC_PRIORITY;
	info->tc_hook_created = *hook_created;
	return 0;
}

static int tc_detach(int ifindex)
{
	TC_HOOK(hook, ifindex);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE,
			    .priority = SG_TC_PRIORITY);

	return bpf_tc_detach(&hook, &opts);
}

/*
 * Removes the clsact qdisc that attach created, unless another filter was
 * put on it since: it is not ours alone any more. Returns the number of
 * filters left (0: removed), or -errno.
 */
static int tc_hook_remove(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int left = tc_filters_left(ifindex);

	if (left)
		return left;
	return bpf_tc_hook_destroy(&hook);
}

/* ---- XDP ---- */

static const char *mode_name(enum sg_xdp_mode m)
{
	return m == SG_MODE_SKB ? "skb" : "native";
}

static bool prog_is_ours(const struct xdp_program *prog, __u32 id)
{
	/* Without the id (sg_info lost), recognise the program by name. */
	if (id)
		return xdp_program__id(prog) == id;
	return !strcmp(xdp_program__name(prog), SG_XDP_PROG);
}

/* The libxdp view of ifindex's XDP programs, or NULL if it has none. */
static struct xdp_multiprog *xdp_get(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);

	if (!mp || libxdp_get_error(mp))
		return NULL;
	return mp;
}

/* Our program among ifindex's: the main one, or a dispatcher component. */
static struct xdp_program *xdp_find(struct xdp_multiprog *mp, __u32 id)
{
	struct xdp_program *prog = NULL;

	if (xdp_multiprog__is_legacy(mp)) {
		prog = xdp_multiprog__main_prog(mp);
		return prog && prog_is_ours(prog, id) ? prog : NULL;
	}
	while ((prog = xdp_multiprog__next_prog(prog, mp)))
		if (prog_is_ours(prog, id))
			return prog;
	return NULL;
}

int sg_xdp_attached(int ifindex, __u32 prog_id, bool *multiprog,
		    enum sg_xdp_mode *mode)
{
	struct xdp_multiprog *mp = xdp_get(ifindex);
	int found;

	if (!mp)
		return 0;
	found = !!xdp_find(mp, prog_id);
	*multiprog = !xdp_multiprog__is_legacy(mp);
	*mode = xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? SG_MODE_SKB
							       : SG_MODE_NATIVE;
	xdp_multiprog__close(mp);
	return found;
}

/*
 * libxdp's switch to attach a program alone, without its dispatcher. Set
 * for the retry below, and by the user to skip the dispatcher altogether.
 */
#define SG_SKIP_DISPATCHER "LIBXDP_SKIP_DISPATCHER"
/*
 * xdp_attach() failed in a way the dispatcher may be the cause of: the
 * dispatcher's stubs of libxdp before 1.5 do not change packet data, and
 * kernels from 6.13 (and 6.12.y) refuse an extension program that does
 * in their place.
 */
#define SG_XDP_RETRY_ALONE 1

static int xdp_attach(const char *iface, int ifindex, struct synguard *skel,
		      enum sg_xdp_mode mode, struct sg_info *info)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .obj = skel->obj,
			    .prog_name = SG_XDP_PROG);
	struct xdp_program *xprog, *p;
	struct xdp_multiprog *mp;
	__u32 other = 0;
	int err;

	xprog = xdp_program__create(&xo);
	err = libxdp_get_error(xprog);
	if (err) {
		sg_err("libxdp cannot use the XDP program: %s", sg_strerr(err));
		return err;
	}
	/*
	 * libxdp loads the program itself: as an freplace component of its
	 * multi-program dispatcher where the kernel allows that, else as a
	 * plain XDP program attached alone (doc/design.md, "libxdp's
	 * dispatcher"). Which one we got is read back below.
	 */
	err = xdp_program__attach(
		xprog, ifindex,
		mode == SG_MODE_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	if (err) {
		if (mode == SG_MODE_NATIVE &&
		    (err == -EOPNOTSUPP || err == -ENOTSUP))
			sg_err("native XDP is not supported by the driver of %s: %s; try --mode skb (generic XDP: works with any driver, slower)",
			       iface, sg_strerr(err));
		else if ((err == -EEXIST || err == -EBUSY) &&
			 !bpf_xdp_query_id(ifindex, 0, &other) && other)
			sg_err("%s already has an XDP program (id %u) that libxdp cannot share: %s; remove it first (e.g. `xdp-loader unload %s --all`)",
			       iface, other, sg_strerr(err), iface);
		else if (!getenv(SG_SKIP_DISPATCHER)) {
			/* The caller retries without the dispatcher. */
			xdp_program__close(xprog);
			return SG_XDP_RETRY_ALONE;
		} else
			sg_err("cannot load or attach the XDP program on %s in %s mode: %s%s",
			       iface, mode_name(mode), sg_strerr(err),
			       sg_verbose ? ""
					  : "; run with -v for libxdp's and the verifier's log");
		xdp_program__close(xprog);
		return err;
	}
	info->xdp_prog_id = xdp_program__id(xprog);
	info->xdp_mode = mode;
	mp = xdp_get(ifindex);
	if (mp) {
		info->multiprog = !xdp_multiprog__is_legacy(mp);
		/* A dispatcher may run its own copy of the program. */
		p = xdp_find(mp, info->xdp_prog_id);
		if (!p && (p = xdp_find(mp, 0)))
			info->xdp_prog_id = xdp_program__id(p);
		xdp_multiprog__close(mp);
	}
	xdp_program__close(xprog);
	return 0;
}

/*
 * Removes our XDP program (*id, or found by name if 0; *id then gets its
 * id): 1 removed, 0 not there, -errno. Another program in our place is
 * left alone (other gets its id).
 */
static int xdp_detach(int ifindex, __u32 *id, __u32 *other)
{
	struct xdp_multiprog *mp = xdp_get(ifindex);
	struct xdp_program *prog;
	int err;

	*other = 0;
	if (!mp)
		return 0;
	prog = xdp_find(mp, *id);
	if (!prog) {
		if (xdp_multiprog__is_legacy(mp) &&
		    xdp_multiprog__main_prog(mp))
			*other = xdp_program__id(xdp_multiprog__main_prog(mp));
		xdp_multiprog__close(mp);
		return 0;
	}
	*id = xdp_program__id(prog);
	if (xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else
		err = xdp_program__detach(prog, ifindex, XDP_MODE_UNSPEC, 0);
	xdp_multiprog__close(mp);
	return err ? err : 1;
}

static const char *prog_name(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info pi = {};
	__u32 pl = sizeof(pi);
	int fd = bpf_prog_get_fd_by_id(id);

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	if (!bpf_obj_get_info_by_fd(fd, &pi, &pl))
		snprintf(buf, len, "%s", pi.name);
	close(fd);
	return buf;
}

/*
 * Is program id still loaded? Our programs are not pinned: only an
 * attachment keeps them, so a live one on an interface this namespace does
 * not have means the interface is in another network namespace.
 */
bool sg_prog_alive(__u32 id)
{
	int fd = id ? bpf_prog_get_fd_by_id(id) : -1;

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Without the attach record, our TC filter is recognised by its name. */
static bool tc_is_ours(__u32 tc_id, const struct sg_info *info)
{
	char name[BPF_OBJ_NAME_LEN];

	if (info)
		return tc_id == info->tc_prog_id;
	return !strcmp(prog_name(tc_id, name, sizeof(name)), SG_TC_PROG);
}

/*
 * synguard's programs on ifindex although nothing is pinned: the pins were
 * lost (bpffs unmounted, removed by hand, made inside `ip netns exec`).
 */
static bool orphans(int ifindex)
{
	enum sg_xdp_mode mode;
	bool multiprog;
	__u32 tc_id;

	return sg_xdp_attached(ifindex, 0, &multiprog, &mode) > 0 ||
	       (sg_tc_query(ifindex, &tc_id) > 0 && tc_is_ours(tc_id, NULL));
}

/* ---- attach ---- */

static int cmd_attach(int argc, char **argv);
static int cmd_detach(int argc, char **argv);

enum { AO_MODE, AO_KEY_FILE, AO_KEY_ROTATE };

/* Shared with `run`, which takes attach's options and one more. */
const struct sg_opt sg_attach_opts[] = {
	[AO_MODE] = {"mode", 'm', "native|skb",
		     "XDP mode: native (default, in the driver) or skb (generic, any driver, slower)"},
	[AO_KEY_FILE] = {"key-file", 'k', "FILE",
			 "cookie key: 32 hex digits, mode 600 (default: random); share it across hosts behind one address"},
	[AO_KEY_ROTATE] = {"key-rotate", 0, "SEC",
			   "`synguard run` only: rotate to a random key every SEC seconds, at least the cookie lifetime + "
			   SG_XSTR(SG_PERIOD_SEC_LIT) " s (attach exits at once: nothing would rotate)"},
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
		return sg_param_set(p, arg, label, &a->s);
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
	default:
		if (a->cmd == &sg_cmd_attach) {
			sg_err("attach does not take --key-rotate: it exits at once, so nothing would rotate the key; use `synguard run IFACE --ports LIST ... --key-rotate SEC`, which attaches, rotates and detaches when stopped");
			return -1;
		}
		if (sg_parse_uint(arg, &a->key_rotate) || !a->key_rotate ||
		    a->key_rotate > SG_KEY_ROTATE_MAX) {
			sg_err("invalid --key-rotate '%s': seconds, from the cookie lifetime + %u to %llu",
			       arg, SG_PERIOD_SEC, SG_KEY_ROTATE_MAX);
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
		sg_err("invalid --key-rotate %llu: at least %u s (the cookie lifetime %u s plus one %u s time period); a faster rotation would drop the previous key while handshakes made with it are in flight",
		       a->key_rotate, min, a->s.cfg.cookie_lifetime,
		       SG_PERIOD_SEC);
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
};

static void rollback(const char *iface, int ifindex, const struct undo *u,
		     __u32 xdp_id)
{
	__u32 other;
	int err;

	if (u->xdp && (err = xdp_detach(ifindex, &xdp_id, &other)) < 0)
		sg_err("rollback: cannot remove the XDP program from %s: %s",
		       iface, sg_strerr(err));
	if (u->tc_filter && (err = tc_detach(ifindex)))
		sg_err("rollback: cannot remove the TC filter from %s: %s",
		       iface, sg_strerr(err));
	if (u->tc_hook && (err = tc_hook_remove(ifindex)) < 0)
		sg_err("rollback: cannot remove the clsact qdisc of %s: %s",
		       iface, sg_strerr(err));
	if (u->notrack && sg_notrack_remove(ifindex) < 0)
		sg_err("rollback: the nftables table above is left on %s",
		       iface);
	if (u->pins)
		sg_pins_remove(iface);
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
		     const __u8 key[SG_KEY_BYTES], struct sg_info *out)
{
	struct synguard *base = NULL, *xdp = NULL;
	static struct sg_port_kinds kinds;
	struct sg_info info = {};
	bool hook_created = false;
	struct undo u = {};
	char dir[256], ports[128], table[32];
	int err, nf;

	if (sg_is_protected(iface)) {
		sg_err("%s is already protected; use `synguard config %s KEY=VALUE...` to change it (or `synguard detach %s` first)",
		       iface, iface, iface);
		return -1;
	}
	if (orphans(ifindex)) {
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

	/*
	 * Before the programs load: it loads conntrack if it is a module not
	 * loaded yet, and the XDP program's conntrack lookups resolve only
	 * against a kernel that has it at load time.
	 */
	nf = sg_notrack_install(iface, ifindex);
	if (nf < 0)
		goto fail;
	u.notrack = nf > 0;

	base = skel_open(dir, false, NULL);
	if (!base)
		goto fail;
	/* The XDP object shares base's .rodata map, so one secret serves both. */
	if (getrandom((void *)base->rodata->sg_meta_secret,
		      sizeof(base->rodata->sg_meta_secret), 0) !=
	    sizeof(base->rodata->sg_meta_secret)) {
		sg_err("cannot draw the metadata secret: %s", sg_strerr(errno));
		goto fail;
	}
	base->rodata->sg_ct_enabled = nf > 0;
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
	if (write_maps(base, &a->s, key, &info, nf > 0 ? SG_NF_NOTRACK : 0,
		       &kinds.kind[SG_PK_LOCAL_NAT]))
		goto fail;

	/*
	 * TC before XDP: the TC program only acts on frames XDP marked, so it
	 * is harmless alone, while XDP alone would answer SYNs whose ACKs no
	 * handoff takes yet. XDP is the switch that turns protection on.
	 */
	err = tc_attach(iface, ifindex,
			bpf_program__fd(base->progs.synguard_tc), &info,
			&hook_created);
	u.tc_hook = hook_created;
	if (err)
		goto fail;
	u.tc_filter = true;
	/* Recorded at each step, so detach knows what a killed attach did. */
	if (info_write(base, &info))
		goto fail;

	xdp = skel_open(dir, true, base);
	if (!xdp)
		goto fail;
	err = xdp_attach(iface, ifindex, xdp, a->mode, &info);
	if (err == SG_XDP_RETRY_ALONE) {
		/* A failed load leaves the object unusable: open it again. */
		synguard__destroy(xdp);
		setenv(SG_SKIP_DISPATCHER, "1", 1);
		xdp = skel_open(dir, true, base);
		if (!xdp)
			goto fail;
		err = xdp_attach(iface, ifindex, xdp, a->mode, &info);
		if (!err)
			sg_warn("libxdp's dispatcher cannot run synguard on this kernel (it refuses an extension program that changes packet data in a dispatcher built by libxdp before 1.5): attached alone, so no other XDP program can share %s",
				iface);
	}
	if (err)
		goto fail;
	u.xdp = true;
	if (info_write(base, &info))
		goto fail;

	printf("%s: protected (%s XDP, %s program, XDP prog %u, TC prog %u); ports %s\n",
	       iface, mode_name(info.xdp_mode),
	       info.multiprog ? "libxdp dispatcher" : "single",
	       info.xdp_prog_id, info.tc_prog_id,
	       sg_ports_fmt(&a->s.ports, ports, sizeof(ports)));
	sg_notrack_name(ifindex, table, sizeof(table));
	if (nf > 0)
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
	__u8 key[SG_KEY_BYTES];
	int ifindex, rc;

	if (sg_require_root())
		return SG_EXIT_FAIL;
	if (a->key_file ? sg_key_file_read(a->key_file, key)
			: sg_key_random(key))
		return SG_EXIT_FAIL;
	if (sg_iface_check(a->iface, &ifindex) || sg_kfunc_check() ||
	    sg_bpffs_ready(true) < 0 || sg_lock(true))
		return SG_EXIT_FAIL;
	sg_block_signals();
	rc = do_attach(a->iface, ifindex, a, key, info);
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

/* ---- detach ---- */

const struct sg_cmd sg_cmd_detach = {
	.name = "detach",
	.run = cmd_detach,
	.args = "IFACE",
	.summary = "remove the protection from an interface",
	.opts = (const struct sg_opt[]){{NULL}},
	.doc = "Removes the XDP program, the TC filter, the clsact qdisc if attach created it\nand nothing else uses it, and every pin. Parts already gone are reported.",
};

/* Removes what is ours of XDP, TC and clsact, saying what it found. */
static int detach_programs(const char *iface, int ifindex,
			   const struct sg_info *info)
{
	__u32 id = info ? info->xdp_prog_id : 0, other, tc_id = 0;
	int err, left, rc = 0;

	err = xdp_detach(ifindex, &id, &other);
	if (err < 0) {
		sg_err("%s: cannot remove the XDP program: %s", iface,
		       sg_strerr(err));
		rc = -1;
	} else if (err) {
		printf("%s: XDP program %u removed\n", iface, id);
	} else if (other) {
		printf("%s: XDP program %u already gone (program %u, not synguard's, left in place)\n",
		       iface, id, other);
	} else {
		printf("%s: XDP program %u already gone\n", iface, id);
	}

	err = sg_tc_query(ifindex, &tc_id);
	if (err < 0) {
		sg_err("%s: cannot query the TC filter: %s", iface,
		       sg_strerr(err));
		rc = -1;
	} else if (!err) {
		printf("%s: TC filter already gone\n", iface);
	} else if (!tc_is_ours(tc_id, info)) {
		printf("%s: TC filter pref %u handle 0x%x runs program %u, not synguard's: left in place\n",
		       iface, SG_TC_PRIORITY, SG_TC_HANDLE, tc_id);
	} else if ((err = tc_detach(ifindex))) {
		sg_err("%s: cannot remove the TC filter: %s", iface,
		       sg_strerr(err));
		rc = -1;
	} else {
		printf("%s: TC filter (prog %u) removed\n", iface, tc_id);
	}

	if (rc)
		return rc;
	if (!info) {
		printf("%s: clsact qdisc left in place (without the attach record, whether synguard created it is unknown)\n",
		       iface);
		return 0;
	}
	if (!info->tc_hook_created)
		return 0; /* it was there before attach */
	left = tc_hook_remove(ifindex);
	if (left < 0 && left != -ENOENT && left != -EINVAL) {
		sg_err("%s: cannot remove the clsact qdisc: %s", iface,
		       sg_strerr(left));
		return -1;
	}
	if (left > 0)
		printf("%s: clsact qdisc kept: other filters use it\n", iface);
	else
		printf("%s: clsact qdisc removed\n", iface);
	return 0;
}

/* The nftables table attach made (named by the ifindex it had then). */
static int detach_notrack(const char *iface, int ifindex)
{
	char table[32];
	int rc;

	if (ifindex <= 0)
		return 0;
	sg_notrack_name(ifindex, table, sizeof(table));
	rc = sg_notrack_remove(ifindex);
	if (rc > 0)
		printf("%s: nftables table inet %s removed\n", iface, table);
	return rc < 0 ? -1 : 0;
}

int sg_detach(const char *iface)
{
	struct sg_info info = {};
	struct sg_pins p;
	bool have_info;
	int ifindex, n;

	if (sg_bpffs_ready(false) || sg_pins_open(iface, &p)) {
		ifindex = if_nametoindex(iface);
		if (!ifindex || !orphans(ifindex)) {
			sg_not_protected(iface);
			return SG_EXIT_FAIL;
		}
		sg_block_signals();
		printf("%s: nothing pinned, but synguard's programs are attached (their pins were lost): removing them\n",
		       iface);
		return detach_programs(iface, ifindex, NULL) ||
				       detach_notrack(iface, ifindex)
			       ? SG_EXIT_FAIL
			       : 0;
	}
	sg_block_signals();
	have_info = !sg_map_read(&p, SG_M_INFO, &info) && info.ifindex;
	sg_pins_close(&p);
	if (!have_info)
		printf("%s: %s/%s missing or empty: looking for synguard's programs by name\n",
		       iface, p.dir, sg_map_names[SG_M_INFO]);

	ifindex = if_nametoindex(iface);
	if (have_info && (__u32)ifindex != info.ifindex &&
	    sg_prog_alive(info.xdp_prog_id)) {
		sg_err("%s: not in this network namespace, but its synguard programs still run: it is in another one; run detach there, e.g. `nsenter --net=/run/netns/NAME synguard detach %s`",
		       iface, iface);
		return SG_EXIT_FAIL;
	}
	if (!ifindex) {
		printf("%s: interface gone: its XDP program and TC filter went with it\n",
		       iface);
	} else if (have_info && (__u32)ifindex != info.ifindex) {
		printf("%s: interface recreated (ifindex %u, now %d): its XDP program and TC filter went with the old one\n",
		       iface, info.ifindex, ifindex);
	} else if (detach_programs(iface, ifindex, have_info ? &info : NULL)) {
		sg_err("%s: pins kept so that detach can be run again", iface);
		return SG_EXIT_FAIL;
	}
	if (detach_notrack(iface, have_info ? (int)info.ifindex : ifindex)) {
		sg_err("%s: pins kept so that detach can be run again", iface);
		return SG_EXIT_FAIL;
	}

	n = sg_pins_remove(iface);
	if (n < 0)
		return SG_EXIT_FAIL;
	printf("%s: %d pins and %s removed\n", iface, n, p.dir);
	return 0;
}

static int cmd_detach(int argc, char **argv)
{
	const char *iface;
	int first, rc;

	rc = sg_parse_opts(&sg_cmd_detach, argc, argv, NULL, NULL, &first);
	if (rc)
		return rc;
	if (argc - first != 1) {
		sg_err("detach takes one interface");
		sg_usage_hint(&sg_cmd_detach);
		return SG_EXIT_USAGE;
	}
	iface = argv[first];
	if (sg_iface_check(iface, NULL))
		return SG_EXIT_USAGE;
	if (sg_require_root())
		return SG_EXIT_FAIL;
	if (sg_bpffs_ready(false) < 0 || sg_lock(true))
		return SG_EXIT_FAIL;
	return sg_detach(iface);
}
