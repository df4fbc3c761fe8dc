// SPDX-License-Identifier: GPL-2.0
/*
 * tcpping: the legitimate traffic of the end-to-end benchmark.
 *
 *   tcpping server --port P [--seconds S]
 *	accepts on [::]:P (IPv4 too); on each connection reads one byte,
 *	answers one byte, closes (2 s at most a connection, many at once);
 *	exits after S seconds (default 600) at the latest.
 *
 *   tcpping client --addr A --port P [--count N] [--timeout-ms T]
 *		    [--budget-ms B]
 *	N sequential connections (default 200), each: connect, send one byte,
 *	wait for the one-byte answer, close. A connection succeeds if the
 *	answer arrives within T ms (default 2000: one SYN retransmission, at
 *	1 s, may happen) of the connect. Stops early after B ms in all
 *	(default: no limit); connections not tried count as failed. Prints
 *	one JSON object: success counts, and of the successful ones the
 *	connect latency (connect() to established) and the total (to the
 *	answer), p50/p99/max in microseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Waits for events on fd until the absolute deadline; 1 if they came. */
static int wait_fd(int fd, short events, double deadline_us)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		double left = deadline_us - now_us();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&p, 1, (int)ceil(left / 1000));
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * Serves many connections at once, as a real server does: a connection that
 * never sends its byte (a spoofed one some defense let through) must not
 * hold up the others. Each gets 2 s.
 */
#define MAX_CONNS 1024

static int server(int port, int seconds)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6,
				 .sin6_port = htons(port),
				 .sin6_addr = IN6ADDR_ANY_INIT};
	static struct pollfd pfd[MAX_CONNS + 1];
	static double deadline[MAX_CONNS + 1];
	int one = 1, zero = 0, lfd, n = 1, i;
	double end = now_us() + seconds * 1e6;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0)
		return perror("socket"), 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Dual stack: IPv4 clients arrive as ::ffff:a.b.c.d. */
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/* The usual server backlog (nginx's default). */
	if (bind(lfd, (void *)&a, sizeof(a)) || listen(lfd, 511))
		return perror("bind/listen"), 1;
	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	while (!stop && now_us() < end) {
		double now;

		if (poll(pfd, n, 100) < 0 && errno != EINTR)
			break;
		now = now_us();
		for (i = n - 1; i >= 1; i--) {
			char c;
			int done = now > deadline[i];

			if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) {
				/* One byte in, one byte out. */
				if (read(pfd[i].fd, &c, 1) == 1 &&
				    write(pfd[i].fd, &c, 1) != 1)
					c = 0;
				done = 1;
			}
			if (done) {
				close(pfd[i].fd);
				pfd[i] = pfd[--n];
				deadline[i] = deadline[n];
			}
		}
		while (n <= MAX_CONNS && (pfd[0].revents & POLLIN)) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

			if (fd < 0)
				break;
			pfd[n].fd = fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			deadline[n++] = now + 2e6;
		}
	}
	for (i = 0; i < n; i++)
		close(pfd[i].fd);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static double pct(const double *v, int n, double p)
{
	int k;

	if (!n)
		return 0;
	k = (int)ceil(p / 100 * n) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

enum fail_reason { F_CONNECT_TIMEOUT, F_REFUSED, F_REPLY, F_OTHER, F_MAX };

static int one_conn(const struct sockaddr_storage *ss, socklen_t sl,
		    int timeout_ms, double *connect_us, double *total_us)
{
	double t0 = now_us(), deadline = t0 + timeout_ms * 1000.0;
	int fd, err = 0, rc = F_OTHER;
	socklen_t el = sizeof(err);
	char c = 'x';

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return F_OTHER;
	if (connect(fd, (const void *)ss, sl) && errno != EINPROGRESS)
		goto out;
	if (wait_fd(fd, POLLOUT, deadline) <= 0) {
		rc = F_CONNECT_TIMEOUT;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		rc = err == ECONNREFUSED ? F_REFUSED
		     : err == ETIMEDOUT	 ? F_CONNECT_TIMEOUT
					 : F_OTHER;
		goto out;
	}
	*connect_us = now_us() - t0;
	rc = F_REPLY;
	if (write(fd, &c, 1) != 1)
		goto out;
	if (wait_fd(fd, POLLIN, deadline) <= 0 || read(fd, &c, 1) != 1)
		goto out;
	*total_us = now_us() - t0;
	rc = -1; /* success */
out:
	/* RST on close: 200 connections must not leave TIME_WAIT state
	 * behind to change the next defense's run. */
	{
		struct linger l = {1, 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(fd);
	return rc;
}

static int client(const char *addr, int port, int count, int timeout_ms,
		  int budget_ms)
{
	static const char *const fnames[F_MAX] = {"connect_timeout", "refused",
						  "no_reply", "other"};
	struct sockaddr_storage ss = {};
	int i, ok = 0, tried = 0, fails[F_MAX] = {};
	double *lat = calloc(count, sizeof(double)), t0 = now_us();
	double *tot = calloc(count, sizeof(double));
	socklen_t sl;

	if (!lat || !tot)
		return 1;
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) ==
	    1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, addr,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "tcpping: %s: not an address\n", addr);
		return 2;
	}
	for (i = 0; i < count; i++) {
		double c_us = 0, t_us = 0;
		int rc;

		if (budget_ms && now_us() - t0 > budget_ms * 1000.0)
			break;
		tried++;
		rc = one_conn(&ss, sl, timeout_ms, &c_us, &t_us);
		if (rc < 0) {
			tot[ok] = t_us;
			lat[ok++] = c_us;
		} else {
			fails[rc]++;
		}
	}
	qsort(lat, ok, sizeof(double), cmp_double);
	qsort(tot, ok, sizeof(double), cmp_double);
	printf("{\"count\": %d, \"tried\": %d, \"ok\": %d, \"failed\": %d, "
	       "\"success\": %.4f, \"seconds\": %.3f, ",
	       count, tried, ok, count - ok, (double)ok / count,
	       (now_us() - t0) / 1e6);
	for (i = 0; i < F_MAX; i++)
		printf("\"%s\": %d, ", fnames[i], fails[i]);
	printf("\"connect_us\": {\"p50\": %.1f, \"p99\": %.1f, \"max\": "
	       "%.1f}, ",
	       pct(lat, ok, 50), pct(lat, ok, 99), ok ? lat[ok - 1] : 0);
	printf("\"total_us\": {\"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f}}\n",
	       pct(tot, ok, 50), pct(tot, ok, 99), ok ? tot[ok - 1] : 0);
	free(lat);
	free(tot);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcpping server --port P [--seconds S]\n"
			"       tcpping client --addr A --port P [--count N] "
			"[--timeout-ms T] [--budget-ms B]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"port", required_argument, NULL, 'p'},
		{"seconds", required_argument, NULL, 's'},
		{"addr", required_argument, NULL, 'a'},
		{"count", required_argument, NULL, 'n'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"budget-ms", required_argument, NULL, 'b'},
		{}};
	int opt, port = 0, seconds = 600, count = 200, timeout_ms = 2000,
		 budget_ms = 0;
	const char *addr = NULL;

	if (argc < 2) {
		usage();
		return 2;
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			seconds = atoi(optarg);
			break;
		case 'a':
			addr = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'b':
			budget_ms = atoi(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (port <= 0 || port > 65535) {
		usage();
		return 2;
	}
	if (!strcmp(argv[1], "server"))
		return server(port, seconds);
	if (!strcmp(argv[1], "client") && addr && count > 0 && timeout_ms > 0)
		return client(addr, port, count, timeout_ms, budget_ms);
	usage();
	return 2;
}
