// SPDX-License-Identifier: GPL-2.0
/*
 * What every unit-test file shares: the loaded skeleton, the config and
 * keys it holds, running a frame through the program, and the checks of
 * verdict, bytes and counters. A failed check prints why; the case is
 * reported once, at end().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "harness.h"
#include "loopback.h"

struct synguard *skel;
int prog_fd, ncpus;
int passed, failed, skipped;
struct sg_config cfg;
struct sg_keys keys;
static const char *cur_case;

const char *const counter_names[] = {
#define X(name, str, help) str,
	SG_COUNTERS(X)
#undef X
};

static const char *verdict_name(int v)
{
	switch (v) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	default:
		return "?";
	}
}

/* A failed check prints why; the case is reported once, at its end. */
int case_errors;

void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "    %s: ", cur_case);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	case_errors++;
}

void begin(const char *name)
{
	cur_case = name;
	case_errors = 0;
}

void end(void)
{
	if (case_errors) {
		printf("FAIL %s\n", cur_case);
		failed++;
	} else {
		printf("ok   %s\n", cur_case);
		passed++;
	}
}

/* ---- maps ---- */

void put_config(void)
{
	__u32 zero = 0;

	if (bpf_map__update_elem(skel->maps.sg_config, &zero, sizeof(zero),
				 &cfg, sizeof(cfg), BPF_ANY))
		fail("config update: %s", strerror(errno));
}

void put_keys(void)
{
	__u32 zero = 0;

	if (bpf_map__update_elem(skel->maps.sg_keys, &zero, sizeof(zero), &keys,
				 sizeof(keys), BPF_ANY))
		fail("keys update: %s", strerror(errno));
}

/* Read-modify-write of the port map, as the CLI does (include/synguard.h):
 * bit on exactly the ports listed, the other bits kept. */
void put_port_bits(__u8 bit, const int *ports, int n)
{
	static struct sg_port_map m;
	static struct sg_ports set;
	__u32 zero = 0;
	int i;

	if (bpf_map__lookup_elem(skel->maps.sg_port_map, &zero, sizeof(zero),
				 &m, sizeof(m), 0))
		fail("sg_port_map lookup: %s", strerror(errno));
	memset(&set, 0, sizeof(set));
	for (i = 0; i < n; i++)
		set.bits[ports[i] / 64] |= 1ULL << (ports[i] % 64);
	sg_port_map_mark(&m, bit, &set);
	if (bpf_map__update_elem(skel->maps.sg_port_map, &zero, sizeof(zero),
				 &m, sizeof(m), BPF_ANY))
		fail("sg_port_map update: %s", strerror(errno));
}

void put_ports(const int *ports, int n)
{
	put_port_bits(SG_PORT_PROTECTED, ports, n);
}

/* All counters, summed over the CPUs, in one syscall: the fuzzer reads
 * them twice per frame. */
void read_counters(__u64 *out)
{
	__u64 vals[SG_CNT_MAX * ncpus];
	__u32 keys[SG_CNT_MAX], batch, n = SG_CNT_MAX;
	int fd = bpf_map__fd(skel->maps.sg_counters), c;
	__u32 k;

	memset(out, 0, SG_CNT_MAX * sizeof(*out));
	/* An array ends its only batch with ENOENT. */
	if (bpf_map_lookup_batch(fd, NULL, &batch, keys, vals, &n, NULL) &&
	    errno != ENOENT) {
		fail("counter read: %s", strerror(errno));
		return;
	}
	if (n != SG_CNT_MAX) {
		fail("counter read: %u of %d counters", n, SG_CNT_MAX);
		return;
	}
	for (k = 0; k < n; k++)
		for (c = 0; c < ncpus; c++)
			out[keys[k]] += vals[k * ncpus + c];
}

void key_bytes(uint8_t out[16], unsigned int slot)
{
	ref_siphash_key(out, keys.key[slot][0], keys.key[slot][1]);
}

void random_key(unsigned int slot)
{
	if (getrandom(keys.key[slot], sizeof(keys.key[slot]), 0) !=
	    sizeof(keys.key[slot]))
		fail("getrandom failed");
	keys.valid[slot] = 1;
}

/* ---- running the program ---- */

int run_prog(const uint8_t *in, size_t len, struct run *r)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
		    .data_out = r->out, .data_size_out = sizeof(r->out),
		    .repeat = 1);
	int err, k;

	read_counters(before);
	/* The program's SG clock lags by up to a tick (include/synguard.h). */
	r->tai_before = ref_tai_ns() - SG_CLOCK_LAG_NS;
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	r->tai_after = ref_tai_ns();
	read_counters(after);
	if (err) {
		fail("BPF_PROG_TEST_RUN: %s", strerror(errno));
		return -1;
	}
	r->verdict = opts.retval;
	r->out_len = opts.data_size_out;
	for (k = 0; k < SG_CNT_MAX; k++)
		r->delta[k] = after[k] - before[k];
	return 0;
}

/* Asserts the counters that changed are exactly the listed ones, by 1. */
void expect_counters(const struct run *r, ...)
{
	__u64 want[SG_CNT_MAX] = {};
	va_list ap;
	int k;

	va_start(ap, r);
	while ((k = va_arg(ap, int)) != CNT_END)
		want[k]++;
	va_end(ap);
	for (k = 0; k < SG_CNT_MAX; k++)
		if (r->delta[k] != want[k])
			fail("counter %s changed by %llu, want %llu",
			     counter_names[k], (unsigned long long)r->delta[k],
			     (unsigned long long)want[k]);
}

void expect_verdict(const struct run *r, int want)
{
	if (r->verdict != want)
		fail("verdict %s, want %s", verdict_name(r->verdict),
		     verdict_name(want));
}

void expect_bytes(const uint8_t *want, size_t wlen, const uint8_t *got,
		  size_t glen)
{
	if (wlen == glen && !memcmp(want, got, wlen))
		return;
	fail("output differs from the expected frame (want %zu bytes, got %zu)",
	     wlen, glen);
	pkt_diff(stdout, want, wlen, got, glen);
}

/*
 * A frame that must come back untouched, with one verdict and the counters
 * c1 and c2 (CNT_END for none).
 */
void untouched2(const char *name, const uint8_t *in, size_t len, int verdict,
		int c1, int c2)
{
	struct run r;

	begin(name);
	if (!run_prog(in, len, &r)) {
		expect_verdict(&r, verdict);
		expect_counters(&r, c1, c2, CNT_END);
		if (verdict == XDP_PASS)
			expect_bytes(in, len, r.out, r.out_len);
	}
	end();
}

void expect_untouched(const char *name, const uint8_t *in, size_t len,
		      int verdict, int counter)
{
	untouched2(name, in, len, verdict, counter, CNT_END);
}

void spec_untouched2(const char *name, const struct pkt_spec *s, int verdict,
		     int c1, int c2)
{
	uint8_t buf[PKT_BUF_SIZE];
	int len = pkt_build(s, buf, sizeof(buf));

	if (len < 0) {
		begin(name);
		fail("test bug: pkt_build failed");
		end();
		return;
	}
	untouched2(name, buf, len, verdict, c1, c2);
}

void expect_spec_untouched(const char *name, const struct pkt_spec *s,
			   int verdict, int counter)
{
	spec_untouched2(name, s, verdict, counter, CNT_END);
}

/* A SYN to a protected port that synguard must not answer. */
void expect_syn_untouched(const char *name, const struct pkt_spec *s,
			  int counter)
{
	spec_untouched2(name, s, XDP_PASS, SG_CNT_SYN_RECEIVED, counter);
}

/* Runs an ACK frame expecting a verdict counted under one reason. */
void check_ack(const char *name, const struct pkt_spec *ack, int verdict,
	       int counter)
{
	uint8_t in[PKT_BUF_SIZE];
	struct run r;
	int len;

	begin(name);
	len = pkt_build(ack, in, sizeof(in));
	if (len > 0 && !run_prog(in, len, &r)) {
		expect_verdict(&r, verdict);
		expect_counters(&r, counter, CNT_END);
	}
	end();
}

void check_ack_dropped(const char *name, const struct pkt_spec *ack,
		       int counter)
{
	check_ack(name, ack, XDP_DROP, counter);
}

/* An ACK whose cookie the reference built for chosen counter/key/data. */
void forged_ack(int family, struct pkt_spec *ack, uint32_t counter,
		unsigned int slot, const uint8_t key[16], uint8_t data)
{
	pkt_spec_init(ack, family);
	ack->tcp_flags = PKT_TCP_ACK;
	ack->seq = 0x55550001;
	ack->ack = ref_cookie(family, ack->saddr, ack->daddr, htons(ack->sport),
			      htons(ack->dport), ack->seq - 1, counter, slot,
			      key, data, ref_cookie_ours(data, cfg.wscale)) +
		   1;
}

/* The same for a timestamp client: its ACK echoes our TSval for sg_ns. */
void forged_ack_ts(int family, struct pkt_spec *ack, uint64_t sg_ns,
		   unsigned int slot, const uint8_t key[16], uint8_t opts)
{
	uint32_t tsval = ref_tsval(sg_ns, slot, opts);

	pkt_spec_init(ack, family);
	ack->tcp_flags = PKT_TCP_ACK;
	ack->seq = 0x55550001;
	ack->tcp_opts_len = 0;
	pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
	pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
	pkt_opt_ts(ack->tcp_opts, &ack->tcp_opts_len, 0x01020305, tsval);
	ack->ack = ref_cookie_ts(family, ack->saddr, ack->daddr,
				 htons(ack->sport), htons(ack->dport),
				 ack->seq - 1, tsval, key,
				 ref_ts_ours(opts, cfg.wscale)) +
		   1;
}

uint64_t sg_clock_at(uint64_t in_period)
{
	uint64_t tai = ref_tai_ns(),
		 sg = (tai >> SG_PERIOD_SHIFT << SG_PERIOD_SHIFT) + in_period;

	cfg.tai_offset_ns = (int64_t)(tai - sg);
	put_config();
	return sg;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_WARN || getenv("SG_TEST_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* The config every case starts from and returns to. */
void config_defaults(void)
{
	cfg.mss4 = SG_DEFAULT_MSS4;
	cfg.mss6 = SG_DEFAULT_MSS6;
	cfg.window = SG_DEFAULT_WINDOW;
	cfg.wscale = SG_DEFAULT_WSCALE;
	cfg.ttl = SG_DEFAULT_TTL;
	cfg.ecn = SG_DEFAULT_ECN;
	cfg.cookie_lifetime = SG_DEFAULT_LIFETIME;
	cfg.reflection_drop = SG_DEFAULT_REFLECTION_DROP;
	cfg.syn_rate_on = SG_DEFAULT_SYN_RATE_ON;
	cfg.syn_rate_off = SG_DEFAULT_SYN_RATE_OFF;
	cfg.hold_time = SG_DEFAULT_HOLD_TIME;
	cfg.src_prefix4 = SG_DEFAULT_SRC_PREFIX4;
	cfg.src_prefix6 = SG_DEFAULT_SRC_PREFIX6;
	cfg.tcp_sysctl = SG_SYSCTL_ALL;
	cfg.wscale_prev = SG_DEFAULT_WSCALE;
	cfg.tai_offset_ns = 0;
	cfg.draining = 0;
	cfg.monitor = 0;
	/* Most cases are about the cookie path: cookies for every SYN. The
	 * auto mode has cases of its own. */
	cfg.cookies = SG_COOKIES_ALWAYS;
	put_config();
}

void put_deny_net(bool on)
{
	struct sg_lpm4 dk = {.prefixlen = 24, .addr = TEST_DENY_NET};
	__u32 dval = 24;

	if (on && bpf_map__update_elem(skel->maps.sg_deny4, &dk, sizeof(dk),
				       &dval, sizeof(dval), BPF_ANY))
		fail("deny list update: %s", strerror(errno));
	if (!on)
		bpf_map__delete_elem(skel->maps.sg_deny4, &dk, sizeof(dk), 0);
	cfg.lists = on ? SG_LISTS_DENY4 : 0;
	put_config();
}

void state_engaged(int engaged)
{
	struct sg_state st = {};
	__u32 zero = 0;

	if (bpf_map__lookup_elem(skel->maps.sg_state, &zero, sizeof(zero), &st,
				 sizeof(st), 0))
		fail("cannot read sg_state");
	st.engaged = engaged;
	if (bpf_map__update_elem(skel->maps.sg_state, &zero, sizeof(zero), &st,
				 sizeof(st), BPF_ANY))
		fail("cannot write sg_state");
}

bool kernel_has_kfunc(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has;

	if (!btf)
		return false;
	has = btf__find_by_name_kind(btf, "bpf_sk_assign_tcp_reqsk",
				     BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return has;
}

struct synguard *load_engine(int engine)
{
	struct synguard *sk;

	/* With the conntrack lookup on, for the conntrack_pass group. */
	sk = engine_open(engine);
	if (!sk) {
		printf("FAIL: cannot open the BPF object: %s\n",
		       strerror(errno));
		return NULL;
	}
	sk->rodata->sg_meta_secret[0] = TEST_META_SECRET0;
	sk->rodata->sg_meta_secret[1] = TEST_META_SECRET1;
	if (getenv("SG_TEST_STATS"))
		bpf_program__set_log_level(sk->progs.synguard_xdp, 4);
	if (synguard__load(sk)) {
		printf("FAIL: the kernel refused the BPF programs (engine %d): %s "
		       "(SG_TEST_VERBOSE=1 shows the verifier log)\n",
		       engine, strerror(errno));
		synguard__destroy(sk);
		return NULL;
	}
	return sk;
}

int setup(void)
{
	const int ports[] = {80, 443};
	int i;

	/* Map updates below report through fail(): start from a clean slate. */
	begin("setup");

	if (geteuid() != 0) {
		printf("SKIP: the unit tests load BPF programs and need root "
		       "(run: sudo make test)\n");
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		printf("SKIP: cannot create a network namespace: %s\n",
		       strerror(errno));
		return -1;
	}
	if (lo_up()) {
		printf("FAIL: cannot bring up lo in the test namespace\n");
		return -1;
	}
	/* SYNs are answered only for a local listener: one on each
	 * protected port, for the life of the process. */
	for (i = 0; i < 2; i++)
		if (wildcard_listener(4, ports[i]) < 0 ||
		    wildcard_listener(6, ports[i]) < 0) {
			printf("FAIL: cannot listen on port %d: %s\n",
			       ports[i], strerror(errno));
			return -1;
		}
	libbpf_set_print(libbpf_quiet);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return -1;
	/* Before 6.9 the own engine cannot load: its groups are skipped. */
	if (!kernel_has_kfunc())
		return 0;
	skel = load_engine(SG_ENGINE_OWN);
	if (!skel)
		return -1;
	prog_fd = bpf_program__fd(skel->progs.synguard_xdp);

	config_defaults();
	random_key(0);
	keys.current = 0;
	put_keys();
	put_ports(ports, 2);
	return case_errors ? -1 : 0;
}
