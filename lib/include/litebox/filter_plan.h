/* SPDX-License-Identifier: MIT */
/* The kernel filter plan: every rule the kernel applies before litebox
 * sees a call, built once from the policy. The same data is installed by
 * the platform (lb_plan_filter) and rendered by `policy show`
 * (lb_plan_show), so what is shown is what is installed.
 *
 * To refuse or trap one more system call in the kernel, add it in
 * lib/filter_plan.c (and nowhere else): a row of one of the builders,
 * with the reason that `policy show` prints. */
#ifndef LITEBOX_FILTER_PLAN_H
#define LITEBOX_FILTER_PLAN_H

#include <stdbool.h>
#include <stdio.h>

#include "litebox/platform.h"
#include "litebox/policy.h"

/* Why a rule is in the plan (how `policy show` groups it). */
enum lb_plan_why {
	LB_WHY_POLICY,	       /* a `deny`/`audit syscall` rule of the policy */
	LB_WHY_DANGEROUS,      /* the built-in dangerous set */
	LB_WHY_DANGEROUS_ARGS, /* a member dangerous only with some arguments */
	LB_WHY_NEVER,	       /* never useful in a sandbox, a way around path checks */
	LB_WHY_NEWER,	       /* a number newer than litebox's table */
	LB_WHY_UNHONOURED,     /* a kernel feature the supervisor could not honour */
	LB_WHY_SOCKET,	       /* a socket family or protocol litebox cannot judge */
	LB_WHY_MEDIATED,       /* judged and performed by the supervisor */
	LB_WHY_TRACKED,	       /* runs, but the supervisor must know its effect */
};

struct lb_plan_entry {
	struct lb_filter_rule rule;
	enum lb_plan_why why;
	/* For argument-conditioned refusals: what is refused, in words
	 * ("with a namespace flag"). NULL otherwise. */
	const char *note;
};

struct lb_plan_inputs {
	const struct lb_policy *policy;
	bool audit; /* the mode in force is audit (policy or --audit) */
	/* fast mediation (lib/view.c): the stat family, and readlink, are
	 * answered by the kernel in the sandbox's view */
	bool stat_in_kernel, readlink_in_kernel;
};

struct lb_plan;

int lb_plan_build(const struct lb_plan_inputs *in, struct lb_plan **out);
void lb_plan_free(struct lb_plan *plan);

/* The rules for the platform; valid while plan lives. */
void lb_plan_filter(const struct lb_plan *plan, struct lb_filter_plan *out);
size_t lb_plan_entries(const struct lb_plan *plan, const struct lb_plan_entry **out);

/* This refusal is sent to the supervisor to be recorded: installed as a
 * NOTIFY rule, answered with the entry's errno. */
bool lb_plan_recorded(const struct lb_plan_entry *e);

/* The refusal the plan makes of this trapped call (its number and
 * arguments), which the supervisor records and answers with the entry's
 * errno; NULL when the call was trapped for another reason. The filter
 * sends these refusals to the supervisor instead of answering them in the
 * kernel, so that every refusal has a record. */
const struct lb_plan_entry *lb_plan_refusal(const struct lb_plan *plan, int nr,
					    const uint64_t args[6]);

/* The comment block of `policy show`: what the kernel filter decides alone,
 * and how each class is enforced. 0 or -EIO. */
int lb_plan_show(const struct lb_plan *plan, FILE *f);

#endif
