/* SPDX-License-Identifier: MIT */
/* The one small interface between the core and a way of trapping system
 * calls. The core describes what to trap as data (a filter plan), the
 * platform installs it in the child and hands every trapped call to the
 * core's handler as an lb_trap, through which the core reads arguments
 * and answers. No policy decision lives behind this interface. */
#ifndef LITEBOX_PLATFORM_H
#define LITEBOX_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "litebox/target.h"

enum lb_filter_action {
	LB_FILTER_ALLOW,
	LB_FILTER_ERRNO,  /* refuse in the kernel with `err` */
	LB_FILTER_NOTIFY, /* send to the supervisor */
	LB_FILTER_KILL,	  /* kill the whole process */
};

enum lb_filter_cmp {
	LB_CMP_MASKED_EQ, /* (arg & mask) == value */
	LB_CMP_NE,	  /* arg != value (mask unused) */
	LB_CMP_GE,	  /* arg >= value, 64-bit (mask unused) */
	LB_CMP_LE,	  /* arg <= value, 64-bit (mask unused) */
	/* the low 32 bits of arg, unsigned, for int and unsigned int
	 * arguments (the kernel ignores the upper half) */
	LB_CMP_GE32,
	LB_CMP_LE32,
};

struct lb_filter_cond {
	unsigned arg;
	enum lb_filter_cmp op;
	uint64_t mask, value;
};

struct lb_filter_rule {
	int nr;
	enum lb_filter_action action;
	int err;
	unsigned n_conds; /* all must hold (AND); 0: unconditional */
	struct lb_filter_cond conds[2];
};

/* Rules apply in the kernel; a call no rule names is allowed. System calls
 * of a foreign ABI (x32 numbers, i386 through int 0x80) are always refused
 * with EPERM. */
struct lb_filter_plan {
	const struct lb_filter_rule *rules;
	size_t n_rules;
};

/* One trapped system call, valid only inside the handler call. */
/* The ABI a trapped call came through: only native calls are mediated;
 * the filter sends the others (x32 numbers, i386 through int 0x80) to be
 * recorded and refused. */
enum lb_abi { LB_ABI_NATIVE, LB_ABI_X32, LB_ABI_I386 };
#define LB_X32_SYSCALL_BIT 0x40000000

/* What became of an fd answer, for the record: the core writes an allowed
 * call's records only once the program has the descriptor (no record says
 * allow for a call that failed). The platform calls done exactly once per
 * fd reply that carries one: 0 once the program holds the fd, the -errno
 * the program got instead (EMFILE at its RLIMIT_NOFILE), -ESRCH or
 * -ENOENT when it died first, or LB_DELIVERY_REDONE when the platform
 * drops the answer and hands the same trap to the core again. */
#define LB_DELIVERY_REDONE 1
struct lb_delivery {
	void (*done)(struct lb_delivery *d, int err);
};

struct lb_trap {
	uint64_t id;
	pid_t pid; /* in the supervisor's pid namespace */
	enum lb_abi abi;
	int nr;
	uint64_t args[6];
	void *priv;		      /* the platform's */
	struct lb_delivery *delivery; /* set by the core for an fd reply */
};

enum lb_reply_kind { LB_REPLY_VALUE, LB_REPLY_ERROR, LB_REPLY_FD, LB_REPLY_CONTINUE };

struct lb_platform;
struct lb_prepared;

struct lb_platform_ops {
	const char *name;
	/* Parent, before the child exists: compile the plan. */
	int (*prepare)(const struct lb_filter_plan *plan, struct lb_prepared **out);
	void (*free_prepared)(struct lb_prepared *prep);
	/* Child, after NO_NEW_PRIVS, right before it forks/execs the program:
	 * install the filter. Returns the child-side handle (fd number) to
	 * report to the parent, or -errno. Async-signal-safe. */
	int (*install)(const struct lb_prepared *prep);
	/* A descriptor of prep the child must keep open until install (the
	 * child closes every other one it inherited); NULL or -1: none. */
	int (*child_fd)(const struct lb_prepared *prep);
	/* Program process (forked by the child), right before execve, after
	 * limits and signals are reset; NULL when the platform needs nothing
	 * there. Async-signal-safe; returns 0 or -errno (the exec is not
	 * attempted). */
	int (*before_exec)(const struct lb_prepared *prep);
	/* Parent: take the handle the child reported. */
	int (*attach)(const struct lb_prepared *prep, pid_t child, int child_handle,
		      struct lb_platform **out);
	/* Parent: serve trapped calls on worker threads until lb_platform_stop.
	 * handler returns nothing: it must answer through the reply calls. */
	int (*serve)(struct lb_platform *p, void (*handler)(void *ctx, struct lb_trap *t),
		     void *ctx);
	void (*stop)(struct lb_platform *p);
	void (*destroy)(struct lb_platform *p);

	/* Per-trap services for the core. Reads check that the trap is still
	 * live after copying (the pid cannot have been reused). */
	int (*read_mem)(struct lb_trap *t, uint64_t addr, void *buf, size_t len);
	/* Copy a NUL-terminated string; -ENAMETOOLONG if no NUL within cap. */
	int (*read_str)(struct lb_trap *t, uint64_t addr, char *buf, size_t cap);
	int (*write_mem)(struct lb_trap *t, uint64_t addr, const void *buf, size_t len);
	/* Duplicate the target's fd into the supervisor. */
	int (*get_fd)(struct lb_trap *t, int target_fd);
	int (*still_valid)(struct lb_trap *t);
	/* Answer, exactly once per trap (the core's dispatcher is the only
	 * caller): a value, an errno, an fd installed in the target (returned
	 * as the result, atomically), or CONTINUE: the kernel runs the call as
	 * the program made it, re-reading its memory. The core continues only
	 * (1) calls whose decision rests on no memory (umask, the set*id
	 * family, `audit syscall` rules, `deny syscall` rules in audit mode),
	 * and (2) calls the supervisor cannot
	 * perform for the program, judged first on its own copy, where what a
	 * changed path could reach is bounded elsewhere: execve/execveat
	 * (Landlock's EXECUTE rules beneath), chdir (grants nothing: every
	 * later path is judged from the real cwd) and O_PATH opens (ADDFD
	 * refuses O_PATH files; such an fd is judged again at every use).
	 * docs/security.md says why each is safe. LB_REPLY_FD hands `fd`
	 * over: the platform closes it, and must do so before the target
	 * runs again (a copy still open for writing would make the target's
	 * exec of the file it just wrote fail with ETXTBSY). */
	int (*reply)(struct lb_trap *t, enum lb_reply_kind kind, int64_t value, int fd,
		     bool cloexec);
	/* reply can install O_PATH descriptors too (seccomp's ADDFD refuses
	 * them with EBADF; SCM_RIGHTS carries them). */
	bool installs_path_fds;
};

extern const struct lb_platform_ops lb_platform_seccomp;
extern const struct lb_platform_ops lb_platform_ptrace;

/* Whether this kernel, in this process's seccomp and ptrace context, offers
 * what the platform needs (tested by trying, in a throwaway child).
 * 0 when it does; else -errno and a one-line reason in why. */
int lb_seccomp_usable(char *why, size_t len);
/* What the seccomp listener offers here, for --version (same probe). */
enum { LB_SECCOMP_LISTENER = 1, LB_SECCOMP_ADDFD_SEND = 2, LB_SECCOMP_SYNC_WAKE_UP = 4 };
unsigned lb_seccomp_features(void);
int lb_ptrace_usable(char *why, size_t len);

#endif
