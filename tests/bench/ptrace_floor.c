/* SPDX-License-Identifier: MIT */
/* The floor of a seccomp RET_TRACE stop, for docs/benchmarks.md: the
 * tracee calls umask N times, each trapped (RET_TRACE); the tracer only
 * waits and continues (mode 0), or
 * also does GET_SYSCALL_INFO (mode 1), or GET_SYSCALL_INFO, GETREGS and
 * SETREGS (mode 2). Usage: ptrace_floor [N [MODE]]; build it by hand:
 * cc -O2 -o ptrace_floor tests/bench/ptrace_floor.c */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	int mode = argc > 2 ? atoi(argv[2]) : 0;
	pid_t c = fork();
	if (c == 0) {
		struct sock_filter f[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_umask, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
		struct sock_fprog p = {4, f};
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		raise(SIGSTOP);
		syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < n; i++)
			syscall(SYS_umask, 022);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("mode %d: %.0f ns per trapped call\n", mode,
		       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
		fflush(stdout);
		_exit(0);
	}
	ptrace(PTRACE_SEIZE, c, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL);
	int st;
	for (;;) {
		pid_t t = waitpid(-1, &st, __WALL);
		if (t < 0 || WIFEXITED(st) || WIFSIGNALED(st))
			break;
		int sig = WSTOPSIG(st), ev = st >> 16;
		if (ev == PTRACE_EVENT_SECCOMP) {
			if (mode >= 1) {
				struct __ptrace_syscall_info info;
				ptrace(PTRACE_GET_SYSCALL_INFO, t, sizeof(info), &info);
			}
			if (mode >= 2) {
				struct user_regs_struct r;
				ptrace(PTRACE_GETREGS, t, 0, &r);
				ptrace(PTRACE_SETREGS, t, 0, &r);
			}
			ptrace(PTRACE_CONT, t, 0, 0);
		} else if (ev == PTRACE_EVENT_STOP) {
			ptrace(PTRACE_CONT, t, 0, 0);
		} else {
			ptrace(PTRACE_CONT, t, 0, sig == SIGSTOP ? 0 : sig);
		}
	}
	return 0;
}
