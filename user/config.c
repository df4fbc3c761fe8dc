// SPDX-License-Identifier: GPL-2.0
/*
 * config: change the settings of a protected interface in place, through
 * its pinned maps. The programs keep running; nothing is reloaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sg.h"

static int cmd_config(int argc, char **argv);

static const struct sg_opt config_opts[] = {
	{"force", 'f', NULL,
	 "change wscale even within the cookie lifetime of its last change (handshakes in flight with the scale before that fail)"},
	{NULL},
};

const struct sg_cmd sg_cmd_config = {
	.name = "config",
	.min_abbrev = 1, /* "c" stays config, though capture shares it */
	.run = cmd_config,
	.args = "IFACE KEY=VALUE... [--force]",
	.summary = "change the settings of a protected interface in place",
	.opts = config_opts,
	.with_keys = true,
	.doc = "Every KEY=VALUE is checked before anything is written; the programs keep\nrunning (no reload, no packet lost). ports= replaces the whole port list.\nA wscale change keeps the previous scale valid for cookies already sent, for\nthe cookie lifetime plus " SG_XSTR(SG_COOKIE_MARGIN_SEC_LIT) " s (time period and clock skew); a second change within that\ntime, to a third value, is refused without --force.",
};

/*
 * Applies KEY=VALUE arguments to s, saying what is wrong with each bad one;
 * returns how many were bad. Run once to check, then on the real values.
 */
static int apply(int argc, char **argv, struct sg_settings *s, bool *cfg_set)
{
	const struct sg_param *p;
	char key[64];
	int i, bad = 0;
	const char *eq;

	for (i = 0; i < argc; i++) {
		eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i] ||
		    (size_t)(eq - argv[i]) >= sizeof(key)) {
			sg_err("invalid setting '%s': expected KEY=VALUE, e.g. mss4=1400",
			       argv[i]);
			bad++;
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]),
			 argv[i]);
		p = sg_param_find(key);
		if (!p) {
			char keys[512] = "";
			size_t k;

			for (k = 0; k < sg_nparams; k++)
				snprintf(keys + strlen(keys),
					 sizeof(keys) - strlen(keys), "%s%s",
					 k ? ", " : "", sg_params[k].key);
			sg_err("unknown key '%s': the keys are %s", key, keys);
			bad++;
			continue;
		}
		if (sg_param_set(p, eq + 1, key, s)) {
			bad++;
			continue;
		}
		if (p->kind != SG_P_PORTS)
			*cfg_set = true;
	}
	return bad;
}

/*
 * A cookie names the window scale its SYN-ACK offered only through its MAC,
 * and the XDP program tries two: wscale and, for SG_WSCALE_PREV_NS after a
 * change, wscale_prev. So a change records the scale it replaces, and a
 * second change within that window may not drop a scale cookies in flight
 * still carry. 0, or an exit code after a message.
 */
static int wscale_change(const char *iface, const struct sg_config *old,
			 struct sg_config *cfg, bool force)
{
	/* Whole seconds, rounded up: waiting that long is enough. */
	unsigned int left = (unsigned int)(sg_wscale_prev_left(old) + 0.999);

	if (cfg->wscale == old->wscale)
		return 0;
	/* Back to the previous scale: both stay valid, nothing is lost. */
	if (left > 0 && cfg->wscale != old->wscale_prev && !force) {
		sg_err("refusing to change wscale of %s to %u: it changed from %u to %u within the cookie lifetime (%us) plus two time periods, and cookies sent with %u stay valid for %us more; changing it to a third value now would make those handshakes fail. Wait %us, set it back to %u, or use --force",
		       iface, cfg->wscale, old->wscale_prev, old->wscale,
		       old->cookie_lifetime, old->wscale_prev, left, left,
		       old->wscale_prev);
		return SG_EXIT_FAIL;
	}
	cfg->wscale_prev = old->wscale;
	cfg->wscale_changed_ns = sg_clock_ns();
	return 0;
}

/*
 * With --gateway, XDP answers a SYN to any protected port routed elsewhere
 * for the SYNPROXY rule in FORWARD, whose set must name the port for as
 * long as XDP may answer it: a cookie ACK it does not name is forwarded to
 * the backend, which resets it. So the set takes the old and new ports,
 * then the map the new ones, then the set the new ones alone. 0, or
 * nonzero after a message.
 */
static int ports_write(const struct sg_pins *p, const struct sg_ports *old,
		       const struct sg_ports *ports, int gw_ifindex)
{
	struct sg_ports both = *old;
	size_t i;
	int err;

	/* The protected ports only: the kinds run's scan wrote stay (a port
	 * added gets its SG_PORT_PASS with its protected bit). */
	if (!gw_ifindex)
		return sg_port_map_update(p, ports, NULL, NULL);
	for (i = 0; i < ARRAY_SIZE(both.bits); i++)
		both.bits[i] |= ports->bits[i];
	if (sg_nft_ports_set(gw_ifindex, SG_NFT_GATEWAY_SET, &both))
		return -1;
	err = sg_port_map_update(p, ports, NULL, NULL);
	return err ?: sg_nft_ports_set(gw_ifindex, SG_NFT_GATEWAY_SET, ports);
}

/*
 * Each map is one update; a packet sees the old or the new entry, or (the
 * kernel copies without a lock) a mix of fields each of which is valid on
 * its own. A new wscale goes in second, so that no packet sees it without
 * the record of the one it replaces. 0, or nonzero after a message.
 */
static int write_settings(const struct sg_pins *p, struct sg_config *old,
			  const struct sg_settings *cur, bool cfg_set,
			  const struct sg_ports *old_ports, int gw_ifindex)
{
	int err;

	if (cur->cfg.wscale != old->wscale) {
		old->wscale_prev = cur->cfg.wscale_prev;
		old->wscale_changed_ns = cur->cfg.wscale_changed_ns;
		err = sg_map_write(p, SG_M_CONFIG, old);
		if (err)
			return err;
	}
	if (cfg_set) {
		err = sg_map_write(p, SG_M_CONFIG, &cur->cfg);
		if (err)
			return err;
	}
	return cur->ports_set
		       ? ports_write(p, old_ports, &cur->ports, gw_ifindex)
		       : 0;
}

/* What was stored, normalised ("0080" -> 80), in the order given. */
static void print_stored(const char *iface, int n, char **kv,
			 const struct sg_settings *cur)
{
	const struct sg_param *prm;
	char val[128], key[64];
	const char *eq;
	int i;

	printf("%s:", iface);
	for (i = 0; i < n; i++) {
		eq = strchr(kv[i], '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv[i]), kv[i]);
		prm = sg_param_find(key);
		if (prm->kind == SG_P_PORTS)
			printf(" ports=%s",
			       sg_ports_fmt(&cur->ports, val, sizeof(val)));
		else
			printf(" %s=%s", key,
			       sg_param_fmt(prm, &cur->cfg, val, sizeof(val)));
	}
	printf("\n");
}

/* What the interface's engine cannot take of a change, refused (said). */
static bool engine_refuses(const struct sg_pins *p, const char *iface,
			   const struct sg_config *old,
			   const struct sg_config *cfg)
{
	struct sg_info info = {};

	if (sg_map_read(p, SG_M_INFO, &info))
		return false;
	return (cfg->wscale != old->wscale &&
		sg_engine_refuses(
			&info, iface,
			"offer a window scale other than the kernel's")) ||
	       (cfg->cookie_lifetime != old->cookie_lifetime &&
		sg_engine_refuses(
			&info, iface,
			"set a cookie lifetime (the kernel's cookies keep theirs)"));
}

static int cmd_config(int argc, char **argv)
{
	const int need[] = {SG_M_CONFIG, SG_M_PORT_MAP, SG_M_INFO};
	static struct sg_ports old_ports;
	struct sg_info info = {};
	struct sg_settings check, cur = {};
	bool cfg_set = false, force = false;
	struct sg_config old;
	const char *iface;
	struct sg_pins p;
	int first, rc, bad;

	rc = sg_parse_opts(&sg_cmd_config, argc, argv, sg_opt_flag, &force,
			   &first);
	if (rc)
		return rc;
	if (argc - first < 2) {
		sg_err("config takes an interface and at least one KEY=VALUE");
		sg_usage_hint(&sg_cmd_config);
		return SG_EXIT_USAGE;
	}
	iface = argv[first];
	if (sg_iface_check(iface, NULL))
		return SG_EXIT_USAGE;
	/* All of them checked before anything is read or written. */
	sg_settings_default(&check);
	bad = apply(argc - first - 1, argv + first + 1, &check, &cfg_set);
	if (bad) {
		sg_err("nothing changed: %d invalid setting%s", bad,
		       bad == 1 ? "" : "s");
		return SG_EXIT_USAGE;
	}
	if (sg_iface_open(iface, true, need, ARRAY_SIZE(need), &p))
		return SG_EXIT_FAIL;
	/* Read-modify-write: keys not named keep their value. */
	rc = sg_map_read(&p, SG_M_CONFIG, &cur.cfg);
	if (!rc)
		rc = sg_ports_read(&p, &cur.ports);
	if (!rc)
		rc = sg_map_read(&p, SG_M_INFO, &info);
	if (rc) {
		sg_err("%s: cannot read the settings: %s", iface,
		       sg_strerr(rc));
		goto fail;
	}
	old = cur.cfg;
	old_ports = cur.ports;
	apply(argc - first - 1, argv + first + 1, &cur, &cfg_set);
	rc = sg_config_write(&p, iface, &old, &old_ports, &cur, cfg_set, force);
	sg_pins_close(&p);
	if (rc)
		return rc;
	print_stored(iface, argc - first - 1, argv + first + 1, &cur);
	if (cur.cfg.monitor != old.monitor)
		printf(cur.cfg.monitor ? "%s: " SG_MONITOR_NOTE "\n"
				       : "%s: enforcing\n",
		       iface);
	return 0;
fail:
	sg_pins_close(&p);
	return SG_EXIT_FAIL;
}

int sg_config_write(const struct sg_pins *p, const char *iface,
		    struct sg_config *old, const struct sg_ports *old_ports,
		    struct sg_settings *cur, bool cfg_set, bool force)
{
	struct sg_info info = {};
	int rc;

	if (engine_refuses(p, iface, old, &cur->cfg)) {
		sg_err("nothing changed");
		return SG_EXIT_FAIL;
	}
	/* The rules between settings hold for the result, as in attach. */
	if (sg_settings_check(&cur->cfg, false)) {
		sg_err("nothing changed");
		return SG_EXIT_USAGE;
	}
	rc = wscale_change(iface, old, &cur->cfg, force);
	if (rc)
		return rc;
	sg_map_read(p, SG_M_INFO, &info);
	rc = write_settings(p, old, cur, cfg_set, old_ports,
			    (info.synproxy & SG_PROXY_GATEWAY) ? info.ifindex
							       : 0);
	return rc ? SG_EXIT_FAIL : 0;
}
