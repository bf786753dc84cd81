/* SPDX-License-Identifier: MIT */
/* The north: a trapped call's registers and memory as an lb_op (see
 * litebox/op.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>

#include "litebox/op.h"
#include "litebox/platform.h"

static uint64_t arg_or(const struct lb_trap *t, uint8_t i, uint64_t none)
{
	return i == LB_NO_ARG ? none : t->args[i];
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
	if (t->args[3] < sizeof(how))
		return -EINVAL;
	int rc = ops->read_mem(t, t->args[2], &how, sizeof(how));
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
