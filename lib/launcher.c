/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine.h"
#include "dns.h"
#include "landlock.h"
#include "litebox/launcher.h"
#include "litebox/overlay.h"
#include "litebox/util.h"
#include "nest_internal.h"

enum msg_type { MSG_LISTENER = 1, MSG_STATUS, MSG_EXEC_ERRNO, MSG_SETUP_ERRNO };

/* Set-up steps of init, so that a failure names what failed. */
enum init_stage {
	STAGE_NONE,
	STAGE_CAPS,
	STAGE_CAPS_LEFT,
	STAGE_NNP,
	STAGE_LANDLOCK,
	STAGE_FILTER,
	STAGE_FORK,
	STAGE_MEMORY,
	STAGE_OVERLAY,
	STAGE_VIEW,
};

struct msg {
	int type;
	int value;
	int stage;
};

/* Signals litebox passes on to the program (cli.md). */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/* Capabilities that cross the sandbox boundary (policy.md), dropped from
 * every set and from the bounding set when litebox runs as root. */
static const int dropped_caps[] = {
    CAP_SYS_ADMIN,
    CAP_SYS_PTRACE,
    CAP_SYS_MODULE,
    CAP_SYS_RAWIO,
    CAP_SYS_BOOT,
    CAP_NET_ADMIN,
    CAP_NET_RAW,
    CAP_DAC_READ_SEARCH,
    CAP_MKNOD,
    CAP_SYS_TIME,
    CAP_BPF,
    CAP_PERFMON,
    CAP_SETPCAP,
    CAP_SYS_RESOURCE,
    CAP_SYS_CHROOT,
    CAP_MAC_ADMIN,
    CAP_MAC_OVERRIDE,
    CAP_AUDIT_CONTROL,
    CAP_AUDIT_WRITE,
    CAP_SYSLOG,
    CAP_LINUX_IMMUTABLE,
    CAP_SYS_PACCT,
    CAP_SYS_TTY_CONFIG,
    CAP_WAKE_ALARM,
    CAP_BLOCK_SUSPEND,
    CAP_IPC_OWNER,
    CAP_CHECKPOINT_RESTORE,
    CAP_AUDIT_READ,
    CAP_SETFCAP,
    CAP_SYS_NICE, /* SCHED_FIFO 99 and priorities past RLIMIT_RTPRIO: the host starves */
    CAP_IPC_LOCK, /* mlock past RLIMIT_MEMLOCK */
    CAP_LEASE,
    CAP_FSETID, /* the kernel then clears setuid/setgid when root rewrites such a file */
};

static void send_msg(int fd, int type, int value, int stage)
{
	struct msg m = {type, value, stage};
	ssize_t n;
	do
		n = write(fd, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
}

static int write_file(const char *path, const char *text);

/* ---- inside the sandbox ----------------------------------------------------- */

static bool is_dropped_cap(int cap)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(dropped_caps); i++)
		if (dropped_caps[i] == cap)
			return true;
	return false;
}

/* Without CAP_SETPCAP (root in a pod that dropped it, a litebox inside a
 * litebox) the bounding set cannot be changed. It only bounds what an
 * exec may grant, and NO_NEW_PRIVS (set next, before any exec) already
 * keeps an exec from granting anything beyond the permitted set, which
 * capset empties of the dropped capabilities without any privilege. So
 * the bounding set is narrowed where we may, and what counts is checked
 * afterwards: no dropped capability left in any set. */
static int drop_capabilities(int *stage)
{
	*stage = STAGE_CAPS;
	for (size_t i = 0; i < LB_ARRAY_SIZE(dropped_caps); i++)
		if (prctl(PR_CAPBSET_DROP, dropped_caps[i], 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM)
			return -errno;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (size_t i = 0; i < LB_ARRAY_SIZE(dropped_caps); i++) {
		int cap = dropped_caps[i];
		uint32_t bit = 1u << (cap % 32);
		data[cap / 32].effective &= ~bit;
		data[cap / 32].permitted &= ~bit;
		data[cap / 32].inheritable &= ~bit;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	*stage = STAGE_CAPS_LEFT;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (int cap = 0; cap < 64; cap++) {
		uint32_t bit = 1u << (cap % 32);
		if (is_dropped_cap(cap) &&
		    ((data[cap / 32].permitted | data[cap / 32].inheritable) & bit))
			return -EPERM;
	}
	return 0;
}

static void set_limit(int resource, uint64_t value)
{
	if (value == 0)
		return;
	struct rlimit rl = {.rlim_cur = value, .rlim_max = value};
	(void)setrlimit(resource, &rl);
}

static void apply_limits(const struct lb_limits *l, bool in_pids_cgroup)
{
	if (!l)
		return;
	if (!in_pids_cgroup)
		set_limit(RLIMIT_NPROC, l->procs);
	set_limit(RLIMIT_AS, l->memory);
	set_limit(RLIMIT_NOFILE, l->files);
	set_limit(RLIMIT_CPU, l->cpu_s);
	set_limit(RLIMIT_FSIZE, l->fsize);
}

/* The signals litebox was started with ignored, and its signal mask.
 * execve keeps both, and programs rely on it (nohup, `trap '' HUP`, a
 * shell's background jobs with SIGINT and SIGQUIT ignored, a CI runner
 * that ignores SIGPIPE), so the program starts with them as it would have
 * natively. Taken once, before litebox changes its own (a nested domain,
 * served from inside a run, gets the run's). */
static struct {
	bool taken;
	sigset_t ignored, mask;
} start_signals;

static void take_start_signals(void)
{
	if (start_signals.taken)
		return;
	sigemptyset(&start_signals.ignored);
	sigprocmask(SIG_BLOCK, NULL, &start_signals.mask);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
		    sa.sa_handler == SIG_IGN)
			sigaddset(&start_signals.ignored, sig);
	}
	start_signals.taken = true;
}

static bool ignored_at_start(int sig)
{
	return start_signals.taken && sigismember(&start_signals.ignored, sig) == 1;
}

/* The program's dispositions and mask: litebox's handlers never, what
 * litebox was started with ignored or blocked, as execve would pass on. */
static void reset_signals(void)
{
	for (int s = 1; s < NSIG; s++)
		signal(s, ignored_at_start(s) ? SIG_IGN : SIG_DFL);
	sigset_t mask;
	if (start_signals.taken)
		mask = start_signals.mask;
	else
		sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
}

static char wait_byte(int fd)
{
	char c;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(125); /* the supervisor is gone */
	return c;
}

static __attribute__((noreturn)) void exec_program(const struct lb_launch_config *cfg,
						   const struct lb_prepared *prep,
						   char *const *argv, int report,
						   bool in_pids_cgroup)
{
	/* A nested domain: the enclosing sandbox's limits too (without
	 * CAP_SYS_RESOURCE a hard limit only goes down: the lower holds). */
	if (cfg->join)
		apply_limits(cfg->join->limits, in_pids_cgroup);
	apply_limits(cfg->limits, in_pids_cgroup);
	reset_signals();
	if (cfg->platform->before_exec) {
		int rc = cfg->platform->before_exec(prep);
		if (rc < 0) {
			send_msg(report, MSG_SETUP_ERRNO, -rc, STAGE_NONE);
			_exit(125);
		}
	}
	execve(cfg->exec_path, argv, cfg->envp);
	send_msg(report, MSG_EXEC_ERRNO, errno, STAGE_NONE);
	_exit(127);
}

/* Init: reap everything, forward signals that came from outside the
 * namespace, report the program's status, exit (which kills the rest). */
static __attribute__((noreturn)) void init_loop(pid_t program, int report)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < LB_ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			/* si_pid 0: sent from the parent namespace (litebox). A
			 * terminal's SIGINT reaches the program directly. */
			if (si.si_code == SI_USER && si.si_pid == 0)
				kill(program, sig);
			continue;
		}
		int status;
		pid_t p;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p == program) {
				send_msg(report, MSG_STATUS, status, STAGE_NONE);
				_exit(0);
			}
		}
	}
}

/* ---- init shows nothing of litebox ------------------------------------------ */

/* Init is a fork of litebox that never exec'd: its /proc/PID/cmdline and
 * environ would show litebox's own argv and environment (a token given to
 * litebox and cleared from the program's environment with `env clear`),
 * its fds litebox's files, its memory litebox's heap. So init overwrites
 * its argv and environment areas, keeps no descriptor but its two pipes
 * and 0-2, leaves litebox's cwd once the program has it, and becomes
 * non-dumpable (memory, fds, cwd, environ then need CAP_SYS_PTRACE over
 * it, which nothing in the sandbox has). */

/* arg_start, arg_end, env_start, env_end: fields 48-51 of /proc/self/stat. */
static int own_areas(unsigned long v[4])
{
	char buf[4096];
	lb_autoclose int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	for (int field = 3; field < 48; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EIO;
	}
	for (int i = 0; i < 4; i++) {
		char *end;
		v[i] = strtoul(p, &end, 10);
		if (end == p)
			return -EIO;
		p = end;
	}
	return v[0] <= v[1] && v[2] <= v[3] ? 0 : -EIO;
}

static char **copy_argv(char *const *argv)
{
	size_t n = 0;
	while (argv[n])
		n++;
	char **v = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = strdup(argv[i])))
			return NULL;
	return v;
}

/* Close every fd from 3 up except those in keep (n at most 3, -1 ignored). */
static void close_all_but(const int *keep, size_t n)
{
	int k[3];
	size_t m = 0;
	for (size_t i = 0; i < n && m < LB_ARRAY_SIZE(k); i++)
		if (keep[i] >= 3)
			k[m++] = keep[i];
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
			int t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	unsigned from = 3;
	for (size_t i = 0; i < m; i++) {
		if ((unsigned)k[i] > from)
			syscall(SYS_close_range, from, (unsigned)k[i] - 1, 0);
		from = (unsigned)k[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/* The program's argv is copied first: it points into the area wiped. */
static int scrub_init(const struct lb_launch_config *cfg, const struct lb_prepared *prep,
		      char ***argv, int report, int go)
{
	unsigned long a[4];
	*argv = copy_argv(cfg->argv);
	if (!*argv)
		return -ENOMEM;
	int rc = own_areas(a);
	if (rc < 0)
		return rc;
	memset((void *)a[0], 0, a[1] - a[0]);
	memset((void *)a[2], 0, a[3] - a[2]);
	int keep[] = {report, go, cfg->platform->child_fd ? cfg->platform->child_fd(prep) : -1};
	close_all_but(keep, LB_ARRAY_SIZE(keep));
	return 0;
}

/* The sandbox's own /proc: init moves into a mount namespace of its own
 * (a slave of litebox's, so mounts made on the host still appear) and
 * mounts a proc of the sandbox's pid namespace on /proc, so /proc/PID is
 * numbered as the program numbers pids and lists only the sandbox. The
 * supervisor resolves every path in this namespace (lib/core.c). Best
 * effort: where it cannot be mounted (a /proc with masked entries in a
 * container) the host's stays and the supervisor hides foreign pids. */
static bool mount_own_proc(void)
{
	if (getpid() != 1 || unshare(CLONE_NEWNS) < 0)
		return false;
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return false; /* mounts made here would reach the host's namespace */
	(void)mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	return true;
}

static __attribute__((noreturn)) void setup_failed(int report, int err, int stage)
{
	send_msg(report, MSG_SETUP_ERRNO, err, stage);
	_exit(125);
}

static __attribute__((noreturn)) void
sandbox_init(const struct lb_launch_config *cfg, const struct lb_prepared *prep, int report, int go)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* uid/gid maps written, pids cgroup joined ('c'); fails if litebox died */
	bool in_pids_cgroup = wait_byte(go) == 'c';

	/* memfds are on an internal mount Landlock does not see: forbid
	 * executing them in the sandbox's pid namespace (the sysctl is per
	 * pid namespace, 6.3+), so no race can exec a memfd copy. Needs
	 * CAP_SYS_ADMIN, so before the capabilities go. */
	if (getpid() == 1 && write_file("/proc/sys/vm/memfd_noexec", "2") < 0) {
		/* older kernels: docs/security.md says what remains */
	}
	bool own_ns = mount_own_proc(); /* needs CAP_SYS_ADMIN too */
	/* fast mediation: the filter leaves the stat family to the kernel,
	 * so the program must never run outside the view */
	if (cfg->view) {
		int vrc = own_ns ? lb_view_enter(cfg->view) : -ENOTSUP;
		if (vrc < 0)
			setup_failed(report, -vrc, STAGE_VIEW);
	}
	/* --overlay: fail closed, never run on the host's files instead */
	if (cfg->overlay) {
		int orc = own_ns ? lb_overlay_enter(cfg->overlay) : -ENOTSUP;
		if (orc < 0)
			setup_failed(report, -orc, STAGE_OVERLAY);
	}
	char **argv = NULL;
	int rc = scrub_init(cfg, prep, &argv, report, go);
	if (rc < 0)
		setup_failed(report, -rc, STAGE_MEMORY);
	/* As root, and in a user namespace we created (where init holds every
	 * capability of that namespace) alike. */
	int stage = STAGE_CAPS;
	rc = drop_capabilities(&stage);
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		stage = STAGE_NNP;
	}
	/* A nested domain: the enclosing sandbox's layer first, then its own
	 * (Landlock domains stack: both must allow). */
	if (rc == 0 && cfg->join && cfg->join->landlock_policy) {
		rc = lb_landlock_apply(cfg->join->landlock_policy, cfg->join->exec_paths,
				       cfg->join->n_exec_paths);
		stage = STAGE_LANDLOCK;
	}
	if (rc == 0 && cfg->landlock_policy) {
		rc = lb_landlock_apply(cfg->landlock_policy, cfg->exec_paths, cfg->n_exec_paths);
		stage = STAGE_LANDLOCK;
	}
	/* The program's umask, set before the filter: umask is a trapped
	 * call, and on the ptrace platform a trapped call made before the
	 * tracer holds the process fails with ENOSYS (the program then ran
	 * with the supervisor's umask 0). The program inherits it. */
	umask(cfg->umask);
	if (rc == 0) {
		rc = cfg->platform->install(prep);
		stage = STAGE_FILTER;
	}
	if (rc < 0)
		setup_failed(report, -rc, stage);
	int listener = rc;
	send_msg(report, MSG_LISTENER, listener, STAGE_NONE);
	wait_byte(go); /* the supervisor holds the listener and serves */
	close(listener);
	close(go);

	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	pid_t program = fork();
	if (program < 0)
		setup_failed(report, errno, STAGE_FORK);
	if (program == 0)
		exec_program(cfg, prep, argv, report, in_pids_cgroup);
	/* Only now: the supervisor reads the program's memory up to its exec
	 * (a non-dumpable parent would make the child non-dumpable too). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int ignored = chdir("/"); /* litebox's cwd: the program has its own now */
	(void)ignored;
	init_loop(program, report);
}

/* ---- the supervisor side ---------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	lb_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	return write(fd, text, len) == (ssize_t)len ? 0 : -errno;
}

/* Map ids into the user namespace we created: the caller's own uid and
 * gid (not root), or every id to itself (root that fell back to a user
 * namespace, so files keep their owners and root stays root). */
static int map_ids(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], line[64];
	int rc;
	if (uid == 0) {
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		if ((rc = write_file(path, "0 0 4294967295\n")) == 0) {
			snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
			if ((rc = write_file(path, "0 0 4294967295\n")) == 0)
				return 0;
		}
		/* without CAP_SETUID/CAP_SETGID: ourselves only, as below */
	}
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	rc = write_file(path, "deny");
	if (rc < 0 && rc != -ENOENT)
		return rc;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	snprintf(line, sizeof(line), "%u %u 1\n", uid, uid);
	if ((rc = write_file(path, line)) < 0)
		return rc;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	snprintf(line, sizeof(line), "%u %u 1\n", gid, gid);
	return write_file(path, line);
}

/* ---- errors that say what failed, why, and what to do ------------------ */

static void explain(struct lb_launch_result *res, int rc, const char *what, const char *fix)
{
	if (res->error[0])
		return; /* the first cause is the one that matters */
	snprintf(res->error, sizeof(res->error), "%s: %s%s%s", what, strerror(rc < 0 ? -rc : rc),
		 fix ? "; " : "", fix ? fix : "");
}

static void explain_setup_failure(struct lb_launch_result *res, int err, int stage)
{
	switch (stage) {
	case STAGE_CAPS:
	case STAGE_CAPS_LEFT:
		explain(res, err,
			stage == STAGE_CAPS ? "cannot drop the sandbox's capabilities"
					    : "capabilities that cross the sandbox boundary "
					      "(CAP_SYS_ADMIN, CAP_NET_ADMIN, ...) could not be "
					      "dropped",
			"litebox needs CAP_SETPCAP (or user namespaces, to get it in one) to "
			"run as root: keep CAP_SETPCAP in the bounding set, or allow user "
			"namespaces (user.max_user_namespaces > 0)");
		return;
	case STAGE_NNP:
		explain(res, err, "cannot set no_new_privs", NULL);
		return;
	case STAGE_LANDLOCK:
		explain(res, err, "cannot apply the Landlock layer",
			"Landlock (Linux 5.13+) must be enabled: add 'landlock' to the lsm= "
			"kernel parameter");
		return;
	case STAGE_FILTER:
		explain(res, err, "cannot install the seccomp filter",
			err == EINVAL || err == ENOSYS
			    ? "seccomp user notification with ADDFD needs Linux 5.14+"
			    : "another seccomp filter or a container runtime may forbid it");
		return;
	case STAGE_MEMORY:
		explain(res, err, "cannot prepare the sandbox's init process", NULL);
		return;
	case STAGE_VIEW:
		explain(res, err,
			"set mediation fast: cannot build the sandbox's view of the files",
			"it needs a mount namespace and a /proc of the sandbox's own (user "
			"namespaces without root); use 'set mediation exact'");
		return;
	default:
		explain(res, err, "cannot start the program's process", NULL);
	}
}

/* Fail closed: without Landlock nothing closes the window between the
 * supervisor's judgement of an execve and the kernel's own lookup. */
static int check_landlock(const struct lb_launch_config *cfg, struct lb_launch_result *res)
{
	if (!cfg->landlock_policy)
		return 0;
	int abi = lb_landlock_abi();
	res->landlock = abi >= 1;
	if (abi >= 1)
		return 0;
	explain(res, -ENOTSUP,
		"Landlock is not available, and without it a program could race litebox's "
		"exec check",
		"use Linux 5.13+ with Landlock enabled (add 'landlock' to the lsm= kernel "
		"parameter, or CONFIG_LSM)");
	return -ENOTSUP;
}

/* ---- limit procs: a pids cgroup for the sandbox --------------------------- */

/* RLIMIT_NPROC counts all processes of the user and does not bind root:
 * `limit procs` is a pids cgroup holding just the sandbox (cgroup v2, or
 * the v1 pids hierarchy). */
static bool has_pids(const char *file)
{
	char buf[512] = "";
	lb_autofclose FILE *f = fopen(file, "re");
	return f && fgets(buf, sizeof(buf), f) && strstr(buf, "pids");
}

/* cgroup v2: a child gets pids.max only when its parent's
 * cgroup.subtree_control has pids, and a cgroup with processes (ours,
 * usually: a session scope) cannot enable it. So the sandbox's cgroup is
 * made under the nearest ancestor that delegates pids, else under the
 * root, where root may enable it (the root is exempt from that rule). */
static int v2_pids_parent(const char *mnt, const char *own, char *root, size_t len)
{
	char dir[4096], file[8300];
	snprintf(dir, sizeof(dir), "%s", own);
	for (;;) {
		snprintf(file, sizeof(file), "%s%s/cgroup.subtree_control", mnt,
			 strcmp(dir, "/") ? dir : "");
		if (has_pids(file)) {
			const char *rest = strcmp(dir, "/") ? dir : "";
			size_t lm = strlen(mnt), lr = strlen(rest);
			if (lm + lr + 1 > len)
				return -ENAMETOOLONG;
			memcpy(root, mnt, lm);
			memcpy(root + lm, rest, lr + 1);
			return 0;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	snprintf(file, sizeof(file), "%s/cgroup.subtree_control", mnt);
	if (write_file(file, "+pids") < 0)
		return -ENOTSUP;
	snprintf(root, len, "%s", mnt);
	return 0;
}

static int pids_hierarchy(char *root, size_t len, bool *v2)
{
	char line[4096];
	lb_autofclose FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *ctrl = strchr(line, ':');
		char *path = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		ctrl++;
		struct stat st;
		if (strcmp(ctrl, "pids") == 0 &&
		    stat("/sys/fs/cgroup/pids/cgroup.procs", &st) == 0) {
			snprintf(root, len, "/sys/fs/cgroup/pids%s", path);
			*v2 = false;
			return 0;
		}
		if (ctrl[0] == '\0' && strncmp(line, "0", 1) == 0) {
			const char *mnt = stat("/sys/fs/cgroup/unified/cgroup.procs", &st) == 0
					      ? "/sys/fs/cgroup/unified"
					      : "/sys/fs/cgroup";
			if (v2_pids_parent(mnt, path, root, len) == 0) {
				*v2 = true;
				return 0;
			}
		}
	}
	return -ENOTSUP;
}

static int pids_cgroup_create(pid_t init, uint64_t max, char *dir, size_t len)
{
	char root[4096], file[4300], text[64];
	bool v2 = false;
	int rc = pids_hierarchy(root, sizeof(root), &v2);
	if (rc < 0)
		return rc;
	snprintf(dir, len, "%s/litebox.%d", strcmp(root, "/") ? root : "", (int)getpid());
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(file, sizeof(file), "%s/pids.max", dir);
	snprintf(text, sizeof(text), "%llu", (unsigned long long)max);
	if ((rc = write_file(file, text)) < 0)
		return rc;
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	snprintf(text, sizeof(text), "%d", (int)init);
	return write_file(file, text);
}

struct supervisor {
	const struct lb_launch_config *cfg;
	struct lb_launch_result *res;
	pid_t init;
	int report, go, sigfd, timerfd;
	struct lb_platform *platform;
	const struct lb_prepared *prep;
	bool got_status;
	char cgroup[4200];
	pid_t helper; /* serves nested domains (lib/nest.c) */
	int nest_fd;
	int ctl; /* a nested domain: the inner litebox's control socket */
	/* LITEBOX_TEST_SELF_VIOLATION: a forbidden call for the tests */
	const char *probe;
};

static bool has_effective_cap(int cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* The namespaces to try, best first. A PID namespace (nothing outlives
 * the run, litebox has no pid in it) and an IPC namespace (System V IPC
 * and POSIX message queues of the sandbox's own). Root needs
 * CAP_SYS_ADMIN for them and CAP_SETPCAP to narrow the bounding set;
 * without them (a pod that dropped them, litebox inside litebox) a user
 * namespace gives init both, as it does for everyone else. Last resort:
 * no namespace (the filter, the supervisor and Landlock still apply). */
static size_t ns_attempts(unsigned long *out)
{
	const unsigned long ns = CLONE_NEWPID | CLONE_NEWIPC;
	size_t n = 0;
	if (geteuid() == 0 && has_effective_cap(CAP_SYS_ADMIN) && has_effective_cap(CAP_SETPCAP))
		out[n++] = ns;
	out[n++] = ns | CLONE_NEWUSER;
	out[n++] = 0;
	return n;
}

/* A nested domain's init: pid 1 of a new PID namespace beneath the
 * enclosing sandbox's, inside its user, mount and IPC namespaces, in the
 * inner litebox's cwd and the enclosing pids cgroup, and a child of ours
 * (we wait for it and take its listener, as for our own init). The
 * kernel refuses CLONE_NEWPID to a process that joined a PID namespace
 * with setns, so: a throwaway joiner (setns of a user namespace needs a
 * single-threaded caller, and litebox itself stays where it is, reading
 * /proc as its own PID namespace numbers it) makes a member of the
 * enclosing namespace our child (CLONE_PARENT), which clones init our
 * child again and hands us a pidfd of it. */
enum { JOIN_MEMBER = 1, JOIN_INIT };

static __attribute__((noreturn)) void
join_member(struct supervisor *s, const struct lb_prepared *prep, int report_w, int go_r, int sock)
{
	int pidfd = -1;
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_PARENT | CLONE_PIDFD | SIGCHLD,
				   0, &pidfd, NULL, 0);
	if (pid == 0) {
		close(sock);
		close(s->report);
		close(s->go);
		sandbox_init(s->cfg, prep, report_w, go_r);
	}
	int32_t m[2] = {JOIN_INIT, pid < 0 ? errno : 0};
	_exit(lb_nest_send(sock, m, sizeof(m), &pidfd, pid < 0 ? 0 : 1) == 0 ? 0 : 1);
}

static int join_namespaces(const struct lb_nest_join *j)
{
	/* The caller's namespaces (those of the outer sandbox, where it runs):
	 * joining needs ptrace-read access to the process named, which a
	 * non-root litebox has over the caller but not over its own init
	 * once that is no longer dumpable. */
	lb_autoclose int own = j->caller < 0 ? (int)syscall(SYS_pidfd_open, j->init, 0) : -1;
	int pidfd = j->caller >= 0 ? j->caller : own;
	int flags = CLONE_NEWNS | CLONE_NEWPID | (j->userns ? CLONE_NEWUSER : 0) |
		    (j->ipcns ? CLONE_NEWIPC : 0);
	if (pidfd < 0 || setns(pidfd, flags) < 0 || fchdir(j->cwd) < 0)
		return -errno;
	if (j->cgroup && j->cgroup[0]) {
		char file[4300];
		snprintf(file, sizeof(file), "%s/cgroup.procs", j->cgroup);
		return write_file(file, "0");
	}
	return 0;
}

static __attribute__((noreturn)) void
joiner_main(struct supervisor *s, const struct lb_prepared *prep, int report_w, int go_r, int sock)
{
	int rc = join_namespaces(s->cfg->join);
	pid_t member =
	    rc < 0 ? -1 : (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (member == 0)
		join_member(s, prep, report_w, go_r, sock);
	int32_t m[2] = {JOIN_MEMBER, rc < 0 ? rc : member < 0 ? -errno : member};
	(void)lb_nest_send(sock, m, sizeof(m), NULL, 0);
	_exit(0);
}

/* The pid a pidfd refers to, as our PID namespace numbers it. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	lb_autofclose FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Pid:", 4) == 0)
			return (pid_t)strtol(line + 4, NULL, 10);
	return -1;
}

static pid_t join_init(struct supervisor *s, const struct lb_prepared *prep, int report_w, int go_r)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	pid_t joiner = fork();
	if (joiner == 0) {
		close(sp[0]);
		joiner_main(s, prep, report_w, go_r, sp[1]);
	}
	close(sp[1]);
	/* two messages: the member's pid from the joiner, init's pidfd from
	 * the member (or an error from either) */
	pid_t member = -1, pid = -1;
	int err = EIO;
	for (int got = 0; joiner > 0 && got < 2; got++) {
		int32_t m[2];
		int fds[5];
		size_t n_fds = 0;
		if (lb_nest_recv(sp[0], m, sizeof(m), fds, &n_fds) != sizeof(m))
			break;
		if (m[0] == JOIN_MEMBER && m[1] > 0)
			member = m[1];
		else if (m[0] == JOIN_INIT && m[1] == 0 && n_fds == 1)
			pid = pidfd_pid(fds[0]);
		else
			err = m[1] < 0 ? -m[1] : m[1] ? m[1] : EIO;
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		if (m[0] == JOIN_MEMBER && m[1] <= 0)
			break;
	}
	close(sp[0]);
	if (joiner > 0)
		waitpid(joiner, NULL, 0);
	if (member > 0)
		waitpid(member, NULL, __WALL);
	if (pid <= 0) {
		errno = err;
		return -1;
	}
	s->res->pidns = true;
	s->res->ipcns = s->cfg->join->ipcns;
	s->res->userns = false;
	return pid;
}

static pid_t clone_init(struct supervisor *s, const struct lb_prepared *prep, int report_w,
			int go_r)
{
	if (s->cfg->join)
		return join_init(s, prep, report_w, go_r);
	unsigned long attempts[3];
	size_t n = ns_attempts(attempts);
	pid_t pid = -1;
	for (size_t i = 0; i < n; i++) {
		pid = (pid_t)syscall(SYS_clone, attempts[i] | SIGCHLD, 0, NULL, NULL, 0);
		if (pid >= 0) {
			s->res->pidns = attempts[i] & CLONE_NEWPID;
			s->res->ipcns = attempts[i] & CLONE_NEWIPC;
			s->res->userns = attempts[i] & CLONE_NEWUSER;
			break;
		}
		if (errno != EPERM && errno != EINVAL && errno != ENOSPC && errno != EUSERS)
			break;
	}
	if (pid == 0) {
		close(s->report);
		close(s->go);
		sandbox_init(s->cfg, prep, report_w, go_r);
	}
	return pid;
}

static int read_msg(int fd, struct msg *m)
{
	ssize_t n;
	do
		n = read(fd, m, sizeof(*m));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -EPIPE;
	return n == sizeof(*m) ? 0 : -EIO;
}

static int start_serving(struct supervisor *s)
{
	struct msg m;
	int rc = read_msg(s->report, &m);
	if (rc < 0)
		return -ECHILD;
	if (m.type == MSG_SETUP_ERRNO && m.stage == STAGE_OVERLAY) {
		const char *why = lb_overlay_error(s->cfg->overlay);
		snprintf(s->res->error, sizeof(s->res->error), "--overlay: %s%s",
			 why ? why : "no mount namespace of the sandbox's own could be made for it",
			 "; overlayfs must be available (Linux 5.11+ without root), and a run "
			 "without root needs user namespaces");
		return -m.value;
	}
	if (m.type == MSG_SETUP_ERRNO) {
		explain_setup_failure(s->res, m.value, m.stage);
		return -m.value;
	}
	if (m.type != MSG_LISTENER)
		return -EPROTO;
	rc = s->cfg->platform->attach(s->prep, s->init, m.value, &s->platform);
	if (rc < 0) {
		explain(s->res, rc, "cannot take the seccomp listener from the sandbox",
			"pidfd_getfd needs Linux 5.6+ and ptrace rights over the child (a "
			"Yama ptrace_scope of 3 forbids them)");
		return rc;
	}
	lb_core_set_sandbox(s->cfg->core, s->init);
	rc = s->cfg->platform->serve(s->platform, lb_core_handle, s->cfg->core);
	if (rc < 0)
		return rc;
	return write(s->go, "a", 1) == 1 ? 0 : -EPIPE;
}

/* What the nested-domain helper keeps: the program's capabilities (a
 * domain's supervisor acts with them) and what starting a domain takes:
 * CAP_SYS_ADMIN and CAP_SYS_CHROOT (joining the sandbox's mount, PID and
 * IPC namespaces, a PID namespace of its own, mounting its /proc),
 * CAP_SYS_PTRACE (a pidfd of the caller to join through, pidfd_getfd of
 * its descriptors), CAP_SETPCAP (init' narrows its bounding set). */
static uint64_t helper_caps(void)
{
	uint64_t keep = ~0ull;
	for (size_t i = 0; i < LB_ARRAY_SIZE(dropped_caps); i++)
		keep &= ~(1ull << dropped_caps[i]);
	return keep | 1ull << CAP_SYS_ADMIN | 1ull << CAP_SYS_CHROOT | 1ull << CAP_SYS_PTRACE |
	       1ull << CAP_SETPCAP;
}

/* Before the supervisor confines itself (it may not make namespaces or
 * join them afterwards): the helper that starts nested domains. Only on
 * the seccomp platform; the ptrace platform's tracer could not hand a
 * nested domain's tracees over (an inner litebox there is told so). */
static int start_nest_helper(struct supervisor *s)
{
	const struct lb_launch_config *cfg = s->cfg;
	if (!cfg->nest_host || strcmp(cfg->platform->name, "seccomp") != 0)
		return 0;
	static struct lb_nest_join base;
	base = (struct lb_nest_join){.init = s->init,
				     .userns = s->res->userns,
				     .ipcns = s->res->ipcns,
				     .cwd = -1,
				     .caller = -1,
				     .ctl = -1,
				     .cgroup = s->cgroup,
				     .landlock_policy = cfg->landlock_policy,
				     .exec_paths = cfg->exec_paths,
				     .n_exec_paths = cfg->n_exec_paths,
				     .limits = cfg->limits,
				     .helper_caps = helper_caps()};
	/* A nested domain inside a nested domain: the outermost layers too. */
	int fd = lb_nest_helper_start(cfg->nest_host, &base, &s->helper);
	if (fd < 0) {
		explain(s->res, fd, "cannot start the helper for nested sandboxes", NULL);
		return fd;
	}
	s->nest_fd = fd;
	lb_core_set_nest(cfg->core, fd);
	return 0;
}

/* Before serving, litebox gives up the capabilities it no longer uses:
 * its workers act with the program's, which are within what remains
 * (the complement of dropped_caps), and its own work on the callers
 * needs CAP_SYS_PTRACE (pidfd_getfd, process_vm_readv, /proc/TID of a
 * non-dumpable caller, PTRACE_SEIZE); CAP_SETUID/CAP_SETGID (the
 * per-thread credential switch) are the program's too. */
static int drop_own_capabilities(struct supervisor *s)
{
	uint64_t keep = ~0ull;
	for (size_t i = 0; i < LB_ARRAY_SIZE(dropped_caps); i++)
		keep &= ~(1ull << dropped_caps[i]);
	keep |= 1ull << CAP_SYS_PTRACE;
	int rc = lb_confine_caps(keep);
	if (rc < 0)
		explain(s->res, rc, "cannot drop litebox's own unused capabilities", NULL);
	return rc;
}

/* From here on the supervisor only serves: see lib/confine.c. */
static int confine(struct supervisor *s)
{
	int rc = lb_confine_supervisor(strcmp(s->cfg->platform->name, "ptrace") == 0);
	if (rc < 0)
		explain(s->res, rc, "cannot confine litebox's own threads with a seccomp filter",
			NULL);
	return rc;
}

static int arm_timeout(struct supervisor *s)
{
	if (!s->cfg->timeout_ms)
		return 0;
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (s->timerfd < 0)
		return -errno;
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(s->cfg->timeout_ms / 1000),
			 .tv_nsec = (long)(s->cfg->timeout_ms % 1000) * 1000000}};
	return timerfd_settime(s->timerfd, 0, &its, NULL) < 0 ? -errno : 0;
}

static void on_signal(struct supervisor *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		/* A terminal's signal already reached the program (same
		 * process group); one sent to litebox alone is passed on. */
		if (si.ssi_code == SI_KERNEL)
			continue;
		/* Ignored when litebox started (nohup): the program ignores it
		 * too, natively it would never have been told. */
		if (ignored_at_start((int)si.ssi_signo))
			continue;
		kill(s->init, (int)si.ssi_signo);
	}
}

/* A nested domain: the inner litebox passes its signals on; its end
 * closing (it died) ends the domain. */
static void on_ctl(struct supervisor *s)
{
	int32_t sig;
	ssize_t n = read(s->ctl, &sig, sizeof(sig));
	if (n < 0 && errno == EINTR)
		return;
	if (n == sizeof(sig) && sig > 0 && sig < NSIG && sig != SIGKILL && sig != SIGSTOP) {
		kill(s->init, sig);
		return;
	}
	if (n <= 0) {
		kill(s->init, SIGKILL);
		s->ctl = -1;
	}
}

static void on_report(struct supervisor *s)
{
	struct msg m;
	if (read_msg(s->report, &m) < 0) {
		close(s->report);
		s->report = -1;
		return;
	}
	if (m.type == MSG_STATUS) {
		s->res->wait_status = m.value;
		s->got_status = true;
	} else if (m.type == MSG_EXEC_ERRNO) {
		s->res->exec_errno = m.value;
	}
}

/* Wait for init; 0 when it is gone. */
static int supervise(struct supervisor *s)
{
	for (;;) {
		struct pollfd fds[4] = {
		    {.fd = s->sigfd, .events = POLLIN},
		    {.fd = s->report, .events = POLLIN},
		    {.fd = s->timerfd, .events = POLLIN},
		    {.fd = s->ctl, .events = POLLIN},
		};
		int n = poll(fds, 4, s->probe ? 100 : -1);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0 && s->probe && lb_confine_probe(s->probe) == 0)
			s->probe = NULL;
		if (fds[3].revents)
			on_ctl(s);
		if (fds[0].revents)
			on_signal(s);
		if (fds[1].revents)
			on_report(s);
		if (fds[2].revents) {
			s->res->timed_out = true;
			kill(s->init, SIGKILL);
			close(s->timerfd);
			s->timerfd = -1;
		}
		int status;
		pid_t p = waitpid(s->init, &status, WNOHANG);
		if (p == s->init) {
			while (s->report >= 0 && !s->got_status)
				on_report(s); /* drain what init wrote before exiting */
			/* Init died before reporting (killed from outside, or
			 * --timeout): the program died with it, by SIGKILL. */
			if (!s->got_status && !s->res->exec_errno)
				s->res->wait_status = WIFSIGNALED(status) ? status : SIGKILL;
			return 0;
		}
	}
}

static int block_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < LB_ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int lb_launch(const struct lb_launch_config *cfg, struct lb_launch_result *res)
{
	struct lb_prepared *prep = NULL;
	struct lb_filter_plan plan;
	int report_p[2] = {-1, -1}, go_p[2] = {-1, -1};
	sigset_t oldmask;
	struct supervisor s = {.cfg = cfg,
			       .res = res,
			       .init = -1,
			       .report = -1,
			       .go = -1,
			       .sigfd = -1,
			       .timerfd = -1,
			       .helper = -1,
			       .nest_fd = -1,
			       .ctl = cfg->join ? cfg->join->ctl : -1};

	memset(res, 0, sizeof(*res));
	int rc = check_landlock(cfg, res);
	if (rc < 0)
		return rc;
	rc = lb_core_filter_plan(cfg->core, &plan);
	if (rc == 0)
		rc = cfg->platform->prepare(&plan, &prep);
	if (rc == -ENOTSUP && strcmp(cfg->platform->name, "ptrace") == 0)
		explain(res, rc,
			"this policy lifts a refusal the ptrace platform depends on ('allow' or "
			"'audit syscall seccomp': a seccomp listener of the program's would answer "
			"before litebox; any rule for clone3: a child could leave the tracer)",
			"drop that rule (litebox refuses both by default), or run where the "
			"seccomp platform works");
	if (rc < 0) {
		explain(res, rc, "cannot build the kernel filter", NULL);
		return rc;
	}
	if (pipe2(report_p, O_CLOEXEC) < 0 || pipe2(go_p, O_CLOEXEC) < 0) {
		rc = -errno;
		goto close_pipes;
	}
	s.report = report_p[0];
	s.go = go_p[1];
	take_start_signals();
	/* Started with SIGCHLD ignored, the kernel would reap init and the
	 * tracees for us (and waitpid fail with ECHILD): litebox needs the
	 * default. The program still gets it ignored (reset_signals). */
	if (ignored_at_start(SIGCHLD))
		signal(SIGCHLD, SIG_DFL);
	if ((s.sigfd = block_signals(&oldmask)) < 0) {
		rc = s.sigfd;
		goto close_pipes;
	}
	/* Supervisor threads and the kernel never need our SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	s.prep = prep;
	s.init = clone_init(&s, prep, report_p[1], go_p[0]);
	if (s.init < 0) {
		rc = -errno;
		explain(res, rc, "cannot create the sandbox's init process", NULL);
		goto restore_signals;
	}
	close(report_p[1]);
	close(go_p[0]);
	report_p[1] = go_p[0] = -1;

	if (!res->pidns && cfg->landlock_policy && lb_landlock_abi() < 6) {
		rc = -ENOTSUP;
		explain(res, rc,
			"no PID namespace could be made here, and this kernel's Landlock (ABI < "
			"6) cannot scope signals: the program could signal your other processes",
			"allow user namespaces (user.max_user_namespaces > 0), run as root, or "
			"use Linux 6.12+");
		goto kill_init;
	}
	if (res->userns && (rc = map_ids(s.init, geteuid(), getegid())) < 0) {
		explain(res, rc, "cannot map user ids into the sandbox's user namespace",
			"a security module or the container may forbid writing /proc/PID/uid_map");
		goto kill_init;
	}
	/* The limit is in force before init forks the program. Without a
	 * pids cgroup it falls back to RLIMIT_NPROC, which root ignores:
	 * refuse to run rather than pretend. */
	if (cfg->limits && cfg->limits->procs &&
	    pids_cgroup_create(s.init, cfg->limits->procs + 1, s.cgroup, sizeof(s.cgroup)) < 0) {
		s.cgroup[0] = '\0';
		if (geteuid() == 0) {
			rc = -ENOTSUP;
			explain(
			    res, rc,
			    "'limit procs' needs a pids cgroup, which is not available here",
			    "mount cgroup v2 with the pids controller delegated, or drop 'limit "
			    "procs' from the policy");
			goto kill_init;
		}
	}
	if (write(s.go, s.cgroup[0] ? "c" : "g", 1) != 1) {
		rc = -EPIPE;
		goto kill_init;
	}
	s.probe = getenv("LITEBOX_TEST_SELF_VIOLATION");
	if ((rc = start_nest_helper(&s)) < 0 || (rc = drop_own_capabilities(&s)) < 0 ||
	    (rc = start_serving(&s)) < 0 || (rc = arm_timeout(&s)) < 0 || (rc = confine(&s)) < 0)
		goto kill_init;
	rc = supervise(&s);
	goto stop_platform;

kill_init:
	kill(s.init, SIGKILL);
	waitpid(s.init, NULL, 0);
stop_platform:
	if (s.platform) {
		cfg->platform->stop(s.platform);
		cfg->platform->destroy(s.platform);
	}
	/* before the caller closes the audit log its resolver writes to */
	lb_dns_stop(cfg->core);
	if (s.helper > 0) {
		kill(s.helper, SIGKILL);
		waitpid(s.helper, NULL, 0);
	}
	if (s.nest_fd >= 0) {
		lb_core_set_nest(cfg->core, -1);
		close(s.nest_fd);
	}
	if (s.timerfd >= 0)
		close(s.timerfd);
	if (s.cgroup[0])
		rmdir(s.cgroup); /* empty now: init and the namespace are gone */
restore_signals:
	close(s.sigfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (report_p[i] >= 0)
			close(report_p[i]);
		if (go_p[i] >= 0)
			close(go_p[i]);
	}
	cfg->platform->free_prepared(prep);
	return rc;
}
