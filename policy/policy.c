/* SPDX-License-Identifier: MIT */
/* The compiled policy: loading, the per-class rule indexes, the decisions
 * of ../shared/spec/policy.md ("Decisions"), the syscall table, the
 * environment, and the lint behind `litebox policy check`.
 *
 * Decisions: every rule of the class whose object matches is found (for
 * `stat`, the grants of `read` too; `hide` rules for every file class) and
 * the most specific one decides (rule_prio). A `deny read` does not refuse
 * `stat`: it keeps the content, `hide` keeps the existence. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "litebox/util.h"

/* ---- names ----------------------------------------------------------------------- */

static const char *const class_names[] = {"read",    "write", "exec",	"stat",
					  "connect", "bind",  "syscall"};

const char *lb_class_name(enum lb_class c)
{
	return (unsigned)c < LB_ARRAY_SIZE(class_names) ? class_names[c] : "?";
}

int lb_class_from_name(const char *name)
{
	for (size_t i = 0; name && i < LB_ARRAY_SIZE(class_names); i++)
		if (strcmp(name, class_names[i]) == 0)
			return (int)i;
	return -1;
}

/* The spec's list. clone, clone3, unshare, ioctl and seccomp are dangerous
 * only with some arguments (namespace flags, TIOCSTI/TIOCLINUX, the
 * new-listener flag); the filter builder handles those conditions. */
const char *const lb_dangerous_syscalls[] = {
    "ptrace",
    "process_vm_writev",
    "process_vm_readv",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "mount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    "swapon",
    "swapoff",
    "reboot",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "keyctl",
    "add_key",
    "request_key",
    "setns",
    "pidfd_getfd",
    "kcmp",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "iopl",
    "ioperm",
    "unshare",
    "clone",
    "clone3",
    "ioctl",
    "seccomp",
    NULL,
};

const char *const lb_never_syscalls[] = {
    "chroot",	      "uselib",	   "fspick",	 "mount_setattr",
    "lookup_dcookie", "open_tree", "move_mount", NULL,
};

const char *const lb_unhonoured_syscalls[] = {
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
    NULL,
};

static bool listed(const char *const *list, const char *name)
{
	for (const char *const *d = list; *d; d++)
		if (strcmp(*d, name) == 0)
			return true;
	return false;
}

bool lb_is_builtin_refused(const char *name)
{
	return listed(lb_never_syscalls, name) || listed(lb_unhonoured_syscalls, name);
}

bool lb_is_dangerous(const char *name)
{
	for (const char *const *d = lb_dangerous_syscalls; *d; d++)
		if (strcmp(*d, name) == 0)
			return true;
	return false;
}

/* ---- diagnostics --------------------------------------------------------------------- */

int lb_diag_addv(struct lb_diags *d, enum lb_severity sev, const struct lb_src *src, unsigned line,
		 unsigned col, const char *fmt, va_list ap)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct lb_diag *items = realloc(d->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		d->items = items;
		d->cap = cap;
	}
	struct lb_diag g = {.severity = sev, .line = line, .col = col};
	if (vasprintf(&g.message, fmt, ap) < 0)
		return -ENOMEM;
	g.file = strdup(src && src->file ? src->file : "<policy>");
	g.include_chain = src && src->chain ? strdup(src->chain) : NULL;
	if (!g.file || (src && src->chain && !g.include_chain)) {
		free(g.message);
		free(g.file);
		free(g.include_chain);
		return -ENOMEM;
	}
	d->items[d->n++] = g;
	if (sev == LB_DIAG_ERROR)
		d->n_errors++;
	return 0;
}

int lb_diag_add(struct lb_diags *d, enum lb_severity sev, const struct lb_src *src, unsigned line,
		unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = lb_diag_addv(d, sev, src, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

void lb_diags_free(struct lb_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].message);
		free(d->items[i].include_chain);
	}
	free(d->items);
	*d = (struct lb_diags){0};
}

/* ---- building -------------------------------------------------------------------------- */

struct lb_rule *lb_policy_new_rule(struct lb_policy *p)
{
	if (p->n_rules == p->cap_rules) {
		size_t cap = p->cap_rules ? p->cap_rules * 2 : 32;
		struct lb_rule *v = realloc(p->rules, cap * sizeof(*v));
		if (!v)
			return NULL;
		p->rules = v;
		p->cap_rules = cap;
	}
	struct lb_rule *r = &p->rules[p->n_rules];
	*r = (struct lb_rule){.seq = p->n_rules, .nr = -1};
	p->n_rules++;
	return r;
}

struct lb_src *lb_policy_new_src(struct lb_policy *p, const char *file, const char *chain,
				 bool builtin, unsigned depth)
{
	if (p->n_srcs == p->cap_srcs) {
		size_t cap = p->cap_srcs ? p->cap_srcs * 2 : 8;
		struct lb_src **v = realloc(p->srcs, cap * sizeof(*v));
		if (!v)
			return NULL;
		p->srcs = v;
		p->cap_srcs = cap;
	}
	struct lb_src *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->file = strdup(file);
	s->chain = chain ? strdup(chain) : NULL;
	s->builtin = builtin;
	s->depth = depth;
	if (!s->file || (chain && !s->chain)) {
		free(s->file);
		free(s->chain);
		free(s);
		return NULL;
	}
	p->srcs[p->n_srcs++] = s;
	return s;
}

int lb_policy_add_env(struct lb_policy *p, enum lb_env_op_kind kind, const char *arg)
{
	if (p->n_env == p->cap_env) {
		size_t cap = p->cap_env ? p->cap_env * 2 : 8;
		struct lb_env_op *v = realloc(p->env, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->env = v;
		p->cap_env = cap;
	}
	char *dup = arg ? strdup(arg) : NULL;
	if (arg && !dup)
		return -ENOMEM;
	p->env[p->n_env++] = (struct lb_env_op){.kind = kind, .arg = dup};
	return 0;
}

/* ---- who decides ------------------------------------------------------------------------ */

static bool is_file_class(unsigned cls)
{
	return cls <= LB_CLASS_STAT;
}

static bool is_grant(const struct lb_rule *r)
{
	return r->verdict == LB_VERDICT_ALLOW || r->verdict == LB_VERDICT_AUDIT;
}

static bool is_explicit(const struct lb_rule *r)
{
	return r->origin == LB_ORIGIN_POLICY || r->origin == LB_ORIGIN_CLI;
}

/* Within one file: hide, then deny, then audit, then allow. */
static unsigned verdict_rank(enum lb_verdict v)
{
	return v == LB_VERDICT_HIDE ? 4 : v == LB_VERDICT_DENY ? 3 : v == LB_VERDICT_AUDIT ? 2 : 1;
}

static uint64_t rule_spec(const struct lb_rule *r)
{
	return r->pat	 ? lb_pattern_spec_key(r->pat)
	       : r->addr ? lb_addr_pattern_spec_key(r->addr)
			 : 0;
}

/* Decisions, rule 2, as one number: a rule of the policy before the
 * implicit grants (which only decide what no rule matches, so a deny or
 * hide still wins over them); then the more specific object; then, at
 * equal specificity, the file nearer the top (the command line above
 * all); then the refusing verdict. Ties go to the first rule read. */
static uint64_t rule_prio(const struct lb_rule *r)
{
	unsigned depth = r->src && r->src->depth < 255 ? r->src->depth : 255;
	return (uint64_t)is_explicit(r) << 40 | rule_spec(r) << 12 | (uint64_t)(255 - depth) << 4 |
	       verdict_rank(r->verdict);
}

bool lb_rule_beats(const struct lb_rule *a, const struct lb_rule *b)
{
	return a->prio > b->prio || (a->prio == b->prio && a->seq < b->seq);
}

const char *lb_rule_where(const struct lb_rule *r, char *buf, size_t len)
{
	if (r->origin == LB_ORIGIN_IMPLICIT || !r->src)
		snprintf(buf, len, "implicit");
	else if (r->origin == LB_ORIGIN_CLI)
		snprintf(buf, len, "%s", r->src->file);
	else
		snprintf(buf, len, "%s:%u", r->src->file, r->line);
	return buf;
}

static const char *verdict_word(enum lb_verdict v)
{
	return v == LB_VERDICT_ALLOW   ? "allow"
	       : v == LB_VERDICT_AUDIT ? "audit"
	       : v == LB_VERDICT_DENY  ? "deny"
				       : "hide";
}

static void spec_words(const struct lb_rule *a, const struct lb_rule *b, char *buf, size_t len)
{
	const struct lb_pattern *pa = a->pat, *pb = b->pat;
	if (!pa || !pb) {
		snprintf(buf, len, "its address is more specific (the host, then the port)");
		return;
	}
	struct lb_pattern_spec sa, sb;
	lb_pattern_spec(pa, &sa);
	lb_pattern_spec(pb, &sb);
	if (sa.literal)
		snprintf(buf, len, "an exact path beats every pattern");
	else if (sa.prefix_len != sb.prefix_len)
		snprintf(buf, len, "its literal prefix '%.*s' is longer than '%.*s'",
			 (int)sa.prefix_len, lb_pattern_text(pa), (int)sb.prefix_len,
			 lb_pattern_text(pb));
	else
		snprintf(buf, len, "same literal prefix, fewer wildcards (%zu against %zu)",
			 sa.wildcards, sb.wildcards);
}

void lb_rule_why(const struct lb_rule *a, const struct lb_rule *b, char *buf, size_t len)
{
	unsigned da = a->src ? a->src->depth : 0, db = b->src ? b->src->depth : 0;
	if (is_explicit(a) != is_explicit(b))
		snprintf(buf, len, "the implicit grants only decide what no rule matches");
	else if (rule_spec(a) != rule_spec(b))
		spec_words(a, b, buf, len);
	else if (da != db && da == 0)
		snprintf(buf, len, "as specific, and the command line overrides the policy");
	else if (da != db)
		snprintf(buf, len,
			 "as specific, and %s is nearer the top of the includes than %s "
			 "(the including file overrides what it includes)",
			 a->src->file, b->src->file);
	else if (a->verdict != b->verdict)
		snprintf(buf, len,
			 "as specific and from the same level of includes: %s wins over %s",
			 verdict_word(a->verdict), verdict_word(b->verdict));
	else
		snprintf(buf, len,
			 "the same kind of rule, as specific: the first one read decides");
}

/* ---- indexes ----------------------------------------------------------------------------- */

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : alen < blen ? -1 : alen > blen;
}

static int cmp_rule_prefix(const void *x, const void *y)
{
	const struct lb_rule *a = *(const struct lb_rule *const *)x,
			     *b = *(const struct lb_rule *const *)y;
	const char *pa = lb_pattern_prefix(a->pat), *pb = lb_pattern_prefix(b->pat);
	int c = cmp_bytes(pa, strlen(pa), pb, strlen(pb));
	return c ? c : lb_rule_beats(a, b) ? -1 : lb_rule_beats(b, a);
}

/* Which rules can decide an access of class cls: its own, every hide and,
 * for stat, the grants of read (read implies stat; a `deny read` keeps the
 * content, not the existence). cls LB_CLASS_HIDE: the hide rules alone. */
bool lb_rule_judges(const struct lb_rule *r, unsigned cls)
{
	if (!is_file_class(cls) && cls != LB_CLASS_HIDE)
		return r->cls == cls;
	if (r->cls == cls || (r->cls == LB_CLASS_HIDE && cls != LB_CLASS_HIDE))
		return true;
	return cls == LB_CLASS_STAT && r->cls == LB_CLASS_READ && is_grant(r);
}

static int index_build(struct lb_policy *p, unsigned cls, struct lb_index *ix)
{
	for (size_t i = 0; i < p->n_rules; i++)
		ix->n += lb_rule_judges(&p->rules[i], cls);
	if (ix->n == 0)
		return 0;
	ix->rules = calloc(ix->n, sizeof(*ix->rules));
	ix->buckets = calloc(ix->n, sizeof(*ix->buckets));
	if (!ix->rules || !ix->buckets)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		if (lb_rule_judges(&p->rules[i], cls))
			ix->rules[k++] = &p->rules[i];
	qsort(ix->rules, ix->n, sizeof(*ix->rules), cmp_rule_prefix);
	for (size_t i = 0; i < ix->n; i++) {
		const char *pre = lb_pattern_prefix(ix->rules[i]->pat);
		struct lb_bucket *last = ix->n_buckets ? &ix->buckets[ix->n_buckets - 1] : NULL;
		if (last && strcmp(last->prefix, pre) == 0) {
			last->end = i + 1;
			continue;
		}
		ix->buckets[ix->n_buckets++] = (struct lb_bucket){pre, strlen(pre), i, i + 1};
	}
	return 0;
}

static const struct lb_bucket *index_find(const struct lb_index *ix, const char *s, size_t len)
{
	size_t lo = 0, hi = ix->n_buckets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_bytes(ix->buckets[mid].prefix, ix->buckets[mid].len, s, len);
		if (c == 0)
			return &ix->buckets[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The bucket's rules come best first: the first that matches is the
 * bucket's winner, and once one cannot beat *best none after it can. */
static void scan_bucket(const struct lb_index *ix, const char *path, size_t len,
			const struct lb_rule **best)
{
	const struct lb_bucket *bk = index_find(ix, path, len);
	for (size_t i = bk ? bk->start : 0; bk && i < bk->end; i++) {
		const struct lb_rule *r = ix->rules[i];
		if (*best && !lb_rule_beats(r, *best))
			return;
		if (lb_pattern_match(r->pat, path)) {
			*best = r;
			return;
		}
	}
}

/* Only rules whose literal prefix is a leading part of the path can match. */
static const struct lb_rule *scan_index(const struct lb_index *ix, const char *path)
{
	const struct lb_rule *best = NULL;
	if (ix->n == 0)
		return NULL;
	size_t len = strlen(path);
	scan_bucket(ix, path, 1, &best);
	for (size_t i = 2; len > 1 && i <= len; i++)
		if (i == len || path[i] == '/')
			scan_bucket(ix, path, i, &best);
	return best;
}

static void decide(const struct lb_rule *r, struct lb_decision *out)
{
	if (!r) {
		*out =
		    (struct lb_decision){.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_DEFAULT};
		return;
	}
	*out = (struct lb_decision){.verdict = r->verdict,
				    .origin = r->origin,
				    .file = r->src ? r->src->file : NULL,
				    .line = r->line};
}

void lb_policy_set_outer(struct lb_policy *p, const struct lb_policy *outer, bool outer_audit)
{
	p->outer = outer;
	p->outer_audit = outer_audit;
}

const struct lb_policy *lb_policy_outer(const struct lb_policy *p)
{
	return p && p->outer && !p->outer_audit ? p->outer : NULL;
}

static bool refuses(const struct lb_decision *d)
{
	return d->verdict == LB_VERDICT_DENY || d->verdict == LB_VERDICT_HIDE;
}

void lb_policy_judge_path(const struct lb_policy *p, enum lb_class cls, const char *path,
			  struct lb_decision *out)
{
	if (lb_policy_outer(p)) {
		lb_policy_judge_path(p->outer, cls, path, out);
		if (refuses(out)) {
			out->outer = true;
			return;
		}
	}
	lb_policy_judge_own(p, cls, path, out);
}

void lb_policy_judge_own(const struct lb_policy *p, enum lb_class cls, const char *path,
			 struct lb_decision *out)
{
	const struct lb_rule *best = NULL;
	if (p && path && path[0] == '/' && is_file_class(cls))
		best = scan_index(&p->index[cls], path);
	decide(best, out);
}

/* Is one of a, b a leading part (whole components) of the other? */
static bool related(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	const char *s = la < lb ? a : b, *l = la < lb ? b : a;
	size_t ls = la < lb ? la : lb;
	if (strcmp(s, "/") == 0)
		return true;
	return strncmp(s, l, ls) == 0 && (l[ls] == '\0' || l[ls] == '/');
}

bool lb_policy_hides_below(const struct lb_policy *p, const char *dir)
{
	if (lb_policy_outer(p) && lb_policy_hides_below(p->outer, dir))
		return true;
	const struct lb_index *ix = &p->index[LB_CLASS_HIDE];
	for (size_t i = 0; i < ix->n_buckets; i++)
		if (related(ix->buckets[i].prefix, dir))
			return true;
	return false;
}

bool lb_policy_rules_below(const struct lb_policy *p, const char *dir)
{
	if (lb_policy_outer(p) && lb_policy_rules_below(p->outer, dir))
		return true;
	size_t len = strlen(dir);
	for (unsigned c = LB_CLASS_READ; c <= LB_CLASS_HIDE; c++) {
		if (c > LB_CLASS_STAT && c != LB_CLASS_HIDE)
			continue;
		const struct lb_index *ix = &p->index[c];
		for (size_t i = 0; i < ix->n_buckets; i++) {
			const char *pre = ix->buckets[i].prefix;
			if (len == 1 ? pre[1] != '\0'
				     : strncmp(pre, dir, len) == 0 && pre[len] == '/')
				return true;
		}
	}
	return false;
}

bool lb_policy_subtrees_differ(const struct lb_policy *p, const char *a, const char *b)
{
	if (lb_policy_outer(p) && lb_policy_subtrees_differ(p->outer, a, b))
		return true;
	for (unsigned c = LB_CLASS_READ; c <= LB_CLASS_HIDE; c++) {
		if (c > LB_CLASS_STAT && c != LB_CLASS_HIDE)
			continue;
		const struct lb_index *ix = &p->index[c];
		for (size_t i = 0; i < ix->n; i++)
			if (!lb_pattern_same_below(ix->rules[i]->pat, a, b))
				return true;
	}
	return false;
}

void lb_policy_judge_addr(const struct lb_policy *p, enum lb_class cls,
			  const struct lb_sockaddr_obj *addr, struct lb_decision *out)
{
	if (lb_policy_outer(p)) {
		lb_policy_judge_addr(p->outer, cls, addr, out);
		if (refuses(out)) {
			out->outer = true;
			return;
		}
	}
	const struct lb_rule *best = NULL;
	if (p && addr && (cls == LB_CLASS_CONNECT || cls == LB_CLASS_BIND)) {
		unsigned k = cls == LB_CLASS_BIND;
		for (size_t i = 0; i < p->n_net[k]; i++) {
			const struct lb_rule *r = p->net[k][i];
			if ((!best || lb_rule_beats(r, best)) &&
			    lb_addr_pattern_match(r->addr, addr))
				best = r;
		}
	}
	decide(best, out);
}

/* A host name may be resolved when some allow or audit connect rule
 * covers it (a name pattern, `*` as host, the lone `*`) and no deny rule
 * covering it takes all of that rule's ports with at least its
 * specificity: ports do not exist in a DNS query, so a name is refused
 * only when no connect to it could be allowed. */
static bool shadowed_for_name(const struct lb_policy *p, const struct lb_rule *grant,
			      const char *name)
{
	for (size_t i = 0; i < p->n_net[0]; i++) {
		const struct lb_rule *r = p->net[0][i];
		if (r->verdict == LB_VERDICT_DENY && lb_rule_beats(r, grant) &&
		    lb_addr_pattern_ports_cover(r->addr, grant->addr) &&
		    lb_addr_pattern_match_name(r->addr, name))
			return true;
	}
	return false;
}

void lb_policy_judge_name(const struct lb_policy *p, const char *name, struct lb_decision *out)
{
	/* A nested domain: a name goes upstream only when the enclosing
	 * policy would resolve it too (a query is data leaving the sandbox). */
	if (lb_policy_outer(p)) {
		lb_policy_judge_name(p->outer, name, out);
		if (out->verdict != LB_VERDICT_ALLOW && out->verdict != LB_VERDICT_AUDIT) {
			out->outer = true;
			return;
		}
	}
	const struct lb_rule *grant = NULL, *refusal = NULL;
	for (size_t i = 0; p && i < p->n_net[0]; i++) {
		const struct lb_rule *r = p->net[0][i];
		if (!lb_addr_pattern_match_name(r->addr, name))
			continue;
		if (r->verdict == LB_VERDICT_DENY) {
			if (!refusal || lb_rule_beats(r, refusal))
				refusal = r;
		} else if ((!grant || lb_rule_beats(r, grant)) && !shadowed_for_name(p, r, name)) {
			grant = r;
		}
	}
	decide(grant ? grant : refusal, out);
}

bool lb_policy_names_unix(const struct lb_policy *p, enum lb_class cls, const char *path)
{
	if (!p || (cls != LB_CLASS_CONNECT && cls != LB_CLASS_BIND))
		return false;
	if (lb_policy_outer(p) && !lb_policy_names_unix(p->outer, cls, path))
		return false;
	unsigned k = cls == LB_CLASS_BIND;
	for (size_t i = 0; i < p->n_net[k]; i++) {
		const struct lb_rule *r = p->net[k][i];
		if (r->verdict != LB_VERDICT_DENY && lb_addr_pattern_names_unix(r->addr, path))
			return true;
	}
	return false;
}

/* ---- syscall table ------------------------------------------------------------------------ */

static int build_syscalls(struct lb_policy *p)
{
	p->sys = calloc(p->n_rules + 1, sizeof(*p->sys));
	if (!p->sys)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *r = &p->rules[i];
		if (r->cls != LB_CLASS_SYSCALL)
			continue;
		struct lb_syscall_rule *s = NULL;
		for (size_t k = 0; k < p->n_sys && !s; k++)
			if (p->sys[k].nr == r->nr)
				s = &p->sys[k];
		if (s && verdict_rank(s->verdict) >= verdict_rank(r->verdict))
			continue;
		if (!s)
			s = &p->sys[p->n_sys++];
		*s = (struct lb_syscall_rule){.name = r->word,
					      .nr = r->nr,
					      .verdict = r->verdict,
					      .file = r->src ? r->src->file : NULL,
					      .line = r->line};
	}
	return 0;
}

size_t lb_policy_syscall_rules(const struct lb_policy *p, const struct lb_syscall_rule **out)
{
	*out = p->sys;
	return p->n_sys;
}

bool lb_policy_allows_dangerous(const struct lb_policy *p, const char *name)
{
	if (p->outer && !lb_policy_allows_dangerous(p->outer, name))
		return false;
	for (size_t i = 0; i < p->n_sys; i++)
		if (strcmp(p->sys[i].name, name) == 0)
			return p->sys[i].verdict != LB_VERDICT_DENY;
	return false;
}

/* ---- grant prefixes ------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool grants(const struct lb_rule *r, unsigned cls)
{
	return is_grant(r) && (r->cls == cls || (cls == LB_CLASS_STAT && r->cls == LB_CLASS_READ));
}

static int build_prefixes(struct lb_policy *p, unsigned cls)
{
	const char **v = calloc(p->n_rules + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		if (grants(&p->rules[i], cls))
			v[n++] = lb_pattern_prefix(p->rules[i].pat);
	qsort(v, n, sizeof(*v), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
			v[u++] = v[i];
	p->prefixes[cls] = v;
	p->n_prefixes[cls] = u;
	return 0;
}

/* ---- fast mediation ------------------------------------------------------------------------- */

enum lb_mediation lb_policy_mediation(const struct lb_policy *p)
{
	return p->mediation;
}

int lb_policy_file_grants(const struct lb_policy *p, struct lb_file_grant **out, size_t *n)
{
	*n = 0;
	*out = calloc(p->n_rules + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *r = &p->rules[i];
		if (is_file_class(r->cls) && is_grant(r))
			(*out)[(*n)++] = (struct lb_file_grant){
			    .cls = (enum lb_class)r->cls, .verdict = r->verdict, .pat = r->pat};
	}
	return 0;
}

/* Can r decide something at or below dir? */
static bool reaches_below(const struct lb_rule *r, const char *dir)
{
	const char *pre = lb_pattern_prefix(r->pat);
	if (!lb_pattern_is_literal(r->pat))
		return related(pre, dir);
	size_t len = strlen(dir);
	return strcmp(dir, "/") == 0 ||
	       (strncmp(pre, dir, len) == 0 && (pre[len] == '\0' || pre[len] == '/'));
}

static bool covers_subtree(const struct lb_rule *r, const char *dir)
{
	const char *pre = lb_pattern_prefix(r->pat);
	size_t len = strlen(pre);
	if (r->verdict != LB_VERDICT_ALLOW || lb_pattern_shape(r->pat) != LB_SHAPE_SUBTREE)
		return false;
	return strcmp(pre, "/") == 0 ||
	       (strncmp(dir, pre, len) == 0 && (dir[len] == '\0' || dir[len] == '/'));
}

static const struct lb_rule *uniform_blocker(const struct lb_policy *p, enum lb_class cls,
					     const char *dir, bool (*absent)(const char *path))
{
	const struct lb_index *ix = &p->index[cls];
	for (size_t i = 0; i < ix->n; i++) {
		const struct lb_rule *r = ix->rules[i];
		if (r->cls == LB_CLASS_HIDE && absent && absent(lb_pattern_prefix(r->pat)))
			continue;
		if (reaches_below(r, dir) && r->verdict != LB_VERDICT_ALLOW)
			return r;
	}
	return NULL;
}

void lb_policy_uniform_blocker(const struct lb_policy *p, enum lb_class cls, const char *dir,
			       bool (*absent)(const char *path), char *buf, size_t len)
{
	const struct lb_rule *r = is_file_class(cls) ? uniform_blocker(p, cls, dir, absent) : NULL;
	static const char *const verdicts[] = {"allow", "audit", "deny", "hide"};
	if (!r)
		snprintf(buf, len, "%s", "");
	else if (r->cls == LB_CLASS_HIDE)
		snprintf(buf, len, "hide %s", r->word);
	else
		snprintf(buf, len, "%s %s %s", verdicts[r->verdict],
			 lb_class_name((enum lb_class)r->cls), r->word);
}

bool lb_policy_uniform_below(const struct lb_policy *p, enum lb_class cls, const char *dir,
			     bool (*absent)(const char *path))
{
	if (p->outer || !is_file_class(cls))
		return false;
	const struct lb_index *ix = &p->index[cls];
	bool covered = false;
	for (size_t i = 0; i < ix->n; i++) {
		const struct lb_rule *r = ix->rules[i];
		if (r->cls == LB_CLASS_HIDE && absent && absent(lb_pattern_prefix(r->pat)))
			continue;
		if (reaches_below(r, dir) && r->verdict != LB_VERDICT_ALLOW)
			return false;
		covered = covered || covers_subtree(r, dir);
	}
	return covered;
}

const char **lb_policy_unix_prefixes(const struct lb_policy *p)
{
	const char **v = calloc(p->n_rules + 1, sizeof(*v));
	if (!v)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *r = &p->rules[i];
		const char *pre = (r->cls == LB_CLASS_CONNECT || r->cls == LB_CLASS_BIND) && r->addr
				      ? lb_addr_pattern_unix_prefix(r->addr)
				      : NULL;
		if (pre)
			v[n++] = pre;
	}
	return v;
}

size_t lb_policy_cwd_grants_left_out(const struct lb_policy *p)
{
	return p->n_cwd_left_out;
}

size_t lb_policy_grant_prefixes(const struct lb_policy *p, enum lb_class cls,
				const char *const **out)
{
	if (!is_file_class(cls) || !p->prefixes[cls]) {
		static const char *const none[] = {NULL};
		*out = none;
		return 0;
	}
	*out = p->prefixes[cls];
	return p->n_prefixes[cls];
}

/* ---- load and free ----------------------------------------------------------------------------
 */

static int build(struct lb_policy *p)
{
	int rc = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		p->rules[i].prio = rule_prio(&p->rules[i]);
	for (unsigned c = LB_CLASS_READ; rc == 0 && c <= LB_CLASS_STAT; c++)
		rc = index_build(p, c, &p->index[c]);
	if (rc == 0)
		rc = index_build(p, LB_CLASS_HIDE, &p->index[LB_CLASS_HIDE]);
	for (unsigned k = 0; rc == 0 && k < 2; k++) {
		unsigned cls = k ? LB_CLASS_BIND : LB_CLASS_CONNECT;
		if (!(p->net[k] = calloc(p->n_rules + 1, sizeof(*p->net[k]))))
			return -ENOMEM;
		for (size_t i = 0; i < p->n_rules; i++)
			if (p->rules[i].cls == cls)
				p->net[k][p->n_net[k]++] = &p->rules[i];
	}
	if (rc == 0)
		rc = build_syscalls(p);
	for (unsigned c = LB_CLASS_READ; rc == 0 && c <= LB_CLASS_STAT; c++)
		rc = build_prefixes(p, c);
	return rc;
}

int lb_policy_load(const struct lb_policy_inputs *in, struct lb_policy **out,
		   struct lb_diags *diags)
{
	struct lb_diags scratch = {0};
	struct lb_diags *d = diags ? diags : &scratch;
	*out = NULL;
	struct lb_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->implicit = true;
	int rc = lb_parse(p, in, d);
	if (rc == 0)
		rc = build(p);
	if (rc == 0 && in->lint)
		rc = lb_policy_lint(p, &in->vars, d);
	lb_diags_free(&scratch);
	if (rc < 0) {
		lb_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

size_t lb_policy_files(const struct lb_policy *p, const struct lb_policy_file **out)
{
	*out = p->files;
	return p->n_files;
}

void lb_policy_free(struct lb_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].word);
		free(p->rules[i].word2);
		lb_pattern_free(p->rules[i].pat);
		lb_addr_pattern_free(p->rules[i].addr);
	}
	free(p->rules);
	for (size_t i = 0; i < p->n_srcs; i++) {
		free(p->srcs[i]->file);
		free(p->srcs[i]->chain);
		free(p->srcs[i]);
	}
	free(p->srcs);
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].path);
		free(p->files[i].named);
		free(p->files[i].text);
	}
	free(p->files);
	for (size_t i = 0; i < LB_ARRAY_SIZE(p->index); i++) {
		free(p->index[i].rules);
		free(p->index[i].buckets);
	}
	free(p->net[0]);
	free(p->net[1]);
	free(p->sys);
	for (size_t i = 0; i < LB_CLASS__COUNT; i++)
		free(p->prefixes[i]);
	for (size_t i = 0; i < p->n_env; i++)
		free((char *)p->env[i].arg);
	free(p->env);
	free(p->log);
	free(p);
}

/* ---- getters ------------------------------------------------------------------------------------
 */

enum lb_mode lb_policy_mode(const struct lb_policy *p)
{
	return p->mode;
}

enum lb_on_deny lb_policy_on_deny(const struct lb_policy *p)
{
	if (lb_policy_outer(p) && lb_policy_on_deny(p->outer) == LB_ON_DENY_KILL)
		return LB_ON_DENY_KILL;
	return p->on_deny;
}

const char *lb_policy_log_path(const struct lb_policy *p)
{
	return p->log;
}

bool lb_policy_implicit_grants(const struct lb_policy *p)
{
	return p->implicit;
}

const struct lb_limits *lb_policy_limits(const struct lb_policy *p)
{
	return &p->limits;
}

size_t lb_policy_env_ops(const struct lb_policy *p, const struct lb_env_op **out)
{
	*out = p->env;
	return p->n_env;
}

/* ---- environment
 * ---------------------------------------------------------------------------------- */

struct env_vec {
	char **v;
	size_t n, cap;
};

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

static void env_remove(struct env_vec *e, const char *name, size_t len)
{
	for (size_t i = 0; i < e->n; i++) {
		if (name_len(e->v[i]) == len && strncmp(e->v[i], name, len) == 0) {
			free(e->v[i]);
			e->v[i--] = e->v[--e->n];
		}
	}
}

static int env_put(struct env_vec *e, const char *entry)
{
	env_remove(e, entry, name_len(entry));
	if (e->n + 1 >= e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		char **v = realloc(e->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	if (!(e->v[e->n] = strdup(entry)))
		return -ENOMEM;
	e->n++;
	return 0;
}

/* `env keep NAME` (a glob) copies matching variables from envp. */
static int env_keep(struct env_vec *e, const char *glob, char *const *envp)
{
	for (size_t i = 0; envp && envp[i]; i++) {
		size_t len = name_len(envp[i]);
		char name[256];
		if (len >= sizeof(name))
			continue;
		memcpy(name, envp[i], len);
		name[len] = '\0';
		if (fnmatch(glob, name, 0) == 0 && env_put(e, envp[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* `env clear` anywhere starts from nothing; `env keep` then brings the
 * named variables back; `env set` applies last, in order, so a set always
 * wins over a kept value. Without `env clear`, keep changes nothing. */
char **lb_policy_build_env(const struct lb_policy *p, char *const *envp)
{
	struct env_vec e = {.v = calloc(32, sizeof(char *)), .cap = 32};
	bool cleared = false;
	int rc = e.v ? 0 : -ENOMEM;
	for (size_t i = 0; i < p->n_env; i++)
		cleared |= p->env[i].kind == LB_ENV_CLEAR;
	for (size_t i = 0; rc == 0 && !cleared && envp && envp[i]; i++)
		rc = env_put(&e, envp[i]);
	for (size_t i = 0; rc == 0 && cleared && i < p->n_env; i++)
		if (p->env[i].kind == LB_ENV_KEEP)
			rc = env_keep(&e, p->env[i].arg, envp);
	for (size_t i = 0; rc == 0 && i < p->n_env; i++)
		if (p->env[i].kind == LB_ENV_SET)
			rc = env_put(&e, p->env[i].arg);
	if (rc < 0) {
		for (size_t i = 0; i < e.n; i++)
			free(e.v[i]);
		free(e.v);
		return NULL;
	}
	e.v[e.n] = NULL;
	return e.v;
}

void lb_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* ---- lint
 * ------------------------------------------------------------------------------------------ */

static bool user_rule(const struct lb_rule *r)
{
	return r->origin == LB_ORIGIN_POLICY && r->src && !r->src->builtin;
}

__attribute__((format(printf, 3, 4))) static int warn(struct lb_diags *d, const struct lb_rule *r,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = lb_diag_addv(d, LB_DIAG_WARNING, r->src, r->line, r->col, fmt, ap);
	va_end(ap);
	return rc;
}

static bool same_object(const struct lb_rule *a, const struct lb_rule *b)
{
	if (a->cls != b->cls || strcmp(a->word, b->word) != 0)
		return false;
	return (!a->word2 && !b->word2) ||
	       (a->word2 && b->word2 && strcmp(a->word2, b->word2) == 0);
}

static bool covers(const struct lb_rule *a, const struct lb_rule *b)
{
	if (a->pat && b->pat)
		return lb_pattern_covers(a->pat, b->pat);
	if (a->addr && b->addr)
		return lb_addr_pattern_covers(a->addr, b->addr);
	return a->cls == LB_CLASS_SYSCALL && a->nr == b->nr;
}

static const char *where(const struct lb_rule *r, char *buf, size_t len)
{
	return lb_rule_where(r, buf, len);
}

/* Can q decide an access that r would decide? (They meet in one index.) */
static bool competes(const struct lb_rule *q, const struct lb_rule *r)
{
	if (r->cls == LB_CLASS_HIDE || !is_file_class(r->cls))
		return q->cls == r->cls;
	if (q->cls == LB_CLASS_HIDE)
		return true;
	if (r->cls == LB_CLASS_READ && is_grant(r)) /* it decides stat too */
		return q->cls == LB_CLASS_READ && is_grant(q);
	return q->cls == r->cls ||
	       (r->cls == LB_CLASS_STAT && q->cls == LB_CLASS_READ && is_grant(q));
}

void lb_rule_text(const struct lb_rule *r, char *buf, size_t len)
{
	if (r->cls == LB_CLASS_HIDE)
		snprintf(buf, len, "hide %s", r->word);
	else
		snprintf(buf, len, "%s %s %s%s%s", verdict_word(r->verdict),
			 lb_class_name((enum lb_class)r->cls), r->word, r->word2 ? " " : "",
			 r->word2 ? r->word2 : "");
}

const struct lb_rule *lb_rule_shadow(const struct lb_policy *p, const struct lb_rule *r)
{
	if (r->cls == LB_CLASS_SYSCALL)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *q = &p->rules[i];
		if (is_explicit(q) && q != r && competes(q, r) && covers(q, r) &&
		    lb_rule_beats(q, r))
			return q;
	}
	return NULL;
}

/* In `policy show`'s flat text every rule is at one level of includes:
 * r can never decide there when a rule printed too matches everything it
 * matches and wins, by Decisions rule 2 without the include depth. */
const struct lb_rule *lb_rule_shadow_flat(const struct lb_policy *p, const struct lb_rule *r)
{
	const uint64_t depth = 0xffull << 4;
	if (r->cls == LB_CLASS_SYSCALL)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *q = &p->rules[i];
		uint64_t qp = q->prio & ~depth, rp = r->prio & ~depth;
		if (is_explicit(q) && q != r && competes(q, r) && covers(q, r) &&
		    (qp > rp || (qp == rp && q->seq < r->seq)) && !lb_rule_shadow(p, q))
			return q;
	}
	return NULL;
}

/* A rule that can never decide anything: a duplicate, or a rule that
 * matches everything it matches and wins wherever both match (Decisions,
 * rule 2). System calls: a deny of the same name wins. */
static int lint_dead(const struct lb_policy *p, const struct lb_rule *r, struct lb_diags *d)
{
	char at[512], text[1024], why[1024];
	for (size_t i = 0; i < r->seq; i++) {
		const struct lb_rule *q = &p->rules[i];
		if (q->origin == LB_ORIGIN_POLICY && q->verdict == r->verdict && same_object(q, r))
			return warn(d, r, "duplicate rule: the same as %s",
				    where(q, at, sizeof(at)));
	}
	for (size_t i = 0; r->cls == LB_CLASS_SYSCALL && is_grant(r) && i < p->n_rules; i++) {
		const struct lb_rule *q = &p->rules[i];
		if (q->cls == LB_CLASS_SYSCALL && q->verdict == LB_VERDICT_DENY && q->nr == r->nr)
			return warn(d, r,
				    "this rule can never take effect: 'deny syscall %s' (%s) wins "
				    "over it",
				    q->word, where(q, at, sizeof(at)));
	}
	const struct lb_rule *q = lb_rule_shadow(p, r);
	if (q) {
		lb_rule_text(q, text, sizeof(text));
		lb_rule_why(q, r, why, sizeof(why));
		return warn(d, r,
			    "this rule can never decide anything: '%s' (%s) matches everything "
			    "it matches and decides instead (%s)",
			    text, where(q, at, sizeof(at)), why);
	}
	return 1;
}

static bool world_writable_exec(const struct lb_rule *r, const struct lb_policy_vars *vars,
				char *buf, size_t len)
{
	const char *dirs[] = {vars->tmpdir ? vars->tmpdir : "/tmp", "/tmp", "/var/tmp", "/dev/shm"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(dirs); i++) {
		snprintf(buf, len, "%s/litebox-lint-probe", dirs[i]);
		if (lb_pattern_match(r->pat, buf)) {
			snprintf(buf, len, "%s", dirs[i]);
			return true;
		}
	}
	return false;
}

/* Grants so wide that the policy stops bounding what the program does. */
static int lint_broad(const struct lb_policy *p, const struct lb_rule *r,
		      const struct lb_policy_vars *vars, struct lb_diags *d)
{
	char buf[4096], at[512];
	if (r->verdict != LB_VERDICT_ALLOW && r->verdict != LB_VERDICT_AUDIT)
		return 0;
	bool top =
	    r->pat && strcmp(lb_pattern_prefix(r->pat), "/") == 0 && !lb_pattern_is_literal(r->pat);
	if (r->cls == LB_CLASS_WRITE && top)
		return warn(d, r,
			    "'%s write %s' grants write nearly everywhere: the program can change "
			    "system files "
			    "and everything in your home directory",
			    verdict_word(r->verdict), r->word);
	if (r->cls == LB_CLASS_READ && top)
		return warn(
		    d, r,
		    "'%s read %s' grants read nearly everywhere, including credentials in your "
		    "home "
		    "directory (~/.ssh, cloud and package-registry tokens) unless they are hidden",
		    verdict_word(r->verdict), r->word);
	if ((r->cls == LB_CLASS_CONNECT || r->cls == LB_CLASS_BIND) && !r->word2)
		return warn(d, r,
			    "'%s %s *' grants every address of every family: the program can reach "
			    "any host",
			    verdict_word(r->verdict), lb_class_name(r->cls));
	if (r->cls == LB_CLASS_SYSCALL && lb_is_dangerous(r->word))
		return warn(
		    d, r,
		    "'%s' belongs to the dangerous set (it can cross the sandbox boundary); "
		    "allow it only if you know the program needs it",
		    r->word);
	if (r->cls == LB_CLASS_SYSCALL && r->verdict == LB_VERDICT_ALLOW &&
	    lb_is_builtin_refused(r->word))
		return warn(d, r,
			    "'allow syscall %s' lifts litebox's built-in refusal of it (see "
			    "docs/security.md); the kernel still decides, with the program's "
			    "capabilities",
			    r->word);
	if (r->cls == LB_CLASS_SYSCALL && r->verdict == LB_VERDICT_ALLOW)
		return warn(
		    d, r,
		    "'allow syscall %s' has no effect: system calls are allowed unless denied",
		    r->word);
	if (r->cls != LB_CLASS_EXEC)
		return 0;
	if (world_writable_exec(r, vars, buf, sizeof(buf)))
		return warn(d, r,
			    "exec from %s, which every process may write: anything dropped there "
			    "(by this program "
			    "or any other) can be run, so exec rules no longer bound what runs",
			    buf);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *w = &p->rules[i];
		if (w->cls == LB_CLASS_WRITE && w->origin == LB_ORIGIN_POLICY &&
		    grants(w, LB_CLASS_WRITE) && (covers(w, r) || covers(r, w)))
			return warn(d, r,
				    "exec where the policy also grants write ('%s write %s', %s): "
				    "the program can "
				    "write a file there and run it, so exec rules no longer bound "
				    "what runs",
				    verdict_word(w->verdict), w->word, where(w, at, sizeof(at)));
	}
	return 0;
}

static int lint_env(const struct lb_policy *p, struct lb_diags *d)
{
	bool cleared = false, kept = false;
	for (size_t i = 0; i < p->n_env; i++) {
		cleared |= p->env[i].kind == LB_ENV_CLEAR;
		kept |= p->env[i].kind == LB_ENV_KEEP;
	}
	if (kept && !cleared && p->n_srcs)
		return lb_diag_add(
		    d, LB_DIAG_WARNING, p->srcs[0], 0, 0,
		    "'env keep' has no effect without 'env clear' (the environment is kept whole)");
	return 0;
}

/* A refusal that does not take back a more specific grant of a file it
 * includes (`include default` + `deny connect *`: the profile's loopback
 * grant still decides). Within one file that is the point of writing both. */
static int lint_narrow(const struct lb_policy *p, const struct lb_rule *r, struct lb_diags *d)
{
	char at[512], text[1024], mine[1024];
	if (is_grant(r) || r->cls == LB_CLASS_SYSCALL || !r->src)
		return 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *q = &p->rules[i];
		if (!is_explicit(q) || !is_grant(q) || !q->src || q->src->depth <= r->src->depth ||
		    !competes(q, r) || !covers(r, q) || !lb_rule_beats(q, r))
			continue;
		lb_rule_text(q, text, sizeof(text));
		lb_rule_text(r, mine, sizeof(mine));
		return warn(d, r,
			    "'%s' does not take back '%s' (%s): that rule is more specific and "
			    "still decides what it matches; refuse it as specifically",
			    mine, text, where(q, at, sizeof(at)));
	}
	return 0;
}

int lb_policy_lint(const struct lb_policy *p, const struct lb_policy_vars *vars, struct lb_diags *d)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *r = &p->rules[i];
		if (!user_rule(r))
			continue;
		int rc = lint_dead(p, r, d);
		if (rc == 1) /* it can decide: is it what it seems? */
			rc = lint_narrow(p, r, d) < 0 ? -ENOMEM : lint_broad(p, r, vars, d);
		if (rc < 0)
			return rc;
	}
	return lint_env(p, d);
}
