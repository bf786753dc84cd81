/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "litebox/resolve.h"
#include "litebox/util.h"

#define LB_MAX_LINKS 40 /* as the kernel's MAXSYMLINKS */

/* The walk state: the directory we are in (fd + canonical path) and what
 * is left of the path to walk. */
struct walk {
	const struct lb_resolve_ctx *ctx;
	int cur;	/* current directory fd */
	bool cur_owned; /* cur must be closed when replaced */
	char path[PATH_MAX];
	size_t path_len;
	char rest[PATH_MAX * 2];
	size_t rest_pos;
	int links;
	pid_t tgid;
	pid_t proc_tgid, proc_tid; /* as /proc numbers them; 0: not asked yet */
	bool as_litebox;	   /* see lb_resolve_ctx.authority */
};

/* Inside /proc the walk acts as litebox, elsewhere as the caller. */
static int walk_authority(struct walk *w)
{
	bool want = strncmp(w->path, "/proc", 5) == 0 && (w->path[5] == '\0' || w->path[5] == '/');
	if (want == w->as_litebox || !w->ctx->authority)
		return 0;
	w->as_litebox = want;
	return w->ctx->authority(w->ctx->proc_arg, want);
}

static void walk_set_dir(struct walk *w, int fd, bool owned)
{
	if (w->cur_owned && w->cur >= 0)
		close(w->cur);
	w->cur = fd;
	w->cur_owned = owned;
}

static int path_push(struct walk *w, const char *comp, size_t len)
{
	size_t need = w->path_len + (w->path_len > 1 ? 1 : 0) + len;
	if (need >= sizeof(w->path))
		return -ENAMETOOLONG;
	if (w->path_len > 1)
		w->path[w->path_len++] = '/';
	memcpy(w->path + w->path_len, comp, len);
	w->path_len += len;
	w->path[w->path_len] = '\0';
	return 0;
}

static void path_pop(struct walk *w)
{
	char *slash = strrchr(w->path, '/');
	if (!slash || slash == w->path) {
		w->path_len = 1;
	} else {
		w->path_len = (size_t)(slash - w->path);
	}
	w->path[w->path_len] = '\0';
	if (w->path_len == 1)
		w->path[0] = '/';
}

/* Take the next component of rest into comp; false when none is left.
 * *last tells whether nothing but slashes follows it. */
static bool next_component(struct walk *w, char *comp, size_t *len, bool *last, bool *trailing)
{
	const char *s = w->rest + w->rest_pos;
	while (*s == '/')
		s++;
	if (!*s)
		return false;
	const char *e = strchrnul(s, '/');
	*len = (size_t)(e - s);
	if (*len > NAME_MAX)
		*len = NAME_MAX + 1; /* reported as ENAMETOOLONG by the caller */
	else
		memcpy(comp, s, *len);
	comp[*len <= NAME_MAX ? *len : 0] = '\0';
	const char *after = e;
	while (*after == '/')
		after++;
	*last = *after == '\0';
	*trailing = *last && *e == '/';
	w->rest_pos = (size_t)(e - w->rest);
	return true;
}

/* Replace the consumed part with the symlink's text: rest becomes
 * TARGET + "/" + what was left. */
static int splice_link(struct walk *w, const char *target)
{
	const char *left = w->rest + w->rest_pos;
	char tmp[sizeof(w->rest)];
	/* left starts at the separator after the link (or is empty): a
	 * trailing slash of the original path is kept, none is invented. */
	int n = snprintf(tmp, sizeof(tmp), "%s%s", target, left);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(w->rest, tmp, (size_t)n + 1);
	w->rest_pos = 0;
	if (++w->links > LB_MAX_LINKS)
		return -ELOOP;
	if (target[0] == '/') {
		walk_set_dir(w, w->ctx->rootfd, false);
		w->path_len = 1;
		strcpy(w->path, "/");
	}
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool in_proc_root(const struct walk *w)
{
	return strcmp(w->path, "/proc") == 0;
}

/* Inside /proc/PID/ (any depth): symlinks there are magic links. */
static bool under_proc_pid(const struct walk *w, pid_t *pid)
{
	const char *rest;
	return lb_proc_pid_path(w->path, pid, &rest);
}

bool lb_proc_pid_path(const char *path, pid_t *pid, const char **rest)
{
	if (strncmp(path, "/proc/", 6) != 0)
		return false;
	const char *p = path + 6;
	char *end;
	long v = strtol(p, &end, 10);
	if (end == p || (*end != '/' && *end != '\0'))
		return false;
	*pid = v > 0 && v <= INT_MAX ? (pid_t)v : -1; /* -1: no process */
	*rest = end;
	return true;
}

static pid_t walk_tgid(struct walk *w)
{
	if (w->tgid == 0)
		w->tgid = lb_tgid_of(w->ctx->tid);
	return w->tgid;
}

static void walk_proc_ids(struct walk *w)
{
	if (w->proc_tgid)
		return;
	if (w->ctx->proc_ids)
		w->ctx->proc_ids(w->ctx->proc_arg, &w->proc_tgid, &w->proc_tid);
	if (!w->proc_tgid || !w->proc_tid) {
		w->proc_tgid = walk_tgid(w);
		w->proc_tid = w->ctx->tid;
	}
}

/* A pid of the caller's as /proc numbers it, in litebox's numbering. */
static pid_t host_pid_of(struct walk *w, pid_t pid)
{
	walk_proc_ids(w);
	if (pid == w->proc_tgid)
		return walk_tgid(w);
	if (pid == w->proc_tid)
		return w->ctx->tid;
	return pid;
}

/* /proc/self and /proc/thread-self would name the supervisor: rewrite
 * them to the caller before the kernel sees them. */
static int translate_proc_self(struct walk *w, char *comp, size_t *len)
{
	char buf[64];
	if (strcmp(comp, "self") == 0) {
		walk_proc_ids(w);
		snprintf(buf, sizeof(buf), "%d", (int)w->proc_tgid);
	} else if (strcmp(comp, "thread-self") == 0) {
		walk_proc_ids(w);
		snprintf(buf, sizeof(buf), "%d/task/%d", (int)w->proc_tgid, (int)w->proc_tid);
	} else {
		return 0;
	}
	/* thread-self expands to several components: splice it into rest
	 * without counting a link. */
	int links = w->links;
	int rc = splice_link(w, buf);
	w->links = links;
	if (rc < 0)
		return rc;
	*len = 0;
	return 1;
}

static int step_into(struct walk *w, const char *comp, size_t len)
{
	int fd = openat(w->cur, comp, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	walk_set_dir(w, fd, true);
	return path_push(w, comp, len);
}

static int step_up(struct walk *w)
{
	if (w->path_len == 1)
		return 0; /* ".." at the root stays at the root */
	int fd = openat(w->cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	walk_set_dir(w, fd, true);
	path_pop(w);
	return 0;
}

/* Outside /proc a final name to follow is looked at with lstat rather
 * than readlink: one call tells "not a link" and gives the object's
 * metadata (out->st) to the stat and the identity checks that follow.
 * 1 = a symlink (read it), 0 = not one (out->st filled), <0 error. */
static int final_is_link(struct walk *w, const char *comp, struct lb_resolved *out)
{
	if (w->as_litebox || strncmp(w->path, "/proc", 5) == 0)
		return 1; /* /proc's magic links: readlink tells them */
	if (fstatat(w->cur, comp, &out->st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(out->st.st_mode))
		return 1;
	out->has_st = true;
	return 0;
}

/* comp names a symlink (or a magic link) in cur: read it. 1 = spliced,
 * 0 = not a link, <0 error. For a magic link whose text is not a path,
 * fill magic_* and return 2. */
static int maybe_follow(struct walk *w, const char *comp, struct lb_resolved *out, bool final)
{
	char target[PATH_MAX];
	if (final) {
		int rc = final_is_link(w, comp, out);
		if (rc <= 0)
			return rc;
	}
	ssize_t n = readlinkat(w->cur, comp, target, sizeof(target) - 1);
	if (n < 0)
		return errno == EINVAL ? 0 : -errno;
	target[n] = '\0';
	pid_t pid;
	if (under_proc_pid(w, &pid)) {
		bool is_path = target[0] == '/';
		size_t tl = (size_t)n;
		if (is_path && tl > 10 && strcmp(target + tl - 10, " (deleted)") == 0)
			is_path = false;
		if (!is_path) {
			char *end;
			long fdnum = strtol(comp, &end, 10);
			const char *tail = w->path + w->path_len - 3;
			bool in_fd_dir = w->path_len > 3 && strcmp(tail, "/fd") == 0;
			if (!in_fd_dir || *end || end == comp)
				return -ENOENT;
			out->magic_pid = host_pid_of(w, pid);
			out->magic_fd = (int)fdnum;
			return 2;
		}
	}
	int rc = splice_link(w, target);
	return rc < 0 ? rc : 1;
}

static int check_proc_pid(struct walk *w, const char *comp)
{
	if (!in_proc_root(w) || !all_digits(comp) || !w->ctx->pid_visible)
		return 0;
	long pid = strtol(comp, NULL, 10);
	return w->ctx->pid_visible(w->ctx->arg, (pid_t)pid) ? 0 : -ENOENT;
}

/* A "", "." or ".." component: lexical and physical paths may differ. */
static bool has_dot_component(const char *dir)
{
	for (const char *p = dir; *p;) {
		size_t l = strcspn(p, "/");
		if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += l;
		if (*p == '/')
			p++;
	}
	return false;
}

/* Is w->path + "/" + comp (comp of len bytes) hidden? Then the walk ends
 * there; out (when given) keeps the path for the record. */
static bool hidden_here(const struct walk *w, const char *comp, size_t len, struct lb_resolved *out)
{
	if (!w->ctx->hidden)
		return false;
	char cand[PATH_MAX];
	int n = snprintf(cand, sizeof(cand), "%s%s%.*s", w->path, w->path_len > 1 ? "/" : "",
			 (int)len, comp);
	if (n < 0 || (size_t)n >= sizeof(cand) || !w->ctx->hidden(w->ctx->arg, cand))
		return false;
	if (out) {
		/* for the record: what the caller asked for, the rest lexically */
		const char *rest = w->rest + w->rest_pos;
		while (*rest == '/')
			rest++;
		size_t rl = strlen(rest);
		memcpy(out->path, cand, (size_t)n + 1);
		if (rl && (size_t)n + 1 + rl < sizeof(out->path)) {
			out->path[n] = '/';
			memcpy(out->path + n + 1, rest, rl + 1);
		}
		out->hidden_stop = true;
	}
	return true;
}

/* Fast path: the whole directory part has no "..", no symlink and does
 * not touch /proc, so one openat2 that refuses symlinks reaches it, and
 * the lexical path is the canonical one. Returns 1 when taken. */
static int try_fast_dirpart(struct walk *w)
{
	const char *s = w->rest + w->rest_pos;
	while (*s == '/')
		s++;
	const char *last = strrchr(s, '/');
	if (!last)
		return 0;
	size_t dlen = (size_t)(last - s);
	if (last[1] == '\0')
		return 0; /* a trailing slash: the last name is the object, walk it slowly */
	while (dlen > 0 && s[dlen - 1] == '/')
		dlen--; /* "dir//name": the directory is "dir", or the path gets "//" */
	if (dlen == 0 || dlen >= PATH_MAX)
		return 0;
	char dir[PATH_MAX];
	memcpy(dir, s, dlen);
	dir[dlen] = '\0';
	if (has_dot_component(dir))
		return 0;
	if (w->path_len == 1 && strncmp(dir, "proc", 4) == 0)
		return 0;
	if (strncmp(w->path, "/proc", 5) == 0)
		return 0;
	if (hidden_here(w, dir, dlen, NULL))
		return 0; /* the slow walk stops at the first hidden component */
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH,
	};
	int fd = (int)syscall(SYS_openat2, w->cur, dir, &how, sizeof(how));
	if (fd < 0)
		return 0; /* let the slow walk find out why, with exact errno */
	if (w->path_len + 1 + dlen >= sizeof(w->path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	walk_set_dir(w, fd, true);
	int rc = path_push(w, dir, dlen);
	if (rc < 0)
		return rc;
	w->rest_pos = (size_t)(last - w->rest);
	return 1;
}

static int finish(struct walk *w, const char *comp, size_t len, struct lb_resolved *out)
{
	if (len == 0) {
		out->name[0] = '\0';
	} else {
		memcpy(out->name, comp, len + 1);
	}
	if (w->cur_owned) {
		out->dirfd = w->cur;
	} else {
		out->dirfd = fcntl(w->cur, F_DUPFD_CLOEXEC, 0);
		if (out->dirfd < 0)
			return -errno;
	}
	w->cur_owned = false;
	memcpy(out->path, w->path, w->path_len + 1);
	if (len) {
		size_t need = w->path_len + (w->path_len > 1) + len;
		if (need >= sizeof(out->path)) {
			close(out->dirfd);
			out->dirfd = -1;
			return -ENAMETOOLONG;
		}
		if (w->path_len > 1)
			strcat(out->path, "/");
		strcat(out->path, comp);
	}
	return 0;
}

static int walk_loop(struct walk *w, unsigned flags, struct lb_resolved *out)
{
	char comp[NAME_MAX + 2];
	size_t len;
	bool last, trailing;

	for (;;) {
		int rc = walk_authority(w);
		if (rc < 0)
			return rc;
		rc = try_fast_dirpart(w);
		if (rc < 0)
			return rc;
		if (!next_component(w, comp, &len, &last, &trailing))
			return finish(w, "", 0, out); /* the object is cur itself */
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		if (in_proc_root(w)) {
			rc = translate_proc_self(w, comp, &len);
			if (rc < 0)
				return rc;
			if (rc == 1)
				continue;
		}
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			if (comp[1] == '.' && (rc = step_up(w)) < 0)
				return rc;
			if (last)
				return finish(w, "", 0, out);
			continue;
		}
		if ((rc = check_proc_pid(w, comp)) < 0)
			return rc;
		/* The object itself is judged by the caller with its class (a
		 * precise grant may re-open a hidden name); a directory on the
		 * way, or a final symlink to be followed, is stopped at here. */
		bool follows = last && (flags & (LB_RES_FOLLOW | LB_RES_DIR_ONLY) || trailing);
		if ((!last || follows) && hidden_here(w, comp, len, out))
			return -ENOENT;
		if (last) {
			out->trailing_slash = trailing;
			if (trailing && (flags & LB_RES_MODIFY)) {
				char probe[2];
				if (readlinkat(w->cur, comp, probe, sizeof(probe)) >= 0)
					return -ENOTDIR;
			}
			if (flags & (LB_RES_FOLLOW | LB_RES_DIR_ONLY) || trailing) {
				rc = maybe_follow(w, comp, out, true);
				if (rc < 0 && rc != -ENOENT)
					return rc;
				if (rc == 1)
					continue;
			}
			return finish(w, comp, len, out);
		}
		rc = step_into(w, comp, len);
		if (rc == -ENOTDIR || rc == -ELOOP) {
			rc = maybe_follow(w, comp, out, false);
			if (rc == 0)
				return -ENOTDIR;
			if (rc == 2)
				return -ENOTDIR;
			if (rc < 0)
				return rc;
			continue;
		}
		if (rc < 0)
			return rc;
	}
}

int lb_resolve(const struct lb_resolve_ctx *ctx, int start_fd, const char *start_path,
	       const char *path, unsigned flags, struct lb_resolved *out)
{
	struct walk w = {.ctx = ctx, .cur = start_fd, .tgid = ctx->tgid};
	size_t plen = strlen(path);

	/* an owned start is closed below whatever happens */
	w.cur_owned = (flags & LB_RES_START_OWNED) && start_fd >= 0;
	out->dirfd = -1;
	out->magic_pid = -1;
	out->magic_fd = -1;
	out->trailing_slash = false;
	out->hidden_stop = false;
	out->has_st = false;
	int rc = 0;
	if (plen == 0)
		rc = -ENOENT;
	else if (plen >= PATH_MAX)
		rc = -ENAMETOOLONG;
	else if (path[0] == '/') {
		walk_set_dir(&w, ctx->rootfd, false);
		strcpy(w.path, "/");
		w.path_len = 1;
	} else {
		size_t sl = strlen(start_path);
		if (sl >= sizeof(w.path))
			rc = -ENAMETOOLONG;
		else {
			memcpy(w.path, start_path, sl + 1);
			w.path_len = sl;
		}
	}
	if (rc == 0) {
		memcpy(w.rest, path, plen + 1);
		rc = walk_loop(&w, flags, out);
	}
	walk_set_dir(&w, -1, false);
	return rc;
}

void lb_resolved_release(struct lb_resolved *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
}

/* litebox's own /proc/self/fd, kept open: a readlink there skips the
 * walk through /proc/self (about a microsecond of every relative path's
 * resolution). Opened at the first use, which comes after the sandbox's
 * init was started (it closes every inherited fd anyway); a forked child
 * of litebox opens its own. */
static atomic_int self_fd_dir = -1;

static void self_fd_dir_forget(void)
{
	atomic_store(&self_fd_dir, -1); /* the parent's: not ours to close */
}

static void self_fd_dir_once(void)
{
	pthread_atfork(NULL, NULL, self_fd_dir_forget);
}

static int own_fd_dir(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int d = atomic_load_explicit(&self_fd_dir, memory_order_acquire);
	if (d >= 0)
		return d;
	pthread_once(&once, self_fd_dir_once);
	int fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int expected = -1;
	if (!atomic_compare_exchange_strong(&self_fd_dir, &expected, fd)) {
		close(fd);
		return expected;
	}
	return fd;
}

static ssize_t own_fd_link(int fd, char *buf, size_t len)
{
	char name[16];
	snprintf(name, sizeof(name), "%d", fd);
	int dir = own_fd_dir();
	ssize_t n = dir >= 0 ? readlinkat(dir, name, buf, len) : -1;
	if (n >= 0 || errno == ENAMETOOLONG)
		return n;
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	return readlink(link, buf, len);
}

int lb_fd_path(int fd, char *buf, size_t len)
{
	ssize_t n = own_fd_link(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	if (buf[0] != '/')
		return -ENOENT; /* pipe:[..], socket:[..]: no path */
	if (n > 10 && strcmp(buf + n - 10, " (deleted)") == 0)
		return -ENOENT;
	return 0;
}

pid_t lb_tgid_of(pid_t tid)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/status", (int)tid);
	lb_autoclose int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tid;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return tid;
	buf[n] = '\0';
	const char *t = strstr(buf, "\nTgid:");
	if (!t)
		return tid;
	return (pid_t)strtol(t + 6, NULL, 10);
}
