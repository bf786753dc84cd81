/* SPDX-License-Identifier: MIT */
#ifndef LITEBOX_CONFINE_H
#define LITEBOX_CONFINE_H

#include <stdbool.h>

/* litebox confines itself once the sandbox runs (lib/confine.c): every
 * thread of the supervisor, present and future, loses the calls it never
 * makes after start-up. keep_ptrace: the platform traces with ptrace. */
int lb_confine_supervisor(bool keep_ptrace);

#endif
