// SPDX-License-Identifier: GPL-2.0
/*
 * The run-time settings: one table that attach options, `config` keys,
 * status and the help text all come from.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sg.h"

/*
 * MSS bounds: the kfunc refuses less than the protocol minimum (536 for
 * IPv4, 1220 for IPv6: SG_MSS4/6_DEFAULT); 9216 is the largest common jumbo
 * MTU, above which an MSS is a typo rather than a setting.
 */
#define SG_MSS_MAX 9216

/*
 * Rate bounds, per second. The whole host's SYN rate is measured in 32 bits
 * with a resolution of about 7.5 SYNs/s (one SYN in a 2^27 ns window);
 * 100M/s is beyond any NIC, so a higher threshold is a typo. A per-source
 * bucket spaces packets 1e9 / rate ns apart, which must stay above 0.
 */
#define SG_SYN_RATE_MAX 100000000
#define SG_SRC_RATE_MAX 10000000
#define SG_SRC_BURST_MAX 1000000
#define SG_HOLD_TIME_MAX 86400


/* Indexed by enum sg_cookies_mode: the value stored is the index. */
static const char *const cookies_names[] = {
	[SG_COOKIES_ALWAYS] = "always",
	[SG_COOKIES_AUTO] = "auto",
};

#define CFG(f) offsetof(struct sg_config, f), sizeof(((struct sg_config *)0)->f)

const struct sg_param sg_params[] = {
	{"ports", SG_P_PORTS, 0, 0, 0, 0, 0, "LIST", NULL,
	 "protected TCP destination ports, e.g. 80,443,8000-8100",
	 .group = SG_G_SYNACK},
	{"mss4", SG_P_UINT, SG_MSS4_DEFAULT, SG_MSS_MAX, SG_DEFAULT_MSS4,
	 CFG(mss4), "N", NULL, "MSS option of IPv4 SYN-ACKs",
	 .group = SG_G_SYNACK},
	{"mss6", SG_P_UINT, SG_MSS6_DEFAULT, SG_MSS_MAX, SG_DEFAULT_MSS6,
	 CFG(mss6), "N", NULL, "MSS option of IPv6 SYN-ACKs",
	 .group = SG_G_SYNACK},
	{"wscale", SG_P_UINT, 0, SG_WSCALE_MAX, SG_DEFAULT_WSCALE, CFG(wscale),
	 "N", NULL, "our window scale, offered when the client offers one",
	 .group = SG_G_SYNACK},
	{"ttl", SG_P_UINT, 1, 255, SG_DEFAULT_TTL, CFG(ttl), "N", NULL,
	 "IPv4 TTL and IPv6 hop limit of SYN-ACKs", .group = SG_G_SYNACK},
	{"window", SG_P_UINT, 1, 65535, SG_DEFAULT_WINDOW, CFG(window), "N",
	 NULL, "window of SYN-ACKs, never scaled", .group = SG_G_SYNACK},
	{"cookie_lifetime", SG_P_UINT, SG_LIFETIME_MIN, SG_LIFETIME_MAX,
	 SG_DEFAULT_LIFETIME, CFG(cookie_lifetime), "SEC", "s",
	 "how long a cookie stays valid, in seconds", .group = SG_G_SYNACK},
	{"ecn", SG_P_ONOFF, 0, 1, SG_DEFAULT_ECN, CFG(ecn), "on|off", NULL,
	 "answer a client's ECN setup with ECE, as the kernel does",
	 .group = SG_G_SYNACK},
	{"enforce", SG_P_ONOFF, 0, 1, 1, CFG(monitor), "on|off", NULL,
	 "off: monitor mode, every frame passes untouched and the counters say what synguard would have done",
	 .group = SG_G_ADAPTIVE, .invert = true},
	{"cookies", SG_P_ENUM, 0, ARRAY_SIZE(cookies_names) - 1,
	 SG_DEFAULT_COOKIES, CFG(cookies), "always|auto", NULL,
	 "always: cookies for every SYN to a protected port; auto: SYNs go to the kernel until the SYN rate reaches syn_rate_on",
	 .group = SG_G_ADAPTIVE, .names = cookies_names},
	{"syn_rate_on", SG_P_UINT, 1, SG_SYN_RATE_MAX, SG_DEFAULT_SYN_RATE_ON,
	 CFG(syn_rate_on), "N", "/s",
	 "cookies auto: engage at this many SYNs/s to protected ports (whole host)",
	 .group = SG_G_ADAPTIVE},
	{"syn_rate_off", SG_P_UINT, 1, SG_SYN_RATE_MAX, SG_DEFAULT_SYN_RATE_OFF,
	 CFG(syn_rate_off), "N", "/s",
	 "cookies auto: disengage once the SYN rate stayed below this for hold_time; at most syn_rate_on",
	 .group = SG_G_ADAPTIVE},
	{"hold_time", SG_P_UINT, 1, SG_HOLD_TIME_MAX, SG_DEFAULT_HOLD_TIME,
	 CFG(hold_time), "SEC", "s",
	 "cookies auto: how long the rate must stay below syn_rate_off",
	 .group = SG_G_ADAPTIVE},
	{"src_syn_rate", SG_P_UINT, 0, SG_SRC_RATE_MAX, SG_DEFAULT_SRC_SYN_RATE,
	 CFG(src_syn_rate), "N", "/s",
	 "SYNs/s per source (see src_prefix4/6), more are dropped",
	 .group = SG_G_LIMITS, .zero_off = true},
	{"src_syn_burst", SG_P_UINT, 1, SG_SRC_BURST_MAX,
	 SG_DEFAULT_SRC_SYN_BURST, CFG(src_syn_burst), "N", NULL,
	 "SYNs a source may send back to back before src_syn_rate applies",
	 .group = SG_G_LIMITS},
	{"src_ack_rate", SG_P_UINT, 0, SG_SRC_RATE_MAX, SG_DEFAULT_SRC_ACK_RATE,
	 CFG(src_ack_rate), "N", "/s",
	 "valid cookie ACKs/s (completed handshakes) per source, more are dropped",
	 .group = SG_G_LIMITS, .zero_off = true},
	{"src_ack_burst", SG_P_UINT, 1, SG_SRC_BURST_MAX,
	 SG_DEFAULT_SRC_ACK_BURST, CFG(src_ack_burst), "N", NULL,
	 "valid cookie ACKs a source may send back to back before src_ack_rate applies",
	 .group = SG_G_LIMITS},
	{"src_prefix4", SG_P_UINT, 1, 32, SG_DEFAULT_SRC_PREFIX4,
	 CFG(src_prefix4), "BITS", NULL,
	 "per-source limits count IPv4 sources by this prefix length",
	 .group = SG_G_LIMITS},
	{"src_prefix6", SG_P_UINT, 1, 128, SG_DEFAULT_SRC_PREFIX6,
	 CFG(src_prefix6), "BITS", NULL,
	 "per-source limits count IPv6 sources by this prefix length",
	 .group = SG_G_LIMITS},
	{"reflection_drop", SG_P_ONOFF, 0, 1, SG_DEFAULT_REFLECTION_DROP,
	 CFG(reflection_drop), "on|off", NULL,
	 "drop SYN-ACK, RST and FIN to a protected port that no socket expects (reflection and backscatter floods)",
	 .group = SG_G_LIMITS},
};

const size_t sg_nparams = ARRAY_SIZE(sg_params);

const struct sg_param *sg_param_find(const char *key)
{
	size_t i;

	for (i = 0; i < sg_nparams; i++)
		if (!strcmp(sg_params[i].key, key))
			return &sg_params[i];
	return NULL;
}

const char *sg_param_opt(const struct sg_param *p, char *buf, size_t len)
{
	char *c;

	snprintf(buf, len, "%s", p->key);
	for (c = buf; *c; c++)
		if (*c == '_')
			*c = '-';
	return buf;
}

/* v as the setting reads; the field may hold the opposite (invert). */
static void store(const struct sg_param *p, struct sg_config *cfg,
		  unsigned int v)
{
	void *f = (char *)cfg + p->off;

	if (p->invert)
		v = !v;
	switch (p->size) {
	case 1:
		*(__u8 *)f = v;
		break;
	case 2:
		*(__u16 *)f = v;
		break;
	default:
		*(__u32 *)f = v;
		break;
	}
}

unsigned int sg_param_get(const struct sg_param *p, const struct sg_config *cfg)
{
	const void *f = (const char *)cfg + p->off;
	unsigned int v;

	switch (p->size) {
	case 1:
		v = *(const __u8 *)f;
		break;
	case 2:
		v = *(const __u16 *)f;
		break;
	default:
		v = *(const __u32 *)f;
		break;
	}
	return p->invert ? !v : v;
}

const char *sg_param_fmt(const struct sg_param *p, const struct sg_config *cfg,
			 char *buf, size_t len)
{
	unsigned int v = sg_param_get(p, cfg);

	if (p->kind == SG_P_ONOFF || (p->zero_off && !v))
		snprintf(buf, len, "%s", v ? "on" : "off");
	else if (p->kind == SG_P_ENUM && v <= p->max)
		snprintf(buf, len, "%s", p->names[v]);
	else
		snprintf(buf, len, "%u", v);
	return buf;
}

int sg_settings_check(const struct sg_config *cfg, bool as_opts)
{
	const char *on = as_opts ? "--syn-rate-on" : "syn_rate_on";
	const char *off = as_opts ? "--syn-rate-off" : "syn_rate_off";

	/* Above on, the state would flip at every rate between them. */
	if (cfg->syn_rate_off > cfg->syn_rate_on) {
		sg_err("invalid settings: %s %u is above %s %u; cookies auto engages at %s and disengages below %s, so %s must not exceed %s",
		       off, cfg->syn_rate_off, on, cfg->syn_rate_on, on, off,
		       off, on);
		return -1;
	}
	return 0;
}

void sg_settings_default(struct sg_settings *s)
{
	size_t i;

	/* Fields no parameter covers stay 0: the features they control off. */
	memset(s, 0, sizeof(*s));
	for (i = 0; i < sg_nparams; i++)
		if (sg_params[i].kind != SG_P_PORTS)
			store(&sg_params[i], &s->cfg, sg_params[i].def);
}

int sg_param_set(const struct sg_param *p, const char *val, const char *label,
		 struct sg_settings *s)
{
	unsigned long long v;

	switch (p->kind) {
	case SG_P_PORTS:
		if (sg_ports_parse(val, label, &s->ports))
			return -1;
		s->ports_set = true;
		return 0;
	case SG_P_ENUM:
		for (v = 0; v <= p->max && strcmp(val, p->names[v]); v++)
			;
		if (v > p->max) {
			char all[128] = "";

			for (v = 0; v <= p->max; v++)
				snprintf(all + strlen(all),
					 sizeof(all) - strlen(all), "%s%s",
					 !v	      ? ""
					 : v < p->max ? ", "
						      : " or ",
					 p->names[v]);
			sg_err("invalid %s '%s': must be %s", label, val, all);
			return -1;
		}
		break;
	case SG_P_ONOFF:
		if (!strcmp(val, "on")) {
			v = 1;
		} else if (!strcmp(val, "off")) {
			v = 0;
		} else {
			sg_err("invalid %s '%s': must be on or off", label,
			       val);
			return -1;
		}
		break;
	default:
		if (p->zero_off && !strcmp(val, "off")) {
			v = 0;
			break;
		}
		if (sg_parse_uint(val, &v)) {
			sg_err("invalid %s '%s': not a number (%u..%u)", label,
			       val, p->min, p->max);
			return -1;
		}
		if (v < p->min || v > p->max) {
			sg_err("invalid %s %s: out of range %u..%u", label, val,
			       p->min, p->max);
			return -1;
		}
		break;
	}
	store(p, &s->cfg, v);
	return 0;
}
