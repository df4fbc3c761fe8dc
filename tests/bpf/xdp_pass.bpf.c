// SPDX-License-Identifier: GPL-2.0
/*
 * XDP_PASS for the client end of a test veth pair. veth delivers frames that
 * the other end sends with XDP_TX only when this end has an XDP program of
 * its own (doc/design.md, "veth and network namespaces").
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
