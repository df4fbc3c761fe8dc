/* SPDX-License-Identifier: GPL-2.0 */
/* The program of an engine, loaded as attach loads it: see engine.c. */
#ifndef SG_TESTS_ENGINE_H
#define SG_TESTS_ENGINE_H

#include "synguard.skel.h"

/* Writes val to the sysctl file at path; 0 or -1 with errno. */
int write_sysctl(const char *path, const char *val);

/*
 * The current network namespace's sysctls as attach sets them for the
 * kernel engine (tcp_syncookies and tcp_timestamps at 2), and back to the
 * kernel's defaults (both 1). 0 or -1 with errno.
 */
int kengine_sysctls_set(void);
int kengine_sysctls_reset(void);

/*
 * The skeleton opened for an engine (enum sg_engine) with the settings
 * attach gives it before the load: the engine, the conntrack lookup on (a
 * host with conntrack, as this one), the TC program only for the own
 * engine; and no pinning, so that nothing touches bpffs. Not loaded yet:
 * the caller may set more, then synguard__load(). NULL with errno.
 */
struct synguard *engine_open(int engine);

#endif /* SG_TESTS_ENGINE_H */
