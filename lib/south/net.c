/* SPDX-License-Identifier: MIT */
/* The south for sockets: each function is one host operation on
 * litebox's copy of the caller's socket, with the address the core
 * judged, done as the program (lb_creds_enter), so that the kernel's own
 * checks on the sending task (netlink's CAP_NET_ADMIN, CAP_NET_RAW for IP
 * options, CAP_NET_BIND_SERVICE) come out as they would for it. No
 * decisions: see litebox/south.h. */
#include <errno.h>
#include <linux/landlock.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "litebox/south.h"
#include "litebox/util.h"

/* ---- acting as the program ------------------------------------------------------ */

int lb_host_bind(struct lb_call *c, int sock, const struct sockaddr *sa, socklen_t len)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter(c, &g);
	if (rc == 0 && bind(sock, sa, len) < 0)
		rc = -errno;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_connect(struct lb_call *c, int sock, const struct sockaddr *sa, socklen_t len)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter_sender(c, &g);
	if (rc == 0 && connect(sock, sa, len) < 0)
		rc = -errno;
	lb_creds_leave(&g);
	return rc;
}

int lb_host_listen(struct lb_call *c, int sock, int backlog)
{
	struct lb_creds_guard g;
	int rc = lb_creds_enter_sender(c, &g);
	if (rc == 0 && listen(sock, backlog) < 0)
		rc = -errno;
	lb_creds_leave(&g);
	return rc;
}

ssize_t lb_host_sendmsg(struct lb_call *c, int sock, const struct msghdr *m, int flags)
{
	struct lb_creds_guard g;
	ssize_t n = lb_creds_enter_sender(c, &g);
	if (n == 0 && (n = sendmsg(sock, m, flags)) < 0)
		n = -errno;
	lb_creds_leave(&g);
	return n;
}

/* ---- unix sockets ------------------------------------------------------------------ */

/* The file a unix socket is bound to, asked of the socket itself
 * (sock_diag's UNIX_DIAG_VFS): no path lookup, so no rename or link the
 * program makes can change the answer. */
int lb_host_bound_file(int sock, dev_t *dev, ino_t *ino)
{
	struct stat st;
	if (fstat(sock, &st) < 0)
		return -errno;
	lb_autoclose int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
	    .h = {.nlmsg_len = sizeof(req),
		  .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		  .nlmsg_flags = NLM_F_REQUEST},
	    .r = {.sdiag_family = AF_UNIX,
		  .udiag_ino = (uint32_t)st.st_ino,
		  .udiag_show = UDIAG_SHOW_VFS,
		  .udiag_cookie = {~0U, ~0U}},
	};
	if (send(nl, &req, sizeof(req), 0) < 0)
		return -errno;
	uint32_t buf[2048];
	ssize_t n = recv(nl, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return -ENOENT;
	size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof(struct unix_diag_msg));
	struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) + sizeof(struct unix_diag_msg));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type != UNIX_DIAG_VFS || RTA_PAYLOAD(a) < sizeof(struct unix_diag_vfs))
			continue;
		struct unix_diag_vfs v;
		memcpy(&v, RTA_DATA(a), sizeof(v));
		/* the kernel's internal dev_t: 12 bits major, 20 bits minor */
		*dev = makedev(v.udiag_vfs_dev >> 20, v.udiag_vfs_dev & 0xfffff);
		*ino = v.udiag_vfs_ino;
		return 0;
	}
	return -ENOENT;
}

struct bind_job {
	struct lb_call *c;
	int sock;
	const struct sockaddr *addr;
	socklen_t len;
	int dirfd;
	int cwdfd;
	mode_t umask;
	int err;
};

struct ll_attr {
	uint64_t handled_access_fs;
};

struct ll_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static int confine_to_dir(int dirfd)
{
	struct ll_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_SOCK};
	lb_autoclose int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return -errno;
	struct ll_beneath pb = {.allowed_access = LANDLOCK_ACCESS_FS_MAKE_SOCK, .parent_fd = dirfd};
	if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return -errno;
	return 0;
}

static void *bind_thread(void *arg)
{
	struct bind_job *j = arg;
	int rc = confine_to_dir(j->dirfd);
	if (rc == 0 && unshare(CLONE_FS) < 0)
		rc = -errno;
	if (rc == 0 && j->cwdfd >= 0 && fchdir(j->cwdfd) < 0)
		rc = -errno;
	if (rc == 0) {
		umask(j->umask);
		/* this thread only, and it ends with the bind: no way back needed */
		struct lb_creds_guard g;
		rc = lb_creds_enter(j->c, &g);
		if (rc == 0 && bind(j->sock, j->addr, j->len) < 0)
			rc = -errno;
	}
	j->err = rc;
	return NULL;
}

/* The thread ends with the bind: its Landlock domain cannot be lifted,
 * and a rename or symlink cannot move the directory fd it is bound to. */
int lb_host_bind_beneath(struct lb_call *c, int sock, const struct sockaddr *sa, socklen_t len,
			 int dirfd, int cwdfd, mode_t umask)
{
	struct bind_job j = {.c = c,
			     .sock = sock,
			     .addr = sa,
			     .len = len,
			     .dirfd = dirfd,
			     .cwdfd = cwdfd,
			     .umask = umask};
	pthread_t th;
	int rc = pthread_create(&th, NULL, bind_thread, &j);
	if (rc != 0)
		return -rc;
	pthread_join(th, NULL);
	return j.err;
}
