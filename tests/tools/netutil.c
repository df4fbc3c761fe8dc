// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the integration-test tools; see netutil.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "netutil.h"

int addr_parse(const char *host, int port, struct sockaddr_storage *ss,
	       socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port < 0 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len,
	      int *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, buf, len);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len);
		*port = ntohs(sin6->sin6_port);
	} else {
		snprintf(buf, len, "?");
		*port = 0;
	}
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int tcpinfo_json(int fd, const char *role, char *buf, size_t len)
{
	struct sockaddr_storage local, peer;
	socklen_t sl = sizeof(local), pl = sizeof(peer);
	char la[INET6_ADDRSTRLEN], pa[INET6_ADDRSTRLEN], pmss[16];
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	unsigned int ts, hdr, opt_len;
	int lport, pport;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) ||
	    getsockname(fd, (struct sockaddr *)&local, &sl) ||
	    getpeername(fd, (struct sockaddr *)&peer, &pl))
		return -1;
	addr_str(&local, la, sizeof(la), &lport);
	addr_str(&peer, pa, sizeof(pa), &pport);

	ts = !!(ti.tcpi_options & TCPI_OPT_TIMESTAMPS);
	/* IP + TCP headers, without options: what the kernel takes off the
	 * path MTU before it compares with the peer's MSS. */
	hdr = (local.ss_family == AF_INET6 ? 40 : 20) + 20;
	opt_len = ts ? 12 : 0; /* TCPOLEN_TSTAMP_ALIGNED */
	if (ti.tcpi_pmtu && ti.tcpi_snd_mss + opt_len < ti.tcpi_pmtu - hdr)
		snprintf(pmss, sizeof(pmss), "%u", ti.tcpi_snd_mss + opt_len);
	else
		snprintf(pmss, sizeof(pmss), "null");

	snprintf(buf, len,
		 "{\"role\":\"%s\",\"local\":\"%s\",\"local_port\":%d,"
		 "\"peer\":\"%s\",\"peer_port\":%d,"
		 "\"ts\":%u,\"sack\":%u,\"wscale\":%u,\"ecn\":%u,"
		 "\"snd_wscale\":%u,\"rcv_wscale\":%u,"
		 "\"snd_mss\":%u,\"rcv_mss\":%u,\"advmss\":%u,\"pmtu\":%u,"
		 "\"peer_mss\":%s}",
		 role, la, lport, pa, pport, ts,
		 !!(ti.tcpi_options & TCPI_OPT_SACK),
		 !!(ti.tcpi_options & TCPI_OPT_WSCALE),
		 !!(ti.tcpi_options & TCPI_OPT_ECN), ti.tcpi_snd_wscale,
		 ti.tcpi_rcv_wscale, ti.tcpi_snd_mss, ti.tcpi_rcv_mss,
		 ti.tcpi_advmss, ti.tcpi_pmtu, pmss);
	return 0;
}
