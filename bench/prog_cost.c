// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of synguard_xdp for each packet class, against the XDP
 * floor (a program that swaps MACs and returns XDP_TX), measured with
 * BPF_PROG_TEST_RUN and `repeat`.
 *
 * `repeat` reruns the program on the buffer the previous run left behind
 * (doc/design.md, "the repeat trap"), so every measured run goes through
 * bench/bpf/wrap.bpf.c: sg_wrap restores the original frame, then
 * tail-calls the program under test. For each class the tool measures, in
 * interleaved rounds, the floor alone, the wrapper around the floor and the
 * wrapper around synguard, and reports
 *
 *	cost = wrapped synguard - wrapped floor + floor
 *
 * (the median over the rounds) and its ratio to the floor. For the classes
 * that leave the frame alone, synguard run directly (no wrapper) is shown as
 * a cross-check of the subtraction.
 *
 * Every measured run is checked: the verdict of the last repetition, and the
 * synguard counters, which must have moved by exactly `repeat` in the
 * expected slots and not at all elsewhere, so all repetitions took the path
 * being measured. A SYN class also checks that its output is a SYN-ACK with
 * correct checksums.
 *
 * The process moves into a network namespace of its own (like
 * tests/test_xdp.c): the established-flow class needs a real connected
 * socket there for the program's socket lookup to find.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "synguard.h"
#include "synguard.skel.h"
#include "wrap.skel.h"
#include "pkt.h"
#include "ref.h"
#include "loopback.h"

#define OUT_CAP 4096
#define WRAP_FRAME_MAX 256 /* bench/bpf/wrap.bpf.c */
#define MAX_RUNS 64
#define MAX_CNT 3

static const char *const counter_names[] = {
#define X(name, str, help) str,
	SG_COUNTERS(X)
#undef X
};

static struct synguard *sg;
static struct wrap *wr;
static int sg_fd, wrap_fd, floor_fd, ncpus;
static int repeat = 1000000, runs = 7;
static int errors;

struct wrap_frame {
	__u32 len;
	__u8 data[WRAP_FRAME_MAX];
};

static void err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "prog_cost: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	errors++;
}

static const char *verdict_name(int v)
{
	static const char *const n[] = {"ABORTED", "DROP", "PASS", "TX",
					"REDIRECT"};

	return v >= 0 && v <= XDP_REDIRECT ? n[v] : "?";
}

/* ---- synguard maps ---- */

static int sg_setup_maps(void)
{
	/*
	 * The defaults `synguard attach` installs, except that cookies are
	 * always on: in auto mode the first SYNs of a run would pass to the
	 * kernel until the rate is measured, and the counters could not be
	 * checked exactly. The engaged auto path costs the same (the rate is
	 * measured in both modes). Per-source limits stay off, as by default.
	 */
	struct sg_config cfg = {
		.mss4 = SG_DEFAULT_MSS4,
		.mss6 = SG_DEFAULT_MSS6,
		.window = SG_DEFAULT_WINDOW,
		.wscale = SG_DEFAULT_WSCALE,
		.ttl = SG_DEFAULT_TTL,
		.ecn = SG_DEFAULT_ECN,
		.cookies = SG_COOKIES_ALWAYS,
		.reflection_drop = SG_DEFAULT_REFLECTION_DROP,
		.src_prefix4 = SG_DEFAULT_SRC_PREFIX4,
		.src_prefix6 = SG_DEFAULT_SRC_PREFIX6,
		.cookie_lifetime = SG_DEFAULT_LIFETIME,
		.syn_rate_on = SG_DEFAULT_SYN_RATE_ON,
		.syn_rate_off = SG_DEFAULT_SYN_RATE_OFF,
		.hold_time = SG_DEFAULT_HOLD_TIME,
	};
	static struct sg_ports ports;
	struct sg_keys keys = {};
	__u32 zero = 0;

	if (getrandom(keys.key[0], sizeof(keys.key[0]), 0) !=
	    sizeof(keys.key[0]))
		return -1;
	keys.valid[0] = 1;
	keys.current = 0;
	/* Port 80 protected, 8080 not (the "unprotected port" class). */
	ports.bits[80 / 64] |= 1ULL << (80 % 64);
	if (bpf_map__update_elem(sg->maps.sg_config, &zero, sizeof(zero), &cfg,
				 sizeof(cfg), BPF_ANY) ||
	    bpf_map__update_elem(sg->maps.sg_keys, &zero, sizeof(zero), &keys,
				 sizeof(keys), BPF_ANY) ||
	    bpf_map__update_elem(sg->maps.sg_ports, &zero, sizeof(zero), &ports,
				 sizeof(ports), BPF_ANY))
		return -1;
	return 0;
}

static int read_counters(__u64 *out)
{
	__u64 vals[ncpus];
	__u32 k;
	int c;

	for (k = 0; k < SG_CNT_MAX; k++) {
		out[k] = 0;
		if (bpf_map__lookup_elem(sg->maps.sg_counters, &k, sizeof(k),
					 vals, sizeof(vals), 0))
			return -1;
		for (c = 0; c < ncpus; c++)
			out[k] += vals[c];
	}
	return 0;
}

/* ---- running ---- */

/*
 * CPU time of this thread, not wall time: on a shared machine another task
 * may get the core between repetitions (the kernel's loop yields when asked
 * to), and that time is not ours. The kernel's own figure excludes it too,
 * but it is an average truncated to whole nanoseconds; this one, over a
 * million repetitions, has sub-ns resolution. Both land in the JSON.
 */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct result {
	double ns;	 /* thread CPU time per repetition */
	__u32 kernel_ns; /* the kernel's own average, truncated to 1 ns */
	int verdict;
	__u8 out[OUT_CAP];
	__u32 out_len;
};

static int test_run(int fd, const uint8_t *in, int len, int rep,
		    struct result *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len,
		    .data_out = r->out, .data_size_out = sizeof(r->out),
		    .repeat = rep);
	double t0, t1;

	t0 = now_ns();
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	t1 = now_ns();
	r->ns = (t1 - t0) / rep;
	r->kernel_ns = o.duration;
	r->verdict = o.retval;
	r->out_len = o.data_size_out;
	return 0;
}

static int set_target(int fd)
{
	__u32 zero = 0;

	return bpf_map__update_elem(wr->maps.wrap_target, &zero, sizeof(zero),
				    &fd, sizeof(fd), BPF_ANY);
}

static int set_frame(const uint8_t *in, int len)
{
	static struct wrap_frame f;
	__u32 zero = 0;

	if (len > WRAP_FRAME_MAX)
		return -1;
	memset(&f, 0, sizeof(f));
	f.len = len;
	memcpy(f.data, in, len);
	return bpf_map__update_elem(wr->maps.wrap_frame, &zero, sizeof(zero),
				    &f, sizeof(f), BPF_ANY);
}

/* ---- packet classes ---- */

struct pclass {
	const char *name;
	const char *desc;
	uint8_t frame[PKT_BUF_SIZE];
	int len;
	int verdict;	  /* expected verdict of synguard */
	int cnt[MAX_CNT]; /* counters that move by repeat, -1 terminated */
	bool writes;	  /* synguard rewrites the frame: no direct run */
	bool synack;	  /* output must be a SYN-ACK */
	double target;	  /* ratio to the floor to report against; 0 none */
	/* results */
	double floor_ns, wfloor_ns, wsg_ns, direct_ns, cost_ns, ratio;
	double cost_min, cost_max;
	__u32 k_floor, k_wfloor, k_wsg;
	bool failed;
};

#define MAX_CLASSES 16
static struct pclass classes[MAX_CLASSES];
static int nclasses;

static struct pclass *add_class(const char *name, const char *desc,
				const struct pkt_spec *s, int verdict, int c1,
				int c2)
{
	struct pclass *c = &classes[nclasses];

	if (nclasses >= MAX_CLASSES)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->desc = desc;
	c->len = pkt_build(s, c->frame, sizeof(c->frame));
	if (c->len < 0) {
		err("%s: pkt_build failed", name);
		return NULL;
	}
	c->verdict = verdict;
	c->cnt[0] = c1;
	c->cnt[1] = c2;
	c->cnt[2] = -1;
	nclasses++;
	return c;
}

/* What a Linux client offers: MSS, SACK, timestamps, window scale. */
static void full_opts(struct pkt_spec *s, uint32_t tsval)
{
	s->tcp_opts_len = 0;
	pkt_opt_mss(s->tcp_opts, &s->tcp_opts_len,
		    s->family == 4 ? 1460 : 1440);
	pkt_opt_sackperm(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, tsval, 0);
	pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ws(s->tcp_opts, &s->tcp_opts_len, 7);
	pkt_opt_pad(s->tcp_opts, &s->tcp_opts_len);
}

/*
 * A valid cookie ACK: run synguard once on the SYN (no wrapper needed for
 * one run), take the cookie and our TSval from its SYN-ACK, and answer it as
 * the client would.
 */
static int cookie_ack(const struct pkt_spec *syn, struct pkt_spec *ack)
{
	static struct result r;
	uint8_t in[PKT_BUF_SIZE];
	const uint8_t *ts;
	struct pkt_offs off;
	uint32_t cookie, our_tsval = 0;
	int len, dlen;

	len = pkt_build(syn, in, sizeof(in));
	if (len < 0 || test_run(sg_fd, in, len, 1, &r) || r.verdict != XDP_TX)
		return -1;
	if (pkt_offsets(r.out, r.out_len, &off) || off.l4proto != 6)
		return -1;
	cookie = pkt_be32(r.out + off.l4_off + 4);
	if (pkt_tcpopt_find(r.out + off.l4_off, r.out_len - off.l4_off,
			    PKT_TCPOPT_TS, &ts, &dlen) >= 0 &&
	    dlen == 8)
		our_tsval = pkt_be32(ts);
	*ack = *syn;
	ack->tcp_flags = PKT_TCP_ACK;
	ack->seq = syn->seq + 1;
	ack->ack = cookie + 1;
	ack->tcp_opts_len = 0;
	pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
	pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
	pkt_opt_ts(ack->tcp_opts, &ack->tcp_opts_len, 0x01020305, our_tsval);
	return 0;
}

/* A data segment of a connection the kernel has (loopback, this netns). */
static void established(struct pkt_spec *s, int family, uint16_t cport)
{
	static const uint8_t payload[1] = {'x'};

	loopback_spec(s, family, cport);
	s->tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
	s->seq = 1000;
	s->ack = 2000;
	s->tcp_opts_len = 0;
	pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, 1234, 5678);
	s->payload = payload;
	s->payload_len = 1;
}

/* ---- checks ---- */

static bool synack_ok(const struct result *r)
{
	struct pkt_offs off;
	const uint8_t *th;

	if (pkt_offsets(r->out, r->out_len, &off) || off.l4proto != 6)
		return false;
	th = r->out + off.l4_off;
	if ((th[13] & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST)) !=
	    (PKT_TCP_SYN | PKT_TCP_ACK))
		return false;
	if (off.family == 4 && !ref_ipv4_csum_ok(r->out + off.l3_off))
		return false;
	return ref_tcp_csum_ok(off.family, r->out + off.l3_off, th,
			       r->out_len - off.l4_off);
}

/*
 * One measured synguard run (wrapped or direct): the verdict, the counters
 * (exactly repeat in each expected slot, 0 elsewhere) and the output.
 */
static int run_sg(struct pclass *c, int fd, struct result *r)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX], want[SG_CNT_MAX] = {};
	int k, rc;

	if (read_counters(before))
		return -1;
	rc = test_run(fd, c->frame, c->len, repeat, r);
	if (rc) {
		err("%s: BPF_PROG_TEST_RUN: %s", c->name, strerror(-rc));
		return -1;
	}
	if (read_counters(after))
		return -1;
	if (r->verdict != c->verdict) {
		err("%s: verdict %s, want %s", c->name,
		    verdict_name(r->verdict), verdict_name(c->verdict));
		rc = -1;
	}
	for (k = 0; k < MAX_CNT && c->cnt[k] >= 0; k++)
		want[c->cnt[k]] += repeat;
	for (k = 0; k < SG_CNT_MAX; k++) {
		if (after[k] - before[k] == want[k])
			continue;
		err("%s: counter %s moved by %llu, want %llu", c->name,
		    counter_names[k],
		    (unsigned long long)(after[k] - before[k]),
		    (unsigned long long)want[k]);
		rc = -1;
	}
	if (c->synack && !synack_ok(r)) {
		err("%s: output is not a SYN-ACK with valid checksums",
		    c->name);
		pkt_hexdump(stderr, "output", r->out, r->out_len);
		rc = -1;
	}
	return rc;
}

static int run_floor(struct pclass *c, int fd, struct result *r)
{
	int rc = test_run(fd, c->frame, c->len, repeat, r);

	if (rc) {
		err("%s: floor BPF_PROG_TEST_RUN: %s", c->name, strerror(-rc));
		return -1;
	}
	if (r->verdict != XDP_TX) {
		err("%s: floor verdict %s", c->name, verdict_name(r->verdict));
		return -1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static __u32 median_u32(__u32 *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

/*
 * Interleaved rounds, so that drift of the machine (another tenant, the
 * frequency) hits the floor and synguard alike; the cost of each round is
 * computed within the round, and the median taken over rounds.
 */
static void measure(struct pclass *c)
{
	double fl[MAX_RUNS], wf[MAX_RUNS], ws[MAX_RUNS], di[MAX_RUNS],
		cost[MAX_RUNS];
	__u32 kf[MAX_RUNS], kwf[MAX_RUNS], kws[MAX_RUNS];
	static struct result r;
	int i;

	if (set_frame(c->frame, c->len)) {
		err("%s: cannot store the frame for the wrapper", c->name);
		c->failed = true;
		return;
	}
	for (i = 0; i < runs; i++) {
		if (run_floor(c, floor_fd, &r))
			goto fail;
		fl[i] = r.ns;
		kf[i] = r.kernel_ns;
		if (set_target(floor_fd) || run_floor(c, wrap_fd, &r))
			goto fail;
		wf[i] = r.ns;
		kwf[i] = r.kernel_ns;
		if (set_target(sg_fd) || run_sg(c, wrap_fd, &r))
			goto fail;
		ws[i] = r.ns;
		kws[i] = r.kernel_ns;
		if (!c->writes) {
			if (run_sg(c, sg_fd, &r))
				goto fail;
			di[i] = r.ns;
		}
		cost[i] = ws[i] - wf[i] + fl[i];
	}
	c->floor_ns = median(fl, runs);
	c->wfloor_ns = median(wf, runs);
	c->wsg_ns = median(ws, runs);
	c->direct_ns = c->writes ? 0 : median(di, runs);
	c->cost_ns = median(cost, runs);
	c->cost_min = cost[0];
	c->cost_max = cost[runs - 1]; /* sorted by median() */
	c->ratio = c->cost_ns / c->floor_ns;
	c->k_floor = median_u32(kf, runs);
	c->k_wfloor = median_u32(kwf, runs);
	c->k_wsg = median_u32(kws, runs);
	return;
fail:
	c->failed = true;
}

/* ---- output ---- */

static void print_table(FILE *f)
{
	int i;

	fprintf(f,
		"\nPer-packet cost of synguard_xdp (BPF_PROG_TEST_RUN, repeat "
		"%d, "
		"median of %d rounds)\n"
		"cost = wrapped synguard - wrapped floor + floor; floor = swap "
		"MACs + XDP_TX\n\n",
		repeat, runs);
	fprintf(f, "%-11s %-8s %8s %9s %7s %7s %9s  %s\n", "class", "verdict",
		"floor ns", "synguard", "ratio", "target", "direct ns",
		"packet");
	for (i = 0; i < nclasses; i++) {
		const struct pclass *c = &classes[i];
		char target[16] = "-", direct[16] = "-";

		if (c->failed) {
			fprintf(f, "%-11s FAILED (see the errors above)\n",
				c->name);
			continue;
		}
		if (c->target > 0)
			snprintf(target, sizeof(target), "%s%.0fx",
				 c->ratio <= c->target ? "<=" : "> ",
				 c->target);
		if (!c->writes)
			snprintf(direct, sizeof(direct), "%.1f", c->direct_ns);
		fprintf(f, "%-11s %-8s %8.1f %9.1f %6.2fx %7s %9s  %s\n",
			c->name, verdict_name(c->verdict), c->floor_ns,
			c->cost_ns, c->ratio, target, direct, c->desc);
	}
	fprintf(f, "\n'direct ns': synguard run without the wrapper, only for "
		   "classes "
		   "that leave the frame unchanged: a check of the "
		   "subtraction.\n");
}

/* A number, or null when it does not apply. */
static const char *num_or_null(char *buf, size_t n, bool have, double v)
{
	if (!have)
		return "null";
	snprintf(buf, n, "%.2f", v);
	return buf;
}

static void print_json(FILE *f)
{
	char tb[32], db[32];
	int i;

	fprintf(f,
		"{\n  \"repeat\": %d,\n  \"rounds\": %d,\n  \"classes\": [\n",
		repeat, runs);
	for (i = 0; i < nclasses; i++) {
		const struct pclass *c = &classes[i];

		fprintf(f,
			"    {\"class\": \"%s\", \"desc\": \"%s\", \"ok\": %s, "
			"\"verdict\": \"%s\", \"floor_ns\": %.2f, "
			"\"wrapped_floor_ns\": %.2f, \"wrapped_synguard_ns\": "
			"%.2f, "
			"\"synguard_ns\": %.2f, \"synguard_ns_min\": %.2f, "
			"\"synguard_ns_max\": %.2f, \"ratio\": %.3f, "
			"\"target_ratio\": %s, \"direct_ns\": %s, "
			"\"kernel_ns\": {\"floor\": %u, \"wrapped_floor\": %u, "
			"\"wrapped_synguard\": %u}}%s\n",
			c->name, c->desc, c->failed ? "false" : "true",
			verdict_name(c->verdict), c->floor_ns, c->wfloor_ns,
			c->wsg_ns, c->cost_ns, c->cost_min, c->cost_max,
			c->ratio,
			num_or_null(tb, sizeof(tb), c->target > 0, c->target),
			num_or_null(db, sizeof(db), !c->writes, c->direct_ns),
			c->k_floor, c->k_wfloor, c->k_wsg,
			i + 1 < nclasses ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
}

/* ---- setup ---- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_WARN || getenv("SG_BENCH_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static int setup(int cpu)
{
	struct bpf_map *m;
	cpu_set_t set;

	if (geteuid() != 0) {
		fprintf(stderr, "prog_cost: must run as root (BPF, netns)\n");
		return -1;
	}
	/* One core for every run: the floor and synguard on the same one. */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "prog_cost: cannot pin to CPU %d: %s\n", cpu,
			strerror(errno));
	if (unshare(CLONE_NEWNET) || lo_up()) {
		fprintf(stderr,
			"prog_cost: cannot make a network namespace: %s\n",
			strerror(errno));
		return -1;
	}
	libbpf_set_print(libbpf_print);
	sg = synguard__open();
	if (!sg)
		return -1;
	/* Never touch bpffs: no pins (as tests/test_xdp.c). */
	bpf_object__for_each_map (m, sg->obj)
		bpf_map__set_pin_path(m, NULL);
	if (synguard__load(sg)) {
		fprintf(stderr, "prog_cost: cannot load synguard: %s\n",
			strerror(errno));
		return -1;
	}
	wr = wrap__open_and_load();
	if (!wr) {
		fprintf(stderr, "prog_cost: cannot load the wrapper: %s\n",
			strerror(errno));
		return -1;
	}
	sg_fd = bpf_program__fd(sg->progs.synguard_xdp);
	wrap_fd = bpf_program__fd(wr->progs.sg_wrap);
	floor_fd = bpf_program__fd(wr->progs.sg_floor);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0 || sg_setup_maps()) {
		fprintf(stderr, "prog_cost: cannot fill the synguard maps\n");
		return -1;
	}
	/* The prog array takes synguard only if the types agree: check now. */
	if (set_target(sg_fd) || set_target(floor_fd)) {
		fprintf(stderr,
			"prog_cost: cannot put programs in the prog "
			"array: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(const char *p)
{
	fprintf(stderr,
		"usage: %s [--repeat N] [--runs N] [--cpu N] [--json FILE]\n"
		"  --repeat N  repetitions per BPF_PROG_TEST_RUN (default %d)\n"
		"  --runs N    interleaved rounds; the median is shown "
		"(default %d)\n"
		"  --cpu N     CPU to run on (default 0)\n"
		"  --json FILE write the results as JSON too\n",
		p, repeat, runs);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"repeat", required_argument, NULL, 'r'},
		{"runs", required_argument, NULL, 'n'},
		{"cpu", required_argument, NULL, 'c'},
		{"json", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{}};
	const char *json = NULL;
	int opt, cpu = 0, lfd4, lfd6, cfd4, cfd6, afd4, afd6, i;
	uint16_t p4, p6;
	struct pkt_spec s, a;
	struct pclass *c;

	while ((opt = getopt_long(argc, argv, "r:n:c:j:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'j':
			json = optarg;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (repeat < 1000 || runs < 1 || runs > MAX_RUNS) {
		usage(argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup(cpu))
		return 1;

	/* Listeners on the protected port, as on a real server: the ACK
	 * classes' socket lookup then finds a listener, not nothing. */
	if (sock_pair(4, 80, &lfd4, &cfd4, &afd4, &p4) ||
	    sock_pair(6, 80, &lfd6, &cfd6, &afd6, &p6)) {
		fprintf(stderr, "prog_cost: cannot listen on port 80 and "
			"connect over loopback: %s\n", strerror(errno));
		return 1;
	}

	pkt_spec_init(&s, 4);
	c = add_class("syn4", "IPv4 SYN, no options", &s, XDP_TX,
		      SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT);
	if (c) {
		c->writes = c->synack = true;
		c->target = 4;
	}
	full_opts(&s, 0x01020304);
	c = add_class("syn4-full", "IPv4 SYN, MSS+SACK+TS+WS", &s, XDP_TX,
		      SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT);
	if (c) {
		c->writes = c->synack = true;
		c->target = 4;
	}
	s.nvlan = 1;
	s.vlan_tci[0] = 100;
	c = add_class("syn4-vlan", "802.1Q, IPv4 SYN, MSS+SACK+TS+WS", &s,
		      XDP_TX, SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT);
	if (c) {
		c->writes = c->synack = true;
		c->target = 4;
	}
	pkt_spec_init(&s, 6);
	c = add_class("syn6", "IPv6 SYN, no options", &s, XDP_TX,
		      SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT);
	if (c) {
		c->writes = c->synack = true;
		c->target = 4;
	}
	full_opts(&s, 0x01020304);
	c = add_class("syn6-full", "IPv6 SYN, MSS+SACK+TS+WS", &s, XDP_TX,
		      SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT);
	if (c) {
		c->writes = c->synack = true;
		c->target = 4;
	}

	pkt_spec_init(&s, 4);
	full_opts(&s, 0x01020304);
	if (cookie_ack(&s, &a)) {
		err("cannot build a cookie ACK from synguard's SYN-ACK");
	} else {
		c = add_class("ack4-cookie", "IPv4 ACK, valid cookie, TS", &a,
			      XDP_PASS, SG_CNT_COOKIE_OK, -1);
		if (c)
			c->writes = true; /* metadata */
		a.ack ^= 0x5a5a5000; /* a wrong MAC, same time and key bits */
		add_class("ack4-flood", "IPv4 ACK, invalid cookie (ACK flood)",
			  &a, XDP_DROP, SG_CNT_COOKIE_BAD, -1);
	}
	pkt_spec_init(&s, 6);
	full_opts(&s, 0x01020304);
	if (cookie_ack(&s, &a)) {
		err("cannot build a cookie ACK from synguard's SYN-ACK");
	} else {
		c = add_class("ack6-cookie", "IPv6 ACK, valid cookie, TS", &a,
			      XDP_PASS, SG_CNT_COOKIE_OK, -1);
		if (c)
			c->writes = true;
		a.ack ^= 0x5a5a5000;
		add_class("ack6-flood", "IPv6 ACK, invalid cookie (ACK flood)",
			  &a, XDP_DROP, SG_CNT_COOKIE_BAD, -1);
	}

	established(&s, 4, p4);
	c = add_class("est4", "IPv4 data of an established flow", &s, XDP_PASS,
		      SG_CNT_ACK_ESTABLISHED_PASS, -1);
	if (c)
		c->target = 3;
	established(&s, 6, p6);
	c = add_class("est6", "IPv6 data of an established flow", &s, XDP_PASS,
		      SG_CNT_ACK_ESTABLISHED_PASS, -1);
	if (c)
		c->target = 3;

	pkt_spec_init(&s, 4);
	s.l4proto = 17;
	s.dport = 53;
	add_class("udp4", "IPv4 UDP (non-TCP)", &s, XDP_PASS, SG_CNT_OTHER_PASS,
		  -1);
	pkt_spec_init(&s, 4);
	s.dport = 8080;
	add_class("port4", "IPv4 SYN to an unprotected port", &s, XDP_PASS,
		  SG_CNT_OTHER_PASS, -1);

	for (i = 0; i < nclasses; i++) {
		fprintf(stderr, "measuring %-12s\r", classes[i].name);
		measure(&classes[i]);
	}
	fprintf(stderr, "%-24s\r", "");
	print_table(stdout);
	if (json) {
		FILE *f = fopen(json, "w");

		if (!f) {
			err("%s: %s", json, strerror(errno));
		} else {
			print_json(f);
			fclose(f);
		}
	}
	close(afd4);
	close(afd6);
	close(cfd4);
	close(cfd6);
	close(lfd4);
	close(lfd6);
	wrap__destroy(wr);
	synguard__destroy(sg);
	if (errors)
		fprintf(stderr, "prog_cost: %d check(s) failed\n", errors);
	return errors ? 1 : 0;
}
