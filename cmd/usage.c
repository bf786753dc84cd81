/* SPDX-License-Identifier: MIT */
/* The usage of every command, printed by -h, --help and `help TOPIC`.
 * tests/integration/test_install.py checks these against cli.md and the
 * man page, so the three cannot drift apart. */
#include <string.h>

#include "cmd.h"

static const char main_usage[] =
    "usage: litebox COMMAND [ARGS]\n"
    "\n"
    "  run     [OPTIONS] [--] PROGRAM [ARG...]   run PROGRAM sandboxed\n"
    "  learn   [OPTIONS] -o FILE [--] PROGRAM [ARG...]\n"
    "                                            run in audit mode, then write the smallest\n"
    "                                            policy that allows what it did\n"
    "  policy check FILE...                      parse, resolve includes, lint; exit 0/1\n"
    "  policy show FILE [--explain PATH-OR-ADDR...]\n"
    "                                            the effective rules (and which rule decides)\n"
    "  policy generate --from LOG.jsonl [-o FILE] a policy from an audit log\n"
    "  inspect [--json] PROGRAM                  ELF facts of PROGRAM\n"
    "  overlay diff DIR [--patch]                what a run with --overlay DIR would change\n"
    "  overlay apply DIR                         make those changes on the host\n"
    "  --version | --help | help COMMAND\n"
    "\n"
    "'litebox help run' lists the options; man litebox, man litebox.policy.\n";

#define RUN_OPTIONS                                                                                \
	"  -p, --policy FILE-OR-PROFILE  policy file or built-in profile (default: default)\n"     \
	"      --audit                   refuse nothing, record what would be refused\n"           \
	"      --log FILE                JSON Lines audit log ('-' for standard error)\n"          \
	"      --log-level refused|all   what the log records: only refusals, or every\n"          \
	"                                judged access (default all)\n"                            \
	"      --allow-read PATH         add a rule (repeatable); a relative PATH is from here,\n" \
	"      --allow-write PATH        a directory (or PATH ending in /) covers its tree\n"      \
	"      --allow-exec PATH         (each adds one class: a directory outside the\n"          \
	"                                readable trees wants --allow-read too)\n"                 \
	"      --allow-connect ADDR      e.g. tcp 127.0.0.1:5432\n"                                \
	"      --allow-bind ADDR\n"                                                                \
	"      --timeout DURATION        kill the whole tree after DURATION (90s, 5m)\n"           \
	"      --platform auto|seccomp|ptrace\n"                                                   \
	"                                how system calls are trapped (default auto)\n"            \
	"      --fail-on-deny            exit 123 if the program exits 0 but something was\n"      \
	"                                refused (lookups of absent paths do not count)\n"         \
	"      --overlay DIR             every change to files lands in DIR (created if absent,\n" \
	"                                reused); the host stays unchanged\n"                      \
	"      --dry-run                 --audit over a throwaway overlay: report what would\n"    \
	"                                have been refused and what would have changed\n"          \
	"  -q, --quiet / -v, --verbose   fewer / more messages on standard error\n"                \
	"  -h, --help                    this help\n"

#define EXIT_STATUSES                                                                              \
	"\n"                                                                                       \
	"Exit status: the program's own; 128+N if killed by signal N; 123 --fail-on-deny;\n"       \
	"124 --timeout; 125 litebox failed; 126 PROGRAM cannot be run; 127 PROGRAM not found.\n"

static const char run_usage[] = "usage: litebox run [OPTIONS] [--] PROGRAM [ARG...]\n"
				"\n"
				"Run PROGRAM under a policy.\n"
				"\n" RUN_OPTIONS EXIT_STATUSES;

static const char learn_usage[] =
    "usage: litebox learn [OPTIONS] -o FILE [--] PROGRAM [ARG...]\n"
    "\n"
    "Run PROGRAM on top of a base policy (-p, default 'default'): what the base\n"
    "hides or denies by name stays refused, what it does not grant is recorded\n"
    "instead of refused; then write to FILE 'include BASE' plus the smallest set\n"
    "of rules that allows what PROGRAM did.\n"
    "\n"
    "  -o, --output FILE             where the learned policy goes (required)\n" RUN_OPTIONS
	EXIT_STATUSES;

static const char policy_usage[] =
    "usage: litebox policy check FILE...\n"
    "       litebox policy show FILE [--explain PATH-OR-ADDR...]\n"
    "       litebox policy generate --from LOG.jsonl [-o FILE]\n"
    "\n"
    "  check     parse, resolve includes and lint each FILE; exit 0, or 1 on errors\n"
    "  show      the effective rules after includes and variables, and what goes to\n"
    "            the kernel filter; --explain: every class's verdict for each object\n"
    "            and the rule (FILE:LINE) that decides it\n"
    "  generate  a policy from an audit log written by 'litebox run --audit --log'\n";

static const char check_usage[] =
    "usage: litebox policy check FILE...\n"
    "\n"
    "Parse each FILE (a path or a built-in profile name), resolve its includes and\n"
    "lint it. Diagnostics go to standard error as FILE:LINE:COL: error: MESSAGE.\n"
    "Exit status: 0 without errors (warnings allowed), 1 with errors.\n";

static const char show_usage[] =
    "usage: litebox policy show FILE [--explain PATH-OR-ADDR...]\n"
    "\n"
    "Print the effective rules of FILE after includes and variables, and what goes\n"
    "to the kernel filter. --explain: for each object, every class's verdict and the\n"
    "rule (FILE:LINE) that decides it.\n";

static const char generate_usage[] =
    "usage: litebox policy generate --from LOG.jsonl [-o FILE]\n"
    "\n"
    "Write the smallest policy that allows what an audit log records\n"
    "('litebox run --audit --log LOG.jsonl'); to standard output without -o.\n";

static const char inspect_usage[] =
    "usage: litebox inspect [--json] PROGRAM\n"
    "\n"
    "ELF facts of PROGRAM: class, machine, static or dynamic, interpreter, needed\n"
    "libraries and where they resolve. --json: one JSON object.\n";

static const char overlay_usage[] =
    "usage: litebox overlay diff DIR [--patch]\n"
    "       litebox overlay apply DIR\n"
    "\n"
    "  diff   what a run with --overlay DIR would change on the host, one change a\n"
    "         line: KIND<TAB>DETAIL<TAB>PATH, KIND one of added, deleted, modified\n"
    "         (DETAIL: file, dir, symlink, ...), mode (0644>0755), owner (0:0>1000:1000),\n"
    "         times, xattrs; a rename is a deletion and an addition. --patch: unified\n"
    "         diffs of the text files instead.\n"
    "  apply  make those changes on the host, then empty DIR; refuses (exit 1) and\n"
    "         changes nothing when a host path changed since the run\n";

static const char overlay_diff_usage[] = "usage: litebox overlay diff DIR [--patch]\n";
static const char overlay_apply_usage[] = "usage: litebox overlay apply DIR\n";

static const char help_usage[] = "usage: litebox help [COMMAND [SUBCOMMAND]]\n";

static const struct {
	const char *topic, *text;
} usages[] = {
    {"", main_usage},
    {"run", run_usage},
    {"learn", learn_usage},
    {"policy", policy_usage},
    {"policy check", check_usage},
    {"policy show", show_usage},
    {"policy generate", generate_usage},
    {"inspect", inspect_usage},
    {"overlay", overlay_usage},
    {"overlay diff", overlay_diff_usage},
    {"overlay apply", overlay_apply_usage},
    {"help", help_usage},
};

const char *lb_usage(const char *topic)
{
	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++)
		if (strcmp(topic, usages[i].topic) == 0)
			return usages[i].text;
	return NULL;
}
