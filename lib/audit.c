/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "litebox/audit.h"
#include "litebox/text.h"
#include "litebox/util.h"

#define LB_EV_COUNT (LB_EV_WOULD_DENY + 1)

struct lb_audit {
	int fd; /* -1: counting only */
	bool own_fd;
	enum lb_mode mode;
	pthread_mutex_t lock;
	int error;
	atomic_uint_fast64_t counts[LB_EV_COUNT];
	atomic_uint_fast64_t class_counts[LB_CLASS__COUNT];
};

const char *lb_event_verdict_name(enum lb_event_verdict v)
{
	static const char *const names[] = {"allow", "deny", "hide", "kill", "would-deny"};
	return (size_t)v < LB_ARRAY_SIZE(names) ? names[v] : "?";
}

void lb_decision_rule(const struct lb_decision *d, char *buf, size_t len)
{
	switch (d->origin) {
	case LB_ORIGIN_POLICY:
	case LB_ORIGIN_CLI:
		if (d->line)
			snprintf(buf, len, "%s:%u", d->file ? d->file : "?", d->line);
		else
			snprintf(buf, len, "%s", d->file ? d->file : "?");
		return;
	case LB_ORIGIN_IMPLICIT:
		snprintf(buf, len, "implicit");
		return;
	case LB_ORIGIN_BUILTIN:
		snprintf(buf, len, "builtin");
		return;
	case LB_ORIGIN_DEFAULT:
		snprintf(buf, len, "default");
		return;
	}
	snprintf(buf, len, "default");
}

static void put(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (*pos < cap) {
		size_t room = cap - *pos;
		memcpy(buf + *pos, s, n < room ? n : room);
	}
	*pos += n;
}

size_t lb_json_escape(const char *s, size_t len, char *buf, size_t cap)
{
	size_t pos = 0;
	const unsigned char *u = (const unsigned char *)s;
	put(buf, cap, &pos, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(buf, cap, &pos, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(buf, cap, &pos, esc, 6);
			i++;
		} else {
			size_t n = lb_utf8_seq(u + i, len - i);
			if (n == 0) {
				put(buf, cap, &pos, "\\ufffd", 6);
				i++;
			} else {
				put(buf, cap, &pos, s + i, n);
				i += n;
			}
		}
	}
	put(buf, cap, &pos, "\"", 1);
	if (cap)
		buf[pos < cap ? pos : cap - 1] = '\0';
	return pos;
}

/* The code point of a valid sequence of n bytes. */
static uint32_t utf8_cp(const unsigned char *s, size_t n)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = s[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

/* Shown as an escape on a terminal: C1 controls, and the bidirectional
 * overrides and isolates that reorder what follows (a name could make a
 * line read as something else). */
static bool unsafe_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

size_t lb_text_escape(const char *s, char *buf, size_t cap)
{
	size_t pos = 0;
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		char esc[16];
		size_t n = lb_utf8_seq(u + i, len - i);
		if (c == '\\') {
			put(buf, cap, &pos, "\\\\", 2);
		} else if (c >= 0x20 && c < 0x7f) {
			put(buf, cap, &pos, s + i, 1);
		} else if (c == '\n' || c == '\t' || c == '\r' || c == 0x1b) {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : 'e';
			put(buf, cap, &pos, esc, 2);
		} else if (c < 0x80 || n == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			put(buf, cap, &pos, esc, 4);
			n = 1;
		} else if (unsafe_cp(utf8_cp(u + i, n))) {
			int k = snprintf(esc, sizeof(esc), "\\u%04x", utf8_cp(u + i, n));
			put(buf, cap, &pos, esc, (size_t)k);
		} else {
			put(buf, cap, &pos, s + i, n);
		}
		i += n ? n : 1;
	}
	if (cap)
		buf[pos < cap ? pos : cap - 1] = '\0';
	return pos;
}

int lb_audit_open(const char *path, enum lb_mode mode, struct lb_audit **out)
{
	lb_autofree struct lb_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->mode = mode;
	a->fd = -1;
	if (path && strcmp(path, "-") == 0) {
		a->fd = STDERR_FILENO;
	} else if (path) {
		a->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (a->fd < 0)
			return -errno;
		a->own_fd = true;
	}
	pthread_mutex_init(&a->lock, NULL);
	*out = steal_pointer(&a);
	return 0;
}

static void format_time(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", (long)tv.tv_usec);
}

static void proc_read(pid_t pid, const char *what, char *buf, size_t len, bool link)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, what);
	buf[0] = '\0';
	if (link) {
		ssize_t n = readlink(p, buf, len - 1);
		buf[n > 0 ? n : 0] = '\0';
		return;
	}
	lb_autoclose int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Write all of buf, or fail: a short write of a log line is an error. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int emit_line(struct lb_audit *a, const char *line, size_t len)
{
	pthread_mutex_lock(&a->lock);
	int rc = a->error ? a->error : write_all(a->fd, line, len);
	if (rc < 0 && !a->error)
		a->error = rc;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

int lb_audit_record(struct lb_audit *a, const struct lb_event *ev)
{
	atomic_fetch_add(&a->counts[ev->verdict], 1);
	if ((size_t)ev->cls < LB_CLASS__COUNT)
		atomic_fetch_add(&a->class_counts[ev->cls], 1);
	if (a->fd < 0)
		return 0;
	char when[40], comm[64], exe[PATH_MAX], rule[PATH_MAX + 16];
	format_time(when, sizeof(when));
	proc_read(ev->pid, "comm", comm, sizeof(comm), false);
	proc_read(ev->pid, "exe", exe, sizeof(exe), true);
	lb_decision_rule(ev->decision, rule, sizeof(rule));

	size_t cap = 4 * PATH_MAX * 6 + 512;
	lb_autofree char *line = malloc(cap);
	lb_autofree char *e_comm = malloc(6 * 64 + 3), *e_exe = malloc(6 * PATH_MAX + 3),
			 *e_obj = malloc(6 * PATH_MAX * 2 + 3),
			 *e_rule = malloc(6 * (PATH_MAX + 16) + 3);
	if (!line || !e_comm || !e_exe || !e_obj || !e_rule)
		return -ENOMEM;
	lb_json_escape(comm, strlen(comm), e_comm, 6 * 64 + 3);
	lb_json_escape(exe, strlen(exe), e_exe, 6 * PATH_MAX + 3);
	lb_json_escape(ev->object, strlen(ev->object), e_obj, 6 * PATH_MAX * 2 + 3);
	lb_json_escape(rule, strlen(rule), e_rule, 6 * (PATH_MAX + 16) + 3);
	int n = snprintf(
	    line, cap,
	    "{\"time\":\"%s\",\"pid\":%d,\"comm\":%s,\"exe\":%s,\"syscall\":\"%s\","
	    "\"class\":\"%s\",\"object\":%s,\"verdict\":\"%s\",\"rule\":%s,\"mode\":\"%s\"%s}\n",
	    when, (int)ev->pid, e_comm, e_exe, ev->syscall, lb_class_name(ev->cls), e_obj,
	    lb_event_verdict_name(ev->verdict), e_rule,
	    a->mode == LB_MODE_AUDIT ? "audit" : "enforce", ev->absent ? ",\"absent\":true" : "");
	if (n < 0 || (size_t)n >= cap)
		return -EOVERFLOW;
	return emit_line(a, line, (size_t)n);
}

uint64_t lb_audit_count(const struct lb_audit *a, enum lb_event_verdict v)
{
	return atomic_load(&a->counts[v]);
}

int lb_audit_close(struct lb_audit *a, int exit_status, int signal, uint64_t duration_ms)
{
	if (!a)
		return 0;
	int rc = 0;
	if (a->fd >= 0) {
		char line[1024];
		size_t pos = 0;
		pos +=
		    (size_t)snprintf(line, sizeof(line),
				     "{\"event\":\"exit\",\"status\":%d,\"signal\":", exit_status);
		if (signal)
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%d", signal);
		else
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "null");
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, ",\"counts\":{");
		for (int v = 0; v < LB_EV_COUNT; v++)
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s\"%s\":%llu",
						v ? "," : "",
						lb_event_verdict_name((enum lb_event_verdict)v),
						(unsigned long long)atomic_load(&a->counts[v]));
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "},\"classes\":{");
		for (int c = 0; c < LB_CLASS__COUNT; c++)
			pos +=
			    (size_t)snprintf(line + pos, sizeof(line) - pos, "%s\"%s\":%llu",
					     c ? "," : "", lb_class_name((enum lb_class)c),
					     (unsigned long long)atomic_load(&a->class_counts[c]));
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
					"},\"mode\":\"%s\",\"duration_ms\":%llu}\n",
					a->mode == LB_MODE_AUDIT ? "audit" : "enforce",
					(unsigned long long)duration_ms);
		emit_line(a, line, pos < sizeof(line) ? pos : sizeof(line) - 1);
		if (a->own_fd && fsync(a->fd) < 0 && errno != EINVAL && !a->error)
			a->error = -errno;
		if (a->own_fd && close(a->fd) < 0 && !a->error)
			a->error = -errno;
	}
	rc = a->error;
	pthread_mutex_destroy(&a->lock);
	free(a);
	return rc;
}
