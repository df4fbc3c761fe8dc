// SPDX-License-Identifier: GPL-2.0
/*
 * allow and deny: the source lists, LPM tries pinned with the other maps,
 * so that they stay after the command exits. The value of an entry is its
 * prefix length: a lookup with a key's own length tells an exact entry
 * (value == length) from a shorter prefix that covers it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "sg.h"

const char *const sg_list_names[] = {
	[SG_LIST_ALLOW] = "allow",
	[SG_LIST_DENY] = "deny",
};

static unsigned int family_bits(int family)
{
	return family == 4 ? 32 : 128;
}

const char *sg_cidr_fmt(const struct sg_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->len);
	return buf;
}

/* The address of c with its bits past len cleared, into out. */
static void cidr_mask(const struct sg_cidr *c, struct sg_cidr *out)
{
	unsigned int i, bits;

	*out = *c;
	for (i = 0; i < 16; i++) {
		bits = c->len > 8 * i ? c->len - 8 * i : 0;
		if (bits < 8)
			out->addr[i] &= (0xff00 >> bits) & 0xff;
	}
}

/*
 * "ADDR/LEN" or "ADDR" (one host), IPv4 or IPv6, with no host bits set:
 * 0, or -1 after saying what is wrong with it.
 */
int sg_cidr_parse(const char *arg, struct sg_cidr *c)
{
	const char *slash = strchr(arg, '/');
	size_t alen = slash ? (size_t)(slash - arg) : strlen(arg);
	char addr[INET6_ADDRSTRLEN], net[64];
	unsigned long long len;
	struct sg_cidr m;
	unsigned int max;

	memset(c, 0, sizeof(*c));
	snprintf(addr, sizeof(addr), "%.*s", (int)alen, arg);
	if (alen < sizeof(addr) && inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = 4;
	} else if (alen < sizeof(addr) &&
		   inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = 6;
	} else {
		sg_err("invalid CIDR '%s': '%.*s' is not an IPv4 or IPv6 address",
		       arg, (int)alen, arg);
		return -1;
	}
	max = family_bits(c->family);
	if (!slash) {
		len = max;
	} else if (sg_parse_uint(slash + 1, &len)) {
		sg_err("invalid CIDR '%s': prefix length '%s' is not a number (0..%u for IPv%d)",
		       arg, slash + 1, max, c->family);
		return -1;
	} else if (len > max) {
		sg_err("invalid CIDR '%s': prefix length %s out of range 0..%u for IPv%d",
		       arg, slash + 1, max, c->family);
		return -1;
	}
	c->len = len;
	/* The program sees IPv4 clients as IPv4: such an entry never hits. */
	if (c->family == 6 &&
	    IN6_IS_ADDR_V4MAPPED((struct in6_addr *)c->addr)) {
		m.family = 4;
		m.len = c->len > 96 ? c->len - 96 : 0;
		memcpy(m.addr, c->addr + 12, 4);
		sg_err("invalid CIDR '%s': an IPv4-mapped IPv6 address, which IPv4 clients never arrive as; write %s",
		       arg, sg_cidr_fmt(&m, net, sizeof(net)));
		return -1;
	}
	cidr_mask(c, &m);
	if (memcmp(m.addr, c->addr, sizeof(m.addr))) {
		inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, addr,
			  sizeof(addr));
		sg_err("invalid CIDR '%s': host bits set after the first %u; did you mean the network %s, or %s/%u for the one address?",
		       arg, c->len, sg_cidr_fmt(&m, net, sizeof(net)), addr,
		       max);
		return -1;
	}
	return 0;
}

/* The map of a list and family: enum sg_map_id puts them in order. */
static int list_map(enum sg_list_kind kind, int family)
{
	return (kind == SG_LIST_ALLOW ? SG_M_ALLOW4 : SG_M_DENY4) +
	       (family == 6);
}

/* An LPM key of either family: both start with the prefix length. */
static void cidr_key(const struct sg_cidr *c, struct sg_lpm6 *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = c->len;
	memcpy(k->addr, c->addr, c->family == 4 ? 4 : 16);
}

/* Is c itself (not a shorter prefix covering it) on the list? */
static bool list_has(const struct sg_pins *p, enum sg_list_kind kind,
		     const struct sg_cidr *c)
{
	struct sg_lpm6 k;
	__u32 v;

	cidr_key(c, &k);
	return !bpf_map_lookup_elem(p->fd[list_map(kind, c->family)], &k, &v) &&
	       v == c->len;
}

static int list_write(const struct sg_pins *p, enum sg_list_kind kind,
		      const struct sg_cidr *c, bool add)
{
	int fd = p->fd[list_map(kind, c->family)];
	struct sg_lpm6 k;
	__u32 v = c->len;

	cidr_key(c, &k);
	if (add ? bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST)
		: bpf_map_delete_elem(fd, &k))
		return -errno;
	return 0;
}

int sg_cidr_cmp(const void *a, const void *b)
{
	const struct sg_cidr *x = a, *y = b;
	int d = x->family - y->family;

	if (!d)
		d = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (!d)
		d = (int)x->len - (int)y->len;
	return d;
}

/* Every entry of a list, sorted, into *out (malloc'd): the count, or -errno
 * after a message. */
static int list_read(const struct sg_pins *p, enum sg_list_kind kind,
		     struct sg_cidr **out)
{
	struct sg_cidr *all = NULL, *more;
	struct sg_lpm6 key, next;
	int fam, fd, err = 0, n = 0;

	for (fam = 4; fam <= 6 && !err; fam += 2) {
		fd = p->fd[list_map(kind, fam)];
		if (bpf_map_get_next_key(fd, NULL, &next))
			continue;
		do {
			more = realloc(all, (n + 1) * sizeof(*all));
			if (!more) {
				err = -ENOMEM;
				break;
			}
			all = more;
			memset(&all[n], 0, sizeof(all[n]));
			all[n].family = fam;
			all[n].len = next.prefixlen;
			memcpy(all[n].addr, next.addr, fam == 4 ? 4 : 16);
			n++;
			key = next;
		} while (!bpf_map_get_next_key(fd, &key, &next));
		if (!err && errno != ENOENT)
			err = -errno;
	}
	if (err) {
		sg_err("%s: cannot read the %s list: %s", p->iface,
		       sg_list_names[kind], sg_strerr(err));
		free(all);
		return err;
	}
	if (n)
		qsort(all, n, sizeof(*all), sg_cidr_cmp);
	*out = all;
	return n;
}

static int list_print(const struct sg_pins *p, enum sg_list_kind kind)
{
	struct sg_cidr *all = NULL;
	char buf[64];
	int i, n;

	n = list_read(p, kind, &all);
	if (n < 0)
		return SG_EXIT_FAIL;
	for (i = 0; i < n; i++)
		printf("%s\n", sg_cidr_fmt(&all[i], buf, sizeof(buf)));
	if (!n)
		sg_note("%s: the %s list is empty", p->iface,
			sg_list_names[kind]);
	free(all);
	return 0;
}

/*
 * Adds or removes every CIDR of c[0..n), all or none: checked against the
 * list first, and what was written undone if a write fails.
 */
/*
 * Mark in the config which tries hold entries: the XDP program looks up
 * only those (include/synguard.h, SG_LISTS_*). Called after every change,
 * successful or rolled back, so the bits follow the tries.
 */
static int lists_sync(const struct sg_pins *p)
{
	static const struct {
		int map;
		__u8 bit;
	} tries[] = {
		{SG_M_ALLOW4, SG_LISTS_ALLOW4},
		{SG_M_ALLOW6, SG_LISTS_ALLOW6},
		{SG_M_DENY4, SG_LISTS_DENY4},
		{SG_M_DENY6, SG_LISTS_DENY6},
	};
	struct sg_config cfg;
	__u8 bits = 0;
	size_t i;
	int n;

	for (i = 0; i < ARRAY_SIZE(tries); i++) {
		n = sg_map_count(p->fd[tries[i].map],
				 p->max_entries[tries[i].map]);
		/* Unknown: keep looking the trie up rather than skip it. */
		if (n != 0)
			bits |= tries[i].bit;
	}
	if (sg_map_read(p, SG_M_CONFIG, &cfg))
		return -1;
	if (cfg.lists == bits)
		return 0;
	cfg.lists = bits;
	return sg_map_write(p, SG_M_CONFIG, &cfg);
}

/*
 * Every CIDR checked before anything changes: on the list already (skip
 * it), not on it for a removal, or no room. Counts what will change into
 * *todo; returns how many CIDRs are refused, each after a message.
 */
static int list_check(const struct sg_pins *p, enum sg_list_kind kind,
		      const struct sg_cidr *c, size_t n, bool add,
		      const int *size, bool *skip, size_t *todo)
{
	enum sg_list_kind other =
		kind == SG_LIST_ALLOW ? SG_LIST_DENY : SG_LIST_ALLOW;
	const char *name = sg_list_names[kind];
	int room[2], bad = 0;
	char buf[64];
	size_t i;

	room[0] = p->max_entries[list_map(kind, 4)] - size[0];
	room[1] = p->max_entries[list_map(kind, 6)] - size[1];
	for (i = 0; i < n; i++) {
		sg_cidr_fmt(&c[i], buf, sizeof(buf));
		if (add && list_has(p, kind, &c[i])) {
			sg_note("%s: %s is on the %s list already", p->iface,
				buf, name);
			skip[i] = true;
			continue;
		}
		if (!add && !list_has(p, kind, &c[i])) {
			sg_err("%s: %s is not on the %s list (see `synguard %s %s list`)",
			       p->iface, buf, name, name, p->iface);
			bad++;
			continue;
		}
		if (add && list_has(p, other, &c[i]))
			sg_note("%s: %s is on the %s list too, with the same prefix: deny wins",
				p->iface, buf, sg_list_names[other]);
		if (add && --room[c[i].family == 6] < 0) {
			sg_err("%s: the %s list (IPv%d) is full: %u entries at most; %s does not fit",
			       p->iface, name, c[i].family,
			       p->max_entries[list_map(kind, c[i].family)],
			       buf);
			bad++;
		}
		(*todo)++;
	}
	return bad;
}

static int list_change(const struct sg_pins *p, enum sg_list_kind kind,
		       struct sg_cidr *c, size_t n, bool add)
{
	const char *name = sg_list_names[kind];
	int size[2], total, err = 0;
	size_t done, todo = 0;
	char buf[64], line[512] = "";
	bool *skip = calloc(n ? n : 1, sizeof(*skip));

	if (!skip)
		goto fail;
	err = sg_list_count(p, list_map(kind, 4), size);
	if (err < 0) {
		sg_err("%s: cannot read the %s list: %s", p->iface, name,
		       sg_strerr(err));
		goto fail;
	}
	if (list_check(p, kind, c, n, add, size, skip, &todo)) {
		sg_err("nothing changed");
		goto fail;
	}
	err = 0;
	for (done = 0; done < n; done++) {
		if (skip[done])
			continue;
		sg_cidr_fmt(&c[done], buf, sizeof(buf));
		err = list_write(p, kind, &c[done], add);
		if (err) {
			sg_err("%s: cannot %s %s: %s", p->iface,
			       add ? "add" : "remove", buf, sg_strerr(err));
			break;
		}
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 "%s%s", line[0] ? " " : "", buf);
	}
	if (err) {
		while (done-- > 0)
			if (!skip[done])
				list_write(p, kind, &c[done], !add);
		lists_sync(p);
		sg_err("nothing changed");
		goto fail;
	}
	free(skip);
	if (lists_sync(p)) {
		sg_err("%s: the %s list changed, but the config could not say so: the XDP program may not consult it; run the command again",
		       p->iface, name);
		return SG_EXIT_FAIL;
	}
	total = size[0] + size[1] + (add ? (int)todo : -(int)todo);
	printf("%s: %s the %s list: %s (%d entr%s)\n", p->iface,
	       add ? "added to" : "removed from", name,
	       todo ? line : "nothing new", total, total == 1 ? "y" : "ies");
	return 0;
fail:
	free(skip);
	return SG_EXIT_FAIL;
}

/* Does a list of c[0..n) fit the maps? 0, or -1 after a message. */
int sg_list_room(const struct sg_pins *p, enum sg_list_kind kind,
		 const struct sg_cidr *c, size_t n)
{
	unsigned int count[2] = {0, 0};
	__u32 max;
	size_t i;
	int fam;

	for (i = 0; i < n; i++)
		count[c[i].family == 6]++;
	for (fam = 4; fam <= 6; fam += 2) {
		max = p->max_entries[list_map(kind, fam)];
		if (count[fam == 6] > max) {
			sg_err("%s: %u IPv%d entries for the %s list, which holds %u at most",
			       p->iface, count[fam == 6], fam,
			       sg_list_names[kind], max);
			return -1;
		}
	}
	return 0;
}

static bool cidr_in(const struct sg_cidr *c, const struct sg_cidr *set,
		    size_t n)
{
	return n && bsearch(c, set, n, sizeof(*set), sg_cidr_cmp);
}

/*
 * The list becomes c[0..n) (sorted, no duplicates, checked by
 * sg_list_room) by a diff: the new entries are added first, then the gone
 * ones removed, so that no packet sees an entry missing that both lists
 * hold, nor the list empty on the way. Only where both together do not
 * fit a map are the gone ones removed first. The counts into *added and
 * *removed. 0, or -1 after a message: what was written stays, each entry
 * valid alone, and the next reload writes the rest.
 */
int sg_list_replace(const struct sg_pins *p, enum sg_list_kind kind,
		    const struct sg_cidr *c, size_t n, int *added, int *removed)
{
	unsigned int both[2] = {0, 0};
	struct sg_cidr *cur = NULL;
	int ncur, i, step, err = 0;
	bool del_first;
	char buf[64];
	size_t j;

	*added = *removed = 0;
	ncur = list_read(p, kind, &cur);
	if (ncur < 0)
		return -1;
	for (i = 0; i < ncur; i++)
		both[cur[i].family == 6]++;
	for (j = 0; j < n; j++)
		both[c[j].family == 6] += !cidr_in(&c[j], cur, ncur);
	del_first = both[0] > p->max_entries[list_map(kind, 4)] ||
		    both[1] > p->max_entries[list_map(kind, 6)];
	for (step = 0; step < 2 && !err; step++) {
		if (step == del_first) {
			for (j = 0; j < n && !err; j++) {
				if (cidr_in(&c[j], cur, ncur))
					continue;
				err = list_write(p, kind, &c[j], true);
				if (err)
					sg_err("%s: cannot add %s to the %s list: %s",
					       p->iface,
					       sg_cidr_fmt(&c[j], buf,
							   sizeof(buf)),
					       sg_list_names[kind],
					       sg_strerr(err));
				else
					(*added)++;
			}
			continue;
		}
		for (i = 0; i < ncur && !err; i++) {
			if (cidr_in(&cur[i], c, n))
				continue;
			err = list_write(p, kind, &cur[i], false);
			if (err)
				sg_err("%s: cannot remove %s from the %s list: %s",
				       p->iface,
				       sg_cidr_fmt(&cur[i], buf, sizeof(buf)),
				       sg_list_names[kind], sg_strerr(err));
			else
				(*removed)++;
		}
	}
	free(cur);
	if (lists_sync(p))
		err = -1;
	return err ? -1 : 0;
}

struct save_opts {
	bool save;
	const char *config;
};

static int save_opt(void *ctx, int idx, const char *arg)
{
	struct save_opts *so = ctx;

	if (idx == 0)
		so->save = true;
	else
		so->config = arg;
	return 0;
}

/*
 * --save: the list file the config names for this list, into *file,
 * checked before the list changes. 0, or an exit code after a message.
 */
static int save_file(const char *iface, enum sg_list_kind kind, bool list,
		     const struct save_opts *so, struct sg_attach_args *conf,
		     const char **file)
{
	char *path;
	int rc;

	if (list || !so->save) {
		sg_err("--config goes with add --save or del --save");
		return SG_EXIT_USAGE;
	}
	path = sg_conf_find(iface, so->config);
	if (!path) {
		sg_err("--save: no config file: %s/%s.conf does not exist (or name one with --config FILE)",
		       SG_CONF_DIR, iface);
		return SG_EXIT_USAGE;
	}
	sg_attach_defaults(&sg_cmd_run, conf);
	rc = sg_conf_load(path, conf);
	if (rc)
		return rc;
	if (!conf->conf->list[kind].line) {
		sg_err("--save: %s names no %s_file: add a line `%s_file = %s.list` (the file one CIDR a line) to save the %s list there; nothing changed",
		       path, sg_list_names[kind], sg_list_names[kind],
		       sg_list_names[kind], sg_list_names[kind]);
		return SG_EXIT_USAGE;
	}
	*file = conf->conf->list[kind].path;
	return 0;
}

static int list_cmd(const struct sg_cmd *cmd, enum sg_list_kind kind, int argc,
		    char **argv)
{
	int need[] = {
		list_map(kind, 4), list_map(kind, 6),
		list_map(kind == SG_LIST_ALLOW ? SG_LIST_DENY : SG_LIST_ALLOW,
			 4),
		list_map(kind == SG_LIST_ALLOW ? SG_LIST_DENY : SG_LIST_ALLOW,
			 6),
		SG_M_CONFIG};
	static struct sg_attach_args conf;
	struct save_opts so = {};
	const char *iface, *action, *file = NULL;
	struct sg_cidr *c = NULL;
	struct sg_pins p;
	int first, rc, bad = 0, i, j, n = 0;
	bool add, list;

	rc = sg_parse_opts(cmd, argc, argv, save_opt, &so, &first);
	if (rc)
		return rc;
	if (argc - first < 2) {
		sg_err("%s takes an interface and add, del or list", cmd->name);
		sg_usage_hint(cmd);
		return SG_EXIT_USAGE;
	}
	iface = argv[first];
	action = argv[first + 1];
	add = !strcmp(action, "add");
	list = !strcmp(action, "list");
	if (!add && !list && strcmp(action, "del")) {
		sg_err("%s takes add, del or list after the interface, not '%s'",
		       cmd->name, action);
		sg_usage_hint(cmd);
		return SG_EXIT_USAGE;
	}
	if (list != (argc - first == 2)) {
		sg_err(list ? "%s list takes no CIDR"
			    : "%s add and del take at least one CIDR",
		       cmd->name);
		sg_usage_hint(cmd);
		return SG_EXIT_USAGE;
	}
	if (sg_iface_check(iface, NULL))
		return SG_EXIT_USAGE;
	/* Every CIDR checked before anything is read or written. */
	c = calloc(argc - first, sizeof(*c));
	if (!c)
		return SG_EXIT_FAIL;
	for (i = first + 2; i < argc; i++) {
		if (sg_cidr_parse(argv[i], &c[n])) {
			bad++;
			continue;
		}
		/* The same network twice is one change. */
		for (j = 0; j < n && sg_cidr_cmp(&c[j], &c[n]); j++)
			;
		n += j == n;
	}
	if (bad) {
		sg_err("nothing changed: %d invalid CIDR%s", bad,
		       bad == 1 ? "" : "s");
		free(c);
		return SG_EXIT_USAGE;
	}
	if (so.save || so.config) {
		rc = save_file(iface, kind, list, &so, &conf, &file);
		if (rc)
			goto out;
	}
	/* Printing a list reads two of its maps; changing it needs all. */
	rc = SG_EXIT_FAIL;
	if (sg_iface_open(iface, !list, need, list ? 2 : ARRAY_SIZE(need), &p))
		goto out;
	rc = list ? list_print(&p, kind) : list_change(&p, kind, c, n, add);
	sg_pins_close(&p);
	if (!rc && file) {
		rc = sg_list_file_save(file, c, n, add) ? SG_EXIT_FAIL : 0;
		if (!rc)
			printf("%s: saved to %s\n", iface, file);
	}
out:
	free(c);
	return rc;
}

static int cmd_allow(int argc, char **argv)
{
	return list_cmd(&sg_cmd_allow, SG_LIST_ALLOW, argc, argv);
}

static int cmd_deny(int argc, char **argv)
{
	return list_cmd(&sg_cmd_deny, SG_LIST_DENY, argc, argv);
}

static const char list_doc[] =
	"CIDR: an IPv4 or IPv6 network, e.g. 192.0.2.0/24 or 2001:db8::/32; an address\nalone is one host. The longest matching prefix of the allow and deny lists\ndecides; on equal prefixes deny wins. Every CIDR is checked before anything\nchanges. The lists are pinned: they stay until detach; status shows their sizes.\n--save also writes the change to the list file the config file names\n(allow_file, deny_file), so that the next run finds it.";

static const struct sg_opt list_opts[] = {
	{"save", 's', NULL,
	 "also add to (or remove from) the list file the config file names, atomically, keeping its comments"},
	{"config", 'c', "FILE",
	 "with --save: the config file (default " SG_CONF_DIR "/IFACE.conf)"},
	{NULL},
};

const struct sg_cmd sg_cmd_allow = {
	.name = "allow",
	.run = cmd_allow,
	.args = "IFACE add|del CIDR... [--save] | list",
	.summary = "sources whose SYNs go to the kernel, never limited",
	.opts = list_opts,
	.doc = list_doc,
};

const struct sg_cmd sg_cmd_deny = {
	.name = "deny",
	.run = cmd_deny,
	.args = "IFACE add|del CIDR... [--save] | list",
	.summary = "sources whose packets to protected ports are dropped",
	.opts = list_opts,
	.doc = list_doc,
};
