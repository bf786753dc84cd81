/* SPDX-License-Identifier: MIT */
/* litebox inside litebox: nested domains (docs/security.md, "Nested
 * sandboxes").
 *
 * A task under a seccomp listener can never get a second one (the kernel
 * answers EBUSY), so an inner litebox cannot supervise anything itself.
 * It asks the outer one instead, with a prctl option Linux does not have
 * (natively EINVAL; an outer litebox traps it): HELLO says whether the
 * outer serves nested domains; RUN hands over the inner's request. The
 * outer's helper process (outside the sandbox) starts a supervisor for the
 * new domain, whose init joins the outer sandbox's namespaces, applies the
 * outer's Landlock layer and limits and then the inner's, and installs a
 * filter with a listener of its own. Every call arriving on that listener
 * is judged against the outer and the inner policy together
 * (lb_policy_set_outer): a request can only add restrictions.
 *
 * The answer to RUN is a control socket: the inner litebox writes signal
 * numbers to it (passed on to the nested program) and reads the exit
 * status litebox would have exited with. */
#ifndef LITEBOX_NEST_H
#define LITEBOX_NEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "litebox/answer.h"
#include "litebox/policy.h"

#define LB_NEST_PRCTL 0x4c426e73 /* "LBns": no prctl option of Linux */
enum { LB_NEST_HELLO = 1, LB_NEST_RUN = 2 };
/* HELLO's answers (any other answer: no litebox outside, or an old one). */
#define LB_NEST_SERVED 0x6e657331L     /* nested domains are served */
#define LB_NEST_NOT_SERVED 0x6e657330L /* a litebox that cannot serve them here */
#define LB_NEST_MAX_REQUEST (4u << 20)

enum {
	LB_NEST_AUDIT = 1,
	LB_NEST_FAIL_ON_DENY = 2,
	LB_NEST_QUIET = 4,
	LB_NEST_VERBOSE = 8,
	LB_NEST_LOG_REFUSED = 16,
	LB_NEST_CWD_GRANTS_OFF = 32
};

/* The inner litebox's request, as decoded (pointers into one buffer). The
 * policy is rebuilt from what the inner read and computed: the texts of
 * its files by the names the parser used, its variables, its --allow-*
 * rules, its implicit grants; so rules keep their FILE:LINE. */
struct lb_nest_request {
	uint32_t flags;
	uint64_t timeout_ms;
	int log_fd; /* the inner's fd of its --log file, -1: none, 2: "-" */
	const char *policy_name, *log_path, *exec_path, *timeout_text;
	const char *cwd, *home, *tmpdir, *exe_dir;
	char **argv, **envp; /* NULL-terminated */
	char **implicit_read, **implicit_exec, **protect;
	size_t n_implicit_read, n_implicit_exec, n_protect;
	char **files; /* pairs: name, text */
	size_t n_files;
	char **cli; /* triples: class number, object, flag */
	size_t n_cli;
};

/* Encode req into a malloc'd buffer (*len bytes). 0 or -errno. */
int lb_nest_encode(const struct lb_nest_request *req, char **out, size_t *len);
/* Decode buf (len bytes, kept alive and modified in place): 0 or -EINVAL
 * for anything malformed. The arrays are malloc'd into *req: free with
 * lb_nest_request_free. */
int lb_nest_decode(char *buf, size_t len, struct lb_nest_request *req);
void lb_nest_request_free(struct lb_nest_request *req);

/* ---- the inner side ---------------------------------------------------------- */

/* HELLO: LB_NEST_SERVED, LB_NEST_NOT_SERVED, or 0 (no litebox outside). */
long lb_nest_hello(void);
/* RUN: the control socket, or -errno. */
int lb_nest_run(const struct lb_nest_request *req);
/* Wait for the nested run's status, passing the forwarded signals on.
 * Returns the status, or -errno when the outer helper went away. */
int lb_nest_wait(int ctl);

/* ---- the outer side ---------------------------------------------------------- */

/* What the nested domain's supervisor gets (in its own process, forked
 * for it, outside the sandbox; 0-2 are already the inner's, the cwd the
 * inner's). serve returns the exit status for the inner litebox. */
struct lb_nest_job {
	const struct lb_nest_request *req;
	const struct lb_nest_join *join;
};
struct lb_nest_host {
	int (*serve)(void *arg, const struct lb_nest_job *job);
	void *arg;
};

/* How a nested domain's init joins the enclosing sandbox (lb_launch). */
struct lb_nest_join {
	pid_t init;	    /* the enclosing sandbox's init, host pid */
	bool userns, ipcns; /* the enclosing sandbox made them */
	int cwd;	    /* the inner's working directory (O_PATH) */
	int caller;	    /* pidfd of the inner litebox, whose namespaces are joined */
	int ctl;	    /* the control socket: signals in, EOF: kill */
	const char *cgroup; /* the enclosing pids cgroup, "" none */
	/* the enclosing sandbox's own kernel layers, applied first */
	const struct lb_policy *landlock_policy;
	const char *const *exec_paths;
	size_t n_exec_paths;
	const struct lb_limits *limits;
	/* The helper that forks domains keeps only these capabilities
	 * (bit N: capability N): what starting a domain needs. */
	uint64_t helper_caps;
};

#endif
