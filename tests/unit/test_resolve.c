/* SPDX-License-Identifier: MIT */
/* The resolver on a fixture tree: symlinks (relative, absolute, chains,
 * loops), ".." across symlinks, trailing slashes, long paths, /proc/self,
 * a deleted directory. Table-driven: (start, path, flags) -> (errno or the
 * canonical path and final name). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "litebox/resolve.h"

static char root[PATH_MAX];
static int rootfd = -1;

static void mk(const char *rel, bool dir)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (dir)
		cr_assert(mkdir(p, 0755) == 0, "mkdir %s", p);
	else
		cr_assert(close(open(p, O_CREAT | O_WRONLY, 0644)) == 0);
}

static void ln(const char *target, const char *rel)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	cr_assert(symlink(target, p) == 0, "symlink %s", p);
}

static void setup_tree(void)
{
	char tmpl[] = "/tmp/lb-resolve-XXXXXX";
	cr_assert(mkdtemp(tmpl));
	cr_assert(realpath(tmpl, root));
	mk("a", true);
	mk("a/b", true);
	mk("a/b/f", false);
	mk("c", true);
	ln("a/b", "rel");   /* relative link to a dir */
	ln("/etc", "abs");  /* absolute link leaving the tree */
	ln("rel", "chain"); /* link to a link */
	ln("loop1", "loop2");
	ln("loop2", "loop1");	   /* a loop */
	ln("../c", "a/up");	   /* relative link with .. */
	ln("f", "a/b/flink");	   /* link to a file in the same dir */
	ln("missing", "dangling"); /* dangling */
	rootfd = open("/", O_PATH | O_DIRECTORY);
}

static void teardown_tree(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert(system(cmd) == 0);
	close(rootfd);
}

TestSuite(resolve, .init = setup_tree, .fini = teardown_tree);

struct row {
	const char *path; /* relative to the fixture root unless absolute */
	unsigned flags;
	int err;	  /* expected -errno, 0 for success */
	const char *want; /* canonical path, "@" = fixture root prefix */
	const char *name; /* final component */
};

static const struct row rows[] = {
    {"a/b/f", LB_RES_FOLLOW, 0, "@/a/b/f", "f"},
    {"a/./b/../b/f", LB_RES_FOLLOW, 0, "@/a/b/f", "f"},
    {"a//b///f", LB_RES_FOLLOW, 0, "@/a/b/f", "f"},
    {"rel/f", LB_RES_FOLLOW, 0, "@/a/b/f", "f"},
    {"chain/f", LB_RES_FOLLOW, 0, "@/a/b/f", "f"},
    {"rel/../b/f", LB_RES_FOLLOW, 0, "@/a/b/f", "f"}, /* .. is physical: rel -> a/b, .. -> a */
    {"a/up", 0, 0, "@/a/up", "up"},		      /* no follow: the link itself */
    {"a/up", LB_RES_FOLLOW, 0, "@/c", "c"},
    {"a/up/", 0, 0, "@/c", "c"}, /* a trailing slash follows */
    {"a/b/flink", LB_RES_FOLLOW, 0, "@/a/b/f", "f"},
    {"a/b/flink", 0, 0, "@/a/b/flink", "flink"},
    {"abs/hostname", LB_RES_FOLLOW, 0, "/etc/hostname", "hostname"},
    {"loop1", LB_RES_FOLLOW, -ELOOP, NULL, NULL},
    {"loop1/x", 0, -ELOOP, NULL, NULL},
    {"loop1", 0, 0, "@/loop1", "loop1"},
    {"dangling", LB_RES_FOLLOW, 0, "@/missing", "missing"}, /* O_CREAT through a dangling link */
    {"nodir/x", LB_RES_FOLLOW, -ENOENT, NULL, NULL},
    {"a/b/f/x", LB_RES_FOLLOW, -ENOTDIR, NULL, NULL},
    {"a/newfile", LB_RES_FOLLOW, 0, "@/a/newfile", "newfile"},
    {"a", LB_RES_FOLLOW, 0, "@/a", "a"},
    {"a/b/..", LB_RES_FOLLOW, 0, "@/a", ""},
    {".", LB_RES_FOLLOW, 0, "@", ""},
    {"/", LB_RES_FOLLOW, 0, "/", ""},
    {"/..", LB_RES_FOLLOW, 0, "/", ""},
    {"/../../etc/hostname", LB_RES_FOLLOW, 0, "/etc/hostname", "hostname"},
    {"", LB_RES_FOLLOW, -ENOENT, NULL, NULL},
};

static void expand(const char *want, char *out, size_t len)
{
	if (want[0] == '@')
		snprintf(out, len, "%s%s", root, want + 1);
	else
		snprintf(out, len, "%s", want);
}

Test(resolve, table)
{
	int start = open(root, O_PATH | O_DIRECTORY);
	struct lb_resolve_ctx ctx = {.rootfd = rootfd, .tid = getpid(), .tgid = getpid()};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct lb_resolved out;
		int rc = lb_resolve(&ctx, start, root, r->path, r->flags, &out);
		cr_expect_eq(rc, r->err, "row %zu (%s): rc %d, want %d", i, r->path, rc, r->err);
		if (rc == 0 && r->want) {
			char want[PATH_MAX];
			expand(r->want, want, sizeof(want));
			cr_expect_str_eq(out.path, want, "row %zu (%s)", i, r->path);
			cr_expect_str_eq(out.name, r->name, "row %zu (%s) name", i, r->path);
			cr_expect(out.dirfd >= 0);
		}
		if (rc == 0)
			lb_resolved_release(&out);
	}
	close(start);
}

/* The fd handed back is the directory the name lives in: operating on it
 * reaches the object that was resolved. */
Test(resolve, dirfd_is_the_parent)
{
	int start = open(root, O_PATH | O_DIRECTORY);
	struct lb_resolve_ctx ctx = {.rootfd = rootfd, .tid = getpid(), .tgid = getpid()};
	struct lb_resolved out;
	cr_assert_eq(lb_resolve(&ctx, start, root, "chain/flink", LB_RES_FOLLOW, &out), 0);
	struct stat a, b;
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/a/b/f", root);
	cr_assert_eq(fstatat(out.dirfd, out.name, &a, AT_SYMLINK_NOFOLLOW), 0);
	cr_assert_eq(stat(p, &b), 0);
	cr_expect_eq(a.st_ino, b.st_ino);
	lb_resolved_release(&out);
	close(start);
}

Test(resolve, proc_self_is_the_caller)
{
	struct lb_resolve_ctx ctx = {.rootfd = rootfd, .tid = getpid(), .tgid = getpid()};
	struct lb_resolved out;
	char want[64];
	cr_assert_eq(lb_resolve(&ctx, rootfd, "/", "/proc/self/status", LB_RES_FOLLOW, &out), 0);
	snprintf(want, sizeof(want), "/proc/%d/status", (int)getpid());
	cr_expect_str_eq(out.path, want);
	lb_resolved_release(&out);
	/* /proc/self/cwd is a magic link followed by its text */
	char cwd[PATH_MAX];
	cr_assert(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(lb_resolve(&ctx, rootfd, "/", "/proc/self/cwd", LB_RES_FOLLOW, &out), 0);
	cr_expect_str_eq(out.path, cwd);
	lb_resolved_release(&out);
}

Test(resolve, proc_fd_of_a_pipe_is_a_magic_reopen)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct lb_resolve_ctx ctx = {.rootfd = rootfd, .tid = getpid(), .tgid = getpid()};
	struct lb_resolved out;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	cr_assert_eq(lb_resolve(&ctx, rootfd, "/", path, LB_RES_FOLLOW, &out), 0);
	cr_expect_eq(out.magic_fd, p[0]);
	cr_expect_eq(out.magic_pid, getpid());
	lb_resolved_release(&out);
	close(p[0]);
	close(p[1]);
}

static bool nobody_visible(void *arg, pid_t pid)
{
	(void)arg;
	return pid == getpid();
}

Test(resolve, other_processes_are_hidden_in_proc)
{
	struct lb_resolve_ctx ctx = {
	    .rootfd = rootfd, .tid = getpid(), .tgid = getpid(), .pid_visible = nobody_visible};
	struct lb_resolved out;
	cr_expect_eq(lb_resolve(&ctx, rootfd, "/", "/proc/1/status", LB_RES_FOLLOW, &out), -ENOENT);
	cr_assert_eq(lb_resolve(&ctx, rootfd, "/", "/proc/self/status", LB_RES_FOLLOW, &out), 0);
	lb_resolved_release(&out);
}

Test(resolve, long_paths)
{
	char path[PATH_MAX * 2];
	size_t n = 0;
	/* 2000 "a/.." pairs: long, but resolves to the root of the tree */
	for (int i = 0; i < 1000 && n + 6 < PATH_MAX - 10; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "a/../");
	snprintf(path + n, sizeof(path) - n, "a/b/f");
	int start = open(root, O_PATH | O_DIRECTORY);
	struct lb_resolve_ctx ctx = {.rootfd = rootfd, .tid = getpid(), .tgid = getpid()};
	struct lb_resolved out;
	cr_assert_eq(lb_resolve(&ctx, start, root, path, LB_RES_FOLLOW, &out), 0);
	lb_resolved_release(&out);
	/* longer than PATH_MAX: refused as the kernel would */
	memset(path, 'x', PATH_MAX + 10);
	path[PATH_MAX + 10] = '\0';
	cr_expect_eq(lb_resolve(&ctx, start, root, path, LB_RES_FOLLOW, &out), -ENAMETOOLONG);
	/* one component longer than NAME_MAX */
	memset(path, 'y', NAME_MAX + 5);
	path[NAME_MAX + 5] = '\0';
	cr_expect_eq(lb_resolve(&ctx, start, root, path, LB_RES_FOLLOW, &out), -ENAMETOOLONG);
	close(start);
}

Test(resolve, deleted_directory_has_no_path)
{
	char d[PATH_MAX + 64], buf[PATH_MAX];
	snprintf(d, sizeof(d), "%s/gone", root);
	cr_assert_eq(mkdir(d, 0755), 0);
	int fd = open(d, O_PATH | O_DIRECTORY);
	cr_assert_eq(rmdir(d), 0);
	cr_expect_eq(lb_fd_path(fd, buf, sizeof(buf)), -ENOENT);
	close(fd);
}
