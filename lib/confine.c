/* SPDX-License-Identifier: MIT */
/* litebox confines itself. After start-up the supervisor only serves
 * trapped calls: it opens, stats, renames... as the program, copies memory
 * of sandbox processes, talks to the seccomp listener, writes the log. A
 * bug in a decoder must not turn into the host's problem, so once the
 * sandbox is launched every supervisor thread (TSYNC: the present ones;
 * the ones started later inherit it) runs under a filter that kills
 * litebox on the calls a compromised supervisor would want and the real
 * one never makes: running programs (execve, execveat), tracing or
 * other processes (ptrace, unless the platform is ptrace; the answers it
 * writes into trapped callers use process_vm_writev, which stays), namespaces and mounts, modules, kexec, reboot,
 * swap, bpf, perf, keyrings, io_uring, userfaultfd, raw I/O ports,
 * personality. A forbidden call is fatal and loud: SIGSYS, caught to say
 * which call and to exit 125 (the sandbox dies with litebox). */
#include <errno.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "confine.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *const forbidden[] = {
    "execve",	     "execveat",	"kexec_load",
    "kexec_file_load", "init_module",	"finit_module",	     "delete_module",
    "bpf",	     "perf_event_open", "reboot",	     "swapon",
    "swapoff",	     "mount",		"umount2",	     "pivot_root",
    "move_mount",    "open_tree",	"fsopen",	     "fsmount",
    "fsconfig",	     "fspick",		"mount_setattr",     "setns",
    "chroot",	     "acct",		"keyctl",	     "add_key",
    "request_key",   "io_uring_setup",	"io_uring_enter",    "io_uring_register",
    "userfaultfd",   "iopl",		"ioperm",	     "personality",
    "open_by_handle_at", "name_to_handle_at", "uselib",	     "quotactl",
};

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char msg[160];
	int n = snprintf(msg, sizeof(msg),
			 "litebox: internal error: the supervisor made system call %d, which its "
			 "own filter forbids; stopping (the sandbox dies with it)\n",
			 si->si_syscall);
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(125);
}

static int deny_ns_flags(scmp_filter_ctx ctx, int nr)
{
	static const unsigned long flags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS,
					      CLONE_NEWIPC, CLONE_NEWUSER,   CLONE_NEWPID,
					      CLONE_NEWNET, CLONE_NEWTIME};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		int rc = seccomp_rule_add_exact(ctx, SCMP_ACT_TRAP, nr, 1,
						SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i], flags[i]));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* LeakSanitizer stops the world at exit with ptrace from a cloned
 * thread: sanitizer builds keep ptrace (tests only; releases are not built
 * with sanitizers). */
#if defined(__SANITIZE_ADDRESS__)
#define LB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define LB_SANITIZED 1
#endif
#endif
#ifndef LB_SANITIZED
#define LB_SANITIZED 0
#endif

int lb_confine_supervisor(bool keep_ptrace)
{
	keep_ptrace = keep_ptrace || LB_SANITIZED;
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* TSYNC: every thread of the supervisor; NO_NEW_PRIVS so that a
	 * non-root litebox may install it (it never execs again anyway). */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	for (size_t i = 0; rc == 0 && i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		int nr = seccomp_syscall_resolve_name(forbidden[i]);
		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add_exact(ctx, SCMP_ACT_TRAP, nr, 0);
	}
	if (rc == 0 && !keep_ptrace)
		rc = seccomp_rule_add_exact(ctx, SCMP_ACT_TRAP, SCMP_SYS(ptrace), 0);
	if (rc == 0)
		rc = deny_ns_flags(ctx, SCMP_SYS(unshare));
	if (rc == 0)
		rc = deny_ns_flags(ctx, SCMP_SYS(clone));
	/* clone3 keeps its flags in memory: threads use clone3 in new glibcs,
	 * so it stays allowed; a new process from the supervisor gains
	 * nothing without exec, which is refused. */
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}
