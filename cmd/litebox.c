/* SPDX-License-Identifier: MIT */
/* litebox: run unmodified Linux programs under a declarative policy. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

void lb_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("litebox: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void lb_hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("litebox: hint: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char usage_text[] =
    "usage: litebox COMMAND [ARGS]\n"
    "\n"
    "  run     [OPTIONS] [--] PROGRAM [ARG...]   run PROGRAM sandboxed\n"
    "  learn   [OPTIONS] -o FILE [--] PROGRAM [ARG...]\n"
    "                                            run in audit mode, write a policy\n"
    "  policy check FILE...                      parse, resolve includes, lint\n"
    "  policy show FILE [--explain OBJECT...]    the effective policy, or which rule\n"
    "                                            decides each path or address and why\n"
    "  policy generate --from LOG.jsonl [-o FILE] a policy from an audit log\n"
    "  inspect [--json] PROGRAM                  ELF facts of PROGRAM\n"
    "  --version | --help | help COMMAND\n";

static const char run_help[] =
    "usage: litebox run [OPTIONS] [--] PROGRAM [ARG...]\n"
    "\n"
    "  -p, --policy FILE-OR-PROFILE  policy file or built-in profile (default: default)\n"
    "      --audit                   dry run: refuse nothing, record what would be refused\n"
    "      --log FILE                JSON Lines audit log ('-' for standard error)\n"
    "      --allow-read PATH         add a rule (also --allow-write, --allow-exec,\n"
    "                                --allow-connect ADDR, --allow-bind ADDR; repeatable)\n"
    "      --timeout DURATION        kill the whole tree after DURATION (90s, 5m)\n"
    "      --platform seccomp|ptrace how system calls are trapped (default seccomp)\n"
    "  -q, --quiet / -v, --verbose   fewer / more messages on standard error\n"
    "\n"
    "Exit status: the program's own; 128+N if killed by signal N; 124 on --timeout;\n"
    "125 litebox failed; 126 PROGRAM cannot be run; 127 PROGRAM not found.\n";

static int help(const char *topic)
{
	if (topic && (strcmp(topic, "run") == 0 || strcmp(topic, "learn") == 0)) {
		fputs(run_help, stdout);
		return 0;
	}
	if (topic && strcmp(topic, "inspect") == 0) {
		puts("usage: litebox inspect [--json] PROGRAM");
		return 0;
	}
	if (topic && strcmp(topic, "policy") == 0) {
		puts("usage: litebox policy check FILE...\n"
		     "       litebox policy show FILE [--explain PATH-OR-ADDR...]\n"
		     "       litebox policy generate --from LOG.jsonl [-o FILE]");
		return 0;
	}
	if (topic) {
		lb_msg("no help for '%s'", topic);
		fputs(usage_text, stderr);
		return LB_EXIT_LITEBOX;
	}
	fputs(usage_text, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return LB_EXIT_LITEBOX;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1, 0);
	if (strcmp(cmd, "learn") == 0)
		return cmd_run(argc - 1, argv + 1, 1);
	if (strcmp(cmd, "inspect") == 0)
		return cmd_inspect(argc - 1, argv + 1);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(argc - 1, argv + 1);
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("litebox %s\n", LITEBOX_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return help(NULL);
	if (strcmp(cmd, "help") == 0)
		return help(argc > 2 ? argv[2] : NULL);
	lb_msg("unknown command '%s' (run 'litebox --help' for the list of commands)", cmd);
	return LB_EXIT_LITEBOX;
}
