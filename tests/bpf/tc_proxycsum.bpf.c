// SPDX-License-Identifier: GPL-2.0
/*
 * The unit tests' way into the TC checksum step of SYNPROXY for IPv6
 * (bpf/proxycsum.h). synguard_tc runs it only for frames whose XDP
 * metadata carries SG_META_F_PROXY, and BPF_PROG_TEST_RUN gives a TC
 * program no metadata; this program runs the same function on the frame
 * it is given, and returns what the skb says afterwards:
 * bpf_csum_level(BPF_CSUM_LEVEL_QUERY), the csum_level (0) once it is
 * CHECKSUM_UNNECESSARY, -EACCES while it is not. Its maps are its own,
 * the counters included: tests/unit/test_proxycsum.c reads them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "synguard.h"
#include "parse.h"
#include "cookie.h"
#include "common.h"
#include "csum.h"
#include "syncheck.h"
#include "proxycsum.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int tc_proxycsum(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sg_pkt p = {};
	struct tcphdr *th;

	if (sg_parse(data, data_end, &p) != SG_PARSE_TCP ||
	    !(th = sg_tcp(data, data_end, &p)))
		return -1;
	p.tcp_len = th->doff * 4;
	sg_proxy_csum(skb, &p);
	return bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY);
}
