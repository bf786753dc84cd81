/* SPDX-License-Identifier: MIT */
/* The north: a trapped call's registers and memory as an lb_op (see
 * litebox/op.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>

#include "litebox/op.h"
#include "litebox/platform.h"

static uint64_t arg_or(const struct lb_trap *t, uint8_t i, uint64_t none)
{
	return i == LB_NO_ARG ? none : t->args[i];
}

#define LB_OPEN_HOW_MIN 24   /* OPEN_HOW_SIZE_VER0 */
#define LB_OPEN_HOW_MAX 4096 /* PAGE_SIZE: the kernel's bound on usize */

/* openat2's struct as the kernel copies it (copy_struct_from_user): at
 * least the first version's 24 bytes (EINVAL), at most a page, and bytes
 * past the fields this kernel knows must be zero (E2BIG): a newer
 * struct's extension is never silently ignored. */
static int read_open_how(const struct lb_platform_ops *ops, struct lb_trap *t, struct open_how *how)
{
	uint64_t addr = t->args[2], usize = t->args[3];
	if (usize < LB_OPEN_HOW_MIN)
		return -EINVAL;
	if (usize > LB_OPEN_HOW_MAX)
		return -E2BIG;
	unsigned char buf[LB_OPEN_HOW_MAX];
	int rc = ops->read_mem(t, addr, buf, (size_t)usize);
	if (rc < 0)
		return rc;
	for (size_t i = sizeof(*how); i < usize; i++)
		if (buf[i])
			return -E2BIG;
	memcpy(how, buf, sizeof(*how));
	return 0;
}

#define LB_VALID_OPEN                                                                              \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |     \
	 O_SYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME |         \
	 O_CLOEXEC | O_PATH | O_TMPFILE)
#define LB_VALID_RESOLVE                                                                           \
	(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |         \
	 RESOLVE_IN_ROOT | RESOLVE_CACHED)

/* build_open_flags' EINVALs, in its order: openat2 refuses what open
 * ignores (unknown flags, a mode without O_CREAT or O_TMPFILE). */
static int check_open_how(const struct open_how *how)
{
	if (how->flags & ~(uint64_t)LB_VALID_OPEN)
		return -EINVAL;
	if (how->resolve & ~(uint64_t)LB_VALID_RESOLVE)
		return -EINVAL;
	if ((how->resolve & RESOLVE_BENEATH) && (how->resolve & RESOLVE_IN_ROOT))
		return -EINVAL;
	uint64_t tmpfile = O_TMPFILE & ~O_DIRECTORY;
	bool makes = how->flags & (O_CREAT | tmpfile);
	if (how->mode & ~(uint64_t)(makes ? 07777 : 0))
		return -EINVAL;
	if ((how->flags & tmpfile) &&
	    ((how->flags & (O_TMPFILE | O_CREAT)) != O_TMPFILE || (how->flags & O_ACCMODE) == 0))
		return -EINVAL;
	if ((how->flags & O_PATH) &&
	    (how->flags & ~(uint64_t)(O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)))
		return -EINVAL;
	return 0;
}

/* open's flags and mode, whatever the form. */
static int decode_open(const struct lb_syscall_row *row, const struct lb_platform_ops *ops,
		       struct lb_trap *t, struct lb_op *op)
{
	if (row->flags & LB_SF_CREAT) {
		op->flags = O_CREAT | O_WRONLY | O_TRUNC;
		return 0;
	}
	if (!(row->flags & LB_SF_OPENAT2))
		return 0;
	struct open_how how;
	int rc = read_open_how(ops, t, &how);
	if (rc == 0)
		rc = check_open_how(&how);
	if (rc < 0)
		return rc;
	/* RESOLVE_* restrictions are not emulated yet: say so, and callers
	 * (systemd, runc) fall back to openat. */
	if (how.resolve != 0)
		return -ENOSYS;
	op->flags = how.flags;
	op->mode = (mode_t)how.mode;
	return 0;
}

int lb_op_decode(const struct lb_syscall_row *row, const struct lb_platform_ops *ops,
		 struct lb_trap *t, struct lb_op *op)
{
	*op = (struct lb_op){
	    .what = row->kind,
	    .row = row,
	    .dirfd = (int)arg_or(t, row->dirfd_arg, (uint64_t)AT_FDCWD),
	    .dirfd2 = (int)arg_or(t, row->dirfd2_arg, (uint64_t)AT_FDCWD),
	    .path = arg_or(t, row->path_arg, 0),
	    .path2 = arg_or(t, row->path2_arg, 0),
	    .has_path = row->path_arg != LB_NO_ARG,
	    .has_path2 = row->path2_arg != LB_NO_ARG,
	    .fd = (row->flags & LB_SF_FD) ? (int)t->args[row->path_arg] : -1,
	    .flags = arg_or(t, row->flags_arg, 0),
	    .mode = (mode_t)arg_or(t, row->mode_arg, 0),
	    .ops = ops,
	    .t = t,
	};
	memcpy(op->args, t->args, sizeof(op->args));
	if ((row->flags & LB_SF_AT_FLAGS) && row->flags_arg != LB_NO_ARG)
		op->at_flags = (unsigned)t->args[row->flags_arg];
	op->follow = !(row->flags & LB_SF_NOFOLLOW) && !(op->at_flags & AT_SYMLINK_NOFOLLOW);
	for (unsigned k = 0; row->path_arg != LB_NO_ARG && k < 4; k++)
		if (row->path_arg + 1u + k < 6)
			op->after[k] = t->args[row->path_arg + 1u + k];
	if (row->kind == LB_K_OPEN)
		return decode_open(row, ops, t, op);
	return 0;
}

int lb_op_read_path(const struct lb_op *op, uint64_t addr, char *buf)
{
	return op->ops->read_str(op->t, addr, buf, PATH_MAX);
}
