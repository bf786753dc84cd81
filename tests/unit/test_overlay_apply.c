/* SPDX-License-Identifier: MIT */
/* `overlay apply` against a host that changes while it runs: a real run
 * of the built litebox with --overlay makes DIR, then lb_overlay_apply
 * runs with its test hook, which changes the host right before a chosen
 * step commits (after apply's check). Each test checks the host's bytes
 * and modes afterwards, with the same apply and no change as control. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/overlay_internal.h"
#include "litebox/overlay.h"

static char host[PATH_MAX], ovl[PATH_MAX + 8];
static char err[4096];

static char *at(const char *rel)
{
	static char buf[4][PATH_MAX + 64];
	static int k;
	char *out = buf[k++ % 4];
	snprintf(out, PATH_MAX + 64, "%s/%s", host, rel);
	return out;
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");
	cr_assert(f, "%s: %s", at(rel), strerror(errno));
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *rel)
{
	static char buf[256];
	buf[0] = '\0';
	FILE *f = fopen(at(rel), "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static mode_t mode_of(const char *rel)
{
	struct stat st;
	cr_assert(lstat(at(rel), &st) == 0, "%s", at(rel));
	return st.st_mode & 07777;
}

/* No temporary of apply's left in the host tree's top or in D. */
static void expect_no_leftovers(void)
{
	const char *dirs[] = {host, at("D")};
	for (size_t i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d)))
			cr_expect(strncmp(e->d_name, ".litebox-apply-", 15) != 0, "left behind: %s",
				  e->d_name);
		closedir(d);
	}
}

/* The host: f, g (0644), D/x; the run changes f, adds h, deletes D and
 * makes g 0600. */
static void setup(void)
{
	char tmpl[] = "/tmp/lb-apply-XXXXXX";
	cr_assert(mkdtemp(tmpl));
	cr_assert(realpath(tmpl, host));
	cr_assert(mkdir(at("D"), 0755) == 0);
	put("f", "host\n");
	put("g", "g\n");
	chmod(at("g"), 0644);
	put("D/x", "x\n");
	snprintf(ovl, sizeof(ovl), "%s.ovl", host);
	const char *lb = getenv("LITEBOX");
	cr_assert(lb, "LITEBOX names the built litebox");
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && '%s' run -q --overlay '%s' -p permissive -- sh -c "
		 "'echo run > f; echo new > h; rm -rf D; chmod 600 g' >/dev/null 2>&1",
		 host, lb, ovl);
	int rc = system(cmd);
	if (rc != 0 || !slurp("D/x"))
		cr_skip_test("no run over an overlay here (%d)", rc);
	cr_assert_str_eq(slurp("f"), "host\n", "the run left the host alone");
	lb_ovl_apply_hook = NULL;
}

static void teardown(void)
{
	lb_ovl_apply_hook = NULL;
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", host, ovl);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", host);
}

TestSuite(apply, .init = setup, .fini = teardown);

/* What the hook does, and before which step. */
static const char *when;
static void (*change)(void);
static int hooked;

static void hook(const char *path)
{
	if (strcmp(path, at(when)) == 0 && hooked++ == 0)
		change();
}

static int apply_changing(const char *rel, void (*fn)(void))
{
	when = rel;
	change = fn;
	hooked = 0;
	lb_ovl_apply_hook = hook;
	size_t n;
	int rc = lb_overlay_apply(ovl, &n, err, sizeof(err));
	lb_ovl_apply_hook = NULL;
	cr_assert_eq(hooked, 1, "the hook ran before %s", rel);
	return rc;
}

/* The host as it was before apply, but for the change made meanwhile. */
static void expect_nothing_applied(const char *changed_at)
{
	char changed[PATH_MAX + 64]; /* at()'s buffers are reused */
	snprintf(changed, sizeof(changed), "%s", changed_at);
	cr_expect(strstr(err, changed) && strstr(err, "was changed while apply ran"), "err: %s",
		  err);
	cr_expect_null(slurp("h"), "h was not added");
	const char *x = slurp("D/x");
	cr_expect(x && strcmp(x, strcmp(changed, at("D/x")) ? "x\n" : "mine\n") == 0,
		  "D is still there (%s)", x ? x : "absent");
	cr_expect_eq(mode_of("g"), strcmp(changed, at("g")) ? 0644 : 0640, "g's mode");
	expect_no_leftovers();
}

static void noop(void)
{
}

Test(apply, the_control_applies_every_change)
{
	cr_assert_eq(apply_changing("f", noop), 0, "%s", err);
	cr_expect_str_eq(slurp("f"), "run\n");
	cr_expect_str_eq(slurp("h"), "new\n");
	cr_expect_null(slurp("D/x"));
	cr_expect_eq(mode_of("g"), 0600);
	expect_no_leftovers();
}

static void edit_f(void)
{
	put("f", "the user's edit\n");
}

Test(apply, a_file_edited_after_the_check_is_not_replaced)
{
	cr_assert_eq(apply_changing("f", edit_f), -EAGAIN, "%s", err);
	cr_expect_str_eq(slurp("f"), "the user's edit\n", "the edit is kept");
	expect_nothing_applied(at("f"));
	/* the next apply still refuses it: the edit is not taken as the host
	 * the run saw */
	size_t n;
	cr_expect_eq(lb_overlay_apply(ovl, &n, err, sizeof(err)), -EBUSY, "%s", err);
	cr_expect(strstr(err, at("f")), "%s", err);
	cr_expect_str_eq(slurp("f"), "the user's edit\n");
}

static void edit_in_d(void)
{
	put("D/x", "mine\n");
}

Test(apply, a_tree_is_not_deleted_when_a_file_in_it_changed)
{
	cr_assert_eq(apply_changing("D", edit_in_d), -EAGAIN, "%s", err);
	cr_expect_str_eq(slurp("f"), "host\n");
	expect_nothing_applied(at("D/x"));
}

static void add_in_d(void)
{
	put("D/new", "mine\n");
}

Test(apply, a_tree_is_not_deleted_when_a_file_was_added_to_it)
{
	cr_assert_eq(apply_changing("D", add_in_d), -EAGAIN, "%s", err);
	cr_expect_str_eq(slurp("D/new"), "mine\n");
	cr_expect_str_eq(slurp("f"), "host\n");
	expect_nothing_applied(at("D"));
}

static void make_h(void)
{
	put("h", "mine\n");
}

Test(apply, a_file_created_where_apply_adds_one_is_kept)
{
	cr_assert_eq(apply_changing("h", make_h), -EAGAIN, "%s", err);
	cr_expect_str_eq(slurp("h"), "mine\n");
	cr_expect_str_eq(slurp("f"), "host\n", "f's change was undone");
	cr_expect_str_eq(slurp("D/x"), "x\n");
	expect_no_leftovers();
	cr_expect(strstr(err, at("h")) && strstr(err, "was changed while apply ran"), "%s", err);
}

static void chmod_g(void)
{
	chmod(at("g"), 0640);
}

Test(apply, a_mode_changed_after_the_check_is_not_overwritten)
{
	cr_assert_eq(apply_changing("g", chmod_g), -EAGAIN, "%s", err);
	cr_expect_str_eq(slurp("f"), "host\n", "f's change was undone");
	expect_nothing_applied(at("g"));
}
