/* SPDX-License-Identifier: MIT */
/* The filesystem handlers: each path-taking call is decoded with its
 * table row, resolved by lb_resolve, judged (core.c, judge.c), and then
 * carried out by the south (lib/south/fs.c) on the directory fd the
 * resolution pinned, with the no-follow form of the operation (the final
 * symlink, if any, was already resolved and judged). Each handler returns
 * its answer: a value, an errno or an fd (ADDFD). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/fscrypt.h>
#include <linux/fsverity.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "core_internal.h"
#include "dns.h"
#include "litebox/op.h"
#include "litebox/south.h"
#include "litebox/syscalls.h"
#include "litebox/util.h"
#include "overlay_internal.h"

/* The bit that makes O_TMPFILE (glibc's __O_TMPFILE includes O_DIRECTORY,
 * which would make every directory open look like one). */
#define LB_O_TMPFILE_BIT 020000000
/* The k-th argument after the path (k >= 1), whatever the call's form. */
#define PATH_ARG(c, k) ((c)->op.after[(k)-1])

static void resolved_releasep(struct lb_resolved *r)
{
	lb_resolved_release(r);
}
#define lb_autoresolved __attribute__((cleanup(resolved_releasep)))

static const char *obj_name(const struct lb_resolved *r)
{
	return r->name[0] ? r->name : ".";
}

/* What the south acts on: the resolved object's pinned directory and name. */
static struct lb_at at_of(const struct lb_resolved *r)
{
	return (struct lb_at){.dirfd = r->dirfd, .name = r->name};
}

/* Read the row's path and resolve it. */
static int resolve_row_path(struct lb_call *c, unsigned res_flags, struct lb_resolved *out,
			    char *path)
{
	int rc = lb_op_read_path(&c->op, c->op.path, path);
	if (rc < 0)
		return rc;
	return lb_resolve_str(c, c->op.dirfd, path, res_flags, out);
}

static unsigned follow_flags(struct lb_call *c)
{
	return c->op.follow ? LB_RES_FOLLOW : 0;
}

/* The object behind the caller's fd, for AT_EMPTY_PATH forms: an O_PATH
 * descriptor of the same inode (enough for stat, chown, utimes, exec
 * checks). The caller already holds the fd, so nothing is judged. */
static int caller_fd(struct lb_call *c, int fd)
{
	return lb_proc_fd_open(c, fd, O_PATH);
}

/* The fd behind a /proc/PID/fd/N link that has no path (pipe, socket).
 * Only the caller's own descriptors are reachable this way. */
static int magic_fd(struct lb_call *c, const struct lb_resolved *r, enum lb_class cls)
{
	if (r->magic_pid != lb_caller_tgid(c) && r->magic_pid != c->t->pid)
		return lb_refuse_fd_object(c, cls, r->magic_pid, r->magic_fd);
	return lb_proc_fd_open(c, r->magic_fd, O_PATH);
}

/* ---- Linux's order: existence before permission -------------------------------- */

enum exist_rule {
	EXIST_ANY,
	EXIST_MUST_NOT, /* mkdir, mknod, symlink, link's new name, O_CREAT|O_EXCL */
	EXIST_MUST,	/* unlink, rmdir, rename's old name, truncate */
};

/* The kernel looks the name up before it checks permission: EEXIST for a
 * name that exists where one is to be made, ENOENT for one that does not
 * where one is to go. Given before judging (no denial line for `mkdir -p`
 * over existing parents), but only where the caller may stat the path,
 * so they tell nothing a stat would not. */
static int existence_first(struct lb_call *c, const struct lb_resolved *r, enum exist_rule rule)
{
	if (rule == EXIST_ANY || r->magic_fd >= 0)
		return 0;
	struct stat st;
	bool exists = fstatat(r->dirfd, obj_name(r), &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists && errno != ENOENT)
		return 0;
	if (exists == (rule == EXIST_MUST) || !lb_may_see(c, r->path))
		return 0;
	return exists ? -EEXIST : -ENOENT;
}

/* ---- open ------------------------------------------------------------------ */

struct open_req {
	int flags;
	mode_t mode;
};

/* open with O_CREAT: a trailing slash is EISDIR whatever exists; so is an
 * existing directory; O_EXCL on an existing name is EEXIST. */
static int open_existence_first(struct lb_call *c, const struct open_req *o,
				const struct lb_resolved *r)
{
	if (!(o->flags & O_CREAT) || r->magic_fd >= 0)
		return 0;
	if (r->trailing_slash)
		return -EISDIR;
	struct stat st;
	if (fstatat(r->dirfd, obj_name(r), &st, AT_SYMLINK_NOFOLLOW) < 0 || !lb_may_see(c, r->path))
		return 0;
	if (o->flags & O_EXCL)
		return -EEXIST;
	return S_ISDIR(st.st_mode) ? -EISDIR : 0;
}

/* open's flags and mode, as the north decoded them (creat and openat2
 * included). */
static void decode_open(struct lb_call *c, struct open_req *o)
{
	o->flags = (int)c->op.flags;
	o->mode = c->op.mode;
}

static int judge_open(struct lb_call *c, const struct open_req *o, const char *path)
{
	int rc;
	if (o->flags & O_PATH)
		return lb_judge_path(c, LB_CLASS_STAT, path);
	int acc = o->flags & O_ACCMODE;
	/* Access mode 3 is accepted by the kernel (checked for read and
	 * write, gives an fd for ioctl, fchmod, fsetxattr): judge it as both. */
	if (acc == O_ACCMODE)
		acc = O_RDWR;
	bool writes =
	    acc == O_WRONLY || acc == O_RDWR || (o->flags & (O_CREAT | O_TRUNC | LB_O_TMPFILE_BIT));
	/* Write first: creating in a place not granted is EACCES, whether
	 * or not the name exists yet. O_TRUNC with O_RDONLY still
	 * truncates: it needs write. */
	if (writes && (rc = lb_judge_path(c, LB_CLASS_WRITE, path)) < 0)
		return rc;
	if (acc == O_RDONLY || acc == O_RDWR) {
		if ((o->flags & O_DIRECTORY) && !writes)
			return lb_judge_dir_listing(c, path);
		return lb_judge_path(c, LB_CLASS_READ, path);
	}
	return 0;
}

/* Re-open what /proc/PID/fd/N of the caller refers to (a pipe, a socket,
 * a deleted file): the caller holds it already, so only the new access
 * mode is its own choice, as with the kernel's own re-open. */
static struct lb_answer reopen_magic(struct lb_call *c, const struct lb_resolved *r, int flags)
{
	lb_autoclose int fd =
	    magic_fd(c, r, (flags & O_ACCMODE) == O_RDONLY ? LB_CLASS_READ : LB_CLASS_WRITE);
	if (fd < 0)
		return lb_ans_errno(-fd);
	return lb_host_reopen(c, fd, flags, flags & O_CLOEXEC);
}

/* A new pty master: its slave /dev/pts/N is the program's from now on. */
static void track_pty(struct lb_call *c, const struct lb_resolved *r, int fd)
{
	unsigned n;
	if (r->magic_fd < 0 &&
	    (strcmp(r->path, "/dev/ptmx") == 0 || strcmp(r->path, "/dev/pts/ptmx") == 0) &&
	    ioctl(fd, TIOCGPTN, &n) == 0)
		lb_track_pty(c->core, (int)n);
}

/* A plain read-only open of a directory is a listing, as O_DIRECTORY is
 * (pip and Python's os.scandir open directories without it): judge it as
 * one, and add O_DIRECTORY to the open itself so that a file swapped in
 * after the check gives ENOTDIR, never content judged as a listing. Only
 * asked where read is not granted outright, to keep the common open to
 * one lookup. */
static bool opens_directory_to_list(struct lb_call *c, const struct open_req *o,
				    const struct lb_resolved *r)
{
	struct stat st;
	if ((o->flags &
	     (O_ACCMODE | O_CREAT | O_TRUNC | LB_O_TMPFILE_BIT | O_PATH | O_DIRECTORY)) != O_RDONLY)
		return false;
	if (lb_judge_read_granted(c, r->path))
		return false;
	return fstatat(r->dirfd, r->name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) == 0 &&
	       S_ISDIR(st.st_mode);
}

static struct lb_answer h_open(struct lb_call *c)
{
	struct open_req o;
	char path[PATH_MAX];
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};

	decode_open(c, &o);
	bool excl_create = (o.flags & O_CREAT) && (o.flags & O_EXCL);
	unsigned rf = (o.flags & O_NOFOLLOW) || excl_create ? 0 : LB_RES_FOLLOW;
	int rc = resolve_row_path(c, rf, &r, path);
	if (rc < 0)
		return lb_ans_errno(-rc);

	if ((rc = open_existence_first(c, &o, &r)) < 0)
		return lb_ans_errno(-rc);
	c->creating = o.flags & O_CREAT;
	if (r.magic_fd < 0 && opens_directory_to_list(c, &o, &r))
		o.flags |= O_DIRECTORY;
	struct lb_answer a;
	if (r.magic_fd >= 0) {
		a = reopen_magic(c, &r, o.flags);
	} else {
		rc = judge_open(c, &o, r.path);
		if (rc < 0)
			return lb_ans_errno(-rc);
		/* seccomp's ADDFD refuses O_PATH files (EBADF): there an O_PATH
		 * open is continued once judged, and a race can yield an
		 * O_PATH fd of another file: fstat of it, nothing more, since
		 * every use as a dirfd, through /proc/self/fd or for exec is
		 * judged again by what it refers to (docs/security.md, known
		 * gaps). Where the platform can install one, the supervisor
		 * opens what it judged. */
		/* Only open/openat: their flags are registers, which CONTINUE
		 * does not re-read. openat2's flags live in memory the program
		 * could change after the judgement (O_PATH -> O_RDWR|O_TRUNC):
		 * answered ENOSYS, as for RESOLVE_*, and callers fall back. */
		if ((o.flags & O_PATH) && !c->ops->installs_path_fds &&
		    (c->row->flags & LB_SF_OPENAT2))
			return lb_ans_errno(ENOSYS);
		if ((o.flags & O_PATH) && !c->ops->installs_path_fds)
			return lb_ans_continue("O_PATH open: ADDFD refuses O_PATH files; such an "
					       "fd is judged again at "
					       "every use");
		int flags = o.flags | O_CLOEXEC | O_NOCTTY;
		/* The final symlink was resolved and judged: never let the
		 * kernel follow one that was swapped in since. */
		if (rf)
			flags |= O_NOFOLLOW;
		if (r.trailing_slash && !(flags & O_CREAT))
			flags |= O_DIRECTORY;
		mode_t mode = o.mode;
		if (o.flags & (O_CREAT | LB_O_TMPFILE_BIT))
			mode = lb_host_nosuid(mode & ~lb_caller_umask(c), false);
		a = lb_host_open(c, at_of(&r), flags, mode, o.flags & O_CLOEXEC);
		if (a.kind == LB_ANS_FD)
			a = lb_ans_fd(
			    lb_dns_view_swap(c, a.fd, o.flags, r.path, r.has_st ? &r.st : NULL),
			    a.cloexec);
	}
	if (a.kind == LB_ANS_FD)
		track_pty(c, &r, a.fd);
	return a;
}

/* ---- stat family --------------------------------------------------------------- */

/* What a metadata lookup applies to: a resolved, judged path (r), or one
 * of the caller's own objects named by "/proc/TID/fd/N" or its cwd (proc),
 * which the kernel follows to exactly that object in one call. The caller
 * already holds those, so nothing is judged for them. */
struct meta {
	struct lb_resolved r;
	char proc[64];
	int pin; /* litebox's own O_PATH copy, once repinned; else -1 */
};

static void metap_release(struct meta *m)
{
	lb_resolved_release(&m->r);
	if (m->pin >= 0)
		close(m->pin);
}

/* A caller that made itself non-dumpable refuses /proc/TID/fd/N to the
 * program's capabilities: take the object with litebox's authority (it is
 * the caller's own, nothing is judged) and name it by our copy. True when
 * the lookup is worth repeating. */
static bool meta_repin(struct meta *m, int rc)
{
	/* a non-dumpable caller's fd entries look absent or closed to others */
	if ((rc != -EACCES && rc != -ENOENT && rc != -EBADF) || !m->proc[0] || m->pin >= 0)
		return false;
	m->pin = lb_target_open(m->proc, O_PATH | O_CLOEXEC);
	if (m->pin < 0)
		return false;
	snprintf(m->proc, sizeof(m->proc), "/proc/self/fd/%d", m->pin);
	return true;
}
#define lb_autometa __attribute__((cleanup(metap_release)))

static int proc_of_fd(struct lb_call *c, pid_t pid, int fd, char *buf, size_t len)
{
	if (fd == AT_FDCWD)
		snprintf(buf, len, "/proc/%d/cwd", (int)pid);
	else if (fd >= 0)
		snprintf(buf, len, "/proc/%d/fd/%d", (int)pid, fd);
	else
		return -EBADF;
	(void)c;
	return 0;
}

/* The path argument is read once; an empty path with AT_EMPTY_PATH (or a
 * NULL one, 6.11+) names the dirfd itself. */
static int meta_target(struct lb_call *c, unsigned at_flags, enum lb_class cls, struct meta *m)
{
	char path[PATH_MAX];
	uint64_t addr = c->op.path;
	int rc = 0;

	m->r.dirfd = -1;
	m->proc[0] = '\0';
	m->pin = -1;
	if (addr == 0 && (at_flags & AT_EMPTY_PATH))
		path[0] = '\0';
	else if ((rc = lb_op_read_path(&c->op, addr, path)) < 0)
		return rc;
	if (!path[0]) {
		if (!(at_flags & AT_EMPTY_PATH))
			return -ENOENT;
		return proc_of_fd(c, c->t->pid, c->op.dirfd, m->proc, sizeof(m->proc));
	}
	bool nofollow = (c->row->flags & LB_SF_NOFOLLOW) || (at_flags & AT_SYMLINK_NOFOLLOW);
	rc = lb_resolve_str(c, c->op.dirfd, path, nofollow ? 0 : LB_RES_FOLLOW, &m->r);
	if (rc < 0)
		return rc;
	if (m->r.magic_fd >= 0) {
		/* a /proc/PID/fd/N link without a path: the caller's own only */
		if (m->r.magic_pid != lb_caller_tgid(c) && m->r.magic_pid != c->t->pid)
			return lb_refuse_fd_object(c, cls, m->r.magic_pid, m->r.magic_fd);
		return proc_of_fd(c, m->r.magic_pid, m->r.magic_fd, m->proc, sizeof(m->proc));
	}
	return lb_judge_path(c, cls, m->r.path);
}

static struct lb_answer h_stat(struct lb_call *c)
{
	lb_autometa struct meta m;
	struct stat st;

	int rc = meta_target(c, c->op.at_flags, LB_CLASS_STAT, &m);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (m.proc[0]) {
		rc = lb_host_stat_own(m.proc, &st);
		if (meta_repin(&m, rc))
			rc = lb_host_stat_own(m.proc, &st);
	} else if (m.r.has_st) {
		st = m.r.st; /* the walk's own lstat of the object it judged */
	} else {
		rc = lb_host_stat(c, at_of(&m.r), &st);
	}
	if (rc == 0)
		rc = c->ops->write_mem(c->t, PATH_ARG(c, 1), &st, sizeof(st));
	return lb_ans_rc(rc);
}

static struct lb_answer h_statx(struct lb_call *c)
{
	lb_autometa struct meta m;
	struct statx stx;
	unsigned flags = (unsigned)PATH_ARG(c, 1);
	unsigned mask = (unsigned)PATH_ARG(c, 2);
	unsigned sync = flags & AT_STATX_SYNC_TYPE;

	int rc = meta_target(c, flags, LB_CLASS_STAT, &m);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (m.proc[0]) {
		rc = lb_host_statx_own(m.proc, sync, mask, &stx);
		if (meta_repin(&m, rc))
			rc = lb_host_statx_own(m.proc, sync, mask, &stx);
	} else {
		rc = lb_host_statx(c, at_of(&m.r), sync, mask, &stx);
	}
	if (rc == 0)
		rc = c->ops->write_mem(c->t, PATH_ARG(c, 3), &stx, sizeof(stx));
	return lb_ans_rc(rc);
}

static struct lb_answer h_statfs(struct lb_call *c)
{
	lb_autometa struct meta m;
	struct statfs sfs;

	int rc = meta_target(c, 0, LB_CLASS_STAT, &m);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (m.proc[0]) {
		rc = lb_host_statfs_own(m.proc, &sfs);
		if (meta_repin(&m, rc))
			rc = lb_host_statfs_own(m.proc, &sfs);
	} else {
		rc = lb_host_statfs(c, at_of(&m.r), &sfs);
	}
	if (rc == 0)
		rc = c->ops->write_mem(c->t, PATH_ARG(c, 1), &sfs, sizeof(sfs));
	return lb_ans_rc(rc);
}

static struct lb_answer h_access(struct lb_call *c)
{
	lb_autometa struct meta m;
	int mode = (int)c->op.mode;
	unsigned flags = c->op.at_flags;

	int rc = meta_target(c, flags, LB_CLASS_STAT, &m);
	/* access(W_OK) on a path the policy will not let it write would
	 * promise what open() then refuses: answer as open would. X_OK is
	 * answered from the file's mode: exec itself is judged when it
	 * happens (and PATH searches probe with access). */
	if (rc == 0 && !m.proc[0] && (mode & R_OK))
		rc = lb_judge_path(c, LB_CLASS_READ, m.r.path);
	if (rc == 0 && !m.proc[0] && (mode & W_OK))
		rc = lb_judge_path(c, LB_CLASS_WRITE, m.r.path);
	if (rc < 0)
		return lb_ans_errno(-rc);
	/* The thread takes the ids and capabilities the kernel would check
	 * for the caller (real ones unless AT_EACCESS) and checks with them. */
	bool eaccess = flags & AT_EACCESS;
	struct lb_at own = {.dirfd = -1, .name = ""};
	if (m.proc[0]) {
		rc = lb_host_access(c, own, m.proc, mode, eaccess);
		if (meta_repin(&m, rc))
			rc = lb_host_access(c, own, m.proc, mode, eaccess);
	} else {
		rc = lb_host_access(c, at_of(&m.r), NULL, mode, eaccess);
	}
	return lb_ans_rc(rc);
}

/* /proc/self and /proc/thread-self are links whose text is the caller's
 * own pid (and tid) as /proc numbers them; the resolver has already
 * turned them into that directory, whose path carries the text. */
static bool proc_self_text(const char *asked, const struct lb_resolved *r, char *text, size_t len)
{
	const char *last = strrchr(asked, '/');
	last = last ? last + 1 : asked;
	bool self = strcmp(last, "self") == 0, thread = strcmp(last, "thread-self") == 0;
	if ((!self && !thread) || strncmp(r->path, "/proc/", 6) != 0 || r->path[6] < '1' ||
	    r->path[6] > '9' ||
	    strchr(r->path + 6, '/') != (thread ? strstr(r->path, "/task/") : NULL))
		return false;
	snprintf(text, len, "%s", r->path + 6);
	return true;
}

static struct lb_answer h_readlink(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	char path[PATH_MAX], target[PATH_MAX];
	int size = (int)PATH_ARG(c, 2); /* the kernel takes an int */

	if (size <= 0)
		return lb_ans_errno(EINVAL);
	int rc = resolve_row_path(c, 0, &r, path);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (proc_self_text(path, &r, target, sizeof(target))) {
		size_t n = strlen(target) < (size_t)size ? strlen(target) : (size_t)size;
		rc = c->ops->write_mem(c->t, PATH_ARG(c, 1), target, n);
		return lb_ans_rc(rc < 0 ? rc : (long)n);
	}
	/* readlink is read (the target is the link's content). Linux
	 * answers EINVAL for what is not a symlink before any permission
	 * check: compilers and shells readlink every parent of their cwd. */
	struct stat st;
	if (fstatat(r.dirfd, obj_name(&r), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode) &&
	    lb_may_see(c, r.path)) {
		return lb_ans_errno(EINVAL);
	}
	if ((rc = lb_judge_path(c, LB_CLASS_READ, r.path)) < 0)
		return lb_ans_errno(-rc);
	ssize_t n = lb_host_readlink(c, at_of(&r), target, sizeof(target));
	if (n < 0)
		return lb_ans_errno((int)-n);
	if (n > size)
		n = size;
	rc = c->ops->write_mem(c->t, PATH_ARG(c, 1), target, (size_t)n);
	return lb_ans_rc(rc < 0 ? rc : n);
}

/* ---- what a change applies to ---------------------------------------------------- */

/* Nothing has a name to judge: a pipe, a socket, an anonymous inode
 * (link text not a path), or a file no name links to any more. A name
 * that merely ends in " (deleted)", the unlinked name of a file still
 * linked elsewhere or a path too long has no usable path and is refused. */
static bool pathless(int fd, const char *text)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return false;
	return text[0] != '/' || st.st_nlink == 0;
}

/* A change through one of the caller's fds (fchmod, fchown, fsetxattr,
 * fremovexattr, futimens, and the AT_EMPTY_PATH forms): the caller's open
 * file is taken (pidfd_getfd) and judged for write by the path
 * it has, so an fd opened for reading cannot carry a metadata change the
 * policy refuses. The f* calls refuse O_PATH descriptors (EBADF), as the
 * kernel does; the AT_EMPTY_PATH forms accept them. */
static int fd_write_target(struct lb_call *c, int fd, bool refuse_opath, int *objfd)
{
	char path[PATH_MAX];
	/* The caller's own open file, taken once: the O_PATH test and the
	 * change apply to the same file, whatever a dup2 does meanwhile. */
	*objfd = c->ops->get_fd(c->t, fd);
	if (*objfd < 0)
		return *objfd;
	int fl = fcntl(*objfd, F_GETFL);
	if (refuse_opath && (fl < 0 || (fl & O_PATH)))
		return -EBADF;
	path[0] = '\0';
	int rc = lb_fd_path(*objfd, path, sizeof(path));
	if (rc == 0) {
		c->fd_object = *objfd;
		rc = lb_judge_path(c, LB_CLASS_WRITE, path);
		c->fd_object = -1;
		return rc;
	}
	if (rc == -ENOENT && pathless(*objfd, path))
		return 0;
	return lb_refuse_fd_object(c, LB_CLASS_WRITE, c->t->pid, fd);
}

/* What a change applies to, judged for write: one of the caller's fds
 * (*objfd >= 0), or the resolved path (r). The path is read once. */
static int write_target_rule(struct lb_call *c, unsigned res_flags, struct lb_resolved *r,
			     int *objfd, enum exist_rule rule)
{
	uint64_t addr = c->op.path;
	char path[PATH_MAX];

	*objfd = -1;
	if (c->row->flags & LB_SF_FD)
		return fd_write_target(c, c->op.fd, true, objfd);
	/* utimensat(fd, NULL) and futimesat(fd, NULL) change the fd's file */
	if (addr == 0 && c->row->kind == LB_K_UTIMES && c->row->dirfd_arg != LB_NO_ARG)
		return fd_write_target(c, c->op.dirfd, true, objfd);
	int rc = lb_op_read_path(&c->op, addr, path);
	if (rc < 0)
		return rc;
	if (!path[0] && (c->op.at_flags & AT_EMPTY_PATH))
		return fd_write_target(c, c->op.dirfd, false, objfd);
	rc = lb_resolve_str(c, c->op.dirfd, path, res_flags, r);
	if (rc < 0)
		return rc;
	if (r->magic_fd >= 0)
		return lb_refuse_fd_object(c, LB_CLASS_WRITE, r->magic_pid, r->magic_fd);
	if ((rc = existence_first(c, r, rule)) < 0)
		return rc;
	return lb_judge_path(c, LB_CLASS_WRITE, r->path);
}

static int write_target(struct lb_call *c, unsigned res_flags, struct lb_resolved *r, int *objfd)
{
	return write_target_rule(c, res_flags, r, objfd, EXIST_ANY);
}

/* A change of the object's name or attributes: see lb_judge_node_change. */
static int node_change(struct lb_call *c, const struct lb_resolved *r, int objfd)
{
	char path[PATH_MAX];
	if (objfd >= 0 && lb_fd_path(objfd, path, sizeof(path)) < 0)
		snprintf(path, sizeof(path), "fd:%d", objfd);
	return lb_judge_node_change(c, r->dirfd, r->name, objfd, objfd >= 0 ? path : r->path);
}

/* Without root the user owns each overlay's root (the root of its upper
 * layer cannot be given the host directory's owner; docs/audit.md): the
 * program must not change the owner, mode or times of an overlaid
 * directory the host would not let it change (chmod /usr, then write in
 * it). Such a mount root answers EPERM, as the host's directory would,
 * when the host's directory at that path has another owner. */
static int overlay_root_attrs(struct lb_call *c, const struct lb_resolved *r, int objfd)
{
	if (!c->core->cfg.writes_contained)
		return 0;
	char path[PATH_MAX];
	lb_autoclose int fd = objfd >= 0 ? fcntl(objfd, F_DUPFD_CLOEXEC, 0)
					 : openat(r->dirfd, r->name[0] ? r->name : ".",
						  O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct statx sx;
	struct statfs sf;
	struct stat host;
	if (fd < 0 || fstatfs(fd, &sf) < 0 || sf.f_type != OVERLAYFS_SUPER_MAGIC ||
	    statx(fd, "", AT_EMPTY_PATH, STATX_UID, &sx) < 0 ||
	    !(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
	    !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return 0;
	if (objfd >= 0 ? lb_fd_path(objfd, path, sizeof(path)) < 0
		       : snprintf(path, sizeof(path), "%s", r->path) >= (int)sizeof(path))
		return 0;
	/* the supervisor's own tree is the host's */
	if (lstat(path, &host) < 0 || host.st_uid == sx.stx_uid)
		return 0;
	return lb_refuse_boundary(c, LB_CLASS_WRITE, path, EPERM);
}

/* Resolve the row's path and judge it for write (calls without fd forms). */
static int prepare_write(struct lb_call *c, unsigned res_flags, struct lb_resolved *r,
			 enum exist_rule rule)
{
	lb_autoclose int objfd = -1;
	return write_target_rule(c, res_flags, r, &objfd, rule);
}

/* "/proc/self/fd/N" of our pinned copy: path calls on it reach the object. */
static void self_fd_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* ---- extended attributes --------------------------------------------------------- */

/* The attribute name argument. trusted.* and security.* need
 * CAP_SYS_ADMIN / CAP_SETFCAP / CAP_MAC_ADMIN, which the sandbox does not
 * have and the supervisor may: answer as the kernel would answer the
 * program. */
static int xattr_name(struct lb_call *c, enum lb_class cls, const char *object, char *name)
{
	int rc = c->ops->read_str(c->t, PATH_ARG(c, 1), name, XATTR_NAME_MAX + 1);
	if (rc < 0)
		return rc == -ENAMETOOLONG ? -ERANGE : rc;
	/* litebox's mark of its overlay directories: a program that could set
	 * it would make a directory of its own one `overlay apply` trusts */
	if (cls == LB_CLASS_WRITE &&
	    strncmp(name, LB_OVL_MARK_PREFIX, strlen(LB_OVL_MARK_PREFIX)) == 0)
		return lb_refuse_object(c, cls, object[0] ? object : name) < 0 ? -EPERM : 0;
	return lb_judge_xattr_name(cls, name);
}

/* Where the xattr call acts: "/proc/self/fd/DIRFD/NAME" with the l*
 * variants (exactly the resolved object, no final symlink followed), or
 * "/proc/self/fd/N" of a pinned fd with the following variants. */
struct xattr_at {
	char path[PATH_MAX + 64];
	bool follow;
};

static void xattr_at_resolved(const struct lb_resolved *r, struct xattr_at *x)
{
	snprintf(x->path, sizeof(x->path), "/proc/self/fd/%d/%s", r->dirfd, obj_name(r));
	x->follow = false;
}

/* getxattr and listxattr: read class on the resolved path. */
static int xattr_read_target(struct lb_call *c, struct lb_resolved *r, struct xattr_at *x)
{
	char path[PATH_MAX];
	int rc = resolve_row_path(c, follow_flags(c), r, path);
	if (rc < 0)
		return rc;
	if (r->magic_fd >= 0)
		return -EOPNOTSUPP;
	if ((rc = lb_judge_path(c, LB_CLASS_READ, r->path)) < 0)
		return rc;
	xattr_at_resolved(r, x);
	return 0;
}

/* setxattr, removexattr and their f* forms: write class. */
static int xattr_write_target(struct lb_call *c, struct lb_resolved *r, int *objfd,
			      struct xattr_at *x)
{
	int rc = write_target(c, follow_flags(c), r, objfd);
	if (rc == 0)
		rc = node_change(c, r, *objfd);
	if (rc < 0)
		return rc;
	if (*objfd >= 0) {
		self_fd_path(*objfd, x->path, sizeof(x->path));
		x->follow = true;
	} else {
		xattr_at_resolved(r, x);
	}
	return 0;
}

static struct lb_answer h_getxattr(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	struct xattr_at x;
	char name[XATTR_NAME_MAX + 1];
	size_t size = (size_t)PATH_ARG(c, 3);

	int rc = xattr_read_target(c, &r, &x);
	if (rc == 0)
		rc = xattr_name(c, LB_CLASS_READ, r.path, name);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	lb_autofree char *val = malloc(size ? size : 1);
	if (!val)
		return lb_ans_errno(ENOMEM);
	ssize_t n = lb_host_getxattr(c, x.path, name, val, size);
	if (n < 0)
		return lb_ans_errno((int)-n);
	if (size && (rc = c->ops->write_mem(c->t, PATH_ARG(c, 2), val, (size_t)n)) < 0)
		return lb_ans_errno(-rc);
	return lb_ans_value(n);
}

static struct lb_answer h_listxattr(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	struct xattr_at x;
	size_t size = (size_t)PATH_ARG(c, 2);

	int rc = xattr_read_target(c, &r, &x);
	if (rc < 0)
		return lb_ans_errno(-rc);
	/* The full list (the supervisor may see trusted.* names the program
	 * cannot), filtered, then held against the caller's size. */
	lb_autofree char *all = malloc(XATTR_LIST_MAX);
	if (!all)
		return lb_ans_errno(ENOMEM);
	ssize_t n = lb_host_listxattr(c, x.path, all, XATTR_LIST_MAX);
	if (n < 0)
		return lb_ans_errno((int)-n);
	n = lb_xattr_list_visible(all, n);
	if (size && (size_t)n > size)
		rc = -ERANGE;
	else if (size)
		rc = c->ops->write_mem(c->t, PATH_ARG(c, 1), all, (size_t)n);
	return lb_ans_rc(rc < 0 ? rc : n);
}

static struct lb_answer h_setxattr(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	lb_autoclose int objfd = -1;
	struct xattr_at x;
	char name[XATTR_NAME_MAX + 1];
	size_t size = (size_t)PATH_ARG(c, 3);

	if (size > XATTR_SIZE_MAX)
		return lb_ans_errno(E2BIG);
	int rc = xattr_write_target(c, &r, &objfd, &x);
	if (rc == 0)
		rc = xattr_name(c, LB_CLASS_WRITE, r.path, name);
	lb_autofree char *val = rc == 0 ? malloc(size ? size : 1) : NULL;
	if (rc == 0 && !val)
		rc = -ENOMEM;
	if (rc == 0 && size)
		rc = c->ops->read_mem(c->t, PATH_ARG(c, 2), val, size);
	if (rc < 0)
		return lb_ans_errno(-rc);
	int flags = (int)PATH_ARG(c, 4);
	return lb_ans_rc(lb_host_setxattr(c, x.path, x.follow, name, val, size, flags));
}

static struct lb_answer h_removexattr(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	lb_autoclose int objfd = -1;
	struct xattr_at x;
	char name[XATTR_NAME_MAX + 1];

	int rc = xattr_write_target(c, &r, &objfd, &x);
	if (rc == 0)
		rc = xattr_name(c, LB_CLASS_WRITE, r.path, name);
	if (rc < 0)
		return lb_ans_errno(-rc);
	return lb_ans_rc(lb_host_removexattr(c, x.path, x.follow, name));
}

/* ---- changes ----------------------------------------------------------------------- */

/* The supervisor's own RLIMIT_FSIZE does not bind what it does for the
 * program: the length is held against the caller's limit as the kernel
 * would (SIGXFSZ to the thread, EFBIG). truncate(2) answers EISDIR or
 * EINVAL on the type before that, and opens nothing else (the south). */
static struct lb_answer h_truncate(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	off_t length = (off_t)PATH_ARG(c, 1);
	if (length < 0)
		return lb_ans_errno(EINVAL);
	int rc = prepare_write(c, LB_RES_FOLLOW, &r, EXIST_MUST);
	if (rc < 0)
		return lb_ans_errno(-rc);
	struct rlimit lim;
	bool known = prlimit(c->t->pid, RLIMIT_FSIZE, NULL, &lim) == 0, over;
	rc = lb_host_truncate(c, at_of(&r), length, known ? &lim : NULL, &over);
	if (over)
		syscall(SYS_tgkill, lb_caller_tgid(c), c->t->pid, SIGXFSZ);
	return lb_ans_rc(rc);
}
static struct lb_answer h_unlink(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	int flags = (c->row->flags & LB_SF_RMDIR) ? AT_REMOVEDIR : (int)c->op.flags;
	int rc = prepare_write(c, LB_RES_MODIFY, &r, EXIST_MUST);
	if (rc == 0 && r.name[0])
		rc = node_change(c, &r, -1);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (!r.name[0])
		return lb_ans_errno((flags & AT_REMOVEDIR) ? EBUSY : EISDIR);
	return lb_ans_rc(lb_host_unlink(c, at_of(&r), flags));
}

static struct lb_answer h_mkdir(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	mode_t mode = c->op.mode;
	int rc = prepare_write(c, LB_RES_MODIFY, &r, EXIST_MUST_NOT);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (!r.name[0])
		return lb_ans_errno(EEXIST);
	return lb_ans_rc(lb_host_mkdir(c, at_of(&r), mode & ~lb_caller_umask(c) & 07777));
}

static struct lb_answer h_mknod(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	mode_t mode = c->op.mode;
	dev_t dev = (dev_t)PATH_ARG(c, 2);
	int rc = lb_judge_mknod(mode);
	if (rc < 0)
		return lb_ans_errno(-rc);
	rc = prepare_write(c, 0, &r, EXIST_MUST_NOT);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (!r.name[0])
		return lb_ans_errno(EEXIST);
	mode_t type = mode & S_IFMT;
	mode_t perm = lb_host_nosuid(mode & 07777 & ~lb_caller_umask(c), false);
	return lb_ans_rc(lb_host_mknod(c, at_of(&r), type | perm, dev));
}

static int resolve_second(struct lb_call *c, unsigned res_flags, struct lb_resolved *r)
{
	char path[PATH_MAX];
	int rc = lb_op_read_path(&c->op, c->op.path2, path);
	if (rc < 0)
		return rc;
	rc = lb_resolve_str(c, c->op.dirfd2, path, res_flags, r);
	if (rc < 0)
		return rc;
	return r->magic_fd >= 0 ? -EXDEV : 0;
}

static struct lb_answer h_rename(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved from = {.dirfd = -1};
	lb_autoresolved struct lb_resolved to = {.dirfd = -1};
	unsigned flags = (unsigned)c->op.flags;

	int rc = prepare_write(c, LB_RES_MODIFY, &from, EXIST_MUST);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if ((rc = resolve_second(c, LB_RES_MODIFY, &to)) < 0)
		return lb_ans_errno(-rc);
	if ((rc = lb_judge_path(c, LB_CLASS_WRITE, to.path)) < 0)
		return lb_ans_errno(-rc);
	if (!from.name[0] || !to.name[0])
		return lb_ans_errno(EBUSY);
	if ((rc = node_change(c, &from, -1)) < 0 || (rc = node_change(c, &to, -1)) < 0)
		return lb_ans_errno(-rc);
	/* A rename must not carry a file to a name that grants more than
	 * its own does (as for hard links); an exchange moves both ways. */
	c->cur = &from;
	if ((rc = lb_judge_link_source(c, from.path, to.path)) < 0)
		return lb_ans_errno(-rc);
	if ((flags & RENAME_EXCHANGE) &&
	    (c->cur = &to, rc = lb_judge_link_source(c, to.path, from.path)) < 0) {
		return lb_ans_errno(-rc);
	}
	/* Moving a directory moves what is below it: refuse when rules below
	 * either place could judge that content differently. */
	if (lb_judge_moves_subtree(c, &from, &to, flags))
		return lb_ans_errno(EXDEV);
	return lb_ans_rc(lb_host_rename(c, at_of(&from), at_of(&to), flags));
}

static struct lb_answer h_link(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved from = {.dirfd = -1};
	lb_autoresolved struct lb_resolved to = {.dirfd = -1};
	lb_autoclose int magic = -1;
	unsigned flags = (unsigned)c->op.flags;
	char path[PATH_MAX];

	if (flags & AT_EMPTY_PATH)
		return lb_ans_errno(
		    ENOENT); /* needs CAP_DAC_READ_SEARCH, which the sandbox lacks */
	int rc = resolve_row_path(c, (flags & AT_SYMLINK_FOLLOW) ? LB_RES_FOLLOW : 0, &from, path);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (from.magic_fd >= 0 && (magic = magic_fd(c, &from, LB_CLASS_WRITE)) < 0)
		return lb_ans_errno(-magic);
	if ((rc = resolve_second(c, 0, &to)) < 0)
		return lb_ans_errno(-rc);
	if ((rc = existence_first(c, &from, EXIST_MUST)) < 0 ||
	    (rc = existence_first(c, &to, EXIST_MUST_NOT)) < 0 ||
	    (rc = lb_judge_path(c, LB_CLASS_WRITE, to.path)) < 0) {
		return lb_ans_errno(-rc);
	}
	c->cur = &from; /* existence checks of the source refer to it */
	if ((rc = node_change(c, &from, magic)) < 0)
		return lb_ans_errno(-rc);
	if (magic < 0 && (rc = lb_judge_link_source(c, from.path, to.path)) < 0)
		return lb_ans_errno(-rc);
	/* The O_TMPFILE idiom links /proc/self/fd/N into place. */
	if (magic >= 0)
		return lb_ans_rc(lb_host_link_fd(c, magic, at_of(&to)));
	return lb_ans_rc(lb_host_link(c, at_of(&from), at_of(&to)));
}

static struct lb_answer h_symlink(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	char target[PATH_MAX];

	int rc = lb_op_read_path(&c->op, c->op.path2, target);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (!target[0])
		return lb_ans_errno(ENOENT);
	if ((rc = prepare_write(c, 0, &r, EXIST_MUST_NOT)) < 0)
		return lb_ans_errno(-rc);
	if (!r.name[0])
		return lb_ans_errno(EEXIST);
	return lb_ans_rc(lb_host_symlink(c, target, at_of(&r)));
}

static struct lb_answer h_chmod(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	lb_autoclose int objfd = -1;
	mode_t mode = c->op.mode;

	int rc = write_target(c, follow_flags(c), &r, &objfd);
	if (rc == 0)
		rc = node_change(c, &r, objfd);
	if (rc == 0)
		rc = overlay_root_attrs(c, &r, objfd);
	if (rc < 0)
		return lb_ans_errno(-rc);
	return lb_ans_rc(lb_host_chmod(c, at_of(&r), objfd, mode));
}

static struct lb_answer h_chown(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	lb_autoclose int objfd = -1;
	uid_t uid = (uid_t)PATH_ARG(c, 1);
	gid_t gid = (gid_t)PATH_ARG(c, 2);

	int rc = write_target(c, follow_flags(c), &r, &objfd);
	if (rc == 0)
		rc = node_change(c, &r, objfd);
	if (rc == 0)
		rc = overlay_root_attrs(c, &r, objfd);
	if (rc < 0)
		return lb_ans_errno(-rc);
	return lb_ans_rc(lb_host_chown(c, at_of(&r), objfd, uid, gid));
}

static int read_times(struct lb_call *c, uint64_t addr, struct timespec ts[2], bool *now)
{
	*now = addr == 0;
	if (*now)
		return 0;
	if (c->row->flags & LB_SF_UTIMBUF) {
		struct utimbuf ub;
		int rc = c->ops->read_mem(c->t, addr, &ub, sizeof(ub));
		ts[0] = (struct timespec){.tv_sec = ub.actime};
		ts[1] = (struct timespec){.tv_sec = ub.modtime};
		return rc;
	}
	if (c->row->flags & LB_SF_LEGACY_TIME) {
		struct timeval tv[2];
		int rc = c->ops->read_mem(c->t, addr, tv, sizeof(tv));
		for (int i = 0; i < 2; i++) {
			if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
				return -EINVAL;
			ts[i] = (struct timespec){.tv_sec = tv[i].tv_sec,
						  .tv_nsec = tv[i].tv_usec * 1000};
		}
		return rc;
	}
	return c->ops->read_mem(c->t, addr, ts, sizeof(struct timespec) * 2);
}

static struct lb_answer h_utimes(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	lb_autoclose int objfd = -1;
	struct timespec ts[2];
	bool now;

	int rc = read_times(c, PATH_ARG(c, 1), ts, &now);
	if (rc == 0)
		rc = write_target(c, follow_flags(c), &r, &objfd);
	if (rc == 0 && !now) /* "now" needs write permission, which the mode keeps */
		rc = overlay_root_attrs(c, &r, objfd);
	if (rc < 0)
		return lb_ans_errno(-rc);
	return lb_ans_rc(lb_host_utimes(c, at_of(&r), objfd, now ? NULL : ts));
}

/* ---- calls the supervisor cannot perform for the caller ----------------------- */

#define WHY_CHDIR "chdir: a cwd grants nothing, every later path is judged from it"
#define WHY_EXEC "exec: Landlock's EXECUTE rules bound what the kernel may run"

/* chdir: the new cwd grants nothing by itself (every later relative path
 * is resolved and judged from the real cwd), so after judging, the
 * kernel may redo the lookup: a swapped path can only move the caller
 * into a directory whose contents stay judged. */
static struct lb_answer h_chdir(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	char path[PATH_MAX];
	int rc = resolve_row_path(c, LB_RES_FOLLOW, &r, path);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if ((rc = lb_judge_path(c, LB_CLASS_STAT, r.path)) < 0)
		return lb_ans_errno(-rc);
	return lb_ans_continue(WHY_CHDIR);
}

/* The interpreter line of a #! script, read from the file we resolved. */
static int script_interpreter(struct lb_call *c, const struct lb_resolved *r, char *interp,
			      size_t len)
{
	char buf[256];
	/* only a regular file the program may execute is read (the south) */
	ssize_t n = lb_host_exec_head(c, at_of(r), buf, sizeof(buf) - 1);
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return 0;
	buf[n] = '\0';
	char *p = buf + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t l = strcspn(p, " \t\n");
	if (l == 0 || l >= len)
		return 0;
	memcpy(interp, p, l);
	interp[l] = '\0';
	return 1;
}

/* execve cannot be carried out by the supervisor: it is judged here and
 * then continued. The window between judging and the kernel's lookup is
 * closed beneath by the Landlock EXECUTE rules (docs/security.md). */
static struct lb_answer h_exec(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	char path[PATH_MAX];
	unsigned flags = c->op.at_flags;

	int rc = lb_op_read_path(&c->op, c->op.path, path);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		/* fexecve: judge the file behind the fd; a memfd or deleted
		 * file has no path and cannot be granted. */
		lb_autoclose int fd = caller_fd(c, c->op.dirfd);
		if (fd < 0)
			return lb_ans_errno(-fd);
		if (lb_fd_path(fd, path, sizeof(path)) < 0) {
			return lb_ans_errno(
			    -lb_refuse_fd_object(c, LB_CLASS_EXEC, c->t->pid, c->op.dirfd));
		}
		if ((rc = lb_judge_path(c, LB_CLASS_EXEC, path)) < 0)
			return lb_ans_errno(-rc);
		return lb_ans_continue(WHY_EXEC);
	}
	rc = lb_resolve_str(c, c->op.dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LB_RES_FOLLOW,
			    &r);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (r.magic_fd >= 0)
		return lb_ans_errno(
		    -lb_refuse_fd_object(c, LB_CLASS_EXEC, r.magic_pid, r.magic_fd));
	if ((rc = lb_judge_path(c, LB_CLASS_EXEC, r.path)) < 0)
		return lb_ans_errno(-rc);
	char interp[PATH_MAX];
	if (script_interpreter(c, &r, interp, sizeof(interp))) {
		lb_autoresolved struct lb_resolved ri = {.dirfd = -1};
		rc = lb_resolve_str(c, AT_FDCWD, interp, LB_RES_FOLLOW, &ri);
		if (rc == 0 && (rc = lb_judge_path(c, LB_CLASS_EXEC, ri.path)) < 0)
			return lb_ans_errno(-rc);
	}
	return lb_ans_continue(WHY_EXEC);
}

static struct lb_answer h_inotify(struct lb_call *c)
{
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	char path[PATH_MAX];
	uint32_t mask = (uint32_t)c->op.flags;

	int rc = resolve_row_path(c, (mask & IN_DONT_FOLLOW) ? 0 : LB_RES_FOLLOW, &r, path);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (r.magic_fd >= 0)
		return lb_ans_errno(
		    -lb_refuse_fd_object(c, LB_CLASS_READ, r.magic_pid, r.magic_fd));
	if ((rc = lb_judge_path(c, LB_CLASS_READ, r.path)) < 0)
		return lb_ans_errno(-rc);
	lb_autoclose int ifd = c->ops->get_fd(c->t, (int)c->op.args[0]);
	if (ifd < 0)
		return lb_ans_errno(-ifd);
	return lb_ans_rc(lb_host_inotify_watch(c, ifd, at_of(&r), mask));
}

/* ---- directory listings ----------------------------------------------------------- */

struct lb_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* An fd without a path whose listing has nothing to hide: not a
 * directory (ENOTDIR) or a removed one (ENOENT), as the kernel answers. */
static bool listing_is_empty(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (!S_ISDIR(st.st_mode) || st.st_nlink == 0);
}

/* One listing buffer per supervisor thread, kept between calls and
 * freed when the thread leaves: a listing may ask for up to 1 MiB, which
 * malloc would map and unmap on every call. */
struct listing_buf {
	size_t cap;
	char data[];
};
static pthread_key_t listing_key;
static bool listing_key_ok;

static void listing_key_init(void)
{
	listing_key_ok = pthread_key_create(&listing_key, free) == 0;
}

static char *listing_buffer(size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, listing_key_init);
	if (!listing_key_ok)
		return NULL;
	struct listing_buf *b = pthread_getspecific(listing_key);
	if (b && b->cap >= size)
		return b->data;
	/* not realloc: should the key refuse the new buffer, it must still
	 * hold a live one (its destructor frees it at the thread's exit), and
	 * the old bytes need no copy */
	struct listing_buf *nb = malloc(sizeof(*nb) + size);
	if (!nb)
		return NULL;
	nb->cap = size;
	if (pthread_setspecific(listing_key, nb) != 0) {
		free(nb); /* b stays the thread's */
		return NULL;
	}
	free(b);
	return nb->data;
}

/* Read entries on the caller's own open directory (the file position is
 * shared), drop the hidden ones, and hand the rest back. */
static struct lb_answer h_getdents(struct lb_call *c)
{
	if (c->t->nr != SYS_getdents64)
		return lb_ans_errno(ENOSYS); /* the old format is unused by x86_64 libcs */
	size_t size = (size_t)c->op.args[2];
	if (size > 1 << 20)
		size = 1 << 20;
	lb_autoclose int fd = c->ops->get_fd(c->t, (int)c->op.args[0]);
	if (fd < 0)
		return lb_ans_errno(-fd);
	char dir[PATH_MAX];
	bool filter = false;
	if (lb_fd_path(fd, dir, sizeof(dir)) == 0) {
		filter = lb_listing_filtered(c, dir);
	} else if (!listing_is_empty(fd)) {
		/* a live directory whose entries cannot be judged by name */
		return lb_ans_errno(
		    -lb_refuse_fd_object(c, LB_CLASS_READ, c->t->pid, (int)c->op.args[0]));
	}
	char *buf = listing_buffer(size ? size : 1);
	if (!buf)
		return lb_ans_errno(ENOMEM);
	for (;;) {
		ssize_t n = lb_host_getdents(fd, buf, size);
		if (n < 0)
			return lb_ans_errno((int)-n);
		if (n == 0 || !filter) {
			int wrc = n ? c->ops->write_mem(c->t, c->op.args[1], buf, (size_t)n) : 0;
			return lb_ans_rc(wrc < 0 ? wrc : n);
		}
		size_t out = 0;
		for (ssize_t off = 0; off < n;) {
			struct lb_dirent64 *d = (struct lb_dirent64 *)(buf + off);
			unsigned short len = d->d_reclen;
			if (!lb_listing_hides(c, dir, d->d_name)) {
				memmove(buf + out, d, len);
				out += len;
			}
			off += len;
		}
		if (out > 0) {
			int rc = c->ops->write_mem(c->t, c->op.args[1], buf, out);
			return lb_ans_rc(rc < 0 ? rc : (long)out);
		}
	}
}

/* ---- ioctls that change metadata ------------------------------------------------- */

#define LB_VERITY_MAX_SIG 16128 /* FS_VERITY_MAX_SIGNATURE_SIZE */

/* fs-verity's argument points at a salt and a signature in the caller's
 * memory: both are copied too, and the copy points at litebox's. Sizes
 * beyond the kernel's limits are left for it to refuse (EMSGSIZE) before
 * it reads anything. */
struct verity_arg {
	struct fsverity_enable_arg a;
	unsigned char salt[32];
	unsigned char sig[LB_VERITY_MAX_SIG];
};

static int copy_verity(struct lb_call *c, struct verity_arg *v)
{
	int rc = c->ops->read_mem(c->t, c->op.args[2], &v->a, sizeof(v->a));
	if (rc == 0 && v->a.salt_size && v->a.salt_size <= sizeof(v->salt)) {
		rc = c->ops->read_mem(c->t, v->a.salt_ptr, v->salt, v->a.salt_size);
		v->a.salt_ptr = (uint64_t)(uintptr_t)v->salt;
	}
	if (rc == 0 && v->a.sig_size && v->a.sig_size <= sizeof(v->sig)) {
		rc = c->ops->read_mem(c->t, v->a.sig_ptr, v->sig, v->a.sig_size);
		v->a.sig_ptr = (uint64_t)(uintptr_t)v->sig;
	}
	return rc;
}

/* The argument, copied once, as many bytes as the kernel reads: an
 * encryption policy's size follows its version byte (v1 12, v2 24). */
static int copy_ioctl_arg(struct lb_call *c, const struct lb_ioctl_row *row, void *buf)
{
	uint64_t addr = c->op.args[2];
	if (row->req == (uint32_t)FS_IOC_ENABLE_VERITY)
		return copy_verity(c, buf);
	if (row->size > 0)
		return c->ops->read_mem(c->t, addr, buf, (size_t)row->size);
	unsigned char *version = buf;
	int rc = c->ops->read_mem(c->t, addr, version, 1);
	unsigned char first = *version;
	size_t size = first == FSCRYPT_POLICY_V1   ? sizeof(struct fscrypt_policy_v1)
		      : first == FSCRYPT_POLICY_V2 ? sizeof(struct fscrypt_policy_v2)
						   : 1;
	if (rc < 0 || (rc = c->ops->read_mem(c->t, addr, buf, size)) < 0)
		return rc;
	/* the size was chosen from a first read another thread may have
	 * changed since: the copy must agree with it */
	return *version == first ? 0 : -EINVAL;
}

/* chattr and its kin: a change of the descriptor's file, judged for write
 * like fchmod (a file opened for reading does not carry it), refused on
 * device nodes, and performed on litebox's copy of the caller's file with
 * litebox's copy of the argument. */
static struct lb_answer h_ioctl(struct lb_call *c)
{
	const struct lb_ioctl_row *row = lb_ioctl_row((uint32_t)c->op.args[1]);
	lb_autoresolved struct lb_resolved r = {.dirfd = -1};
	lb_autoclose int objfd = -1;
	if (!row)
		return lb_ans_errno(EPERM); /* the filter sends no other request */
	if (row->size == LB_IOCTL_REFUSED)
		return lb_ans_errno(-lb_refuse_boundary(c, LB_CLASS_SYSCALL, row->name, EPERM));
	int rc = fd_write_target(c, c->op.fd, true, &objfd);
	if (rc == 0)
		rc = node_change(c, &r, objfd);
	lb_autofree struct verity_arg *arg = rc < 0 ? NULL : calloc(1, sizeof(*arg));
	if (rc == 0 && !arg)
		rc = -ENOMEM;
	if (rc == 0)
		rc = copy_ioctl_arg(c, row, arg);
	if (rc == 0)
		rc = lb_host_ioctl(c, objfd, row->req, arg);
	return lb_ans_rc(rc);
}

typedef struct lb_answer (*fs_handler)(struct lb_call *c);

static const fs_handler handlers[] = {
    [LB_K_OPEN] = h_open,	  [LB_K_STAT] = h_stat,
    [LB_K_STATX] = h_statx,	  [LB_K_STATFS] = h_statfs,
    [LB_K_ACCESS] = h_access,	  [LB_K_READLINK] = h_readlink,
    [LB_K_GETXATTR] = h_getxattr, [LB_K_LISTXATTR] = h_listxattr,
    [LB_K_SETXATTR] = h_setxattr, [LB_K_REMOVEXATTR] = h_removexattr,
    [LB_K_TRUNCATE] = h_truncate, [LB_K_UNLINK] = h_unlink,
    [LB_K_RENAME] = h_rename,	  [LB_K_MKDIR] = h_mkdir,
    [LB_K_MKNOD] = h_mknod,	  [LB_K_LINK] = h_link,
    [LB_K_SYMLINK] = h_symlink,	  [LB_K_CHMOD] = h_chmod,
    [LB_K_CHOWN] = h_chown,	  [LB_K_UTIMES] = h_utimes,
    [LB_K_CHDIR] = h_chdir,	  [LB_K_EXEC] = h_exec,
    [LB_K_INOTIFY] = h_inotify,	  [LB_K_GETDENTS] = h_getdents,
    [LB_K_IOCTL] = h_ioctl,
};

struct lb_answer lb_fs_handle(struct lb_call *c)
{
	enum lb_sys_kind k = c->row->kind;
	if ((size_t)k < LB_ARRAY_SIZE(handlers) && handlers[k])
		return handlers[k](c);
	return lb_ans_errno(EPERM); /* fanotify_mark and anything unlisted */
}
