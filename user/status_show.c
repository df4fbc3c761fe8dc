// SPDX-License-Identifier: GPL-2.0
/*
 * status, rendered as text tables from the struct iface_state that status.c
 * gathered (status_json.c renders the same as JSON).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg.h"
#include "status.h"

const char *const sg_tc_state_name[] = {
	[TC_UNKNOWN] = "unknown", [TC_IN_PLACE] = "in place",
	[TC_MISSING] = "missing", [TC_REPLACED] = "replaced",
	[TC_NONE] = "none", /* the kernel engine, without SYNPROXY: none */
};

const char *sg_status_mode(const struct iface_state *s)
{
	if (!s->have_info)
		return "-";
	return s->info.xdp_mode == SG_MODE_SKB ? "skb" : "native";
}

/* What keeps conntrack off handed-off ACKs, for status. */
const char *sg_status_notrack(const struct iface_state *s)
{
	if (!s->have_cfg || !s->present)
		return "-";
	if (!(s->cfg.nf & SG_NF_NOTRACK))
		return "not-needed";
	return s->notrack > 0 ? "installed"
	       : s->notrack   ? "unknown"
			      : "missing";
}

static bool in_table(const struct sg_param *p, int group)
{
	return p->kind != SG_P_PORTS && (int)p->group == group;
}

/* A setting as status shows it: config syntax and the unit, "-" if unread. */
static const char *setting(const struct iface_state *s,
			   const struct sg_param *p, char *buf, size_t len)
{
	if (!s->have_cfg)
		return NULL;
	sg_param_fmt(p, &s->cfg, buf, len);
	if (p->unit && isdigit((unsigned char)buf[0]))
		strncat(buf, p->unit, len - strlen(buf) - 1);
	return buf;
}

/* always, or in auto mode the program's state. */
const char *sg_status_adaptive(const struct iface_state *s)
{
	if (s->cfg.cookies != SG_COOKIES_AUTO)
		return "always";
	return s->state.engaged ? "engaged" : "disengaged";
}

/* "12s ago (14:02:11)", or "never" (since attach). */
static const char *change_fmt(const struct iface_state *s, char *buf,
			      size_t len)
{
	char age[32], when[32];
	time_t t;

	if (s->change_age < 0)
		return "never";
	t = (time_t)s->change_unix;
	strftime(when, sizeof(when),
		 s->change_age < 86400 ? "%H:%M:%S" : "%Y-%m-%d %H:%M",
		 localtime(&t));
	snprintf(buf, len, "%s ago (%s)",
		 sg_age_fmt((__u64)s->change_age, age, sizeof(age)), when);
	return buf;
}

/* The NAT side of the port kinds, for status. */
const char *sg_status_nat_rules(const struct iface_state *s)
{
	static char buf[224];

	if (!s->nat_err)
		return "read";
	if (s->nat_err == -ENOENT)
		return "nft not installed";
	snprintf(buf, sizeof(buf), "unreadable: %s", sg_strerr(s->nat_err));
	return buf;
}

/* One cell of the ports-by-kind table: the list, with the count if cut. */
static const char *kind_cell(const struct iface_state *s, int k, char *buf,
			     size_t len)
{
	char list[48];

	if (!s->kinds_read || !s->kinds.count[k])
		return NULL;
	sg_ports_fmt(&s->kinds.kind[k], list, sizeof(list));
	if (strstr(list, "..."))
		snprintf(buf, len, "%u: %s", s->kinds.count[k], list);
	else
		snprintf(buf, len, "%s", list);
	return buf;
}

/* What the kinds of an interface's ports mean, where it needs saying. */
static void kind_notes(const struct iface_state *s)
{
	char list[160];

	if (!s->kinds_read)
		return;
	if (s->nat_err)
		printf("%s: NAT rules not read (%s): ports translated by NAT show as NOTHING\n",
		       s->iface, sg_status_nat_rules(s));
	if (s->kinds.count[SG_PK_LOCAL_NAT])
		printf("%s: %s: a local listener AND a DNAT rule: their SYNs pass to the kernel untouched (syn_local_nat_pass), not protected\n",
		       s->iface,
		       sg_port_list_fmt(&s->kinds.kind[SG_PK_LOCAL_NAT], list,
					sizeof(list)));
}

/* A column title from a setting's name: tcp_sack -> TCP-SACK. */
static const char *title(const char *name, char *buf, size_t len)
{
	char *c;

	snprintf(buf, len, "%s", name);
	for (c = buf; *c; c++)
		*c = *c == '_' ? '-' : toupper((unsigned char)*c);
	return buf;
}

/* What is attached, as queried now. */
static void text_attach(struct sg_table *t, struct iface_state *st, int n)
{
	static const char *const cols[] = {"IFACE",    "MODE",	  "XDP",
					   "XDP-PROG", "TC-PROG", "HANDOFF",
					   "KEY-AGE",  "PORTS"};
	char buf[64], ports[96], age[64];
	const char *xdp;
	size_t k;
	int i;

	t->cols = sizeof(cols) / sizeof(cols[0]);
	for (k = 0; k < t->cols; k++)
		sg_tbl_add(t, cols[k]);
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];

		if (!s->present)
			xdp = "-";
		else if (!s->xdp)
			xdp = "missing";
		else
			xdp = s->multiprog ? "multiprog" : "single";
		sg_tbl_add(t, s->iface);
		sg_tbl_add(t, sg_status_mode(s));
		sg_tbl_add(t, xdp);
		snprintf(buf, sizeof(buf), "%u", s->info.xdp_prog_id);
		sg_tbl_add(t, s->have_info ? buf : NULL);
		if (sg_engine_has_tc(&s->info))
			snprintf(buf, sizeof(buf), "%u (%s)",
				 s->info.tc_prog_id,
				 sg_tc_hook_name(s->info.tc_hook));
		else
			snprintf(buf, sizeof(buf), "-");
		sg_tbl_add(t, s->have_info ? buf : NULL);
		sg_tbl_add(t, s->present ? sg_tc_state_name[s->tc] : NULL);
		sg_tbl_add(t, s->have_info
				      ? sg_age_fmt(s->key_age, age, sizeof(age))
				      : NULL);
		sg_tbl_add(t, s->have_ports ? sg_ports_fmt(&s->ports, ports,
							   sizeof(ports))
					    : NULL);
	}
	sg_tbl_print(t, "");
	for (i = 0; i < n; i++) {
		if (st[i].have_cfg && st[i].cfg.monitor)
			printf("%s: " SG_MONITOR_NOTE
			       " (enforce off; `synguard config %s enforce=on` to enforce)\n",
			       st[i].iface, st[i].iface);
		if (st[i].sampling)
			printf("%s: packet samples taken for PID %u (synguard top or capture), at most %u a second per CPU\n",
			       st[i].iface, st[i].sample_ctl.pid,
			       st[i].sample_ctl.rate);
		if (!st[i].have_cfg || !st[i].present)
			continue;
		sg_engine_status_text(st[i].iface, &st[i].info);
		if (st[i].info.synproxy & SG_PROXY_GATEWAY)
			printf("%s: --gateway: SYNs routed through this host get SYN cookies at XDP and netfilter's SYNPROXY: nftables table inet " SG_NFT_TABLE_FMT
			       " (set gateway_ports, chain proxy_forward)\n",
			       st[i].iface, st[i].info.ifindex);
		if (st[i].info.synproxy & SG_PROXY_NAT)
			printf("%s: --synproxy nat: translated (nat) ports get SYN cookies at XDP and netfilter's SYNPROXY: nftables table inet " SG_NFT_TABLE_FMT
			       " (set proxy_ports, chain proxy), net.netfilter.nf_conntrack_tcp_loose 0 until detach\n",
			       st[i].iface, st[i].info.ifindex);
		sg_proxy_families_text(st[i].iface, &st[i].info);
		if (st[i].proxy_held >= 0)
			printf("%s: %lld segments held back for SYNPROXY: client segments that came before it had set up the connection's sequence translation, and second SYNs it would have sent the backend (counter " SG_NFT_HELD_COUNTER
			       ")\n",
			       st[i].iface, st[i].proxy_held);
		if (st[i].info.engine == SG_ENGINE_KERNEL)
			continue; /* no handoff, no table */
		if (st[i].cfg.nf & SG_NF_NOTRACK)
			printf("%s: handed-off handshake ACKs skip conntrack: nftables table inet " SG_NFT_TABLE_FMT
			       " %s\n",
			       st[i].iface, st[i].info.ifindex,
			       sg_status_notrack(&st[i]));
		else
			printf("%s: no conntrack in this kernel at attach: no nftables table needed\n",
			       st[i].iface);
	}
}

/* The settings: a table per group, a column per parameter. */
static void text_settings(struct sg_table *t, struct iface_state *st, int n)
{
	char buf[64];
	size_t k;
	int i, g;

	for (g = 0; g < SG_G_MAX; g++) {
		putchar('\n');
		t->cols = 1;
		sg_tbl_add(t, "IFACE");
		for (k = 0; k < sg_nparams; k++) {
			if (!in_table(&sg_params[k], g))
				continue;
			sg_tbl_add(t,
				   title(sg_params[k].key, buf, sizeof(buf)));
			t->cols++;
		}
		for (i = 0; i < n; i++) {
			sg_tbl_add(t, st[i].iface);
			for (k = 0; k < sg_nparams; k++)
				if (in_table(&sg_params[k], g))
					sg_tbl_add(t,
						   setting(&st[i],
							   &sg_params[k], buf,
							   sizeof(buf)));
		}
		sg_tbl_print(t, "");
	}
}

/* What cookies auto and the lists are doing now. */
static void text_adaptive(struct sg_table *t, struct iface_state *st, int n)
{
	char buf[64], age[64];
	int i;

	putchar('\n');
	t->cols = 7;
	sg_tbl_add(t, "IFACE");
	sg_tbl_add(t, "COOKIES");
	sg_tbl_add(t, "SYN-RATE");
	sg_tbl_add(t, "LAST-CHANGE");
	sg_tbl_add(t, "ALLOW");
	sg_tbl_add(t, "DENY");
	sg_tbl_add(t, "SOURCES");
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];
		bool known = s->have_state && s->have_cfg;

		sg_tbl_add(t, s->iface);
		snprintf(buf, sizeof(buf), "%s%s",
			 s->cfg.cookies == SG_COOKIES_AUTO ? "auto: " : "",
			 sg_status_adaptive(s));
		sg_tbl_add(t, known ? buf : NULL);
		snprintf(buf, sizeof(buf), "%u/s", s->rate_now);
		sg_tbl_add(t, known ? buf : NULL);
		sg_tbl_add(t, known ? change_fmt(s, age, sizeof(age)) : NULL);
		snprintf(buf, sizeof(buf), "%d", s->lists[0]);
		sg_tbl_add(t, s->lists[0] >= 0 ? buf : NULL);
		snprintf(buf, sizeof(buf), "%d", s->lists[1]);
		sg_tbl_add(t, s->lists[1] >= 0 ? buf : NULL);
		snprintf(buf, sizeof(buf), "%d/%u", s->src_entries,
			 s->p.max_entries[SG_M_SRC]);
		sg_tbl_add(t, s->src_entries >= 0 ? buf : NULL);
	}
	sg_tbl_print(t, "");
}

/* The host state the programs follow, and the window scale. */
static void text_host(struct sg_table *t, struct iface_state *st, int n)
{
	char buf[64], age[64];
	size_t k;
	int i;

	putchar('\n');
	t->cols = 1 + SG_NSYSCTLS + 2;
	sg_tbl_add(t, "IFACE");
	for (k = 0; k < SG_NSYSCTLS; k++)
		sg_tbl_add(t, title(sg_sysctls[k].name, buf, sizeof(buf)));
	sg_tbl_add(t, "WSCALE");
	sg_tbl_add(t, "PREV-WSCALE");
	for (i = 0; i < n; i++) {
		struct iface_state *s = &st[i];

		sg_tbl_add(t, s->iface);
		for (k = 0; k < SG_NSYSCTLS; k++)
			sg_tbl_add(t, !s->have_cfg ? NULL
				      : s->cfg.tcp_sysctl & sg_sysctls[k].bit
					      ? "on"
					      : "off");
		snprintf(buf, sizeof(buf), "%u", s->cfg.wscale);
		sg_tbl_add(t, s->have_cfg ? buf : NULL);
		snprintf(buf, sizeof(buf), "%u for %s", s->cfg.wscale_prev,
			 sg_age_fmt((__u64)(s->wscale_prev_left + 0.999), age,
				    sizeof(age)));
		sg_tbl_add(t, s->wscale_prev_left > 0 ? buf : "none");
	}
	sg_tbl_print(t, "");
}

/* The protected ports by kind: what each gets. */
static void text_kinds(struct sg_table *t, struct iface_state *st, int n)
{
	char buf[64], ports[96];
	size_t k;
	int i;

	putchar('\n');
	t->cols = 1 + SG_PK_MAX;
	sg_tbl_add(t, "IFACE");
	for (k = 0; k < SG_PK_MAX; k++)
		sg_tbl_add(t, title(sg_port_kind_names[k], buf, sizeof(buf)));
	for (i = 0; i < n; i++) {
		sg_tbl_add(t, st[i].iface);
		for (k = 0; k < SG_PK_MAX; k++)
			sg_tbl_add(t,
				   kind_cell(&st[i], k, ports, sizeof(ports)));
	}
	sg_tbl_print(t, "");
	for (i = 0; i < n; i++)
		kind_notes(&st[i]);
}

/* What needs saying below the tables: pending changes and problems. */
static void text_notes(const struct iface_state *st, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (st[i].host[0])
			printf("\n%s: %s\n", st[i].iface, st[i].host);
	for (i = 0; i < n; i++)
		if (st[i].pending)
			printf("\n%s: the SYN rate stayed below syn_rate_off for hold_time: cookies disengage at the next SYN to a protected port (the state moves only when SYNs arrive)\n",
			       st[i].iface);
	for (i = 0; i < n; i++) {
		if (!st[i].problems[0])
			continue;
		if (st[i].elsewhere)
			printf("\n%s: %s: run synguard there, e.g. `nsenter --net=/run/netns/NAME synguard status %s`\n",
			       st[i].iface, st[i].problems, st[i].iface);
		else if (st[i].present || !st[i].have_info)
			printf("\n%s: %s: `synguard detach %s` and attach again to repair\n",
			       st[i].iface, st[i].problems, st[i].iface);
		else
			printf("\n%s: %s: if it was deleted, `synguard detach %s` removes its pins\n",
			       st[i].iface, st[i].problems, st[i].iface);
	}
}

void sg_status_text(struct iface_state *st, int n)
{
	struct sg_table t = {};

	text_attach(&t, st, n);
	text_settings(&t, st, n);
	text_adaptive(&t, st, n);
	text_host(&t, st, n);
	text_kinds(&t, st, n);
	text_notes(st, n);
}
