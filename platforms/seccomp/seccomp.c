/* SPDX-License-Identifier: MIT */
/* The seccomp user-notification platform: the child loads the filter with
 * a listener, the supervisor takes the listener with pidfd_getfd and serves
 * notifications on a pool of worker threads. This file holds every seccomp
 * ioctl of litebox and no policy decision. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "litebox/util.h"
#include "seccomp_internal.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* Workers grow on demand so that one slow emulated call (a blocking open of
 * a FIFO, a connect) never stalls the others: whenever the last idle
 * worker takes a notification, another one is started. */
#define LB_MAX_WORKERS 64

struct lb_platform {
	int listener;
	void (*handler)(void *ctx, struct lb_trap *t);
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t done;
	int n_workers, n_running;
	atomic_int n_idle;
	bool stopping;
	atomic_bool stop_flag;
	pthread_t threads[LB_MAX_WORKERS];
};

/* Interrupts a worker blocked in NOTIF_RECV (its handler does nothing;
 * installed without SA_RESTART, so the ioctl returns EINTR). */
#define LB_STOP_SIGNAL (SIGRTMIN + 3)

static void on_stop_signal(int sig)
{
	(void)sig;
}

struct worker_trap {
	struct lb_platform *p;
	int pidfd;
};

/* ---- child side ------------------------------------------------------- */

static int sc_install(const struct lb_prepared *prep)
{
	unsigned long flags =
	    SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prep->prog);
	if (fd < 0 && errno == EINVAL) {
		/* Before 5.19: signals may restart a notified call (documented in
		 * docs/security.md); still correct, only less robust. */
		flags &= ~(unsigned long)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prep->prog);
	}
	return fd < 0 ? -errno : (int)fd;
}

/* ---- parent side ------------------------------------------------------ */

static int sc_attach(pid_t child, int child_fd, struct lb_platform **out)
{
	lb_autoclose int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0)
		return -errno;
	lb_autoclose int listener = (int)syscall(SYS_pidfd_getfd, pidfd, child_fd, 0);
	if (listener < 0)
		return -errno;
	if (fcntl(listener, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	/* Wake the supervisor on the target's CPU and back: halves the round
	 * trip (kernel 6.6+). Older kernels: EINVAL, fine. */
	uint64_t sync_flag = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
	(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, sync_flag);

	lb_autofree struct lb_platform *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->done, NULL);
	p->listener = steal_fd(&listener);
	*out = steal_pointer(&p);
	return 0;
}

/* Wait for a notification; 0 on stop. The ioctl blocks directly (no
 * poll in front: one syscall and one wake-up less per call); stop
 * interrupts it with LB_STOP_SIGNAL. */
static int receive(struct lb_platform *p, struct seccomp_notif *req)
{
	for (;;) {
		if (atomic_load(&p->stop_flag))
			return 0;
		memset(req, 0, sizeof(*req));
		if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
			return 1;
		/* ENOENT: the target died or was interrupted before we got it,
		 * or no process uses the filter any more - then RECV fails at
		 * once, every time: POLLHUP tells, and the worker leaves
		 * instead of spinning. EINTR: stop, or a stray signal. */
		if (errno == ENOENT) {
			struct pollfd pfd = {.fd = p->listener, .events = POLLIN};
			if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP))
				return 0;
			continue;
		}
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

static void *worker_main(void *arg);

/* Called with the lock held. */
static void spawn_worker_locked(struct lb_platform *p)
{
	pthread_t t;
	pthread_attr_t attr;

	if (p->n_workers >= LB_MAX_WORKERS || p->stopping)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, worker_main, p) == 0) {
		p->threads[p->n_workers] = t;
		p->n_workers++;
		p->n_running++;
		atomic_fetch_add(&p->n_idle, 1);
	}
	pthread_attr_destroy(&attr);
}

static void *worker_main(void *arg)
{
	struct lb_platform *p = arg;
	struct seccomp_notif req;
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, LB_STOP_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);

	for (;;) {
		int rc = receive(p, &req);
		if (rc <= 0)
			break;
		if (atomic_fetch_sub(&p->n_idle, 1) == 1) {
			pthread_mutex_lock(&p->lock);
			spawn_worker_locked(p);
			pthread_mutex_unlock(&p->lock);
		}

		struct worker_trap wt = {.p = p, .pidfd = -1};
		struct lb_trap trap = {
		    .id = req.id,
		    .pid = (pid_t)req.pid,
		    .nr = req.data.nr,
		    .priv = &wt,
		};
		memcpy(trap.args, req.data.args, sizeof(trap.args));
		p->handler(p->ctx, &trap);
		if (wt.pidfd >= 0)
			close(wt.pidfd);

		atomic_fetch_add(&p->n_idle, 1);
	}
	pthread_mutex_lock(&p->lock);
	p->n_running--;
	atomic_fetch_sub(&p->n_idle, 1);
	p->stopping = true; /* the listener is gone: no new workers */
	pthread_cond_broadcast(&p->done);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int sc_serve(struct lb_platform *p, void (*handler)(void *ctx, struct lb_trap *t), void *ctx)
{
	p->handler = handler;
	p->ctx = ctx;
	struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	if (sigaction(LB_STOP_SIGNAL, &sa, NULL) < 0)
		return -errno;
	pthread_mutex_lock(&p->lock);
	spawn_worker_locked(p);
	int ok = p->n_workers > 0;
	pthread_mutex_unlock(&p->lock);
	return ok ? 0 : -EAGAIN;
}

static void sc_stop(struct lb_platform *p)
{
	atomic_store(&p->stop_flag, true);
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	/* A worker may be between its flag check and the ioctl when the
	 * signal lands: signal again until every worker is out. */
	while (p->n_running > 0) {
		for (int i = 0; i < p->n_workers; i++)
			pthread_kill(p->threads[i], LB_STOP_SIGNAL);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 5 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->done, &p->lock, &until);
	}
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->n_workers; i++)
		pthread_join(p->threads[i], NULL);
}

static void sc_destroy(struct lb_platform *p)
{
	if (!p)
		return;
	close(p->listener);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->done);
	free(p);
}

/* ---- per-trap services ------------------------------------------------ */

static struct lb_platform *platform_of(struct lb_trap *t)
{
	return ((struct worker_trap *)t->priv)->p;
}

static int sc_still_valid(struct lb_trap *t)
{
	uint64_t id = t->id;
	if (ioctl(platform_of(t)->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
		return -ENOENT;
	return 0;
}

static int copy_from(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : -EFAULT;
	return (size_t)n == len ? 0 : -EFAULT;
}

static int sc_read_mem(struct lb_trap *t, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	int rc = copy_from(t->pid, addr, buf, len);
	if (rc < 0)
		return rc;
	/* The pid may have died and been reused between the notification and
	 * the read: only a still-valid id proves we read the caller. */
	return sc_still_valid(t);
}

/* Strings are read page by page: a string may end right before an
 * unmapped page, which a single large read would fault on. */
static int sc_read_str(struct lb_trap *t, uint64_t addr, char *buf, size_t cap)
{
	const uint64_t page = 4096;
	size_t got = 0;

	if (addr == 0)
		return -EFAULT;
	while (got < cap) {
		uint64_t cur = addr + got;
		size_t chunk = (size_t)(page - (cur % page));
		/* Most paths are short: a first small read saves copying a page. */
		if (got == 0 && chunk > 256)
			chunk = 256;
		if (chunk > cap - got)
			chunk = cap - got;
		int rc = copy_from(t->pid, cur, buf + got, chunk);
		if (rc < 0)
			return rc;
		char *nul = memchr(buf + got, '\0', chunk);
		if (nul)
			return sc_still_valid(t);
		got += chunk;
	}
	return -ENAMETOOLONG;
}

static int sc_write_mem(struct lb_trap *t, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = {.iov_base = (void *)buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	int rc = sc_still_valid(t);
	if (rc < 0)
		return rc;
	ssize_t n = process_vm_writev(t->pid, &local, 1, &remote, 1, 0);
	if (n < 0 || (size_t)n != len)
		return -EFAULT;
	return 0;
}

static int trap_pidfd(struct lb_trap *t)
{
	struct worker_trap *wt = t->priv;
	if (wt->pidfd >= 0)
		return wt->pidfd;
	/* The notification names the calling thread; PIDFD_THREAD (6.9+)
	 * accepts a thread id, older kernels only the thread-group leader. */
	int fd = (int)syscall(SYS_pidfd_open, t->pid, PIDFD_THREAD);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (fd < 0)
		return -errno;
	wt->pidfd = fd;
	return sc_still_valid(t) < 0 ? -ESRCH : fd;
}

static int sc_get_fd(struct lb_trap *t, int target_fd)
{
	int pidfd = trap_pidfd(t);
	if (pidfd < 0)
		return pidfd;
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
	if (fd < 0)
		return errno == EBADF ? -EBADF : -errno;
	return fd;
}

static int sc_reply(struct lb_trap *t, enum lb_reply_kind kind, int64_t value, int fd, bool cloexec)
{
	int listener = platform_of(t)->listener;

	if (kind == LB_REPLY_FD) {
		struct seccomp_notif_addfd addfd = {
		    .id = t->id,
		    .flags = SECCOMP_ADDFD_FLAG_SEND,
		    .srcfd = (uint32_t)fd,
		    .newfd = 0,
		    .newfd_flags = cloexec ? O_CLOEXEC : 0,
		};
		/* Installs the fd at the lowest free number and answers with it,
		 * in one step: the target never sees a half state. */
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0)
			return 0;
		if (errno == ENOENT)
			return -ENOENT;
		/* EMFILE and friends: answer with the error instead. */
		kind = LB_REPLY_ERROR;
		value = -errno;
	}
	struct seccomp_notif_resp resp = {.id = t->id};
	switch (kind) {
	case LB_REPLY_VALUE:
		resp.val = value;
		break;
	case LB_REPLY_ERROR:
		resp.error = (int32_t)(value < 0 ? value : -value);
		break;
	case LB_REPLY_CONTINUE:
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		break;
	case LB_REPLY_FD:
		break;
	}
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
		return -errno;
	return 0;
}

static int sc_prepare(const struct lb_filter_plan *plan, struct lb_prepared **out)
{
	return lb_seccomp_prepare(plan, out);
}

const struct lb_platform_ops lb_platform_seccomp = {
    .name = "seccomp",
    .prepare = sc_prepare,
    .free_prepared = lb_seccomp_free_prepared,
    .install = sc_install,
    .attach = sc_attach,
    .serve = sc_serve,
    .stop = sc_stop,
    .destroy = sc_destroy,
    .read_mem = sc_read_mem,
    .read_str = sc_read_str,
    .write_mem = sc_write_mem,
    .get_fd = sc_get_fd,
    .still_valid = sc_still_valid,
    .reply = sc_reply,
};
