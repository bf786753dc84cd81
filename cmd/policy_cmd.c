/* SPDX-License-Identifier: MIT */
/* `litebox policy check FILE...`, `litebox policy show FILE [--explain
 * OBJECT...]` and the
 * dispatch to `litebox policy generate`.
 *
 * Diagnostics are printed as compilers print them, without the
 * "litebox: " prefix, so editors can jump to them:
 *   FILE:LINE:COL: error: MESSAGE
 *     included from FILE:LINE
 * Exit status: 0 without errors (warnings allowed), 1 with errors (for
 * show as for check), 125 for a bad command line. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "litebox/filter_plan.h"
#include "litebox/policy.h"
#include "litebox/util.h"
#include "litebox/view.h"

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
	const char *home = lb_home_dir();
	const char *tmp = getenv("TMPDIR");
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

/* An absolute, lexically clean path for a PATH the user typed; the host
 * file it reaches when it exists (the policy judges what is reached). */
static int explain_path(const char *arg, char *out, size_t len)
{
	char abs[PATH_MAX * 2], cwd[PATH_MAX];
	if (arg[0] == '/')
		snprintf(abs, sizeof(abs), "%s", arg);
	else if (getcwd(cwd, sizeof(cwd)))
		snprintf(abs, sizeof(abs), "%s/%s", cwd, arg);
	else
		return -1;
	char real[PATH_MAX];
	if (realpath(abs, real)) {
		snprintf(out, len, "%s", real);
		return 0;
	}
	size_t o = 0;
	for (const char *p = abs; *p;) {
		while (*p == '/')
			p++;
		size_t l = strcspn(p, "/");
		if ((l == 1 && p[0] == '.') || l == 0) {
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[--o] != '/')
				;
		} else if (o + l + 2 < len) {
			out[o++] = '/';
			memcpy(out + o, p, l);
			o += l;
		}
		p += l;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* A host name stands for an address it resolved to (0.0.0.0 here: only
 * rules for every address, and the name's own, match it). */
static int explain_host_name(char *name, struct lb_sockaddr_obj *a)
{
	static const char *names[1];
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		name[--n] = '\0';
	for (size_t i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)name[i]);
		if (!isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.')
			return -1;
		name[i] = c;
	}
	if (n == 0)
		return -1;
	names[0] = name;
	a->names = names;
	a->n_names = 1;
	return 0;
}

/* "tcp 127.0.0.1:80", "udp [::1]:53", "tcp localhost:8080", "unix PATH",
 * "unix @NAME": one concrete address. */
static int explain_addr(const char *proto, const char *addr, struct lb_sockaddr_obj *a, char *name,
			size_t len)
{
	*a = (struct lb_sockaddr_obj){0};
	if (strcmp(proto, "unix") == 0) {
		bool abstract = addr[0] == '@';
		if (!abstract && explain_path(addr, name, len) < 0)
			return -1;
		if (abstract)
			snprintf(name, len, "%s", addr + 1);
		a->kind = abstract ? LB_ADDR_UNIX_ABSTRACT : LB_ADDR_UNIX_PATH;
		a->name = name;
		a->name_len = strlen(name);
		return 0;
	}
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		return -1;
	a->kind = proto[0] == 't' ? LB_ADDR_TCP : LB_ADDR_UDP;
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr)
		return -1;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || colon[1] == '\0' || port > 65535)
		return -1;
	a->port = (uint16_t)port;
	snprintf(name, len, "%.*s", (int)(colon - addr), addr);
	size_t n = strlen(name);
	if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
		name[n - 1] = '\0';
		return inet_pton(AF_INET6, name + 1, a->ip) == 1 ? 0 : -1;
	}
	a->is_v4 = true;
	if (strcmp(name, "localhost") == 0)
		snprintf(name, len, "127.0.0.1");
	if (inet_pton(AF_INET, name, a->ip) == 1)
		return 0;
	return explain_host_name(name, a);
}

/* Prints the explanation of argv[*i] (and of the address word after a
 * protocol); advances *i. 0, or 1 on an object it cannot read. */
static int explain_one(const struct lb_policy *p, int argc, char **argv, int *i)
{
	char buf[PATH_MAX * 2];
	lb_autofree char *text = NULL;
	const char *arg = argv[*i], *sp = strchr(arg, ' ');
	bool proto = strcmp(arg, "tcp") == 0 || strcmp(arg, "udp") == 0 || strcmp(arg, "unix") == 0;
	if (sp || proto) {
		lb_autofree char *pr = sp ? strndup(arg, (size_t)(sp - arg)) : strdup(arg);
		const char *addr = sp ? sp + 1 : *i + 1 < argc ? argv[*i + 1] : "";
		*i += sp ? 1 : 2;
		struct lb_sockaddr_obj a;
		if (!pr || explain_addr(pr, addr, &a, buf, sizeof(buf)) < 0) {
			lb_msg(
			    "cannot explain '%s%s%s': not an address such as 'tcp 127.0.0.1:80', "
			    "'udp [::1]:53' or 'unix /run/x.sock'",
			    arg, sp ? "" : " ", sp ? "" : addr);
			return 1;
		}
		text = lb_policy_explain_addr(p, &a);
	} else {
		*i += 1;
		if (explain_path(arg, buf, sizeof(buf)) < 0) {
			lb_msg("cannot explain '%s': no current directory", arg);
			return 1;
		}
		text = lb_policy_explain_path(p, buf);
	}
	if (!text || fputs(text, stdout) < 0)
		return 1;
	return 0;
}

static int show(int argc, char **argv)
{
	bool explain = argc > 2 && strcmp(argv[2], "--explain") == 0;
	if (argc < 2 || (argc > 2 && !explain) || (explain && argc < 4)) {
		lb_msg(explain ? "--explain needs at least one PATH or ADDRESS"
			       : "policy show takes one FILE (and --explain OBJECT...)");
		lb_hint("litebox policy show FILE [--explain PATH-OR-ADDR...]");
		return LB_EXIT_LITEBOX;
	}
	struct lb_policy *p = NULL;
	if (load(argv[1], false, &p) != 0)
		return 1;
	if (explain) {
		int status = 0;
		for (int i = 3; i < argc;)
			status |= explain_one(p, argc, argv, &i);
		lb_policy_free(p);
		return fflush(stdout) != 0 ? LB_EXIT_LITEBOX : status;
	}
	lb_autofree char *text = lb_policy_show(p);
	/* The kernel filter part is rendered from the plan a run installs. */
	struct lb_plan *plan = NULL;
	struct lb_view *view = NULL;
	char cwd[PATH_MAX];
	int rc = 0;
	if (lb_policy_mediation(p) == LB_MEDIATION_FAST && lb_policy_mode(p) == LB_MODE_ENFORCE)
		rc = getcwd(cwd, sizeof(cwd)) ? lb_view_plan(p, cwd, &view) : -errno;
	if (rc == 0)
		rc = lb_plan_build(
		    &(struct lb_plan_inputs){.policy = p,
					     .audit = lb_policy_mode(p) == LB_MODE_AUDIT,
					     .stat_in_kernel = lb_view_fast(view),
					     .readlink_in_kernel =
						 lb_view_readlink_in_kernel(view)},
		    &plan);
	if (rc == 0 && (!text || fputs(text, stdout) < 0))
		rc = -EIO;
	if (rc == 0)
		rc = lb_plan_show(plan, stdout);
	if (rc == 0 && view && lb_view_reason(view)[0])
		printf("#   set mediation fast: %s%s\n", lb_view_reason(view),
		       lb_view_fast(view) ? "" : " (here: a run from this directory is exact)");
	lb_view_free(view);
	lb_plan_free(plan);
	lb_policy_free(p);
	if (rc < 0 || fflush(stdout) != 0) {
		lb_msg("cannot write the policy to standard output");
		return LB_EXIT_LITEBOX;
	}
	return 0;
}

static bool is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* -h or --help anywhere among a subcommand's arguments (before "--"). */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (is_help(argv[i]))
			return true;
	return false;
}

static const char *const subcommands[] = {"check", "show", "generate", NULL};

int cmd_policy(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (sub && is_help(sub)) {
		fputs(lb_usage("policy"), stdout);
		return 0;
	}
	for (size_t i = 0; sub && subcommands[i]; i++) {
		if (strcmp(sub, subcommands[i]) != 0)
			continue;
		if (wants_help(argc - 1, argv + 1)) {
			char topic[32];
			snprintf(topic, sizeof(topic), "policy %s", sub);
			fputs(lb_usage(topic), stdout);
			return 0;
		}
	}
	if (sub && strcmp(sub, "check") == 0)
		return check(argc - 1, argv + 1);
	if (sub && strcmp(sub, "show") == 0)
		return show(argc - 1, argv + 1);
	if (sub && strcmp(sub, "generate") == 0)
		return cmd_policy_generate(argc - 1, argv + 1);
	if (sub)
		lb_msg("unknown policy command '%s'%s", sub, lb_suggest_tail(sub, subcommands));
	else
		lb_msg("policy needs a command: check, show or generate");
	lb_hint("litebox policy check FILE... | litebox policy show FILE [--explain OBJECT...] | "
		"litebox policy generate --from LOG.jsonl [-o FILE]");
	return LB_EXIT_LITEBOX;
}
