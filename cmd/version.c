/* SPDX-License-Identifier: MIT */
/* `litebox --version`: the version, and what the running kernel offers
 * (probed, not guessed from its version number). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

enum { HAS_LISTENER = 1, HAS_ADDFD = 2, HAS_SYNC = 4 };

/* In a throwaway child: take a listener for an allow-everything filter
 * and ask it what it supports. */
static int probe_in_child(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = 1, .filter = &allow};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 0;
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			      &prog);
	if (fd < 0)
		return 0;
	int found = HAS_LISTENER;
	/* No notification has id 0: ENOENT means the ioctl exists. */
	struct seccomp_notif_addfd addfd = {.id = 0, .srcfd = (__u32)fd};
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0 && errno == ENOENT)
		found |= HAS_ADDFD;
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (__u64)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0)
		found |= HAS_SYNC;
	return found;
}

static int probe_seccomp(void)
{
	int p[2];
	if (pipe(p) < 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		unsigned char found = (unsigned char)probe_in_child();
		_exit(write(p[1], &found, 1) == 1 ? 0 : 1);
	}
	close(p[1]);
	unsigned char found = 0;
	if (pid < 0 || read(p[0], &found, 1) != 1)
		found = 0;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return found;
}

int cmd_version(void)
{
	struct utsname u;
	int found = probe_seccomp();
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	printf("litebox %s\n", LITEBOX_VERSION);
	printf("kernel %s: seccomp listener %s, ADDFD %s, sync wake-up %s, ",
	       uname(&u) == 0 ? u.release : "?", found & HAS_LISTENER ? "yes" : "no",
	       found & HAS_ADDFD ? "yes" : "no (Linux 5.14+)",
	       found & HAS_SYNC ? "yes" : "no (Linux 6.6+)");
	if (abi > 0)
		printf("Landlock ABI %ld\n", abi);
	else
		printf("Landlock no\n");
	return fflush(stdout) == 0 ? 0 : LB_EXIT_LITEBOX;
}
