// SPDX-License-Identifier: GPL-2.0
/*
 * detach: take synguard off an interface (XDP, the TC program and clsact
 * if ours, the nftables table, the sysctls the kernel engine set, the
 * pins), also when its pins or the interface are gone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static int cmd_detach(int argc, char **argv);

const struct sg_cmd sg_cmd_detach = {
	.name = "detach",
	.run = cmd_detach,
	.args = "IFACE",
	.summary = "remove the protection from an interface",
	.opts = (const struct sg_opt[]){{NULL}},
	.doc = "First lets the handshakes in flight finish: new SYNs pass to the kernel until\n2 s after the last cookie SYN-ACK (at once if none went out lately). Then\nremoves the XDP program, the TC program (its TCX link, or its filter and the\nclsact qdisc if attach created it and nothing else uses it), and every pin.\nParts already gone are reported.\nThe kernel engine's net.ipv4.tcp_syncookies and tcp_timestamps go back to what\nthey were before attach.",
};

/*
 * synguard's TC program on hook, removed if there, saying what it found.
 * Without info (or a record from before the TC program was attached),
 * ours is recognised by its name. 0, or -1 after a message.
 */
static int detach_tc(const char *iface, int ifindex, __u8 hook,
		     const struct sg_info *info)
{
	const char *h = sg_tc_hook_name(hook);
	__u32 tc_id = 0;
	int err;

	err = sg_tc_query(ifindex, hook, info, &tc_id);
	if (err < 0) {
		sg_err("%s: cannot query the TC program (%s): %s", iface, h,
		       sg_strerr(err));
		return -1;
	}
	if (!err) {
		/* Without the record, say only what was found. */
		if (info)
			printf("%s: TC program already gone (%s)\n", iface, h);
		return 0;
	}
	if (!sg_tc_is_ours(tc_id, info)) {
		printf("%s: TC filter pref %u handle 0x%x runs program %u, not synguard's: left in place\n",
		       iface, SG_TC_PRIORITY, SG_TC_HANDLE, tc_id);
		return 0;
	}
	err = sg_tc_detach(ifindex, hook, tc_id);
	if (err) {
		sg_err("%s: cannot remove the TC program %u (%s): %s", iface,
		       tc_id, h, sg_strerr(err));
		return -1;
	}
	printf("%s: TC program %u removed (%s)\n", iface, tc_id, h);
	return 0;
}

/* Removes what is ours of XDP, TC and clsact, saying what it found. */
static int detach_programs(const char *iface, int ifindex,
			   const struct sg_info *info)
{
	__u32 id = info ? info->xdp_prog_id : 0, other;
	const struct sg_info *tci;
	int err, left, rc = 0;

	err = sg_xdp_detach(ifindex, &id, &other);
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

	if (info && !sg_engine_has_tc(info))
		return rc; /* attach put nothing on TC */
	/*
	 * An attach killed before it recorded its TC program left its id 0:
	 * then ours is known by name, on either hook.
	 */
	tci = info && info->tc_prog_id ? info : NULL;
	if (tci) {
		if (detach_tc(iface, ifindex, tci->tc_hook, tci))
			rc = -1;
	} else {
		if (detach_tc(iface, ifindex, SG_TC_HOOK_TCX, NULL) ||
		    detach_tc(iface, ifindex, SG_TC_HOOK_CLSACT, NULL))
			rc = -1;
	}

	if (rc)
		return rc;
	if (!info) {
		printf("%s: a clsact qdisc, if any, left in place (without the attach record, whether synguard created it is unknown)\n",
		       iface);
		return 0;
	}
	if (!info->tc_hook_created)
		return 0; /* it was there before attach, or TCX: none */
	left = sg_tc_hook_remove(ifindex);
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

/*
 * Before the programs go (doc/design.md, "Detach drains"): a handshake
 * whose SYN-ACK synguard sent has a cookie only the TC handoff takes (or,
 * for a --synproxy or --gateway port, SYNPROXY through our table's rule),
 * so its ACK would reach a kernel that resets it. New SYNs pass to the kernel
 * from here (syn_detach_pass), and the programs stay until the ACKs of the
 * SYN-ACKs already sent are back. Best effort: a map that cannot be read
 * or written only costs the wait.
 */
static void drain(const char *iface, const struct sg_pins *p)
{
	struct sg_config cfg;
	struct sg_state st;
	struct timespec ts;
	__s64 left;

	/* Monitor mode: no SYN-ACK went out, no handshake waits on us. */
	if (sg_map_read(p, SG_M_CONFIG, &cfg) || cfg.monitor)
		return;
	cfg.draining = 1;
	/* The state after the switch: no SYN-ACK goes out past it. */
	if (sg_map_write(p, SG_M_CONFIG, &cfg) ||
	    sg_map_read(p, SG_M_STATE, &st) || !st.synack_ns)
		return;
	left = (__s64)(st.synack_ns + SG_DRAIN_NS) - (__s64)sg_clock_ns();
	if (left <= 0)
		return;
	if (left > (__s64)SG_DRAIN_NS) /* the clock stepped back */
		left = SG_DRAIN_NS;
	printf("%s: draining for %lld ms: new SYNs pass to the kernel while the ACKs of the SYN-ACKs already sent come back\n",
	       iface, (long long)(left / 1000000));
	fflush(stdout);
	ts.tv_sec = left / SG_NSEC_PER_SEC;
	ts.tv_nsec = left % SG_NSEC_PER_SEC;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int sg_detach(const char *iface)
{
	struct sg_info info = {};
	struct sg_pins p;
	bool have_info;
	int ifindex, n;

	if (sg_bpffs_ready(false) || sg_pins_open(iface, &p)) {
		ifindex = if_nametoindex(iface);
		if (!ifindex || !sg_orphans(ifindex)) {
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
	ifindex = if_nametoindex(iface);
	/* The own engine's cookies need its handoff, and SYNPROXY's (either
	 * engine) the rules of our table, which go with the programs; the
	 * kernel takes the kernel engine's own cookies itself. */
	if (have_info && (info.engine == SG_ENGINE_OWN || info.synproxy) &&
	    (__u32)ifindex == info.ifindex && sg_prog_alive(info.xdp_prog_id))
		drain(iface, &p);
	sg_pins_close(&p);
	if (!have_info)
		printf("%s: %s/%s missing or empty: looking for synguard's programs by name\n",
		       iface, p.dir, sg_map_names[SG_M_INFO]);

	if (have_info && (__u32)ifindex != info.ifindex &&
	    sg_prog_alive(info.xdp_prog_id)) {
		sg_err("%s: not in this network namespace, but its synguard programs still run: it is in another one; run detach there, e.g. `nsenter --net=/run/netns/NAME synguard detach %s`",
		       iface, iface);
		return SG_EXIT_FAIL;
	}
	if (!ifindex) {
		printf("%s: interface gone: its XDP and TC programs went with it\n",
		       iface);
	} else if (have_info && (__u32)ifindex != info.ifindex) {
		printf("%s: interface recreated (ifindex %u, now %d): its XDP and TC programs went with the old one\n",
		       iface, info.ifindex, ifindex);
	} else if (detach_programs(iface, ifindex, have_info ? &info : NULL)) {
		sg_err("%s: pins kept so that detach can be run again", iface);
		return SG_EXIT_FAIL;
	}
	if (detach_notrack(iface, have_info ? (int)info.ifindex : ifindex)) {
		sg_err("%s: pins kept so that detach can be run again", iface);
		return SG_EXIT_FAIL;
	}

	/* The kernel engine's sysctls, as they were before attach. */
	if (have_info && sg_engine_sysctls_release(iface, &info)) {
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
