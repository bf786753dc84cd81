/* SPDX-License-Identifier: MIT */
/* JSON escaping of hostile strings in the audit log: every output must be
 * valid JSON (checked by a strict validator below) and carry the input. */
#include <criterion/criterion.h>
#include <string.h>

#include "litebox/audit.h"

/* Minimal strict JSON string validator: quotes, escapes, no raw control
 * characters, valid UTF-8. */
static bool valid_json_string(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (*p++ != '"')
		return false;
	while (*p && *p != '"') {
		if (*p < 0x20)
			return false;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return false;
				p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *p) || !*p)
				return false;
			p++;
			continue;
		}
		int n = *p < 0x80	      ? 1
			: (*p & 0xe0) == 0xc0 ? 2
			: (*p & 0xf0) == 0xe0 ? 3
			: (*p & 0xf8) == 0xf0 ? 4
					      : 0;
		if (!n)
			return false;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return *p == '"' && p[1] == '\0';
}

struct row {
	const char *in;
	size_t len;
	const char *want;
};

#define R(s, w)                                                                                    \
	{                                                                                          \
		s, sizeof(s) - 1, w                                                                \
	}
static const struct row rows[] = {
    R("/plain/path", "\"/plain/path\""),
    R("a\"quote", "\"a\\\"quote\""),
    R("back\\slash", "\"back\\\\slash\""),
    R("new\nline", "\"new\\u000aline\""),
    R("tab\there", "\"tab\\u0009here\""),
    R("nul\0byte", "\"nul\\u0000byte\""),
    R("del\x7f", "\"del\\u007f\""),
    R("caf\xc3\xa9", "\"caf\xc3\xa9\""),
    R("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\""),
    R("bad\xff", "\"bad\\ufffd\""),
    R("trunc\xe6\x97", "\"trunc\\ufffd\\ufffd\""),
    R("overlong\xc0\xaf", "\"overlong\\ufffd\\ufffd\""),
    R("surrogate\xed\xa0\x80", "\"surrogate\\ufffd\\ufffd\\ufffd\""),
    R("emoji\xf0\x9f\x98\x80", "\"emoji\xf0\x9f\x98\x80\""),
    R("", "\"\""),
};

Test(audit, escaping_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char buf[256];
		size_t n = lb_json_escape(rows[i].in, rows[i].len, buf, sizeof(buf));
		cr_expect_str_eq(buf, rows[i].want, "row %zu", i);
		cr_expect_eq(n, strlen(rows[i].want), "row %zu length", i);
		cr_expect(valid_json_string(buf), "row %zu is valid JSON: %s", i, buf);
	}
}

Test(audit, every_byte_value_gives_valid_json)
{
	for (int a = 0; a < 256; a++) {
		for (int b = 0; b < 256; b += 7) {
			char in[3] = {(char)a, (char)b, 'x'};
			char buf[64];
			lb_json_escape(in, sizeof(in), buf, sizeof(buf));
			cr_assert(valid_json_string(buf), "bytes %02x %02x: %s", a, b, buf);
		}
	}
}

Test(audit, truncation_reports_needed_size)
{
	char buf[4];
	size_t n = lb_json_escape("abcdef", 6, buf, sizeof(buf));
	cr_expect_eq(n, 8);
	cr_expect_eq(strlen(buf), 3);
}

/* Terminal escaping (denial lines): nothing a terminal interprets survives. */
Test(audit, text_escape_table)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"/etc/passwd", "/etc/passwd"},
	    {"a\\b", "a\\\\b"},
	    {"\x1b[31mred", "\\e[31mred"},
	    {"x\rlitebox: fake\n", "x\\rlitebox: fake\\n"},
	    {"\x07\x7f\x01", "\\x07\\x7f\\x01"},
	    {"\xff\xfe", "\\xff\\xfe"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"}, /* valid UTF-8 stays */
	    {"\xc2\x9b"
	     "31m",
	     "\\u009b31m"}, /* C1 CSI */
	    {"a\xe2\x80\xae"
	     "exe.txt",
	     "a\\u202eexe.txt"},		 /* bidi override */
	    {"\xc0\xaf", "\\xc0\\xaf"},		 /* overlong */
	    {"\xed\xa0\x80", "\\xed\\xa0\\x80"}, /* surrogate */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128];
		size_t n = lb_text_escape(cases[i].in, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].out, "case %zu", i);
		cr_expect_eq(n, strlen(cases[i].out), "case %zu length", i);
	}
}

Test(audit, text_escape_every_byte_is_safe)
{
	for (int c = 1; c < 256; c++) {
		char in[4] = {'a', (char)c, 'b', 0}, buf[32];
		lb_text_escape(in, buf, sizeof(buf));
		for (const unsigned char *p = (const unsigned char *)buf; *p; p++)
			cr_assert(*p >= 0x20 && *p != 0x7f && *p < 0x80, "byte %d left %d", c, *p);
	}
}
