// SPDX-License-Identifier: GPL-2.0
/*
 * Cookie keys: read from a file or drawn at random, and installed into a
 * protected interface's key slots without breaking handshakes in flight.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "sg.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sg_key_file_read(const char *path, __u8 key[SG_KEY_BYTES])
{
	char buf[2 * SG_KEY_BYTES + 2];
	struct stat st;
	ssize_t n;
	int fd, i, zero = 1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			sg_err("key file %s not found", path);
		else
			sg_err("key file %s is not readable: %s", path,
			       sg_strerr(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		sg_err("key file %s is not readable: not a regular file", path);
		goto err;
	}
	/* Whoever can read the key can forge cookies; as ssh does, refuse. */
	if (st.st_mode & 077) {
		sg_err("key file %s is accessible by group or others (mode %04o): anyone who reads it can forge cookies; make it private with `chmod 600 %s`",
		       path, (unsigned int)(st.st_mode & 07777), path);
		goto err;
	}
	n = st.st_size > (off_t)sizeof(buf) ? -2 : read(fd, buf, sizeof(buf));
	if (n == -1) {
		sg_err("key file %s is not readable: %s", path,
		       sg_strerr(errno));
		goto err;
	}
	if (n != 2 * SG_KEY_BYTES &&
	    !(n == 2 * SG_KEY_BYTES + 1 && buf[2 * SG_KEY_BYTES] == '\n')) {
		sg_err("key file %s has the wrong size (%lld bytes): it must hold 32 hex digits (a 128-bit key) and optionally a newline; make one with `(umask 077; openssl rand -hex 16 > %s)`",
		       path, (long long)st.st_size, path);
		goto err;
	}
	for (i = 0; i < 2 * SG_KEY_BYTES; i++) {
		if (hexval(buf[i]) < 0) {
			sg_err("key file %s has the wrong format: character %d is not a hex digit (it must hold 32 hex digits)",
			       path, i + 1);
			goto err;
		}
	}
	for (i = 0; i < SG_KEY_BYTES; i++) {
		key[i] = hexval(buf[2 * i]) << 4 | hexval(buf[2 * i + 1]);
		zero &= !key[i];
	}
	if (zero) {
		sg_err("key file %s holds an all-zero key: use a random one, e.g. `openssl rand -hex 16`",
		       path);
		goto err;
	}
	close(fd);
	return 0;
err:
	close(fd);
	return -1;
}

int sg_key_random(__u8 key[SG_KEY_BYTES])
{
	size_t got = 0;
	ssize_t n;

	while (got < SG_KEY_BYTES) {
		n = getrandom(key + got, SG_KEY_BYTES - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sg_err("cannot get a random key: getrandom: %s",
			       sg_strerr(errno));
			return -1;
		}
		got += n;
	}
	return 0;
}

void sg_key_words(const __u8 key[SG_KEY_BYTES], __u64 out[2])
{
	int i;

	/* SipHash reads k0 and k1 as little-endian words of the key bytes. */
	out[0] = out[1] = 0;
	for (i = 7; i >= 0; i--) {
		out[0] = out[0] << 8 | key[i];
		out[1] = out[1] << 8 | key[8 + i];
	}
}

unsigned int sg_key_min_interval(const struct sg_config *cfg)
{
	return cfg->cookie_lifetime + SG_COOKIE_MARGIN_SEC;
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
	printf("%s: new key (%s) is current in slot %u; the previous key (slot %u) stays valid for cookies already sent\n",
	       p->iface, source, kc->slot, kc->prev);
	return 0;
}

void sg_key_refused(const char *iface, const struct sg_key_change *kc,
		    const char *then)
{
	sg_err("refusing to replace the key of %s: the last key change was %llus ago, and the key it replaced stays in use for handshakes in flight for the cookie lifetime (%us) plus %us of time period and clock skew; changing keys now would make those handshakes fail. Wait %llus, %s",
	       iface, kc->age, kc->lifetime, SG_COOKIE_MARGIN_SEC, kc->wait,
	       then);
}

int sg_key_file_apply(const struct sg_pins *p, const char *file,
		      struct sg_key_change *kc)
{
	__u8 key[SG_KEY_BYTES];
	struct sg_keys keys;
	__u64 words[2];
	int rc, cur;

	if (sg_key_file_read(file, key))
		return -1;
	rc = sg_map_read(p, SG_M_KEYS, &keys);
	if (rc) {
		sg_err("%s: cannot read the keys: %s", p->iface, sg_strerr(rc));
		rc = -1;
		goto out;
	}
	sg_key_words(key, words);
	cur = keys.current & 1;
	/* The file's key in use already: the usual case, nothing to do. */
	if (keys.valid[cur] && !memcmp(keys.key[cur], words, sizeof(words)))
		rc = 0;
	else
		rc = sg_key_change(p, key, file, false, kc);
out:
	memset(key, 0, sizeof(key));
	memset(words, 0, sizeof(words));
	memset(&keys, 0, sizeof(keys));
	return rc;
}
