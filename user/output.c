// SPDX-License-Identifier: GPL-2.0
/*
 * What status and stats print with: the counters' names, aligned text
 * tables, ages, and a minimal JSON writer.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg.h"

/* The counters' names and meanings: from SG_COUNTERS, the only list. */
#define SG_X_DESC(name, str, help) [SG_CNT_##name] = {str, help},
const struct sg_counter_desc sg_counter_desc[SG_CNT_MAX] = {
	SG_COUNTERS(SG_X_DESC)};
#undef SG_X_DESC

void sg_tbl_add(struct sg_table *t, const char *s)
{
	char **c = realloc(t->cell, (t->n + 1) * sizeof(*c));

	if (!c)
		return;
	t->cell = c;
	t->cell[t->n] = strdup(s ? s : "-");
	if (t->cell[t->n])
		t->n++;
}

void sg_tbl_print(struct sg_table *t, const char *indent)
{
	size_t *w = calloc(t->cols, sizeof(*w)), i, len;

	for (i = 0; w && i < t->n; i++) {
		len = strlen(t->cell[i]);
		if (len > w[i % t->cols])
			w[i % t->cols] = len;
	}
	for (i = 0; w && i < t->n; i++) {
		size_t col = i % t->cols;

		if (!col)
			fputs(indent, stdout);
		if (t->right >> col & 1)
			printf("%*s", (int)w[col], t->cell[i]);
		else if (col == t->cols - 1)
			printf("%s", t->cell[i]);
		else
			printf("%-*s", (int)w[col], t->cell[i]);
		fputs(col == t->cols - 1 ? "\n" : "  ", stdout);
	}
	for (i = 0; i < t->n; i++)
		free(t->cell[i]);
	free(w);
	free(t->cell);
	t->cell = NULL;
	t->n = 0;
}

const char *sg_age_fmt(__u64 s, char *buf, size_t len)
{
	if (s < 120)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 2 * 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600,
			 (unsigned long long)s / 60 % 60);
	else
		snprintf(buf, len, "%llud%02lluh",
			 (unsigned long long)s / 86400,
			 (unsigned long long)s / 3600 % 24);
	return buf;
}

void sg_j_open(struct sg_jw *j, const char *key, char c)
{
	if (j->depth) {
		fputs(j->first[j->depth] ? "" : ",", stdout);
		j->first[j->depth] = false;
	}
	if (key) {
		sg_json_str(stdout, key);
		putchar(':');
	}
	putchar(c);
	j->first[++j->depth] = true;
}

void sg_j_close(struct sg_jw *j, char c)
{
	putchar(c);
	if (!--j->depth)
		putchar('\n');
}

void sg_j_key(struct sg_jw *j, const char *key)
{
	fputs(j->first[j->depth] ? "" : ",", stdout);
	j->first[j->depth] = false;
	if (key) {
		sg_json_str(stdout, key);
		putchar(':');
	}
}

void sg_j_uint(struct sg_jw *j, const char *key, unsigned long long v)
{
	sg_j_key(j, key);
	printf("%llu", v);
}

void sg_j_double(struct sg_jw *j, const char *key, double v)
{
	sg_j_key(j, key);
	printf("%.3f", v);
}

void sg_j_bool(struct sg_jw *j, const char *key, bool v)
{
	sg_j_key(j, key);
	fputs(v ? "true" : "false", stdout);
}

void sg_j_str(struct sg_jw *j, const char *key, const char *v)
{
	sg_j_key(j, key);
	sg_json_str(stdout, v);
}

/* Ranges, not ports: a list may hold all 65535. [[80,80],[8000,8100]] */
void sg_j_ranges(struct sg_jw *j, const char *key, const struct sg_ports *p)
{
	unsigned int port, lo;

	sg_j_open(j, key, '[');
	for (port = 1; port <= 65535; port++) {
		if (!sg_port_isset(p, port))
			continue;
		for (lo = port; port < 65535 && sg_port_isset(p, port + 1);)
			port++;
		sg_j_key(j, NULL);
		printf("[%u,%u]", lo, port);
	}
	sg_j_close(j, ']');
}

double sg_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
