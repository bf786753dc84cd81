/* SPDX-License-Identifier: MIT */
/* The subcommands of the litebox CLI. Each returns the process exit status. */
#ifndef LITEBOX_CMD_H
#define LITEBOX_CMD_H

#include <stdarg.h>
#include <stdio.h>

/* Exit statuses of cli.md. */
enum {
	LB_EXIT_DENIED = 123,
	LB_EXIT_TIMEOUT = 124,
	LB_EXIT_LITEBOX = 125,
	LB_EXIT_CANNOT_RUN = 126,
	LB_EXIT_NOT_FOUND = 127,
};

int cmd_run(int argc, char **argv, int learn);
int cmd_inspect(int argc, char **argv);
int cmd_policy(int argc, char **argv);
/* argv[0] is "overlay". */
int cmd_overlay(int argc, char **argv);
struct lb_ovl_change;
/* One line of `overlay diff`: KIND<TAB>DETAIL<TAB>PATH. */
void lb_overlay_print_change(FILE *f, const struct lb_ovl_change *c);
/* argv[0] is "generate". */
int cmd_policy_generate(int argc, char **argv);

/* "litebox: MESSAGE" on stderr (printf format), with an optional
 * "Hint: ..." line when hint is non-NULL. */
void lb_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lb_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write text to path through a fresh temporary name beside it and a
 * rename: never through a symlink or hard link planted at path, and a
 * reader never sees half a file. Says what failed; 0 or -1. */
int lb_write_file_replacing(const char *path, const char *text);

/* $HOME for the policy's variables: HOME when it is an absolute path, else
 * the user's passwd entry, else "/" (as $TMPDIR falls back to /tmp). */
const char *lb_home_dir(void);

/* " (did you mean X?)" for the known word closest to given (edit
 * distance), or "" when none is close. known ends with NULL. */
const char *lb_suggest_tail(const char *given, const char *const *known);
/* The usage of a command ("run", "learn", "policy", "policy check", ...),
 * NULL when there is none. */
const char *lb_usage(const char *topic);
/* `litebox --version`: the version and the kernel features found. */
int cmd_version(void);

#endif
