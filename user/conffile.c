// SPDX-License-Identifier: GPL-2.0
/*
 * The config file, /etc/synguard/IFACE.conf: `key = value` lines whose
 * keys are the settings of `config` (sg_params) and the options of run
 * (sg_attach_opts, '-' written '_'), parsed by the same setters as the
 * command line, and allow_file / deny_file naming the list files, one
 * CIDR a line. Read whole before anything changes: any error refuses it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sg.h"

static const char *const list_keys[] = {
	[SG_LIST_ALLOW] = "allow_file",
	[SG_LIST_DENY] = "deny_file",
};

char *sg_conf_find(const char *iface, const char *given)
{
	char *path;

	if (given)
		return strdup(given);
	if (asprintf(&path, "%s/%s.conf", SG_CONF_DIR, iface) < 0)
		return NULL;
	if (!access(path, F_OK))
		return path;
	free(path);
	return NULL;
}

/* Cuts a comment ('#' at the start or after a blank) and the blanks
 * around what is left; returns it. */
static char *line_trim(char *s)
{
	char *e;

	for (e = s; *e; e++)
		if (*e == '#' && (e == s || isspace((unsigned char)e[-1]))) {
			*e = '\0';
			break;
		}
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int sg_list_file_read(const char *path, struct sg_conf_list *l)
{
	char *line = NULL, *s, where[PATH_MAX + 16];
	struct sg_cidr *more;
	size_t cap = 0, j;
	int no = 0, bad = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		sg_err("%s: cannot read: %s", path, sg_strerr(errno));
		return 1;
	}
	while (getline(&line, &cap, f) > 0) {
		no++;
		s = line_trim(line);
		if (!*s)
			continue;
		more = realloc(l->c, (l->n + 1) * sizeof(*l->c));
		if (!more) {
			bad++;
			break;
		}
		l->c = more;
		snprintf(where, sizeof(where), "%s:%d", path, no);
		sg_err_where = where;
		if (sg_cidr_parse(s, &l->c[l->n]))
			bad++;
		else
			l->n++;
		sg_err_where = NULL;
	}
	free(line);
	fclose(f);
	if (l->n)
		qsort(l->c, l->n, sizeof(*l->c), sg_cidr_cmp);
	/* The same network twice is one entry. */
	for (j = 1; j < l->n;)
		if (!sg_cidr_cmp(&l->c[j - 1], &l->c[j]))
			memmove(&l->c[j - 1], &l->c[j],
				(--l->n - (j - 1)) * sizeof(*l->c));
		else
			j++;
	return bad;
}

/* A list file named in the config: relative to the config's directory. */
static int list_key(struct sg_conf *c, int kind, const char *val, int no)
{
	struct sg_conf_list *l = &c->list[kind];
	const char *slash = strrchr(c->path, '/');

	l->file = strdup(val);
	if (val[0] == '/' || !slash)
		l->path = strdup(val);
	else if (asprintf(&l->path, "%.*s/%s", (int)(slash - c->path), c->path,
			  val) < 0)
		l->path = NULL;
	l->line = no;
	if (!l->file || !l->path)
		return 1;
	if (access(l->path, R_OK)) {
		sg_err("%s %s: cannot read it: %s", list_keys[kind], l->path,
		       sg_strerr(errno));
		return 1;
	}
	return sg_list_file_read(l->path, l);
}

/* What the keys are, for an unknown one. */
static void keys_hint(const char *key)
{
	char keys[1024] = "", name[40];
	size_t k;
	int i;

	for (k = 0; k < sg_nparams; k++)
		snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys),
			 "%s, ", sg_params[k].key);
	for (i = 0; sg_attach_opts[i].name; i++)
		if (sg_attach_opt_key(i, name, sizeof(name)))
			snprintf(keys + strlen(keys),
				 sizeof(keys) - strlen(keys), "%s, ", name);
	sg_err("unknown key '%s': the keys are %sallow_file and deny_file", key,
	       keys);
}

/* One `key = value` line: 0, or 1 after a message. */
static int conf_line(struct sg_attach_args *a, char *s, int no, int *seen)
{
	char *eq = strchr(s, '='), *key = s, *val;
	const struct sg_param *p;
	size_t len;
	int idx, slot;

	if (!strncmp(s, "SYNGUARD_ARGS=", 14)) {
		sg_err("SYNGUARD_ARGS= is the old format (the unit's environment), no longer read: write one `key = value` a line, e.g. `ports = 80,443` and `key_rotate = 3600` (the options of synguard run, '-' as '_'); see /usr/share/doc/synguard/example.conf");
		return 1;
	}
	if (!eq) {
		sg_err("expected `key = value`, e.g. `ports = 80,443`");
		return 1;
	}
	*eq = '\0';
	key = line_trim(key);
	val = line_trim(eq + 1);
	len = strlen(val);
	/* Quotes, for a value that ends in blanks or holds " #". */
	if (len >= 2 && val[0] == '"' && val[len - 1] == '"') {
		val[len - 1] = '\0';
		val++;
	}
	val = strdup(val); /* the options keep pointers into it */
	if (!val)
		return 1;
	for (slot = 0; slot < 2 && strcmp(key, list_keys[slot]); slot++)
		;
	p = sg_param_find(key);
	idx = slot < 2 ? -1
	      : p      ? -1 - (int)(p - sg_params)
		       : sg_attach_opt_find(key);
	if (slot == 2 && !p && idx < 0) {
		keys_hint(key);
		return 1;
	}
	/* seen: the params first, then the options, then the lists. */
	slot = slot < 2	 ? (int)sg_nparams + SG_CONF_MAX_OPTS + slot
	       : idx < 0 ? -1 - idx
			 : (int)sg_nparams + idx;
	if (seen[slot]) {
		sg_err("%s is set twice (first on line %d)", key, seen[slot]);
		return 1;
	}
	seen[slot] = no;
	if (slot >= (int)sg_nparams + SG_CONF_MAX_OPTS)
		return list_key(a->conf, slot - sg_nparams - SG_CONF_MAX_OPTS,
				val, no);
	if (idx >= 0) {
		a->conf->opt_line[idx] = no;
		/* A flag: on sets it, off leaves the default. */
		if (!sg_attach_opts[idx].metavar) {
			if (strcmp(val, "on") && strcmp(val, "off")) {
				sg_err("invalid %s '%s': must be on or off",
				       key, val);
				return 1;
			}
			return !strcmp(val, "on") &&
			       sg_attach_opt(a, idx, NULL);
		}
	}
	return sg_attach_opt(a, idx, val) ? 1 : 0;
}

int sg_conf_load(const char *path, struct sg_attach_args *a)
{
	int seen[64 + SG_CONF_MAX_OPTS + 2] = {0};
	char *line = NULL, *s, where[PATH_MAX + 16];
	size_t cap = 0;
	int no = 0, bad = 0;
	FILE *f;

	_Static_assert(ARRAY_SIZE(seen) >= 64 + SG_CONF_MAX_OPTS + 2, "");
	if (sg_nparams > 64)
		return SG_EXIT_FAIL;
	a->conf = calloc(1, sizeof(*a->conf));
	if (!a->conf || !(a->conf->path = strdup(path)))
		return SG_EXIT_FAIL;
	f = fopen(path, "r");
	if (!f) {
		sg_err("%s: cannot read the config file: %s", path,
		       sg_strerr(errno));
		return SG_EXIT_USAGE;
	}
	a->in_file = true;
	while (getline(&line, &cap, f) > 0) {
		no++;
		s = line_trim(line);
		if (!*s)
			continue;
		snprintf(where, sizeof(where), "%s:%d", path, no);
		sg_err_where = where;
		bad += conf_line(a, s, no, seen);
		sg_err_where = NULL;
	}
	a->in_file = false;
	free(line);
	fclose(f);
	if (bad) {
		sg_err("%s refused: %d error%s; nothing changed", path, bad,
		       bad == 1 ? "" : "s");
		return SG_EXIT_USAGE;
	}
	return 0;
}

int sg_conf_lists_write(const struct sg_pins *p, const struct sg_attach_args *a,
			bool quiet)
{
	const struct sg_conf_list *l;
	int k, added, removed, rc = 0;

	for (k = 0; a->conf && k < 2; k++) {
		l = &a->conf->list[k];
		if (!l->line)
			continue;
		if (sg_list_replace(p, k, l->c, l->n, &added, &removed)) {
			rc = -1;
			continue;
		}
		if (!quiet || added || removed)
			printf("%s: the %s list is %s: %zu entr%s (%d added, %d removed)\n",
			       a->iface, sg_list_names[k], l->path, l->n,
			       l->n == 1 ? "y" : "ies", added, removed);
	}
	return rc;
}

int sg_conf_apply(const struct sg_attach_args *a, bool adopting)
{
	const int need[] = {SG_M_CONFIG, SG_M_PORT_MAP, SG_M_INFO,
			    SG_M_ALLOW4, SG_M_ALLOW6,	SG_M_DENY4,
			    SG_M_DENY6,	 SG_M_SRC,	SG_M_KEYS};
	struct sg_key_change kc;
	static struct sg_ports old_ports;
	struct sg_settings cur = {};
	struct sg_config old;
	struct sg_info info;
	struct sg_pins p;
	char where[PATH_MAX + 16];
	size_t i;
	int k, rc;

	if (sg_iface_open(a->iface, true, need, ARRAY_SIZE(need), &p))
		return SG_EXIT_FAIL;
	rc = sg_map_read(&p, SG_M_CONFIG, &cur.cfg) ?: sg_ports_read(&p, &cur.ports)
		?: sg_map_read(&p, SG_M_INFO, &info);
	if (rc) {
		sg_err("%s: cannot read the settings: %s", a->iface,
		       sg_strerr(rc));
		rc = SG_EXIT_FAIL;
		goto out;
	}
	/* Everything checked before anything is written. */
	rc = SG_EXIT_USAGE;
	if (sg_attach_keys_check(a, &info, p.max_entries[SG_M_SRC]))
		goto refused;
	for (k = 0; a->conf && k < 2; k++) {
		const struct sg_conf_list *l = &a->conf->list[k];

		snprintf(where, sizeof(where), "%s:%d", a->conf->path, l->line);
		sg_err_where = where;
		if (l->line && sg_list_room(&p, k, l->c, l->n)) {
			sg_err_where = NULL;
			goto refused;
		}
		sg_err_where = NULL;
	}
	/* The file's key, if it names one: first, since a change it refuses
	 * (too soon after the last) writes nothing, and nothing else may
	 * be written then. */
	if (a->key_file) {
		if (sg_engine_refuses(&info, a->iface, "take a key of ours"))
			goto refused;
		k = sg_key_file_apply(&p, a->key_file, &kc);
		if (k < 0)
			goto refused;
		/* A restart must not fail on it: the key in use stays. */
		if (k == 1 && adopting)
			sg_warn("%s: the key in %s is not loaded: the last key change was %llus ago; load it in %llus with `synguard reload %s`",
				a->iface, a->key_file, kc.age, kc.wait,
				a->iface);
		else if (k == 1) {
			sg_key_refused(a->iface, &kc, "and reload again");
			goto refused;
		}
	}
	/* Every setting is the file's (or its default): not only those
	 * it names. What the host and the lists set stays. */
	old = cur.cfg;
	old_ports = cur.ports;
	for (i = 0; i < sg_nparams; i++)
		if (sg_params[i].kind != SG_P_PORTS)
			memcpy((char *)&cur.cfg + sg_params[i].off,
			       (const char *)&a->s.cfg + sg_params[i].off,
			       sg_params[i].size);
	cur.ports = a->s.ports;
	cur.ports_set = true;
	rc = sg_config_write(&p, a->iface, &old, &old_ports, &cur,
			     memcmp(&old, &cur.cfg, sizeof(old)) != 0, false);
	if (rc)
		goto refused;
	rc = sg_conf_lists_write(&p, a, true) ? SG_EXIT_FAIL : 0;
	goto out;
refused:
	sg_err("%s: %s refused; %s keeps the settings it has", a->iface,
	       a->conf ? a->conf->path : "the options", a->iface);
out:
	sg_pins_close(&p);
	sg_unlock();
	return rc;
}

int sg_list_file_save(const char *path, const struct sg_cidr *c, size_t n,
		      bool add)
{
	char *line = NULL, *copy, *s, tmp[PATH_MAX], buf[64];
	bool *have = calloc(n ? n : 1, sizeof(*have));
	struct sg_cidr one;
	struct stat st;
	size_t cap = 0, i;
	FILE *in, *out = NULL;
	int fd = -1, err = 0;
	bool keep, made = false;

	in = fopen(path, "r");
	if (!have || !in || fstat(fileno(in), &st)) {
		err = -errno;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	made = fd >= 0;
	if (fd < 0 || fchmod(fd, st.st_mode & 07777) ||
	    !(out = fdopen(fd, "w"))) {
		err = -errno;
		goto out;
	}
	fd = -1;
	/* Comments and every other line stay as they are. */
	while (getline(&line, &cap, in) > 0) {
		copy = strdup(line);
		if (!copy) {
			err = -ENOMEM;
			goto out;
		}
		s = line_trim(copy);
		keep = true;
		if (*s && !sg_cidr_parse(s, &one))
			for (i = 0; i < n; i++)
				if (!sg_cidr_cmp(&one, &c[i])) {
					have[i] = true;
					keep = add;
				}
		free(copy);
		if (keep)
			fputs(line, out);
		if (keep && line[strlen(line) - 1] != '\n')
			fputc('\n', out);
	}
	for (i = 0; add && i < n; i++)
		if (!have[i])
			fprintf(out, "%s\n",
				sg_cidr_fmt(&c[i], buf, sizeof(buf)));
	if (fflush(out) || fsync(fileno(out)))
		err = -errno;
	if (fclose(out) && !err)
		err = -errno;
	out = NULL;
	if (!err && rename(tmp, path))
		err = -errno;
out:
	if (err && made)
		unlink(tmp);
	if (out)
		fclose(out);
	if (fd >= 0)
		close(fd);
	if (in)
		fclose(in);
	free(line);
	free(have);
	if (err)
		sg_err("%s: cannot save the list: %s", path, sg_strerr(err));
	return err;
}
