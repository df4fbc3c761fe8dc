// SPDX-License-Identifier: GPL-2.0
/*
 * reload, and what run leaves in SG_RUN_DIR for it and for a restart: the
 * PID file by which reload finds a run to ask, and the handover by which
 * the next run adopts what a run stopped for a restart left attached.
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

static int cmd_reload(int argc, char **argv);

/* SG_RUN_DIR/IFACE.what into buf. */
const char *sg_run_file(const char *iface, const char *what, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s/%s.%s", SG_RUN_DIR, iface, what);
	return buf;
}

/* Writes text to SG_RUN_DIR/IFACE.what (made whole by a rename). */
int sg_run_file_write(const char *iface, const char *what, const char *text)
{
	char path[128], tmp[140];
	FILE *f;

	if (mkdir(SG_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	sg_run_file(iface, what, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -errno;
	}
	return 0;
}

/* The run of iface alive now, by its PID file: its PID, or 0. */
pid_t sg_run_pid(const char *iface)
{
	char path[128], comm[64] = "";
	long long pid = 0;
	FILE *f;

	f = fopen(sg_run_file(iface, "pid", path, sizeof(path)), "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || pid == getpid() || kill(pid, 0))
		return 0;
	/* A PID reused by another program is not a run. */
	snprintf(path, sizeof(path), "/proc/%lld/comm", pid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	return !strncmp(comm, "synguard", 8) ? (pid_t)pid : 0;
}

/*
 * Is systemd restarting the unit of this run ($SYNGUARD_UNIT, which the
 * unit sets)? Then the stop it sent is the first half of a restart: its
 * job is of type "restart" until the stop is done (systemctl list-jobs).
 */
bool sg_restart_pending(void)
{
	const char *unit = getenv("SYNGUARD_UNIT");
	const char *argv[] = {"systemctl", "list-jobs", "--no-legend",
			      "--plain",   unit,	NULL};
	char *out = NULL;
	bool yes;

	if (!unit || !*unit)
		return false;
	yes = sg_run_tool(argv, NULL, false, &out) == 0 && out &&
	      strstr(out, " restart ");
	free(out);
	return yes;
}

/*
 * A run stopped during a restart left the interface attached and a
 * handover naming its XDP program: take it over, with this run's settings
 * written in place. 1 adopted (the lock held again, as after attach), 0
 * nothing to adopt, or -(exit code) after a message. The key changes only
 * if the config's key_file holds a new one, and the previous key stays
 * valid for cookies in flight, as with `synguard key`.
 */
int sg_run_adopt(struct sg_attach_args *a, struct sg_info *ours)
{
	unsigned long long id = 0, at = 0;
	char path[128];
	struct sg_pins p;
	struct sg_info info = {};
	enum sg_xdp_mode mode;
	int ifindex, rc;
	bool multi;
	FILE *f;

	f = fopen(sg_run_file(a->iface, "handover", path, sizeof(path)), "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &id, &at) != 2)
		id = 0;
	fclose(f);
	unlink(path); /* one adoption, whatever comes of it */
	if (sg_require_root() || sg_iface_check(a->iface, &ifindex) ||
	    sg_bpffs_ready(false) || sg_lock(true))
		return -SG_EXIT_FAIL;
	sg_block_signals();
	if (sg_pins_open(a->iface, &p)) {
		sg_unlock();
		return 0; /* nothing pinned: attach says what is left */
	}
	rc = sg_map_read(&p, SG_M_INFO, &info);
	if (!rc && (info.xdp_prog_id != id || info.attached_unix != at ||
		    (int)info.ifindex != ifindex || !sg_prog_alive(id) ||
		    sg_xdp_attached(ifindex, id, &multi, &mode) != 1))
		rc = -1;
	if (!rc && sg_attach_keys_check(a, &info, p.max_entries[SG_M_SRC])) {
		sg_note("%s: detaching what the last run left, to attach anew with these settings",
			a->iface);
		sg_pins_close(&p);
		sg_detach(a->iface);
		sg_unlock();
		return 0;
	}
	sg_pins_close(&p);
	sg_unlock();
	if (rc) {
		sg_note("%s: the handover of the last run does not match what is attached: attaching anew",
			a->iface);
		return 0;
	}
	rc = sg_conf_apply(a, true);
	if (rc)
		return -rc; /* said why; what is attached stays as it was */
	*ours = info;
	printf("%s: adopted the protection the last run left attached (XDP program %u): no gap\n",
	       a->iface, info.xdp_prog_id);
	return sg_lock(true) ? -SG_EXIT_FAIL : 1;
}

struct reload_opts {
	const char *config;
	bool check;
};

static int reload_opt(void *ctx, int idx, const char *arg)
{
	struct reload_opts *o = ctx;

	if (idx == 0)
		o->config = arg;
	else
		o->check = true;
	return 0;
}

/* Asks run (pid) to reload and waits for its answer: an exit code. */
static int reload_daemon(const char *iface, pid_t pid)
{
	struct timespec wait = {30, 0};
	union sigval v = {.sival_int = SG_RELOAD_ASK};
	siginfo_t si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (sigqueue(pid, SIGHUP, v)) {
		sg_err("%s: cannot signal run (pid %d): %s", iface, (int)pid,
		       sg_strerr(errno));
		return SG_EXIT_FAIL;
	}
	for (;;) {
		if (sigtimedwait(&set, &si, &wait) < 0) {
			if (errno == EINTR)
				continue;
			sg_err("%s: run (pid %d) did not answer within 30 s: see its log",
			       iface, (int)pid);
			return SG_EXIT_FAIL;
		}
		if (si.si_pid == pid)
			break;
	}
	if (si.si_value.sival_int) {
		sg_err("%s: run (pid %d) refused the config: its log says why; it keeps the settings it has",
		       iface, (int)pid);
		return si.si_value.sival_int;
	}
	printf("%s: reloaded by run (pid %d)\n", iface, (int)pid);
	return 0;
}

static int cmd_reload(int argc, char **argv)
{
	static struct sg_attach_args a;
	const int need[] = {SG_M_INFO, SG_M_SRC};
	struct reload_opts o = {};
	const char *iface;
	struct sg_info info;
	struct sg_pins p;
	char *path;
	pid_t pid;
	int first, rc;

	rc = sg_parse_opts(&sg_cmd_reload, argc, argv, reload_opt, &o, &first);
	if (rc)
		return rc;
	if (argc - first != 1) {
		sg_err("reload takes one interface");
		sg_usage_hint(&sg_cmd_reload);
		return SG_EXIT_USAGE;
	}
	iface = argv[first];
	if (sg_iface_check(iface, NULL))
		return SG_EXIT_USAGE;
	path = sg_conf_find(iface, o.config);
	if (!path) {
		sg_err("%s: no config file: %s/%s.conf does not exist (or name one with --config FILE)",
		       iface, SG_CONF_DIR, iface);
		return SG_EXIT_USAGE;
	}
	/* The whole file checked first, also when run applies it. */
	sg_attach_defaults(&sg_cmd_run, &a);
	a.iface = iface;
	rc = sg_conf_load(path, &a);
	if (!rc)
		rc = sg_attach_finish(&a);
	if (rc || o.check) {
		if (!rc)
			printf("%s: valid\n", path);
		return rc;
	}
	pid = sg_run_pid(iface);
	if (pid > 0) {
		/* What only a restart applies, refused here, where it shows. */
		if (sg_iface_open(iface, false, need, ARRAY_SIZE(need), &p))
			return SG_EXIT_FAIL;
		rc = sg_map_read(&p, SG_M_INFO, &info);
		if (!rc &&
		    sg_attach_keys_check(&a, &info, p.max_entries[SG_M_SRC]))
			rc = SG_EXIT_USAGE;
		sg_pins_close(&p);
		sg_unlock();
		if (rc) {
			sg_err("%s: %s refused; %s keeps the settings it has",
			       iface, path, iface);
			return rc;
		}
		return reload_daemon(iface, pid);
	}
	rc = sg_conf_apply(&a, false);
	if (!rc)
		printf("%s: reloaded %s\n", iface, path);
	return rc;
}

static const struct sg_opt reload_opts_tbl[] = {
	{"config", 'c', "FILE",
	 "the config file (default " SG_CONF_DIR "/IFACE.conf)"},
	{"check", 'n', NULL,
	 "only read and check the file and its list files; change nothing"},
	{NULL},
};

const struct sg_cmd sg_cmd_reload = {
	.name = "reload",
	.run = cmd_reload,
	.min_abbrev = 3,
	.args = "IFACE [--config FILE] [--check]",
	.summary = "apply a changed config file in place, without detaching",
	.opts = reload_opts_tbl,
	.doc = "The whole file and the list files it names are read and checked first: any\nerror refuses it (FILE:LINE: reason) and nothing changes. Settings, ports\nand lists are then written in place (lists as a diff: no moment without an\nentry both have). mode, engine, src_table, synproxy and gateway are set when\nsynguard attaches: a file that changes one is refused, since only a restart\napplies it. If `synguard run IFACE` runs, it does the reload (SIGHUP), so\nits own options (key_rotate, log_format, on_event, ...) follow too.",
};
