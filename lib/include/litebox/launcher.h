/* SPDX-License-Identifier: MIT */
/* Start the program in a sandbox and supervise it to the end.
 *
 * Process tree: litebox (the supervisor) clones an init process into a new
 * PID namespace (and a user namespace when not root). Init drops
 * capabilities, sets NO_NEW_PRIVS, applies Landlock, installs the seccomp
 * filter (the supervisor takes its listener), then forks the program and
 * execs it. Init reaps, forwards signals sent to litebox, reports the
 * program's wait status and exits with it; the kernel then kills every
 * process left in the namespace. Init dies with litebox (PDEATHSIG), so a
 * killed supervisor takes the whole tree with it. */
#ifndef LITEBOX_LAUNCHER_H
#define LITEBOX_LAUNCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "litebox/core.h"
#include "litebox/overlay.h"
#include "litebox/nest.h"
#include "litebox/platform.h"
#include "litebox/policy.h"
#include "litebox/view.h"

struct lb_launch_config {
	const char *exec_path; /* absolute path of the program */
	char *const *argv;
	char *const *envp;
	const struct lb_platform_ops *platform;
	struct lb_core *core;
	const struct lb_limits *limits;
	uint64_t timeout_ms; /* 0: none */
	mode_t umask;
	/* Landlock layer beneath the supervisor (filesystem); may be NULL. */
	const struct lb_policy *landlock_policy;
	/* Files the program may execute beyond the policy's exec grants
	 * (itself, its ELF or #! interpreter: the implicit grants). */
	const char *const *exec_paths;
	size_t n_exec_paths;
	/* --overlay: the tree the program sees (NULL: the host's). */
	const struct lb_overlay *overlay;
	/* set mediation fast: the view init pivots into (NULL: exact). */
	const struct lb_view *view;
	/* Serve nested domains (a litebox run inside this sandbox asks for
	 * one, lib/nest.c); NULL: refuse them with a clear message. */
	const struct lb_nest_host *nest_host;
	/* This run is a nested domain: its init joins the enclosing sandbox
	 * instead of making namespaces of its own; NULL otherwise. */
	const struct lb_nest_join *join;
};

struct lb_launch_result {
	int wait_status; /* of the program's first process */
	bool timed_out;
	int exec_errno; /* the program's execve failed with this (0: it ran) */
	bool pidns;	/* the PID namespace was available */
	bool ipcns;	/* System V IPC and POSIX mqueues are the sandbox's own */
	bool userns;	/* a user namespace was created */
	bool landlock;	/* a Landlock layer was applied */
	/* When lb_launch fails: what failed, why, and what to do ("" if
	 * nothing more is known than the errno). */
	char error[512];
};

/* 0 when the program ran (whatever its status), -errno when litebox could
 * not start or supervise it. Never prints. */
int lb_launch(const struct lb_launch_config *cfg, struct lb_launch_result *res);

#endif
