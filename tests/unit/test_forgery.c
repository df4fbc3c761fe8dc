// SPDX-License-Identifier: GPL-2.0
/*
 * Cookie strength, measured: random ACKs through the real program while
 * cookies are going out, counting how many it accepts, against the bound
 * the format gives (include/synguard.h; doc/design.md, "Forging a cookie").
 *
 * The program is put in its weakest state: both key slots hold a key, and
 * a window scale change is recent, so a cookie failing with the current
 * scale is tried with the previous one too. Half the ACKs carry no
 * timestamp option (checked as cookies without timestamps: at most
 * 2^-24 each in this state), half carry one whose TSecr is random or dated
 * inside the accepted window with random key and option bits (2^-31 each).
 * Addresses, ports, sequence and ack numbers are random. The count of
 * accepted ACKs must stay within what the bound times N allows by chance
 * (a Poisson tail of 10^-5); every ACK must have reached the cookie check (counted as
 * cookie_ok, cookie_bad or cookie_expired), and a genuine cookie of each
 * variant, sent every so often, must pass.
 *
 * SG_FORGERY_N sets N (default 10^6, 4 to 9 s here); `make test-forgery`
 * runs 10^7 (36 to 79 s here, with the load of the machine).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "harness.h"

#define FORGERY_N_DEFAULT 1000000ULL
/* A genuine cookie ACK of each variant once in this many random ones. */
#define CONTROL_EVERY 65536

static uint64_t rng_state;

/* splitmix64: fast, and reproducible from the seed the test prints. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* One ACK template: the frame and where its variable fields are. */
struct tmpl {
	uint8_t buf[PKT_BUF_SIZE];
	int len, family, ts;
	struct pkt_offs off;
};

static int tmpl_init(struct tmpl *t, int family, int ts)
{
	struct pkt_spec s;

	pkt_spec_init(&s, family);
	s.tcp_flags = PKT_TCP_ACK;
	s.tcp_opts_len = 0;
	if (ts) {
		pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
		pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
		pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 1, 1);
	}
	t->family = family;
	t->ts = ts;
	t->len = pkt_build(&s, t->buf, sizeof(t->buf));
	return t->len < 0 || pkt_offsets(t->buf, t->len, &t->off) ? -1 : 0;
}

/*
 * A random ACK from t. The client address stays in documentation space:
 * its last byte (IPv4, a /24 of the templates' 192.0.2.0/24) or its
 * interface ID (IPv6, the templates' /64 of 2001:db8::/32) is random.
 */
static void randomize(struct tmpl *t, uint64_t now, unsigned int lifetime)
{
	uint8_t *l3 = t->buf + t->off.l3_off, *th = t->buf + t->off.l4_off;
	uint64_t r = rnd(), r2 = rnd();

	if (t->family == 4)
		l3[15] = (uint8_t)r; /* 198.51.100.x */
	else
		memcpy(l3 + 16, &r2, 8); /* 2001:db8::/64, any host */
	th[0] = (uint8_t)(r >> 8);
	th[1] = (uint8_t)(r >> 16);
	/* Either protected port: 80 or 443 (0x01bb). */
	th[2] = (r >> 24) & 1 ? 0 : 0x01;
	th[3] = (r >> 24) & 1 ? 80 : 0xbb;
	put_be32(th + 4, (uint32_t)(r >> 32)); /* seq: the client's ISN + 1 */
	put_be32(th + 8, (uint32_t)rnd());     /* ack: the cookie + 1 */
	if (t->ts) {
		uint64_t x = rnd();
		uint32_t tsecr = (uint32_t)(x >> 32), unit;
		/* Half random, half dated within what the program accepts
		 * (lifetime back, skew ahead, one unit either side). */
		uint32_t span =
			(uint32_t)(((uint64_t)lifetime * 1000000000ULL) >>
				   SG_TS_UNIT_SHIFT) +
			(1u << (SG_SKEW_SHIFT - SG_TS_UNIT_SHIFT)) + 4;

		if (x & 1) {
			unit = (uint32_t)(now >> SG_TS_UNIT_SHIFT) +
			       (1u << (SG_SKEW_SHIFT - SG_TS_UNIT_SHIFT)) + 2 -
			       (uint32_t)((x >> 1) % span);
			tsecr = unit << SG_TS_TIME_SHIFT |
				(tsecr & ((1u << SG_TS_TIME_SHIFT) - 1));
		}
		put_be32(th + 24, (uint32_t)r2); /* TSval: the client's */
		put_be32(th + 28, tsecr);
	}
	pkt_fix_csums(t->buf, t->len);
}

/* e^-x for 0 <= x <= 50, by the series of e^x: no libm for one call. */
static double exp_neg(double x)
{
	double term = 1, sum = 1;
	int i;

	for (i = 1; i < 200; i++) {
		term *= x / i;
		sum += term;
	}
	return 1 / sum;
}

/*
 * The most accepted ACKs a sound cookie allows: the smallest k with
 * P(X > k) <= SG_FORGERY_TAIL for X ~ Poisson(mean). Mean + 3 sigma would
 * fail a sound cookie whenever one ACK of 10^6 got through (mean 0.03:
 * about one run in 30), too often for a test that must fail only for a
 * reason; this tail makes that one run in 10^5.
 */
#define SG_FORGERY_TAIL 1e-5
static unsigned long long poisson_limit(double mean)
{
	double p = exp_neg(mean), cdf = p;
	unsigned long long k = 0;

	while (1 - cdf > SG_FORGERY_TAIL && k < 100000) {
		k++;
		p *= mean / k;
		cdf += p;
	}
	return k;
}

/* Sends one frame; returns its verdict, or -1. */
static int run_one(const uint8_t *buf, int len)
{
	if (len < 0)
		return -1;
	static uint8_t out[OUT_CAP];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf,
		    .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -1;
	return opts.retval;
}

/* A genuine cookie ACK of each variant passes (the path is live). */
static int controls(uint64_t now, int *bad)
{
	const uint8_t d = ref_cookie_data(4, 1, 1460, 1, 1, 8);
	const uint8_t o = ref_ts_opts(4, 1, 1460, 1, 0, 1, 7);
	uint8_t key[16], buf[PKT_BUF_SIZE];
	struct pkt_spec ack;
	unsigned int slot = rnd() & 1;

	key_bytes(key, slot);
	forged_ack(4, &ack, (uint32_t)(now >> SG_PERIOD_SHIFT), slot, key, d);
	*bad += run_one(buf, pkt_build(&ack, buf, sizeof(buf))) != XDP_PASS;
	forged_ack_ts(6, &ack, now, slot, key, o);
	*bad += run_one(buf, pkt_build(&ack, buf, sizeof(buf))) != XDP_PASS;
	return 2;
}

void test_forgery(void)
{
	const char *env = getenv("SG_FORGERY_N");
	uint64_t n = env ? strtoull(env, NULL, 10) : FORGERY_N_DEFAULT;
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	uint64_t i, sent[2] = {0, 0}, now, seed, accepted, checked;
	struct tmpl t[4];
	struct timespec t0, t1;
	unsigned long long limit;
	double bound, secs;
	int k, len, nctl = 0, bad_ctl = 0, errors = 0;
	uint8_t in[PKT_BUF_SIZE];
	struct pkt_spec s;
	struct run r;

	begin("forgery: random ACKs accepted within the format's bound");
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		fail("getrandom");
	rng_state = seed;
	/* Both keys valid; a wscale change within its window (7 -> 9). */
	random_key(!keys.current);
	put_keys();
	cfg.wscale_prev = 7;
	cfg.wscale = 9;
	cfg.wscale_changed_ns = ref_tai_ns();
	put_config();
	/* Cookies are going out: a SYN-ACK opens the gate. */
	pkt_spec_init(&s, 4);
	len = pkt_build(&s, in, sizeof(in));
	if (len < 0 || run_prog(in, len, &r) || r.verdict != XDP_TX)
		fail("no SYN-ACK to open the gate");
	for (k = 0; k < 4; k++)
		if (tmpl_init(&t[k], k & 1 ? 6 : 4, k >> 1))
			fail("test bug: template %d", k);
	if (case_errors) {
		end();
		config_defaults();
		return;
	}

	read_counters(before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	now = ref_tai_ns();
	for (i = 0; i < n; i++) {
		struct tmpl *tp = &t[i & 3];

		if (!(i & 0xffff))
			now = ref_tai_ns();
		randomize(tp, now, cfg.cookie_lifetime);
		if (run_one(tp->buf, tp->len) < 0)
			errors++;
		sent[tp->ts]++;
		if (i % CONTROL_EVERY == CONTROL_EVERY / 2)
			nctl += controls(now, &bad_ctl);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	read_counters(after);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	/* Accepted random ACKs: all cookie_ok but the controls'. */
	accepted = after[SG_CNT_COOKIE_OK] - before[SG_CNT_COOKIE_OK] -
		   (nctl - bad_ctl);
	checked = after[SG_CNT_COOKIE_OK] - before[SG_CNT_COOKIE_OK] +
		  after[SG_CNT_COOKIE_BAD] - before[SG_CNT_COOKIE_BAD] +
		  after[SG_CNT_COOKIE_EXPIRED] - before[SG_CNT_COOKIE_EXPIRED];
	/*
	 * The bound in this state: without timestamps 2 periods x 2 keys x
	 * 2 scales x 2^5 data values in 2^32 = 2^-24; with timestamps 2
	 * scales x 2^-32 = 2^-31.
	 */
	bound = sent[0] / 16777216.0 + sent[1] / 2147483648.0;
	limit = poisson_limit(bound);
	printf("    forgery: seed %#llx, N %llu (%llu without timestamps, %llu with), %.1f s (%.2f us an ACK), accepted %llu, bound %.3f, allowed %llu (Poisson tail 1e-5); old format (2^-20) would expect %.1f\n",
	       (unsigned long long)seed, (unsigned long long)n,
	       (unsigned long long)sent[0], (unsigned long long)sent[1], secs,
	       secs * 1e6 / (double)(n ? n : 1), (unsigned long long)accepted,
	       bound, limit, n / 1048576.0);
	if (errors)
		fail("%d runs of the program failed", errors);
	if (bad_ctl)
		fail("%d of %d genuine cookie ACKs refused", bad_ctl, nctl);
	if (checked != n + nctl)
		fail("%llu ACKs reached the cookie check, want %llu",
		     (unsigned long long)checked,
		     (unsigned long long)(n + nctl));
	if (accepted > limit)
		fail("%llu random ACKs accepted, bound %.3f, at most %llu by chance",
		     (unsigned long long)accepted, bound, limit);
	end();
	keys.valid[!keys.current] = 0;
	put_keys();
	config_defaults();
}
