/* SPDX-License-Identifier: MIT */
/* The syscall table is data: check it against libseccomp's own table. */
#include <criterion/criterion.h>
#include <seccomp.h>
#include <string.h>

#include "litebox/syscalls.h"

Test(syscalls, names_match_numbers)
{
	const struct lb_syscall_row *rows;
	size_t n = lb_syscall_rows(&rows);
	cr_assert(n > 50);
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, rows[i].name);
		cr_expect_eq(nr, rows[i].nr, "%s: table says %d, libseccomp %d", rows[i].name,
			     rows[i].nr, nr);
		cr_expect_eq(lb_syscall_row(rows[i].nr), &rows[i], "%s is found by number",
			     rows[i].name);
	}
}

Test(syscalls, argument_indices_are_valid)
{
	const struct lb_syscall_row *rows;
	size_t n = lb_syscall_rows(&rows);
	for (size_t i = 0; i < n; i++) {
		const uint8_t idx[] = {rows[i].dirfd_arg, rows[i].path_arg,  rows[i].dirfd2_arg,
				       rows[i].path2_arg, rows[i].flags_arg, rows[i].mode_arg};
		for (size_t k = 0; k < sizeof(idx); k++)
			cr_expect(idx[k] == LB_NO_ARG || idx[k] < 6, "%s arg %zu", rows[i].name, k);
		bool fs = rows[i].kind < LB_K_GETDENTS;
		if (fs)
			cr_expect(rows[i].path_arg != LB_NO_ARG, "%s takes a path", rows[i].name);
	}
}

/* Every path-taking call of x86_64 that litebox must judge has a row. */
Test(syscalls, coverage)
{
	static const char *const must[] = {
	    "open",
	    "openat",
	    "openat2",
	    "creat",
	    "stat",
	    "lstat",
	    "newfstatat",
	    "statx",
	    "access",
	    "faccessat",
	    "faccessat2",
	    "readlink",
	    "readlinkat",
	    "getxattr",
	    "lgetxattr",
	    "listxattr",
	    "llistxattr",
	    "setxattr",
	    "lsetxattr",
	    "removexattr",
	    "lremovexattr",
	    "truncate",
	    "unlink",
	    "unlinkat",
	    "rename",
	    "renameat",
	    "renameat2",
	    "mkdir",
	    "mkdirat",
	    "rmdir",
	    "link",
	    "linkat",
	    "symlink",
	    "symlinkat",
	    "chmod",
	    "fchmodat",
	    "chown",
	    "lchown",
	    "fchownat",
	    "utime",
	    "utimes",
	    "utimensat",
	    "futimesat",
	    "mknod",
	    "mknodat",
	    "chdir",
	    "execve",
	    "execveat",
	    "inotify_add_watch",
	    "fanotify_mark",
	    "statfs",
	    "connect",
	    "bind",
	    "sendto",
	    "sendmsg",
	    "sendmmsg",
	};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, must[i]);
		cr_expect(lb_syscall_row(nr) != NULL, "%s has a row", must[i]);
	}
	cr_expect_null(lb_syscall_row(39 /* getpid */));
	cr_expect_str_eq(lb_syscall_name(39), "getpid");
}
