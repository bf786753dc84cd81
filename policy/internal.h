/* SPDX-License-Identifier: MIT */
/* Private to the policy module: the compiled policy's layout, shared by
 * parser.c (building it), policy.c (indexing, queries, lint), show.c and
 * profiles.c. Nothing here is part of the API. */
#ifndef LITEBOX_POLICY_INTERNAL_H
#define LITEBOX_POLICY_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "litebox/policy.h"

#define LB_MAX_INCLUDE_DEPTH 64
#define LB_MAX_ERRORS 20
#define LB_MAX_LINE ((size_t)1 << 20)  /* one logical line, continuations joined */
#define LB_MAX_FILE ((size_t)16 << 20) /* one policy file */

/* Hide rules get their own table; they apply to every file class. */
#define LB_CLASS_HIDE LB_CLASS__COUNT

/* One file or built-in profile as it was read. */
struct lb_src {
	char *file;	/* as named in diagnostics and decisions */
	char *chain;	/* NULL or "included from a:3\nincluded from b:1" */
	bool builtin;	/* a built-in profile: exempt from lint */
	unsigned depth; /* 0: the command line, 1: the top file, 2: what it includes, ... */
};

struct lb_rule {
	unsigned cls; /* enum lb_class, or LB_CLASS_HIDE */
	enum lb_verdict verdict;
	enum lb_rule_origin origin;
	const struct lb_src *src; /* NULL for implicit grants */
	unsigned line, col;
	size_t seq;		/* position in the effective order (index in lb_policy.rules) */
	char *word;		/* the object after expansion (connect/bind: the protocol) */
	size_t literal_end;	/* '*' and '?' of word before it are characters */
	char *word2;		/* connect/bind: the address word, NULL for "*" */
	struct lb_pattern *pat; /* file classes and hide (hide: word + "/ **") */
	struct lb_addr_pattern *addr; /* connect and bind */
	int nr;			      /* syscall */
	uint64_t prio; /* who decides (see rule_prio in policy.c): higher wins, then lower seq */
};

/* Rules of one table sorted by literal directory prefix, then by priority:
 * a query looks up each leading part of the path ("/", "/usr", "/usr/lib",
 * ...) and tests the rules whose prefix is exactly that part, in priority
 * order, stopping at the first that matches or cannot beat the best so far. */
struct lb_bucket {
	const char *prefix;
	size_t len;
	size_t start, end; /* into lb_index.rules */
};

struct lb_index {
	const struct lb_rule **rules;
	size_t n;
	struct lb_bucket *buckets;
	size_t n_buckets;
};

struct lb_env_entry {
	enum lb_env_op_kind kind;
	char *arg;
};

struct lb_policy {
	struct lb_rule *rules;
	size_t n_rules, cap_rules;
	struct lb_src **srcs;
	size_t n_srcs, cap_srcs;

	struct lb_index index[LB_CLASS_HIDE + 1]; /* only file classes and hide used */
	const struct lb_rule **net[2];		  /* connect, bind rules in order */
	size_t n_net[2];
	struct lb_syscall_rule *sys;
	size_t n_sys;
	const char **prefixes[LB_CLASS__COUNT];
	size_t n_prefixes[LB_CLASS__COUNT];

	struct lb_env_op *env;
	size_t n_env, cap_env;
	struct lb_limits limits;
	enum lb_mode mode;
	enum lb_mediation mediation;
	enum lb_on_deny on_deny;
	char *log;
	bool implicit;
	struct lb_policy_file *files; /* the files read, includes too */
	size_t n_files;
	size_t n_cwd_left_out;
	const struct lb_policy *outer; /* lb_policy_set_outer */
	bool outer_audit;
};

/* ---- diagnostics (policy.c) ---- */
int lb_diag_addv(struct lb_diags *d, enum lb_severity sev, const struct lb_src *src, unsigned line,
		 unsigned col, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
int lb_diag_add(struct lb_diags *d, enum lb_severity sev, const struct lb_src *src, unsigned line,
		unsigned col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- building (policy.c) ---- */
struct lb_rule *lb_policy_new_rule(struct lb_policy *p);
struct lb_src *lb_policy_new_src(struct lb_policy *p, const char *file, const char *chain,
				 bool builtin, unsigned depth);
int lb_policy_add_env(struct lb_policy *p, enum lb_env_op_kind kind, const char *arg);
bool lb_is_dangerous(const char *name);

/* ---- parsing (parser.c) ---- */
/* Parses in->text or in->source (a file or built-in profile) into p.
 * Returns 0, -EINVAL when diagnostics hold errors, or -errno when the top
 * file cannot be read at all (also with a diagnostic). */
int lb_parse(struct lb_policy *p, const struct lb_policy_inputs *in, struct lb_diags *d);

/* ---- who decides (policy.c) ---- */
/* Does a decide over b wherever both match? */
bool lb_rule_beats(const struct lb_rule *a, const struct lb_rule *b);
/* Why a decides over b, in words ("an exact path beats every pattern"). */
void lb_rule_why(const struct lb_rule *a, const struct lb_rule *b, char *buf, size_t len);
/* Can r decide an access of class cls? (its own class, hide for every file
 * class, the grants of read for stat) */
bool lb_rule_judges(const struct lb_rule *r, unsigned cls);
/* The rule as written: "deny write /x", "hide /y". */
void lb_rule_text(const struct lb_rule *r, char *buf, size_t len);
/* A rule that matches everything r matches and wins wherever both match
 * (so r never decides anything), or NULL. Not for syscall rules. */
const struct lb_rule *lb_rule_shadow(const struct lb_policy *p, const struct lb_rule *r);
const struct lb_rule *lb_rule_shadow_flat(const struct lb_policy *p, const struct lb_rule *r);
/* "FILE:LINE", "implicit". */
const char *lb_rule_where(const struct lb_rule *r, char *buf, size_t len);

/* ---- lint (policy.c) ---- */
int lb_policy_lint(const struct lb_policy *p, const struct lb_policy_vars *vars,
		   struct lb_diags *d);

/* ---- built-in profiles (profiles.c and the generated profiles_data.c) ---- */
struct lb_profile_text {
	const char *name;
	const char *text;
	size_t len;
};
extern const struct lb_profile_text lb_profile_texts[];
extern const size_t lb_n_profile_texts;
const struct lb_profile_text *lb_profile_find(const char *name);

#endif
