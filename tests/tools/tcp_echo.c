// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_echo: the server of the integration tests. Listens on every given
 * address and port, echoes each accepted connection until the peer closes
 * it, one thread a connection. With -i it prints, for every accepted
 * connection and before echoing anything, the options the connection
 * negotiated (TCP_INFO) as one line of JSON (netutil.h).
 *
 *	tcp_echo [-i] [-b BACKLOG] -a ADDR [-a ADDR...] -p PORT [-p PORT...]
 *
 * Prints {"ready":N} once all N listeners are bound, so a script can wait
 * for it. Runs until killed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netutil.h"

#define MAX_ADDRS 4
#define MAX_PORTS 8
#define MAX_LISTENERS (MAX_ADDRS * MAX_PORTS)
#define ECHO_BUF (64 * 1024)

static void usage(void)
{
	fprintf(stderr,
		"usage: tcp_echo [-i] [-b BACKLOG] -a ADDR [-a ADDR...] "
		"-p PORT [-p PORT...]\n"
		"  -i  print each accepted connection's TCP_INFO as JSON\n");
	exit(2);
}

static int listen_on(const char *host, int port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (addr_parse(host, port, &ss, &len)) {
		fprintf(stderr, "tcp_echo: bad address %s port %d\n", host,
			port);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("tcp_echo: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog)) {
		fprintf(stderr, "tcp_echo: %s port %d: %s\n", host, port,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Echoes until EOF or an error, then closes. */
static void *echo_conn(void *arg)
{
	int fd = (int)(long)arg;
	char *buf = malloc(ECHO_BUF);
	ssize_t n, off, w;

	while (buf && (n = read(fd, buf, ECHO_BUF)) > 0) {
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, n - off);
			if (w <= 0)
				goto out;
		}
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *addrs[MAX_ADDRS];
	struct pollfd pfd[MAX_LISTENERS];
	char line[TCPINFO_JSON_MAX];
	int ports[MAX_PORTS];
	int naddr = 0, nport = 0, nfd = 0, info = 0, backlog = 128;
	int c, i, j;

	while ((c = getopt(argc, argv, "a:p:b:i")) != -1) {
		switch (c) {
		case 'a':
			if (naddr == MAX_ADDRS)
				usage();
			addrs[naddr++] = optarg;
			break;
		case 'p':
			if (nport == MAX_PORTS)
				usage();
			ports[nport++] = atoi(optarg);
			break;
		case 'b':
			backlog = atoi(optarg);
			break;
		case 'i':
			info = 1;
			break;
		default:
			usage();
		}
	}
	if (!naddr || !nport || optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < naddr; i++) {
		for (j = 0; j < nport; j++) {
			pfd[nfd].fd = listen_on(addrs[i], ports[j], backlog);
			if (pfd[nfd].fd < 0)
				return 1;
			pfd[nfd++].events = POLLIN;
		}
	}
	printf("{\"ready\":%d}\n", nfd);
	fflush(stdout);

	for (;;) {
		if (poll(pfd, nfd, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("tcp_echo: poll");
			return 1;
		}
		for (i = 0; i < nfd; i++) {
			pthread_t t;
			int fd;

			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno != EAGAIN && errno != EINTR &&
				    errno != ECONNABORTED)
					perror("tcp_echo: accept");
				continue;
			}
			if (info) {
				if (tcpinfo_json(fd, "server", line,
						 sizeof(line)))
					snprintf(line, sizeof(line),
						 "{\"role\":\"server\","
						 "\"error\":\"%s\"}",
						 strerror(errno));
				printf("%s\n", line);
				fflush(stdout);
			}
			if (pthread_create(&t, NULL, echo_conn,
					   (void *)(long)fd)) {
				fprintf(stderr, "tcp_echo: no thread\n");
				close(fd);
				continue;
			}
			pthread_detach(t);
		}
	}
}
