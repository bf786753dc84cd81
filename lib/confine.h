/* SPDX-License-Identifier: MIT */
#ifndef LITEBOX_CONFINE_H
#define LITEBOX_CONFINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* litebox confines itself once the sandbox runs (lib/confine.c): every
 * thread of the supervisor, present and future, loses the calls it never
 * makes after start-up. ptrace_platform: the tracer's requests are allowed too. */
int lb_confine_supervisor(bool ptrace_platform);

/* Before serving: every thread of litebox keeps only the capabilities in
 * keep (bit N: capability N), in its permitted, effective, inheritable
 * and bounding sets. 0, or -errno when some thread could not drop. */
int lb_confine_caps(uint64_t keep);
/* How lb_confine_caps reaches the other threads: a thread that blocks
 * signals must leave this one open. */
#define LB_CAPS_SIGNAL (SIGRTMIN + 5)

/* Tests only (LITEBOX_TEST_SELF_VIOLATION=WHAT:FILE): once FILE exists,
 * make a forbidden call WHAT ("exec", "fork", "tiocsti", "poke",
 * "unlisted") from the confined supervisor. -EAGAIN before; 0 only if the
 * call passed the filter. */
int lb_confine_probe(const char *spec);

#endif
