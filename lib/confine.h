/* SPDX-License-Identifier: MIT */
#ifndef LITEBOX_CONFINE_H
#define LITEBOX_CONFINE_H

#include <stdbool.h>

/* litebox confines itself once the sandbox runs (lib/confine.c): every
 * thread of the supervisor, present and future, loses the calls it never
 * makes after start-up. ptrace_platform: the tracer's requests are allowed too. */
int lb_confine_supervisor(bool ptrace_platform);

/* Tests only (LITEBOX_TEST_SELF_VIOLATION=WHAT:FILE): once FILE exists,
 * make a forbidden call WHAT ("exec", "fork", "tiocsti", "poke",
 * "unlisted") from the confined supervisor. -EAGAIN before; 0 only if the
 * call passed the filter. */
int lb_confine_probe(const char *spec);

#endif
