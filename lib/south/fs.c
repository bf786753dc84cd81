/* SPDX-License-Identifier: MIT */
/* The south for files: each function is one host operation on an object
 * the core resolved and judged, done as the program (lb_creds_enter) in
 * its no-follow form. No decisions: see litebox/south.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "litebox/south.h"
#include "litebox/util.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#define LB_O_TMPFILE_BIT 020000000

static const char *at_name(struct lb_at at)
{
	return at.name[0] ? at.name : ".";
}

/* "/proc/self/fd/N" of litebox's pinned copy: path calls on it reach the object. */
static void self_fd_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* ---- open ------------------------------------------------------------------------ */

struct lb_answer lb_host_open(struct lb_call *c, struct lb_at at, int flags, mode_t mode,
			      bool cloexec)
{
	struct lb_creds_guard g;
	int fd = lb_creds_enter(c, &g);
	if (fd == 0) {
		fd = openat(at.dirfd, at_name(at), flags, mode);
		if (fd < 0)
			fd = -errno;
	}
	lb_creds_leave(&g);
	return lb_ans_fd(fd, cloexec);
}

struct lb_answer lb_host_reopen(struct lb_call *c, int fd, int flags, bool cloexec)
{
	char p[64];
	self_fd_path(fd, p, sizeof(p));
	struct lb_creds_guard g;
	int f = lb_creds_enter(c, &g);
	if (f == 0) {
		f = open(p, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | LB_O_TMPFILE_BIT)) |
				O_CLOEXEC | O_NOCTTY);
		f = f < 0 ? -errno : f;
	}
	lb_creds_leave(&g);
	return lb_ans_fd(f, cloexec);
}

/* ---- stat family --------------------------------------------------------------------- */

static int stat_errno(void)
{
	/* A closed fd shows as a missing /proc entry. */
	return errno == ENOENT ? EBADF : errno;
}

int lb_host_stat(struct lb_call *c, struct lb_at at, struct stat *st)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = fstatat(at.dirfd, at.name, st,
			     AT_SYMLINK_NOFOLLOW | (at.name[0] ? 0 : AT_EMPTY_PATH)) < 0
			 ? -errno
			 : 0;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_stat_own(const char *proc, struct stat *st)
{
	return stat(proc, st) < 0 ? -stat_errno() : 0;
}

int lb_host_statx(struct lb_call *c, struct lb_at at, unsigned sync, unsigned mask,
		  struct statx *stx)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = statx(at.dirfd, at.name,
			   (int)(AT_SYMLINK_NOFOLLOW | sync | (at.name[0] ? 0 : AT_EMPTY_PATH)),
			   mask, stx) < 0
			 ? -errno
			 : 0;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_statx_own(const char *proc, unsigned sync, unsigned mask, struct statx *stx)
{
	return statx(AT_FDCWD, proc, (int)sync, mask, stx) < 0 ? -stat_errno() : 0;
}

/* The object itself as O_PATH (no follow: already resolved). */
static int open_object(struct lb_at at)
{
	int fd = openat(at.dirfd, at_name(at), O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int lb_host_statfs(struct lb_call *c, struct lb_at at, struct statfs *sfs)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0) {
		lb_autoclose int fd = open_object(at);
		rc = fd < 0 ? fd : (fstatfs(fd, sfs) < 0 ? -errno : 0);
	}
	lb_creds_leave(&g);
	return rc;
}

int lb_host_statfs_own(const char *proc, struct statfs *sfs)
{
	return statfs(proc, sfs) < 0 ? -errno : 0;
}

int lb_host_access(struct lb_call *c, struct lb_at at, const char *proc, int mode, bool eaccess)
{
	struct lb_creds_guard g;
	int rc = eaccess ? lb_creds_enter(c, &g) : lb_creds_enter_real(c, &g);
	if (rc == 0) {
		if (at.dirfd < 0)
			rc = (int)syscall(SYS_faccessat2, AT_FDCWD, proc, mode, AT_EACCESS);
		else
			rc = (int)syscall(SYS_faccessat2, at.dirfd, at_name(at), mode,
					  AT_EACCESS | AT_SYMLINK_NOFOLLOW);
		rc = rc < 0 ? -errno : 0;
	}
	lb_creds_leave(&g);
	return rc;
}

ssize_t lb_host_readlink(struct lb_call *c, struct lb_at at, char *buf, size_t len)
{
	struct lb_creds_guard g;
	ssize_t n = lb_creds_enter(c, &g);
	if (n == 0 && (n = readlinkat(at.dirfd, at.name, buf, len)) < 0)
		n = -errno;
	lb_creds_leave(&g);
	return n;
}

/* ---- extended attributes ------------------------------------------------------------ */

ssize_t lb_host_getxattr(struct lb_call *c, const char *path, const char *name, void *val,
			 size_t size)
{
	struct lb_creds_guard g;
	ssize_t n = lb_creds_enter(c, &g);
	if (n == 0 && (n = lgetxattr(path, name, size ? val : NULL, size)) < 0)
		n = -errno;
	lb_creds_leave(&g);
	return n;
}

ssize_t lb_host_listxattr(struct lb_call *c, const char *path, char *list, size_t size)
{
	struct lb_creds_guard g;
	ssize_t n = lb_creds_enter(c, &g);
	if (n == 0 && (n = llistxattr(path, list, size)) < 0)
		n = -errno;
	lb_creds_leave(&g);
	return n;
}

int lb_host_setxattr(struct lb_call *c, const char *path, bool follow, const char *name,
		     const void *val, size_t size, int flags)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0) {
		rc = follow ? setxattr(path, name, val, size, flags)
			    : lsetxattr(path, name, val, size, flags);
		rc = rc < 0 ? -errno : 0;
	}
	lb_creds_leave(&g);
	return rc;
}

int lb_host_removexattr(struct lb_call *c, const char *path, bool follow, const char *name)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0) {
		rc = follow ? removexattr(path, name) : lremovexattr(path, name);
		rc = rc < 0 ? -errno : 0;
	}
	lb_creds_leave(&g);
	return rc;
}

/* ---- truncate ------------------------------------------------------------------------- */

static int fsize_check(off_t length, const struct rlimit *fsize, bool *over)
{
	if (!fsize)
		return -EFBIG; /* fail closed: the caller is gone anyway */
	if (fsize->rlim_cur == RLIM_INFINITY || (rlim_t)length <= fsize->rlim_cur)
		return 0;
	*over = true;
	return -EFBIG;
}

/* The type is read on an O_PATH pin that is then reopened: a swap in
 * between cannot bring another file in, and a device or FIFO is never
 * opened (a tape rewinds, a FIFO waits). */
static int truncate_regular(struct lb_at at, off_t length, const struct rlimit *fsize, bool *over)
{
	struct stat st;
	char self[64];
	lb_autoclose int pin = openat(at.dirfd, at_name(at), O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pin < 0 || fstat(pin, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	self_fd_path(pin, self, sizeof(self));
	lb_autoclose int fd = open(self, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	int rc = fsize_check(length, fsize, over);
	if (rc == 0 && ftruncate(fd, length) < 0)
		rc = -errno;
	return rc;
}

int lb_host_truncate(struct lb_call *c, struct lb_at at, off_t length, const struct rlimit *fsize,
		     bool *over)
{
	struct lb_creds_guard g;
	*over = false;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = truncate_regular(at, length, fsize, over);
	lb_creds_leave(&g);
	return rc;
}

/* ---- directory entries ----------------------------------------------------------------- */

int lb_host_unlink(struct lb_call *c, struct lb_at at, int flags)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = unlinkat(at.dirfd, at.name, flags) < 0 ? -errno : 0;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_mkdir(struct lb_call *c, struct lb_at at, mode_t mode)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = mkdirat(at.dirfd, at.name, mode) < 0 ? -errno : 0;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_mknod(struct lb_call *c, struct lb_at at, mode_t mode, dev_t dev)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = mknodat(at.dirfd, at.name, mode, dev) < 0 ? -errno : 0;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_rename(struct lb_call *c, struct lb_at from, struct lb_at to, unsigned flags)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0) {
		rc = (int)syscall(SYS_renameat2, from.dirfd, from.name, to.dirfd, to.name, flags);
		rc = rc < 0 ? -errno : 0;
	}
	lb_creds_leave(&g);
	return rc;
}

int lb_host_link(struct lb_call *c, struct lb_at from, struct lb_at to)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = linkat(from.dirfd, at_name(from), to.dirfd, to.name, 0) < 0 ? -errno : 0;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_link_fd(struct lb_call *c, int fd, struct lb_at to)
{
	char p[64];
	self_fd_path(fd, p, sizeof(p));
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = linkat(AT_FDCWD, p, to.dirfd, to.name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_symlink(struct lb_call *c, const char *target, struct lb_at at)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = symlinkat(target, at.dirfd, at.name) < 0 ? -errno : 0;
	lb_creds_leave(&g);
	return rc;
}

/* ---- metadata ---------------------------------------------------------------------------- */

/* A setuid program left behind would run with its owner's authority
 * after the run, for anyone; setgid on a directory only makes new
 * entries inherit its group. */
mode_t lb_host_nosuid(mode_t mode, bool dir)
{
	return mode & ~(mode_t)(S_ISUID | (dir ? 0 : S_ISGID));
}

/* fchmodat2 (6.6+): AT_SYMLINK_NOFOLLOW acts on what was resolved (on a
 * symlink it fails with EOPNOTSUPP, as lchmod does); AT_EMPTY_PATH on the
 * pinned fd. */
int lb_host_chmod(struct lb_call *c, struct lb_at at, int objfd, mode_t mode)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0) {
		struct stat st;
		bool dir =
		    (objfd >= 0 ? fstat(objfd, &st)
				: fstatat(at.dirfd, at_name(at), &st, AT_SYMLINK_NOFOLLOW)) == 0 &&
		    S_ISDIR(st.st_mode);
		mode = lb_host_nosuid(mode, dir);
		if (objfd >= 0)
			rc = (int)syscall(SYS_fchmodat2, objfd, "", mode, AT_EMPTY_PATH);
		else
			rc = (int)syscall(SYS_fchmodat2, at.dirfd, at_name(at), mode,
					  AT_SYMLINK_NOFOLLOW);
		rc = rc < 0 ? -errno : 0;
	}
	lb_creds_leave(&g);
	return rc;
}

int lb_host_ioctl(struct lb_call *c, int objfd, uint32_t req, void *arg)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0)
		rc = ioctl(objfd, (unsigned long)req, arg) < 0 ? -errno : 0;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_chown(struct lb_call *c, struct lb_at at, int objfd, uid_t uid, gid_t gid)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0) {
		if (objfd >= 0)
			rc = fchownat(objfd, "", uid, gid, AT_EMPTY_PATH);
		else
			rc = fchownat(at.dirfd, at_name(at), uid, gid, AT_SYMLINK_NOFOLLOW);
		rc = rc < 0 ? -errno : 0;
	}
	lb_creds_leave(&g);
	return rc;
}

int lb_host_utimes(struct lb_call *c, struct lb_at at, int objfd, const struct timespec ts[2])
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0) {
		if (objfd >= 0) {
			char p[64];
			self_fd_path(objfd, p, sizeof(p));
			rc = utimensat(AT_FDCWD, p, ts, 0);
		} else {
			rc = utimensat(at.dirfd, at_name(at), ts, AT_SYMLINK_NOFOLLOW);
		}
		rc = rc < 0 ? -errno : 0;
	}
	lb_creds_leave(&g);
	return rc;
}

/* ---- watches, listings, exec ------------------------------------------------------------- */

int lb_host_inotify_watch(struct lb_call *c, int inotify_fd, struct lb_at at, uint32_t mask)
{
	char target[PATH_MAX + 64];
	snprintf(target, sizeof(target), "/proc/self/fd/%d/%s", at.dirfd, at_name(at));
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0 && (rc = inotify_add_watch(inotify_fd, target, mask | IN_DONT_FOLLOW)) < 0)
		rc = -errno;
	lb_creds_leave(&g);
	return rc;
}

ssize_t lb_host_getdents(int fd, void *buf, size_t size)
{
	long n = syscall(SYS_getdents64, fd, buf, size);
	return n < 0 ? -errno : n;
}

/* Pinned first, so that the file typed is the file read; the exec
 * permission is asked as the program; the read is litebox's (the kernel
 * reads a script it executes whatever its read bits, and shows the
 * interpreter in the new argv, so this reveals nothing). */
ssize_t lb_host_exec_head(struct lb_call *c, struct lb_at at, char *buf, size_t len)
{
	struct stat st;
	char self[64];
	struct lb_creds_guard g;
	/* The pin's lookup too is the program's: a script in a directory it
	 * may not search is never read (the kernel refuses the exec). */
	bool as_program = lb_creds_enter(c, &g) == 0;
	lb_autoclose int pin =
	    as_program ? openat(at.dirfd, at_name(at), O_PATH | O_NOFOLLOW | O_CLOEXEC) : -1;
	bool may_exec = pin >= 0 && fstat(pin, &st) == 0 && S_ISREG(st.st_mode);
	if (may_exec) {
		self_fd_path(pin, self, sizeof(self));
		may_exec = faccessat(AT_FDCWD, self, X_OK, AT_EACCESS) == 0;
	}
	lb_creds_leave(&g);
	if (!may_exec)
		return 0;
	int fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, len);
	close(fd);
	return n;
}

/* litebox's own copy is close-on-exec; cloexec is the caller's flag. */
struct lb_answer lb_host_memfd(struct lb_call *c, const char *name, unsigned flags, bool cloexec)
{
	struct lb_creds_guard g;
	int fd = lb_creds_enter(c, &g);
	if (fd == 0) {
		fd = (int)syscall(SYS_memfd_create, name, flags | MFD_CLOEXEC);
		fd = fd < 0 ? -errno : fd;
	}
	lb_creds_leave(&g);
	return lb_ans_fd(fd, cloexec);
}
