// SPDX-License-Identifier: GPL-2.0
/*
 * flood: a SYN (or ACK) flood into one end of a veth pair, generated in the
 * kernel by bench/bpf/flood.bpf.c through BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES and ingress_ifindex: millions of frames a
 * second from one thread, where hping3 manages about 200k.
 *
 * Random source addresses (host bits of a documentation prefix), source
 * ports and sequence numbers (and ack numbers with --ack), correct IPv4 and
 * TCP checksums. Unpaced, or capped at a rate, sent in bursts of a few tens
 * of frames (a burst per BPF_PROG_TEST_RUN call) so that the receiving veth
 * ring does not overflow. Stops by itself after --duration.
 *
 * Only documentation addresses are accepted, for the prefix and the target:
 * 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bench.h"
#include "flood.skel.h"
#include "pkt.h"
#include "ref.h"

#define MAX_THREADS 64
#define MAX_DURATION 600

static struct {
	const char *dev;
	int ifindex;
	int family;
	uint8_t dst[16], prefix[16];
	int prefix_len;
	uint8_t src_mac[6], dst_mac[6];
	bool have_dst_mac;
	uint16_t dport;
	bool ack;
	const char *opts;
	int threads;
	double rate; /* frames/s over all threads, 0 = unpaced */
	int burst;
	double duration;
	bool json;
} arg = {
	.dport = 80,
	.opts = "full",
	.burst = 32,
	.duration = 5,
};

static int prog_fd;
static volatile sig_atomic_t stop;

struct thread {
	pthread_t tid;
	int idx;
	unsigned long long calls;
	unsigned long long errors;
	int last_errno;
};

static struct thread threads[MAX_THREADS];

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "flood: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- addresses ---- */

/* Documentation ranges only (RFC 5737, RFC 3849). */
static bool doc_addr(int family, const uint8_t *a, int plen)
{
	if (family == 4) {
		return plen >= 24 &&
		       ((a[0] == 192 && a[1] == 0 && a[2] == 2) ||
			(a[0] == 198 && a[1] == 51 && a[2] == 100) ||
			(a[0] == 203 && a[1] == 0 && a[2] == 113));
	}
	return plen >= 32 && a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d &&
	       a[3] == 0xb8;
}

static int parse_addr(const char *s, uint8_t *out)
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 6;
	return 0;
}

static void parse_prefix(const char *s)
{
	char buf[64], *slash;
	int fam;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		die("--prefix %s: want ADDR/LEN", s);
	*slash = 0;
	memset(arg.prefix, 0, sizeof(arg.prefix));
	fam = parse_addr(buf, arg.prefix);
	arg.prefix_len = atoi(slash + 1);
	if (!fam || arg.prefix_len < 0 ||
	    arg.prefix_len > (fam == 4 ? 32 : 128))
		die("--prefix %s: not an address/length", s);
	if (arg.family && fam != arg.family)
		die("--prefix %s: not the family of --dst", s);
	if (!doc_addr(fam, arg.prefix, arg.prefix_len))
		die("--prefix %s: only documentation prefixes (192.0.2.0/24, "
		    "198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)",
		    s);
}

static void parse_mac(const char *s, uint8_t *mac)
{
	if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
		   &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		die("%s: not a MAC address", s);
}

static void dev_mac(const char *dev, uint8_t *mac)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		die("%s: cannot read its MAC address: %s", dev,
		    strerror(errno));
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* ---- the template ---- */

/* A folded, uncomplemented sum (host order) as the native 16-bit word the
 * BPF program adds to: its bytes in network order, read natively. */
static uint32_t native_sum(uint16_t folded)
{
	uint8_t b[2] = {folded >> 8, folded & 0xff};
	uint16_t v;

	memcpy(&v, b, 2);
	return v;
}

static void build_cfg(struct flood_cfg *c)
{
	struct pkt_spec s;
	uint8_t buf[PKT_BUF_SIZE];
	int len, seg_len, i, bits;
	uint8_t *l3, *l4;

	pkt_spec_init(&s, arg.family);
	memcpy(s.eth_src, arg.src_mac, 6);
	memcpy(s.eth_dst, arg.dst_mac, 6);
	memset(s.saddr, 0, 16); /* random: zero in the template */
	memcpy(s.daddr, arg.dst, 16);
	s.sport = 0;
	s.dport = arg.dport;
	s.seq = 0;
	s.ack = 0;
	s.ip_id = 0;
	s.tcp_flags = arg.ack ? PKT_TCP_ACK : PKT_TCP_SYN;
	s.tcp_opts_len = 0;
	if (!strcmp(arg.opts, "full")) {
		/* What Linux sends: SYN with MSS, SACK, TS, WS; ACK with TS. */
		if (!arg.ack) {
			pkt_opt_mss(s.tcp_opts, &s.tcp_opts_len,
				    arg.family == 4 ? 1460 : 1440);
			pkt_opt_sackperm(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 0x12345678, 0);
			pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_ws(s.tcp_opts, &s.tcp_opts_len, 7);
		} else {
			pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
			pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 0x12345678,
				   0x9abcdef0);
		}
	} else if (!strcmp(arg.opts, "mss")) {
		pkt_opt_mss(s.tcp_opts, &s.tcp_opts_len,
			    arg.family == 4 ? 1460 : 1440);
	} else if (strcmp(arg.opts, "none")) {
		die("--opts %s: want none, mss or full", arg.opts);
	}
	s.flags = PKT_F_NO_IP_CSUM | PKT_F_NO_L4_CSUM;
	len = pkt_build(&s, buf, sizeof(buf));
	if (len < 0 || len > FLOOD_FRAME_MAX)
		die("cannot build the template frame");
	l3 = buf + FLOOD_L3_OFF;
	l4 = l3 + (arg.family == 4 ? 20 : 40);
	seg_len = len - (l4 - buf);
	/* Padded to the Ethernet minimum (60 without FCS), as a NIC would;
	 * the padding lies outside the IP length, so outside every sum. */
	if (len < FLOOD_FRAME_MIN) {
		memset(buf + len, 0, FLOOD_FRAME_MIN - len);
		len = FLOOD_FRAME_MIN;
	}
	memset(c, 0, sizeof(*c));
	c->len = len;
	c->family = arg.family;
	c->ack_mode = arg.ack;
	memcpy(c->frame, buf, len);

	if (arg.family == 4)
		c->ip_sum = native_sum(~ref_csum(l3, 20));
	c->tcp_sum = native_sum(~ref_l4_csum(arg.family, l3, 6, l4, seg_len));
	/* The prefix and the mask of its host bits, per 32-bit word. */
	for (i = 0; i < 4; i++) {
		uint8_t m[4];
		int b;

		for (b = 0; b < 4; b++) {
			bits = arg.prefix_len - (i * 32 + b * 8);
			m[b] = bits >= 8 ? 0 : bits <= 0 ? 0xff : 0xff >> bits;
		}
		if (arg.family == 4 && i > 0)
			memset(m, 0, 4);
		memcpy(&c->src_mask[i], m, 4);
		memcpy(&c->src_prefix[i], arg.prefix + 4 * i, 4);
		c->src_prefix[i] &= ~c->src_mask[i];
	}
}

/* ---- sending ---- */

/*
 * One call runs for the whole flood (BPF_PROG_TEST_RUN costs tens of ms to
 * set up and tear down here, see bench/bpf/flood.bpf.c); main() ends it
 * with a signal at the deadline, which makes the kernel return EINTR.
 * ITER_PER_S bounds the calls' length should that signal be lost: the
 * program stops sending at end_ns anyway, and a run that sends nothing
 * takes at least ~20 ns.
 */
#define ITER_PER_S 50000000.0

static void *thread_main(void *p)
{
	struct thread *t = p;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	static const uint8_t dummy[64];
	double end = now_s() + arg.duration;
	cpu_set_t set;

	/* One flooder per core: on veth the receive side runs on the
	 * sender's CPU, so this spreads the receiver's load too. */
	CPU_ZERO(&set);
	CPU_SET(t->idx % (ncpu > 0 ? ncpu : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	while (!stop && now_s() < end) {
		/* data_in only sizes the pages: the program writes the whole
		 * frame on every run. The kernel wants the context's
		 * data_end to be the size of data_in. */
		struct xdp_md ctx = {.data_end = sizeof(dummy),
				     .ingress_ifindex = arg.ifindex};
		double left = end - now_s();
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = dummy,
			    .data_size_in = sizeof(dummy), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx),
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = arg.burst < 64 ? arg.burst : 64);

		if (left <= 0)
			break;
		o.repeat = left * ITER_PER_S > 1 << 30
				   ? 1 << 30
				   : (int)(left * ITER_PER_S) + 1024;
		t->calls++;
		if (bpf_prog_test_run_opts(prog_fd, &o) && errno != EINTR) {
			t->errors++;
			t->last_errno = errno;
			if (t->errors > 10)
				break;
		}
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The generator's counts, summed over CPUs. */
static int read_state(struct flood *skel, unsigned long long *sent,
		      unsigned long long *idle, unsigned long long *skipped)
{
	int n = libbpf_num_possible_cpus(), c;
	struct flood_state st[n > 0 ? n : 1];
	__u32 zero = 0;

	if (n <= 0 || bpf_map__lookup_elem(skel->maps.flood_state, &zero,
					   sizeof(zero), st, sizeof(st), 0))
		return -1;
	*sent = *idle = *skipped = 0;
	for (c = 0; c < n; c++) {
		*sent += st[c].sent;
		*idle += st[c].idle;
		*skipped += st[c].skipped;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: flood --dev IFACE --dst ADDR --dst-mac MAC [options]\n"
		"  --dev IFACE      inject as if received on IFACE (one end of "
		"a veth:\n"
		"                   the frames arrive at its peer)\n"
		"  --dst ADDR       target address (IPv4 or IPv6, "
		"documentation range)\n"
		"  --dst-mac MAC    target MAC (the peer's)\n"
		"  --dport PORT     target port (80)\n"
		"  --prefix P/LEN   random sources from this prefix "
		"(203.0.113.0/24,\n"
		"                   2001:db8:f::/48 for IPv6)\n"
		"  --ack            ACK flood with random ack numbers (default "
		"SYN)\n"
		"  --opts KIND      TCP options: none, mss, full "
		"(MSS+SACK+TS+WS; default)\n"
		"  --threads N      sending threads, one per core (default: "
		"cores)\n"
		"  --rate PPS       total rate cap, frames/s (default: "
		"unpaced)\n"
		"  --burst N        frames per burst when paced (32)\n"
		"  --duration S     seconds, at most %d (5)\n"
		"  --json           print the summary as JSON\n",
		MAX_DURATION);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"dev", required_argument, NULL, 'd'},
		{"dst", required_argument, NULL, 'a'},
		{"dst-mac", required_argument, NULL, 'm'},
		{"dport", required_argument, NULL, 'p'},
		{"prefix", required_argument, NULL, 'P'},
		{"ack", no_argument, NULL, 'A'},
		{"opts", required_argument, NULL, 'o'},
		{"threads", required_argument, NULL, 't'},
		{"rate", required_argument, NULL, 'r'},
		{"burst", required_argument, NULL, 'b'},
		{"duration", required_argument, NULL, 'D'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{}};
	const char *prefix = NULL;
	unsigned long long sent = 0, errors = 0, late = 0, calls = 0, idle = 0;
	struct sigaction sa = {};
	struct timespec mono;
	struct flood *skel;
	struct flood_cfg cfg;
	char pfx[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	double t0, el;
	__u32 zero = 0;
	int opt, i, last_errno = 0;

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'd':
			arg.dev = optarg;
			break;
		case 'a':
			arg.family = parse_addr(optarg, arg.dst);
			if (!arg.family)
				die("--dst %s: not an address", optarg);
			break;
		case 'm':
			parse_mac(optarg, arg.dst_mac);
			arg.have_dst_mac = true;
			break;
		case 'p':
			arg.dport = atoi(optarg);
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'A':
			arg.ack = true;
			break;
		case 'o':
			arg.opts = optarg;
			break;
		case 't':
			arg.threads = atoi(optarg);
			break;
		case 'r':
			arg.rate = atof(optarg);
			break;
		case 'b':
			arg.burst = atoi(optarg);
			break;
		case 'D':
			arg.duration = atof(optarg);
			break;
		case 'j':
			arg.json = true;
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!arg.dev || !arg.family || !arg.have_dst_mac) {
		usage();
		return 2;
	}
	if (!doc_addr(arg.family, arg.dst, arg.family == 4 ? 32 : 128))
		die("--dst: only documentation addresses");
	parse_prefix(prefix	       ? prefix
		     : arg.family == 4 ? "203.0.113.0/24"
				       : "2001:db8:f::/48");
	if (arg.duration <= 0 || arg.duration > MAX_DURATION)
		die("--duration: between 0 and %d seconds", MAX_DURATION);
	if (arg.burst < 1 || arg.burst > 256)
		die("--burst: 1 to 256 frames");
	if (arg.rate < 0)
		die("--rate: not negative");
	if (arg.threads <= 0)
		arg.threads = sysconf(_SC_NPROCESSORS_ONLN);
	if (arg.threads < 1 || arg.threads > MAX_THREADS)
		die("--threads: 1 to %d", MAX_THREADS);
	arg.ifindex = if_nametoindex(arg.dev);
	if (!arg.ifindex)
		die("%s: no such interface in this network namespace", arg.dev);
	dev_mac(arg.dev, arg.src_mac);

	build_cfg(&cfg);
	if (arg.rate > 0) {
		/* Per CPU: threads are pinned round-robin, each CPU's runs
		 * share one bucket. */
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		int used = arg.threads < ncpu ? arg.threads : (int)ncpu;

		cfg.burst = arg.burst;
		cfg.gap_ns = 1e9 * arg.burst / (arg.rate / used);
		/* Up to 1 ms of bursts may be made up at once: a short
		 * preemption costs nothing, a long one is reported. */
		cfg.catchup_ns = 1000000;
	}
	skel = flood__open_and_load();
	if (!skel)
		die("cannot load the generator program: %s (run as root)",
		    strerror(errno));
	prog_fd = bpf_program__fd(skel->progs.flood);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	cfg.end_ns =
		(mono.tv_sec + arg.duration) * 1000000000ULL + mono.tv_nsec;
	if (bpf_map__update_elem(skel->maps.flood_cfg, &zero, sizeof(zero),
				 &cfg, sizeof(cfg), BPF_ANY))
		die("cannot store the template: %s", strerror(errno));

	/* No SA_RESTART: a signal must end the running BPF_PROG_TEST_RUN. */
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	t0 = now_s();
	for (i = 0; i < arg.threads; i++) {
		threads[i].idx = i;
		if (pthread_create(&threads[i].tid, NULL, thread_main,
				   &threads[i]))
			die("cannot start thread %d", i);
	}
	/* Sleep until the deadline (or a signal), then interrupt every
	 * thread's call; repeat until they are all gone. */
	while (!stop && now_s() < t0 + arg.duration) {
		double d = t0 + arg.duration - now_s();
		struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};

		nanosleep(&ts, NULL);
	}
	stop = 1;
	for (i = 0; i < arg.threads; i++) {
		while (pthread_tryjoin_np(threads[i].tid, NULL) == EBUSY) {
			struct timespec ts = {0, 10000000};

			pthread_kill(threads[i].tid, SIGUSR1);
			nanosleep(&ts, NULL);
		}
		errors += threads[i].errors;
		calls += threads[i].calls;
		if (threads[i].last_errno)
			last_errno = threads[i].last_errno;
	}
	el = now_s() - t0;
	if (read_state(skel, &sent, &idle, &late))
		die("cannot read the generator's counts: %s", strerror(errno));
	flood__destroy(skel);

	inet_ntop(arg.family == 4 ? AF_INET : AF_INET6, arg.prefix, pfx,
		  sizeof(pfx));
	inet_ntop(arg.family == 4 ? AF_INET : AF_INET6, arg.dst, dst,
		  sizeof(dst));
	if (arg.json) {
		printf("{\"mode\": \"%s\", \"family\": %d, \"prefix\": "
		       "\"%s/%d\", "
		       "\"dst\": \"%s\", \"dport\": %u, \"opts\": \"%s\", "
		       "\"dev\": \"%s\", \"threads\": %d, \"rate_cap\": %.0f, "
		       "\"burst\": %d, \"seconds\": %.3f, \"frames\": %llu, "
		       "\"pps\": %.0f, \"calls\": %llu, \"errors\": %llu, "
		       "\"skipped\": %llu, \"idle_runs\": %llu}\n",
		       arg.ack ? "ack" : "syn", arg.family, pfx, arg.prefix_len,
		       dst, arg.dport, arg.opts, arg.dev, arg.threads, arg.rate,
		       arg.burst, el, sent, sent / el, calls, errors, late,
		       idle);
	} else {
		printf("flood: %s IPv%d from %s/%d to %s:%u (options %s) via "
		       "%s: "
		       "%d thread(s), %s",
		       arg.ack ? "ACK" : "SYN", arg.family, pfx, arg.prefix_len,
		       dst, arg.dport, arg.opts, arg.dev, arg.threads,
		       arg.rate > 0 ? "" : "unpaced");
		if (arg.rate > 0)
			printf("capped at %.0f frames/s in bursts of %d",
			       arg.rate, arg.burst);
		printf("\nflood: %llu frames in %.2f s = %.0f frames/s offered "
		       "(%llu frames skipped when behind, %llu idle runs, "
		       "%llu errors)\n",
		       sent, el, sent / el, late, idle, errors);
		if (errors)
			printf("flood: last error: %s\n", strerror(last_errno));
	}
	return errors && !sent ? 1 : 0;
}
