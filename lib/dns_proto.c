/* SPDX-License-Identifier: MIT */
/* DNS message decoding and encoding for litebox's resolver (see
 * dns_proto.h). Every read is checked against the message length; names
 * follow compression pointers only backwards, so a hostile message cannot
 * loop. */
#include "litebox/dns_proto.h"

#include <errno.h>
#include <string.h>

#define HDR 12
#define MAX_RECORDS 64
#define MAX_CHAIN 16

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* Append one label (lower-cased; only the characters a policy name can
 * hold) to out. */
static int add_label(const uint8_t *l, size_t n, char *out, size_t *olen)
{
	if (*olen + (*olen ? 1 : 0) + n >= LB_DNS_NAME_MAX)
		return -EINVAL;
	if (*olen)
		out[(*olen)++] = '.';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = lower(l[i]);
		if (!label_char(c))
			return -EINVAL;
		out[(*olen)++] = (char)c;
	}
	out[*olen] = '\0';
	return 0;
}

/* The name at *pos; *pos moves past it (past the first pointer, if any).
 * allow_ptr: compression pointers (responses only). */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, bool allow_ptr, char *out)
{
	size_t p = *pos, olen = 0, end = 0, floor = *pos;
	bool jumped = false;
	out[0] = '\0';
	for (;;) {
		if (p >= len)
			return -EINVAL;
		uint8_t b = msg[p];
		if ((b & 0xC0) == 0xC0) {
			if (!allow_ptr || p + 1 >= len)
				return -EINVAL;
			size_t to = (size_t)(b & 0x3F) << 8 | msg[p + 1];
			if (to >= floor) /* only backwards: no loops */
				return -EINVAL;
			if (!jumped)
				end = p + 2;
			jumped = true;
			floor = to;
			p = to;
			continue;
		}
		if (b & 0xC0)
			return -EINVAL;
		if (b == 0) {
			*pos = jumped ? end : p + 1;
			return 0;
		}
		if (p + 1 + b > len || add_label(msg + p + 1, b, out, &olen) < 0)
			return -EINVAL;
		p += 1 + (size_t)b;
	}
}

int lb_dns_parse_query(const uint8_t *msg, size_t len, struct lb_dns_query *q)
{
	if (len < HDR)
		return -EINVAL;
	q->id = get16(msg);
	q->flags = get16(msg + 2);
	/* QR clear, opcode 0 (QUERY), one question */
	if ((q->flags & 0x8000) || ((q->flags >> 11) & 0xF) != 0 || get16(msg + 4) != 1)
		return -EINVAL;
	size_t pos = HDR;
	if (read_name(msg, len, &pos, false, q->name) < 0 || pos + 4 > len)
		return -EINVAL;
	q->qtype = get16(msg + pos);
	q->qclass = get16(msg + pos + 2);
	q->question_end = pos + 4;
	return 0;
}

/* The name in wire form: labels of q->name. */
static size_t put_name(const char *name, uint8_t *out, size_t cap)
{
	size_t o = 0;
	const char *s = name;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || n > 63 || o + 1 + n >= cap)
			return 0;
		out[o++] = (uint8_t)n;
		memcpy(out + o, s, n);
		o += n;
		s += n + (dot ? 1 : 0);
	}
	if (o + 1 > cap)
		return 0;
	out[o++] = 0;
	return o;
}

size_t lb_dns_build_query(const struct lb_dns_query *q, uint16_t id, uint8_t *out, size_t cap)
{
	if (cap < HDR + 4)
		return 0;
	memset(out, 0, HDR);
	put16(out, id);
	put16(out + 2, 0x0100); /* RD */
	put16(out + 4, 1);
	size_t n = put_name(q->name, out + HDR, cap - HDR - 4);
	if (n == 0)
		return 0;
	put16(out + HDR + n, q->qtype);
	put16(out + HDR + n + 2, q->qclass);
	return HDR + n + 4;
}

size_t lb_dns_build_error(const uint8_t *msg, const struct lb_dns_query *q, unsigned rcode,
			  uint8_t *out, size_t cap)
{
	size_t qlen = q->question_end - HDR;
	if (q->question_end < HDR || cap < q->question_end)
		return 0;
	memset(out, 0, HDR);
	put16(out, q->id);
	/* QR, the client's RD, RA, rcode */
	put16(out + 2, (uint16_t)(0x8000 | (q->flags & 0x0100) | 0x0080 | (rcode & 0xF)));
	put16(out + 4, 1);
	memcpy(out + HDR, msg + HDR, qlen);
	return q->question_end;
}

struct rr {
	char owner[LB_DNS_NAME_MAX];
	uint16_t type, rclass, rdlen;
	size_t rdata;
};

/* The names that stand for q: its own and the CNAME targets reached from
 * it, in as many passes as the chain is long (records may come in any
 * order). */
struct chain {
	char names[MAX_CHAIN][LB_DNS_NAME_MAX];
	size_t n;
};

static bool in_chain(const struct chain *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->names[i], name) == 0)
			return true;
	return false;
}

static void follow_cnames(const uint8_t *msg, size_t len, const struct rr *rrs, size_t n,
			  struct chain *c)
{
	bool grew = true;
	while (grew && c->n < MAX_CHAIN) {
		grew = false;
		for (size_t i = 0; i < n && c->n < MAX_CHAIN; i++) {
			if (rrs[i].type != LB_DNS_TYPE_CNAME || !in_chain(c, rrs[i].owner))
				continue;
			size_t pos = rrs[i].rdata;
			char target[LB_DNS_NAME_MAX];
			if (read_name(msg, len, &pos, true, target) < 0 ||
			    pos != rrs[i].rdata + rrs[i].rdlen || in_chain(c, target))
				continue;
			memcpy(c->names[c->n++], target, sizeof(target));
			grew = true;
		}
	}
}

static int read_rr(const uint8_t *msg, size_t len, size_t *pos, struct rr *r)
{
	if (read_name(msg, len, pos, true, r->owner) < 0 || *pos + 10 > len)
		return -EINVAL;
	r->type = get16(msg + *pos);
	r->rclass = get16(msg + *pos + 2);
	r->rdlen = get16(msg + *pos + 8);
	r->rdata = *pos + 10;
	if (r->rdata + r->rdlen > len)
		return -EINVAL;
	*pos = r->rdata + r->rdlen;
	return 0;
}

static int check_question(const uint8_t *msg, size_t len, const struct lb_dns_query *q, size_t *pos)
{
	char name[LB_DNS_NAME_MAX];
	if (read_name(msg, len, pos, true, name) < 0 || *pos + 4 > len)
		return -EINVAL;
	if (strcmp(name, q->name) != 0 || get16(msg + *pos) != q->qtype ||
	    get16(msg + *pos + 2) != q->qclass)
		return -EINVAL;
	*pos += 4;
	return 0;
}

int lb_dns_parse_response(const uint8_t *msg, size_t len, const struct lb_dns_query *q, uint16_t id,
			  bool *tc, void (*on_addr)(void *arg, bool is_v4, const uint8_t *ip),
			  void *arg)
{
	if (len < HDR || get16(msg) != id || !(get16(msg + 2) & 0x8000) || get16(msg + 4) != 1)
		return -EINVAL;
	uint16_t flags = get16(msg + 2);
	*tc = flags & 0x0200;
	size_t pos = HDR;
	if (check_question(msg, len, q, &pos) < 0)
		return -EINVAL;
	size_t an = get16(msg + 6), n = 0;
	static _Thread_local struct rr rrs[MAX_RECORDS];
	for (size_t i = 0; i < an; i++) {
		struct rr r;
		if (read_rr(msg, len, &pos, &r) < 0)
			return *tc ? (int)(flags & 0xF) : -EINVAL;
		if (n < MAX_RECORDS)
			rrs[n++] = r;
	}
	static _Thread_local struct chain c;
	c.n = 1;
	memcpy(c.names[0], q->name, sizeof(q->name));
	follow_cnames(msg, len, rrs, n, &c);
	for (size_t i = 0; i < n; i++) {
		const struct rr *r = &rrs[i];
		if (r->rclass != 1 || !in_chain(&c, r->owner))
			continue;
		if (r->type == LB_DNS_TYPE_A && r->rdlen == 4)
			on_addr(arg, true, msg + r->rdata);
		else if (r->type == LB_DNS_TYPE_AAAA && r->rdlen == 16)
			on_addr(arg, false, msg + r->rdata);
	}
	return flags & 0xF;
}
