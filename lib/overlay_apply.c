/* SPDX-License-Identifier: MIT */
/* `litebox overlay apply DIR`: the changes a run with --overlay DIR made,
 * made on the host, all or nothing.
 *
 * DIR/base remembers, for each host path a run changed, the host's state
 * at the end of the first run that changed it; apply refuses up front when
 * the host no longer matches it. Then:
 *  1. stage: every new object (a new tree, a file's new bytes, a new
 *     symlink) is built complete, with its owner, mode, times and extended
 *     attributes, under a temporary name (.litebox-apply-XXXXXXXXXXXX) in
 *     the directory where it goes. A failure removes what was staged.
 *  2. commit, in path order: a new object is renamed into place
 *     (RENAME_NOREPLACE), a changed one exchanged with the host's
 *     (RENAME_EXCHANGE: the old one stays, under the temporary name), a
 *     deleted one renamed aside; then the attributes of objects changed in
 *     place, deepest first, each remembering what it replaced. Right
 *     before its step, each host object the step replaces, deletes or
 *     changes is looked at again through its directory's descriptor and
 *     must be the one the check saw (a change made since would be lost):
 *     else, as on any failure, every step before it is undone, in
 *     reverse.
 *  3. finish: what was put aside is removed.
 * Renames, not copies over the host's files: no file is ever half-written,
 * and every step can be taken back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "litebox/overlay.h"
#include "litebox/util.h"
#include "overlay_internal.h"

#define TMP_PREFIX ".litebox-apply-"

/* ---- the host's state at the run: DIR/base -------------------------------- */

struct base_entry {
	char *path;
	char *state;
};

struct base {
	struct base_entry *v;
	size_t n;
};

/* st NULL: absent. */
static void state_of(const struct stat *st, char *out, size_t len)
{
	if (!st) {
		snprintf(out, len, "absent");
		return;
	}
	snprintf(out, len, "%o %u %u %lld %lld.%09ld %lld.%09ld %llu", st->st_mode, st->st_uid,
		 st->st_gid, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec,
		 (unsigned long long)st->st_ino);
}

static void host_state(const char *path, char *out, size_t len)
{
	struct stat st;
	state_of(lstat(path, &st) == 0 ? &st : NULL, out, len);
}

static void base_free(struct base *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].path);
		free(b->v[i].state);
	}
	free(b->v);
	*b = (struct base){0};
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(((const struct base_entry *)a)->path, ((const struct base_entry *)b)->path);
}

static int base_load(const char *dir, struct base *b)
{
	*b = (struct base){0};
	int err = 0;
	lb_autofclose FILE *f = lb_ovl_fopen(dir, "base", O_RDONLY, &err);
	if (!f)
		return err == -ENOENT ? 0 : err;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		struct base_entry *v = realloc(b->v, (b->n + 1) * sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			break;
		}
		b->v = v;
		v[b->n].path = strdup(lb_ovl_unescape(line));
		v[b->n].state = strdup(sp + 1);
		if (!v[b->n].path || !v[b->n].state)
			rc = -ENOMEM;
		b->n++;
	}
	free(line);
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), cmp_base);
	return rc;
}

static const char *base_find(const struct base *b, const char *path)
{
	struct base_entry key = {.path = (char *)path};
	const struct base_entry *e = b->n ? bsearch(&key, b->v, b->n, sizeof(key), cmp_base) : NULL;
	return e ? e->state : NULL;
}

int lb_overlay_record(const char *dir)
{
	struct lb_ovl_diff d;
	char err[256];
	int rc = lb_overlay_diff(dir, &d, err, sizeof(err));
	if (rc < 0)
		return rc;
	struct base b;
	if ((rc = base_load(dir, &b)) < 0) {
		lb_overlay_diff_free(&d);
		return rc;
	}
	/* never through a name put there: a symlink to ~/.bashrc would have
	 * the record appended to it */
	int ferr = 0;
	FILE *f = lb_ovl_fopen(dir, "base", O_WRONLY | O_APPEND | O_CREAT, &ferr);
	if (!f)
		rc = ferr;
	for (size_t i = 0; f && i < d.n; i++) {
		if ((i > 0 && strcmp(d.v[i].path, d.v[i - 1].path) == 0) ||
		    base_find(&b, d.v[i].path))
			continue;
		char state[160];
		host_state(d.v[i].path, state, sizeof(state));
		lb_overlay_put_name(f, d.v[i].path, " ");
		fprintf(f, " %s\n", state);
	}
	if (f && fclose(f) != 0)
		rc = -errno;
	base_free(&b);
	lb_overlay_diff_free(&d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* After a failed apply was undone: the objects it put back are the
 * host's own, but renames changed their ctime (and its temporary names
 * their directories' times); their state now is the one the next apply
 * compares with. touched: sorted. */
static int base_rerecord(const char *dir, char **touched, size_t n)
{
	struct base b;
	int rc = base_load(dir, &b);
	lb_autoclose int dfd = rc < 0 ? -1 : lb_ovl_dir_open(dir);
	if (rc == 0 && dfd < 0)
		rc = dfd;
	if (rc == 0 && unlinkat(dfd, "base.new", 0) < 0 && errno != ENOENT)
		rc = -errno;
	int fd = rc < 0 ? rc : lb_ovl_file(dfd, "base.new", O_WRONLY | O_CREAT | O_EXCL);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (rc == 0 && !f) {
		rc = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
	}
	for (size_t i = 0; f && i < b.n; i++) {
		char state[160];
		const char *key = b.v[i].path;
		if (n && bsearch(&key, touched, n, sizeof(char *), cmp_str))
			host_state(key, state, sizeof(state));
		else
			snprintf(state, sizeof(state), "%s", b.v[i].state);
		lb_overlay_put_name(f, key, " ");
		fprintf(f, " %s\n", state);
	}
	if (f && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		rc = -errno;
	if (f && fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (f && rc == 0 && renameat(dfd, "base.new", dfd, "base") < 0)
		rc = -errno;
	base_free(&b);
	return rc;
}

/* ---- checks before anything is touched ---------------------------------------- */

/* The nearest existing directory above path takes new names from us. */
static bool parent_writable(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
		slash[slash == p ? 1 : 0] = '\0';
		struct stat st;
		if (lstat(p, &st) == 0)
			return S_ISDIR(st.st_mode) && access(p, W_OK | X_OK) == 0;
		if (slash == p)
			break;
	}
	return false;
}

/* A host path as the check saw it (what each commit step compares with). */
struct seen {
	bool present;
	struct stat st;
};

/* seen: one per change of d, filled here. */
static int conflicts(const struct lb_ovl_diff *d, const struct base *b, struct seen *seen,
		     char *err, size_t errlen)
{
	size_t used = 0, count = 0;
	err[0] = '\0';
	for (size_t i = 0; i < d->n; i++) {
		if (i > 0 && strcmp(d->v[i].path, d->v[i - 1].path) == 0) {
			seen[i] = seen[i - 1];
			continue;
		}
		char now[160];
		const char *then = base_find(b, d->v[i].path);
		bool device = d->v[i].kind != LB_OVL_DELETED &&
			      (S_ISCHR(d->v[i].new_mode) || S_ISBLK(d->v[i].new_mode));
		seen[i].present = lstat(d->v[i].path, &seen[i].st) == 0;
		state_of(seen[i].present ? &seen[i].st : NULL, now, sizeof(now));
		bool writable = parent_writable(d->v[i].path);
		if (then && strcmp(then, now) == 0 && writable && !device)
			continue;
		count++;
		if (used + 1 < errlen) {
			int n = snprintf(
			    err + used, errlen - used, "%s%s (%s)", used ? ", " : "", d->v[i].path,
			    device	? "a device node: apply never makes one"
			    : !writable ? "its directory is not writable by you"
			    : !then	? "no record of it at the run (the run did not end)"
			    : strcmp(now, "absent") == 0  ? "removed since the run"
			    : strcmp(then, "absent") == 0 ? "created since the run"
							  : "changed since the run");
			if (n > 0)
				used += (size_t)n < errlen - used ? (size_t)n : errlen - used - 1;
		}
	}
	return count ? -EBUSY : 0;
}

/* ---- extended attributes ------------------------------------------------------ */

struct xattrs {
	char **name;
	char **value;
	size_t *len;
	size_t n;
};

static void xattrs_free(struct xattrs *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->name[i]);
		free(x->value[i]);
	}
	free(x->name);
	free(x->value);
	free(x->len);
	*x = (struct xattrs){0};
}

/* Security labels are the host policy's to give a new object, not ours;
 * file capabilities are a privilege, which apply never hands out (as it
 * strips setuid and setgid bits). */
static bool ours(const char *name)
{
	return strcmp(name, "security.selinux") != 0 && strcmp(name, "security.SMACK64") != 0 &&
	       strcmp(name, "security.apparmor") != 0 && strcmp(name, "security.capability") != 0;
}

/* An object's extended attributes by path: follow for a descriptor's
 * /proc/self/fd/N (the object, not the magic link), not for a name. */
struct xpath {
	const char *path;
	bool follow;
};

static ssize_t x_get(const struct xpath *p, const char *name, void *v, size_t len)
{
	return p->follow ? getxattr(p->path, name, v, len) : lgetxattr(p->path, name, v, len);
}

static int xattrs_read(const char *prefix, const struct xpath *p, struct xattrs *x)
{
	static char names[65536];
	*x = (struct xattrs){0};
	size_t total = lb_ovl_own_xattrs(prefix, p->path, p->follow, names, sizeof(names));
	for (size_t r = 0; r < total; r += strlen(names + r) + 1) {
		if (!ours(names + r))
			continue;
		ssize_t l = x_get(p, names + r, NULL, 0);
		char *v = l >= 0 ? malloc((size_t)l + 1) : NULL;
		if (l < 0 || !v || (l = x_get(p, names + r, v, (size_t)l)) < 0) {
			int e = l < 0 ? -errno : -ENOMEM;
			free(v);
			xattrs_free(x);
			return e;
		}
		char **nn = realloc(x->name, (x->n + 1) * sizeof(*nn));
		if (nn)
			x->name = nn;
		char **vv = nn ? realloc(x->value, (x->n + 1) * sizeof(*vv)) : NULL;
		if (vv)
			x->value = vv;
		size_t *ll = vv ? realloc(x->len, (x->n + 1) * sizeof(*ll)) : NULL;
		if (ll)
			x->len = ll;
		char *name = ll ? strdup(names + r) : NULL;
		if (!name) {
			free(v);
			xattrs_free(x);
			return -ENOMEM;
		}
		x->name[x->n] = name;
		x->value[x->n] = v;
		x->len[x->n++] = (size_t)l;
	}
	return 0;
}

/* p's own extended attributes become exactly x. */
static int xattrs_write(const char *prefix, const struct xpath *p, const struct xattrs *x)
{
	struct xattrs now;
	int rc = xattrs_read(prefix, p, &now);
	for (size_t i = 0; rc == 0 && i < now.n; i++) {
		bool keep = false;
		for (size_t k = 0; !keep && k < x->n; k++)
			keep = strcmp(now.name[i], x->name[k]) == 0;
		if (!keep && (p->follow ? removexattr(p->path, now.name[i])
					: lremovexattr(p->path, now.name[i])) < 0)
			rc = -errno;
	}
	xattrs_free(&now);
	for (size_t i = 0; rc == 0 && i < x->n; i++)
		if ((p->follow ? setxattr(p->path, x->name[i], x->value[i], x->len[i], 0)
			       : lsetxattr(p->path, x->name[i], x->value[i], x->len[i], 0)) < 0)
			rc = -errno;
	return rc;
}

/* ---- the host's directories, by descriptor ----------------------------------- */

/* A program running beside apply (a plain run in the same tree) may swap a
 * directory of the tree for a symlink after the checks: every host object
 * is reached through a descriptor of its directory opened without
 * following any symlink (RESOLVE_NO_SYMLINKS from /), and made, renamed,
 * chowned, chmodded relative to it (attack review 5, O4). */
static int host_dir_open(const char *dir)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* "/proc/self/fd/DIRFD/NAME": exactly NAME in that directory, for the
 * calls without an *at form (the l*xattr family, chmod of an O_PATH). */
static void at_path(char *out, size_t len, int dfd, const char *name)
{
	snprintf(out, len, "/proc/self/fd/%d/%s", dfd, name);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* ---- staging ------------------------------------------------------------------- */

/* No file apply writes is setuid or setgid: the program keeps
 * CAP_FSETID, so a setuid-root file it moved into its tree and rewrote
 * keeps the bit in the layer. (A directory's setgid is inheritance.) */
static mode_t applied_mode(mode_t m)
{
	return S_ISDIR(m) ? m & 07777 : m & 01777;
}

/* A name of our own beside path, random so that nothing the host or the
 * program left there (a FIFO at an old name) is ever used: the objects
 * are made with O_EXCL, mkdir, symlink, never opened when they exist. */
static char *tmp_beside(const char *path)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[12];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return NULL;
	char suffix[sizeof(r) + 1];
	for (size_t i = 0; i < sizeof(r); i++)
		suffix[i] = abc[r[i] % (sizeof(abc) - 1)];
	suffix[sizeof(r)] = '\0';
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 0;
	char *out = NULL;
	if (asprintf(&out, "%.*s/" TMP_PREFIX "%s", dirlen, path, suffix) < 0)
		return NULL;
	if (strlen(out) >= PATH_MAX) {
		free(out);
		return NULL;
	}
	return out;
}

static int copy_bytes(const char *from, int dfd, const char *to)
{
	lb_autoclose int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	lb_autoclose int out =
	    openat(dfd, to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return -errno;
	static char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t w = 0, k; w < n; w += k)
			if ((k = write(out, buf + w, (size_t)(n - w))) < 0)
				return -errno;
	if (n < 0 || fsync(out) < 0)
		return -errno;
	return 0;
}

/* ---- one host object, by one descriptor ----------------------------------------- */

/* The object is opened once (O_PATH, no symlink followed) and every
 * attribute is read and set through that descriptor: a name swapped
 * between two calls (a symlink to ~/.ssh put in its place) is never
 * changed instead. A symlink's extended attributes alone go by its name
 * in its directory's descriptor: the kernel has no descriptor call for
 * them (before Linux 6.13), and its /proc/self/fd link would be followed. */
struct obj {
	int fd, dfd;
	const char *name;
	bool link;
	char via[PATH_MAX + 64]; /* the path its extended attributes are reached by */
};

/* name in dfd into o, its attributes in *st; -ESTALE when it is not of
 * the kind (S_IFMT bits of kind) meant. The caller closes o->fd. */
static int obj_open(int dfd, const char *name, mode_t kind, struct obj *o, struct stat *st)
{
	*o = (struct obj){
	    .fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), .dfd = dfd, .name = name};
	if (o->fd < 0 || fstat(o->fd, st) < 0)
		return -errno;
	if ((st->st_mode & S_IFMT) != (kind & S_IFMT))
		return -ESTALE;
	o->link = S_ISLNK(st->st_mode);
	if (o->link)
		at_path(o->via, sizeof(o->via), dfd, name);
	else
		snprintf(o->via, sizeof(o->via), "/proc/self/fd/%d", o->fd);
	return 0;
}

static struct xpath obj_xpath(const struct obj *o)
{
	return (struct xpath){o->via, !o->link};
}

/* Without root the owner stays the user's (EPERM is no failure). */
static int obj_chown(const struct obj *o, uid_t uid, gid_t gid)
{
	return fchownat(o->fd, "", uid, gid, AT_EMPTY_PATH) < 0 && errno != EPERM ? -errno : 0;
}

static int obj_chmod(const struct obj *o, mode_t mode)
{
	return o->link || chmod(o->via, mode) == 0 ? 0 : -errno;
}

static int obj_times(const struct obj *o, const struct stat *st)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (utimensat(o->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != EINVAL) /* a kernel before 5.8 takes no AT_EMPTY_PATH here */
		return -errno;
	int rc = o->link ? utimensat(o->dfd, o->name, ts, AT_SYMLINK_NOFOLLOW)
			 : utimensat(AT_FDCWD, o->via, ts, 0);
	return rc < 0 ? -errno : 0;
}

/* Owner first (a chown clears setuid bits and file capabilities), then
 * the extended attributes (user.* ones need write permission), the mode,
 * the times last: upper's (st its attributes), as applied_mode allows. */
static int obj_put(const char *prefix, const struct obj *o, const char *upper,
		   const struct stat *st)
{
	int rc = obj_chown(o, st->st_uid, st->st_gid);
	struct xattrs x = {0};
	if (rc == 0)
		rc = xattrs_read(prefix, &(struct xpath){upper, false}, &x);
	struct xpath to = obj_xpath(o);
	if (rc == 0)
		rc = xattrs_write(prefix, &to, &x);
	xattrs_free(&x);
	if (rc == 0)
		rc = obj_chmod(o, applied_mode(st->st_mode));
	return rc < 0 ? rc : obj_times(o, st);
}

static int set_attrs(const char *prefix, int dfd, const char *name, const char *upper,
		     const struct stat *st)
{
	struct obj o;
	struct stat now;
	int rc = obj_open(dfd, name, st->st_mode, &o, &now);
	if (rc == 0)
		rc = obj_put(prefix, &o, upper, st);
	if (o.fd >= 0)
		close(o.fd);
	return rc;
}

/* A hard link the program made: the other name of the same upper inode,
 * in the same directory, whose host file already holds those bytes. */
static int link_sibling(int dfd, const char *upper, const struct stat *us, const char *at)
{
	char updir[PATH_MAX];
	snprintf(updir, sizeof(updir), "%s", upper);
	char *us_slash = strrchr(updir, '/');
	if (!us_slash)
		return -ENOENT;
	*us_slash = '\0';
	char **names;
	size_t n;
	int rc = lb_ovl_list_dir(updir, &names, &n);
	if (rc < 0)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; rc == -ENOENT && i < n; i++) {
		char u[PATH_MAX], h[PATH_MAX + 64];
		struct stat st, hs;
		lb_ovl_join(u, sizeof(u), updir, names[i]);
		at_path(h, sizeof(h), dfd, names[i]);
		if (strcmp(u, upper) == 0 || lstat(u, &st) < 0 || st.st_ino != us->st_ino ||
		    st.st_dev != us->st_dev ||
		    fstatat(dfd, names[i], &hs, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(hs.st_mode) ||
		    !lb_ovl_same_bytes(h, upper))
			continue;
		rc = linkat(dfd, names[i], dfd, at, 0) < 0 ? -errno : 0;
	}
	lb_ovl_free_list(names, n);
	return rc;
}

static int stage(const char *prefix, int dfd, const char *name, const char *upper);

/* The entries of upper, made in the directory just staged (by descriptor:
 * a staged directory swapped for a symlink is not entered). */
static int stage_children(const char *prefix, int dfd, const char *name, const char *upper)
{
	lb_autoclose int sub = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return -errno;
	char **names;
	size_t n;
	int rc = lb_ovl_list_dir(upper, &names, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char u[PATH_MAX];
		struct stat st;
		lb_ovl_join(u, sizeof(u), upper, names[i]);
		if (!u[0])
			rc = -ENAMETOOLONG;
		else if (lstat(u, &st) == 0 && !lb_ovl_is_whiteout(&st))
			rc = stage(prefix, sub, names[i], u);
	}
	lb_ovl_free_list(names, n);
	return rc;
}

/* The object upper holds, made complete at name in dfd. */
static int stage(const char *prefix, int dfd, const char *name, const char *upper)
{
	struct stat st;
	if (lstat(upper, &st) < 0)
		return -errno;
	int rc = 0;
	if (S_ISREG(st.st_mode)) {
		rc = copy_bytes(upper, dfd, name);
	} else if (S_ISDIR(st.st_mode)) {
		rc = mkdirat(dfd, name, 0700) < 0 ? -errno
						  : stage_children(prefix, dfd, name, upper);
	} else if (S_ISLNK(st.st_mode)) {
		char to[PATH_MAX];
		ssize_t n = readlink(upper, to, sizeof(to) - 1);
		if (n < 0)
			return -errno;
		to[n] = '\0';
		rc = symlinkat(to, dfd, name) < 0 ? -errno : 0;
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		return -EPERM; /* refused up front by conflicts() */
	} else {
		rc = mknodat(dfd, name, (st.st_mode & S_IFMT) | 0600, 0) < 0 ? -errno : 0;
	}
	return rc < 0 ? rc : set_attrs(prefix, dfd, name, upper, &st);
}

/* ---- the plan: one step per object -------------------------------------------- */

enum op { OP_ADD, OP_REPLACE, OP_DELETE, OP_ATTRS };

struct step {
	enum op op;
	const char *path;  /* on the host */
	const char *upper; /* the new object (NULL for a deletion) */
	char *tmp;	   /* the staged object; after the commit, the host's old one */
	bool staged, done, exchanged;
	char *old; /* without RENAME_EXCHANGE: where the host's old object went */
	/* path's directory as first opened: each later open must find it */
	dev_t dir_dev;
	ino_t dir_ino;
	bool dir_known;
	/* OP_ATTRS: the host object's attributes before */
	struct stat before;
	struct xattrs before_x;
	size_t at;    /* its path's first change in the diff */
	bool touched; /* committed (since undone or not): its host state is ours */
};

struct plan {
	const struct lb_ovl_diff *d;
	const struct seen *seen; /* the host at the check, one per change of d */
	struct step *v;
	size_t n;
	struct step **order; /* the commit order (see plan_order) */
	const char *changed; /* the host path found changed since the check */
};

/* The first change of d whose path is not below key in strcmp order. */
static size_t lower_bound(const struct lb_ovl_diff *d, const char *key)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(d->v[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool has_kind(const struct lb_ovl_diff *d, const char *path, enum lb_ovl_kind k)
{
	for (size_t i = lower_bound(d, path); i < d->n && strcmp(d->v[i].path, path) == 0; i++)
		if (d->v[i].kind == k)
			return true;
	return false;
}

/* Inside a tree that is added, deleted or replaced as a whole. */
static bool covered(const struct lb_ovl_diff *d, const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
		*slash = '\0';
		if (has_kind(d, p, LB_OVL_ADDED) || has_kind(d, p, LB_OVL_DELETED))
			return true;
	}
	return false;
}

/* Commit order: objects in path order (a parent before what is in it),
 * then attributes deepest first (a directory made read-only last). */
static int plan_order(struct plan *pl)
{
	pl->order = calloc(pl->n ? pl->n : 1, sizeof(*pl->order));
	if (!pl->order)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < pl->n; i++)
		if (pl->v[i].op != OP_ATTRS)
			pl->order[k++] = &pl->v[i];
	for (size_t i = pl->n; i-- > 0;)
		if (pl->v[i].op == OP_ATTRS)
			pl->order[k++] = &pl->v[i];
	return 0;
}

static int plan_make(const struct lb_ovl_diff *d, const struct seen *seen, struct plan *pl)
{
	*pl =
	    (struct plan){.d = d, .seen = seen, .v = calloc(d->n ? d->n : 1, sizeof(struct step))};
	if (!pl->v)
		return -ENOMEM;
	for (size_t i = 0, j; i < d->n; i = j) {
		bool del = false, add = false, mod = false;
		const char *upper = NULL;
		for (j = i; j < d->n && strcmp(d->v[j].path, d->v[i].path) == 0; j++) {
			del |= d->v[j].kind == LB_OVL_DELETED;
			add |= d->v[j].kind == LB_OVL_ADDED;
			mod |= d->v[j].kind == LB_OVL_MODIFIED;
			if (d->v[j].upper && !upper)
				upper = d->v[j].upper;
		}
		if (covered(d, d->v[i].path))
			continue;
		struct step *s = &pl->v[pl->n++];
		s->path = d->v[i].path;
		s->at = i;
		s->upper = upper;
		s->op = (del && add) || mod ? OP_REPLACE
			: del		    ? OP_DELETE
			: add		    ? OP_ADD
					    : OP_ATTRS;
	}
	return plan_order(pl);
}

static void plan_free(struct plan *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		free(pl->v[i].tmp);
		free(pl->v[i].old);
		xattrs_free(&pl->v[i].before_x);
	}
	free(pl->v);
	free(pl->order);
	*pl = (struct plan){0};
}

/* The directory of s->path, opened without following a symlink; the
 * same directory (device and inode) every time, or -ESTALE. */
static int step_dir(struct step *s)
{
	const char *slash = strrchr(s->path, '/');
	if (!slash)
		return -EINVAL;
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%.*s", slash == s->path ? 1 : (int)(slash - s->path),
		 s->path);
	int fd = host_dir_open(parent);
	struct stat st;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	if (s->dir_known && (st.st_dev != s->dir_dev || st.st_ino != s->dir_ino)) {
		close(fd);
		return -ESTALE;
	}
	s->dir_dev = st.st_dev;
	s->dir_ino = st.st_ino;
	s->dir_known = true;
	return fd;
}

static int stage_step(const char *prefix, struct step *s)
{
	if (s->op != OP_ADD && s->op != OP_REPLACE)
		return 0;
	if (!(s->tmp = tmp_beside(s->path)))
		return -ENAMETOOLONG;
	lb_autoclose int dfd = step_dir(s);
	if (dfd < 0)
		return dfd;
	struct stat us;
	s->staged = true;
	if (s->op == OP_ADD && lstat(s->upper, &us) == 0 && S_ISREG(us.st_mode) &&
	    us.st_nlink > 1 && link_sibling(dfd, s->upper, &us, base_name(s->tmp)) == 0)
		return 0;
	return stage(prefix, dfd, base_name(s->tmp), s->upper);
}

/* ---- commit and undo ------------------------------------------------------------ */

/* Renames within one directory (a temporary name is beside its object). */
static int move(int dfd, const char *from, const char *to, unsigned flags)
{
	return renameat2(dfd, base_name(from), dfd, base_name(to), flags) < 0 ? -errno : 0;
}

/* a and b are the same object, unchanged as far as a step can lose a
 * change: its attributes, and unless attrs_only its contents (size,
 * mtime) and anything else (ctime). A step that sets attributes alone
 * loses no contents; apply's own temporary names change its directory's
 * times, and a second name apply gives its file (link_sibling) its ctime. */
static bool unchanged(const struct stat *a, const struct stat *b, bool attrs_only)
{
	if (a->st_dev != b->st_dev || a->st_ino != b->st_ino || a->st_mode != b->st_mode ||
	    a->st_uid != b->st_uid || a->st_gid != b->st_gid)
		return false;
	if (attrs_only && S_ISDIR(a->st_mode))
		return true;
	if (a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
		return false;
	return attrs_only ||
	       (a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec);
}

/* The host path of change i, at rel in dfd, as the check saw it; else
 * -ESTALE and pl->changed names it. */
static int recheck_one(struct plan *pl, size_t i, int dfd, const char *rel, bool attrs_only)
{
	const struct seen *was = &pl->seen[i];
	struct stat now;
	bool present = fstatat(dfd, rel, &now, AT_SYMLINK_NOFOLLOW) == 0;
	if (!present && errno != ENOENT && errno != ENOTDIR)
		return -errno;
	if (present == was->present && (!present || unchanged(&was->st, &now, attrs_only)))
		return 0;
	pl->changed = pl->d->v[i].path;
	return -ESTALE;
}

/* Right before s commits, through its directory's descriptor: the object
 * it replaces, deletes or changes (or the absence of one where it adds),
 * and in a tree it replaces or deletes everything the check saw there. */
static int recheck(struct plan *pl, const struct step *s, int dfd)
{
	const struct lb_ovl_diff *d = pl->d;
	const char *name = base_name(s->path);
	bool attrs = s->op == OP_ATTRS;
	const struct seen *me = &pl->seen[s->at];
	int rc = recheck_one(pl, s->at, dfd, name, attrs);
	if (rc < 0 || attrs || !me->present || !S_ISDIR(me->st.st_mode))
		return rc;
	size_t plen = strlen(s->path);
	char key[PATH_MAX + 1], rel[PATH_MAX];
	snprintf(key, sizeof(key), "%s/", s->path);
	for (size_t i = lower_bound(d, key);
	     rc == 0 && i < d->n && strncmp(d->v[i].path, key, plen + 1) == 0; i++) {
		if (strcmp(d->v[i].path, d->v[i - 1].path) == 0)
			continue;
		snprintf(rel, sizeof(rel), "%s%s", name, d->v[i].path + plen);
		rc = recheck_one(pl, i, dfd, rel, false);
	}
	return rc;
}

/* The host object's attributes become upper's, each remembered first. */
static int commit_attrs(const char *prefix, struct plan *pl, struct step *s, int dfd)
{
	struct stat us;
	if (lstat(s->upper, &us) < 0)
		return -errno;
	struct obj o;
	const struct stat *was = &pl->seen[s->at].st;
	int rc = obj_open(dfd, base_name(s->path), us.st_mode, &o, &s->before);
	if (rc == 0 && (s->before.st_dev != was->st_dev || s->before.st_ino != was->st_ino))
		rc = -ESTALE; /* swapped since recheck() */
	if (rc == -ESTALE)
		pl->changed = s->path;
	struct xpath xp = obj_xpath(&o);
	if (rc == 0)
		rc = xattrs_read(prefix, &xp, &s->before_x);
	if (rc == 0) {
		s->done = true; /* partly changed attributes are put back too */
		rc = obj_put(prefix, &o, s->upper, &us);
	}
	if (o.fd >= 0)
		close(o.fd);
	return rc;
}

static int undo_attrs(const char *prefix, struct step *s, int dfd)
{
	const struct stat *b = &s->before;
	struct obj o;
	struct stat now;
	int rc = obj_open(dfd, base_name(s->path), b->st_mode, &o, &now);
	if (rc == 0 && (now.st_dev != b->st_dev || now.st_ino != b->st_ino))
		rc = -ESTALE;
	struct xpath xp = obj_xpath(&o);
	if (rc == 0)
		rc = obj_chown(&o, b->st_uid, b->st_gid);
	if (rc == 0)
		rc = xattrs_write(prefix, &xp, &s->before_x);
	if (rc == 0)
		rc = obj_chmod(&o, b->st_mode & 07777);
	if (rc == 0)
		rc = obj_times(&o, b);
	if (o.fd >= 0)
		close(o.fd);
	return rc;
}

void (*lb_ovl_apply_hook)(const char *path);

static int commit_step(const char *prefix, struct plan *pl, struct step *s)
{
	if (lb_ovl_apply_hook)
		lb_ovl_apply_hook(s->path);
	lb_autoclose int dfd = step_dir(s);
	if (dfd < 0)
		return dfd;
	int rc = recheck(pl, s, dfd);
	if (rc < 0)
		return rc;
	s->touched = true;
	switch (s->op) {
	case OP_ADD:
		rc = move(dfd, s->tmp, s->path, RENAME_NOREPLACE);
		break;
	case OP_REPLACE:
		rc = move(dfd, s->tmp, s->path, RENAME_EXCHANGE);
		s->exchanged = rc == 0;
		if (rc == -EINVAL) { /* a filesystem without the exchange: two renames */
			if (!(s->old = tmp_beside(s->path)))
				return -ENAMETOOLONG;
			if ((rc = move(dfd, s->path, s->old, RENAME_NOREPLACE)) == 0 &&
			    (rc = move(dfd, s->tmp, s->path, RENAME_NOREPLACE)) < 0)
				(void)move(dfd, s->old, s->path, RENAME_NOREPLACE);
		}
		break;
	case OP_DELETE:
		if (!(s->old = tmp_beside(s->path)))
			return -ENAMETOOLONG;
		rc = move(dfd, s->path, s->old, RENAME_NOREPLACE);
		break;
	case OP_ATTRS:
		return commit_attrs(prefix, pl, s, dfd);
	}
	s->done = rc == 0;
	return rc;
}

static int undo_step(const char *prefix, struct step *s)
{
	lb_autoclose int dfd = step_dir(s);
	if (dfd < 0)
		return dfd;
	int rc = 0;
	switch (s->op) {
	case OP_ADD:
		rc = move(dfd, s->path, s->tmp, RENAME_NOREPLACE);
		break;
	case OP_REPLACE:
		if (s->exchanged)
			rc = move(dfd, s->tmp, s->path, RENAME_EXCHANGE);
		else if ((rc = move(dfd, s->path, s->tmp, RENAME_NOREPLACE)) == 0)
			rc = move(dfd, s->old, s->path, RENAME_NOREPLACE);
		break;
	case OP_DELETE:
		rc = move(dfd, s->old, s->path, RENAME_NOREPLACE);
		break;
	case OP_ATTRS:
		rc = undo_attrs(prefix, s, dfd);
		break;
	}
	if (rc == 0)
		s->done = false;
	return rc;
}

/* What was staged and not committed, and what a commit put aside. */
static void clean(struct plan *pl, bool committed, char *err, size_t errlen)
{
	for (size_t i = 0; i < pl->n; i++) {
		struct step *s = &pl->v[i];
		const char *gone = NULL;
		if (!committed && s->staged && !s->done)
			gone = s->tmp;
		else if (committed && s->op == OP_REPLACE)
			gone = s->exchanged ? s->tmp : s->old;
		else if (committed && s->op == OP_DELETE)
			gone = s->old;
		int rc = 0;
		if (gone) {
			int dfd = step_dir(s);
			rc = dfd < 0 ? dfd : lb_ovl_remove_at(dfd, base_name(gone));
			if (dfd >= 0)
				close(dfd);
		}
		size_t used = strlen(err);
		if (rc < 0 && used + 1 < errlen)
			snprintf(err + used, errlen - used, "%scannot remove %s: %s",
				 used ? "; " : "", gone, strerror(-rc));
	}
}

/* ---- apply ---------------------------------------------------------------------- */

static int empty_layers(const char *dir)
{
	lb_autoclose int dfd = lb_ovl_dir_open(dir);
	if (dfd < 0)
		return dfd;
	int rc = lb_ovl_remove_at(dfd, "layers");
	if (rc == 0 && mkdirat(dfd, "layers", 0700) < 0)
		rc = -errno;
	if (rc == 0 && unlinkat(dfd, "base", 0) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

static int stage_all(const char *prefix, struct plan *pl, char *err, size_t errlen)
{
	for (size_t i = 0; i < pl->n; i++) {
		int rc = stage_step(prefix, &pl->v[i]);
		if (rc < 0) {
			snprintf(err, errlen, "cannot prepare %s: %s", pl->v[i].path,
				 strerror(-rc));
			clean(pl, false, err, errlen);
			return -EAGAIN;
		}
	}
	return 0;
}

/* What the next apply compares with again, sorted: the paths a step
 * committed (and undid), and the directories apply made names in; never
 * the path found changed, which the next apply must refuse. */
static char **touched_paths(const struct plan *pl, size_t *n)
{
	char **v = calloc(pl->n * 2 + 1, sizeof(char *));
	*n = 0;
	for (size_t i = 0; v && i < pl->n; i++) {
		const struct step *s = &pl->v[i];
		const char *p = s->path, *slash = strrchr(p, '/');
		bool path = s->touched && !(pl->changed && strcmp(p, pl->changed) == 0);
		if (path && !(v[(*n)++] = strdup(p)))
			goto oom;
		if ((s->touched || s->staged) &&
		    !(v[(*n)++] = strndup(p, slash && slash != p ? (size_t)(slash - p) : 1)))
			goto oom;
	}
	if (v && *n)
		qsort(v, *n, sizeof(char *), cmp_str);
	return v;
oom:
	lb_ovl_free_list(v, *n);
	return NULL;
}

static int commit_all(const char *prefix, struct plan *pl, char *err, size_t errlen)
{
	size_t k = 0;
	int rc = 0;
	for (; k < pl->n; k++)
		if ((rc = commit_step(prefix, pl, pl->order[k])) < 0)
			break;
	if (k == pl->n)
		return 0;
	const struct step *s = pl->order[k];
	if (rc == -ESTALE)
		snprintf(
		    err, errlen, "%s%s was changed while apply ran, after apply had checked it",
		    pl->changed ? "" : "the directory of ", pl->changed ? pl->changed : s->path);
	else
		snprintf(err, errlen, "cannot change %s: %s", s->path, strerror(-rc));
	int undo_rc = 0;
	for (size_t u = k + 1; u-- > 0;) {
		struct step *t = pl->order[u];
		int r = t->done ? undo_step(prefix, t) : 0;
		size_t used = strlen(err);
		if (r < 0 && used + 1 < errlen)
			snprintf(err + used, errlen - used, "; cannot undo the change of %s: %s",
				 t->path, strerror(-r));
		if (r < 0)
			undo_rc = r;
	}
	clean(pl, false, err, errlen);
	return undo_rc < 0 ? undo_rc : -EAGAIN;
}

/* DIR is trusted with the user's full authority: its layers' host paths,
 * its record of the host. Only a DIR of the user's alone that litebox made
 * (a program can make a directory that looks like one, layer of $HOME
 * included, but cannot give it litebox's mark). Its descriptor in *out. */
static int trusted_dir(const char *dir, int *out, char *err, size_t errlen)
{
	lb_autoclose int dfd = lb_ovl_dir_open(dir);
	if (dfd < 0) {
		snprintf(err, errlen, "'%s' is not an overlay directory litebox can trust: %s", dir,
			 dfd == -EPERM ? "it is another user's, or others can write it (chmod go-w)"
				       : strerror(-dfd));
		return dfd;
	}
	int rc = lb_ovl_check_mark(dfd);
	if (rc < 0)
		snprintf(err, errlen,
			 "'%s' was not made by litebox (it lacks the mark litebox gives the "
			 "directories it makes, which no sandboxed program can set): nothing "
			 "applied",
			 dir);
	else
		*out = steal_fd(&dfd);
	return rc;
}

/* An error written with self for DIR names DIR as the user gave it. */
static void name_dir(char *err, size_t errlen, const char *self, const char *dir)
{
	char *at = strstr(err, self);
	lb_autofree char *tail = at ? strdup(at + strlen(self)) : NULL;
	if (tail)
		snprintf(at, errlen - (size_t)(at - err), "%s%s", dir, tail);
}

static void rerecord(const char *self, const char *dir, const struct plan *pl, char *err,
		     size_t errlen)
{
	size_t n;
	char **touched = touched_paths(pl, &n);
	int r = touched ? base_rerecord(self, touched, n) : -ENOMEM;
	size_t used = strlen(err);
	if (r < 0 && used + 1 < errlen)
		snprintf(err + used, errlen - used,
			 "; cannot record the host's state again in '%s' (%s): the next "
			 "apply will refuse",
			 dir, strerror(-r));
	if (touched)
		lb_ovl_free_list(touched, n);
}

static int apply_diff(const char *self, const char *dir, const struct lb_ovl_diff *d, char *err,
		      size_t errlen)
{
	struct base b = {0};
	lb_autofree struct seen *seen = calloc(d->n ? d->n : 1, sizeof(*seen));
	int rc = seen ? base_load(self, &b) : -ENOMEM;
	if (rc == 0)
		rc = conflicts(d, &b, seen, err, errlen);
	base_free(&b);
	struct plan pl = {0};
	if (rc == 0)
		rc = plan_make(d, seen, &pl);
	if (rc == 0)
		rc = stage_all(d->prefix, &pl, err, errlen);
	if (rc == 0)
		rc = commit_all(d->prefix, &pl, err, errlen);
	if (rc == -EAGAIN)
		rerecord(self, dir, &pl, err, errlen);
	if (rc == 0) {
		err[0] = '\0';
		clean(&pl, true, err, errlen);
		if (err[0])
			rc = -EIO;
	}
	plan_free(&pl);
	return rc;
}

int lb_overlay_apply(const char *dir, size_t *applied, char *err, size_t errlen)
{
	*applied = 0;
	lb_autoclose int dfd = -1;
	int rc = trusted_dir(dir, &dfd, err, errlen);
	if (rc < 0)
		return rc;
	/* DIR as checked: every name in it is reached through this
	 * descriptor from now on, never through DIR's own name again */
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d/.", dfd);
	struct lb_ovl_diff d;
	if ((rc = lb_overlay_diff(self, &d, err, errlen)) < 0) {
		name_dir(err, errlen, self, dir);
		return rc;
	}
	rc = apply_diff(self, dir, &d, err, errlen);
	if (rc == 0)
		*applied = d.n;
	lb_overlay_diff_free(&d);
	if (rc == 0 && (rc = empty_layers(self)) < 0)
		snprintf(err, errlen, "the changes were made, but '%s' could not be emptied: %s",
			 dir, strerror(-rc));
	return rc;
}
