/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "litebox/audit.h"
#include "litebox/text.h"
#include "litebox/util.h"

#define LB_EV_COUNT (LB_EV_WOULD_DENY + 1)

/* Records are formatted by the supervisor thread that judged the access
 * (the process is still stopped, so /proc/PID names it) and appended to a
 * buffer; a writer thread of its own hands the buffer to the kernel in
 * large writes. A full buffer makes producers wait: nothing is dropped. */
#define FLUSH_AT (256 * 1024)
#define WAIT_AT (8 * 1024 * 1024)
#define FLUSH_EVERY_MS 200

struct lb_audit {
	int fd; /* -1: counting only */
	bool own_fd;
	enum lb_mode mode;
	enum lb_log_level level;
	pthread_mutex_t lock;
	pthread_cond_t more; /* the writer has something to do */
	pthread_cond_t room; /* the buffer was handed over */
	pthread_t writer;
	bool writer_running, closing;
	char *buf;
	size_t len, cap;
	int error;
	atomic_uint_fast64_t counts[LB_EV_COUNT];
	atomic_uint_fast64_t absent; /* refused lookups of absent paths */
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

/* Program-chosen text for a terminal line: control characters, invalid
 * UTF-8 and code points that reorder or hide text (bidi overrides) are
 * escaped, so a name cannot fake or rewrite a litebox line. */
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
		} else if (lb_cp_unsafe(lb_utf8_cp(u + i, n))) {
			int k = snprintf(esc, sizeof(esc), "\\u%04x", lb_utf8_cp(u + i, n));
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

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Takes the buffer when it is worth a write (or every FLUSH_EVERY_MS, so
 * a log followed with `tail -f` stays current) and writes it unlocked,
 * while producers fill the other buffer. */
static void *writer_main(void *arg)
{
	struct lb_audit *a = arg;
	char *spare = NULL;
	size_t spare_cap = 0;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		if (a->len < FLUSH_AT && !a->closing) {
			struct timespec ts;
			deadline_in(&ts, FLUSH_EVERY_MS);
			pthread_cond_timedwait(&a->more, &a->lock, &ts);
		}
		if (a->len == 0) {
			if (a->closing)
				break;
			continue;
		}
		char *data = a->buf;
		size_t len = a->len, cap = a->cap;
		a->buf = spare;
		a->cap = spare_cap;
		a->len = 0;
		pthread_cond_broadcast(&a->room);
		pthread_mutex_unlock(&a->lock);
		int rc = a->error ? 0 : write_all(a->fd, data, len);
		pthread_mutex_lock(&a->lock);
		if (rc < 0 && !a->error) {
			a->error = rc;
			pthread_cond_broadcast(&a->room);
		}
		spare = data;
		spare_cap = cap;
	}
	pthread_mutex_unlock(&a->lock);
	free(spare);
	return NULL;
}

static bool fd_number(const char *s)
{
	if (!*s)
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	return !*s;
}

/* Only the kernel's own links to litebox's descriptors may be followed
 * (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N): a run can
 * create links elsewhere under /dev (the default profile lets it write
 * /dev/shm; attack review of the final change). */
static bool link_allowed(const char *path)
{
	if (strcmp(path, "/dev/stdout") == 0 || strcmp(path, "/dev/stderr") == 0)
		return true;
	if (strncmp(path, "/dev/fd/", 8) == 0)
		return fd_number(path + 8);
	return strncmp(path, "/proc/self/fd/", 14) == 0 && fd_number(path + 14);
}

/* The log is opened by a name in a directory earlier runs could write
 * (`--log run.jsonl` in the working directory): a symlink or hard link
 * left there must not turn the log into another file (~/.bashrc,
 * truncated and filled with records). So: no symlink as the last
 * component, a regular file must be the user's own with no other link,
 * and it is truncated only after those checks. A FIFO or terminal is
 * written as it is. */
int lb_audit_open_log_file(const char *path)
{
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	lb_autoclose int fd = open(path, flags | O_NOFOLLOW, 0644);
	bool followed = false;
	if (fd < 0 && errno == ELOOP && link_allowed(path)) {
		fd = open(path, flags, 0644);
		followed = true;
	}
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		if (st.st_uid != geteuid() || st.st_nlink > 1)
			return -EPERM;
		/* a descriptor's file (a shell's redirection) is appended to */
		if (!followed && ftruncate(fd, 0) < 0)
			return -errno;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) < 0)
		return -errno;
	return steal_fd(&fd);
}

static int audit_new(const char *path, int fd, enum lb_mode mode, struct lb_audit **out)
{
	lb_autofree struct lb_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->mode = mode;
	a->level = LB_LOG_ALL;
	a->fd = -1;
	if (fd >= 0) {
		a->fd = fd;
		a->own_fd = true;
	} else if (path && strcmp(path, "-") == 0) {
		a->fd = STDERR_FILENO;
	} else if (path) {
		a->fd = lb_audit_open_log_file(path);
		if (a->fd < 0)
			return a->fd;
		a->own_fd = true;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->more, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&a->room, NULL);
	if (a->fd >= 0) {
		/* The writer takes no signal: the launcher waits for SIGCHLD
		 * with a signalfd, which sees only what no thread accepts. */
		sigset_t all, old;
		sigfillset(&all);
		sigdelset(&all, LB_CAPS_SIGNAL); /* it drops capabilities too */
		pthread_sigmask(SIG_BLOCK, &all, &old);
		int rc = pthread_create(&a->writer, NULL, writer_main, a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			if (a->own_fd)
				close(a->fd);
			return -rc;
		}
		a->writer_running = true;
	}
	*out = steal_pointer(&a);
	return 0;
}

int lb_audit_open(const char *path, enum lb_mode mode, struct lb_audit **out)
{
	return audit_new(path, -1, mode, out);
}

int lb_audit_open_fd(int fd, enum lb_mode mode, struct lb_audit **out)
{
	return fd < 0 ? -EBADF : audit_new(NULL, fd, mode, out);
}

int lb_audit_fd(const struct lb_audit *a)
{
	return a ? a->fd : -1;
}

void lb_audit_set_level(struct lb_audit *a, enum lb_log_level level)
{
	a->level = level;
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

/* Appends one line for the writer; waits while the buffer is full. */
static int emit_line(struct lb_audit *a, const char *line, size_t len)
{
	pthread_mutex_lock(&a->lock);
	while (!a->error && a->len >= WAIT_AT)
		pthread_cond_wait(&a->room, &a->lock);
	int rc = a->error;
	if (!rc && a->len + len > a->cap) {
		size_t cap = a->cap ? a->cap : FLUSH_AT;
		while (cap < a->len + len)
			cap *= 2;
		char *nb = realloc(a->buf, cap);
		if (nb) {
			a->buf = nb;
			a->cap = cap;
		} else {
			rc = a->error = -ENOMEM;
		}
	}
	if (!rc) {
		memcpy(a->buf + a->len, line, len);
		a->len += len;
		if (a->len >= FLUSH_AT)
			pthread_cond_signal(&a->more);
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* A hide is not counted: to the program a hidden path does not exist,
 * and a probe of one (pip's ~/.netrc) is no gap in the policy; it still
 * has its record and its line, whether or not the object exists. */
bool lb_event_refused(const struct lb_event *ev)
{
	return ev->verdict != LB_EV_ALLOW && ev->verdict != LB_EV_HIDE && !ev->absent && !ev->err;
}

/* `"names":["a.example",...],` for a connect to an address the program
 * resolved (docs/audit.md); NULL when there are none. */
static char *names_field(const struct lb_event *ev, size_t cap)
{
	if (!ev->n_names)
		return NULL;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t len = (size_t)snprintf(out, cap, "\"names\":[");
	for (size_t i = 0; i < ev->n_names; i++) {
		if (i)
			out[len++] = ',';
		len += lb_json_escape(ev->names[i], strlen(ev->names[i]), out + len, cap - len);
	}
	snprintf(out + len, cap - len, "],");
	return out;
}

int lb_audit_record(struct lb_audit *a, const struct lb_event *ev)
{
	if (ev->verdict != LB_EV_ALLOW && ev->absent)
		atomic_fetch_add(&a->absent, 1);
	else
		atomic_fetch_add(&a->counts[ev->verdict], 1);
	if ((size_t)ev->cls < LB_CLASS__COUNT)
		atomic_fetch_add(&a->class_counts[ev->cls], 1);
	if (a->fd < 0)
		return 0;
	if (a->level == LB_LOG_REFUSED && ev->verdict == LB_EV_ALLOW && !ev->audited)
		return 0;
	char when[40], comm[64], exe[PATH_MAX], rule[PATH_MAX + 16];
	format_time(when, sizeof(when));
	proc_read(ev->pid, "comm", comm, sizeof(comm), false);
	proc_read(ev->pid, "exe", exe, sizeof(exe), true);
	lb_decision_rule(ev->decision, rule, sizeof(rule));

	/* One buffer sized by what it holds: the escapes (at most 6 bytes per
	 * byte, quotes and NUL) and the line around them. */
	size_t l_comm = strlen(comm), l_exe = strlen(exe), l_obj = strlen(ev->object),
	       l_rule = strlen(rule);
	size_t c_comm = 6 * l_comm + 3, c_exe = 6 * l_exe + 3, c_obj = 6 * l_obj + 3,
	       c_rule = 6 * l_rule + 3;
	size_t esc = c_comm + c_exe + c_obj + c_rule;
	size_t c_names = 0;
	for (size_t i = 0; i < ev->n_names; i++)
		c_names += 6 * strlen(ev->names[i]) + 4;
	size_t cap = esc + c_names + 512 + strlen(ev->syscall);
	lb_autofree char *mem = malloc(esc), *line = malloc(cap);
	if (!mem || !line)
		return -ENOMEM;
	char *e_comm = mem, *e_exe = e_comm + c_comm, *e_obj = e_exe + c_exe,
	     *e_rule = e_obj + c_obj;
	lb_json_escape(comm, l_comm, e_comm, c_comm);
	lb_json_escape(exe, l_exe, e_exe, c_exe);
	lb_json_escape(ev->object, l_obj, e_obj, c_obj);
	lb_json_escape(rule, l_rule, e_rule, c_rule);
	char err[64] = "";
	if (ev->err) {
		const char *name = strerrorname_np(ev->err);
		if (name)
			snprintf(err, sizeof(err), ",\"errno\":\"%s\"", name);
		else
			snprintf(err, sizeof(err), ",\"errno\":%d", ev->err);
	}
	lb_autofree char *names = names_field(ev, c_names + 16);
	if (ev->n_names && !names)
		return -ENOMEM;
	int n = snprintf(line, cap,
			 "{\"time\":\"%s\",\"pid\":%d,\"comm\":%s,\"exe\":%s,\"syscall\":\"%s\","
			 "\"class\":\"%s\",\"object\":%s,%s\"verdict\":\"%s\",\"rule\":%s,\"mode\":"
			 "\"%s\"%s%s}\n",
			 when, (int)ev->pid, e_comm, e_exe, ev->syscall, lb_class_name(ev->cls),
			 e_obj, names ? names : "", lb_event_verdict_name(ev->verdict), e_rule,
			 a->mode == LB_MODE_AUDIT ? "audit" : "enforce",
			 ev->absent ? ",\"absent\":true" : "", err);
	if (n < 0 || (size_t)n >= cap)
		return -EOVERFLOW;
	return emit_line(a, line, (size_t)n);
}

uint64_t lb_audit_count(const struct lb_audit *a, enum lb_event_verdict v)
{
	return atomic_load(&a->counts[v]);
}

uint64_t lb_audit_absent(const struct lb_audit *a)
{
	return atomic_load(&a->absent);
}

/* A JSON array of strings into a malloc'ed buffer. */
static char *json_array(char *const *argv)
{
	size_t cap = 3, n = 0;
	for (size_t i = 0; argv && argv[i]; i++)
		cap += 6 * strlen(argv[i]) + 3;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[n++] = '[';
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			out[n++] = ',';
		n += lb_json_escape(argv[i], strlen(argv[i]), out + n, cap - n);
	}
	out[n++] = ']';
	out[n] = '\0';
	return out;
}

static char *json_str_dup(const char *s)
{
	size_t cap = 6 * strlen(s) + 3;
	char *out = malloc(cap);
	if (out)
		lb_json_escape(s, strlen(s), out, cap);
	return out;
}

int lb_audit_start(struct lb_audit *a, const struct lb_audit_start *st)
{
	if (a->fd < 0)
		return 0;
	char when[40];
	format_time(when, sizeof(when));
	lb_autofree char *args = json_array(st->argv);
	lb_autofree char *pol = json_str_dup(st->policy ? st->policy : "default");
	lb_autofree char *line = NULL;
	if (!args || !pol)
		return -ENOMEM;
	int n =
	    asprintf(&line,
		     "{\"event\":\"start\",\"time\":\"%s\",\"version\":\"%s\",\"argv\":%s,"
		     "\"policy\":%s,\"mode\":\"%s\",\"platform\":\"%s\",\"run_id\":\"%s\","
		     "\"log_level\":\"%s\"}\n",
		     when, st->version, args, pol, a->mode == LB_MODE_AUDIT ? "audit" : "enforce",
		     st->platform, st->run_id, a->level == LB_LOG_REFUSED ? "refused" : "all");
	if (n < 0)
		return -ENOMEM;
	return emit_line(a, line, (size_t)n);
}

/* Hands what is left to the writer and waits for it to finish. */
static void stop_writer(struct lb_audit *a)
{
	if (!a->writer_running)
		return;
	pthread_mutex_lock(&a->lock);
	a->closing = true;
	pthread_cond_signal(&a->more);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->writer, NULL);
	a->writer_running = false;
}

int lb_audit_close(struct lb_audit *a, const struct lb_audit_summary *sum)
{
	if (!a)
		return 0;
	if (a->fd >= 0 && !sum) {
		stop_writer(a);
		if (a->own_fd)
			close(a->fd);
	} else if (a->fd >= 0) {
		char line[2048];
		size_t pos = 0;
		pos +=
		    (size_t)snprintf(line, sizeof(line),
				     "{\"event\":\"exit\",\"status\":%d,\"signal\":", sum->status);
		if (sum->signal)
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%d", sum->signal);
		else
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "null");
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, ",\"counts\":{");
		/* At --log-level refused plain allows are not even reported. */
		if (a->level == LB_LOG_REFUSED)
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\"allow\":null,");
		for (int v = 0; v < LB_EV_COUNT; v++)
			if (v != LB_EV_ALLOW || a->level != LB_LOG_REFUSED)
				pos += (size_t)snprintf(
				    line + pos, sizeof(line) - pos, "\"%s\":%llu,",
				    lb_event_verdict_name((enum lb_event_verdict)v),
				    (unsigned long long)atomic_load(&a->counts[v]));
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
					"\"absent\":%llu},\"refused\":%llu,\"distinct\":%llu,"
					"\"classes\":{",
					(unsigned long long)atomic_load(&a->absent),
					(unsigned long long)sum->refused,
					(unsigned long long)sum->distinct);
		for (int c = 0; c < LB_CLASS__COUNT; c++)
			pos +=
			    (size_t)snprintf(line + pos, sizeof(line) - pos, "%s\"%s\":%llu",
					     c ? "," : "", lb_class_name((enum lb_class)c),
					     (unsigned long long)atomic_load(&a->class_counts[c]));
		pos += (size_t)snprintf(
		    line + pos, sizeof(line) - pos,
		    "},\"mode\":\"%s\",\"timed_out\":%s,\"duration_ms\":%llu}\n",
		    a->mode == LB_MODE_AUDIT ? "audit" : "enforce",
		    sum->timed_out ? "true" : "false", (unsigned long long)sum->duration_ms);
		emit_line(a, line, pos < sizeof(line) ? pos : sizeof(line) - 1);
		stop_writer(a);
		if (a->own_fd && fsync(a->fd) < 0 && errno != EINVAL && !a->error)
			a->error = -errno;
		if (a->own_fd && close(a->fd) < 0 && !a->error)
			a->error = -errno;
	}
	int rc = a->error;
	pthread_cond_destroy(&a->more);
	pthread_cond_destroy(&a->room);
	pthread_mutex_destroy(&a->lock);
	free(a->buf);
	free(a);
	return rc;
}
