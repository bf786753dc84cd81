/* SPDX-License-Identifier: MIT */
/* Fast mediation (`set mediation fast`, docs/policy.md): the sandbox's
 * own mount namespace holds only what the policy lets the program stat (a
 * read-only tmpfs root with the directories that lead to the grants, the
 * granted subtrees bound at their own paths, read-only where no write is
 * granted, a proc of the sandbox's pid namespace), so that the stat family
 * can be answered by the kernel without a round trip. Planned in litebox
 * from the policy (lb_view_plan), entered by init (lb_view_enter). */
#ifndef LITEBOX_VIEW_H
#define LITEBOX_VIEW_H

#include <stdbool.h>

#include "litebox/policy.h"

struct lb_view;

/* Plan the view of policy p for a run started in cwd. 0 and *out (always,
 * also when fast mediation is impossible: lb_view_fast then says no and
 * lb_view_reason why), -ENOMEM. */
int lb_view_plan(const struct lb_policy *p, const char *cwd, struct lb_view **out);
void lb_view_free(struct lb_view *v);

/* The stat family (stat, lstat, newfstatat, statx, access, faccessat,
 * faccessat2) is left to the kernel. */
bool lb_view_fast(const struct lb_view *v);
/* readlink and readlinkat too (no read refusal inside the view). */
bool lb_view_readlink_in_kernel(const struct lb_view *v);
/* Why fast mediation is impossible, or why readlink stays trapped ("" if
 * not). */
const char *lb_view_reason(const struct lb_view *v);
/* How many mounts the view has (0: the host's tree with the sandbox's own
 * /proc already is the view: nothing in it is refused). */
unsigned lb_view_mounts(const struct lb_view *v);

/* In init, in its own mount namespace with its own /proc mounted: build the
 * view and pivot into it, then enter cwd. 0 or -errno (the run must then
 * not start: the filter leaves the stat family to the kernel). */
int lb_view_enter(const struct lb_view *v);

#endif
