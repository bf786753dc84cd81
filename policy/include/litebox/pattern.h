/* SPDX-License-Identifier: MIT */
/* Path patterns and socket-address patterns of the policy language. */
#ifndef LITEBOX_PATTERN_H
#define LITEBOX_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- path patterns ----------------------------------------------------
 * Absolute patterns (after variable expansion). '*' any run of characters
 * inside one component, '?' one character (one UTF-8 code point), '**' any
 * number of whole components (zero included), and DIR followed by "/" and
 * "**" also matches DIR itself.
 * "." and ".." components are rejected. Matching is linear in the path
 * length (no backtracking blow-up). Paths given to match are canonical
 * absolute paths (no "//", ".", ".." and no trailing '/', except "/"). */
struct lb_pattern;

struct lb_pattern_error {
	size_t col;	     /* 0-based byte offset into the pattern text */
	const char *message; /* static string */
};

int lb_pattern_compile(const char *text, struct lb_pattern **out, struct lb_pattern_error *err);
/* Added: the same for text that is not NUL-terminated (len bytes); a NUL
 * byte among them is an error. */
int lb_pattern_compile_len(const char *text, size_t len, struct lb_pattern **out,
			   struct lb_pattern_error *err);
/* The same, with every component that starts before byte literal_upto of
 * text taken literally ('*' and '?' are then characters): the policy's
 * escaped \* and \? (a name that holds them, exactly). A component that
 * holds an unescaped wildcard after literal_upto is an error. */
int lb_pattern_compile_literal(const char *text, size_t len, size_t literal_upto,
			       struct lb_pattern **out, struct lb_pattern_error *err);
/* Added: a pattern has at most this many components (more is a compile
 * error); it bounds the matcher's on-stack state so matching never allocates. */
#define LB_PATTERN_MAX_COMPONENTS 256
bool lb_pattern_match(const struct lb_pattern *p, const char *path);
/* Added: true when the pattern judges a/REL and b/REL alike for every REL
 * (the empty one included): matching depends only on the state reached
 * after the leading part, so equal states mean equal answers. Used to
 * tell whether moving a directory from a to b moves its content between
 * rules. Conservative: false may still mean "alike". */
bool lb_pattern_same_below(const struct lb_pattern *p, const char *a, const char *b);
const char *lb_pattern_text(const struct lb_pattern *p);
/* Longest literal directory prefix (e.g. "/usr/lib" for a pattern of the .so files in /usr/lib),
 * "/" when the pattern starts with a wildcard component. */
const char *lb_pattern_prefix(const struct lb_pattern *p);
/* (Every path the pattern matches is the prefix or lies below it; for a
 * literal pattern the prefix is the whole pattern.) */
bool lb_pattern_is_literal(const struct lb_pattern *p);
/* The shapes the sandbox's view (fast mediation) can express: a literal
 * path, literal components then a final "**" (a subtree), literal
 * components then one final glob component; everything else is OTHER. */
enum lb_pattern_shape {
	LB_SHAPE_LITERAL,
	LB_SHAPE_SUBTREE,
	LB_SHAPE_LAST_GLOB,
	LB_SHAPE_OTHER,
};
enum lb_pattern_shape lb_pattern_shape(const struct lb_pattern *p);
/* Conservative: true only when every path b matches is also matched by a. */
bool lb_pattern_covers(const struct lb_pattern *a, const struct lb_pattern *b);
/* How specific a pattern is (the policy's Decisions, rule 2): an exact path
 * beats every pattern; between patterns the longer literal text before the
 * first wildcard wins, then the one with fewer wildcards ('*' runs, '?',
 * '**' each count one). */
struct lb_pattern_spec {
	bool literal;
	size_t prefix_len; /* bytes before the first wildcard (the whole text if literal) */
	size_t wildcards;
};
void lb_pattern_spec(const struct lb_pattern *p, struct lb_pattern_spec *out);
/* The same as one number: a higher key is more specific (fits in 26 bits). */
uint64_t lb_pattern_spec_key(const struct lb_pattern *p);
void lb_pattern_free(struct lb_pattern *p);

/* ---- socket addresses ---------------------------------------------------- */
enum lb_addr_kind {
	LB_ADDR_TCP,
	LB_ADDR_UDP,
	LB_ADDR_UNIX_PATH,
	LB_ADDR_UNIX_ABSTRACT,
};

/* A concrete address the program used (already decoded by the core).
 * IPv4-mapped IPv6 addresses are normalised to IPv4 by the core before
 * matching (is_v4 = true, ip[0..3]). */
struct lb_sockaddr_obj {
	enum lb_addr_kind kind;
	bool is_v4;
	uint8_t ip[16];
	uint16_t port;	  /* host byte order */
	const char *name; /* unix: resolved path; abstract: the name without '@' */
	size_t name_len;  /* abstract names may contain any bytes */
	/* tcp/udp: the host names that resolved to this address for the
	 * program (lower case, no trailing dot); what name rules match. */
	const char *const *names;
	size_t n_names;
};

struct lb_addr_pattern;

/* Parse one address object written as two words, PROTO and ADDR:
 * ("tcp", "127.0.0.1:5432"), ("udp", "[::1]:53"), ("tcp", "10.0.0.0/8:*"),
 * ("tcp", "localhost:8000-8099"), ("tcp", "*:443"), ("unix", a path pattern),
 * ("unix", "@name*"). Or the single word "*" (proto "*", addr NULL): every
 * address of every family. err->col is relative to the ADDR word (or PROTO
 * word when the protocol is unknown, with err_in_proto set). */
struct lb_addr_error {
	size_t col;
	bool in_proto;
	const char *message;
};
int lb_addr_pattern_parse(const char *proto, const char *addr, struct lb_addr_pattern **out,
			  struct lb_addr_error *err);
bool lb_addr_pattern_match(const struct lb_addr_pattern *p, const struct lb_sockaddr_obj *a);
/* p matches the unix socket path without a wildcard (or p is the lone
 * "*", every address): the rule names that socket itself. */
bool lb_addr_pattern_names_unix(const struct lb_addr_pattern *p, const char *path);
/* p (a connect rule's address) covers host name (lower case): a name
 * pattern matching it, `*` as host, or the lone "*". */
bool lb_addr_pattern_match_name(const struct lb_addr_pattern *p, const char *name);
/* The host is a name (pypi.org, *.pythonhosted.org). */
bool lb_addr_pattern_is_name(const struct lb_addr_pattern *p);
/* a's ports include all of b's. */
bool lb_addr_pattern_ports_cover(const struct lb_addr_pattern *a, const struct lb_addr_pattern *b);
/* The pattern as written back in canonical policy syntax: "tcp 127.0.0.1:5432". */
const char *lb_addr_pattern_text(const struct lb_addr_pattern *p);
/* A unix path pattern's literal prefix, "/" for the lone "*", NULL for
 * anything else (inet, abstract names). */
const char *lb_addr_pattern_unix_prefix(const struct lb_addr_pattern *p);
bool lb_addr_pattern_covers(const struct lb_addr_pattern *a, const struct lb_addr_pattern *b);
/* How specific the pattern is: a higher key wins (policy Decisions, rule 2). */
uint64_t lb_addr_pattern_spec_key(const struct lb_addr_pattern *p);
void lb_addr_pattern_free(struct lb_addr_pattern *p);

/* "tcp 127.0.0.1:5432", "udp [::1]:53", "unix /run/x.sock", "unix @name"
 * (non-printable bytes of abstract names escaped as \xNN). Returns the
 * length it needed (snprintf semantics). */
int lb_sockaddr_format(const struct lb_sockaddr_obj *a, char *buf, size_t len);

#endif
