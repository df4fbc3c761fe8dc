// SPDX-License-Identifier: GPL-2.0
/*
 * The TC half of a protected interface: the clsact hook and synguard's
 * ingress filter (the handoff), through libbpf's TC API, and netlink to
 * count the filters others left on the hook.
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

int sg_tc_attach(const char *iface, int ifindex, int prog_fd,
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

int sg_tc_detach(int ifindex)
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
int sg_tc_hook_remove(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int left = tc_filters_left(ifindex);

	if (left)
		return left;
	return bpf_tc_hook_destroy(&hook);
}
