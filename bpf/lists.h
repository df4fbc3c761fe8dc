/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allow and deny lists: LPM tries of source prefixes.
 */
#ifndef SG_LISTS_H
#define SG_LISTS_H

#define SG_LPM_MAP(name, keytype)                                              \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                           \
		__uint(max_entries, SG_LIST_MAX);                              \
		__type(key, keytype);                                          \
		__type(value, __u32);                                          \
		__uint(map_flags, BPF_F_NO_PREALLOC);                          \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                           \
	} name SEC(".maps")

SG_LPM_MAP(sg_allow4, struct sg_lpm4);
SG_LPM_MAP(sg_allow6, struct sg_lpm6);
SG_LPM_MAP(sg_deny4, struct sg_lpm4);
SG_LPM_MAP(sg_deny6, struct sg_lpm6);

/* ---- allow and deny lists ---- */

enum { SG_LIST_NONE, SG_LIST_ALLOW, SG_LIST_DENY };

/*
 * The longest matching prefix decides: "deny 10.0.0.0/8, allow 10.1.2.3"
 * does what it says. On equal prefixes deny wins. Only tries marked in
 * cfg->lists are looked up.
 */
static __always_inline int sg_list_match(const struct sg_flow *f, __u8 lists)
{
	__u32 *a = NULL, *d = NULL;

	if (f->family == 4) {
		struct sg_lpm4 k = {.prefixlen = 32};

		if (!(lists & (SG_LISTS_ALLOW4 | SG_LISTS_DENY4)))
			return SG_LIST_NONE;
		__builtin_memcpy(k.addr, &f->saddr[0], 4);
		if (lists & SG_LISTS_ALLOW4)
			a = bpf_map_lookup_elem(&sg_allow4, &k);
		if (lists & SG_LISTS_DENY4)
			d = bpf_map_lookup_elem(&sg_deny4, &k);
	} else {
		struct sg_lpm6 k = {.prefixlen = 128};

		if (!(lists & (SG_LISTS_ALLOW6 | SG_LISTS_DENY6)))
			return SG_LIST_NONE;
		__builtin_memcpy(k.addr, f->saddr, 16);
		if (lists & SG_LISTS_ALLOW6)
			a = bpf_map_lookup_elem(&sg_allow6, &k);
		if (lists & SG_LISTS_DENY6)
			d = bpf_map_lookup_elem(&sg_deny6, &k);
	}
	if (d && (!a || *d >= *a))
		return SG_LIST_DENY;
	if (a)
		return SG_LIST_ALLOW;
	return SG_LIST_NONE;
}

#endif /* SG_LISTS_H */
