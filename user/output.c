// SPDX-License-Identifier: GPL-2.0
/*
 * What status and stats print with: the counters' names, aligned text
 * tables, ages, and the JSON helpers (jansson).
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

/* A member that could not be added: sg_json_print refuses the document. */
static bool json_incomplete;

void sg_jset(json_t *o, const char *key, json_t *v)
{
	if (json_object_set_new(o, key, v))
		json_incomplete = true;
}

void sg_jappend(json_t *a, json_t *v)
{
	if (json_array_append_new(a, v))
		json_incomplete = true;
}

json_t *sg_json_str(const char *s)
{
	json_t *v = json_string(s);
	char *copy;
	size_t i;

	/*
	 * jansson takes only UTF-8, and an interface name may be any bytes:
	 * show those as '?' rather than lose the member.
	 */
	if (v || !s || !(copy = strdup(s)))
		return v;
	for (i = 0; copy[i]; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

/* Ranges, not ports: a list may hold all 65535. [[80,80],[8000,8100]] */
json_t *sg_json_ranges(const struct sg_ports *p)
{
	json_t *a = json_array();
	unsigned int port, lo;

	for (port = 1; a && port <= 65535; port++) {
		if (!sg_port_isset(p, port))
			continue;
		for (lo = port; port < 65535 && sg_port_isset(p, port + 1);)
			port++;
		sg_jappend(a, json_pack("[ii]", lo, port));
	}
	return a;
}

int sg_json_print(json_t *doc)
{
	int err = 0;

	/*
	 * Never half a document. Compact, one per line: what scripts and
	 * `jq` expect.
	 */
	if (!doc || json_incomplete || json_dumpf(doc, stdout, JSON_COMPACT))
		err = -ENOMEM;
	else
		putchar('\n');
	json_decref(doc);
	json_incomplete = false;
	if (err)
		sg_err("cannot write the JSON output: out of memory");
	return err;
}

double sg_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
