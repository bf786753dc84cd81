/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"
#include "litebox/util.h"

/* Debian 12's headers stop at ABI 3; these are the ABI 6 scope bits. */
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

struct lb_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

int lb_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

int lb_landlock_apply(const struct lb_policy *policy)
{
	(void)policy;
	/* ABI 6: no process in the sandbox may signal one outside it, even
	 * with CAP_KILL or the same uid (belt and braces to the PID
	 * namespace, which already hides every outside process). */
	if (lb_landlock_abi() < 6)
		return 0;
	struct lb_ruleset_attr attr = { .scoped = LANDLOCK_SCOPE_SIGNAL };
	lb_autoclose int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		return -errno;
	return 0;
}
