/* SPDX-License-Identifier: MIT */
/* The socket decoders on hand-made bytes: what the kernel accepts is
 * decoded as the kernel reads it, what it refuses is refused. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "litebox/net_decode.h"

static size_t unix_addr(uint8_t *buf, const char *path, size_t path_bytes)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	memcpy(buf, &un, sizeof(un));
	memcpy(buf + offsetof(struct sockaddr_un, sun_path), path, path_bytes);
	return offsetof(struct sockaddr_un, sun_path) + path_bytes;
}

Test(sockaddr, unix_path_ends_at_first_nul)
{
	uint8_t b[128] = {0};
	struct lb_sa sa;
	size_t len = unix_addr(b, "/tmp/s\0junk", 11);
	cr_assert_eq(lb_sockaddr_decode(b, len, AF_UNIX, true, &sa), 0);
	cr_assert_eq(sa.form, LB_SA_UNIX_PATH);
	cr_assert_str_eq(sa.path, "/tmp/s");
}

Test(sockaddr, unix_path_of_108_bytes_without_nul)
{
	uint8_t b[128] = {0};
	char name[108];
	memset(name, 'a', sizeof(name));
	name[0] = '/';
	struct lb_sa sa;
	size_t len = unix_addr(b, name, sizeof(name));
	cr_assert_eq(len, sizeof(struct sockaddr_un));
	cr_assert_eq(lb_sockaddr_decode(b, len, AF_UNIX, true, &sa), 0);
	cr_assert_eq(strlen(sa.path), 108);
}

/* The 128-byte AF_UNIX address that overflowed a stack buffer. */
Test(sockaddr, unix_longer_than_sockaddr_un_is_einval)
{
	uint8_t b[128];
	memset(b, 'A', sizeof(b));
	sa_family_t f = AF_UNIX;
	memcpy(b, &f, sizeof(f));
	struct lb_sa sa;
	cr_assert_eq(lb_sockaddr_decode(b, sizeof(b), AF_UNIX, true, &sa), -EINVAL);
	cr_assert_eq(lb_sockaddr_decode(b, sizeof(struct sockaddr_un) + 1, AF_UNIX, false, &sa),
		     -EINVAL);
}

Test(sockaddr, unix_abstract_and_unnamed)
{
	uint8_t b[128] = {0};
	struct lb_sa sa;
	size_t len = unix_addr(b, "\0na\0me", 6);
	cr_assert_eq(lb_sockaddr_decode(b, len, AF_UNIX, true, &sa), 0);
	cr_assert_eq(sa.form, LB_SA_UNIX_ABSTRACT);
	cr_assert_eq(sa.abstract_len, 5);
	cr_assert_eq(memcmp(sa.abstract, "na\0me", 5), 0);
	cr_assert_eq(lb_sockaddr_decode(b, 2, AF_UNIX, false, &sa), 0);
	cr_assert_eq(sa.form, LB_SA_UNIX_UNNAMED);
}

Test(sockaddr, inet_lengths)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
	struct lb_sa sa;
	cr_assert_eq(lb_sockaddr_decode(&in, sizeof(in), AF_INET, true, &sa), 0);
	cr_assert(sa.is_v4 && sa.port == 53 && sa.ip[0] == 10 && sa.ip[3] == 3);
	cr_assert_eq(lb_sockaddr_decode(&in, sizeof(in) - 1, AF_INET, true, &sa), -EINVAL);

	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &in6.sin6_addr);
	/* 24 bytes (RFC 2133, no scope id) is accepted by the kernel */
	cr_assert_eq(lb_sockaddr_decode(&in6, 24, AF_INET6, true, &sa), 0);
	cr_assert(sa.is_v4 && sa.ip[0] == 192 && sa.ip[3] == 9 && sa.port == 443);
	cr_assert_eq(lb_sockaddr_decode(&in6, 23, AF_INET6, true, &sa), -EINVAL);
}

Test(sockaddr, unspec)
{
	struct sockaddr_in in = {.sin_family = AF_UNSPEC, .sin_port = htons(9)};
	in.sin_addr.s_addr = htonl(0x7f000001);
	struct lb_sa sa;
	cr_assert_eq(lb_sockaddr_decode(&in, sizeof(in), AF_INET, true, &sa), 0);
	cr_assert_eq(sa.form, LB_SA_UNSPEC);
	cr_assert_eq(lb_sockaddr_decode(&in, sizeof(in), AF_INET, false, &sa), 0);
	cr_assert(sa.form == LB_SA_INET && sa.is_v4 && sa.ip[0] == 127 && sa.port == 9);
	cr_assert_eq(lb_sockaddr_decode(&in, sizeof(in), AF_INET6, false, &sa), -EAFNOSUPPORT);
	cr_assert_eq(lb_sockaddr_decode(&in, 1, AF_INET, false, &sa), -EINVAL);
}

static size_t put_cmsg(uint8_t *at, size_t len, int level, int type, const void *data, size_t n)
{
	struct cmsghdr h = {.cmsg_len = len, .cmsg_level = level, .cmsg_type = type};
	memcpy(at, &h, sizeof(h));
	memcpy(at + CMSG_LEN(0), data, n);
	return CMSG_SPACE(n);
}

Test(cmsg, walks_as_the_kernel)
{
	uint8_t b[256] = {0};
	int fds[3] = {0, 1, 2};
	size_t off = put_cmsg(b, CMSG_LEN(sizeof(fds)), SOL_SOCKET, SCM_RIGHTS, fds, sizeof(fds));
	uint8_t srh[24] = {0, 2, 4};
	off += put_cmsg(b + off, CMSG_LEN(sizeof(srh)), SOL_IPV6, IPV6_RTHDR, srh, sizeof(srh));
	struct lb_cmsg cm;
	size_t pos = 0;
	cr_assert_eq(lb_cmsg_next(b, off, &pos, &cm), 1);
	cr_assert(cm.level == SOL_SOCKET && cm.type == SCM_RIGHTS && cm.data_len == sizeof(fds));
	cr_assert_null(lb_route_cmsg(cm.level, cm.type, b + cm.data_off, cm.data_len));
	cr_assert_eq(lb_cmsg_next(b, off, &pos, &cm), 1);
	cr_assert_str_eq(lb_route_cmsg(cm.level, cm.type, b + cm.data_off, cm.data_len),
			 "IPV6_RTHDR");
	cr_assert_eq(lb_cmsg_next(b, off, &pos, &cm), 0);
}

Test(cmsg, overlong_and_short_lengths_are_einval)
{
	uint8_t b[64] = {0};
	struct lb_cmsg cm;
	size_t pos = 0;
	put_cmsg(b, 816, SOL_SOCKET, SCM_RIGHTS, "", 0);
	cr_assert_eq(lb_cmsg_next(b, 24, &pos, &cm), -EINVAL);
	pos = 0;
	put_cmsg(b, 8, SOL_SOCKET, SCM_RIGHTS, "", 0);
	cr_assert_eq(lb_cmsg_next(b, 24, &pos, &cm), -EINVAL);
	pos = 0; /* shorter than one header: nothing to walk */
	cr_assert_eq(lb_cmsg_next(b, 15, &pos, &cm), 0);
}

Test(cmsg, pktinfo_is_refused_only_with_an_interface)
{
	struct in_pktinfo pi = {0};
	cr_assert_null(lb_route_cmsg(SOL_IP, IP_PKTINFO, (const uint8_t *)&pi, sizeof(pi)));
	pi.ipi_ifindex = 2;
	cr_assert_not_null(lb_route_cmsg(SOL_IP, IP_PKTINFO, (const uint8_t *)&pi, sizeof(pi)));
	struct in6_pktinfo p6 = {.ipi6_ifindex = 3};
	cr_assert_not_null(lb_route_cmsg(SOL_IPV6, IPV6_PKTINFO, (const uint8_t *)&p6, sizeof(p6)));
	cr_assert_not_null(lb_route_cmsg(SOL_IP, IP_RETOPTS, NULL, 0));
	cr_assert_not_null(lb_route_cmsg(SOL_IPV6, IPV6_HOPOPTS, NULL, 0));
	cr_assert_null(lb_route_cmsg(SOL_IPV6, IPV6_HOPLIMIT, NULL, 0));
}

Test(sockopt, route_options_by_level_and_name)
{
	cr_assert_str_eq(lb_route_sockopt(SOL_IPV6, IPV6_RTHDR), "IPV6_RTHDR");
	cr_assert_str_eq(lb_route_sockopt(SOL_SOCKET, SO_BINDTODEVICE), "SO_BINDTODEVICE");
	cr_assert_str_eq(lb_route_sockopt(SOL_IP, IP_OPTIONS), "IP_OPTIONS");
	cr_assert_null(lb_route_sockopt(SOL_IPV6, IPV6_RECVPKTINFO));
	cr_assert_null(lb_route_sockopt(SOL_SOCKET, SO_REUSEADDR));
	/* the RFC 2292 names are receive flags as socket options */
	cr_assert_null(lb_route_sockopt(SOL_IPV6, IPV6_2292RTHDR));
}
