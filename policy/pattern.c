/* SPDX-License-Identifier: MIT */
/* Path patterns of the policy language.
 *
 * A pattern is split into components at '/'. Each component is one of
 *   - a literal          ("usr", "libc.so.6"),
 *   - a glob             ("*.so", "lib?"): '*' is any run of bytes inside
 *                        the component, '?' exactly one UTF-8 code point,
 *   - a globstar         ("**" as a whole component): any number of whole
 *                        components, zero included.
 * There is no escape character and no bracket expression: '[', ']' and '\'
 * are ordinary bytes. A policy writes a literal '*' or '?' as \* or \? in a
 * quoted word; the parser then compiles with lb_pattern_compile_literal,
 * whose components before that point are literal whatever they hold.
 *
 * Choices the spec leaves open, made here:
 *   - "**" mixed with other characters in a component ("a**b", "**.c") is
 *     not a globstar: consecutive stars are one '*', so it stays inside its
 *     component, as in gitignore.
 *   - "//" is the same as "/", and a trailing '/' is dropped: "/dir/" is
 *     the pattern "/dir" (a directory is named by its path without '/').
 *   - "/dir/" "**" matches "/dir" itself simply because "**" may match zero
 *     components; nothing special-cases it.
 *
 * Matching runs a small NFA over the path's components: the state set is
 * the set of pattern positions reached so far (a bitset, on the stack), and
 * each path component advances every active position at once. Each step
 * costs O(components * component glob), so there is no backtracking
 * blow-up on "/" "**" "/" "**" ... or "*a*a*a*b". lb_pattern_match never
 * allocates and only reads the compiled pattern, so it may be called from
 * many threads at once. */
#include "litebox/pattern.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/util.h"

enum comp_kind {
	COMP_LITERAL,
	COMP_GLOB,
	COMP_GLOBSTAR,
};

struct comp {
	enum comp_kind kind;
	const char *s; /* into lb_pattern.text, not NUL-terminated */
	size_t len;
};

struct lb_pattern {
	char *text;   /* normalised: no "//", no trailing '/' */
	char *prefix; /* literal leading components, "/" if none */
	bool literal;
	size_t ncomp;
	struct comp comps[]; /* ncomp used, at most LB_PATTERN_MAX_COMPONENTS */
};

/* ---- the NFA state set ------------------------------------------------- */

/* Positions 0..ncomp, position ncomp being "all components matched". */
#define STATE_WORDS ((LB_PATTERN_MAX_COMPONENTS + 1 + 63) / 64)

struct state_set {
	uint64_t w[STATE_WORDS];
};

static void state_add(struct state_set *s, size_t i)
{
	s->w[i / 64] |= UINT64_C(1) << (i % 64);
}

static bool state_has(const struct state_set *s, size_t i)
{
	return (s->w[i / 64] >> (i % 64)) & 1;
}

static bool state_empty(const struct state_set *s)
{
	for (size_t i = 0; i < STATE_WORDS; i++)
		if (s->w[i])
			return false;
	return true;
}

/* A globstar may match zero components: reaching it also reaches the next
 * position. Positions only move forward, so one ascending pass is enough. */
static void state_close(const struct lb_pattern *p, struct state_set *s)
{
	for (size_t i = 0; i < p->ncomp; i++)
		if (state_has(s, i) && p->comps[i].kind == COMP_GLOBSTAR)
			state_add(s, i + 1);
}

/* ---- matching one component ---------------------------------------------- */

/* Length of the UTF-8 code point starting at s[0] (n > 0 bytes left).
 * Malformed sequences count one byte per character, so '?' still always
 * advances. */
static size_t utf8_char_len(const char *s, size_t n)
{
	unsigned char lead = (unsigned char)s[0];
	size_t want;

	if (lead < 0xC0 || lead >= 0xF8)
		return 1; /* ASCII, stray continuation byte or invalid lead */
	want = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
	size_t len = 1;
	while (len < want && len < n && ((unsigned char)s[len] & 0xC0) == 0x80)
		len++;
	return len;
}

/* Glob of '*' and '?' against one component, the classic two-pointer
 * algorithm: on a mismatch, retry from the last '*' with it swallowing one
 * more character. Only the last '*' needs remembering, which bounds the
 * work by O(len(glob) * len(name)). */
static bool glob_match(const char *g, size_t glen, const char *s, size_t slen)
{
	size_t gi = 0, si = 0;
	size_t star_g = SIZE_MAX, star_s = 0;

	while (si < slen) {
		if (gi < glen && g[gi] == '*') {
			star_g = ++gi;
			star_s = si;
		} else if (gi < glen && g[gi] == '?') {
			gi++;
			si += utf8_char_len(s + si, slen - si);
		} else if (gi < glen && g[gi] == s[si]) {
			gi++;
			si++;
		} else if (star_g != SIZE_MAX) {
			star_s += utf8_char_len(s + star_s, slen - star_s);
			gi = star_g;
			si = star_s;
		} else {
			return false;
		}
	}
	while (gi < glen && g[gi] == '*')
		gi++;
	return gi == glen;
}

static bool comp_match(const struct comp *c, const char *s, size_t len)
{
	switch (c->kind) {
	case COMP_LITERAL:
		return c->len == len && memcmp(c->s, s, len) == 0;
	case COMP_GLOB:
		return glob_match(c->s, c->len, s, len);
	case COMP_GLOBSTAR:
		return true;
	}
	return false;
}

/* Advance every active position over one path component. */
static void state_step(const struct lb_pattern *p, const struct state_set *cur,
		       struct state_set *next, const char *name, size_t len)
{
	memset(next, 0, sizeof(*next));
	for (size_t i = 0; i < p->ncomp; i++) {
		if (!state_has(cur, i))
			continue;
		const struct comp *c = &p->comps[i];
		if (c->kind == COMP_GLOBSTAR)
			state_add(next, i); /* "**" swallows it and may go on */
		if (comp_match(c, name, len))
			state_add(next, i + 1);
	}
	state_close(p, next);
}

/* Next component of a path at *pos: skips '/' runs, so "//" and a trailing
 * '/' in a (non-canonical) path do no harm. Returns false at the end. */
static bool next_component(const char *path, size_t *pos, const char **name, size_t *len)
{
	size_t i = *pos;
	while (path[i] == '/')
		i++;
	if (!path[i])
		return false;
	size_t start = i;
	while (path[i] && path[i] != '/')
		i++;
	*name = path + start;
	*len = i - start;
	*pos = i;
	return true;
}

bool lb_pattern_match(const struct lb_pattern *p, const char *path)
{
	struct state_set a = {{0}}, b;
	struct state_set *cur = &a, *next = &b;
	const char *name;
	size_t len, pos = 0;

	if (!p || !path || path[0] != '/')
		return false;
	state_add(cur, 0);
	state_close(p, cur);
	while (next_component(path, &pos, &name, &len)) {
		state_step(p, cur, next, name, len);
		if (state_empty(next))
			return false;
		struct state_set *t = cur;
		cur = next;
		next = t;
	}
	return state_has(cur, p->ncomp);
}

/* The NFA's state after a whole path (empty set when it died early). */
static void state_after(const struct lb_pattern *p, const char *path, struct state_set *out)
{
	struct state_set next;
	const char *name;
	size_t len, pos = 0;

	memset(out, 0, sizeof(*out));
	state_add(out, 0);
	state_close(p, out);
	while (!state_empty(out) && next_component(path, &pos, &name, &len)) {
		state_step(p, out, &next, name, len);
		*out = next;
	}
}

bool lb_pattern_same_below(const struct lb_pattern *p, const char *a, const char *b)
{
	if (!p || !a || !b || a[0] != '/' || b[0] != '/')
		return false;
	struct state_set sa, sb;
	state_after(p, a, &sa);
	state_after(p, b, &sb);
	return memcmp(&sa, &sb, sizeof(sa)) == 0;
}

/* ---- compiling ------------------------------------------------------------ */

static int fail(struct lb_pattern_error *err, size_t col, const char *message)
{
	if (err) {
		err->col = col;
		err->message = message;
	}
	return -EINVAL;
}

static enum comp_kind classify(const char *s, size_t len)
{
	if (len == 2 && s[0] == '*' && s[1] == '*')
		return COMP_GLOBSTAR;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '*' || s[i] == '?')
			return COMP_GLOB;
	return COMP_LITERAL;
}

static bool is_dot_component(const char *s, size_t len)
{
	return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

/* Checks the raw text: everything that is wrong regardless of components. */
static int check_text(const char *text, size_t len, struct lb_pattern_error *err)
{
	if (!text || len == 0)
		return fail(err, 0, "empty path pattern");
	const char *nul = memchr(text, '\0', len);
	if (nul)
		return fail(err, (size_t)(nul - text), "NUL byte in path pattern");
	if (len >= PATH_MAX)
		return fail(err, PATH_MAX - 1, "path pattern longer than PATH_MAX");
	if (text[0] != '/')
		return fail(err, 0, "path pattern must be absolute (start with '/')");
	return 0;
}

/* Writes the normalised text into p->text and records the components, whose
 * pointers go into p->text. Errors name columns of the original text. */
static int split_components(struct lb_pattern *p, const char *text, size_t len, size_t literal_upto,
			    struct lb_pattern_error *err)
{
	char *out = p->text;
	size_t i = 0;

	while (i < len) {
		while (i < len && text[i] == '/')
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && text[i] != '/')
			i++;
		size_t clen = i - start;
		if (is_dot_component(text + start, clen))
			return fail(err, start, "'.' and '..' are not allowed in a path pattern");
		if (p->ncomp == LB_PATTERN_MAX_COMPONENTS)
			return fail(err, start, "path pattern has too many components");
		enum comp_kind kind = classify(text + start, clen);
		if (start < literal_upto && kind != COMP_LITERAL) {
			/* '*' and '?' written as \* and \? are characters */
			for (size_t k = literal_upto; k < i; k++)
				if (text[k] == '*' || text[k] == '?')
					return fail(err, k,
						    "a component cannot mix escaped (\\*, \\?) and "
						    "wildcard '*' or '?'");
			kind = COMP_LITERAL;
		}
		*out++ = '/';
		memcpy(out, text + start, clen);
		p->comps[p->ncomp++] = (struct comp){kind, out, clen};
		out += clen;
	}
	if (out == p->text)
		*out++ = '/';
	*out = '\0';
	return 0;
}

/* Every component follows at least one '/'; more than the limit is an
 * error found while splitting, so the array never needs more. */
static size_t max_components(const char *text, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n < LB_PATTERN_MAX_COMPONENTS; i++)
		if (text[i] == '/')
			n++;
	return n;
}

/* The literal components before the first wildcard one. */
static char *literal_prefix(const struct lb_pattern *p)
{
	size_t n = 0;
	while (n < p->ncomp && p->comps[n].kind == COMP_LITERAL)
		n++;
	if (n == 0)
		return strdup("/");
	const struct comp *last = &p->comps[n - 1];
	size_t len = (size_t)(last->s + last->len - p->text);
	return strndup(p->text, len);
}

int lb_pattern_compile_len(const char *text, size_t len, struct lb_pattern **out,
			   struct lb_pattern_error *err)
{
	return lb_pattern_compile_literal(text, len, 0, out, err);
}

int lb_pattern_compile_literal(const char *text, size_t len, size_t literal_upto,
			       struct lb_pattern **out, struct lb_pattern_error *err)
{
	int rc = check_text(text, len, err);
	if (rc < 0)
		return rc;

	struct lb_pattern *p =
	    calloc(1, sizeof(*p) + max_components(text, len) * sizeof(p->comps[0]));
	if (!p)
		return -ENOMEM;
	p->text = malloc(len + 1); /* normalising never lengthens the text */
	if (!p->text) {
		lb_pattern_free(p);
		return -ENOMEM;
	}
	rc = split_components(p, text, len, literal_upto, err);
	if (rc < 0) {
		lb_pattern_free(p);
		return rc;
	}
	p->prefix = literal_prefix(p);
	if (!p->prefix) {
		lb_pattern_free(p);
		return -ENOMEM;
	}
	p->literal = true;
	for (size_t i = 0; i < p->ncomp; i++)
		if (p->comps[i].kind != COMP_LITERAL)
			p->literal = false;
	*out = p;
	return 0;
}

int lb_pattern_compile(const char *text, struct lb_pattern **out, struct lb_pattern_error *err)
{
	return lb_pattern_compile_len(text, text ? strlen(text) : 0, out, err);
}

const char *lb_pattern_text(const struct lb_pattern *p)
{
	return p->text;
}

const char *lb_pattern_prefix(const struct lb_pattern *p)
{
	return p->prefix;
}

bool lb_pattern_is_literal(const struct lb_pattern *p)
{
	return p->literal;
}

enum lb_pattern_shape lb_pattern_shape(const struct lb_pattern *p)
{
	if (p->literal)
		return LB_SHAPE_LITERAL;
	for (size_t i = 0; i + 1 < p->ncomp; i++)
		if (p->comps[i].kind != COMP_LITERAL)
			return LB_SHAPE_OTHER;
	return p->comps[p->ncomp - 1].kind == COMP_GLOBSTAR ? LB_SHAPE_SUBTREE : LB_SHAPE_LAST_GLOB;
}

void lb_pattern_spec(const struct lb_pattern *p, struct lb_pattern_spec *out)
{
	*out = (struct lb_pattern_spec){.literal = p->literal, .prefix_len = strlen(p->text)};
	bool first = true;
	for (size_t i = 0; i < p->ncomp; i++) {
		const struct comp *c = &p->comps[i];
		if (c->kind != COMP_LITERAL && first) {
			/* literal components may hold '*' (written \*) */
			out->prefix_len = (size_t)(c->s - p->text) + strcspn(c->s, "*?");
			first = false;
		}
		if (c->kind == COMP_GLOBSTAR)
			out->wildcards++;
		for (size_t k = 0; c->kind == COMP_GLOB && k < c->len; k++)
			out->wildcards +=
			    c->s[k] == '?' || (c->s[k] == '*' && (k == 0 || c->s[k - 1] != '*'));
	}
}

uint64_t lb_pattern_spec_key(const struct lb_pattern *p)
{
	struct lb_pattern_spec s;
	lb_pattern_spec(p, &s);
	/* Texts are shorter than PATH_MAX (4096): 12 bits each are enough. */
	uint64_t prefix = s.prefix_len > 4095 ? 4095 : s.prefix_len;
	uint64_t wild = s.wildcards > 4095 ? 4095 : s.wildcards;
	return (uint64_t)s.literal << 25 | prefix << 12 | (4095 - wild);
}

void lb_pattern_free(struct lb_pattern *p)
{
	if (!p)
		return;
	free(p->text);
	free(p->prefix);
	free(p);
}

/* ---- subsumption ------------------------------------------------------------ */

/* Does component x of a match everything component y of b matches, y being
 * a single component (not a globstar)? Conservative beyond the easy cases. */
static bool comp_covers(const struct comp *x, const struct comp *y)
{
	if (x->kind == COMP_GLOBSTAR)
		return true;
	if (y->kind == COMP_LITERAL)
		return comp_match(x, y->s, y->len);
	if (x->len == y->len && memcmp(x->s, y->s, x->len) == 0)
		return true;
	/* A component of only stars matches any one component. */
	for (size_t i = 0; i < x->len; i++)
		if (x->s[i] != '*')
			return false;
	return true;
}

/* Runs a's NFA over b's components taken as symbols. A globstar of b can
 * only be absorbed by a globstar of a looping on itself; any other
 * component of b advances a position whose component covers it. If a then
 * accepts, every path b matches is split the same way and a matches it. */
static void covers_step(const struct lb_pattern *a, const struct state_set *cur,
			struct state_set *next, const struct comp *y)
{
	memset(next, 0, sizeof(*next));
	for (size_t i = 0; i < a->ncomp; i++) {
		if (!state_has(cur, i))
			continue;
		const struct comp *x = &a->comps[i];
		if (x->kind == COMP_GLOBSTAR)
			state_add(next, i);
		else if (y->kind != COMP_GLOBSTAR && comp_covers(x, y))
			state_add(next, i + 1);
	}
	state_close(a, next);
}

bool lb_pattern_covers(const struct lb_pattern *a, const struct lb_pattern *b)
{
	struct state_set s1 = {{0}}, s2;
	struct state_set *cur = &s1, *next = &s2;

	state_add(cur, 0);
	state_close(a, cur);
	for (size_t j = 0; j < b->ncomp; j++) {
		covers_step(a, cur, next, &b->comps[j]);
		struct state_set *t = cur;
		cur = next;
		next = t;
	}
	return state_has(cur, a->ncomp);
}
