/* SPDX-License-Identifier: MIT */
/* The core: decode a trapped system call with the syscall table, judge it
 * against the policy, carry it out on the host (the south backend) and
 * answer through the platform. Also builds the kernel filter plan. */
#ifndef LITEBOX_CORE_H
#define LITEBOX_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "litebox/answer.h"
#include "litebox/platform.h"
#include "litebox/policy.h"

/* One judged access, handed to the event sink (audit log, messages). */
enum lb_event_verdict {
	LB_EV_ALLOW,
	LB_EV_DENY,
	LB_EV_HIDE,
	LB_EV_KILL,
	LB_EV_WOULD_DENY,
};

struct lb_event {
	pid_t pid; /* thread id of the caller, supervisor's namespace */
	int nr;
	const char *syscall;
	enum lb_class cls;
	const char *object; /* resolved path, "tcp 1.2.3.4:80", or syscall name */
	enum lb_event_verdict verdict;
	const struct lb_decision *decision;
	bool audited; /* an `audit` rule matched: must be recorded */
	/* A refused lookup of something that does not exist: the program got
	 * ENOENT, as natively; recorded, but not worth a message. */
	bool absent;
	/* Judged allowed, but the program did not get the answer (an fd it
	 * had no room for): the errno it got instead; 0 otherwise. Recorded
	 * as a `deny` of origin builtin, never as an allow. */
	int err;
	/* A connect to an address the program got from the mediated
	 * resolver: the names it asked for that resolved to it. */
	const char *const *names;
	size_t n_names;
};

struct lb_core_config {
	const struct lb_policy *policy;
	const struct lb_platform_ops *platform;
	/* Called for every judged access from supervisor threads, concurrently. */
	void (*on_event)(void *arg, const struct lb_event *ev);
	void *event_arg;
	bool report_allowed;  /* also call on_event for plain allows (-v, --log) */
	mode_t initial_umask; /* the umask the program starts with */
	bool force_audit;     /* --audit: audit mode whatever the policy says */
	/* litebox learn: audit mode, but the policy's hides, explicit denials
	 * and network limits stay enforced (learning gives no more than it) */
	bool learning;
	/* --overlay: the program's writes land in an overlay, never on the
	 * host, so learning lets the base's default refusals of writes run */
	bool writes_contained;
	/* --dry-run: audit mode, but refusals of writes outside the overlay
	 * and of connects and binds stay (a dry run changes nothing) */
	bool dry_run;
	/* Files the program may never read or write (the audit log), beside
	 * the policy's own files; NULL-terminated, may be NULL. */
	const char *const *protect_paths;
	/* A nested domain's log, protected by the descriptor the inner passed
	 * (NULL: none). Names the sandbox chose are never resolved outside
	 * it: whether one exists would show in what is refused. */
	const int *protect_fd;
	/* set mediation fast, and the view allows it: these calls are left
	 * to the kernel (lib/view.c) */
	bool stat_in_kernel, readlink_in_kernel;
};

struct lb_core;

/* The mode in force: the policy's, or audit when forced. */
enum lb_mode lb_core_mode(const struct lb_core *core);

int lb_core_new(const struct lb_core_config *cfg, struct lb_core **out);
void lb_core_free(struct lb_core *core);

/* The kernel filter: what is settled in the kernel and what is sent to the
 * supervisor. Valid while core lives. */
int lb_core_filter_plan(struct lb_core *core, struct lb_filter_plan *out);

/* The sandbox's pid namespace (to tell sandbox processes from others). */
void lb_core_set_sandbox(struct lb_core *core, pid_t init_pid);

/* Serve nested domains (litebox inside litebox) through the helper's
 * socket fd (lib/nest.c); not owned. */
void lb_core_set_nest(struct lb_core *core, int fd);

/* The platform's handler: answer one trapped call (through the
 * platform's reply, exactly once). */
void lb_core_handle(void *core, struct lb_trap *t);
/* The same call's answer, not sent: what lb_core_handle would reply.
 * An LB_ANS_FD answer's fd is the caller's to close. For tests. */
struct lb_answer lb_core_answer(struct lb_core *core, struct lb_trap *t);

#endif
