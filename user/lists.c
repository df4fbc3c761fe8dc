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

enum list_kind { LIST_ALLOW, LIST_DENY };

static const char *const list_name[] = {
	[LIST_ALLOW] = "allow",
	[LIST_DENY] = "deny",
};

struct cidr {
	int family; /* 4 or 6 */
	unsigned int len;
	__u8 addr[16];
};

static unsigned int family_bits(int family)
{
	return family == 4 ? 32 : 128;
}

static const char *cidr_fmt(const struct cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->len);
	return buf;
}

/* The address of c with its bits past len cleared, into out. */
static void cidr_mask(const struct cidr *c, struct cidr *out)
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
static int cidr_parse(const char *arg, struct cidr *c)
{
	const char *slash = strchr(arg, '/');
	size_t alen = slash ? (size_t)(slash - arg) : strlen(arg);
	char addr[INET6_ADDRSTRLEN], net[64];
	unsigned long long len;
	struct cidr m;
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
		       arg, cidr_fmt(&m, net, sizeof(net)));
		return -1;
	}
	cidr_mask(c, &m);
	if (memcmp(m.addr, c->addr, sizeof(m.addr))) {
		inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, addr,
			  sizeof(addr));
		sg_err("invalid CIDR '%s': host bits set after the first %u; did you mean the network %s, or %s/%u for the one address?",
		       arg, c->len, cidr_fmt(&m, net, sizeof(net)), addr, max);
		return -1;
	}
	return 0;
}

/* The map of a list and family: enum sg_map_id puts them in order. */
static int list_map(enum list_kind kind, int family)
{
	return (kind == LIST_ALLOW ? SG_M_ALLOW4 : SG_M_DENY4) + (family == 6);
}

/* An LPM key of either family: both start with the prefix length. */
static void cidr_key(const struct cidr *c, struct sg_lpm6 *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = c->len;
	memcpy(k->addr, c->addr, c->family == 4 ? 4 : 16);
}

/* Is c itself (not a shorter prefix covering it) on the list? */
static bool list_has(const struct sg_pins *p, enum list_kind kind,
		     const struct cidr *c)
{
	struct sg_lpm6 k;
	__u32 v;

	cidr_key(c, &k);
	return !bpf_map_lookup_elem(p->fd[list_map(kind, c->family)], &k, &v) &&
	       v == c->len;
}

static int list_write(const struct sg_pins *p, enum list_kind kind,
		      const struct cidr *c, bool add)
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

static int cidr_cmp(const void *a, const void *b)
{
	const struct cidr *x = a, *y = b;
	int d = x->family - y->family;

	if (!d)
		d = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (!d)
		d = (int)x->len - (int)y->len;
	return d;
}

static int list_print(const struct sg_pins *p, enum list_kind kind)
{
	struct cidr *all = NULL, *more;
	size_t n = 0, i;
	struct sg_lpm6 key, next;
	char buf[64];
	int fam, fd, err = 0;

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
		       list_name[kind], sg_strerr(err));
		free(all);
		return SG_EXIT_FAIL;
	}
	qsort(all, n, sizeof(*all), cidr_cmp);
	for (i = 0; i < n; i++)
		printf("%s\n", cidr_fmt(&all[i], buf, sizeof(buf)));
	if (!n)
		sg_note("%s: the %s list is empty", p->iface, list_name[kind]);
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
static int list_check(const struct sg_pins *p, enum list_kind kind,
		      const struct cidr *c, size_t n, bool add, const int *size,
		      bool *skip, size_t *todo)
{
	enum list_kind other = kind == LIST_ALLOW ? LIST_DENY : LIST_ALLOW;
	const char *name = list_name[kind];
	int room[2], bad = 0;
	char buf[64];
	size_t i;

	room[0] = p->max_entries[list_map(kind, 4)] - size[0];
	room[1] = p->max_entries[list_map(kind, 6)] - size[1];
	for (i = 0; i < n; i++) {
		cidr_fmt(&c[i], buf, sizeof(buf));
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
				p->iface, buf, list_name[other]);
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

static int list_change(const struct sg_pins *p, enum list_kind kind,
		       struct cidr *c, size_t n, bool add)
{
	const char *name = list_name[kind];
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
		cidr_fmt(&c[done], buf, sizeof(buf));
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

static int list_cmd(const struct sg_cmd *cmd, enum list_kind kind, int argc,
		    char **argv)
{
	int need[] = {list_map(kind, 4), list_map(kind, 6),
		      list_map(kind == LIST_ALLOW ? LIST_DENY : LIST_ALLOW, 4),
		      list_map(kind == LIST_ALLOW ? LIST_DENY : LIST_ALLOW, 6),
		      SG_M_CONFIG};
	const char *iface, *action;
	struct cidr *c = NULL;
	struct sg_pins p;
	int first, rc, bad = 0, i, j, n = 0;
	bool add, list;

	rc = sg_parse_opts(cmd, argc, argv, NULL, NULL, &first);
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
		if (cidr_parse(argv[i], &c[n])) {
			bad++;
			continue;
		}
		/* The same network twice is one change. */
		for (j = 0; j < n && cidr_cmp(&c[j], &c[n]); j++)
			;
		n += j == n;
	}
	if (bad) {
		sg_err("nothing changed: %d invalid CIDR%s", bad,
		       bad == 1 ? "" : "s");
		free(c);
		return SG_EXIT_USAGE;
	}
	/* Printing a list reads two of its maps; changing it needs all. */
	rc = SG_EXIT_FAIL;
	if (sg_iface_open(iface, !list, need, list ? 2 : ARRAY_SIZE(need), &p))
		goto out;
	rc = list ? list_print(&p, kind) : list_change(&p, kind, c, n, add);
	sg_pins_close(&p);
out:
	free(c);
	return rc;
}

static int cmd_allow(int argc, char **argv)
{
	return list_cmd(&sg_cmd_allow, LIST_ALLOW, argc, argv);
}

static int cmd_deny(int argc, char **argv)
{
	return list_cmd(&sg_cmd_deny, LIST_DENY, argc, argv);
}

static const char list_doc[] =
	"CIDR: an IPv4 or IPv6 network, e.g. 192.0.2.0/24 or 2001:db8::/32; an address\nalone is one host. The longest matching prefix of the allow and deny lists\ndecides; on equal prefixes deny wins. Every CIDR is checked before anything\nchanges. The lists are pinned: they stay until detach; status shows their sizes.";

const struct sg_cmd sg_cmd_allow = {
	.name = "allow",
	.run = cmd_allow,
	.args = "IFACE add|del CIDR... | list",
	.summary = "sources whose SYNs go to the kernel, never limited",
	.opts = (const struct sg_opt[]){{NULL}},
	.doc = list_doc,
};

const struct sg_cmd sg_cmd_deny = {
	.name = "deny",
	.run = cmd_deny,
	.args = "IFACE add|del CIDR... | list",
	.summary = "sources whose packets to protected ports are dropped",
	.opts = (const struct sg_opt[]){{NULL}},
	.doc = list_doc,
};
