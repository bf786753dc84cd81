/* SPDX-License-Identifier: MIT */
#include "litebox/net_decode.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "litebox/util.h"

/* Older than some uapi headers. */
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
#ifndef IP_UNICAST_IF
#define IP_UNICAST_IF 50
#endif
#ifndef IPV6_UNICAST_IF
#define IPV6_UNICAST_IF 76
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef IPV6_2292PKTOPTIONS
#define IPV6_2292PKTOPTIONS 6
#endif

#define SIN6_LEN_RFC2133 24 /* sockaddr_in6 without sin6_scope_id: accepted */
#define SUN_PATH_OFF offsetof(struct sockaddr_un, sun_path)

static int decode_v4(const uint8_t *b, size_t len, struct lb_sa *out)
{
	struct sockaddr_in in;
	if (len < sizeof(in))
		return -EINVAL;
	memcpy(&in, b, sizeof(in));
	out->form = LB_SA_INET;
	out->is_v4 = true;
	memcpy(out->ip, &in.sin_addr, 4);
	out->port = ntohs(in.sin_port);
	return 0;
}

static int decode_v6(const uint8_t *b, size_t len, struct lb_sa *out)
{
	struct sockaddr_in6 in6 = {0};
	if (len < SIN6_LEN_RFC2133)
		return -EINVAL;
	memcpy(&in6, b, len < sizeof(in6) ? len : sizeof(in6));
	out->form = LB_SA_INET;
	out->port = ntohs(in6.sin6_port);
	out->is_v4 = IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr);
	if (out->is_v4)
		memcpy(out->ip, &in6.sin6_addr.s6_addr[12], 4);
	else
		memcpy(out->ip, &in6.sin6_addr, 16);
	return 0;
}

/* The kernel's unix_validate_addr and unix_mkname_bsd: at most
 * sizeof(struct sockaddr_un), the path ends at its first NUL or at len. */
static int decode_unix(const uint8_t *b, size_t len, struct lb_sa *out)
{
	if (len > sizeof(struct sockaddr_un))
		return -EINVAL;
	size_t n = len - SUN_PATH_OFF;
	const uint8_t *p = b + SUN_PATH_OFF;
	if (n == 0) {
		out->form = LB_SA_UNIX_UNNAMED;
		return 0;
	}
	if (p[0] == '\0') {
		out->form = LB_SA_UNIX_ABSTRACT;
		out->abstract = p + 1;
		out->abstract_len = n - 1;
		return 0;
	}
	const uint8_t *nul = memchr(p, '\0', n);
	size_t plen = nul ? (size_t)(nul - p) : n;
	memcpy(out->path, p, plen);
	out->path[plen] = '\0';
	out->form = LB_SA_UNIX_PATH;
	return 0;
}

int lb_sockaddr_decode(const void *buf, size_t len, int sock_domain, bool for_connect,
		       struct lb_sa *out)
{
	const uint8_t *b = buf;
	sa_family_t fam;
	memset(out, 0, sizeof(*out));
	if (len < sizeof(fam))
		return -EINVAL;
	memcpy(&fam, b, sizeof(fam));
	switch (fam) {
	case AF_INET:
		return decode_v4(b, len, out);
	case AF_INET6:
		return decode_v6(b, len, out);
	case AF_UNIX:
		return decode_unix(b, len, out);
	case AF_NETLINK:
		out->form = LB_SA_NETLINK;
		return 0;
	case AF_UNSPEC:
		if (for_connect) {
			out->form = LB_SA_UNSPEC;
			return 0;
		}
		/* bind and UDP sends on an IPv4 socket read it as IPv4 */
		if (sock_domain != AF_INET)
			return -EAFNOSUPPORT;
		return decode_v4(b, len, out);
	default:
		return -EAFNOSUPPORT;
	}
}

int lb_cmsg_next(const uint8_t *buf, size_t len, size_t *pos, struct lb_cmsg *cm)
{
	struct cmsghdr h;
	size_t off = *pos;
	if (off > len || len - off < sizeof(h))
		return 0;
	memcpy(&h, buf + off, sizeof(h));
	if (h.cmsg_len < sizeof(h) || h.cmsg_len > len - off)
		return -EINVAL;
	cm->level = h.cmsg_level;
	cm->type = h.cmsg_type;
	cm->off = off;
	cm->data_off = off + CMSG_LEN(0);
	cm->data_len = h.cmsg_len - CMSG_LEN(0);
	size_t step = CMSG_ALIGN(h.cmsg_len);
	*pos = step > len - off ? len : off + step;
	return 1;
}

/* clang-format off */
static const struct lb_sockopt_id route_sockopts[] = {
	{SOL_SOCKET, SO_BINDTODEVICE, "SO_BINDTODEVICE"},
	{SOL_SOCKET, SO_BINDTOIFINDEX, "SO_BINDTOIFINDEX"},
	{SOL_IP, IP_OPTIONS, "IP_OPTIONS"},
	{SOL_IP, IP_TRANSPARENT, "IP_TRANSPARENT"},
	{SOL_IP, IP_FREEBIND, "IP_FREEBIND"},
	{SOL_IP, IP_UNICAST_IF, "IP_UNICAST_IF"},
	{SOL_IPV6, IPV6_RTHDR, "IPV6_RTHDR"},
	{SOL_IPV6, IPV6_HOPOPTS, "IPV6_HOPOPTS"},
	{SOL_IPV6, IPV6_DSTOPTS, "IPV6_DSTOPTS"},
	{SOL_IPV6, IPV6_RTHDRDSTOPTS, "IPV6_RTHDRDSTOPTS"},
	{SOL_IPV6, IPV6_2292PKTOPTIONS, "IPV6_2292PKTOPTIONS"},
	{SOL_IPV6, IPV6_PKTINFO, "IPV6_PKTINFO"},
	{SOL_IPV6, IPV6_TRANSPARENT, "IPV6_TRANSPARENT"},
	{SOL_IPV6, IPV6_FREEBIND, "IPV6_FREEBIND"},
	{SOL_IPV6, IPV6_UNICAST_IF, "IPV6_UNICAST_IF"},
};
/* clang-format on */

size_t lb_route_sockopts(const struct lb_sockopt_id **out)
{
	*out = route_sockopts;
	return LB_ARRAY_SIZE(route_sockopts);
}

const char *lb_route_sockopt(int level, int name)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(route_sockopts); i++)
		if (route_sockopts[i].level == level && route_sockopts[i].name == name)
			return route_sockopts[i].text;
	return NULL;
}

/* in_pktinfo starts with ipi_ifindex; in6_pktinfo ends with it. */
static bool pktinfo_names_interface(const uint8_t *data, size_t len, size_t at)
{
	int ifindex;
	if (len < at + sizeof(ifindex))
		return false; /* malformed: the kernel answers EINVAL itself */
	memcpy(&ifindex, data + at, sizeof(ifindex));
	return ifindex != 0;
}

const char *lb_route_cmsg(int level, int type, const uint8_t *data, size_t len)
{
	if (level == SOL_SOCKET && type == SO_MARK)
		return "SO_MARK";
	if (level == SOL_IP) {
		if (type == IP_RETOPTS)
			return "IP_RETOPTS";
		if (type == IP_OPTIONS)
			return "IP_OPTIONS";
		if (type == IP_PKTINFO &&
		    pktinfo_names_interface(data, len, offsetof(struct in_pktinfo, ipi_ifindex)))
			return "IP_PKTINFO with an interface";
		return NULL;
	}
	if (level != SOL_IPV6)
		return NULL;
	switch (type) {
	case IPV6_RTHDR:
		return "IPV6_RTHDR";
	case IPV6_2292RTHDR:
		return "IPV6_2292RTHDR";
	case IPV6_HOPOPTS:
		return "IPV6_HOPOPTS";
	case IPV6_2292HOPOPTS:
		return "IPV6_2292HOPOPTS";
	case IPV6_DSTOPTS:
		return "IPV6_DSTOPTS";
	case IPV6_2292DSTOPTS:
		return "IPV6_2292DSTOPTS";
	case IPV6_RTHDRDSTOPTS:
		return "IPV6_RTHDRDSTOPTS";
	case IPV6_PKTINFO:
	case IPV6_2292PKTINFO:
		if (pktinfo_names_interface(data, len, offsetof(struct in6_pktinfo, ipi6_ifindex)))
			return "IPV6_PKTINFO with an interface";
		return NULL;
	}
	return NULL;
}
