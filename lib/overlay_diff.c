/* SPDX-License-Identifier: MIT */
/* What a run with --overlay DIR changed, read from its upper layers
 * against the host, and how to make those changes on the host.
 *
 * An upper layer holds every object the program created or changed, and
 * for each deleted one a whiteout (a 0/0 character device); a directory
 * the program removed and made again is "opaque" (the overlay.opaque
 * xattr, trusted.* as root, user.* without). Renames are a deletion and
 * an addition: directories are never renamed in place (redirect_dir is
 * off, so `mv` copies them).
 *
 * DIR/base remembers, for each host path a run changed, the host's state
 * at the end of the first run that changed it; `apply` refuses when the
 * host no longer matches it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "litebox/overlay.h"
#include "litebox/util.h"
#include "overlay_internal.h"

const char *lb_ovl_kind_name(enum lb_ovl_kind k)
{
	static const char *const names[] = {"deleted", "added", "modified", "mode",
					    "owner",   "times", "xattrs"};
	return (size_t)k < LB_ARRAY_SIZE(names) ? names[k] : "?";
}

void lb_overlay_diff_free(struct lb_ovl_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].upper);
	}
	free(d->v);
	*d = (struct lb_ovl_diff){0};
}

static int add(struct lb_ovl_diff *d, enum lb_ovl_kind kind, const char *path, const char *upper,
	       const struct stat *old, const struct stat *new)
{
	struct lb_ovl_change *v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->v = v;
	struct lb_ovl_change c = {.kind = kind, .path = strdup(path)};
	if (upper)
		c.upper = strdup(upper);
	if (old) {
		c.old_mode = old->st_mode;
		c.old_uid = old->st_uid;
		c.old_gid = old->st_gid;
	}
	if (new) {
		c.new_mode = new->st_mode;
		c.new_uid = new->st_uid;
		c.new_gid = new->st_gid;
	}
	v[d->n++] = c;
	return c.path && (!upper || c.upper) ? 0 : -ENOMEM;
}

/* A name too long is left empty: every use then fails to find it. */
static void join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "", name);
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0';
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* overlayfs's own xattrs in DIR's layers, from its manifest (set by
 * lb_overlay_diff, which apply and record go through first). Only these
 * mean anything: in a root run user.overlay.opaque is an xattr the
 * program may set like any other, and an opaque directory deletes every
 * host entry it does not hold. */
static char ovl_prefix[24] = "trusted.overlay.";

static bool is_opaque(const char *upper)
{
	char name[40], v[4];
	snprintf(name, sizeof(name), "%sopaque", ovl_prefix);
	ssize_t n = lgetxattr(upper, name, v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir, sorted. */
static int list_dir(const char *dir, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char **v = realloc(*out, (*n + 1) * sizeof(char *));
		if (!v || !(v[*n] = strdup(e->d_name))) {
			if (v)
				*out = v;
			rc = -ENOMEM;
			break;
		}
		*out = v;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(char *), cmp_names);
	return rc;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int deleted_tree(struct lb_ovl_diff *d, const char *host, const struct stat *st)
{
	int rc = add(d, LB_OVL_DELETED, host, NULL, st, NULL);
	if (rc < 0 || !S_ISDIR(st->st_mode))
		return rc;
	char **names;
	size_t n;
	if ((rc = list_dir(host, &names, &n)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char p[PATH_MAX];
		struct stat cs;
		join(p, sizeof(p), host, names[i]);
		if (lstat(p, &cs) == 0)
			rc = deleted_tree(d, p, &cs);
	}
	free_list(names, n);
	return rc;
}

static int added_tree(struct lb_ovl_diff *d, const char *host, const char *upper,
		      const struct stat *st)
{
	int rc = add(d, LB_OVL_ADDED, host, upper, NULL, st);
	if (rc < 0 || !S_ISDIR(st->st_mode))
		return rc;
	char **names;
	size_t n;
	if ((rc = list_dir(upper, &names, &n)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char h[PATH_MAX], u[PATH_MAX];
		struct stat cs;
		join(h, sizeof(h), host, names[i]);
		join(u, sizeof(u), upper, names[i]);
		if (lstat(u, &cs) == 0 && !is_whiteout(&cs))
			rc = added_tree(d, h, u, &cs);
	}
	free_list(names, n);
	return rc;
}

static bool same_bytes(const char *a, const char *b)
{
	lb_autoclose int fa = open(a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	lb_autoclose int fb = open(b, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat sa, sb;
	/* O_NONBLOCK and regular files only: a FIFO swapped in never blocks us */
	if (fa < 0 || fb < 0 || fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0 || !S_ISREG(sa.st_mode) ||
	    !S_ISREG(sb.st_mode))
		return false;
	static char ba[65536], bb[65536];
	for (;;) {
		ssize_t na = read(fa, ba, sizeof(ba));
		if (na < 0)
			return false;
		size_t got = 0;
		while (got < (size_t)na) {
			ssize_t nb = read(fb, bb + got, (size_t)na - got);
			if (nb <= 0)
				return false;
			got += (size_t)nb;
		}
		if (na == 0)
			return read(fb, bb, 1) == 0;
		if (memcmp(ba, bb, (size_t)na) != 0)
			return false;
	}
}

static bool same_target(const char *a, const char *b)
{
	char ta[PATH_MAX], tb[PATH_MAX];
	ssize_t na = readlink(a, ta, sizeof(ta)), nb = readlink(b, tb, sizeof(tb));
	return na >= 0 && na == nb && memcmp(ta, tb, (size_t)na) == 0;
}

/* The program's extended attributes, without overlayfs's own. */
static size_t own_xattrs(const char *path, char *buf, size_t len)
{
	ssize_t n = llistxattr(path, buf, len);
	if (n <= 0)
		return 0;
	size_t w = 0;
	for (size_t r = 0; r < (size_t)n;) {
		size_t l = strlen(buf + r) + 1;
		if (strncmp(buf + r, ovl_prefix, strlen(ovl_prefix))) {
			memmove(buf + w, buf + r, l);
			w += l;
		}
		r += l;
	}
	return w;
}

static bool same_xattrs(const char *host, const char *upper)
{
	static char la[65536], lb[65536];
	size_t na = own_xattrs(host, la, sizeof(la)), nb = own_xattrs(upper, lb, sizeof(lb));
	if (na != nb)
		return false;
	for (size_t r = 0; r < na; r += strlen(la + r) + 1) {
		char va[4096], vb[4096];
		ssize_t a = lgetxattr(host, la + r, va, sizeof(va));
		ssize_t b = lgetxattr(upper, la + r, vb, sizeof(vb));
		if (a != b || (a > 0 && memcmp(va, vb, (size_t)a)))
			return false;
	}
	return true;
}

static int compare(struct lb_ovl_diff *d, const char *host, const char *upper,
		   const struct stat *hs, const struct stat *us)
{
	int rc = 0;
	bool changed = false;
	if (S_ISREG(us->st_mode))
		changed = hs->st_size != us->st_size || !same_bytes(host, upper);
	else if (S_ISLNK(us->st_mode))
		changed = !same_target(host, upper);
	else if (!S_ISDIR(us->st_mode))
		changed = hs->st_rdev != us->st_rdev;
	if (changed)
		rc = add(d, LB_OVL_MODIFIED, host, upper, hs, us);
	if (rc == 0 && !S_ISLNK(us->st_mode) && (hs->st_mode & 07777) != (us->st_mode & 07777))
		rc = add(d, LB_OVL_MODE, host, upper, hs, us);
	if (rc == 0 && (hs->st_uid != us->st_uid || hs->st_gid != us->st_gid))
		rc = add(d, LB_OVL_OWNER, host, upper, hs, us);
	/* a directory's times follow its entries; a changed file's its bytes */
	if (rc == 0 && !changed && S_ISREG(us->st_mode) &&
	    (hs->st_mtim.tv_sec != us->st_mtim.tv_sec ||
	     hs->st_mtim.tv_nsec != us->st_mtim.tv_nsec))
		rc = add(d, LB_OVL_TIMES, host, upper, hs, us);
	if (rc == 0 && !S_ISLNK(us->st_mode) && !same_xattrs(host, upper))
		rc = add(d, LB_OVL_XATTRS, host, upper, hs, us);
	return rc;
}

static int walk(struct lb_ovl_diff *d, const char *host, bool host_dir, const char *upper)
{
	char **names;
	size_t n;
	int rc = list_dir(upper, &names, &n);
	if (rc < 0)
		return rc;
	if (host_dir && is_opaque(upper)) {
		char **hn;
		size_t hcount;
		rc = list_dir(host, &hn, &hcount);
		for (size_t i = 0; rc == 0 && i < hcount; i++) {
			if (bsearch(&hn[i], names, n, sizeof(char *), cmp_names))
				continue;
			char p[PATH_MAX];
			struct stat st;
			join(p, sizeof(p), host, hn[i]);
			if (lstat(p, &st) == 0)
				rc = deleted_tree(d, p, &st);
		}
		free_list(hn, hcount);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char h[PATH_MAX], u[PATH_MAX];
		struct stat us, hs;
		join(h, sizeof(h), host, names[i]);
		join(u, sizeof(u), upper, names[i]);
		if (lstat(u, &us) < 0)
			continue;
		bool have = host_dir && lstat(h, &hs) == 0;
		if (is_whiteout(&us)) {
			if (have)
				rc = deleted_tree(d, h, &hs);
		} else if (!have) {
			rc = added_tree(d, h, u, &us);
		} else if ((hs.st_mode & S_IFMT) != (us.st_mode & S_IFMT)) {
			rc = deleted_tree(d, h, &hs);
			if (rc == 0)
				rc = added_tree(d, h, u, &us);
		} else {
			rc = compare(d, h, u, &hs, &us);
			if (rc == 0 && S_ISDIR(us.st_mode))
				rc = walk(d, h, true, u);
		}
	}
	free_list(names, n);
	return rc;
}

static int cmp_change(const void *a, const void *b)
{
	const struct lb_ovl_change *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (int)x->kind - (int)y->kind;
}

int lb_overlay_diff(const char *dir, struct lb_ovl_diff *out, char *err, size_t errlen)
{
	struct lb_ovl_manifest m;
	*out = (struct lb_ovl_diff){0};
	int rc = lb_ovl_manifest_load(dir, &m);
	if (rc < 0) {
		snprintf(err, errlen, "'%s' is not an overlay directory of litebox: %s", dir,
			 rc == -EINVAL ? "its manifest is not litebox's" : strerror(-rc));
		return rc;
	}
	snprintf(ovl_prefix, sizeof(ovl_prefix), "%s", lb_ovl_private_prefix(&m));
	for (size_t i = 0; rc == 0 && i < m.n; i++) {
		char upper[PATH_MAX];
		struct stat st;
		snprintf(upper, sizeof(upper), "%s/layers/%u/upper", dir, m.v[i].id);
		bool host_dir = stat(m.v[i].host, &st) == 0 && S_ISDIR(st.st_mode);
		/* a layer root of the user's narrowed to what the user had on
		 * the host (0000 for root's 0700 /root): opened for the walk */
		struct stat us;
		bool narrowed = lstat(upper, &us) == 0 && S_ISDIR(us.st_mode) &&
				us.st_uid == geteuid() && (us.st_mode & 0500) != 0500 &&
				chmod(upper, (us.st_mode & 07777) | 0500) == 0;
		rc = walk(out, m.v[i].host, host_dir, upper);
		if (narrowed)
			(void)chmod(upper, us.st_mode & 07777);
		if (rc == -ENOENT)
			rc = 0; /* a layer never mounted */
		if (rc < 0)
			snprintf(err, errlen, "cannot read the layer of %s in '%s': %s",
				 m.v[i].host, dir, strerror(-rc));
	}
	lb_ovl_manifest_free(&m);
	if (rc < 0) {
		lb_overlay_diff_free(out);
		return rc;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_change);
	return 0;
}

char *lb_overlay_find(const char *dir, const char *path)
{
	struct lb_ovl_manifest m;
	if (path[0] != '/' || lb_ovl_manifest_load(dir, &m) < 0)
		return NULL;
	const struct lb_ovl_layer *best = NULL;
	for (size_t i = 0; i < m.n; i++) {
		size_t n = strlen(m.v[i].host);
		bool root = strcmp(m.v[i].host, "/") == 0;
		if ((root || (strncmp(path, m.v[i].host, n) == 0 && path[n] == '/')) &&
		    (!best || strlen(best->host) < n))
			best = &m.v[i];
	}
	char *out = NULL;
	struct stat st;
	if (best) {
		const char *rel = strcmp(best->host, "/") ? path + strlen(best->host) : path;
		if (asprintf(&out, "%s/layers/%u/upper%s", dir, best->id, rel) < 0)
			out = NULL;
		else if (lstat(out, &st) < 0 || is_whiteout(&st)) {
			free(out);
			out = NULL;
		}
	}
	lb_ovl_manifest_free(&m);
	return out;
}

/* ---- the host's state at the run: DIR/base -------------------------------- */

struct base_entry {
	char *path;
	char *state;
};

struct base {
	struct base_entry *v;
	size_t n;
};

static void host_state(const char *path, char *out, size_t len)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		snprintf(out, len, "absent");
		return;
	}
	snprintf(out, len, "%o %u %u %lld %lld.%09ld %lld.%09ld %llu", st.st_mode, st.st_uid,
		 st.st_gid, (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, (unsigned long long)st.st_ino);
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
	char path[PATH_MAX];
	*b = (struct base){0};
	snprintf(path, sizeof(path), "%s/base", dir);
	lb_autofclose FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
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
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/base", dir);
	FILE *f = fopen(path, "ae");
	if (!f)
		rc = -errno;
	for (size_t i = 0; f && i < d.n; i++) {
		if ((i > 0 && strcmp(d.v[i].path, d.v[i - 1].path) == 0) ||
		    base_find(&b, d.v[i].path))
			continue;
		char state[160];
		host_state(d.v[i].path, state, sizeof(state));
		lb_ovl_escape(f, d.v[i].path);
		fprintf(f, " %s\n", state);
	}
	if (f && fclose(f) != 0)
		rc = -errno;
	base_free(&b);
	lb_overlay_diff_free(&d);
	return rc;
}

/* ---- apply ---------------------------------------------------------------------- */

int lb_overlay_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	(void)chmod(path, 0700);
	char **names;
	size_t n;
	int rc = list_dir(path, &names, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char p[PATH_MAX];
		join(p, sizeof(p), path, names[i]);
		rc = lb_overlay_remove_tree(p);
	}
	free_list(names, n);
	if (rc == 0 && rmdir(path) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

/* No file apply writes is setuid or setgid: the program keeps
 * CAP_FSETID, so a setuid-root file it moved into its tree and rewrote
 * keeps the bit in the layer. (A directory's setgid is inheritance.) */
static mode_t applied_mode(mode_t m)
{
	return S_ISDIR(m) ? m & 07777 : m & 01777;
}

static int copy_file(const char *from, const char *to, const struct stat *st)
{
	/* A new name of our own in the same directory: "NAME.suffix" would
	 * be too long for a name near NAME_MAX (the program could then stop
	 * every apply there), and an existing one (a FIFO) must not be used. */
	char tmp[PATH_MAX];
	const char *slash = strrchr(to, '/');
	int dirlen = slash ? (int)(slash - to) : 0;
	if (snprintf(tmp, sizeof(tmp), "%.*s/.litebox-apply-XXXXXX", dirlen, to) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	lb_autoclose int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	lb_autoclose int out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return -errno;
	static char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			unlink(tmp);
			return -EIO;
		}
	if (n < 0 || fsync(out) < 0) {
		unlink(tmp);
		return -EIO;
	}
	if (fchown(out, st->st_uid, st->st_gid) < 0) {
		/* not root: the file stays the user's */
	}
	(void)fchmod(out, applied_mode(st->st_mode));
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	(void)futimens(out, ts);
	if (rename(tmp, to) < 0) {
		int e = -errno;
		unlink(tmp);
		return e;
	}
	return 0;
}

static int set_attrs(const char *path, const char *upper)
{
	struct stat st;
	if (lstat(upper, &st) < 0)
		return -errno;
	if (lchown(path, st.st_uid, st.st_gid) < 0 && errno != EPERM)
		return -errno;
	if (!S_ISLNK(st.st_mode) && chmod(path, applied_mode(st.st_mode)) < 0)
		return -errno;
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int copy_xattrs(const char *path, const char *upper)
{
	static char names[65536], old[65536];
	size_t n = own_xattrs(upper, names, sizeof(names));
	size_t on = own_xattrs(path, old, sizeof(old));
	for (size_t r = 0; r < on; r += strlen(old + r) + 1)
		(void)lremovexattr(path, old + r);
	for (size_t r = 0; r < n; r += strlen(names + r) + 1) {
		char v[4096];
		ssize_t l = lgetxattr(upper, names + r, v, sizeof(v));
		if (l >= 0 && lsetxattr(path, names + r, v, (size_t)l, 0) < 0)
			return -errno;
	}
	return 0;
}

static int create(const char *path, const char *upper)
{
	struct stat st;
	if (lstat(upper, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return mkdir(path, 0700) < 0 ? -errno : 0;
	if (S_ISREG(st.st_mode))
		return copy_file(upper, path, &st);
	if (S_ISLNK(st.st_mode)) {
		char to[PATH_MAX];
		ssize_t n = readlink(upper, to, sizeof(to) - 1);
		if (n < 0)
			return -errno;
		to[n] = '\0';
		return symlink(to, path) < 0 ? -errno : 0;
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return -EPERM; /* refused up front by conflicts() */
	return mknod(path, st.st_mode & ~(mode_t)06000, 0) < 0 ? -errno : 0;
}

/* A hard link the program made: the other name of the same upper inode,
 * in the same directory, whose host file already holds those bytes. */
static int link_sibling(const char *path, const char *upper, const struct stat *us)
{
	char updir[PATH_MAX], hostdir[PATH_MAX];
	snprintf(updir, sizeof(updir), "%s", upper);
	snprintf(hostdir, sizeof(hostdir), "%s", path);
	char *us_slash = strrchr(updir, '/'), *hs_slash = strrchr(hostdir, '/');
	if (!us_slash || !hs_slash)
		return -ENOENT;
	*us_slash = *hs_slash = '\0';
	char **names;
	size_t n;
	int rc = list_dir(updir, &names, &n);
	if (rc < 0)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; rc == -ENOENT && i < n; i++) {
		char u[PATH_MAX], h[PATH_MAX];
		struct stat st, hs;
		join(u, sizeof(u), updir, names[i]);
		join(h, sizeof(h), hostdir[0] ? hostdir : "/", names[i]);
		if (strcmp(u, upper) == 0 || lstat(u, &st) < 0 || st.st_ino != us->st_ino ||
		    st.st_dev != us->st_dev || lstat(h, &hs) < 0 || !S_ISREG(hs.st_mode) ||
		    !same_bytes(h, upper))
			continue;
		rc = link(h, path) < 0 ? -errno : 0;
	}
	free_list(names, n);
	return rc;
}

static int apply_one(const struct lb_ovl_change *c)
{
	struct stat us;
	switch (c->kind) {
	case LB_OVL_DELETED:
		return lb_overlay_remove_tree(c->path);
	case LB_OVL_ADDED:
		if (S_ISREG(c->new_mode) && lstat(c->upper, &us) == 0 && us.st_nlink > 1 &&
		    link_sibling(c->path, c->upper, &us) == 0)
			return 0;
		return create(c->path, c->upper);
	case LB_OVL_MODIFIED:
		if (S_ISREG(c->new_mode)) {
			struct stat st;
			return lstat(c->upper, &st) < 0 ? -errno
							: copy_file(c->upper, c->path, &st);
		}
		if (unlink(c->path) < 0)
			return -errno;
		return create(c->path, c->upper);
	case LB_OVL_XATTRS:
		return copy_xattrs(c->path, c->upper);
	default:
		return 0; /* mode, owner, times: with every changed object's attributes */
	}
}

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

static int conflicts(const struct lb_ovl_diff *d, const struct base *b, char *err, size_t errlen)
{
	size_t used = 0, count = 0;
	err[0] = '\0';
	for (size_t i = 0; i < d->n; i++) {
		if (i > 0 && strcmp(d->v[i].path, d->v[i - 1].path) == 0)
			continue;
		char now[160];
		const char *then = base_find(b, d->v[i].path);
		bool device = d->v[i].kind != LB_OVL_DELETED &&
			      (S_ISCHR(d->v[i].new_mode) || S_ISBLK(d->v[i].new_mode));
		host_state(d->v[i].path, now, sizeof(now));
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

static int empty_layers(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/layers", dir);
	int rc = lb_overlay_remove_tree(p);
	if (rc == 0 && mkdir(p, 0700) < 0)
		rc = -errno;
	snprintf(p, sizeof(p), "%s/base", dir);
	if (rc == 0 && unlink(p) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

int lb_overlay_apply(const char *dir, char *err, size_t errlen)
{
	struct lb_ovl_diff d;
	int rc = lb_overlay_diff(dir, &d, err, errlen);
	if (rc < 0)
		return rc;
	struct base b;
	if ((rc = base_load(dir, &b)) == 0)
		rc = conflicts(&d, &b, err, errlen);
	base_free(&b);
	/* deletions deepest first, then creations and contents parents
	 * first, then the attributes of every new or changed object
	 * deepest first (a directory made read-only last) */
	for (size_t i = d.n; rc == 0 && i-- > 0;)
		if (d.v[i].kind == LB_OVL_DELETED && (rc = apply_one(&d.v[i])) < 0)
			snprintf(err, errlen, "cannot delete %s: %s (changes before it were made)",
				 d.v[i].path, strerror(-rc));
	for (size_t i = 0; rc == 0 && i < d.n; i++)
		if (d.v[i].kind != LB_OVL_DELETED && (rc = apply_one(&d.v[i])) < 0)
			snprintf(err, errlen, "cannot write %s: %s (changes before it were made)",
				 d.v[i].path, strerror(-rc));
	for (size_t i = d.n; rc == 0 && i-- > 0;)
		if (d.v[i].kind != LB_OVL_DELETED && d.v[i].upper &&
		    (i + 1 == d.n || strcmp(d.v[i].path, d.v[i + 1].path)) &&
		    (rc = set_attrs(d.v[i].path, d.v[i].upper)) < 0)
			snprintf(err, errlen, "cannot set the attributes of %s: %s", d.v[i].path,
				 strerror(-rc));
	lb_overlay_diff_free(&d);
	if (rc == 0 && (rc = empty_layers(dir)) < 0)
		snprintf(err, errlen, "the changes were made, but '%s' could not be emptied: %s",
			 dir, strerror(-rc));
	return rc;
}
