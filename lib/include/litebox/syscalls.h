/* SPDX-License-Identifier: MIT */
/* The syscall table: one row per system call litebox decides on, saying
 * which arguments are paths, directory fds and flags, which policy class
 * it belongs to and how the core emulates it. Data, not a switch. */
#ifndef LITEBOX_SYSCALLS_H
#define LITEBOX_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_NO_ARG 0xff
/* Every x86_64 number litebox indexes is below this. */
#define LB_MAX_NR 512
/* The first x86_64 number after the calls litebox knows (6.14's mseal is
 * 462; 463.. are the *xattrat calls, open_tree_attr, ...). */
#define LB_FIRST_UNKNOWN_NR 463

/* Newer than Debian 12's headers. */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* How the supervisor carries the call out (one emulation per kind). */
enum lb_sys_kind {
	LB_K_NONE,
	LB_K_OPEN, /* open, openat, openat2, creat */
	LB_K_STAT, /* stat, lstat, newfstatat */
	LB_K_STATX,
	LB_K_STATFS,
	LB_K_ACCESS, /* access, faccessat, faccessat2 */
	LB_K_READLINK,
	LB_K_GETXATTR,
	LB_K_LISTXATTR,
	LB_K_SETXATTR,
	LB_K_REMOVEXATTR,
	LB_K_TRUNCATE,
	LB_K_UNLINK, /* unlink, unlinkat, rmdir */
	LB_K_RENAME,
	LB_K_MKDIR,
	LB_K_MKNOD,
	LB_K_LINK,
	LB_K_SYMLINK,
	LB_K_CHMOD,
	LB_K_CHOWN,
	LB_K_UTIMES, /* utime, utimes, utimensat, futimesat */
	LB_K_CHDIR,
	LB_K_EXEC,
	LB_K_INOTIFY,
	LB_K_FANOTIFY,
	LB_K_GETDENTS, /* listing: filtered when the policy hides entries */
	LB_K_IOCTL,    /* only the requests of lb_ioctl_rows reach the supervisor */
	LB_K_CONNECT,
	LB_K_BIND,
	LB_K_SENDTO,
	LB_K_SENDMSG,
	LB_K_SENDMMSG,
	LB_K_LISTEN,
	LB_K_SETSOCKOPT, /* only the options that reroute traffic reach the supervisor */
};

/* Flags of a row. */
enum {
	LB_SF_NOFOLLOW = 1u << 0,    /* never follows a final symlink (lstat, unlink...) */
	LB_SF_AT_FLAGS = 1u << 1,    /* flags_arg holds AT_SYMLINK_NOFOLLOW/AT_EMPTY_PATH */
	LB_SF_RMDIR = 1u << 2,	     /* the rmdir form of unlink */
	LB_SF_LEGACY_TIME = 1u << 3, /* utime: struct utimbuf; utimes/futimesat: timeval[2] */
	LB_SF_UTIMBUF = 1u << 4,
	LB_SF_CREAT = 1u << 5, /* creat(): O_CREAT|O_WRONLY|O_TRUNC */
	LB_SF_OPENAT2 = 1u << 6,
	LB_SF_FOLLOW_FLAG = 1u << 7, /* flags_arg has AT_SYMLINK_FOLLOW (linkat) */
	LB_SF_FD = 1u << 8,	     /* fchmod, fchown, fsetxattr...: args[0] is the caller's fd */
};

struct lb_syscall_row {
	int nr;
	const char *name;
	enum lb_sys_kind kind;
	uint8_t dirfd_arg, path_arg;   /* LB_NO_ARG when absent */
	uint8_t dirfd2_arg, path2_arg; /* second path (rename, link), symlink target */
	uint8_t flags_arg;
	uint8_t mode_arg;
	uint32_t flags;
};

/* The row for nr, or NULL. O(1). */
const struct lb_syscall_row *lb_syscall_row(int nr);
/* All rows (for building the filter and for tests). */
size_t lb_syscall_rows(const struct lb_syscall_row **out);
/* Name of any x86_64 syscall number (libseccomp), "?" when unknown. */
const char *lb_syscall_name(int nr);
/* Number of an x86_64 syscall name, negative when unknown. */
int lb_syscall_nr(const char *name);

/* ioctl requests that change a file's metadata (attribute flags such as
 * immutable and append-only, the fsxattr, the generation, fs-verity, an
 * encryption policy) on a descriptor that may be open only for reading:
 * judged as a write of the descriptor's file. `size` is how many bytes
 * of the argument the kernel reads (0: by the struct's version byte);
 * LB_IOCTL_REFUSED: the request makes or removes names the filter cannot
 * judge (btrfs subvolumes) and is refused. */
#define LB_IOCTL_REFUSED (-1)
struct lb_ioctl_row {
	uint32_t req;
	const char *name;
	int size;
};
size_t lb_ioctl_rows(const struct lb_ioctl_row **out);
const struct lb_ioctl_row *lb_ioctl_row(uint32_t req);

/* Calls without a path whose effect the supervisor must know (the umask
 * and credentials a later operation acts with): trapped, recorded and
 * continued. */
size_t lb_tracked_syscalls(const int **out);
bool lb_syscall_is_tracked(int nr);

#endif
