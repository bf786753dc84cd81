/* SPDX-License-Identifier: MIT */
/* The north alone: a trapped call's registers (and openat2's struct) as
 * an lb_op, the same fields whatever form the call came in. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fake_platform.h"
#include "litebox/op.h"

static struct fake_target ft;

static void setup(void)
{
	fake_init(&ft);
}

static void teardown(void)
{
	fake_fini(&ft);
}

TestSuite(north, .init = setup, .fini = teardown);

static struct lb_op decode(int nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			   int want_rc)
{
	struct lb_trap t = {.pid = ft.tid, .nr = nr, .args = {a0, a1, a2, a3, a4}, .priv = &ft};
	const struct lb_syscall_row *row = lb_syscall_row(nr);
	cr_assert(row, "a row for %d", nr);
	struct lb_op op;
	cr_assert_eq(lb_op_decode(row, &fake_platform, &t, &op), want_rc);
	return op;
}

Test(north, the_forms_of_a_call_decode_alike)
{
	/* stat(path, buf) and newfstatat(dirfd, path, buf, flags) */
	struct lb_op a = decode(SYS_stat, 0x1000, 0x2000, 0, 0, 0, 0);
	struct lb_op b = decode(SYS_newfstatat, 7, 0x1000, 0x2000, AT_SYMLINK_NOFOLLOW, 0, 0);
	cr_expect_eq(a.what, LB_K_STAT);
	cr_expect_eq(a.dirfd, AT_FDCWD, "no dirfd: the cwd");
	cr_expect_eq(b.dirfd, 7);
	cr_expect_eq(a.path, b.path);
	cr_expect_eq(a.after[0], b.after[0], "the result buffer, whatever the form");
	cr_expect(a.follow, "stat follows");
	cr_expect_not(b.follow, "AT_SYMLINK_NOFOLLOW");
	cr_expect_eq(b.at_flags, AT_SYMLINK_NOFOLLOW);
	cr_expect_not(decode(SYS_lstat, 0x1000, 0x2000, 0, 0, 0, 0).follow, "lstat's row");
	cr_expect_eq(a.fd, -1);
}

Test(north, second_paths_and_fd_forms)
{
	struct lb_op r = decode(SYS_renameat2, 3, 0x1000, 4, 0x2000, RENAME_NOREPLACE, 0);
	cr_expect_eq(r.dirfd, 3);
	cr_expect_eq(r.dirfd2, 4);
	cr_expect_eq(r.path2, 0x2000);
	cr_expect_eq(r.flags, RENAME_NOREPLACE);
	r = decode(SYS_rename, 0x1000, 0x2000, 0, 0, 0, 0);
	cr_expect_eq(r.dirfd2, AT_FDCWD);
	cr_expect_eq(r.flags, 0, "no flags argument: none");
	/* fchmod(fd, mode): the caller's fd is the object */
	struct lb_op f = decode(SYS_fchmod, 5, 0640, 0, 0, 0, 0);
	cr_expect_eq(f.fd, 5);
	cr_expect_eq(f.mode, 0640);
	cr_expect_eq(decode(SYS_chmod, 0x1000, 0600, 0, 0, 0, 0).fd, -1);
	/* fchownat's ids and chown's are the same fields */
	struct lb_op c1 = decode(SYS_chown, 0x1000, 10, 20, 0, 0, 0);
	struct lb_op c2 = decode(SYS_fchownat, 3, 0x1000, 10, 20, AT_EMPTY_PATH, 0);
	cr_expect_eq(c1.after[0], c2.after[0]);
	cr_expect_eq(c1.after[1], c2.after[1]);
	cr_expect_eq(c2.at_flags, AT_EMPTY_PATH);
}

Test(north, open_flags_whatever_the_form)
{
	struct lb_op o = decode(SYS_openat, AT_FDCWD, 0x1000, O_WRONLY | O_CREAT, 0600, 0, 0);
	cr_expect_eq(o.flags, O_WRONLY | O_CREAT);
	cr_expect_eq(o.mode, 0600);
	o = decode(SYS_creat, 0x1000, 0644, 0, 0, 0, 0);
	cr_expect_eq(o.flags, O_CREAT | O_WRONLY | O_TRUNC, "creat is open with these flags");
	cr_expect_eq(o.mode, 0644);
	struct open_how how = {.flags = O_RDWR | O_CLOEXEC, .mode = 0};
	uint64_t h = fake_put(&ft, &how, sizeof(how));
	o = decode(SYS_openat2, AT_FDCWD, 0x1000, h, sizeof(how), 0, 0);
	cr_expect_eq(o.flags, O_RDWR | O_CLOEXEC, "openat2's flags come from its struct");
	/* the errors Linux gives for the struct itself */
	decode(SYS_openat2, AT_FDCWD, 0x1000, h, sizeof(how) - 1, 0, -EINVAL);
	decode(SYS_openat2, AT_FDCWD, 0x1000, 0x10, sizeof(how), 0, -EFAULT);
	how.resolve = RESOLVE_NO_SYMLINKS;
	h = fake_put(&ft, &how, sizeof(how));
	decode(SYS_openat2, AT_FDCWD, 0x1000, h, sizeof(how), 0, -ENOSYS);
}

Test(north, paths_are_copied_once_from_the_callers_memory)
{
	uint64_t p = fake_put_str(&ft, "some/path");
	struct lb_op o = decode(SYS_unlink, p, 0, 0, 0, 0, 0);
	char buf[PATH_MAX];
	cr_assert_eq(lb_op_read_path(&o, o.path, buf), 0);
	cr_expect_str_eq(buf, "some/path");
	cr_expect_eq(lb_op_read_path(&o, 0x10, buf), -EFAULT);
}

/* openat2's struct is judged as Linux copies and checks it, before any
 * judgement of the path: each row is what the kernel answers natively. */
struct how_case {
	const char *what;
	struct open_how how;
	size_t usize;	    /* the size argument */
	unsigned char tail; /* the byte at offset 24 and on, when usize > 24 */
	int want;
};

Test(north, openat2_struct_errors_as_linux)
{
	static const struct how_case cases[] = {
	    {"the first version's size", {.flags = O_RDONLY}, 24, 0, 0},
	    {"one byte short", {.flags = O_RDONLY}, 23, 0, -EINVAL},
	    {"no struct at all", {.flags = O_RDONLY}, 0, 0, -EINVAL},
	    {"a larger struct, zero past the known fields", {.flags = O_RDONLY}, 64, 0, 0},
	    {"a larger struct with a field this kernel lacks", {.flags = O_RDONLY}, 64, 1, -E2BIG},
	    {"past a page", {.flags = O_RDONLY}, 4097, 0, -E2BIG},
	    {"an unknown open flag", {.flags = O_RDONLY | (1ull << 40)}, 24, 0, -EINVAL},
	    {"an unknown resolve flag", {.flags = O_RDONLY, .resolve = 0x80}, 24, 0, -EINVAL},
	    {"beneath and in-root", {.resolve = RESOLVE_BENEATH | RESOLVE_IN_ROOT}, 24, 0, -EINVAL},
	    {"a mode without O_CREAT", {.flags = O_RDONLY, .mode = 0600}, 24, 0, -EINVAL},
	    {"a mode with O_CREAT", {.flags = O_WRONLY | O_CREAT, .mode = 0600}, 24, 0, 0},
	    {"a mode beyond 07777", {.flags = O_WRONLY | O_CREAT, .mode = 010000}, 24, 0, -EINVAL},
	    {"O_TMPFILE read-only", {.flags = O_TMPFILE | O_RDONLY, .mode = 0600}, 24, 0, -EINVAL},
	    {"O_TMPFILE for writing", {.flags = O_TMPFILE | O_RDWR, .mode = 0600}, 24, 0, 0},
	    {"O_PATH with O_RDWR", {.flags = O_PATH | O_RDWR}, 24, 0, -EINVAL},
	    {"O_PATH with O_CLOEXEC", {.flags = O_PATH | O_CLOEXEC}, 24, 0, 0},
	    {"a valid resolve flag (not emulated)",
	     {.resolve = RESOLVE_NO_SYMLINKS},
	     24,
	     0,
	     -ENOSYS},
	    {"a larger struct is checked before resolve", {.resolve = 1}, 32, 7, -E2BIG},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct how_case *k = &cases[i];
		static unsigned char buf[4200];
		memset(buf, k->tail, sizeof(buf));
		memcpy(buf, &k->how, sizeof(k->how));
		uint64_t h = fake_put(&ft, buf, k->usize > 24 ? k->usize : 24);
		struct lb_trap t = {.pid = ft.tid,
				    .nr = SYS_openat2,
				    .args = {AT_FDCWD, 0x1000, h, k->usize},
				    .priv = &ft};
		struct lb_op op;
		int rc = lb_op_decode(lb_syscall_row(SYS_openat2), &fake_platform, &t, &op);
		cr_expect_eq(rc, k->want, "%s: %d, want %d", k->what, rc, k->want);
	}
}
