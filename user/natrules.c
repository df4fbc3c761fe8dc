// SPDX-License-Identifier: GPL-2.0
/*
 * The ports that NAT rules translate, from `nft -j list ruleset` read
 * through jansson: the rules of the NAT chains (directly or through the
 * chains they jump to) that dnat or redirect to a TCP destination port
 * that may be this host's. A heuristic over the ruleset; its limits are in
 * doc/design.md, "Ports by kind".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "sg.h"

static void ports_add_range(struct sg_ports *p, json_int_t lo, json_int_t hi)
{
	if (lo < 1)
		lo = 1;
	for (; lo <= hi && lo <= 65535; lo++)
		sg_port_set(p, lo);
}

struct chain {
	const char *family, *table, *name;
	bool nat; /* translates, itself or through a chain it jumps to */
};

struct ruleset {
	json_t *items; /* the "nftables" array */
	struct chain *chains;
	size_t nchains;
	struct ifaddrs *addrs;
};

static int chain_cmp(const void *a, const void *b)
{
	const struct chain *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	if (!c)
		c = strcmp(x->table, y->table);
	return c ? c : strcmp(x->name, y->name);
}

static struct chain *chain_find(const struct ruleset *rs, const char *family,
				const char *table, const char *name)
{
	struct chain key = {family, table, name, false};

	if (!family || !table || !name)
		return NULL;
	return bsearch(&key, rs->chains, rs->nchains, sizeof(key), chain_cmp);
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ip, ip6 and inet: the families NAT works in. */
static bool nat_family(const char *family)
{
	return family && (!strcmp(family, "ip") || !strcmp(family, "ip6") ||
			  !strcmp(family, "inet"));
}

/* A statement that translates: dnat, redirect, or iptables-nft's targets. */
static bool nat_stmt(const json_t *e)
{
	const json_t *xt = json_object_get(e, "xt");
	const char *name = str(xt, "name");

	if (json_object_get(e, "dnat") || json_object_get(e, "redirect"))
		return true;
	return xt && name &&
	       (!strcmp(name, "DNAT") || !strcmp(name, "REDIRECT"));
}

/* The chain a verdict ({"jump": {"target": ...}} or goto) goes to. */
static struct chain *verdict_chain(const struct ruleset *rs, const json_t *v,
				   const char *family, const char *table)
{
	const json_t *j = json_object_get(v, "jump");

	if (!j)
		j = json_object_get(v, "goto");
	return j ? chain_find(rs, family, table, str(j, "target")) : NULL;
}

/* The object's key is a TCP destination port: "tcp dport" or "th dport". */
static bool is_dport(const json_t *left)
{
	const json_t *pl = json_object_get(left, "payload");
	const char *proto = str(pl, "protocol"), *field = str(pl, "field");

	return proto && field && !strcmp(field, "dport") &&
	       (!strcmp(proto, "tcp") || !strcmp(proto, "th"));
}

/* A named set of the table, for "@name". */
static const json_t *set_find(const struct ruleset *rs, const char *family,
			      const char *table, const char *name)
{
	const json_t *item, *set;
	size_t i;

	json_array_foreach(rs->items, i, item)
	{
		set = json_object_get(item, "set");
		if (set && str(set, "name") &&
		    !strcmp(str(set, "name"), name) &&
		    !strcmp(str(set, "family") ?: "", family) &&
		    !strcmp(str(set, "table") ?: "", table))
			return set;
	}
	return NULL;
}

/*
 * Ports a match's right-hand side holds: a number, a range, an anonymous
 * set or a named one ("@name"). Anything else (a service name, a
 * concatenation) adds nothing.
 */
static void ports_of(const struct ruleset *rs, const json_t *r,
		     const char *family, const char *table,
		     struct sg_ports *out)
{
	const json_t *range, *e, *set;
	size_t i;

	if (json_is_integer(r)) {
		ports_add_range(out, json_integer_value(r),
				json_integer_value(r));
	} else if ((range = json_object_get(r, "range")) &&
		   json_array_size(range) == 2) {
		ports_add_range(out,
				json_integer_value(json_array_get(range, 0)),
				json_integer_value(json_array_get(range, 1)));
	} else if (json_is_array(json_object_get(r, "set"))) {
		json_array_foreach(json_object_get(r, "set"), i, e)
			ports_of(rs, e, family, table, out);
	} else if (json_is_string(r) && json_string_value(r)[0] == '@') {
		set = set_find(rs, family, table, json_string_value(r) + 1);
		json_array_foreach(json_object_get(set, "elem"), i, e)
		{
			/* An element with a timeout or counter: {"elem":
			 * {"val"}} */
			const json_t *val = json_object_get(
				json_object_get(e, "elem"), "val");
			ports_of(rs, val ? val : e, family, table, out);
		}
	}
}

/* Does an address of this namespace fall in addr/len? */
static bool addr_local(const struct ruleset *rs, const char *addr, int len)
{
	unsigned char want[16], have[16];
	const struct ifaddrs *a;
	int family, alen, full;

	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	alen = family == AF_INET6 ? 16 : 4;
	if (inet_pton(family, addr, want) != 1)
		return true; /* a form we do not read: assume it may be ours */
	if (len < 0 || len > alen * 8)
		len = alen * 8;
	full = len / 8;
	for (a = rs->addrs; a; a = a->ifa_next) {
		if (!a->ifa_addr || a->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			memcpy(have,
			       &((struct sockaddr_in *)a->ifa_addr)->sin_addr,
			       4);
		else
			memcpy(have,
			       &((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr,
			       16);
		if (memcmp(want, have, full))
			continue;
		if (len % 8 && (want[full] ^ have[full]) >> (8 - len % 8))
			continue;
		return true;
	}
	return false;
}

/*
 * Could a destination match (ip daddr X) select packets to this host? A
 * rule for another address (a Kubernetes ClusterIP, a routed subnet) does
 * not make a port of this host a NAT port. Unknown forms count as local.
 */
static bool daddr_may_be_local(const struct ruleset *rs, const json_t *r)
{
	const json_t *pfx = json_object_get(r, "prefix"), *e;
	size_t i;

	if (json_is_string(r))
		return json_string_value(r)[0] == '@' ||
		       addr_local(rs, json_string_value(r), -1);
	if (pfx && json_is_string(json_object_get(pfx, "addr")))
		return addr_local(
			rs, str(pfx, "addr"),
			json_integer_value(json_object_get(pfx, "len")));
	if (json_is_array(json_object_get(r, "set"))) {
		json_array_foreach(
			json_object_get(r, "set"), i,
			e) if (daddr_may_be_local(rs, e)) return true;
		return false;
	}
	return true;
}

static bool is_daddr(const json_t *left)
{
	const json_t *pl = json_object_get(left, "payload");
	const char *proto = str(pl, "protocol"), *field = str(pl, "field");

	return proto && field && !strcmp(field, "daddr") &&
	       (!strcmp(proto, "ip") || !strcmp(proto, "ip6"));
}

/* Marks chains that translate, directly or through chains they jump to. */
static void chains_mark(struct ruleset *rs)
{
	const json_t *item, *rule, *e, *m, *el;
	bool changed = true;
	struct chain *c, *to;
	size_t i, k, l;

	json_array_foreach(rs->items, i, item)
	{
		rule = json_object_get(item, "rule");
		c = rule ? chain_find(rs, str(rule, "family"),
				      str(rule, "table"), str(rule, "chain"))
			 : NULL;
		if (!c)
			continue;
		json_array_foreach(json_object_get(rule, "expr"), k,
				   e) if (nat_stmt(e)) c->nat = true;
	}
	/* Jumps: a fixpoint, at most one round per chain. */
	for (l = 0; changed && l <= rs->nchains; l++) {
		changed = false;
		json_array_foreach(rs->items, i, item)
		{
			rule = json_object_get(item, "rule");
			c = rule ? chain_find(rs, str(rule, "family"),
					      str(rule, "table"),
					      str(rule, "chain"))
				 : NULL;
			if (!c || c->nat)
				continue;
			json_array_foreach(json_object_get(rule, "expr"), k, e)
			{
				to = verdict_chain(rs, e, c->family, c->table);
				m = json_object_get(json_object_get(e, "vmap"),
						    "data");
				if (!to && m) {
					size_t j;

					json_array_foreach(
						json_object_get(m, "set"), j,
						el)
					{
						to = verdict_chain(
							rs,
							json_array_get(el, 1),
							c->family, c->table);
						if (to && to->nat)
							break;
					}
				}
				if (to && to->nat) {
					c->nat = changed = true;
					break;
				}
			}
		}
	}
}

/*
 * One rule: the destination ports it matches (positively) and whether it
 * then translates, itself or through a chain; also dport verdict maps
 * ("tcp dport vmap { 8080 : jump x }").
 */
static void rule_ports(const struct ruleset *rs, const json_t *rule,
		       struct sg_ports *out)
{
	const char *family = str(rule, "family"), *table = str(rule, "table");
	const json_t *e, *m, *el, *vm;
	struct sg_ports match, tmp;
	bool matched = false, nat = false, local = true;
	struct chain *to;
	size_t i, j, w;

	json_array_foreach(json_object_get(rule, "expr"), i, e)
	{
		m = json_object_get(e, "match");
		vm = json_object_get(e, "vmap");
		if (m) {
			const char *op = str(m, "op") ?: "==";
			bool eq = !strcmp(op, "==") || !strcmp(op, "in");

			if (eq && is_daddr(json_object_get(m, "left")) &&
			    !daddr_may_be_local(rs,
						json_object_get(m, "right")))
				local = false;
			if (!eq || !is_dport(json_object_get(m, "left")))
				continue;
			memset(&tmp, 0, sizeof(tmp));
			ports_of(rs, json_object_get(m, "right"), family, table,
				 &tmp);
			if (!matched) {
				match = tmp;
				matched = true;
			} else {
				for (w = 0; w < ARRAY_SIZE(match.bits); w++)
					match.bits[w] &= tmp.bits[w];
			}
		} else if (vm && is_dport(json_object_get(vm, "key")) &&
			   local) {
			json_array_foreach(
				json_object_get(json_object_get(vm, "data"),
						"set"),
				j, el)
			{
				to = verdict_chain(rs, json_array_get(el, 1),
						   family, table);
				if (!to || !to->nat)
					continue;
				memset(&tmp, 0, sizeof(tmp));
				ports_of(rs, json_array_get(el, 0), family,
					 table, &tmp);
				for (w = 0; w < ARRAY_SIZE(tmp.bits); w++)
					if (!matched)
						out->bits[w] |= tmp.bits[w];
					else
						out->bits[w] |= tmp.bits[w] &
								match.bits[w];
			}
		} else if (nat_stmt(e)) {
			nat = true;
		} else if ((to = verdict_chain(rs, e, family, table)) &&
			   to->nat) {
			nat = true;
		}
	}
	if (matched && nat && local)
		for (w = 0; w < ARRAY_SIZE(match.bits); w++)
			out->bits[w] |= match.bits[w];
}

int sg_nat_ports(struct sg_ports *out)
{
	const char *const argv[] = {"nft", "-j", "list", "ruleset", NULL};
	struct ruleset rs = {};
	const json_t *item, *obj;
	json_error_t jerr;
	json_t *root;
	char *text;
	size_t i, n = 0;
	int rc;

	rc = sg_run_tool(argv, NULL, false, &text);
	if (rc) {
		free(text);
		return rc < 0 ? rc : -EIO;
	}
	root = json_loads(text, 0, &jerr);
	free(text);
	rs.items = json_object_get(root, "nftables");
	if (!json_is_array(rs.items)) {
		json_decref(root);
		return -EBADMSG;
	}
	rs.chains = calloc(json_array_size(rs.items) + 1, sizeof(*rs.chains));
	if (!rs.chains || getifaddrs(&rs.addrs)) {
		rc = -errno;
		goto out;
	}
	json_array_foreach(rs.items, i, item)
	{
		obj = json_object_get(item, "chain");
		if (obj && nat_family(str(obj, "family")) &&
		    str(obj, "table") && str(obj, "name"))
			rs.chains[n++] = (struct chain){
				str(obj, "family"), str(obj, "table"),
				str(obj, "name"), false};
	}
	rs.nchains = n;
	qsort(rs.chains, n, sizeof(*rs.chains), chain_cmp);
	chains_mark(&rs);
	json_array_foreach(rs.items, i, item)
	{
		obj = json_object_get(item, "rule");
		if (obj && nat_family(str(obj, "family")) && str(obj, "table"))
			rule_ports(&rs, obj, out);
	}
out:
	if (rs.addrs)
		freeifaddrs(rs.addrs);
	free(rs.chains);
	json_decref(root);
	return rc;
}
