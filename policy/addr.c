/* SPDX-License-Identifier: MIT */
/* Socket-address patterns of the policy language, and the text form of the
 * concrete addresses the core judges.
 *
 *   tcp HOST:PORT   udp HOST:PORT   unix PATH-PATTERN   unix @NAME-PATTERN   *
 *
 * HOST: IPv4 dotted quad (exactly four decimal parts 0-255, no leading
 * zeros, which other tools read as octal), [IPv6], a CIDR block
 * (10.0.0.0/8, [fd00::/8]) whose host bits must be zero, "localhost"
 * (127.0.0.0/8 and ::1), "*" (every IPv4 and IPv6 address) or a host name
 * (pypi.org, *.pythonhosted.org: any name below). An IPv4-mapped IPv6
 * pattern ([::ffff:127.0.0.1]) is turned into the IPv4 it stands for,
 * because the core hands mapped addresses over as IPv4. Host names are
 * never resolved here: a name pattern matches the names the core attaches
 * to an address (those that resolved to it for the program, lib/dns.c).
 * PORT: a number 0-65535, a range LO-HI (LO <= HI) or "*".
 *
 * Abstract unix names are globbed byte-wise: '*' any run of bytes, '?' one
 * byte. Since names may hold any byte, the pattern may write one as \xNN,
 * and '\\', '\*' and '\?' stand for those characters themselves. That is
 * also how lb_sockaddr_format writes names, so its output is a pattern
 * matching exactly the name it shows.
 *
 * Error messages are static strings, or for the ones naming what was
 * written ("port 70000 out of range 0-65535") a per-thread buffer that
 * stays valid until the next lb_addr_pattern_parse call of the thread. */
#include "litebox/pattern.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/util.h"

enum ap_what {
	AP_EVERYTHING, /* the lone "*" */
	AP_INET,
	AP_UNIX_PATH,
	AP_UNIX_ABSTRACT,
};

enum host_kind {
	HOST_ANY,
	HOST_LOCALHOST,
	HOST_NET,
	HOST_NAME, /* name: lower case, no trailing dot; wild: "*." + name */
};

struct ip_net {
	bool is_v4;
	uint8_t ip[16];
	unsigned bits; /* prefix length */
};

/* Abstract-name glob tokens: 0-255 is that byte. */
enum { TOK_STAR = 256, TOK_ONE = 257 };

struct lb_addr_pattern {
	enum ap_what what;
	enum lb_addr_kind kind; /* AP_INET: LB_ADDR_TCP or LB_ADDR_UDP */
	enum host_kind host;
	struct ip_net net;
	char *name;
	bool wild;
	uint16_t port_lo, port_hi;
	struct lb_pattern *path;
	uint16_t *glob;
	size_t glob_len;
	char *text;
};

/* ---- errors ------------------------------------------------------------------ */

static int addr_fail(struct lb_addr_error *err, size_t col, const char *message)
{
	if (err) {
		err->col = col;
		err->in_proto = false;
		err->message = message;
	}
	return -EINVAL;
}

static _Thread_local char addr_message[160];

__attribute__((format(printf, 3, 4))) static int addr_failf(struct lb_addr_error *err, size_t col,
							    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(addr_message, sizeof(addr_message), fmt, ap);
	va_end(ap);
	return addr_fail(err, col, addr_message);
}

/* Quoted pieces of the input in messages are cut to this many bytes. */
#define QUOTE_MAX 40

/* ---- HOST ---------------------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_digits_and_dots(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]) && s[i] != '.')
			return false;
	return true;
}

/* One part of a dotted quad at s[0..len): col is its column for errors. */
static int parse_ipv4_part(const char *s, size_t len, size_t col, uint8_t *out,
			   struct lb_addr_error *err)
{
	if (len == 0)
		return addr_fail(
		    err, col,
		    "invalid IPv4 address: expected four numbers 0-255 separated by dots");
	if (len > 1 && s[0] == '0')
		return addr_failf(err, col, "invalid IPv4 address: leading zero in '%.*s' (octal?)",
				  (int)(len > QUOTE_MAX ? QUOTE_MAX : len), s);
	unsigned v = 0;
	for (size_t i = 0; i < len && v <= 255; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > 255)
		return addr_failf(err, col, "invalid IPv4 address: %.*s is out of range 0-255",
				  (int)(len > QUOTE_MAX ? QUOTE_MAX : len), s);
	*out = (uint8_t)v;
	return 0;
}

/* Strict dotted quad at s[0..len), s being at column col of the word. */
static int parse_ipv4(const char *s, size_t len, size_t col, uint8_t ip[4],
		      struct lb_addr_error *err)
{
	if (!all_digits_and_dots(s, len))
		return addr_fail(err, col, "invalid IPv4 address");
	size_t start = 0;
	for (int part = 0; part < 4; part++) {
		size_t end = start;
		while (end < len && s[end] != '.')
			end++;
		if ((part < 3) != (end < len))
			return addr_fail(
			    err, col,
			    "invalid IPv4 address: expected four numbers 0-255 separated by dots");
		int rc = parse_ipv4_part(s + start, end - start, col + start, &ip[part], err);
		if (rc < 0)
			return rc;
		start = end + 1;
	}
	return 0;
}

static int parse_prefix_len(const char *s, size_t len, size_t col, unsigned max, unsigned *out,
			    struct lb_addr_error *err)
{
	unsigned v = 0;
	if (len == 0)
		return addr_fail(err, col, "missing prefix length after '/'");
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return addr_fail(err, col + i, "invalid prefix length: expected a number");
		if (v <= max)
			v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return addr_failf(err, col, "prefix length %.*s out of range 0-%u",
				  (int)(len > QUOTE_MAX ? QUOTE_MAX : len), s, max);
	*out = v;
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static bool host_bits_clear(const struct ip_net *n)
{
	unsigned total = n->is_v4 ? 32 : 128;
	for (unsigned bit = n->bits; bit < total; bit++)
		if (n->ip[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* "ADDRESS" or "ADDRESS/BITS" at s[0..len); returns the address length and
 * puts the prefix after '/' into *bits (default max). */
static int split_cidr(const char *s, size_t len, size_t col, unsigned max, size_t *addr_len,
		      unsigned *bits, struct lb_addr_error *err)
{
	const char *slash = memchr(s, '/', len);
	*bits = max;
	*addr_len = slash ? (size_t)(slash - s) : len;
	if (!slash)
		return 0;
	size_t after = *addr_len + 1;
	return parse_prefix_len(s + after, len - after, col + after, max, bits, err);
}

static int check_host_bits(const struct ip_net *n, const char *s, size_t len, size_t col,
			   struct lb_addr_error *err)
{
	if (host_bits_clear(n))
		return 0;
	return addr_failf(err, col, "host bits set in %.*s", (int)(len > 60 ? 60 : len), s);
}

static int parse_ipv4_net(const char *s, size_t len, size_t col, struct ip_net *n,
			  struct lb_addr_error *err)
{
	size_t alen;
	int rc = split_cidr(s, len, col, 32, &alen, &n->bits, err);
	if (rc < 0)
		return rc;
	n->is_v4 = true;
	rc = parse_ipv4(s, alen, col, n->ip, err);
	if (rc < 0)
		return rc;
	return check_host_bits(n, s, len, col, err);
}

/* ::ffff:a.b.c.d (checked by hand: ip need not be aligned for in6_addr). */
static bool is_v4_mapped(const uint8_t *ip)
{
	static const uint8_t mapped_prefix[12] = {[10] = 0xFF, [11] = 0xFF};
	return memcmp(ip, mapped_prefix, sizeof(mapped_prefix)) == 0;
}

/* The core judges IPv4-mapped IPv6 addresses as IPv4, so a pattern written
 * that way is stored as the IPv4 block it denotes. */
static void unmap_v4(struct ip_net *n)
{
	if (n->is_v4 || n->bits < 96 || !is_v4_mapped(n->ip))
		return;
	n->is_v4 = true;
	memmove(n->ip, n->ip + 12, 4);
	memset(n->ip + 4, 0, 12);
	n->bits -= 96;
}

/* Inside the brackets: s[0..len) at column col. */
static int parse_ipv6_net(const char *s, size_t len, size_t col, struct ip_net *n,
			  struct lb_addr_error *err)
{
	char buf[INET6_ADDRSTRLEN];
	size_t alen;
	int rc = split_cidr(s, len, col, 128, &alen, &n->bits, err);
	if (rc < 0)
		return rc;
	if (alen == 0 || alen >= sizeof(buf))
		return addr_fail(err, col, "invalid IPv6 address");
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	n->is_v4 = false;
	if (inet_pton(AF_INET6, buf, n->ip) != 1)
		return addr_fail(err, col, "invalid IPv6 address");
	rc = check_host_bits(n, s, len, col, err);
	if (rc < 0)
		return rc;
	unmap_v4(n);
	return 0;
}

/* ---- host names ------------------------------------------------------------------ */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
	       c == '_';
}

/* Labels of letters, digits, '-' and '_' (1-63 bytes each, 253 in all),
 * one trailing dot allowed; "*." in front for every name below. Kept in
 * lower case: names are matched case-insensitively. */
static int parse_hostname(const char *s, size_t len, size_t col, struct lb_addr_pattern *p,
			  struct lb_addr_error *err)
{
	size_t start = 0;
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		p->wild = true;
		start = 2;
	}
	if (len > start && s[len - 1] == '.')
		len--;
	if (len <= start || len - start > 253)
		return addr_fail(err, col, "invalid host name (1-253 characters)");
	size_t label = 0;
	for (size_t i = start; i < len; i++) {
		if (s[i] == '.' && label > 0) {
			label = 0;
			continue;
		}
		if (s[i] == '*')
			return addr_fail(err, col + i,
					 "a host name may use '*' only as its first label "
					 "(*.example.com)");
		if (!name_char(s[i]) || ++label > 63)
			return addr_fail(err, col + i,
					 "invalid host name: labels of 1-63 letters, digits, '-' "
					 "or '_' separated by dots");
	}
	if (label == 0)
		return addr_fail(err, col, "invalid host name: empty label");
	p->name = strndup(s + start, len - start);
	if (!p->name)
		return -ENOMEM;
	for (char *c = p->name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	p->host = HOST_NAME;
	return 0;
}

/* name (lower case, no trailing dot) matched by the host pattern. */
static bool name_match(const struct lb_addr_pattern *p, const char *name)
{
	if (!p->wild)
		return strcmp(p->name, name) == 0;
	size_t n = strlen(name), k = strlen(p->name);
	return n > k && name[n - k - 1] == '.' && strcmp(name + n - k, p->name) == 0;
}

static bool looks_numeric(const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	return all_digits_and_dots(s, slash ? (size_t)(slash - s) : len);
}

static int parse_host(const char *s, size_t len, size_t col, bool bracketed,
		      struct lb_addr_pattern *p, struct lb_addr_error *err)
{
	p->host = HOST_NET;
	if (bracketed)
		return parse_ipv6_net(s, len, col, &p->net, err);
	if (len == 0)
		return addr_fail(err, col, "missing host before ':'");
	if (len == 1 && s[0] == '*') {
		p->host = HOST_ANY;
		return 0;
	}
	if (len == 9 && memcmp(s, "localhost", 9) == 0) {
		p->host = HOST_LOCALHOST;
		return 0;
	}
	if (!looks_numeric(s, len))
		return parse_hostname(s, len, col, p, err);
	return parse_ipv4_net(s, len, col, &p->net, err);
}

/* ---- PORT ---------------------------------------------------------------------- */

static int parse_port_number(const char *s, size_t len, size_t col, uint16_t *out,
			     struct lb_addr_error *err)
{
	unsigned long v = 0;
	if (len == 0)
		return addr_fail(err, col, "missing port: expected a number 0-65535, LO-HI or *");
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return addr_fail(err, col + i,
					 "invalid port: expected a number 0-65535, LO-HI or *");
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return addr_failf(err, col, "port %.*s out of range 0-65535",
				  (int)(len > QUOTE_MAX ? QUOTE_MAX : len), s);
	*out = (uint16_t)v;
	return 0;
}

static int parse_ports(const char *s, size_t len, size_t col, struct lb_addr_pattern *p,
		       struct lb_addr_error *err)
{
	if (len == 1 && s[0] == '*') {
		p->port_lo = 0;
		p->port_hi = 65535;
		return 0;
	}
	const char *dash = memchr(s, '-', len);
	size_t lo_len = dash ? (size_t)(dash - s) : len;
	int rc = parse_port_number(s, lo_len, col, &p->port_lo, err);
	if (rc < 0)
		return rc;
	if (!dash) {
		p->port_hi = p->port_lo;
		return 0;
	}
	rc = parse_port_number(dash + 1, len - lo_len - 1, col + lo_len + 1, &p->port_hi, err);
	if (rc < 0)
		return rc;
	if (p->port_lo > p->port_hi)
		return addr_failf(err, col, "port range %u-%u is reversed (low end first)",
				  p->port_lo, p->port_hi);
	return 0;
}

/* ---- tcp / udp ------------------------------------------------------------------- */

/* Finds where HOST ends and PORT starts in "HOST:PORT" or "[V6]:PORT". */
static int split_host_port(const char *addr, size_t *host_start, size_t *host_len, bool *bracketed,
			   size_t *port_start, struct lb_addr_error *err)
{
	size_t len = strlen(addr);
	*bracketed = addr[0] == '[';
	if (*bracketed) {
		const char *close = strchr(addr, ']');
		if (!close)
			return addr_fail(err, 0, "missing ']' after the IPv6 address");
		size_t c = (size_t)(close - addr);
		if (addr[c + 1] != ':')
			return addr_fail(err, c + 1, "expected HOST:PORT (':' after ']')");
		*host_start = 1;
		*host_len = c - 1;
		*port_start = c + 2;
		return 0;
	}
	const char *colon = strchr(addr, ':');
	if (!colon)
		return addr_fail(err, len, "expected HOST:PORT");
	if (strchr(colon + 1, ':'))
		return addr_fail(err, 0, "IPv6 address must be in brackets, as in [::1]:80");
	*host_start = 0;
	*host_len = (size_t)(colon - addr);
	*port_start = *host_len + 1;
	return 0;
}

static int parse_inet(enum lb_addr_kind kind, const char *addr, struct lb_addr_pattern *p,
		      struct lb_addr_error *err)
{
	size_t hs, hl, ps;
	bool bracketed;

	if (!addr || !addr[0])
		return addr_fail(err, 0, "missing address: expected HOST:PORT");
	int rc = split_host_port(addr, &hs, &hl, &bracketed, &ps, err);
	if (rc < 0)
		return rc;
	p->what = AP_INET;
	p->kind = kind;
	rc = parse_host(addr + hs, hl, hs, bracketed, p, err);
	if (rc < 0)
		return rc;
	return parse_ports(addr + ps, strlen(addr + ps), ps, p, err);
}

/* ---- unix ------------------------------------------------------------------------ */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One escape at s[0] == '\\': the token it stands for and its length. */
static int parse_escape(const char *s, size_t col, uint16_t *tok, size_t *used,
			struct lb_addr_error *err)
{
	if (s[1] == '\\' || s[1] == '*' || s[1] == '?') {
		*tok = (uint8_t)s[1];
		*used = 2;
		return 0;
	}
	if (s[1] == 'x' && hex_value(s[2]) >= 0 && hex_value(s[3]) >= 0) {
		*tok = (uint16_t)(hex_value(s[2]) * 16 + hex_value(s[3]));
		*used = 4;
		return 0;
	}
	return addr_fail(err, col,
			 "invalid escape in abstract socket name (use \\xNN, \\\\, \\* or \\?)");
}

/* name is the pattern after '@', at column 1 of the word. */
static int parse_abstract(const char *name, struct lb_addr_pattern *p, struct lb_addr_error *err)
{
	size_t len = strlen(name), n = 0;
	p->glob = calloc(len + 1, sizeof(*p->glob));
	if (!p->glob)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		uint16_t tok = (uint8_t)name[i];
		size_t used = 1;
		if (name[i] == '\\') {
			int rc = parse_escape(name + i, 1 + i, &tok, &used, err);
			if (rc < 0)
				return rc;
		} else if (name[i] == '*') {
			tok = TOK_STAR;
		} else if (name[i] == '?') {
			tok = TOK_ONE;
		}
		if (!(tok == TOK_STAR && n > 0 && p->glob[n - 1] == TOK_STAR))
			p->glob[n++] = tok; /* "**" is the same as "*" */
		i += used;
	}
	p->glob_len = n;
	p->what = AP_UNIX_ABSTRACT;
	p->kind = LB_ADDR_UNIX_ABSTRACT;
	return 0;
}

static int parse_unix(const char *addr, struct lb_addr_pattern *p, struct lb_addr_error *err)
{
	struct lb_pattern_error perr = {0, NULL};

	if (!addr || !addr[0])
		return addr_fail(err, 0, "missing socket path or @abstract-name after unix");
	if (addr[0] == '@')
		return parse_abstract(addr + 1, p, err);
	int rc = lb_pattern_compile(addr, &p->path, &perr);
	if (rc == -EINVAL)
		return addr_fail(err, perr.col, perr.message);
	if (rc < 0)
		return rc;
	p->what = AP_UNIX_PATH;
	p->kind = LB_ADDR_UNIX_PATH;
	return 0;
}

/* ---- text ------------------------------------------------------------------------ */

/* A writer with snprintf semantics: counts everything, stores what fits. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void out_bytes(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->cap)
			o->buf[o->len] = s[i];
}

static void out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void out_fmt(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_bytes(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void out_finish(struct out *o)
{
	if (o->cap)
		o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
}

static void out_ip(struct out *o, bool is_v4, const uint8_t *ip)
{
	char tmp[INET6_ADDRSTRLEN];
	if (!inet_ntop(is_v4 ? AF_INET : AF_INET6, ip, tmp, sizeof(tmp)))
		tmp[0] = '\0';
	out_str(o, tmp);
}

/* One byte of an abstract name as the pattern syntax writes it. */
static void out_name_byte(struct out *o, uint8_t c)
{
	if (c == '\\' || c == '*' || c == '?')
		out_fmt(o, "\\%c", c);
	else if (c < 0x20 || c >= 0x7F)
		out_fmt(o, "\\x%02x", c);
	else
		out_bytes(o, (const char *)&c, 1);
}

static const char *inet_proto_name(enum lb_addr_kind kind)
{
	return kind == LB_ADDR_UDP ? "udp" : "tcp";
}

static void out_host(struct out *o, const struct lb_addr_pattern *p)
{
	const struct ip_net *n = &p->net;
	if (p->host == HOST_ANY) {
		out_str(o, "*");
	} else if (p->host == HOST_LOCALHOST) {
		out_str(o, "localhost");
	} else if (p->host == HOST_NAME) {
		out_str(o, p->wild ? "*." : "");
		out_str(o, p->name);
	} else if (n->is_v4) {
		out_ip(o, true, n->ip);
		if (n->bits < 32)
			out_fmt(o, "/%u", n->bits);
	} else {
		out_str(o, "[");
		out_ip(o, false, n->ip);
		if (n->bits < 128)
			out_fmt(o, "/%u", n->bits);
		out_str(o, "]");
	}
}

static void out_ports(struct out *o, const struct lb_addr_pattern *p)
{
	if (p->port_lo == 0 && p->port_hi == 65535)
		out_str(o, "*");
	else if (p->port_lo == p->port_hi)
		out_fmt(o, "%u", p->port_lo);
	else
		out_fmt(o, "%u-%u", p->port_lo, p->port_hi);
}

static void out_pattern(struct out *o, const struct lb_addr_pattern *p)
{
	switch (p->what) {
	case AP_EVERYTHING:
		out_str(o, "*");
		break;
	case AP_INET:
		out_fmt(o, "%s ", inet_proto_name(p->kind));
		out_host(o, p);
		out_str(o, ":");
		out_ports(o, p);
		break;
	case AP_UNIX_PATH:
		out_fmt(o, "unix %s", lb_pattern_text(p->path));
		break;
	case AP_UNIX_ABSTRACT:
		out_str(o, "unix @");
		for (size_t i = 0; i < p->glob_len; i++) {
			if (p->glob[i] == TOK_STAR)
				out_str(o, "*");
			else if (p->glob[i] == TOK_ONE)
				out_str(o, "?");
			else
				out_name_byte(o, (uint8_t)p->glob[i]);
		}
		break;
	}
}

/* Two passes: measure, then write. */
static char *pattern_text(const struct lb_addr_pattern *p)
{
	struct out o = {NULL, 0, 0};
	out_pattern(&o, p);
	o.cap = o.len + 1;
	o.buf = malloc(o.cap);
	if (!o.buf)
		return NULL;
	o.len = 0;
	out_pattern(&o, p);
	out_finish(&o);
	return o.buf;
}

/* ---- public: parse, text, free ------------------------------------------------------ */

static int parse_by_proto(const char *proto, const char *addr, struct lb_addr_pattern *p,
			  struct lb_addr_error *err)
{
	if (strcmp(proto, "*") == 0) {
		if (addr)
			return addr_fail(err, 0,
					 "'*' alone means every address; nothing may follow it");
		p->what = AP_EVERYTHING;
		return 0;
	}
	if (strcmp(proto, "tcp") == 0)
		return parse_inet(LB_ADDR_TCP, addr, p, err);
	if (strcmp(proto, "udp") == 0)
		return parse_inet(LB_ADDR_UDP, addr, p, err);
	if (strcmp(proto, "unix") == 0)
		return parse_unix(addr, p, err);
	int rc = addr_failf(err, 0, "unknown protocol '%.*s' (expected tcp, udp, unix or *)",
			    QUOTE_MAX, proto);
	if (err)
		err->in_proto = true;
	return rc;
}

int lb_addr_pattern_parse(const char *proto, const char *addr, struct lb_addr_pattern **out,
			  struct lb_addr_error *err)
{
	if (!proto) {
		int rc = addr_fail(err, 0, "missing protocol (tcp, udp, unix or *)");
		if (err)
			err->in_proto = true;
		return rc;
	}
	struct lb_addr_pattern *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int rc = parse_by_proto(proto, addr, p, err);
	if (rc == 0) {
		p->text = pattern_text(p);
		if (!p->text)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		lb_addr_pattern_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

const char *lb_addr_pattern_text(const struct lb_addr_pattern *p)
{
	return p->text;
}

void lb_addr_pattern_free(struct lb_addr_pattern *p)
{
	if (!p)
		return;
	lb_pattern_free(p->path);
	free(p->name);
	free(p->glob);
	free(p->text);
	free(p);
}

/* ---- matching ------------------------------------------------------------------------- */

static bool is_v6_loopback(const uint8_t *ip)
{
	static const uint8_t loopback[16] = {[15] = 1};
	return memcmp(ip, loopback, 16) == 0;
}

static bool host_match(const struct lb_addr_pattern *p, bool is_v4, const uint8_t *ip)
{
	switch (p->host) {
	case HOST_ANY:
		return true;
	case HOST_LOCALHOST:
		return is_v4 ? ip[0] == 127 : is_v6_loopback(ip);
	case HOST_NET:
		return p->net.is_v4 == is_v4 && prefix_equal(p->net.ip, ip, p->net.bits);
	case HOST_NAME:
		break;
	}
	return false;
}

/* A name rule matches an address through the names that resolved to it
 * for the program (attached by the core). */
static bool names_match(const struct lb_addr_pattern *p, const struct lb_sockaddr_obj *a)
{
	for (size_t i = 0; i < a->n_names; i++)
		if (name_match(p, a->names[i]))
			return true;
	return false;
}

bool lb_addr_pattern_match_name(const struct lb_addr_pattern *p, const char *name)
{
	if (p->what == AP_EVERYTHING)
		return true;
	if (p->what != AP_INET)
		return false;
	return p->host == HOST_ANY || (p->host == HOST_NAME && name_match(p, name));
}

bool lb_addr_pattern_is_name(const struct lb_addr_pattern *p)
{
	return p->what == AP_INET && p->host == HOST_NAME;
}

bool lb_addr_pattern_ports_cover(const struct lb_addr_pattern *a, const struct lb_addr_pattern *b)
{
	if (a->what == AP_EVERYTHING)
		return true;
	if (b->what == AP_EVERYTHING)
		return false;
	return a->port_lo <= b->port_lo && b->port_hi <= a->port_hi;
}

/* Byte-wise glob with the two-pointer algorithm (see pattern.c). */
static bool abstract_match(const uint16_t *g, size_t glen, const uint8_t *s, size_t slen)
{
	size_t gi = 0, si = 0, star_g = SIZE_MAX, star_s = 0;

	while (si < slen) {
		if (gi < glen && g[gi] == TOK_STAR) {
			star_g = ++gi;
			star_s = si;
		} else if (gi < glen && (g[gi] == TOK_ONE || g[gi] == s[si])) {
			gi++;
			si++;
		} else if (star_g != SIZE_MAX) {
			gi = star_g;
			si = ++star_s;
		} else {
			return false;
		}
	}
	while (gi < glen && g[gi] == TOK_STAR)
		gi++;
	return gi == glen;
}

bool lb_addr_pattern_match(const struct lb_addr_pattern *p, const struct lb_sockaddr_obj *a)
{
	if (p->what == AP_EVERYTHING)
		return true;
	if (p->kind != a->kind)
		return false;
	switch (p->what) {
	case AP_INET:
		if (a->port < p->port_lo || a->port > p->port_hi)
			return false;
		return p->host == HOST_NAME ? names_match(p, a) : host_match(p, a->is_v4, a->ip);
	case AP_UNIX_PATH:
		return a->name && lb_pattern_match(p->path, a->name);
	case AP_UNIX_ABSTRACT:
		return (a->name || a->name_len == 0) &&
		       abstract_match(p->glob, p->glob_len, (const uint8_t *)a->name, a->name_len);
	case AP_EVERYTHING:
		break;
	}
	return true;
}

bool lb_addr_pattern_names_unix(const struct lb_addr_pattern *p, const char *path)
{
	if (p->what == AP_EVERYTHING)
		return true;
	return p->what == AP_UNIX_PATH && lb_pattern_is_literal(p->path) &&
	       lb_pattern_match(p->path, path);
}

/* ---- subsumption (conservative) -------------------------------------------------------- */

static bool net_covers(const struct ip_net *a, const struct ip_net *b)
{
	return a->is_v4 == b->is_v4 && a->bits <= b->bits && prefix_equal(a->ip, b->ip, a->bits);
}

static bool localhost_covers_net(const struct ip_net *n)
{
	if (n->is_v4)
		return n->bits >= 8 && n->ip[0] == 127;
	return n->bits == 128 && is_v6_loopback(n->ip);
}

static bool host_covers(const struct lb_addr_pattern *a, const struct lb_addr_pattern *b)
{
	if (a->host == HOST_ANY)
		return true;
	if (b->host == HOST_ANY)
		return false;
	if (a->host == HOST_NAME || b->host == HOST_NAME) /* names and addresses never cover */
		return a->host == b->host && (!b->wild || a->wild) &&
		       (strcmp(a->name, b->name) == 0 || (a->wild && name_match(a, b->name)));
	if (a->host == HOST_LOCALHOST)
		return b->host == HOST_LOCALHOST || localhost_covers_net(&b->net);
	if (b->host == HOST_LOCALHOST)
		return false; /* one block cannot hold both 127.0.0.0/8 and ::1 */
	return net_covers(&a->net, &b->net);
}

static bool glob_is_literal(const struct lb_addr_pattern *p)
{
	for (size_t i = 0; i < p->glob_len; i++)
		if (p->glob[i] >= TOK_STAR)
			return false;
	return true;
}

static bool abstract_covers(const struct lb_addr_pattern *a, const struct lb_addr_pattern *b)
{
	if (a->glob_len == 1 && a->glob[0] == TOK_STAR)
		return true;
	if (a->glob_len == b->glob_len &&
	    memcmp(a->glob, b->glob, a->glob_len * sizeof(a->glob[0])) == 0)
		return true;
	if (!glob_is_literal(b))
		return false;
	uint8_t name[256];
	if (b->glob_len > sizeof(name))
		return false;
	for (size_t i = 0; i < b->glob_len; i++)
		name[i] = (uint8_t)b->glob[i];
	return abstract_match(a->glob, a->glob_len, name, b->glob_len);
}

bool lb_addr_pattern_covers(const struct lb_addr_pattern *a, const struct lb_addr_pattern *b)
{
	if (a->what == AP_EVERYTHING)
		return true;
	if (b->what != a->what || b->kind != a->kind)
		return false;
	switch (a->what) {
	case AP_INET:
		return a->port_lo <= b->port_lo && b->port_hi <= a->port_hi && host_covers(a, b);
	case AP_UNIX_PATH:
		return lb_pattern_covers(a->path, b->path);
	case AP_UNIX_ABSTRACT:
		return abstract_covers(a, b);
	case AP_EVERYTHING:
		break;
	}
	return false;
}

/* ---- specificity (the policy's Decisions, rule 2) ------------------------------------------ */

/* Host first (an exact address over a block, a longer block over a shorter
 * one, localhost as a /8, `*` last), then the port (one port over a
 * range, a narrower range over a wider one, `*` last). Unix paths rank as
 * path patterns; abstract names by literal length, then fewer wildcards.
 * The lone `*` is the least specific of all. Fits in 26 bits. */
static uint64_t host_key(const struct lb_addr_pattern *p)
{
	if (p->host == HOST_ANY)
		return 0;
	if (p->host == HOST_LOCALHOST)
		return 32;
	if (p->host == HOST_NAME) /* a name as an exact address, a wildcard below it */
		return p->wild ? 64 + (strlen(p->name) > 63 ? 63 : strlen(p->name)) : 128;
	return p->net.is_v4 ? p->net.bits * 4u : p->net.bits; /* /32 ranks as /128 */
}

static uint64_t abstract_key(const struct lb_addr_pattern *p)
{
	size_t lit = 0, wild = 0;
	while (lit < p->glob_len && p->glob[lit] < TOK_STAR)
		lit++;
	for (size_t i = 0; i < p->glob_len; i++)
		wild += p->glob[i] == TOK_ONE ||
			(p->glob[i] == TOK_STAR && (i == 0 || p->glob[i - 1] != TOK_STAR));
	uint64_t l = lit > 4095 ? 4095 : lit, w = wild > 4095 ? 4095 : wild;
	return (uint64_t)(wild == 0) << 25 | l << 12 | (4095 - w);
}

uint64_t lb_addr_pattern_spec_key(const struct lb_addr_pattern *p)
{
	switch (p->what) {
	case AP_EVERYTHING:
		return 0;
	case AP_INET:
		return 1 + (host_key(p) << 17 | (65535u - (unsigned)(p->port_hi - p->port_lo)));
	case AP_UNIX_PATH:
		return 1 + lb_pattern_spec_key(p->path);
	case AP_UNIX_ABSTRACT:
		return 1 + abstract_key(p);
	}
	return 0;
}

/* ---- concrete addresses ------------------------------------------------------------------ */

static void out_sockaddr(struct out *o, const struct lb_sockaddr_obj *a)
{
	switch (a->kind) {
	case LB_ADDR_TCP:
	case LB_ADDR_UDP:
		out_fmt(o, "%s ", inet_proto_name(a->kind));
		if (!a->is_v4)
			out_str(o, "[");
		out_ip(o, a->is_v4, a->ip);
		out_fmt(o, "%s:%u", a->is_v4 ? "" : "]", a->port);
		return;
	case LB_ADDR_UNIX_PATH:
		out_str(o, "unix ");
		if (a->name)
			out_bytes(o, a->name, a->name_len);
		else
			out_str(o, "(unnamed)");
		return;
	case LB_ADDR_UNIX_ABSTRACT:
		out_str(o, "unix @");
		for (size_t i = 0; a->name && i < a->name_len; i++)
			out_name_byte(o, (uint8_t)a->name[i]);
		return;
	}
	out_str(o, "(unknown address)");
}

int lb_sockaddr_format(const struct lb_sockaddr_obj *a, char *buf, size_t len)
{
	struct out o = {buf, len, 0};
	out_sockaddr(&o, a);
	out_finish(&o);
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

const char *lb_addr_pattern_unix_prefix(const struct lb_addr_pattern *p)
{
	if (p->what == AP_EVERYTHING)
		return "/";
	return p->what == AP_UNIX_PATH ? lb_pattern_prefix(p->path) : NULL;
}
