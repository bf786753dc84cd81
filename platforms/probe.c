/* SPDX-License-Identifier: MIT */
/* Which platform this process can use, found by trying in a throwaway
 * child: kernels, container runtimes and enclosing sandboxes (another
 * litebox) differ in what they let a process do, and only the attempt
 * tells. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "litebox/platform.h"
#include "litebox/util.h"
#include "seccomp/seccomp_internal.h"

enum { STAGE_LISTENER = 1, STAGE_ADDFD };

struct verdict {
	int stage, err;
	unsigned features; /* LB_SECCOMP_* found */
};

static void child_seccomp(int out)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = 1, .filter = &allow};
	struct verdict v = {0, 0, 0};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		v = (struct verdict){STAGE_LISTENER, errno, 0};
	} else {
		long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				  SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		if (fd < 0) {
			v = (struct verdict){STAGE_LISTENER, errno, 0};
		} else {
			v.features = LB_SECCOMP_LISTENER;
			/* id 0 is never live: ENOENT means the ioctl and the
			 * SEND flag (5.14+) are both understood. */
			struct seccomp_notif_addfd a = {.id = 0, .flags = SECCOMP_ADDFD_FLAG_SEND};
			if (ioctl((int)fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a) == 0 || errno != ENOENT)
				v = (struct verdict){STAGE_ADDFD, errno, LB_SECCOMP_LISTENER};
			else
				v.features |= LB_SECCOMP_ADDFD_SEND;
			if (ioctl((int)fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
				  (__u64)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0)
				v.features |= LB_SECCOMP_SYNC_WAKE_UP;
		}
	}
	ssize_t n = write(out, &v, sizeof(v));
	_exit(n == sizeof(v) ? 0 : 1);
}

static struct verdict probe_seccomp(void)
{
	struct verdict v = {STAGE_LISTENER, EIO, 0};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return (struct verdict){STAGE_LISTENER, errno, 0};
	pid_t pid = fork();
	if (pid < 0) {
		v.err = errno;
		close(p[0]);
		close(p[1]);
		return v;
	}
	if (pid == 0) {
		close(p[0]);
		child_seccomp(p[1]);
	}
	close(p[1]);
	ssize_t n;
	do
		n = read(p[0], &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	waitpid(pid, NULL, 0);
	return v;
}

unsigned lb_seccomp_features(void)
{
	return probe_seccomp().features;
}

int lb_seccomp_usable(char *why, size_t len)
{
	struct verdict v = probe_seccomp();
	if (v.stage == 0)
		return 0;
	if (v.stage == STAGE_LISTENER)
		snprintf(
		    why, len, "a seccomp listener cannot be created here (%s%s)", strerror(v.err),
		    v.err == EPERM || v.err == EBUSY ? ": an enclosing sandbox refuses it" : "");
	else
		snprintf(why, len,
			 "SECCOMP_IOCTL_NOTIF_ADDFD with SEND is missing (%s; Linux 5.14+)",
			 strerror(v.err));
	return -(v.err ? v.err : EINVAL);
}

int lb_ptrace_usable(char *why, size_t len)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		for (;;)
			pause();
	}
	int rc = 0;
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)(long)PTRACE_O_EXITKILL) < 0) {
		rc = -errno;
		snprintf(why, len, "ptrace is refused here (%s%s)", strerror(errno),
			 errno == EPERM ? ": an enclosing sandbox refuses it, or a tracer holds us"
					: "");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
	return rc;
}
