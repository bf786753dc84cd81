/* Attempts of the "reaching out" class of threats.md, one mode per run.
 * Every attempt prints one line "NAME ret=R errno=ENAME"; the test judges
 * the lines (and compares with a native run where that is harmless).
 * Lines named "control_*" are positive controls: ordinary system calls of
 * the same program that must keep working under litebox. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void report(const char *name, long ret, int err)
{
	printf("%s ret=%ld errno=%s\n", name, ret,
	       ret < 0 ? (strerrorname_np(err) ? strerrorname_np(err) : "?") : "0");
	fflush(stdout);
}

#define TRY(name, expr)                                                                            \
	do {                                                                                       \
		errno = 0;                                                                         \
		long r_ = (long)(expr);                                                            \
		report(name, r_, errno);                                                           \
	} while (0)

static pid_t sleeper(void)
{
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	return c;
}

static void reap(pid_t c)
{
	int st;
	kill(c, SIGKILL);
	while (waitpid(c, &st, 0) == c && !WIFEXITED(st) && !WIFSIGNALED(st))
		;
}

static void control_basic(void)
{
	/* getpid, open/write/read of a pipe: plain calls of the same program. */
	int p[2];
	char c = 0;
	long ok = getpid() > 0 && pipe(p) == 0 && write(p[1], "x", 1) == 1 &&
		  read(p[0], &c, 1) == 1 && c == 'x';
	report("control_basic", ok ? 0 : -1, errno);
}

static int do_ptrace(void)
{
	pid_t c = sleeper();
	TRY("control_fork", c);
	if (c > 0) {
		errno = 0;
		long r = ptrace(PTRACE_ATTACH, c, 0, 0);
		report("ptrace_attach", r, errno);
		if (r == 0) {
			waitpid(c, NULL, __WALL);
			ptrace(PTRACE_DETACH, c, 0, 0);
		}
		errno = 0;
		r = ptrace(PTRACE_SEIZE, c, 0, 0);
		report("ptrace_seize", r, errno);
		if (r == 0)
			ptrace(PTRACE_DETACH, c, 0, 0);
		TRY("control_kill", kill(c, SIGKILL));
		reap(c);
	}
	control_basic();
	/* Last: natively this makes our parent our tracer. */
	TRY("ptrace_traceme", ptrace(PTRACE_TRACEME, 0, 0, 0));
	return 0;
}

static int do_io_uring(void)
{
	unsigned char params[120]; /* struct io_uring_params */
	memset(params, 0, sizeof(params));
	long fd = syscall(425 /* io_uring_setup */, 8, params);
	report("io_uring_setup", fd, errno);
	if (fd >= 0)
		close((int)fd);
	errno = 0;
	long r = syscall(426 /* io_uring_enter */, 1000, 0, 0, 0, NULL, 0);
	report("io_uring_enter", r, errno);
	control_basic();
	return 0;
}

static int do_tiocsti(void)
{
	struct termios t;
	TRY("control_tcgets", ioctl(0, TCGETS, &t));
	char a = 'Q', b = 'R';
	TRY("tiocsti", ioctl(0, TIOCSTI, &a));
	TRY("tiocsti_hi", syscall(SYS_ioctl, 0, 0xffffffff00005412UL, &b));
	return 0;
}

static long install(unsigned long flags)
{
	struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = allow};
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static int do_seccomp(void)
{
	TRY("control_nnp", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	TRY("seccomp_listener", install(SECCOMP_FILTER_FLAG_NEW_LISTENER));
	TRY("control_seccomp_plain", install(0));
	control_basic();
	return 0;
}

static long clone_wait(long pid)
{
	if (pid == 0)
		_exit(0); /* the child of a raw clone/clone3 */
	if (pid > 0)
		waitpid((pid_t)pid, NULL, __WALL);
	return pid;
}

static int do_clone(void)
{
	pid_t f = fork();
	if (f == 0)
		_exit(0);
	TRY("control_fork", clone_wait(f));
	errno = 0;
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);
	int e = errno;
	report("clone_newuser", clone_wait(r), e);
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWUSER;
	ca.exit_signal = SIGCHLD;
	errno = 0;
	r = syscall(SYS_clone3, &ca, sizeof(ca));
	e = errno;
	report("clone3_newuser", clone_wait(r), e);
	/* Last: this changes our own namespace natively. */
	TRY("unshare_newuser", unshare(CLONE_NEWUSER));
	return 0;
}

static int do_mount(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/control", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	TRY("control_write", fd >= 0 ? write(fd, "c\n", 2) : -1);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/m", dir);
	TRY("mount_tmpfs", mount("lbtest", path, "tmpfs", 0, NULL));
	snprintf(path, sizeof(path), "%s/m/inside", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
	TRY("mount_bind", mount("/", path, NULL, MS_BIND, NULL));
	return 0;
}

static int do_bpf(void)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	report("bpf_map_create", fd, errno);
	if (fd >= 0)
		close((int)fd);
	control_basic();
	return 0;
}

static int do_keyctl(void)
{
	/* KEYCTL_GET_KEYRING_ID = 0, KEY_SPEC_PROCESS_KEYRING = -2 */
	TRY("add_key", syscall(SYS_add_key, "user", "litebox-test", "x", 1, -2));
	TRY("keyctl", syscall(SYS_keyctl, 0, -2, 1));
	control_basic();
	return 0;
}

static volatile long secret_word = 0x5ec2e7;

static int do_pvm(void)
{
	pid_t c = sleeper();
	TRY("control_fork", c);
	if (c <= 0)
		return 1;
	long buf = 0;
	struct iovec local = {&buf, sizeof(buf)};
	struct iovec remote = {(void *)&secret_word, sizeof(secret_word)};
	errno = 0;
	long r = process_vm_readv(c, &local, 1, &remote, 1, 0);
	report("process_vm_readv", r, errno);
	printf("process_vm_readv_value=%s\n", buf == secret_word ? "leaked" : "none");
	errno = 0;
	r = process_vm_writev(c, &local, 1, &remote, 1, 0);
	report("process_vm_writev", r, errno);
	errno = 0;
	long pidfd = syscall(SYS_pidfd_open, c, 0);
	report("control_pidfd_open", pidfd, errno);
	if (pidfd >= 0) {
		errno = 0;
		long fd = syscall(SYS_pidfd_getfd, pidfd, 1, 0);
		report("pidfd_getfd", fd, errno);
	}
	reap(c);
	control_basic();
	return 0;
}

static int do_int80(void)
{
	long ret;
	/* i386 getpid is 20; the 64-bit program enters the compat ABI. */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	printf("int80 ret=%ld getpid=%ld\n", ret, (long)getpid());
	control_basic();
	return 0;
}

static int do_x32(void)
{
	TRY("x32_getpid", syscall(39 | 0x40000000, 0));
	TRY("x32_write", syscall(1 | 0x40000000, 1, "", 0));
	printf("getpid=%ld\n", (long)getpid());
	control_basic();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *m = argv[1];
	if (!strcmp(m, "ptrace"))
		return do_ptrace();
	if (!strcmp(m, "io_uring"))
		return do_io_uring();
	if (!strcmp(m, "tiocsti"))
		return do_tiocsti();
	if (!strcmp(m, "seccomp"))
		return do_seccomp();
	if (!strcmp(m, "clone"))
		return do_clone();
	if (!strcmp(m, "mount") && argc > 2)
		return do_mount(argv[2]);
	if (!strcmp(m, "bpf"))
		return do_bpf();
	if (!strcmp(m, "keyctl"))
		return do_keyctl();
	if (!strcmp(m, "pvm"))
		return do_pvm();
	if (!strcmp(m, "int80"))
		return do_int80();
	if (!strcmp(m, "x32"))
		return do_x32();
	fprintf(stderr, "unknown mode %s\n", m);
	return 2;
}
