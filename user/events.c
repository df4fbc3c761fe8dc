// SPDX-License-Identifier: GPL-2.0
/*
 * Attack events of `synguard run`: cookies engaging and disengaging, the
 * per-source limits starting and stopping to drop, an ACK flood crossing
 * its threshold, and key rotations. Each is one line on stdout (the
 * journal, under systemd), text or one JSON object, and with --on-event
 * the command runs with the event in its environment: one at a time, in
 * order, each killed after SG_HOOK_SEC, like FastNetMon's notify script.
 *
 * The events come from the counters and the state map, sampled once a
 * second by run's loop: a change within a second shows at the next tick.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "sg.h"

#define SG_HOOK_SEC 10 /* an --on-event command runs this long at most */
#define SG_EVENT_SOURCES 5 /* sources named in src_limit_start, at most */
/* Entries of the per-source table read for them, at most: the walk is one
 * syscall per entry, and an attack can fill the largest table. */
#define SG_EVENT_SRC_SCAN 262144

/* SYNs answered and handshakes handed off per second, over the last tick. */
static double per_sec(const struct sg_sample *s, enum sg_counter c, double dt)
{
	return dt > 0 ? (s->cnt[c] - s->prev[c]) / dt : 0;
}

/* ACKs that carried no valid cookie: what an ACK flood moves. */
static double bad_acks(const struct sg_sample *s, double dt)
{
	return per_sec(s, SG_CNT_COOKIE_BAD, dt) +
	       per_sec(s, SG_CNT_COOKIE_EXPIRED, dt) +
	       per_sec(s, SG_CNT_COOKIE_NONE_ISSUED, dt);
}

static void hook_start(struct sg_events *ev, json_t *e);

/*
 * Reaps the hook if it ended, kills it when its time is up, and starts the
 * next queued event's once it is gone.
 */
static void hook_reap(struct sg_events *ev)
{
	struct timespec now;
	json_t *next;
	int status;

	if (ev->hook && waitpid(ev->hook, &status, WNOHANG) == ev->hook)
		ev->hook = 0;
	if (ev->hook) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - ev->hook_started.tv_sec < SG_HOOK_SEC)
			return;
		sg_warn("--on-event command still running after %d s: killed",
			SG_HOOK_SEC);
		kill(ev->hook, SIGKILL);
		waitpid(ev->hook, &status, 0);
		ev->hook = 0;
	}
	if (!ev->queued)
		return;
	next = ev->queue[0];
	memmove(ev->queue, ev->queue + 1, --ev->queued * sizeof(ev->queue[0]));
	hook_start(ev, next);
	json_decref(next);
}

/*
 * Queues an event for the hook: one command at a time, in order. A queue
 * that is full drops the event with a warning rather than fork without
 * bound while an attack flaps.
 */
static void hook_run(struct sg_events *ev, json_t *e)
{
	if (ev->queued == SG_HOOK_QUEUE) {
		sg_warn("--on-event: %d events wait for the command already: not run for event %s",
			SG_HOOK_QUEUE,
			json_string_value(json_object_get(e, "event")));
		return;
	}
	ev->queue[ev->queued++] = json_incref(e);
	hook_reap(ev);
}

/* Runs --on-event with the event's members as SYNGUARD_* variables. */
static void hook_start(struct sg_events *ev, json_t *e)
{
	const char *key;
	json_t *v;
	char name[64], *val;
	sigset_t none;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		sg_warn("--on-event: cannot fork: %s", strerror(errno));
		return;
	}
	if (pid) {
		ev->hook = pid;
		clock_gettime(CLOCK_MONOTONIC, &ev->hook_started);
		return;
	}
	json_object_foreach(e, key, v) {
		size_t i;

		snprintf(name, sizeof(name), "SYNGUARD_%s", key);
		for (i = 0; name[i]; i++)
			name[i] = name[i] >= 'a' && name[i] <= 'z'
					  ? name[i] - 'a' + 'A'
					  : name[i];
		val = json_is_string(v) ? strdup(json_string_value(v))
					: json_dumps(v, JSON_ENCODE_ANY);
		if (val)
			setenv(name, val, 1);
		free(val);
	}
	/* run blocks the stop signals; the command must not inherit that. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl("/bin/sh", "sh", "-c", ev->on_event, (char *)NULL);
	_exit(127);
}

void sg_event(struct sg_events *ev, const char *iface, const char *type,
	      json_t *fields)
{
	json_t *e = fields ? fields : json_object();
	const char *key;
	char *line;
	json_t *v;

	sg_jset(e, "iface", sg_json_str(iface));
	sg_jset(e, "event", json_string(type));
	sg_jset(e, "time", json_real(sg_now_real()));
	if (ev->json) {
		line = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
		if (line)
			printf("%s\n", line);
		free(line);
	} else {
		printf("%s: event %s", iface, type);
		json_object_foreach(e, key, v) {
			if (!strcmp(key, "iface") || !strcmp(key, "event") ||
			    !strcmp(key, "time"))
				continue;
			line = json_is_string(v)
				       ? strdup(json_string_value(v))
				       : json_dumps(v, JSON_ENCODE_ANY);
			printf(" %s=%s", key, line ? line : "?");
			free(line);
		}
		putchar('\n');
	}
	fflush(stdout);
	if (ev->on_event)
		hook_run(ev, e);
	json_decref(e);
}

/*
 * What every attack event carries: the rates of the last tick, and whether
 * synguard acted on them (in monitor mode the rates say what it would have
 * done).
 */
static json_t *rates(const struct sg_sample *s, double dt)
{
	return json_pack(
		"{s:b,s:i,s:i,s:i,s:i,s:i}", "enforcing", !s->monitor,
		"syn_rate", (int)s->syn_rate, "answered_per_s",
		(int)per_sec(s, SG_CNT_SYNACK_SENT, dt), "handoffs_per_s",
		(int)per_sec(s, SG_CNT_HANDOFF_OK, dt), "bad_acks_per_s",
		(int)bad_acks(s, dt), "src_limited_per_s",
		(int)(per_sec(s, SG_CNT_SYN_SRC_LIMITED, dt) +
		      per_sec(s, SG_CNT_ACK_SRC_LIMITED, dt)));
}

struct limited {
	struct sg_src_key k;
	__u64 excess; /* packets over the burst, as GCRA's TAT says */
};

/* "203.0.113.20/32 syn": a source of the per-source table, as limited. */
static json_t *source_str(const struct limited *l, const struct sg_config *c)
{
	char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 16];
	int v6 = l->k.family != 4;

	inet_ntop(v6 ? AF_INET6 : AF_INET, l->k.addr, a, sizeof(a));
	snprintf(buf, sizeof(buf), "%s/%u %s", a,
		 v6 ? c->src_prefix6 : c->src_prefix4,
		 l->k.kind == SG_SRC_ACK ? "ack" : "syn");
	return json_string(buf);
}

/* Keeps the SG_EVENT_SOURCES furthest over in top[0..*n), furthest first. */
static void keep_top(struct limited *top, int *n, const struct limited *cur)
{
	int i = *n;

	if (i == SG_EVENT_SOURCES) {
		if (top[i - 1].excess >= cur->excess)
			return;
		i--; /* the least over goes */
	} else {
		(*n)++;
	}
	for (; i > 0 && top[i - 1].excess < cur->excess; i--)
		top[i] = top[i - 1];
	top[i] = *cur;
}

/*
 * The sources over their limit now, the furthest over first: entries of
 * the per-source table whose next allowed packet (the GCRA value the
 * program keeps, bpf/limits.h) lies beyond the burst's tolerance. Read for
 * src_limit_start only, as the walk is bounded but not cheap.
 */
static json_t *limited_sources(const struct sg_sample *s)
{
	struct limited top[SG_EVENT_SOURCES] = {}, cur;
	struct sg_src_key key, next;
	int n = 0, i, fd = s->p->fd[SG_M_SRC];
	__u64 now, tat, interval, tol;
	struct sg_config c;
	__u32 seen = 0, rate, burst;
	json_t *arr = json_array();

	if (!arr || fd < 0 || sg_map_read(s->p, SG_M_CONFIG, &c))
		return arr;
	now = sg_mono_ns(); /* bpf_ktime_get_ns's clock */
	if (bpf_map_get_next_key(fd, NULL, &next))
		return arr;
	do {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &tat))
			continue;
		rate = key.kind == SG_SRC_ACK ? c.src_ack_rate : c.src_syn_rate;
		burst = key.kind == SG_SRC_ACK ? c.src_ack_burst
					       : c.src_syn_burst;
		if (!rate)
			continue;
		interval = SG_NSEC_PER_SEC / rate;
		tol = interval * (burst > 1 ? burst - 1 : 0);
		if (tat <= now || tat - now <= tol)
			continue;
		cur.k = key;
		cur.excess = (tat - now - tol) / interval + 1;
		keep_top(top, &n, &cur);
	} while (++seen < SG_EVENT_SRC_SCAN &&
		 !bpf_map_get_next_key(fd, &key, &next));
	for (i = 0; i < n; i++)
		json_array_append_new(arr, source_str(&top[i], &c));
	return arr;
}

void sg_events_tick(struct sg_events *ev, const char *iface,
		    const struct sg_sample *s, double dt)
{
	bool limiting = per_sec(s, SG_CNT_SYN_SRC_LIMITED, dt) +
				per_sec(s, SG_CNT_ACK_SRC_LIMITED, dt) >
			0;
	bool ack_flood = bad_acks(s, dt) >= ev->ack_flood_rate;
	bool on = s->cnt[SG_CNT_COOKIES_ENGAGED] > s->prev[SG_CNT_COOKIES_ENGAGED];
	bool off = s->cnt[SG_CNT_COOKIES_DISENGAGED] >
		   s->prev[SG_CNT_COOKIES_DISENGAGED];

	/* The sample run took at start is the first before: nothing is lost. */
	hook_reap(ev);
	/*
	 * From the program's transition counters, not from its state: a tick
	 * late (run waits for the lock of another command) must not hide an
	 * engage and disengage between two samples. Both in one tick come in
	 * the order that ends in the state now.
	 */
	if (off && (!on || s->engaged))
		sg_event(ev, iface, "cookies_disengaged", rates(s, dt));
	if (on)
		sg_event(ev, iface, "cookies_engaged", rates(s, dt));
	if (off && on && !s->engaged)
		sg_event(ev, iface, "cookies_disengaged", rates(s, dt));
	if (limiting != ev->limiting) {
		json_t *f = rates(s, dt);

		if (limiting && f)
			sg_jset(f, "sources", limited_sources(s));
		sg_event(ev, iface,
			 limiting ? "src_limit_start" : "src_limit_stop", f);
	}
	if (ack_flood != ev->ack_flood)
		sg_event(ev, iface,
			 ack_flood ? "ack_flood_start" : "ack_flood_stop",
			 rates(s, dt));
	ev->limiting = limiting;
	ev->ack_flood = ack_flood;
}

void sg_events_stop(struct sg_events *ev)
{
	int i;

	/* The queued events' commands, each within its time. */
	for (i = 0; i < (SG_HOOK_QUEUE + 1) * SG_HOOK_SEC * 10; i++) {
		hook_reap(ev);
		if (!ev->hook && !ev->queued)
			return;
		usleep(100000);
	}
}
