// SPDX-License-Identifier: GPL-2.0
/*
 * config and key: change a protected interface in place, through its
 * pinned maps. The programs keep running; nothing is reloaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sg.h"

static int cmd_config(int argc, char **argv);
static int cmd_key(int argc, char **argv);
static int set_force(void *ctx, int idx, const char *arg);

static const struct sg_opt config_opts[] = {
	{"force", 'f', NULL,
	 "change wscale even within the cookie lifetime of its last change "
	 "(handshakes in flight with the scale before that fail)"},
	{NULL},
};

const struct sg_cmd sg_cmd_config = {
	.name = "config",
	.run = cmd_config,
	.args = "IFACE KEY=VALUE... [--force]",
	.summary = "change the settings of a protected interface in place",
	.opts = config_opts,
	.with_keys = true,
	.doc = "Every KEY=VALUE is checked before anything is written; the "
	       "programs keep\nrunning (no reload, no packet lost). ports= "
	       "replaces the whole port list.\nA wscale change keeps the "
	       "previous scale valid for cookies already sent, for\nthe "
	       "cookie lifetime plus two 17 s time periods; a second change "
	       "within that\ntime, to a third value, is refused without "
	       "--force.",
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
			sg_err("invalid setting '%s': expected KEY=VALUE, e.g. "
			       "mss4=1400",
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
		sg_err("refusing to change wscale of %s to %u: it changed from "
		       "%u to %u within the cookie lifetime (%us) plus two "
		       "time periods, and cookies sent with %u stay valid "
		       "for %us more; changing it to a third value now "
		       "would make those handshakes fail. Wait %us, set it "
		       "back to %u, or use --force",
		       iface, cfg->wscale, old->wscale_prev, old->wscale,
		       old->cookie_lifetime, old->wscale_prev, left, left,
		       old->wscale_prev);
		return SG_EXIT_FAIL;
	}
	cfg->wscale_prev = old->wscale;
	cfg->wscale_changed_ns = sg_clock_ns();
	return 0;
}

static int cmd_config(int argc, char **argv)
{
	const int need[] = {SG_M_CONFIG, SG_M_PORTS};
	struct sg_settings check, cur = {};
	bool cfg_set = false, force = false;
	struct sg_config old;
	char val[128], key[64];
	const char *iface, *eq;
	struct sg_pins p;
	int first, rc, i, bad;

	rc = sg_parse_opts(&sg_cmd_config, argc, argv, set_force, &force,
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
	if (sg_require_root() ||
	    sg_pins_lock_need(iface, &p, need, ARRAY_SIZE(need)))
		return SG_EXIT_FAIL;
	/* Read-modify-write: keys not named keep their value. */
	rc = sg_map_read(&p, SG_M_CONFIG, &cur.cfg);
	if (!rc)
		rc = sg_map_read(&p, SG_M_PORTS, &cur.ports);
	if (rc) {
		sg_err("%s: cannot read the settings: %s", iface,
		       sg_strerr(rc));
		goto fail;
	}
	old = cur.cfg;
	apply(argc - first - 1, argv + first + 1, &cur, &cfg_set);
	/* The rules between settings hold for the result, as in attach. */
	if (sg_settings_check(&cur.cfg, false)) {
		sg_err("nothing changed");
		sg_pins_close(&p);
		return SG_EXIT_USAGE;
	}
	rc = wscale_change(iface, &old, &cur.cfg, force);
	if (rc) {
		sg_pins_close(&p);
		return rc;
	}
	/*
	 * Each map is one update; a packet sees the old or the new entry,
	 * or (the kernel copies without a lock) a mix of fields each of
	 * which is valid on its own. A new wscale goes in second, so that
	 * no packet sees it without the record of the one it replaces.
	 */
	if (cur.cfg.wscale != old.wscale) {
		old.wscale_prev = cur.cfg.wscale_prev;
		old.wscale_changed_ns = cur.cfg.wscale_changed_ns;
		if (sg_map_write(&p, SG_M_CONFIG, &old))
			goto fail;
	}
	if ((cfg_set && sg_map_write(&p, SG_M_CONFIG, &cur.cfg)) ||
	    (cur.ports_set && sg_map_write(&p, SG_M_PORTS, &cur.ports)))
		goto fail;
	sg_pins_close(&p);

	printf("%s:", iface);
	for (i = first + 1; i < argc; i++) {
		const struct sg_param *prm;

		/* Print what was stored, normalised ("0080" -> 80). */
		eq = strchr(argv[i], '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]),
			 argv[i]);
		prm = sg_param_find(key);
		if (prm->kind == SG_P_PORTS)
			printf(" ports=%s",
			       sg_ports_fmt(&cur.ports, val, sizeof(val)));
		else
			printf(" %s=%s", key,
			       sg_param_fmt(prm, &cur.cfg, val, sizeof(val)));
	}
	printf("\n");
	return 0;
fail:
	sg_pins_close(&p);
	return SG_EXIT_FAIL;
}

/* ---- key ---- */

enum { KO_FORCE };

static const struct sg_opt key_opts[] = {
	[KO_FORCE] = {"force", 'f', NULL,
		      "replace the previous key even within the cookie "
		      "lifetime of the last change (handshakes in flight "
		      "with it fail)"},
	{NULL},
};

const struct sg_cmd sg_cmd_key = {
	.name = "key",
	.run = cmd_key,
	.args = "IFACE rotate | load FILE [--force]",
	.summary = "install a new cookie key: random (rotate) or from a file",
	.opts = key_opts,
	.doc = "The new key goes into the slot of the previous key and becomes "
	       "current; the key\nit replaces as current stays valid, so "
	       "handshakes in flight complete. A second\nchange within the "
	       "cookie lifetime (plus one " SG_XSTR(SG_PERIOD_SEC_LIT) " s time period) of the last\n"
	       "one would drop the key those handshakes need: refused "
	       "without --force.\n"
	       "FILE: 32 hex digits, mode 600, e.g. `(umask 077; openssl rand "
	       "-hex 16 > FILE)`;\nhosts that share one address (ECMP, "
	       "anycast) share the key and load it together.",
};

static int set_force(void *ctx, int idx, const char *arg)
{
	(void)idx;
	(void)arg;
	*(bool *)ctx = true;
	return 0;
}

unsigned int sg_key_min_interval(const struct sg_config *cfg)
{
	return cfg->cookie_lifetime + SG_PERIOD_SEC;
}

int sg_key_change(const struct sg_pins *p, const __u8 key[SG_KEY_BYTES],
		  const char *source, bool force, struct sg_key_change *kc)
{
	struct sg_config cfg;
	struct sg_info info;
	struct sg_keys keys;
	struct timespec tai;
	unsigned int wait;
	__u64 now;
	int rc;

	rc = sg_map_read(p, SG_M_KEYS, &keys);
	if (!rc)
		rc = sg_map_read(p, SG_M_CONFIG, &cfg);
	if (!rc)
		rc = sg_map_read(p, SG_M_INFO, &info);
	if (rc) {
		sg_err("%s: cannot read the keys: %s", p->iface, sg_strerr(rc));
		return -1;
	}

	kc->prev = keys.current & 1;
	kc->slot = !kc->prev;
	kc->lifetime = cfg.cookie_lifetime;
	now = time(NULL);
	kc->age = info.key_installed_unix <= now ? now - info.key_installed_unix
						 : 0;
	/*
	 * The slot we write holds the key that was current before the last
	 * change; cookies made with it are accepted for less than lifetime
	 * + one period after that change (include/synguard.h).
	 */
	wait = sg_key_min_interval(&cfg);
	if (keys.valid[kc->slot] && kc->age < wait && !force) {
		kc->wait = wait - kc->age;
		return 1;
	}

	sg_block_signals();
	/*
	 * Two updates: first the new key into the idle slot, then the switch.
	 * A packet reading the entry during an update may see the old bytes
	 * of one and the new of the other, but never a current slot whose
	 * key is half written.
	 */
	sg_key_words(key, keys.key[kc->slot]);
	keys.valid[kc->slot] = 1;
	clock_gettime(CLOCK_TAI, &tai);
	keys.installed_tai_ns[kc->slot] =
		(__u64)tai.tv_sec * SG_NSEC_PER_SEC + tai.tv_nsec;
	rc = sg_map_write(p, SG_M_KEYS, &keys);
	keys.current = kc->slot;
	if (!rc)
		rc = sg_map_write(p, SG_M_KEYS, &keys);
	info.key_installed_unix = now;
	if (!rc)
		rc = sg_map_write(p, SG_M_INFO, &info);
	memset(&keys, 0, sizeof(keys));
	if (rc)
		return -1;
	printf("%s: new key (%s) is current in slot %u; the previous key "
	       "(slot %u) stays valid for cookies already sent\n",
	       p->iface, source, kc->slot, kc->prev);
	return 0;
}

static int cmd_key(int argc, char **argv)
{
	const int need[] = {SG_M_KEYS, SG_M_CONFIG, SG_M_INFO};
	__u8 key[SG_KEY_BYTES];
	const char *iface, *action, *file = NULL;
	struct sg_key_change kc;
	bool force = false;
	struct sg_pins p;
	int first, rc;

	rc = sg_parse_opts(&sg_cmd_key, argc, argv, set_force, &force, &first);
	if (rc)
		return rc;
	if (argc - first < 2) {
		sg_err("key takes an interface and rotate or load FILE");
		sg_usage_hint(&sg_cmd_key);
		return SG_EXIT_USAGE;
	}
	iface = argv[first];
	action = argv[first + 1];
	if (!strcmp(action, "load") && argc - first == 3) {
		file = argv[first + 2];
	} else if (strcmp(action, "rotate") || argc - first != 2) {
		sg_err("key takes rotate, or load FILE, after the interface");
		sg_usage_hint(&sg_cmd_key);
		return SG_EXIT_USAGE;
	}
	if (sg_iface_check(iface, NULL))
		return SG_EXIT_USAGE;
	if (sg_require_root())
		return SG_EXIT_FAIL;
	if (file ? sg_key_file_read(file, key) : sg_key_random(key))
		return SG_EXIT_FAIL;
	if (sg_pins_lock_need(iface, &p, need, ARRAY_SIZE(need))) {
		memset(key, 0, sizeof(key));
		return SG_EXIT_FAIL;
	}
	rc = sg_key_change(&p, key, file ? file : "random", force, &kc);
	memset(key, 0, sizeof(key));
	sg_pins_close(&p);
	if (rc == 1)
		sg_err("refusing to replace the key of %s: the last key change "
		       "was %llus ago, and the key it replaced stays in use "
		       "for handshakes in flight for the cookie lifetime "
		       "(%us) plus one time period (%us); changing keys now "
		       "would make those handshakes fail. Wait %llus, or use "
		       "--force",
		       iface, kc.age, kc.lifetime, SG_PERIOD_SEC, kc.wait);
	return rc ? SG_EXIT_FAIL : 0;
}
