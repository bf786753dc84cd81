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
void lb_ovl_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "", name);
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0';
}

bool lb_ovl_is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* overlayfs's own xattrs in DIR's layers are named with the prefix its
 * manifest gives (d->prefix). Only these mean anything: in a root run
 * user.overlay.opaque is an xattr the program may set like any other, and
 * an opaque directory deletes every host entry it does not hold. */
static bool is_opaque(const char *prefix, const char *upper)
{
	char name[40], v[4];
	snprintf(name, sizeof(name), "%sopaque", prefix);
	ssize_t n = lgetxattr(upper, name, v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lb_ovl_list_dir(const char *dir, char ***out, size_t *n)
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

void lb_ovl_free_list(char **v, size_t n)
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
	if ((rc = lb_ovl_list_dir(host, &names, &n)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char p[PATH_MAX];
		struct stat cs;
		lb_ovl_join(p, sizeof(p), host, names[i]);
		if (!p[0])
			rc = -ENAMETOOLONG; /* never a change left out silently */
		else if (lstat(p, &cs) == 0)
			rc = deleted_tree(d, p, &cs);
	}
	lb_ovl_free_list(names, n);
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
	if ((rc = lb_ovl_list_dir(upper, &names, &n)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char h[PATH_MAX], u[PATH_MAX];
		struct stat cs;
		lb_ovl_join(h, sizeof(h), host, names[i]);
		lb_ovl_join(u, sizeof(u), upper, names[i]);
		if (!h[0] || !u[0])
			rc = -ENAMETOOLONG;
		else if (lstat(u, &cs) == 0 && !lb_ovl_is_whiteout(&cs))
			rc = added_tree(d, h, u, &cs);
	}
	lb_ovl_free_list(names, n);
	return rc;
}

bool lb_ovl_same_bytes(const char *a, const char *b)
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

size_t lb_ovl_own_xattrs(const char *prefix, const char *path, bool follow, char *buf, size_t len)
{
	ssize_t n = follow ? listxattr(path, buf, len) : llistxattr(path, buf, len);
	if (n <= 0)
		return 0;
	size_t w = 0;
	for (size_t r = 0; r < (size_t)n;) {
		size_t l = strlen(buf + r) + 1;
		if (strncmp(buf + r, prefix, strlen(prefix))) {
			memmove(buf + w, buf + r, l);
			w += l;
		}
		r += l;
	}
	return w;
}

static bool same_xattrs(const char *prefix, const char *host, const char *upper)
{
	static char la[65536], lb[65536];
	size_t na = lb_ovl_own_xattrs(prefix, host, false, la, sizeof(la)),
	       nb = lb_ovl_own_xattrs(prefix, upper, false, lb, sizeof(lb));
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
		changed = hs->st_size != us->st_size || !lb_ovl_same_bytes(host, upper);
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
	if (rc == 0 && !S_ISLNK(us->st_mode) && !same_xattrs(d->prefix, host, upper))
		rc = add(d, LB_OVL_XATTRS, host, upper, hs, us);
	return rc;
}

static int walk(struct lb_ovl_diff *d, const char *host, bool host_dir, const char *upper)
{
	char **names;
	size_t n;
	int rc = lb_ovl_list_dir(upper, &names, &n);
	if (rc < 0)
		return rc;
	if (host_dir && is_opaque(d->prefix, upper)) {
		char **hn;
		size_t hcount;
		rc = lb_ovl_list_dir(host, &hn, &hcount);
		for (size_t i = 0; rc == 0 && i < hcount; i++) {
			if (bsearch(&hn[i], names, n, sizeof(char *), cmp_names))
				continue;
			char p[PATH_MAX];
			struct stat st;
			lb_ovl_join(p, sizeof(p), host, hn[i]);
			if (!p[0])
				rc = -ENAMETOOLONG;
			else if (lstat(p, &st) == 0)
				rc = deleted_tree(d, p, &st);
		}
		lb_ovl_free_list(hn, hcount);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char h[PATH_MAX], u[PATH_MAX];
		struct stat us, hs;
		lb_ovl_join(h, sizeof(h), host, names[i]);
		lb_ovl_join(u, sizeof(u), upper, names[i]);
		if (!h[0] || !u[0]) {
			rc = -ENAMETOOLONG;
			break;
		}
		if (lstat(u, &us) < 0)
			continue;
		bool have = host_dir && lstat(h, &hs) == 0;
		if (lb_ovl_is_whiteout(&us)) {
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
	lb_ovl_free_list(names, n);
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
	snprintf(out->prefix, sizeof(out->prefix), "%s", lb_ovl_private_prefix(&m));
	for (size_t i = 0; rc == 0 && i < m.n; i++) {
		char upper[PATH_MAX];
		struct stat st;
		snprintf(upper, sizeof(upper), "%s/layers/%u/upper", dir, m.v[i].id);
		bool host_dir = stat(m.v[i].host, &st) == 0 && S_ISDIR(st.st_mode);
		/* a layer root of the user's narrowed to what the user had on
		 * the host (0000 for root's 0700 /root): opened for the walk */
		struct stat us;
		/* by descriptor: a symlink there never has a host directory's
		 * mode changed */
		lb_autoclose int ufd = open(upper, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", ufd);
		bool narrowed = ufd >= 0 && fstat(ufd, &us) == 0 && us.st_uid == geteuid() &&
				(us.st_mode & 0500) != 0500 &&
				chmod(self, (us.st_mode & 07777) | 0500) == 0;
		rc = walk(out, m.v[i].host, host_dir, upper);
		if (narrowed)
			(void)chmod(self, us.st_mode & 07777);
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
		if (lb_ovl_under(path, m.v[i].host) &&
		    (!best || strlen(best->host) < strlen(m.v[i].host)))
			best = &m.v[i];
	}
	char *out = NULL;
	struct stat st;
	if (best) {
		const char *rel = strcmp(best->host, "/") ? path + strlen(best->host) : path;
		if (asprintf(&out, "%s/layers/%u/upper%s", dir, best->id, rel) < 0)
			out = NULL;
		else if (lstat(out, &st) < 0 || lb_ovl_is_whiteout(&st)) {
			free(out);
			out = NULL;
		}
	}
	lb_ovl_manifest_free(&m);
	return out;
}
