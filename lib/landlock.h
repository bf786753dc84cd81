/* SPDX-License-Identifier: MIT */
/* The Landlock layer beneath the supervisor (private to the launcher). */
#ifndef LITEBOX_LANDLOCK_H
#define LITEBOX_LANDLOCK_H

#include "litebox/policy.h"

/* Landlock ABI version of the running kernel, 0 when unavailable. */
int lb_landlock_abi(void);

#include <stddef.h>

/* Restrict the calling process (before exec, after NO_NEW_PRIVS): see
 * landlock.c for what the domain allows. exec_paths are executed-from
 * paths beyond the policy's exec grants (the program, its interpreter).
 * Returns 0 also when the kernel has no Landlock (the supervisor's checks
 * remain). */
int lb_landlock_apply(const struct lb_policy *policy, const char *const *exec_paths, size_t n_exec);

#endif
