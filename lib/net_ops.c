/* SPDX-License-Identifier: MIT */
/* The network half of the south backend: the sockaddr is copied out once,
 * judged, and the operation is performed by the supervisor on the
 * caller's own socket (dup'd with pidfd_getfd) with that copy, so the
 * kernel can never use an address other than the one judged. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "core_internal.h"
#include "litebox/util.h"

#define ARG(c, i) ((c)->t->args[(i)])
#define LB_SENDTO_MAX (4u << 20)

struct addr_copy {
	struct sockaddr_storage ss;
	socklen_t len;
};

static int copy_addr(struct lb_call *c, uint64_t ptr, uint64_t len, struct addr_copy *a)
{
	if (len > sizeof(a->ss))
		return -EINVAL;
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	memset(&a->ss, 0, sizeof(a->ss));
	a->len = (socklen_t)len;
	return c->ops->read_mem(c->t, ptr, &a->ss, (size_t)len);
}

static enum lb_addr_kind inet_kind(int sock)
{
	int type = 0;
	socklen_t l = sizeof(type);
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return (enum lb_addr_kind)-1;
	if (type == SOCK_STREAM)
		return LB_ADDR_TCP;
	if (type == SOCK_DGRAM)
		return LB_ADDR_UDP;
	return (enum lb_addr_kind)-1; /* raw and packet sockets have no policy form */
}

/* Decode an IP address; IPv4-mapped IPv6 is judged as the IPv4 it is. */
static int decode_inet(int sock, const struct addr_copy *a, struct lb_sockaddr_obj *o)
{
	o->kind = inet_kind(sock);
	if ((int)o->kind < 0)
		return -EACCES;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&a->ss;
		if (a->len < sizeof(*in))
			return -EINVAL;
		o->is_v4 = true;
		memcpy(o->ip, &in->sin_addr, 4);
		o->port = ntohs(in->sin_port);
		return 0;
	}
	const struct sockaddr_in6 *in6 = (const void *)&a->ss;
	if (a->len < sizeof(*in6))
		return -EINVAL;
	o->port = ntohs(in6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		o->is_v4 = true;
		memcpy(o->ip, &in6->sin6_addr.s6_addr[12], 4);
	} else {
		o->is_v4 = false;
		memcpy(o->ip, &in6->sin6_addr, 16);
	}
	return 0;
}

/* A unix socket path is judged by the file it resolves to; the operation
 * then goes through /proc/self/fd so that the kernel reaches exactly that
 * inode (connect) or that directory (bind). */
struct unix_target {
	struct lb_resolved r;
	int objfd;
	struct sockaddr_un via;
	socklen_t via_len;
};

static int decode_unix_path(struct lb_call *c, const struct addr_copy *a, bool binding,
			    struct unix_target *u, struct lb_sockaddr_obj *o)
{
	const struct sockaddr_un *un = (const void *)&a->ss;
	char path[sizeof(un->sun_path) + 1];
	size_t n = a->len - offsetof(struct sockaddr_un, sun_path);
	memcpy(path, un->sun_path, n);
	path[n] = '\0';
	int rc = lb_resolve_str(c, AT_FDCWD, path, binding ? 0 : LB_RES_FOLLOW, &u->r);
	if (rc < 0)
		return rc;
	if (u->r.magic_fd >= 0 || !u->r.name[0])
		return binding ? -EADDRINUSE : -ECONNREFUSED;
	o->kind = LB_ADDR_UNIX_PATH;
	o->name = u->r.path;
	o->name_len = strlen(u->r.path);
	u->via.sun_family = AF_UNIX;
	if (binding) {
		n = (size_t)snprintf(u->via.sun_path, sizeof(u->via.sun_path), "/proc/self/fd/%d/%s",
				     u->r.dirfd, u->r.name);
	} else {
		u->objfd = openat(u->r.dirfd, u->r.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (u->objfd < 0)
			return -errno;
		n = (size_t)snprintf(u->via.sun_path, sizeof(u->via.sun_path), "/proc/self/fd/%d",
				     u->objfd);
	}
	if (n >= sizeof(u->via.sun_path))
		return -ENAMETOOLONG;
	u->via_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static void unix_target_release(struct unix_target *u)
{
	lb_resolved_release(&u->r);
	if (u->objfd >= 0)
		close(u->objfd);
}

enum net_op { NET_CONNECT, NET_BIND, NET_SENDTO };

/* Judge the address and point use and use_len at what the kernel is to be
 * given (our copy, or the /proc/self/fd form for unix paths). */
static int judge_address(struct lb_call *c, enum net_op op, int sock, struct addr_copy *a,
			 struct unix_target *u, const struct sockaddr **use, socklen_t *use_len)
{
	enum lb_class cls = op == NET_BIND ? LB_CLASS_BIND : LB_CLASS_CONNECT;
	struct lb_sockaddr_obj o = { 0 };
	int rc;

	*use = (const struct sockaddr *)&a->ss;
	*use_len = a->len;
	switch (a->ss.ss_family) {
	case AF_INET:
	case AF_INET6:
		rc = decode_inet(sock, a, &o);
		break;
	case AF_UNIX: {
		const struct sockaddr_un *un = (const void *)&a->ss;
		size_t n = a->len - offsetof(struct sockaddr_un, sun_path);
		if (n == 0)
			return 0; /* autobind to a fresh abstract name */
		if (un->sun_path[0] == '\0') {
			o.kind = LB_ADDR_UNIX_ABSTRACT;
			o.name = un->sun_path + 1;
			o.name_len = n - 1;
			rc = 0;
			break;
		}
		rc = decode_unix_path(c, a, op == NET_BIND, u, &o);
		*use = (const struct sockaddr *)&u->via;
		*use_len = u->via_len;
		break;
	}
	case AF_UNSPEC:
	case AF_NETLINK:
		return 0; /* dissolving an association; kernel routing queries */
	default:
		return -EAFNOSUPPORT;
	}
	if (rc < 0)
		return rc;
	return lb_judge_addr(c, cls, &o);
}

static void h_connect_bind(struct lb_call *c, enum net_op op)
{
	struct addr_copy a;
	struct unix_target u = { .r = { .dirfd = -1 }, .objfd = -1 };
	const struct sockaddr *use;
	socklen_t use_len;

	int rc = copy_addr(c, ARG(c, 1), ARG(c, 2), &a);
	if (rc < 0)
		{ lb_reply_errno(c, -rc); return; }
	lb_autoclose int sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	if (sock < 0)
		{ lb_reply_errno(c, -sock); return; }
	rc = judge_address(c, op, sock, &a, &u, &use, &use_len);
	if (rc == 0) {
		rc = op == NET_BIND ? bind(sock, use, use_len) : connect(sock, use, use_len);
		rc = rc < 0 ? -errno : 0;
	}
	unix_target_release(&u);
	if (rc < 0)
		lb_reply_errno(c, -rc);
	else
		lb_reply_value(c, 0);
}

static void h_sendto(struct lb_call *c)
{
	struct addr_copy a;
	struct unix_target u = { .r = { .dirfd = -1 }, .objfd = -1 };
	const struct sockaddr *use;
	socklen_t use_len;
	size_t len = (size_t)ARG(c, 2);

	int rc = copy_addr(c, ARG(c, 4), ARG(c, 5), &a);
	if (rc < 0)
		{ lb_reply_errno(c, -rc); return; }
	lb_autoclose int sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	if (sock < 0)
		{ lb_reply_errno(c, -sock); return; }
	if (len > LB_SENDTO_MAX)
		len = LB_SENDTO_MAX; /* a short send, as a full socket buffer gives */
	lb_autofree char *buf = malloc(len ? len : 1);
	if (!buf)
		{ lb_reply_errno(c, ENOMEM); return; }
	if ((rc = c->ops->read_mem(c->t, ARG(c, 1), buf, len)) < 0)
		{ lb_reply_errno(c, -rc); return; }
	rc = judge_address(c, NET_SENDTO, sock, &a, &u, &use, &use_len);
	ssize_t n = -1;
	if (rc == 0) {
		n = sendto(sock, buf, len, (int)ARG(c, 3) | MSG_NOSIGNAL, use, use_len);
		rc = n < 0 ? -errno : 0;
	}
	unix_target_release(&u);
	if (rc < 0)
		lb_reply_errno(c, -rc);
	else
		lb_reply_value(c, n);
}

void lb_net_handle(struct lb_call *c)
{
	switch (c->row->kind) {
	case LB_K_CONNECT:
		{ h_connect_bind(c, NET_CONNECT); return; }
	case LB_K_BIND:
		{ h_connect_bind(c, NET_BIND); return; }
	case LB_K_SENDTO:
		{ h_sendto(c); return; }
	default:
		lb_reply_errno(c, EPERM);
	}
}
