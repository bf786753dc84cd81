/* SPDX-License-Identifier: MIT */
/* libFuzzer: path patterns. The input is "PATTERN-A\nPATTERN-B\nPATH".
 * Compiling never crashes; matching never crashes; and covers() is sound:
 * when A covers B, every path B matches is matched by A. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of the input as a NUL-terminated copy. */
static char *next_line(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t len = nl ? (size_t)(nl - *data) : *size;
	char *s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, *data, len);
	s[len] = '\0';
	*data += len + (nl != NULL);
	*size -= len + (nl != NULL);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *ta = next_line(&data, &size), *tb = next_line(&data, &size),
	     *path = next_line(&data, &size);
	struct lb_pattern *a = NULL, *b = NULL;
	struct lb_pattern_error err;
	int ra = lb_pattern_compile(ta, &a, &err);
	int rb = lb_pattern_compile(tb, &b, &err);
	if (ra == 0) {
		(void)lb_pattern_prefix(a);
		(void)lb_pattern_is_literal(a);
		if (path[0] == '/' && !strstr(path, "//") && !strstr(path, "/./") &&
		    !strstr(path, "/../"))
			(void)lb_pattern_match(a, path);
	}
	if (ra == 0 && rb == 0 && lb_pattern_covers(a, b) && path[0] == '/' &&
	    lb_pattern_match(b, path) && !lb_pattern_match(a, path))
		abort(); /* covers() claimed more than it may */
	lb_pattern_free(a);
	lb_pattern_free(b);
	free(ta);
	free(tb);
	free(path);
	return 0;
}
