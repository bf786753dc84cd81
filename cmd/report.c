/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "litebox/audit.h"
#include "litebox/util.h"

#define BUCKETS 4096
#define MAX_ENTRIES 65536
#define MAX_PIDS 8

struct entry {
	struct entry *next; /* in its bucket */
	uint64_t hash;
	char *key;
	char *what, *cls, *object, *comm, *syscall, *tail, *rule;
	uint64_t count;
	pid_t pids[MAX_PIDS];
	unsigned n_pids;
	bool more_pids, refused, printed;
};

struct lb_report {
	pthread_mutex_t lock;
	struct entry *buckets[BUCKETS];
	struct entry **order; /* every entry, first seen first */
	size_t n, cap;
	uint64_t refused, distinct_overflow;
};

struct lb_report *lb_report_new(void)
{
	struct lb_report *r = calloc(1, sizeof(*r));
	if (r)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

static void entry_free(struct entry *e)
{
	free(e->key);
	free(e->what);
	free(e->cls);
	free(e->object);
	free(e->comm);
	free(e->syscall);
	free(e->tail);
	free(e->rule);
	free(e);
}

void lb_report_free(struct lb_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		entry_free(r->order[i]);
	free(r->order);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Program-chosen bytes (names, comm) go out escaped (lb_text_escape):
 * a name cannot forge a line of its own (a GitHub workflow command,
 * another denial) or drive the terminal. */
static void put_visible(FILE *f, const char *s)
{
	size_t cap = 4 * strlen(s) + 8;
	lb_autofree char *buf = malloc(cap);
	if (!buf)
		return;
	lb_text_escape(s, buf, cap);
	fputs(buf, f);
}

static void print_line(const struct lb_seen *s, const char *who, uint64_t count)
{
	flockfile(stderr);
	fprintf(stderr, "litebox: %s %s ", s->what, s->cls);
	put_visible(stderr, s->object);
	fprintf(stderr, " (%s ", who);
	put_visible(stderr, s->comm);
	fprintf(stderr, ", %s)", s->syscall);
	fputs(s->tail, stderr); /* litebox's words: the rule's place, a quoted hint */
	if (count > 1)
		fprintf(stderr, " (\u00d7%llu)", (unsigned long long)count);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static void print_one(const struct lb_seen *s)
{
	char who[32];
	snprintf(who, sizeof(who), "pid %d", (int)s->pid);
	print_line(s, who, 1);
}

static struct entry *entry_new(const struct lb_seen *s, char *key, uint64_t h)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = key;
	e->hash = h;
	e->what = strdup(s->what);
	e->cls = strdup(s->cls);
	e->object = strdup(s->object);
	e->comm = strdup(s->comm);
	e->syscall = strdup(s->syscall);
	e->tail = strdup(s->tail);
	e->rule = strdup(s->rule ? s->rule : "");
	e->refused = s->refused;
	if (!e->what || !e->cls || !e->object || !e->comm || !e->syscall || !e->tail || !e->rule) {
		entry_free(e);
		return NULL;
	}
	return e;
}

static void note_pid(struct entry *e, pid_t pid)
{
	for (unsigned i = 0; i < e->n_pids; i++)
		if (e->pids[i] == pid)
			return;
	if (e->n_pids < MAX_PIDS)
		e->pids[e->n_pids++] = pid;
	else
		e->more_pids = true;
}

static bool grow(struct lb_report *r)
{
	size_t cap = r->cap ? r->cap * 2 : 256;
	struct entry **o = realloc(r->order, cap * sizeof(*o));
	if (!o)
		return false;
	r->order = o;
	r->cap = cap;
	return true;
}

/* Finds or makes the entry of s (locked). NULL when the table is full. */
static struct entry *lookup(struct lb_report *r, const struct lb_seen *s, bool *fresh)
{
	char *key = NULL;
	if (asprintf(&key, "%s\n%s\n%s\n%s\n%s\n%s", s->what, s->cls, s->object, s->comm,
		     s->syscall, s->tail) < 0)
		return NULL;
	uint64_t h = lb_hash_str(key);
	struct entry **b = &r->buckets[h % BUCKETS];
	for (struct entry *e = *b; e; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0) {
			free(key);
			*fresh = false;
			return e;
		}
	if (r->n == MAX_ENTRIES || (r->n == r->cap && !grow(r))) {
		free(key);
		return NULL;
	}
	struct entry *e = entry_new(s, key, h);
	if (!e) {
		free(key);
		return NULL;
	}
	e->next = *b;
	*b = e;
	r->order[r->n++] = e;
	*fresh = true;
	return e;
}

void lb_report_add(struct lb_report *r, const struct lb_seen *s)
{
	pthread_mutex_lock(&r->lock);
	if (s->refused)
		r->refused++;
	bool fresh = false;
	struct entry *e = lookup(r, s, &fresh);
	if (!e) {
		/* Out of room: still say it, unfolded. */
		if (s->refused)
			r->distinct_overflow++;
		if (s->print)
			print_one(s);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	e->count++;
	note_pid(e, s->pid);
	if (fresh && s->print) {
		print_one(s);
		e->printed = true;
	}
	pthread_mutex_unlock(&r->lock);
}

/* "pid 4", "pids 4,7,9" or "pids 4,7,...,19,…" */
static void who_of(const struct entry *e, char *buf, size_t len)
{
	size_t pos = (size_t)snprintf(buf, len, "%s", e->n_pids > 1 ? "pids " : "pid ");
	for (unsigned i = 0; i < e->n_pids && pos < len; i++)
		pos +=
		    (size_t)snprintf(buf + pos, len - pos, "%s%d", i ? "," : "", (int)e->pids[i]);
	if (e->more_pids && pos < len)
		snprintf(buf + pos, len - pos, ",\u2026");
}

void lb_report_flush_folded(struct lb_report *r)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		struct entry *e = r->order[i];
		if (!e->printed || e->count < 2)
			continue;
		char who[160];
		who_of(e, who, sizeof(who));
		struct lb_seen s = {.what = e->what,
				    .cls = e->cls,
				    .object = e->object,
				    .comm = e->comm,
				    .syscall = e->syscall,
				    .tail = e->tail};
		print_line(&s, who, e->count);
		e->printed = false;
	}
	pthread_mutex_unlock(&r->lock);
}

uint64_t lb_report_refused(const struct lb_report *r)
{
	return r->refused;
}

uint64_t lb_report_distinct(const struct lb_report *r)
{
	uint64_t n = r->distinct_overflow;
	for (size_t i = 0; i < r->n; i++)
		n += r->order[i]->refused;
	return n;
}

void lb_report_closing_line(const struct lb_report *r, uint64_t absent, bool audit, const char *log)
{
	uint64_t n = lb_report_refused(r);
	if (n == 0)
		return;
	char lookups[96] = "";
	if (absent)
		snprintf(lookups, sizeof(lookups), ", %llu lookup%s of absent paths",
			 (unsigned long long)absent, absent == 1 ? "" : "s");
	lb_msg("%llu access%s %s (%llu distinct)%s; details: %s%s", (unsigned long long)n,
	       n == 1 ? "" : "es", audit ? "would have been refused" : "refused",
	       (unsigned long long)lb_report_distinct(r), lookups, log ? "" : "--log ",
	       log ? (strcmp(log, "-") == 0 ? "the log on standard error" : log) : "FILE");
}

/* Workflow commands take their message up to the end of the line, with
 * %25, %0D and %0A unescaped. The rest of what a program chose (other
 * control bytes, "::" that could start a command after a line break the
 * runner itself inserts) is written so that it cannot be read as one. */
char *lb_gha_escape(const char *s)
{
	size_t cap = 3 * strlen(s) + 1, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '%' || *p < 0x20 || *p == 0x7f || (*p == ':' && p[1] == ':')) {
			snprintf(out + n, cap - n, "%%%02X", *p);
			n += 3;
		} else {
			out[n++] = (char)*p;
		}
	}
	out[n] = '\0';
	return out;
}

void lb_report_annotations(const struct lb_report *r, FILE *out)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct entry *e = r->order[i];
		if (!e->refused)
			continue;
		lb_autofree char *msg = NULL;
		if (asprintf(&msg, "%s %s %s (%s, %s)", e->what, e->cls, e->object, e->comm,
			     e->syscall) < 0)
			continue;
		lb_autofree char *esc = lb_gha_escape(msg);
		if (esc)
			fprintf(out, "::error title=litebox::%s\n", esc);
	}
	fflush(out);
}

/* Markdown table cell text: no line breaks, no HTML, no table syntax. */
static void md_cell(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '<')
			fputs("&lt;", f);
		else if (*p == '>')
			fputs("&gt;", f);
		else if (*p == '&')
			fputs("&amp;", f);
		else if (*p < 0x20 || *p == 0x7f)
			fputs("\ufffd", f);
		else if (strchr("|\\`*_[]#!~", *p))
			fprintf(f, "\\%c", *p);
		else
			fputc(*p, f);
	}
}

int lb_report_step_summary(const struct lb_report *r, const char *path, char *const *argv)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "a");
	if (!f) {
		int e = errno;
		close(fd);
		return -e;
	}
	fputs("### litebox: ", f);
	md_cell(f, argv && argv[0] ? argv[0] : "?");
	fprintf(f, " \u2014 %llu access%s refused (%llu distinct)\n\n",
		(unsigned long long)lb_report_refused(r), lb_report_refused(r) == 1 ? "" : "es",
		(unsigned long long)lb_report_distinct(r));
	fputs("| what | who | how often | the rule that would allow it |\n"
	      "| --- | --- | ---: | --- |\n",
	      f);
	for (size_t i = 0; i < r->n; i++) {
		const struct entry *e = r->order[i];
		if (!e->refused)
			continue;
		fprintf(f, "| %s %s ", e->what, e->cls);
		md_cell(f, e->object);
		fputs(" | ", f);
		md_cell(f, e->comm);
		fputs(" (", f);
		md_cell(f, e->syscall);
		fprintf(f, ") | %llu | ", (unsigned long long)e->count);
		md_cell(f, e->rule);
		fputs(" |\n", f);
	}
	fputc('\n', f);
	int rc = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	return rc;
}
