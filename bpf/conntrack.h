/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Conntrack lookups from XDP (BPF only): does the kernel already track a
 * flow that has no local socket? Such a flow is forwarded or translated
 * (a DNAT-ed container port, a routed one): its ACKs are the kernel's, never
 * cookie ACKs, and must pass (doc/design.md, "NAT hosts").
 */
#ifndef SG_CONNTRACK_H
#define SG_CONNTRACK_H

#include <bpf/bpf_core_read.h>

/*
 * The options of the conntrack kfuncs, in their first layout (Linux 6.0):
 * the kernel accepts that size as well as its later 16-byte one, so one
 * object serves both. The ___sg suffix keeps it apart from vmlinux.h's.
 */
struct bpf_ct_opts___sg {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};

#define SG_CT_OPTS_SZ 12

/* Only a pointer is used: kernels with conntrack as a module lack it. */
struct nf_conn;

/*
 * Weak: without conntrack in the kernel (or in its BTF) libbpf leaves them
 * unresolved instead of refusing the object; attach then leaves
 * sg_ct_enabled at 0, and the verifier removes the dead calls.
 */
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz,
					 struct bpf_ct_opts___sg *opts,
					 __u32 opts__sz) __weak __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __weak __ksym;

/*
 * Set by attach before the load: 1 if the kernel has conntrack (built in,
 * or its module loaded). With 0 the verifier drops the lookup as dead code.
 * Not bpf_ksym_exists(): for that test libbpf 1.1 emits the kfunc's BTF id
 * without the BTF of the module it is in, and a kernel with conntrack as a
 * module (Debian's) then refuses the whole program ("ldimm64 insn
 * specifies invalid btf_id").
 */
const volatile __u8 sg_ct_enabled = 0;

/*
 * The two fields of a conntrack entry read here (CO-RE: the entry is in
 * vmlinux's BTF or in nf_conntrack's module BTF). With sg_ct_enabled at 0
 * the reads are dead code, so a relocation libbpf could not resolve never
 * reaches the verifier.
 */
struct nf_conn___sg {
	unsigned long status;
	__u32 mark;
} __attribute__((preserve_access_index));

/* The status bits of include/uapi/linux/netfilter/nf_conntrack_common.h. */
#define SG_IPS_SEEN_REPLY (1ul << 1)
#define SG_IPS_SEQ_ADJUST (1ul << 6)

/* What a lookup found. */
enum sg_ct_seen {
	SG_CT_NONE,
	SG_CT_KNOWN,
	/*
	 * A flow netfilter's SYNPROXY is still opening to the backend: marked
	 * by synguard's nft rule (SG_PROXY_CT_MARK), its sequence translation
	 * not set up yet (doc/design.md, "SYNPROXY's races").
	 */
	SG_CT_PROXY_EARLY,
};

/* Does this network namespace's conntrack have an entry for the flow
 * (either direction), and is it one SYNPROXY is still opening? tlen is
 * the size of the tuple's ipv4 or ipv6 part. */
static __always_inline enum sg_ct_seen
sg_ct_find(struct xdp_md *ctx, struct bpf_sock_tuple *tup, __u32 tlen)
{
	struct bpf_ct_opts___sg opts = {
		.netns_id = BPF_F_CURRENT_NETNS,
		.l4proto = IPPROTO_TCP,
	};
	enum sg_ct_seen r = SG_CT_KNOWN;
	struct nf_conn___sg *c;
	struct nf_conn *ct;

	if (!sg_ct_enabled)
		return SG_CT_NONE;
	ct = bpf_xdp_ct_lookup(ctx, tup, tlen, &opts, SG_CT_OPTS_SZ);
	if (!ct)
		return SG_CT_NONE;
	c = (void *)ct;
	/* A kernel without CONFIG_NF_CONNTRACK_MARK has no mark, and no
	 * flow marked by the rule either. */
	if (bpf_core_field_exists(c->mark) && (c->mark & SG_PROXY_CT_MARK) &&
	    !(c->status & SG_IPS_SEQ_ADJUST))
		r = SG_CT_PROXY_EARLY;
	bpf_ct_release(ct);
	return r;
}

#endif /* SG_CONNTRACK_H */
