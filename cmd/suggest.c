/* SPDX-License-Identifier: MIT */
/* "did you mean --allow-read?": the known word at the smallest edit
 * distance from what was typed. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define MAX_WORD 64

/* Levenshtein distance, with a swap of two neighbours counting one. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la >= MAX_WORD || lb >= MAX_WORD)
		return (size_t)-1;
	size_t d[MAX_WORD + 1][MAX_WORD + 1];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			size_t best = sub < del ? sub : del;
			best = best < ins ? best : ins;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

const char *lb_suggest_tail(const char *given, const char *const *known)
{
	static char buf[MAX_WORD + 32];
	const char *best = NULL;
	size_t best_d = (size_t)-1, len = strlen(given);
	for (size_t i = 0; known[i]; i++) {
		size_t d = distance(given, known[i]);
		if (d < best_d) {
			best_d = d;
			best = known[i];
		}
	}
	/* Close enough to be a typo: a third of the word, at least 2. */
	size_t limit = len / 3 > 2 ? len / 3 : 2;
	if (!best || best_d == 0 || best_d > limit)
		return "";
	snprintf(buf, sizeof(buf), " (did you mean %s?)", best);
	return buf;
}
