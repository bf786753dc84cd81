/* SPDX-License-Identifier: MIT */
#include "bind.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "litebox/util.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif

struct lb_mount_attr { /* struct mount_attr, which older libcs lack */
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

int lb_bind_object(const char *path, const struct stat *want, const char *target,
		   mode_t target_type, unsigned flags)
{
	unsigned rec = flags & LB_BIND_RECURSIVE ? AT_RECURSIVE : 0;
	lb_autoclose int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path,
					     OPEN_TREE_CLONE | O_CLOEXEC | AT_SYMLINK_NOFOLLOW | rec);
	struct stat st;
	if (tree < 0)
		return -errno;
	if (fstat(tree, &st) < 0 || (st.st_mode & S_IFMT) != (want->st_mode & S_IFMT) ||
	    (want->st_ino && (st.st_dev != want->st_dev || st.st_ino != want->st_ino)))
		return -EPERM;
	struct lb_mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	if ((flags & LB_BIND_RDONLY) &&
	    syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) < 0)
		return -errno;
	lb_autoclose int to = open(target, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (to < 0 || fstat(to, &st) < 0 || (st.st_mode & S_IFMT) != target_type)
		return -EPERM;
	if (syscall(SYS_move_mount, tree, "", to, "",
		    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}
