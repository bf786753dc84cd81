/* SPDX-License-Identifier: MIT */
/* A bind mount of exactly the object litebox looked at. */
#ifndef LITEBOX_BIND_H
#define LITEBOX_BIND_H

#include <stdbool.h>
#include <sys/stat.h>

enum { LB_BIND_RDONLY = 1, LB_BIND_RECURSIVE = 2 };

/* The object at path bound on target (a file of target_type the caller
 * made), through descriptors: a name given to mount(2) is looked up again
 * and follows a symlink a racer swapped in, so the object is cloned by
 * open_tree without following a final link, checked to be of want's type
 * and, when want names one, that very inode, made read-only while still
 * detached (LB_BIND_RDONLY), then moved into place. -EPERM when the object
 * or the target is not the one expected. */
int lb_bind_object(const char *path, const struct stat *want, const char *target,
		   mode_t target_type, unsigned flags);

#endif
