// SPDX-License-Identifier: GPL-2.0
/*
 * Port lists: "80,443,8000-8100" to the bitmap the XDP program reads, and
 * back.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sg.h"

void sg_port_set(struct sg_ports *p, unsigned int port)
{
	p->bits[port / 64] |= 1ULL << (port % 64);
}

bool sg_port_isset(const struct sg_ports *p, unsigned int port)
{
	return p->bits[port / 64] >> (port % 64) & 1;
}

/* Digits at *c; values above 65535 saturate (and are refused later). */
static int port_num(const char **c, unsigned long *out)
{
	if (!isdigit((unsigned char)**c))
		return -1;
	*out = 0;
	while (isdigit((unsigned char)**c)) {
		if (*out <= 65535)
			*out = *out * 10 + (**c - '0');
		(*c)++;
	}
	return 0;
}

int sg_ports_parse(const char *s, const char *label, struct sg_ports *out)
{
	struct sg_ports p = {};
	const char *c = s, *item;
	unsigned long lo, hi, i;

	for (;;) {
		item = c;
		if (port_num(&c, &lo))
			goto syntax;
		hi = lo;
		if (*c == '-') {
			c++;
			if (port_num(&c, &hi))
				goto syntax;
		}
		if (*c && *c != ',')
			goto syntax;
		if (!lo || !hi) {
			sg_err("invalid %s '%s': port 0 cannot be protected (ports are 1..65535)",
			       label, s);
			return -1;
		}
		if (lo > 65535 || hi > 65535) {
			sg_err("invalid %s '%s': port %.*s is above 65535",
			       label, s, (int)strcspn(item, ","), item);
			return -1;
		}
		if (lo > hi) {
			sg_err("invalid %s '%s': range %lu-%lu is reversed (write %lu-%lu)",
			       label, s, lo, hi, hi, lo);
			return -1;
		}
		for (i = lo; i <= hi; i++)
			sg_port_set(&p, i);
		if (!*c)
			break;
		c++;
	}
	*out = p;
	return 0;
syntax:
	sg_err("invalid %s '%s': syntax error at '%s' (expected ports and ranges separated by commas, e.g. 80,443,8000-8100)",
	       label, s, *c ? c : "end of list");
	return -1;
}

unsigned int sg_ports_count(const struct sg_ports *p)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(p->bits); i++)
		n += __builtin_popcountll(p->bits[i]);
	return n;
}

const char *sg_ports_fmt(const struct sg_ports *p, char *buf, size_t len)
{
	/* Room kept for ",..." when the list does not fit. */
	size_t room = len > 5 ? len - 5 : 0, used = 0;
	unsigned int port = 1, lo;
	char item[16];
	int n;

	buf[0] = '\0';
	while (port <= 65535) {
		if (!sg_port_isset(p, port)) {
			port++;
			continue;
		}
		lo = port;
		while (port < 65535 && sg_port_isset(p, port + 1))
			port++;
		if (lo == port)
			n = snprintf(item, sizeof(item), "%s%u",
				     used ? "," : "", lo);
		else
			n = snprintf(item, sizeof(item), "%s%u-%u",
				     used ? "," : "", lo, port);
		if (used + n > room) {
			snprintf(buf + used, len - used, "%s...",
				 used ? "," : "");
			return buf;
		}
		memcpy(buf + used, item, n + 1);
		used += n;
		port++;
	}
	return buf;
}
