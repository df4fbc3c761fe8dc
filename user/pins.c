// SPDX-License-Identifier: GPL-2.0
/*
 * The pinned maps of a protected interface, under SG_PIN_DIR/IFACE: what
 * every command after attach works on.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg.h"

const char *const sg_map_names[SG_M_MAX] = {
#define SG_MAP_NAME(id, name) [SG_M_##id] = #name,
	SG_PINNED_MAPS(SG_MAP_NAME)
#undef SG_MAP_NAME
};

unsigned long long sg_netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0
					      : (unsigned long long)st.st_ino;
}

void sg_pin_dir_netns(const char *iface, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s@%llu", SG_PIN_DIR, iface, sg_netns_ino());
}

/*
 * SG_PIN_DIR/IFACE, the directory of the first interface of that name to be
 * protected, or SG_PIN_DIR/IFACE@NETNS for one whose name an interface of
 * another network namespace had taken already (attach_begin): bpffs is one
 * for every namespace, interface names are not.
 */
void sg_pin_dir(const char *iface, char *buf, size_t len)
{
	struct stat st;

	sg_pin_dir_netns(iface, buf, len);
	if (!stat(buf, &st))
		return;
	snprintf(buf, len, "%s/%s", SG_PIN_DIR, iface);
}

int sg_pins_netns(const char *iface, unsigned long long *ino)
{
	struct sg_pins p;
	struct sg_info info;
	int rc = -1;

	if (sg_pins_open(iface, &p))
		return -1;
	if (!sg_map_read(&p, SG_M_INFO, &info)) {
		*ino = info.netns_ino;
		rc = 0;
	}
	sg_pins_close(&p);
	return rc;
}

bool sg_is_protected(const char *iface)
{
	char dir[256];
	struct stat st;

	sg_pin_dir(iface, dir, sizeof(dir));
	return !stat(dir, &st) && S_ISDIR(st.st_mode);
}

int sg_pins_open(const char *iface, struct sg_pins *p)
{
	struct bpf_map_info info, want;
	char path[320];
	int i, fd, err;
	__u32 len;

	memset(p, 0, sizeof(*p));
	snprintf(p->iface, sizeof(p->iface), "%s", iface);
	sg_pin_dir(iface, p->dir, sizeof(p->dir));
	for (i = 0; i < SG_M_MAX; i++)
		p->fd[i] = -1;
	if (!sg_is_protected(iface))
		return -1;
	for (i = 0; i < SG_M_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, sg_map_names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			snprintf(p->problem[i], sizeof(p->problem[i]), "%s",
				 errno == ENOENT ? "missing"
						 : sg_strerr(errno));
			continue;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			snprintf(p->problem[i], sizeof(p->problem[i]), "%s",
				 sg_strerr(errno));
			close(fd);
			continue;
		}
		err = sg_skel_map(sg_map_names[i], &want);
		if (err) {
			snprintf(p->problem[i], sizeof(p->problem[i]),
				 "not in this synguard's BPF object: %s",
				 sg_strerr(-err));
			close(fd);
			continue;
		}
		if (info.type != want.type ||
		    info.key_size != want.key_size ||
		    info.value_size != want.value_size) {
			snprintf(p->problem[i], sizeof(p->problem[i]),
				 "type %u, key %u, value %u bytes; this synguard expects %u, %u, %u (pinned by another version)",
				 info.type, info.key_size, info.value_size,
				 want.type, want.key_size, want.value_size);
			close(fd);
			continue;
		}
		p->max_entries[i] = info.max_entries;
		p->fd[i] = fd;
	}
	return 0;
}

void sg_pins_close(struct sg_pins *p)
{
	int i;

	for (i = 0; i < SG_M_MAX; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
}

void sg_not_protected(const char *iface)
{
	char dir[256];

	sg_pin_dir(iface, dir, sizeof(dir));
	sg_err("%s is not protected by synguard (nothing pinned at %s); protect it with `synguard attach %s --ports LIST`",
	       iface, dir, iface);
}

int sg_pins_need(const char *iface, struct sg_pins *p, const int *ids, size_t n)
{
	size_t i;

	if (sg_pins_open(iface, p)) {
		sg_not_protected(iface);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (p->fd[ids[i]] >= 0)
			continue;
		sg_err("%s: pinned map %s/%s: %s; run `synguard detach %s` and attach again",
		       iface, p->dir, sg_map_names[ids[i]], p->problem[ids[i]],
		       iface);
		sg_pins_close(p);
		return -1;
	}
	return 0;
}

int sg_map_read(const struct sg_pins *p, enum sg_map_id id, void *val)
{
	__u32 zero = 0;

	if (p->fd[id] < 0)
		return -ENOENT;
	if (bpf_map_lookup_elem(p->fd[id], &zero, val))
		return -errno;
	return 0;
}

int sg_map_write(const struct sg_pins *p, enum sg_map_id id, const void *val)
{
	__u32 zero = 0;

	if (p->fd[id] < 0)
		return -ENOENT;
	if (bpf_map_update_elem(p->fd[id], &zero, val, BPF_ANY)) {
		int err = -errno;

		sg_err("%s: cannot write map %s: %s", p->iface,
		       sg_map_names[id], sg_strerr(err));
		return err;
	}
	return 0;
}

int sg_port_bits_read(const struct sg_pins *p, __u8 bit, struct sg_ports *out)
{
	struct sg_port_map *m = malloc(sizeof(*m));
	int err = m ? sg_map_read(p, SG_M_PORT_MAP, m) : -ENOMEM;

	if (!err)
		sg_port_map_get(m, bit, out);
	free(m);
	return err;
}

int sg_ports_read(const struct sg_pins *p, struct sg_ports *prot)
{
	return sg_port_bits_read(p, SG_PORT_PROTECTED, prot);
}

int sg_port_map_update(const struct sg_pins *p, const struct sg_ports *prot,
		       const struct sg_ports *pass,
		       const struct sg_ports *proxy)
{
	struct sg_port_map *m = malloc(sizeof(*m));
	int err = m ? sg_map_read(p, SG_M_PORT_MAP, m) : -ENOMEM;

	if (err) {
		sg_err("%s: cannot read map %s: %s", p->iface,
		       sg_map_names[SG_M_PORT_MAP], sg_strerr(err));
		free(m);
		return err;
	}
	/* One write: each port's byte goes from old to new at once, its
	 * protected bit never without the kind written with it. */
	if (pass)
		sg_port_map_mark(m, SG_PORT_PASS, pass);
	if (proxy)
		sg_port_map_mark(m, SG_PORT_PROXY, proxy);
	if (prot)
		sg_port_map_mark(m, SG_PORT_PROTECTED, prot);
	err = sg_map_write(p, SG_M_PORT_MAP, m);
	free(m);
	return err;
}

int sg_map_count(int fd, __u32 max)
{
	/* Large enough for every key of ours (LPM: 4 + 16 bytes). */
	__u8 key[64], next[64];
	__u32 n = 0;

	if (bpf_map_get_next_key(fd, NULL, next))
		return errno == ENOENT ? 0 : -errno;
	/*
	 * An entry deleted under the walk (an LRU eviction in a flood)
	 * restarts it from the first key: the bound keeps that finite.
	 */
	do {
		memcpy(key, next, sizeof(key));
		n++;
	} while (n < max && !bpf_map_get_next_key(fd, key, next));
	return n == max || errno == ENOENT ? (int)n : -errno;
}

int sg_src_count(const struct sg_pins *p)
{
	int n;

	if (p->fd[SG_M_SRC] < 0)
		return -1;
	n = sg_map_count(p->fd[SG_M_SRC], p->max_entries[SG_M_SRC]);
	return n < 0 ? -1 : n;
}

int sg_list_count(const struct sg_pins *p, int first, int per_family[2])
{
	int fam, n, total = 0;

	for (fam = 0; fam < 2; fam++) {
		n = p->fd[first + fam] < 0 ? -ENOENT
					   : sg_map_count(p->fd[first + fam],
						 p->max_entries[first + fam]);
		if (n < 0)
			return n;
		if (per_family)
			per_family[fam] = n;
		total += n;
	}
	return total;
}

int sg_percpu_sum(int fd, __u32 n, __u64 *out)
{
	int ncpus = libbpf_num_possible_cpus(), c;
	__u64 *vals;
	__u32 k;

	if (ncpus < 0)
		return ncpus;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (k = 0; k < n; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			int err = -errno;

			free(vals);
			return err;
		}
		for (c = 0; c < ncpus; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int sg_pins_remove(const char *iface)
{
	char dir[256];
	struct dirent *de;
	int n = 0, dfd;
	DIR *d;

	sg_pin_dir(iface, dir, sizeof(dir));
	d = opendir(dir);
	if (!d) {
		sg_err("cannot open %s: %s", dir, sg_strerr(errno));
		return -1;
	}
	dfd = dirfd(d);
	/* Only synguard writes in its directory: everything there is ours. */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dfd, de->d_name, 0)) {
			sg_err("cannot remove %s/%s: %s", dir, de->d_name,
			       sg_strerr(errno));
			closedir(d);
			return -1;
		}
		n++;
	}
	closedir(d);
	if (rmdir(dir)) {
		sg_err("cannot remove %s: %s", dir, sg_strerr(errno));
		return -1;
	}
	/* The parent goes with the last interface; others may still use it. */
	rmdir(SG_PIN_DIR);
	return n;
}

static int is_dir_entry(const struct dirent *de)
{
	return de->d_name[0] != '.' &&
	       (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN);
}

/*
 * The name a pin directory stands for in this network namespace: IFACE for
 * IFACE@NETNS of this one, NULL for another's, and NULL for IFACE when this
 * one has an IFACE@NETNS (the plain one is another namespace's then).
 */
static const char *listed_name(const char *d_name, char *buf, size_t len)
{
	const char *at = strchr(d_name, '@');
	char mine[320];

	if (at) {
		snprintf(mine, sizeof(mine), "@%llu", sg_netns_ino());
		if (strcmp(at, mine) || (size_t)(at - d_name) >= len)
			return NULL;
		snprintf(buf, len, "%.*s", (int)(at - d_name), d_name);
		return buf;
	}
	sg_pin_dir_netns(d_name, mine, sizeof(mine));
	return access(mine, F_OK) ? d_name : NULL;
}

int sg_list_protected(char ***names)
{
	struct dirent **ents;
	char buf[IFNAMSIZ];
	const char *name;
	int n, i, k = 0;

	*names = NULL;
	n = scandir(SG_PIN_DIR, &ents, is_dir_entry, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	*names = calloc(n ? n : 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		name = listed_name(ents[i]->d_name, buf, sizeof(buf));
		if (*names && name)
			(*names)[k++] = strdup(name);
		free(ents[i]);
	}
	free(ents);
	if (!*names)
		return -ENOMEM;
	return k;
}

void sg_free_list(char **names, int n)
{
	int i;

	for (i = 0; i < n && names; i++)
		free(names[i]);
	free(names);
}

int sg_iface_open(const char *iface, bool change, const int *ids, size_t n,
		  struct sg_pins *p)
{
	int rc;

	if (sg_require_root())
		return -1;
	rc = sg_bpffs_ready(false);
	if (rc < 0 || sg_lock(change))
		return -1;
	if (rc > 0) {
		sg_not_protected(iface);
		return -1;
	}
	return sg_pins_need(iface, p, ids, n);
}
