/* SPDX-License-Identifier: MIT */
/* `litebox policy check FILE...`, `litebox policy show FILE` and the
 * dispatch to `litebox policy generate`.
 *
 * Diagnostics are printed as compilers print them, without the
 * "litebox: " prefix, so editors can jump to them:
 *   FILE:LINE:COL: error: MESSAGE
 *     included from FILE:LINE
 * Exit status: 0 without errors (warnings allowed), 1 with errors (for
 * show as for check), 125 for a bad command line. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "litebox/filter_plan.h"
#include "litebox/policy.h"
#include "litebox/util.h"

/* No program is run: $EXE and $EXE_DIR stand for these placeholders, so
 * that a policy using them can still be checked and shown. */
#define PLACEHOLDER_EXE_DIR "/<EXE_DIR>"
#define PLACEHOLDER_EXE PLACEHOLDER_EXE_DIR "/<EXE>"

static void print_diag(const struct lb_diag *g)
{
	const char *sev = g->severity == LB_DIAG_ERROR ? "error" : "warning";
	if (g->line)
		fprintf(stderr, "%s:%u:%u: %s: %s\n", g->file, g->line, g->col, sev, g->message);
	else
		fprintf(stderr, "%s: %s: %s\n", g->file, sev, g->message);
	for (const char *p = g->include_chain; p && *p;) {
		size_t l = strcspn(p, "\n");
		fprintf(stderr, "  %.*s\n", (int)l, p);
		p += l + (p[l] == '\n');
	}
}

static void fill_vars(struct lb_policy_vars *v, char *cwd, size_t len)
{
	const char *home = getenv("HOME");
	const char *tmp = getenv("TMPDIR");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "/";
	}
	*v = (struct lb_policy_vars){
	    .cwd = getcwd(cwd, len) ? cwd : NULL,
	    .home = home,
	    .tmpdir = tmp && tmp[0] == '/' ? tmp : "/tmp",
	    .exe = PLACEHOLDER_EXE,
	    .exe_dir = PLACEHOLDER_EXE_DIR,
	};
}

/* Loads one policy, prints its diagnostics; 0, 1 (errors). */
static int load(const char *file, bool lint, struct lb_policy **out)
{
	char cwd[PATH_MAX];
	struct lb_policy_inputs in = {.source = file, .lint = lint};
	struct lb_diags d = {0};
	fill_vars(&in.vars, cwd, sizeof(cwd));
	int rc = lb_policy_load(&in, out, &d);
	for (size_t i = 0; i < d.n; i++)
		print_diag(&d.items[i]);
	if (rc < 0 && d.n == 0)
		lb_msg("cannot load policy '%s': %s", file, strerror(-rc));
	lb_diags_free(&d);
	return rc < 0 ? 1 : 0;
}

static int check(int argc, char **argv)
{
	if (argc < 2) {
		lb_msg("policy check needs at least one FILE");
		lb_hint("litebox policy check FILE...");
		return LB_EXIT_LITEBOX;
	}
	int status = 0;
	for (int i = 1; i < argc; i++) {
		struct lb_policy *p = NULL;
		status |= load(argv[i], true, &p);
		lb_policy_free(p);
	}
	return status;
}

static int show(int argc, char **argv)
{
	if (argc != 2) {
		lb_msg("policy show takes exactly one FILE");
		lb_hint("litebox policy show FILE");
		return LB_EXIT_LITEBOX;
	}
	struct lb_policy *p = NULL;
	if (load(argv[1], false, &p) != 0)
		return 1;
	lb_autofree char *text = lb_policy_show(p);
	/* The kernel filter part is rendered from the plan a run installs. */
	struct lb_plan *plan = NULL;
	int rc = lb_plan_build(
	    &(struct lb_plan_inputs){.policy = p, .audit = lb_policy_mode(p) == LB_MODE_AUDIT},
	    &plan);
	if (rc == 0 && (!text || fputs(text, stdout) < 0))
		rc = -EIO;
	if (rc == 0)
		rc = lb_plan_show(plan, stdout);
	lb_plan_free(plan);
	lb_policy_free(p);
	if (rc < 0 || fflush(stdout) != 0) {
		lb_msg("cannot write the policy to standard output");
		return LB_EXIT_LITEBOX;
	}
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (sub && strcmp(sub, "check") == 0)
		return check(argc - 1, argv + 1);
	if (sub && strcmp(sub, "show") == 0)
		return show(argc - 1, argv + 1);
	if (sub && strcmp(sub, "generate") == 0)
		return cmd_policy_generate(argc - 1, argv + 1);
	if (sub)
		lb_msg("unknown policy command '%s'", sub);
	else
		lb_msg("policy needs a command: check, show or generate");
	lb_hint("litebox policy check FILE... | litebox policy show FILE | "
		"litebox policy generate --from LOG.jsonl [-o FILE]");
	return LB_EXIT_LITEBOX;
}
