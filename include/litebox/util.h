/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every module: scope-bound cleanup of fds and
 * allocations, and hand-over of ownership with steal_pointer()/steal_fd(). */
#ifndef LITEBOX_UTIL_H
#define LITEBOX_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#define LB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void lb_freep(void *p)
{
	free(*(void **)p);
}

static inline void lb_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void lb_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define lb_autofree __attribute__((cleanup(lb_freep)))
#define lb_autoclose __attribute__((cleanup(lb_closep)))
#define lb_autofclose __attribute__((cleanup(lb_fclosep)))

/* Take ownership of *pp, leaving NULL behind so the cleanup does nothing. */
static inline void *lb_steal_pointer(void *pp)
{
	void **p = (void **)pp;
	void *ret = *p;
	*p = NULL;
	return ret;
}
#define steal_pointer(pp) lb_steal_pointer(pp)

static inline int lb_steal_fd(int *fd)
{
	int ret = *fd;
	*fd = -1;
	return ret;
}
#define steal_fd(fdp) lb_steal_fd(fdp)

#define LB_UNUSED __attribute__((unused))

/* FNV-1a of a string (hash tables, folding keys). */
static inline uint64_t lb_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The directory part of an absolute path, malloc'd ("/a/b" -> "/a",
 * "/a" -> "/"). NULL when out of memory. */
static inline char *lb_dirname_dup(const char *path)
{
	size_t n = strlen(path);
	char *d = (char *)malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, path, n + 1);
	char *slash = strrchr(d, '/');
	if (slash == d)
		d[1] = '\0';
	else if (slash)
		*slash = '\0';
	return d;
}

/* A sanitizer build (meson -Db_sanitize=...), with gcc or clang. */
#if defined(__SANITIZE_ADDRESS__)
#define LB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer) ||                           \
    __has_feature(undefined_behavior_sanitizer)
#define LB_SANITIZED 1
#endif
#endif
#ifndef LB_SANITIZED
#define LB_SANITIZED 0
#endif

#endif
