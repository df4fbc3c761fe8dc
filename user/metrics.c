// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics endpoint of `synguard run`: Prometheus text on /metrics,
 * served by libmicrohttpd from its own thread. Each scrape takes a fresh
 * sample of the counters and gauges (sample.c), so a scrape says what the
 * programs count at that moment, the same text `stats --prometheus` prints.
 * It binds to 127.0.0.1 unless told otherwise: the counters tell an
 * attacker how the defense is doing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>

#include "sg.h"

struct sg_metrics {
	struct MHD_Daemon *d;
	struct sg_pins p;
	struct sg_sample s;
	pthread_mutex_t lock; /* one scrape samples at a time */
};

int sg_metrics_addr(const char *spec, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
	unsigned long long port;
	const char *colon = strrchr(spec, ':');
	size_t len;

	memset(ss, 0, sizeof(*ss));
	if (colon) {
		len = colon - spec;
		if (spec[0] == '[' && len >= 2 && spec[len - 1] == ']') {
			spec++;
			len -= 2;
		}
		if (!len || len >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec, len);
		host[len] = 0;
		spec = colon + 1;
	}
	if (sg_parse_uint(spec, &port) || !port || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	} else {
		return -EINVAL;
	}
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code,
			     char *body, size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *ctx, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	const char *text = "text/plain; charset=utf-8";
	struct sg_metrics *m = ctx;
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	(void)version;
	(void)upload;
	(void)state;
	if (*upload_len)
		return MHD_NO; /* no request here has a body */
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			     strdup("only GET\n"), 9, text);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND,
			     strdup("synguard serves /metrics only\n"), 30,
			     text);
	f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	pthread_mutex_lock(&m->lock);
	err = sg_sample_read(&m->s);
	if (!err)
		sg_prom_write(f, &m->s, 1);
	pthread_mutex_unlock(&m->lock);
	if (fclose(f) || err) {
		free(body);
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			     strdup("cannot read the counters\n"), 25, text);
	}
	return reply(c, MHD_HTTP_OK, body, len,
		     "text/plain; version=0.0.4; charset=utf-8");
}

int sg_metrics_start(const char *iface, const struct sockaddr_storage *ss,
		     struct sg_metrics **out)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	char addr[INET6_ADDRSTRLEN];
	struct sg_metrics *m;
	__u16 port;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	if (sg_sample_open(iface, &m->p, &m->s)) {
		free(m);
		return -ENOENT;
	}
	if (ss->ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
			  addr, sizeof(addr));
	} else {
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
			  addr, sizeof(addr));
	}
	/* A few scrapers at most; a slow client must not hold a thread. */
	m->d = MHD_start_daemon(flags, port, NULL, NULL, handle, m,
				MHD_OPTION_SOCK_ADDR, ss,
				MHD_OPTION_CONNECTION_LIMIT, 16,
				MHD_OPTION_CONNECTION_TIMEOUT, 5,
				MHD_OPTION_END);
	if (!m->d) {
		sg_err("%s: cannot serve metrics on %s port %u (in use, or not an address of this network namespace): choose another --metrics ADDR:PORT",
		       iface, addr, port);
		sg_pins_close(&m->p);
		free(m);
		return -EADDRNOTAVAIL;
	}
	printf("%s: metrics on http://%s%s%s:%u/metrics\n", iface,
	       ss->ss_family == AF_INET6 ? "[" : "", addr,
	       ss->ss_family == AF_INET6 ? "]" : "", port);
	*out = m;
	return 0;
}

void sg_metrics_stop(struct sg_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	sg_pins_close(&m->p);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
