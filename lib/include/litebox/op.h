/* SPDX-License-Identifier: MIT */
/* The north: one trapped call as a typed request. The syscall table row
 * says which register is what; lb_op_decode reads the registers once into
 * named fields (the same field whatever form the call came in: stat's
 * buffer is args[1], newfstatat's args[2], both are after[0]), and the
 * lb_op_* readers copy the caller's memory once. No decisions and no host
 * calls: a decode error is the errno Linux gives for that argument. */
#ifndef LITEBOX_OP_H
#define LITEBOX_OP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "litebox/syscalls.h"

struct lb_trap;
struct lb_platform_ops;

struct lb_op {
	enum lb_sys_kind what;
	const struct lb_syscall_row *row;
	/* Which object: a name (path, copied on demand) from a directory fd,
	 * or one of the caller's fds. */
	int dirfd, dirfd2;    /* AT_FDCWD where the row names none */
	uint64_t path, path2; /* addresses in the caller; 0 is NULL */
	int fd;		      /* fd forms (fchmod, fsetxattr...): the caller's fd; else -1 */
	bool has_path, has_path2;
	/* How: the row's flags argument (open's O_*, rename's RENAME_*,
	 * inotify's mask...), its AT_* flags, its mode. creat and openat2
	 * are decoded to open's flags and mode. */
	uint64_t flags;
	unsigned at_flags;
	mode_t mode;
	bool follow; /* a final symlink is followed (row, AT_SYMLINK_NOFOLLOW) */
	/* The arguments after the path, whatever the form: after[k] is the
	 * (k+2)th argument counted from the path (stat's buffer, xattr's
	 * name, chown's ids). */
	uint64_t after[4];
	/* All registers, for the calls the table gives no path (sockets,
	 * getdents). */
	uint64_t args[6];
	/* Where the caller's memory is read from. */
	const struct lb_platform_ops *ops;
	struct lb_trap *t;
};

/* Fill op from the row and the trapped call's registers (and, for
 * openat2, its struct open_how). 0 or -errno. */
int lb_op_decode(const struct lb_syscall_row *row, const struct lb_platform_ops *ops,
		 struct lb_trap *t, struct lb_op *op);
/* The NUL-terminated path at addr, copied once into buf (PATH_MAX). */
int lb_op_read_path(const struct lb_op *op, uint64_t addr, char *buf);

#endif
