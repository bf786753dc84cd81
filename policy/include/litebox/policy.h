/* SPDX-License-Identifier: MIT */
/* The policy language v1 (../shared/spec/policy.md): loading, linting and
 * the compiled, immutable policy the core queries. */
#ifndef LITEBOX_POLICY_H
#define LITEBOX_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "litebox/pattern.h"

enum lb_class {
	LB_CLASS_READ,
	LB_CLASS_WRITE,
	LB_CLASS_EXEC,
	LB_CLASS_STAT,
	LB_CLASS_CONNECT,
	LB_CLASS_BIND,
	LB_CLASS_SYSCALL,
	LB_CLASS__COUNT
};
const char *lb_class_name(enum lb_class c); /* "read", ... */
int lb_class_from_name(const char *name);   /* -1 when unknown */

enum lb_verdict {
	LB_VERDICT_ALLOW,
	LB_VERDICT_AUDIT, /* allowed and always recorded */
	LB_VERDICT_DENY,
	LB_VERDICT_HIDE,
};

enum lb_rule_origin {
	LB_ORIGIN_POLICY,   /* a rule in a file: file + line */
	LB_ORIGIN_CLI,	    /* an --allow-* flag: file = the flag name */
	LB_ORIGIN_IMPLICIT, /* implicit grant */
	LB_ORIGIN_BUILTIN,  /* built-in dangerous set */
	LB_ORIGIN_DEFAULT,  /* nothing matched */
};

struct lb_decision {
	enum lb_verdict verdict;
	enum lb_rule_origin origin;
	const char *file; /* valid while the policy lives; NULL unless POLICY/CLI */
	unsigned line;
	/* Decided by the enclosing policy of a nested domain (see
	 * lb_policy_set_outer): enforced whatever the inner mode. */
	bool outer;
};

/* ---- diagnostics ---------------------------------------------------------- */
enum lb_severity { LB_DIAG_ERROR, LB_DIAG_WARNING };

struct lb_diag {
	enum lb_severity severity;
	char *file;	    /* as the user named it (or the profile name "<builtin:default>") */
	unsigned line, col; /* 1-based */
	char *message;
	char *include_chain; /* NULL or "included from a.policy:3\nincluded from b.policy:1" */
};

struct lb_diags {
	struct lb_diag *items;
	size_t n, cap;
	size_t n_errors;
};
void lb_diags_free(struct lb_diags *d);

/* ---- inputs ---------------------------------------------------------------- */
struct lb_policy_vars {
	const char *cwd, *home, *tmpdir, *exe,
	    *exe_dir; /* exe/exe_dir NULL: using them is an error */
	/* The working directory is / or a system tree: `allow write` and
	 * `allow exec` rules that start with $CWD are left out (counted). */
	bool cwd_grants_off;
};

struct lb_cli_rule {
	enum lb_class cls; /* READ/WRITE/EXEC/CONNECT/BIND */
	const char
	    *object; /* as typed: a path (absolute after the CLI made it so) or "tcp host:port" */
	const char *flag; /* "--allow-read", for diagnostics and origin */
};

struct lb_policy_inputs {
	const char *source; /* a file path or built-in profile name; NULL: "default" */
	const char *text;   /* if non-NULL, parse this text, named `source` (tests, fuzzing) */
	struct lb_policy_vars vars;
	const struct lb_cli_rule *cli_rules;
	size_t n_cli_rules;
	/* Implicit grants computed by the launcher from the ELF facts; ignored
	 * when the policy says `set implicit-grants off`. */
	const char *const *implicit_read;
	size_t n_implicit_read;
	const char *const *implicit_exec;
	size_t n_implicit_exec;
	bool lint; /* also produce warnings (policy check) */
	/* Read these instead of the file system (a nested run, rebuilt outside
	 * the sandbox from what the inner litebox read): NULL-terminated
	 * pairs of a path as the parser names it and the file's text. */
	const char *const *file_texts;
};

struct lb_policy;

/* 0 and *out on success. -EINVAL with diags->n_errors > 0 on a malformed
 * policy (never a partial policy), other -errno on I/O trouble (also with a
 * diagnostic naming the file). Never prints. */
int lb_policy_load(const struct lb_policy_inputs *in, struct lb_policy **out,
		   struct lb_diags *diags);
void lb_policy_free(struct lb_policy *p);

/* A nested domain (litebox inside litebox, docs/security.md): every
 * judgement of p becomes outer's and p's together. A file or address is
 * allowed only when both allow it; outer's refusal decides first and is
 * marked `outer`. A dangerous syscall is allowed only when both allow it;
 * hides and rules below a directory count from either. outer must outlive
 * p; an outer in audit mode (outer_audit) refuses nothing, as it would
 * not for its own program. */
void lb_policy_set_outer(struct lb_policy *p, const struct lb_policy *outer, bool outer_audit);
/* p's own judgement, without the enclosing policy's. */
void lb_policy_judge_own(const struct lb_policy *p, enum lb_class cls, const char *path,
			 struct lb_decision *out);
/* The enclosing policy set on p, or NULL (it is never in audit mode). */
const struct lb_policy *lb_policy_outer(const struct lb_policy *p);

/* ---- queries (thread-safe, no allocation) ------------------------------------ */
/* Judge a canonical absolute path for a file class (READ/WRITE/EXEC/STAT).
 * STAT is granted by `allow read` too. `hide` applies to every file class. */
void lb_policy_judge_path(const struct lb_policy *p, enum lb_class cls, const char *path,
			  struct lb_decision *out);
/* Is anything strictly below dir hidden? (to filter directory listings) */
bool lb_policy_hides_below(const struct lb_policy *p, const char *dir);
/* Does any file rule (any class, hide included) name something strictly
 * below dir? (moving dir would move what those rules judge) */
bool lb_policy_rules_below(const struct lb_policy *p, const char *dir);
/* Could some rule (any file class or hide) judge a path below a
 * differently from the same path below b? Moving a directory from a to b
 * would then move its content between rules. */
bool lb_policy_subtrees_differ(const struct lb_policy *p, const char *a, const char *b);
void lb_policy_judge_addr(const struct lb_policy *p, enum lb_class cls,
			  const struct lb_sockaddr_obj *addr, struct lb_decision *out);
/* May the program resolve host name (lower case, no trailing dot)? Decided
 * by the connect rules that cover the name (docs/policy.md, host names). */
void lb_policy_judge_name(const struct lb_policy *p, const char *name, struct lb_decision *out);

/* Does an allow (or audit) rule of cls name this unix socket path itself,
 * without a wildcard (or allow every address with `*`)? A wildcard
 * `unix` rule grants only the sockets the sandbox made during the run. */
bool lb_policy_names_unix(const struct lb_policy *p, enum lb_class cls, const char *path);

enum lb_mode { LB_MODE_ENFORCE, LB_MODE_AUDIT };
enum lb_on_deny { LB_ON_DENY_ERRNO, LB_ON_DENY_KILL };
/* How many $CWD write/exec grants vars.cwd_grants_off left out. */
size_t lb_policy_cwd_grants_left_out(const struct lb_policy *p);
enum lb_mode lb_policy_mode(const struct lb_policy *p);
enum lb_on_deny lb_policy_on_deny(const struct lb_policy *p);
const char *lb_policy_log_path(const struct lb_policy *p); /* NULL if unset */
bool lb_policy_implicit_grants(const struct lb_policy *p);

/* ---- syscall class: what goes to the kernel filter ------------------------ */
struct lb_syscall_rule {
	const char *name;
	int nr;			 /* x86_64 number */
	enum lb_verdict verdict; /* ALLOW (dangerous member explicitly allowed), DENY, AUDIT */
	const char *file;
	unsigned line;
};
/* Explicit syscall rules after deny-wins resolution, one per syscall name. */
size_t lb_policy_syscall_rules(const struct lb_policy *p, const struct lb_syscall_rule **out);
/* The built-in dangerous set (names as in the spec); NULL-terminated. */
extern const char *const lb_dangerous_syscalls[];
/* Refused with EPERM although not dangerous, being never useful in a
 * sandbox and a way around path checks; NULL-terminated. */
extern const char *const lb_never_syscalls[];
/* Answered EOPNOTSUPP: a feature the supervisor cannot honour for the
 * program (its own Landlock rulesets); NULL-terminated. */
extern const char *const lb_unhonoured_syscalls[];
/* name is in one of the two lists above. */
bool lb_is_builtin_refused(const char *name);
/* True when the policy explicitly allows a dangerous syscall (by name). */
bool lb_policy_allows_dangerous(const struct lb_policy *p, const char *name);

/* ---- limits and environment ----------------------------------------------- */
struct lb_limits {
	uint64_t time_ms; /* 0: unset */
	uint64_t procs;	  /* 0: unset */
	uint64_t memory;  /* bytes, 0: unset */
	uint64_t files;
	uint64_t cpu_s;
	uint64_t fsize; /* bytes */
};
const struct lb_limits *lb_policy_limits(const struct lb_policy *p);

enum lb_env_op_kind { LB_ENV_CLEAR, LB_ENV_KEEP, LB_ENV_SET };
struct lb_env_op {
	enum lb_env_op_kind kind;
	const char *arg; /* KEEP: NAME; SET: NAME=VALUE */
};
size_t lb_policy_env_ops(const struct lb_policy *p, const struct lb_env_op **out);
/* Build the program's environment from envp and the env statements.
 * Returns a NULL-terminated malloc'd array (free with lb_env_free). */
char **lb_policy_build_env(const struct lb_policy *p, char *const *envp);
void lb_env_free(char **env);

/* ---- presentation ----------------------------------------------------------- */
/* Write s as one policy word that the lexer reads back as exactly s (the
 * one quoting routine: learn, generate, policy show). Bare when nothing in
 * it means anything to the lexer ('$' written "$$"); else a quoted string
 * with \" \\ \n \t \r and \xHH (control bytes, invalid UTF-8). Each '*' and '?'
 * before byte literal_end is a character (written \* \?), after it a
 * wildcard: pass strlen(s) for an exact name, 0 for a pattern. Returns
 * the length needed; buf is NUL-terminated (snprintf-like). */
size_t lb_policy_quote(const char *s, size_t literal_end, char *buf, size_t cap);

/* The effective policy in the policy language (parses back to the same
 * policy), then the implicit grants as comments. malloc'd. The kernel
 * filter's part of `policy show` is rendered by lb_plan_show. */
char *lb_policy_show(const struct lb_policy *p);

/* The files the policy was read from (the top file and every include, not
 * built-in profiles), by device and inode and canonical path as they were
 * when read: litebox keeps them out of the program's reach. */
struct lb_policy_file {
	dev_t dev;
	ino_t ino;
	char *path;
	char *named; /* as the policy named it (the top file, an include) */
	char *text;  /* what was read */
};
size_t lb_policy_files(const struct lb_policy *p, const struct lb_policy_file **out);

/* Granted read and write implicitly (unless `set implicit-grants off`),
 * whatever the rules say: the devices every program uses and /proc/self. */
bool lb_policy_implicit_path(const char *path);

/* `policy show --explain`: for a canonical absolute path, each file class's
 * verdict, the rule deciding it (FILE:LINE) and why; for an address, the
 * same for connect and bind. malloc'd text, NULL without memory. */
char *lb_policy_explain_path(const struct lb_policy *p, const char *path);
char *lb_policy_explain_addr(const struct lb_policy *p, const struct lb_sockaddr_obj *a);

/* ---- fast mediation (lib/view.c) ------------------------------------------- */
enum lb_mediation { LB_MEDIATION_EXACT, LB_MEDIATION_FAST };
/* `set mediation fast|exact` (default exact). */
enum lb_mediation lb_policy_mediation(const struct lb_policy *p);
/* A grant of a file class (allow or audit read/write/exec/stat). */
struct lb_file_grant {
	enum lb_class cls;
	enum lb_verdict verdict;
	const struct lb_pattern *pat;
};
/* Every file grant, in order: a malloc'd array (free it), valid while p
 * lives. 0 or -ENOMEM. */
int lb_policy_file_grants(const struct lb_policy *p, struct lb_file_grant **out, size_t *n);
/* Is every path at or below dir allowed for cls by the policy alone, and
 * can no rule that is not a plain allow (deny, hide, audit) decide
 * anything there? Conservative: a wildcard rule whose literal prefix lies
 * above dir counts as reaching below it. A hide rule whose literal prefix
 * absent() says does not exist is not counted (nothing it hides exists,
 * and the hide itself refuses creating it); absent may be NULL. */
bool lb_policy_uniform_below(const struct lb_policy *p, enum lb_class cls, const char *dir,
			     bool (*absent)(const char *path));
/* The first rule that keeps dir from being uniform for cls ("hide
 * /home/u/.ssh", "deny stat /etc/x"), into buf; "" when none does. */
void lb_policy_uniform_blocker(const struct lb_policy *p, enum lb_class cls, const char *dir,
			       bool (*absent)(const char *path), char *buf, size_t len);
/* The literal prefixes of the unix socket paths connect and bind rules
 * name (a NULL-terminated malloc'd array of borrowed strings); "/" for a
 * rule that allows every address. NULL without memory. */
const char **lb_policy_unix_prefixes(const struct lb_policy *p);

/* Every path prefix the policy grants for class (for Landlock rules). */
size_t lb_policy_grant_prefixes(const struct lb_policy *p, enum lb_class cls,
				const char *const **out);

#endif
