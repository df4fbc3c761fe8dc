/* SPDX-License-Identifier: GPL-2.0 */
/* Loopback sockets and frames of their connections: see loopback.c. */
#ifndef SG_TESTS_LOOPBACK_H
#define SG_TESTS_LOOPBACK_H

#include <stdint.h>

#include "pkt.h"

/* Brings up lo of the current network namespace; 0 or -1. */
int lo_up(void);

/*
 * A listener on the loopback address of the family and port; with cfd, a
 * connection to it too (client socket, accepted socket, client port).
 * 0 or -1 with errno.
 */
int sock_pair(int family, int port, int *lfd, int *cfd, int *afd,
	      uint16_t *cport);
/* Closes what sock_pair opened (-1: not opened). */
void sock_pair_close(int lfd, int cfd, int afd);

/*
 * A listener on every address of the family (SO_REUSEPORT, IPv6 only for
 * 6): what makes a protected port one synguard answers. fd or -1.
 */
int wildcard_listener(int family, int port);

/* An ACK of the loopback connection with client port sport to port 80. */
void loopback_spec(struct pkt_spec *s, int family, uint16_t sport);

#endif /* SG_TESTS_LOOPBACK_H */
