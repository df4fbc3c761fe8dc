// SPDX-License-Identifier: GPL-2.0
/*
 * run: attach, stay in the foreground rotating the key on a schedule and
 * following the host's TCP sysctls, and detach when stopped. For service
 * managers: the protection lives exactly as long as the process, and
 * rotation needs no timer of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sg.h"

static int cmd_run(int argc, char **argv);

const struct sg_cmd sg_cmd_run = {
	.name = "run",
	.run = cmd_run,
	.args = "IFACE --ports LIST [options] [--key-rotate SEC]",
	.summary = "attach, rotate the key on a schedule, detach when stopped",
	.min_abbrev = 1,
	.opts = sg_attach_opts,
	.with_params = true,
	.doc = "Attaches as attach does, then stays in the foreground: every SEC seconds a new\nrandom key becomes current, the previous one staying valid for cookies already\nsent (as `synguard key IFACE rotate`). Every second it reads net.ipv4.tcp_sack,\n"
	       "tcp_timestamps, tcp_window_scaling, tcp_ecn and tcp_syncookies "
	       "of this network\nnamespace, and the programs follow a change (one line each). Every 10 s it finds\nthe kind of each protected port again (local, nat, nothing, local+nat, as\n"
	       "status shows them) and logs each change. SIGTERM, SIGINT "
	       "or SIGQUIT detaches\nand exits 0, except while systemd restarts the unit named by $SYNGUARD_UNIT:\nrun then leaves the programs attached and the next run adopts them. SIGHUP\n"
	       "reads the config file again (as `synguard reload IFACE`). If attach fails, run\nexits non-zero and leaves nothing behind. config, allow, deny, status and stats\nwork on the interface while it runs.\n\n"
	       "The config file (" SG_CONF_DIR
	       "/IFACE.conf, or --config FILE) holds `key = value`\nlines: the KEYs of config and these options with '-' written '_' (mode,\nkey_rotate, ...), and allow_file / deny_file naming list files (one CIDR a\nline). '#' starts a comment. Options given on the command line override it.",
};

/* After a failed rotation (not a refused one), try again this much later. */
#define SG_RETRY_SEC 60
/* How often run reads the host's TCP sysctls and TAI offset again. */
#define SG_FOLLOW_SEC 1
/*
 * How often it classifies the protected ports again: a scan reads every
 * TCP socket and runs nft, which a kube-proxy node's ruleset makes slow.
 */
#define SG_PORTS_SEC 10

/*
 * Is what is pinned for iface still the protection this process attached?
 * Another command may have detached it, and attached it again, meanwhile;
 * run then leaves it alone. The caller holds the lock.
 */
static bool still_ours(const struct sg_pins *p, const struct sg_info *ours)
{
	struct sg_info now;

	if (sg_map_read(p, SG_M_INFO, &now) || now.ifindex != ours->ifindex ||
	    now.xdp_prog_id != ours->xdp_prog_id ||
	    now.attached_unix != ours->attached_unix) {
		sg_err("%s: detached, or attached again, by another synguard command since this run attached it: stopping, and leaving it as it is",
		       p->iface);
		return false;
	}
	return true;
}

/*
 * One scheduled rotation: 0 done, > 0 seconds until the next attempt
 * (refused because the last key change is too recent, or failed), < 0 the
 * protection is not ours any more.
 */
static long rotate(const char *iface, const struct sg_info *ours)
{
	const int need[] = {SG_M_KEYS, SG_M_CONFIG, SG_M_INFO};
	__u8 key[SG_KEY_BYTES];
	struct sg_key_change kc;
	struct sg_pins p;
	int rc = -2;

	if (sg_key_random(key))
		return SG_RETRY_SEC;
	if (sg_iface_open(iface, true, need, ARRAY_SIZE(need), &p)) {
		sg_err("%s: stopping: the protection this run attached is gone",
		       iface);
	} else {
		if (still_ours(&p, ours))
			rc = sg_key_change(&p, key, "random", false, &kc);
		sg_pins_close(&p);
	}
	sg_unlock();
	memset(key, 0, sizeof(key));
	if (rc == 1) {
		/* `key rotate` by hand, or a longer cookie_lifetime, since. */
		sg_note("%s: key rotation postponed by %llus: the last key change was %llus ago, and the key it replaced stays in use for the cookie lifetime (%us) plus %us of time period and clock skew",
			iface, kc.wait, kc.age, kc.lifetime, SG_COOKIE_MARGIN_SEC);
		return kc.wait;
	}
	if (rc == -1) {
		sg_note("%s: key rotation failed: trying again in %us", iface,
			SG_RETRY_SEC);
		return SG_RETRY_SEC;
	}
	return rc;
}

/*
 * Follows the host: the TCP sysctls of this network namespace and the
 * kernel's TAI offset, which the XDP program reads from the config
 * (sg_config.tcp_sysctl, tai_offset_ns). seen holds what was last read, so
 * that the lock is taken only when something changed. 0, or < 0 when the
 * protection is not ours any more.
 */
static int follow_host(const char *iface, const struct sg_info *ours,
		       struct sg_config *seen)
{
	const int need[] = {SG_M_CONFIG, SG_M_INFO};
	struct sg_config host = {}, cfg;
	struct sg_pins p;
	__u8 diff;
	size_t i;
	int rc;

	if (sg_host_state(&host))
		return 0; /* said why; the next second tries again */
	if (host.tcp_sysctl == seen->tcp_sysctl &&
	    host.tai_offset_ns == seen->tai_offset_ns)
		return 0;
	if (sg_iface_open(iface, true, need, ARRAY_SIZE(need), &p)) {
		sg_err("%s: stopping: the protection this run attached is gone",
		       iface);
		sg_unlock();
		return -1;
	}
	if (!still_ours(&p, ours)) {
		rc = -1;
		goto out;
	}
	rc = sg_map_read(&p, SG_M_CONFIG, &cfg);
	if (rc) {
		sg_err("%s: cannot read the settings: %s", iface,
		       sg_strerr(rc));
		rc = 0;
		goto out;
	}
	diff = cfg.tcp_sysctl ^ host.tcp_sysctl;
	cfg.tcp_sysctl = host.tcp_sysctl;
	if (cfg.tai_offset_ns != host.tai_offset_ns)
		printf("%s: the kernel's TAI offset is now %llds (was %llds): cookies keep to REALTIME\n",
		       iface, (long long)(host.tai_offset_ns / 1000000000LL),
		       (long long)(cfg.tai_offset_ns / 1000000000LL));
	cfg.tai_offset_ns = host.tai_offset_ns;
	if (sg_map_write(&p, SG_M_CONFIG, &cfg))
		goto out; /* said why; the next second tries again */
	*seen = host;
	for (i = 0; i < SG_NSYSCTLS; i++) {
		const struct sg_sysctl *sc = &sg_sysctls[i];
		bool on = host.tcp_sysctl & sc->bit;

		if (!(diff & sc->bit))
			continue;
		if (sc->bit == SG_SYSCTL_SYNCOOKIES && !on)
			sg_warn("%s: net.ipv4.tcp_syncookies is now 0: the kernel refuses every connection synguard would hand off, so SYNs to protected ports pass to the kernel UNPROTECTED (syn_no_handoff_pass) until it is back; fix it with `sysctl -w net.ipv4.tcp_syncookies=1`",
				iface);
		else if (sc->bit == SG_SYSCTL_SYNCOOKIES)
			printf("%s: net.ipv4.tcp_syncookies is on again: SYN cookies and the handoff resume\n",
			       iface);
		else
			printf("%s: net.ipv4.%s is now %s: SYN-ACKs %s %s\n",
			       iface, sc->name, on ? "on" : "off",
			       on ? "offer" : "no longer offer", sc->what);
	}
out:
	sg_pins_close(&p);
	sg_unlock();
	return rc;
}

/*
 * The XDP program passes the SYNs of the local+nat ports untouched, and
 * with --synproxy answers those of the nat ports for SYNPROXY, whose
 * nftables set then names them too. The kinds of the port map only: the
 * protected ports stay as config last wrote them.
 */
static void kind_maps_write(const char *iface, const struct sg_port_kinds *k)
{
	const int need[] = {SG_M_PORT_MAP, SG_M_INFO};
	const struct sg_ports *proxy = NULL;
	static struct sg_ports still;
	struct sg_info info;
	struct sg_pins p;
	size_t w;

	if (sg_iface_open(iface, true, need, ARRAY_SIZE(need), &p)) {
		sg_unlock();
		return;
	}
	/*
	 * The set follows the map out and leads it in: a port that is no
	 * longer nat stops getting SYNPROXY's cookies before its rule goes,
	 * a new one has its rule before its first such cookie. (Handshakes
	 * answered before a port left still fail: their ACKs come later.)
	 */
	if (!sg_map_read(&p, SG_M_INFO, &info) &&
	    (info.synproxy & SG_PROXY_NAT) &&
	    !sg_port_bits_read(&p, SG_PORT_PROXY, &still)) {
		for (w = 0; w < ARRAY_SIZE(still.bits); w++)
			still.bits[w] &= k->kind[SG_PK_NAT].bits[w];
		if (!sg_port_map_update(&p, NULL, NULL, &still) &&
		    !sg_nft_ports_set(info.ifindex, SG_NFT_NAT_SET,
				      &k->kind[SG_PK_NAT]))
			proxy = &k->kind[SG_PK_NAT];
	}
	sg_port_map_update(&p, NULL, &k->pass, proxy);
	sg_pins_close(&p);
	sg_unlock();
}

/*
 * Follows what the protected ports are: a listener that starts or stops, a
 * container published or removed. One line per change of kind, the ports
 * that made the same change together. seen holds the last classification
 * (have: it is valid); a port added to or removed from the list by `config`
 * is not a change of kind.
 */
static void follow_ports(const char *iface, struct sg_port_kinds *seen,
			 bool *have, int *nat_err)
{
	static struct sg_port_kinds now;
	static struct sg_port_scan scan;
	static struct sg_ports moved;
	const int need[] = {SG_M_PORT_MAP, SG_M_INFO};
	struct sg_info info = {};
	struct sg_ports prot;
	struct sg_pins p;
	bool nat_proxy;
	char list[160];
	size_t w;
	int o, n, rc;

	if (sg_lock(false))
		return;
	rc = sg_pins_need(iface, &p, need, ARRAY_SIZE(need))
		     ?: sg_ports_read(&p, &prot)
		     ?: sg_map_read(&p, SG_M_INFO, &info);
	nat_proxy = info.synproxy & SG_PROXY_NAT;
	sg_pins_close(&p);
	sg_unlock();
	if (rc || sg_port_scan(&scan))
		return; /* follow_host says when the pins are gone */
	sg_port_classify(&scan, &prot, &now);
	if (!*have || memcmp(&seen->pass, &now.pass, sizeof(now.pass)) ||
	    memcmp(&seen->kind[SG_PK_NAT], &now.kind[SG_PK_NAT],
		   sizeof(now.kind[SG_PK_NAT])))
		kind_maps_write(iface, &now);
	if (*have && scan.nat_err != *nat_err) {
		if (scan.nat_err)
			sg_warn("%s: cannot read the NAT rules any more (%s): ports translated by NAT now count as nothing listening",
				iface, sg_strerr(scan.nat_err));
		else
			printf("%s: the NAT rules are readable again\n", iface);
	}
	for (o = 0; *have && o < SG_PK_MAX; o++) {
		for (n = 0; n < SG_PK_MAX; n++) {
			if (o == n)
				continue;
			for (w = 0; w < ARRAY_SIZE(moved.bits); w++)
				moved.bits[w] = seen->kind[o].bits[w] &
						now.kind[n].bits[w];
			if (!sg_ports_count(&moved))
				continue;
			sg_port_list_fmt(&moved, list, sizeof(list));
			if (n == SG_PK_LOCAL_NAT)
				sg_warn("%s: %s now %s (was %s): %s", iface,
					list, sg_port_kind_names[n],
					sg_port_kind_names[o],
					sg_port_kind_what(n, nat_proxy));
			else
				printf("%s: %s now %s (was %s): %s\n", iface,
				       list, sg_port_kind_names[n],
				       sg_port_kind_names[o],
				       sg_port_kind_what(n, nat_proxy));
		}
	}
	*seen = now;
	*nat_err = scan.nat_err;
	*have = true;
}

/*
 * The signals run waits for: SIGHUP, which reloads, and those of the stop
 * signals (sg_signal_set()) that were not ignored when it started, so that
 * `nohup synguard run ...` survives what it asks to. SIGHUP is waited for
 * even when ignored: a hang-up then reloads, which is harmless, and
 * otherwise nohup would leave every reload unanswered. (They are blocked,
 * and Linux keeps a blocked signal pending whatever its disposition, so
 * sigtimedwait takes it.)
 */
static void stop_signals(sigset_t *set)
{
	struct sigaction sa;
	int sig;

	sg_signal_set(set);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGHUP && sigismember(set, sig) == 1 &&
		    !sigaction(sig, NULL, &sa) && sa.sa_handler == SIG_IGN)
			sigdelset(set, sig);
}

/* What the loop of a run follows, between its ticks. */
struct run {
	struct sg_attach_args a;
	struct sg_info ours;	    /* what this run attached */
	struct sg_config seen;	    /* the host state last written */
	struct sg_port_kinds kinds; /* the ports' kinds last logged */
	bool have_kinds;
	int nat_err;
	struct timespec rotate_due, kinds_due; /* CLOCK_MONOTONIC */
	struct sg_metrics *metrics;	       /* with --metrics */
	struct sg_pins p;		       /* the counters, for events */
	struct sg_sample s;
	struct timespec sampled;
	int argc; /* the command line, read again with the file on reload */
	char **argv;
};

/* The events of the last second: from a fresh sample of the counters. */
static void run_events(struct run *r)
{
	struct timespec now;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (now.tv_sec - r->sampled.tv_sec) +
	     (now.tv_nsec - r->sampled.tv_nsec) / 1e9;
	if (r->s.iface && !sg_sample_read(&r->s)) {
		sg_events_tick(&r->a.ev, r->a.iface, &r->s, dt);
		r->sampled = now;
	}
}

/* How long to wait for a signal: a look every second, or the rotation. */
static struct timespec run_wait(const struct run *r)
{
	struct timespec left = {SG_FOLLOW_SEC, 0}, now, due;

	if (!r->a.key_rotate)
		return left;
	clock_gettime(CLOCK_MONOTONIC, &now);
	due.tv_sec = r->rotate_due.tv_sec - now.tv_sec;
	due.tv_nsec = r->rotate_due.tv_nsec - now.tv_nsec;
	if (due.tv_nsec < 0) {
		due.tv_sec--;
		due.tv_nsec += 1000000000L;
	}
	if (due.tv_sec < 0)
		due.tv_sec = due.tv_nsec = 0;
	return due.tv_sec < left.tv_sec ? due : left;
}

/* One tick: the host, the ports' kinds when due, the key when due. */
static int run_tick(struct run *r)
{
	struct timespec now;
	long wait;

	if (follow_host(r->a.iface, &r->ours, &r->seen) < 0)
		return -1;
	run_events(r);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec >= r->kinds_due.tv_sec) {
		follow_ports(r->a.iface, &r->kinds, &r->have_kinds,
			     &r->nat_err);
		r->kinds_due.tv_sec = now.tv_sec + SG_PORTS_SEC;
	}
	if (!r->a.key_rotate || now.tv_sec < r->rotate_due.tv_sec ||
	    (now.tv_sec == r->rotate_due.tv_sec &&
	     now.tv_nsec < r->rotate_due.tv_nsec))
		return 0;
	wait = rotate(r->a.iface, &r->ours);
	if (wait < 0)
		return -1;
	if (!wait)
		sg_event(&r->a.ev, r->a.iface, "key_rotated", NULL);
	r->rotate_due = now;
	r->rotate_due.tv_sec += wait ? wait : (long)r->a.key_rotate;
	return 0;
}

/* After attach: what it wrote of the host, and the first port kinds. */
static void run_start(struct run *r)
{
	/*
	 * The lock attach took is still held. The counters stay open: each
	 * tick samples them for the events; the settings are read through
	 * the same pins.
	 */
	r->s.no_src = true; /* a walk of up to 65536 entries: not each second */
	if (sg_sample_open(r->a.iface, &r->p, &r->s))
		r->s.iface = NULL; /* said why; run goes on without events */
	if (!r->s.iface || sg_map_read(&r->p, SG_M_CONFIG, &r->seen)) {
		sg_err("%s: cannot read the settings attach wrote", r->a.iface);
		r->seen.tcp_sysctl = ~0; /* the first look writes them again */
	}
	sg_unlock(); /* other commands work on the interface meanwhile */
	/* What attach warned about: the changes from here are logged. */
	follow_ports(r->a.iface, &r->kinds, &r->have_kinds, &r->nat_err);
	if (r->a.key_rotate)
		printf("%s: rotating the key every %llus; SIGTERM or Ctrl-C detaches\n",
		       r->a.iface, r->a.key_rotate);
	else
		printf("%s: protected until SIGTERM or Ctrl-C, which detach\n",
		       r->a.iface);
	clock_gettime(CLOCK_MONOTONIC, &r->rotate_due);
	r->sampled = r->rotate_due;
	r->kinds_due = r->rotate_due;
	r->kinds_due.tv_sec += SG_PORTS_SEC;
	r->rotate_due.tv_sec += r->a.key_rotate;
}

/*
 * Detaches what this run attached, unless another command did already; or,
 * while systemd restarts the unit, leaves it attached with a handover
 * that the next run adopts.
 */
static int run_stop(struct run *r, int sig)
{
	bool restart = sg_restart_pending();
	char path[128], text[64];
	struct sg_pins p;
	int ours;

	unlink(sg_run_file(r->a.iface, "pid", path, sizeof(path)));
	sg_metrics_stop(r->metrics);
	sg_events_stop(&r->a.ev);
	if (r->s.iface)
		sg_pins_close(&r->p);
	snprintf(text, sizeof(text), "%u %llu\n", r->ours.xdp_prog_id,
		 (unsigned long long)r->ours.attached_unix);
	if (restart && !sg_run_file_write(r->a.iface, "handover", text)) {
		printf("%s: SIG%s during a restart of %s: leaving %s protected for the next run, which adopts it\n",
		       r->a.iface, sigabbrev_np(sig), getenv("SYNGUARD_UNIT"),
		       r->a.iface);
		return 0;
	}
	if (restart)
		sg_warn("%s: cannot leave a handover in %s: detaching",
			r->a.iface, SG_RUN_DIR);
	rmdir(SG_RUN_DIR); /* if no other run has a file there */
	printf("%s: SIG%s: detaching\n", r->a.iface, sigabbrev_np(sig));
	if (sg_bpffs_ready(false) < 0 || sg_lock(true))
		return SG_EXIT_FAIL;
	if (sg_pins_open(r->a.iface, &p)) {
		sg_err("%s: detached by another synguard command since this run attached it: nothing left to do",
		       r->a.iface);
		return SG_EXIT_FAIL;
	}
	ours = still_ours(&p, &r->ours);
	sg_pins_close(&p);
	return ours ? sg_detach(r->a.iface) : SG_EXIT_FAIL;
}

/*
 * SIGHUP: the config file and the command line read again, and applied in
 * place, as `synguard reload` does; the options of run itself follow.
 * Answers a reload that asked (si) with SIGUSR1 carrying the exit code.
 */
static void run_reload(struct run *r, const siginfo_t *si)
{
	static struct sg_attach_args na;
	union sigval v;
	int rc;

	rc = sg_attach_parse(&sg_cmd_run, r->argc, r->argv, &na);
	if (!rc && (na.want_metrics != r->a.want_metrics ||
		    memcmp(&na.metrics, &r->a.metrics, sizeof(na.metrics)))) {
		sg_err("%s: metrics changed: the endpoint moves when run starts again (systemctl restart); nothing changed",
		       r->a.iface);
		rc = SG_EXIT_USAGE;
	}
	if (!rc)
		rc = sg_conf_apply(&na, false);
	if (!rc) {
		/* The previous file's strings stay allocated: settings this
		 * reload does not replace (the metrics address, the key
		 * file) may still point into them. A few hundred bytes per
		 * SIGHUP, which an operator sends by hand. */
		r->a.s = na.s;
		r->a.conf = na.conf;
		r->a.ev.json = na.ev.json;
		r->a.ev.on_event = na.ev.on_event;
		r->a.ev.ack_flood_rate = na.ev.ack_flood_rate;
		if (na.key_rotate != r->a.key_rotate) {
			r->a.key_rotate = na.key_rotate;
			clock_gettime(CLOCK_MONOTONIC, &r->rotate_due);
			r->rotate_due.tv_sec += r->a.key_rotate;
		}
		printf("%s: reloaded %s\n", r->a.iface,
		       na.conf ? na.conf->path : "the command line");
	}
	if (si->si_code == SI_QUEUE &&
	    si->si_value.sival_int == SG_RELOAD_ASK) {
		v.sival_int = rc;
		sigqueue(si->si_pid, SIGUSR1, v);
	}
}

static int cmd_run(int argc, char **argv)
{
	static struct run r;
	struct timespec left;
	char path[128], pid[32];
	siginfo_t si;
	sigset_t set;
	int rc, sig;

	rc = sg_attach_parse(&sg_cmd_run, argc, argv, &r.a);
	if (rc)
		return rc;
	r.argc = argc;
	r.argv = argv;
	/* A service manager's log gets each line as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = sg_run_adopt(&r.a, &r.ours);
	if (rc < 0)
		return -rc;
	/* It blocks the stop signals: from here they wait for sigtimedwait. */
	if (!rc) {
		rc = sg_attach(&r.a, &r.ours);
		if (rc)
			return rc;
	}
	run_start(&r);
	/* After attach, since it serves the pins; a failure undoes attach. */
	if (r.a.want_metrics &&
	    sg_metrics_start(r.a.iface, &r.a.metrics, &r.metrics)) {
		sg_bpffs_ready(false);
		sg_lock(true);
		sg_detach(r.a.iface);
		return SG_EXIT_FAIL;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (sg_run_file_write(r.a.iface, "pid", pid))
		sg_warn("%s: cannot write %s: `synguard reload` will not find this run",
			r.a.iface,
			sg_run_file(r.a.iface, "pid", path, sizeof(path)));
	stop_signals(&set);
	for (;;) {
		left = run_wait(&r);
		sig = sigtimedwait(&set, &si, &left);
		if (sig == SIGHUP) {
			run_reload(&r, &si);
			continue;
		}
		if (sig > 0)
			return run_stop(&r, sig);
		if (errno != EAGAIN)
			continue; /* EINTR: another signal's handler */
		if (run_tick(&r) < 0) {
			unlink(sg_run_file(r.a.iface, "pid", path,
					   sizeof(path)));
			rmdir(SG_RUN_DIR);
			return SG_EXIT_FAIL;
		}
	}
}
