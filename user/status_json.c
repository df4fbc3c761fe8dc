// SPDX-License-Identifier: GPL-2.0
/*
 * status --json: the JSON document, from the struct iface_state that
 * status.c gathered, with the words of the text tables (status_show.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sg.h"
#include "status.h"

static void json_attach(json_t *o, const struct iface_state *s)
{
	const struct sg_info *in = &s->info;

	if (!s->have_info)
		return;
	sg_jset(o, "ifindex", json_integer(in->ifindex));
	sg_jset(o, "mode", json_string(sg_status_mode(s)));
	sg_jset(o, "multiprog",
		json_boolean(s->present ? s->multiprog : in->multiprog));
	sg_jset(o, "xdp_prog_id", json_integer(in->xdp_prog_id));
	sg_jset(o, "xdp_attached", json_boolean(s->xdp));
	sg_jset(o, "tc_prog_id", json_integer(in->tc_prog_id));
	sg_jset(o, "tc_handle", json_integer(in->tc_handle));
	sg_jset(o, "tc_priority", json_integer(in->tc_priority));
	sg_jset(o, "tc_hook_created", json_boolean(in->tc_hook_created));
	/* Where the TC program is: "tcx" or "clsact" (null: none). */
	sg_jset(o, "tc_hook",
		sg_engine_has_tc(in) ? json_string(sg_tc_hook_name(in->tc_hook))
				     : json_null());
	sg_jset(o, "tc_handoff", json_boolean(s->tc == TC_IN_PLACE));
	sg_jset(o, "tc_state", json_string(sg_tc_state_name[s->tc]));
	sg_jset(o, "notrack", json_string(sg_status_notrack(s)));
	sg_jset(o, "synproxy", json_boolean(s->info.synproxy & SG_PROXY_NAT));
	sg_jset(o, "gateway",
		json_boolean(s->info.synproxy & SG_PROXY_GATEWAY));
	/* Whether those cover IPv6 too: always, in either engine (kept for
	 * readers of the field). */
	sg_jset(o, "synproxy_ipv6", json_boolean(s->info.synproxy));
	/* Segments held back for SYNPROXY: client segments early for its
	 * translation, and its second SYNs to the backend (null: no
	 * SYNPROXY, or the table could not be read). */
	sg_jset(o, "synproxy_held",
		s->proxy_held >= 0 ? json_integer(s->proxy_held) : json_null());
	sg_engine_status_json(o, in);
	sg_jset(o, "attached_unix", json_integer(in->attached_unix));
	sg_jset(o, "key_installed_unix", json_integer(in->key_installed_unix));
	sg_jset(o, "key_age_s", json_integer(s->key_age));
}

static void json_ports(json_t *o, const struct iface_state *s)
{
	static char ports[65536 * 7];
	json_t *kinds, *counts;
	size_t k;

	if (s->have_ports) {
		sg_jset(o, "ports",
			json_string(
				sg_ports_fmt(&s->ports, ports, sizeof(ports))));
		sg_jset(o, "port_count",
			json_integer(sg_ports_count(&s->ports)));
		sg_jset(o, "port_ranges", sg_json_ranges(&s->ports));
	}
	if (!s->kinds_read)
		return;
	kinds = json_object();
	counts = json_object();
	for (k = 0; k < SG_PK_MAX; k++) {
		sg_jset(kinds, sg_port_kind_names[k],
			sg_json_ranges(&s->kinds.kind[k]));
		sg_jset(counts, sg_port_kind_names[k],
			json_integer(s->kinds.count[k]));
	}
	sg_jset(o, "ports_by_kind", kinds);
	sg_jset(o, "port_counts_by_kind", counts);
	sg_jset(o, "nat_rules", json_string(sg_status_nat_rules(s)));
}

/* The settings as config takes them: numbers, booleans, names. */
static json_t *json_config(const struct iface_state *s)
{
	json_t *o = json_object();
	char val[32];
	size_t k;

	for (k = 0; o && k < sg_nparams; k++) {
		const struct sg_param *p = &sg_params[k];

		if (p->kind == SG_P_ONOFF)
			sg_jset(o, p->key,
				json_boolean(sg_param_get(p, &s->cfg)));
		else if (p->kind == SG_P_UINT)
			sg_jset(o, p->key,
				json_integer(sg_param_get(p, &s->cfg)));
		else if (p->kind == SG_P_ENUM)
			sg_jset(o, p->key,
				json_string(sg_param_fmt(p, &s->cfg, val,
							 sizeof(val))));
	}
	return o;
}

static void json_host(json_t *o, const struct iface_state *s)
{
	json_t *host = json_object(), *ws = json_object();
	size_t k;

	for (k = 0; host && k < SG_NSYSCTLS; k++)
		sg_jset(host, sg_sysctls[k].name,
			json_boolean(s->cfg.tcp_sysctl & sg_sysctls[k].bit));
	sg_jset(host, "tai_offset_s",
		json_integer(s->cfg.tai_offset_ns / 1000000000LL));
	/* Only where status could read them: this namespace. */
	if (s->host_read)
		sg_jset(host, "current",
			json_boolean(s->host_now == s->cfg.tcp_sysctl));
	sg_jset(o, "host", host);
	sg_jset(ws, "current", json_integer(s->cfg.wscale));
	if (s->wscale_prev_left > 0) {
		sg_jset(ws, "previous", json_integer(s->cfg.wscale_prev));
		sg_jset(ws, "previous_valid_s", json_real(s->wscale_prev_left));
	}
	if (s->cfg.wscale_changed_ns)
		sg_jset(ws, "changed_unix",
			json_real(s->cfg.wscale_changed_ns / 1e9));
	sg_jset(o, "wscale", ws);
}

static json_t *json_adaptive(const struct iface_state *s)
{
	bool always = s->cfg.cookies != SG_COOKIES_AUTO;
	json_t *o = json_object();

	sg_jset(o, "state", json_string(sg_status_adaptive(s)));
	sg_jset(o, "engaged", json_boolean(always || s->state.engaged));
	sg_jset(o, "syn_rate", json_integer(s->rate_now));
	sg_jset(o, "syn_rate_measured", json_integer(s->state.rate));
	if (s->rate_age >= 0)
		sg_jset(o, "rate_measured_ago_s", json_real(s->rate_age));
	if (s->change_age >= 0) {
		sg_jset(o, "last_change_ago_s", json_real(s->change_age));
		sg_jset(o, "last_change_unix", json_real(s->change_unix));
	}
	sg_jset(o, "disengage_pending", json_boolean(s->pending));
	return o;
}

static json_t *json_iface(const struct iface_state *s)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	sg_jset(o, "iface", sg_json_str(s->iface));
	sg_jset(o, "present", json_boolean(s->present));
	sg_jset(o, "other_netns", json_boolean(s->elsewhere));
	sg_jset(o, "healthy", json_boolean(sg_status_healthy(s)));
	json_attach(o, s);
	if (s->have_keys) {
		sg_jset(o, "key_slot", json_integer(s->keys.current & 1));
		sg_jset(o, "previous_key_valid",
			json_boolean(s->keys.valid[!(s->keys.current & 1)]));
	}
	json_ports(o, s);
	if (s->have_cfg) {
		sg_jset(o, "enforcing", json_boolean(!s->cfg.monitor));
		if (s->cfg.monitor)
			sg_jset(o, "monitor", json_string(SG_MONITOR_NOTE));
		sg_jset(o, "config", json_config(s));
		json_host(o, s);
	}
	if (s->have_state && s->have_cfg)
		sg_jset(o, "adaptive", json_adaptive(s));
	sg_jset(o, "sampling",
		s->sampling ? json_pack("{s:i,s:i}", "reader_pid",
					(int)s->sample_ctl.pid, "rate",
					(int)s->sample_ctl.rate)
			    : json_null());
	if (s->lists[0] >= 0)
		sg_jset(o, "allow_entries", json_integer(s->lists[0]));
	if (s->lists[1] >= 0)
		sg_jset(o, "deny_entries", json_integer(s->lists[1]));
	if (s->src_entries >= 0)
		sg_jset(o, "src_table",
			json_pack("{s:i,s:i}", "entries", s->src_entries,
				  "size", (int)s->p.max_entries[SG_M_SRC]));
	sg_jset(o, "problems", sg_json_str(s->problems));
	sg_jset(o, "host_problems", sg_json_str(s->host));
	return o;
}

int sg_status_json(const struct iface_state *st, int n)
{
	json_t *doc = json_object(), *ifs = json_array();
	int i;

	for (i = 0; i < n; i++)
		sg_jappend(ifs, json_iface(&st[i]));
	sg_jset(doc, "interfaces", ifs);
	return sg_json_print(doc);
}
