/* SPDX-License-Identifier: MIT */
/* Race-free path resolution on behalf of a sandboxed process. The walk is
 * done component by component with O_PATH|O_NOFOLLOW descriptors, so the
 * object that is judged is the object that is then operated on: symlinks
 * are read and re-resolved by us (never followed by the kernel behind our
 * back), ".." is physical, /proc/self means the caller, and /proc magic
 * links are followed by their text (a path that is judged again). */
#ifndef LITEBOX_RESOLVE_H
#define LITEBOX_RESOLVE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

struct lb_resolve_ctx {
	int rootfd; /* the sandbox's "/" (O_PATH), borrowed */
	pid_t tid;  /* caller, in the supervisor's pid namespace */
	pid_t tgid; /* its thread group; 0: looked up when /proc/self is met */
	/* A process (by pid) is inside the sandbox: /proc/PID of others is
	 * reported as absent. NULL: every process counts as inside. */
	bool (*pid_visible)(void *arg, pid_t pid);
	/* The caller's pid and tid as the /proc being walked numbers them
	 * (the sandbox's own /proc counts in its pid namespace): what
	 * /proc/self and /proc/thread-self become. NULL: tgid and tid. */
	void (*proc_ids)(void *proc_arg, pid_t *tgid, pid_t *tid);
	void *proc_arg;
	/* The walk runs with the caller's authority, except inside /proc,
	 * where it reads the caller's own links as the caller could (the
	 * kernel lets a process into its own /proc/PID whatever its ids):
	 * called with true on entering /proc, false on leaving; -errno stops
	 * the walk. NULL: one authority throughout. */
	int (*authority)(void *proc_arg, bool litebox);
	/* The policy hides this path (and so everything below it): the walk
	 * stops there with ENOENT, before touching it, whatever lies below
	 * (no ENOTDIR, ELOOP or symlink target to tell what exists). NULL:
	 * nothing is hidden. */
	bool (*hidden)(void *arg, const char *path);
	void *arg;
};

enum {
	LB_RES_FOLLOW = 1u << 0,   /* follow a final symlink */
	LB_RES_DIR_ONLY = 1u << 1, /* the object must be a directory (trailing '/') */
	/* unlink, rmdir, rename, mkdir...: a trailing slash on a final
	 * symlink is ENOTDIR, never the link's target */
	LB_RES_MODIFY = 1u << 2,
	/* start_fd is handed over: the walk closes it or gives it out as
	 * out->dirfd (no copy of the caller's cwd per call) */
	LB_RES_START_OWNED = 1u << 3,
};

struct lb_resolved {
	int dirfd;		 /* O_PATH directory holding the object, owned */
	char name[NAME_MAX + 1]; /* final component; "" when the object is dirfd itself */
	char path[PATH_MAX];	 /* canonical absolute path of the object */
	/* A /proc/PID/fd/N link to something that has no path (a pipe, a
	 * socket, an anonymous inode): that pid and fd number, else -1. */
	pid_t magic_pid;
	int magic_fd;
	bool trailing_slash;
	/* The walk stopped (ENOENT) at a hidden path, which is in path. */
	bool hidden_stop;
	/* The walk's look at a final name it was to follow (outside /proc,
	 * with the walk's authority) found no symlink: that lstat of
	 * dirfd/name, so that a stat or an identity check needs no second
	 * lookup. Valid only when has_st. */
	bool has_st;
	struct stat st;
};

/* Resolve `path` starting at start_fd (a directory, borrowed) whose
 * canonical path is start_path. Absolute paths start at ctx->rootfd.
 * Returns 0 or -errno (ENOENT for a missing intermediate directory,
 * ENOTDIR, ELOOP after 40 links, ENAMETOOLONG). On success out->dirfd
 * must be released with lb_resolved_release(). */
int lb_resolve(const struct lb_resolve_ctx *ctx, int start_fd, const char *start_path,
	       const char *path, unsigned flags, struct lb_resolved *out);
void lb_resolved_release(struct lb_resolved *r);

/* Canonical path of an fd held by the supervisor (readlink of
 * /proc/self/fd/N). -ENOENT when the file was deleted. */
int lb_fd_path(int fd, char *buf, size_t len);

/* A path at or below "/proc/PID" (PID all digits): *pid, and *rest at
 * what follows it ("" or "/..."). */
bool lb_proc_pid_path(const char *path, pid_t *pid, const char **rest);

/* Thread group of a thread (from /proc/TID/status); tid itself on error. */
pid_t lb_tgid_of(pid_t tid);

#endif
