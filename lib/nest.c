/* SPDX-License-Identifier: MIT */
/* Nested domains: the request's wire format, the inner litebox's side of
 * the handshake, and the outer's helper process that starts a supervisor
 * per nested domain (see litebox/nest.h and docs/security.md). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core_internal.h"
#include "litebox/nest.h"
#include "confine.h"
#include "litebox/util.h"
#include "nest_internal.h"

#define WIRE_MAGIC 0x4c424e31u /* "LBN1" */
#define MAX_LIST 65536u

enum { L_SCALARS, L_ARGV, L_ENVP, L_READ, L_EXEC, L_PROTECT, L_FILES, L_CLI, N_LISTS };
enum { N_SCALARS = 8 };

struct wire {
	uint32_t magic, flags;
	int32_t log_fd;
	uint32_t n[N_LISTS];
	uint64_t timeout_ms;
};

/* ---- wire format ---------------------------------------------------------------- */

static size_t list_len(char *const *v, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	return len;
}

static size_t count(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static char *put_list(char *p, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]) + 1;
		memcpy(p, v[i], l);
		p += l;
	}
	return p;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

int lb_nest_encode(const struct lb_nest_request *req, char **out, size_t *len)
{
	const char *scalars[N_SCALARS] = {req->policy_name,	 or_empty(req->log_path),
					  req->exec_path,	 or_empty(req->timeout_text),
					  or_empty(req->cwd),	 or_empty(req->home),
					  or_empty(req->tmpdir), or_empty(req->exe_dir)};
	char *const *lists[N_LISTS] = {
	    (char *const *)scalars, req->argv,	  req->envp,  req->implicit_read,
	    req->implicit_exec,	    req->protect, req->files, req->cli};
	struct wire w = {.magic = WIRE_MAGIC,
			 .flags = req->flags,
			 .log_fd = req->log_fd,
			 .n = {N_SCALARS, (uint32_t)count(req->argv), (uint32_t)count(req->envp),
			       (uint32_t)req->n_implicit_read, (uint32_t)req->n_implicit_exec,
			       (uint32_t)req->n_protect, (uint32_t)(2 * req->n_files),
			       (uint32_t)(3 * req->n_cli)},
			 .timeout_ms = req->timeout_ms};
	size_t total = sizeof(w);
	for (int l = 0; l < N_LISTS; l++)
		total += list_len(lists[l], w.n[l]);
	if (total > LB_NEST_MAX_REQUEST)
		return -E2BIG;
	char *buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &w, sizeof(w));
	char *p = buf + sizeof(w);
	for (int l = 0; l < N_LISTS; l++)
		p = put_list(p, lists[l], w.n[l]);
	*out = buf;
	*len = total;
	return 0;
}

/* n strings from *p (before end) into a NULL-terminated array. */
static int take_list(char **p, const char *end, uint32_t n, char ***out)
{
	if (n > MAX_LIST)
		return -EINVAL;
	char **v = calloc((size_t)n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		char *nul = memchr(*p, '\0', (size_t)(end - *p));
		if (!nul) {
			free(v);
			return -EINVAL;
		}
		v[i] = *p;
		*p = nul + 1;
	}
	*out = v;
	return 0;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

int lb_nest_decode(char *buf, size_t len, struct lb_nest_request *req)
{
	struct wire w;
	memset(req, 0, sizeof(*req));
	if (len < sizeof(w) || len > LB_NEST_MAX_REQUEST)
		return -EINVAL;
	memcpy(&w, buf, sizeof(w));
	if (w.magic != WIRE_MAGIC || w.log_fd < -1 || w.n[L_SCALARS] != N_SCALARS ||
	    w.n[L_ARGV] == 0 || w.n[L_FILES] % 2 || w.n[L_CLI] % 3)
		return -EINVAL;
	char *p = buf + sizeof(w);
	const char *end = buf + len;
	char **v[N_LISTS] = {0};
	int rc = 0;
	for (int l = 0; l < N_LISTS && rc == 0; l++)
		rc = take_list(&p, end, w.n[l], &v[l]);
	if (rc == 0 && (p != end || v[L_SCALARS][2][0] != '/'))
		rc = -EINVAL;
	if (rc < 0) {
		for (int l = 0; l < N_LISTS; l++)
			free(v[l]);
		return rc;
	}
	char **sc = v[L_SCALARS];
	*req = (struct lb_nest_request){
	    .flags = w.flags,
	    .log_fd = w.log_fd,
	    .timeout_ms = w.timeout_ms,
	    .policy_name = sc[0],
	    .log_path = or_null(sc[1]),
	    .exec_path = sc[2],
	    .timeout_text = or_null(sc[3]),
	    .cwd = or_null(sc[4]),
	    .home = or_null(sc[5]),
	    .tmpdir = or_null(sc[6]),
	    .exe_dir = or_null(sc[7]),
	    .argv = v[L_ARGV],
	    .envp = v[L_ENVP],
	    .implicit_read = v[L_READ],
	    .n_implicit_read = w.n[L_READ],
	    .implicit_exec = v[L_EXEC],
	    .n_implicit_exec = w.n[L_EXEC],
	    .protect = v[L_PROTECT],
	    .n_protect = w.n[L_PROTECT],
	    .files = v[L_FILES],
	    .n_files = w.n[L_FILES] / 2,
	    .cli = v[L_CLI],
	    .n_cli = w.n[L_CLI] / 3,
	};
	free(sc);
	return 0;
}

void lb_nest_request_free(struct lb_nest_request *req)
{
	free(req->argv);
	free(req->envp);
	free(req->implicit_read);
	free(req->implicit_exec);
	free(req->protect);
	free(req->files);
	free(req->cli);
	req->argv = req->envp = req->implicit_read = req->implicit_exec = req->protect = NULL;
	req->files = req->cli = NULL;
}

/* ---- the inner side ------------------------------------------------------------- */

long lb_nest_hello(void)
{
	long r = prctl(LB_NEST_PRCTL, LB_NEST_HELLO, 0, 0, 0);
	return r == LB_NEST_SERVED || r == LB_NEST_NOT_SERVED ? r : 0;
}

int lb_nest_run(const struct lb_nest_request *req)
{
	lb_autofree char *buf = NULL;
	size_t len = 0;
	int rc = lb_nest_encode(req, &buf, &len);
	if (rc < 0)
		return rc;
	long fd = prctl(LB_NEST_PRCTL, LB_NEST_RUN, (unsigned long)buf, (unsigned long)len, 0);
	return fd < 0 ? -errno : (int)fd;
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static int forward_signals(int sigfd, int ctl)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		int32_t sig = (int32_t)si.ssi_signo;
		if (write(ctl, &sig, sizeof(sig)) != sizeof(sig))
			return -EPIPE;
	}
	return 0;
}

int lb_nest_wait(int ctl)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < LB_ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	lb_autoclose int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	for (;;) {
		struct pollfd fds[2] = {{.fd = ctl, .events = POLLIN},
					{.fd = sigfd, .events = POLLIN}};
		if (poll(fds, sigfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (fds[1].revents)
			(void)forward_signals(sigfd, ctl);
		if (!fds[0].revents)
			continue;
		int32_t status;
		ssize_t n = read(ctl, &status, sizeof(status));
		if (n < 0 && errno == EINTR)
			continue;
		return n == sizeof(status) ? (int)status : -EPIPE;
	}
}

/* ---- fd passing ----------------------------------------------------------------- */

#define MAX_PASSED 6

int lb_nest_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_PASSED)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n_fds > MAX_PASSED)
		return -EINVAL;
	if (n_fds) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
	}
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/* Receive one message (SOCK_SEQPACKET: whole) and up to MAX_PASSED fds;
 * the byte count, or -errno (0: the peer is gone). */
ssize_t lb_nest_recv(int sock, void *buf, size_t cap, int *fds, size_t *n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_PASSED)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	*n_fds = 0;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds + *n_fds, CMSG_DATA(cm), k * sizeof(int));
		*n_fds += k;
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		for (size_t i = 0; i < *n_fds; i++)
			close(fds[i]);
		*n_fds = 0;
		return -EMSGSIZE;
	}
	return n;
}

/* ---- the outer side: the helper and a nested domain's supervisor --------------- */

/* Nested domains served at once: each is a supervisor process outside the
 * sandbox, which no pids limit of the sandbox counts. */
#define MAX_DOMAINS 16

enum { FD_IN, FD_OUT, FD_ERR, FD_CWD, FD_CALLER, FD_LOG };

static void send_status(int ctl, int status)
{
	int32_t s = status;
	(void)!write(ctl, &s, sizeof(s));
}

/* A process of its own per domain: 0-2 and the cwd become the inner's,
 * the host's serve callback runs the whole supervised run. */
static __attribute__((noreturn)) void domain_main(const struct lb_nest_host *host,
						  const struct lb_nest_join *base, char *buf,
						  size_t len, int *fds, size_t n_fds, int ctl)
{
	signal(SIGCHLD, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct lb_nest_request req;
	if (lb_nest_decode(buf, len, &req) < 0 || n_fds < FD_LOG ||
	    (req.log_fd >= 0 && req.log_fd != 2 && n_fds <= FD_LOG)) {
		send_status(ctl, 125);
		_exit(0);
	}
	for (int i = FD_IN; i <= FD_ERR; i++)
		if (dup2(fds[i], i) < 0) {
			send_status(ctl, 125);
			_exit(0);
		}
	if (fchdir(fds[FD_CWD]) < 0) {
		send_status(ctl, 125);
		_exit(0);
	}
	if (req.log_fd >= 0 && req.log_fd != 2)
		req.log_fd = fds[FD_LOG];
	struct lb_nest_join join = *base;
	join.cwd = fds[FD_CWD];
	join.caller = fds[FD_CALLER];
	join.ctl = ctl;
	struct lb_nest_job job = {.req = &req, .join = &join};
	send_status(ctl, host->serve(host->arg, &job));
	_exit(0);
}

static int reap(void)
{
	int n = 0;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		n++;
	return n;
}

static __attribute__((noreturn)) void helper_main(const struct lb_nest_host *host,
						  const struct lb_nest_join *base, int sock,
						  pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* Nothing it forks gains by an exec (init' sets this anyway). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || lb_confine_caps(base->helper_caps) < 0)
		_exit(0);
	char *buf = malloc(LB_NEST_MAX_REQUEST);
	int live = 0;
	for (;;) {
		int fds[MAX_PASSED];
		size_t n_fds = 0;
		ssize_t n = buf ? lb_nest_recv(sock, buf, LB_NEST_MAX_REQUEST, fds, &n_fds) : 0;
		if (n <= 0)
			_exit(0);
		live -= reap();
		int ctl[2] = {-1, -1};
		int32_t err = live >= MAX_DOMAINS ? EAGAIN : 0;
		if (!err && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0)
			err = errno;
		pid_t pid = err ? -1 : fork();
		if (pid == 0) {
			close(sock);
			close(ctl[0]);
			domain_main(host, base, buf, (size_t)n, fds, n_fds, ctl[1]);
		}
		if (!err && pid < 0)
			err = errno;
		if (pid > 0)
			live++;
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		if (ctl[1] >= 0)
			close(ctl[1]);
		(void)lb_nest_send(sock, &err, sizeof(err), &ctl[0], err ? 0 : 1);
		if (ctl[0] >= 0)
			close(ctl[0]);
	}
}

int lb_nest_helper_start(const struct lb_nest_host *host, const struct lb_nest_join *base,
			 pid_t *pid)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	pid_t parent = getpid();
	*pid = fork();
	if (*pid < 0) {
		int err = errno;
		close(sp[0]);
		close(sp[1]);
		return -err;
	}
	if (*pid == 0) {
		close(sp[0]);
		helper_main(host, base, sp[1], parent);
	}
	close(sp[1]);
	return sp[0];
}

/* ---- the outer core's answer to the handshake ------------------------------- */

static int caller_fd(struct lb_call *c, int fd)
{
	return c->ops->get_fd(c->t, fd);
}

static bool writable(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl >= 0 && ((fl & O_ACCMODE) == O_WRONLY || (fl & O_ACCMODE) == O_RDWR);
}

/* The fds the nested program gets are the caller's own (0-2, its log),
 * its cwd the caller's: nothing it could not reach already. */
static int collect_fds(struct lb_call *c, const struct lb_nest_request *req, int *fds, size_t *n)
{
	*n = 0;
	for (int i = 0; i < 3; i++) {
		int fd = caller_fd(c, i);
		if (fd < 0)
			return fd;
		fds[(*n)++] = fd;
	}
	int cwd = lb_proc_fd_open(c, AT_FDCWD, O_PATH | O_DIRECTORY);
	if (cwd < 0)
		return cwd;
	fds[(*n)++] = cwd;
	/* the caller itself, checked to be the one still waiting in its call */
	int pidfd = (int)syscall(SYS_pidfd_open, lb_caller_tgid(c), 0);
	if (pidfd < 0)
		return -errno;
	fds[(*n)++] = pidfd;
	if (c->ops->still_valid(c->t) < 0)
		return -ESRCH;
	if (req->log_fd >= 0 && req->log_fd != 2) {
		int fd = caller_fd(c, req->log_fd);
		if (fd < 0)
			return fd;
		fds[(*n)++] = fd;
		if (!writable(fd))
			return -EBADF;
	}
	return 0;
}

static struct lb_answer start_domain(struct lb_call *c, char *buf, size_t len, int *fds,
				     size_t n_fds)
{
	struct lb_core *core = c->core;
	int32_t err = EIO;
	int ctl[MAX_PASSED];
	size_t n_ctl = 0;
	pthread_mutex_lock(&core->nest_lock);
	int rc = lb_nest_send(core->nest_fd, buf, len, fds, n_fds);
	ssize_t n = rc < 0 ? rc : lb_nest_recv(core->nest_fd, &err, sizeof(err), ctl, &n_ctl);
	pthread_mutex_unlock(&core->nest_lock);
	if (n != sizeof(err) || err || n_ctl != 1) {
		for (size_t i = 0; i < n_ctl; i++)
			close(ctl[i]);
		return lb_ans_errno(n == sizeof(err) && err ? err : EIO);
	}
	return lb_ans_fd(ctl[0], true);
}

/* The number of seccomp filters on a task (/proc/PID/status), or -1. */
static long seccomp_filters_of(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	lb_autofclose FILE *f = fopen(path, "re");
	long n = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp_filters: %ld", &n) == 1)
			break;
	return n;
}

/* The nested program starts from a process outside the caller, so what
 * the caller added to its own confinement (a seccomp filter of its own,
 * beyond those every process of the sandbox has) would be shed. */
static bool caller_added_filters(const struct lb_call *c)
{
	long base = seccomp_filters_of(c->core->sandbox_init);
	long own = seccomp_filters_of(c->t->pid);
	return base < 0 || own < 0 || own > base;
}

struct lb_answer lb_nest_handle(struct lb_call *c)
{
	const uint64_t *a = c->t->args;
	bool served = c->core->nest_fd >= 0;
	if (a[1] == LB_NEST_HELLO)
		return lb_ans_value(served ? LB_NEST_SERVED : LB_NEST_NOT_SERVED);
	if (a[1] != LB_NEST_RUN)
		return lb_ans_errno(EINVAL);
	if (!served)
		return lb_ans_errno(ENOSYS);
	/* The nested program starts with the credentials the sandbox started
	 * with (its init joins the sandbox's namespaces as litebox's own did):
	 * a program that lowered its ids or capabilities since would get them
	 * back through a nested run. Refused once any process of the sandbox
	 * changed its credentials. */
	/* --dry-run and learn keep refused what would reach the host; the
	 * nested domain's own core would judge those calls in audit mode
	 * with nothing kept, so no nested domain is started under them. */
	if (c->core->cfg.dry_run || c->core->cfg.learning)
		return lb_ans_errno(-lb_refuse_boundary(
		    c, LB_CLASS_SYSCALL, "nested run under --dry-run or learn", EPERM));
	if (caller_added_filters(c))
		return lb_ans_errno(-lb_refuse_boundary(c, LB_CLASS_SYSCALL,
							"nested run after a seccomp filter of the "
							"program's own",
							EPERM));
	if (atomic_load(&c->core->creds_changed))
		return lb_ans_errno(-lb_refuse_boundary(
		    c, LB_CLASS_SYSCALL, "nested run after a change of credentials", EPERM));
	if (a[3] < sizeof(struct wire) || a[3] > LB_NEST_MAX_REQUEST)
		return lb_ans_errno(EINVAL);
	size_t len = (size_t)a[3];
	lb_autofree char *buf = malloc(len);
	if (!buf)
		return lb_ans_errno(ENOMEM);
	int rc = c->ops->read_mem(c->t, a[2], buf, len);
	if (rc < 0)
		return lb_ans_errno(-rc);
	/* Judged once here on litebox's copy; the helper gets the same bytes. */
	lb_autofree char *copy = malloc(len);
	struct lb_nest_request req;
	if (!copy)
		return lb_ans_errno(ENOMEM);
	memcpy(copy, buf, len);
	if (lb_nest_decode(copy, len, &req) < 0)
		return lb_ans_errno(EINVAL);
	int fds[MAX_PASSED];
	size_t n_fds = 0;
	rc = collect_fds(c, &req, fds, &n_fds);
	struct lb_answer ans = rc < 0 ? lb_ans_errno(-rc) : start_domain(c, buf, len, fds, n_fds);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	lb_nest_request_free(&req);
	return ans;
}
