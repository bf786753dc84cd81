/* SPDX-License-Identifier: MIT */
/* Socket-address patterns: table-driven tests of parse (text and errors),
 * match, covers and lb_sockaddr_format. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/pattern.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct lb_addr_pattern *parse_ok(const char *proto, const char *addr)
{
	struct lb_addr_pattern *p = NULL;
	struct lb_addr_error err = {0, false, NULL};
	int rc = lb_addr_pattern_parse(proto, addr, &p, &err);
	cr_assert_eq(rc, 0, "parse %s %s: rc %d, col %zu: %s", proto, addr ? addr : "(null)", rc,
		     err.col, err.message ? err.message : "");
	return p;
}

/* ---- parse: canonical text ------------------------------------------------ */

struct text_row {
	const char *proto, *addr, *text;
};

static const struct text_row text_rows[] = {
    {"tcp", "127.0.0.1:5432", "tcp 127.0.0.1:5432"},
    {"udp", "[::1]:53", "udp [::1]:53"},
    {"tcp", "10.0.0.0/8:*", "tcp 10.0.0.0/8:*"},
    {"tcp", "localhost:8000-8099", "tcp localhost:8000-8099"},
    {"tcp", "*:443", "tcp *:443"},
    {"tcp", "*:*", "tcp *:*"},
    {"udp", "0.0.0.0:53", "udp 0.0.0.0:53"},
    {"tcp", "0.0.0.0/0:80", "tcp 0.0.0.0/0:80"},
    {"tcp", "1.2.3.4/32:1", "tcp 1.2.3.4:1"},
    {"tcp", "255.255.255.255:65535", "tcp 255.255.255.255:65535"},
    {"tcp", "1.2.3.4:0", "tcp 1.2.3.4:0"},
    {"tcp", "1.2.3.4:0-65535", "tcp 1.2.3.4:*"},
    {"tcp", "1.2.3.4:80-80", "tcp 1.2.3.4:80"},
    {"tcp", "[fd00::/8]:443", "tcp [fd00::/8]:443"},
    {"tcp", "[FD00::1]:1", "tcp [fd00::1]:1"},
    {"tcp", "[0:0:0:0:0:0:0:1]:80", "tcp [::1]:80"},
    {"tcp", "[::/0]:*", "tcp [::/0]:*"},
    {"tcp", "[::1/128]:80", "tcp [::1]:80"},
    {"tcp", "[::ffff:127.0.0.1]:80", "tcp 127.0.0.1:80"},
    {"tcp", "[::ffff:10.0.0.0/104]:80", "tcp 10.0.0.0/8:80"},
    {"tcp", "[::ffff:0:0/96]:1", "tcp 0.0.0.0/0:1"},
    {"tcp", "[::ffff:1.2.3.4/127]:1", "tcp 1.2.3.4/31:1"},
    {"tcp", "10.0.0.0/7:80", "tcp 10.0.0.0/7:80"},
    {"tcp", "[::/64]:1", "tcp [::/64]:1"},
    {"unix", "/run/x.sock", "unix /run/x.sock"},
    {"unix", "/run//x/", "unix /run/x"},
    {"unix", "/run/**", "unix /run/**"},
    {"unix", "@name", "unix @name"},
    {"unix", "@name*", "unix @name*"},
    {"unix", "@a**b", "unix @a*b"},
    {"unix", "@a?b", "unix @a?b"},
    {"unix", "@a\\x00b", "unix @a\\x00b"},
    {"unix", "@a\\X", "(error)"},
    {"unix", "@a\\*b\\?\\\\", "unix @a\\*b\\?\\\\"},
    {"unix", "@\\x41", "unix @A"},
    {"unix", "@", "unix @"},
    {"*", NULL, "*"},
};

Test(addr, parse_text_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(text_rows); i++) {
		const struct text_row *r = &text_rows[i];
		if (strcmp(r->text, "(error)") == 0)
			continue; /* covered by the error table */
		struct lb_addr_pattern *p = parse_ok(r->proto, r->addr);
		cr_expect_str_eq(lb_addr_pattern_text(p), r->text, "%s %s", r->proto, r->addr);
		lb_addr_pattern_free(p);
	}
}

/* The canonical text parses back to the same canonical text. */
Test(addr, text_round_trip)
{
	for (size_t i = 0; i < ARRAY_SIZE(text_rows); i++) {
		const struct text_row *r = &text_rows[i];
		if (strcmp(r->text, "(error)") == 0 || strcmp(r->text, "*") == 0)
			continue;
		char *copy = strdup(r->text);
		char *space = strchr(copy, ' ');
		*space = '\0';
		struct lb_addr_pattern *p = parse_ok(copy, space + 1);
		cr_expect_str_eq(lb_addr_pattern_text(p), r->text);
		lb_addr_pattern_free(p);
		free(copy);
	}
}

/* ---- parse: errors ------------------------------------------------------------- */

struct error_row {
	const char *proto, *addr;
	size_t col;
	bool in_proto;
	const char *message_part;
};

static const struct error_row error_rows[] = {
    {"tcp", "10.0.0.0/33:80", 9, false, "prefix length 33 out of range 0-32"},
    {"tcp", "10.0.0.0/:80", 9, false, "missing prefix length"},
    {"tcp", "10.0.0.0/x:80", 9, false, "invalid prefix length"},
    {"tcp", "10.0.0.1/8:80", 0, false, "host bits set in 10.0.0.1/8"},
    {"tcp", "11.0.0.0/7:80", 0, false, "host bits set in 11.0.0.0/7"},
    {"tcp", "[::ffff:0:0/95]:80", 1, false, "host bits set"},
    {"tcp", "1.2.3.4:70000", 8, false, "port 70000 out of range 0-65535"},
    {"tcp", "1.2.3.4:65536", 8, false, "port 65536 out of range 0-65535"},
    {"tcp", "1.2.3.4:99999999999999999999", 8, false, "out of range 0-65535"},
    {"tcp", "1.2.3:80", 0, false, "invalid IPv4 address"},
    {"tcp", "1.2.3.4.5:80", 0, false, "invalid IPv4 address"},
    {"tcp", "1..3.4:80", 2, false, "invalid IPv4 address"},
    {"tcp", "256.1.1.1:80", 0, false, "invalid IPv4 address: 256 is out of range 0-255"},
    {"tcp", "1.256.1.1:80", 2, false, "invalid IPv4 address: 256"},
    {"tcp", "1.2.3.1000:80", 6, false, "invalid IPv4 address: 1000"},
    {"tcp", "01.2.3.4:80", 0, false, "leading zero"},
    {"tcp", "exa mple.com:80", 3, false, "invalid host name"},
    {"tcp", "a..b:80", 2, false, "invalid host name"},
    {"tcp", ".a:80", 0, false, "invalid host name"},
    {"tcp", "*:80x", 4, false, "invalid port"},
    {"tcp", "a.*.com:80", 2, false, "'*' only as its first label"},
    {"tcp", "*example.com:80", 0, false, "'*' only as its first label"},
    {"tcp", "*.:80", 0, false, "invalid host name"},
    {"tcp", "xn--caf-dma.example/8:80", 19, false, "invalid host name"},
    {"tcp", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com:80", 63, false,
     "labels of 1-63"},
    {"tcp", ":80", 0, false, "missing host"},
    {"tcp", "[::1", 0, false, "missing ']'"},
    {"tcp", "[::1]80", 5, false, "expected HOST:PORT"},
    {"tcp", "[::1]", 5, false, "expected HOST:PORT"},
    {"tcp", "::1:80", 0, false, "IPv6 address must be in brackets"},
    {"tcp", "fe80::1", 0, false, "IPv6 address must be in brackets"},
    {"tcp", "[zz::1]:80", 1, false, "invalid IPv6 address"},
    {"tcp", "[]:80", 1, false, "invalid IPv6 address"},
    {"tcp", "[1.2.3.4]:80", 1, false, "invalid IPv6 address"},
    {"tcp", "[fe80::1%eth0]:80", 1, false, "invalid IPv6 address"},
    {"tcp", "[::1/129]:80", 5, false, "prefix length 129 out of range 0-128"},
    {"tcp", "[fd00::1/8]:80", 1, false, "host bits set in fd00::1/8"},
    {"tcp", "1.2.3.4", 7, false, "expected HOST:PORT"},
    {"tcp", "localhost", 9, false, "expected HOST:PORT"},
    {"tcp", "1.2.3.4:", 8, false, "missing port"},
    {"tcp", "1.2.3.4:8a", 9, false, "invalid port"},
    {"tcp", "1.2.3.4:-1", 8, false, "missing port"},
    {"tcp", "1.2.3.4:90-80", 8, false, "port range 90-80 is reversed"},
    {"tcp", "1.2.3.4:80-", 11, false, "missing port"},
    {"tcp", "1.2.3.4:80-70000", 11, false, "port 70000 out of range 0-65535"},
    {"tcp", "1.2.3.4:**", 8, false, "invalid port"},
    {"tcp", "", 0, false, "missing address"},
    {"tcp", NULL, 0, false, "missing address"},
    {"udp", "", 0, false, "missing address"},
    {"sctp", "1.2.3.4:80", 0, true, "unknown protocol 'sctp'"},
    {"TCP", "1.2.3.4:80", 0, true, "unknown protocol"},
    {"", "1.2.3.4:80", 0, true, "unknown protocol"},
    {NULL, "1.2.3.4:80", 0, true, "missing protocol"},
    {"*", "1.2.3.4:80", 0, false, "every address"},
    {"unix", "", 0, false, "missing socket path"},
    {"unix", NULL, 0, false, "missing socket path"},
    {"unix", "relative.sock", 0, false, "absolute"},
    {"unix", "/run/../x", 5, false, "'..'"},
    {"unix", "@a\\X", 2, false, "invalid escape"},
    {"unix", "@bad\\q", 4, false, "invalid escape"},
    {"unix", "@x\\x0g", 2, false, "invalid escape"},
    {"unix", "@x\\", 2, false, "invalid escape"},
};

Test(addr, parse_error_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(error_rows); i++) {
		const struct error_row *r = &error_rows[i];
		struct lb_addr_pattern *p = NULL;
		struct lb_addr_error err = {999, !r->in_proto, NULL};
		int rc = lb_addr_pattern_parse(r->proto, r->addr, &p, &err);
		const char *what = r->addr ? r->addr : "(null)";
		cr_expect_eq(rc, -EINVAL, "%s %s: rc %d", r->proto, what, rc);
		cr_expect_null(p);
		cr_expect_eq(err.col, r->col, "%s %s: col %zu, expected %zu (%s)", r->proto, what,
			     err.col, r->col, err.message ? err.message : "");
		cr_expect_eq(err.in_proto, r->in_proto, "%s %s: in_proto", r->proto, what);
		cr_expect(err.message && strstr(err.message, r->message_part),
			  "%s %s: message \"%s\" lacks \"%s\"", r->proto, what,
			  err.message ? err.message : "(null)", r->message_part);
	}
}

/* ---- match ------------------------------------------------------------------------ */

struct match_row {
	const char *proto, *addr; /* the pattern */
	enum lb_addr_kind kind;	  /* the address */
	const char *ip;		  /* tcp/udp: text for inet_pton */
	uint16_t port;
	const char *name; /* unix */
	size_t name_len;
	bool expected;
};

#define TCP(ip, port) LB_ADDR_TCP, ip, port, NULL, 0
#define UDP(ip, port) LB_ADDR_UDP, ip, port, NULL, 0
#define PATH(s) LB_ADDR_UNIX_PATH, NULL, 0, s, sizeof(s) - 1
#define ABSTRACT(s) LB_ADDR_UNIX_ABSTRACT, NULL, 0, s, sizeof(s) - 1

static const struct match_row match_rows[] = {
    {"tcp", "127.0.0.1:5432", TCP("127.0.0.1", 5432), true},
    {"tcp", "127.0.0.1:5432", TCP("127.0.0.1", 5433), false},
    {"tcp", "127.0.0.1:5432", UDP("127.0.0.1", 5432), false},
    {"tcp", "127.0.0.1:5432", TCP("127.0.0.2", 5432), false},
    {"tcp", "127.0.0.1:5432", TCP("::1", 5432), false},
    {"tcp", "127.0.0.1:5432", PATH("/127.0.0.1"), false},
    {"udp", "8.8.8.8:53", UDP("8.8.8.8", 53), true},
    {"udp", "8.8.8.8:53", TCP("8.8.8.8", 53), false},
    /* CIDR edges */
    {"tcp", "10.0.0.0/8:*", TCP("10.0.0.0", 1), true},
    {"tcp", "10.0.0.0/8:*", TCP("10.255.255.255", 65535), true},
    {"tcp", "10.0.0.0/8:*", TCP("11.0.0.0", 1), false},
    {"tcp", "10.0.0.0/8:*", TCP("9.255.255.255", 1), false},
    {"tcp", "10.0.0.0/8:*", TCP("::a00:1", 1), false},
    {"tcp", "10.0.0.0/9:*", TCP("10.127.255.255", 1), true},
    {"tcp", "10.0.0.0/9:*", TCP("10.128.0.0", 1), false},
    {"tcp", "192.168.1.0/24:80", TCP("192.168.1.255", 80), true},
    {"tcp", "192.168.1.0/24:80", TCP("192.168.2.0", 80), false},
    {"tcp", "192.168.1.0/31:80", TCP("192.168.1.1", 80), true},
    {"tcp", "192.168.1.0/31:80", TCP("192.168.1.2", 80), false},
    {"tcp", "0.0.0.0/0:*", TCP("203.0.113.9", 9), true},
    {"tcp", "0.0.0.0/0:*", TCP("::1", 9), false},
    {"tcp", "0.0.0.0:80", TCP("0.0.0.0", 80), true},
    {"tcp", "0.0.0.0:80", TCP("1.0.0.0", 80), false},
    /* localhost: 127.0.0.0/8 and ::1 */
    {"tcp", "localhost:8000-8099", TCP("127.0.0.1", 8000), true},
    {"tcp", "localhost:8000-8099", TCP("127.0.0.2", 8099), true},
    {"tcp", "localhost:8000-8099", TCP("127.255.255.255", 8050), true},
    {"tcp", "localhost:8000-8099", TCP("::1", 8050), true},
    {"tcp", "localhost:8000-8099", TCP("127.0.0.1", 7999), false},
    {"tcp", "localhost:8000-8099", TCP("127.0.0.1", 8100), false},
    {"tcp", "localhost:8000-8099", TCP("128.0.0.1", 8000), false},
    {"tcp", "localhost:8000-8099", TCP("126.255.255.255", 8000), false},
    {"tcp", "localhost:8000-8099", TCP("::2", 8000), false},
    {"tcp", "localhost:8000-8099", TCP("::", 8000), false},
    {"tcp", "localhost:8000-8099", TCP("10.0.0.1", 8000), false},
    {"tcp", "localhost:8000-8099", UDP("127.0.0.1", 8000), false},
    /* port edges */
    {"tcp", "1.2.3.4:0", TCP("1.2.3.4", 0), true},
    {"tcp", "1.2.3.4:0", TCP("1.2.3.4", 1), false},
    {"tcp", "1.2.3.4:65535", TCP("1.2.3.4", 65535), true},
    {"tcp", "1.2.3.4:65535", TCP("1.2.3.4", 65534), false},
    {"tcp", "1.2.3.4:0-0", TCP("1.2.3.4", 0), true},
    {"tcp", "1.2.3.4:65000-65535", TCP("1.2.3.4", 65535), true},
    {"tcp", "1.2.3.4:65000-65535", TCP("1.2.3.4", 64999), false},
    /* '*' hosts and ports */
    {"tcp", "*:443", TCP("1.2.3.4", 443), true},
    {"tcp", "*:443", TCP("2001:db8::1", 443), true},
    {"tcp", "*:443", TCP("1.2.3.4", 444), false},
    {"tcp", "*:443", UDP("1.2.3.4", 443), false},
    {"tcp", "*:*", TCP("0.0.0.0", 0), true},
    {"tcp", "*:*", TCP("::", 65535), true},
    {"udp", "*:*", TCP("::", 1), false},
    /* IPv6 */
    {"udp", "[::1]:53", UDP("::1", 53), true},
    {"udp", "[::1]:53", UDP("127.0.0.1", 53), false},
    {"udp", "[::1]:53", UDP("::2", 53), false},
    {"tcp", "[fd00::/8]:*", TCP("fd12::1", 1), true},
    {"tcp", "[fd00::/8]:*", TCP("fdff:ffff::", 1), true},
    {"tcp", "[fd00::/8]:*", TCP("fe00::", 1), false},
    {"tcp", "[fd00::/8]:*", TCP("fc00::", 1), false},
    {"tcp", "[2001:db8::/33]:1", TCP("2001:db8:7fff::", 1), true},
    {"tcp", "[2001:db8::/33]:1", TCP("2001:db8:8000::", 1), false},
    {"tcp", "[::/0]:1", TCP("2001:db8::1", 1), true},
    {"tcp", "[::/0]:1", TCP("1.2.3.4", 1), false},
    /* a v4-mapped pattern is the v4 address (the core maps addresses too) */
    {"tcp", "[::ffff:127.0.0.1]:80", TCP("127.0.0.1", 80), true},
    {"tcp", "[::ffff:127.0.0.1]:80", TCP("127.0.0.2", 80), false},
    {"tcp", "[::ffff:10.0.0.0/104]:80", TCP("10.1.2.3", 80), true},
    {"tcp", "[::ffff:10.0.0.0/104]:80", TCP("11.0.0.1", 80), false},
    /* unix paths */
    {"unix", "/run/x.sock", PATH("/run/x.sock"), true},
    {"unix", "/run/x.sock", PATH("/run/y.sock"), false},
    {"unix", "/run/x.sock", ABSTRACT("/run/x.sock"), false},
    {"unix", "/run/x.sock", TCP("127.0.0.1", 80), false},
    {"unix", "/run/**", PATH("/run/a/b.sock"), true},
    {"unix", "/run/**", PATH("/var/run/x"), false},
    {"unix", "/run/*.sock", PATH("/run/pg.sock"), true},
    {"unix", "/run/*.sock", PATH("/run/a/pg.sock"), false},
    {"unix", "/run/postgresql/.s.PGSQL.5432", PATH("/run/postgresql/.s.PGSQL.5432"), true},
    /* abstract names: byte globs, NUL bytes are ordinary bytes */
    {"unix", "@name", ABSTRACT("name"), true},
    {"unix", "@name", ABSTRACT("name2"), false},
    {"unix", "@name", ABSTRACT("nam"), false},
    {"unix", "@name", PATH("/name"), false},
    {"unix", "@name", PATH("name"), false},
    {"unix", "@name*", ABSTRACT("name"), true},
    {"unix", "@name*", ABSTRACT("name\0x"), true},
    {"unix", "@name*", ABSTRACT("nam"), false},
    {"unix", "@a\\x00b", ABSTRACT("a\0b"), true},
    {"unix", "@a\\x00b", ABSTRACT("a\0c"), false},
    {"unix", "@a\\x00b", ABSTRACT("a"), false},
    {"unix", "@*", ABSTRACT(""), true},
    {"unix", "@*", ABSTRACT("\0\0"), true},
    {"unix", "@a?c", ABSTRACT("a\0c"), true},
    {"unix", "@a?c", ABSTRACT("abbc"), false},
    {"unix", "@\\x00*", ABSTRACT("\0abc"), true},
    {"unix", "@\\x00*", ABSTRACT("abc"), false},
    {"unix", "@*\\x00", ABSTRACT("x\0y\0"), true},
    {"unix", "@", ABSTRACT(""), true},
    {"unix", "@", ABSTRACT("x"), false},
    {"unix", "@*x", ABSTRACT("xxx"), true},
    {"unix", "@a\\*", ABSTRACT("a*"), true},
    {"unix", "@a\\*", ABSTRACT("ab"), false},
    {"unix", "@*a*a*a*a*b", ABSTRACT("aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), false},
    /* '*' alone: everything */
    {"*", NULL, TCP("1.2.3.4", 1), true},
    {"*", NULL, UDP("::1", 53), true},
    {"*", NULL, PATH("/x"), true},
    {"*", NULL, ABSTRACT("\0"), true},
};

static void fill_addr(const struct match_row *r, struct lb_sockaddr_obj *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = r->kind;
	a->port = r->port;
	a->name = r->name;
	a->name_len = r->name_len;
	if (!r->ip)
		return;
	a->is_v4 = strchr(r->ip, ':') == NULL;
	cr_assert_eq(inet_pton(a->is_v4 ? AF_INET : AF_INET6, r->ip, a->ip), 1, "%s", r->ip);
}

Test(addr, match_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(match_rows); i++) {
		const struct match_row *r = &match_rows[i];
		struct lb_addr_pattern *p = parse_ok(r->proto, r->addr);
		struct lb_sockaddr_obj a;
		char shown[256];
		fill_addr(r, &a);
		lb_sockaddr_format(&a, shown, sizeof(shown));
		cr_expect_eq(lb_addr_pattern_match(p, &a), r->expected,
			     "row %zu: %s vs %s: expected %s", i, lb_addr_pattern_text(p), shown,
			     r->expected ? "match" : "no match");
		lb_addr_pattern_free(p);
	}
}

/* ---- covers --------------------------------------------------------------------- */

struct covers_row {
	const char *a_proto, *a_addr, *b_proto, *b_addr;
	bool expected;
};

static const struct covers_row covers_rows[] = {
    {"*", NULL, "tcp", "1.2.3.4:80", true},
    {"*", NULL, "unix", "@x", true},
    {"*", NULL, "*", NULL, true},
    {"tcp", "*:*", "*", NULL, false},
    {"tcp", "*:*", "tcp", "1.2.3.4:80", true},
    {"tcp", "*:*", "tcp", "[::1]:80", true},
    {"tcp", "*:*", "udp", "1.2.3.4:80", false},
    {"tcp", "127.0.0.1:80", "tcp", "127.0.0.1:80", true},
    {"tcp", "10.0.0.0/8:*", "tcp", "10.1.0.0/16:80", true},
    {"tcp", "10.1.0.0/16:*", "tcp", "10.0.0.0/8:80", false},
    {"tcp", "10.0.0.0/8:80", "tcp", "10.0.0.1:81", false},
    {"tcp", "1.2.3.4:1-100", "tcp", "1.2.3.4:1-100", true},
    {"tcp", "1.2.3.4:1-100", "tcp", "1.2.3.4:1-101", false},
    {"tcp", "1.2.3.4:*", "tcp", "1.2.3.4:5-6", true},
    {"tcp", "localhost:*", "tcp", "127.0.0.5:1", true},
    {"tcp", "localhost:*", "tcp", "127.0.0.0/8:1", true},
    {"tcp", "localhost:*", "tcp", "[::1]:1", true},
    {"tcp", "localhost:*", "tcp", "[::2]:1", false},
    {"tcp", "localhost:*", "tcp", "126.0.0.0/7:1", false},
    {"tcp", "localhost:*", "tcp", "*:1", false},
    {"tcp", "127.0.0.0/8:*", "tcp", "localhost:1", false},
    {"tcp", "[fd00::/8]:*", "tcp", "[fd00::/16]:1", true},
    {"tcp", "[fd00::/8]:*", "tcp", "10.0.0.0/8:1", false},
    {"unix", "/run/**", "unix", "/run/x/y", true},
    {"unix", "/run/**", "unix", "/var/x", false},
    {"unix", "/run/**", "unix", "@run", false},
    {"unix", "@*", "unix", "@abc*", true},
    {"unix", "@ab*", "unix", "@abc", true},
    {"unix", "@ab*", "unix", "@ab?", false},
    {"unix", "@a?c", "unix", "@a?c", true},
    {"unix", "@abc", "unix", "@ab", false},
};

Test(addr, covers_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(covers_rows); i++) {
		const struct covers_row *r = &covers_rows[i];
		struct lb_addr_pattern *a = parse_ok(r->a_proto, r->a_addr);
		struct lb_addr_pattern *b = parse_ok(r->b_proto, r->b_addr);
		cr_expect_eq(lb_addr_pattern_covers(a, b), r->expected,
			     "\"%s\" covers \"%s\": expected %s", lb_addr_pattern_text(a),
			     lb_addr_pattern_text(b), r->expected ? "yes" : "no");
		lb_addr_pattern_free(a);
		lb_addr_pattern_free(b);
	}
}

/* ---- host names ------------------------------------------------------------------ */

static bool name_matches(const char *proto, const char *addr, const char *ip, uint16_t port,
			 const char *const *names, size_t n)
{
	struct lb_addr_pattern *p = parse_ok(proto, addr);
	struct lb_sockaddr_obj a = {
	    .kind = LB_ADDR_TCP, .port = port, .names = names, .n_names = n};
	a.is_v4 = true;
	cr_assert_eq(inet_pton(AF_INET, ip, a.ip), 1);
	bool m = lb_addr_pattern_match(p, &a);
	lb_addr_pattern_free(p);
	return m;
}

Test(addr, host_names_match_only_the_names_attached)
{
	const char *pypi[] = {"pypi.org"};
	const char *files[] = {"other.example", "files.pythonhosted.org"};
	const char *deep[] = {"a.b.pythonhosted.org"};
	const char *bare[] = {"pythonhosted.org"};
	cr_expect(name_matches("tcp", "pypi.org:443", "1.2.3.4", 443, pypi, 1));
	cr_expect(name_matches("tcp", "PyPI.org.:443", "1.2.3.4", 443, pypi, 1), "case, dot");
	cr_expect(!name_matches("tcp", "pypi.org:443", "1.2.3.4", 80, pypi, 1), "port");
	cr_expect(!name_matches("tcp", "pypi.org:443", "1.2.3.4", 443, NULL, 0), "no name");
	cr_expect(!name_matches("tcp", "pypi.org:443", "1.2.3.4", 443, files, 2));
	cr_expect(name_matches("tcp", "*.pythonhosted.org:443", "1.2.3.4", 443, files, 2));
	cr_expect(name_matches("tcp", "*.pythonhosted.org:443", "1.2.3.4", 443, deep, 1));
	cr_expect(!name_matches("tcp", "*.pythonhosted.org:443", "1.2.3.4", 443, bare, 1));
	const char *evil[] = {"evilpythonhosted.org"};
	cr_expect(!name_matches("tcp", "*.pythonhosted.org:443", "1.2.3.4", 443, evil, 1));
	/* an address rule does not look at names, nor a name rule at addresses */
	cr_expect(name_matches("tcp", "1.2.3.4:443", "1.2.3.4", 443, NULL, 0));
	cr_expect(!name_matches("tcp", "pypi.org:443", "1.2.3.4", 443, NULL, 0));
}

Test(addr, host_names_as_names)
{
	struct lb_addr_pattern *exact = parse_ok("tcp", "Api.GitHub.com:443");
	struct lb_addr_pattern *wild = parse_ok("udp", "*.github.com:*");
	struct lb_addr_pattern *any = parse_ok("tcp", "*:443");
	struct lb_addr_pattern *all = parse_ok("*", NULL);
	struct lb_addr_pattern *ip = parse_ok("tcp", "10.0.0.0/8:*");
	cr_expect_str_eq(lb_addr_pattern_text(exact), "tcp api.github.com:443");
	cr_expect_str_eq(lb_addr_pattern_text(wild), "udp *.github.com:*");
	cr_expect(lb_addr_pattern_is_name(exact) && lb_addr_pattern_is_name(wild));
	cr_expect(!lb_addr_pattern_is_name(any) && !lb_addr_pattern_is_name(ip));
	cr_expect(lb_addr_pattern_match_name(exact, "api.github.com"));
	cr_expect(!lb_addr_pattern_match_name(exact, "github.com"));
	cr_expect(lb_addr_pattern_match_name(wild, "api.github.com"));
	cr_expect(!lb_addr_pattern_match_name(wild, "github.com"));
	cr_expect(lb_addr_pattern_match_name(any, "anything.example"));
	cr_expect(lb_addr_pattern_match_name(all, "anything.example"));
	cr_expect(!lb_addr_pattern_match_name(ip, "anything.example"));
	cr_expect(lb_addr_pattern_covers(any, exact) && !lb_addr_pattern_covers(exact, any));
	cr_expect(!lb_addr_pattern_covers(ip, exact) && !lb_addr_pattern_covers(exact, ip));
	struct lb_addr_pattern *wild_tcp = parse_ok("tcp", "*.github.com:*");
	cr_expect(lb_addr_pattern_covers(wild_tcp, exact) &&
		  !lb_addr_pattern_covers(exact, wild_tcp));
	/* an exact name ranks as an exact address, a wildcard below it */
	cr_expect(lb_addr_pattern_spec_key(exact) > lb_addr_pattern_spec_key(wild_tcp));
	cr_expect(lb_addr_pattern_spec_key(wild_tcp) > lb_addr_pattern_spec_key(any));
	struct lb_addr_pattern *p[] = {exact, wild, any, all, ip, wild_tcp};
	for (size_t i = 0; i < ARRAY_SIZE(p); i++)
		lb_addr_pattern_free(p[i]);
}

/* ---- lb_sockaddr_format ------------------------------------------------------------ */

struct format_row {
	struct match_row addr; /* only the address fields */
	const char *text;
};

#define ADDR(x)                                                                                    \
	{                                                                                          \
		NULL, NULL, x, false                                                               \
	}

static const struct format_row format_rows[] = {
    {ADDR(TCP("127.0.0.1", 5432)), "tcp 127.0.0.1:5432"},
    {ADDR(UDP("::1", 53)), "udp [::1]:53"},
    {ADDR(TCP("2001:db8::1", 443)), "tcp [2001:db8::1]:443"},
    {ADDR(TCP("0.0.0.0", 0)), "tcp 0.0.0.0:0"},
    {ADDR(UDP("255.255.255.255", 65535)), "udp 255.255.255.255:65535"},
    {ADDR(PATH("/run/x.sock")), "unix /run/x.sock"},
    {ADDR(ABSTRACT("name")), "unix @name"},
    {ADDR(ABSTRACT("a\0b\n")), "unix @a\\x00b\\x0a"},
    {ADDR(ABSTRACT("a*b?\\c")), "unix @a\\*b\\?\\\\c"},
    {ADDR(ABSTRACT("\xff\x7f ok")), "unix @\\xff\\x7f ok"},
    {ADDR(ABSTRACT("")), "unix @"},
    {{NULL, NULL, LB_ADDR_UNIX_PATH, NULL, 0, NULL, 0, false}, "unix (unnamed)"},
};

Test(addr, format_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(format_rows); i++) {
		struct lb_sockaddr_obj a;
		char buf[128];
		fill_addr(&format_rows[i].addr, &a);
		int n = lb_sockaddr_format(&a, buf, sizeof(buf));
		cr_expect_str_eq(buf, format_rows[i].text, "row %zu", i);
		cr_expect_eq(n, (int)strlen(format_rows[i].text), "row %zu length", i);
	}
}

/* The formatted text is a pattern that matches exactly the shown address. */
Test(addr, format_parses_back_to_a_matching_pattern)
{
	for (size_t i = 0; i < ARRAY_SIZE(format_rows); i++) {
		struct lb_sockaddr_obj a;
		char buf[128];
		fill_addr(&format_rows[i].addr, &a);
		if (a.kind == LB_ADDR_UNIX_PATH && !a.name)
			continue;
		lb_sockaddr_format(&a, buf, sizeof(buf));
		char *space = strchr(buf, ' ');
		*space = '\0';
		struct lb_addr_pattern *p = parse_ok(buf, space + 1);
		cr_expect(lb_addr_pattern_match(p, &a), "row %zu: %s %s", i, buf, space + 1);
		lb_addr_pattern_free(p);
	}
}

Test(addr, format_truncates_like_snprintf)
{
	struct lb_sockaddr_obj a;
	char buf[8];
	fill_addr(&format_rows[0].addr, &a); /* "tcp 127.0.0.1:5432", 18 bytes */
	cr_expect_eq(lb_sockaddr_format(&a, buf, sizeof(buf)), 18);
	cr_expect_str_eq(buf, "tcp 127");
	cr_expect_eq(lb_sockaddr_format(&a, NULL, 0), 18);
	buf[0] = 'x';
	cr_expect_eq(lb_sockaddr_format(&a, buf, 1), 18);
	cr_expect_eq(buf[0], '\0');
}
