/* SPDX-License-Identifier: MIT */
/* memfd_create, performed by the supervisor (lb_host_memfd). A memfd lives on an internal
 * mount that Landlock does not see, so the exec layer cannot stop a
 * program that wins the race between the supervisor's judgement of an
 * execve and the kernel's own lookup (swapping the path for
 * /proc/self/fd/N of a memfd holding a binary). vm.memfd_noexec would
 * close it, but only root can set it for the sandbox's pid namespace.
 * So every memfd of the sandbox is made here with MFD_NOEXEC_SEAL (Linux
 * 6.3+): no x bit, and F_SEAL_EXEC keeps fchmod from adding one, whoever
 * the program is. MFD_EXEC is refused (and recorded). */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core_internal.h"
#include "litebox/south.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define LB_MFD_NAME_MAX 249 /* the kernel's limit, without "memfd:" */

struct lb_answer lb_memfd_handle(struct lb_call *c)
{
	char name[LB_MFD_NAME_MAX + 1], object[LB_MFD_NAME_MAX + 16];
	unsigned flags = (unsigned)c->t->args[1];
	int rc = c->ops->read_str(c->t, c->t->args[0], name, sizeof(name));
	if (rc < 0)
		return lb_ans_errno(rc == -ENAMETOOLONG ? EINVAL : -rc);
	if (flags & MFD_EXEC) {
		snprintf(object, sizeof(object), "memfd:%s", name);
		return lb_ans_errno(-lb_refuse_object(c, LB_CLASS_EXEC, object));
	}
	struct lb_answer a = lb_host_memfd(c, name, flags | MFD_NOEXEC_SEAL, flags & MFD_CLOEXEC);
	/* Before 6.3 no memfd can be sealed against exec: answer as a kernel
	 * without memfd would, and libcs and programs fall back to files
	 * under /dev/shm or $TMPDIR, which Landlock sees. */
	if (a.kind == LB_ANS_ERROR && a.err == EINVAL && !(flags & ~0x1fU))
		return lb_ans_errno(ENOSYS);
	return a;
}
