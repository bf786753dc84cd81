/* SPDX-License-Identifier: MIT */
/* litebox confines itself. After start-up the supervisor only serves
 * trapped calls: it opens, stats, renames... as the program, copies memory
 * of sandbox processes, talks to the seccomp listener (or traces, on the
 * ptrace platform), writes the log, and at the end reports and exits. A
 * bug in a decoder must not turn into the host's problem, so once the
 * sandbox is launched every supervisor thread (TSYNC: the present ones;
 * the ones started later inherit it) runs under an allowlist: the calls
 * below, with their arguments checked where the call can reach beyond
 * what serving needs (threads only, no exec, no executable memory, only
 * the ioctls, ptrace requests, socket families and prctls litebox uses).
 * Anything else is fatal and loud: SIGSYS, caught to say which call and
 * to exit 125 (the sandbox dies with litebox, PDEATHSIG and EXITKILL).
 * The handler cannot be replaced or unset (rt_sigaction of SIGSYS is not
 * on the list), and a blocked SIGSYS makes the kernel kill outright.
 *
 * How the list was derived: the calls the workers perform for the program
 * (lib/syscalls.c, fs_ops.c, net_ops.c, memfd.c), the platforms' own, and
 * what the whole test suite makes the supervisor do on both platforms,
 * observed with a build that logs instead of trapping
 * (-Dc_args=-DLB_CONFINE_LOG, then the kernel's "type=1326" lines).
 * Whoever makes the supervisor call something new adds it here, with the
 * reason. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/fscrypt.h>
#include <linux/fsverity.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <termios.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"
#include "litebox/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Which platform a rule is for. */
enum { ANY = 0, SECCOMP_ONLY = 1, PTRACE_ONLY = 2 };

/* A call allowed outright (NONE), or when its argument `arg` masked with
 * `mask` equals `value` (EQ), and so does `arg2` with `mask2`/`value2`
 * (EQ2). Several rows of one call: any of them allows it. */
enum self_op { NONE, EQ, EQ2 };
struct self_call {
	const char *name;
	unsigned char platform;
	enum self_op op;
	unsigned arg;
	uint64_t mask, value;
	unsigned arg2;
	uint64_t mask2, value2;
};

#define CALL(n)                                                                                    \
	{                                                                                          \
		n, ANY, NONE, 0, 0, 0, 0, 0, 0                                                     \
	}
#define ARG_IS(n, a, v)                                                                            \
	{                                                                                          \
		n, ANY, EQ, a, ~0ull, (uint64_t)(v), 0, 0, 0                                       \
	}
#define ARG32_IS(n, a, v)                                                                          \
	{                                                                                          \
		n, ANY, EQ, a, 0xffffffffull, (uint64_t)(uint32_t)(v), 0, 0, 0                     \
	}
#define ARG_MASKED(n, a, m, v)                                                                     \
	{                                                                                          \
		n, ANY, EQ, a, (uint64_t)(m), (uint64_t)(v), 0, 0, 0                               \
	}
#define ARGS32_ARE(n, a, v, b, w)                                                                  \
	{                                                                                          \
		n, ANY, EQ2, a, 0xffffffffull, (uint64_t)(uint32_t)(v), b, 0xffffffffull,          \
		    (uint64_t)(uint32_t)(w)                                                        \
	}
#define PLATFORM_ARG32(n, p, a, v)                                                                 \
	{                                                                                          \
		n, p, EQ, a, 0xffffffffull, (uint64_t)(uint32_t)(v), 0, 0, 0                       \
	}
#define PLATFORM_ARG(n, p, a, v)                                                                   \
	{                                                                                          \
		n, p, EQ, a, ~0ull, (uint64_t)(v), 0, 0, 0                                         \
	}

/* Namespace flags: never part of a thread's clone. */
#define NS_FLAGS                                                                                   \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

static const struct self_call allowed[] = {
    /* memory, threads, signals, time: any C program's life */
    CALL("brk"),
    CALL("munmap"),
    CALL("mremap"),
    CALL("madvise"),
    /* no executable memory: a compromised supervisor gets no shellcode */
    ARG_MASKED("mmap", 2, PROT_EXEC, 0),
    ARG_MASKED("mprotect", 2, PROT_EXEC, 0),
    /* a thread, never a process or a namespace (pthread_create; clone3
     * answers ENOSYS below, so glibc uses clone, whose flags are seen) */
    ARG_MASKED("clone", 0, CLONE_THREAD | CLONE_VM | NS_FLAGS, CLONE_THREAD | CLONE_VM),
    CALL("set_robust_list"),
    CALL("rseq"),
    CALL("futex"),
    CALL("exit"),
    CALL("exit_group"),
    CALL("gettid"),
    CALL("getpid"),
    CALL("sched_yield"),
    CALL("sched_getaffinity"),
    /* no rt_sigaction: the handlers are in place, and SIGSYS's is this
     * file's */
    CALL("rt_sigprocmask"),
    CALL("rt_sigreturn"),
    CALL("sigaltstack"),
    CALL("restart_syscall"),
    CALL("clock_gettime"),
    CALL("clock_nanosleep"),
    CALL("nanosleep"),
    CALL("gettimeofday"),
    CALL("getrandom"),
    /* descriptors */
    CALL("read"),
    CALL("write"),
    CALL("readv"),
    CALL("writev"),
    CALL("pread64"),
    CALL("pwrite64"),
    CALL("lseek"),
    CALL("close"),
    CALL("close_range"),
    CALL("fcntl"),
    CALL("dup"),
    CALL("dup3"),
    CALL("poll"),
    CALL("ppoll"),
    CALL("fsync"),
    CALL("fdatasync"),
    /* the host operations a worker performs for the program (lib/fs_ops.c,
     * lib/net_ops.c, lib/memfd.c), on pinned directory fds */
    CALL("openat"),
    CALL("openat2"),
    CALL("open"),
    CALL("newfstatat"),
    CALL("fstat"),
    CALL("statx"),
    CALL("statfs"),
    CALL("fstatfs"),
    CALL("faccessat"),
    CALL("faccessat2"),
    CALL("readlinkat"),
    CALL("readlink"),
    CALL("getdents64"),
    CALL("mkdirat"),
    CALL("mknodat"),
    CALL("unlinkat"),
    CALL("renameat"),
    CALL("renameat2"),
    CALL("linkat"),
    CALL("symlinkat"),
    CALL("fchmodat"),
    CALL("fchmodat2"),
    CALL("fchmod"),
    CALL("fchownat"),
    CALL("fchown"),
    CALL("utimensat"),
    CALL("truncate"),
    CALL("ftruncate"),
    CALL("getxattr"),
    CALL("lgetxattr"),
    CALL("fgetxattr"),
    CALL("listxattr"),
    CALL("llistxattr"),
    CALL("flistxattr"),
    CALL("setxattr"),
    CALL("lsetxattr"),
    CALL("fsetxattr"),
    CALL("removexattr"),
    CALL("lremovexattr"),
    CALL("fremovexattr"),
    CALL("inotify_add_watch"),
    CALL("memfd_create"),
    CALL("fchdir"),
    CALL("umask"),
    /* their path forms: no more authority than the *at calls, and the code
     * after the run (--overlay's record and diff, --dry-run's clean-up, the
     * learned policy) uses libc's path calls */
    CALL("rmdir"),
    CALL("unlink"),
    CALL("mkdir"),
    CALL("rename"),
    CALL("chmod"),
    CALL("chown"),
    CALL("lchown"),
    CALL("access"),
    CALL("stat"),
    CALL("lstat"),
    CALL("link"),
    CALL("symlink"),
    CALL("utimes"),
    CALL("creat"),
    CALL("connect"),
    CALL("bind"),
    CALL("listen"),
    CALL("sendto"),
    CALL("sendmsg"),
    CALL("sendmmsg"),
    CALL("recvfrom"),
    CALL("recvmsg"),
    CALL("getsockname"),
    CALL("getsockopt"),
    CALL("getpeername"),
    /* sock_diag (which file a unix socket is bound to) */
    ARGS32_ARE("socket", 0, AF_NETLINK, 2, NETLINK_SOCK_DIAG),
    /* the mediated DNS resolver (lib/dns.c): its loopback listeners, the
     * connections the program makes to them, its queries upstream */
    ARG32_IS("socket", 0, AF_INET),
    ARG32_IS("socket", 0, AF_INET6),
    CALL("accept4"),
    ARGS32_ARE("setsockopt", 1, IPPROTO_IPV6, 2, IPV6_V6ONLY),
    /* the unix bind thread: its own cwd, then a Landlock domain */
    ARG_IS("unshare", 0, CLONE_FS),
    CALL("landlock_create_ruleset"),
    CALL("landlock_add_rule"),
    CALL("landlock_restrict_self"),
    ARG32_IS("prctl", 0, PR_SET_NO_NEW_PRIVS),
    ARG32_IS("prctl", 0, PR_CAPBSET_READ),
    /* acting as the program: per-thread ids and capabilities */
    CALL("capget"),
    CALL("capset"),
    /* a socket call with the program's real, effective and saved ids
     * (SO_PEERCRED, SCM_CREDENTIALS), this thread only: lb_creds_enter_sender */
    CALL("setresuid"),
    CALL("setresgid"),
    CALL("getresuid"),
    CALL("getresgid"),
    ARG32_IS("prctl", 0, PR_SET_KEEPCAPS),
    CALL("setgroups"),
    CALL("setfsuid"),
    CALL("setfsgid"),
    CALL("getuid"),
    CALL("geteuid"),
    CALL("getgid"),
    CALL("getegid"),
    CALL("getgroups"),
    /* the caller: its memory, descriptors, limits, signals */
    CALL("process_vm_readv"),
    CALL("process_vm_writev"),
    CALL("pidfd_open"),
    CALL("pidfd_getfd"),
    CALL("prlimit64"),
    CALL("kill"),
    CALL("tgkill"),
    CALL("pidfd_send_signal"), /* the mediated DNS's on-deny kill (dns.c) */
    /* the pty the program opened (/dev/ptmx), the terminal litebox runs on */
    /* the program's metadata ioctls, on its own file (lb_ioctl_rows) */
    ARG32_IS("ioctl", 1, FS_IOC_SETFLAGS),
    ARG32_IS("ioctl", 1, FS_IOC_FSSETXATTR),
    ARG32_IS("ioctl", 1, FS_IOC_SETVERSION),
    ARG32_IS("ioctl", 1, _IOW('f', 4, long)), /* EXT4_IOC_SETVERSION */
    ARG32_IS("ioctl", 1, FS_IOC_ENABLE_VERITY),
    ARG32_IS("ioctl", 1, FS_IOC_SET_ENCRYPTION_POLICY),
    ARG32_IS("ioctl", 1, TIOCGPTN),
    ARG32_IS("ioctl", 1, TCGETS),
    /* the launcher's main thread: signals, init's reports, the timeout,
     * the end of the run (cgroup removal, learned policy, summaries) */
    CALL("wait4"),
    CALL("waitid"),
    /* glibc's qsort of more than 1 KiB asks for the size of memory (the
     * --overlay record after a run that changed many files, learn) */
    CALL("sysinfo"),
    CALL("timerfd_create"),
    CALL("timerfd_settime"),
    /* the seccomp platform: the listener */
    PLATFORM_ARG32("ioctl", SECCOMP_ONLY, 1, SECCOMP_IOCTL_NOTIF_RECV),
    PLATFORM_ARG32("ioctl", SECCOMP_ONLY, 1, SECCOMP_IOCTL_NOTIF_SEND),
    PLATFORM_ARG32("ioctl", SECCOMP_ONLY, 1, SECCOMP_IOCTL_NOTIF_ID_VALID),
    PLATFORM_ARG32("ioctl", SECCOMP_ONLY, 1, SECCOMP_IOCTL_NOTIF_ADDFD),
    /* the ptrace platform: only the requests its tracer makes; no
     * PTRACE_ATTACH, no PEEK/POKE (memory goes through process_vm_*) */
    PLATFORM_ARG("ptrace", PTRACE_ONLY, 0, PTRACE_SEIZE),
    PLATFORM_ARG("ptrace", PTRACE_ONLY, 0, PTRACE_CONT),
    PLATFORM_ARG("ptrace", PTRACE_ONLY, 0, PTRACE_SYSCALL),
    PLATFORM_ARG("ptrace", PTRACE_ONLY, 0, PTRACE_LISTEN),
    PLATFORM_ARG("ptrace", PTRACE_ONLY, 0, PTRACE_GETREGS),
    PLATFORM_ARG("ptrace", PTRACE_ONLY, 0, PTRACE_SETREGS),
    PLATFORM_ARG("ptrace", PTRACE_ONLY, 0, PTRACE_GETEVENTMSG),
    PLATFORM_ARG("ptrace", PTRACE_ONLY, 0, PTRACE_GETSIGINFO),
    /* whether a FIFO's writer came, without taking its data (ptrace.c) */
    {"tee", PTRACE_ONLY, NONE, 0, 0, 0, 0, 0, 0},
    /* the tracer's wake while a worker holds a trap, to look for a fatal
     * signal pending for its caller (ptrace.c, watch_out) */
    {"timer_create", PTRACE_ONLY, NONE, 0, 0, 0, 0, 0, 0},
    {"timer_settime", PTRACE_ONLY, NONE, 0, 0, 0, 0, 0, 0},
    {"timer_delete", PTRACE_ONLY, NONE, 0, 0, 0, 0, 0, 0},
};

/* What glibc falls back from: answered, not fatal. */
static const struct {
	const char *name;
	int err;
} answered[] = {
    {"clone3", ENOSYS}, /* flags in memory: glibc then uses clone */
};

/* Names for the handler's message, resolved before the filter is on (the
 * handler may not allocate). */
static const char *names[512];

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char msg[320];
	int nr = si->si_syscall;
	const char *name =
	    nr >= 0 && (size_t)nr < LB_ARRAY_SIZE(names) && names[nr] ? names[nr] : "?";
	int n = snprintf(msg, sizeof(msg),
			 "litebox: internal error: the supervisor made system call %d (%s), which "
			 "its own filter forbids; stopping (the sandbox dies with it). If litebox "
			 "needs that call, lib/confine.c's list lacks it: please report this\n",
			 nr, name);
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(125);
}

/* The sanitizer runtimes make calls of their own: sanitizer builds (tests
 * only; releases are not built with sanitizers) add them. The symbolizer
 * of a report forks (clone, wait4), so a sanitizer build's supervisor can
 * make a process. LeakSanitizer's exit check, which ptraces from a cloned
 * task, is off in them (cmd/litebox.c), so ptrace keeps its rules: with
 * it allowed outright a forbidden request passed, and the test of it
 * waited for a run that was never stopped. */

static const char *const sanitizer_calls[] = {
    "clone",   "wait4",	   "prctl",    "getppid",   "sched_getaffinity",
    "mincore", "readlink", "open",     "getrlimit", "setrlimit",
    "msync",   "mmap",	   "mprotect",
};

static int add_call(scmp_filter_ctx ctx, const struct self_call *c)
{
	int nr = seccomp_syscall_resolve_name(c->name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* unknown to this libseccomp: nothing to allow */
	if (c->op == NONE)
		return seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, nr, 0);
	struct scmp_arg_cmp cmp[2] = {
	    {.arg = c->arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = c->mask, .datum_b = c->value},
	    {.arg = c->arg2, .op = SCMP_CMP_MASKED_EQ, .datum_a = c->mask2, .datum_b = c->value2}};
	return seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, nr, c->op == EQ2 ? 2 : 1, cmp);
}

static void resolve_names(void)
{
	for (size_t nr = 0; nr < LB_ARRAY_SIZE(names); nr++)
		if (!names[nr])
			names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, (int)nr);
}

/* The allowlist of the platform named, as a libseccomp context. */
static int build(scmp_filter_ctx ctx, bool ptrace_platform)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < LB_ARRAY_SIZE(allowed); i++) {
		const struct self_call *c = &allowed[i];
		if (c->platform == (ptrace_platform ? SECCOMP_ONLY : PTRACE_ONLY))
			continue;
		/* a call the sanitizer runtime needs outright gets no cond */
		bool plain = false;
		for (size_t j = 0; LB_SANITIZED && j < LB_ARRAY_SIZE(sanitizer_calls); j++)
			plain = plain || strcmp(sanitizer_calls[j], c->name) == 0;
		if (!plain)
			rc = add_call(ctx, c);
	}
	for (size_t j = 0; rc == 0 && LB_SANITIZED && j < LB_ARRAY_SIZE(sanitizer_calls); j++)
		rc = add_call(ctx, &(struct self_call){.name = sanitizer_calls[j], .op = NONE});
	for (size_t i = 0; rc == 0 && i < LB_ARRAY_SIZE(answered); i++) {
		int nr = seccomp_syscall_resolve_name(answered[i].name);
		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO((uint32_t)answered[i].err),
						    nr, 0);
	}
	return rc;
}

#ifdef LB_CONFINE_LOG
#define LB_CONFINE_DEFAULT SCMP_ACT_LOG /* deriving the list, never shipped */
#else
#define LB_CONFINE_DEFAULT SCMP_ACT_TRAP
#endif

int lb_confine_supervisor(bool ptrace_platform)
{
	resolve_names();
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	sigset_t sys;
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	scmp_filter_ctx ctx = seccomp_init(LB_CONFINE_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	/* TSYNC: every thread of the supervisor; NO_NEW_PRIVS so that a
	 * non-root litebox may install it (it never execs again anyway). */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	/* a binary tree of syscall numbers: a few comparisons per call */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	/* x32 and i386 entries are not on the list: the default action */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, LB_CONFINE_DEFAULT);
	if (rc == 0)
		rc = build(ctx, ptrace_platform);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

/* For the tests (tests/integration/test_boundary.py): once the file
 * named after the colon exists (the program made it), make from a
 * confined supervisor thread a call a compromised supervisor would want.
 * Returns -EAGAIN before that, and 0 only if the filter let it through. */
int lb_confine_probe(const char *spec)
{
	const char *trigger = strchr(spec, ':');
	if (!trigger || faccessat(AT_FDCWD, trigger + 1, F_OK, 0) < 0)
		return -EAGAIN;
	size_t n = (size_t)(trigger - spec);
	if (strncmp(spec, "exec", n) == 0) {
		char *const argv[] = {"true", NULL};
		execve("/bin/true", argv, argv + 1);
	} else if (strncmp(spec, "fork", n) == 0) {
		long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			_exit(0);
	} else if (strncmp(spec, "tiocsti", n) == 0) {
		char c = '#';
		(void)ioctl(STDIN_FILENO, TIOCSTI, &c);
	} else if (strncmp(spec, "poke", n) == 0) {
		(void)ptrace(PTRACE_POKEDATA, 0, NULL, NULL); /* pid 0: harmless if let through */
	} else if (strncmp(spec, "unlisted", n) == 0) {
		(void)syscall(SYS_syslog, 10, NULL, 0); /* SYSLOG_ACTION_SIZE_BUFFER */
	}
	return 0;
}

/* ---- capabilities ---------------------------------------------------------- */

/* Every thread drops what it does not keep from its own sets (capabilities
 * are per thread): the caller directly, the others from a signal handler
 * (LB_CAPS_SIGNAL, confine.h), as glibc does for setuid. */
static uint64_t caps_keep;
static bool caps_bounding; /* litebox may narrow its bounding set (CAP_SETPCAP) */
static atomic_int caps_done;

static void drop_own_caps(void)
{
	for (int cap = 0; cap < 64; cap++)
		if (!(caps_keep & (1ull << cap)))
			(void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); /* EINVAL past the last */
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &hdr, d) == 0) {
		for (int i = 0; i < 2; i++) {
			uint32_t k = (uint32_t)(caps_keep >> (32 * i));
			d[i].effective &= k;
			d[i].permitted &= k;
			d[i].inheritable &= k;
		}
		(void)syscall(SYS_capset, &hdr, d);
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

static void on_caps_signal(int sig)
{
	(void)sig;
	int saved = errno;
	drop_own_caps();
	atomic_fetch_add(&caps_done, 1);
	errno = saved;
}

/* A "CapPrm:" or "CapBnd:" value of a status text. */
static uint64_t status_caps(const char *status, const char *key)
{
	const char *l = strstr(status, key);
	return l ? strtoull(l + strlen(key), NULL, 16) : ~0ull;
}

/* Whether every thread of litebox holds nothing beyond keep; signals the
 * ones that still do. Returns how many were signalled, or -errno. */
static int signal_holders(pid_t self, int *pending)
{
	lb_autoclose int dfd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *dir = fdopendir(dfd);
	if (!dir)
		return -errno;
	dfd = -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		char p[64], buf[4096];
		snprintf(p, sizeof(p), "/proc/self/task/%d/status", (int)tid);
		lb_autoclose int fd = tid > 0 ? open(p, O_RDONLY | O_CLOEXEC) : -1;
		ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (len <= 0)
			continue; /* "." or a thread that left */
		buf[len] = '\0';
		uint64_t held = status_caps(buf, "\nCapPrm:\t") |
				(caps_bounding ? status_caps(buf, "\nCapBnd:\t") : 0);
		if (!(held & ~caps_keep))
			continue;
		if (tid == self)
			drop_own_caps();
		else if (syscall(SYS_tgkill, getpid(), tid, LB_CAPS_SIGNAL) == 0)
			n++;
	}
	closedir(dir);
	*pending = n;
	return 0;
}

int lb_confine_caps(uint64_t keep)
{
	caps_keep = keep;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	/* without CAP_SETPCAP (not root) the bounding set stays: it only
	 * bounds what an exec grants, and litebox cannot exec */
	caps_bounding = d[CAP_SETPCAP / 32].effective & (1u << (CAP_SETPCAP % 32));
	struct sigaction sa = {.sa_handler = on_caps_signal, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	if (sigaction(LB_CAPS_SIGNAL, &sa, NULL) < 0)
		return -errno;
	pid_t self = (pid_t)syscall(SYS_gettid);
	drop_own_caps();
	/* A thread started meanwhile by one that had not dropped yet holds
	 * them too: look again until none does. */
	for (int round = 0; round < 20; round++) {
		atomic_store(&caps_done, 0);
		int pending = 0;
		int rc = signal_holders(self, &pending);
		if (rc < 0)
			return rc;
		if (pending == 0)
			return 0;
		for (int t = 0; t < 1000 && atomic_load(&caps_done) < pending; t++)
			usleep(1000);
	}
	return -EPERM;
}
