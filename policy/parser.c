/* SPDX-License-Identifier: MIT */
/* The policy language v1: reading files and built-in profiles, the lexer
 * (quotes, comments, continuations, variables) and one handler per
 * statement. Every problem becomes a diagnostic; the caller throws the
 * policy away when any of them is an error, so handlers never undo what
 * they added before noticing a problem.
 *
 * Choices the spec leaves open, made here (docs/policy.md says the same):
 *   - Variables are expanded in every word, quoted or not; "$$" is a
 *     literal '$' (lb_policy_show writes '$' that way so its output parses
 *     back). A '$' followed by anything else is an error.
 *   - A '\' outside quotes is an ordinary character, except as the last
 *     character of a line, where it joins the next line (also inside a
 *     word and inside quotes, like the shell). A '\' at the end of a
 *     comment is part of the comment.
 *   - Quotes do not span lines unless the line is continued.
 *   - Columns count bytes, 1-based.
 *   - A file already read (by identity, not name) is not read again:
 *     including it twice from different places is harmless.
 *   - `include NAME` is a built-in profile when NAME has no '/' and is one;
 *     write ./NAME for a file of that name. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "litebox/text.h"
#include "litebox/util.h"

/* ---- state ------------------------------------------------------------------------ */

struct word {
	char *s;
	size_t len;
	unsigned line, col;
	bool verbatim; /* no quote, variable or continuation: column + offset is exact */
	/* Path words: the end of the last \* or \? (a '*' or '?' that is a
	 * character, not a wildcard; 0: none) and where the first wildcard
	 * '*' or '?' is (SIZE_MAX: none). */
	size_t literal_end, first_glob;
	bool cwd; /* starts with $CWD */
};

struct words {
	struct word *v;
	size_t n, cap;
};

struct lexer {
	const char *buf;
	size_t len, pos;
	unsigned line;
	size_t line_start;
};

struct frame {
	const char *id;
	const struct lb_src *src;
	unsigned line; /* of the include statement being followed */
};

struct parser {
	struct lb_policy *p;
	struct lb_diags *d;
	const struct lb_policy_inputs *in;
	struct frame stack[LB_MAX_INCLUDE_DEPTH + 1];
	unsigned depth;
	char **seen; /* identities of files read completely */
	size_t n_seen, cap_seen;
	bool stopped; /* too many errors */
	int fatal;    /* -ENOMEM */
};

struct file_ctx {
	struct parser *ps;
	const struct lb_src *src;
	const char *dir; /* for relative includes; NULL for built-in profiles */
	struct lexer lx;
	bool seen_statement;
};

/* Where an include statement sits, for errors about what it names. */
struct site {
	struct file_ctx *f;
	const struct word *w;
};

/* ---- errors ------------------------------------------------------------------------- */

static void note_oom(struct parser *ps, int rc)
{
	if (rc < 0 && ps->fatal == 0)
		ps->fatal = rc;
}

__attribute__((format(printf, 5, 6))) static void
perr(struct parser *ps, const struct lb_src *src, unsigned line, unsigned col, const char *fmt, ...)
{
	if (ps->stopped)
		return;
	va_list ap;
	va_start(ap, fmt);
	note_oom(ps, lb_diag_addv(ps->d, LB_DIAG_ERROR, src, line, col, fmt, ap));
	va_end(ap);
	if (ps->d->n_errors >= LB_MAX_ERRORS) {
		note_oom(ps, lb_diag_add(ps->d, LB_DIAG_ERROR, src, line, col,
					 "too many errors (%d), stopping here", LB_MAX_ERRORS));
		ps->stopped = true;
	}
}

#define WERR(f, w, ...) perr((f)->ps, (f)->src, (w)->line, (w)->col, __VA_ARGS__)

/* The column of offset off inside word w (exact only for verbatim words). */
static unsigned col_in(const struct word *w, size_t off)
{
	return w->verbatim ? w->col + (unsigned)off : w->col;
}

/* Just after the last word, for "missing ..." errors. */
__attribute__((format(printf, 3, 4))) static void
err_after(struct file_ctx *f, const struct word *last, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	perr(f->ps, f->src, last->line, col_in(last, last->len), "%s", msg);
}

/* ---- growable buffers ------------------------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap;
};

static int sbuf_put(struct sbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *s = realloc(b->s, cap);
		if (!s)
			return -ENOMEM;
		b->s = s;
		b->cap = cap;
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
	return 0;
}

static int sbuf_puts(struct sbuf *b, const char *s)
{
	for (; *s; s++)
		if (sbuf_put(b, *s) < 0)
			return -ENOMEM;
	return 0;
}

static void words_clear(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].s);
	w->n = 0;
}

static int words_push(struct words *w, struct word wd)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		struct word *v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = wd;
	return 0;
}

/* ---- lexer ---------------------------------------------------------------------------- */

static unsigned lx_col(const struct lexer *lx)
{
	return (unsigned)(lx->pos - lx->line_start + 1);
}

static void lx_newline(struct lexer *lx)
{
	lx->pos++;
	lx->line++;
	lx->line_start = lx->pos;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* At a '\': 1 and consumed when it ends the line and a next line exists,
 * -1 when it ends the file (or the line before the end), 0 otherwise. */
static int lx_continuation(struct lexer *lx)
{
	size_t i = lx->pos + 1;
	if (i < lx->len && lx->buf[i] == '\r')
		i++;
	if (i == lx->len)
		return -1;
	if (lx->buf[i] != '\n')
		return 0;
	if (i + 1 == lx->len)
		return -1;
	lx->pos = i;
	lx_newline(lx);
	return 1;
}

/* After an error: drop the rest of the logical line. */
static void lx_skip_line(struct lexer *lx)
{
	while (lx->pos < lx->len) {
		if (lx->buf[lx->pos] == '\\' && lx_continuation(lx) == 1)
			continue;
		if (lx->buf[lx->pos] == '\n') {
			lx_newline(lx);
			return;
		}
		lx->pos++;
	}
}

#define lx_err(f, line, col, ...) perr((f)->ps, (f)->src, line, col, __VA_ARGS__)

static const char *var_value(const struct lb_policy_vars *v, const char *name, size_t len,
			     bool *known)
{
	static const char *const names[] = {"CWD", "HOME", "TMPDIR", "EXE", "EXE_DIR"};
	const char *vals[] = {v->cwd, v->home, v->tmpdir ? v->tmpdir : "/tmp", v->exe, v->exe_dir};
	for (size_t i = 0; i < LB_ARRAY_SIZE(names); i++) {
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
			*known = true;
			return vals[i];
		}
	}
	*known = false;
	return NULL;
}

static bool is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* At a '$': appends the value. Returns 0, -1 after an error, -ENOMEM. */
static int lx_var(struct file_ctx *f, struct sbuf *b)
{
	struct lexer *lx = &f->lx;
	unsigned col = lx_col(lx);
	size_t i = lx->pos + 1;
	bool braced = i < lx->len && lx->buf[i] == '{';

	if (i < lx->len && lx->buf[i] == '$') {
		lx->pos += 2;
		return sbuf_put(b, '$');
	}
	if (braced)
		i++;
	size_t start = i;
	while (i < lx->len && is_name_char(lx->buf[i]) && (i > start || is_name_start(lx->buf[i])))
		i++;
	if (i == start || (braced && (i >= lx->len || lx->buf[i] != '}'))) {
		lx_err(f, lx->line, col, "%s",
		       braced ? "malformed ${NAME}: expected a variable name and '}'"
			      : "'$' must start a variable ($NAME or ${NAME}); write $$ for a "
				"literal '$'");
		return -1;
	}
	bool known;
	const char *val = var_value(&f->ps->in->vars, lx->buf + start, i - start, &known);
	if (!known) {
		lx_err(f, lx->line, col,
		       "unknown variable $%.*s (known: $CWD, $HOME, $TMPDIR, $EXE, $EXE_DIR)",
		       (int)(i - start), lx->buf + start);
		return -1;
	}
	if (!val) {
		lx_err(f, lx->line, col,
		       "$%.*s has no value here (it is known only when litebox runs a program)",
		       (int)(i - start), lx->buf + start);
		return -1;
	}
	lx->pos = i + (braced ? 1 : 0);
	return sbuf_puts(b, val);
}

/* At a '"': appends the quoted text. Returns 0, -1 after an error, -ENOMEM. */
static int hex_digit(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* The escapes of a quoted string: \" and \\, and for names that hold
 * what the language would otherwise read as syntax (what `litebox learn`
 * writes): \* and \? (a star or question mark that is a character, not a
 * wildcard), \$ (a dollar), \n \t \r, and \xHH (any byte but NUL). At
 * lx->pos (the backslash). Returns the byte, -1 when malformed; *glob is
 * set for \* and \?. */
static int lx_escape(struct lexer *lx, bool *glob)
{
	char e = lx->pos + 1 < lx->len ? lx->buf[lx->pos + 1] : '\0';
	*glob = e == '*' || e == '?';
	int c;
	switch (e) {
	case '"':
	case '\\':
	case '*':
	case '?':
	case '$':
		c = (unsigned char)e;
		break;
	case 'n':
		c = '\n';
		break;
	case 't':
		c = '\t';
		break;
	case 'r':
		c = '\r';
		break;
	case 'x': {
		int hi = lx->pos + 3 < lx->len ? hex_digit(lx->buf[lx->pos + 2]) : -1;
		int lo = hi >= 0 ? hex_digit(lx->buf[lx->pos + 3]) : -1;
		if (lo < 0 || (hi | lo) == 0)
			return -1;
		lx->pos += 2;
		c = hi * 16 + lo;
		break;
	}
	default:
		return -1;
	}
	lx->pos += 2;
	return c;
}

static int lx_quoted(struct file_ctx *f, struct sbuf *b, struct word *wd)
{
	struct lexer *lx = &f->lx;
	unsigned qline = lx->line, qcol = lx_col(lx);
	int rc = 0;

	lx->pos++;
	while (rc == 0) {
		if (lx->pos >= lx->len || lx->buf[lx->pos] == '\n') {
			lx_err(f, qline, qcol,
			       "unterminated quoted string (a quote ends on its line)");
			return -1;
		}
		char c = lx->buf[lx->pos];
		if (c == '"') {
			lx->pos++;
			return 0;
		}
		if (c == '$') {
			rc = lx_var(f, b);
			continue;
		}
		if (c == '\\') {
			int k = lx_continuation(lx);
			if (k == 1)
				continue;
			bool glob = false;
			unsigned col = lx_col(lx);
			int e = k < 0 ? -1 : lx_escape(lx, &glob);
			if (e < 0) {
				lx_err(f, lx->line, col, "%s",
				       k < 0 ? "'\\' at the end of the file continues a line that "
					       "never comes"
					     : "unknown escape in a quoted string (escapes: \\\" "
					       "\\\\ \\* \\? \\$ \\n \\t \\r \\xHH)");
				return -1;
			}
			if (glob)
				wd->literal_end = b->len + 1;
			rc = sbuf_put(b, (char)e);
			continue;
		}
		if ((c == '*' || c == '?') && wd->first_glob == SIZE_MAX)
			wd->first_glob = b->len;
		lx->pos++;
		rc = sbuf_put(b, c);
	}
	return rc;
}

static int lx_word(struct file_ctx *f, struct words *w)
{
	struct lexer *lx = &f->lx;
	struct word wd = {
	    .line = lx->line, .col = lx_col(lx), .verbatim = true, .first_glob = SIZE_MAX};
	size_t start_pos = lx->pos;
	struct sbuf b = {0};
	int rc = sbuf_put(&b, 'x'); /* a word is never a NULL string, even "" */
	b.len = 0;

	while (rc == 0 && lx->pos < lx->len) {
		char c = lx->buf[lx->pos];
		if (is_blank(c) || c == '\n' || c == '#')
			break;
		if (b.len > LB_MAX_LINE) {
			lx_err(f, wd.line, wd.col, "word longer than %zu bytes", LB_MAX_LINE);
			rc = -1;
		} else if (c == '"' || c == '$') {
			wd.verbatim = false;
			size_t at = lx->pos;
			rc = c == '"' ? lx_quoted(f, &b, &wd) : lx_var(f, &b);
			if (rc == 0 && at == start_pos && c == '$')
				wd.cwd =
				    (lx->pos - at == 4 && memcmp(lx->buf + at, "$CWD", 4) == 0) ||
				    (lx->pos - at == 6 && memcmp(lx->buf + at, "${CWD}", 6) == 0);
		} else if (c == '\\' && (rc = lx_continuation(lx)) != 0) {
			wd.verbatim = false;
			if (rc < 0)
				lx_err(f, lx->line, lx_col(lx),
				       "'\\' at the end of the file continues a line that never "
				       "comes");
			rc = rc < 0 ? -1 : 0;
		} else {
			if ((c == '*' || c == '?') && wd.first_glob == SIZE_MAX)
				wd.first_glob = b.len;
			lx->pos++;
			rc = sbuf_put(&b, c);
		}
	}
	if (rc < 0) {
		free(b.s);
		return rc;
	}
	b.s[b.len] = '\0';
	wd.s = b.s;
	wd.len = b.len;
	rc = words_push(w, wd);
	if (rc < 0)
		free(b.s);
	return rc;
}

/* The next statement's words. 1: a statement, 0: end of file, -1: an
 * error was reported and its line skipped, -ENOMEM. */
static int lx_statement(struct file_ctx *f, struct words *w)
{
	struct lexer *lx = &f->lx;
	size_t start = lx->pos;
	int k;

	words_clear(w);
	while (lx->pos < lx->len) {
		char c = lx->buf[lx->pos];
		if (is_blank(c)) {
			lx->pos++;
		} else if (c == '\n') {
			lx_newline(lx);
			if (w->n)
				return 1;
			start = lx->pos;
		} else if (c == '#') {
			const char *nl = memchr(lx->buf + lx->pos, '\n', lx->len - lx->pos);
			lx->pos = nl ? (size_t)(nl - lx->buf) : lx->len;
		} else if (c == '\\' && (k = lx_continuation(lx)) != 0) {
			if (k < 0) {
				lx_err(f, lx->line, lx_col(lx),
				       "'\\' at the end of the file continues a line that never "
				       "comes");
				goto fail;
			}
		} else if (lx->pos - start > LB_MAX_LINE) {
			lx_err(f, lx->line, lx_col(lx), "line longer than %zu bytes", LB_MAX_LINE);
			goto fail;
		} else {
			int rc = lx_word(f, w);
			if (rc == -ENOMEM)
				return rc;
			if (rc < 0)
				goto fail;
		}
	}
	return w->n ? 1 : 0;
fail:
	lx_skip_line(lx);
	words_clear(w);
	return -1;
}

/* ---- objects ---------------------------------------------------------------------------- */

static int add_rule(struct file_ctx *f, const struct word *w, unsigned cls, enum lb_verdict v,
		    struct lb_rule **out)
{
	struct lb_rule *r = lb_policy_new_rule(f->ps->p);
	if (!r)
		return -ENOMEM;
	r->cls = cls;
	r->verdict = v;
	r->origin = LB_ORIGIN_POLICY;
	r->src = f->src;
	r->line = w->line;
	r->col = w->col;
	r->nr = -1;
	r->word = strdup(w->s);
	r->literal_end = w->literal_end;
	*out = r;
	return r->word ? 0 : -ENOMEM;
}

/* Compiles text as a path pattern; for `hide`, the pattern of everything
 * under it. err->message is set on a malformed pattern (-EINVAL). */
static int compile_path(const char *text, size_t literal_end, bool hide, struct lb_pattern **out,
			struct lb_pattern_error *err)
{
	if (text[0] != '/') {
		err->col = 0;
		err->message = NULL; /* the caller words this one */
		return -EINVAL;
	}
	int rc = lb_pattern_compile_literal(text, strlen(text), literal_end, out, err);
	if (rc < 0 || !hide)
		return rc;
	size_t len = strlen(text);
	if (len >= 3 && strcmp(text + len - 3, "/**") == 0)
		return 0;
	lb_pattern_free(*out);
	*out = NULL;
	lb_autofree char *under = NULL;
	if (asprintf(&under, "%s/**", text) < 0)
		return -ENOMEM;
	return lb_pattern_compile_literal(under, strlen(under), literal_end, out, err);
}

static int path_object(struct file_ctx *f, const struct word *w, unsigned cls, enum lb_verdict v)
{
	if (w->cwd && f->ps->in->vars.cwd_grants_off &&
	    (cls == LB_CLASS_WRITE || cls == LB_CLASS_EXEC) &&
	    (v == LB_VERDICT_ALLOW || v == LB_VERDICT_AUDIT)) {
		f->ps->p->n_cwd_left_out++;
		return 0;
	}
	struct lb_pattern_error err = {0, NULL};
	struct lb_pattern *pat = NULL;
	if (w->literal_end && w->first_glob < w->literal_end) {
		WERR(f, w,
		     "path '%s' has a wildcard before an escaped \\* or \\?: write the "
		     "literal part first",
		     w->s);
		return 0;
	}
	int rc = compile_path(w->s, w->literal_end, cls == LB_CLASS_HIDE, &pat, &err);
	if (rc == -EINVAL && !err.message) {
		WERR(f, w,
		     "path '%s' is not absolute (patterns are absolute after variables; "
		     "for a path under the working directory write $CWD/%s)",
		     w->s, w->s);
		return 0;
	}
	if (rc == -EINVAL) {
		perr(f->ps, f->src, w->line, col_in(w, err.col), "bad path pattern '%s': %s", w->s,
		     err.message);
		return 0;
	}
	if (rc < 0)
		return rc;
	struct lb_rule *r;
	rc = add_rule(f, w, cls, v, &r);
	if (rc < 0) {
		lb_pattern_free(pat);
		return rc;
	}
	r->pat = pat;
	return 0;
}

static int syscall_object(struct file_ctx *f, const struct word *w, enum lb_verdict v)
{
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, w->s);
	if (nr < 0) {
		WERR(f, w, "unknown system call '%s' (on x86_64)", w->s);
		return 0;
	}
	struct lb_rule *r;
	int rc = add_rule(f, w, LB_CLASS_SYSCALL, v, &r);
	if (rc == 0)
		r->nr = nr;
	return rc;
}

/* One address object starting at ws[0]: "*" or PROTO ADDR. Returns how
 * many words it used (1 or 2), or -ENOMEM. */
static int addr_object(struct file_ctx *f, const struct word *ws, size_t n, unsigned cls,
		       enum lb_verdict v)
{
	bool all = strcmp(ws[0].s, "*") == 0;
	bool proto = !strcmp(ws[0].s, "tcp") || !strcmp(ws[0].s, "udp") || !strcmp(ws[0].s, "unix");
	if (!all && !proto && n < 2) {
		WERR(f, &ws[0],
		     "bad socket address '%s': expected tcp, udp or unix and an address, or *",
		     ws[0].s);
		return 1;
	}
	if (!all && n < 2) {
		err_after(f, &ws[0], "missing address after '%s' (e.g. tcp 127.0.0.1:5432)",
			  ws[0].s);
		return 1;
	}
	struct lb_addr_error err = {0, false, NULL};
	struct lb_addr_pattern *ap = NULL;
	int rc = lb_addr_pattern_parse(all ? "*" : ws[0].s, all ? NULL : ws[1].s, &ap, &err);
	if (rc == -EINVAL) {
		const struct word *at = all || err.in_proto ? &ws[0] : &ws[1];
		perr(f->ps, f->src, at->line, col_in(at, err.col),
		     "bad socket address '%s%s%s': %s", ws[0].s, all ? "" : " ", all ? "" : ws[1].s,
		     err.message ? err.message : "malformed");
		return all ? 1 : 2;
	}
	if (rc < 0)
		return rc;
	if (cls == LB_CLASS_BIND && lb_addr_pattern_is_name(ap)) {
		WERR(f, &ws[1],
		     "a host name is a connect address; bind takes an IP address, localhost or *");
		lb_addr_pattern_free(ap);
		return 2;
	}
	struct lb_rule *r;
	rc = add_rule(f, &ws[0], cls, v, &r);
	if (rc == 0 && !all && !(r->word2 = strdup(ws[1].s)))
		rc = -ENOMEM;
	if (rc < 0) {
		lb_addr_pattern_free(ap);
		return rc;
	}
	r->addr = ap;
	return all ? 1 : 2;
}

/* ---- statements --------------------------------------------------------------------------- */

static const char class_list[] = "read, write, exec, stat, connect, bind or syscall";

static int st_rule(struct file_ctx *f, const struct word *w, size_t n)
{
	enum lb_verdict v = w[0].s[0] == 'a' && w[0].s[1] == 'l' ? LB_VERDICT_ALLOW
			    : w[0].s[0] == 'a'			 ? LB_VERDICT_AUDIT
								 : LB_VERDICT_DENY;
	if (n < 2) {
		err_after(f, &w[0],
			  "missing class after '%s' (one of read, write, exec, stat, connect, "
			  "bind, syscall)",
			  w[0].s);
		return 0;
	}
	int cls = lb_class_from_name(w[1].s);
	if (cls < 0) {
		WERR(f, &w[1], "unknown class '%s' (expected %s)", w[1].s, class_list);
		return 0;
	}
	if (n < 3) {
		err_after(f, &w[1], "missing object after '%s'", w[1].s);
		return 0;
	}
	for (size_t i = 2; i < n;) {
		int rc;
		if (cls == LB_CLASS_CONNECT || cls == LB_CLASS_BIND) {
			rc = addr_object(f, &w[i], n - i, (unsigned)cls, v);
			if (rc > 0) {
				i += (size_t)rc;
				continue;
			}
		} else if (cls == LB_CLASS_SYSCALL) {
			rc = syscall_object(f, &w[i], v);
		} else {
			rc = path_object(f, &w[i], (unsigned)cls, v);
		}
		if (rc < 0)
			return rc;
		i++;
	}
	return 0;
}

static int st_hide(struct file_ctx *f, const struct word *w, size_t n)
{
	if (n < 2) {
		err_after(f, &w[0], "missing path after '%s'", w[0].s);
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		int rc = path_object(f, &w[i], LB_CLASS_HIDE, LB_VERDICT_HIDE);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool usage(struct file_ctx *f, const struct word *w, size_t n, size_t want, const char *form)
{
	if (n == want)
		return true;
	const struct word *at = n > want ? &w[want] : &w[0];
	if (n > want)
		WERR(f, at, "unexpected '%s' (usage: %s)", at->s, form);
	else
		err_after(f, &w[n - 1], "incomplete statement (usage: %s)", form);
	return false;
}

static int st_version(struct file_ctx *f, const struct word *w, size_t n)
{
	if (f->seen_statement) {
		WERR(f, &w[0], "'version' must be the first statement of a file");
		return 0;
	}
	if (usage(f, w, n, 2, "version 1") && strcmp(w[1].s, "1") != 0)
		WERR(f, &w[1], "unsupported policy version '%s' (this litebox reads version 1)",
		     w[1].s);
	return 0;
}

static bool pick(const char *s, const char *a, const char *b, int *out)
{
	if (strcmp(s, a) == 0)
		*out = 0;
	else if (strcmp(s, b) == 0)
		*out = 1;
	else
		return false;
	return true;
}

static int st_set(struct file_ctx *f, const struct word *w, size_t n)
{
	if (!usage(f, w, n, 3, "set KEY VALUE"))
		return 0;
	struct lb_policy *p = f->ps->p;
	const char *k = w[1].s, *v = w[2].s;
	int x;
	if (strcmp(k, "mode") == 0) {
		if (!pick(v, "enforce", "audit", &x))
			WERR(f, &w[2], "'set mode' takes enforce or audit, not '%s'", v);
		else
			p->mode = x ? LB_MODE_AUDIT : LB_MODE_ENFORCE;
	} else if (strcmp(k, "mediation") == 0) {
		if (!pick(v, "exact", "fast", &x))
			WERR(f, &w[2], "'set mediation' takes exact or fast, not '%s'", v);
		else
			p->mediation = x ? LB_MEDIATION_FAST : LB_MEDIATION_EXACT;
	} else if (strcmp(k, "on-deny") == 0) {
		if (!pick(v, "errno", "kill", &x))
			WERR(f, &w[2], "'set on-deny' takes errno or kill, not '%s'", v);
		else
			p->on_deny = x ? LB_ON_DENY_KILL : LB_ON_DENY_ERRNO;
	} else if (strcmp(k, "implicit-grants") == 0) {
		if (!pick(v, "on", "off", &x))
			WERR(f, &w[2], "'set implicit-grants' takes on or off, not '%s'", v);
		else
			p->implicit = x == 0;
	} else if (strcmp(k, "log") == 0) {
		if (v[0] != '/' && strcmp(v, "-") != 0) {
			WERR(f, &w[2],
			     "'set log' takes an absolute path or '-' (standard error), not '%s'",
			     v);
			return 0;
		}
		free(p->log);
		p->log = strdup(v);
		return p->log ? 0 : -ENOMEM;
	} else {
		WERR(f, &w[1],
		     "unknown setting '%s' (expected mode, mediation, on-deny, log or "
		     "implicit-grants)",
		     k);
	}
	return 0;
}

static int st_limit(struct file_ctx *f, const struct word *w, size_t n)
{
	if (!usage(f, w, n, 3, "limit KEY VALUE"))
		return 0;
	struct lb_limits *l = &f->ps->p->limits;
	const char *k = w[1].s, *v = w[2].s;
	uint64_t x = 0;
	int rc;
	const char *form;
	if (strcmp(k, "time") == 0 || strcmp(k, "cpu") == 0) {
		form = "a duration such as 90s, 5m, 1h or 500ms";
		rc = lb_parse_duration_ms(v, &x);
	} else if (strcmp(k, "memory") == 0 || strcmp(k, "fsize") == 0) {
		form = "a size such as 2G, 512M, 64K or a number of bytes";
		rc = lb_parse_size(v, &x);
	} else if (strcmp(k, "procs") == 0 || strcmp(k, "files") == 0) {
		form = "a number";
		rc = lb_parse_count(v, &x);
	} else {
		WERR(f, &w[1],
		     "unknown limit '%s' (expected time, cpu, memory, fsize, procs or files)", k);
		return 0;
	}
	if (rc == 0 && x == 0)
		rc = -EDOM;
	if (rc < 0) {
		WERR(f, &w[2], "'limit %s' takes %s, not '%s'%s", k, form, v,
		     rc == -ERANGE ? " (too large)"
		     : rc == -EDOM ? " (must be more than 0)"
				   : "");
		return 0;
	}
	if (strcmp(k, "time") == 0)
		l->time_ms = x;
	else if (strcmp(k, "cpu") == 0)
		l->cpu_s = x / 1000 + (x % 1000 != 0); /* RLIMIT_CPU counts whole seconds */
	else if (strcmp(k, "memory") == 0)
		l->memory = x;
	else if (strcmp(k, "fsize") == 0)
		l->fsize = x;
	else if (strcmp(k, "procs") == 0)
		l->procs = x;
	else
		l->files = x;
	return 0;
}

/* NAME, or for `env keep` a glob of names ('*' and '?'). */
static bool env_name_ok(const char *s, size_t len, bool glob)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = is_name_char(c) || (glob && (c == '*' || c == '?'));
		if (!ok || (i == 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static int st_env(struct file_ctx *f, const struct word *w, size_t n)
{
	struct lb_policy *p = f->ps->p;
	if (n < 2) {
		err_after(f, &w[0], "incomplete statement (usage: %s)",
			  "env clear | env keep NAME... | env set NAME=VALUE...");
		return 0;
	}
	const char *op = w[1].s;
	if (strcmp(op, "clear") == 0)
		return usage(f, w, n, 2, "env clear") ? lb_policy_add_env(p, LB_ENV_CLEAR, NULL)
						      : 0;
	bool keep = strcmp(op, "keep") == 0;
	if (!keep && strcmp(op, "set") != 0) {
		WERR(f, &w[1], "unknown env operation '%s' (expected clear, keep or set)", op);
		return 0;
	}
	if (n < 3) {
		err_after(f, &w[1], "missing %s after 'env %s'", keep ? "NAME" : "NAME=VALUE", op);
		return 0;
	}
	for (size_t i = 2; i < n; i++) {
		const char *eq = strchr(w[i].s, '=');
		size_t nlen = keep ? w[i].len : eq ? (size_t)(eq - w[i].s) : 0;
		if ((!keep && !eq) || (keep && eq) || !env_name_ok(w[i].s, nlen, keep)) {
			WERR(f, &w[i],
			     keep ? "'%s' is not a variable name (letters, digits, '_'; '*' and "
				    "'?' match)"
				  : "'%s' is not NAME=VALUE",
			     w[i].s);
			continue;
		}
		int rc = lb_policy_add_env(p, keep ? LB_ENV_KEEP : LB_ENV_SET, w[i].s);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_profile(struct parser *ps, const struct lb_profile_text *prof,
			 const struct site *at);
static int parse_file(struct parser *ps, const char *path, const struct site *at);

static int st_include(struct file_ctx *f, const struct word *w, size_t n)
{
	if (!usage(f, w, n, 2, "include PROFILE-OR-PATH"))
		return 0;
	const char *name = w[1].s;
	struct site at = {f, &w[1]};
	const struct lb_profile_text *prof = strchr(name, '/') ? NULL : lb_profile_find(name);
	if (prof)
		return parse_profile(f->ps, prof, &at);
	if (!f->dir) {
		WERR(f, &w[1], "a built-in profile can only include built-in profiles, not '%s'",
		     name);
		return 0;
	}
	if (name[0] == '\0') {
		WERR(f, &w[1], "empty include name");
		return 0;
	}
	lb_autofree char *path = NULL;
	if (name[0] == '/' || strcmp(f->dir, ".") == 0)
		path = strdup(name);
	else if (asprintf(&path, "%s/%s", f->dir, name) < 0)
		path = NULL;
	if (!path)
		return -ENOMEM;
	return parse_file(f->ps, path, &at);
}

static const struct {
	const char *name;
	int (*fn)(struct file_ctx *f, const struct word *w, size_t n);
} statements[] = {
    {"allow", st_rule},	 {"deny", st_rule},	  {"audit", st_rule},
    {"hide", st_hide},	 {"include", st_include}, {"set", st_set},
    {"limit", st_limit}, {"env", st_env},	  {"version", st_version},
};

static int statement(struct file_ctx *f, const struct words *ws)
{
	const struct word *w = ws->v;
	for (size_t i = 0; i < LB_ARRAY_SIZE(statements); i++) {
		if (strcmp(w[0].s, statements[i].name) == 0) {
			int rc = statements[i].fn(f, w, ws->n);
			f->seen_statement = true;
			return rc;
		}
	}
	f->seen_statement = true;
	WERR(f, &w[0],
	     "unknown statement '%s' (expected allow, deny, audit, hide, include, set, limit, env "
	     "or version)",
	     w[0].s);
	return 0;
}

/* ---- files and profiles --------------------------------------------------------------------- */

/* Reports a NUL byte or invalid UTF-8 with its position; false if found. */
static bool check_text(struct file_ctx *f)
{
	const struct lexer *lx = &f->lx;
	const char *nul = memchr(lx->buf, '\0', lx->len);
	size_t bad = lb_utf8_invalid_at((const unsigned char *)lx->buf, lx->len);
	size_t at = nul && (size_t)(nul - lx->buf) < bad ? (size_t)(nul - lx->buf) : bad;
	if (at >= lx->len)
		return true;
	unsigned line = 1;
	size_t line_start = 0;
	for (size_t i = 0; i < at; i++)
		if (lx->buf[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	unsigned col = (unsigned)(at - line_start + 1);
	if (lx->buf[at] == '\0')
		perr(f->ps, f->src, line, col, "NUL byte in the policy (a policy is UTF-8 text)");
	else
		perr(f->ps, f->src, line, col,
		     "not valid UTF-8 (byte 0x%02x); a policy is UTF-8 text",
		     (unsigned char)lx->buf[at]);
	return false;
}

static void parse_text(struct file_ctx *f)
{
	struct parser *ps = f->ps;
	struct words ws = {0};
	if (!check_text(f))
		return;
	while (!ps->stopped && ps->fatal == 0) {
		int rc = lx_statement(f, &ws);
		if (rc == 0)
			break;
		if (rc == 1)
			rc = statement(f, &ws);
		if (rc == -ENOMEM)
			note_oom(ps, rc);
	}
	words_clear(&ws);
	free(ws.v);
}

static int remember(struct parser *ps, const char *id)
{
	if (ps->n_seen == ps->cap_seen) {
		size_t cap = ps->cap_seen ? ps->cap_seen * 2 : 16;
		char **v = realloc(ps->seen, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ps->seen = v;
		ps->cap_seen = cap;
	}
	if (!(ps->seen[ps->n_seen] = strdup(id)))
		return -ENOMEM;
	ps->n_seen++;
	return 0;
}

static void site_err(struct parser *ps, const struct site *at, const char *top_file,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void site_err(struct parser *ps, const struct site *at, const char *top_file,
		     const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at) {
		WERR(at->f, at->w, "%s", msg);
	} else {
		struct lb_src top = {.file = (char *)top_file};
		perr(ps, &top, 0, 0, "%s", msg);
	}
}

/* "included from FILE:LINE" for every frame, innermost first. */
static char *make_chain(const struct parser *ps)
{
	struct sbuf b = {0};
	for (unsigned i = ps->depth; i-- > 0;) {
		char line[64];
		snprintf(line, sizeof(line), ":%u%s", ps->stack[i].line, i ? "\n" : "");
		if (sbuf_puts(&b, "included from ") < 0 ||
		    sbuf_puts(&b, ps->stack[i].src->file) < 0 || sbuf_puts(&b, line) < 0) {
			free(b.s);
			return NULL;
		}
	}
	return b.s;
}

/* A cycle or too deep: reported at the include, false. */
static bool may_enter(struct parser *ps, const char *id, const char *name, const struct site *at)
{
	for (unsigned i = 0; i < ps->depth; i++) {
		if (strcmp(ps->stack[i].id, id) != 0)
			continue;
		struct sbuf b = {0};
		for (unsigned k = i; k < ps->depth; k++)
			if (sbuf_puts(&b, ps->stack[k].src->file) < 0 || sbuf_puts(&b, " -> ") < 0)
				break;
		site_err(ps, at, name, "include cycle: %s%s", b.s ? b.s : "", name);
		free(b.s);
		return false;
	}
	if (ps->depth >= LB_MAX_INCLUDE_DEPTH) {
		site_err(ps, at, name,
			 "includes nested more than %d deep (a cycle through different names?)",
			 LB_MAX_INCLUDE_DEPTH);
		return false;
	}
	return true;
}

static int parse_buffer(struct parser *ps, const char *name, const char *id, const char *dir,
			const char *buf, size_t len, bool builtin, const struct site *at)
{
	for (size_t i = 0; i < ps->n_seen; i++)
		if (strcmp(ps->seen[i], id) == 0)
			return 0; /* read already: its rules are in */
	if (!may_enter(ps, id, name, at))
		return 0;
	if (at)
		ps->stack[ps->depth - 1].line = at->w->line;
	lb_autofree char *chain = ps->depth ? make_chain(ps) : NULL;
	if (ps->depth && !chain)
		return -ENOMEM;
	struct lb_src *src = lb_policy_new_src(ps->p, name, chain, builtin, ps->depth + 1);
	if (!src)
		return -ENOMEM;
	struct file_ctx f = {
	    .ps = ps, .src = src, .dir = dir, .lx = {.buf = buf, .len = len, .line = 1}};
	ps->stack[ps->depth++] = (struct frame){.id = id, .src = src};
	parse_text(&f);
	ps->depth--;
	return ps->fatal ? ps->fatal : remember(ps, id);
}

static int parse_profile(struct parser *ps, const struct lb_profile_text *prof,
			 const struct site *at)
{
	char name[64], id[64];
	snprintf(name, sizeof(name), "<builtin:%s>", prof->name);
	snprintf(id, sizeof(id), "b:%s", prof->name);
	return parse_buffer(ps, name, id, NULL, prof->text, prof->len, true, at);
}

static int read_all(int fd, size_t size_hint, char **out, size_t *len)
{
	size_t cap = size_hint + 1, n = 0;
	lb_autofree char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap > LB_MAX_FILE)
				return -EFBIG;
			char *b = realloc(buf, cap * 2);
			if (!b)
				return -ENOMEM;
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > LB_MAX_FILE)
		return -EFBIG;
	*out = steal_pointer(&buf);
	*len = n;
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int remember_file(struct lb_policy *p, const struct stat *st, const char *path,
			 const char *text, size_t len)
{
	struct lb_policy_file *v = realloc(p->files, (p->n_files + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->files = v;
	char *real = realpath(path, NULL);
	if (!real && !(real = strdup(path)))
		return -ENOMEM;
	char *named = strdup(path), *copy = strndup(text, len);
	if (!named || !copy) {
		free(real);
		free(named);
		free(copy);
		return -ENOMEM;
	}
	v[p->n_files++] = (struct lb_policy_file){
	    .dev = st->st_dev, .ino = st->st_ino, .path = real, .named = named, .text = copy};
	return 0;
}

/* A nested run's policy: the texts the inner litebox read, by name. */
static int sent_file(struct parser *ps, const char *path, const struct site *at, char **buf,
		     size_t *len, char *id, size_t id_len)
{
	const char *const *t = ps->in->file_texts;
	for (; t[0] && t[1]; t += 2) {
		if (strcmp(t[0], path) != 0)
			continue;
		*len = strlen(t[1]);
		if (!(*buf = strdup(t[1])))
			return -ENOMEM;
		snprintf(id, id_len, "s:%zu", (size_t)(t - ps->in->file_texts));
		return 0;
	}
	site_err(ps, at, path, "cannot read policy '%s': the inner litebox did not send it", path);
	return -ENOENT;
}

/* Opens and reads path; problems are reported at the include (or, for the
 * top file, against the file itself) and returned as -errno. */
static int load_file(struct parser *ps, const char *path, const struct site *at, char **buf,
		     size_t *len, char *id, size_t id_len)
{
	if (ps->in->file_texts)
		return sent_file(ps, path, at, buf, len, id, id_len);
	/* O_NONBLOCK: a FIFO named as a policy must not hang us at open. */
	lb_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	int rc = fd < 0 || fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0 && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (rc == 0 && !S_ISREG(st.st_mode))
		rc = -EBADF;
	else if (rc == 0 && (size_t)st.st_size > LB_MAX_FILE)
		rc = -EFBIG;
	if (rc == 0)
		rc = read_all(fd, (size_t)st.st_size, buf, len);
	if (rc == -ENOMEM)
		return rc;
	if (rc == -EISDIR)
		site_err(ps, at, path, "cannot read policy '%s': is a directory", path);
	else if (rc == -EBADF)
		site_err(ps, at, path, "cannot read policy '%s': not a regular file", path);
	else if (rc == -EFBIG)
		site_err(ps, at, path, "cannot read policy '%s': larger than %zu bytes", path,
			 LB_MAX_FILE);
	else if (rc < 0)
		site_err(ps, at, path, "cannot read policy '%s': %s%s", path, strerror(-rc),
			 rc == -ENOENT && !strchr(path, '/')
			     ? " (built-in profiles: default, strict, permissive)"
			     : "");
	if (rc == 0)
		snprintf(id, id_len, "f:%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
	if (rc == 0)
		rc = remember_file(ps->p, &st, path, *buf, *len);
	return rc;
}

static int parse_file(struct parser *ps, const char *path, const struct site *at)
{
	char id[64];
	lb_autofree char *buf = NULL;
	size_t len = 0;
	int rc = load_file(ps, path, at, &buf, &len, id, sizeof(id));
	if (rc < 0)
		return at && rc != -ENOMEM ? 0 : rc;
	lb_autofree char *dir = dir_of(path);
	if (!dir)
		return -ENOMEM;
	return parse_buffer(ps, path, id, dir, buf, len, false, at);
}

/* ---- CLI rules and implicit grants -------------------------------------------------------------
 */

static int cli_rule(struct parser *ps, const struct lb_cli_rule *c)
{
	struct lb_src *src =
	    lb_policy_new_src(ps->p, c->flag ? c->flag : "--allow", NULL, false, 0);
	if (!src)
		return -ENOMEM;
	struct file_ctx f = {.ps = ps, .src = src, .dir = "."};
	size_t first = ps->p->n_rules;
	struct word w[2] = {{.s = (char *)c->object,
			     .len = strlen(c->object),
			     .line = 1,
			     .col = 1,
			     .verbatim = true}};
	size_t nw = 1;
	lb_autofree char *proto = NULL;
	if (c->cls == LB_CLASS_CONNECT || c->cls == LB_CLASS_BIND) {
		const char *sp = strchr(c->object, ' ');
		if (sp) {
			if (!(proto = strndup(c->object, (size_t)(sp - c->object))))
				return -ENOMEM;
			w[0] = (struct word){.s = proto,
					     .len = strlen(proto),
					     .line = 1,
					     .col = 1,
					     .verbatim = true};
			w[1] = (struct word){.s = (char *)sp + 1,
					     .len = strlen(sp + 1),
					     .line = 1,
					     .col = (unsigned)(sp - c->object) + 2,
					     .verbatim = true};
			nw = 2;
		}
		int rc = addr_object(&f, w, nw, c->cls, LB_VERDICT_ALLOW);
		if (rc < 0)
			return rc;
		if ((size_t)rc < nw)
			perr(ps, src, 1, w[1].col, "unexpected text after '*'");
	} else if (c->cls <= LB_CLASS_STAT) {
		int rc = path_object(&f, &w[0], c->cls, LB_VERDICT_ALLOW);
		if (rc < 0)
			return rc;
	} else {
		perr(ps, src, 1, 1, "no command-line rules for class %s", lb_class_name(c->cls));
	}
	for (size_t i = first; i < ps->p->n_rules; i++)
		ps->p->rules[i].origin = LB_ORIGIN_CLI;
	return 0;
}

static int implicit_rule(struct lb_policy *p, unsigned cls, const char *path)
{
	struct lb_pattern *pat = NULL;
	struct lb_pattern_error err;
	if (!path || path[0] != '/' || lb_pattern_compile(path, &pat, &err) < 0)
		return 0; /* not a canonical path: grants nothing */
	struct lb_rule *r = lb_policy_new_rule(p);
	if (!r) {
		lb_pattern_free(pat);
		return -ENOMEM;
	}
	*r = (struct lb_rule){.cls = cls,
			      .verdict = LB_VERDICT_ALLOW,
			      .origin = LB_ORIGIN_IMPLICIT,
			      .seq = r->seq,
			      .word = strdup(path),
			      .pat = pat,
			      .nr = -1};
	return r->word ? 0 : -ENOMEM;
}

static const char *const implicit_rw[] = {"/dev/null",	 "/dev/zero", "/dev/urandom",
					  "/dev/random", "/dev/tty",  "/proc/self/**"};

bool lb_policy_implicit_path(const char *path)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(implicit_rw); i++) {
		const char *w = implicit_rw[i];
		size_t n = strlen(w);
		if (n > 3 && strcmp(w + n - 3, "/**") == 0) {
			n -= 3;
			if (strncmp(path, w, n) == 0 && (path[n] == '\0' || path[n] == '/'))
				return true;
		} else if (strcmp(path, w) == 0) {
			return true;
		}
	}
	return false;
}

static int implicit_rules(struct lb_policy *p, const struct lb_policy_inputs *in)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < LB_ARRAY_SIZE(implicit_rw); i++) {
		rc = implicit_rule(p, LB_CLASS_READ, implicit_rw[i]);
		if (rc == 0)
			rc = implicit_rule(p, LB_CLASS_WRITE, implicit_rw[i]);
	}
	/* The dynamic loader finds the (implicitly granted) libraries through it. */
	if (rc == 0)
		rc = implicit_rule(p, LB_CLASS_READ, "/etc/ld.so.cache");
	for (size_t i = 0; rc == 0 && i < in->n_implicit_read; i++)
		rc = implicit_rule(p, LB_CLASS_READ, in->implicit_read[i]);
	for (size_t i = 0; rc == 0 && i < in->n_implicit_exec; i++)
		rc = implicit_rule(p, LB_CLASS_EXEC, in->implicit_exec[i]);
	return rc;
}

/* ---- entry ------------------------------------------------------------------------------------
 */

static int parse_top(struct parser *ps, const struct lb_policy_inputs *in)
{
	const char *source = in->source ? in->source : in->text ? "<text>" : "default";
	if (in->text) {
		lb_autofree char *dir = dir_of(source);
		lb_autofree char *id = NULL;
		if (!dir || asprintf(&id, "t:%s", source) < 0)
			return -ENOMEM;
		return parse_buffer(ps, source, id, dir, in->text, strlen(in->text), false, NULL);
	}
	const struct lb_profile_text *prof = strchr(source, '/') ? NULL : lb_profile_find(source);
	if (prof)
		return parse_profile(ps, prof, NULL);
	return parse_file(ps, source, NULL);
}

int lb_parse(struct lb_policy *p, const struct lb_policy_inputs *in, struct lb_diags *d)
{
	struct parser ps = {.p = p, .d = d, .in = in};
	int rc = parse_top(&ps, in);
	for (size_t i = 0; rc == 0 && i < in->n_cli_rules && !ps.stopped; i++)
		rc = cli_rule(&ps, &in->cli_rules[i]);
	if (rc == 0 && ps.fatal)
		rc = ps.fatal;
	if (rc == 0 && d->n_errors == 0 && p->implicit)
		rc = implicit_rules(p, in);
	for (size_t i = 0; i < ps.n_seen; i++)
		free(ps.seen[i]);
	free(ps.seen);
	if (rc == 0 && d->n_errors)
		rc = -EINVAL;
	return rc;
}
