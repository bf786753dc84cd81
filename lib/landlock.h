/* SPDX-License-Identifier: MIT */
/* The Landlock layer beneath the supervisor (private to the launcher). */
#ifndef LITEBOX_LANDLOCK_H
#define LITEBOX_LANDLOCK_H

#include "litebox/policy.h"

/* Landlock ABI version of the running kernel, 0 when unavailable. */
int lb_landlock_abi(void);

/* Restrict the calling process (before exec, after NO_NEW_PRIVS).
 * Returns 0 also when the kernel has no Landlock (the supervisor's checks
 * remain). */
int lb_landlock_apply(const struct lb_policy *policy);

#endif
