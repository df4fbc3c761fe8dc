// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF object this binary carries. Only this file includes the
 * skeleton's object bytes: every other user of the skeleton opens it here.
 */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "sg.h"
#include "synguard.skel.h"

struct synguard *sg_skel_open(const struct bpf_object_open_opts *opts)
{
	return synguard__open_opts(opts);
}

/*
 * What the pinned map called name must be: the map of that name in this
 * binary's object, read without loading it. A pin that differs was made
 * by another synguard version.
 */
int sg_skel_map(const char *name, struct bpf_map_info *want)
{
	static struct synguard *skel;
	const struct bpf_map *m;

	if (!skel) {
		skel = synguard__open();
		if (!skel)
			return -errno;
	}
	if (!strcmp(name, sg_map_names[SG_M_SAMPLE_CTL]))
		name = SG_SAMPLE_CTL_SEC;
	m = bpf_object__find_map_by_name(skel->obj, name);
	if (!m)
		return -ENOENT;
	want->type = bpf_map__type(m);
	want->key_size = bpf_map__key_size(m);
	want->value_size = bpf_map__value_size(m);
	want->max_entries = bpf_map__max_entries(m);
	return 0;
}
