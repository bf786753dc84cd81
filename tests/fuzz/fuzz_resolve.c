/* SPDX-License-Identifier: MIT */
/* libFuzzer: the resolver, the supervisor's path decoder. The input is a
 * flags byte and a path, resolved inside a fixture tree (directories,
 * files, relative and absolute symlinks, loops, links that climb with
 * "..") that stands for "/". Never crashes or leaks a descriptor, and on
 * success the answer is canonical and inside the tree: an absolute path
 * without "//", "." or ".." components or a trailing '/', whose directory
 * fd is below the fixture. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "litebox/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rootfd = -1;
static char root_real[PATH_MAX];

static void must(int rc, const char *what)
{
	if (rc < 0) {
		perror(what);
		abort();
	}
}

/* Built through a descriptor of the fixture, never by changing the
 * working directory: libFuzzer reads the seed corpus by the relative
 * names it was given after the first input ran (a chdir here made it
 * find no input at all). */
static void make_fixture(void)
{
	char tmpl[] = "/tmp/lb-fuzz-resolve-XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, root_real))
		abort();
	int d = open(root_real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	must(d, "open fixture");
	must(mkdirat(d, "a", 0755), "mkdir");
	must(mkdirat(d, "a/b", 0755), "mkdir");
	must(mkdirat(d, "a/b/c", 0755), "mkdir");
	close(openat(d, "a/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	close(openat(d, "a/b/g", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	static const char *const links[][2] = {
	    {"a", "l1"},
	    {"/a/b", "l2"},
	    {"loop", "loop"},
	    {"../../..", "a/b/up"},
	    {"f", "a/tofile"},
	    {"/a/tofile/", "a/slash"},
	    {"missing", "a/dangling"},
	    {"/l1/b/c/../../f", "a/b/c/back"},
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		must(symlinkat(links[i][0], d, links[i][1]), "symlink");
	rootfd = d;
}

static bool canonical(const char *p)
{
	if (p[0] != '/')
		return false;
	if (strcmp(p, "/") == 0)
		return true;
	size_t n = strlen(p);
	if (p[n - 1] == '/' || strstr(p, "//"))
		return false;
	for (const char *c = p; c; c = strchr(c + 1, '/')) {
		if (strncmp(c, "/./", 3) == 0 || strncmp(c, "/../", 4) == 0 ||
		    strcmp(c, "/.") == 0 || strcmp(c, "/..") == 0)
			return false;
	}
	return true;
}

static bool inside_fixture(int fd)
{
	char link[64], where[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, where, sizeof(where) - 1);
	if (n < 0)
		return false;
	where[n] = '\0';
	size_t rl = strlen(root_real);
	return strncmp(where, root_real, rl) == 0 && (where[rl] == '\0' || where[rl] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (rootfd < 0)
		make_fixture();
	if (size < 1 || size > PATH_MAX)
		return 0;
	unsigned flags = data[0] & (LB_RES_FOLLOW | LB_RES_DIR_ONLY | LB_RES_MODIFY);
	char path[PATH_MAX + 1];
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	struct lb_resolve_ctx ctx = {.rootfd = rootfd, .tid = getpid(), .tgid = getpid()};
	struct lb_resolved out;
	int before = dup(0);
	close(before);
	int rc = lb_resolve(&ctx, rootfd, "/", path, flags, &out);
	if (rc == 0) {
		if (!canonical(out.path)) {
			fprintf(stderr, "not canonical: '%s' for '%s'\n", out.path, path);
			abort();
		}
		if (out.magic_fd < 0 && !inside_fixture(out.dirfd)) {
			fprintf(stderr, "escaped the root: '%s' for '%s'\n", out.path, path);
			abort();
		}
		lb_resolved_release(&out);
	} else if (rc > 0 || rc < -4095) {
		abort();
	}
	int after = dup(0); /* the lowest free fd: a leak would raise it */
	close(after);
	if (after != before) {
		fprintf(stderr, "descriptor leak for '%s'\n", path);
		abort();
	}
	return 0;
}
