/* SPDX-License-Identifier: MIT */
/* Private to the core: the per-call context the emulations share. */
#ifndef LITEBOX_CORE_INTERNAL_H
#define LITEBOX_CORE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "litebox/answer.h"
#include "litebox/core.h"
#include "litebox/creds.h"
#include "litebox/filter_plan.h"
#include "litebox/op.h"
#include "litebox/resolve.h"
#include "litebox/syscalls.h"

struct lb_unix_own {
	dev_t dev;
	ino_t ino;
	int pin; /* O_PATH: the inode number stays this file's while recorded */
};

struct lb_core {
	struct lb_core_config cfg;
	const struct lb_platform_ops *ops;
	int rootfd;
	/* The nested-domain helper's socket (lib/nest.c), -1: not served. */
	int nest_fd;
	pthread_mutex_t nest_lock;
	ino_t sandbox_pidns;
	pid_t sandbox_init; /* the sandbox's init (its seccomp filters are the base) */
	ino_t own_pidns;
	struct lb_plan *plan;
	/* Directories that lead to a grant: stat and listing of them is
	 * implicitly allowed so that programs can walk to what they may use. */
	char **grant_prefixes;
	size_t n_grant_prefixes;
	bool has_hides;
	/* Set once any sandboxed process changed its umask or credentials:
	 * from then on they are read per call from /proc (rare: most
	 * programs never do, and reading /proc costs more than the call).
	 * Until then every process has the credentials read first. */
	atomic_bool umask_changed;
	atomic_bool creds_changed;
	/* Terminals the program may use whatever the policy says about
	 * /dev/pts: its controlling terminal at start and the ptys it
	 * allocated itself through /dev/ptmx (numbers under /dev/pts). */
	/* The sandbox's root, when it lives in a mount namespace of its own
	 * (init's, with the sandbox's own /proc mounted): every path is
	 * resolved there. Found at the first call: root_state 0 unknown, 1
	 * known (sandbox_root -1: litebox's own root). */
	pthread_mutex_t root_lock;
	atomic_int root_state;
	int root_tries;
	int sandbox_root;
	bool own_proc;
	pthread_mutex_t tty_lock;
	int *ttys;
	size_t n_ttys, cap_ttys;
	pthread_mutex_t creds_lock;
	bool initial_loaded;
	struct lb_creds initial;
	mode_t umask;
	/* The supervisor's own supplementary groups, restored after an
	 * operation done with the caller's. */
	gid_t groups[LB_MAX_GROUPS];
	int n_groups;
	/* protect.c: the judge's own files; the sandbox's IPC namespace */
	struct lb_protected *protected;
	size_t n_protected;
	bool own_ipcns;
	/* Unix socket files the sandbox bound during the run (net_ops.c). */
	pthread_mutex_t own_lock;
	struct lb_unix_own *own;
	size_t n_own, cap_own;
	/* Mediated DNS: the resolver view and the names' addresses (dns.c). */
	struct lb_dns *dns;
};

struct lb_call {
	struct lb_core *core;
	struct lb_trap *t;
	const struct lb_syscall_row *row;
	/* The call decoded (north): filled for calls with a row. */
	struct lb_op op;
	const struct lb_platform_ops *ops;
	struct lb_resolve_ctx rctx;
	/* The caller's tgid and tid as the sandbox's /proc numbers them (0:
	 * not looked up yet); its host ids when /proc is the host's. */
	pid_t proc_tgid, proc_tid;
	/* The guard of a walk done as the caller (lb_resolve_str). */
	struct lb_creds_guard *walk_guard;
	/* The object last resolved: a default refusal of a lookup of
	 * something that does not exist answers ENOENT (see core.c). */
	const struct lb_resolved *cur;
	/* The call creates cur: a refused read of it is not a lookup of
	 * nothing (open("new", O_RDWR|O_CREAT) without read is EACCES). */
	bool creating;
	/* A change through one of the caller's descriptors (fchmod, futimens,
	 * fsetxattr): litebox's copy of it, judged by its path; -1 otherwise. */
	int fd_object;
	/* The caller's credentials, read from /proc once per call (after a
	 * set*id, when they are no longer the initial ones): a stopped
	 * caller cannot change them before it is answered. */
	bool creds_loaded;
	struct lb_creds creds;
	/* Allow records held until the answer is delivered (core.c). */
	bool defer_allows;
	struct lb_later *later;
	/* The address being judged (lb_judge_addr): its event names the
	 * host names the program resolved to it. */
	const struct lb_sockaddr_obj *addr;
};

/* Where a relative path starts: the caller's cwd or one of its dirfds. */
struct lb_start {
	int fd;
	bool owned;
	char path[PATH_MAX];
};

/* The caller's thread group, looked up once per call. */
pid_t lb_caller_tgid(struct lb_call *c);

/* Judge an access. 0: go ahead; -EACCES: denied; -ENOENT: hidden. Emits
 * the event. */
int lb_judge_path(struct lb_call *c, enum lb_class cls, const char *path);
int lb_judge_addr(struct lb_call *c, enum lb_class cls, const struct lb_sockaddr_obj *a);
/* A refusal no rule made, recorded as a denial of origin "builtin":
 * lb_refuse follows the mode (audit mode records and lets it through),
 * lb_refuse_boundary refuses in every mode. Return 0 or -err. */
int lb_refuse(struct lb_call *c, enum lb_class cls, const char *object, int err);
int lb_refuse_boundary(struct lb_call *c, enum lb_class cls, const char *object, int err);
/* Answer a call the syscall table does not emulate (tracked, audited). */
struct lb_answer lb_core_untabled(struct lb_call *c);

/* open("/proc/TID/fd/N" or cwd) with flags; -EBADF for a closed fd. */
int lb_proc_fd_open(struct lb_call *c, int fd, int flags);
int lb_start_dir(struct lb_call *c, int dirfd, struct lb_start *s);
void lb_start_release(struct lb_start *s);
/* Resolve path (already copied out) relative to the caller's dirfd
 * (AT_FDCWD: its cwd). */
int lb_resolve_str(struct lb_call *c, int dirfd, const char *path, unsigned flags,
		   struct lb_resolved *out);
int lb_judge_dir_listing(struct lb_call *c, const char *path);
/* Would the caller be let to stat path? Decides nothing and records
 * nothing: answers Linux gives before any permission check (EEXIST,
 * EISDIR, readlink's EINVAL, ENOENT of a missing name) are given first
 * only where they tell no more than a stat would. */
bool lb_may_see(struct lb_call *c, const char *path);
mode_t lb_caller_umask(struct lb_call *c);

/* protect.c: what the program never reaches, whatever the policy says. */
enum lb_protection { LB_PROTECT_NONE, LB_PROTECT_DENY, LB_PROTECT_HIDE };
int lb_protect_init(struct lb_core *core, const char *const *paths, const int *fd);
void lb_protect_free(struct lb_core *core);
enum lb_protection lb_protection_of(const struct lb_call *c, enum lb_class cls, const char *path);
/* The same as a judgement: 0, or the refusal (recorded). Part of every
 * lb_judge_path; for special cases that ask the policy directly. */
int lb_judge_protected(struct lb_call *c, enum lb_class cls, const char *path);

/* Refuse a use of a descriptor that has no path to judge (a memfd, a
 * deleted file, a pipe of another process) and record it, named by what
 * /proc/PID/fd/N says it is. Returns -EACCES. */
int lb_refuse_fd_object(struct lb_call *c, enum lb_class cls, pid_t pid, int fd);
/* Refuse a use of something that is not a path ("memfd:NAME"), recorded
 * with the rule `builtin`. Returns -EACCES. */
int lb_refuse_object(struct lb_call *c, enum lb_class cls, const char *object);

/* memfd.c: memfd_create, always sealed against exec. */
struct lb_answer lb_memfd_handle(struct lb_call *c);

/* A pty the program allocated (opened /dev/ptmx, got number n). */
void lb_track_pty(struct lb_core *core, int n);

/* judge.c: the filesystem judgments beyond one class on one path. Each
 * returns 0 or the refusal (recorded where a rule made it). */
/* link/rename: for every class the new name grants, the old path must be
 * granted too. */
/* Whether read of path is granted outright (no record): a read-only
 * open of a directory that is not is judged as a listing instead. */
bool lb_judge_read_granted(struct lb_call *c, const char *path);
int lb_judge_link_source(struct lb_call *c, const char *old, const char *new_path);
/* A directory move whose content some rule would judge differently at the
 * new place (the caller answers EXDEV). */
bool lb_judge_moves_subtree(struct lb_call *c, const struct lb_resolved *from,
			    const struct lb_resolved *to, unsigned flags);
/* trusted.* and security.*: -ENODATA to read, -EPERM to change. */
int lb_judge_xattr_name(enum lb_class cls, const char *name);
/* Keep only the names the program could list; returns the new length. */
ssize_t lb_xattr_list_visible(char *list, ssize_t n);
/* Device nodes: -EPERM. */
int lb_judge_mknod(mode_t mode);
/* A change of a device node's name or attributes (unlink, rename, link,
 * chmod, chown, xattrs): refused whatever the policy says. The object is
 * objfd, else name in dirfd ("" for dirfd itself). */
int lb_judge_node_change(struct lb_call *c, int dirfd, const char *name, int objfd,
			 const char *path);
/* Listings of dir drop hidden entries (when anything below is hidden). */
bool lb_listing_filtered(struct lb_call *c, const char *dir);
bool lb_listing_hides(struct lb_call *c, const char *dir, const char *name);
/* Sockets: a unix socket the sandbox did not bind needs a rule naming it
 * exactly; `allow syscall setsockopt` lifts the routing-option refusal. */
bool lb_judge_names_unix(struct lb_call *c, enum lb_class cls, const char *path);
bool lb_routing_sockopts_allowed(struct lb_call *c);

/* The handler families: each returns the call's answer; lb_core_handle
 * replies with it. */
struct lb_answer lb_fs_handle(struct lb_call *c);
struct lb_answer lb_net_handle(struct lb_call *c);
void lb_net_core_init(struct lb_core *core);
void lb_net_core_free(struct lb_core *core);

#endif
