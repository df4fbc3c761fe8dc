// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback sockets and frames for the cases that need a connection the
 * kernel really has: the unit tests and bench/prog_cost run in a network
 * namespace of their own, bring its lo up, connect over it, and craft
 * frames of that connection for the XDP program's socket lookup.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loopback.h"

int lo_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (!rc) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

int sock_pair(int family, int port, int *lfd, int *cfd, int *afd,
	      uint16_t *cport)
{
	struct sockaddr_storage ss = {};
	socklen_t sl;
	int one = 1;

	if (family == 4) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	}
	*lfd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (*lfd < 0)
		return -1;
	/* REUSEPORT: the harness's wildcard listeners hold the same ports. */
	setsockopt(*lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(*lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(*lfd, (void *)&ss, sl) || listen(*lfd, 8))
		return -1;
	if (!cfd)
		return 0;
	*cfd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (*cfd < 0 || connect(*cfd, (void *)&ss, sl))
		return -1;
	*afd = accept(*lfd, NULL, NULL);
	if (*afd < 0)
		return -1;
	sl = sizeof(ss);
	if (getsockname(*cfd, (void *)&ss, &sl))
		return -1;
	*cport = ntohs(family == 4 ? ((struct sockaddr_in *)&ss)->sin_port
				   : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

void sock_pair_close(int lfd, int cfd, int afd)
{
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
}

void loopback_spec(struct pkt_spec *s, int family, uint16_t sport)
{
	pkt_spec_init(s, family);
	memset(s->saddr, 0, 16);
	memset(s->daddr, 0, 16);
	if (family == 4) {
		s->saddr[0] = s->daddr[0] = 127;
		s->saddr[3] = s->daddr[3] = 1;
	} else {
		s->saddr[15] = s->daddr[15] = 1;
	}
	s->sport = sport;
	s->dport = 80;
	s->tcp_flags = PKT_TCP_ACK;
	s->seq = 1;
	s->ack = 0x12345; /* not a cookie */
}

int wildcard_listener(int family, int port)
{
	struct sockaddr_storage ss = {};
	socklen_t sl;
	int one = 1, fd;

	if (family == 4) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		sl = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (family == 6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (void *)&ss, sl) || listen(fd, 64)) {
		close(fd);
		return -1;
	}
	return fd;
}
