// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_client: the client of the integration tests, against tcp_echo.
 *
 *	tcp_client [-m rr|bulk] [-n COUNT] [-s BYTES] [-d SECONDS]
 *		   [-r BYTES_PER_SEC] [-t TIMEOUT_MS] [-w WAIT_MS] [-i] ADDR PORT
 *
 * rr    COUNT sequential connections, each: connect, send 1 byte, read the
 *       echoed byte, close. Latency is from connect() to the reply.
 * bulk  COUNT sequential connections, each sending BYTES (default 1 MiB) of
 *       a pseudo-random pattern, or sending for SECONDS when -d is given,
 *       while reading the echo back and checking every byte.
 * -r    bulk: send at most this fast (SO_MAX_PACING_RATE), a transfer that
 *       runs alongside other traffic instead of filling the link.
 * -t    a connect, or any wait for progress, longer than this fails the
 *       connection (default 10000 ms: a SYN retransmitted twice).
 * -w    wait this long between connections: a client at a paced rate.
 * -i    print each connection's TCP_INFO as one JSON line (netutil.h).
 *
 * Last line, always: {"mode":..,"ok":N,"fail":M,"bytes":B,"min_us":..,
 * "p50_us":..,"p99_us":..,"max_us":..,"error":"first failure or empty"}.
 * Exit status 0 if every connection succeeded, 1 otherwise, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netutil.h"

#define IO_BUF (64 * 1024)
#define ERR_MAX 160

enum mode { MODE_RR, MODE_BULK };

struct opts {
	enum mode mode;
	long count;
	unsigned long long bytes;
	unsigned int seconds;
	unsigned int rate; /* bytes/s, 0: unpaced */
	int timeout_ms;
	int wait_ms;
	int info;
	struct sockaddr_storage dst;
	socklen_t dst_len;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: tcp_client [-m rr|bulk] [-n COUNT] [-s BYTES] "
		"[-d SECONDS] [-r BYTES_PER_SEC] [-t TIMEOUT_MS] [-w WAIT_MS] "
		"[-i] ADDR PORT\n");
	exit(2);
}

/* Byte `off` of connection `seed`'s stream: any offset, no state. */
static unsigned char pattern(unsigned int seed, unsigned long long off)
{
	unsigned long long x = (off >> 3) * 0x9e3779b97f4a7c15ULL + seed;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	return x >> ((off & 7) * 8);
}

/* Waits for fd to become ready; 0, or -1 with err filled in. */
static int wait_fd(int fd, short events, int timeout_ms, const char *what,
		   char *err)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		snprintf(err, ERR_MAX, "%s: no progress in %d ms", what,
			 timeout_ms);
		return -1;
	}
	if (r < 0) {
		snprintf(err, ERR_MAX, "%s: poll: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* A connected non-blocking socket, or -1 with err filled in. */
static int do_connect(const struct opts *o, char *err)
{
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(o->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		snprintf(err, ERR_MAX, "socket: %s", strerror(errno));
		return -1;
	}
	if (o->rate && setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE,
				  &o->rate, sizeof(o->rate))) {
		snprintf(err, ERR_MAX, "SO_MAX_PACING_RATE: %s",
			 strerror(errno));
		goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&o->dst, o->dst_len) &&
	    errno != EINPROGRESS) {
		snprintf(err, ERR_MAX, "connect: %s", strerror(errno));
		goto fail;
	}
	if (wait_fd(fd, POLLOUT, o->timeout_ms, "connect", err))
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
		snprintf(err, ERR_MAX, "connect: %s", strerror(soerr));
		goto fail;
	}
	if (o->info) {
		char line[TCPINFO_JSON_MAX];

		if (!tcpinfo_json(fd, "client", line, sizeof(line)))
			printf("%s\n", line);
		fflush(stdout);
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int one_rr(const struct opts *o, char *err)
{
	char b = 'x';
	ssize_t n;
	int fd;

	fd = do_connect(o, err);
	if (fd < 0)
		return -1;
	if (write(fd, &b, 1) != 1) {
		snprintf(err, ERR_MAX, "write: %s", strerror(errno));
		goto fail;
	}
	b = 0;
	for (;;) {
		if (wait_fd(fd, POLLIN, o->timeout_ms, "reply", err))
			goto fail;
		n = read(fd, &b, 1);
		if (n == 1)
			break;
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			snprintf(err, ERR_MAX, "reply: %s",
				 n ? strerror(errno) : "closed by the server");
			goto fail;
		}
	}
	if (b != 'x') {
		snprintf(err, ERR_MAX, "reply: got 0x%02x, sent 'x'",
			 (unsigned char)b);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/* Sends and checks one stream; adds what was echoed to *total. */
static int one_bulk(const struct opts *o, unsigned int seed,
		    unsigned long long *total, char *err)
{
	unsigned long long sent = 0, rcvd = 0, i;
	uint64_t end = o->seconds ? now_us() + o->seconds * 1000000ULL : 0;
	unsigned char *buf = malloc(IO_BUF);
	int fd, wr_open = 1, ret = -1;
	ssize_t n;

	if (!buf) {
		snprintf(err, ERR_MAX, "out of memory");
		return -1;
	}
	fd = do_connect(o, err);
	if (fd < 0)
		goto out_free;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r;

		if (wr_open) {
			int done = end ? now_us() >= end : sent >= o->bytes;

			if (done) {
				shutdown(fd, SHUT_WR);
				wr_open = 0;
			} else {
				p.events |= POLLOUT;
			}
		}
		do
			r = poll(&p, 1, o->timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			snprintf(err, ERR_MAX,
				 "stalled after sending %llu, echoed %llu",
				 sent, rcvd);
			goto out;
		}
		if (p.revents & POLLOUT) {
			unsigned long long len = IO_BUF;

			if (!end && o->bytes - sent < len)
				len = o->bytes - sent;
			for (i = 0; i < len; i++)
				buf[i] = pattern(seed, sent + i);
			n = write(fd, buf, len);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				snprintf(err, ERR_MAX, "write at %llu: %s",
					 sent, strerror(errno));
				goto out;
			}
			if (n > 0)
				sent += n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, IO_BUF);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				snprintf(err, ERR_MAX, "read at %llu: %s",
					 rcvd, strerror(errno));
				goto out;
			}
			if (n == 0)
				break;
			for (i = 0; n > 0 && i < (unsigned long long)n; i++) {
				if (buf[i] != pattern(seed, rcvd + i)) {
					snprintf(err, ERR_MAX,
						 "echo differs at byte %llu",
						 rcvd + i);
					goto out;
				}
			}
			if (n > 0)
				rcvd += n;
			if (rcvd > sent) {
				snprintf(err, ERR_MAX,
					 "echoed %llu, more than the %llu sent",
					 rcvd, sent);
				goto out;
			}
		}
	}
	if (wr_open || rcvd != sent) {
		snprintf(err, ERR_MAX, "closed early: sent %llu, echoed %llu",
			 sent, rcvd);
		goto out;
	}
	*total += rcvd;
	ret = 0;
out:
	close(fd);
out_free:
	free(buf);
	return ret;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct opts o = { .mode = MODE_RR, .count = 1, .bytes = 1 << 20,
			  .timeout_ms = 10000 };
	char err[ERR_MAX], first_err[ERR_MAX + 32] = "";
	unsigned long long total = 0;
	long i, ok = 0, fail = 0;
	uint64_t *lat, t0;
	int c, r;

	while ((c = getopt(argc, argv, "m:n:s:d:r:t:w:i")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "rr"))
				o.mode = MODE_RR;
			else if (!strcmp(optarg, "bulk"))
				o.mode = MODE_BULK;
			else
				usage();
			break;
		case 'n':
			o.count = atol(optarg);
			break;
		case 's':
			o.bytes = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			o.seconds = atoi(optarg);
			break;
		case 'r':
			o.rate = strtoul(optarg, NULL, 0);
			break;
		case 't':
			o.timeout_ms = atoi(optarg);
			break;
		case 'w':
			o.wait_ms = atoi(optarg);
			break;
		case 'i':
			o.info = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || o.count < 1 || o.timeout_ms < 1 ||
	    o.wait_ms < 0 ||
	    addr_parse(argv[optind], atoi(argv[optind + 1]), &o.dst,
		       &o.dst_len))
		usage();
	signal(SIGPIPE, SIG_IGN);
	lat = calloc(o.count, sizeof(*lat));
	if (!lat)
		return 1;

	for (i = 0; i < o.count; i++) {
		if (i && o.wait_ms)
			usleep(o.wait_ms * 1000);
		t0 = now_us();
		if (o.mode == MODE_RR)
			r = one_rr(&o, err);
		else
			r = one_bulk(&o, i + 1, &total, err);
		if (r) {
			if (!fail)
				snprintf(first_err, sizeof(first_err),
					 "connection %ld: %s", i + 1, err);
			fail++;
			continue;
		}
		lat[ok++] = now_us() - t0;
	}
	qsort(lat, ok, sizeof(*lat), cmp_u64);
	printf("{\"mode\":\"%s\",\"ok\":%ld,\"fail\":%ld,\"bytes\":%llu,"
	       "\"min_us\":%llu,\"p50_us\":%llu,\"p99_us\":%llu,"
	       "\"max_us\":%llu,\"error\":\"%s\"}\n",
	       o.mode == MODE_RR ? "rr" : "bulk", ok, fail, total,
	       ok ? (unsigned long long)lat[0] : 0,
	       ok ? (unsigned long long)lat[ok / 2] : 0,
	       ok ? (unsigned long long)lat[(ok * 99) / 100] : 0,
	       ok ? (unsigned long long)lat[ok - 1] : 0, first_err);
	free(lat);
	return fail ? 1 : 0;
}
