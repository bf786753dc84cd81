/* SPDX-License-Identifier: MIT */
/* `litebox --version`: the version, and what the running kernel offers
 * (probed, not guessed from its version number). */
#include <linux/landlock.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cmd.h"
#include "litebox/platform.h"

int cmd_version(void)
{
	struct utsname u;
	unsigned found = lb_seccomp_features();
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	printf("litebox %s\n", LITEBOX_VERSION);
	printf("kernel %s: seccomp listener %s, ADDFD %s, sync wake-up %s, ",
	       uname(&u) == 0 ? u.release : "?", found & LB_SECCOMP_LISTENER ? "yes" : "no",
	       found & LB_SECCOMP_ADDFD_SEND ? "yes" : "no (Linux 5.14+)",
	       found & LB_SECCOMP_SYNC_WAKE_UP ? "yes" : "no (Linux 6.6+)");
	if (abi > 0)
		printf("Landlock ABI %ld\n", abi);
	else
		printf("Landlock no\n");
	return fflush(stdout) == 0 ? 0 : LB_EXIT_LITEBOX;
}
