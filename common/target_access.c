/* SPDX-License-Identifier: MIT */
/* Reading and writing a trapped caller's memory and taking its fds is
 * litebox's own work, not an operation done for the program, so it uses
 * litebox's authority. Worker threads usually run with the program's
 * effective capabilities (host operations must be the program's), and a
 * caller that made itself non-dumpable (gpg-agent, ssh-agent, anything
 * with PR_SET_DUMPABLE 0) can then be reached only with CAP_SYS_PTRACE:
 * raise it on this thread for the one call that was refused, then lower
 * it again. CAP_SYS_PTRACE stays in the permitted set for this. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "litebox/target.h"

struct caps {
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
};

/* Raise CAP_SYS_PTRACE in this thread's effective set; false when it was
 * already there or cannot be raised (nothing to undo). */
static bool raise_ptrace(struct caps *saved)
{
	saved->hdr = (struct __user_cap_header_struct){.version = _LINUX_CAPABILITY_VERSION_3};
	if (syscall(SYS_capget, &saved->hdr, saved->data) < 0)
		return false;
	const uint32_t bit = 1u << (CAP_SYS_PTRACE % 32);
	struct __user_cap_data_struct *d = &saved->data[CAP_SYS_PTRACE / 32];
	if ((d->effective & bit) || !(d->permitted & bit))
		return false;
	struct __user_cap_data_struct raised[2] = {saved->data[0], saved->data[1]};
	raised[CAP_SYS_PTRACE / 32].effective |= bit;
	return syscall(SYS_capset, &saved->hdr, raised) == 0;
}

static void lower_ptrace(struct caps *saved)
{
	syscall(SYS_capset, &saved->hdr, saved->data);
}

ssize_t lb_target_vm(pid_t pid, void *local_buf, uint64_t addr, size_t len, bool write)
{
	struct iovec local = {.iov_base = local_buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	ssize_t n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
			  : process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n >= 0 || errno != EPERM)
		return n;
	struct caps saved;
	if (!raise_ptrace(&saved))
		return n;
	n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
		  : process_vm_readv(pid, &local, 1, &remote, 1, 0);
	int err = errno;
	lower_ptrace(&saved);
	errno = err;
	return n;
}

int lb_target_open(const char *proc_path, int flags)
{
	int fd = open(proc_path, flags);
	/* a non-dumpable task's fd entries are refused, or look absent */
	if (fd >= 0 || (errno != EACCES && errno != EPERM && errno != ENOENT))
		return fd;
	struct caps saved;
	if (!raise_ptrace(&saved))
		return fd;
	fd = open(proc_path, flags);
	int err = errno;
	lower_ptrace(&saved);
	errno = err;
	return fd;
}

int lb_target_getfd(int pidfd, int target_fd)
{
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
	if (fd >= 0 || errno != EPERM)
		return fd;
	struct caps saved;
	if (!raise_ptrace(&saved))
		return fd;
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
	int err = errno;
	lower_ptrace(&saved);
	errno = err;
	return fd;
}

int lb_target_copy(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = lb_target_vm(pid, buf, addr, len, false);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : -EFAULT;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* Page by page: a string may end right before an unmapped page, which a
 * single large read would fault on. Most paths are short: a first small
 * read saves copying a page. */
int lb_target_read_str(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
	const uint64_t page = 4096;
	size_t got = 0;
	if (addr == 0)
		return -EFAULT;
	while (got < cap) {
		uint64_t cur = addr + got;
		size_t chunk = (size_t)(page - (cur % page));
		if (got == 0 && chunk > 256)
			chunk = 256;
		if (chunk > cap - got)
			chunk = cap - got;
		int rc = lb_target_copy(pid, cur, buf + got, chunk);
		if (rc < 0)
			return rc;
		if (memchr(buf + got, '\0', chunk))
			return 0;
		got += chunk;
	}
	return -ENAMETOOLONG;
}
