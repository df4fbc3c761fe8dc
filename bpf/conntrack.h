/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Conntrack lookups from XDP (BPF only): does the kernel already track a
 * flow that has no local socket? Such a flow is forwarded or translated
 * (a DNAT-ed container port, a routed one): its ACKs are the kernel's, never
 * cookie ACKs, and must pass (doc/design.md, "NAT hosts").
 */
#ifndef SG_CONNTRACK_H
#define SG_CONNTRACK_H

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

/* Has this network namespace's conntrack an entry for the flow (either
 * direction)? tlen is the size of the tuple's ipv4 or ipv6 part. */
static __always_inline int sg_ct_known(struct xdp_md *ctx,
				       struct bpf_sock_tuple *tup, __u32 tlen)
{
	struct bpf_ct_opts___sg opts = {
		.netns_id = BPF_F_CURRENT_NETNS,
		.l4proto = IPPROTO_TCP,
	};
	struct nf_conn *ct;

	if (!sg_ct_enabled)
		return 0;
	ct = bpf_xdp_ct_lookup(ctx, tup, tlen, &opts, SG_CT_OPTS_SZ);
	if (!ct)
		return 0;
	bpf_ct_release(ct);
	return 1;
}

#endif /* SG_CONNTRACK_H */
