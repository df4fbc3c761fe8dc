// SPDX-License-Identifier: GPL-2.0
/*
 * Packet samples (bpf/sample.h): with the mask 0 no frame is sampled; with
 * a kind's mask, a frame counted as one of its verdicts gives exactly one
 * sample, carrying that verdict and the frame's first bytes as they came
 * in, and frames of other kinds give none; a CPU sends at most `rate`
 * samples a second; a lease that ran out clears the mask.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "harness.h"

#define SA_MAX 64

static struct sg_pktsample sa_got[SA_MAX];
static int sa_n;

static int sa_collect(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size != sizeof(struct sg_pktsample))
		fail("a sample of %zu bytes, want %zu", size,
		     sizeof(struct sg_pktsample));
	else if (sa_n < SA_MAX)
		memcpy(&sa_got[sa_n], data, size);
	sa_n++;
	return 0;
}

static struct ring_buffer *sa_rb;

/* Everything in the ring now, into sa_got; returns how many. */
static int sa_drain(void)
{
	sa_n = 0;
	if (ring_buffer__consume(sa_rb) < 0)
		fail("ring_buffer__consume: %s", strerror(errno));
	return sa_n;
}

static __u64 sa_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * SG_NSEC_PER_SEC + ts.tv_nsec;
}

/* The reader's side: the mask, a rate and a lease of 10 s. */
static void sa_set(__u64 mask, __u32 rate)
{
	struct sg_sample_ctl *c = &skel->data_sample->sg_sample_ctl;

	c->lease_ns = sa_mono_ns() + 10 * SG_NSEC_PER_SEC;
	c->rate = rate;
	__atomic_store_n(&c->mask, mask, __ATOMIC_RELEASE);
}

static const __u64 sa_kind_syn = SG_CNT_BIT(SYNACK_SENT) |
				 SG_CNT_BIT(SYN_KERNEL_COOKIE) |
				 SG_CNT_BIT(SYN_PROXY_COOKIE);

/* Runs a frame; expects its verdict counter and then want samples. */
static void sa_case(const char *name, const uint8_t *in, int len, int verdict,
		    int counter, int want)
{
	struct run r;
	const struct sg_pktsample *s = &sa_got[0];
	__u32 cap;

	begin(name);
	sa_drain();
	if (len <= 0) {
		fail("test bug: pkt_build failed");
		goto out;
	}
	if (run_prog(in, len, &r))
		goto out;
	expect_verdict(&r, verdict);
	if (r.delta[counter] != 1)
		fail("counter %s moved by %llu, want 1", counter_names[counter],
		     (unsigned long long)r.delta[counter]);
	if (sa_drain() != want) {
		fail("%d samples, want %d", sa_n, want);
		goto out;
	}
	if (!want)
		goto out;
	cap = len < SG_SAMPLE_BYTES ? len : SG_SAMPLE_BYTES;
	if (s->counter != counter)
		fail("sample's counter %u (%s), want %s", s->counter,
		     s->counter < SG_CNT_MAX ? counter_names[s->counter] : "?",
		     counter_names[counter]);
	if (s->len != (__u32)len || s->cap_len != cap)
		fail("sample of %u bytes, %u captured; want %d and %u", s->len,
		     s->cap_len, len, cap);
	else
		expect_bytes(in, cap, s->data, s->cap_len);
	if ((int)s->cpu >= ncpus)
		fail("sample's CPU %u, only %d possible", s->cpu, ncpus);
	if (s->time_ns < r.tai_before - cfg.tai_offset_ns ||
	    s->time_ns > r.tai_after - cfg.tai_offset_ns)
		fail("sample's time %llu outside the run's [%llu, %llu]",
		     (unsigned long long)s->time_ns,
		     (unsigned long long)(r.tai_before - cfg.tai_offset_ns),
		     (unsigned long long)(r.tai_after - cfg.tai_offset_ns));
out:
	end();
}

static void sa_syn(struct pkt_spec *s, uint32_t seq, uint8_t src)
{
	pkt_spec_linux_syn(s, 4, seq);
	s->saddr[3] = src;
}

/* A random ACK (cookie_bad) with len bytes of payload. */
static int sa_ack(uint8_t *buf, int payload)
{
	static uint8_t data[1024];
	struct pkt_spec s;

	pkt_spec_init(&s, 4);
	s.tcp_flags = PKT_TCP_ACK;
	s.seq = 0x55555555;
	s.ack = 0x12345678;
	memset(data, 0xa5, sizeof(data));
	data[0] = 0x42;
	data[payload - 1 > 0 ? payload - 1 : 0] = 0x43;
	s.payload = data;
	s.payload_len = payload;
	return pkt_build(&s, buf, PKT_BUF_SIZE);
}

/* A burst of n random ACKs, each its own run; -1 if it took over 0.5 s. */
static int sa_burst(int n)
{
	uint8_t in[PKT_BUF_SIZE];
	__u64 t0 = sa_mono_ns();
	int len = sa_ack(in, 10), i;
	struct run r;

	for (i = 0; i < n; i++)
		if (run_prog(in, len, &r) || r.verdict != XDP_DROP)
			fail("run %d of the burst: verdict %d, want XDP_DROP",
			     i, r.verdict);
	return sa_mono_ns() - t0 > SG_NSEC_PER_SEC / 2 ? -1 : 0;
}

/* A burst of n sampled frames gives want samples. */
static void sa_rate_case(const char *name, int n, int want)
{
	int got;

	begin(name);
	if (sa_burst(n))
		fail("the burst took over 0.5 s: the machine is too busy to tell");
	else if ((got = sa_drain()) != want)
		fail("%d samples, want %d", got, want);
	end();
}

/* A ring nobody drains: each sample is in it or counted as lost. */
static void sa_full_ring(void)
{
	struct sg_sample_ctl *c = &skel->data_sample->sg_sample_ctl;
	const int n = 5000; /* the ring holds about 3600 */
	__u64 lost;
	int got;

	begin("a full ring: every sample is in it or counted as lost");
	usleep(1100000);
	__atomic_store_n(&c->lost, 0, __ATOMIC_RELEASE);
	sa_set(SG_CNT_BIT(COOKIE_BAD), n);
	sa_drain();
	sa_burst(n); /* the time it took does not matter here */
	got = sa_drain();
	lost = __atomic_load_n(&c->lost, __ATOMIC_ACQUIRE);
	if (!lost)
		fail("no sample lost: the ring held all %d", got);
	if ((__u64)got + lost != (__u64)n)
		fail("%d in the ring + %llu lost, want %d", got,
		     (unsigned long long)lost, n);
	end();
}

static void sa_rate(void)
{
	cpu_set_t old, one;

	/* A sample budget is per CPU: the whole test on one. */
	begin("rate 5: the test on one CPU");
	if (sched_getaffinity(0, sizeof(old), &old)) {
		fail("sched_getaffinity: %s", strerror(errno));
		end();
		return;
	}
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		fail("sched_setaffinity: %s", strerror(errno));
	end();
	/* A fresh window: the last one's start is over a second ago. */
	usleep(1100000);
	sa_set(SG_CNT_BIT(COOKIE_BAD), 5);
	sa_drain();
	sa_rate_case("rate 5: a burst of 8 sampled frames gives 5 samples", 8,
		     5);
	sa_rate_case("rate 5: 3 more in the same second give none", 3, 0);
	usleep(1100000);
	sa_rate_case("rate 5: a second later, a burst of 8 gives 5 again", 8,
		     5);
	sa_full_ring();
	sched_setaffinity(0, sizeof(old), &old);
}

static void sa_cases(void)
{
	const uint8_t deny[4] = TEST_DENY_NET;
	uint8_t in[PKT_BUF_SIZE], big[PKT_BUF_SIZE];
	struct sg_sample_ctl *c = &skel->data_sample->sg_sample_ctl;
	struct pkt_spec s;
	int len, blen;

	sa_syn(&s, 0x1000, 10);
	len = pkt_build(&s, in, sizeof(in));

	sa_set(0, 100);
	sa_case("mask 0: an answered SYN gives no sample", in, len, XDP_TX,
		SG_CNT_SYNACK_SENT, 0);

	sa_set(sa_kind_syn, 100);
	sa_case("kind syn: an answered SYN gives one sample, its own bytes", in,
		len, XDP_TX, SG_CNT_SYNACK_SENT, 1);
	len = sa_ack(in, 10);
	sa_case("kind syn: a random ACK gives none", in, len, XDP_DROP,
		SG_CNT_COOKIE_BAD, 0);

	sa_set(SG_CNT_BIT(COOKIE_BAD) | SG_CNT_BIT(COOKIE_EXPIRED), 100);
	sa_case("kind ack: a random ACK gives one sample", in, len, XDP_DROP,
		SG_CNT_COOKIE_BAD, 1);
	blen = sa_ack(big, 400);
	sa_case("kind ack: a 454-byte ACK gives its first 256 bytes", big, blen,
		XDP_DROP, SG_CNT_COOKIE_BAD, 1);
	sa_syn(&s, 0x2000, 11);
	len = pkt_build(&s, in, sizeof(in));
	sa_case("kind ack: an answered SYN gives none", in, len, XDP_TX,
		SG_CNT_SYNACK_SENT, 0);

	/* The deny list: 203.0.113.0/24. */
	put_deny_net(true);
	sa_set(SG_CNT_BIT(DENY_DROP), 100);
	sa_syn(&s, 0x3000, 12);
	memcpy(s.saddr, deny, 3);
	len = pkt_build(&s, in, sizeof(in));
	sa_case("kind denied: a SYN from the deny list gives one sample", in,
		len, XDP_DROP, SG_CNT_DENY_DROP, 1);
	sa_syn(&s, 0x3001, 13);
	len = pkt_build(&s, in, sizeof(in));
	sa_case("kind denied: a SYN from elsewhere gives none", in, len, XDP_TX,
		SG_CNT_SYNACK_SENT, 0);
	put_deny_net(false);

	/* SG_CNT_BIT(SYN_RECEIVED) is no verdict: never sampled. */
	sa_set(SG_CNT_BIT(SYN_RECEIVED), 100);
	sa_case("syn_received (no verdict) masked: an answered SYN gives none",
		in, len, XDP_TX, SG_CNT_SYNACK_SENT, 0);

	/* A reader that stopped renewing (killed): its mask goes. */
	sa_set(sa_kind_syn, 100);
	c->lease_ns = sa_mono_ns() - SG_NSEC_PER_SEC;
	sa_case("lease over: an answered SYN gives no sample", in, len, XDP_TX,
		SG_CNT_SYNACK_SENT, 0);
	begin("lease over: the program cleared the mask");
	if (__atomic_load_n(&c->mask, __ATOMIC_ACQUIRE))
		fail("mask %#llx, want 0", (unsigned long long)c->mask);
	end();

	sa_rate();
}

/*
 * The kinds against the counters: "dropped" is exactly the verdict
 * counters whose meaning says dropped (the Grafana dashboard draws the
 * same ones below its axis), "all" exactly the verdict counters, and each
 * narrower kind inside one of them.
 */
static void sa_kinds(void)
{
	static const char *const help[SG_CNT_MAX] = {
#define SG_X_HELP(name, str, h) [SG_CNT_##name] = h,
		SG_COUNTERS(SG_X_HELP)
#undef SG_X_HELP
	};
	static const struct {
		const char *name;
		__u64 mask;
	} kinds[] = {
#define SG_X_KIND(name, mask, h) {name, mask},
		SG_SAMPLE_KINDS(SG_X_KIND)
#undef SG_X_KIND
	};
	__u64 dropped = 0, all = 0, k_dropped = 0, k_all = 0;
	size_t i;
	int c;

	begin("the kinds: dropped and all are what the counters say");
	for (c = 0; c < SG_CNT_MAX; c++) {
		if (!SG_CNT_IS_XDP_VERDICT(c))
			continue;
		all |= 1ULL << c;
		if (strstr(help[c], "dropped"))
			dropped |= 1ULL << c;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(kinds[i].name, "dropped"))
			k_dropped = kinds[i].mask;
		if (!strcmp(kinds[i].name, "all"))
			k_all = kinds[i].mask;
	}
	if (k_dropped != dropped)
		fail("dropped is %#llx, the counters that say dropped %#llx",
		     (unsigned long long)k_dropped,
		     (unsigned long long)dropped);
	if (k_all != all)
		fail("all is %#llx, the verdict counters %#llx",
		     (unsigned long long)k_all, (unsigned long long)all);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].mask & ~all)
			fail("kind %s holds counters that are no XDP verdict",
			     kinds[i].name);
	end();
}

void test_sample(void)
{
	sa_kinds();
	begin("the ring buffer opens");
	sa_rb = ring_buffer__new(bpf_map__fd(skel->maps.sg_samples), sa_collect,
				 NULL, NULL);
	if (!sa_rb)
		fail("ring_buffer__new: %s", strerror(errno));
	end();
	if (sa_rb)
		sa_cases();
	sa_set(0, 0);
	ring_buffer__free(sa_rb);
	sa_rb = NULL;
}
