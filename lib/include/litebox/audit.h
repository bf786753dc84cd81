/* SPDX-License-Identifier: MIT */
/* The JSON Lines audit log (cli.md): one object per judged access, then an
 * exit summary. Every write is checked: a log that cannot be written makes
 * the run fail (nothing is silently dropped). */
#ifndef LITEBOX_AUDIT_H
#define LITEBOX_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "litebox/core.h"

struct lb_audit;

/* What `--log-level` keeps: every judged access, or only refusals (deny,
 * hide, kill, would-deny; accesses matched by an `audit` rule stay). */
enum lb_log_level {
	LB_LOG_ALL,
	LB_LOG_REFUSED,
};

/* The first line of a log: which litebox ran what under which policy. */
struct lb_audit_start {
	const char *version;
	char *const *argv;
	const char *policy;
	const char *platform;
	const char *run_id;
};

/* The last line. */
struct lb_audit_summary {
	int status, signal;
	bool timed_out;
	uint64_t duration_ms;
	uint64_t refused, distinct; /* counted by the caller (see lb_event_refused) */
};

/* path "-" means standard error. Lines are written by a thread of the
 * log's own, in large writes. */
int lb_audit_open(const char *path, enum lb_mode mode, struct lb_audit **out);
/* The log file by name, never through a planted link or hard link (see
 * lib/audit.c): an O_APPEND descriptor, or -errno. */
int lb_audit_open_log_file(const char *path);
/* The same on an open fd (taken over: closed at lb_audit_close). */
int lb_audit_open_fd(int fd, enum lb_mode mode, struct lb_audit **out);
/* The log's fd, -1 without one. */
int lb_audit_fd(const struct lb_audit *a);
void lb_audit_set_level(struct lb_audit *a, enum lb_log_level level);
int lb_audit_start(struct lb_audit *a, const struct lb_audit_start *st);
/* Thread-safe. Returns -errno if the record could not be written (the
 * error is also remembered for lb_audit_close). Waits while the writer
 * is behind: nothing is dropped. */
int lb_audit_record(struct lb_audit *a, const struct lb_event *ev);
/* Summary line, flush and close. Returns the first write error of the run. */
/* sum NULL: no exit line (records added to another run's log). */
int lb_audit_close(struct lb_audit *a, const struct lb_audit_summary *sum);

/* Counters kept whether or not a log is written (for the summary):
 * refusals by verdict exclude lookups of absent paths, counted apart. */
uint64_t lb_audit_count(const struct lb_audit *a, enum lb_event_verdict v);
uint64_t lb_audit_absent(const struct lb_audit *a);
/* A refusal that counts (not an allow, not a lookup of something absent). */
bool lb_event_refused(const struct lb_event *ev);

/* JSON string escaping (exposed for tests): writes a quoted JSON string
 * for the len bytes of s into buf; invalid UTF-8 bytes become \ufffd,
 * control characters \u00XX. Returns the length needed (snprintf-like). */
size_t lb_json_escape(const char *s, size_t len, char *buf, size_t cap);

/* Text for a terminal line (denial lines on standard error): every
 * program-chosen field goes through this. Printable ASCII and valid UTF-8
 * stay; '\\' doubles; \n \t \r ESC become \n \t \r \e; other control
 * bytes and invalid UTF-8 bytes \xNN; C1 controls and bidirectional
 * overrides \uNNNN. Writes a NUL-terminated string into buf (truncated
 * at cap) and returns the length needed (snprintf-like). */
size_t lb_text_escape(const char *s, char *buf, size_t cap);

const char *lb_event_verdict_name(enum lb_event_verdict v);
/* "FILE:LINE", "implicit", "builtin", "default" into buf. */
void lb_decision_rule(const struct lb_decision *d, char *buf, size_t len);

#endif
