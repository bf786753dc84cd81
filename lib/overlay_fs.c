/* SPDX-License-Identifier: MIT */
/* DIR's own files and directories, opened so that nothing planted in DIR
 * is followed or trusted. litebox works in DIR with the user's full
 * authority (root's, often), and DIR may sit where programs write ($CWD,
 * $TMPDIR): a symlink at DIR/base would have the record appended to
 * ~/.bashrc, one at DIR/layers/N/upper would become overlayfs's upper (the
 * program's writes on the host), one swapped into a tree being removed
 * would have host files deleted. So every name in DIR is opened relative
 * to a descriptor of its directory, with O_NOFOLLOW, and checked on the
 * descriptor: a real directory or regular file, the user's, writable by
 * nobody else; what is used afterwards is the descriptor, never the name
 * again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "litebox/overlay.h"
#include "litebox/util.h"
#include "overlay_internal.h"

/* One of DIR's own directories: what a run trusts must be the user's,
 * and no other user's to change. */
static int check_dir(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

/* at/name opened as a directory of litebox's (check_dir), or -errno. */
static int open_checked_dir(int at, const char *name)
{
	lb_autoclose int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = check_dir(fd);
	return rc < 0 ? rc : steal_fd(&fd);
}

int lb_ovl_dir_open(const char *dir)
{
	return open_checked_dir(AT_FDCWD, dir);
}

int lb_ovl_subdir(int at, const char *name, enum lb_ovl_make make)
{
	if (make != LB_OVL_EXISTING && mkdirat(at, name, 0700) < 0 &&
	    (errno != EEXIST || make == LB_OVL_FRESH))
		return -errno;
	return open_checked_dir(at, name);
}

int lb_ovl_file(int at, const char *name, int flags)
{
	/* O_NONBLOCK: a FIFO put there never blocks the open */
	int fd = openat(at, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	/* a second name (a hard link to ~/.bashrc) is not DIR's own file */
	else if (st.st_uid != geteuid() || st.st_nlink != 1 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		rc = -EPERM;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

FILE *lb_ovl_fopen(const char *dir, const char *name, int flags, int *err)
{
	lb_autoclose int dfd = lb_ovl_dir_open(dir);
	int fd = dfd < 0 ? dfd : lb_ovl_file(dfd, name, flags);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	int acc = flags & O_ACCMODE;
	FILE *f = fdopen(fd, acc == O_RDONLY ? "r" : (flags & O_APPEND) ? "a" : "w");
	if (!f) {
		*err = -errno;
		close(fd);
	}
	return f;
}

/* ---- removal ------------------------------------------------------------------ */

static int remove_at(int at, const char *name, dev_t dev);

static int remove_entries(int fd, dev_t dev)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!d) {
		int rc = -errno;
		if (dup_fd >= 0)
			close(dup_fd);
		return rc;
	}
	int rc = 0;
	struct dirent *e;
	/* names listed first: removing while reading may skip entries */
	char **names = NULL;
	size_t n = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char **v = realloc(names, (n + 1) * sizeof(*v));
		if (v)
			names = v;
		if (!v || !(v[n] = strdup(e->d_name)))
			rc = -ENOMEM;
		else
			n++;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = remove_at(fd, names[i], dev);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* name in the directory at: a directory is entered by descriptor
 * (O_NOFOLLOW), so a symlink swapped in for it is removed as the symlink,
 * and a mount (another device) is never entered. */
static int remove_at(int at, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EXDEV;
	/* O_PATH needs no permission: a directory made 0000 is opened,
	 * opened up (by its descriptor) and read */
	lb_autoclose int p = openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (p < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(p, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_dev != dev)
		return -EXDEV;
	lb_autoclose int fd = openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && st.st_uid == geteuid()) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", p);
		if (chmod(self, 0700) == 0)
			fd = openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if ((st.st_mode & S_IRWXU) != S_IRWXU && st.st_uid == geteuid())
		(void)fchmod(fd, 0700);
	int rc = remove_entries(fd, dev);
	if (rc == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

int lb_ovl_remove_at(int at, const char *name)
{
	struct stat st;
	if (fstat(at, &st) < 0)
		return -errno;
	return remove_at(at, name, st.st_dev);
}

int lb_overlay_remove_tree(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	char parent[PATH_MAX];
	int len = !slash ? snprintf(parent, sizeof(parent), ".")
		  : slash == path
		      ? snprintf(parent, sizeof(parent), "/")
		      : snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	if (len < 0 || len >= (int)sizeof(parent))
		return -ENAMETOOLONG;
	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	lb_autoclose int at = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (at < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return remove_at(at, name, st.st_dev);
}

/* ---- litebox's mark ------------------------------------------------------------ */

int lb_ovl_mark(int dfd)
{
	if (fsetxattr(dfd, LB_OVL_MARK, "1", 1, 0) == 0)
		return 0;
	return errno == ENOTSUP ? 0 : -errno;
}

int lb_ovl_check_mark(int dfd)
{
	char v[8];
	if (fgetxattr(dfd, LB_OVL_MARK, v, sizeof(v)) >= 0)
		return 0;
	return errno == ENOTSUP ? 0 : errno == ENODATA ? -EPERM : -errno;
}
