/* SPDX-License-Identifier: MIT */
/* DNS messages (RFC 1035) as litebox's resolver reads and writes them:
 * pure, bounds-checked functions over bytes the program or a nameserver
 * sent; no system call. Fuzzed (tests/fuzz/fuzz_dns.c). */
#ifndef LITEBOX_DNS_PROTO_H
#define LITEBOX_DNS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_DNS_NAME_MAX 254 /* 253 characters and the NUL */
#define LB_DNS_MSG_MAX 65535
#define LB_DNS_RCODE_FORMERR 1
#define LB_DNS_RCODE_SERVFAIL 2
#define LB_DNS_RCODE_NXDOMAIN 3
#define LB_DNS_RCODE_REFUSED 5
#define LB_DNS_TYPE_A 1
#define LB_DNS_TYPE_CNAME 5
#define LB_DNS_TYPE_AAAA 28

/* The one question of a standard query. */
struct lb_dns_query {
	uint16_t id;
	uint16_t flags;
	uint16_t qtype, qclass;
	/* lower case, dotted, no trailing dot ("" for the root) */
	char name[LB_DNS_NAME_MAX];
	size_t question_end; /* offset just past the question */
};

/* A query as a client sends it: QR clear, opcode QUERY, exactly one
 * question, an uncompressed name. 0 or -EINVAL. */
int lb_dns_parse_query(const uint8_t *msg, size_t len, struct lb_dns_query *q);

/* The query litebox sends upstream for q: a fresh id, recursion desired,
 * the name in lower case, nothing else (no section a program could fill).
 * Returns its length, 0 if cap is too small. */
size_t lb_dns_build_query(const struct lb_dns_query *q, uint16_t id, uint8_t *out, size_t cap);

/* An answer with no records and rcode, echoing the client's question as
 * it was written (msg[12..q->question_end)). Returns its length, 0 if cap
 * is too small. */
size_t lb_dns_build_error(const uint8_t *msg, const struct lb_dns_query *q, unsigned rcode,
			  uint8_t *out, size_t cap);

/* An upstream response to the query for q (id and question checked):
 * calls on_addr for every A and AAAA record of the answer section that
 * belongs to q's name, directly or through a chain of CNAMEs. Returns the
 * rcode (0-15), or -EINVAL for a malformed or mismatched message. *tc is
 * the truncation bit. */
int lb_dns_parse_response(const uint8_t *msg, size_t len, const struct lb_dns_query *q, uint16_t id,
			  bool *tc, void (*on_addr)(void *arg, bool is_v4, const uint8_t *ip),
			  void *arg);

#endif
