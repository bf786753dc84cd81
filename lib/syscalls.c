/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/fscrypt.h>
#include <linux/fsverity.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "litebox/syscalls.h"
#include "litebox/util.h"

#define N LB_NO_ARG
/* nr, name, kind, dirfd, path, dirfd2, path2, flags, mode, row flags */
#define ROW(sys, kind, d, p, d2, p2, fl, m, f)                                                     \
	{                                                                                          \
		SYS_##sys, #sys, LB_K_##kind, d, p, d2, p2, fl, m, f                               \
	}

/* clang-format off */
static const struct lb_syscall_row rows[] = {
	ROW(open, OPEN, N, 0, N, N, 1, 2, 0),
	ROW(openat, OPEN, 0, 1, N, N, 2, 3, 0),
	ROW(openat2, OPEN, 0, 1, N, N, N, N, LB_SF_OPENAT2),
	ROW(creat, OPEN, N, 0, N, N, N, 1, LB_SF_CREAT),
	ROW(stat, STAT, N, 0, N, N, N, N, 0),
	ROW(lstat, STAT, N, 0, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(newfstatat, STAT, 0, 1, N, N, 3, N, LB_SF_AT_FLAGS),
	ROW(statx, STATX, 0, 1, N, N, 2, N, LB_SF_AT_FLAGS),
	ROW(statfs, STATFS, N, 0, N, N, N, N, 0),
	ROW(access, ACCESS, N, 0, N, N, N, 1, 0),
	ROW(faccessat, ACCESS, 0, 1, N, N, N, 2, 0),
	ROW(faccessat2, ACCESS, 0, 1, N, N, 3, 2, LB_SF_AT_FLAGS),
	ROW(readlink, READLINK, N, 0, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(readlinkat, READLINK, 0, 1, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(getxattr, GETXATTR, N, 0, N, N, N, N, 0),
	ROW(lgetxattr, GETXATTR, N, 0, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(listxattr, LISTXATTR, N, 0, N, N, N, N, 0),
	ROW(llistxattr, LISTXATTR, N, 0, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(setxattr, SETXATTR, N, 0, N, N, N, N, 0),
	ROW(lsetxattr, SETXATTR, N, 0, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(removexattr, REMOVEXATTR, N, 0, N, N, N, N, 0),
	ROW(lremovexattr, REMOVEXATTR, N, 0, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(truncate, TRUNCATE, N, 0, N, N, N, N, 0),
	ROW(unlink, UNLINK, N, 0, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(unlinkat, UNLINK, 0, 1, N, N, 2, N, LB_SF_NOFOLLOW),
	ROW(rmdir, UNLINK, N, 0, N, N, N, N, LB_SF_NOFOLLOW | LB_SF_RMDIR),
	ROW(rename, RENAME, N, 0, N, 1, N, N, LB_SF_NOFOLLOW),
	ROW(renameat, RENAME, 0, 1, 2, 3, N, N, LB_SF_NOFOLLOW),
	ROW(renameat2, RENAME, 0, 1, 2, 3, 4, N, LB_SF_NOFOLLOW),
	ROW(mkdir, MKDIR, N, 0, N, N, N, 1, LB_SF_NOFOLLOW),
	ROW(mkdirat, MKDIR, 0, 1, N, N, N, 2, LB_SF_NOFOLLOW),
	ROW(mknod, MKNOD, N, 0, N, N, N, 1, LB_SF_NOFOLLOW),
	ROW(mknodat, MKNOD, 0, 1, N, N, N, 2, LB_SF_NOFOLLOW),
	ROW(link, LINK, N, 0, N, 1, N, N, LB_SF_NOFOLLOW),
	ROW(linkat, LINK, 0, 1, 2, 3, 4, N, LB_SF_NOFOLLOW | LB_SF_FOLLOW_FLAG),
	/* symlink(target, linkpath): target is content, linkpath is the path */
	ROW(symlink, SYMLINK, N, 1, N, 0, N, N, LB_SF_NOFOLLOW),
	ROW(symlinkat, SYMLINK, 1, 2, N, 0, N, N, LB_SF_NOFOLLOW),
	ROW(chmod, CHMOD, N, 0, N, N, N, 1, 0),
	ROW(fchmodat, CHMOD, 0, 1, N, N, N, 2, 0),
	ROW(fchmodat2, CHMOD, 0, 1, N, N, 3, 2, LB_SF_AT_FLAGS),
	ROW(fchmod, CHMOD, 0, 0, N, N, N, 1, LB_SF_FD),
	ROW(fchown, CHOWN, 0, 0, N, N, N, N, LB_SF_FD),
	ROW(fsetxattr, SETXATTR, 0, 0, N, N, N, N, LB_SF_FD),
	ROW(fremovexattr, REMOVEXATTR, 0, 0, N, N, N, N, LB_SF_FD),
	ROW(chown, CHOWN, N, 0, N, N, N, N, 0),
	ROW(lchown, CHOWN, N, 0, N, N, N, N, LB_SF_NOFOLLOW),
	ROW(fchownat, CHOWN, 0, 1, N, N, 4, N, LB_SF_AT_FLAGS),
	ROW(utime, UTIMES, N, 0, N, N, N, N, LB_SF_LEGACY_TIME | LB_SF_UTIMBUF),
	ROW(utimes, UTIMES, N, 0, N, N, N, N, LB_SF_LEGACY_TIME),
	ROW(futimesat, UTIMES, 0, 1, N, N, N, N, LB_SF_LEGACY_TIME),
	ROW(utimensat, UTIMES, 0, 1, N, N, 3, N, LB_SF_AT_FLAGS),
	ROW(chdir, CHDIR, N, 0, N, N, N, N, 0),
	ROW(execve, EXEC, N, 0, N, N, N, N, 0),
	ROW(execveat, EXEC, 0, 1, N, N, 4, N, LB_SF_AT_FLAGS),
	ROW(inotify_add_watch, INOTIFY, N, 1, N, N, 2, N, 0),
	ROW(fanotify_mark, FANOTIFY, 3, 4, N, N, 1, N, 0),
	ROW(getdents64, GETDENTS, N, N, N, N, N, N, 0),
	ROW(getdents, GETDENTS, N, N, N, N, N, N, 0),
	ROW(ioctl, IOCTL, 0, 0, N, N, N, N, LB_SF_FD),
	ROW(connect, CONNECT, N, N, N, N, N, N, 0),
	ROW(bind, BIND, N, N, N, N, N, N, 0),
	ROW(sendto, SENDTO, N, N, N, N, N, N, 0),
	ROW(sendmsg, SENDMSG, N, N, N, N, N, N, 0),
	ROW(sendmmsg, SENDMMSG, N, N, N, N, N, N, 0),
	ROW(listen, LISTEN, N, N, N, N, N, N, 0),
	ROW(setsockopt, SETSOCKOPT, N, N, N, N, N, N, 0),
};
/* clang-format on */
#undef ROW
#undef N

static const struct lb_syscall_row *by_nr[LB_MAX_NR];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(rows); i++)
		if (rows[i].nr >= 0 && rows[i].nr < LB_MAX_NR)
			by_nr[rows[i].nr] = &rows[i];
}

const struct lb_syscall_row *lb_syscall_row(int nr)
{
	pthread_once(&index_once, build_index);
	if (nr < 0 || nr >= LB_MAX_NR)
		return NULL;
	return by_nr[nr];
}

size_t lb_syscall_rows(const struct lb_syscall_row **out)
{
	*out = rows;
	return LB_ARRAY_SIZE(rows);
}

const char *lb_syscall_name(int nr)
{
	const struct lb_syscall_row *r = lb_syscall_row(nr);
	if (r)
		return r->name;
	/* libseccomp returns a malloc'd string; names are cached per nr. */
	static char *cache[LB_MAX_NR];
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	if (nr < 0 || nr >= LB_MAX_NR)
		return "?";
	pthread_mutex_lock(&lock);
	if (!cache[nr])
		cache[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
	const char *name = cache[nr] ? cache[nr] : "?";
	pthread_mutex_unlock(&lock);
	return name;
}

int lb_syscall_nr(const char *name)
{
	return seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
}

static const int tracked_nrs[] = {SYS_umask,	SYS_setuid,    SYS_setgid,    SYS_setreuid,
				  SYS_setregid, SYS_setresuid, SYS_setresgid, SYS_setfsuid,
				  SYS_setfsgid, SYS_setgroups, SYS_capset};

size_t lb_tracked_syscalls(const int **out)
{
	*out = tracked_nrs;
	return LB_ARRAY_SIZE(tracked_nrs);
}

bool lb_syscall_is_tracked(int nr)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(tracked_nrs); i++)
		if (tracked_nrs[i] == nr)
			return true;
	return false;
}

/* ext4's own name for the generation request, beside FS_IOC_SETVERSION
 * (not in the uapi headers) */
#define EXT4_IOC_SETVERSION _IOW('f', 4, long)
#define IOCTL(r, size)                                                                             \
	{                                                                                          \
		(uint32_t)(r), #r, size                                                            \
	}
static const struct lb_ioctl_row ioctl_rows[] = {
    IOCTL(FS_IOC_SETFLAGS, sizeof(int)), /* the kernel reads an int */
    IOCTL(FS_IOC_FSSETXATTR, sizeof(struct fsxattr)),
    IOCTL(FS_IOC_SETVERSION, sizeof(int)),
    IOCTL(EXT4_IOC_SETVERSION, sizeof(int)),
    IOCTL(FS_IOC_ENABLE_VERITY, sizeof(struct fsverity_enable_arg)),
    IOCTL(FS_IOC_SET_ENCRYPTION_POLICY, 0),
    IOCTL(BTRFS_IOC_SNAP_CREATE, LB_IOCTL_REFUSED),
    IOCTL(BTRFS_IOC_SNAP_CREATE_V2, LB_IOCTL_REFUSED),
    IOCTL(BTRFS_IOC_SUBVOL_CREATE, LB_IOCTL_REFUSED),
    IOCTL(BTRFS_IOC_SUBVOL_CREATE_V2, LB_IOCTL_REFUSED),
    IOCTL(BTRFS_IOC_SNAP_DESTROY, LB_IOCTL_REFUSED),
    IOCTL(BTRFS_IOC_SNAP_DESTROY_V2, LB_IOCTL_REFUSED),
    IOCTL(BTRFS_IOC_SUBVOL_SETFLAGS, LB_IOCTL_REFUSED),
    IOCTL(BTRFS_IOC_SET_RECEIVED_SUBVOL, LB_IOCTL_REFUSED),
};
#undef IOCTL

size_t lb_ioctl_rows(const struct lb_ioctl_row **out)
{
	*out = ioctl_rows;
	return LB_ARRAY_SIZE(ioctl_rows);
}

const struct lb_ioctl_row *lb_ioctl_row(uint32_t req)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(ioctl_rows); i++)
		if (ioctl_rows[i].req == req)
			return &ioctl_rows[i];
	return NULL;
}
