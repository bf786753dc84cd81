/* SPDX-License-Identifier: MIT */
/* Path patterns: table-driven tests of compile, match, text, prefix, covers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/pattern.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct lb_pattern *compile_ok(const char *text)
{
	struct lb_pattern *p = NULL;
	struct lb_pattern_error err = {0, NULL};
	int rc = lb_pattern_compile(text, &p, &err);
	cr_assert_eq(rc, 0, "compile \"%s\": rc %d, col %zu: %s", text, rc, err.col,
		     err.message ? err.message : "");
	return p;
}

/* ---- matching ------------------------------------------------------------ */

struct match_row {
	const char *pattern;
	const char *path;
	bool expected;
};

static const struct match_row match_rows[] = {
    /* literals */
    {"/", "/", true},
    {"/", "/a", false},
    {"/etc/passwd", "/etc/passwd", true},
    {"/etc/passwd", "/etc/passwd2", false},
    {"/etc/passwd", "/etc/passw", false},
    {"/etc/passwd", "/etc", false},
    {"/etc/passwd", "/etc/passwd/x", false},
    {"/etc/passwd", "/", false},
    {"/etc", "/etc/passwd", false},
    {"/Etc", "/etc", false},
    {"/etc/passwd", "/etc/shadow", false},
    {"/a b/c", "/a b/c", true},
    {"/tmp/[abc]", "/tmp/[abc]", true},
    {"/tmp/[abc]", "/tmp/a", false},
    {"/tmp/a\\b", "/tmp/a\\b", true},
    {"/tmp/a\\*", "/tmp/a\\xyz", true}, /* no escapes: '\' is a byte, '*' a wildcard */
    {"/tmp/.hidden", "/tmp/.hidden", true},
    {"/tmp/...", "/tmp/...", true},
    {"/tmp/..x", "/tmp/..x", true},
    {"/tmp/x.", "/tmp/x.", true},
    {"/tmp/é", "/tmp/é", true},
    {"/tmp/é", "/tmp/e", false},
    /* "//" and trailing '/' in patterns are normalised */
    {"/etc/", "/etc", true},
    {"/etc/", "/etc/x", false},
    {"/etc//passwd", "/etc/passwd", true},
    {"//etc///passwd//", "/etc/passwd", true},
    {"///", "/", true},
    {"/dir//**", "/dir/x", true},
    {"/dir/**/", "/dir", true},
    {"/dir/**/", "/dir/a/b", true},
    {"/a//*//b/", "/a/x/b", true},
    /* non-canonical paths are tolerated, never required */
    {"/etc/passwd", "/etc//passwd", true},
    {"/etc/passwd", "/etc/passwd/", true},
    {"/etc/passwd", "etc/passwd", false},
    {"/etc/passwd", "", false},
    {"/**", "", false},
    /* '*' within one component */
    {"/tmp/*", "/tmp/a", true},
    {"/tmp/*", "/tmp/abc.txt", true},
    {"/tmp/*", "/tmp/.hidden", true}, /* no dotfile special case */
    {"/tmp/*", "/tmp/*", true},
    {"/tmp/*", "/tmp", false},
    {"/tmp/*", "/tmp/a/b", false},
    {"/tmp/*", "/tmpx/a", false},
    {"/tmp/*.txt", "/tmp/.txt", true},
    {"/tmp/*.txt", "/tmp/a.txt", true},
    {"/tmp/*.txt", "/tmp/a.txt.bak", false},
    {"/tmp/*.txt", "/tmp/a/b.txt", false},
    {"/tmp/*.txt", "/tmp/a.TXT", false},
    {"/tmp/a*", "/tmp/a", true},
    {"/tmp/a*", "/tmp/ab", true},
    {"/tmp/a*", "/tmp/ba", false},
    {"/tmp/*a", "/tmp/a", true},
    {"/tmp/*a", "/tmp/ba", true},
    {"/tmp/*a", "/tmp/ab", false},
    {"/tmp/a*b", "/tmp/ab", true},
    {"/tmp/a*b", "/tmp/axxb", true},
    {"/tmp/a*b", "/tmp/abab", true},
    {"/tmp/a*b", "/tmp/axxbx", false},
    {"/tmp/a*b*c", "/tmp/abc", true},
    {"/tmp/a*b*c", "/tmp/aXbYbZc", true},
    {"/tmp/a*b*c", "/tmp/acb", false},
    {"/tmp/*.*", "/tmp/a.b", true},
    {"/tmp/*.*", "/tmp/ab", false},
    {"/*", "/", false},
    {"/*", "/a", true},
    {"/*", "/a/b", false},
    {"/*/b", "/a/b", true},
    {"/*/b", "/b", false},
    {"/*/b", "/a/c", false},
    {"/*/*", "/a/b", true},
    {"/*/*", "/a", false},
    {"/*/*", "/a/b/c", false},
    {"/usr/lib/*.so*", "/usr/lib/libc.so.6", true},
    {"/usr/lib/*.so*", "/usr/lib/libc.so", true},
    {"/usr/lib/*.so*", "/usr/lib/x86_64/libc.so", false},
    {"/usr/lib/lib*.so.?", "/usr/lib/libm.so.6", true},
    {"/usr/lib/lib*.so.?", "/usr/lib/libm.so.66", false},
    {"/home/*/.ssh", "/home/alice/.ssh", true},
    {"/home/*/.ssh", "/home/.ssh", false},
    {"/home/*/.ssh", "/home/alice/bob/.ssh", false},
    {"/proc/*/status", "/proc/1234/status", true},
    /* '?' is one UTF-8 code point */
    {"/tmp/?", "/tmp/a", true},
    {"/tmp/?", "/tmp/ab", false},
    {"/tmp/?", "/tmp", false},
    {"/tmp/?", "/tmp/a/b", false},
    {"/tmp/a?c", "/tmp/abc", true},
    {"/tmp/a?c", "/tmp/ac", false},
    {"/tmp/a?c", "/tmp/abbc", false},
    {"/tmp/??", "/tmp/ab", true},
    {"/tmp/?", "/tmp/é", true},
    {"/tmp/??", "/tmp/é", false},
    {"/tmp/?", "/tmp/日", true},
    {"/tmp/??", "/tmp/日本", true},
    {"/tmp/?", "/tmp/日本", false},
    {"/tmp/???", "/tmp/日本", false},
    {"/tmp/caf?", "/tmp/café", true},
    {"/tmp/caf?", "/tmp/cafe", true},
    {"/tmp/caf??", "/tmp/café", false},
    {"/tmp/?*", "/tmp/é", true},
    {"/tmp/*?", "/tmp/日本", true},
    {"/tmp/*??", "/tmp/é", false},
    {"/tmp/*???", "/tmp/日本", false},
    {"/tmp/*?本", "/tmp/日本", true},
    {"/tmp/日*", "/tmp/日本", true},
    {"/tmp/*本", "/tmp/日本", true},
    {"/tmp/?本", "/tmp/日本", true},
    {"/tmp/?", "/tmp/\xF0\x9F\x98\x80", true}, /* 4-byte code point */
    {"/tmp/??", "/tmp/\xF0\x9F\x98\x80", false},
    {"/tmp/?", "/tmp/\xFF", true},	/* invalid byte: one character */
    {"/tmp/?x", "/tmp/\xC3x", true},	/* truncated sequence */
    {"/tmp/??", "/tmp/\x80\x80", true}, /* stray continuation bytes */
    /* '**' as a whole component */
    {"/**", "/", true},
    {"/**", "/a", true},
    {"/**", "/a/b/c", true},
    {"/dir/**", "/dir", true},
    {"/dir/**", "/dir/a", true},
    {"/dir/**", "/dir/a/b/c", true},
    {"/dir/**", "/dirx", false},
    {"/dir/**", "/dirx/a", false},
    {"/dir/**", "/di", false},
    {"/dir/**", "/", false},
    {"/dir/**", "/other/dir/a", false},
    {"/a/b/**", "/a", false},
    {"/a/b/**", "/a/b", true},
    {"/a/**/b", "/a/b", true},
    {"/a/**/b", "/a/x/b", true},
    {"/a/**/b", "/a/x/y/z/b", true},
    {"/a/**/b", "/a/x/y/z/b/c", false},
    {"/a/**/b", "/a/b/b", true},
    {"/a/**/b", "/a/bb", false},
    {"/a/**/b", "/a", false},
    {"/a/**/b", "/b", false},
    {"/**/b", "/b", true},
    {"/**/b", "/x/y/b", true},
    {"/**/b", "/x/y/bb", false},
    {"/**/b", "/x/b/y", false},
    {"/**/b/**", "/x/b/y", true},
    {"/**/b/**", "/b", true},
    {"/**/b/**", "/x/y", false},
    {"/**/*.c", "/src/main.c", true},
    {"/**/*.c", "/main.c", true},
    {"/**/*.c", "/src/main.h", false},
    {"/**/.git/**", "/home/u/p/.git/config", true},
    {"/**/.git/**", "/home/u/p/.gitignore", false},
    {"/a/**/**/b", "/a/b", true},
    {"/a/**/**/b", "/a/x/y/b", true},
    {"/a/**/x/**/b", "/a/x/b", true},
    {"/a/**/x/**/b", "/a/1/x/2/b", true},
    {"/a/**/x/**/b", "/a/1/2/b", false},
    {"/a/**/x/**/b", "/a/x/x/x/b", true},
    {"/a/b/**/c/d", "/a/b/c/d", true},
    {"/a/b/**/c/d", "/a/b/c/c/d", true},
    {"/a/b/**/c/d", "/a/b/c/d/e", false},
    {"/a/**/b/**/c", "/a/b/c", true},
    {"/a/**/b/**/c", "/a/c/b", false},
    {"/**/**", "/", true},
    {"/**/**", "/q/w/e", true},
    {"/**/*/x", "/x", false},
    {"/**/*/x", "/a/x", true},
    {"/**/?", "/a/bc", false},
    {"/**/?", "/a/b/c", true},
    {"/home/*/**", "/home", false},
    {"/home/*/**", "/home/u", true},
    {"/home/*/**", "/home/u/v/w", true},
    /* '**' mixed with other characters acts as '*', inside one component */
    {"/tmp/a**b", "/tmp/ab", true},
    {"/tmp/a**b", "/tmp/axyzb", true},
    {"/tmp/a**b", "/tmp/a/b", false},
    {"/tmp/a**b", "/tmp/ax/yb", false},
    {"/src/**.c", "/src/x.c", true},
    {"/src/**.c", "/src/d/x.c", false},
    {"/src/***", "/src/x", true},
    {"/src/***", "/src", false},
    {"/src/***", "/src/x/y", false},
    /* backtracking traps */
    {"/*a*a*a*a*a*b", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    {"/*a*a*a*a*a*b", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaab", true},
    {"/tmp/*a*a*a*a*a*b", "/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    {"/**/**/**/**/a", "/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b", false},
    {"/**/**/**/**/a", "/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/b/a", true},
    {"/**/a/**/a/**/a/**/b", "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", false},
    {"/**/a/**/a/**/a/**/b", "/a/x/a/x/a/x/b", true},
};

Test(pattern, match_table)
{
	cr_assert_geq(ARRAY_SIZE(match_rows), 170);
	for (size_t i = 0; i < ARRAY_SIZE(match_rows); i++) {
		const struct match_row *r = &match_rows[i];
		struct lb_pattern *p = compile_ok(r->pattern);
		cr_expect_eq(lb_pattern_match(p, r->path), r->expected,
			     "row %zu: \"%s\" vs \"%s\": expected %s", i, r->pattern, r->path,
			     r->expected ? "match" : "no match");
		lb_pattern_free(p);
	}
}

/* ---- generated paths: long, deep, many globstars ------------------------------ */

/* "/" NAME repeated n times, in a malloc'd string. */
static char *repeat_component(const char *name, size_t n)
{
	size_t clen = strlen(name) + 1;
	char *s = malloc(n * clen + 1);
	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++) {
		s[i * clen] = '/';
		memcpy(s + i * clen + 1, name, clen - 1);
	}
	s[n * clen] = '\0';
	return s;
}

static bool match_text(const char *pattern, const char *path)
{
	struct lb_pattern *p = compile_ok(pattern);
	bool m = lb_pattern_match(p, path);
	lb_pattern_free(p);
	return m;
}

Test(pattern, very_long_path)
{
	char path[4002], pattern[4002];
	path[0] = '/';
	memset(path + 1, 'x', 3999);
	path[4000] = '\0';
	cr_expect(match_text("/*", path));
	cr_expect(match_text("/x*x", path));
	cr_expect(match_text("/**", path));
	cr_expect_not(match_text("/*y", path));
	cr_expect_not(match_text("/*x*x*x*x*x*y", path));
	memcpy(pattern, path, sizeof(path));
	cr_expect(match_text(pattern, path), "a 4000-byte literal matches itself");
	pattern[2000] = '?';
	cr_expect(match_text(pattern, path));
}

Test(pattern, deep_path)
{
	char *path = repeat_component("d", 500);
	cr_expect(match_text("/**", path));
	cr_expect(match_text("/d/**", path));
	cr_expect(match_text("/**/d", path));
	cr_expect(match_text("/d/**/d/d", path));
	cr_expect_not(match_text("/**/e", path));
	cr_expect_not(match_text("/d/d/d", path));
	free(path);
}

Test(pattern, thirty_globstars)
{
	char *pattern = repeat_component("**", 30);
	char *deep = repeat_component("z", 400);
	cr_expect(match_text(pattern, "/"));
	cr_expect(match_text(pattern, "/a/b/c"));
	cr_expect(match_text(pattern, deep));
	free(pattern);
	free(deep);
}

Test(pattern, pathological_globstars_finish)
{
	/* Would be exponential with naive backtracking; the NFA is linear. */
	char *path = repeat_component("b", 1000);
	cr_expect_not(match_text("/**/**/**/**/**/**/**/**/a", path));
	cr_expect_not(match_text("/**/b/**/b/**/b/**/b/**/a", path));
	cr_expect(match_text("/**/**/**/**/**/**/**/**/b", path));
	free(path);
}

Test(pattern, pathological_stars_finish)
{
	char path[2 + 4000];
	path[0] = '/';
	memset(path + 1, 'a', 3999);
	path[4000] = '\0';
	cr_expect_not(match_text("/*a*a*a*a*a*a*a*a*a*a*b", path));
	cr_expect(match_text("/*a*a*a*a*a*a*a*a*a*a*", path));
}

Test(pattern, max_components)
{
	char *ok = repeat_component("c", LB_PATTERN_MAX_COMPONENTS);
	cr_expect(match_text(ok, ok));
	free(ok);
}

/* ---- rejected patterns ------------------------------------------------------ */

struct reject_row {
	const char *pattern;
	size_t col;
	const char *message_part;
};

static const struct reject_row reject_rows[] = {
    {"", 0, "empty"},	     {"relative", 0, "absolute"}, {"a/b", 0, "absolute"},
    {"./a", 0, "absolute"},  {"~/x", 0, "absolute"},	  {"*", 0, "absolute"},
    {"**/x", 0, "absolute"}, {" /a", 0, "absolute"},	  {"/a/../b", 3, "'..'"},
    {"/a/./b", 3, "'.'"},    {"/..", 1, "'..'"},	  {"/.", 1, "'.'"},
    {"/a/b/..", 5, "'..'"},  {"/a/b/.", 5, "'.'"},	  {"//..", 2, "'..'"},
    {"/a//./b", 4, "'.'"},   {"/a/b/../", 5, "'..'"},
};

Test(pattern, reject_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(reject_rows); i++) {
		const struct reject_row *r = &reject_rows[i];
		struct lb_pattern *p = NULL;
		struct lb_pattern_error err = {99, NULL};
		int rc = lb_pattern_compile(r->pattern, &p, &err);
		cr_expect_eq(rc, -EINVAL, "\"%s\": rc %d", r->pattern, rc);
		cr_expect_null(p, "\"%s\": no pattern on error", r->pattern);
		cr_expect_eq(err.col, r->col, "\"%s\": col %zu, expected %zu", r->pattern, err.col,
			     r->col);
		cr_expect(err.message && strstr(err.message, r->message_part),
			  "\"%s\": message \"%s\" lacks \"%s\"", r->pattern,
			  err.message ? err.message : "(null)", r->message_part);
	}
}

Test(pattern, reject_null_text)
{
	struct lb_pattern *p = NULL;
	struct lb_pattern_error err;
	cr_expect_eq(lb_pattern_compile(NULL, &p, &err), -EINVAL);
	cr_expect_eq(err.col, 0);
}

Test(pattern, reject_nul_byte)
{
	struct lb_pattern *p = NULL;
	struct lb_pattern_error err;
	cr_expect_eq(lb_pattern_compile_len("/a\0b", 4, &p, &err), -EINVAL);
	cr_expect_eq(err.col, 2);
	cr_expect(strstr(err.message, "NUL"));
	cr_expect_eq(lb_pattern_compile_len("/ab/c", 3, &p, &err), 0, "length-limited text");
	cr_expect_str_eq(lb_pattern_text(p), "/ab");
	lb_pattern_free(p);
}

Test(pattern, reject_longer_than_path_max)
{
	char *text = malloc(PATH_MAX + 1);
	struct lb_pattern *p = NULL;
	struct lb_pattern_error err;
	cr_assert_not_null(text);
	text[0] = '/';
	memset(text + 1, 'a', PATH_MAX - 1);
	text[PATH_MAX] = '\0';
	cr_expect_eq(lb_pattern_compile(text, &p, &err), -EINVAL);
	cr_expect_eq(err.col, PATH_MAX - 1);
	cr_expect(strstr(err.message, "PATH_MAX"));
	text[PATH_MAX - 1] = '\0'; /* PATH_MAX - 1 bytes: the longest accepted */
	cr_expect_eq(lb_pattern_compile(text, &p, &err), 0);
	lb_pattern_free(p);
	free(text);
}

Test(pattern, reject_too_many_components)
{
	char *text = repeat_component("c", LB_PATTERN_MAX_COMPONENTS + 1);
	struct lb_pattern *p = NULL;
	struct lb_pattern_error err;
	cr_expect_eq(lb_pattern_compile(text, &p, &err), -EINVAL);
	cr_expect_eq(err.col, 2 * LB_PATTERN_MAX_COMPONENTS + 1,
		     "col of the first extra component");
	cr_expect(strstr(err.message, "too many"));
	free(text);
}

/* ---- text, prefix, is_literal -------------------------------------------------- */

struct shape_row {
	const char *pattern;
	const char *text;
	const char *prefix;
	bool literal;
};

static const struct shape_row shape_rows[] = {
    {"/", "/", "/", true},
    {"///", "/", "/", true},
    {"/etc/passwd", "/etc/passwd", "/etc/passwd", true},
    {"/dir/", "/dir", "/dir", true},
    {"//a//b//", "/a/b", "/a/b", true},
    {"/usr/lib/*.so", "/usr/lib/*.so", "/usr/lib", false},
    {"//a//b//*", "/a/b/*", "/a/b", false},
    {"/**", "/**", "/", false},
    {"/*/x", "/*/x", "/", false},
    {"/?", "/?", "/", false},
    {"/home/*/.ssh", "/home/*/.ssh", "/home", false},
    {"/dir/**", "/dir/**", "/dir", false},
    {"/dir/**/", "/dir/**", "/dir", false},
    {"/a/b**c/d", "/a/b**c/d", "/a", false},
    {"/a/?/b", "/a/?/b", "/a", false},
    {"/a/b/c/**/d/*", "/a/b/c/**/d/*", "/a/b/c", false},
    {"/日本/*", "/日本/*", "/日本", false},
};

Test(pattern, text_prefix_literal_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(shape_rows); i++) {
		const struct shape_row *r = &shape_rows[i];
		struct lb_pattern *p = compile_ok(r->pattern);
		cr_expect_str_eq(lb_pattern_text(p), r->text, "text of \"%s\"", r->pattern);
		cr_expect_str_eq(lb_pattern_prefix(p), r->prefix, "prefix of \"%s\"", r->pattern);
		cr_expect_eq(lb_pattern_is_literal(p), r->literal, "is_literal of \"%s\"",
			     r->pattern);
		lb_pattern_free(p);
	}
}

Test(pattern, text_compiles_to_same_pattern)
{
	for (size_t i = 0; i < ARRAY_SIZE(match_rows); i++) {
		struct lb_pattern *p = compile_ok(match_rows[i].pattern);
		struct lb_pattern *q = compile_ok(lb_pattern_text(p));
		cr_expect_str_eq(lb_pattern_text(q), lb_pattern_text(p));
		cr_expect_eq(lb_pattern_match(q, match_rows[i].path), match_rows[i].expected,
			     "row %zu after text round trip", i);
		lb_pattern_free(q);
		lb_pattern_free(p);
	}
}

/* ---- covers ----------------------------------------------------------------------- */

struct covers_row {
	const char *a, *b;
	bool expected;
};

static const struct covers_row covers_rows[] = {
    {"/a/b", "/a/b", true},
    {"/a/b", "/a/c", false},
    {"/a/b", "/a/*", false},
    {"/dir/", "/dir", true},
    {"/a/**", "/a/b/c", true},
    {"/a/**", "/a/*/x", true},
    {"/a/**", "/a", true},
    {"/a/**", "/a/**", true},
    {"/a/**", "/a/b/**", true},
    {"/a/b/**", "/a/**", false},
    {"/a/**", "/b", false},
    {"/a/**", "/ab/c", false},
    {"/a/**", "/**", false},
    {"/**", "/anything/at/all", true},
    {"/**", "/*/x/**", true},
    {"/**", "/", true},
    {"/**", "/**", true},
    {"/a/*", "/a/b", true},
    {"/a/*", "/a/b/c", false},
    {"/a/*", "/a/**", false},
    {"/a/*", "/a/*.c", true},
    {"/a/*", "/a/?", true},
    {"/a/*.c", "/a/*", false},
    {"/a/*.c", "/a/x.c", true},
    {"/a/*.c", "/a/*.c", true},
    {"/a/*.c", "/a/x.h", false},
    {"/a/?", "/a/é", true},
    {"/a/?", "/a/ab", false},
    {"/a/**/c", "/a/b/c", true},
    {"/a/**/c", "/a/c", true},
    {"/a/**/c", "/a/**/c", true},
    {"/a/**/c", "/a/**/d", false},
    {"/a/**/c", "/a/*/c", true},
    {"/x/**/**", "/x/**", true},
    {"/x/**", "/x/**/**", true},
    {"/**/*.c", "/src/**/main.c", true},
    {"/**/*.c", "/src/**/*.c", true},
    {"/**/*.c", "/src/**", false},
};

Test(pattern, covers_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(covers_rows); i++) {
		const struct covers_row *r = &covers_rows[i];
		struct lb_pattern *a = compile_ok(r->a), *b = compile_ok(r->b);
		cr_expect_eq(lb_pattern_covers(a, b), r->expected,
			     "\"%s\" covers \"%s\": expected %s", r->a, r->b,
			     r->expected ? "yes" : "no");
		lb_pattern_free(a);
		lb_pattern_free(b);
	}
}

/* covers must be sound: whenever it says yes, every path b matches in the
 * match table is matched by a. */
Test(pattern, covers_is_sound_on_table_paths)
{
	for (size_t i = 0; i < ARRAY_SIZE(covers_rows); i++) {
		struct lb_pattern *a = compile_ok(covers_rows[i].a),
				  *b = compile_ok(covers_rows[i].b);
		if (lb_pattern_covers(a, b)) {
			for (size_t j = 0; j < ARRAY_SIZE(match_rows); j++) {
				const char *path = match_rows[j].path;
				if (lb_pattern_match(b, path))
					cr_expect(lb_pattern_match(a, path),
						  "\"%s\" covers \"%s\" but not %s",
						  covers_rows[i].a, covers_rows[i].b, path);
			}
		}
		lb_pattern_free(a);
		lb_pattern_free(b);
	}
}

/* same_below: equal answers for a/REL and b/REL, for every REL. */
Test(pattern, same_below_tells_when_a_move_changes_rules)
{
	static const struct {
		const char *pat, *a, *b;
		bool same;
	} rows[] = {
	    {"/w/protected/*", "/w/protected", "/w/moved", false},
	    {"/w/protected/**", "/w/protected", "/w/moved", false},
	    {"/w/prot*/x", "/w/protected", "/w/moved", false},
	    {"/w/**", "/w/a", "/w/b", true},
	    {"/w/*/locked", "/w/a", "/w/b", true},
	    {"/w/*/locked", "/w/a", "/w/b/c", false},
	    {"/usr/**", "/w/a", "/w/b", true},
	    {"/w/a", "/w/a", "/w/b", false},
	};
	static const char *const rel[] = {"", "/x", "/locked", "/f", "/x/y"};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct lb_pattern *p = compile_ok(rows[i].pat);
		bool same = lb_pattern_same_below(p, rows[i].a, rows[i].b);
		cr_expect_eq(same, rows[i].same, "%s: %s vs %s", rows[i].pat, rows[i].a, rows[i].b);
		for (size_t j = 0; same && j < ARRAY_SIZE(rel); j++) {
			char pa[256], pb[256];
			snprintf(pa, sizeof(pa), "%s%s", rows[i].a, rel[j]);
			snprintf(pb, sizeof(pb), "%s%s", rows[i].b, rel[j]);
			cr_expect_eq(lb_pattern_match(p, pa), lb_pattern_match(p, pb),
				     "%s: %s vs %s", rows[i].pat, pa, pb);
		}
		lb_pattern_free(p);
	}
}
