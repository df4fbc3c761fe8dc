// SPDX-License-Identifier: GPL-2.0
/*
 * The TC half of a protected interface: synguard's ingress program (the
 * handoff) on a TCX link where the kernel has TCX (6.6+), else as a filter
 * on the clsact qdisc, through libbpf's TC API, with netlink to count the
 * filters others left on that qdisc.
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

/*
 * TCX's ABI values (Linux 6.6). Debian 12's uapi headers and its libbpf
 * (1.1) predate TCX, so the link is made and queried with the generic
 * bpf_link_create and bpf_prog_query, which pass these through.
 */
#define SG_BPF_TCX_INGRESS 46
#define SG_BPF_LINK_TYPE_TCX 11

/* Most programs looked at on one TCX hook; ours is one of them. */
#define TCX_MAX_PROGS 64

const char *sg_tc_hook_name(__u8 hook)
{
	return hook == SG_TC_HOOK_TCX ? "tcx" : "clsact";
}

/*
 * The programs at TCX ingress of ifindex, up to n: how many there are, or
 * -errno (-EINVAL: a kernel without TCX).
 */
static int tcx_progs(int ifindex, __u32 *ids, __u32 n)
{
	__u32 flags = 0, cnt = n;
	int err;

	err = bpf_prog_query(ifindex, SG_BPF_TCX_INGRESS, 0, &flags, ids, &cnt);
	/* ENOSPC: more than n; the first n are in ids. */
	if (err && errno != ENOSPC)
		return -errno;
	return cnt < n ? (int)cnt : (int)n;
}

static int tcx_query(int ifindex, const struct sg_info *info, __u32 *prog_id)
{
	__u32 ids[TCX_MAX_PROGS];
	int i, n;

	n = tcx_progs(ifindex, ids, TCX_MAX_PROGS);
	if (n == -EINVAL)
		return 0; /* no TCX in this kernel: nothing attached there */
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (sg_tc_is_ours(ids[i], info)) {
			*prog_id = ids[i];
			return 1;
		}
	}
	return 0;
}

/*
 * Detaches every TCX link that runs prog_id. The pin holds the one attach
 * made, but a process may hold another (or the pin be gone), and the
 * links are found by walking them all: libbpf 1.1's query cannot return
 * link ids. 0, or -errno (-ENOENT: none).
 */
static int tcx_detach(__u32 prog_id)
{
	struct bpf_link_info li;
	__u32 id = 0, len;
	int fd, found = 0, err = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue; /* gone since */
		memset(&li, 0, sizeof(li));
		len = sizeof(li);
		if (!bpf_obj_get_info_by_fd(fd, &li, &len) &&
		    li.type == SG_BPF_LINK_TYPE_TCX && li.prog_id == prog_id) {
			found++;
			if (bpf_link_detach(fd) && !err)
				err = -errno;
		}
		close(fd);
	}
	if (err)
		return err;
	return found ? 0 : -ENOENT;
}

static int tcx_attach(const char *iface, int ifindex, int prog_fd,
		      const char *dir)
{
	char path[512];
	int fd, err;

	fd = bpf_link_create(prog_fd, ifindex, SG_BPF_TCX_INGRESS, NULL);
	if (fd < 0) {
		err = -errno;
		sg_err("cannot attach the TC program to %s ingress (tcx): %s",
		       iface, sg_strerr(err));
		return err;
	}
	/*
	 * The pin keeps the link after we exit. Killed before it, the link
	 * goes with our descriptor: nothing is left behind.
	 */
	snprintf(path, sizeof(path), "%s/%s", dir, SG_TC_LINK_PIN);
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		sg_err("cannot pin the TC link of %s at %s: %s", iface, path,
		       sg_strerr(err));
		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

#define TC_HOOK(name, idx)                                                     \
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, name, .ifindex = (idx),               \
			    .attach_point = BPF_TC_INGRESS)

int sg_tc_query(int ifindex, __u8 hook_kind, const struct sg_info *info,
		__u32 *prog_id)
{
	TC_HOOK(hook, ifindex);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE,
			    .priority = SG_TC_PRIORITY);
	int err;

	if (hook_kind == SG_TC_HOOK_TCX)
		return tcx_query(ifindex, info, prog_id);
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

/* A kernel with TCX answers its query, also with nothing attached. */
static bool tcx_supported(int ifindex)
{
	__u32 id;

	return tcx_progs(ifindex, &id, 1) != -EINVAL;
}

static int clsact_attach(const char *iface, int ifindex, int prog_fd,
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
	info->tc_handle = SG_TC_HANDLE;
	info->tc_priority = SG_TC_PRIORITY;
	info->tc_hook_created = *hook_created;
	return 0;
}

int sg_tc_attach(const char *iface, int ifindex, int prog_fd, int hook,
		 const char *dir, struct sg_info *info, bool *hook_created)
{
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);
	int err;

	*hook_created = false;
	if (hook == SG_TC_HOOK_AUTO)
		hook = tcx_supported(ifindex) ? SG_TC_HOOK_TCX
					      : SG_TC_HOOK_CLSACT;
	else if (hook == SG_TC_HOOK_TCX && !tcx_supported(ifindex)) {
		sg_err("--tc-hook tcx: this kernel has no TCX (Linux 6.6 and later); use --tc-hook clsact or auto");
		return -EOPNOTSUPP;
	}
	err = bpf_obj_get_info_by_fd(prog_fd, &pi, &len);
	if (err) {
		err = -errno;
		sg_err("cannot read the TC program's id: %s", sg_strerr(err));
		return err;
	}
	err = hook == SG_TC_HOOK_TCX ? tcx_attach(iface, ifindex, prog_fd, dir)
				     : clsact_attach(iface, ifindex, prog_fd,
						     info, hook_created);
	if (err)
		return err;
	info->tc_hook = hook;
	info->tc_prog_id = pi.id;
	return 0;
}

int sg_tc_detach(int ifindex, __u8 hook, __u32 prog_id)
{
	TC_HOOK(tc_hook, ifindex);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE,
			    .priority = SG_TC_PRIORITY);

	if (hook == SG_TC_HOOK_TCX)
		return tcx_detach(prog_id);
	return bpf_tc_detach(&tc_hook, &opts);
}

/*
 * Removes the clsact qdisc that attach created, unless another filter was
 * put on it since: it is not ours alone any more. Returns the number of
 * filters left (0: removed), or -errno.
 */
int sg_tc_hook_remove(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int left = tc_filters_left(ifindex);

	if (left)
		return left;
	return bpf_tc_hook_destroy(&hook);
}
