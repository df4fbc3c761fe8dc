// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the limits: allow and deny lists, per-source token buckets
 * (with prefix aggregation and a bounded table), and cookies auto with its
 * hysteresis. Time is real: the tests sleep, and bound counts generously,
 * never durations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "harness.h"

static void v4(struct pkt_spec *s, int a, int b, int c, int d)
{
	s->saddr[0] = a;
	s->saddr[1] = b;
	s->saddr[2] = c;
	s->saddr[3] = d;
}

/* Which bit of cfg.lists a trie has, as the CLI keeps them. */
static __u8 list_bit(struct bpf_map *map)
{
	if (map == skel->maps.sg_allow4)
		return SG_LISTS_ALLOW4;
	if (map == skel->maps.sg_allow6)
		return SG_LISTS_ALLOW6;
	if (map == skel->maps.sg_deny4)
		return SG_LISTS_DENY4;
	return SG_LISTS_DENY6;
}

static void list_add(struct bpf_map *map, int family, const uint8_t *addr,
		     int prefix)
{
	__u32 val = prefix;
	int err;

	if (family == 4) {
		struct sg_lpm4 k = { .prefixlen = prefix };

		memcpy(k.addr, addr, 4);
		err = bpf_map__update_elem(map, &k, sizeof(k), &val,
					   sizeof(val), BPF_ANY);
	} else {
		struct sg_lpm6 k = { .prefixlen = prefix };

		memcpy(k.addr, addr, 16);
		err = bpf_map__update_elem(map, &k, sizeof(k), &val,
					   sizeof(val), BPF_ANY);
	}
	if (err)
		fail("list update: %s", strerror(errno));
	cfg.lists |= list_bit(map);
	put_config();
}

static void list_flush(struct bpf_map *map)
{
	uint8_t key[32];

	while (!bpf_map__get_next_key(map, NULL, key, bpf_map__key_size(map)))
		if (bpf_map__delete_elem(map, key, bpf_map__key_size(map), 0)) {
			fail("list delete: %s", strerror(errno));
			break;
		}
	cfg.lists &= ~list_bit(map);
	put_config();
}

static void syn_v4(struct pkt_spec *s, int a, int b, int c, int d)
{
	pkt_spec_init(s, 4);
	v4(s, a, b, c, d);
}

static void test_lists(void)
{
	const uint8_t net24[4] = { 192, 0, 2, 0 }, host[4] = { 192, 0, 2, 1 };
	const uint8_t net2[4] = { 198, 51, 100, 0 };
	const uint8_t db8[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct pkt_spec s;
	struct run r;
	uint8_t in[PKT_BUF_SIZE];
	int len, i;

	list_add(skel->maps.sg_deny4, 4, net24, 24);
	cfg.lists = 0;
	put_config();
	syn_v4(&s, 192, 0, 2, 9);
	len = pkt_build(&s, in, sizeof(in));
	begin("deny entry but its cfg.lists bit clear -> SYN answered");
	if (!run_prog(in, len, &r)) {
		expect_verdict(&r, XDP_TX);
		expect_counters(&r, SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT,
				CNT_END);
	}
	end();
	cfg.lists = SG_LISTS_DENY4;
	put_config();
	syn_v4(&s, 192, 0, 2, 9);
	expect_spec_untouched("deny 192.0.2.0/24: SYN from 192.0.2.9 -> drop",
			      &s, XDP_DROP, SG_CNT_DENY_DROP);
	syn_v4(&s, 192, 0, 2, 9);
	s.tcp_flags = PKT_TCP_ACK;
	expect_spec_untouched("deny: ACK from 192.0.2.9 -> drop", &s, XDP_DROP,
			      SG_CNT_DENY_DROP);
	syn_v4(&s, 192, 0, 2, 9);
	s.dport = 22;
	expect_spec_untouched("deny: only protected ports are filtered", &s,
			      XDP_PASS, SG_CNT_OTHER_PASS);

	/* The longer prefix wins: one host allowed inside a denied /24. */
	list_add(skel->maps.sg_allow4, 4, host, 32);
	syn_v4(&s, 192, 0, 2, 1);
	spec_untouched2("allow 192.0.2.1/32 inside the denied /24 -> kernel", &s,
			XDP_PASS, SG_CNT_SYN_RECEIVED, SG_CNT_SYN_ALLOW_PASS);
	syn_v4(&s, 192, 0, 2, 2);
	expect_spec_untouched("its neighbour 192.0.2.2 -> still denied", &s,
			      XDP_DROP, SG_CNT_DENY_DROP);

	/* Equal prefixes: deny wins. */
	list_add(skel->maps.sg_allow4, 4, net2, 24);
	list_add(skel->maps.sg_deny4, 4, net2, 24);
	syn_v4(&s, 198, 51, 100, 7);
	expect_spec_untouched("allow and deny the same /24 -> deny wins", &s,
			      XDP_DROP, SG_CNT_DENY_DROP);

	/* Allowed sources are never rate limited. */
	cfg.src_syn_rate = 1;
	cfg.src_syn_burst = 1;
	put_config();
	syn_v4(&s, 192, 0, 2, 1);
	len = pkt_build(&s, in, sizeof(in));
	begin("allow-listed source: 5 SYNs at limit 1/s -> all to the kernel");
	for (i = 0; i < 5; i++) {
		if (run_prog(in, len, &r))
			break;
		expect_verdict(&r, XDP_PASS);
		expect_counters(&r, SG_CNT_SYN_RECEIVED, SG_CNT_SYN_ALLOW_PASS,
				CNT_END);
	}
	end();
	cfg.src_syn_rate = 0;
	put_config();

	list_add(skel->maps.sg_deny6, 6, db8, 32);
	pkt_spec_init(&s, 6);
	expect_spec_untouched("deny 2001:db8::/32: IPv6 SYN -> drop", &s,
			      XDP_DROP, SG_CNT_DENY_DROP);
	pkt_spec_init(&s, 6);
	s.saddr[15] = 0x77;
	list_add(skel->maps.sg_allow6, 6, s.saddr, 128);
	spec_untouched2("allow one /128 inside it -> kernel", &s, XDP_PASS,
			SG_CNT_SYN_RECEIVED, SG_CNT_SYN_ALLOW_PASS);

	list_flush(skel->maps.sg_allow4);
	list_flush(skel->maps.sg_deny4);
	list_flush(skel->maps.sg_allow6);
	list_flush(skel->maps.sg_deny6);
	syn_v4(&s, 192, 0, 2, 9);
	len = pkt_build(&s, in, sizeof(in));
	begin("lists emptied -> SYN from 192.0.2.9 gets a cookie");
	if (!run_prog(in, len, &r)) {
		expect_verdict(&r, XDP_TX);
		expect_counters(&r, SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT,
				CNT_END);
	}
	end();
}

/* Runs n SYNs from s; returns how many were answered (the rest dropped). */
static int syn_burst(struct pkt_spec *s, int n)
{
	uint8_t in[PKT_BUF_SIZE];
	struct run r;
	int i, tx = 0, len = pkt_build(s, in, sizeof(in));

	for (i = 0; i < n; i++) {
		if (run_prog(in, len, &r))
			return -1;
		if (r.verdict == XDP_TX &&
		    r.delta[SG_CNT_SYNACK_SENT] == 1) {
			tx++;
		} else if (r.verdict != XDP_DROP ||
			   r.delta[SG_CNT_SYN_SRC_LIMITED] != 1) {
			fail("SYN %d: verdict %d, neither answered nor limited",
			     i, r.verdict);
			return -1;
		}
	}
	return tx;
}

static void expect_burst(const char *name, struct pkt_spec *s, int n,
			 int want_tx)
{
	int tx;

	begin(name);
	tx = syn_burst(s, n);
	if (tx >= 0 && tx != want_tx)
		fail("%d of %d SYNs answered, want %d", tx, n, want_tx);
	end();
}

static void test_src_limits(void)
{
	struct pkt_spec s;
	int tx;

	cfg.src_syn_rate = 10;
	cfg.src_syn_burst = 5;
	put_config();
	syn_v4(&s, 203, 0, 113, 1);
	expect_burst("source limit 10/s burst 5: 8 SYNs from one /32 -> 5", &s,
		     8, 5);
	syn_v4(&s, 203, 0, 113, 2);
	expect_burst("another /32 has its own bucket -> 5 of 6", &s, 6, 5);

	/* Refill: 300 ms at 10/s gives 3 tokens (and less than 4, the loop
	 * itself taking far less than the 100 ms a token needs). */
	usleep(300000);
	syn_v4(&s, 203, 0, 113, 1);
	begin("after 300 ms: 3 more SYNs pass, then the limit holds");
	tx = syn_burst(&s, 8);
	if (tx >= 0 && tx != 3 && tx != 4)
		fail("%d of 8 answered, want 3 (4 if the runner stalled)", tx);
	end();

	cfg.src_prefix4 = 24;
	put_config();
	syn_v4(&s, 203, 0, 113, 10);
	expect_burst("prefix /24: 203.0.113.10 starts the /24's bucket -> 3 of 3",
		     &s, 3, 3);
	syn_v4(&s, 203, 0, 113, 200);
	expect_burst("203.0.113.200 shares it -> 2 of 4", &s, 4, 2);
	syn_v4(&s, 198, 51, 100, 1);
	expect_burst("198.51.100.1 is another /24 -> 5 of 6", &s, 6, 5);
	cfg.src_prefix4 = SG_DEFAULT_SRC_PREFIX4;

	pkt_spec_init(&s, 6);
	s.saddr[7] = 0x10; /* 2001:db8:0:10::1 */
	s.saddr[15] = 1;
	put_config();
	expect_burst("IPv6 /64: 2001:db8:0:10::1 -> 5 of 5", &s, 5, 5);
	s.saddr[8] = 0xff; /* same /64 */
	expect_burst("2001:db8:0:10:ff00::1, same /64 -> 0 of 2", &s, 2, 0);
	s.saddr[7] = 0x11;
	expect_burst("2001:db8:0:11::/64 -> 5 of 6", &s, 6, 5);
	cfg.src_prefix6 = 48;
	put_config();
	s.saddr[7] = 0x12;
	expect_burst("prefix /48: 2001:db8:0:12:: starts the /48's bucket -> 5 of 5",
		     &s, 5, 5);
	s.saddr[7] = 0x13;
	expect_burst("2001:db8:0:13:: shares the /48 -> 0 of 1", &s, 1, 0);
	cfg.src_prefix6 = SG_DEFAULT_SRC_PREFIX6;
	cfg.src_syn_rate = 0;
	put_config();

	/* Validated ACKs per source. */
	{
		uint8_t key[16];
		uint8_t d = ref_cookie_data(4, 1, 1460, 0, 0, 0);
		uint32_t now = ref_counter(ref_tai_ns());
		uint8_t in[PKT_BUF_SIZE];
		struct pkt_spec ack;
		struct run r;
		int len;

		cfg.src_ack_rate = 1;
		cfg.src_ack_burst = 1;
		put_config();
		key_bytes(key, keys.current);
		forged_ack(4, &ack, now, keys.current, key, d);
		len = pkt_build(&ack, in, sizeof(in));
		begin("ACK limit 1/s: first valid cookie ACK passes");
		if (!run_prog(in, len, &r)) {
			expect_verdict(&r, XDP_PASS);
			expect_counters(&r, SG_CNT_COOKIE_OK, CNT_END);
		}
		end();
		check_ack_dropped("ACK limit 1/s: second one at once -> drop",
				  &ack, SG_CNT_ACK_SRC_LIMITED);
		cfg.src_ack_rate = 0;
		put_config();
	}
}

/* The per-source table stays within its size whatever the sources. */
static void test_src_table_bound(void)
{
	struct synguard *small;
	struct bpf_map *m;
	struct pkt_spec s;
	uint8_t in[PKT_BUF_SIZE], key[sizeof(struct sg_src_key)];
	__u32 zero = 0, n = 0;
	void *prev = NULL;
	int fd, i, len, ok = 1;
	static struct sg_port_map ports;

	begin("per-source table of 64 entries, 2000 sources -> at most 64 kept");
	small = synguard__open();
	if (!small) {
		fail("open: %s", strerror(errno));
		end();
		return;
	}
	bpf_object__for_each_map(m, small->obj)
		bpf_map__set_pin_path(m, NULL);
	bpf_map__set_max_entries(small->maps.sg_src, 64);
	if (synguard__load(small)) {
		fail("load: %s", strerror(errno));
		synguard__destroy(small);
		end();
		return;
	}
	ports.port[80] = SG_PORT_PROTECTED;
	cfg.src_syn_rate = 100;
	cfg.src_syn_burst = 10;
	bpf_map__update_elem(small->maps.sg_config, &zero, 4, &cfg,
			     sizeof(cfg), 0);
	bpf_map__update_elem(small->maps.sg_keys, &zero, 4, &keys,
			     sizeof(keys), 0);
	bpf_map__update_elem(small->maps.sg_port_map, &zero, 4, &ports,
			     sizeof(ports), 0);
	cfg.src_syn_rate = 0;
	fd = bpf_program__fd(small->progs.synguard_xdp);
	for (i = 0; i < 2000 && ok; i++) {
		uint8_t out[OUT_CAP];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
			    .data_out = out, .data_size_out = sizeof(out),
			    .repeat = 1);

		/* 2000 distinct /64s of 2001:db8::/32 */
		pkt_spec_init(&s, 6);
		s.saddr[6] = i >> 8;
		s.saddr[7] = i & 0xff;
		len = pkt_build(&s, in, sizeof(in));
		o.data_size_in = len;
		if (bpf_prog_test_run_opts(fd, &o) || o.retval != XDP_TX) {
			fail("SYN %d: %s, verdict %u", i, strerror(errno),
			     o.retval);
			ok = 0;
		}
	}
	while (!bpf_map__get_next_key(small->maps.sg_src, prev, key,
				      sizeof(key))) {
		n++;
		prev = key;
		if (n > 10000)
			break;
	}
	if (n > 64 || n == 0)
		fail("%u entries in a table of 64", n);
	synguard__destroy(small);
	end();
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Sleeps until a new rate window (2^SG_RATE_SHIFT ns of ktime) starts. */
static void next_window(void)
{
	uint64_t w = mono_ns() >> SG_RATE_SHIFT;

	while (mono_ns() >> SG_RATE_SHIFT == w)
		usleep(1000);
}

static void read_state(struct sg_state *st)
{
	__u32 zero = 0;

	if (bpf_map__lookup_elem(skel->maps.sg_state, &zero, 4, st,
				 sizeof(*st), 0))
		fail("state read: %s", strerror(errno));
}

/* One SYN; checks verdict and counters (c2 may be CNT_END). */
static void auto_syn(const char *name, int verdict, int c1, int c2, int c3)
{
	struct pkt_spec s;
	uint8_t in[PKT_BUF_SIZE];
	struct run r;
	int len;

	syn_v4(&s, 192, 0, 2, 50);
	len = pkt_build(&s, in, sizeof(in));
	begin(name);
	if (!run_prog(in, len, &r)) {
		expect_verdict(&r, verdict);
		expect_counters(&r, SG_CNT_SYN_RECEIVED, c1, c2, c3, CNT_END);
	}
	end();
}

/* n SYNs in one run of the program: they pass untouched while disengaged. */
static void auto_burst(const char *name, int n)
{
	struct pkt_spec s;
	uint8_t in[PKT_BUF_SIZE], out[OUT_CAP];
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = n);

	syn_v4(&s, 192, 0, 2, 51);
	o.data_size_in = pkt_build(&s, in, sizeof(in));
	begin(name);
	read_counters(before);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		fail("test run: %s", strerror(errno));
	read_counters(after);
	if (o.retval != XDP_PASS)
		fail("verdict %u, want XDP_PASS", o.retval);
	if (after[SG_CNT_SYN_DISENGAGED_PASS] -
		    before[SG_CNT_SYN_DISENGAGED_PASS] != (__u64)n)
		fail("syn_disengaged_pass grew by %llu, want %d",
		     (unsigned long long)(after[SG_CNT_SYN_DISENGAGED_PASS] -
					  before[SG_CNT_SYN_DISENGAGED_PASS]),
		     n);
	end();
}

static void test_cookies_auto(void)
{
	struct sg_state st = {};
	__u32 zero = 0;
	uint64_t t0;

	/* 1000 SYNs/s engage, below 500 for 1 s disengage. A window of
	 * 134 ms turns N SYNs into N * 7.45 SYNs/s. */
	cfg.cookies = SG_COOKIES_AUTO;
	cfg.syn_rate_on = 1000;
	cfg.syn_rate_off = 500;
	cfg.hold_time = 1;
	put_config();
	bpf_map__update_elem(skel->maps.sg_state, &zero, 4, &st, sizeof(st),
			     0);

	/* Two quiet windows: no rate left over from earlier cases. */
	next_window();
	next_window();
	next_window();
	auto_syn("auto, quiet: a SYN goes to the kernel", XDP_PASS,
		 SG_CNT_SYN_DISENGAGED_PASS, CNT_END, CNT_END);

	next_window();
	auto_burst("auto: 100 SYNs in one window (745/s, between the thresholds)",
		   100);
	next_window();
	auto_syn("auto: 745/s does not engage -> kernel", XDP_PASS,
		 SG_CNT_SYN_DISENGAGED_PASS, CNT_END, CNT_END);

	next_window();
	auto_burst("auto: 400 SYNs in one window (2980/s)", 400);
	next_window();
	auto_syn("auto: the next window engages cookies -> SYN-ACK", XDP_TX,
		 SG_CNT_SYNACK_SENT, SG_CNT_COOKIES_ENGAGED, CNT_END);
	t0 = mono_ns();
	begin("auto: state shows engaged, the rate and the change time");
	read_state(&st);
	if (!st.engaged || st.rate < 1000 || st.changed_ns > t0 ||
	    t0 - st.changed_ns > 1000000000ULL)
		fail("engaged %u rate %u changed %llu ns ago", st.engaged,
		     st.rate, (unsigned long long)(t0 - st.changed_ns));
	end();

	next_window();
	auto_syn("auto: rate low but within the hold time -> still cookies",
		 XDP_TX, SG_CNT_SYNACK_SENT, CNT_END, CNT_END);
	usleep(1100000);
	auto_syn("auto: below 500/s for the hold time -> kernel again", XDP_PASS,
		 SG_CNT_SYN_DISENGAGED_PASS, SG_CNT_COOKIES_DISENGAGED,
		 CNT_END);
	begin("auto: state shows disengaged");
	read_state(&st);
	if (st.engaged)
		fail("still engaged");
	end();

	/* Cookie ACKs still validate while disengaged. */
	{
		uint8_t key[16];
		uint8_t d = ref_cookie_data(4, 1, 1460, 0, 0, 0);
		uint8_t in[PKT_BUF_SIZE];
		struct pkt_spec ack;
		struct run r;
		int len;

		key_bytes(key, keys.current);
		forged_ack(4, &ack, ref_counter(ref_tai_ns()), keys.current,
			   key, d);
		len = pkt_build(&ack, in, sizeof(in));
		begin("auto, disengaged: a cookie ACK still validates");
		if (!run_prog(in, len, &r)) {
			expect_verdict(&r, XDP_PASS);
			expect_counters(&r, SG_CNT_COOKIE_OK, CNT_END);
		}
		end();
	}

	cfg.cookies = SG_COOKIES_ALWAYS;
	put_config();
}

void test_limits(void)
{
	test_lists();
	test_src_limits();
	test_src_table_bound();
	test_cookies_auto();
}
