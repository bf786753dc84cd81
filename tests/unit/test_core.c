/* SPDX-License-Identifier: MIT */
/* The supervisor's handlers without seccomp: synthetic trapped calls go
 * through lb_core_handle on the fake platform (tests/unit/fake_platform.c)
 * against a fixture tree, and each test checks the answer, the event
 * recorded and the effect on the host, with a positive control beside
 * every refusal. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fake_platform.h"
#include "litebox/policy.h"

static char fix[PATH_MAX];
static struct fake_target ft;
static struct lb_policy *policy;
static struct lb_core *core;

/* ---- events ---------------------------------------------------------------- */

#define MAX_EVENTS 64
static struct {
	enum lb_event_verdict verdict;
	enum lb_class cls;
	char object[PATH_MAX + 64];
	char syscall[32];
} events[MAX_EVENTS];
static int n_events;

static void on_event(void *arg, const struct lb_event *ev)
{
	(void)arg;
	if (n_events == MAX_EVENTS)
		return;
	events[n_events].verdict = ev->verdict;
	events[n_events].cls = ev->cls;
	snprintf(events[n_events].object, sizeof(events[n_events].object), "%s", ev->object);
	snprintf(events[n_events].syscall, sizeof(events[n_events].syscall), "%s", ev->syscall);
	n_events++;
}

/* The last event, which must be about object with this verdict: a path
 * relative to the fixture, an absolute path, an address or a syscall. */
static void expect_event(enum lb_event_verdict v, enum lb_class cls, const char *rel)
{
	char want[PATH_MAX + 64];
	if (rel[0] == '/' || strchr(rel, ' ') || !strchr(rel, '/'))
		snprintf(want, sizeof(want), "%s", rel);
	else
		snprintf(want, sizeof(want), "%s/%s", fix, rel);
	cr_assert(n_events > 0, "an event for %s", want);
	cr_expect_eq(events[n_events - 1].verdict, v, "%s: verdict %d, want %d", want,
		     events[n_events - 1].verdict, v);
	cr_expect_eq(events[n_events - 1].cls, cls, "%s: class %s, want %s", want,
		     lb_class_name(events[n_events - 1].cls), lb_class_name(cls));
	cr_expect_str_eq(events[n_events - 1].object, want);
}

/* ---- fixture ---------------------------------------------------------------- */

static void put_file(const char *rel, const char *text, mode_t mode)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", fix, rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, mode);
	cr_assert(fd >= 0, "create %s", p);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void put_dir(const char *rel)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", fix, rel);
	cr_assert(mkdir(p, 0755) == 0, "mkdir %s", p);
}

static char *at(const char *rel)
{
	static char p[4][PATH_MAX + 64];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", fix, rel);
	return p[i];
}

static bool exists(const char *rel)
{
	struct stat st;
	return lstat(at(rel), &st) == 0;
}

static char *slurp(const char *rel)
{
	static char buf[4096];
	int fd = open(at(rel), O_RDONLY);
	cr_assert(fd >= 0, "open %s", rel);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

/* The tree:
 *   ro/data         readable, not writable
 *   rw/             readable and writable; rw/hidden hidden
 *   rw/sub/keep/    a rule below rw/sub (moving rw/sub would move it)
 *   no/secret       no rule at all
 *   bin/prog        executable; bin/script a #! script of an ungranted interpreter */
static void setup(void)
{
	char tmpl[] = "/tmp/lb-core-XXXXXX";
	cr_assert(mkdtemp(tmpl));
	cr_assert(realpath(tmpl, fix));
	put_dir("ro");
	put_file("ro/data", "read-only bytes", 0644);
	put_dir("rw");
	put_file("rw/f", "writable", 0644);
	put_dir("rw/hidden");
	put_file("rw/hidden/x", "hidden", 0644);
	put_dir("rw/sub");
	put_dir("rw/sub/keep");
	put_dir("no");
	put_file("no/secret", "secret marker", 0644);
	put_dir("bin");
	put_file("bin/prog",
		 "\x7f"
		 "ELF",
		 0755);
	put_file("bin/script", "#!/no/such/interp\n", 0755);
	cr_assert(chdir(fix) == 0);
	fake_init(&ft);
}

static void teardown(void)
{
	lb_core_free(core);
	lb_policy_free(policy);
	fake_fini(&ft);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fix);
	if (chdir("/") == 0 && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fix);
}

/* Policy text with "@" standing for the fixture root. */
static void expand(const char *tmpl, char *out, size_t len)
{
	size_t n = 0;
	for (const char *p = tmpl; *p && n + 1 < len; p++) {
		if (*p == '@')
			n += (size_t)snprintf(out + n, len - n, "%s", fix);
		else
			out[n++] = *p;
		if (n >= len)
			n = len - 1;
	}
	out[n] = '\0';
}

/* A core for the base policy plus extra ("@" is the fixture root). */
static void start_core_with(const char *extra, bool audit, const struct lb_platform_ops *platform)
{
	static const char base[] = "version 1\n"
				   "allow read @/ro/**\n"
				   "allow read @/rw/**\n"
				   "allow write @/rw/**\n"
				   "deny write @/rw/sub/keep/**\n"
				   "hide @/rw/hidden\n"
				   "allow exec @/bin/prog\n"
				   "allow read @/bin/**\n";
	char text[8192];
	expand(base, text, sizeof(text));
	size_t n = strlen(text);
	expand(extra, text + n, sizeof(text) - n);
	struct lb_diags d = {0};
	struct lb_policy_inputs in = {
	    .source = "t.policy",
	    .text = text,
	    .vars = {.cwd = fix, .home = fix, .tmpdir = "/tmp", .exe = "/x", .exe_dir = "/"}};
	cr_assert_eq(lb_policy_load(&in, &policy, &d), 0, "%s", d.n ? d.items[0].message : "");
	lb_diags_free(&d);
	struct lb_core_config cfg = {.policy = policy,
				     .platform = platform,
				     .on_event = on_event,
				     .report_allowed = true,
				     .initial_umask = 022,
				     .force_audit = audit};
	cr_assert_eq(lb_core_new(&cfg, &core), 0);
	n_events = 0;
}

static void start_core(const char *extra, bool audit)
{
	start_core_with(extra, audit, &fake_platform);
}

static void start_core_on(const char *extra, const struct lb_platform_ops *platform)
{
	start_core_with(extra, false, platform);
}

TestSuite(core, .init = setup, .fini = teardown);

#define CALL(nr, ...) FAKE_CALL(core, &ft, nr, __VA_ARGS__)
#define STR(s) fake_put_str(&ft, (s))

static void expect_errno(struct fake_answer a, int err)
{
	cr_expect_eq(a.n, 1, "answered once (%d)", a.n);
	cr_expect_eq(a.kind, LB_REPLY_ERROR, "an error (kind %d, value %lld)", a.kind,
		     (long long)a.value);
	cr_expect_eq(a.value, -err, "errno %lld, want %d", (long long)-a.value, err);
}

static void expect_value(struct fake_answer a, int64_t v)
{
	cr_expect_eq(a.n, 1, "answered once (%d)", a.n);
	cr_expect_eq(a.kind, LB_REPLY_VALUE, "a value (kind %d, value %lld)", a.kind,
		     (long long)a.value);
	cr_expect_eq(a.value, v, "value %lld, want %lld", (long long)a.value, (long long)v);
}

static void expect_continue(struct fake_answer a)
{
	cr_expect_eq(a.n, 1, "answered once (%d)", a.n);
	cr_expect_eq(a.kind, LB_REPLY_CONTINUE, "continued (kind %d, value %lld)", a.kind,
		     (long long)a.value);
}

/* An fd answer: the fd installed in the target (here: this process). */
static int expect_fd(struct fake_answer a)
{
	cr_expect_eq(a.n, 1, "answered once (%d)", a.n);
	cr_assert_eq(a.kind, LB_REPLY_FD, "an fd (kind %d, value %lld)", a.kind,
		     (long long)a.value);
	cr_assert(a.value >= 0);
	return (int)a.value;
}

/* ---- open and create ---------------------------------------------------------- */

Test(core, open_reads_granted_files_only)
{
	start_core("", false);
	int fd = expect_fd(CALL(SYS_openat, AT_FDCWD, STR("ro/data"), O_RDONLY));
	char buf[64] = {0};
	cr_expect_eq(read(fd, buf, sizeof(buf)), 15);
	cr_expect_str_eq(buf, "read-only bytes");
	close(fd);
	expect_event(LB_EV_ALLOW, LB_CLASS_READ, "ro/data");

	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("no/secret"), O_RDONLY), EACCES);
	expect_event(LB_EV_DENY, LB_CLASS_READ, "no/secret");
	/* absolute, through the old call */
	expect_errno(CALL(SYS_open, STR(at("no/secret")), O_RDONLY), EACCES);
	fd = expect_fd(CALL(SYS_open, STR(at("ro/data")), O_RDONLY | O_CLOEXEC));
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "O_CLOEXEC is the installed fd's flag");
	close(fd);
}

Test(core, open_for_writing_needs_write)
{
	start_core("", false);
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("ro/data"), O_WRONLY | O_TRUNC), EACCES);
	expect_event(LB_EV_DENY, LB_CLASS_WRITE, "ro/data");
	cr_expect_str_eq(slurp("ro/data"), "read-only bytes", "not truncated");
	/* O_TRUNC with O_RDONLY still truncates: write class */
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("ro/data"), O_RDONLY | O_TRUNC), EACCES);
	cr_expect_str_eq(slurp("ro/data"), "read-only bytes");

	int fd = expect_fd(CALL(SYS_openat, AT_FDCWD, STR("rw/f"), O_WRONLY | O_TRUNC));
	cr_expect_eq(write(fd, "new", 3), 3);
	close(fd);
	cr_expect_str_eq(slurp("rw/f"), "new");
}

Test(core, create_applies_the_callers_umask)
{
	start_core("", false);
	int fd = expect_fd(CALL(SYS_openat, AT_FDCWD, STR("rw/new"), O_CREAT | O_WRONLY, 0666));
	close(fd);
	struct stat st;
	cr_assert(stat(at("rw/new"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0644);
	expect_event(LB_EV_ALLOW, LB_CLASS_WRITE, "rw/new");

	expect_errno(CALL(SYS_creat, STR("ro/new"), 0644), EACCES);
	cr_expect_not(exists("ro/new"));
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("no/new"), O_CREAT | O_EXCL | O_WRONLY, 0644),
		     EACCES);
	cr_expect_not(exists("no/new"));
}

Test(core, absent_and_hidden_answer_enoent)
{
	start_core("", false);
	/* a refused lookup of nothing is ENOENT, as natively; of something, EACCES */
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("no/absent"), O_RDONLY), ENOENT);
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("no/secret"), O_RDONLY), EACCES);
	/* hidden: absent whether or not it exists */
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("rw/hidden/x"), O_RDONLY), ENOENT);
	expect_event(LB_EV_HIDE, LB_CLASS_READ, "rw/hidden/x");
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("rw/hidden/x"), O_WRONLY | O_TRUNC), ENOENT);
	cr_expect_str_eq(slurp("rw/hidden/x"), "hidden");
}

Test(core, open_decoding_errors)
{
	start_core("", false);
	/* a path outside the target's memory */
	expect_errno(CALL(SYS_openat, AT_FDCWD, 0x10, O_RDONLY), EFAULT);
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR(""), O_RDONLY), ENOENT);
	/* openat2 with RESOLVE_* restrictions is not emulated: ENOSYS */
	struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
	uint64_t h = fake_put(&ft, &how, sizeof(how));
	expect_errno(CALL(SYS_openat2, AT_FDCWD, STR("ro/data"), h, sizeof(how)), ENOSYS);
	how.resolve = 0;
	h = fake_put(&ft, &how, sizeof(how));
	close(expect_fd(CALL(SYS_openat2, AT_FDCWD, STR("ro/data"), h, sizeof(how))));
	/* a closed dirfd */
	expect_errno(CALL(SYS_openat, 987, STR("data"), O_RDONLY), EBADF);
	/* a dirfd of the caller's: resolved from it */
	int dfd = open(at("ro"), O_PATH | O_DIRECTORY);
	close(expect_fd(CALL(SYS_openat, (uint64_t)dfd, STR("data"), O_RDONLY)));
	close(dfd);
}

Test(core, o_path_open_is_judged_then_continued)
{
	start_core("", false);
	/* The kernel refuses O_PATH files through ADDFD: judged (stat), then
	 * the kernel opens it again. */
	expect_continue(CALL(SYS_openat, AT_FDCWD, STR("ro/data"), O_PATH));
	expect_event(LB_EV_ALLOW, LB_CLASS_STAT, "ro/data");
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("no/secret"), O_PATH), EACCES);
}

/* ---- stat family ----------------------------------------------------------------- */

Test(core, stat_writes_the_result_into_target_memory)
{
	start_core("", false);
	uint64_t buf = fake_alloc(&ft, sizeof(struct stat));
	expect_value(CALL(SYS_newfstatat, AT_FDCWD, STR("ro/data"), buf, 0), 0);
	struct stat *st = fake_ptr(&ft, buf);
	cr_expect_eq(st->st_size, 15);
	expect_event(LB_EV_ALLOW, LB_CLASS_STAT, "ro/data");

	expect_errno(CALL(SYS_stat, STR("no/secret"), buf), EACCES);
	/* the directories that lead to a grant may be walked */
	expect_value(CALL(SYS_stat, STR(fix), buf), 0);
	cr_expect(S_ISDIR(((struct stat *)fake_ptr(&ft, buf))->st_mode));
	/* a result buffer outside the target's memory */
	expect_errno(CALL(SYS_stat, STR("ro/data"), 0x10), EFAULT);

	uint64_t sx = fake_alloc(&ft, sizeof(struct statx));
	expect_value(CALL(SYS_statx, AT_FDCWD, STR("ro/data"), 0, STATX_SIZE, sx), 0);
	cr_expect_eq(((struct statx *)fake_ptr(&ft, sx))->stx_size, 15);
	expect_errno(CALL(SYS_statx, AT_FDCWD, STR("no/secret"), 0, STATX_SIZE, sx), EACCES);
}

Test(core, fstat_of_an_own_fd_is_not_judged)
{
	start_core("", false);
	int fd = open(at("no/secret"), O_RDONLY);
	uint64_t buf = fake_alloc(&ft, sizeof(struct stat));
	/* the caller already holds it */
	expect_value(CALL(SYS_newfstatat, (uint64_t)fd, STR(""), buf, AT_EMPTY_PATH), 0);
	cr_expect_eq(((struct stat *)fake_ptr(&ft, buf))->st_size, 13);
	close(fd);
	expect_errno(CALL(SYS_newfstatat, (uint64_t)fd, STR(""), buf, AT_EMPTY_PATH), EBADF);
}

Test(core, access_promises_only_what_open_gives)
{
	start_core("", false);
	expect_value(CALL(SYS_access, STR("ro/data"), R_OK), 0);
	expect_errno(CALL(SYS_access, STR("ro/data"), W_OK), EACCES);
	expect_value(CALL(SYS_access, STR("rw/f"), W_OK), 0);
	expect_errno(CALL(SYS_faccessat, AT_FDCWD, STR("no/secret"), F_OK), EACCES);
	expect_errno(CALL(SYS_access, STR("ro/absent"), F_OK), ENOENT);
}

/* ---- unlink, rename, link, symlink ----------------------------------------------- */

Test(core, unlink_only_where_writable)
{
	start_core("", false);
	expect_errno(CALL(SYS_unlink, STR("ro/data")), EACCES);
	expect_event(LB_EV_DENY, LB_CLASS_WRITE, "ro/data");
	cr_expect(exists("ro/data"));
	expect_value(CALL(SYS_unlinkat, AT_FDCWD, STR("rw/f"), 0), 0);
	cr_expect_not(exists("rw/f"));
	expect_event(LB_EV_ALLOW, LB_CLASS_WRITE, "rw/f");
}

Test(core, rename_cannot_launder_a_file)
{
	start_core("", false);
	/* ro/data may be read, not written: at rw/ it would be writable */
	expect_errno(CALL(SYS_rename, STR("ro/data"), STR("rw/stolen")), EACCES);
	cr_expect(exists("ro/data"));
	cr_expect_not(exists("rw/stolen"));
	expect_errno(CALL(SYS_rename, STR("rw/f"), STR("no/f")), EACCES);
	cr_expect(exists("rw/f"));
	expect_value(CALL(SYS_renameat2, AT_FDCWD, STR("rw/f"), AT_FDCWD, STR("rw/g"), 0), 0);
	cr_expect_not(exists("rw/f"));
	cr_expect_str_eq(slurp("rw/g"), "writable");
}

Test(core, rename_of_a_judged_subtree_is_exdev)
{
	start_core("", false);
	/* rw/sub has a rule below it: moving it would move what that rule judges */
	expect_errno(CALL(SYS_rename, STR("rw/sub"), STR("rw/sub2")), EXDEV);
	cr_expect(exists("rw/sub/keep"));
	put_dir("rw/plain");
	expect_value(CALL(SYS_rename, STR("rw/plain"), STR("rw/plain2")), 0);
	cr_expect(exists("rw/plain2"));
}

Test(core, hard_links_need_the_source_granted)
{
	start_core("", false);
	expect_errno(CALL(SYS_link, STR("no/secret"), STR("rw/l")), EACCES);
	cr_expect_not(exists("rw/l"));
	expect_errno(CALL(SYS_link, STR("ro/data"), STR("rw/l")), EACCES);
	cr_expect_not(exists("rw/l"));
	expect_value(CALL(SYS_linkat, AT_FDCWD, STR("rw/f"), AT_FDCWD, STR("rw/l"), 0), 0);
	cr_expect_str_eq(slurp("rw/l"), "writable");
}

Test(core, symlink_and_readlink)
{
	start_core("", false);
	expect_errno(CALL(SYS_symlink, STR("/etc/passwd"), STR("ro/ln")), EACCES);
	cr_expect_not(exists("ro/ln"));
	expect_value(CALL(SYS_symlinkat, STR("target text"), AT_FDCWD, STR("rw/ln")), 0);
	char got[64] = {0};
	cr_expect_eq(readlink(at("rw/ln"), got, sizeof(got)), 11);
	cr_expect_str_eq(got, "target text");
	uint64_t buf = fake_alloc(&ft, 64);
	expect_value(CALL(SYS_readlink, STR("rw/ln"), buf, 64), 11);
	cr_expect_eq(memcmp(fake_ptr(&ft, buf), "target text", 11), 0);
	expect_errno(CALL(SYS_readlink, STR("rw/ln"), buf, 0), EINVAL);
}

/* ---- mkdir, rmdir, mknod ----------------------------------------------------------- */

Test(core, mkdir_and_rmdir)
{
	start_core("", false);
	expect_value(CALL(SYS_mkdir, STR("rw/d"), 0777), 0);
	struct stat st;
	cr_assert(stat(at("rw/d"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0755, "the caller's umask applies");
	expect_errno(CALL(SYS_mkdirat, AT_FDCWD, STR("ro/d"), 0777), EACCES);
	cr_expect_not(exists("ro/d"));
	expect_value(CALL(SYS_rmdir, STR("rw/d")), 0);
	cr_expect_not(exists("rw/d"));
	expect_errno(CALL(SYS_rmdir, STR("ro")), EACCES);
	cr_expect(exists("ro"));
}

Test(core, mknod_makes_no_devices)
{
	start_core("", false);
	expect_errno(CALL(SYS_mknod, STR("rw/dev"), S_IFCHR | 0600, makedev(1, 3)), EPERM);
	cr_expect_not(exists("rw/dev"));
	expect_value(CALL(SYS_mknod, STR("rw/fifo"), S_IFIFO | 0666, 0), 0);
	struct stat st;
	cr_assert(lstat(at("rw/fifo"), &st) == 0);
	cr_expect(S_ISFIFO(st.st_mode));
	expect_errno(CALL(SYS_mknodat, AT_FDCWD, STR("ro/fifo"), S_IFIFO | 0666, 0), EACCES);
}

/* ---- chmod, chown, utimes, xattrs -------------------------------------------------- */

Test(core, chmod_by_path_and_by_fd)
{
	start_core("", false);
	struct stat st;
	expect_errno(CALL(SYS_chmod, STR("ro/data"), 0600), EACCES);
	cr_assert(stat(at("ro/data"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0644);
	expect_value(CALL(SYS_fchmodat, AT_FDCWD, STR("rw/f"), 0600), 0);
	cr_assert(stat(at("rw/f"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	/* an fd opened for reading cannot carry a change the policy refuses */
	int fd = open(at("ro/data"), O_RDONLY);
	expect_errno(CALL(SYS_fchmod, (uint64_t)fd, 0600), EACCES);
	cr_assert(stat(at("ro/data"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0644);
	close(fd);
	fd = open(at("rw/f"), O_RDONLY);
	expect_value(CALL(SYS_fchmod, (uint64_t)fd, 0640), 0);
	cr_assert(stat(at("rw/f"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0640);
	close(fd);
	/* the f* calls refuse O_PATH fds, as the kernel does */
	fd = open(at("rw/f"), O_PATH);
	expect_errno(CALL(SYS_fchmod, (uint64_t)fd, 0600), EBADF);
	close(fd);
}

Test(core, chown_and_utimes)
{
	start_core("", false);
	expect_errno(CALL(SYS_chown, STR("ro/data"), getuid(), getgid()), EACCES);
	expect_value(CALL(SYS_lchown, STR("rw/f"), getuid(), getgid()), 0);
	struct timespec ts[2] = {{.tv_sec = 1000000}, {.tv_sec = 2000000}};
	uint64_t t = fake_put(&ft, ts, sizeof(ts));
	expect_errno(CALL(SYS_utimensat, AT_FDCWD, STR("ro/data"), t, 0), EACCES);
	struct stat st;
	cr_assert(stat(at("ro/data"), &st) == 0);
	cr_expect_neq(st.st_mtime, 2000000);
	expect_value(CALL(SYS_utimensat, AT_FDCWD, STR("rw/f"), t, 0), 0);
	cr_assert(stat(at("rw/f"), &st) == 0);
	cr_expect_eq(st.st_mtime, 2000000);
	struct timeval tv[2] = {{.tv_sec = 3000000}, {.tv_sec = 4000000, .tv_usec = 2000000}};
	expect_errno(CALL(SYS_utimes, STR("rw/f"), fake_put(&ft, tv, sizeof(tv))), EINVAL);
}

Test(core, xattrs)
{
	start_core("", false);
	uint64_t v = fake_put(&ft, "v1", 2);
	struct fake_answer a = CALL(SYS_setxattr, STR("rw/f"), STR("user.t"), v, 2, 0);
	if (a.kind == LB_REPLY_ERROR && a.value == -EOPNOTSUPP)
		cr_skip_test("%s has no user xattrs", fix);
	expect_value(a, 0);
	char got[8] = {0};
	cr_expect_eq(getxattr(at("rw/f"), "user.t", got, sizeof(got)), 2);
	cr_expect_str_eq(got, "v1");
	expect_errno(CALL(SYS_setxattr, STR("ro/data"), STR("user.t"), v, 2, 0), EACCES);
	cr_expect_eq(getxattr(at("ro/data"), "user.t", got, sizeof(got)), -1);
	/* privileged namespaces are answered as the program would be answered */
	expect_errno(CALL(SYS_setxattr, STR("rw/f"), STR("trusted.t"), v, 2, 0), EPERM);
	expect_errno(CALL(SYS_lsetxattr, STR("rw/f"), STR("security.t"), v, 2, 0), EPERM);
	uint64_t buf = fake_alloc(&ft, 64);
	expect_errno(CALL(SYS_getxattr, STR("rw/f"), STR("trusted.t"), buf, 64), ENODATA);
	expect_value(CALL(SYS_getxattr, STR("rw/f"), STR("user.t"), buf, 64), 2);
	cr_expect_eq(memcmp(fake_ptr(&ft, buf), "v1", 2), 0);
	expect_errno(CALL(SYS_getxattr, STR("no/secret"), STR("user.t"), buf, 64), EACCES);
	expect_value(CALL(SYS_listxattr, STR("rw/f"), buf, 64), 7);
	cr_expect_str_eq(fake_ptr(&ft, buf), "user.t");
	expect_value(CALL(SYS_removexattr, STR("rw/f"), STR("user.t")), 0);
	cr_expect_eq(getxattr(at("rw/f"), "user.t", got, sizeof(got)), -1);
}

Test(core, truncate)
{
	start_core("", false);
	expect_errno(CALL(SYS_truncate, STR("ro/data"), 0), EACCES);
	cr_expect_str_eq(slurp("ro/data"), "read-only bytes");
	expect_value(CALL(SYS_truncate, STR("rw/f"), 4), 0);
	cr_expect_str_eq(slurp("rw/f"), "writ");
}

/* ---- listings ----------------------------------------------------------------------- */

/* Names from a getdents64 buffer, joined with spaces, sorted by the caller. */
static bool listed(const char *buf, long n, const char *name)
{
	for (long off = 0; off < n;) {
		const struct dirent64 *d = (const void *)(buf + off);
		if (strcmp(d->d_name, name) == 0)
			return true;
		off += d->d_reclen;
	}
	return false;
}

Test(core, listings_drop_hidden_entries)
{
	start_core("", false);
	int dfd = open(at("rw"), O_RDONLY | O_DIRECTORY);
	uint64_t buf = fake_alloc(&ft, 4096);
	struct fake_answer a = CALL(SYS_getdents64, (uint64_t)dfd, buf, 4096);
	cr_assert_eq(a.kind, LB_REPLY_VALUE);
	cr_assert(a.value > 0);
	const char *b = fake_ptr(&ft, buf);
	cr_expect(listed(b, a.value, "f"), "the positive control is listed");
	cr_expect(listed(b, a.value, "sub"));
	cr_expect_not(listed(b, a.value, "hidden"), "hidden entries are dropped");
	/* the caller's own position moved: the next call ends the listing */
	expect_value(CALL(SYS_getdents64, (uint64_t)dfd, buf, 4096), 0);
	close(dfd);
	expect_errno(CALL(SYS_getdents64, (uint64_t)dfd, buf, 4096), EBADF);
	/* the old format: ENOSYS (x86_64 libcs use getdents64) */
	expect_errno(CALL(SYS_getdents, 0, buf, 4096), ENOSYS);
}

/* ---- calls continued after judging ------------------------------------------------ */

Test(core, chdir_is_judged_then_continued)
{
	start_core("", false);
	expect_continue(CALL(SYS_chdir, STR("ro")));
	expect_event(LB_EV_ALLOW, LB_CLASS_STAT, at("ro"));
	expect_errno(CALL(SYS_chdir, STR("no")), EACCES);
	expect_errno(CALL(SYS_chdir, STR("rw/hidden")), ENOENT);
}

Test(core, exec_is_judged_then_continued)
{
	start_core("", false);
	expect_continue(CALL(SYS_execve, STR("bin/prog"), 0, 0));
	expect_event(LB_EV_ALLOW, LB_CLASS_EXEC, "bin/prog");
	expect_errno(CALL(SYS_execve, STR("ro/data"), 0, 0), EACCES);
	/* a script: its interpreter is judged too */
	expect_errno(CALL(SYS_execve, STR("bin/script"), 0, 0), EACCES);
	/* fexecve of a granted file */
	int fd = open(at("bin/prog"), O_PATH);
	expect_continue(CALL(SYS_execveat, (uint64_t)fd, STR(""), 0, 0, AT_EMPTY_PATH));
	close(fd);
	fd = open(at("no/secret"), O_PATH);
	expect_errno(CALL(SYS_execveat, (uint64_t)fd, STR(""), 0, 0, AT_EMPTY_PATH), EACCES);
	close(fd);
}

Test(core, untabled_calls)
{
	start_core("audit syscall getpid\n", false);
	/* tracked: continued, the core notes the change */
	expect_continue(CALL(SYS_umask, 077));
	expect_continue(CALL(SYS_setresuid, -1, -1, -1));
	n_events = 0;
	expect_continue(CALL(SYS_getpid, 0));
	expect_event(LB_EV_ALLOW, LB_CLASS_SYSCALL, "getpid");
	/* the dangerous set in audit mode reaches the supervisor: refused, recorded */
	expect_errno(CALL(SYS_ptrace, 0), EPERM);
	expect_event(LB_EV_DENY, LB_CLASS_SYSCALL, "ptrace");
}

Test(core, audit_mode_allows_and_records_would_deny)
{
	start_core("", true);
	int fd = expect_fd(CALL(SYS_openat, AT_FDCWD, STR("no/secret"), O_RDONLY));
	close(fd);
	expect_event(LB_EV_WOULD_DENY, LB_CLASS_READ, "no/secret");
}

/* ---- network ------------------------------------------------------------------------ */

static int listener(int type, uint16_t *port)
{
	int s = socket(AF_INET, type, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	cr_assert(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	if (type == SOCK_STREAM)
		cr_assert(listen(s, 4) == 0);
	cr_assert(getsockname(s, (struct sockaddr *)&a, &l) == 0);
	*port = ntohs(a.sin_port);
	return s;
}

static uint64_t inet_addr_at(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	return fake_put(&ft, &a, sizeof(a));
}

Test(core, connect_only_to_granted_addresses)
{
	uint16_t ok_port, other_port;
	int l1 = listener(SOCK_STREAM, &ok_port);
	int l2 = listener(SOCK_STREAM, &other_port);
	char extra[128];
	snprintf(extra, sizeof(extra), "allow connect tcp 127.0.0.1:%u\n", ok_port);
	start_core(extra, false);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	expect_errno(CALL(SYS_connect, (uint64_t)s, inet_addr_at(other_port), 16), ECONNREFUSED);
	char obj[64];
	snprintf(obj, sizeof(obj), "tcp 127.0.0.1:%u", other_port);
	expect_event(LB_EV_DENY, LB_CLASS_CONNECT, obj);
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	cr_expect_eq(getpeername(s, (struct sockaddr *)&peer, &pl), -1, "not connected");
	expect_value(CALL(SYS_connect, (uint64_t)s, inet_addr_at(ok_port), 16), 0);
	pl = sizeof(peer);
	cr_assert(getpeername(s, (struct sockaddr *)&peer, &pl) == 0, "the caller's socket");
	cr_expect_eq(ntohs(peer.sin_port), ok_port);
	/* an address outside the target's memory */
	expect_errno(CALL(SYS_connect, (uint64_t)s, 0x10, 16), EFAULT);
	close(s);
	close(l1);
	close(l2);
}

Test(core, bind_and_listen)
{
	start_core("allow bind tcp 127.0.0.1:*\n", false);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = {.sin_family = AF_INET};
	expect_errno(CALL(SYS_bind, (uint64_t)s, fake_put(&ft, &any, sizeof(any)), sizeof(any)),
		     EACCES);
	expect_value(CALL(SYS_bind, (uint64_t)s, inet_addr_at(0), 16), 0);
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	cr_assert(getsockname(s, (struct sockaddr *)&a, &l) == 0);
	cr_expect_eq(a.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	expect_value(CALL(SYS_listen, (uint64_t)s, 4), 0);
	close(s);
	/* listen on an unbound socket binds the wildcard address: judged so */
	s = socket(AF_INET, SOCK_STREAM, 0);
	expect_errno(CALL(SYS_listen, (uint64_t)s, 4), EACCES);
	close(s);
}

/* Two UDP receivers, the first granted to connect to, the second not;
 * a core for that, and the caller's socket. */
static int udp_granted_and_not(int *r1, uint16_t *ok_port, int *r2, uint16_t *other_port)
{
	*r1 = listener(SOCK_DGRAM, ok_port);
	*r2 = listener(SOCK_DGRAM, other_port);
	char extra[128];
	snprintf(extra, sizeof(extra), "allow connect udp 127.0.0.1:%u\n", *ok_port);
	start_core(extra, false);
	return socket(AF_INET, SOCK_DGRAM, 0);
}

Test(core, sendto_only_to_granted_addresses)
{
	uint16_t ok_port, other_port;
	int r1, r2;
	int s = udp_granted_and_not(&r1, &ok_port, &r2, &other_port);
	uint64_t data = fake_put(&ft, "ping", 4);
	expect_errno(CALL(SYS_sendto, (uint64_t)s, data, 4, 0, inet_addr_at(other_port), 16),
		     ECONNREFUSED);
	char buf[8];
	cr_expect_eq(recv(r2, buf, sizeof(buf), MSG_DONTWAIT), -1, "nothing was sent");
	expect_value(CALL(SYS_sendto, (uint64_t)s, data, 4, 0, inet_addr_at(ok_port), 16), 4);
	cr_expect_eq(recv(r1, buf, sizeof(buf), 0), 4);
	cr_expect_eq(memcmp(buf, "ping", 4), 0);
	close(s);
	close(r1);
	close(r2);
}

static uint64_t unix_addr_at(const char *path, socklen_t *len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	return fake_put(&ft, &a, sizeof(a));
}

Test(core, unix_socket_paths_are_judged_as_files)
{
	/* a socket litebox did not see bound is reached only when named exactly */
	start_core("allow connect unix @/rw/s.sock\nallow bind unix @/rw/**\n", false);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int srv[2];
	const char *names[2] = {"rw/s.sock", "no/s.sock"};
	for (int i = 0; i < 2; i++) {
		srv[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", at(names[i]));
		cr_assert(bind(srv[i], (struct sockaddr *)&a, sizeof(a)) == 0);
		cr_assert(listen(srv[i], 4) == 0);
	}
	socklen_t len;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	expect_errno(CALL(SYS_connect, (uint64_t)s, unix_addr_at("no/s.sock", &len), len),
		     ECONNREFUSED);
	char obj[PATH_MAX + 8];
	snprintf(obj, sizeof(obj), "unix %s", at("no/s.sock"));
	expect_event(LB_EV_DENY, LB_CLASS_CONNECT, obj);
	expect_value(CALL(SYS_connect, (uint64_t)s, unix_addr_at("rw/s.sock", &len), len), 0);
	int peer = accept(srv[0], NULL, NULL);
	cr_expect(peer >= 0, "the granted listener got the connection");
	close(peer);
	close(s);

	s = socket(AF_UNIX, SOCK_STREAM, 0);
	expect_errno(CALL(SYS_bind, (uint64_t)s, unix_addr_at("no/b.sock", &len), len), EACCES);
	cr_expect_not(exists("no/b.sock"));
	expect_value(CALL(SYS_bind, (uint64_t)s, unix_addr_at("rw/b.sock", &len), len), 0);
	struct stat st;
	cr_expect(lstat(at("rw/b.sock"), &st) == 0 && S_ISSOCK(st.st_mode), "bound where asked");
	close(s);
	close(srv[0]);
	close(srv[1]);
}

/* A message in target memory: data, and optionally a destination and
 * control bytes; returns the msghdr's target address. */
static uint64_t target_msg(const char *data, const void *name, socklen_t name_len,
			   const void *control, size_t control_len)
{
	struct iovec iov = {.iov_base = (void *)(uintptr_t)fake_put(&ft, data, strlen(data)),
			    .iov_len = strlen(data)};
	struct msghdr h = {.msg_iov = (void *)(uintptr_t)fake_put(&ft, &iov, sizeof(iov)),
			   .msg_iovlen = 1};
	if (name) {
		h.msg_name = (void *)(uintptr_t)fake_put(&ft, name, name_len);
		h.msg_namelen = name_len;
	}
	if (control) {
		h.msg_control = (void *)(uintptr_t)fake_put(&ft, control, control_len);
		h.msg_controllen = control_len;
	}
	return fake_put(&ft, &h, sizeof(h));
}

Test(core, sendmsg_judges_the_destination_and_copies_the_message)
{
	uint16_t ok_port, other_port;
	int r1, r2;
	int s = udp_granted_and_not(&r1, &ok_port, &r2, &other_port);
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(other_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char buf[16];
	expect_errno(
	    CALL(SYS_sendmsg, (uint64_t)s, target_msg("nope", &to, sizeof(to), NULL, 0), 0),
	    ECONNREFUSED);
	cr_expect_eq(recv(r2, buf, sizeof(buf), MSG_DONTWAIT), -1, "nothing was sent");
	to.sin_port = htons(ok_port);
	expect_value(CALL(SYS_sendmsg, (uint64_t)s, target_msg("yes", &to, sizeof(to), NULL, 0), 0),
		     3);
	cr_expect_eq(recv(r1, buf, sizeof(buf), 0), 3);
	cr_expect_eq(memcmp(buf, "yes", 3), 0);
	close(s);
	close(r1);
	close(r2);
}

Test(core, sendmsg_passes_the_callers_files)
{
	start_core("", false);
	int sp[2];
	cr_assert(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) == 0);
	int file = open(at("ro/data"), O_RDONLY);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm = {0};
	struct cmsghdr *c = &cm.align;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(c), &file, sizeof(int));
	expect_value(CALL(SYS_sendmsg, (uint64_t)sp[0],
			  target_msg("fd", NULL, 0, cm.buf, sizeof(cm.buf)), 0),
		     2);
	close(file);
	char data[4];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} rcm;
	struct msghdr h = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = rcm.buf,
			   .msg_controllen = sizeof(rcm)};
	cr_assert_eq(recvmsg(sp[1], &h, 0), 2);
	struct cmsghdr *rc = CMSG_FIRSTHDR(&h);
	cr_assert(rc && rc->cmsg_type == SCM_RIGHTS, "a file came along");
	int got;
	memcpy(&got, CMSG_DATA(rc), sizeof(int));
	char text[32] = {0};
	cr_expect_eq(read(got, text, sizeof(text) - 1), 15);
	cr_expect_str_eq(text, "read-only bytes", "the same file the caller passed");
	close(got);
	close(sp[0]);
	close(sp[1]);
}

Test(core, inotify_watches_need_read)
{
	start_core("", false);
	int in = inotify_init1(IN_CLOEXEC);
	struct fake_answer a = CALL(SYS_inotify_add_watch, (uint64_t)in, STR("ro"), IN_CREATE);
	cr_expect_eq(a.kind, LB_REPLY_VALUE);
	cr_expect(a.value > 0, "a watch descriptor");
	expect_errno(CALL(SYS_inotify_add_watch, (uint64_t)in, STR("no"), IN_CREATE), EACCES);
	expect_event(LB_EV_DENY, LB_CLASS_READ, at("no"));
	close(in);
}

Test(core, statfs_needs_stat)
{
	start_core("", false);
	uint64_t buf = fake_alloc(&ft, sizeof(struct statfs));
	expect_value(CALL(SYS_statfs, STR("ro/data"), buf), 0);
	struct statfs mine;
	cr_assert(statfs(at("ro/data"), &mine) == 0);
	cr_expect_eq(((struct statfs *)fake_ptr(&ft, buf))->f_type, mine.f_type);
	expect_errno(CALL(SYS_statfs, STR("no/secret"), buf), EACCES);
}

Test(core, other_processes_are_absent_whatever_the_policy_says)
{
	start_core("allow read /proc/**\n", false);
	/* a process outside the sandbox: absent, even where /proc is readable */
	expect_errno(CALL(SYS_openat, AT_FDCWD, STR("/proc/1/status"), O_RDONLY), ENOENT);
	/* the positive control: what is not a process under /proc */
	close(expect_fd(CALL(SYS_openat, AT_FDCWD, STR("/proc/cpuinfo"), O_RDONLY)));
	expect_event(LB_EV_ALLOW, LB_CLASS_READ, "/proc/cpuinfo");
}

Test(core, script_exec_judges_its_interpreter)
{
	char text[PATH_MAX + 8];
	snprintf(text, sizeof(text), "#!%s\n", at("bin/prog"));
	put_file("bin/ok-script", text, 0755);
	snprintf(text, sizeof(text), "#!%s -x\n", at("no/secret"));
	put_file("bin/bad-script", text, 0755);
	start_core("allow exec @/bin/ok-script @/bin/bad-script\n", false);
	expect_continue(CALL(SYS_execve, STR("bin/ok-script"), 0, 0));
	expect_event(LB_EV_ALLOW, LB_CLASS_EXEC, "bin/prog");
	/* a granted script whose interpreter no rule grants */
	expect_errno(CALL(SYS_execve, STR("bin/bad-script"), 0, 0), EACCES);
	expect_event(LB_EV_DENY, LB_CLASS_EXEC, "no/secret");
}

/* The answer itself (lb_core_answer): every CONTINUE says why letting the
 * kernel redo the call is safe. */
static struct lb_answer answer_of(int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct lb_trap t = {.pid = ft.tid, .nr = nr, .args = {a0, a1, a2}, .priv = &ft};
	return lb_core_answer(core, &t);
}

static void expect_why(struct lb_answer a, const char *word)
{
	cr_expect_eq(a.kind, LB_ANS_CONTINUE, "continued (kind %d, err %d)", a.kind, a.err);
	cr_expect(a.why && strstr(a.why, word), "why: %s", a.why ? a.why : "(none)");
}

Test(core, continued_calls_say_why)
{
	start_core("", false);
	expect_why(answer_of(SYS_chdir, STR("ro"), 0, 0), "chdir");
	expect_why(answer_of(SYS_execve, STR("bin/prog"), 0, 0), "Landlock");
	expect_why(answer_of(SYS_openat, AT_FDCWD, STR("ro/data"), O_PATH), "O_PATH");
	expect_why(answer_of(SYS_umask, 022, 0, 0), "umask");
	struct lb_answer a = answer_of(SYS_chdir, STR("no"), 0, 0);
	cr_expect_eq(a.kind, LB_ANS_ERROR);
	cr_expect_eq(a.err, EACCES);
	a = answer_of(SYS_openat, AT_FDCWD, STR("ro/data"), O_RDONLY);
	cr_assert_eq(a.kind, LB_ANS_FD, "an open is performed, not continued");
	close(a.fd);
}

/* ---- every handler family, by layer: what the south did on the host -------------- */

/* Magic links (/proc/self/fd/N: the re-open of a pipe, the O_TMPFILE
 * link) need the caller inside the sandbox's pid namespace, which the test
 * process is not: tests/integration/test_fs.py runs them for real. */

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

static volatile sig_atomic_t got_xfsz;

static void on_xfsz(int sig)
{
	(void)sig;
	got_xfsz = 1;
}

Test(core, truncate_types_first_and_holds_the_callers_size_limit)
{
	start_core("", false);
	cr_assert(mkfifo(at("rw/fifo"), 0644) == 0);
	/* a FIFO is never opened (it would wait): EINVAL, as truncate(2) says */
	expect_errno(CALL(SYS_truncate, STR("rw/fifo"), 0), EINVAL);
	expect_errno(CALL(SYS_truncate, STR("rw/sub"), 0), EISDIR);
	expect_errno(CALL(SYS_truncate, STR("rw/f"), -1), EINVAL);
	signal(SIGXFSZ, on_xfsz);
	struct rlimit lim = {.rlim_cur = 6, .rlim_max = RLIM_INFINITY};
	cr_assert(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	expect_errno(CALL(SYS_truncate, STR("rw/f"), 100), EFBIG);
	cr_expect(got_xfsz, "SIGXFSZ went to the caller, as the kernel sends it");
	cr_expect_str_eq(slurp("rw/f"), "writable", "unchanged");
	expect_value(CALL(SYS_truncate, STR("rw/f"), 5), 0);
	cr_expect_str_eq(slurp("rw/f"), "writa", "within the limit");
}

Test(core, existence_is_answered_first_only_where_a_stat_would_tell)
{
	start_core("", false);
	/* mkdir -p over existing parents: EEXIST, no denial */
	n_events = 0;
	expect_errno(CALL(SYS_mkdir, STR("ro"), 0755), EEXIST);
	cr_expect_eq(n_events, 0, "nothing recorded");
	/* an existing name the caller may not stat: judged, EACCES */
	expect_errno(CALL(SYS_mkdir, STR("no/secret"), 0755), EACCES);
	expect_event(LB_EV_DENY, LB_CLASS_WRITE, "no/secret");
	/* unlink of a directory: the kernel's EISDIR, after judging */
	expect_errno(CALL(SYS_unlink, STR("rw/sub")), EISDIR);
	cr_expect(exists("rw/sub"));
	expect_errno(CALL(SYS_unlink, STR("rw/absent")), ENOENT);
}

Test(core, renames_exchange_both_ways_only_when_both_may_move)
{
	start_core("", false);
	put_file("rw/a", "A", 0644);
	expect_errno(
	    CALL(SYS_renameat2, AT_FDCWD, STR("rw/a"), AT_FDCWD, STR("ro/data"), RENAME_EXCHANGE),
	    EACCES);
	cr_expect_str_eq(slurp("ro/data"), "read-only bytes");
	put_file("rw/b", "B", 0644);
	expect_value(
	    CALL(SYS_renameat2, AT_FDCWD, STR("rw/a"), AT_FDCWD, STR("rw/b"), RENAME_EXCHANGE), 0);
	cr_expect_str_eq(slurp("rw/a"), "B");
	cr_expect_str_eq(slurp("rw/b"), "A");
}

Test(core, files_litebox_changes_never_get_setuid)
{
	start_core("", false);
	struct stat st;
	expect_value(CALL(SYS_chmod, STR("rw/f"), 04755), 0);
	cr_assert(stat(at("rw/f"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0755, "setuid dropped");
	expect_value(CALL(SYS_chmod, STR("rw/sub"), 02755), 0);
	cr_assert(stat(at("rw/sub"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 02755, "a directory keeps setgid");
	int fd = expect_fd(CALL(SYS_openat, AT_FDCWD, STR("rw/suid"), O_CREAT | O_WRONLY, 06777));
	close(fd);
	cr_assert(stat(at("rw/suid"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0755, "nor at creation");
	expect_value(CALL(SYS_mknod, STR("rw/sfifo"), S_IFIFO | 06666, 0), 0);
	cr_assert(lstat(at("rw/sfifo"), &st) == 0);
	cr_expect_eq(st.st_mode & 07777, 0644);
}

Test(core, changes_through_a_callers_fd_are_judged_by_its_path)
{
	start_core("", false);
	int ro = open(at("ro/data"), O_RDONLY);
	int rw = open(at("rw/f"), O_RDONLY);
	expect_errno(CALL(SYS_fchown, (uint64_t)ro, getuid(), getgid()), EACCES);
	expect_event(LB_EV_DENY, LB_CLASS_WRITE, "ro/data");
	expect_value(CALL(SYS_fchown, (uint64_t)rw, getuid(), getgid()), 0);
	/* utimensat(fd, NULL, ts): the fd's own file */
	struct timespec ts[2] = {{.tv_sec = 5000000}, {.tv_sec = 6000000}};
	uint64_t t = fake_put(&ft, ts, sizeof(ts));
	expect_errno(CALL(SYS_utimensat, (uint64_t)ro, 0, t, 0), EACCES);
	expect_value(CALL(SYS_utimensat, (uint64_t)rw, 0, t, 0), 0);
	struct stat st;
	cr_assert(stat(at("rw/f"), &st) == 0);
	cr_expect_eq(st.st_mtime, 6000000);
	cr_assert(stat(at("ro/data"), &st) == 0);
	cr_expect_neq(st.st_mtime, 6000000);
	uint64_t v = fake_put(&ft, "v", 1);
	expect_errno(CALL(SYS_fsetxattr, (uint64_t)ro, STR("user.x"), v, 1, 0), EACCES);
	close(ro);
	close(rw);
}

Test(core, the_callers_own_objects_are_not_judged)
{
	start_core("", false);
	int fd = open(at("no/secret"), O_RDONLY);
	uint64_t sx = fake_alloc(&ft, sizeof(struct statx));
	expect_value(CALL(SYS_statx, (uint64_t)fd, STR(""), AT_EMPTY_PATH, STATX_SIZE, sx), 0);
	cr_expect_eq(((struct statx *)fake_ptr(&ft, sx))->stx_size, 13);
	expect_value(CALL(SYS_faccessat2, (uint64_t)fd, STR(""), R_OK, AT_EMPTY_PATH), 0);
	close(fd);
	/* the positive control's opposite: by its name, it is judged */
	expect_errno(CALL(SYS_statx, AT_FDCWD, STR("no/secret"), 0, STATX_SIZE, sx), EACCES);
	expect_errno(CALL(SYS_faccessat2, AT_FDCWD, STR("no/secret"), R_OK, 0), EACCES);
}

Test(core, memfds_are_made_sealed_against_exec)
{
	start_core("", false);
	struct fake_answer a = CALL(SYS_memfd_create, STR("m"), 0);
	if (a.kind == LB_REPLY_ERROR && a.value == -ENOSYS)
		cr_skip_test("no MFD_NOEXEC_SEAL before Linux 6.3");
	int fd = expect_fd(a);
	struct stat st;
	cr_assert(fstat(fd, &st) == 0);
	cr_expect_eq(st.st_mode & 0111, 0, "no x bit");
	cr_expect(fcntl(fd, F_GET_SEALS) & F_SEAL_EXEC, "and none can be added");
	close(fd);
	expect_errno(CALL(SYS_memfd_create, STR("x"), 0x0010U /* MFD_EXEC */), EACCES);
	expect_event(LB_EV_DENY, LB_CLASS_EXEC, "memfd:x");
}

Test(core, sendmmsg_sends_until_the_first_refusal)
{
	uint16_t ok_port, other_port;
	int r1, r2;
	int s = udp_granted_and_not(&r1, &ok_port, &r2, &other_port);
	struct sockaddr_in ok = {.sin_family = AF_INET,
				 .sin_port = htons(ok_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in other = ok;
	other.sin_port = htons(other_port);
	struct mmsghdr v[2];
	for (int i = 0; i < 2; i++) {
		uint64_t h = target_msg(i ? "two" : "one", i ? (void *)&other : (void *)&ok,
					sizeof(ok), NULL, 0);
		memcpy(&v[i].msg_hdr, fake_ptr(&ft, h), sizeof(v[i].msg_hdr));
		v[i].msg_len = 0;
	}
	uint64_t vec = fake_put(&ft, v, sizeof(v));
	expect_value(CALL(SYS_sendmmsg, (uint64_t)s, vec, 2, 0), 1);
	struct mmsghdr *got = fake_ptr(&ft, vec);
	cr_expect_eq(got[0].msg_len, 3, "the count of the one sent is written back");
	char buf[8];
	cr_expect_eq(recv(r1, buf, sizeof(buf), 0), 3);
	cr_expect_eq(recv(r2, buf, sizeof(buf), MSG_DONTWAIT), -1, "the refused one was not sent");
	/* the first refused: the call's error */
	expect_errno(CALL(SYS_sendmmsg, (uint64_t)s, vec + sizeof(struct mmsghdr), 1, 0),
		     ECONNREFUSED);
	close(s);
	close(r1);
	close(r2);
}

Test(core, routing_socket_options_are_refused)
{
	start_core("", false);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	uint64_t dev = fake_put(&ft, "lo", 3);
	expect_errno(CALL(SYS_setsockopt, (uint64_t)s, SOL_SOCKET, SO_BINDTODEVICE, dev, 3), EPERM);
	expect_event(LB_EV_DENY, LB_CLASS_SYSCALL, "setsockopt SO_BINDTODEVICE");
	char name[16] = {0};
	socklen_t l = sizeof(name);
	cr_expect(getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, name, &l) == 0 && !name[0],
		  "not bound to a device");
	close(s);
}

Test(core, calls_without_a_host_form_are_refused)
{
	start_core("", false);
	/* fanotify_mark has a row but no emulation: refused */
	expect_errno(CALL(SYS_fanotify_mark, 0, 0, 0, AT_FDCWD, STR("ro")), EPERM);
	/* a call of another ABI means another call: refused, recorded */
	struct lb_trap t = {.pid = ft.tid, .nr = 2, .abi = LB_ABI_I386, .priv = &ft};
	struct lb_answer a = lb_core_answer(core, &t);
	cr_expect_eq(a.kind, LB_ANS_ERROR);
	cr_expect_eq(a.err, EPERM);
	expect_event(LB_EV_DENY, LB_CLASS_SYSCALL, "i386:2");
}

/* ---- CONTINUE: each case, and why letting the kernel redo the call is safe -------- */

Test(core, continue_tracked_state_changes)
{
	/* umask and set*id carry numbers only (nothing in memory to swap):
	 * continued, and the core reads the new state for later operations */
	start_core("", false);
	expect_why(answer_of(SYS_umask, 077, 0, 0), "numbers only");
	expect_why(answer_of(SYS_setresuid, (uint64_t)-1, (uint64_t)-1, (uint64_t)-1),
		   "numbers only");
	expect_why(answer_of(SYS_setgroups, 0, 0, 0), "set*id");
}

Test(core, continue_audited_syscalls)
{
	/* `audit syscall`: the rule decides on the number alone; recorded */
	start_core("audit syscall getpid\naudit syscall setsockopt\n", false);
	n_events = 0;
	expect_why(answer_of(SYS_getpid, 0, 0, 0), "decided on no memory");
	expect_event(LB_EV_ALLOW, LB_CLASS_SYSCALL, "getpid");
	/* an option that reroutes nothing reaches litebox only through such a rule */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct lb_trap t = {
	    .pid = ft.tid,
	    .nr = SYS_setsockopt,
	    .args = {(uint64_t)s, SOL_SOCKET, SO_REUSEADDR, fake_put(&ft, "\1\0\0\0", 4), 4},
	    .priv = &ft};
	expect_why(lb_core_answer(core, &t), "decided on no memory");
	close(s);
}

Test(core, continue_deny_syscall_in_audit_mode)
{
	/* a would-deny of a call the supervisor does not mediate: recorded, then
	 * it runs as it would without the rule */
	start_core("deny syscall getpid\n", true);
	n_events = 0;
	expect_why(answer_of(SYS_getpid, 0, 0, 0), "audit mode");
	expect_event(LB_EV_WOULD_DENY, LB_CLASS_SYSCALL, "getpid");
	/* the positive control: enforced, it is refused */
	lb_core_free(core);
	lb_policy_free(policy);
	start_core("deny syscall getpid\n", false);
	struct lb_answer a = answer_of(SYS_getpid, 0, 0, 0);
	cr_expect_eq(a.kind, LB_ANS_ERROR);
}

Test(core, continue_exec_and_chdir_after_judging)
{
	/* exec: Landlock's EXECUTE rules bound what the kernel may run in the
	 * window; chdir: a cwd grants nothing, every later path is judged */
	start_core("", false);
	expect_why(answer_of(SYS_execve, STR("bin/prog"), 0, 0), "Landlock");
	int fd = open(at("bin/prog"), O_PATH);
	struct lb_trap t = {.pid = ft.tid,
			    .nr = SYS_execveat,
			    .args = {(uint64_t)fd, STR(""), 0, 0, AT_EMPTY_PATH},
			    .priv = &ft};
	expect_why(lb_core_answer(core, &t), "Landlock");
	close(fd);
	expect_why(answer_of(SYS_chdir, STR("rw"), 0, 0), "grants nothing");
	struct lb_answer a = answer_of(SYS_execve, STR("no/secret"), 0, 0);
	cr_expect_eq(a.kind, LB_ANS_ERROR, "refused ones are answered, never continued");
}

Test(core, continue_o_path_only_where_the_platform_cannot_install_it)
{
	/* seccomp's ADDFD refuses O_PATH files: continued, and such an fd is
	 * judged again at every use. A platform that can install one gets
	 * the very file that was judged. */
	start_core("", false);
	expect_why(answer_of(SYS_openat, AT_FDCWD, STR("ro/data"), O_PATH), "judged again");
	/* never openat2: its flags are in memory the kernel would read again */
	struct open_how how = {.flags = O_PATH};
	uint64_t h = fake_put(&ft, &how, sizeof(how));
	expect_errno(CALL(SYS_openat2, AT_FDCWD, STR("ro/data"), h, sizeof(how)), ENOSYS);
	lb_core_free(core);
	lb_policy_free(policy);
	static struct lb_platform_ops installs;
	installs = fake_platform;
	installs.installs_path_fds = true;
	start_core_on("", &installs);
	struct lb_answer a = answer_of(SYS_openat, AT_FDCWD, STR("ro/data"), O_PATH);
	cr_assert_eq(a.kind, LB_ANS_FD, "opened by the supervisor");
	cr_expect(fcntl(a.fd, F_GETFL) & O_PATH);
	close(a.fd);
}
