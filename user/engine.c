// SPDX-License-Identifier: GPL-2.0
/*
 * The engines (doc/design.md, "The kernel engine"): what the running kernel
 * has for each, the choice attach makes, the sysctls the kernel engine
 * needs (set by attach, restored by detach), and what status shows of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "sg.h"

#define SG_KFUNC "bpf_sk_assign_tcp_reqsk"

const char *const sg_engine_names[2] = {
	[SG_ENGINE_OWN] = "own",
	[SG_ENGINE_KERNEL] = "kernel",
};

int sg_engine_parse(const char *s, int *engine)
{
	if (!strcmp(s, "auto"))
		*engine = SG_ENGINE_AUTO;
	else if (!strcmp(s, "own"))
		*engine = SG_ENGINE_OWN;
	else if (!strcmp(s, "kernel"))
		*engine = SG_ENGINE_KERNEL;
	else {
		sg_err("invalid --engine '%s': must be auto, own or kernel", s);
		return -1;
	}
	return 0;
}

/*
 * Has the kernel the own engine's kfunc? 1 yes, 0 no, -1 its BTF cannot be
 * read (said). The test suite points SYNGUARD_VMLINUX_BTF at a BTF without
 * the kfunc.
 */
static int kfunc_present(const char **path)
{
	const struct btf_type *t = NULL;
	struct btf *btf;
	int id, has;

	*path = getenv("SYNGUARD_VMLINUX_BTF");
	btf = *path ? btf__parse(*path, NULL) : btf__load_vmlinux_btf();
	if (!*path)
		*path = "/sys/kernel/btf/vmlinux";
	if (!btf) {
		sg_err("cannot read the kernel's BTF (%s): %s; synguard needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
		       *path, sg_strerr(errno));
		return -1;
	}
	id = btf__find_by_name_kind(btf, SG_KFUNC, BTF_KIND_FUNC);
	if (id > 0)
		t = btf__type_by_id(btf, id);
	/*
	 * An object file declares a kfunc it calls as an extern FUNC: only a
	 * definition (the kernel's are static) means the kernel has it.
	 */
	has = t && btf_vlen(t) != BTF_FUNC_EXTERN;
	btf__free(btf);
	return has;
}

/*
 * Has the kernel what the kernel engine's XDP program calls? The cookie
 * helpers (5.3), the socket lookup, and bpf_ktime_get_tai_ns (6.1), the
 * newest of them. libbpf asks the kernel to load a program calling each.
 */
static bool helpers_present(void)
{
	const enum bpf_func_id need[] = {
		BPF_FUNC_tcp_gen_syncookie, BPF_FUNC_tcp_check_syncookie,
		BPF_FUNC_skc_lookup_tcp,    BPF_FUNC_skc_to_tcp_sock,
		BPF_FUNC_xdp_load_bytes,    BPF_FUNC_ktime_get_tai_ns,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(need); i++)
		if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, need[i], NULL) <=
		    0)
			return false;
	return true;
}

int sg_engine_choose(int asked, struct sg_info *info)
{
	struct utsname u = {};
	const char *path;
	int kf;

	uname(&u);
	if (asked == SG_ENGINE_KERNEL) {
		if (!helpers_present()) {
			sg_err("the kernel engine needs bpf_tcp_gen_syncookie, bpf_tcp_check_syncookie and bpf_ktime_get_tai_ns in XDP programs: Linux 6.1 or later (this is %s)",
			       u.release);
			return -1;
		}
		info->engine = SG_ENGINE_KERNEL;
		info->engine_why = SG_ENGINE_WHY_ASKED;
		return 0;
	}
	kf = kfunc_present(&path);
	if (kf < 0)
		return -1;
	if (kf) {
		info->engine = SG_ENGINE_OWN;
		info->engine_why = asked == SG_ENGINE_OWN ? SG_ENGINE_WHY_ASKED
							  : SG_ENGINE_WHY_KFUNC;
		return 0;
	}
	if (asked == SG_ENGINE_OWN) {
		sg_err("the kernel's BTF (%s) has no kfunc " SG_KFUNC
		       ", which the own engine's TC handoff needs: it requires Linux 6.9 or later (this is %s); --engine kernel (or auto) runs on Linux 6.1 and later",
		       path, u.release);
		return -1;
	}
	if (!helpers_present()) {
		sg_err("this kernel (%s) can run neither engine: the own engine needs the kfunc " SG_KFUNC
		       " (Linux 6.9 or later), the kernel engine bpf_tcp_gen_syncookie, bpf_tcp_check_syncookie and bpf_ktime_get_tai_ns (Linux 6.1 or later)",
		       u.release);
		return -1;
	}
	info->engine = SG_ENGINE_KERNEL;
	info->engine_why = SG_ENGINE_WHY_NO_KFUNC;
	return 0;
}

const char *sg_engine_why_str(const struct sg_info *info)
{
	switch (info->engine_why) {
	case SG_ENGINE_WHY_KFUNC:
		return "auto: the kernel has " SG_KFUNC;
	case SG_ENGINE_WHY_NO_KFUNC:
		return "auto: the kernel has no " SG_KFUNC " (Linux 6.9+)";
	default:
		return "--engine";
	}
}

bool sg_engine_has_tc(const struct sg_info *info)
{
	return info->engine == SG_ENGINE_OWN || info->synproxy;
}

void sg_proxy_families_text(const char *iface, const struct sg_info *info)
{
	if (info->synproxy)
		printf("%s: SYNPROXY ports: IPv4 and IPv6 (TC verifies IPv6 ACK checksums for SYNPROXY)\n",
		       iface);
}

static int sysctl_write(const char *dir, const char *name, int v)
{
	char path[128], buf[16];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/%s", dir, name);
	n = snprintf(buf, sizeof(buf), "%d\n", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n) != n)
		err = -errno;
	close(fd);
	return err;
}

/*
 * The sysctls attach sets, the value, and why, for the notes: the kernel
 * engine's two (to 2), and --synproxy's (to 0).
 */
static const struct {
	const char *dir, *name;
	__u8 bit; /* in sg_info.sysctl_set */
	__u8 value;
	const char *who, *why;
} engine_sysctls[] = {
	{"ipv4", "tcp_syncookies", SG_SYSCTL_SYNCOOKIES, 2, "the kernel engine",
	 "bpf_tcp_gen_syncookie makes cookies only then (or while the listen queue is full)"},
	{"ipv4", "tcp_timestamps", SG_SYSCTL_TS, 2, "the kernel engine",
	 "with 1 the kernel subtracts a secret per-address offset from the echoed TSval before it reads the options in it, and SYN-ACKs could offer no window scale or SACK"},
	{"netfilter", "nf_conntrack_tcp_loose", SG_SYSCTL_TCP_LOOSE, 0,
	 "--synproxy",
	 "with 1 conntrack takes a cookie ACK for a connection already open and NAT sends it on to the backend, which resets it, instead of leaving it to SYNPROXY"},
};

static __u8 *prev_field(struct sg_info *info, __u8 bit)
{
	if (bit == SG_SYSCTL_TCP_LOOSE)
		return &info->tcp_loose_prev;
	return bit == SG_SYSCTL_SYNCOOKIES ? &info->syncookies_prev
					   : &info->timestamps_prev;
}

static int sysctl_read(const char *dir, const char *name, int *out)
{
	char path[128];
	long long v;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/%s", dir, name);
	v = sg_proc_sys_field(path, 0);
	if (v < 0)
		return v;
	*out = v;
	return 0;
}

int sg_engine_sysctls_set(const char *iface, struct sg_info *info, __u8 want)
{
	size_t i;
	int v = 0, err;

	for (i = 0; i < ARRAY_SIZE(engine_sysctls); i++) {
		const char *dir = engine_sysctls[i].dir;
		const char *name = engine_sysctls[i].name;
		int to = engine_sysctls[i].value;

		if (!(want & engine_sysctls[i].bit))
			continue;
		err = sysctl_read(dir, name, &v);
		if (err) {
			sg_err("cannot read net.%s.%s: %s", dir, name,
			       sg_strerr(err));
			goto undo;
		}
		/* tcp_timestamps=0: no timestamps, nothing to decode. */
		if (v == to || (!v && engine_sysctls[i].bit == SG_SYSCTL_TS))
			continue;
		err = sysctl_write(dir, name, to);
		if (err) {
			sg_err("cannot set net.%s.%s to %d, which %s needs: %s",
			       dir, name, to, engine_sysctls[i].who,
			       sg_strerr(err));
			goto undo;
		}
		*prev_field(info, engine_sysctls[i].bit) = v;
		info->sysctl_set |= engine_sysctls[i].bit;
		sg_note("%s: net.%s.%s set to %d (was %d) for %s: %s; detach sets it back",
			iface, dir, name, to, v, engine_sysctls[i].who,
			engine_sysctls[i].why);
	}
	return 0;
undo:
	sg_engine_sysctls_restore(iface, info);
	info->sysctl_set = 0;
	return -1;
}

int sg_engine_sysctls_restore(const char *iface, const struct sg_info *info)
{
	struct sg_info in = *info;
	size_t i;
	int err, rc = 0;

	for (i = 0; i < ARRAY_SIZE(engine_sysctls); i++) {
		const char *dir = engine_sysctls[i].dir;
		const char *name = engine_sysctls[i].name;
		__u8 prev = *prev_field(&in, engine_sysctls[i].bit);

		if (!(info->sysctl_set & engine_sysctls[i].bit))
			continue;
		err = sysctl_write(dir, name, prev);
		if (err) {
			sg_err("%s: cannot set net.%s.%s back to %u: %s", iface,
			       dir, name, prev, sg_strerr(err));
			rc = -1;
			continue;
		}
		printf("%s: net.%s.%s set back to %u\n", iface, dir, name,
		       prev);
	}
	return rc;
}

/*
 * What the kernel engine cannot do, refused before anything changes
 * (doc/design.md, "The kernel engine"), and the window scale it must offer:
 * the kernel's, from its buffer sysctls. 0, or -1 after a message.
 */
int sg_engine_kernel_check(const struct sg_attach_args *a,
			   struct sg_config *cfg)
{
	int ws;

	if (a->key_file || a->key_rotate) {
		sg_err("%s: the kernel engine answers with the kernel's own cookies and secret: %s needs the own engine (--engine own, Linux 6.9 or later)",
		       a->iface,
		       a->key_file ? "--key-file (a key shared by hosts)"
				   : "--key-rotate");
		return -1;
	}
	if (a->lifetime_set) {
		sg_err("%s: the kernel engine's cookies stay valid as long as the kernel's own do (2 to 3 minutes): --cookie-lifetime needs the own engine (--engine own, Linux 6.9 or later)",
		       a->iface);
		return -1;
	}
	ws = sg_engine_kernel_wscale();
	if (ws < 0) {
		sg_err("%s: cannot read net.ipv4.tcp_rmem, from which the kernel derives its window scale",
		       a->iface);
		return -1;
	}
	if (a->wscale_set && cfg->wscale != ws) {
		sg_err("%s: with the kernel engine the kernel picks its own window scale (%d here, from net.ipv4.tcp_rmem and net.core.rmem_max), and the SYN-ACK must offer that one: --wscale %u needs the own engine (--engine own, Linux 6.9 or later)",
		       a->iface, ws, cfg->wscale);
		return -1;
	}
	cfg->wscale = ws;
	return 0;
}

/* Does another interface's record o need the sysctls of the group bits? */
static bool sysctls_needed(const struct sg_info *o, __u8 bits)
{
	if (bits & SG_SYSCTL_TCP_LOOSE)
		return o->synproxy != 0;
	return o->engine == SG_ENGINE_KERNEL;
}

/*
 * Another interface of this network namespace that needs the sysctls of
 * info (one group: the kernel engine's, or --synproxy's tcp_loose) too:
 * it takes over what info changed, so that they go back only when the
 * last of them is detached. 1 handed over, 0 none to take it.
 */
static int sysctls_hand_over(const char *iface, const struct sg_info *info)
{
	struct sg_info in = *info, o;
	struct sg_pins p;
	char **names;
	int i, n, done = 0;
	size_t b;

	n = sg_list_protected(&names);
	for (i = 0; i < n && !done; i++) {
		if (!strcmp(names[i], iface) || sg_pins_open(names[i], &p))
			continue;
		if (p.fd[SG_M_INFO] >= 0 && !sg_map_read(&p, SG_M_INFO, &o) &&
		    sysctls_needed(&o, in.sysctl_set) &&
		    if_nametoindex(names[i]) == o.ifindex &&
		    (!o.netns_ino || o.netns_ino == sg_netns_ino())) {
			for (b = 0; b < ARRAY_SIZE(engine_sysctls); b++) {
				__u8 bit = engine_sysctls[b].bit;

				if ((in.sysctl_set & bit) &&
				    !(o.sysctl_set & bit))
					*prev_field(&o, bit) =
						*prev_field(&in, bit);
			}
			o.sysctl_set |= in.sysctl_set;
			if (!sg_map_write(&p, SG_M_INFO, &o)) {
				if (in.sysctl_set & SG_SYSCTL_TCP_LOOSE)
					printf("%s: net.netfilter.nf_conntrack_tcp_loose stays 0 as SYNPROXY needs it: %s hands connections to it too, and its detach sets it back\n",
					       iface, names[i]);
				else
					printf("%s: net.ipv4.tcp_syncookies and tcp_timestamps stay as the kernel engine needs them: %s runs it too, and its detach sets them back\n",
					       iface, names[i]);
				done = 1;
			}
		}
		sg_pins_close(&p);
	}
	if (n > 0)
		sg_free_list(names, n);
	return done;
}

int sg_engine_sysctls_release(const char *iface, const struct sg_info *info)
{
	struct sg_info loose = *info, engine = *info;
	int rc = 0;

	/* Per namespace: each group goes back with the last interface that
	 * needs it. */
	loose.sysctl_set &= SG_SYSCTL_TCP_LOOSE;
	engine.sysctl_set &= ~SG_SYSCTL_TCP_LOOSE;
	if (loose.sysctl_set && !sysctls_hand_over(iface, &loose))
		rc = sg_engine_sysctls_restore(iface, &loose);
	if (!engine.sysctl_set || sysctls_hand_over(iface, &engine))
		return rc;
	return sg_engine_sysctls_restore(iface, &engine) ?: rc;
}

int sg_engine_kernel_wscale(void)
{
	long long rmem = sg_proc_sys_field("/proc/sys/net/ipv4/tcp_rmem", 2);
	/*
	 * Global, and not shown in other network namespaces: the kernel's
	 * default then. SO_RCVBUF, capped at twice rmem_max, never raises
	 * the scale above this. XXX: a listener with SO_RCVBUFFORCE above
	 * that, or with a window clamp, gets another scale than the SYN-ACK
	 * offers (doc/design.md, "The kernel engine").
	 */
	long long max = sg_proc_sys_field("/proc/sys/net/core/rmem_max", 0);
	int ws = 0;

	if (rmem < 0)
		return -1;
	if (max < 0)
		max = 212992;
	if (max > rmem)
		rmem = max;
	while (rmem >> (ws + 16))
		ws++; /* ilog2(rmem) - 15 */
	return ws > SG_WSCALE_MAX ? SG_WSCALE_MAX : ws;
}

void sg_engine_status_text(const char *iface, const struct sg_info *info)
{
	if (info->engine != SG_ENGINE_KERNEL) {
		printf("%s: engine own (%s): synguard's cookies, handed to the kernel at TC\n",
		       iface, sg_engine_why_str(info));
		return;
	}
	printf("%s: engine kernel (%s): the kernel's own syncookies, checked at XDP; no handoff, no key of ours (no fleet key, no rotation), cookies valid as the kernel decides; window scale, SACK and ECN only for clients with timestamps\n",
	       iface, sg_engine_why_str(info));
	if (info->sysctl_set & SG_SYSCTL_SYNCOOKIES)
		printf("%s: net.ipv4.tcp_syncookies set to 2 by attach (was %u): detach sets it back\n",
		       iface, info->syncookies_prev);
	if (info->sysctl_set & SG_SYSCTL_TS)
		printf("%s: net.ipv4.tcp_timestamps set to 2 by attach (was %u): detach sets it back\n",
		       iface, info->timestamps_prev);
}

void sg_engine_status_json(json_t *o, const struct sg_info *info)
{
	json_t *set;

	sg_jset(o, "engine", json_string(sg_engine_names[info->engine & 1]));
	sg_jset(o, "engine_why", json_string(sg_engine_why_str(info)));
	if (info->engine != SG_ENGINE_KERNEL)
		return;
	set = json_object();
	if (info->sysctl_set & SG_SYSCTL_SYNCOOKIES)
		sg_jset(set, "tcp_syncookies_was",
			json_integer(info->syncookies_prev));
	if (info->sysctl_set & SG_SYSCTL_TS)
		sg_jset(set, "tcp_timestamps_was",
			json_integer(info->timestamps_prev));
	sg_jset(o, "sysctls_set", set);
}

const char *sg_engine_host_problem(const struct sg_info *info, char *buf,
				   size_t len)
{
	int v;

	buf[0] = '\0';
	if (info->engine != SG_ENGINE_KERNEL)
		return buf;
	if (!sg_sysctl_int("tcp_syncookies", &v) && v != 2)
		snprintf(
			buf, len,
			"net.ipv4.tcp_syncookies is %d, not 2: the kernel makes no cookies for the XDP program, so SYNs pass to it (syn_kernel_cookie_error); `sysctl -w net.ipv4.tcp_syncookies=2`",
			v);
	else if (!sg_sysctl_int("tcp_timestamps", &v) && v == 1)
		snprintf(
			buf, len,
			"net.ipv4.tcp_timestamps is 1: SYN-ACKs offer no timestamps, so no window scale or SACK; `sysctl -w net.ipv4.tcp_timestamps=2`");
	return buf;
}

bool sg_engine_refuses(const struct sg_info *info, const char *iface,
		       const char *what)
{
	if (info->engine != SG_ENGINE_KERNEL)
		return false;
	sg_err("%s runs the kernel engine, which cannot %s: it answers with the kernel's own cookies; attach with --engine own (Linux 6.9 or later) for that",
	       iface, what);
	return true;
}
