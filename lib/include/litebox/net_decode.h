/* SPDX-License-Identifier: MIT */
/* Pure decoders of the socket structures copied out of a sandboxed
 * program: bytes in, facts out, no system call and no pointer the program
 * chose. Every length is checked against the bytes actually copied, the
 * way the kernel checks it. Fuzzed (tests/fuzz) and unit-tested. */
#ifndef LITEBOX_NET_DECODE_H
#define LITEBOX_NET_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_UNIX_PATH_MAX 108 /* sizeof(sun_path) */

enum lb_sa_form {
	LB_SA_INET,	     /* AF_INET, AF_INET6 (IPv4-mapped decoded as IPv4) */
	LB_SA_UNIX_PATH,     /* a filesystem name */
	LB_SA_UNIX_ABSTRACT, /* sun_path[0] == 0 */
	LB_SA_UNIX_UNNAMED,  /* only sun_family: autobind for bind */
	LB_SA_UNSPEC,	     /* AF_UNSPEC to connect: dissolve the association */
	LB_SA_NETLINK,
};

struct lb_sa {
	enum lb_sa_form form;
	bool is_v4;
	uint8_t ip[16];
	uint16_t port; /* host order */
	/* LB_SA_UNIX_PATH: the name up to its first NUL, as the kernel reads it */
	char path[LB_UNIX_PATH_MAX + 1];
	/* LB_SA_UNIX_ABSTRACT: the name after the leading NUL (points into buf) */
	const uint8_t *abstract;
	size_t abstract_len;
};

/* Decode len bytes of a sockaddr for a socket of family sock_domain.
 * for_connect: AF_UNSPEC dissolves (connect) instead of reading as IPv4
 * (bind and sends on an IPv4 socket). 0, -EINVAL (too short or too long
 * for its family) or -EAFNOSUPPORT. */
int lb_sockaddr_decode(const void *buf, size_t len, int sock_domain, bool for_connect,
		       struct lb_sa *out);

/* One control message of a copied msg_control buffer. */
struct lb_cmsg {
	int level, type;
	size_t off;	 /* of its header in the buffer */
	size_t data_off; /* of its data */
	size_t data_len; /* cmsg_len minus the header */
};

/* Walk control messages as the kernel does (for_each_cmsghdr + CMSG_OK):
 * start with *pos = 0; 1: *cm filled, 0: no more, -EINVAL: a cmsg_len
 * that is shorter than a header or runs past the buffer. */
int lb_cmsg_next(const uint8_t *buf, size_t len, size_t *pos, struct lb_cmsg *cm);

/* Options that change where a datagram or connection goes (source
 * routing, routing headers, the outgoing interface) or from which
 * address it leaves: their name when the option (setsockopt level/name)
 * or control message (with its data) is one, else NULL. */
const char *lb_route_sockopt(int level, int name);
const char *lb_route_cmsg(int level, int type, const uint8_t *data, size_t len);

/* The refused setsockopt options, for the kernel filter. */
struct lb_sockopt_id {
	int level, name;
	const char *text;
};
size_t lb_route_sockopts(const struct lb_sockopt_id **out);

#endif
