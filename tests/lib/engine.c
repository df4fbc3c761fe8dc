// SPDX-License-Identifier: GPL-2.0
/*
 * What the unit tests and bench/prog_cost share to run an engine's program
 * as `synguard attach` would: the object opened with attach's settings,
 * and for the kernel engine the sysctls attach sets in the namespace
 * (bpf_tcp_gen_syncookie() makes a cookie only with tcp_syncookies=2, and
 * the options in the TSval need tcp_timestamps=2). Both run in a network
 * namespace of their own, with listeners (loopback.c): the kernel engine
 * answers a SYN only for a listener its socket lookup finds there.
 */
#include <errno.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "synguard.h"
#include "engine.h"

int write_sysctl(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -1;
	err = fputs(val, f) < 0;
	return fclose(f) || err ? -1 : 0;
}

static int kengine_sysctls(const char *val)
{
	if (write_sysctl("/proc/sys/net/ipv4/tcp_syncookies", val) ||
	    write_sysctl("/proc/sys/net/ipv4/tcp_timestamps", val))
		return -1;
	return 0;
}

int kengine_sysctls_set(void)
{
	return kengine_sysctls("2");
}

int kengine_sysctls_reset(void)
{
	return kengine_sysctls("1");
}

struct synguard *engine_open(int engine)
{
	struct synguard *sk = synguard__open();
	struct bpf_map *m;

	if (!sk)
		return NULL;
	sk->rodata->sg_ct_enabled = 1;
	sk->rodata->sg_engine = engine;
	/*
	 * As attach loads them with --synproxy nat: the kernel engine's TC
	 * program is then synguard_tc_proxy, which only serves SYNPROXY (the
	 * IPv6 checksum step and the hold tag; without the option attach
	 * loads XDP alone, a part of this).
	 */
	bpf_program__set_autoload(sk->progs.synguard_tc,
				  engine == SG_ENGINE_OWN);
	bpf_program__set_autoload(sk->progs.synguard_tc_proxy,
				  engine != SG_ENGINE_OWN);
	bpf_object__for_each_map (m, sk->obj)
		bpf_map__set_pin_path(m, NULL);
	return sk;
}
