/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the integration-test tools (tcp_echo, tcp_client):
 * address parsing, time, and the negotiated TCP options of a connected
 * socket as one line of JSON.
 */
#ifndef SG_TOOLS_NETUTIL_H
#define SG_TOOLS_NETUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest line tcpinfo_json() writes, with its newline and NUL. */
#define TCPINFO_JSON_MAX 512

/* "192.0.2.1" or "2001:db8::1" plus a port; -1 if not an address. */
int addr_parse(const char *host, int port, struct sockaddr_storage *ss,
	       socklen_t *len);

/* "addr" and port of a socket address, for messages. */
void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len,
	      int *port);

/* Monotonic clock, microseconds. */
uint64_t now_us(void);

/*
 * One JSON object (no newline) describing what the connection on fd
 * negotiated, from TCP_INFO:
 *   role, local/peer address and port,
 *   ts, sack, wscale, ecn    tcpi_options bits (0/1),
 *   snd_wscale, rcv_wscale   the peer's and our window scale,
 *   snd_mss, rcv_mss, advmss, pmtu,
 *   peer_mss                 the MSS the peer announced, when it can be
 *                            told from the send MSS: snd_mss is
 *                            min(peer MSS, pmtu - headers) minus the
 *                            timestamp option, so it is exact only when the
 *                            path MTU is not the smaller bound; else null.
 * Returns 0, or -1 with errno set when getsockopt() fails.
 */
int tcpinfo_json(int fd, const char *role, char *buf, size_t len);

#endif /* SG_TOOLS_NETUTIL_H */
