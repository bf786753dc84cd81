/* SPDX-License-Identifier: MIT */
/* The sandbox's view for fast mediation (see litebox/view.h).
 *
 * What the view must guarantee: the kernel's answer to a stat of any path
 * in it is the answer the supervisor would give in exact mode, except that
 * what the supervisor refuses is absent. So the view holds
 *   - for each subtree grant (DIR/ **): DIR bound at its own path, only when
 *     every path below DIR is allowed for stat with no deny, hide or audit
 *     rule able to decide there (lb_policy_uniform_below), else no view;
 *   - for a literal grant: the file bound (a directory named by a literal
 *     grant, and every directory leading to a grant, is an empty directory
 *     with the host's mode, owner and times: exact mode lets those be
 *     walked, and lists them, which the view cannot);
 *   - for DIR/GLOB: the matching entries present at start;
 *   - a symlink where the host has one (copied, so the kernel follows the
 *     same text in the view: a target outside the view is absent);
 *   - a proc of the sandbox's pid namespace, when stat in /proc is uniform.
 * Anything else makes the run exact, with the reason. */
#include "litebox/view.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bind.h"
#include "litebox/pattern.h"
#include "litebox/util.h"

enum entry_kind { E_DIR, E_BIND, E_LINK, E_PROC };

struct entry {
	char *path;
	enum entry_kind kind;
	bool rw;
	char *target; /* E_LINK */
	struct stat st;
};

struct lb_view {
	bool fast, readlink;
	bool pivot; /* a view is built; false: the host's tree is the view */
	char reason[512];
	struct entry *e;
	size_t n, cap;
	char *cwd;
	const char **write_prefixes;
	size_t n_write;
};

/* For hide rules: a hidden path absent at start cannot appear during the
 * run through the sandbox (the hide refuses creating it, and renames that
 * move content between rules are refused). */
static bool absent(const char *path)
{
	struct stat st;
	return lstat(path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

static bool under(const char *path, const char *dir)
{
	size_t len = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

static bool related(const char *a, const char *b)
{
	return under(a, b) || under(b, a);
}

__attribute__((format(printf, 2, 3))) static void no_view(struct lb_view *v, const char *fmt, ...)
{
	if (!v->fast)
		return;
	v->fast = false;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

static struct entry *find(struct lb_view *v, const char *path)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->e[i].path, path) == 0)
			return &v->e[i];
	return NULL;
}

static int add(struct lb_view *v, const char *path, enum entry_kind kind, const struct stat *st)
{
	struct entry *old = find(v, path);
	if (old) {
		if (old->kind == E_DIR && kind != E_DIR)
			old->kind = kind; /* a grant beats a skeleton directory */
		return 0;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct entry *n = realloc(v->e, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		v->e = n;
		v->cap = cap;
	}
	struct entry *e = &v->e[v->n];
	*e = (struct entry){.kind = kind, .path = strdup(path)};
	if (!e->path)
		return -ENOMEM;
	if (st)
		e->st = *st;
	v->n++;
	return 0;
}

static bool writable(const struct lb_view *v, const char *path)
{
	for (size_t i = 0; i < v->n_write; i++)
		if (related(v->write_prefixes[i], path))
			return true;
	return false;
}

/* Stat of path is allowed in exact mode (by a rule, not the ancestor
 * rule). */
static bool stat_granted(const struct lb_policy *p, const char *path)
{
	struct lb_decision d;
	lb_policy_judge_path(p, LB_CLASS_STAT, path, &d);
	return d.verdict == LB_VERDICT_ALLOW;
}

/* A directory leading to a grant: exact mode lets it be walked unless a
 * rule refuses it by name (a hide of a directory with a grant inside). */
static bool walk_granted(const struct lb_policy *p, const char *path)
{
	struct lb_decision d;
	lb_policy_judge_path(p, LB_CLASS_STAT, path, &d);
	return d.verdict == LB_VERDICT_ALLOW ||
	       (d.verdict == LB_VERDICT_DENY && d.origin == LB_ORIGIN_DEFAULT);
}

/* The host object at path, as the view will show it. 1 added, 0 absent. */
static int add_object(struct lb_view *v, const struct lb_policy *p, const char *path, bool subtree)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		/* absent, or beyond what litebox's user may search: nothing to
		 * show (the program, with the same user, cannot reach it) */
		if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
			no_view(v, "cannot look at %s", path);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(path, t, sizeof(t) - 1);
		if (n < 0) {
			no_view(v, "cannot read the symlink %s", path);
			return 0;
		}
		t[n] = '\0';
		int rc = add(v, path, E_LINK, &st);
		struct entry *e = find(v, path);
		if (rc == 0 && e->kind == E_LINK && !e->target && !(e->target = strdup(t)))
			rc = -ENOMEM;
		struct lb_decision d;
		lb_policy_judge_path(p, LB_CLASS_READ, path, &d);
		if (d.verdict != LB_VERDICT_ALLOW)
			v->readlink = false;
		return rc < 0 ? rc : 1;
	}
	if (S_ISDIR(st.st_mode) && !subtree)
		return add(v, path, E_DIR, &st) < 0 ? -ENOMEM : 1;
	return add(v, path, E_BIND, &st) < 0 ? -ENOMEM : 1;
}

static int add_glob(struct lb_view *v, const struct lb_policy *p, const struct lb_pattern *pat)
{
	const char *dir = lb_pattern_prefix(pat);
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
			no_view(v, "cannot list %s", dir);
		return 0;
	}
	int rc = 0;
	struct dirent *de;
	while (rc >= 0 && (de = readdir(d))) {
		char path[PATH_MAX];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int len = snprintf(path, sizeof(path), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
				   de->d_name);
		if (len < 0 || (size_t)len >= sizeof(path) || !lb_pattern_match(pat, path))
			continue;
		if (!stat_granted(p, path))
			no_view(v, "a rule refuses stat of %s, which a pattern grants", path);
		rc = add_object(v, p, path, false);
	}
	closedir(d);
	return rc < 0 ? rc : 0;
}

/* Is path below an entry bound as a whole (so the bind holds it)? */
static bool inside_bind(const struct lb_view *v, const char *path, size_t self)
{
	for (size_t i = 0; i < v->n; i++)
		if (i != self && v->e[i].kind == E_BIND && S_ISDIR(v->e[i].st.st_mode) &&
		    under(path, v->e[i].path) && strcmp(path, v->e[i].path) != 0)
			return true;
	return false;
}

static int add_grant(struct lb_view *v, const struct lb_policy *p, const struct lb_file_grant *g)
{
	const char *pre = lb_pattern_prefix(g->pat);
	if (under(pre, "/proc"))
		return 0; /* the sandbox's own proc, checked as a whole */
	if (g->verdict != LB_VERDICT_ALLOW) {
		no_view(v, "an audit rule on %s must see every access", pre);
		return 0;
	}
	switch (lb_pattern_shape(g->pat)) {
	case LB_SHAPE_SUBTREE:
		if (!lb_policy_uniform_below(p, LB_CLASS_STAT, pre, absent)) {
			struct stat st;
			char rule[PATH_MAX + 32];
			lb_policy_uniform_blocker(p, LB_CLASS_STAT, pre, absent, rule,
						  sizeof(rule));
			if (lstat(pre, &st) == 0)
				no_view(v, "'%s' decides stat inside the granted %s", rule, pre);
			return 0;
		}
		if (!lb_policy_uniform_below(p, LB_CLASS_READ, pre, absent))
			v->readlink = false;
		return add_object(v, p, pre, true) < 0 ? -ENOMEM : 0;
	case LB_SHAPE_LITERAL:
		if (!stat_granted(p, pre))
			no_view(v, "stat of %s is not granted, but another class is", pre);
		return add_object(v, p, pre, false) < 0 ? -ENOMEM : 0;
	case LB_SHAPE_LAST_GLOB:
		return add_glob(v, p, g->pat);
	case LB_SHAPE_OTHER:
		break;
	}
	no_view(v, "the pattern %s has a wildcard before its last component",
		lb_pattern_text(g->pat));
	return 0;
}

/* Every directory above an entry, as on the host. A symlink on the way
 * means the entry's path is not canonical: no rule can grant it, so it is
 * left out (the link itself is copied). */
static int add_skeleton(struct lb_view *v, const struct lb_policy *p)
{
	size_t n = v->n;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		int len = snprintf(path, sizeof(path), "%s", v->e[i].path);
		if (len < 0 || (size_t)len >= sizeof(path)) {
			no_view(v, "a granted path is too long: %.64s...", v->e[i].path);
			continue;
		}
		for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
			*s = '\0';
			struct stat st;
			int rc = lstat(path, &st) < 0 ? -errno : 0;
			if (rc < 0) {
				no_view(v, "cannot look at %s", path);
				break;
			}
			if (S_ISDIR(st.st_mode) && !walk_granted(p, path))
				no_view(v, "%s is refused by name but leads to a grant", path);
			if (S_ISDIR(st.st_mode))
				rc = add(v, path, E_DIR, &st);
			else
				rc = add_object(v, p, path, false);
			*s = '/';
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

/* Drop what a bound directory already holds, and what lies beneath a
 * copied symlink. */
static void prune(struct lb_view *v)
{
	size_t k = 0;
	for (size_t i = 0; i < v->n; i++) {
		bool drop = inside_bind(v, v->e[i].path, i);
		for (size_t j = 0; j < v->n && !drop; j++)
			drop =
			    v->e[j].kind == E_LINK && j != i && under(v->e[i].path, v->e[j].path);
		if (drop) {
			free(v->e[i].path);
			free(v->e[i].target);
		} else {
			v->e[k++] = v->e[i];
		}
	}
	v->n = k;
	qsort(v->e, v->n, sizeof(*v->e), cmp_entry);
	for (size_t i = 0; i < v->n; i++)
		v->e[i].rw = v->e[i].kind == E_BIND && writable(v, v->e[i].path);
}

/* Is path held by a bind (at or below a bound directory, or a bound
 * file itself)? */
static bool bound(const struct lb_view *v, const char *path)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct entry *e = &v->e[i];
		if (e->kind == E_BIND &&
		    (S_ISDIR(e->st.st_mode) ? under(path, e->path) : strcmp(path, e->path) == 0))
			return true;
	}
	return false;
}

/* Places the program reaches through the supervisor must be in the view:
 * its working directory, unix sockets rules name, what it may create. */
static void check_reach(struct lb_view *v, const struct lb_policy *p)
{
	bool cwd_ok = strcmp(v->cwd, "/") == 0 || bound(v, v->cwd) || find(v, v->cwd);
	if (!cwd_ok)
		no_view(v, "the working directory %s is not granted", v->cwd);
	lb_autofree const char **unix = lb_policy_unix_prefixes(p);
	for (size_t i = 0; unix && unix[i]; i++)
		if (!bound(v, unix[i]))
			no_view(v, "unix socket rules name %s, outside the granted subtrees",
				unix[i]);
	for (size_t i = 0; i < v->n_write; i++) {
		if (!bound(v, v->write_prefixes[i]) && !under(v->write_prefixes[i], "/proc"))
			no_view(v, "%s may be written but is not in the view (absent at start?)",
				v->write_prefixes[i]);
	}
}

static int plan_view(struct lb_view *v, const struct lb_policy *p)
{
	if (lb_policy_uniform_below(p, LB_CLASS_STAT, "/", absent)) {
		v->readlink = lb_policy_uniform_below(p, LB_CLASS_READ, "/", absent);
		return 0; /* the host's tree, with the sandbox's own /proc */
	}
	v->pivot = true;
	if (!lb_policy_uniform_below(p, LB_CLASS_STAT, "/proc", absent))
		no_view(v, "%s", "stat in /proc is not granted as a whole");
	if (!lb_policy_uniform_below(p, LB_CLASS_READ, "/proc", absent))
		v->readlink = false;
	lb_autofree struct lb_file_grant *g = NULL;
	size_t n = 0;
	if (lb_policy_file_grants(p, &g, &n) < 0)
		return -ENOMEM;
	v->write_prefixes = calloc(n + 1, sizeof(char *));
	if (!v->write_prefixes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (g[i].cls == LB_CLASS_WRITE)
			v->write_prefixes[v->n_write++] = lb_pattern_prefix(g[i].pat);
		int rc = add_grant(v, p, &g[i]);
		if (rc < 0)
			return rc;
	}
	/* The descriptor links (bash's <(...), /dev/stdin): exact mode follows
	 * them to the caller's own /proc/self/fd, which the view has too. */
	static const char *const fd_links[] = {"/dev/fd", "/dev/stdin", "/dev/stdout",
					       "/dev/stderr"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(fd_links); i++) {
		char t[64];
		ssize_t tl = readlink(fd_links[i], t, sizeof(t) - 1);
		if (tl > 0 && (t[tl] = '\0', strncmp(t, "/proc/self/", 11) == 0) &&
		    add_object(v, p, fd_links[i], false) < 0)
			return -ENOMEM;
	}
	/* Terminals: a pseudo-terminal's multiplexer finds its devpts beside
	 * it, and the program's own terminal must have its name (ttyname). */
	struct stat st;
	if ((find(v, "/dev/ptmx") || find(v, "/dev/tty")) && lstat("/dev/pts", &st) == 0 &&
	    S_ISDIR(st.st_mode) && add(v, "/dev/pts", E_BIND, &st) < 0)
		return -ENOMEM;
	int rc = add_skeleton(v, p);
	if (rc < 0)
		return rc;
	if (add(v, "/proc", E_PROC, NULL) < 0)
		return -ENOMEM;
	prune(v);
	check_reach(v, p);
	return 0;
}

int lb_view_plan(const struct lb_policy *p, const char *cwd, struct lb_view **out)
{
	struct lb_view *v = calloc(1, sizeof(*v));
	if (!v || !(v->cwd = strdup(cwd))) {
		free(v);
		return -ENOMEM;
	}
	v->fast = v->readlink = true;
	int rc = plan_view(v, p);
	if (rc < 0) {
		lb_view_free(v);
		return rc;
	}
	if (!v->fast)
		v->readlink = false;
	else if (!v->readlink)
		snprintf(v->reason, sizeof(v->reason), "%s",
			 "readlink stays trapped: a rule refuses read inside the view");
	*out = v;
	return 0;
}

void lb_view_free(struct lb_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->e[i].path);
		free(v->e[i].target);
	}
	free(v->e);
	free(v->write_prefixes);
	free(v->cwd);
	free(v);
}

bool lb_view_fast(const struct lb_view *v)
{
	return v && v->fast;
}

bool lb_view_readlink_in_kernel(const struct lb_view *v)
{
	return v && v->fast && v->readlink;
}

const char *lb_view_reason(const struct lb_view *v)
{
	return v ? v->reason : "";
}

unsigned lb_view_mounts(const struct lb_view *v)
{
	unsigned m = 0;
	for (size_t i = 0; v && v->pivot && i < v->n; i++)
		m += v->e[i].kind == E_BIND || v->e[i].kind == E_PROC;
	return v && v->pivot ? m + 1 : 0;
}

/* ---- in init ------------------------------------------------------------------ */

#define STAGE "/proc" /* covered by the stage, then gone with the old root */

/* Our /proc is the sandbox's own: in its pid namespace init is pid 1. */
static int own_proc_mounted(void)
{
	char t[32];
	ssize_t n = readlink("/proc/self", t, sizeof(t) - 1);
	if (n < 0)
		return -errno;
	t[n] = '\0';
	return strcmp(t, "1") == 0 ? 0 : -EXDEV;
}

static int set_rdonly(const char *path, unsigned flags)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &a, sizeof(a)) < 0)
		return -errno;
	return 0;
}

static int make_entry(const struct entry *e)
{
	char at[PATH_MAX];
	snprintf(at, sizeof(at), STAGE "%s", e->path);
	switch (e->kind) {
	case E_DIR:
		return mkdir(at, 0700) < 0 && errno != EEXIST ? -errno : 0;
	case E_LINK:
		return symlink(e->target, at) < 0 ? -errno : 0;
	case E_PROC:
		if (mkdir(at, 0555) < 0)
			return -errno;
		return mount("proc", at, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0
			   ? -errno
			   : 0;
	case E_BIND:
		break;
	}
	if (S_ISDIR(e->st.st_mode) ? mkdir(at, 0700) < 0 : mknod(at, S_IFREG | 0600, 0) < 0)
		return -errno;
	/* exactly the object the plan looked at: a bind by name followed a
	 * symlink a racer swapped in (~/.ssh at the working directory) */
	return lb_bind_object(e->path, &e->st, at, S_ISDIR(e->st.st_mode) ? S_IFDIR : S_IFREG,
			      LB_BIND_RECURSIVE | (e->rw ? 0 : LB_BIND_RDONLY));
}

/* The skeleton's directories as on the host (after their children, whose
 * creation moved the times). Owners the namespace cannot map stay. */
static void copy_attrs(const struct entry *e)
{
	char at[PATH_MAX];
	snprintf(at, sizeof(at), STAGE "%s", e->path);
	if (e->kind != E_DIR)
		return;
	if (lchown(at, e->st.st_uid, e->st.st_gid) < 0) {
		/* unmapped owner: the overflow id, as every such file shows */
	}
	(void)chmod(at, e->st.st_mode & 07777);
	struct timespec ts[2] = {e->st.st_atim, e->st.st_mtim};
	(void)utimensat(AT_FDCWD, at, ts, AT_SYMLINK_NOFOLLOW);
}

static int pivot(const char *cwd)
{
	lb_autoclose int fd = open(STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fchdir(fd) < 0)
		return -errno;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	if (umount2(".", MNT_DETACH) < 0)
		return -errno;
	if (chdir("/") < 0 || chdir(cwd) < 0)
		return -errno;
	return 0;
}

int lb_view_enter(const struct lb_view *v)
{
	int rc = own_proc_mounted();
	if (rc < 0 || !v->pivot)
		return rc;
	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return -errno;
	for (size_t i = 0; i < v->n && rc == 0; i++)
		rc = make_entry(&v->e[i]);
	for (size_t i = v->n; rc == 0 && i-- > 0;)
		copy_attrs(&v->e[i]);
	if (rc == 0)
		rc = set_rdonly(STAGE, 0);
	return rc < 0 ? rc : pivot(v->cwd);
}
