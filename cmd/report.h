/* SPDX-License-Identifier: MIT */
/* What a run refused, told to people: denial lines folded with the pids
 * involved, the closing count, GitHub workflow annotations and the step
 * summary table. */
#ifndef LITEBOX_REPORT_H
#define LITEBOX_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* One judged access as the messages name it. */
struct lb_seen {
	const char *what;   /* "denied", "would deny", "hid", "killed on", "allowed" */
	const char *cls;    /* "read" */
	const char *object; /* "/etc/shadow" */
	const char *comm;   /* "cat" */
	const char *syscall;
	const char *tail; /* " — allow with: allow read /etc/shadow", " by FILE:LINE" */
	const char *rule; /* "allow read /etc/shadow" or "refused by FILE:LINE" */
	pid_t pid;
	bool refused; /* counts as a refusal (not an allow, not an absent lookup) */
	bool print;   /* shown on standard error */
};

struct lb_report;

struct lb_report *lb_report_new(void);
void lb_report_free(struct lb_report *r);
/* Thread-safe. Prints the first of identical accesses at once (when
 * s->print), counts the rest; remembers the refusals. */
void lb_report_add(struct lb_report *r, const struct lb_seen *s);
/* The folded lines of repeated accesses, naming every pid involved. */
void lb_report_flush_folded(struct lb_report *r);
uint64_t lb_report_refused(const struct lb_report *r);
uint64_t lb_report_distinct(const struct lb_report *r);

/* "litebox: 3 accesses refused (2 distinct), 41 lookups of absent paths;
 * details: --log FILE" when anything was refused. */
void lb_report_closing_line(const struct lb_report *r, uint64_t absent, bool audit,
			    const char *log);
/* ::error workflow commands, one per distinct refusal, on out. */
void lb_report_annotations(const struct lb_report *r, FILE *out);
/* A Markdown table of the refusals, appended to path. 0 or -errno. */
int lb_report_step_summary(const struct lb_report *r, const char *path, char *const *argv);

/* Workflow-command escaping of a message (%, CR, LF, "::" and other
 * control bytes), exposed for tests. Returns malloc'ed text. */
char *lb_gha_escape(const char *s);

#endif
