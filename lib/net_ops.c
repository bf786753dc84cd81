/* SPDX-License-Identifier: MIT */
/* The network handlers: the sockaddr (and for sendmsg the whole message)
 * is copied out once, decoded by the pure decoders of net_decode.c,
 * judged, and the operation is performed by the south (lib/south/net.c)
 * on the caller's own socket (dup'd with pidfd_getfd) with that copy, so
 * the kernel can never use an address other than the one judged. Every
 * such operation runs as the program (lb_creds_enter): the kernel's own
 * checks on the sending task (netlink's CAP_NET_ADMIN, CAP_NET_RAW for
 * IP options, CAP_NET_BIND_SERVICE) come out as they would for it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "core_internal.h"
#include "dns.h"
#include "litebox/net_decode.h"
#include "litebox/south.h"
#include "litebox/util.h"

#define ARG(c, i) ((c)->op.args[(i)])
#define LB_SENDTO_MAX (4u << 20)
/* Each record holds a descriptor of the supervisor's: well below its
 * RLIMIT_NOFILE (records of unlinked sockets are dropped first). */
#define LB_MAX_OWN_SOCKETS 512

/* ---- unix sockets the sandbox made ---------------------------------------------- */

/* A wildcard `unix` rule grants only sockets the sandbox bound during the
 * run: their files are recorded by (dev, ino), each pinned by an O_PATH
 * descriptor so that its inode number cannot be reused by another file
 * while it is on record. */
void lb_net_core_init(struct lb_core *core)
{
	pthread_mutex_init(&core->own_lock, NULL);
}

void lb_net_core_free(struct lb_core *core)
{
	for (size_t i = 0; i < core->n_own; i++)
		close(core->own[i].pin);
	free(core->own);
	pthread_mutex_destroy(&core->own_lock);
}

static bool own_socket(struct lb_core *core, const struct stat *st)
{
	bool found = false;
	pthread_mutex_lock(&core->own_lock);
	for (size_t i = 0; i < core->n_own && !found; i++)
		found = core->own[i].dev == st->st_dev && core->own[i].ino == st->st_ino;
	pthread_mutex_unlock(&core->own_lock);
	return found;
}

/* Forget the sockets whose file was unlinked: nobody can connect to them
 * by name any more. Called with own_lock held. */
static void own_prune(struct lb_core *core)
{
	size_t k = 0;
	for (size_t i = 0; i < core->n_own; i++) {
		struct stat st;
		if (fstat(core->own[i].pin, &st) == 0 && st.st_nlink > 0)
			core->own[k++] = core->own[i];
		else
			close(core->own[i].pin);
	}
	core->n_own = k;
}

static void own_add(struct lb_core *core, int pin, const struct stat *st)
{
	pthread_mutex_lock(&core->own_lock);
	if (core->n_own == core->cap_own)
		own_prune(core);
	if (core->n_own == core->cap_own && core->cap_own < LB_MAX_OWN_SOCKETS) {
		size_t cap = core->cap_own ? core->cap_own * 2 : 16;
		struct lb_unix_own *n = realloc(core->own, cap * sizeof(*n));
		if (n) {
			core->own = n;
			core->cap_own = cap;
		}
	}
	if (core->n_own < core->cap_own) {
		core->own[core->n_own++] = (struct lb_unix_own){st->st_dev, st->st_ino, pin};
		pin = -1;
	}
	pthread_mutex_unlock(&core->own_lock);
	if (pin >= 0)
		close(pin); /* not recorded: later connects are refused, visibly */
}

/* After a bind at dirfd/name: record that file as the sandbox's, if it
 * is the one the socket is bound to. */
static void record_bound(struct lb_core *core, int sock, int dirfd, const char *name)
{
	dev_t dev;
	ino_t ino;
	struct stat st;
	if (lb_host_bound_file(sock, &dev, &ino) < 0)
		return;
	int pin = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pin < 0)
		return;
	if (fstat(pin, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev && st.st_ino == ino)
		own_add(core, pin, &st);
	else
		close(pin);
}

/* ---- the address ------------------------------------------------------------------ */

struct addr_copy {
	uint8_t b[sizeof(struct sockaddr_storage)];
	socklen_t len;
};

/* clamp: sendmsg truncates an oversized msg_namelen, the other calls
 * refuse it. */
static int copy_addr(struct lb_call *c, uint64_t ptr, uint64_t len, bool clamp, struct addr_copy *a)
{
	if (len > sizeof(a->b)) {
		if (!clamp)
			return -EINVAL;
		len = sizeof(a->b);
	}
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	memset(a->b, 0, sizeof(a->b));
	a->len = (socklen_t)len;
	return c->ops->read_mem(c->t, ptr, a->b, (size_t)len);
}

static int sockopt_int(int sock, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);
	return getsockopt(sock, SOL_SOCKET, opt, &v, &l) < 0 ? -1 : v;
}

/* What the kernel is to be given, and what keeps it valid. */
struct target {
	struct lb_sa sa;
	struct lb_resolved r;
	int objfd;
	struct sockaddr_un via;
	const struct sockaddr *use;
	socklen_t use_len;
	bool bind_by_name; /* bind with the program's own name (see bind_unix_path) */
};

#define TARGET_INIT                                                                                \
	{                                                                                          \
		.r = {.dirfd = -1}, .objfd = -1                                                    \
	}

static void target_release(struct target *t)
{
	lb_resolved_release(&t->r);
	if (t->objfd >= 0)
		close(t->objfd);
}

enum net_op { NET_CONNECT, NET_BIND, NET_SENDTO };

/* A socket whose protocol has no policy form (ICMP echo sockets are
 * SOCK_DGRAM too, but a `udp` rule does not grant them; SCTP streams are
 * not tcp; raw sockets): refused in every mode, recorded as "PROTO ADDR". */
static int refuse_protocol(struct lb_call *c, enum lb_class cls, struct lb_sockaddr_obj *o,
			   int type, int proto)
{
	char addr[128], name[32], obj[192];
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		snprintf(name, sizeof(name), "%s", proto == IPPROTO_ICMP ? "icmp" : "icmpv6");
	else
		snprintf(name, sizeof(name), "%s-protocol-%d",
			 type == SOCK_STREAM  ? "stream"
			 : type == SOCK_DGRAM ? "dgram"
					      : "raw",
			 proto);
	o->kind = LB_ADDR_UDP;
	lb_sockaddr_format(o, addr, sizeof(addr));
	const char *sp = strchr(addr, ' ');
	snprintf(obj, sizeof(obj), "%s %s", name, sp ? sp + 1 : addr);
	return lb_refuse_boundary(c, cls, obj, EACCES);
}

static int judge_inet(struct lb_call *c, enum lb_class cls, int sock, const struct lb_sa *sa)
{
	int type = sockopt_int(sock, SO_TYPE);
	int proto = sockopt_int(sock, SO_PROTOCOL);
	const char *names[16];
	struct lb_sockaddr_obj o = {.is_v4 = sa->is_v4, .port = sa->port, .names = names};
	memcpy(o.ip, sa->ip, sizeof(o.ip));
	/* names matter to connect rules only (a bind is to an address of its own) */
	if (cls == LB_CLASS_CONNECT)
		o.n_names = lb_dns_names_of(c->core, o.is_v4, o.ip, names, LB_ARRAY_SIZE(names));
	/* MPTCP is TCP to the same peer (Go's listeners use it by default). */
	if (type == SOCK_STREAM && (proto == IPPROTO_TCP || proto == IPPROTO_MPTCP))
		o.kind = LB_ADDR_TCP;
	else if (type == SOCK_DGRAM && proto == IPPROTO_UDP)
		o.kind = LB_ADDR_UDP;
	else
		return refuse_protocol(c, cls, &o, type, proto);
	/* A name is data: a nameserver is reached through litebox's resolver
	 * (TCP 53, redirected before this) or, for UDP 53, by a rule; its
	 * other ports (Docker's embedded DNS behind 127.0.0.11) never. */
	if (cls == LB_CLASS_CONNECT && sa->port != 53 &&
	    lb_dns_nameserver_only(c->core, o.is_v4, o.ip)) {
		char addr[128];
		lb_sockaddr_format(&o, addr, sizeof(addr));
		return lb_refuse_boundary(c, cls, addr, EACCES);
	}
	return lb_judge_addr(c, cls, &o);
}

static int judge_abstract(struct lb_call *c, enum lb_class cls, const struct lb_sa *sa)
{
	struct lb_sockaddr_obj o = {.kind = LB_ADDR_UNIX_ABSTRACT,
				    .name = (const char *)sa->abstract,
				    .name_len = sa->abstract_len};
	return lb_judge_addr(c, cls, &o);
}

/* A socket another program made, reached through a wildcard rule:
 * refused (the policy must name such a socket by its path). */
static int refuse_foreign(struct lb_call *c, const char *path)
{
	char obj[PATH_MAX + 16];
	snprintf(obj, sizeof(obj), "unix %s", path);
	return lb_refuse(c, LB_CLASS_CONNECT, obj, ECONNREFUSED);
}

/* A unix socket path is judged by the file it resolves to. Connects and
 * sends then go through /proc/self/fd/N of that very inode; a bind is
 * performed under the name the program gave (bind_unix_path). */
static int judge_unix_path(struct lb_call *c, enum net_op op, struct target *t)
{
	bool binding = op == NET_BIND;
	enum lb_class cls = binding ? LB_CLASS_BIND : LB_CLASS_CONNECT;
	int rc = lb_resolve_str(c, AT_FDCWD, t->sa.path, binding ? 0 : LB_RES_FOLLOW, &t->r);
	if (rc < 0)
		return rc;
	if (t->r.magic_fd >= 0 || !t->r.name[0])
		return binding ? -EADDRINUSE : -ECONNREFUSED;
	struct lb_sockaddr_obj o = {
	    .kind = LB_ADDR_UNIX_PATH, .name = t->r.path, .name_len = strlen(t->r.path)};
	t->via.sun_family = AF_UNIX;
	if (binding) {
		rc = lb_judge_addr(c, cls, &o);
		t->bind_by_name = rc == 0;
		return rc;
	}
	t->objfd = openat(t->r.dirfd, t->r.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (t->objfd < 0)
		return -errno;
	struct stat st;
	if (fstat(t->objfd, &st) < 0)
		return -errno;
	if (S_ISSOCK(st.st_mode) && !own_socket(c->core, &st) &&
	    !lb_judge_names_unix(c, cls, t->r.path))
		return refuse_foreign(c, t->r.path);
	rc = lb_judge_addr(c, cls, &o);
	if (rc < 0)
		return rc;
	int n = snprintf(t->via.sun_path, sizeof(t->via.sun_path), "/proc/self/fd/%d", t->objfd);
	t->use = (const struct sockaddr *)&t->via;
	t->use_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

/* Judge the address and point t->use at what the kernel is to be given
 * (our copy, or the /proc/self/fd form for unix paths). */
static int judge_address(struct lb_call *c, enum net_op op, int sock, const struct addr_copy *a,
			 struct target *t)
{
	enum lb_class cls = op == NET_BIND ? LB_CLASS_BIND : LB_CLASS_CONNECT;
	int rc = lb_sockaddr_decode(a->b, a->len, sockopt_int(sock, SO_DOMAIN), op == NET_CONNECT,
				    &t->sa);
	if (rc < 0)
		return rc;
	t->use = (const struct sockaddr *)a->b;
	t->use_len = a->len;
	switch (t->sa.form) {
	case LB_SA_INET:
		return judge_inet(c, cls, sock, &t->sa);
	case LB_SA_UNIX_ABSTRACT:
		return judge_abstract(c, cls, &t->sa);
	case LB_SA_UNIX_PATH:
		return judge_unix_path(c, op, t);
	case LB_SA_NETLINK: /* the kernel: judged by its own checks, as the program */
		return sockopt_int(sock, SO_DOMAIN) == AF_NETLINK ? 0 : -EAFNOSUPPORT;
	case LB_SA_UNIX_UNNAMED: /* autobind to a fresh abstract name */
	case LB_SA_UNSPEC:	 /* dissolving an association */
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* The sockaddr at args[addr_arg] (its length next to it), copied once,
 * and the caller's socket args[0] as a supervisor fd. */
static int addr_and_socket(struct lb_call *c, unsigned addr_arg, struct addr_copy *a, int *sock)
{
	int rc = copy_addr(c, ARG(c, addr_arg), ARG(c, addr_arg + 1), false, a);
	if (rc < 0)
		return rc;
	*sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	return *sock < 0 ? *sock : 0;
}

/* ---- bind of a unix path ------------------------------------------------------------ */

/* The kernel records the name given to bind() as the socket's address:
 * that is what getsockname, getpeername, accept and recvfrom report, so
 * it must be the program's own name. The kernel also resolves that name
 * itself, following symlinks in its directories, which the program could
 * swap after the judgement. So the bind is done beneath the directory the
 * supervisor resolved and judged (lb_host_bind_beneath), with the
 * caller's cwd and umask. */
static int bind_unix_path(struct lb_call *c, int sock, const struct sockaddr *addr, socklen_t len,
			  struct target *t)
{
	lb_autoclose int cwdfd = -1;
	if (t->sa.path[0] != '/') {
		cwdfd = lb_proc_fd_open(c, AT_FDCWD, O_PATH | O_DIRECTORY);
		if (cwdfd < 0)
			return cwdfd;
	}
	int rc = lb_host_bind_beneath(c, sock, addr, len, t->r.dirfd, cwdfd, lb_caller_umask(c));
	if (rc == 0)
		record_bound(c->core, sock, t->r.dirfd, t->r.name);
	return rc;
}

/* ---- connect, bind, sendto ------------------------------------------------------------ */

static int do_bind(struct lb_call *c, int sock, const struct addr_copy *a, struct target *t)
{
	if (!t->bind_by_name)
		return lb_host_bind(c, sock, t->use, t->use_len);
	if (strncmp(t->sa.path, "/proc/", 6) != 0)
		return bind_unix_path(c, sock, (const struct sockaddr *)a->b, a->len, t);
	/* The program's /proc/self is not the supervisor's: bind through the
	 * resolved directory (the socket's name is then that /proc form), on
	 * the same confined thread, so the file gets the program's umask and
	 * owner from the bind itself and nothing is changed afterwards. */
	int n = snprintf(t->via.sun_path, sizeof(t->via.sun_path), "/proc/self/fd/%d/%s",
			 t->r.dirfd, t->r.name);
	if ((size_t)n >= sizeof(t->via.sun_path))
		return -ENAMETOOLONG;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return bind_unix_path(c, sock, (const struct sockaddr *)&t->via, len, t);
}

static struct lb_answer h_connect_bind(struct lb_call *c, enum net_op op)
{
	struct addr_copy a;
	struct target t = TARGET_INIT;

	lb_autoclose int sock = -1;
	int rc = addr_and_socket(c, 1, &a, &sock);
	if (rc == 0 && op == NET_CONNECT && lb_dns_intercept(c, sock, a.b, a.len, &rc))
		return rc < 0 ? lb_ans_errno(-rc) : lb_ans_value(0);
	if (rc == 0)
		rc = judge_address(c, op, sock, &a, &t);
	if (rc == 0 && op == NET_BIND)
		rc = do_bind(c, sock, &a, &t);
	else if (rc == 0)
		rc = lb_host_connect(c, sock, t.use, t.use_len);
	target_release(&t);
	if (rc < 0)
		return lb_ans_errno(-rc);
	return lb_ans_value(0);
}

/* MSG_FASTOPEN connects as it sends: towards a nameserver it would reach
 * it unmediated, where connect() is redirected to litebox's resolver
 * (lib/dns.c). Refused as Linux refuses fast open where it is off. */
static int fastopen_check(struct lb_call *c, int sock, const struct addr_copy *a, int flags)
{
	if (!(flags & MSG_FASTOPEN) || !lb_dns_nameserver_stream(c, sock, a->b, a->len))
		return 0;
	return lb_refuse_boundary(c, LB_CLASS_CONNECT, "tcp nameserver:53 (fast open)", EOPNOTSUPP);
}

static struct lb_answer h_sendto(struct lb_call *c)
{
	struct addr_copy a;
	struct target t = TARGET_INIT;
	size_t len = (size_t)ARG(c, 2);

	lb_autoclose int sock = -1;
	int rc = addr_and_socket(c, 4, &a, &sock);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (len > LB_SENDTO_MAX)
		len = LB_SENDTO_MAX; /* a short send, as a full socket buffer gives */
	lb_autofree char *buf = malloc(len ? len : 1);
	if (!buf)
		return lb_ans_errno(ENOMEM);
	if ((rc = c->ops->read_mem(c->t, ARG(c, 1), buf, len)) < 0)
		return lb_ans_errno(-rc);
	rc = judge_address(c, NET_SENDTO, sock, &a, &t);
	if (rc == 0)
		rc = fastopen_check(c, sock, &a, (int)ARG(c, 3));
	ssize_t n = -1;
	if (rc == 0) {
		struct iovec iov = {.iov_base = buf, .iov_len = len};
		struct msghdr mh = {.msg_name = (void *)t.use,
				    .msg_namelen = t.use_len,
				    .msg_iov = &iov,
				    .msg_iovlen = 1};
		n = lb_host_sendmsg(c, sock, &mh, (int)ARG(c, 3));
		rc = n < 0 ? (int)n : 0;
	}
	target_release(&t);
	if (rc < 0)
		return lb_ans_errno(-rc);
	return lb_ans_value(n);
}

/* ---- sendmsg and sendmmsg ------------------------------------------------------- */

#define LB_MAX_IOV 1024 /* UIO_MAXIOV */
#define LB_MAX_CONTROL 65536
#define LB_MAX_PASSED_FDS 253 /* SCM_MAX_FD */

/* A message copied out of the target: data coalesced into one buffer,
 * control messages with the caller's fd numbers replaced by ours. The
 * host sendmsg then uses only this copy. */
struct msg_copy {
	struct msghdr h;
	struct iovec iov;
	struct addr_copy addr;
	struct target t;
	char *data;
	uint8_t *control;
	int fds[LB_MAX_PASSED_FDS];
	int n_fds;
};

static void msg_copy_release(struct msg_copy *m)
{
	free(m->data);
	free(m->control);
	for (int i = 0; i < m->n_fds; i++)
		close(m->fds[i]);
	target_release(&m->t);
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
		if (sockopt_int(sock, SO_TYPE) != SOCK_STREAM)
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
static int translate_rights(struct lb_call *c, const struct lb_cmsg *cm, struct msg_copy *m)
{
	size_t n = cm->data_len / sizeof(int);
	for (size_t i = 0; i < n; i++) {
		int fd;
		uint8_t *at = m->control + cm->data_off + i * sizeof(int);
		memcpy(&fd, at, sizeof(fd));
		if (m->n_fds == LB_MAX_PASSED_FDS)
			return -ETOOMANYREFS;
		int ours = c->ops->get_fd(c->t, fd);
		if (ours < 0)
			return -EBADF;
		m->fds[m->n_fds++] = ours;
		memcpy(at, &ours, sizeof(ours));
	}
	return 0;
}

static bool may_claim(uint32_t id, uint32_t r, uint32_t e, uint32_t s, uint64_t caps, int cap)
{
	return id == r || id == e || id == s || (caps & (1ULL << cap));
}

/* The kernel accepts a pid in SCM_CREDENTIALS only from that process or
 * with CAP_SYS_ADMIN, which the program does not have and litebox does
 * not lend: the message names the thread that sends it, the supervisor,
 * as the kernel's implicit credentials do (docs/security.md, known gaps).
 * uid and gid are checked against the program's ids here, and again by
 * the kernel against the sending thread's, which has the program's real,
 * effective and saved ids for the send (lb_creds_enter_sender). */
static int translate_creds(struct lb_call *c, const struct lb_cmsg *cm, struct msg_copy *m)
{
	struct ucred uc;
	if (cm->data_len < sizeof(uc))
		return 0; /* the kernel answers EINVAL */
	memcpy(&uc, m->control + cm->data_off, sizeof(uc));
	struct lb_creds cr;
	lb_caller_creds(c, &cr);
	if (!may_claim(uc.uid, cr.ruid, cr.euid, cr.suid, cr.cap_eff, CAP_SETUID) ||
	    !may_claim(uc.gid, cr.rgid, cr.egid, cr.sgid, cr.cap_eff, CAP_SETGID))
		return -EPERM;
	uc.pid = getpid();
	memcpy(m->control + cm->data_off, &uc, sizeof(uc));
	return 0;
}

static int refuse_route(struct lb_call *c, const char *what)
{
	char obj[96];
	snprintf(obj, sizeof(obj), "sendmsg %s", what);
	return lb_refuse_boundary(c, LB_CLASS_SYSCALL, obj, EPERM);
}

static int copy_msg_control(struct lb_call *c, const struct msghdr *th, struct msg_copy *m)
{
	if (!th->msg_control || th->msg_controllen == 0)
		return 0;
	if (th->msg_controllen > LB_MAX_CONTROL)
		return -ENOBUFS;
	size_t len = th->msg_controllen;
	m->control = malloc(len);
	if (!m->control)
		return -ENOMEM;
	int rc = c->ops->read_mem(c->t, (uint64_t)(uintptr_t)th->msg_control, m->control, len);
	if (rc < 0)
		return rc;
	m->h.msg_control = m->control;
	m->h.msg_controllen = len;
	bool lifted = lb_routing_sockopts_allowed(c);
	struct lb_cmsg cm;
	size_t pos = 0;
	while ((rc = lb_cmsg_next(m->control, len, &pos, &cm)) > 0) {
		const char *route =
		    lb_route_cmsg(cm.level, cm.type, m->control + cm.data_off, cm.data_len);
		if (route && !lifted)
			return refuse_route(c, route);
		if (cm.level != SOL_SOCKET)
			continue;
		if (cm.type == SCM_RIGHTS && (rc = translate_rights(c, &cm, m)) < 0)
			return rc;
		if (cm.type == SCM_CREDENTIALS && (rc = translate_creds(c, &cm, m)) < 0)
			return rc;
	}
	return rc;
}

/* Copy, judge (when it names a destination) and send one message. */
static ssize_t send_one(struct lb_call *c, int sock, uint64_t msghdr_addr, int flags)
{
	struct msghdr th;
	struct msg_copy m = {.t = TARGET_INIT};
	int rc = c->ops->read_mem(c->t, msghdr_addr, &th, sizeof(th));
	if (rc == 0)
		rc = copy_msg_data(c, sock, &th, &m);
	if (rc == 0)
		rc = copy_msg_control(c, &th, &m);
	if (rc == 0 && th.msg_name && th.msg_namelen) {
		rc = copy_addr(c, (uint64_t)(uintptr_t)th.msg_name, th.msg_namelen, true, &m.addr);
		if (rc == 0)
			rc = judge_address(c, NET_SENDTO, sock, &m.addr, &m.t);
		if (rc == 0)
			rc = fastopen_check(c, sock, &m.addr, flags);
		m.h.msg_name = (void *)m.t.use;
		m.h.msg_namelen = m.t.use_len;
	}
	ssize_t n = rc;
	if (rc == 0) {
		n = lb_host_sendmsg(c, sock, &m.h, flags);
	}
	msg_copy_release(&m);
	return n;
}

static struct lb_answer h_sendmsg(struct lb_call *c)
{
	lb_autoclose int sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	if (sock < 0)
		return lb_ans_errno(-sock);
	ssize_t n = send_one(c, sock, ARG(c, 1), (int)ARG(c, 2));
	if (n < 0)
		return lb_ans_errno((int)-n);
	return lb_ans_value(n);
}

static struct lb_answer h_sendmmsg(struct lb_call *c)
{
	unsigned vlen = (unsigned)ARG(c, 2);
	if (vlen > LB_MAX_IOV)
		vlen = LB_MAX_IOV;
	lb_autoclose int sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	if (sock < 0)
		return lb_ans_errno(-sock);
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
		return lb_ans_errno((int)-n);
	return lb_ans_value(sent);
}

/* listen() on a socket never bound binds it to the wildcard address and
 * an ephemeral port: judged as such a bind. Performed by the supervisor
 * on the socket it checked. */
static struct lb_answer h_listen(struct lb_call *c)
{
	lb_autoclose int sock = c->ops->get_fd(c->t, (int)ARG(c, 0));
	if (sock < 0)
		return lb_ans_errno(-sock);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int dom = sockopt_int(sock, SO_DOMAIN);
	if ((dom == AF_INET || dom == AF_INET6) &&
	    getsockname(sock, (struct sockaddr *)&ss, &len) == 0) {
		uint16_t port = dom == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					       : ((struct sockaddr_in6 *)&ss)->sin6_port;
		if (port == 0) {
			struct lb_sockaddr_obj o = {.kind = LB_ADDR_TCP, .is_v4 = dom == AF_INET};
			int rc = lb_judge_addr(c, LB_CLASS_BIND, &o);
			if (rc < 0)
				return lb_ans_errno(EACCES);
		}
	}
	int rc = lb_host_listen(c, sock, (int)ARG(c, 1));
	if (rc < 0)
		return lb_ans_errno(-rc);
	return lb_ans_value(0);
}

/* Options that send traffic elsewhere than its destination: the filter
 * sends these (level, name) pairs here, decided on the registers alone.
 * Any other option, or a routing one the policy allows, arrives only when
 * a syscall rule takes every setsockopt (`audit syscall setsockopt`):
 * lb_core_untabled records and continues it for that rule, and refuses
 * it (recorded, EPERM) if no rule explains the trap. */
static struct lb_answer h_setsockopt(struct lb_call *c)
{
	const char *name = lb_route_sockopt((int)ARG(c, 1), (int)ARG(c, 2));
	if (!name || lb_routing_sockopts_allowed(c))
		return lb_core_untabled(c);
	char obj[96];
	snprintf(obj, sizeof(obj), "setsockopt %s", name);
	return lb_ans_errno(-lb_refuse_boundary(c, LB_CLASS_SYSCALL, obj, EPERM));
}

struct lb_answer lb_net_handle(struct lb_call *c)
{
	switch (c->row->kind) {
	case LB_K_CONNECT:
		return h_connect_bind(c, NET_CONNECT);
	case LB_K_BIND:
		return h_connect_bind(c, NET_BIND);
	case LB_K_SENDTO:
		return h_sendto(c);
	case LB_K_SENDMSG:
		return h_sendmsg(c);
	case LB_K_SENDMMSG:
		return h_sendmmsg(c);
	case LB_K_LISTEN:
		return h_listen(c);
	case LB_K_SETSOCKOPT:
		return h_setsockopt(c);
	default:
		return lb_ans_errno(EPERM);
	}
}
