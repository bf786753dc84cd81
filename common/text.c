/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "litebox/text.h"
#include "litebox/util.h"

size_t lb_utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, surrogate */
	return n;
}

size_t lb_utf8_invalid_at(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = lb_utf8_seq(s + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b && a > UINT64_MAX / b)
		return -ERANGE;
	*out = a * b;
	return 0;
}

/* Leading decimal digits; *end past them. */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -EINVAL;
	*out = v;
	*end = p;
	return 0;
}

int lb_parse_count(const char *s, uint64_t *out)
{
	const char *end;
	int rc = parse_digits(s, out, &end);
	return rc < 0 ? rc : *end ? -EINVAL : 0;
}

int lb_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60000}, {"h", 3600000}};
	uint64_t v;
	const char *end;
	int rc = parse_digits(s, &v, &end);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < LB_ARRAY_SIZE(units); i++)
		if (strcmp(end, units[i].unit) == 0)
			return mul_ok(v, units[i].ms, out);
	return -EINVAL;
}

int lb_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v, mult = 1;
	const char *end;
	int rc = parse_digits(s, &v, &end);
	if (rc < 0)
		return rc;
	if (*end) {
		const char *u = strchr(units, *end >= 'a' ? *end - 'a' + 'A' : *end);
		if (u)
			for (mult = 1024, end++; u > units; u--)
				mult *= 1024;
		if (strcmp(end, "B") == 0 || (u && strcmp(end, "iB") == 0))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	return mul_ok(v, mult, out);
}

uint32_t lb_utf8_cp(const unsigned char *s, size_t n)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = s[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

bool lb_cp_unsafe(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c;
}
