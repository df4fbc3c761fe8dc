// SPDX-License-Identifier: GPL-2.0
/* Messages, errors, the lock, bpffs and small parsers shared by commands. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "sg.h"

int sg_verbose;

const char *sg_err_where;

/*
 * "synguard: ", where the input came from (sg_err_where), the level's word
 * ("warning: "), then the message.
 */
static void vmsg(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "synguard: %s%s%s", sg_err_where ? sg_err_where : "",
		sg_err_where ? ": " : "", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void sg_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void sg_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void sg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

const char *sg_strerr(int err)
{
	/* Two buffers: a message may name two errors. */
	static char bufs[2][192];
	static unsigned int n;
	char *b = bufs[n++ & 1];
	const char *name;
	char text[128];

	if (err < 0)
		err = -err;
	/* libbpf's text also covers its own codes (LIBBPF_ERRNO__*). */
	libbpf_strerror(err, text, sizeof(text));
	name = strerrorname_np(err);
	if (name)
		snprintf(b, sizeof(bufs[0]), "%s (errno %d, %s)", text, err,
			 name);
	else
		snprintf(b, sizeof(bufs[0]), "%s (error %d)", text, err);
	return b;
}

/* libbpf and libxdp speak only with -v; -vv adds their debug output. */
static int lib_print(int level, const char *fmt, va_list ap)
{
	if (!sg_verbose || (level == LIBBPF_DEBUG && sg_verbose < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	return lib_print(level, fmt, ap);
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt,
			va_list ap)
{
	/* libxdp's levels are libbpf's (libxdp.h says so). */
	return lib_print((int)level, fmt, ap);
}

void sg_setup_logging(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

int sg_require_root(void)
{
	if (geteuid() == 0)
		return 0;
	sg_err("must run as root (synguard loads BPF programs and changes network interfaces): try `sudo synguard ...`");
	return -1;
}

static int lock_fd = -1;

/*
 * One lock for every command, held until exit: commands that change
 * something take it exclusively, status and stats shared, so that they never
 * see an attach or detach half done.
 */
int sg_lock(bool exclusive)
{
	int op = exclusive ? LOCK_EX : LOCK_SH;

	lock_fd = open(SG_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0) {
		sg_err("cannot open the lock file %s: %s", SG_LOCK_FILE,
		       sg_strerr(errno));
		return -1;
	}
	if (!flock(lock_fd, op | LOCK_NB))
		return 0;
	if (errno != EWOULDBLOCK) {
		sg_err("cannot lock %s: %s", SG_LOCK_FILE, sg_strerr(errno));
		return -1;
	}
	sg_note("waiting for another synguard command to finish (%s is locked)",
		SG_LOCK_FILE);
	while (flock(lock_fd, op)) {
		if (errno == EINTR)
			continue;
		sg_err("cannot lock %s: %s", SG_LOCK_FILE, sg_strerr(errno));
		return -1;
	}
	return 0;
}

void sg_unlock(void)
{
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}

/*
 * attach and detach must not stop half-way: Ctrl-C or a terminal hang-up
 * waits until they are done (SIGKILL still works; detach cleans up after it).
 */
void sg_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

void sg_block_signals(void)
{
	sigset_t set;

	sg_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int sg_iface_check(const char *name, int *ifindex)
{
	size_t len = strlen(name), i;
	bool bad = !len || len >= IFNAMSIZ || !strcmp(name, ".") ||
		   !strcmp(name, "..");

	/* The name becomes a directory under SG_PIN_DIR; '@' separates the
	 * namespace there (sg_pin_dir). */
	for (i = 0; i < len && !bad; i++)
		bad = name[i] == '/' || name[i] == '@' ||
		      isspace((unsigned char)name[i]);
	if (bad) {
		sg_err("invalid interface name '%s': 1 to %d characters, without '/', '@' or spaces",
		       name, IFNAMSIZ - 1);
		return -1;
	}
	if (!ifindex)
		return 0;
	*ifindex = if_nametoindex(name);
	if (!*ifindex) {
		sg_err("interface '%s' not found in this network namespace (see `ip link show`)",
		       name);
		return -1;
	}
	return 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/*
 * Inside `ip netns exec`: it mounts a sysfs for the namespace over /sys, in
 * a mount namespace of its own, with the namespace's name as the source.
 * Returns that name into buf, or NULL.
 */
static const char *ip_netns_exec_name(char *buf, size_t len)
{
	char line[1024], *sep, path[PATH_MAX], mnt[512], fstype[64], src[256];
	const char *found = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return NULL;
	/* "... MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE ..." */
	while (fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep, " - %63s %255s", fstype, src) != 2)
			continue;
		if (strcmp(mnt, "/sys") || strcmp(fstype, "sysfs"))
			continue;
		/* The last mount on /sys is the one we see. */
		found = NULL;
		snprintf(path, sizeof(path), "/run/netns/%s", src);
		if (!strchr(src, '/') && !access(path, F_OK)) {
			snprintf(buf, len, "%s", src);
			found = buf;
		}
	}
	fclose(f);
	return found;
}

int sg_bpffs_ready(bool do_mount)
{
	const char *ns;
	char name[256];

	if (is_bpffs(SG_BPFFS))
		return 0;
	/*
	 * A bpffs mounted in ip netns exec's mount namespace, and our pins in
	 * it, would vanish when the command exits, and the next command
	 * would not find them.
	 */
	ns = ip_netns_exec_name(name, sizeof(name));
	if (ns) {
		sg_err("bpffs is not mounted at %s here: `ip netns exec` remounts /sys, and pins made in its private mount namespace would vanish when the command exits. Run `nsenter --net=/run/netns/%s synguard ...` instead",
		       SG_BPFFS, ns);
		return -1;
	}
	if (!do_mount)
		return 1;
	/* As xdp-loader does: the pins need a bpffs, so mount the usual one. */
	if ((mkdir(SG_BPFFS, 0700) && errno != EEXIST) ||
	    mount("bpf", SG_BPFFS, "bpf", 0, "mode=0700")) {
		sg_err("bpffs is not mounted at %s and mounting it failed: %s; mount it with `mount -t bpf bpf %s` (or add `bpf %s bpf defaults 0 0` to /etc/fstab) and try again",
		       SG_BPFFS, sg_strerr(errno), SG_BPFFS, SG_BPFFS);
		return -1;
	}
	sg_note("bpffs was not mounted: mounted it at %s", SG_BPFFS);
	return 0;
}

int sg_parse_uint(const char *s, unsigned long long *out)
{
	char *end;

	/* strtoull accepts signs and spaces; a config value does not. */
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (*end)
		return -1;
	if (errno == ERANGE)
		*out = ~0ULL; /* out of every range: the caller says so */
	return 0;
}

int sg_parse_seconds(const char *s, double *out)
{
	char *end;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	*out = strtod(s, &end);
	if (*end || !isfinite(*out))
		return -1;
	return 0;
}

long long sg_proc_sys_field(const char *path, int field)
{
	char buf[128], *p = buf, *end;
	long long v = -EINVAL;
	ssize_t n;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = '\0';
	for (i = 0; i <= field; i++) {
		v = strtoll(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
	}
	return v;
}

int sg_sysctl_int(const char *name, int *out)
{
	char path[128];
	long long v;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	v = sg_proc_sys_field(path, 0);
	if (v < 0)
		return v;
	*out = v;
	return 0;
}

const struct sg_sysctl sg_sysctls[SG_NSYSCTLS] = {
	{"tcp_sack", "SACK", SG_SYSCTL_SACK},
	{"tcp_timestamps", "timestamps", SG_SYSCTL_TS},
	{"tcp_window_scaling", "window scaling", SG_SYSCTL_WS},
	{"tcp_ecn", "ECN", SG_SYSCTL_ECN},
	{"tcp_syncookies", "the handoff", SG_SYSCTL_SYNCOOKIES},
};

int sg_host_state(struct sg_config *cfg)
{
	const struct sg_sysctl *s = sg_sysctls;
	struct timex tx = {};
	size_t i;
	int v = 0, err;

	cfg->tcp_sysctl = 0;
	for (i = 0; i < SG_NSYSCTLS; i++) {
		err = sg_sysctl_int(s[i].name, &v);
		if (err) {
			sg_err("cannot read net.ipv4.%s: %s", s[i].name,
			       sg_strerr(err));
			return err;
		}
		if (v)
			cfg->tcp_sysctl |= s[i].bit;
	}
	/* The offset the kernel engine needs gone (include/synguard.h). */
	if (!sg_sysctl_int("tcp_timestamps", &v) && v == 2)
		cfg->tcp_sysctl |= SG_SYSCTL_TS_RAW;
	if (adjtimex(&tx) < 0) {
		err = -errno;
		sg_err("cannot read the kernel's TAI offset (adjtimex): %s",
		       sg_strerr(err));
		return err;
	}
	cfg->tai_offset_ns = (__s64)tx.tai * 1000000000LL;
	return 0;
}

__u64 sg_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * SG_NSEC_PER_SEC + ts.tv_nsec;
}

__u64 sg_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * SG_NSEC_PER_SEC + ts.tv_nsec;
}

double sg_wscale_prev_left(const struct sg_config *cfg)
{
	__s64 left;

	/* As the XDP program reckons it (sg_wscale_prev). */
	if (cfg->wscale_prev == cfg->wscale || !cfg->wscale_changed_ns)
		return 0;
	left = (__s64)(cfg->wscale_changed_ns +
		       SG_WSCALE_PREV_NS(cfg->cookie_lifetime) - sg_clock_ns());
	return left > 0 ? left / 1e9 : 0;
}

/* Output a tool may give before we stop reading: far above any ruleset. */
#define SG_TOOL_OUT_MAX (256u << 20)

int sg_run_tool(const char *const argv[], const char *script, bool with_stderr,
		char **out)
{
	int in[2] = {-1, -1}, res[2] = {-1, -1}, st, err = 0, null;
	size_t n = 0, cap = 4096;
	char *buf, *more;
	ssize_t r;
	pid_t pid;

	*out = buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	buf[0] = '\0';
	if (pipe2(in, O_CLOEXEC) || pipe2(res, O_CLOEXEC))
		goto fail;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (!pid) {
		dup2(in[0], 0);
		dup2(res[1], 1);
		if (with_stderr) {
			dup2(res[1], 2);
		} else {
			null = open("/dev/null", O_WRONLY);
			if (null >= 0)
				dup2(null, 2);
		}
		execvp(argv[0], (char *const *)argv);
		/* For the parent: 127 and no output, as a shell would say. */
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(in[0]);
	close(res[1]);
	in[0] = res[1] = -1;
	if (script && write(in[1], script, strlen(script)) < 0)
		err = -errno; /* EPIPE: it exited early; its status says why */
	close(in[1]);
	in[1] = -1;
	for (;;) {
		if (n + 1 == cap && cap < SG_TOOL_OUT_MAX &&
		    (more = realloc(buf, cap * 2))) {
			*out = buf = more;
			cap *= 2;
		}
		if (n + 1 == cap)
			break; /* the rest is cut off */
		r = read(res[0], buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	close(res[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !buf[0])
		return -ENOENT;
	if (!WIFEXITED(st))
		return -EINTR;
	return WEXITSTATUS(st) ? WEXITSTATUS(st) : err;
fail:
	err = -errno;
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	return err;
}
