/* SPDX-License-Identifier: MIT */
/* The one policy-word quoting routine: a name the program chose (any bytes
 * but NUL and '/') written with lb_policy_quote parses back to a rule that
 * matches exactly that name and no other. Property test over random byte
 * strings, weighted towards the bytes that mean something to the lexer
 * and the pattern language. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/policy.h"

static const struct lb_policy_vars vars = {
    .cwd = "/w", .home = "/h", .tmpdir = "/tmp", .exe = "/bin/true", .exe_dir = "/bin"};

static struct lb_policy *parse(const char *text, char *why, size_t len)
{
	struct lb_policy_inputs in = {.source = "gen.policy", .text = text, .vars = vars};
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	int rc = lb_policy_load(&in, &p, &d);
	snprintf(why, len, "%s", rc == 0 ? "" : d.n ? d.items[0].message : "?");
	lb_diags_free(&d);
	return rc == 0 ? p : NULL;
}

static bool reads(const struct lb_policy *p, const char *path)
{
	struct lb_decision d;
	lb_policy_judge_path(p, LB_CLASS_READ, path, &d);
	return d.verdict == LB_VERDICT_ALLOW && d.origin == LB_ORIGIN_POLICY;
}

static const char special[] = "*?$#\"\\\n\t\r ' {}[]\x01\x1b\x7f\x80\xc3\xa9\xff";

static size_t random_name(unsigned *seed, char *out, size_t cap)
{
	size_t n = 1 + (size_t)rand_r(seed) % 12;
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++) {
		int c;
		do
			c = rand_r(seed) % 3 ? special[rand_r(seed) % (sizeof(special) - 1)]
					     : 1 + rand_r(seed) % 255;
		while (c == '/' || c == 0);
		out[i] = (char)c;
	}
	out[n] = '\0';
	if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		out[0] = 'd';
	return n;
}

static void check_name(const char *name)
{
	char path[128], rule[1024], text[1200], why[256];
	snprintf(path, sizeof(path), "/w/d/%s", name);
	lb_policy_quote(path, strlen(path), rule, sizeof(rule));
	snprintf(text, sizeof(text), "version 1\nallow read %s  # the name\n", rule);
	struct lb_policy *p = parse(text, why, sizeof(why));
	cr_assert(p, "generated rule does not parse: %s (%s)", text, why);
	cr_expect(reads(p, path), "rule %s does not match its own name", rule);
	/* no other name: one byte changed, one more, one less, a sibling */
	char other[160];
	size_t n = strlen(path);
	for (size_t i = 5; i < n; i++) {
		memcpy(other, path, n + 1);
		other[i] = other[i] == 'a' ? 'b' : 'a';
		if (other[i - 1] != '/' || other[i] != '/')
			cr_expect(!reads(p, other), "rule %s also matches %s", rule, other);
	}
	snprintf(other, sizeof(other), "%sx", path);
	cr_expect(!reads(p, other), "rule %s also matches %s", rule, other);
	snprintf(other, sizeof(other), "%s/x", path);
	cr_expect(!reads(p, other), "rule %s also matches %s", rule, other);
	if (n > 6) {
		memcpy(other, path, n - 1);
		other[n - 1] = '\0';
		cr_expect(!reads(p, other), "rule %s also matches %s", rule, other);
	}
	cr_expect(!reads(p, "/w/d/zz"), "rule %s matches a sibling", rule);
	/* and policy show writes it back the same */
	char *shown = lb_policy_show(p);
	cr_assert(shown);
	cr_expect(strstr(shown, rule), "policy show does not write %s back:\n%s", rule, shown);
	free(shown);
	lb_policy_free(p);
}

Test(quote, named_cases)
{
	static const char *const names[] = {
	    "**",
	    "*",
	    "?",
	    "a*b",
	    "s\ninclude permissive",
	    "$HOME",
	    "$$",
	    "#x",
	    "\"",
	    "\\",
	    "a b",
	    "\t",
	    "\xff\xfe",
	    "caf\xc3\xa9",
	    "x\\\"y",
	    "${CWD}",
	    "\\*",
	    "*\n**",
	    "a\xe2\x80\xaetxt.exe",
	    "c1\xc2\x9b[31m",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check_name(names[i]);
}

Test(quote, random_byte_strings)
{
	unsigned seed = 20261129;
	for (int i = 0; i < 3000; i++) {
		char name[32];
		random_name(&seed, name, sizeof(name));
		check_name(name);
	}
}

Test(quote, plain_words_stay_bare_and_patterns_stay_patterns)
{
	char buf[64];
	lb_policy_quote("/usr/lib/libc.so.6", 18, buf, sizeof(buf));
	cr_expect_str_eq(buf, "/usr/lib/libc.so.6");
	lb_policy_quote("/usr/**", 0, buf, sizeof(buf));
	cr_expect_str_eq(buf, "/usr/**");
	lb_policy_quote("/a/**/**", 5, buf, sizeof(buf));
	cr_expect_str_eq(buf, "\"/a/\\*\\*/**\"");
}

Test(quote, bidi_overrides_and_c1_controls_are_written_escaped)
{
	char buf[64];
	/* a policy diff must show what the name is, not what it makes the line look like */
	lb_policy_quote("/a\xe2\x80\xaetxt.exe", 20, buf, sizeof(buf));
	cr_expect_str_eq(buf, "\"/a\\xe2\\x80\\xaetxt.exe\"");
	lb_policy_quote("caf\xc3\xa9", 5, buf, sizeof(buf));
	cr_expect_str_eq(buf, "caf\xc3\xa9", "ordinary letters stay as they are");
}

Test(quote, escapes_the_lexer_rejects_stay_errors)
{
	char why[256];
	cr_expect_null(parse("allow read \"/a\\q\"\n", why, sizeof(why)));
	cr_expect_null(parse("allow read \"/a\\x00\"\n", why, sizeof(why)));
	cr_expect_null(parse("allow read \"/a\\x4\"\n", why, sizeof(why)));
	/* a wildcard before an escaped star: ambiguous, refused */
	cr_expect_null(parse("allow read \"/*/\\*\"\n", why, sizeof(why)));
}
