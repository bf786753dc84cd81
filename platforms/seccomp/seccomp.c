/* SPDX-License-Identifier: MIT */
/* The seccomp user-notification platform: the child loads the filter with
 * a listener, the supervisor takes the listener with pidfd_getfd and serves
 * notifications on a pool of worker threads. This file holds every seccomp
 * ioctl of litebox and no policy decision. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
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

/* The worker pool. Exactly one worker (the receiver) waits in NOTIF_RECV:
 * every idle waiter there is woken by each notification (the kernel wakes
 * all of them), which measured twice the bare round trip with two waiters.
 * The receiver handles what it receives itself and goes back to receiving,
 * so a quick call costs no hand-off. While it handles a call nobody
 * receives; a watcher (one of the waiting workers) checks every tick, and
 * when the same call has been in hand for a whole tick (a FIFO open, a
 * slow connect) or more calls are queued, it becomes a receiver itself.
 * So a blocked call never stalls the others, the pool grows only by the
 * calls that block, and a new watcher is started before the last waiting
 * worker is promoted. Waiting workers beyond the watcher leave after
 * LB_IDLE_EXIT_MS. */
#define LB_MAX_WORKERS 1024
#define LB_TICK_US 2000
#define LB_IDLE_TICKS 25 /* the watcher sleeps after this many quiet ticks */
#define LB_IDLE_EXIT_MS 1000

struct lb_platform {
	int listener;
	void (*handler)(void *ctx, struct lb_trap *t);
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t follow; /* waiting workers */
	pthread_cond_t watch;  /* the watcher, when it sleeps */
	pthread_cond_t gone;   /* a worker left */
	/* Under lock. */
	int n_waiting;	     /* workers waiting on follow/watch */
	bool has_watcher;    /* one of them watches */
	bool watcher_asleep; /* ... and sleeps: the receiver wakes it */
	bool stopping;
	bool warned;
	int n_alive; /* threads not yet finished */
	pthread_t threads[LB_MAX_WORKERS];
	bool live[LB_MAX_WORKERS];
	/* Lock-free, on the hot path. */
	atomic_int receiver;	  /* 1 while some worker holds the receiving turn */
	atomic_uint received;	  /* notifications taken, ever */
	atomic_bool wake_watcher; /* mirror of watcher_asleep */
	atomic_bool stop_flag;
};

/* Interrupts a worker blocked in NOTIF_RECV or in a host call (its handler
 * does nothing; installed without SA_RESTART, so the call returns EINTR). */
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

static int sc_attach(const struct lb_prepared *prep, pid_t child, int child_fd,
		     struct lb_platform **out)
{
	(void)prep;
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
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->follow, &ca);
	pthread_cond_init(&p->watch, &ca);
	pthread_cond_init(&p->gone, &ca);
	pthread_condattr_destroy(&ca);
	p->listener = steal_fd(&listener);
	*out = steal_pointer(&p);
	return 0;
}

/* Wait for a notification: 1 got one, 0 stop (or the listener is dead),
 * -errno. The ioctl blocks directly (no poll in front: one syscall and one
 * wake-up less per call); stop interrupts it with LB_STOP_SIGNAL. */
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
static void *first_worker_main(void *arg);

/* Called with the lock held. A failure is said once and retried at the
 * next promotion: the calls wait in the kernel's queue, none is lost, and
 * the busy workers serve them as they come free. */
static int spawn_worker_locked(struct lb_platform *p, void *(*start)(void *))
{
	int slot = -1;
	for (int i = 0; i < LB_MAX_WORKERS && slot < 0; i++)
		if (!p->live[i])
			slot = i;
	int rc = slot < 0 ? EAGAIN : 0;
	if (p->stopping)
		return -ECANCELED;
	if (rc == 0) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&p->threads[slot], &attr, start, p);
		pthread_attr_destroy(&attr);
		if (rc == 0) {
			p->live[slot] = true;
			p->n_alive++;
		}
	}
	if (rc != 0 && !p->warned) {
		p->warned = true;
		char msg[256];
		int n = snprintf(msg, sizeof(msg),
				 "litebox: cannot start another supervisor thread (%s); calls wait "
				 "until one of the busy ones (blocked in FIFO opens, connects) "
				 "returns\n",
				 slot < 0 ? "all 1024 are busy" : strerror(rc));
		if (n > 0)
			(void)!write(STDERR_FILENO, msg, (size_t)n);
	}
	return -rc;
}

static int own_slot_locked(struct lb_platform *p)
{
	pthread_t self = pthread_self();
	for (int i = 0; i < LB_MAX_WORKERS; i++)
		if (p->live[i] && pthread_equal(p->threads[i], self))
			return i;
	return -1;
}

static void deadline_in(struct timespec *ts, long us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += us * 1000;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Calls are waiting in the kernel's queue (nobody received them yet). */
static bool calls_queued(struct lb_platform *p)
{
	struct pollfd pfd = {.fd = p->listener, .events = POLLIN};
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* The watcher's turn, with the lock held: true when it should become a
 * receiver. It ticks while calls come in and sleeps when none came for
 * LB_IDLE_TICKS ticks; the receiver wakes it with the next call. */
static bool watch_locked(struct lb_platform *p)
{
	unsigned seen = atomic_load(&p->received);
	bool was_free = false;
	int quiet = 0;
	while (!p->stopping) {
		struct timespec until;
		deadline_in(&until, LB_TICK_US);
		pthread_cond_timedwait(&p->watch, &p->lock, &until);
		if (p->stopping)
			break;
		unsigned now = atomic_load(&p->received);
		bool free_now = atomic_load(&p->receiver) == 0;
		/* Nobody receives: the same call for a whole tick, or calls
		 * queued behind it. */
		if (free_now && ((was_free && now == seen) || calls_queued(p)))
			return true;
		quiet = now == seen ? quiet + 1 : 0;
		was_free = free_now;
		seen = now;
		if (quiet >= LB_IDLE_TICKS) {
			p->watcher_asleep = true;
			atomic_store(&p->wake_watcher, true);
			while (p->watcher_asleep && !p->stopping)
				pthread_cond_wait(&p->watch, &p->lock);
			quiet = 0;
			seen = atomic_load(&p->received);
			was_free = false;
		}
	}
	return false;
}

/* Wait for the receiving turn, with the lock held. false: leave (stop, or
 * idle for LB_IDLE_EXIT_MS while another worker waits too). */
static bool wait_turn_locked(struct lb_platform *p)
{
	for (;;) {
		if (p->stopping)
			return false;
		if (!p->has_watcher) {
			p->has_watcher = true;
			bool promote = watch_locked(p);
			p->has_watcher = false;
			if (!promote)
				continue; /* stopping */
			if (atomic_exchange(&p->receiver, 1) != 0) {
				pthread_cond_signal(&p->follow); /* someone else took it */
				continue;
			}
			/* Before the last waiting worker goes: a new watcher. */
			if (p->n_waiting <= 1)
				(void)spawn_worker_locked(p, worker_main);
			else
				pthread_cond_signal(&p->follow);
			return true;
		}
		struct timespec until;
		deadline_in(&until, LB_IDLE_EXIT_MS * 1000L);
		int rc = pthread_cond_timedwait(&p->follow, &p->lock, &until);
		if (rc == ETIMEDOUT && p->has_watcher && !p->stopping)
			return false; /* idle, and the watcher stays */
	}
}

/* Take the receiving turn: at once when it is free (the common case after
 * a quick call), else wait among the others. */
static bool take_turn(struct lb_platform *p)
{
	int expected = 0;
	if (atomic_compare_exchange_strong(&p->receiver, &expected, 1))
		return true;
	pthread_mutex_lock(&p->lock);
	p->n_waiting++;
	bool got = wait_turn_locked(p);
	p->n_waiting--;
	pthread_mutex_unlock(&p->lock);
	return got;
}

static void serve_one(struct lb_platform *p, const struct seccomp_notif *req)
{
	struct worker_trap wt = {.p = p, .pidfd = -1};
	struct lb_trap trap = {
	    .id = req->id,
	    .pid = (pid_t)req->pid,
	    .abi = req->data.arch != AUDIT_ARCH_X86_64	 ? LB_ABI_I386
		   : (req->data.nr & LB_X32_SYSCALL_BIT) ? LB_ABI_X32
							 : LB_ABI_NATIVE,
	    .nr = req->data.nr,
	    .priv = &wt,
	};
	memcpy(trap.args, req->data.args, sizeof(trap.args));
	p->handler(p->ctx, &trap);
	if (wt.pidfd >= 0)
		close(wt.pidfd);
}

/* have_turn: started holding the receiving turn (the first worker); the
 * others start waiting, so that a new worker becomes the watcher. */
static void worker_loop(struct lb_platform *p, bool have_turn)
{
	struct seccomp_notif req;
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, LB_STOP_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);

	if (!have_turn) {
		pthread_mutex_lock(&p->lock);
		p->n_waiting++;
		have_turn = wait_turn_locked(p);
		p->n_waiting--;
		pthread_mutex_unlock(&p->lock);
	}
	while (have_turn) {
		int rc = receive(p, &req);
		if (rc <= 0) {
			/* Stop, or no process uses the filter any more: every
			 * worker leaves, none is started. */
			pthread_mutex_lock(&p->lock);
			p->stopping = true;
			pthread_mutex_unlock(&p->lock);
			atomic_store(&p->receiver, 0);
			break;
		}
		atomic_fetch_add(&p->received, 1);
		atomic_store(&p->receiver, 0); /* nobody receives while we handle */
		if (atomic_load(&p->wake_watcher)) {
			pthread_mutex_lock(&p->lock);
			atomic_store(&p->wake_watcher, false);
			p->watcher_asleep = false;
			pthread_cond_signal(&p->watch);
			pthread_mutex_unlock(&p->lock);
		}
		serve_one(p, &req);
		have_turn = take_turn(p);
	}
	pthread_mutex_lock(&p->lock);
	int slot = own_slot_locked(p);
	if (slot >= 0)
		p->live[slot] = false;
	if (p->stopping) {
		pthread_cond_broadcast(&p->follow);
		pthread_cond_broadcast(&p->watch);
	}
	p->n_alive--;
	pthread_cond_broadcast(&p->gone);
	pthread_mutex_unlock(&p->lock); /* the last touch of p */
}

static void *worker_main(void *arg)
{
	worker_loop(arg, false);
	return NULL;
}

/* The first worker starts its watcher itself: one thread start less on
 * the way from serve to the program's exec. */
static void *first_worker_main(void *arg)
{
	struct lb_platform *p = arg;
	pthread_mutex_lock(&p->lock);
	(void)spawn_worker_locked(p, worker_main);
	pthread_mutex_unlock(&p->lock);
	worker_loop(p, true);
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
	/* The receiver (which starts its watcher). */
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->receiver, 1);
	int rc = spawn_worker_locked(p, first_worker_main);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static void sc_stop(struct lb_platform *p)
{
	atomic_store(&p->stop_flag, true);
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	/* Usually every worker has left already (the listener died with the
	 * sandbox). A worker may be between its flag check and the ioctl
	 * when the signal lands: signal again until every worker is out.
	 * Workers are detached; their last touch of p is the unlock after
	 * counting themselves out. */
	while (p->n_alive > 0) {
		for (int i = 0; i < LB_MAX_WORKERS; i++)
			if (p->live[i])
				pthread_kill(p->threads[i], LB_STOP_SIGNAL);
		pthread_cond_broadcast(&p->follow);
		pthread_cond_broadcast(&p->watch);
		struct timespec until;
		deadline_in(&until, 5000);
		pthread_cond_timedwait(&p->gone, &p->lock, &until);
	}
	pthread_mutex_unlock(&p->lock);
}

static void sc_destroy(struct lb_platform *p)
{
	if (!p)
		return;
	close(p->listener);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->follow);
	pthread_cond_destroy(&p->watch);
	pthread_cond_destroy(&p->gone);
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

static int sc_read_mem(struct lb_trap *t, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	int rc = lb_target_copy(t->pid, addr, buf, len);
	if (rc < 0)
		return rc;
	/* The pid may have died and been reused between the notification and
	 * the read: only a still-valid id proves we read the caller. */
	return sc_still_valid(t);
}

static int sc_read_str(struct lb_trap *t, uint64_t addr, char *buf, size_t cap)
{
	int rc = lb_target_read_str(t->pid, addr, buf, cap);
	return rc < 0 ? rc : sc_still_valid(t);
}

static int sc_write_mem(struct lb_trap *t, uint64_t addr, const void *buf, size_t len)
{
	int rc = sc_still_valid(t);
	if (rc < 0)
		return rc;
	ssize_t n = lb_target_vm(t->pid, (void *)buf, addr, len, true);
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
	int fd = lb_target_getfd(pidfd, target_fd);
	if (fd < 0)
		return errno == EBADF ? -EBADF : -errno;
	return fd;
}

/* Install fd in the target at its lowest free number and answer the call
 * with that number; fd is closed either way. A read-only file goes in one
 * step (ADDFD with SEND: the target never sees a half state). A file open
 * for writing is installed first and our copy closed before the answer
 * wakes the target: the kernel refuses to exec a file while any writer
 * holds it (ETXTBSY), and `cp x build/; build/x` must work. The fd being
 * visible to the target's other threads a moment before the call returns
 * is what any concurrent open looks like. Returns 0, or -errno. */
static int add_fd(int listener, uint64_t id, int fd, bool cloexec)
{
	int fl = fcntl(fd, F_GETFL);
	bool writer = fl >= 0 && (fl & O_ACCMODE) != O_RDONLY && !(fl & O_PATH);
	struct seccomp_notif_addfd addfd = {
	    .id = id,
	    .flags = writer ? 0 : SECCOMP_ADDFD_FLAG_SEND,
	    .srcfd = (uint32_t)fd,
	    .newfd = 0,
	    .newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	int newfd = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	int err = newfd < 0 ? -errno : 0;
	close(fd);
	if (err < 0 || !writer)
		return err;
	struct seccomp_notif_resp resp = {.id = id, .val = newfd};
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 ? -errno : 0;
}

static int sc_reply(struct lb_trap *t, enum lb_reply_kind kind, int64_t value, int fd, bool cloexec)
{
	int listener = platform_of(t)->listener;

	if (kind == LB_REPLY_FD) {
		int rc = add_fd(listener, t->id, fd, cloexec);
		if (t->delivery)
			t->delivery->done(t->delivery, rc < 0 ? rc : 0);
		if (rc >= 0 || rc == -ENOENT)
			return rc < 0 ? rc : 0;
		/* EMFILE and friends: answer with the error instead. */
		kind = LB_REPLY_ERROR;
		value = rc;
	}
	struct seccomp_notif_resp resp = {.id = t->id};
	switch (kind) {
	case LB_REPLY_VALUE:
		resp.val = value;
		break;
	case LB_REPLY_ERROR:
		/* an error of 0 would be a success: fail closed */
		resp.error = (int32_t)(value < 0 ? value : value > 0 ? -value : -EPERM);
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
