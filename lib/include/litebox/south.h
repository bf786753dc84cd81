/* SPDX-License-Identifier: MIT */
/* The south: carry out an operation the core has already resolved and
 * judged, on the host, as the program (its ids, groups and capabilities:
 * lb_creds_enter), and say how it went. Nothing here decides: no policy
 * header is reachable from lib/south/ (it is built without the policy's
 * include directory), and every function does exactly the host call its
 * name says, in its no-follow form, on the object it is given.
 *
 * Objects are named the way the resolver pinned them: a directory fd and
 * the last component (never followed), or an fd litebox holds for the
 * caller's own object. Results go back as an lb_answer (value, errno, an
 * fd to install); data the caller is to receive (a stat buffer, a link's
 * text) is filled in for the core, which writes it to the caller. */
#ifndef LITEBOX_SOUTH_H
#define LITEBOX_SOUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <time.h>

#include "litebox/answer.h"
#include "litebox/creds.h"

/* A resolved name: the pinned directory and its last component ("" is
 * the directory itself). */
struct lb_at {
	int dirfd;
	const char *name;
};

/* ---- files (lib/south/fs.c) -------------------------------------------------- */

/* open: flags as given (O_NOFOLLOW and O_CLOEXEC already added by the
 * caller of the south), mode with the umask applied. An fd answer. */
struct lb_answer lb_host_open(struct lb_call *c, struct lb_at at, int flags, mode_t mode,
			      bool cloexec);
/* Re-open the object litebox holds as fd (a pipe, a deleted file the
 * caller reached through /proc/PID/fd/N) with the caller's new flags. */
struct lb_answer lb_host_reopen(struct lb_call *c, int fd, int flags, bool cloexec);

/* stat family on a resolved name, as the program. */
int lb_host_stat(struct lb_call *c, struct lb_at at, struct stat *st);
int lb_host_statx(struct lb_call *c, struct lb_at at, unsigned sync, unsigned mask,
		  struct statx *stx);
int lb_host_statfs(struct lb_call *c, struct lb_at at, struct statfs *sfs);
/* The same on one of the caller's own objects ("/proc/TID/fd/N", its cwd,
 * or litebox's pin of it): the caller holds it, and fstat checks nothing,
 * so litebox's authority reaches what the program's would. */
int lb_host_stat_own(const char *proc, struct stat *st);
int lb_host_statx_own(const char *proc, unsigned sync, unsigned mask, struct statx *stx);
int lb_host_statfs_own(const char *proc, struct statfs *sfs);
/* faccessat2 with the program's real ids (effective ones when eaccess);
 * at.dirfd < 0: proc names the caller's own object. */
int lb_host_access(struct lb_call *c, struct lb_at at, const char *proc, int mode, bool eaccess);
/* readlinkat of at into buf (at most len bytes): the length, or -errno. */
ssize_t lb_host_readlink(struct lb_call *c, struct lb_at at, char *buf, size_t len);

/* Extended attributes at path ("/proc/self/fd/DIRFD/NAME" of a resolved
 * name, or "/proc/self/fd/N" of a pinned fd: follow is then true). */
ssize_t lb_host_getxattr(struct lb_call *c, const char *path, const char *name, void *val,
			 size_t size);
ssize_t lb_host_listxattr(struct lb_call *c, const char *path, char *list, size_t size);
int lb_host_setxattr(struct lb_call *c, const char *path, bool follow, const char *name,
		     const void *val, size_t size, int flags);
int lb_host_removexattr(struct lb_call *c, const char *path, bool follow, const char *name);

/* truncate(2): the type first (EISDIR, EINVAL for what is not a regular
 * file, which is never opened), then the caller's file size limit
 * (fsize: NULL when unknown, which refuses any growth; *over is set when
 * it is exceeded, for the core to signal SIGXFSZ), then the change. */
int lb_host_truncate(struct lb_call *c, struct lb_at at, off_t length, const struct rlimit *fsize,
		     bool *over);

/* Directory entries. */
int lb_host_unlink(struct lb_call *c, struct lb_at at, int flags);
int lb_host_mkdir(struct lb_call *c, struct lb_at at, mode_t mode);
int lb_host_mknod(struct lb_call *c, struct lb_at at, mode_t mode, dev_t dev);
int lb_host_rename(struct lb_call *c, struct lb_at from, struct lb_at to, unsigned flags);
int lb_host_link(struct lb_call *c, struct lb_at from, struct lb_at to);
/* Link the object litebox holds as fd (the O_TMPFILE idiom). */
int lb_host_link_fd(struct lb_call *c, int fd, struct lb_at to);
int lb_host_symlink(struct lb_call *c, const char *target, struct lb_at at);

/* Metadata, on a resolved name or (objfd >= 0) on the caller's own file
 * litebox took. Files litebox makes or changes never get setuid or setgid
 * bits (a directory keeps setgid), as on a nosuid mount. */
mode_t lb_host_nosuid(mode_t mode, bool dir);
int lb_host_chmod(struct lb_call *c, struct lb_at at, int objfd, mode_t mode);
int lb_host_chown(struct lb_call *c, struct lb_at at, int objfd, uid_t uid, gid_t gid);
/* ts NULL: now. */
int lb_host_utimes(struct lb_call *c, struct lb_at at, int objfd, const struct timespec ts[2]);

/* An ioctl on the caller's file litebox took (objfd), with the argument
 * litebox copied (arg): the metadata requests of lb_ioctl_rows. */
int lb_host_ioctl(struct lb_call *c, int objfd, uint32_t req, void *arg);

/* An inotify watch of at, added to the caller's inotify fd. */
int lb_host_inotify_watch(struct lb_call *c, int inotify_fd, struct lb_at at, uint32_t mask);
/* getdents64 on the caller's own open directory (its position moves). */
ssize_t lb_host_getdents(int fd, void *buf, size_t size);
/* The first bytes of a regular file the program may execute (the kernel
 * reads a script it runs whatever its read bits); 0 for anything else. */
ssize_t lb_host_exec_head(struct lb_call *c, struct lb_at at, char *buf, size_t len);

/* memfd_create with these MFD_* flags; an fd answer. */
struct lb_answer lb_host_memfd(struct lb_call *c, const char *name, unsigned flags, bool cloexec);

/* ---- sockets (lib/south/net.c) -------------------------------------------------- */

/* On litebox's copy of the caller's socket, with the address the core
 * judged (never the caller's memory). 0 or -errno; a count for sendmsg. */
int lb_host_bind(struct lb_call *c, int sock, const struct sockaddr *sa, socklen_t len);
int lb_host_connect(struct lb_call *c, int sock, const struct sockaddr *sa, socklen_t len);
int lb_host_listen(struct lb_call *c, int sock, int backlog);
ssize_t lb_host_sendmsg(struct lb_call *c, int sock, const struct msghdr *m, int flags);
/* A bind under the program's own name, which the kernel resolves
 * itself: on a thread that can create socket files only beneath dirfd
 * (the directory the core resolved and judged), with the caller's cwd
 * (cwdfd, or -1 for an absolute name) and umask. */
int lb_host_bind_beneath(struct lb_call *c, int sock, const struct sockaddr *sa, socklen_t len,
			 int dirfd, int cwdfd, mode_t umask);
/* The file a unix socket is bound to, asked of the socket (sock_diag). */
int lb_host_bound_file(int sock, dev_t *dev, ino_t *ino);

#endif
