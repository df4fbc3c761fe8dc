// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP half of a protected interface, through libxdp: attach (with its
 * dispatcher where it can take synguard, alone where it cannot), find and
 * detach synguard's program, and recognise programs left without pins.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "sg.h"
#include "synguard.skel.h"

const char *sg_xdp_mode_name(enum sg_xdp_mode m)
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

int sg_xdp_attach(const char *iface, int ifindex, struct synguard *skel,
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
			       iface, sg_xdp_mode_name(mode), sg_strerr(err),
			       sg_verbose
				       ? ""
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
int sg_xdp_detach(int ifindex, __u32 *id, __u32 *other)
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

/*
 * Without the attach record, our TC program is recognised by its name:
 * synguard_tc, or synguard_tc_proxy cut to the kernel's 15 characters.
 */
bool sg_tc_is_ours(__u32 tc_id, const struct sg_info *info)
{
	char name[BPF_OBJ_NAME_LEN];

	if (info)
		return tc_id == info->tc_prog_id;
	return !strncmp(prog_name(tc_id, name, sizeof(name)), SG_TC_PROG,
			strlen(SG_TC_PROG));
}

/*
 * synguard's programs on ifindex although nothing is pinned: the pins were
 * lost (bpffs unmounted, removed by hand, made inside `ip netns exec`).
 */
bool sg_orphans(int ifindex)
{
	enum sg_xdp_mode mode;
	bool multiprog;
	__u32 tc_id;

	return sg_xdp_attached(ifindex, 0, &multiprog, &mode) > 0 ||
	       sg_tc_query(ifindex, SG_TC_HOOK_TCX, NULL, &tc_id) > 0 ||
	       (sg_tc_query(ifindex, SG_TC_HOOK_CLSACT, NULL, &tc_id) > 0 &&
		sg_tc_is_ours(tc_id, NULL));
}
