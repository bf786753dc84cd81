/* SPDX-License-Identifier: MIT */
/* litebox inspect [--json] PROGRAM: what litebox learns about a program
 * before it runs it (lib/elf.c), as text or as one JSON object. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "litebox/audit.h"
#include "litebox/elf.h"

/* ---- JSON ------------------------------------------------------------------ */

/* A JSON string, escaped as the audit log escapes (lb_json_escape). */
static void json_str(FILE *out, const char *str)
{
	size_t n = strlen(str);
	size_t cap = 6 * n + 3; /* worst case: every byte as \uXXXX, plus quotes */
	char *buf = malloc(cap);
	if (!buf) {
		fputs("null", out);
		return;
	}
	lb_json_escape(str, n, buf, cap);
	fputs(buf, out);
	free(buf);
}

static void json_str_or_null(FILE *out, const char *s)
{
	if (s)
		json_str(out, s);
	else
		fputs("null", out);
}

static void json_key(FILE *out, const char *key)
{
	fprintf(out, ",\"%s\":", key); /* keys are our own literals */
}

static const char *type_name(const struct lb_program *p)
{
	if (p->is_static)
		return p->is_pie ? "static-pie" : "static";
	return "dynamic";
}

static void json_libs(FILE *out, const struct lb_program *p)
{
	json_key(out, "needed");
	fputc('[', out);
	for (size_t i = 0; i < p->n_libs; i++) {
		fputs(i ? ",{\"name\":" : "{\"name\":", out);
		json_str(out, p->libs[i].name);
		json_key(out, "resolved");
		json_str_or_null(out, p->libs[i].resolved);
		fputc('}', out);
	}
	fputc(']', out);
}

static void json_program(FILE *out, const struct lb_program *p)
{
	fputs("{\"path\":", out);
	json_str(out, p->path);
	fprintf(out, ",\"script\":%s", p->is_script ? "true" : "false");
	if (p->is_script) {
		json_key(out, "script_interpreter");
		json_str_or_null(out, p->script_interp);
		json_key(out, "script_argument");
		json_str_or_null(out, p->script_arg);
		json_key(out, "interpreter_program");
		if (p->interp_program)
			json_program(out, p->interp_program);
		else
			fputs("null", out);
		fputc('}', out);
		return;
	}
	fprintf(out, ",\"class\":%d,\"machine_number\":%d", p->elf_class, p->machine);
	json_key(out, "machine");
	json_str_or_null(out, p->machine_name);
	json_key(out, "type");
	json_str(out, type_name(p));
	fprintf(out, ",\"static\":%s,\"pie\":%s", p->is_static ? "true" : "false",
		p->is_pie ? "true" : "false");
	json_key(out, "interpreter");
	json_str_or_null(out, p->interp);
	json_key(out, "runpath");
	json_str_or_null(out, p->runpath);
	json_key(out, "rpath");
	json_str_or_null(out, p->rpath);
	json_libs(out, p);
	fputc('}', out);
}

/* The program object, plus whether it can run here and why not. */
static void print_json(const struct lb_program *p, const char *problem)
{
	fputs("{\"program\":", stdout);
	json_program(stdout, p);
	fprintf(stdout, ",\"runnable\":%s", problem ? "false" : "true");
	json_key(stdout, "problem");
	json_str_or_null(stdout, problem);
	fputs("}\n", stdout);
}

/* ---- text ------------------------------------------------------------------ */

static void print_elf(const struct lb_program *p)
{
	printf("class: ELF%d\n", p->elf_class);
	printf("machine: %s\n", p->machine_name ? p->machine_name : "unknown");
	if (p->elf_class != 64 || !p->machine_name || strcmp(p->machine_name, "x86_64") != 0)
		return; /* the rest was not read */
	printf("type: %s%s\n", p->is_static ? "static" : "dynamic", p->is_pie ? " (PIE)" : "");
	if (p->interp)
		printf("interpreter: %s\n", p->interp);
	if (p->rpath)
		printf("rpath: %s\n", p->rpath);
	if (p->runpath)
		printf("runpath: %s\n", p->runpath);
	if (p->is_static && p->n_libs == 0)
		return;
	printf("needed:%s\n", p->n_libs ? "" : " none");
	for (size_t i = 0; i < p->n_libs; i++)
		printf("  %s => %s\n", p->libs[i].name,
		       p->libs[i].resolved ? p->libs[i].resolved : "not found");
}

static void print_text(const struct lb_program *p, const char *path_label)
{
	printf("%s: %s\n", path_label, p->path);
	if (!p->is_script) {
		print_elf(p);
		return;
	}
	if (!p->script_interp) {
		puts("script: yes, no usable interpreter");
		return;
	}
	printf("script: yes, interpreter %s\n", p->script_interp);
	if (p->script_arg)
		printf("script argument: %s\n", p->script_arg);
	if (p->interp_program)
		print_text(p->interp_program, "interpreter path");
}

/* ---- command --------------------------------------------------------------- */

/* Options, then exactly one PROGRAM. Returns 0, 1 for --help, or 125. */
static int parse_args(int argc, char **argv, bool *json, const char **program)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--json") == 0) {
			*json = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(lb_usage("inspect"), stdout);
			return 1;
		} else {
			lb_msg("inspect: unknown option '%s'%s (usage: litebox inspect [--json] "
			       "PROGRAM)",
			       argv[i],
			       lb_suggest_tail(argv[i],
					       (const char *const[]){"--json", "--help", NULL}));
			return LB_EXIT_LITEBOX;
		}
	}
	if (argc - i != 1) {
		lb_msg("inspect: %s",
		       argc - i < 1 ? "missing PROGRAM" : "only one PROGRAM can be inspected");
		lb_hint("usage: litebox inspect [--json] PROGRAM");
		return LB_EXIT_LITEBOX;
	}
	*program = argv[i];
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	bool json = false;
	const char *program = NULL;
	int r = parse_args(argc, argv, &json, &program);
	if (r != 0)
		return r == 1 ? 0 : r;

	struct lb_program *p = NULL;
	enum lb_exec_problem problem = LB_EXEC_OK;
	char detail[512] = "";
	r = lb_program_inspect(program, getenv("PATH"), &p, &problem, detail, sizeof(detail));
	bool failed = r < 0 || problem != LB_EXEC_OK;
	/* A program that was identified but cannot run here (foreign machine,
	 * bad #! interpreter) is still described on standard output. */
	if (p && json)
		print_json(p, failed ? (detail[0] ? detail : "cannot be run") : NULL);
	else if (p)
		print_text(p, "path");
	int status = 0;
	if (failed) {
		lb_msg("%s: %s", program, detail[0] ? detail : strerror(r < 0 ? -r : EINVAL));
		/* Not the program's fault (out of memory...): litebox failed. */
		status = problem == LB_EXEC_OK ? LB_EXIT_LITEBOX : lb_exec_problem_status(problem);
	}
	lb_program_free(p);
	return status;
}
