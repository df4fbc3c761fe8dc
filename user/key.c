// SPDX-License-Identifier: GPL-2.0
/*
 * key: install a new cookie key on a protected interface, random or from
 * a file (the work is in keys.c).
 */
#define _GNU_SOURCE
#include <string.h>

#include "sg.h"

static int cmd_key(int argc, char **argv);

enum { KO_FORCE };

static const struct sg_opt key_opts[] = {
	[KO_FORCE] = {"force", 'f', NULL,
		      "replace the previous key even within the cookie lifetime of the last change (handshakes in flight with it fail)"},
	{NULL},
};

const struct sg_cmd sg_cmd_key = {
	.name = "key",
	.run = cmd_key,
	.args = "IFACE rotate | load FILE [--force]",
	.summary = "install a new cookie key: random (rotate) or from a file",
	.opts = key_opts,
	.doc = "The new key goes into the slot of the previous key and becomes current; the key\nit replaces as current stays valid, so handshakes in flight complete. A second\nchange within the cookie lifetime (plus " SG_XSTR(
		       SG_COOKIE_MARGIN_SEC_LIT) " s of time period and clock skew) of the last\n"
					  "one would drop the key those "
					  "handshakes need: refused without --force.\n"
					  "FILE: 32 hex digits, mode 600, e.g. "
					  "`(umask 077; openssl rand -hex 16 > FILE)`;\nhosts that share one address (ECMP, anycast) share the key and load it together.",
};

static int cmd_key(int argc, char **argv)
{
	const int need[] = {SG_M_KEYS, SG_M_CONFIG, SG_M_INFO};
	__u8 key[SG_KEY_BYTES];
	const char *iface, *action, *file = NULL;
	struct sg_key_change kc;
	struct sg_info info = {};
	bool force = false;
	struct sg_pins p;
	int first, rc;

	rc = sg_parse_opts(&sg_cmd_key, argc, argv, sg_opt_flag, &force,
			   &first);
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
	if (sg_iface_open(iface, true, need, ARRAY_SIZE(need), &p)) {
		memset(key, 0, sizeof(key));
		return SG_EXIT_FAIL;
	}
	if (!sg_map_read(&p, SG_M_INFO, &info) &&
	    sg_engine_refuses(&info, iface, "take a key of ours")) {
		memset(key, 0, sizeof(key));
		sg_pins_close(&p);
		return SG_EXIT_FAIL;
	}
	rc = sg_key_change(&p, key, file ? file : "random", force, &kc);
	memset(key, 0, sizeof(key));
	sg_pins_close(&p);
	if (rc == 1)
		sg_key_refused(iface, &kc, "or use --force");
	return rc ? SG_EXIT_FAIL : 0;
}
