// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of synguard_xdp for each packet class, against the XDP
 * floor (a program that swaps MACs and returns XDP_TX), measured with
 * BPF_PROG_TEST_RUN and `repeat`.
 *
 * `repeat` reruns the program on the buffer the previous run left behind
 * (doc/design.md, "Measuring the cost"), so every measured run goes through
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
 * What each check of the SYN and ACK paths costs is measured the same way,
 * against bench-only builds of the program with that one check compiled
 * out (bench/bench.mk, the SG_BENCH_* switches in bpf/synguard.bpf.c): a
 * class with an `alt` build runs it in the same rounds as the product
 * object, alternating which goes first, and reports the median of the
 * per-round differences. Both must give the same verdict and counters, so
 * the difference is the check and nothing else.
 *
 * The kernel engine (--engine kernel, bpf/kengine.h) runs the SYN, ACK and
 * established classes too, on the product object loaded for that engine,
 * each shown next to the own engine on the same frame: the SYN and
 * established classes run the own engine as their alt build, in the same
 * rounds (with its own counters for the SYN); an ACK class cannot share
 * its frame (each engine answers its own cookie), and is shown next to the
 * own engine's class instead. Its SYN
 * costs a socket lookup for the listener, as the own engine's does;
 * lookup4/6 measure that lookup alone: sg_lookup (bench/bpf/wrap.bpf.c)
 * is the floor plus bpf_skc_lookup_tcp() of the frame's listener, so its
 * cost minus the floor is the lookup.
 *
 * The process moves into a network namespace of its own (like
 * tests/unit/test_xdp.c), with wildcard listeners on port 80: synguard answers a
 * SYN only for a local listener, and the established-flow class needs a
 * real connected socket for the program's socket lookup to find. Port 443
 * is protected but has no listener (the no-listener classes). In it,
 * tcp_syncookies and tcp_timestamps are 2, as attach sets them for the
 * kernel engine (tests/lib/engine.c, shared with the unit tests): the
 * kernel makes a cookie for bpf_tcp_gen_syncookie() only then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
#include "engine.h"

#define OUT_CAP 4096
#define WRAP_FRAME_MAX 256 /* bench/bpf/wrap.bpf.c */
#define MAX_RUNS 64
#define MAX_CNT 3
#define MAX_PRIME 2

static const char *const counter_names[] = {
#define X(name, str, help) str,
	SG_COUNTERS(X)
#undef X
};

/* Where a variant's program comes from. */
enum variant_kind {
	VK_FILE,   /* a bench-only build, own engine */
	VK_SKEL,   /* the product object, loaded for an engine */
	VK_LOOKUP, /* bench/bpf/wrap.bpf.c's sg_lookup: no synguard */
};

/*
 * A build of synguard_xdp: the product object (the one the CLI embeds) in
 * either engine, or a bench-only one with a check compiled out, from
 * build/bench/; or the socket lookup alone (no counters).
 */
struct variant {
	const char *name;    /* VK_FILE: synguard-<name>.bpf.o */
	const char *without; /* what is compiled out */
	enum variant_kind kind;
	int engine; /* VK_SKEL: enum sg_engine */
	struct synguard *skel;
	struct bpf_object *obj;
	int prog_fd;
	struct bpf_map *counters;
};

enum {
	V_PRODUCT,
	V_NO_UNICAST,
	V_NO_CSUM,
	V_OWNER_LISTENER,
	V_OWNER_NONE,
	V_NO_FIRST_FLIGHT,
	V_NO_SYN_CHECKS,
	V_KERNEL,
	V_LOOKUP,
	V_ALT, /* --alt FILE: another build of the product, e.g. an older one */
	V_MAX
};

static struct variant variants[V_MAX] = {
	[V_PRODUCT] = {"product", "nothing", VK_SKEL, SG_ENGINE_OWN},
	[V_NO_UNICAST] = {"no-unicast", "the unicast check"},
	[V_NO_CSUM] = {"no-csum", "the checksum check"},
	[V_OWNER_LISTENER] = {"owner-listener",
			      "the socket lookup (a listener assumed)"},
	[V_OWNER_NONE] = {"owner-none", "the socket lookup (none assumed)"},
	[V_NO_FIRST_FLIGHT] = {"no-first-flight",
			       "the first-flight lookup and update"},
	[V_NO_SYN_CHECKS] = {"no-syn-checks",
			     "unicast, checksums and the socket lookup"},
	[V_KERNEL] = {"kernel", "nothing", VK_SKEL, SG_ENGINE_KERNEL},
	[V_LOOKUP] = {"lookup", "everything but the socket lookup", VK_LOOKUP},
	[V_ALT] = {"alt", "the build given with --alt"},
};

static struct wrap *wr;
static int wrap_fd, floor_fd, ncpus;
static int repeat = 1000000, runs = 7;
static const char *only;     /* --only: a glob of the classes to measure */
static const char *alt_path; /* --alt: the object of V_ALT */
static int errors;
static struct sg_keys keys; /* the same in every build: one cookie fits all */

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

static int map_set(struct variant *v, const char *name, const void *val,
		   size_t sz)
{
	struct bpf_map *m = bpf_object__find_map_by_name(v->obj, name);
	__u32 zero = 0;

	if (!m)
		return -1;
	return bpf_map__update_elem(m, &zero, sizeof(zero), val, sz, BPF_ANY);
}

static int sg_setup_maps(struct variant *v)
{
	/*
	 * The defaults `synguard attach` installs, with this namespace's TCP
	 * taking every option (the default sysctls), except that cookies are
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
		.wscale_prev = SG_DEFAULT_WSCALE,
		.ttl = SG_DEFAULT_TTL,
		.ecn = SG_DEFAULT_ECN,
		.tcp_sysctl = SG_SYSCTL_ALL,
		.cookies = SG_COOKIES_ALWAYS,
		.reflection_drop = SG_DEFAULT_REFLECTION_DROP,
		.src_prefix4 = SG_DEFAULT_SRC_PREFIX4,
		.src_prefix6 = SG_DEFAULT_SRC_PREFIX6,
		.cookie_lifetime = SG_DEFAULT_LIFETIME,
		.syn_rate_on = SG_DEFAULT_SYN_RATE_ON,
		.syn_rate_off = SG_DEFAULT_SYN_RATE_OFF,
		.hold_time = SG_DEFAULT_HOLD_TIME,
	};
	static struct sg_port_map ports;

	/* The kernel engine: tcp_timestamps is 2, as attach sets it
	 * (kengine_sysctls_set() in setup), and attach says so. */
	if (v->kind == VK_SKEL && v->engine == SG_ENGINE_KERNEL)
		cfg.tcp_sysctl |= SG_SYSCTL_TS_RAW;
	/* 80 (listeners) and 443 (none) protected, 8080 not. */
	memset(&ports, 0, sizeof(ports));
	ports.port[80] = SG_PORT_PROTECTED;
	ports.port[443] = SG_PORT_PROTECTED;
	if (map_set(v, "sg_config", &cfg, sizeof(cfg)) ||
	    map_set(v, "sg_keys", &keys, sizeof(keys)) ||
	    map_set(v, "sg_port_map", &ports, sizeof(ports)))
		return -1;
	return 0;
}

static int read_counters(const struct variant *v, __u64 *out)
{
	__u64 vals[ncpus];
	__u32 k;
	int c;

	for (k = 0; k < SG_CNT_MAX; k++) {
		out[k] = 0;
		/* The lookup alone has none: every counter stays 0. */
		if (!v->counters)
			continue;
		if (bpf_map__lookup_elem(v->counters, &k, sizeof(k), vals,
					 sizeof(vals), 0))
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

/* ACK classes are built from a fresh SYN-ACK right before they run. */
enum ack_kind {
	ACK_NONE,
	ACK_COOKIE, /* the client's valid ACK */
	ACK_FLOOD,  /* a wrong cookie of another connection (ACK flood) */
	ACK_FLIGHT, /* the client's next segment, after its valid ACK */
};

struct pclass {
	const char *name;
	const char *desc;
	const char *check; /* with alt: the check the alt build lacks */
	const char *own; /* kernel engine: the own engine's class to compare */
	struct variant *v, *alt;
	uint8_t frame[PKT_BUF_SIZE];
	int len;
	int rep;	  /* repetitions per run */
	int verdict;	  /* expected verdict of synguard */
	int cnt[MAX_CNT]; /* counters that move by repeat, -1 terminated */
	/* The alt build's, when they differ (the own engine beside the
	 * kernel engine); else the alt build moves cnt. */
	int alt_cnt[MAX_CNT];
	bool alt_own_cnt;
	bool writes;	  /* synguard rewrites the frame: no direct run */
	bool synack;	  /* output must be a SYN-ACK */
	double target;	  /* ratio to the floor to report against; 0 none */
	enum ack_kind ack;
	struct pkt_spec syn; /* ACK classes: the SYN they answer */
	/* Frames run once, unmeasured, before each measured run: the SYN
	 * keeps "a cookie went out lately" true, the valid ACK the
	 * first-flight entry. */
	uint8_t prime[MAX_PRIME][PKT_BUF_SIZE];
	int prime_len[MAX_PRIME], nprime;
	/* results */
	double floor_ns, wfloor_ns, wsg_ns, direct_ns, cost_ns, ratio;
	double cost_min, cost_max;
	double alt_ns, delta_ns, delta_min, delta_max;
	__u32 k_floor, k_wfloor, k_wsg;
	bool failed;
};

#define MAX_CLASSES 56
static struct pclass classes[MAX_CLASSES];
static int nclasses;

static struct pclass *add_frame(const char *name, const char *desc,
				const uint8_t *frame, int len, int verdict,
				int c1, int c2)
{
	struct pclass *c = &classes[nclasses];

	if (nclasses >= MAX_CLASSES || len < 0 || len > PKT_BUF_SIZE) {
		err("%s: no room or no frame", name);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->desc = desc;
	c->v = &variants[V_PRODUCT];
	c->rep = repeat;
	memcpy(c->frame, frame, len);
	c->len = len;
	c->verdict = verdict;
	c->cnt[0] = c1;
	c->cnt[1] = c2;
	c->cnt[2] = -1;
	nclasses++;
	return c;
}

static struct pclass *add_class(const char *name, const char *desc,
				const struct pkt_spec *s, int verdict, int c1,
				int c2)
{
	uint8_t buf[PKT_BUF_SIZE];

	return add_frame(name, desc, buf, pkt_build(s, buf, sizeof(buf)),
			 verdict, c1, c2);
}

/* A SYN synguard answers; target: the product's ratio to beat. */
static struct pclass *add_syn(const char *name, const char *desc,
			      const struct pkt_spec *s, double target)
{
	struct pclass *c = add_class(name, desc, s, XDP_TX, SG_CNT_SYN_RECEIVED,
				     SG_CNT_SYNACK_SENT);

	if (c) {
		c->writes = c->synack = true;
		c->target = target;
	}
	return c;
}

/* The same frame and expectations as c, product against the alt build. */
static void add_check(const char *check, const struct pclass *c, int alt)
{
	struct pclass *k;

	if (!c || nclasses >= MAX_CLASSES) {
		err("%s: no class to measure it on", check);
		return;
	}
	k = &classes[nclasses++];
	*k = *c;
	k->check = check;
	k->alt = &variants[alt];
	k->target = 0;
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
 * A valid cookie ACK: run build v once on the SYN (no wrapper needed for
 * one run), take the cookie and our TSval from its SYN-ACK, and answer it
 * as the client would. Every own-engine build holds the same key: it is
 * valid for all of them. The kernel engine's cookie is the kernel's.
 */
static int cookie_ack(const struct variant *v, const struct pkt_spec *syn,
		      struct pkt_spec *ack)
{
	static struct result r;
	uint8_t in[PKT_BUF_SIZE];
	const uint8_t *ts;
	struct pkt_offs off;
	uint32_t cookie, our_tsval = 0;
	int len, dlen;

	len = pkt_build(syn, in, sizeof(in));
	if (len < 0 || test_run(v->prog_fd, in, len, 1, &r) ||
	    r.verdict != XDP_TX)
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

static struct pclass *add_ack(const char *name, const char *desc,
			      const struct pkt_spec *syn, enum ack_kind kind,
			      int variant)
{
	static const int verdict[] = {
		[ACK_COOKIE] = XDP_PASS,
		[ACK_FLOOD] = XDP_DROP,
		[ACK_FLIGHT] = XDP_PASS,
	};
	static const int counter[] = {
		[ACK_COOKIE] = SG_CNT_COOKIE_OK,
		[ACK_FLOOD] = SG_CNT_COOKIE_BAD,
		[ACK_FLIGHT] = SG_CNT_ACK_FIRST_FLIGHT_PASS,
	};
	/* The kernel engine checks the kernel's cookie, and has no
	 * first-flight path (the kernel has the socket by then). */
	static const int kcounter[] = {
		[ACK_COOKIE] = SG_CNT_ACK_KERNEL_COOKIE_PASS,
		[ACK_FLOOD] = SG_CNT_ACK_KERNEL_COOKIE_BAD,
	};
	bool kernel = variant == V_KERNEL;
	uint8_t none[1] = {0};
	struct pclass *c =
		add_frame(name, desc, none, 0, verdict[kind],
			  kernel ? kcounter[kind] : counter[kind], -1);

	if (!c)
		return NULL;
	c->v = &variants[variant];
	c->ack = kind;
	c->syn = *syn;
	/* The own engine's cookie ACK carries metadata out: the wrapper
	 * restores it. The kernel engine's leaves the frame alone. */
	c->writes = kind == ACK_COOKIE && !kernel;
	/* A first-flight entry lasts 1 s of wall time: runs well within. */
	if (kind == ACK_FLIGHT)
		c->rep = repeat / 10;
	return c;
}

/*
 * The ACK frames, and the frames that prime each run, from a cookie made
 * just now: a cookie made at the start would expire during a long run.
 */
static int build_ack(struct pclass *c)
{
	/* As long as the wrapper's frame allows: a segment of data. */
	static const uint8_t payload[100];
	struct pkt_spec a;

	if (cookie_ack(c->v, &c->syn, &a))
		return -1;
	c->nprime = 0;
	c->prime_len[c->nprime] =
		pkt_build(&c->syn, c->prime[c->nprime], PKT_BUF_SIZE);
	c->nprime++;
	switch (c->ack) {
	case ACK_FLOOD:
		/* Another connection: not the one of the first-flight
		 * entry the cookie class leaves, as in a real flood; the
		 * ack a wrong MAC with the same time and key bits. */
		a.sport++;
		a.ack ^= 0x5a5a5000;
		break;
	case ACK_FLIGHT:
		c->prime_len[c->nprime] =
			pkt_build(&a, c->prime[c->nprime], PKT_BUF_SIZE);
		c->nprime++;
		a.seq += sizeof(payload);
		a.payload = payload;
		a.payload_len = sizeof(payload);
		break;
	default:
		break;
	}
	c->len = pkt_build(&a, c->frame, sizeof(c->frame));
	return c->len < 0 || c->prime_len[0] < 0 ||
			       (c->nprime > 1 && c->prime_len[1] < 0)
		       ? -1
		       : 0;
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
 * One measured run of build v (wrapped: fd is the wrapper's; direct: v's
 * own): the verdict, the counters (exactly the repetitions in each
 * expected slot, 0 elsewhere) and the output.
 */
static int run_sg(struct pclass *c, const struct variant *v, int fd,
		  struct result *r)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX], want[SG_CNT_MAX] = {};
	static struct result pr;
	const int *cnt;
	int k, rc;

	for (k = 0; k < c->nprime; k++)
		if (test_run(v->prog_fd, c->prime[k], c->prime_len[k], 1,
			     &pr)) {
			err("%s: priming run failed", c->name);
			return -1;
		}
	if (read_counters(v, before))
		return -1;
	rc = test_run(fd, c->frame, c->len, c->rep, r);
	if (rc) {
		err("%s (%s): BPF_PROG_TEST_RUN: %s", c->name, v->name,
		    strerror(-rc));
		return -1;
	}
	if (read_counters(v, after))
		return -1;
	if (r->verdict != c->verdict) {
		err("%s (%s): verdict %s, want %s", c->name, v->name,
		    verdict_name(r->verdict), verdict_name(c->verdict));
		rc = -1;
	}
	cnt = v == c->alt && c->alt_own_cnt ? c->alt_cnt : c->cnt;
	for (k = 0; k < MAX_CNT && cnt[k] >= 0; k++)
		want[cnt[k]] += c->rep;
	for (k = 0; k < SG_CNT_MAX; k++) {
		if (after[k] - before[k] == want[k])
			continue;
		err("%s (%s): counter %s moved by %llu, want %llu", c->name,
		    v->name, counter_names[k],
		    (unsigned long long)(after[k] - before[k]),
		    (unsigned long long)want[k]);
		rc = -1;
	}
	if (c->synack && !synack_ok(r)) {
		err("%s (%s): output is not a SYN-ACK with valid checksums",
		    c->name, v->name);
		pkt_hexdump(stderr, "output", r->out, r->out_len);
		rc = -1;
	}
	return rc;
}

/* Build v wrapped: the wrapper tail-calls it. */
static int run_wrapped(struct pclass *c, const struct variant *v,
		       struct result *r)
{
	return set_target(v->prog_fd) || run_sg(c, v, wrap_fd, r);
}

static int run_floor(struct pclass *c, int fd, struct result *r)
{
	int rc = test_run(fd, c->frame, c->len, c->rep, r);

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

/* Sorts v. */
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
 * computed within the round, and the median taken over rounds. With an
 * alt build, it runs in the same round, first in every other round, and
 * the check's cost is the median of the per-round differences.
 */
static void measure(struct pclass *c)
{
	double fl[MAX_RUNS], wf[MAX_RUNS], ws[MAX_RUNS], di[MAX_RUNS],
		cost[MAX_RUNS], wa[MAX_RUNS], delta[MAX_RUNS];
	__u32 kf[MAX_RUNS], kwf[MAX_RUNS], kws[MAX_RUNS];
	static struct result r;
	int i;

	if (c->ack && build_ack(c)) {
		err("%s: cannot build the ACK from a SYN-ACK", c->name);
		goto fail;
	}
	if (set_frame(c->frame, c->len)) {
		err("%s: cannot store the frame for the wrapper", c->name);
		goto fail;
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
		if (c->alt && i % 2) {
			if (run_wrapped(c, c->alt, &r))
				goto fail;
			wa[i] = r.ns;
		}
		if (run_wrapped(c, c->v, &r))
			goto fail;
		ws[i] = r.ns;
		kws[i] = r.kernel_ns;
		if (c->alt && !(i % 2)) {
			if (run_wrapped(c, c->alt, &r))
				goto fail;
			wa[i] = r.ns;
		}
		if (!c->writes && !c->alt) {
			if (run_sg(c, c->v, c->v->prog_fd, &r))
				goto fail;
			di[i] = r.ns;
		}
		cost[i] = ws[i] - wf[i] + fl[i];
		if (c->alt) {
			delta[i] = ws[i] - wa[i];
			wa[i] = wa[i] - wf[i] + fl[i];
		}
	}
	c->floor_ns = median(fl, runs);
	c->wfloor_ns = median(wf, runs);
	c->wsg_ns = median(ws, runs);
	c->direct_ns = c->writes || c->alt ? 0 : median(di, runs);
	c->cost_ns = median(cost, runs);
	c->cost_min = cost[0];
	c->cost_max = cost[runs - 1]; /* sorted by median() */
	c->ratio = c->cost_ns / c->floor_ns;
	c->k_floor = median_u32(kf, runs);
	c->k_wfloor = median_u32(kwf, runs);
	c->k_wsg = median_u32(kws, runs);
	if (c->alt) {
		c->alt_ns = median(wa, runs);
		c->delta_ns = median(delta, runs);
		c->delta_min = delta[0];
		c->delta_max = delta[runs - 1];
	}
	return;
fail:
	c->failed = true;
}

/* ---- output ---- */

/* Rows of the kernel engine's table: that engine, or the lookup alone. */
static bool kernel_row(const struct pclass *c)
{
	return c->v == &variants[V_KERNEL] || c->v == &variants[V_LOOKUP];
}

/* The own engine's class of that name (not a check's row), or NULL. */
static const struct pclass *own_class(const char *name)
{
	int i;

	for (i = 0; name && i < nclasses; i++)
		if (!classes[i].alt && !kernel_row(&classes[i]) &&
		    !strcmp(classes[i].name, name))
			return &classes[i];
	return NULL;
}

static void print_table(FILE *f)
{
	int i;

	fprintf(f,
		"\nPer-packet cost of synguard_xdp (BPF_PROG_TEST_RUN, repeat "
		"%d, median of %d rounds)\n"
		"cost = wrapped synguard - wrapped floor + floor; floor = swap "
		"MACs + XDP_TX\n\n",
		repeat, runs);
	fprintf(f, "%-13s %-8s %8s %9s %7s %7s %9s  %s\n", "class", "verdict",
		"floor ns", "synguard", "ratio", "target", "direct ns",
		"packet");
	for (i = 0; i < nclasses; i++) {
		const struct pclass *c = &classes[i];
		char target[16] = "-", direct[16] = "-";

		if (c->alt || kernel_row(c))
			continue;
		if (c->failed) {
			fprintf(f, "%-13s FAILED (see the errors above)\n",
				c->name);
			continue;
		}
		if (c->target > 0)
			snprintf(target, sizeof(target), "%s%.0fx",
				 c->ratio <= c->target ? "<=" : "> ",
				 c->target);
		if (!c->writes)
			snprintf(direct, sizeof(direct), "%.1f", c->direct_ns);
		fprintf(f, "%-13s %-8s %8.1f %9.1f %6.2fx %7s %9s  %s\n",
			c->name, verdict_name(c->verdict), c->floor_ns,
			c->cost_ns, c->ratio, target, direct, c->desc);
	}
	fprintf(f, "\n'direct ns': synguard run without the wrapper, only for "
		   "classes that leave the frame unchanged: a check of the "
		   "subtraction.\n");

	fprintf(f,
		"\nThe kernel engine (--engine kernel), and the socket lookup "
		"alone (lookup4/6:\nfloor + bpf_skc_lookup_tcp of the SYN's "
		"listener; lookup ns = cost - floor). own ns:\nthe own engine "
		"on the same frame: with a range, in the same rounds, and\n"
		"kernel - own = the median of the per-round differences "
		"(min..max);\nwithout, the own engine's class above\n\n");
	fprintf(f, "%-13s %-8s %8s %9s %7s %8s %22s %9s  %s\n", "class",
		"verdict", "floor ns", "cost ns", "ratio", "own ns",
		"kernel - own ns", "lookup ns", "packet");
	for (i = 0; i < nclasses; i++) {
		const struct pclass *c = &classes[i];
		const struct pclass *o = own_class(c->own);
		char own[16] = "-", diff[40] = "-", look[16] = "-";

		if (!kernel_row(c))
			continue;
		if (c->failed) {
			fprintf(f, "%-13s FAILED (see the errors above)\n",
				c->name);
			continue;
		}
		if (c->alt) {
			snprintf(own, sizeof(own), "%.1f", c->alt_ns);
			snprintf(diff, sizeof(diff), "%+.1f (%.1f..%.1f)",
				 c->delta_ns, c->delta_min, c->delta_max);
		} else if (o && !o->failed) {
			snprintf(own, sizeof(own), "%.1f", o->cost_ns);
			snprintf(diff, sizeof(diff), "%+.1f",
				 c->cost_ns - o->cost_ns);
		}
		if (c->v == &variants[V_LOOKUP])
			snprintf(look, sizeof(look), "%.1f",
				 c->cost_ns - c->floor_ns);
		fprintf(f, "%-13s %-8s %8.1f %9.1f %6.2fx %8s %22s %9s  %s\n",
			c->name, verdict_name(c->verdict), c->floor_ns,
			c->cost_ns, c->ratio, own, diff, look, c->desc);
	}

	fprintf(f,
		"\nWhat each check costs: the class on the product object and "
		"on a bench-only\nbuild without the check, in the same rounds; "
		"check = median of the per-round\ndifferences (min..max), "
		"ratio = check / floor\n\n");
	fprintf(f, "%-26s %-13s %8s %8s %8s %14s %7s\n", "check", "class",
		"floor ns", "with", "without", "check ns", "ratio");
	for (i = 0; i < nclasses; i++) {
		const struct pclass *c = &classes[i];
		char range[32];

		if (!c->alt || kernel_row(c))
			continue;
		if (c->failed) {
			fprintf(f,
				"%-26s %-13s FAILED (see the errors above)\n",
				c->check, c->name);
			continue;
		}
		snprintf(range, sizeof(range), "%.1f (%.1f..%.1f)", c->delta_ns,
			 c->delta_min, c->delta_max);
		fprintf(f, "%-26s %-13s %8.1f %8.1f %8.1f %14s %6.2fx\n",
			c->check, c->name, c->floor_ns, c->cost_ns, c->alt_ns,
			range, c->delta_ns / c->floor_ns);
	}
}

/* A number, or null when it does not apply. */
static const char *num_or_null(char *buf, size_t n, bool have, double v)
{
	if (!have)
		return "null";
	snprintf(buf, n, "%.2f", v);
	return buf;
}

/* The engine of a class's program; "none" for the lookup alone. */
static const char *engine_name(const struct pclass *c)
{
	if (c->v == &variants[V_LOOKUP])
		return "none";
	return c->v == &variants[V_KERNEL] ? "kernel" : "own";
}

static void print_json(FILE *f)
{
	char tb[32], db[32], ob[32];
	int i;

	fprintf(f,
		"{\n  \"repeat\": %d,\n  \"rounds\": %d,\n  \"classes\": [\n",
		repeat, runs);
	for (i = 0; i < nclasses; i++) {
		const struct pclass *c = &classes[i];

		fprintf(f,
			"    {\"class\": \"%s\", \"desc\": \"%s\", \"ok\": %s, "
			"\"verdict\": \"%s\", \"repeat\": %d, "
			"\"floor_ns\": %.2f, "
			"\"wrapped_floor_ns\": %.2f, \"wrapped_synguard_ns\": "
			"%.2f, "
			"\"synguard_ns\": %.2f, \"synguard_ns_min\": %.2f, "
			"\"synguard_ns_max\": %.2f, \"ratio\": %.3f, "
			"\"target_ratio\": %s, \"direct_ns\": %s, "
			"\"kernel_ns\": {\"floor\": %u, \"wrapped_floor\": %u, "
			"\"wrapped_synguard\": %u}",
			c->name, c->desc, c->failed ? "false" : "true",
			verdict_name(c->verdict), c->rep, c->floor_ns,
			c->wfloor_ns, c->wsg_ns, c->cost_ns, c->cost_min,
			c->cost_max, c->ratio,
			num_or_null(tb, sizeof(tb), c->target > 0, c->target),
			num_or_null(db, sizeof(db), !c->writes && !c->alt,
				    c->direct_ns),
			c->k_floor, c->k_wfloor, c->k_wsg);
		if (c->alt && kernel_row(c))
			fprintf(f,
				", \"own_same_rounds_ns\": %.2f, "
				"\"minus_own_ns\": %.2f, \"minus_own_ns_min\": "
				"%.2f, \"minus_own_ns_max\": %.2f",
				c->alt_ns, c->delta_ns, c->delta_min,
				c->delta_max);
		else if (c->alt)
			fprintf(f,
				", \"check\": \"%s\", \"without\": \"%s\", "
				"\"without_build\": \"synguard-%s.bpf.o\", "
				"\"without_ns\": %.2f, \"check_ns\": %.2f, "
				"\"check_ns_min\": %.2f, \"check_ns_max\": "
				"%.2f, \"check_ratio\": %.3f",
				c->check, c->alt->without, c->alt->name,
				c->alt_ns, c->delta_ns, c->delta_min,
				c->delta_max, c->delta_ns / c->floor_ns);
		if (c->own)
			snprintf(ob, sizeof(ob), "\"%s\"", c->own);
		fprintf(f, ", \"engine\": \"%s\", \"own_class\": %s",
			engine_name(c), c->own ? ob : "null");
		fprintf(f, "}%s\n", i + 1 < nclasses ? "," : "");
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

/* Opens the product from the skeleton's bytes, the others from objdir. */
static int variant_load(struct variant *v, const char *objdir)
{
	struct bpf_program *prog;
	struct bpf_map *m;
	char path[PATH_MAX];

	if (v->kind == VK_LOOKUP) {
		v->prog_fd = bpf_program__fd(wr->progs.sg_lookup);
		return set_target(v->prog_fd);
	}
	if (v->kind == VK_SKEL) {
		/* As the unit tests load it (tests/lib/engine.c). */
		v->skel = engine_open(v->engine);
		v->obj = v->skel ? v->skel->obj : NULL;
		snprintf(path, sizeof(path), "the product object (%s engine)",
			 v->engine == SG_ENGINE_KERNEL ? "kernel" : "own");
	} else if (v == &variants[V_ALT]) {
		snprintf(path, sizeof(path), "%s", alt_path);
		v->obj = bpf_object__open_file(path, NULL);
	} else {
		snprintf(path, sizeof(path), "%s/synguard-%s.bpf.o", objdir,
			 v->name);
		v->obj = bpf_object__open_file(path, NULL);
	}
	if (!v->obj) {
		fprintf(stderr, "prog_cost: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	/* Never touch bpffs: no pins (as tests/unit/test_xdp.c). The conntrack
	 * lookup on, as attach sets it on a host with conntrack (this one):
	 * ACKs without a socket pay for it in production. engine_open() did
	 * both for the product. */
	bpf_object__for_each_map (m, v->obj) {
		size_t rsz;
		struct synguard__rodata *ro;

		if (v->kind == VK_SKEL)
			break;
		bpf_map__set_pin_path(m, NULL);
		if (!strstr(bpf_map__name(m), ".rodata"))
			continue;
		/* libbpf 1.1 returns it const; before the load it is the
		 * writable image the skeleton also writes through. */
		ro = (struct synguard__rodata *)(uintptr_t)bpf_map__initial_value(
			m, &rsz);
		if (ro && rsz >= sizeof(*ro))
			ro->sg_ct_enabled = 1;
	}
	if (bpf_object__load(v->obj)) {
		fprintf(stderr, "prog_cost: cannot load %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	prog = bpf_object__find_program_by_name(v->obj, "synguard_xdp");
	v->counters = bpf_object__find_map_by_name(v->obj, "sg_counters");
	if (!prog || !v->counters) {
		fprintf(stderr, "prog_cost: %s: no synguard_xdp/sg_counters\n",
			path);
		return -1;
	}
	v->prog_fd = bpf_program__fd(prog);
	if (sg_setup_maps(v)) {
		fprintf(stderr, "prog_cost: %s: cannot fill the maps\n", path);
		return -1;
	}
	/* The prog array takes it only if the types agree: check now. */
	if (set_target(v->prog_fd)) {
		fprintf(stderr,
			"prog_cost: %s: cannot put it in the prog array: %s\n",
			path, strerror(errno));
		return -1;
	}
	return 0;
}

static int setup(int cpu, const char *objdir)
{
	cpu_set_t set;
	int i;

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
	/* The kernel engine's sysctls, as attach sets them and as the unit
	 * tests' kernel_engine group runs (tests/lib/engine.c). The own
	 * engine's XDP program reads no sysctl: its classes cost the same. */
	if (kengine_sysctls_set()) {
		fprintf(stderr,
			"prog_cost: cannot set tcp_syncookies and tcp_timestamps to 2: %s\n",
			strerror(errno));
		return -1;
	}
	/* SYNs are answered only for a local listener: on port 80, as on a
	 * real server; none on 443. They live as long as the process. */
	if (wildcard_listener(4, 80) < 0 || wildcard_listener(6, 80) < 0) {
		fprintf(stderr, "prog_cost: cannot listen on port 80: %s\n",
			strerror(errno));
		return -1;
	}
	libbpf_set_print(libbpf_print);
	wr = wrap__open_and_load();
	if (!wr) {
		fprintf(stderr, "prog_cost: cannot load the wrapper: %s\n",
			strerror(errno));
		return -1;
	}
	wrap_fd = bpf_program__fd(wr->progs.sg_wrap);
	floor_fd = bpf_program__fd(wr->progs.sg_floor);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return -1;
	if (getrandom(keys.key[0], sizeof(keys.key[0]), 0) !=
	    sizeof(keys.key[0]))
		return -1;
	keys.valid[0] = 1;
	keys.current = 0;
	for (i = 0; i < V_MAX; i++)
		if ((i != V_ALT || alt_path) &&
		    variant_load(&variants[i], objdir))
			return -1;
	return set_target(floor_fd);
}

static void usage(const char *p)
{
	fprintf(stderr,
		"usage: %s [--repeat N] [--runs N] [--cpu N] [--objdir DIR] "
		"[--json FILE]\n"
		"  --repeat N   repetitions per BPF_PROG_TEST_RUN (default "
		"%d)\n"
		"  --runs N     interleaved rounds; the median is shown "
		"(default %d)\n"
		"  --cpu N      CPU to run on (default 0)\n"
		"  --objdir DIR the bench-only builds synguard-*.bpf.o "
		"(default: this program's directory)\n"
		"  --json FILE  write the results as JSON too\n"
		"  --alt FILE   run every own-engine class on this build of "
		"synguard_xdp too,\n"
		"               in the same rounds (check = product - FILE)\n"
		"  --only GLOB  measure only the classes whose name matches "
		"(fnmatch)\n",
		p, repeat, runs);
}

/* The directory this program lives in: where make puts the builds. */
static char *exe_dir(void)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return ".";
	buf[n] = '\0';
	return dirname(buf);
}

/* The SYN classes, and what each check costs on them. */
static void syn_classes(void)
{
	struct pclass *s4, *s6, *c;
	struct pkt_offs off;
	struct pkt_spec s;
	int fam;

	pkt_spec_init(&s, 4);
	add_syn("syn4", "IPv4 SYN, no options", &s, 4);
	full_opts(&s, 0x01020304);
	s4 = add_syn("syn4-full", "IPv4 SYN, MSS+SACK+TS+WS", &s, 4);
	s.nvlan = 1;
	s.vlan_tci[0] = 100;
	add_syn("syn4-vlan", "802.1Q, IPv4 SYN, MSS+SACK+TS+WS", &s, 4);
	pkt_spec_init(&s, 6);
	add_syn("syn6", "IPv6 SYN, no options", &s, 4);
	full_opts(&s, 0x01020304);
	s6 = add_syn("syn6-full", "IPv6 SYN, MSS+SACK+TS+WS", &s, 4);

	/* Where the checks end a SYN's path early. */
	pkt_spec_init(&s, 4);
	full_opts(&s, 0x01020304);
	memset(s.eth_dst, 0xff, sizeof(s.eth_dst));
	add_class("syn4-bcast", "IPv4 SYN to the broadcast MAC", &s, XDP_DROP,
		  SG_CNT_SYN_RECEIVED, SG_CNT_SYN_NOT_UNICAST);
	c = s4 ? add_frame("syn4-badsum", "IPv4 SYN, wrong TCP checksum",
			   s4->frame, s4->len, XDP_DROP, SG_CNT_SYN_RECEIVED,
			   SG_CNT_SYN_BAD_CSUM)
	       : NULL;
	if (c && !pkt_offsets(c->frame, c->len, &off))
		c->frame[off.l4_off + 17] ^= 0x01;
	for (fam = 4; fam <= 6; fam += 2) {
		pkt_spec_init(&s, fam);
		full_opts(&s, 0x01020304);
		s.dport = 443;
		c = add_class(fam == 4 ? "syn4-nolisten" : "syn6-nolisten",
			      fam == 4
				      ? "IPv4 SYN, protected port, no listener"
				      : "IPv6 SYN, protected port, no listener",
			      &s, XDP_PASS, SG_CNT_SYN_RECEIVED,
			      SG_CNT_SYN_NO_LISTENER_PASS);
		add_check("socket lookup, no listener", c, V_OWNER_NONE);
	}

	add_check("unicast", s4, V_NO_UNICAST);
	add_check("unicast", s6, V_NO_UNICAST);
	add_check("IPv4 header + TCP checksum", s4, V_NO_CSUM);
	add_check("TCP checksum", s6, V_NO_CSUM);
	add_check("socket lookup, listener", s4, V_OWNER_LISTENER);
	add_check("socket lookup, listener", s6, V_OWNER_LISTENER);
	add_check("all three SYN checks", s4, V_NO_SYN_CHECKS);
	add_check("all three SYN checks", s6, V_NO_SYN_CHECKS);
}

/* The ACK classes, and what the first-flight table costs on them. */
static void ack_classes(void)
{
	struct pclass *ck, *fl;
	struct pkt_spec s;
	int fam;

	for (fam = 4; fam <= 6; fam += 2) {
		pkt_spec_init(&s, fam);
		full_opts(&s, 0x01020304);
		ck = add_ack(fam == 4 ? "ack4-cookie" : "ack6-cookie",
			     fam == 4 ? "IPv4 ACK, valid cookie, TS"
				      : "IPv6 ACK, valid cookie, TS",
			     &s, ACK_COOKIE, V_PRODUCT);
		fl = add_ack(fam == 4 ? "ack4-flood" : "ack6-flood",
			     fam == 4 ? "IPv4 ACK, invalid cookie (ACK flood)"
				      : "IPv6 ACK, invalid cookie (ACK flood)",
			     &s, ACK_FLOOD, V_PRODUCT);
		add_ack(fam == 4 ? "ack4-flight" : "ack6-flight",
			fam == 4 ? "IPv4 2nd segment after a valid ACK"
				 : "IPv6 2nd segment after a valid ACK",
			&s, ACK_FLIGHT, V_PRODUCT);
		add_check("first-flight lookup", fl, V_NO_FIRST_FLIGHT);
		add_check("first-flight update", ck, V_NO_FIRST_FLIGHT);
	}
}

/*
 * The kernel engine (--engine kernel: bpf/kengine.h), each class with the
 * own engine's class of the same frame to compare with; and the socket
 * lookup both engines make for every SYN, alone.
 */
static void kernel_classes(uint16_t p4, uint16_t p6)
{
	static const struct {
		const char *name, *own, *desc;
		int family, full;
	} syns[] = {
		{"ksyn4", "syn4", "kernel engine: IPv4 SYN, no options", 4, 0},
		{"ksyn4-full", "syn4-full",
		 "kernel engine: IPv4 SYN, MSS+SACK+TS+WS", 4, 1},
		{"ksyn6", "syn6", "kernel engine: IPv6 SYN, no options", 6, 0},
		{"ksyn6-full", "syn6-full",
		 "kernel engine: IPv6 SYN, MSS+SACK+TS+WS", 6, 1},
	};
	struct pkt_spec s;
	struct pclass *c;
	size_t i;
	int fam;

	for (i = 0; i < sizeof(syns) / sizeof(syns[0]); i++) {
		pkt_spec_init(&s, syns[i].family);
		if (syns[i].full)
			full_opts(&s, 0x01020304);
		c = add_class(syns[i].name, syns[i].desc, &s, XDP_TX,
			      SG_CNT_SYN_RECEIVED, SG_CNT_SYN_KERNEL_COOKIE);
		if (!c)
			continue;
		c->v = &variants[V_KERNEL];
		c->writes = c->synack = true;
		c->own = syns[i].own;
		/* The own engine on the same frame in the same rounds: a
		 * SYN-ACK too, counted as its own. */
		c->alt = &variants[V_PRODUCT];
		c->alt_own_cnt = true;
		c->alt_cnt[0] = SG_CNT_SYN_RECEIVED;
		c->alt_cnt[1] = SG_CNT_SYNACK_SENT;
		c->alt_cnt[2] = -1;
	}
	for (fam = 4; fam <= 6; fam += 2) {
		pkt_spec_init(&s, fam);
		full_opts(&s, 0x01020304);
		c = add_class(
			fam == 4 ? "lookup4" : "lookup6",
			fam == 4 ? "socket lookup alone: IPv4 SYN's listener"
				 : "socket lookup alone: IPv6 SYN's listener",
			&s, XDP_TX, -1, -1);
		if (c)
			c->v = &variants[V_LOOKUP];
		c = add_ack(
			fam == 4 ? "kack4-cookie" : "kack6-cookie",
			fam == 4 ? "kernel engine: IPv4 ACK, valid cookie, TS"
				 : "kernel engine: IPv6 ACK, valid cookie, TS",
			&s, ACK_COOKIE, V_KERNEL);
		if (c)
			c->own = fam == 4 ? "ack4-cookie" : "ack6-cookie";
		c = add_ack(fam == 4 ? "kack4-flood" : "kack6-flood",
			    fam == 4
				    ? "kernel engine: IPv4 ACK, invalid cookie"
				    : "kernel engine: IPv6 ACK, invalid cookie",
			    &s, ACK_FLOOD, V_KERNEL);
		if (c)
			c->own = fam == 4 ? "ack4-flood" : "ack6-flood";
		established(&s, fam, fam == 4 ? p4 : p6);
		c = add_class(fam == 4 ? "kest4" : "kest6",
			      fam == 4
				      ? "kernel engine: IPv4 data, established"
				      : "kernel engine: IPv6 data, established",
			      &s, XDP_PASS, SG_CNT_ACK_ESTABLISHED_PASS, -1);
		if (c) {
			c->v = &variants[V_KERNEL];
			c->own = fam == 4 ? "est4" : "est6";
			/* The same path in both: the pair shows the noise. */
			c->alt = &variants[V_PRODUCT];
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"repeat", required_argument, NULL, 'r'},
		{"runs", required_argument, NULL, 'n'},
		{"cpu", required_argument, NULL, 'c'},
		{"objdir", required_argument, NULL, 'o'},
		{"json", required_argument, NULL, 'j'},
		{"only", required_argument, NULL, 'O'},
		{"alt", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{}};
	const char *json = NULL, *objdir = NULL;
	int opt, cpu = 0, lfd4, lfd6, cfd4, cfd6, afd4, afd6, i, k;
	uint16_t p4, p6;
	struct pkt_spec s;
	struct pclass *c;

	while ((opt = getopt_long(argc, argv, "r:n:c:o:j:O:A:h", lo, NULL)) !=
	       -1) {
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
		case 'o':
			objdir = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'O':
			only = optarg;
			break;
		case 'A':
			alt_path = optarg;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (repeat < 10000 || runs < 1 || runs > MAX_RUNS) {
		usage(argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup(cpu, objdir ? objdir : exe_dir()))
		return 1;

	/* Connections over loopback for the established-flow classes. */
	if (sock_pair(4, 80, &lfd4, &cfd4, &afd4, &p4) ||
	    sock_pair(6, 80, &lfd6, &cfd6, &afd6, &p6)) {
		fprintf(stderr,
			"prog_cost: cannot listen on port 80 and "
			"connect over loopback: %s\n",
			strerror(errno));
		return 1;
	}

	syn_classes();
	ack_classes();

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
	kernel_classes(p4, p6);

	/* --only: the others are dropped before anything is measured. */
	for (i = 0, k = 0; only && i < nclasses; i++)
		if (!fnmatch(only, classes[i].name, 0))
			classes[k++] = classes[i];
	if (only)
		nclasses = k;
	/* --alt: the product's own classes against that build, paired. */
	for (i = 0; alt_path && i < nclasses; i++)
		if (classes[i].v == &variants[V_PRODUCT] && !classes[i].alt) {
			classes[i].alt = &variants[V_ALT];
			classes[i].check = "product - --alt build";
		}
	for (i = 0; i < nclasses; i++) {
		fprintf(stderr, "measuring %-13s %-28s\r", classes[i].name,
			classes[i].check ? classes[i].check : "");
		measure(&classes[i]);
	}
	fprintf(stderr, "%-50s\r", "");
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
	for (i = 0; i < V_MAX; i++) {
		if (variants[i].skel)
			synguard__destroy(variants[i].skel);
		else
			bpf_object__close(variants[i].obj);
	}
	if (errors)
		fprintf(stderr, "prog_cost: %d check(s) failed\n", errors);
	return errors ? 1 : 0;
}
