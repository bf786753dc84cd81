/* SPDX-License-Identifier: MIT */
/* What the program may never reach, whatever the policy says: the judge's
 * own files (the audit log, the policy file and every file it includes),
 * known by device and inode (a hard link or a rename does not hide them)
 * and by the path they had (nothing else can be put in their place). Every
 * overlay directory of litebox's (--overlay DIR, --dry-run's), of this run
 * or any other, is never written. And,
 * when the sandbox has its own IPC namespace, the host's /proc/sysvipc
 * lists, which the supervisor would read in the host's namespace. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core_internal.h"
#include "litebox/util.h"
#include "overlay_internal.h"

struct lb_protected {
	dev_t dev;
	ino_t ino;
	char *path;
	bool above; /* a directory above a protected file: its name is protected */
};

static int add(struct lb_core *core, dev_t dev, ino_t ino, const char *path, bool above)
{
	struct lb_protected *v =
	    realloc(core->protected, (core->n_protected + 1) * sizeof(*core->protected));
	if (!v)
		return -ENOMEM;
	core->protected = v;
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	v[core->n_protected++] =
	    (struct lb_protected){.dev = dev, .ino = ino, .path = p, .above = above};
	return 0;
}

/* Renaming or replacing a directory above a protected file swaps the file
 * as well as renaming the file would (mv conf conf.old; ln -s evil conf):
 * every directory above one is protected from changes of its name, known by
 * its path and by the inode it had at start. */
static int add_ancestors(struct lb_core *core, const char *path)
{
	char p[PATH_MAX];
	if (path[0] != '/' || strlen(path) >= sizeof(p))
		return 0; /* a built-in profile has no file */
	strcpy(p, path);
	for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
		slash[slash == p ? 1 : 0] = '\0';
		bool known = false;
		for (size_t i = 0; i < core->n_protected && !known; i++)
			known = core->protected[i].above && strcmp(core->protected[i].path, p) == 0;
		struct stat st;
		if (!known && stat(p, &st) == 0) {
			int rc = add(core, st.st_dev, st.st_ino, p, true);
			if (rc < 0)
				return rc;
		}
		if (slash == p)
			break;
	}
	return 0;
}

static int add_path(struct lb_core *core, const char *path)
{
	struct stat st;
	char real[PATH_MAX];
	/* Opened (created) already, before the program exists. A log that is
	 * a pipe or a terminal (--log /dev/stderr) has no name to protect. */
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if (!realpath(path, real))
		return -errno;
	return add(core, st.st_dev, st.st_ino, real, false);
}

/* Known by its object only: no name of it is looked up. */
static int add_fd(struct lb_core *core, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	return S_ISREG(st.st_mode) ? add(core, st.st_dev, st.st_ino, "", false) : 0;
}

int lb_protect_init(struct lb_core *core, const char *const *paths, const int *fd)
{
	const struct lb_policy_file *files;
	size_t n = lb_policy_files(core->cfg.policy, &files);
	for (size_t i = 0; i < n; i++) {
		int rc = add(core, files[i].dev, files[i].ino, files[i].path, false);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; paths && paths[i]; i++) {
		int rc = add_path(core, paths[i]);
		if (rc < 0)
			return rc;
	}
	if (fd && *fd >= 0) {
		int rc = add_fd(core, *fd);
		if (rc < 0)
			return rc;
	}
	size_t n_files = core->n_protected;
	for (size_t i = 0; i < n_files; i++) {
		char *path = core->protected[i].path; /* add() may move the array */
		int rc = add_ancestors(core, path);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void lb_protect_free(struct lb_core *core)
{
	for (size_t i = 0; i < core->n_protected; i++)
		free(core->protected[i].path);
	free(core->protected);
	core->protected = NULL;
	core->n_protected = 0;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The object judged: the one last resolved when it is this path (no second
 * lookup that a swap could redirect), else looked up by its path. */
static int object_stat(const struct lb_call *c, const char *path, struct stat *st)
{
	const struct lb_resolved *r = c->cur;
	if (r && r->has_st && strcmp(r->path, path) == 0) {
		*st = r->st; /* the walk's lstat of exactly this object */
		return 0;
	}
	if (r && strcmp(r->path, path) == 0)
		return fstatat(r->dirfd, r->name[0] ? r->name : ".", st,
			       AT_SYMLINK_NOFOLLOW | (r->name[0] ? 0 : AT_EMPTY_PATH));
	return fstatat(c->core->rootfd, path[1] ? path + 1 : ".", st, AT_SYMLINK_NOFOLLOW);
}

/* Calls that remove, replace or create a name (the operations that can
 * take a directory out of a protected file's path or put another in it). */
static bool changes_names(int nr)
{
	switch (nr) {
	case SYS_rename:
	case SYS_renameat:
	case SYS_renameat2:
	case SYS_unlink:
	case SYS_unlinkat:
	case SYS_rmdir:
	case SYS_symlink:
	case SYS_symlinkat:
	case SYS_link:
	case SYS_linkat:
	case SYS_mkdir:
	case SYS_mkdirat:
	case SYS_mknod:
	case SYS_mknodat:
		return true;
	default:
		return false;
	}
}

static bool reads_attributes(int nr)
{
	return nr == SYS_getxattr || nr == SYS_lgetxattr || nr == SYS_fgetxattr ||
	       nr == SYS_listxattr || nr == SYS_llistxattr || nr == SYS_flistxattr;
}

static bool is_protected(const struct lb_core *core, const struct stat *st, bool names)
{
	for (size_t i = 0; i < core->n_protected; i++)
		if ((names || !core->protected[i].above) && core->protected[i].dev == st->st_dev &&
		    core->protected[i].ino == st->st_ino)
			return true;
	return false;
}

/* dir carries the mark litebox gives the overlay directories it makes,
 * which no sandboxed program may set; on a filesystem without user
 * xattrs nothing can be marked, and the manifest is all there is. */
static bool marked(int rootfd, const char *dir)
{
	lb_autoclose int d = openat(rootfd, dir[1] ? dir + 1 : ".",
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char v[8];
	if (d < 0)
		return false;
	return fgetxattr(d, LB_OVL_MARK, v, sizeof(v)) >= 0 || errno == ENOTSUP;
}

/* dir (absolute, in the program's view) holds a manifest of litebox's,
 * and litebox's mark: a manifest a program wrote into /tmp must not make
 * every later run's writes there fail (attack review 5, O1b). */
static bool holds_manifest(int rootfd, const char *dir)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s/manifest", dir[1] ? dir + 1 : ".") >= (int)sizeof(p))
		return false;
	struct stat st;
	/* a regular file only: nothing else is opened to be read */
	if (fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)strlen(LB_OVL_MAGIC))
		return false;
	lb_autoclose int fd =
	    openat(rootfd, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char head[sizeof(LB_OVL_MAGIC)];
	return fd >= 0 && read(fd, head, strlen(LB_OVL_MAGIC)) == (ssize_t)strlen(LB_OVL_MAGIC) &&
	       memcmp(head, LB_OVL_MAGIC, strlen(LB_OVL_MAGIC)) == 0 && marked(rootfd, dir);
}

/* path is an overlay directory of litebox's or lies in one. DIR is where
 * programs write ($CWD, $TMPDIR), and litebox trusts what it holds (its
 * layers become overlayfs's uppers, `overlay apply` writes its layers to
 * the host): a later plain run planted a layer of $HOME that apply wrote
 * (attack review 5, O1). Recognised by its manifest, in whatever run made
 * it, so another run's DIR (made after this run started) is covered too.
 * One fstatat a directory above the object, for writes only. */
static bool in_overlay_dir(const struct lb_core *core, const char *path)
{
	char p[PATH_MAX];
	if (path[0] != '/' || snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return false;
	for (;;) {
		if (holds_manifest(core->rootfd, p))
			return true;
		char *slash = strrchr(p, '/');
		if (!slash || (slash == p && !p[1]))
			return false;
		slash[slash == p ? 1 : 0] = '\0';
	}
}

enum lb_protection lb_protection_of(const struct lb_call *c, enum lb_class cls, const char *path)
{
	const struct lb_core *core = c->core;
	if (core->own_ipcns && under(path, "/proc/sysvipc"))
		return LB_PROTECT_HIDE;
	if (cls == LB_CLASS_WRITE && in_overlay_dir(core, path))
		return LB_PROTECT_DENY;
	/* Metadata stays visible (ls -l of the log's directory reads its
	 * attributes too); content, changes and execution do not. */
	if (cls == LB_CLASS_STAT || core->n_protected == 0 || reads_attributes(c->t->nr))
		return LB_PROTECT_NONE;
	bool names = cls == LB_CLASS_WRITE && changes_names(c->t->nr);
	for (size_t i = 0; i < core->n_protected; i++)
		if ((names || !core->protected[i].above) &&
		    strcmp(core->protected[i].path, path) == 0)
			return LB_PROTECT_DENY;
	struct stat st;
	if (object_stat(c, path, &st) == 0 && is_protected(core, &st, names))
		return LB_PROTECT_DENY;
	/* Under --overlay the sandbox sees every object with the overlay's
	 * device: another name of a protected file (a hard link, a second
	 * mount of its filesystem) is recognised by the host's object behind
	 * the same path. */
	if (core->cfg.writes_contained &&
	    fstatat(core->rootfd, path[1] ? path + 1 : ".", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    is_protected(core, &st, names))
		return LB_PROTECT_DENY;
	return LB_PROTECT_NONE;
}
