/* SPDX-License-Identifier: MIT */
/* A trapped caller's memory, fds and /proc links, reached with litebox's
 * own authority (common/target_access.c says why). */
#ifndef LITEBOX_TARGET_H
#define LITEBOX_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* process_vm_readv/writev and pidfd_getfd on a trapped caller, with
 * litebox's own CAP_SYS_PTRACE raised for the call where the caller made
 * itself non-dumpable (errno set as by the call; see target_access.c). */
ssize_t lb_target_vm(pid_t pid, void *local_buf, uint64_t addr, size_t len, bool write);
int lb_target_getfd(int pidfd, int target_fd);
/* open() of a caller's /proc/TID/{cwd,fd/N} magic link, likewise. */
int lb_target_open(const char *proc_path, int flags);
/* Copy len bytes from the caller: 0, -ESRCH (gone) or -EFAULT. */
int lb_target_copy(pid_t pid, uint64_t addr, void *buf, size_t len);
/* Copy a NUL-terminated string of at most cap bytes: 0, -ENAMETOOLONG,
 * -ESRCH or -EFAULT. Callers check the trap is still live afterwards. */
int lb_target_read_str(pid_t pid, uint64_t addr, char *buf, size_t cap);

#endif
