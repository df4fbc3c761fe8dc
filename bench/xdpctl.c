// SPDX-License-Identifier: GPL-2.0
/*
 * xdpctl: attaches the benchmark's XDP programs (bench/bpf/xdpbench.bpf.c)
 * for bench/e2e.sh and reads their counters.
 *
 *   xdpctl attach IFACE count|reflect PINDIR [--local ADDR]... [--drop-foreign]
 *   xdpctl detach IFACE
 *   xdpctl read PINDIR
 *
 * The attachment outlives the process (netlink XDP attach); the counters map
 * is pinned in PINDIR so that `read` finds it later. Run it in the
 * interface's network namespace with `nsenter --net=...`, not `ip netns
 * exec`, which hides /sys/fs/bpf
 * (doc/design.md, "veth and network namespaces").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "bench.h"
#include "xdpbench.skel.h"

static const char *const names[] = {
#define X(name, str) str,
	XB_COUNTERS(X)
#undef X
};

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "xdpctl: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN || getenv("SG_BENCH_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static int cmd_attach(int argc, char **argv)
{
	const char *dev = argv[0], *what = argv[1], *dir = argv[2];
	struct xb_cfg cfg = {};
	struct bpf_program *prog;
	struct xdpbench *skel;
	char path[256];
	__u32 zero = 0;
	int ifindex, i, err, mode = XDP_FLAGS_DRV_MODE;

	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--drop-foreign")) {
			cfg.drop_foreign = 1;
		} else if (!strcmp(argv[i], "--skb")) {
			mode = XDP_FLAGS_SKB_MODE;
		} else if (!strcmp(argv[i], "--local") && i + 1 < argc) {
			i++;
			if (inet_pton(AF_INET, argv[i], &cfg.local4) != 1 &&
			    inet_pton(AF_INET6, argv[i], cfg.local6) != 1)
				return fail("--local %s: not an address",
					    argv[i]);
		} else {
			return fail("attach: unknown option %s", argv[i]);
		}
	}
	ifindex = if_nametoindex(dev);
	if (!ifindex)
		return fail("%s: no such interface here", dev);
	skel = xdpbench__open_and_load();
	if (!skel)
		return fail("cannot load bench/bpf/xdpbench.bpf.c: %s",
			    strerror(errno));
	if (!strcmp(what, "count"))
		prog = skel->progs.xb_count;
	else if (!strcmp(what, "reflect"))
		prog = skel->progs.xb_reflect;
	else
		return fail("attach: %s: want count or reflect", what);
	if (bpf_map__update_elem(skel->maps.xb_cfg, &zero, sizeof(zero), &cfg,
				 sizeof(cfg), BPF_ANY))
		return fail("cannot configure: %s", strerror(errno));
	if (mkdir(dir, 0700) && errno != EEXIST)
		return fail("%s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/xb_counters", dir);
	unlink(path);
	if (bpf_map__pin(skel->maps.xb_counters, path))
		return fail("cannot pin %s: %s (is bpffs mounted?)", path,
			    strerror(errno));
	err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), mode, NULL);
	if (err) {
		unlink(path);
		return fail("cannot attach %s to %s: %s", what, dev,
			    strerror(-err));
	}
	xdpbench__destroy(skel);
	return 0;
}

static int cmd_detach(const char *dev)
{
	int ifindex = if_nametoindex(dev), err;

	if (!ifindex)
		return fail("%s: no such interface here", dev);
	err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	return err ? fail("%s: detach: %s", dev, strerror(-err)) : 0;
}

static int cmd_read(const char *dir)
{
	int ncpus = libbpf_num_possible_cpus(), fd;
	char path[256];
	__u32 k;

	snprintf(path, sizeof(path), "%s/xb_counters", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return fail("%s: %s", path, strerror(errno));
	printf("{");
	for (k = 0; k < XB_CNT_MAX; k++) {
		__u64 vals[ncpus > 0 ? ncpus : 1], sum = 0;
		int c;

		if (bpf_map_lookup_elem(fd, &k, vals))
			return fail("%s: %s", path, strerror(errno));
		for (c = 0; c < ncpus; c++)
			sum += vals[c];
		printf("%s\"%s\": %llu", k ? ", " : "", names[k],
		       (unsigned long long)sum);
	}
	printf("}\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(quiet);
	if (argc >= 5 && !strcmp(argv[1], "attach"))
		return cmd_attach(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "detach"))
		return cmd_detach(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "read"))
		return cmd_read(argv[2]);
	fprintf(stderr, "usage: xdpctl attach IFACE count|reflect PINDIR "
			"[--local ADDR]... "
			"[--drop-foreign] [--skb]\n"
			"       xdpctl detach IFACE\n"
			"       xdpctl read PINDIR\n");
	return 2;
}
