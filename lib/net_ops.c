/* SPDX-License-Identifier: MIT */
/* The network half of the south backend: the sockaddr is copied out once,
 * judged, and the operation is performed by the supervisor on the
 * caller's own socket (dup'd with pidfd_getfd) with that copy, so the
 * kernel can never use an address other than the one judged. */
#include <errno.h>
#include <limits.h>
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
		return (enum lb_addr_kind) - 1;
	if (type == SOCK_STREAM)
		return LB_ADDR_TCP;
	if (type == SOCK_DGRAM)
		return LB_ADDR_UDP;
	return (enum lb_addr_kind) - 1; /* raw and packet sockets have no policy form */
}

static int socket_domain(int sock)
{
	int dom = -1;
	socklen_t l = sizeof(dom);
	return getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 ? -1 : dom;
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
		n = (size_t)snprintf(u->via.sun_path, sizeof(u->via.sun_path),
				     "/proc/self/fd/%d/%s", u->r.dirfd, u->r.name);
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
	struct lb_sockaddr_obj o = {0};
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
		if (op == NET_CONNECT)
			return 0; /* dissolving an association */
		/* bind and UDP sends on an IPv4 socket read an AF_UNSPEC address
		 * as IPv4 (INADDR_ANY binds, sin_addr sends): judge it so. */
		if (socket_domain(sock) != AF_INET || a->len < sizeof(struct sockaddr_in))
			return -EAFNOSUPPORT;
		{
			struct addr_copy as4 = *a;
			as4.ss.ss_family = AF_INET;
			rc = decode_inet(sock, &as4, &o);
		}
		break;
	case AF_NETLINK:
		return 0; /* kernel routing queries (only NETLINK_ROUTE sockets exist) */
	default:
		return -EAFNOSUPPORT;
	}
	if (rc < 0)
		return rc;
	return lb_judge_addr(c, cls, &o);
}

/* The sockaddr at args[addr_arg] (its length next to it), copied once,
 * and the caller's socket args[0] as a supervisor fd. */
static int addr_and_socket(struct lb_call *c, unsigned addr_arg, struct addr_copy *a, int *sock)
{
	int rc = copy_addr(c, ARG(c, addr_arg), ARG(c, addr_arg + 1), a);
	if (rc < 0)
		return rc;
	*sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	return *sock < 0 ? *sock : 0;
}

static void h_connect_bind(struct lb_call *c, enum net_op op)
{
	struct addr_copy a;
	struct unix_target u = {.r = {.dirfd = -1}, .objfd = -1};
	const struct sockaddr *use;
	socklen_t use_len;

	lb_autoclose int sock = -1;
	int rc = addr_and_socket(c, 1, &a, &sock);
	if (rc < 0) {
		lb_reply_errno(c, -rc);
		return;
	}
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
	struct unix_target u = {.r = {.dirfd = -1}, .objfd = -1};
	const struct sockaddr *use;
	socklen_t use_len;
	size_t len = (size_t)ARG(c, 2);

	lb_autoclose int sock = -1;
	int rc = addr_and_socket(c, 4, &a, &sock);
	if (rc < 0) {
		lb_reply_errno(c, -rc);
		return;
	}
	if (len > LB_SENDTO_MAX)
		len = LB_SENDTO_MAX; /* a short send, as a full socket buffer gives */
	lb_autofree char *buf = malloc(len ? len : 1);
	if (!buf) {
		lb_reply_errno(c, ENOMEM);
		return;
	}
	if ((rc = c->ops->read_mem(c->t, ARG(c, 1), buf, len)) < 0) {
		lb_reply_errno(c, -rc);
		return;
	}
	rc = judge_address(c, NET_SENDTO, sock, &a, &u, &use, &use_len);
	ssize_t n = -1;
	if (rc == 0) {
		n = sendto(sock, buf, len, (int)ARG(c, 3), use, use_len);
		rc = n < 0 ? -errno : 0;
	}
	unix_target_release(&u);
	if (rc < 0)
		lb_reply_errno(c, -rc);
	else
		lb_reply_value(c, n);
}

/* ---- sendmsg and sendmmsg ------------------------------------------------------- */

#define LB_MAX_IOV 1024
#define LB_MAX_CONTROL 65536
#define LB_MAX_PASSED_FDS 253 /* SCM_MAX_FD */

/* A message copied out of the target: data coalesced into one buffer,
 * control messages with the caller's fd numbers replaced by ours. The
 * host sendmsg then uses only this copy. */
struct msg_copy {
	struct msghdr h;
	struct iovec iov;
	struct addr_copy addr;
	struct unix_target u;
	char *data;
	char *control;
	int fds[LB_MAX_PASSED_FDS];
	int n_fds;
};

static void msg_copy_release(struct msg_copy *m)
{
	free(m->data);
	free(m->control);
	for (int i = 0; i < m->n_fds; i++)
		close(m->fds[i]);
	unix_target_release(&m->u);
}

static int copy_msg_data(struct lb_call *c, int sock, const struct msghdr *th, struct msg_copy *m)
{
	if (th->msg_iovlen > LB_MAX_IOV)
		return -EMSGSIZE;
	struct iovec tiov[LB_MAX_IOV];
	size_t n = th->msg_iovlen, total = 0;
	int rc = c->ops->read_mem(c->t, (uint64_t)(uintptr_t)th->msg_iov, tiov, n * sizeof(*tiov));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (tiov[i].iov_len > SSIZE_MAX - total)
			return -EINVAL;
		total += tiov[i].iov_len;
	}
	if (total > LB_SENDTO_MAX) {
		int type = 0;
		socklen_t l = sizeof(type);
		getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &l);
		if (type != SOCK_STREAM)
			return -EMSGSIZE;
		total = LB_SENDTO_MAX; /* a short write, as a full buffer gives */
	}
	m->data = malloc(total ? total : 1);
	if (!m->data)
		return -ENOMEM;
	size_t off = 0;
	for (size_t i = 0; i < n && off < total; i++) {
		size_t len = tiov[i].iov_len < total - off ? tiov[i].iov_len : total - off;
		if ((rc = c->ops->read_mem(c->t, (uint64_t)(uintptr_t)tiov[i].iov_base,
					   m->data + off, len)) < 0)
			return rc;
		off += len;
	}
	m->iov = (struct iovec){.iov_base = m->data, .iov_len = total};
	m->h.msg_iov = &m->iov;
	m->h.msg_iovlen = 1;
	return 0;
}

/* SCM_RIGHTS carries the caller's fd numbers: pass the same files. */
static int translate_rights(struct lb_call *c, struct cmsghdr *cm, struct msg_copy *m)
{
	size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	int *fds = (int *)CMSG_DATA(cm);
	for (size_t i = 0; i < n; i++) {
		if (m->n_fds == LB_MAX_PASSED_FDS)
			return -ETOOMANYREFS;
		int ours = c->ops->get_fd(c->t, fds[i]);
		if (ours < 0)
			return -EBADF;
		m->fds[m->n_fds++] = ours;
		fds[i] = ours;
	}
	return 0;
}

static int copy_msg_control(struct lb_call *c, const struct msghdr *th, struct msg_copy *m)
{
	if (!th->msg_control || th->msg_controllen == 0)
		return 0;
	if (th->msg_controllen > LB_MAX_CONTROL)
		return -ENOBUFS;
	m->control = malloc(th->msg_controllen);
	if (!m->control)
		return -ENOMEM;
	int rc = c->ops->read_mem(c->t, (uint64_t)(uintptr_t)th->msg_control, m->control,
				  th->msg_controllen);
	if (rc < 0)
		return rc;
	m->h.msg_control = m->control;
	m->h.msg_controllen = th->msg_controllen;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m->h); cm; cm = CMSG_NXTHDR(&m->h, cm)) {
		/* cmsg_len comes from the target: it must fit what we copied. */
		size_t at = (size_t)((char *)cm - m->control);
		if (cm->cmsg_len < CMSG_LEN(0) || cm->cmsg_len > th->msg_controllen - at)
			return -EINVAL;
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_RIGHTS && (rc = translate_rights(c, cm, m)) < 0)
			return rc;
		if (cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			/* The caller names itself in its own pid namespace. */
			struct ucred *uc = (struct ucred *)CMSG_DATA(cm);
			uc->pid = lb_caller_tgid(c);
		}
	}
	return 0;
}

/* Copy, judge (when it names a destination) and send one message. */
static ssize_t send_one(struct lb_call *c, int sock, uint64_t msghdr_addr, int flags)
{
	struct msghdr th;
	struct msg_copy m = {.u = {.r = {.dirfd = -1}, .objfd = -1}};
	int rc = c->ops->read_mem(c->t, msghdr_addr, &th, sizeof(th));
	if (rc == 0)
		rc = copy_msg_data(c, sock, &th, &m);
	if (rc == 0)
		rc = copy_msg_control(c, &th, &m);
	if (rc == 0 && th.msg_name && th.msg_namelen) {
		const struct sockaddr *use = NULL;
		socklen_t use_len = 0;
		rc = copy_addr(c, (uint64_t)(uintptr_t)th.msg_name, th.msg_namelen, &m.addr);
		if (rc == 0)
			rc = judge_address(c, NET_SENDTO, sock, &m.addr, &m.u, &use, &use_len);
		m.h.msg_name = (void *)use;
		m.h.msg_namelen = use_len;
	}
	ssize_t n = rc;
	if (rc == 0) {
		n = sendmsg(sock, &m.h, flags);
		if (n < 0)
			n = -errno;
	}
	msg_copy_release(&m);
	return n;
}

static void h_sendmsg(struct lb_call *c)
{
	lb_autoclose int sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	if (sock < 0) {
		lb_reply_errno(c, -sock);
		return;
	}
	ssize_t n = send_one(c, sock, ARG(c, 1), (int)ARG(c, 2));
	if (n < 0)
		lb_reply_errno(c, (int)-n);
	else
		lb_reply_value(c, n);
}

static void h_sendmmsg(struct lb_call *c)
{
	unsigned vlen = (unsigned)ARG(c, 2);
	if (vlen > LB_MAX_IOV)
		vlen = LB_MAX_IOV;
	lb_autoclose int sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	if (sock < 0) {
		lb_reply_errno(c, -sock);
		return;
	}
	unsigned sent = 0;
	ssize_t n = 0;
	for (; sent < vlen; sent++) {
		uint64_t at = ARG(c, 1) + (uint64_t)sent * sizeof(struct mmsghdr);
		n = send_one(c, sock, at, (int)ARG(c, 3));
		if (n < 0)
			break;
		unsigned len = (unsigned)n;
		if (c->ops->write_mem(c->t, at + offsetof(struct mmsghdr, msg_len), &len,
				      sizeof(len)) < 0)
			break;
	}
	if (sent == 0 && n < 0)
		lb_reply_errno(c, (int)-n);
	else
		lb_reply_value(c, sent);
}

/* listen() on a socket never bound binds it to the wildcard address and
 * an ephemeral port: judged as such a bind. Performed by the supervisor
 * on the socket it checked. */
static void h_listen(struct lb_call *c)
{
	lb_autoclose int sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	if (sock < 0) {
		lb_reply_errno(c, -sock);
		return;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int dom = socket_domain(sock);
	if ((dom == AF_INET || dom == AF_INET6) &&
	    getsockname(sock, (struct sockaddr *)&ss, &len) == 0) {
		uint16_t port = dom == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					       : ((struct sockaddr_in6 *)&ss)->sin6_port;
		if (port == 0) {
			struct lb_sockaddr_obj o = {.kind = LB_ADDR_TCP, .is_v4 = dom == AF_INET};
			int rc = lb_judge_addr(c, LB_CLASS_BIND, &o);
			if (rc < 0) {
				lb_reply_errno(c, EACCES);
				return;
			}
		}
	}
	if (listen(sock, (int)ARG(c, 1)) < 0)
		lb_reply_errno(c, errno);
	else
		lb_reply_value(c, 0);
}

void lb_net_handle(struct lb_call *c)
{
	switch (c->row->kind) {
	case LB_K_CONNECT: {
		h_connect_bind(c, NET_CONNECT);
		return;
	}
	case LB_K_BIND: {
		h_connect_bind(c, NET_BIND);
		return;
	}
	case LB_K_SENDTO: {
		h_sendto(c);
		return;
	}
	case LB_K_SENDMSG: {
		h_sendmsg(c);
		return;
	}
	case LB_K_SENDMMSG: {
		h_sendmmsg(c);
		return;
	}
	case LB_K_LISTEN: {
		h_listen(c);
		return;
	}
	default:
		lb_reply_errno(c, EPERM);
	}
}
