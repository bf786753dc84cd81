/* SPDX-License-Identifier: MIT */
/* The one routine that writes a name as a policy word (learn, generate,
 * policy show, denial hints): whatever bytes the name holds, the lexer
 * reads the word back as exactly that name, and its '*' and '?' are
 * characters, not wildcards, up to the point the caller says. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "litebox/policy.h"
#include "litebox/text.h"

static void put(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (*pos < cap) {
		size_t room = cap - *pos;
		memcpy(buf + *pos, s, n < room ? n : room);
	}
	*pos += n;
}

/* Can byte i stand as it is in a bare word? */
static bool plain(const unsigned char *u, size_t len, size_t i, size_t literal_end)
{
	unsigned char c = u[i];
	if (c < 0x21 || c == 0x7f || c == '"' || c == '\\' || c == '#')
		return false;
	if ((c == '*' || c == '?') && i < literal_end)
		return false;
	if (c < 0x80)
		return true;
	size_t n = lb_utf8_seq(u + i, len - i);
	return n > 0 && !lb_cp_unsafe(lb_utf8_cp(u + i, n));
}

static bool needs_quotes(const char *s, size_t literal_end)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);
	if (len == 0)
		return true;
	for (size_t i = 0; i < len;) {
		if (!plain(u, len, i, literal_end))
			return true;
		size_t n = u[i] < 0x80 ? 1 : lb_utf8_seq(u + i, len - i);
		i += n ? n : 1;
	}
	return false;
}

size_t lb_policy_quote(const char *s, size_t literal_end, char *buf, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), pos = 0;
	if (!needs_quotes(s, literal_end)) {
		for (size_t i = 0; i < len; i++)
			put(buf, cap, &pos, s[i] == '$' ? "$$" : s + i, s[i] == '$' ? 2 : 1);
	} else {
		put(buf, cap, &pos, "\"", 1);
		for (size_t i = 0; i < len;) {
			unsigned char c = u[i];
			size_t n = c < 0x80 ? 1 : lb_utf8_seq(u + i, len - i);
			char esc[8];
			if (c == '$') {
				put(buf, cap, &pos, "$$", 2); /* as the lexer reads a literal '$' */
			} else if (c == '"' || c == '\\' ||
				   ((c == '*' || c == '?') && i < literal_end)) {
				esc[0] = '\\';
				esc[1] = (char)c;
				put(buf, cap, &pos, esc, 2);
			} else if (c == '\n' || c == '\t' || c == '\r') {
				esc[0] = '\\';
				esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
				put(buf, cap, &pos, esc, 2);
			} else if (c < 0x20 || c == 0x7f || n == 0 ||
				   (c >= 0x80 && lb_cp_unsafe(lb_utf8_cp(u + i, n)))) {
				/* byte by byte: a bidi override shows as \xe2\x80\xae */
				snprintf(esc, sizeof(esc), "\\x%02x", c);
				put(buf, cap, &pos, esc, 4);
				n = 1;
			} else {
				put(buf, cap, &pos, s + i, n);
			}
			i += n;
		}
		put(buf, cap, &pos, "\"", 1);
	}
	if (cap)
		buf[pos < cap ? pos : cap - 1] = '\0';
	return pos;
}
