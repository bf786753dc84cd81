/* SPDX-License-Identifier: MIT */
/* lib/elf.c on real binaries and on fixtures generated here: foreign ELF
 * headers, truncated and corrupt copies of /bin/sh, scripts, PATH search. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "litebox/elf.h"

static char tmp[64]; /* /tmp/litebox-test-elf-XXXXXX */

static void make_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/litebox-test-elf-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp), "mkdtemp: %s", strerror(errno));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmp(void)
{
	if (tmp[0])
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(elf, .init = make_tmp, .fini = remove_tmp);

/* A skipped test does not reach .fini: clean up first. */
#define skip_test(reason)                                                                          \
	do {                                                                                       \
		remove_tmp();                                                                      \
		cr_skip_test(reason);                                                              \
	} while (0)

/* tmp/name, in a static buffer per call site's use */
static const char *tmp_path(const char *name)
{
	static char bufs[4][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 4];
	snprintf(b, PATH_MAX, "%s/%s", tmp, name);
	return b;
}

static const char *write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	const char *path = tmp_path(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

static void *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	cr_assert_gt(n, 0);
	rewind(f);
	void *buf = malloc((size_t)n);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

struct result {
	int rc;
	enum lb_exec_problem problem;
	char detail[512];
	struct lb_program *p;
};

static struct result inspect_path(const char *program, const char *path_env)
{
	struct result r = {.problem = LB_EXEC_OK};
	r.rc = lb_program_inspect(program, path_env, &r.p, &r.problem, r.detail, sizeof(r.detail));
	return r;
}

static struct result inspect(const char *program)
{
	return inspect_path(program, NULL);
}

static void expect_problem(const struct result *r, enum lb_exec_problem problem, const char *needle)
{
	cr_assert_lt(r->rc, 0, "expected failure, got %d", r->rc);
	cr_assert_eq(r->problem, problem, "problem %d, expected %d (%s)", r->problem, problem,
		     r->detail);
	cr_assert(strstr(r->detail, needle), "detail '%s' lacks '%s'", r->detail, needle);
}

/* A bare ELF header: 64 bytes for ELFCLASS64, 52 for ELFCLASS32. */
static size_t make_ehdr(unsigned char *buf, int elf_class, uint16_t machine)
{
	memset(buf, 0, 64);
	memcpy(buf, ELFMAG, SELFMAG);
	buf[EI_CLASS] = (unsigned char)elf_class;
	buf[EI_DATA] = ELFDATA2LSB;
	buf[EI_VERSION] = EV_CURRENT;
	if (elf_class == ELFCLASS64) {
		Elf64_Ehdr eh;
		memcpy(&eh, buf, sizeof(eh));
		eh.e_type = ET_EXEC;
		eh.e_machine = machine;
		eh.e_version = EV_CURRENT;
		eh.e_ehsize = sizeof(Elf64_Ehdr);
		eh.e_phentsize = sizeof(Elf64_Phdr);
		memcpy(buf, &eh, sizeof(eh));
		return sizeof(eh);
	}
	Elf32_Ehdr eh;
	memcpy(&eh, buf, sizeof(eh));
	eh.e_type = ET_EXEC;
	eh.e_machine = machine;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(Elf32_Ehdr);
	eh.e_phentsize = sizeof(Elf32_Phdr);
	memcpy(buf, &eh, sizeof(eh));
	return sizeof(eh);
}

static bool has_lib(const struct lb_program *p, const char *name, const char **resolved)
{
	for (size_t i = 0; i < p->n_libs; i++) {
		if (strcmp(p->libs[i].name, name) == 0) {
			*resolved = p->libs[i].resolved;
			return true;
		}
	}
	return false;
}

/* Compile src with cc and flags into tmp/out; false when cc fails. */
static bool compile(const char *src_name, const char *src, const char *out, const char *flags)
{
	const char *src_path = write_file(src_name, src, strlen(src), 0644);
	char cmd[3 * PATH_MAX];
	/* flags after the source: they may name libraries (--as-needed) */
	snprintf(cmd, sizeof(cmd), "cc -o '%s' '%s' %s >/dev/null 2>&1", tmp_path(out), src_path,
		 flags);
	return system(cmd) == 0;
}

/* ---- real binaries -------------------------------------------------------------- */

Test(elf, bin_sh_is_dynamic_with_interpreter_and_libc)
{
	struct result r = inspect("/bin/sh");
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	cr_assert_eq(r.problem, LB_EXEC_OK);
	const struct lb_program *p = r.p;
	cr_assert_eq(p->path[0], '/');
	cr_assert_not(p->is_script);
	cr_assert_eq(p->elf_class, 64);
	cr_assert_eq(p->machine, EM_X86_64);
	cr_assert_str_eq(p->machine_name, "x86_64");
	cr_assert_not(p->is_static);
	cr_assert_not_null(p->interp);
	const char *libc = NULL;
	cr_assert(has_lib(p, "libc.so.6", &libc), "libc.so.6 not among the needed libraries");
	cr_assert_not_null(libc, "libc.so.6 did not resolve");
	cr_assert_eq(access(libc, R_OK), 0, "%s", libc);
	lb_program_free(r.p);
}

Test(elf, bin_ls_closure_is_complete_and_without_duplicates)
{
	struct result r = inspect("/bin/ls");
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	const char *libc = NULL;
	cr_assert(has_lib(r.p, "libc.so.6", &libc));
	cr_assert_not_null(libc);
	cr_assert_eq(libc[0], '/');
	cr_assert_eq(access(libc, F_OK), 0, "%s", libc);
	for (size_t i = 0; i < r.p->n_libs; i++) {
		for (size_t j = i + 1; j < r.p->n_libs; j++)
			cr_assert_str_neq(r.p->libs[i].name, r.p->libs[j].name, "duplicate %s",
					  r.p->libs[i].name);
		if (r.p->libs[i].resolved)
			cr_assert_eq(access(r.p->libs[i].resolved, F_OK), 0);
	}
	lb_program_free(r.p);
}

Test(elf, static_binary_built_at_runtime)
{
	if (!compile("static.c", "int main(void) { return 0; }\n", "static", "-static"))
		skip_test("cc -static failed (no compiler or no static libc)");
	struct result r = inspect(tmp_path("static"));
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	cr_assert(r.p->is_static);
	cr_assert_null(r.p->interp);
	cr_assert_eq(r.p->n_libs, 0);
	lb_program_free(r.p);
}

Test(elf, runpath_origin_is_expanded)
{
	char lib_flags[PATH_MAX + 64];
	cr_assert_eq(mkdir(tmp_path("bin"), 0755), 0);
	cr_assert_eq(mkdir(tmp_path("lib"), 0755), 0);
	if (!compile("f.c", "int f(void) { return 1; }\n", "lib/libf.so.1",
		     "-shared -fPIC -Wl,-soname,libf.so.1"))
		skip_test("cc cannot build a shared library");
	snprintf(lib_flags, sizeof(lib_flags), "'%s' -Wl,-rpath,'$ORIGIN/../lib'",
		 tmp_path("lib/libf.so.1"));
	if (!compile("m.c", "int f(void);\nint main(void) { return f(); }\n", "bin/m", lib_flags))
		skip_test("cc cannot link against a shared library");
	struct result r = inspect(tmp_path("bin/m"));
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	cr_assert(r.p->runpath || r.p->rpath);
	const char *resolved = NULL;
	cr_assert(has_lib(r.p, "libf.so.1", &resolved));
	char *want = realpath(tmp_path("lib/libf.so.1"), NULL);
	cr_assert_not_null(resolved);
	cr_assert_str_eq(resolved, want);
	free(want);
	lb_program_free(r.p);
}

/* ---- foreign and broken files ------------------------------------------------------ */

Test(elf, aarch64_is_wrong_machine_and_still_described)
{
	unsigned char buf[64];
	size_t len = make_ehdr(buf, ELFCLASS64, EM_AARCH64);
	struct result r = inspect(write_file("arm", buf, len, 0755));
	expect_problem(&r, LB_EXEC_WRONG_MACHINE, "aarch64");
	cr_assert_not_null(r.p);
	cr_assert_str_eq(r.p->machine_name, "aarch64");
	cr_assert_eq(lb_exec_problem_status(r.problem), 126);
	lb_program_free(r.p);
}

Test(elf, i386_is_wrong_class)
{
	unsigned char buf[64];
	size_t len = make_ehdr(buf, ELFCLASS32, EM_386);
	struct result r = inspect(write_file("i386", buf, len, 0755));
	expect_problem(&r, LB_EXEC_WRONG_CLASS, "32-bit");
	cr_assert_not_null(r.p);
	cr_assert_eq(r.p->elf_class, 32);
	cr_assert_str_eq(r.p->machine_name, "i386");
	lb_program_free(r.p);
}

Test(elf, unknown_machine_is_named_by_number)
{
	unsigned char buf[64];
	size_t len = make_ehdr(buf, ELFCLASS64, 4242);
	struct result r = inspect(write_file("odd", buf, len, 0755));
	expect_problem(&r, LB_EXEC_WRONG_MACHINE, "machine 4242");
	cr_assert_str_eq(r.p->machine_name, "machine 4242");
	lb_program_free(r.p);
}

Test(elf, truncated_copies_of_bin_sh_are_corrupt)
{
	size_t len = 0;
	unsigned char *sh = read_all("/bin/sh", &len);
	const size_t sizes[] = {10, 64, 100};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "trunc%zu", sizes[i]);
		struct result r = inspect(write_file(name, sh, sizes[i], 0755));
		expect_problem(&r, LB_EXEC_CORRUPT, "truncated or corrupt ELF");
		cr_assert_null(r.p);
	}
	free(sh);
}

Test(elf, phoff_past_eof_is_corrupt)
{
	size_t len = 0;
	unsigned char *sh = read_all("/bin/sh", &len);
	uint64_t phoff = (uint64_t)len + 4096;
	memcpy(sh + offsetof(Elf64_Ehdr, e_phoff), &phoff, sizeof(phoff));
	struct result r = inspect(write_file("phoff", sh, len, 0755));
	expect_problem(&r, LB_EXEC_CORRUPT, "program header table extends past end of file");
	free(sh);
}

Test(elf, interp_without_terminator_is_corrupt)
{
	size_t len = 0;
	unsigned char *sh = read_all("/bin/sh", &len);
	Elf64_Ehdr eh;
	memcpy(&eh, sh, sizeof(eh));
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, sh + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP)
			memset(sh + ph.p_offset, 'a', ph.p_filesz);
	}
	struct result r = inspect(write_file("interp", sh, len, 0755));
	expect_problem(&r, LB_EXEC_CORRUPT, "PT_INTERP");
	free(sh);
}

/* Random damage to /bin/sh must give an answer, never a crash (the test
 * binary may run under ASan/UBSan). */
Test(elf, mutated_copies_never_crash)
{
	size_t len = 0;
	unsigned char *sh = read_all("/bin/sh", &len);
	unsigned char *copy = malloc(len);
	cr_assert_not_null(copy);
	srand(1234);
	for (int round = 0; round < 200; round++) {
		memcpy(copy, sh, len);
		for (int k = 0; k < 1 + rand() % 6; k++)
			copy[(size_t)rand() % (rand() % 2 ? 1024 : len)] = (unsigned char)rand();
		size_t n = rand() % 4 ? len : (size_t)rand() % len;
		struct result r = inspect(write_file("mutant", copy, n, 0755));
		if (r.rc < 0)
			cr_assert_neq(r.detail[0], '\0', "a failure without a message");
		lb_program_free(r.p);
	}
	free(copy);
	free(sh);
}

Test(elf, garbage_is_not_elf)
{
	unsigned char junk[300];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 37 + 11);
	struct result r = inspect(write_file("junk", junk, sizeof(junk), 0755));
	expect_problem(&r, LB_EXEC_NOT_ELF, "not an ELF file or a #! script");
}

Test(elf, empty_file)
{
	struct result r = inspect(write_file("empty", "", 0, 0755));
	expect_problem(&r, LB_EXEC_EMPTY, "is an empty file");
	cr_assert_eq(lb_exec_problem_status(r.problem), 126);
}

Test(elf, directory)
{
	struct result r = inspect(tmp);
	expect_problem(&r, LB_EXEC_IS_DIRECTORY, "is a directory");
}

Test(elf, file_without_execute_permission)
{
	struct result r = inspect(write_file("noexec", "#!/bin/sh\n", 10, 0644));
	expect_problem(&r, LB_EXEC_NOT_EXECUTABLE, "no execute permission");
	cr_assert_eq(r.rc, -EACCES);
}

/* ---- scripts ------------------------------------------------------------------------ */

Test(elf, shebang_bin_sh)
{
	struct result r = inspect(write_file("s.sh", "#!/bin/sh\necho hi\n", 18, 0755));
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	cr_assert(r.p->is_script);
	cr_assert_str_eq(r.p->script_interp, "/bin/sh");
	cr_assert_null(r.p->script_arg);
	cr_assert_not_null(r.p->interp_program);
	cr_assert_eq(r.p->interp_program->machine, EM_X86_64);
	lb_program_free(r.p);
}

Test(elf, shebang_env_with_argument)
{
	const char text[] = "#! /usr/bin/env  python3 -u \t\nprint(1)\n";
	if (access("/usr/bin/env", X_OK) != 0)
		skip_test("no /usr/bin/env");
	struct result r = inspect(write_file("s.py", text, sizeof(text) - 1, 0755));
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	cr_assert_str_eq(r.p->script_interp, "/usr/bin/env");
	cr_assert_str_eq(r.p->script_arg, "python3 -u"); /* one argument, like the kernel */
	lb_program_free(r.p);
}

Test(elf, shebang_missing_interpreter)
{
	const char text[] = "#!/nonexistent/litebox-interp\n";
	struct result r = inspect(write_file("bad.sh", text, sizeof(text) - 1, 0755));
	expect_problem(&r, LB_EXEC_BAD_INTERP, "/nonexistent/litebox-interp");
	cr_assert(strstr(r.detail, "not found"), "%s", r.detail);
	cr_assert_eq(lb_exec_problem_status(r.problem), 126);
	lb_program_free(r.p);
}

Test(elf, shebang_without_interpreter_name)
{
	struct result r = inspect(write_file("none.sh", "#!   \n", 6, 0755));
	expect_problem(&r, LB_EXEC_BAD_INTERP, "names no interpreter");
	lb_program_free(r.p);
}

Test(elf, shebang_loop_is_bounded)
{
	char text[PATH_MAX + 8];
	snprintf(text, sizeof(text), "#!%s\n", tmp_path("loop.sh"));
	struct result r = inspect(write_file("loop.sh", text, strlen(text), 0755));
	expect_problem(&r, LB_EXEC_BAD_INTERP, "levels of #! interpreters");
	lb_program_free(r.p);
}

/* ---- PATH search -------------------------------------------------------------------- */

Test(elf, path_search_finds_sh)
{
	struct result r = inspect_path("sh", "/nonexistent-dir:/bin");
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	char *want = realpath("/bin/sh", NULL);
	cr_assert_str_eq(r.p->path, want);
	free(want);
	lb_program_free(r.p);
}

Test(elf, path_search_not_found)
{
	struct result r = inspect_path("litebox-no-such-program", "/bin:/usr/bin");
	expect_problem(&r, LB_EXEC_NOT_FOUND, "not found in PATH");
	cr_assert_eq(r.rc, -ENOENT);
	cr_assert_null(r.p);
	cr_assert_eq(lb_exec_problem_status(r.problem), 127);
}

Test(elf, path_search_prefers_an_executable_over_an_earlier_plain_file)
{
	char path_env[2 * PATH_MAX + 2];
	cr_assert_eq(mkdir(tmp_path("a"), 0755), 0);
	cr_assert_eq(mkdir(tmp_path("b"), 0755), 0);
	write_file("a/tool", "#!/bin/sh\n", 10, 0644);
	write_file("b/tool", "#!/bin/sh\n", 10, 0755);
	snprintf(path_env, sizeof(path_env), "%s:%s", tmp_path("a"), tmp_path("b"));
	struct result r = inspect_path("tool", path_env);
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	cr_assert(strstr(r.p->path, "/b/tool"), "%s", r.p->path);
	lb_program_free(r.p);
}

Test(elf, relative_path_is_made_absolute)
{
	char cwd[PATH_MAX];
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir("/bin"), 0);
	struct result r = inspect("./sh");
	cr_assert_eq(chdir(cwd), 0);
	cr_assert_eq(r.rc, 0, "%s", r.detail);
	cr_assert_eq(r.p->path[0], '/');
	lb_program_free(r.p);
}

Test(elf, missing_path_with_slash)
{
	struct result r = inspect("/nonexistent/litebox/prog");
	expect_problem(&r, LB_EXEC_NOT_FOUND, "no such file");
}

Test(elf, status_mapping)
{
	cr_assert_eq(lb_exec_problem_status(LB_EXEC_NOT_FOUND), 127);
	cr_assert_eq(lb_exec_problem_status(LB_EXEC_WRONG_MACHINE), 126);
	cr_assert_eq(lb_exec_problem_status(LB_EXEC_CORRUPT), 126);
	cr_assert_eq(lb_exec_problem_status(LB_EXEC_BAD_INTERP), 126);
}
