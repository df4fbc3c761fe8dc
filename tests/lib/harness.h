/* SPDX-License-Identifier: GPL-2.0 */
/* The unit-test harness: see harness.c. */
#ifndef SG_TESTS_HARNESS_H
#define SG_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>

#include "synguard.h"
#include "synguard.skel.h"
#include "pkt.h"
#include "ref.h"
#include "loopback.h"
#include "engine.h"

#define OUT_CAP 4096
/* sg_meta_secret of the unit tests' load (attach draws a random one). */
#define TEST_META_SECRET0 0x5347a5a5u
#define TEST_META_SECRET1 0x0badcafeu
#define CNT_END (-1) /* ends the counter lists of expect_counters() */

extern struct synguard *skel;
extern int prog_fd, ncpus;
extern int passed, failed, skipped, case_errors;
extern struct sg_config cfg; /* what put_config() writes */
extern struct sg_keys keys;  /* what put_keys() writes */
extern const char *const counter_names[];

struct run {
	int verdict;
	uint8_t out[OUT_CAP];
	__u32 out_len;
	__u64 delta[SG_CNT_MAX];
	/* The SG clock the program can have read: from before the run,
	 * less its lag (SG_CLOCK_LAG_NS), to after it. */
	uint64_t tai_before, tai_after;
};

void fail(const char *fmt, ...);
void begin(const char *name);
void end(void);
void put_config(void);
void config_defaults(void);
void put_keys(void);
/* Sets cookies auto's engaged state (the rest of sg_state stays). */
void state_engaged(int engaged);
void put_ports(const int *ports, int n);
/* With on, 203.0.113.0/24 (TEST_DENY_NET) is the deny list, written to
 * sg_deny4 and cfg.lists; without, the list is empty again. */
#define TEST_DENY_NET {203, 0, 113, 0}
void put_deny_net(bool on);
/* SG_PORT_* bit on exactly these ports; put_ports sets the protected one.
 * Each keeps the other bits of the port map. */
void put_port_bits(__u8 bit, const int *ports, int n);
void read_counters(__u64 *out);
void key_bytes(uint8_t out[16], unsigned int slot);
void random_key(unsigned int slot);
int run_prog(const uint8_t *in, size_t len, struct run *r);
void expect_counters(const struct run *r, ...);
void expect_verdict(const struct run *r, int want);
void expect_bytes(const uint8_t *want, size_t wlen, const uint8_t *got,
		  size_t glen);
void untouched2(const char *name, const uint8_t *in, size_t len, int verdict,
		int c1, int c2);
void expect_untouched(const char *name, const uint8_t *in, size_t len,
		      int verdict, int counter);
void spec_untouched2(const char *name, const struct pkt_spec *s, int verdict,
		     int c1, int c2);
void expect_spec_untouched(const char *name, const struct pkt_spec *s,
			   int verdict, int counter);
void expect_syn_untouched(const char *name, const struct pkt_spec *s,
			  int counter);
void check_ack(const char *name, const struct pkt_spec *ack, int verdict,
	       int counter);
void check_ack_dropped(const char *name, const struct pkt_spec *ack,
		       int counter);
void forged_ack(int family, struct pkt_spec *ack, uint32_t counter,
		unsigned int slot, const uint8_t key[16], uint8_t data);
void forged_ack_ts(int family, struct pkt_spec *ack, uint64_t sg_ns,
		   unsigned int slot, const uint8_t key[16], uint8_t opts);
/*
 * Moves the SG clock (cfg.tai_offset_ns, written) so that it now stands
 * in_period ns into the current time period; returns it. A test of ages
 * then does not depend on where in a period the wall clock is.
 */
uint64_t sg_clock_at(uint64_t in_period);
int setup(void);
/* The object loaded for an engine (enum sg_engine), as attach loads it;
 * NULL after a message. */
struct synguard *load_engine(int engine);
/* Has the running kernel the own engine's kfunc (Linux 6.9+)? */
bool kernel_has_kfunc(void);

/* Test groups in other files. */
void test_limits(void);
void test_parity(void);
void test_forgery(void);
void test_kernel_engine(void);
void test_proxy_early(void);
void test_monitor(void);
/* test_kengine.c: body run with the kernel engine loaded, as attach
 * loads it (tcp_syncookies=2, tcp_timestamps=2), ports protected. */
void with_kernel_engine(const int *ports, int nports, void (*body)(void));
void test_synproxy_ports(void);
void test_proxy_csum(void);
void test_port_map(void);
void test_sample(void);

#endif /* SG_TESTS_HARNESS_H */
