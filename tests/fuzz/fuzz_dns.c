/* SPDX-License-Identifier: MIT */
/* libFuzzer: litebox's DNS decoder (lib/dns_proto.c). The input is used
 * twice, in exact-size heap copies so that ASan sees any read past them:
 * as a query from the program (parsed, answered NXDOMAIN, rebuilt for
 * upstream and parsed back), and as an upstream response to a fixed
 * query, with the first two bytes taken as the id. What comes out must be
 * well-formed: names of host-name characters within their bound, every
 * address inside the message. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/dns_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name)
{
	size_t n = strnlen(name, LB_DNS_NAME_MAX);
	if (n >= LB_DNS_NAME_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			abort();
	}
}

struct span {
	const uint8_t *msg;
	size_t len;
	size_t n;
};

static void on_addr(void *arg, bool is_v4, const uint8_t *ip)
{
	struct span *s = arg;
	if (ip < s->msg || ip + (is_v4 ? 4 : 16) > s->msg + s->len)
		abort();
	s->n++;
}

static void as_query(const uint8_t *msg, size_t len)
{
	struct lb_dns_query q;
	if (lb_dns_parse_query(msg, len, &q) < 0)
		return;
	check_name(q.name);
	if (q.question_end > len)
		abort();
	static uint8_t out[LB_DNS_MSG_MAX];
	size_t n = lb_dns_build_error(msg, &q, LB_DNS_RCODE_NXDOMAIN, out, sizeof(out));
	if (n != q.question_end)
		abort();
	n = lb_dns_build_query(&q, 7, out, sizeof(out));
	struct lb_dns_query back;
	/* what litebox sends upstream is a query it can read back as the same */
	if (n && (lb_dns_parse_query(out, n, &back) < 0 || strcmp(back.name, q.name) != 0 ||
		  back.qtype != q.qtype))
		abort();
}

static void as_response(const uint8_t *msg, size_t len)
{
	struct lb_dns_query q = {.qtype = 1, .qclass = 1};
	strcpy(q.name, "pkg.example.test");
	uint16_t id = len >= 2 ? (uint16_t)(msg[0] << 8 | msg[1]) : 0;
	bool tc;
	struct span s = {msg, len, 0};
	int rc = lb_dns_parse_response(msg, len, &q, id, &tc, on_addr, &s);
	if (rc > 15 || (rc < 0 && s.n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > LB_DNS_MSG_MAX)
		return 0;
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	as_query(copy, size);
	as_response(copy, size);
	free(copy);
	return 0;
}
