// SPDX-License-Identifier: GPL-2.0
/*
 * The reader of an interface's packet samples (`top`, `capture`): takes
 * the sample mask (one reader at a time), renews its lease, reads the ring
 * buffer until a stop signal, --seconds or its callback says enough, and
 * gives the mask back. doc/design.md, "Who is attacking: packet samples".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg.h"

static const struct {
	const char *name;
	__u64 mask;
	const char *help;
} kinds[] = {
#define SG_KIND(name, mask, help) {name, mask, help},
	SG_SAMPLE_KINDS(SG_KIND)
#undef SG_KIND
};

int sg_sample_kinds_parse(const char *s, __u64 *mask)
{
	char *dup = strdup(s), *tok, *save = NULL;
	size_t i;

	*mask = 0;
	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < ARRAY_SIZE(kinds); i++)
			if (!strcmp(tok, kinds[i].name))
				break;
		if (i == ARRAY_SIZE(kinds)) {
			sg_err("unknown --what '%s': one or more of syn, ack, limited, denied, dropped, all, separated by commas",
			       tok);
			free(dup);
			return -1;
		}
		*mask |= kinds[i].mask;
	}
	free(dup);
	if (!*mask) {
		sg_err("empty --what: one or more of syn, ack, limited, denied, dropped, all");
		return -1;
	}
	return 0;
}

int sg_sample_rate_parse(const char *s, __u32 *rate)
{
	unsigned long long v;

	if (sg_parse_uint(s, &v) || !v || v > SG_SAMPLE_RATE_MAX) {
		sg_err("invalid --rate '%s': samples a second per CPU, 1 to %u",
		       s, SG_SAMPLE_RATE_MAX);
		return -1;
	}
	*rate = v;
	return 0;
}

int sg_sample_seconds_parse(const char *s, double *seconds)
{
	if (sg_parse_seconds(s, seconds) || *seconds <= 0) {
		sg_err("invalid --seconds '%s': a positive number of seconds",
		       s);
		return -1;
	}
	return 0;
}

/*
 * Field 22 of /proc/PID/stat, the start time in clock ticks; 0 if the
 * process is gone or a zombie (killed, not yet reaped).
 */
static __u64 proc_start(__u32 pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	/* The name in parentheses may hold spaces: count from its end. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &v);
	return v;
}

/*
 * Is the control word pinned for the interface still the one this reader
 * writes? Not after a detach (and a new attach).
 */
static bool still_pinned(const struct sg_reader *r)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[320];
	bool same;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", r->p.dir,
		 sg_map_names[SG_M_SAMPLE_CTL]);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	same = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.id == r->ctl_id;
	close(fd);
	return same;
}

bool sg_sample_ctl_active(const struct sg_sample_ctl *c)
{
	return c->mask && (__s64)(c->lease_ns - sg_mono_ns()) > 0 && c->pid &&
	       proc_start(c->pid) == c->pid_start;
}

static void renew(struct sg_reader *r)
{
	struct sg_sample_ctl *c = r->ctl;

	/* The lease first: the program clears a mask whose lease is over. */
	__atomic_store_n(&c->lease_ns, sg_mono_ns() + SG_SAMPLE_LEASE_NS,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&c->mask, r->mask, __ATOMIC_RELEASE);
}

/* Passes on the samples of this reader's kinds, once the ring is drained. */
static int reader_cb(void *ctx, void *data, size_t size)
{
	struct sg_reader *r = ctx;
	const struct sg_pktsample *s = data;

	if (r->draining || size < sizeof(*s) || s->counter >= 64 ||
	    !(r->mask >> s->counter & 1))
		return 0;
	return r->cb(r->cb_ctx, data, size);
}

int sg_reader_open(struct sg_reader *r, const char *iface, __u64 mask,
		   __u32 rate, sg_sample_fn cb, void *ctx)
{
	const int ids[] = {SG_M_SAMPLES, SG_M_SAMPLE_CTL, SG_M_CONFIG};
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct sg_sample_ctl *c;
	void *m;
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < SG_M_MAX; i++)
		r->p.fd[i] = -1;
	r->mask = mask;
	/* Exclusive: two readers starting at once see each other. */
	if (sg_iface_open(iface, true, ids, ARRAY_SIZE(ids), &r->p))
		return -1;
	m = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED,
		 r->p.fd[SG_M_SAMPLE_CTL], 0);
	if (m == MAP_FAILED) {
		sg_err("%s: cannot map %s/%s: %s", iface, r->p.dir,
		       sg_map_names[SG_M_SAMPLE_CTL], sg_strerr(errno));
		goto fail;
	}
	r->ctl = c = m;
	if (bpf_obj_get_info_by_fd(r->p.fd[SG_M_SAMPLE_CTL], &info, &len)) {
		sg_err("%s: cannot read map %s: %s", iface,
		       sg_map_names[SG_M_SAMPLE_CTL], sg_strerr(errno));
		goto fail;
	}
	r->ctl_id = info.id;
	if (sg_sample_ctl_active(c) && c->pid != (__u32)getpid()) {
		sg_err("%s: packet samples are being read by PID %u already; one reader at a time: stop it first (kill %u)",
		       iface, c->pid, c->pid);
		goto fail;
	}
	if (c->mask && c->pid)
		sg_note("%s: taking the samples over from PID %u, which is gone or stopped renewing them",
			iface, c->pid);
	r->cb = cb;
	r->cb_ctx = ctx;
	r->rb = ring_buffer__new(r->p.fd[SG_M_SAMPLES], reader_cb, r, NULL);
	if (!r->rb) {
		sg_err("%s: cannot read the ring buffer %s: %s", iface,
		       sg_map_names[SG_M_SAMPLES], sg_strerr(errno));
		goto fail;
	}
	/* What an earlier reader left unread is not ours. */
	r->draining = true;
	ring_buffer__consume(r->rb);
	r->draining = false;
	c->pid = getpid();
	c->pid_start = proc_start(c->pid);
	c->rate = rate;
	c->lost = 0;
	renew(r);
	sg_unlock();
	return 0;
fail:
	ring_buffer__free(r->rb);
	r->rb = NULL;
	if (r->ctl)
		munmap(r->ctl, sizeof(*r->ctl));
	r->ctl = NULL;
	sg_pins_close(&r->p);
	sg_unlock();
	return -1;
}

int sg_reader_run(struct sg_reader *r, double seconds, int (*tick)(void *ctx),
		  void *ctx)
{
	struct timespec zero = {0, 0};
	__u64 start = sg_mono_ns(), next = start + SG_NSEC_PER_SEC, now;
	sigset_t set;
	int n;

	sg_signal_set(&set);
	for (;;) {
		if (sigtimedwait(&set, NULL, &zero) > 0)
			return 0;
		n = ring_buffer__poll(r->rb, 100);
		if (n < 0 && n != -EINTR) {
			sg_err("%s: reading the samples: %s", r->p.iface,
			       sg_strerr(n));
			return -1;
		}
		if (r->done)
			return 0;
		now = sg_mono_ns();
		if (now >= next) {
			next += SG_NSEC_PER_SEC;
			if (!still_pinned(r)) {
				sg_err("%s was detached: no more samples",
				       r->p.iface);
				return -1;
			}
			if (r->ctl->pid != (__u32)getpid()) {
				sg_err("%s: another reader (PID %u) took the samples over",
				       r->p.iface, r->ctl->pid);
				return -1;
			}
			renew(r);
			if (tick && tick(ctx))
				return -1;
		}
		if (seconds > 0 && now - start >= seconds * 1e9)
			return 0;
	}
}

void sg_reader_close(struct sg_reader *r)
{
	__u64 lost;

	if (r->ctl && r->ctl->pid == (__u32)getpid() &&
	    (lost = __atomic_load_n(&r->ctl->lost, __ATOMIC_ACQUIRE)))
		sg_warn("%s: %llu samples lost: the ring buffer was full, this reader fell behind; a lower --rate keeps up",
			r->p.iface, (unsigned long long)lost);
	if (r->ctl) {
		/* Under the lock, so that a reader starting now either sees
		 * this one or finds the mask clear. */
		sg_lock(true);
		if (r->ctl->pid == (__u32)getpid()) {
			__atomic_store_n(&r->ctl->mask, 0, __ATOMIC_RELEASE);
			r->ctl->pid = 0;
		}
		sg_unlock();
		munmap(r->ctl, sizeof(*r->ctl));
	}
	r->ctl = NULL;
	ring_buffer__free(r->rb);
	r->rb = NULL;
	sg_pins_close(&r->p);
}
