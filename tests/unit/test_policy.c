/* SPDX-License-Identifier: MIT */
/* The policy language: a fixture policy and the verdict each access gets
 * (in the style of libseccomp's tests/NN-sim-*), a table of malformed
 * inputs and where they are reported, includes, show's round trip,
 * limits, environment, the built-in profiles, lint, and speed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../policy/internal.h" /* the rules, for the brute-force oracle */
#include "litebox/policy.h"

#ifndef LB_SOURCE_ROOT
#define LB_SOURCE_ROOT "."
#endif

static const struct lb_policy_vars vars = {
    .cwd = "/work/proj",
    .home = "/home/u",
    .tmpdir = "/tmp",
    .exe = "/usr/bin/prog",
    .exe_dir = "/usr/bin",
};

static int load_text(const char *text, bool lint, struct lb_policy **p, struct lb_diags *d)
{
	struct lb_policy_inputs in = {
	    .source = "t.policy", .text = text, .vars = vars, .lint = lint};
	return lb_policy_load(&in, p, d);
}

static struct lb_policy *must_load(const char *text)
{
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	int rc = load_text(text, false, &p, &d);
	cr_assert_eq(rc, 0, "load failed: %s at %u:%u",
		     d.n ? d.items[0].message : "(no diagnostic)", d.n ? d.items[0].line : 0,
		     d.n ? d.items[0].col : 0);
	lb_diags_free(&d);
	return p;
}

/* ---- decisions ------------------------------------------------------------------------ */

static const char fixture[] = "version 1\n"				   /* 1 */
			      "# a comment; blank line next\n"		   /* 2 */
			      "\n"					   /* 3 */
			      "allow read /usr/** /etc/**\n"		   /* 4 */
			      "deny  read /etc/shadow   # not this\n"	   /* 5 */
			      "audit read /etc/passwd\n"		   /* 6 */
			      "allow write $CWD/**\n"			   /* 7 */
			      "deny  write ${CWD}/.git/**\n"		   /* 8 */
			      "hide $HOME/.ssh\n"			   /* 9 */
			      "allow read $HOME/**\n"			   /* 10 */
			      "allow exec /usr/bin/*\n"			   /* 11 */
			      "allow stat /\n"				   /* 12 */
			      "allow read /etc/hosts\n"			   /* 13 */
			      "allow connect tcp 127.0.0.1:5432 \\\n"	   /* 14 */
			      "      unix /run/postgresql/.s.PGSQL.5432\n" /* 15 */
			      "allow bind tcp localhost:8000-8099\n"	   /* 16 */
			      "deny connect tcp 127.0.0.1:6666\n"	   /* 17 */
			      "allow connect tcp 127.0.0.0/8:6000-6999\n"  /* 18 */
			      "deny syscall personality\n"		   /* 19 */
			      "allow syscall ptrace\n"			   /* 20 */
			      "audit syscall getpid\n"			   /* 21 */
			      "allow syscall bpf\n"			   /* 22 */
			      "deny syscall bpf\n"			   /* 23 */
			      "allow read \"/data/with space/**\"\n"	   /* 24 */
			      "deny read /data/with*/secret\n"		   /* 25 */
			      "hide \"/data/with space/hidden\"\n";	   /* 26 */

struct path_row {
	enum lb_class cls;
	const char *path;
	enum lb_verdict verdict;
	enum lb_rule_origin origin;
	unsigned line;
};

#define P LB_ORIGIN_POLICY
#define DEF LB_ORIGIN_DEFAULT
#define IMP LB_ORIGIN_IMPLICIT
static const struct path_row path_rows[] = {
    {LB_CLASS_READ, "/usr/lib/libc.so.6", LB_VERDICT_ALLOW, P, 4},
    {LB_CLASS_READ, "/usr", LB_VERDICT_ALLOW, P, 4},
    {LB_CLASS_READ, "/etc/shadow", LB_VERDICT_DENY, P, 5},
    {LB_CLASS_STAT, "/etc/shadow", LB_VERDICT_ALLOW, P, 4}, /* deny read keeps content only */
    {LB_CLASS_READ, "/etc/passwd", LB_VERDICT_AUDIT, P, 6}, /* audit + allow: audit */
    {LB_CLASS_READ, "/etc/hosts", LB_VERDICT_ALLOW, P, 13}, /* the exact path decides */
    {LB_CLASS_WRITE, "/work/proj/a.o", LB_VERDICT_ALLOW, P, 7},
    {LB_CLASS_WRITE, "/work/proj/.git/config", LB_VERDICT_DENY, P, 8},
    {LB_CLASS_WRITE, "/work/proj/.git", LB_VERDICT_DENY, P, 8}, /* dir/ ** matches dir */
    {LB_CLASS_WRITE, "/work/proj2/x", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_READ, "/work/proj/a.c", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_READ, "/home/u/.ssh/id_rsa", LB_VERDICT_HIDE, P, 9},
    {LB_CLASS_STAT, "/home/u/.ssh", LB_VERDICT_HIDE, P, 9},
    {LB_CLASS_EXEC, "/home/u/.ssh/x", LB_VERDICT_HIDE, P, 9},
    {LB_CLASS_WRITE, "/home/u/.ssh/known_hosts", LB_VERDICT_HIDE, P, 9},
    {LB_CLASS_READ, "/home/u/.sshx", LB_VERDICT_ALLOW, P, 10},
    {LB_CLASS_READ, "/home/u/notes.txt", LB_VERDICT_ALLOW, P, 10},
    {LB_CLASS_EXEC, "/usr/bin/cc", LB_VERDICT_ALLOW, P, 11},
    {LB_CLASS_EXEC, "/usr/bin/sub/cc", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_EXEC, "/usr/lib/x", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_STAT, "/", LB_VERDICT_ALLOW, P, 12},
    {LB_CLASS_READ, "/", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_STAT, "/usr/include", LB_VERDICT_ALLOW, P, 4}, /* read implies stat */
    {LB_CLASS_READ, "/opt/x", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_WRITE, "/usr/x", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_READ, "relative", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_CONNECT, "/usr/x", LB_VERDICT_DENY, DEF, 0},
    {LB_CLASS_READ, "/data/with space/a", LB_VERDICT_ALLOW, P, 24},
    /* longer literal prefix: "/data/with space/" over "/data/with" */
    {LB_CLASS_READ, "/data/with space/secret", LB_VERDICT_ALLOW, P, 24},
    {LB_CLASS_READ, "/data/with space/hidden/x", LB_VERDICT_HIDE, P, 26},
    {LB_CLASS_READ, "/proc/self/status", LB_VERDICT_ALLOW, IMP, 0},
    {LB_CLASS_WRITE, "/dev/null", LB_VERDICT_ALLOW, IMP, 0},
    {LB_CLASS_STAT, "/dev/urandom", LB_VERDICT_ALLOW, IMP, 0},
    {LB_CLASS_EXEC, "/dev/null", LB_VERDICT_DENY, DEF, 0},
};

Test(policy, path_decisions)
{
	struct lb_policy *p = must_load(fixture);
	for (size_t i = 0; i < sizeof(path_rows) / sizeof(path_rows[0]); i++) {
		const struct path_row *r = &path_rows[i];
		struct lb_decision d;
		lb_policy_judge_path(p, r->cls, r->path, &d);
		cr_expect_eq(d.verdict, r->verdict, "row %zu (%s %s): verdict %d, want %d", i,
			     lb_class_name(r->cls), r->path, d.verdict, r->verdict);
		cr_expect_eq(d.origin, r->origin, "row %zu (%s %s): origin %d, want %d", i,
			     lb_class_name(r->cls), r->path, d.origin, r->origin);
		if (r->origin == P) {
			cr_expect_eq(d.line, r->line, "row %zu (%s %s): line %u, want %u", i,
				     lb_class_name(r->cls), r->path, d.line, r->line);
			cr_expect_str_eq(d.file, "t.policy");
		}
	}
	cr_expect(lb_policy_hides_below(p, "/home/u"));
	cr_expect(lb_policy_hides_below(p, "/"));
	cr_expect(lb_policy_hides_below(p, "/home/u/.ssh/sub"));
	cr_expect_not(lb_policy_hides_below(p, "/usr"));
	cr_expect_not(lb_policy_hides_below(p, "/home/u2"));
	lb_policy_free(p);
}

struct addr_row {
	enum lb_class cls;
	enum lb_addr_kind kind;
	const char *ip; /* dotted quad, or the unix path */
	uint16_t port;
	enum lb_verdict verdict;
	unsigned line; /* 0: the default refusal */
};

static const struct addr_row addr_rows[] = {
    {LB_CLASS_CONNECT, LB_ADDR_TCP, "127.0.0.1", 5432, LB_VERDICT_ALLOW, 14},
    {LB_CLASS_CONNECT, LB_ADDR_UDP, "127.0.0.1", 5432, LB_VERDICT_DENY, 0},
    {LB_CLASS_CONNECT, LB_ADDR_UNIX_PATH, "/run/postgresql/.s.PGSQL.5432", 0, LB_VERDICT_ALLOW, 15},
    {LB_CLASS_CONNECT, LB_ADDR_UNIX_PATH, "/run/other.sock", 0, LB_VERDICT_DENY, 0},
    {LB_CLASS_CONNECT, LB_ADDR_TCP, "127.0.0.1", 6666, LB_VERDICT_DENY, 17}, /* deny before allow */
    {LB_CLASS_CONNECT, LB_ADDR_TCP, "127.0.0.1", 6001, LB_VERDICT_ALLOW, 18},
    {LB_CLASS_CONNECT, LB_ADDR_TCP, "10.0.0.1", 80, LB_VERDICT_DENY, 0},
    {LB_CLASS_BIND, LB_ADDR_TCP, "127.0.0.1", 8080, LB_VERDICT_ALLOW, 16},
    {LB_CLASS_BIND, LB_ADDR_TCP, "127.0.0.1", 9000, LB_VERDICT_DENY, 0},
    {LB_CLASS_BIND, LB_ADDR_TCP, "127.0.0.1", 5432, LB_VERDICT_DENY, 0}, /* connect rules only */
};

static void make_addr(const struct addr_row *r, struct lb_sockaddr_obj *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = r->kind;
	if (r->kind == LB_ADDR_UNIX_PATH) {
		a->name = r->ip;
		a->name_len = strlen(r->ip);
		return;
	}
	unsigned b[4];
	cr_assert_eq(sscanf(r->ip, "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]), 4);
	a->is_v4 = true;
	for (int i = 0; i < 4; i++)
		a->ip[i] = (uint8_t)b[i];
	a->port = r->port;
}

Test(policy, addr_decisions)
{
	struct lb_policy *p = must_load(fixture);
	for (size_t i = 0; i < sizeof(addr_rows) / sizeof(addr_rows[0]); i++) {
		const struct addr_row *r = &addr_rows[i];
		struct lb_sockaddr_obj a;
		struct lb_decision d;
		make_addr(r, &a);
		lb_policy_judge_addr(p, r->cls, &a, &d);
		cr_expect_eq(d.verdict, r->verdict, "row %zu (%s %s:%u): verdict %d", i,
			     lb_class_name(r->cls), r->ip, r->port, d.verdict);
		cr_expect_eq(d.origin, r->line ? LB_ORIGIN_POLICY : LB_ORIGIN_DEFAULT,
			     "row %zu: origin", i);
		cr_expect_eq(d.line, r->line, "row %zu: line %u, want %u", i, d.line, r->line);
	}
	lb_policy_free(p);
}

/* ---- specificity: the most specific rule decides (Decisions, rule 2) ------------------------- */

#define PROF 1000 /* line: decided by the built-in default profile */

struct spec_row {
	const char *text;
	enum lb_class cls;
	const char *path;
	enum lb_verdict verdict;
	unsigned line; /* 0: nothing matched; PROF: the default profile */
};

static const struct spec_row spec_rows[] = {
    /* an exact path beats every pattern, either way round */
    {"allow read /a/**\ndeny read /a/b\n", LB_CLASS_READ, "/a/b", LB_VERDICT_DENY, 2},
    {"deny read /a/**\nallow read /a/b\n", LB_CLASS_READ, "/a/b", LB_VERDICT_ALLOW, 2},
    {"deny read /a/**\nallow read /a/b\n", LB_CLASS_READ, "/a/b/c", LB_VERDICT_DENY, 1},
    /* the longer literal prefix wins, counted in bytes up to the first wildcard */
    {"deny read /a/**\nallow read /a/b/**\n", LB_CLASS_READ, "/a/b/c", LB_VERDICT_ALLOW, 2},
    {"deny read /a/**\nallow read /a/b/**\n", LB_CLASS_READ, "/a/b", LB_VERDICT_ALLOW, 2},
    {"deny read /a/**\nallow read /a/b/**\n", LB_CLASS_READ, "/a/c", LB_VERDICT_DENY, 1},
    {"deny read /a/b*/**\nallow read /a/**\n", LB_CLASS_READ, "/a/bc/d", LB_VERDICT_DENY, 1},
    {"allow read /a/verylongname*\ndeny read /a/v/**\n", LB_CLASS_READ, "/a/verylongname1",
     LB_VERDICT_ALLOW, 1},
    /* then fewer wildcards */
    {"allow read /a/*/*\ndeny read /a/**\n", LB_CLASS_READ, "/a/b/c", LB_VERDICT_DENY, 2},
    {"deny read /a/x*y*z\nallow read /a/x*\n", LB_CLASS_READ, "/a/xyz", LB_VERDICT_ALLOW, 2},
    {"deny read /a/x*y*z\nallow read /a/x*\n", LB_CLASS_READ, "/a/xyzz", LB_VERDICT_ALLOW, 2},
    /* as specific, same file: hide, then deny, then audit, then allow; order does not matter */
    {"allow read /a/**\ndeny read /a/**\n", LB_CLASS_READ, "/a/b", LB_VERDICT_DENY, 2},
    {"deny read /a/*\nallow read /a/**\n", LB_CLASS_READ, "/a/b", LB_VERDICT_DENY, 1},
    {"allow read /a/**\naudit read /a/**\n", LB_CLASS_READ, "/a/b", LB_VERDICT_AUDIT, 2},
    {"allow read /a/b/**\nhide /a/b\n", LB_CLASS_READ, "/a/b/c", LB_VERDICT_HIDE, 2},
    /* hide is the pattern of everything under it: an exact grant re-opens one file */
    {"hide /a/b\nallow read /a/b\n", LB_CLASS_READ, "/a/b", LB_VERDICT_ALLOW, 2},
    {"hide /a/b\nallow read /a/b\n", LB_CLASS_STAT, "/a/b", LB_VERDICT_ALLOW, 2},
    {"hide /a/b\nallow read /a/b\n", LB_CLASS_WRITE, "/a/b", LB_VERDICT_HIDE, 1},
    {"hide /a/b\nallow read /a/b\n", LB_CLASS_READ, "/a/b/c", LB_VERDICT_HIDE, 1},
    /* deny read keeps the content, not the existence */
    {"deny read /a/b\nallow read /a/**\n", LB_CLASS_STAT, "/a/b", LB_VERDICT_ALLOW, 2},
    {"deny stat /a/b\nallow read /a/**\n", LB_CLASS_STAT, "/a/b", LB_VERDICT_DENY, 1},
    /* the including file overrides the profile it includes (narrowing and widening) */
    {"include default\ndeny write $CWD/**\nallow write $CWD/out/**\n", LB_CLASS_WRITE,
     "/work/proj/out/x", LB_VERDICT_ALLOW, 3},
    {"include default\ndeny write $CWD/**\nallow write $CWD/out/**\n", LB_CLASS_WRITE,
     "/work/proj/src/a.c", LB_VERDICT_DENY, 2},
    {"include default\ndeny write $CWD/**\nallow write $CWD/out/**\n", LB_CLASS_READ,
     "/work/proj/src/a.c", LB_VERDICT_ALLOW, PROF},
    {"include default\nallow read $HOME/.npmrc\n", LB_CLASS_READ, "/home/u/.npmrc",
     LB_VERDICT_ALLOW, 2},
    {"include default\nallow read $HOME/.npmrc\n", LB_CLASS_READ, "/home/u/.pypirc",
     LB_VERDICT_HIDE, PROF},
    {"include default\nallow read /etc/**\n", LB_CLASS_READ, "/etc/shadow", LB_VERDICT_DENY, PROF},
    {"include default\nallow read /etc/**\n", LB_CLASS_READ, "/etc/passwd", LB_VERDICT_ALLOW, 2},
    {"include default\nallow read /etc/shadow\n", LB_CLASS_READ, "/etc/shadow", LB_VERDICT_ALLOW,
     2},
    {"include default\nallow write $HOME/**\n", LB_CLASS_WRITE, "/home/u/.bashrc", LB_VERDICT_DENY,
     PROF},
    {"include default\nallow write $HOME/**\n", LB_CLASS_WRITE, "/home/u/notes", LB_VERDICT_ALLOW,
     2},
    {"allow read /x\ninclude default\ndeny read /usr/**\n", LB_CLASS_READ, "/usr/bin/env",
     LB_VERDICT_DENY, 3},
    {"include default\nallow write $CWD/.git/hooks/**\n", LB_CLASS_WRITE,
     "/work/proj/.git/hooks/pre-commit", LB_VERDICT_ALLOW, 2},
};

Test(policy, specificity)
{
	for (size_t i = 0; i < sizeof(spec_rows) / sizeof(spec_rows[0]); i++) {
		const struct spec_row *r = &spec_rows[i];
		struct lb_policy *p = must_load(r->text);
		struct lb_decision d;
		lb_policy_judge_path(p, r->cls, r->path, &d);
		cr_expect_eq(d.verdict, r->verdict, "row %zu (%s %s): verdict %d, want %d", i,
			     lb_class_name(r->cls), r->path, d.verdict, r->verdict);
		if (r->line == PROF)
			cr_expect(d.file && strcmp(d.file, "<builtin:default>") == 0,
				  "row %zu: decided by %s:%u, want the profile", i,
				  d.file ? d.file : "-", d.line);
		else if (r->line)
			cr_expect(d.file && strcmp(d.file, "t.policy") == 0 && d.line == r->line,
				  "row %zu (%s %s): decided by %s:%u, want t.policy:%u", i,
				  lb_class_name(r->cls), r->path, d.file ? d.file : "-", d.line,
				  r->line);
		else
			cr_expect_eq(d.origin, LB_ORIGIN_DEFAULT, "row %zu", i);
		lb_policy_free(p);
	}
}

static const struct {
	const char *text, *ip;
	uint16_t port;
	enum lb_verdict verdict;
	unsigned line;
} addr_spec_rows[] = {
    {"deny connect tcp 10.0.0.0/8:*\nallow connect tcp 10.1.2.3:443\n", "10.1.2.3", 443,
     LB_VERDICT_ALLOW, 2},
    {"deny connect tcp 10.0.0.0/8:*\nallow connect tcp 10.1.2.3:443\n", "10.1.2.3", 80,
     LB_VERDICT_DENY, 1},
    {"allow connect tcp *:443\ndeny connect tcp 10.0.0.0/8:*\n", "10.1.2.3", 443, LB_VERDICT_DENY,
     2}, /* the host counts before the port */
    {"deny connect tcp 10.0.0.0/8:*\nallow connect tcp 10.0.0.0/16:*\n", "10.0.9.9", 22,
     LB_VERDICT_ALLOW, 2},
    {"deny connect *\nallow connect tcp localhost:*\n", "127.0.0.1", 5432, LB_VERDICT_ALLOW, 2},
    {"allow connect tcp 127.0.0.1:1-9000\ndeny connect tcp 127.0.0.1:5432\n", "127.0.0.1", 5432,
     LB_VERDICT_DENY, 2},
    {"allow connect tcp 127.0.0.1:5432\ndeny connect tcp 127.0.0.1:5432\n", "127.0.0.1", 5432,
     LB_VERDICT_DENY, 2},
};

Test(policy, addr_specificity)
{
	for (size_t i = 0; i < sizeof(addr_spec_rows) / sizeof(addr_spec_rows[0]); i++) {
		struct lb_policy *p = must_load(addr_spec_rows[i].text);
		struct addr_row row = {LB_CLASS_CONNECT,       LB_ADDR_TCP, addr_spec_rows[i].ip,
				       addr_spec_rows[i].port, 0,	    0};
		struct lb_sockaddr_obj a;
		struct lb_decision d;
		make_addr(&row, &a);
		lb_policy_judge_addr(p, LB_CLASS_CONNECT, &a, &d);
		cr_expect_eq(d.verdict, addr_spec_rows[i].verdict, "row %zu: verdict %d", i,
			     d.verdict);
		cr_expect_eq(d.line, addr_spec_rows[i].line, "row %zu: line %u", i, d.line);
		lb_policy_free(p);
	}
}

static const struct {
	const char *text, *name;
	enum lb_verdict verdict;
	unsigned line;
} name_rows[] = {
    {"allow connect tcp pypi.org:443\n", "pypi.org", LB_VERDICT_ALLOW, 1},
    {"allow connect tcp pypi.org:443\n", "evil.example", LB_VERDICT_DENY, 0},
    {"allow connect tcp *.pythonhosted.org:443\n", "files.pythonhosted.org", LB_VERDICT_ALLOW, 1},
    {"allow connect tcp *.pythonhosted.org:443\n", "pythonhosted.org", LB_VERDICT_DENY, 0},
    /* addresses are not names: a loopback or CIDR grant resolves nothing */
    {"allow connect tcp localhost:* udp 10.0.0.0/8:53\n", "pypi.org", LB_VERDICT_DENY, 0},
    /* every host: every name */
    {"allow connect tcp *:443\n", "pypi.org", LB_VERDICT_ALLOW, 1},
    {"allow connect *\n", "pypi.org", LB_VERDICT_ALLOW, 1},
    {"audit connect udp pypi.org:443\n", "pypi.org", LB_VERDICT_AUDIT, 1},
    /* a deny takes a name only where it leaves no port of a grant */
    {"allow connect tcp *:*\ndeny connect tcp evil.example:*\n", "evil.example", LB_VERDICT_DENY,
     2},
    {"allow connect tcp *:443\ndeny connect tcp *:25\n", "pypi.org", LB_VERDICT_ALLOW, 1},
    {"deny connect tcp *.example:*\nallow connect tcp ok.example:443\n", "ok.example",
     LB_VERDICT_ALLOW, 2},
    {"deny connect tcp *.example:*\nallow connect tcp ok.example:443\n", "no.example",
     LB_VERDICT_DENY, 1},
};

Test(policy, name_decisions)
{
	for (size_t i = 0; i < sizeof(name_rows) / sizeof(name_rows[0]); i++) {
		struct lb_policy *p = must_load(name_rows[i].text);
		struct lb_decision d;
		lb_policy_judge_name(p, name_rows[i].name, &d);
		cr_expect_eq(d.verdict, name_rows[i].verdict, "row %zu: verdict %d", i, d.verdict);
		cr_expect_eq(d.line, name_rows[i].line, "row %zu: line %u", i, d.line);
		lb_policy_free(p);
	}
}

Test(policy, host_names_are_for_connect)
{
	struct lb_diags diags = {0};
	struct lb_policy *p = NULL;
	int rc = load_text("allow bind tcp pypi.org:443\n", false, &p, &diags);
	cr_expect_neq(rc, 0);
	cr_expect(diags.n >= 1 && strstr(diags.items[0].message, "connect address"));
	lb_diags_free(&diags);
	lb_policy_free(p);
}

Test(policy, syscalls)
{
	struct lb_policy *p = must_load(fixture);
	const struct lb_syscall_rule *rules;
	size_t n = lb_policy_syscall_rules(p, &rules);
	cr_assert_eq(n, 4);
	struct {
		const char *name;
		enum lb_verdict v;
		unsigned line;
	} want[] = {{"personality", LB_VERDICT_DENY, 19},
		    {"ptrace", LB_VERDICT_ALLOW, 20},
		    {"getpid", LB_VERDICT_AUDIT, 21},
		    {"bpf", LB_VERDICT_DENY, 23}};
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_eq(rules[i].name, want[i].name);
		cr_expect_eq(rules[i].verdict, want[i].v, "%s", want[i].name);
		cr_expect_eq(rules[i].line, want[i].line, "%s", want[i].name);
		cr_expect_gt(rules[i].nr, -1);
	}
	cr_expect(lb_policy_allows_dangerous(p, "ptrace"));
	cr_expect_not(lb_policy_allows_dangerous(p, "bpf"));
	cr_expect_not(lb_policy_allows_dangerous(p, "mount"));
	bool has_clone3 = false, has_ptrace = false;
	for (const char *const *d = lb_dangerous_syscalls; *d; d++) {
		has_clone3 |= strcmp(*d, "clone3") == 0;
		has_ptrace |= strcmp(*d, "ptrace") == 0;
	}
	cr_expect(has_clone3 && has_ptrace);
	lb_policy_free(p);
}

Test(policy, grant_prefixes)
{
	struct lb_policy *p = must_load(fixture);
	const char *const *pre;
	size_t n = lb_policy_grant_prefixes(p, LB_CLASS_EXEC, &pre);
	bool bin = false;
	for (size_t i = 0; i < n; i++)
		bin |= strcmp(pre[i], "/usr/bin") == 0;
	cr_expect(bin);
	n = lb_policy_grant_prefixes(p, LB_CLASS_STAT, &pre);
	bool usr = false, root = false;
	for (size_t i = 0; i < n; i++) {
		usr |= strcmp(pre[i], "/usr") == 0;
		root |= strcmp(pre[i], "/") == 0;
	}
	cr_expect(usr && root, "stat prefixes include read grants and /");
	cr_expect_eq(lb_policy_grant_prefixes(p, LB_CLASS_CONNECT, &pre), 0);
	lb_policy_free(p);
}

/* ---- errors ----------------------------------------------------------------------------- */

struct err_row {
	const char *text;
	unsigned line, col;
	const char *message; /* a substring */
};

static const struct err_row err_rows[] = {
    {"allow read $NOPE/x\n", 1, 12, "unknown variable $NOPE"},
    {"allow read ${NOPE}/x\n", 1, 12, "unknown variable $NOPE"},
    {"allow read ${CWD\n", 1, 12, "malformed ${NAME}"},
    {"allow read /x$\n", 1, 14, "'$' must start a variable"},
    {"allow read relative/path\n", 1, 12, "not absolute"},
    {"allow write $CWD/ok rel\n", 1, 21, "not absolute"},
    {"allow reed /x\n", 1, 7, "unknown class 'reed'"},
    {"frobnicate x\n", 1, 1, "unknown statement 'frobnicate'"},
    {"\n\n   allow syscall notacall\n", 3, 18, "unknown system call 'notacall'"},
    {"allow read \"/unterminated\n", 1, 12, "unterminated quoted string"},
    {"allow read \"/a\\qb\"\n", 1, 15, "unknown escape"},
    {"allow read /x \\", 1, 15, "end of the file"},
    {"allow read /x \\\n", 1, 15, "end of the file"},
    {"allow read \"/x\\", 1, 15, "end of the file"},
    {"version 2\n", 1, 9, "unsupported policy version '2'"},
    {"# c\nversion 1 2\n", 2, 11, "unexpected '2'"},
    {"allow read /x\nversion 1\n", 2, 1, "first statement"},
    {"set mode loud\n", 1, 10, "enforce or audit"},
    {"set on-deny maybe\n", 1, 13, "errno or kill"},
    {"set implicit-grants yes\n", 1, 21, "on or off"},
    {"set log relative.jsonl\n", 1, 9, "absolute path"},
    {"set colour blue\n", 1, 5, "unknown setting 'colour'"},
    {"set mode\n", 1, 9, "usage: set KEY VALUE"},
    {"limit memory 12Q\n", 1, 14, "a size"},
    {"limit time 5 m\n", 1, 14, "unexpected 'm'"},
    {"limit time 0\n", 1, 12, "more than 0"},
    {"limit procs 99999999999999999999999\n", 1, 13, "too large"},
    {"limit time 99999999999999999h\n", 1, 12, "too large"},
    {"limit speed 1\n", 1, 7, "unknown limit 'speed'"},
    {"env keep 1BAD\n", 1, 10, "not a variable name"},
    {"env set NOVALUE\n", 1, 9, "not NAME=VALUE"},
    {"env clear now\n", 1, 11, "unexpected 'now'"},
    {"env frob\n", 1, 5, "unknown env operation"},
    {"allow connect tcp\n", 1, 18, "missing address"},
    {"allow connect tcp 1.2.3.4:99999\n", 1, 27, "port 99999"},
    {"allow connect ftp 1.2.3.4:21\n", 1, 15, "bad socket address"},
    {"allow bind 127.0.0.1:80\n", 1, 12, "bad socket address"},
    {"allow read\n", 1, 11, "missing object"},
    {"allow\n", 1, 6, "missing class"},
    {"hide\n", 1, 5, "missing path"},
    {"allow read /a/../b\n", 1, 15, "'..'"},
    {"include\n", 1, 8, "usage: include"},
    {"include no-such-file.policy\n", 1, 9, "cannot read policy 'no-such-file.policy'"},
    {"allow exec $EXE\n", 1, 12, ""}, /* $EXE is known in this table's vars: no error */
};

Test(policy, errors)
{
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		const struct err_row *r = &err_rows[i];
		struct lb_policy *p = (struct lb_policy *)&p; /* must be reset to NULL */
		struct lb_diags d = {0};
		int rc = load_text(r->text, false, &p, &d);
		if (r->message[0] == '\0') {
			cr_expect_eq(rc, 0, "row %zu: unexpected error", i);
			lb_policy_free(p);
			lb_diags_free(&d);
			continue;
		}
		cr_expect_eq(rc, -EINVAL, "row %zu (%s): rc %d", i, r->text, rc);
		cr_expect_null(p, "row %zu: a partial policy", i);
		cr_expect_geq(d.n_errors, 1, "row %zu: no error", i);
		if (d.n) {
			cr_expect_str_eq(d.items[0].file, "t.policy");
			cr_expect_eq(d.items[0].line, r->line,
				     "row %zu (%s): line %u, want %u (%s)", i, r->text,
				     d.items[0].line, r->line, d.items[0].message);
			cr_expect_eq(d.items[0].col, r->col, "row %zu (%s): col %u, want %u (%s)",
				     i, r->text, d.items[0].col, r->col, d.items[0].message);
			cr_expect(strstr(d.items[0].message, r->message),
				  "row %zu: message '%s' lacks '%s'", i, d.items[0].message,
				  r->message);
		}
		lb_diags_free(&d);
	}
}

Test(policy, exe_unknown_when_no_program)
{
	struct lb_policy_inputs in = {.source = "t.policy",
				      .text = "allow exec $EXE_DIR/**\n",
				      .vars = {.cwd = "/w", .home = "/h"}};
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_expect_eq(lb_policy_load(&in, &p, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect(strstr(d.items[0].message, "no value here"));
	cr_expect_eq(d.items[0].col, 12);
	lb_diags_free(&d);
	/* $TMPDIR defaults to /tmp */
	in.text = "allow read $TMPDIR/x\n";
	cr_assert_eq(lb_policy_load(&in, &p, &d), 0);
	struct lb_decision dec;
	lb_policy_judge_path(p, LB_CLASS_READ, "/tmp/x", &dec);
	cr_expect_eq(dec.verdict, LB_VERDICT_ALLOW);
	lb_policy_free(p);
	lb_diags_free(&d);
}

Test(policy, many_errors_are_capped)
{
	char text[4096] = "";
	for (int i = 0; i < 40; i++)
		strcat(text, "allow reed /x\n");
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_expect_eq(load_text(text, false, &p, &d), -EINVAL);
	cr_expect_leq(d.n_errors, 21);
	cr_expect_geq(d.n_errors, 20);
	cr_expect(strstr(d.items[d.n - 1].message, "too many errors"));
	lb_diags_free(&d);
}

Test(policy, several_errors_reported)
{
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_expect_eq(load_text("allow reed /x\nallow read ok\nallow read /fine\nset mode x\n",
			       false, &p, &d),
		     -EINVAL);
	cr_assert_eq(d.n_errors, 3);
	cr_expect_eq(d.items[0].line, 1);
	cr_expect_eq(d.items[1].line, 2);
	cr_expect_eq(d.items[2].line, 4);
	lb_diags_free(&d);
}

Test(policy, huge_line)
{
	size_t n = 10u << 20;
	char *text = malloc(n + 32);
	cr_assert(text);
	strcpy(text, "allow read /");
	memset(text + 12, 'a', n);
	strcpy(text + 12 + n, "\n");
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_expect_eq(load_text(text, false, &p, &d), -EINVAL);
	cr_assert_geq(d.n, 1);
	cr_expect(strstr(d.items[0].message, "longer than"), "%s", d.items[0].message);
	lb_diags_free(&d);
	/* a 10 MB comment is fine */
	text[0] = '#';
	cr_expect_eq(load_text(text, false, &p, &d), 0);
	lb_policy_free(p);
	lb_diags_free(&d);
	free(text);
}

/* ---- files and includes ---------------------------------------------------------------------- */

static char tmp_root[64];

static void write_file(const char *name, const char *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp_root, name);
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot create %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void wr(const char *name, const char *text)
{
	write_file(name, text, strlen(text));
}

static int load_file(const char *name, struct lb_policy **p, struct lb_diags *d)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp_root, name);
	struct lb_policy_inputs in = {.source = path, .vars = vars};
	return lb_policy_load(&in, p, d);
}

static void make_tmp(void)
{
	strcpy(tmp_root, "/tmp/lb-test-policy-XXXXXX");
	cr_assert(mkdtemp(tmp_root));
}

static void rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(files, .init = make_tmp, .fini = rm_tmp);

Test(files, nul_and_utf8)
{
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	write_file("nul.policy", "allow read /x\nallow read /x\0y\n", 30);
	cr_expect_eq(load_file("nul.policy", &p, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect_eq(d.items[0].line, 2);
	cr_expect_eq(d.items[0].col, 14);
	cr_expect(strstr(d.items[0].message, "NUL"));
	lb_diags_free(&d);

	wr("latin1.policy", "# caf\xe9\nallow read /x\n");
	cr_expect_eq(load_file("latin1.policy", &p, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect_eq(d.items[0].line, 1);
	cr_expect_eq(d.items[0].col, 6);
	cr_expect(strstr(d.items[0].message, "UTF-8"));
	lb_diags_free(&d);

	wr("utf8.policy", "# café ☕\nallow read \"/données/☕\"\n");
	cr_expect_eq(load_file("utf8.policy", &p, &d), 0);
	lb_policy_free(p);
	lb_diags_free(&d);
}

Test(files, directory_and_missing)
{
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	struct lb_policy_inputs in = {.source = tmp_root, .vars = vars};
	cr_expect_eq(lb_policy_load(&in, &p, &d), -EISDIR);
	cr_assert_eq(d.n, 1);
	cr_expect(strstr(d.items[0].message, "is a directory"));
	lb_diags_free(&d);
	cr_expect_eq(load_file("missing.policy", &p, &d), -ENOENT);
	cr_assert_eq(d.n, 1);
	cr_expect(strstr(d.items[0].message, "No such file"));
	cr_expect_null(p);
	lb_diags_free(&d);
}

Test(files, includes_relative_and_chain)
{
	char sub[600];
	snprintf(sub, sizeof(sub), "%s/sub", tmp_root);
	cr_assert_eq(mkdir(sub, 0700), 0);
	wr("top.policy", "version 1\ninclude sub/mid.policy\nallow read /top\n");
	wr("sub/mid.policy", "# mid\ninclude leaf.policy\n");
	wr("sub/leaf.policy", "allow read /leaf\nallow reed /bad\n");
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_expect_eq(load_file("top.policy", &p, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect(strstr(d.items[0].file, "sub/leaf.policy"));
	cr_expect_eq(d.items[0].line, 2);
	cr_expect_eq(d.items[0].col, 7);
	cr_assert(d.items[0].include_chain);
	cr_expect(strstr(d.items[0].include_chain, "sub/mid.policy:2\nincluded from "), "%s",
		  d.items[0].include_chain);
	cr_expect(strstr(d.items[0].include_chain, "top.policy:2"), "%s", d.items[0].include_chain);
	lb_diags_free(&d);

	wr("sub/leaf.policy", "allow read /leaf\n");
	cr_assert_eq(load_file("top.policy", &p, &d), 0);
	struct lb_decision dec;
	lb_policy_judge_path(p, LB_CLASS_READ, "/leaf", &dec);
	cr_expect_eq(dec.verdict, LB_VERDICT_ALLOW);
	cr_expect(strstr(dec.file, "sub/leaf.policy"));
	lb_policy_free(p);
	lb_diags_free(&d);
}

/* Equal specificity: the file nearer the top overrides what it includes;
 * files included side by side are one level (deny wins between them). */
Test(files, include_levels)
{
	wr("leaf.policy", "deny read /d/**\nallow read /s/**\n");
	wr("mid.policy", "include leaf.policy\nallow read /d/**\n");
	wr("side.policy", "deny read /s/**\n");
	wr("top.policy", "include mid.policy\ninclude side.policy\ndeny read /d/x/**\n");
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_assert_eq(load_file("top.policy", &p, &d), 0);
	static const struct {
		const char *path, *file;
		enum lb_verdict v;
		unsigned line;
	} rows[] = {
	    {"/d/a", "mid.policy", LB_VERDICT_ALLOW, 2},
	    {"/d/x/y", "top.policy", LB_VERDICT_DENY, 3},
	    {"/s/a", "side.policy", LB_VERDICT_DENY, 1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct lb_decision dec;
		lb_policy_judge_path(p, LB_CLASS_READ, rows[i].path, &dec);
		cr_expect_eq(dec.verdict, rows[i].v, "%s: verdict %d", rows[i].path, dec.verdict);
		cr_expect(dec.file && strstr(dec.file, rows[i].file) && dec.line == rows[i].line,
			  "%s: decided by %s:%u", rows[i].path, dec.file ? dec.file : "-",
			  dec.line);
	}
	lb_policy_free(p);
	lb_diags_free(&d);
}

Test(files, include_cycle)
{
	wr("a.policy", "include b.policy\n");
	wr("b.policy", "allow read /b\ninclude a.policy\n");
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_expect_eq(load_file("a.policy", &p, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect(strstr(d.items[0].message, "include cycle"), "%s", d.items[0].message);
	cr_expect(strstr(d.items[0].message, "a.policy -> "), "%s", d.items[0].message);
	cr_expect(strstr(d.items[0].file, "b.policy"));
	cr_expect_eq(d.items[0].line, 2);
	cr_expect_eq(d.items[0].col, 9);
	lb_diags_free(&d);

	wr("self.policy", "include self.policy\n");
	cr_expect_eq(load_file("self.policy", &p, &d), -EINVAL);
	cr_expect(d.n == 1 && strstr(d.items[0].message, "include cycle"));
	lb_diags_free(&d);
}

Test(files, include_depth)
{
	/* 10,000 files, each including the next: stops at the depth bound. */
	for (int i = 0; i < 10000; i++) {
		char name[32], text[64];
		snprintf(name, sizeof(name), "d%d.policy", i);
		snprintf(text, sizeof(text), "include d%d.policy\n", i + 1);
		wr(name, text);
	}
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_expect_eq(load_file("d0.policy", &p, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect(strstr(d.items[0].message, "nested more than 64"), "%s", d.items[0].message);
	lb_diags_free(&d);
}

Test(files, diamond_includes_once)
{
	wr("common.policy", "allow read /common\n");
	wr("l.policy", "include common.policy\n");
	wr("r.policy", "include ./common.policy\n");
	wr("top.policy", "include l.policy\ninclude r.policy\ninclude default\ninclude default\n");
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	char path[512];
	snprintf(path, sizeof(path), "%s/top.policy", tmp_root);
	struct lb_policy_inputs in = {.source = path, .vars = vars, .lint = true};
	cr_assert_eq(lb_policy_load(&in, &p, &d), 0);
	cr_expect_eq(d.n, 0, "%s", d.n ? d.items[0].message : "");
	lb_policy_free(p);
	lb_diags_free(&d);
}

/* ---- show -------------------------------------------------------------------------------------
 */

static char *show_text(const char *text)
{
	struct lb_policy *p = must_load(text);
	char *s = lb_policy_show(p);
	cr_assert(s);
	lb_policy_free(p);
	return s;
}

static void round_trip(const char *text)
{
	char *one = show_text(text);
	char *two = show_text(one);
	cr_expect_str_eq(one, two, "show is not stable for:\n%s", text);
	free(one);
	free(two);
}

Test(policy, show_round_trip)
{
	round_trip(fixture);
	round_trip("include default\n");
	round_trip("include strict\nset implicit-grants off\n");
	round_trip("include permissive\nset mode audit\nset on-deny kill\nset log \"/var/log/my "
		   "log.jsonl\"\n");
	round_trip("allow read \"/a b/$$x\" \"/q\\\"uote\" \"/back\\\\slash\" /hash\"#\"x\n"
		   "env clear\nenv keep PATH LC_*\nenv set \"GREETING=hello world\" PRICE=$$5\n"
		   "limit time 90s\nlimit cpu 1500ms\nlimit memory 2G\nlimit fsize 1536K\n"
		   "limit procs 7\nlimit files 1024\nallow bind unix \"/run/a b.sock\" *\n"
		   "deny syscall personality\naudit syscall getpid\n");
	char *s = show_text("allow read \"/a b/$$x\"\nenv set A=$$B\n");
	cr_expect(strstr(s, "allow read \"/a b/$$x\"\n"), "%s", s);
	cr_expect(strstr(s, "env set A=$$B\n"), "%s", s);
	cr_expect(strstr(s, "NOT") == NULL || strstr(s, "enforced"));
	free(s);
}

Test(policy, show_expands_includes)
{
	char *s = show_text("include strict\n");
	cr_expect(strstr(s, "allow read /work/proj/**\n"), "%s", s);
	cr_expect(strstr(s, "include") == NULL || strstr(s, "# "), "includes are followed");
	free(s);
}

/* Flattened into one file, an overridden rule could win again: show leaves
 * out what an including file overrides, so the shown text decides alike. */
Test(policy, show_keeps_overrides)
{
	static const struct {
		const char *text, *path;
		enum lb_class cls;
	} rows[] = {
	    {"include default\nallow read /etc/shadow\n", "/etc/shadow", LB_CLASS_READ},
	    {"include default\ndeny write $CWD/**\nallow write $CWD/out/**\n", "/work/proj/x",
	     LB_CLASS_WRITE},
	    {"include default\ndeny write $CWD/**\nallow write $CWD/out/**\n", "/work/proj/out/x",
	     LB_CLASS_WRITE},
	    /* Not kept: an override of part of what a rule decides ('allow read
	     * $HOME/.npmrc/ **' against the profile's hide, which still decides
	     * write): one flat file cannot say it (docs/policy.md). */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct lb_policy *p = must_load(rows[i].text);
		char *s = lb_policy_show(p);
		cr_assert(s);
		struct lb_policy *q = must_load(s);
		struct lb_decision a, b;
		lb_policy_judge_path(p, rows[i].cls, rows[i].path, &a);
		lb_policy_judge_path(q, rows[i].cls, rows[i].path, &b);
		cr_expect_eq(a.verdict, b.verdict, "row %zu: %d shown as %d", i, a.verdict,
			     b.verdict);
		free(s);
		lb_policy_free(p);
		lb_policy_free(q);
	}
}

/* ---- limits and env -------------------------------------------------------------------------- */

Test(policy, limits)
{
	struct lb_policy *p =
	    must_load("limit time 90s\nlimit procs 256\nlimit memory 2G\nlimit files 1024\n"
		      "limit cpu 60s\nlimit fsize 1G\n");
	const struct lb_limits *l = lb_policy_limits(p);
	cr_expect_eq(l->time_ms, 90000);
	cr_expect_eq(l->procs, 256);
	cr_expect_eq(l->memory, 2ull << 30);
	cr_expect_eq(l->files, 1024);
	cr_expect_eq(l->cpu_s, 60);
	cr_expect_eq(l->fsize, 1ull << 30);
	lb_policy_free(p);

	struct {
		const char *text;
		uint64_t time_ms, memory, cpu_s;
	} rows[] = {
	    {"limit time 5m\n", 300000, 0, 0},
	    {"limit time 1h\n", 3600000, 0, 0},
	    {"limit time 250ms\n", 250, 0, 0},
	    {"limit time 30\n", 30000, 0, 0},
	    {"limit memory 512M\n", 0, 512u << 20, 0},
	    {"limit memory 64k\n", 0, 64u << 10, 0},
	    {"limit memory 100\n", 0, 100, 0},
	    {"limit memory 1GiB\n", 0, 1u << 30, 0},
	    {"limit cpu 1500ms\n", 0, 0, 2},
	    {"limit time 1s\nlimit time 2s\n", 2000, 0, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		p = must_load(rows[i].text);
		l = lb_policy_limits(p);
		cr_expect_eq(l->time_ms, rows[i].time_ms, "%s", rows[i].text);
		cr_expect_eq(l->memory, rows[i].memory, "%s", rows[i].text);
		cr_expect_eq(l->cpu_s, rows[i].cpu_s, "%s", rows[i].text);
		lb_policy_free(p);
	}
}

Test(policy, settings)
{
	struct lb_policy *p = must_load("");
	cr_expect_eq(lb_policy_mode(p), LB_MODE_ENFORCE);
	cr_expect_eq(lb_policy_on_deny(p), LB_ON_DENY_ERRNO);
	cr_expect_null(lb_policy_log_path(p));
	cr_expect(lb_policy_implicit_grants(p));
	lb_policy_free(p);
	p = must_load(
	    "set mode audit\nset on-deny kill\nset log $TMPDIR/a.jsonl\nset implicit-grants off\n");
	cr_expect_eq(lb_policy_mode(p), LB_MODE_AUDIT);
	cr_expect_eq(lb_policy_on_deny(p), LB_ON_DENY_KILL);
	cr_expect_str_eq(lb_policy_log_path(p), "/tmp/a.jsonl");
	cr_expect_not(lb_policy_implicit_grants(p));
	struct lb_decision d;
	lb_policy_judge_path(p, LB_CLASS_WRITE, "/dev/null", &d);
	cr_expect_eq(d.origin, LB_ORIGIN_DEFAULT);
	lb_policy_free(p);
}

static const char *env_get(char **env, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return env[i] + len + 1;
	return NULL;
}

static size_t env_count(char **env)
{
	size_t n = 0;
	while (env[n])
		n++;
	return n;
}

Test(policy, environment)
{
	char *envp[] = {"PATH=/usr/bin", "HOME=/home/u",     "SECRET=x",
			"LC_ALL=C",	 "LC_CTYPE=C.UTF-8", NULL};
	struct lb_policy *p = must_load("env set A=1\n");
	char **env = lb_policy_build_env(p, envp);
	cr_assert(env);
	cr_expect_eq(env_count(env), 6);
	cr_expect_str_eq(env_get(env, "A"), "1");
	cr_expect_str_eq(env_get(env, "SECRET"), "x");
	lb_env_free(env);
	lb_policy_free(p);

	p = must_load("env keep PATH LC_*\nenv set HOME=/nowhere X=a=b\nenv clear\nenv set X=c\n");
	const struct lb_env_op *ops;
	cr_expect_eq(lb_policy_env_ops(p, &ops), 6);
	cr_expect_eq(ops[0].kind, LB_ENV_KEEP);
	cr_expect_str_eq(ops[0].arg, "PATH");
	env = lb_policy_build_env(p, envp);
	cr_assert(env);
	cr_expect_eq(env_count(env), 5, "PATH LC_ALL LC_CTYPE HOME X");
	cr_expect_str_eq(env_get(env, "PATH"), "/usr/bin");
	cr_expect_str_eq(env_get(env, "HOME"), "/nowhere");
	cr_expect_str_eq(env_get(env, "X"), "c");
	cr_expect_str_eq(env_get(env, "LC_CTYPE"), "C.UTF-8");
	cr_expect_null(env_get(env, "SECRET"));
	lb_env_free(env);
	lb_policy_free(p);
}

/* ---- CLI rules, implicit grants ----------------------------------------------------------------
 */

Test(policy, cli_and_implicit)
{
	const struct lb_cli_rule cli[] = {
	    {LB_CLASS_READ, "/opt/data/**", "--allow-read"},
	    {LB_CLASS_CONNECT, "tcp 10.0.0.1:443", "--allow-connect"},
	};
	const char *const im_read[] = {"/usr/lib/libfoo.so.1", "/lib/libdenied.so"};
	const char *const im_exec[] = {"/opt/bin/prog"};
	struct lb_policy_inputs in = {.source = "t.policy",
				      .text = "deny read /opt/data/secret /opt/data/**\n"
					      "deny read /lib/**\n",
				      .vars = vars,
				      .cli_rules = cli,
				      .n_cli_rules = 2,
				      .implicit_read = im_read,
				      .n_implicit_read = 2,
				      .implicit_exec = im_exec,
				      .n_implicit_exec = 1};
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_assert_eq(lb_policy_load(&in, &p, &d), 0);
	struct lb_decision dec;
	lb_policy_judge_path(p, LB_CLASS_READ, "/opt/data/x", &dec);
	cr_expect_eq(dec.verdict, LB_VERDICT_ALLOW);
	cr_expect_eq(dec.origin, LB_ORIGIN_CLI);
	cr_expect_str_eq(dec.file, "--allow-read");
	lb_policy_judge_path(p, LB_CLASS_READ, "/opt/data/secret", &dec);
	cr_expect_eq(dec.verdict, LB_VERDICT_DENY,
		     "a more specific policy deny wins over a CLI allow");
	lb_policy_judge_path(p, LB_CLASS_READ, "/opt/data/sub/y", &dec);
	cr_expect_eq(dec.verdict, LB_VERDICT_ALLOW, "the command line overrides an equal deny");
	cr_expect_eq(dec.origin, LB_ORIGIN_CLI);
	lb_policy_judge_path(p, LB_CLASS_READ, "/lib/libdenied.so", &dec);
	cr_expect_eq(dec.verdict, LB_VERDICT_DENY, "a deny wins over an implicit grant");
	lb_policy_judge_path(p, LB_CLASS_READ, "/usr/lib/libfoo.so.1", &dec);
	cr_expect_eq(dec.origin, LB_ORIGIN_IMPLICIT);
	cr_expect_null(dec.file);
	lb_policy_judge_path(p, LB_CLASS_EXEC, "/opt/bin/prog", &dec);
	cr_expect_eq(dec.origin, LB_ORIGIN_IMPLICIT);
	struct lb_sockaddr_obj a = {
	    .kind = LB_ADDR_TCP, .is_v4 = true, .ip = {10, 0, 0, 1}, .port = 443};
	lb_policy_judge_addr(p, LB_CLASS_CONNECT, &a, &dec);
	cr_expect_eq(dec.verdict, LB_VERDICT_ALLOW);
	cr_expect_eq(dec.origin, LB_ORIGIN_CLI);
	cr_expect_str_eq(dec.file, "--allow-connect");
	lb_policy_free(p);
	lb_diags_free(&d);

	const struct lb_cli_rule bad[] = {{LB_CLASS_READ, "relative", "--allow-read"}};
	in.cli_rules = bad;
	in.n_cli_rules = 1;
	cr_expect_eq(lb_policy_load(&in, &p, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect_str_eq(d.items[0].file, "--allow-read");
	lb_diags_free(&d);
}

/* ---- profiles and examples --------------------------------------------------------------------
 */

static struct lb_policy *load_source(const char *source)
{
	struct lb_policy_inputs in = {.source = source, .vars = vars, .lint = true};
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	int rc = lb_policy_load(&in, &p, &d);
	cr_assert_eq(rc, 0, "%s: %s", source, d.n ? d.items[0].message : "?");
	lb_diags_free(&d);
	return p;
}

Test(profiles, all_load)
{
	static const char *const names[] = {"default", "strict", "permissive", NULL};
	for (size_t i = 0; names[i]; i++)
		lb_policy_free(load_source(names[i]));
	struct lb_policy *p = load_source(NULL); /* NULL means default */
	lb_policy_free(p);
	static const char *const examples[] = {
	    "make-test", "pip-install-venv",	"npm-ci",
	    "go-build",	 "tests-with-postgres", "linter-readonly"};
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/policy/examples/%s.policy", LB_SOURCE_ROOT,
			 examples[i]);
		lb_policy_free(load_source(path));
	}
}

Test(profiles, decisions)
{
	static const struct {
		const char *profile;
		enum lb_class cls;
		const char *path;
		enum lb_verdict v;
	} rows[] = {
	    {"default", LB_CLASS_READ, "/usr/lib/x86_64-linux-gnu/libc.so.6", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/etc/passwd", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/etc/shadow", LB_VERDICT_DENY},
	    {"default", LB_CLASS_READ, "/etc/ssh/ssh_host_ed25519_key", LB_VERDICT_DENY},
	    {"default", LB_CLASS_READ, "/home/u/.ssh/id_ed25519", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_STAT, "/home/u/.aws", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.config/gh/hosts.yml", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/Documents/x", LB_VERDICT_DENY},
	    {"default", LB_CLASS_READ, "/root/x", LB_VERDICT_DENY},
	    {"default", LB_CLASS_WRITE, "/work/proj/build/a.o", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_WRITE, "/tmp/x", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_WRITE, "/etc/passwd", LB_VERDICT_DENY},
	    {"default", LB_CLASS_EXEC, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_EXEC, "/work/proj/a.out", LB_VERDICT_ALLOW},
	    /* toolchains build and run programs there (go test): contract, default profile */
	    {"default", LB_CLASS_EXEC, "/tmp/go-build1/b001/x.test", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_EXEC, "/opt/hostedtoolcache/go/1.22/x64/bin/go", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/opt/lbtest-toolchain/lib/x.so", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_WRITE, "/opt/x", LB_VERDICT_DENY},
	    {"default", LB_CLASS_EXEC, "/home/u/.pyenv/versions/3.12.1/bin/python3.12",
	     LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/home/u/.pyenv/versions/3.12.1/lib/python3.12/os.py",
	     LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_EXEC, "/home/u/.nvm/versions/node/v20.1.0/bin/node",
	     LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/home/u/.nvm/versions/node/v20.1.0/etc/npmrc",
	     LB_VERDICT_HIDE},
	    {"default", LB_CLASS_EXEC, "/home/u/.cargo/bin/cargo", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_EXEC, "/home/u/.rustup/toolchains/stable/bin/rustc",
	     LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/home/u/.cargo/credentials.toml", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.cargo/registry/cache/x.crate", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_WRITE, "/home/u/.cargo/registry/cache/x.crate", LB_VERDICT_DENY},
	    {"default", LB_CLASS_EXEC, "/home/u/.sdkman/candidates/java/current/bin/java",
	     LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_EXEC, "/home/u/.asdf/shims/node", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_EXEC, "/home/u/.local/bin/black", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/home/u/.local/lib/python3.12/site-packages/a.py",
	     LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/home/u/.cache/pip/http/x", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_WRITE, "/home/u/.cache/pip/http/x", LB_VERDICT_DENY},
	    {"default", LB_CLASS_READ, "/home/u/.gitconfig", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/home/u/.bashrc", LB_VERDICT_DENY},
	    {"default", LB_CLASS_READ, "/home/u/.npmrc", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.pypirc", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.netrc", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.docker/config.json", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.git-credentials", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.kube/config", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.config/gcloud/credentials.db", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.m2/settings.xml", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_READ, "/home/u/.gradle/gradle.properties", LB_VERDICT_HIDE},
	    {"default", LB_CLASS_WRITE, "/work/proj/.git/hooks/pre-commit", LB_VERDICT_DENY},
	    {"default", LB_CLASS_WRITE, "/work/proj/.git/modules/sub/hooks/post-checkout",
	     LB_VERDICT_DENY},
	    /* the working repository's config is a hook too; objects, refs and
	     * a repository the job makes in a subdirectory are not */
	    {"default", LB_CLASS_WRITE, "/work/proj/.git/config", LB_VERDICT_DENY},
	    {"default", LB_CLASS_WRITE, "/work/proj/.git", LB_VERDICT_DENY},
	    {"default", LB_CLASS_WRITE, "/work/proj/.git/commondir", LB_VERDICT_DENY},
	    {"default", LB_CLASS_WRITE, "/work/proj/.git/modules/a/modules/b/config",
	     LB_VERDICT_DENY},
	    {"default", LB_CLASS_WRITE, "/work/proj/.git/modules/a/modules/b/hooks/x",
	     LB_VERDICT_DENY},
	    {"default", LB_CLASS_WRITE, "/work/proj/.git/objects/ab/cdef", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_WRITE, "/work/proj/.git/refs/heads/main", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_WRITE, "/work/proj/sub/.git/config", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/dev/pts/3", LB_VERDICT_DENY}, /* not other terminals */
	    {"default", LB_CLASS_WRITE, "/var/spool/cron/crontabs/u", LB_VERDICT_DENY},
	    {"default", LB_CLASS_STAT, "/", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/proc/cpuinfo", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_WRITE, "/dev/null", LB_VERDICT_ALLOW},
	    {"default", LB_CLASS_READ, "/dev/sda", LB_VERDICT_DENY},
	    {"strict", LB_CLASS_READ, "/work/proj/x", LB_VERDICT_ALLOW},
	    {"strict", LB_CLASS_WRITE, "/work/proj/x", LB_VERDICT_DENY},
	    {"strict", LB_CLASS_READ, "/usr/lib/x", LB_VERDICT_DENY},
	    {"strict", LB_CLASS_READ, "/dev/null", LB_VERDICT_ALLOW},
	    {"permissive", LB_CLASS_WRITE, "/etc/passwd", LB_VERDICT_ALLOW},
	    {"permissive", LB_CLASS_EXEC, "/tmp/x", LB_VERDICT_ALLOW},
	    {"permissive", LB_CLASS_STAT, "/", LB_VERDICT_ALLOW},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct lb_policy *p = load_source(rows[i].profile);
		struct lb_decision d;
		lb_policy_judge_path(p, rows[i].cls, rows[i].path, &d);
		cr_expect_eq(d.verdict, rows[i].v, "%s: %s %s -> %d", rows[i].profile,
			     lb_class_name(rows[i].cls), rows[i].path, d.verdict);
		lb_policy_free(p);
	}
	struct lb_policy *p = load_source("default");
	struct lb_sockaddr_obj lo = {
	    .kind = LB_ADDR_TCP, .is_v4 = true, .ip = {127, 0, 0, 1}, .port = 8080};
	struct lb_sockaddr_obj out = {
	    .kind = LB_ADDR_TCP, .is_v4 = true, .ip = {1, 1, 1, 1}, .port = 443};
	struct lb_sockaddr_obj dns = {
	    .kind = LB_ADDR_UDP, .is_v4 = true, .ip = {127, 0, 0, 53}, .port = 53};
	struct lb_decision d;
	lb_policy_judge_addr(p, LB_CLASS_CONNECT, &lo, &d);
	cr_expect_eq(d.verdict, LB_VERDICT_ALLOW);
	/* a stub resolver on loopback would resolve any name: DNS goes
	 * through litebox's mediated resolver instead */
	lb_policy_judge_addr(p, LB_CLASS_CONNECT, &dns, &d);
	cr_expect_eq(d.verdict, LB_VERDICT_DENY);
	lb_policy_judge_addr(p, LB_CLASS_CONNECT, &out, &d);
	cr_expect_eq(d.verdict, LB_VERDICT_DENY);
	lb_policy_judge_addr(p, LB_CLASS_BIND, &lo, &d);
	cr_expect_eq(d.verdict, LB_VERDICT_ALLOW);
	cr_expect_not(lb_policy_allows_dangerous(p, "ptrace"));
	lb_policy_free(p);
	p = load_source("permissive");
	lb_policy_judge_addr(p, LB_CLASS_CONNECT, &out, &d);
	cr_expect_eq(d.verdict, LB_VERDICT_ALLOW);
	cr_expect_not(lb_policy_allows_dangerous(p, "ptrace"));
	lb_policy_free(p);
}

/* Persistence points stay unwritable when the working directory is $HOME. */
Test(profiles, default_with_cwd_home)
{
	struct lb_policy_vars v = vars;
	v.cwd = "/home/u";
	struct lb_policy_inputs in = {.source = "default", .vars = v};
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_assert_eq(lb_policy_load(&in, &p, &d), 0);
	static const struct {
		enum lb_class cls;
		const char *path;
		enum lb_verdict v;
	} rows[] = {
	    {LB_CLASS_WRITE, "/home/u/project/a.o", LB_VERDICT_ALLOW},
	    {LB_CLASS_WRITE, "/home/u/.bashrc", LB_VERDICT_DENY},
	    {LB_CLASS_WRITE, "/home/u/.profile", LB_VERDICT_DENY},
	    {LB_CLASS_WRITE, "/home/u/.zshrc", LB_VERDICT_DENY},
	    {LB_CLASS_WRITE, "/home/u/.config/autostart/x.desktop", LB_VERDICT_DENY},
	    {LB_CLASS_WRITE, "/home/u/.config/systemd/user/x.service", LB_VERDICT_DENY},
	    {LB_CLASS_WRITE, "/home/u/.git/hooks/pre-commit", LB_VERDICT_DENY},
	    {LB_CLASS_WRITE, "/home/u/.local/bin/git", LB_VERDICT_DENY},
	    {LB_CLASS_WRITE, "/home/u/.cache/pip/x", LB_VERDICT_DENY},
	    {LB_CLASS_WRITE, "/home/u/.cargo/bin/cargo", LB_VERDICT_DENY},
	    {LB_CLASS_READ, "/home/u/.bashrc", LB_VERDICT_ALLOW},
	    {LB_CLASS_READ, "/home/u/.ssh/id_rsa", LB_VERDICT_HIDE},
	    {LB_CLASS_WRITE, "/home/u/.ssh/authorized_keys", LB_VERDICT_HIDE},
	    {LB_CLASS_READ, "/home/u/.npmrc", LB_VERDICT_HIDE},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct lb_decision dec;
		lb_policy_judge_path(p, rows[i].cls, rows[i].path, &dec);
		cr_expect_eq(dec.verdict, rows[i].v, "%s %s -> %d", lb_class_name(rows[i].cls),
			     rows[i].path, dec.verdict);
	}
	lb_policy_free(p);
	lb_diags_free(&d);
}

/* ---- lint -------------------------------------------------------------------------------------
 */

struct lint_row {
	const char *text;
	unsigned line; /* 0: no warning expected */
	const char *message;
};

static const struct lint_row lint_rows[] = {
    {"allow write /**\n", 1, "write nearly everywhere"},
    {"allow read /**\n", 1, "read nearly everywhere"},
    {"allow exec $TMPDIR/**\n", 1, "every process may write"},
    {"allow write $CWD/out/**\nallow exec $CWD/out/bin/*\n", 2, "also grants write"},
    {"allow read /x\nallow read /y\nallow read /x\n", 3, "duplicate rule"},
    {"hide /secret\nallow read /secret/*\n", 2, "hide wins over allow"},
    {"deny write /a/**\nallow write /a/*/*\n", 2, "fewer wildcards"},
    {"allow write /a/b/c\ndeny write /a/b/c\n", 1, "deny wins over allow"},
    {"deny connect tcp *:*\nallow connect tcp 10.0.0.0/8:*\nallow connect tcp 10.1.1.1:*\n", 0, ""},
    {"allow connect tcp 10.0.0.0/8:*\ndeny connect tcp 10.0.0.0/8:*\n", 1, "deny wins"},
    {"include default\ndeny connect *\n", 2, "does not take back 'allow connect tcp localhost:*'"},
    {"include default\ndeny write /**\n", 2, "does not take back"},
    {"include default\ndeny connect tcp localhost:* udp localhost:*\n", 0, ""},
    /* what specificity now lets through: no warning */
    {"deny read /a/**\nallow read /a/b/c\n", 0, ""},
    {"hide /secret\nallow read /secret/key\n", 0, ""},
    {"include default\ndeny write $CWD/**\nallow write $CWD/out/**\nallow read $HOME/.npmrc\n", 0,
     ""},
    {"allow read /a/b\ndeny read /a/b\n", 0, ""}, /* the allow still decides stat */
    {"allow connect *\n", 1, "every address"},
    {"allow syscall getpid\n", 1, "no effect"},
    {"allow syscall ptrace\n", 1, "dangerous set"},
    {"env keep PATH\n", 0, ""}, /* file-level warning: checked below */
    {"include default\nallow read /opt/x\nallow write $CWD/out/**\n", 0, ""},
    {"allow read /a/b\ndeny read /a/c\n", 0, ""},
};

Test(policy, lint)
{
	for (size_t i = 0; i < sizeof(lint_rows) / sizeof(lint_rows[0]); i++) {
		const struct lint_row *r = &lint_rows[i];
		struct lb_policy *p = NULL;
		struct lb_diags d = {0};
		cr_expect_eq(load_text(r->text, true, &p, &d), 0,
			     "row %zu: lint must not fail the load", i);
		cr_expect_eq(d.n_errors, 0);
		if (r->line == 0 && strcmp(r->text, "env keep PATH\n") != 0) {
			cr_expect_eq(d.n, 0, "row %zu: unexpected warning %s", i,
				     d.n ? d.items[0].message : "");
		} else if (r->line) {
			cr_expect_geq(d.n, 1, "row %zu: no warning", i);
			if (d.n) {
				cr_expect_eq(d.items[0].severity, LB_DIAG_WARNING);
				cr_expect_eq(d.items[0].line, r->line, "row %zu: line %u (%s)", i,
					     d.items[0].line, d.items[0].message);
				cr_expect(strstr(d.items[0].message, r->message),
					  "row %zu: '%s' lacks '%s'", i, d.items[0].message,
					  r->message);
			}
		} else {
			cr_expect_eq(d.n, 1, "row %zu", i);
		}
		lb_policy_free(p);
		lb_diags_free(&d);
	}
	/* No lint without inputs.lint. */
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_expect_eq(load_text("allow write /**\n", false, &p, &d), 0);
	cr_expect_eq(d.n, 0);
	lb_policy_free(p);
}

/* ---- regressions found by fuzzing ---------------------------------------------------------------
 */

static const char *const fuzz_rows[] = {
    "\\",
    "\\\n",
    "\"",
    "$",
    "${",
    "${}",
    "allow read \"\"",
    "hide /",
    "allow read //**/**/**",
    "a\\\n\\\n\\\nllow read /x",
    "allow connect *  *",
    "env set =x",
    "include \"\"",
    "\r\n\r\n",
};

Test(policy, fuzz_regressions)
{
	for (size_t i = 0; i < sizeof(fuzz_rows) / sizeof(fuzz_rows[0]); i++) {
		struct lb_policy *p = NULL;
		struct lb_diags d = {0};
		int rc = load_text(fuzz_rows[i], true, &p, &d);
		cr_expect(rc == 0 || rc == -EINVAL, "row %zu: rc %d", i, rc);
		cr_expect((rc == 0) == (p != NULL));
		if (p) {
			char *s = lb_policy_show(p);
			cr_expect(s);
			free(s);
		}
		lb_policy_free(p);
		lb_diags_free(&d);
	}
}

/* ---- the index against a brute force ------------------------------------------------------------
 * The per-class index stops at the first match of each bucket; the same
 * priorities applied to every matching rule must give the same rule. */

static const struct lb_rule *brute(const struct lb_policy *p, unsigned cls, const char *path)
{
	const struct lb_rule *best = NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *r = &p->rules[i];
		if (lb_rule_judges(r, cls) && r->pat && lb_pattern_match(r->pat, path) &&
		    (!best || lb_rule_beats(r, best)))
			best = r;
	}
	return best;
}

static unsigned rnd(unsigned *state, unsigned n)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) % n;
}

static void random_path(unsigned *st, char *buf, size_t len, bool pattern)
{
	static const char *const lit[] = {"a", "b", "ab", "work", "proj", "home", "u", ".ssh"};
	static const char *const wild[] = {"*", "**", "a*", "?", "*b", "a*b"};
	size_t n = 1 + rnd(st, 5), o = 0;
	for (size_t i = 0; i < n && o + 16 < len; i++) {
		bool w = pattern && rnd(st, 3) == 0;
		o += (size_t)snprintf(buf + o, len - o, "/%s",
				      w ? wild[rnd(st, 6)] : lit[rnd(st, 8)]);
	}
}

Test(policy, index_agrees_with_brute_force)
{
	static const char *const verbs[] = {"allow read",  "deny read",	 "audit read",
					    "allow write", "deny write", "allow exec",
					    "allow stat",  "deny stat",	 "hide"};
	unsigned st = 42;
	for (int round = 0; round < 200; round++) {
		char text[8192], pat[256];
		size_t o = (size_t)snprintf(text, sizeof(text), "%s",
					    round % 3 == 0 ? "include default\n" : "");
		for (int k = 0; k < 25; k++) {
			random_path(&st, pat, sizeof(pat), true);
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s %s\n",
					      verbs[rnd(&st, 9)], pat);
		}
		struct lb_policy *p = must_load(text);
		for (int q = 0; q < 200; q++) {
			char path[256];
			random_path(&st, path, sizeof(path), false);
			unsigned cls = rnd(&st, 4);
			const struct lb_rule *want = brute(p, cls, path);
			struct lb_decision d;
			lb_policy_judge_path(p, (enum lb_class)cls, path, &d);
			bool same = want ? d.origin == want->origin && d.line == want->line &&
					       d.verdict == want->verdict &&
					       d.file == (want->src ? want->src->file : NULL)
					 : d.origin == LB_ORIGIN_DEFAULT;
			cr_assert(
			    same, "round %d: %s %s: index says %d %s:%u, brute force %s:%u\n%s",
			    round, lb_class_name((enum lb_class)cls), path, d.verdict,
			    d.file ? d.file : "-", d.line,
			    want && want->src ? want->src->file : "-", want ? want->line : 0, text);
		}
		lb_policy_free(p);
	}
}

/* ---- speed: 5,000 rules, queries that do not allocate ------------------------------------------
 */

Test(policy, many_rules_fast_and_no_alloc)
{
	size_t cap = 5000 * 64;
	char *text = malloc(cap);
	cr_assert(text);
	size_t len = 0;
	for (int i = 0; i < 5000; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s read /srv/d%d/sub/*.txt\n",
					i % 10 ? "allow" : "deny", i);
	struct lb_policy *p = must_load(text);
	free(text);

	struct lb_decision d;
	lb_policy_judge_path(p, LB_CLASS_READ, "/srv/d4321/sub/a.txt", &d);
	cr_expect_eq(d.verdict, LB_VERDICT_ALLOW);
	cr_expect_eq(d.line, 4322);
	lb_policy_judge_path(p, LB_CLASS_READ, "/srv/d4320/sub/a.txt", &d);
	cr_expect_eq(d.verdict, LB_VERDICT_DENY);

	struct mallinfo2 before = mallinfo2();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char path[64];
	for (int i = 0; i < 100000; i++) {
		snprintf(path, sizeof(path), "/srv/d%d/sub/f.txt", i % 6000);
		lb_policy_judge_path(p, LB_CLASS_READ, path, &d);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct mallinfo2 after = mallinfo2();
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_expect_lt(secs, 2.0, "100k queries took %.3f s", secs);
	cr_expect_eq(before.uordblks, after.uordblks, "queries allocated memory");
	lb_policy_free(p);
}

/* What fast mediation may leave to the kernel: subtrees where only plain
 * allow rules can decide a stat. */
Test(policy, mediation_and_uniform_subtrees)
{
	struct lb_policy *p =
	    must_load("version 1\nallow read /usr/** /etc/**\n"
		      "deny read /etc/shadow\nhide /etc/ssh\nallow write /srv/**\n"
		      "deny stat /opt/x/secret\nallow read /opt/**\n"
		      "audit read /var/log/**\nset mediation fast\n");
	cr_expect_eq(lb_policy_mediation(p), LB_MEDIATION_FAST);
	cr_expect(lb_policy_uniform_below(p, LB_CLASS_STAT, "/usr", NULL));
	cr_expect(lb_policy_uniform_below(p, LB_CLASS_STAT, "/usr/lib", NULL));
	cr_expect(!lb_policy_uniform_below(p, LB_CLASS_STAT, "/etc", NULL), "a hide inside");
	cr_expect(!lb_policy_uniform_below(p, LB_CLASS_STAT, "/srv", NULL), "write only");
	cr_expect(!lb_policy_uniform_below(p, LB_CLASS_STAT, "/opt", NULL), "a deny inside");
	cr_expect(!lb_policy_uniform_below(p, LB_CLASS_STAT, "/var/log", NULL), "audit");
	cr_expect(!lb_policy_uniform_below(p, LB_CLASS_STAT, "/", NULL));
	lb_policy_free(p);
	p = must_load("version 1\nallow read /etc/**\ndeny read /etc/shadow\n");
	cr_expect(lb_policy_uniform_below(p, LB_CLASS_STAT, "/etc", NULL),
		  "deny read keeps the existence");
	cr_expect(!lb_policy_uniform_below(p, LB_CLASS_READ, "/etc", NULL));
	cr_expect_eq(lb_policy_mediation(p), LB_MEDIATION_EXACT, "exact by default");
	lb_policy_free(p);
}
