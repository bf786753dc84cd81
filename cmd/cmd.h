/* SPDX-License-Identifier: MIT */
/* The subcommands of the litebox CLI. Each returns the process exit status. */
#ifndef LITEBOX_CMD_H
#define LITEBOX_CMD_H

#include <stdarg.h>

/* Exit statuses of cli.md. */
enum {
	LB_EXIT_TIMEOUT = 124,
	LB_EXIT_LITEBOX = 125,
	LB_EXIT_CANNOT_RUN = 126,
	LB_EXIT_NOT_FOUND = 127,
};

int cmd_run(int argc, char **argv, int learn);
int cmd_inspect(int argc, char **argv);
int cmd_policy(int argc, char **argv);
/* argv[0] is "generate". */
int cmd_policy_generate(int argc, char **argv);

/* "litebox: MESSAGE" on stderr (printf format), with an optional
 * "Hint: ..." line when hint is non-NULL. */
void lb_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lb_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
