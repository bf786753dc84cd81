/* SPDX-License-Identifier: MIT */
/* The ptrace platform: the same filter plan with RET_TRACE where the
 * seccomp platform notifies, one tracer thread that turns every seccomp
 * stop into an lb_trap for the core's handler (run on worker threads), and
 * answers delivered by the tracer:
 *
 *  - a value or an errno: the call is skipped (orig_rax = -1) and rax set;
 *  - CONTINUE: the call runs as made (same cases as the seccomp platform);
 *  - an fd: the supervisor sends it over a hidden socket every tracee holds
 *    (fd number `hidden`, inherited from init, kept across exec), and the
 *    trapped call is rewritten into recvmsg(hidden, MSG_DONTWAIT) on a
 *    message block below the stack's red zone; at the syscall-exit stop the
 *    received fd number becomes the answer and the registers are restored.
 *
 * Why this is race-free, and what the hidden socket allows the program, is
 * argued in docs/security.md ("The ptrace platform"). No policy decision
 * lives here. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../seccomp/bpf.h"
#include "litebox/util.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS */
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* Every call that waits in the supervisor (a FIFO open, a connect) holds
 * a worker until it returns: as many as the seccomp platform allows, so
 * that one process's blocked calls do not starve another's (each is a
 * stopped thread of the sandbox, bounded by its pids limit). */
#define PT_MAX_WORKERS 1024
#define PT_IDLE_EXIT_MS 1000
/* Wakes the tracer out of its wait (restarting whatever else it
 * interrupts: the tracer also runs handlers); interrupts blocked workers
 * at stop and in a call abandoned for a fatal signal (no SA_RESTART). */
#define PT_WAKE_SIGNAL (SIGRTMIN + 4)
#define PT_STOP_SIGNAL (SIGRTMIN + 5)
/* While a trap is out with a worker, the tracer wakes this often to look
 * at the callers of those out longer than PT_WATCH_AGE_MS (watch_out). */
#define PT_WATCH_MS 100
#define PT_WATCH_AGE_MS 50
/* What the tracer answers the start-up probe calls with (see before_exec). */
#define PT_PROBE_MAGIC 0x11b0c5e5L
#define PT_PROBE_END 0x11b0c5e6UL
/* The data of the filter's SIGSYS for a foreign-ABI call (on_sigsys):
 * libseccomp's trap action carries none. */
#define PT_FOREIGN_DATA 0

struct probe_call {
	int nr;
	uint64_t args[6];
};

/* Kinds of stop for next_stop, after the call numbers. */
#define PT_NR_KINDS 512
enum {
	PT_KIND_FD_EXIT = PT_NR_KINDS, /* the end of a rewritten recvmsg */
	PT_KIND_EXEC,
	PT_KIND_EVENT, /* fork, vfork, clone, group-stop */
	PT_KIND_SIGNAL,
	PT_KIND_GONE,
	PT_KIND_COUNT
};

struct lb_prepared {
	struct sock_fprog prog;
	int sup;		/* the supervisor's end of the hidden socket */
	int tracee;		/* the tracees' end, before it moves to `hidden` */
	int hidden;		/* where the tracees' end lives in every tracee */
	bool traps_close_range; /* the plan itself traps close_range */
	size_t n_probes;
	struct probe_call *probes; /* one per trapping rule of the plan */
};

/* The first bytes of an open's path, read once per trap: the tracer's
 * scheduling hint and, when the string ends within them, the core's copy
 * too (pt_read_str), so an open costs one process_vm_readv, not two. */
#define PT_HINT_LEN 256

struct pt_trap {
	struct lb_trap t;
	struct lb_platform *p;
	/* the thread's registers at the stop (stop_regs): what a value or fd
	 * answer writes back, changed */
	struct user_regs_struct regs;
	uint64_t hint_addr;
	size_t hint_len; /* bytes of hint read; 0: none */
	char hint[PT_HINT_LEN];
	int pidfd;
	atomic_bool dead;
	atomic_bool abandon; /* a fatal signal waits for the caller: see watch_out */
	bool held;	     /* under the lock: `holder` runs this trap */
	pthread_t holder;
	struct timespec out_since; /* tracer only: when it went to a worker; 0: not out */
	enum lb_reply_kind kind;
	int64_t value;
	int fd; /* our duplicate of the fd to install */
	bool cloexec;
	bool nonblock_added; /* an open on the tracer thread: see to_worker */
	bool await_writer;   /* the fd is a FIFO's read end: see settle_open */
	struct pt_trap *next;
};

/* A tracee the tracer has business with: a trap out with a worker, or an
 * fd being received (between the rewritten call's entry and exit). */
struct tstate {
	pid_t tid;
	struct pt_trap *trap;
	bool injecting;
	bool probing;
	uint64_t block; /* tracee address of the message block */
};

struct lb_platform {
	int sup, tracee_end, hidden;
	int scratch[2]; /* a pipe await_writer tees into (made before confinement) */
	bool traps_close_range;
	void (*handler)(void *ctx, struct lb_trap *t);
	void *ctx;

	pthread_t tracer;
	bool tracer_started;
	atomic_bool stop_flag;
	atomic_bool tracer_done;
	atomic_int in_wait;
	sigjmp_buf jmp;

	/* work for the workers */
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct pt_trap *queue_head, *queue_tail;
	int n_alive, n_idle;
	pthread_cond_t gone;
	struct worker_slot {
		struct lb_platform *p;
		pthread_t t;
		enum { SLOT_FREE, SLOT_RUNNING, SLOT_EXITED } state;
	} slots[PT_MAX_WORKERS];

	/* answers for the tracer: a lock-free stack */
	_Atomic(struct pt_trap *) done;

	/* tracer thread only */
	struct tstate *ts;
	size_t n_ts, cap_ts;
	struct pt_trap *fd_waiting_head, *fd_waiting_tail; /* one fd at a time */
	bool fd_busy;
	size_t n_out;	       /* traps with workers, not yet delivered */
	struct pt_trap *spare; /* freed traps, reused: no allocation per stop */
	size_t n_spare;
	uint64_t seq;
	int start_errno;
	/* next_stop's looks: what the last stop handled was (a call number,
	 * or one of PT_KIND_*), and per kind how often a look paid off */
	unsigned spin_kind, spin_probe;
	uint8_t spin_score[PT_KIND_COUNT];
	/* watch_out's timer, armed only while a trap is out with a worker */
	timer_t watch;
	bool have_watch, watch_armed;
	struct timespec next_watch;
};

static _Thread_local struct lb_platform *tl_tracer;

/* in_wait: where the tracer is (the wake handler jumps only out of the
 * first kind of wait). */
enum { WAIT_NONE, WAIT_NOWAIT, WAIT_REAPING };

static void on_stop_signal(int sig)
{
	(void)sig;
}

static void on_wake(int sig)
{
	(void)sig;
	struct lb_platform *p = tl_tracer;
	/* Only inside the WNOWAIT wait: there losing the result is harmless
	 * (the event is reported again). A wake that comes late, into the
	 * reaping wait, just restarts it. */
	if (p && atomic_load(&p->in_wait) == WAIT_NOWAIT)
		siglongjmp(p->jmp, 1);
}

/* ---- preparing the filter and the hidden socket ------------------------ */

/* Whether the plan gives nr an unconditional action (which then wins: no
 * rule of ours is added beside it). */
static bool plan_takes(const struct lb_filter_plan *plan, int nr)
{
	for (size_t i = 0; i < plan->n_rules; i++)
		if (plan->rules[i].nr == nr && plan->rules[i].n_conds == 0)
			return true;
	return false;
}

static bool plan_names(const struct lb_filter_plan *plan, int nr)
{
	for (size_t i = 0; i < plan->n_rules; i++)
		if (plan->rules[i].nr == nr)
			return true;
	return false;
}

/* Calls that take a descriptor, and which argument names it. On the
 * hidden fd each is trapped (protect_hidden) and answered by the tracer
 * before the core sees it (hidden_answer), whatever rule of the plan
 * trapped it: no process may read, receive on, duplicate, reconfigure
 * (SO_ATTACH_FILTER, SO_PASSCRED: every process's answers broken) or
 * query (SO_PEERCRED, SO_PEERPIDFD: litebox itself) the socket every
 * process shares. Writes are left out: what is written reaches only the
 * supervisor's end, which nothing reads after start-up, and the start-up
 * announcement is such a write. */
static const struct {
	int nr;
	unsigned arg;
} fd_args[] = {
    {SYS_read, 0},	 {SYS_readv, 0},       {SYS_pread64, 0},
    {SYS_preadv, 0},	 {SYS_preadv2, 0},     {SYS_recvfrom, 0},
    {SYS_recvmsg, 0},	 {SYS_recvmmsg, 0},    {SYS_sendto, 0},
    {SYS_sendmsg, 0},	 {SYS_sendmmsg, 0},    {SYS_setsockopt, 0},
    {SYS_getsockopt, 0}, {SYS_getsockname, 0}, {SYS_getpeername, 0},
    {SYS_shutdown, 0},	 {SYS_listen, 0},      {SYS_accept, 0},
    {SYS_accept4, 0},	 {SYS_bind, 0},	       {SYS_connect, 0},
    {SYS_fcntl, 0},	 {SYS_ioctl, 0},       {SYS_fstat, 0},
    {SYS_fsync, 0},	 {SYS_fdatasync, 0},   {SYS_ftruncate, 0},
    {SYS_fchmod, 0},	 {SYS_fchown, 0},      {SYS_flock, 0},
    {SYS_lseek, 0},	 {SYS_fstatfs, 0},     {SYS_fgetxattr, 0},
    {SYS_fsetxattr, 0},	 {SYS_flistxattr, 0},  {SYS_fremovexattr, 0},
    {SYS_splice, 0},	 {SYS_splice, 2},      {SYS_tee, 0},
    {SYS_tee, 1},	 {SYS_sendfile, 1},    {SYS_copy_file_range, 0},
    {SYS_epoll_ctl, 2},	 {SYS_dup, 0},	       {SYS_dup2, 0},
    {SYS_dup2, 1},	 {SYS_dup3, 0},	       {SYS_dup3, 1},
    {SYS_close, 0},	 {SYS_pidfd_getfd, 1},
};

#define PT_MAX_EXTRA (1 + LB_ARRAY_SIZE(fd_args))

/* One rule per row of fd_args (only the low 32 bits of an fd argument
 * are compared, as the kernel uses only those), and close_range over the
 * hidden fd, which the tracer narrows. A row whose call the plan traps
 * outright needs no rule: the tracer looks at every trap. Never
 * RET_ERRNO: seccomp runs the filter again on the recvmsg the tracer
 * rewrites a trapped call into, and lets a RET_TRACE verdict through on
 * that second run, as an error would not be. */
static size_t protect_hidden(const struct lb_filter_plan *plan, int h, struct lb_filter_rule *r)
{
	size_t n = 0;
	uint64_t hv = (uint32_t)h;
	for (size_t i = 0; i < LB_ARRAY_SIZE(fd_args); i++)
		if (!plan_takes(plan, fd_args[i].nr))
			r[n++] = (struct lb_filter_rule){
			    .nr = fd_args[i].nr,
			    .action = LB_FILTER_NOTIFY,
			    .n_conds = 1,
			    .conds = {{.arg = fd_args[i].arg, .mask = 0xffffffffu, .value = hv}}};
	if (!plan_takes(plan, SYS_close_range))
		r[n++] =
		    (struct lb_filter_rule){.nr = SYS_close_range,
					    .action = LB_FILTER_NOTIFY,
					    .n_conds = 2,
					    .conds = {{.arg = 0, .op = LB_CMP_LE32, .value = hv},
						      {.arg = 1, .op = LB_CMP_GE32, .value = hv}}};
	return n;
}

/* A trapped native call on the hidden fd, whichever rule trapped it (the
 * plan's own `audit syscall close` too): true with its answer. close and
 * the close-on-exec flag are no-ops (the fd stays, as documented), every
 * other use is EBADF, as if the number were free. */
static bool hidden_answer(const struct lb_platform *p, int nr, const uint64_t args[6],
			  int64_t *answer)
{
	uint32_t h = (uint32_t)p->hidden;
	for (size_t i = 0; i < LB_ARRAY_SIZE(fd_args); i++) {
		if (fd_args[i].nr != nr || (uint32_t)args[fd_args[i].arg] != h)
			continue;
		bool noop = nr == SYS_close || (nr == SYS_fcntl && (uint32_t)args[1] == F_SETFD) ||
			    (nr == SYS_ioctl &&
			     ((uint32_t)args[1] == FIOCLEX || (uint32_t)args[1] == FIONCLEX));
		*answer = noop && fd_args[i].arg == 0 ? 0 : -EBADF;
		return true;
	}
	return false;
}

/* Arguments that make a rule of the plan trap: the start-up probe calls
 * each trapped syscall once with them (all else zero: every path and
 * buffer NULL, so a call answered by anyone but us fails harmlessly). */
static bool probe_args(const struct lb_filter_rule *r, uint64_t args[6])
{
	memset(args, 0, 6 * sizeof(args[0]));
	for (unsigned i = 0; i < r->n_conds; i++) {
		const struct lb_filter_cond *c = &r->conds[i];
		if (c->arg >= 6)
			return false;
		switch (c->op) {
		case LB_CMP_MASKED_EQ:
		case LB_CMP_GE:
		case LB_CMP_LE:
		case LB_CMP_GE32:
		case LB_CMP_LE32:
			args[c->arg] = c->value;
			break;
		case LB_CMP_NE:
			args[c->arg] = c->value + 1;
			break;
		}
	}
	return true;
}

static int collect_probes(const struct lb_filter_plan *plan, struct lb_prepared *prep)
{
	prep->probes = calloc(plan->n_rules + 1, sizeof(*prep->probes));
	if (!prep->probes)
		return -ENOMEM;
	for (size_t i = 0; i < plan->n_rules; i++) {
		const struct lb_filter_rule *r = &plan->rules[i];
		struct probe_call *pc = &prep->probes[prep->n_probes];
		if (r->action != LB_FILTER_NOTIFY || !probe_args(r, pc->args))
			continue;
		pc->nr = r->nr;
		prep->n_probes++;
	}
	return 0;
}

/* Where the tracees' end lives: just above the descriptors the program
 * can make (its soft RLIMIT_NOFILE, up to 1024), where the hard limit
 * leaves room, so that no number a program picks for itself (bash's
 * `exec 1023>file`, a daemon's fixed slot) is taken; an fd above the soft
 * limit stays usable, only new ones cannot go there. Else (no room, or a
 * soft limit above 1024, where every fd table would grow to the number)
 * the highest number below min(soft, 1024). */
static int hidden_number(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 64)
		return -EMFILE;
	if (rl.rlim_cur <= 1024 && (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > rl.rlim_cur))
		return (int)rl.rlim_cur;
	return (int)(rl.rlim_cur < 1024 ? rl.rlim_cur : 1024) - 1;
}

/* dup2 onto a number at the soft limit: raised for that one call. */
static int dup2_above_limit(int fd, int to)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	bool raise = (rlim_t)to >= rl.rlim_cur;
	struct rlimit up = {.rlim_cur = (rlim_t)to + 1, .rlim_max = rl.rlim_max};
	if (raise && setrlimit(RLIMIT_NOFILE, &up) < 0)
		return -errno;
	int rc = dup2(fd, to) < 0 ? -errno : 0;
	if (raise && setrlimit(RLIMIT_NOFILE, &rl) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static void pt_free_prepared(struct lb_prepared *prep)
{
	if (!prep)
		return;
	free(prep->prog.filter);
	free(prep->probes);
	if (prep->sup >= 0)
		close(prep->sup);
	if (prep->tracee >= 0)
		close(prep->tracee);
	free(prep);
}

/* What only the seccomp platform can afford to let a policy allow: a
 * seccomp listener of the program's own (there the kernel refuses a
 * second one; here its answers outrank RET_TRACE, and a CONTINUE from it
 * skips litebox for good) and clone3 (its flags are in memory: a
 * CLONE_UNTRACED child would leave the tracer, where the listener of the
 * seccomp platform still outranks whoever traces it). The plan refuses
 * the one (the rule on the new-listener flag, or seccomp as a whole in
 * the kernel) and clone3 in the kernel unless the policy has a rule of its
 * own for them (attack review 6, P6-7, P6-7b): a rule that sends the call
 * to the core may be an audit, which lets it run, so without the kernel's
 * refusals the run is refused, never started with the policy
 * unenforceable. */
static bool plan_keeps_the_tracer(const struct lb_filter_plan *plan)
{
	bool listener = false, clone3 = false;
	for (size_t i = 0; i < plan->n_rules; i++) {
		const struct lb_filter_rule *r = &plan->rules[i];
		/* A rule that sends the call to the core may be an audit,
		 * which lets it run: only a refusal in the kernel counts. */
		bool refused_outright = r->n_conds == 0 && (r->action == LB_FILTER_ERRNO ||
							    r->action == LB_FILTER_KILL);
		if (r->nr == SYS_clone3 && refused_outright)
			clone3 = true;
		if (r->nr != SYS_seccomp || r->action == LB_FILTER_ALLOW)
			continue;
		if (refused_outright)
			listener = true;
		for (unsigned c = 0; c < r->n_conds; c++)
			if (r->conds[c].arg == 1 &&
			    (r->conds[c].mask & SECCOMP_FILTER_FLAG_NEW_LISTENER))
				listener = true;
	}
	return listener && clone3;
}

static int pt_prepare(const struct lb_filter_plan *plan, struct lb_prepared **out)
{
	if (!plan_keeps_the_tracer(plan))
		return -ENOTSUP;
	struct lb_prepared *prep = calloc(1, sizeof(*prep));
	if (!prep)
		return -ENOMEM;
	prep->sup = prep->tracee = -1;
	int rc = hidden_number();
	if (rc < 0)
		goto fail;
	prep->hidden = rc;
	prep->traps_close_range = plan_names(plan, SYS_close_range);
	struct lb_filter_rule extra_rules[PT_MAX_EXTRA];
	struct lb_filter_plan extra = {.rules = extra_rules,
				       .n_rules = protect_hidden(plan, prep->hidden, extra_rules)};
	rc = lb_bpf_compile(plan, &extra, SECCOMP_RET_TRACE, SECCOMP_RET_TRAP, &prep->prog);
	if (rc < 0)
		goto fail;
	rc = collect_probes(plan, prep);
	if (rc < 0)
		goto fail;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		goto fail;
	}
	prep->sup = sv[0];
	prep->tracee = sv[1];
	int one = 1;
	if (setsockopt(prep->sup, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		rc = -errno;
		goto fail;
	}
	*out = prep;
	return 0;
fail:
	pt_free_prepared(prep);
	return rc;
}

/* ---- child side ------------------------------------------------------- */

/* Init: move the tracees' end to its number (inherited by the program and
 * kept across exec; the supervisor's end is closed already). No listener:
 * the handle reported is a throwaway descriptor init closes. The filter is
 * loaded by the program's process (pt_before_exec), not here: nothing
 * traces init, and a trapped call of init's (a policy's `audit syscall
 * clone` or `wait4`) would fail with ENOSYS there (attack review 6,
 * P6-11). */
static int pt_install(const struct lb_prepared *prep)
{
	int rc = dup2_above_limit(prep->tracee, prep->hidden);
	if (rc < 0)
		return rc;
	if (prep->tracee != prep->hidden)
		close(prep->tracee);
	/* before the filter, which traps duplicates of the hidden fd */
	int handle = fcntl(prep->hidden, F_DUPFD_CLOEXEC, 3);
	return handle < 0 ? -errno : handle;
}

static int pt_child_fd(const struct lb_prepared *prep)
{
	return prep->tracee;
}

static void say(const char *s)
{
	ssize_t n = write(2, s, strlen(s));
	(void)n;
}

/* The program process before execve: announce ourselves (the kernel adds
 * our pid as the supervisor sees it), wait until the tracer holds us, then
 * prove that every trapped call reaches it. An enclosing seccomp listener
 * (litebox inside litebox) outranks RET_TRACE: the calls it takes never
 * stop here, and the program would run with this policy unenforced. */
static int pt_before_exec(const struct lb_prepared *prep)
{
	/* no_new_privs is init's already, and inherited */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prep->prog) < 0)
		return -errno;
	char c = 'p';
	if (write(prep->hidden, &c, 1) != 1)
		return -errno;
	/* Reading the hidden fd is trapped now: wait for the tracer by
	 * making a trapped call until it answers (with no tracer attached,
	 * RET_TRACE fails the call with ENOSYS and nothing runs). */
	long w;
	while ((w = syscall(SYS_close_range, prep->hidden, prep->hidden, 0, 0, 0, 0)) < 0 &&
	       errno == ENOSYS) {
		struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
		nanosleep(&ms, NULL);
	}
	if (w != PT_PROBE_MAGIC)
		return -ECHILD;
	for (size_t i = 0; i <= prep->n_probes; i++) {
		/* the last call (close_range of the hidden fd with the end mark,
		 * which must reach us) ends probing */
		const struct probe_call *pc = &prep->probes[i];
		long r = i < prep->n_probes ? syscall(pc->nr, pc->args[0], pc->args[1], pc->args[2],
						      pc->args[3], pc->args[4], pc->args[5])
					    : syscall(SYS_close_range, prep->hidden, prep->hidden,
						      0, 0, 0, PT_PROBE_END);
		/* Refused in the kernel by an enclosing filter: the call never
		 * runs, for the program either. */
		if (r < 0 && (errno == EPERM || errno == ENOSYS) && i < prep->n_probes)
			continue;
		if (r != PT_PROBE_MAGIC) {
			say("litebox: another seccomp listener (an enclosing sandbox, such as an "
			    "outer "
			    "litebox) answers system calls before the ptrace platform can see "
			    "them; "
			    "refusing to run the program with its policy unenforced\n");
			_exit(125);
		}
	}
	return 0;
}

/* ---- tracee bookkeeping (tracer thread only) ----------------------------- */

static struct tstate *ts_find(struct lb_platform *p, pid_t tid)
{
	for (size_t i = 0; i < p->n_ts; i++)
		if (p->ts[i].tid == tid)
			return &p->ts[i];
	return NULL;
}

static struct tstate *ts_get(struct lb_platform *p, pid_t tid)
{
	struct tstate *s = ts_find(p, tid);
	if (s)
		return s;
	if (p->n_ts == p->cap_ts) {
		size_t cap = p->cap_ts ? p->cap_ts * 2 : 16;
		struct tstate *n = realloc(p->ts, cap * sizeof(*n));
		if (!n)
			return NULL;
		p->ts = n;
		p->cap_ts = cap;
	}
	s = &p->ts[p->n_ts++];
	*s = (struct tstate){.tid = tid};
	return s;
}

static void ts_maybe_drop(struct lb_platform *p, struct tstate *s)
{
	if (s->trap || s->injecting || s->probing)
		return;
	*s = p->ts[--p->n_ts];
}

/* ---- workers ------------------------------------------------------------ */

static void *worker_main(void *arg);
static void await_writer(struct lb_platform *p, struct pt_trap *tr);

/* With the lock held. A slot whose worker left idle is joined and reused. */
static void spawn_worker_locked(struct lb_platform *p)
{
	struct worker_slot *w = NULL;
	for (size_t i = 0; i < PT_MAX_WORKERS && !w; i++)
		if (p->slots[i].state != SLOT_RUNNING)
			w = &p->slots[i];
	if (!w || atomic_load(&p->stop_flag))
		return;
	if (w->state == SLOT_EXITED)
		pthread_join(w->t, NULL); /* it has left the lock behind already */
	w->state = SLOT_FREE;
	w->p = p;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&w->t, &attr, worker_main, w) == 0) {
		w->state = SLOT_RUNNING;
		p->n_alive++;
		p->n_idle++;
	}
	pthread_attr_destroy(&attr);
}

/* Wait for work; false when the worker should leave: at stop, or idle for
 * PT_IDLE_EXIT_MS while another worker remains. */
static bool wait_for_work(struct lb_platform *p)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PT_IDLE_EXIT_MS / 1000;
	bool timed = true;
	while (!p->queue_head && !atomic_load(&p->stop_flag)) {
		/* The last worker stays: once its deadline has passed it waits
		 * without one (a timed wait on a past deadline returns at once,
		 * and the loop would spin a CPU for the rest of the run). */
		if (!timed) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		if (pthread_cond_timedwait(&p->work, &p->lock, &until) == ETIMEDOUT &&
		    !p->queue_head) {
			if (p->n_alive > 1)
				return false;
			timed = false;
		}
	}
	return !atomic_load(&p->stop_flag);
}

static void push_done(struct lb_platform *p, struct pt_trap *tr)
{
	struct pt_trap *head = atomic_load(&p->done);
	do
		tr->next = head;
	while (!atomic_compare_exchange_weak(&p->done, &head, tr));
	if (atomic_load(&p->in_wait) == WAIT_NOWAIT)
		pthread_kill(p->tracer, PT_WAKE_SIGNAL);
}

static void run_handler(struct lb_platform *p, struct pt_trap *tr)
{
	p->handler(p->ctx, &tr->t);
	if (tr->pidfd >= 0) {
		close(tr->pidfd);
		tr->pidfd = -1;
	}
}

static void *worker_main(void *arg)
{
	struct worker_slot *w = arg;
	struct lb_platform *p = w->p;
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, PT_STOP_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);

	pthread_mutex_lock(&p->lock);
	while (wait_for_work(p)) {
		struct pt_trap *tr = p->queue_head;
		p->queue_head = tr->next;
		if (!p->queue_head)
			p->queue_tail = NULL;
		p->n_idle--;
		if (p->n_idle == 0 && p->queue_head)
			spawn_worker_locked(p);
		tr->holder = pthread_self();
		tr->held = true;
		pthread_mutex_unlock(&p->lock);

		if (tr->await_writer)
			await_writer(p, tr);
		else
			run_handler(p, tr);

		/* Released under the lock: watch_out signals a worker only
		 * while it still runs the trap it abandons. */
		pthread_mutex_lock(&p->lock);
		tr->held = false;
		push_done(p, tr);
		p->n_idle++;
	}
	p->n_idle--;
	p->n_alive--;
	w->state = SLOT_EXITED;
	pthread_cond_broadcast(&p->gone);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void enqueue(struct lb_platform *p, struct pt_trap *tr)
{
	tr->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->queue_tail)
		p->queue_tail->next = tr;
	else
		p->queue_head = tr;
	p->queue_tail = tr;
	if (p->n_idle == 0)
		spawn_worker_locked(p);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

/* ---- delivering answers (tracer thread) ---------------------------------- */

static void resume(pid_t tid, int sig)
{
	(void)ptrace(PTRACE_CONT, tid, 0, (void *)(uintptr_t)sig);
}

/* Skip the call (orig_rax = -1) with rax as its result. regs: the
 * thread's registers if fetched already, else NULL. (No POKEUSER: the
 * supervisor's own filter allows only whole register sets; the count of
 * requests is the same.) */
static void answer_skip(pid_t tid, struct user_regs_struct *regs, int64_t value)
{
	struct user_regs_struct own;
	if (!regs) {
		if (ptrace(PTRACE_GETREGS, tid, 0, &own) < 0)
			return;
		regs = &own;
	}
	regs->orig_rax = (unsigned long long)-1;
	regs->rax = (unsigned long long)value;
	if (ptrace(PTRACE_SETREGS, tid, 0, regs) == 0)
		resume(tid, 0);
}

/* The message block the rewritten recvmsg uses, below the red zone. */
struct pt_block {
	struct msghdr msg;
	struct iovec iov;
	uint64_t seq;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		uint64_t align;
	} ctl;
};

/* What the block's msg_flags hold until a recvmsg writes them back: no
 * flags the kernel reports. */
#define PT_FLAGS_UNSET 0x7f5a0000

static uint64_t block_addr(const struct user_regs_struct *r)
{
	return ((uint64_t)r->rsp - 128 - sizeof(struct pt_block) - 64) & ~(uint64_t)63;
}

static int send_fd(struct lb_platform *p, int fd, uint64_t seq)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl = {0};
	struct iovec iov = {.iov_base = &seq, .iov_len = sizeof(seq)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(p->sup, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Take back a message the tracee did not receive, and close its fd; how
 * many there were. */
static int drain(struct lb_platform *p)
{
	for (int n = 0;; n++) {
		uint64_t seq;
		union {
			char buf[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {.iov_base = &seq, .iov_len = sizeof(seq)};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf)};
		if (recvmsg(p->tracee_end, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
			return n;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
	}
}

/* The core's record of an fd answer waits for this (platform.h). */
static void delivered(struct pt_trap *tr, int err)
{
	struct lb_delivery *d = tr->t.delivery;
	tr->t.delivery = NULL;
	if (d)
		d->done(d, err);
}

#define PT_MAX_SPARE 32

/* Tracer thread only (and destroy, once it is gone). */
static void free_trap(struct pt_trap *tr)
{
	delivered(tr, -ESRCH); /* never delivered: the caller is gone */
	if (tr->fd >= 0)
		close(tr->fd);
	if (tr->pidfd >= 0)
		close(tr->pidfd);
	struct lb_platform *p = tr->p;
	if (p && p->n_spare < PT_MAX_SPARE) {
		tr->next = p->spare;
		p->spare = tr;
		p->n_spare++;
		return;
	}
	free(tr);
}

static struct pt_trap *alloc_trap(struct lb_platform *p)
{
	struct pt_trap *tr = p->spare;
	if (tr) {
		p->spare = tr->next;
		p->n_spare--;
	} else {
		tr = malloc(sizeof(*tr));
		if (!tr)
			return NULL;
	}
	/* the hint buffer is only read up to hint_len: left as it is */
	memset(tr, 0, offsetof(struct pt_trap, hint));
	memset((char *)tr + offsetof(struct pt_trap, pidfd), 0,
	       sizeof(*tr) - offsetof(struct pt_trap, pidfd));
	tr->p = p;
	tr->pidfd = -1;
	tr->fd = -1;
	return tr;
}

static void start_next_fd(struct lb_platform *p);

/* Rewrite the trapped call into recvmsg(hidden) of the fd just sent. */
static int begin_fd(struct lb_platform *p, struct pt_trap *tr, struct tstate *s)
{
	pid_t tid = tr->t.pid;
	struct pt_block b = {0};
	b.iov.iov_len = sizeof(b.seq);
	b.msg.msg_iovlen = 1;
	b.msg.msg_controllen = sizeof(b.ctl.buf);
	b.msg.msg_flags = PT_FLAGS_UNSET; /* a recvmsg that ran overwrites it */
	uint64_t at = block_addr(&tr->regs);
	b.iov.iov_base = (void *)(uintptr_t)(at + offsetof(struct pt_block, seq));
	b.msg.msg_iov = (void *)(uintptr_t)(at + offsetof(struct pt_block, iov));
	b.msg.msg_control = (void *)(uintptr_t)(at + offsetof(struct pt_block, ctl));
	if (lb_target_vm(tid, &b, at, sizeof(b), true) != (ssize_t)sizeof(b))
		return -EFAULT;
	int rc = send_fd(p, tr->fd, ++p->seq);
	if (rc < 0)
		return rc;
	/* The message in flight holds the file now. Our copy goes before the
	 * tracee runs: a writer left open would make its exec of the file it
	 * just wrote fail with ETXTBSY. */
	close(tr->fd);
	tr->fd = -1;
	struct user_regs_struct r = tr->regs;
	r.orig_rax = SYS_recvmsg;
	r.rdi = (unsigned long long)p->hidden;
	r.rsi = at;
	r.rdx = MSG_DONTWAIT | (tr->cloexec ? MSG_CMSG_CLOEXEC : 0);
	if (ptrace(PTRACE_SETREGS, tid, 0, &r) < 0 || ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0) {
		drain(p);
		return -ESRCH;
	}
	s->injecting = true;
	s->block = at;
	p->fd_busy = true;
	return 0;
}

/* How the rewritten recvmsg ended, from the block and from the hidden
 * socket's queue (left: the message sent was still there, and has been
 * taken back): the fd number received, or the error to answer. No
 * GETREGS for it: the message and the block tell, and the register set
 * is read only to learn an error of the call itself. */
static int64_t received_fd(struct lb_platform *p, pid_t tid, uint64_t at, bool left)
{
	struct pt_block b;
	if (lb_target_vm(tid, &b, at, sizeof(b), false) != (ssize_t)sizeof(b))
		return -EIO;
	if (b.msg.msg_flags == PT_FLAGS_UNSET) {
		/* The call did not receive. With the message still queued it
		 * failed (its own error, where the kernel said so); without,
		 * another process of the sandbox read the hidden fd through
		 * memory the filter cannot see (io_submit): EIO. */
		struct user_regs_struct r;
		if (left && ptrace(PTRACE_GETREGS, tid, 0, &r) == 0 &&
		    ((int64_t)r.rax == -ENOBUFS || (int64_t)r.rax == -ENOMEM))
			return (int64_t)r.rax;
		return -EIO;
	}
	struct cmsghdr *cm = (struct cmsghdr *)b.ctl.buf;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (!left && (b.msg.msg_flags & MSG_CTRUNC))
		return -EMFILE; /* no fd free below the limit: the kernel closed it */
	/* A message still queued was never received, whatever the block says:
	 * the program's own filter skipped the call (its ERRNO outranks
	 * RET_TRACE) and a thread wrote the block. Otherwise the block must
	 * hold what was sent (another thread may have rewritten it while the
	 * call ran: the program would hold an fd it did not ask for). Either
	 * way fail closed, and the message never reaches another process. */
	if (!left && b.seq == p->seq && cm->cmsg_level == SOL_SOCKET &&
	    cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)) && fd >= 0)
		return fd;
	kill(tid, SIGKILL);
	return -EIO;
}

/* The syscall-exit stop of the rewritten call: the answer is the fd number
 * received, checked against what was sent. */
static void finish_fd(struct lb_platform *p, struct tstate *s)
{
	struct pt_trap *tr = s->trap;
	pid_t tid = s->tid;

	s->injecting = false;
	s->trap = NULL;
	p->fd_busy = false;
	/* One fd is in flight at a time: a message still queued is the one
	 * sent, and the call did not take it. */
	bool left = drain(p) > 0;
	int64_t answer = received_fd(p, tid, s->block, left);
	delivered(tr, answer < 0 ? (int)answer : 0);
	struct user_regs_struct back = tr->regs;
	back.rax = (unsigned long long)answer;
	if (ptrace(PTRACE_SETREGS, tid, 0, &back) == 0)
		resume(tid, 0);
	free_trap(tr);
	ts_maybe_drop(p, s);
	start_next_fd(p);
}

static void start_next_fd(struct lb_platform *p)
{
	while (!p->fd_busy && p->fd_waiting_head) {
		struct pt_trap *tr = p->fd_waiting_head;
		p->fd_waiting_head = tr->next;
		if (!p->fd_waiting_head)
			p->fd_waiting_tail = NULL;
		struct tstate *s = ts_find(p, tr->t.pid);
		if (!s || s->trap != tr || atomic_load(&tr->dead)) {
			free_trap(tr);
			continue;
		}
		int rc = begin_fd(p, tr, s);
		if (rc < 0) {
			delivered(tr, rc == -ESRCH ? -EIO : rc);
			s->trap = NULL;
			answer_skip(tr->t.pid, &tr->regs, rc == -ESRCH ? -EIO : rc);
			free_trap(tr);
			ts_maybe_drop(p, s);
		}
	}
}

/* close_range over the hidden fd: the same call without it. Descriptors
 * above it stay open (documented). */
static bool covers_hidden(const uint64_t args[6], int h)
{
	unsigned first = (unsigned)args[0], last = (unsigned)args[1];
	return first <= (unsigned)h && (unsigned)h <= last;
}

static void narrow_close_range(pid_t tid, const uint64_t args[6], int h,
			       struct user_regs_struct *regs)
{
	unsigned first = (unsigned)args[0], last = (unsigned)args[1];
	if (!(first <= (unsigned)h && (unsigned)h <= last)) {
		resume(tid, 0); /* not over it after all: as asked, never wider */
		return;
	}
	if (first == (unsigned)h && last == (unsigned)h) {
		answer_skip(tid, regs, 0);
		return;
	}
	struct user_regs_struct r = *regs;
	if (first == (unsigned)h)
		r.rdi = (unsigned long long)h + 1;
	else
		r.rsi = (unsigned long long)h - 1;
	if (ptrace(PTRACE_SETREGS, tid, 0, &r) == 0)
		resume(tid, 0);
}

static void deliver(struct lb_platform *p, struct pt_trap *tr)
{
	struct tstate *s = ts_find(p, tr->t.pid);
	if (!s || s->trap != tr || atomic_load(&tr->dead)) {
		free_trap(tr); /* the thread is gone (killed, or replaced by an exec) */
		return;
	}
	pid_t tid = tr->t.pid;
	switch (tr->kind) {
	case LB_REPLY_CONTINUE:
		/* the plan's own close_range rule let it run: never over ours */
		if (tr->t.nr == SYS_close_range && tr->t.abi == LB_ABI_NATIVE &&
		    covers_hidden(tr->t.args, p->hidden))
			narrow_close_range(tid, tr->t.args, p->hidden, &tr->regs);
		else
			resume(tid, 0);
		break;
	case LB_REPLY_VALUE:
		answer_skip(tid, &tr->regs, tr->value);
		break;
	case LB_REPLY_ERROR:
		/* an error of 0 would be a success: fail closed */
		answer_skip(tid, &tr->regs,
			    tr->value < 0   ? tr->value
			    : tr->value > 0 ? -tr->value
					    : -EPERM);
		break;
	case LB_REPLY_FD:
		tr->next = NULL;
		if (p->fd_waiting_tail)
			p->fd_waiting_tail->next = tr;
		else
			p->fd_waiting_head = tr;
		p->fd_waiting_tail = tr;
		start_next_fd(p);
		return;
	}
	s->trap = NULL;
	free_trap(tr);
	ts_maybe_drop(p, s);
}

static void deliver_done(struct lb_platform *p)
{
	struct pt_trap *list = atomic_exchange(&p->done, NULL);
	/* The stack is newest first; the order between threads does not matter. */
	while (list) {
		struct pt_trap *next = list->next;
		p->n_out--;
		list->out_since = (struct timespec){0};
		deliver(p, list);
		list = next;
	}
}

/* ---- fatal signals for callers waiting on a worker (tracer thread) ------- */

/* A thread in a seccomp stop leaves it only for SIGKILL: any other signal
 * that would kill the program stays pending while a worker waits in the
 * host call for it (a FIFO's other end, a connect's answer), maybe for
 * ever. So the tracer looks at the pending signals of callers waiting
 * longer than PT_WATCH_AGE_MS, and for one the program neither blocks,
 * ignores nor catches, whose default action ends it, abandons the call:
 * the worker's host call is interrupted and answers EINTR, and the
 * signal, once the caller runs again, ends the program as natively. Only
 * calls that have had no effect while they wait: opens and connect. */

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
}

/* The sends too: an interrupted host send answers what it sent (a part, or
 * EINTR before anything), as the program's own would, and the signal ends
 * the program before it sees the answer. */
static bool ends_for_signal(const struct pt_trap *tr)
{
	int nr = tr->t.nr;
	return tr->await_writer || nr == SYS_open || nr == SYS_openat || nr == SYS_openat2 ||
	       nr == SYS_creat || nr == SYS_connect || nr == SYS_sendto || nr == SYS_sendmsg ||
	       nr == SYS_sendmmsg;
}

/* Signals whose default action ends the process, as a mask of bit sig-1. */
static uint64_t default_fatal(void)
{
	static const int not_fatal[] = {SIGCHLD, SIGCONT, SIGURG,  SIGWINCH,
					SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU};
	uint64_t m = ~(uint64_t)0;
	for (size_t i = 0; i < LB_ARRAY_SIZE(not_fatal); i++)
		m &= ~((uint64_t)1 << (not_fatal[i] - 1));
	return m;
}

/* Whether the thread has a signal pending, to it or its process, that
 * its default action would end it with. */
static bool fatal_pending(pid_t tid)
{
	/* at a line's start: the Name: line is the program's own comm */
	static const char *const keys[] = {
	    "\nSigPnd:", "\nShdPnd:", "\nSigBlk:", "\nSigIgn:", "\nSigCgt:"};
	char path[32], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	lb_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	uint64_t v[LB_ARRAY_SIZE(keys)];
	for (size_t i = 0; i < LB_ARRAY_SIZE(keys); i++) {
		const char *at = strstr(buf, keys[i]);
		if (!at)
			return false;
		v[i] = strtoull(at + strlen(keys[i]), NULL, 16);
	}
	return ((v[0] | v[1]) & ~v[2] & ~v[3] & ~v[4] & default_fatal()) != 0;
}

/* The tracer's wake every PT_WATCH_MS, while a trap is out. */
static void arm_watch(struct lb_platform *p, bool on)
{
	if (!p->have_watch || p->watch_armed == on)
		return;
	struct itimerspec it;
	memset(&it, 0, sizeof(it));
	if (on)
		it.it_value.tv_nsec = it.it_interval.tv_nsec = PT_WATCH_MS * 1000000L;
	if (timer_settime(p->watch, 0, &it, NULL) == 0)
		p->watch_armed = on;
}

static void watch_out(struct lb_platform *p)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!p->watch_armed) {
		arm_watch(p, true);
		p->next_watch = now;
		return;
	}
	if (ms_between(&p->next_watch, &now) < 0)
		return;
	p->next_watch = now;
	p->next_watch.tv_nsec += PT_WATCH_MS / 2 * 1000000L;
	if (p->next_watch.tv_nsec >= 1000000000L) {
		p->next_watch.tv_sec++;
		p->next_watch.tv_nsec -= 1000000000L;
	}
	for (size_t i = 0; i < p->n_ts; i++) {
		struct pt_trap *tr = p->ts[i].trap;
		if (!tr || p->ts[i].injecting ||
		    (!tr->out_since.tv_sec && !tr->out_since.tv_nsec) ||
		    ms_between(&tr->out_since, &now) < PT_WATCH_AGE_MS || !ends_for_signal(tr))
			continue;
		if (!atomic_load(&tr->abandon)) {
			if (!fatal_pending(tr->t.pid))
				continue;
			atomic_store(&tr->abandon, true);
		}
		/* At every look: a signal that came before the worker entered
		 * its host call interrupted nothing. */
		pthread_mutex_lock(&p->lock);
		if (tr->held)
			pthread_kill(tr->holder, PT_STOP_SIGNAL);
		pthread_mutex_unlock(&p->lock);
	}
}

/* ---- stops (tracer thread) ---------------------------------------------- */

/* Opens through /proc (a pipe or socket of another process) or of /dev
 * (devices: a tty waits for carrier, a tape rewinds) go to a worker
 * straight away, judged by the path string alone (a copy: only a
 * scheduling hint, never a verdict), so that they are not opened twice
 * (below). */
static bool open_names_device(struct pt_trap *tr, uint64_t addr)
{
	size_t chunk = PT_HINT_LEN;
	uint64_t to_page_end = 4096 - (addr % 4096);
	if (chunk > to_page_end)
		chunk = (size_t)to_page_end;
	if (addr == 0 || lb_target_copy(tr->t.pid, addr, tr->hint, chunk) < 0)
		return false; /* the core answers EFAULT, without waiting */
	tr->hint_addr = addr;
	tr->hint_len = chunk;
	/* a path longer than the hint is judged by its start, as before */
	char path[PT_HINT_LEN + 1];
	memcpy(path, tr->hint, chunk);
	path[chunk] = '\0';
	if (strncmp(path, "/dev/", 5) == 0) {
		static const char *const never_wait[] = {"null", "zero", "full", "random",
							 "urandom"};
		for (size_t i = 0; i < LB_ARRAY_SIZE(never_wait); i++)
			if (strcmp(path + 5, never_wait[i]) == 0)
				return false;
		return true;
	}
	return strstr(path, "/proc") || strcmp(path, "/dev") == 0;
}

/* The memory devices (null, zero, full, random, urandom): opening one
 * never waits and has no effect, so O_NONBLOCK at open changes nothing. */
static bool is_mem_device(const struct stat *st)
{
	if (!S_ISCHR(st->st_mode) || major(st->st_rdev) != 1)
		return false;
	unsigned m = minor(st->st_rdev);
	return m == 3 || m == 5 || m == 7 || m == 8 || m == 9;
}

/* Which argument holds an open's flags, where the core reads them from
 * the trap (openat2 and creat keep them elsewhere): -1 when none. */
static int open_flags_arg(int nr)
{
	return nr == SYS_open ? 1 : nr == SYS_openat ? 2 : -1;
}

/* Where a trapped call is handled. Calls whose host operation can wait on
 * another process of the sandbox (connect and the sends waiting for a
 * peer, an open of a FIFO waiting for its other end) must not run on the
 * tracer thread, which serves that other process too. An open of a plain path runs there with
 * O_NONBLOCK added to the core's copy of its flags: it can then never
 * wait, whatever the path names by the time the core opens it (a FIFO
 * swapped in after any guess included), and what turns out to be
 * something that would wait is handed to a worker afterwards
 * (settle_open). Everything else (metadata, links, renames, listings) is
 * answered on the tracer thread, exec included: the core reads a script's
 * #! line only from a regular file it typed on an O_PATH pin, opened with
 * O_NONBLOCK. */
static bool to_worker(struct pt_trap *tr)
{
	int nr = tr->t.nr;
	switch (nr) {
	case SYS_open:
	case SYS_openat: {
		int fa = open_flags_arg(nr);
		if (open_names_device(tr, tr->t.args[nr == SYS_openat ? 1 : 0]))
			return true;
		uint64_t flags = tr->t.args[fa];
		if (!(flags & (O_NONBLOCK | O_PATH))) {
			tr->t.args[fa] = flags | O_NONBLOCK;
			tr->nonblock_added = true;
		}
		return false;
	}
	case SYS_creat:
	case SYS_openat2:
	case SYS_connect:
	case SYS_sendto:
	case SYS_sendmsg:
	case SYS_sendmmsg:
		return true;
	default:
		return false;
	}
}

/* After an open run on the tracer thread with O_NONBLOCK added: a plain
 * file, a directory or a memory device is the answer, the flag taken off
 * again (nothing else of it stays: it changes nothing else for these
 * types), and so is a FIFO opened for writing or for both (it had a
 * reader: a blocking open would not have waited either). A FIFO opened
 * for reading is the answer too, once a writer has come (await_writer).
 * What would have waited (ENXIO: a FIFO opened for writing with no
 * reader; EAGAIN: a lease being broken) or is anything else (a device)
 * is opened again, as the program asked, on a worker: true then. */
static bool settle_open(struct pt_trap *tr)
{
	if (!tr->nonblock_added)
		return false;
	if (tr->kind == LB_REPLY_ERROR)
		return tr->value == -EAGAIN || tr->value == -ENXIO;
	if (tr->kind != LB_REPLY_FD)
		return false;
	struct stat st;
	memset(&st, 0, sizeof(st));
	/* The file status flags the open set are the program's own (F_GETFL
	 * would only say so again): of those F_SETFL changes, O_NONBLOCK is
	 * ours, and O_ASYNC is one open ignores. */
	int fl = (int)tr->t.args[open_flags_arg(tr->t.nr)];
	if (fstat(tr->fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ||
					S_ISFIFO(st.st_mode) || is_mem_device(&st))) {
		if (S_ISFIFO(st.st_mode) && (fl & O_ACCMODE) == O_RDONLY) {
			tr->await_writer = true;
			return true;
		}
		if (fcntl(tr->fd, F_SETFL, fl & (O_APPEND | O_DIRECT | O_NOATIME)) == 0)
			return false;
	}
	close(tr->fd);
	tr->fd = -1;
	return true;
}

/* Whether a writer has opened the FIFO since the read end fd was opened:
 * data is there, or a writer came and went (POLLHUP, which the kernel
 * reports only once a writer was seen), or one is there now (tee without
 * waiting: EAGAIN while a writer holds it open and nothing was written,
 * 0 when there is none; tee copies, it never takes data away). */
static bool writer_came(int fd, const int scratch[2])
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	if (poll(&pf, 1, 0) > 0)
		return true;
	ssize_t n = tee(fd, scratch[1], 1, SPLICE_F_NONBLOCK);
	if (n > 0) {
		char junk[64]; /* other workers' bytes too: all junk */
		(void)!read(scratch[0], junk, sizeof(junk));
		return true;
	}
	return n < 0 && errno == EAGAIN;
}

/* A worker: the blocking open of a FIFO's read end returns once a writer
 * has opened it. Opening it again to wait would miss a writer that came
 * (and maybe went, its data in the FIFO) since the open without waiting,
 * which counted as a reader from then on; so the worker waits on that
 * very read end until a writer has come, looking again at growing
 * intervals (there is no event for a writer's arrival alone), and that
 * read end is the answer. */
static void await_writer(struct lb_platform *p, struct pt_trap *tr)
{
	int ms = 1;
	bool came;
	while (!(came = writer_came(tr->fd, p->scratch)) && !atomic_load(&tr->dead) &&
	       !atomic_load(&tr->abandon) && !atomic_load(&p->stop_flag)) {
		struct pollfd pf = {.fd = tr->fd, .events = POLLIN};
		(void)poll(&pf, 1, ms); /* interrupted at stop */
		if (ms < 64)
			ms *= 2;
	}
	/* abandoned (watch_out): the open returns EINTR, as a blocking one
	 * would to a signal */
	int err = !came && atomic_load(&tr->abandon) ? -EINTR : 0;
	int fl = err ? -1 : fcntl(tr->fd, F_GETFL);
	if (fl < 0 || fcntl(tr->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		close(tr->fd);
		tr->fd = -1;
		tr->kind = LB_REPLY_ERROR;
		tr->value = err ? err : -EIO;
		delivered(tr, (int)tr->value);
	}
}

/* On a worker: the wait for a FIFO's writer, or the same trap again as
 * the program made it. */
static void to_worker_after(struct lb_platform *p, struct pt_trap *tr)
{
	if (!tr->await_writer) {
		delivered(tr, LB_DELIVERY_REDONE);
		int fa = open_flags_arg(tr->t.nr);
		tr->t.args[fa] &= ~(uint64_t)O_NONBLOCK;
		tr->kind = LB_REPLY_ERROR;
		tr->value = -EPERM;
	}
	tr->nonblock_added = false;
	p->n_out++;
	clock_gettime(CLOCK_MONOTONIC, &tr->out_since);
	enqueue(p, tr);
}

/* What a seccomp stop is about, in one request: the register set, which
 * a value or fd answer writes back anyway. Every RET_TRACE stop is a
 * native x86-64 call: the filter sends calls of a foreign ABI (i386
 * through int 0x80, x32 numbers), which the registers could not tell from
 * native ones, to SIGSYS instead (on_sigsys). The x32 bit is looked at
 * all the same: a call is never mediated as the wrong one. */
static int stop_regs(pid_t tid, struct pt_trap *tr)
{
	if (ptrace(PTRACE_GETREGS, tid, 0, &tr->regs) < 0)
		return -ESRCH;
	const struct user_regs_struct *r = &tr->regs;
	int nr = (int)r->orig_rax;
	const uint64_t a[6] = {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9};
	tr->t = (struct lb_trap){
	    .id = 0,
	    .pid = tid,
	    .abi = (nr & LB_X32_SYSCALL_BIT) ? LB_ABI_X32 : LB_ABI_NATIVE,
	    .nr = nr,
	    .priv = tr,
	};
	memcpy(tr->t.args, a, sizeof(a));
	return 0;
}

/* Answered right here on the tracer thread, or handed to a worker. */
static void dispatch(struct lb_platform *p, struct pt_trap *tr)
{
	if (tr->t.abi == LB_ABI_NATIVE && to_worker(tr)) {
		p->n_out++;
		clock_gettime(CLOCK_MONOTONIC, &tr->out_since);
		enqueue(p, tr);
		return;
	}
	/* Answered right here: two thread hand-offs less per call. The trap
	 * cannot die meanwhile unseen (nothing reaps while we run). */
	run_handler(p, tr);
	if (settle_open(tr))
		to_worker_after(p, tr);
	else
		deliver(p, tr);
}

static void on_seccomp(struct lb_platform *p, pid_t tid)
{
	struct pt_trap *tr = alloc_trap(p);
	if (!tr) {
		answer_skip(tid, NULL, -ENOMEM);
		return;
	}
	if (stop_regs(tid, tr) < 0) {
		free_trap(tr);
		return;
	}
	int nr = tr->t.nr;
	p->spin_kind = (unsigned)nr < PT_NR_KINDS ? (unsigned)nr : PT_KIND_EVENT;
	struct tstate *s = ts_find(p, tid);
	if (s && s->probing) {
		if (nr == SYS_close_range && tr->t.args[5] == PT_PROBE_END)
			s->probing = false;
		answer_skip(tid, &tr->regs, PT_PROBE_MAGIC);
		free_trap(tr);
		ts_maybe_drop(p, s);
		return;
	}
	int64_t answer;
	if (nr == SYS_close_range && !p->traps_close_range &&
	    covers_hidden(tr->t.args, p->hidden)) {
		narrow_close_range(tid, tr->t.args, p->hidden, &tr->regs);
		free_trap(tr);
		return;
	}
	if (tr->t.abi == LB_ABI_NATIVE && hidden_answer(p, nr, tr->t.args, &answer)) {
		answer_skip(tid, &tr->regs, answer);
		free_trap(tr);
		return;
	}
	s = ts_get(p, tid);
	if (!s) {
		answer_skip(tid, &tr->regs, -ENOMEM);
		free_trap(tr);
		return;
	}
	tr->kind = LB_REPLY_ERROR;
	tr->value = -EPERM;
	s->trap = tr;
	dispatch(p, tr);
}

/* A SIGSYS from our own filter's foreign-ABI action (a call of another
 * ABI, skipped by the kernel): recorded and refused by the core like any
 * trapped call, its answer (EPERM) put in rax and the signal suppressed.
 * A SIGSYS of anyone else (kill, the program's own filter with data of
 * its own) is delivered as it came. A program can forge ours (rt_tgsigqueueinfo to itself): that
 * buys it a refusal record and an EPERM in its own register, nothing more
 * (docs/security.md). */
static bool on_sigsys(struct lb_platform *p, pid_t tid)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) < 0 || si.si_code != SYS_SECCOMP ||
	    si.si_errno != PT_FOREIGN_DATA)
		return false;
	bool foreign = si.si_arch != AUDIT_ARCH_X86_64 || (si.si_syscall & LB_X32_SYSCALL_BIT);
	struct pt_trap *tr = foreign ? alloc_trap(p) : NULL;
	if (!tr)
		return false;
	if (stop_regs(tid, tr) < 0) {
		free_trap(tr);
		return true; /* gone */
	}
	tr->t.nr = si.si_syscall;
	tr->t.abi = si.si_arch != AUDIT_ARCH_X86_64 ? LB_ABI_I386 : LB_ABI_X32;
	struct tstate *s = ts_get(p, tid);
	if (!s || s->trap) {
		/* nothing else can be outstanding for a thread at a signal
		 * stop; fail closed all the same */
		answer_skip(tid, &tr->regs, s ? -EPERM : -ENOMEM);
		free_trap(tr);
		return true;
	}
	tr->kind = LB_REPLY_ERROR;
	tr->value = -EPERM;
	s->trap = tr;
	dispatch(p, tr);
	return true;
}

static void on_gone(struct lb_platform *p, pid_t tid)
{
	p->spin_kind = PT_KIND_GONE;
	struct tstate *s = ts_find(p, tid);
	if (!s)
		return;
	if (s->trap) {
		/* Before the pid can be reused: the worker's reads check this. */
		atomic_store(&s->trap->dead, true);
		if (s->injecting) {
			p->fd_busy = false;
			free_trap(s->trap);
			drain(p);
		}
		s->trap = NULL;
	}
	s->injecting = s->probing = false;
	ts_maybe_drop(p, s);
	start_next_fd(p);
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void on_stop(struct lb_platform *p, pid_t tid, int status)
{
	int sig = WSTOPSIG(status);
	int event = status >> 16;

	if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
		on_seccomp(p, tid);
	} else if (sig == (SIGTRAP | 0x80)) {
		p->spin_kind = PT_KIND_FD_EXIT;
		struct tstate *s = ts_find(p, tid);
		if (s && s->injecting)
			finish_fd(p, s);
		else
			resume(tid, 0);
	} else if (event == PTRACE_EVENT_EXEC) {
		p->spin_kind = PT_KIND_EXEC;
		/* A non-leader thread exec'd and took the leader's tid: whatever
		 * the old leader had outstanding belongs to a dead thread. With
		 * nothing outstanding anywhere (the usual exec) there is nothing
		 * to drop, and no need to ask which tid it was. */
		unsigned long former = (unsigned long)tid;
		if (p->n_ts > 0)
			(void)ptrace(PTRACE_GETEVENTMSG, tid, 0, &former);
		if ((pid_t)former != tid) {
			on_gone(p, tid);
			on_gone(p, (pid_t)former);
		}
		resume(tid, 0);
	} else if (event == PTRACE_EVENT_STOP) {
		p->spin_kind = PT_KIND_EVENT;
		if (is_stop_signal(sig))
			(void)ptrace(PTRACE_LISTEN, tid, 0, 0); /* group-stop: stay stopped */
		else
			resume(tid, 0);
	} else if (event) {
		p->spin_kind = PT_KIND_EVENT;
		resume(tid, 0); /* fork, vfork, clone: the child is attached already */
	} else {
		p->spin_kind = PT_KIND_SIGNAL;
		if (sig != SIGSYS || !on_sigsys(p, tid))
			resume(tid, sig); /* signal-delivery-stop: deliver it */
	}
}

static int seize_program(struct lb_platform *p)
{
	char c;
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	ssize_t n = -1;
	while (!atomic_load(&p->stop_flag)) {
		struct pollfd pfd = {.fd = p->sup, .events = POLLIN};
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvmsg(p->sup, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n >= 0 || (errno != EINTR && errno != EAGAIN))
			break;
	}
	if (n != 1)
		return -ECHILD;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_CREDENTIALS)
		return -EPROTO;
	struct ucred cred;
	memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
	long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		    PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL |
		    PTRACE_O_TRACESYSGOOD;
	if (ptrace(PTRACE_SEIZE, cred.pid, 0, (void *)opts) < 0)
		return -errno;
	struct tstate *s = ts_get(p, cred.pid);
	if (!s)
		return -ENOMEM;
	s->probing = true; /* pt_before_exec waits for its first answer */
	return 0;
}

/* The next stop often comes within microseconds (the tracee only runs to
 * its next trapped call, or through the rewritten recvmsg). Sleeping in
 * the wait right away lets this CPU go idle, and on a virtual machine
 * waking an idle vCPU for each stop costs more than the stop itself (the
 * open loop of docs/benchmarks.md ran at 40% of the speed). So look
 * without waiting for up to PT_SPIN_NS first, yielding the CPU between
 * looks in case the tracee runs on this one. But after an execve, a fork
 * or a compiler's long computation the next stop is far off, and looking
 * only burns a CPU the program could use: how often a look paid off is
 * kept per kind of the stop last handled (spin_kind), and a kind whose
 * looks keep failing goes straight to sleep, with a look every
 * PT_SPIN_PROBE-th time to notice a change. 0: nothing came. */
#define PT_SPIN_NS 50000L
#define PT_SPIN_PROBE 8
static pid_t spin_wait(int *status, long budget_ns)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t tid = waitpid(-1, status, __WALL | __WNOTHREAD | WNOHANG);
		if (tid != 0)
			return tid;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > budget_ns)
			return 0;
		sched_yield();
	}
}

/* The wait for the next stop when no worker holds a trap: a look first
 * where looks have paid off after this kind of stop (see above). */
static pid_t next_stop(struct lb_platform *p, int *status)
{
	uint8_t *score = &p->spin_score[p->spin_kind];
	bool look = *score >= 128 || ++p->spin_probe % PT_SPIN_PROBE == 0;
	pid_t tid = look ? spin_wait(status, PT_SPIN_NS) : 0;
	if (look) /* a moving average of the looks that found a stop, of 255 */
		*score = tid != 0 ? (uint8_t)(*score + (255 - *score) / 4)
				  : (uint8_t)(*score - *score / 4);
	if (tid == 0)
		tid = waitpid(-1, status, __WALL | __WNOTHREAD);
	return tid;
}

static void *tracer_main(void *arg)
{
	struct lb_platform *p = arg;
	tl_tracer = p;
	sigset_t wake;
	sigemptyset(&wake);
	sigaddset(&wake, PT_WAKE_SIGNAL);
	sigaddset(&wake, PT_STOP_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);

	/* Without the timer, nothing watches for fatal signals (watch_out). */
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = PT_WAKE_SIGNAL;
	ev._sigev_un._tid = gettid();
	p->have_watch = timer_create(CLOCK_MONOTONIC, &ev, &p->watch) == 0;

	int rc = seize_program(p);
	if (rc < 0) {
		p->start_errno = -rc;
		if (p->have_watch)
			timer_delete(p->watch);
		atomic_store(&p->tracer_done, true);
		return NULL;
	}
	for (;;) {
		(void)sigsetjmp(p->jmp, 0);
		atomic_store(&p->in_wait, WAIT_NONE);
		if (atomic_load(&p->stop_flag))
			break;
		deliver_done(p);
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* Only in the WNOWAIT wait below does a wake jump back to the
		 * sigsetjmp above (whose buffer is complete by then: in_wait is
		 * never WAIT_NOWAIT while sigsetjmp writes it); a wake that
		 * reaches the reaping wait restarts it, so nothing it reaped is
		 * lost. */
		if (p->n_out == 0) {
			arm_watch(p, false);
			atomic_store(&p->in_wait, WAIT_REAPING);
			/* No worker holds a trap: none can wake us, nor read a pid
			 * this wait reaps. One call instead of two. */
			int status;
			pid_t tid = next_stop(p, &status);
			atomic_store(&p->in_wait, WAIT_NONE);
			if (tid < 0 && errno == ECHILD)
				break;
			if (tid <= 0)
				continue;
			if (WIFSTOPPED(status))
				on_stop(p, tid, status);
			else
				on_gone(p, tid);
			continue;
		}
		watch_out(p);
		atomic_store(&p->in_wait, WAIT_NOWAIT);
		if (atomic_load(&p->done) || atomic_load(&p->stop_flag)) {
			atomic_store(&p->in_wait, WAIT_NONE);
			continue;
		}
		int w = waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | __WALL | __WNOTHREAD | WNOWAIT);
		atomic_store(&p->in_wait, WAIT_NONE);
		if (w < 0) {
			if (errno == ECHILD)
				break; /* no tracee left */
			continue;
		}
		pid_t tid = si.si_pid;
		if (tid <= 0)
			continue;
		if (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
		    si.si_code == CLD_DUMPED) {
			on_gone(p, tid); /* before the reap frees the pid */
			(void)waitpid(tid, NULL, __WALL | __WNOTHREAD | WNOHANG);
			continue;
		}
		int status;
		if (waitpid(tid, &status, __WALL | __WNOTHREAD | WNOHANG) == tid &&
		    WIFSTOPPED(status))
			on_stop(p, tid, status);
	}
	if (p->have_watch)
		timer_delete(p->watch);
	atomic_store(&p->tracer_done, true);
	return NULL;
}

/* ---- parent side -------------------------------------------------------- */

static int pt_attach(const struct lb_prepared *prep, pid_t child, int child_handle,
		     struct lb_platform **out)
{
	(void)child;
	(void)child_handle;
	lb_autofree struct lb_platform *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->sup = fcntl(prep->sup, F_DUPFD_CLOEXEC, 3);
	p->tracee_end = fcntl(prep->tracee, F_DUPFD_CLOEXEC, 3);
	p->scratch[0] = p->scratch[1] = -1;
	if (p->sup < 0 || p->tracee_end < 0 || pipe2(p->scratch, O_CLOEXEC | O_NONBLOCK) < 0) {
		int err = errno;
		if (p->sup >= 0)
			close(p->sup);
		if (p->tracee_end >= 0)
			close(p->tracee_end);
		return -err;
	}
	p->hidden = prep->hidden;
	p->traps_close_range = prep->traps_close_range;
	memset(p->spin_score, 255, sizeof(p->spin_score)); /* look, until looks fail */
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->gone, NULL);
	*out = steal_pointer(&p);
	return 0;
}

static int pt_serve(struct lb_platform *p, void (*handler)(void *ctx, struct lb_trap *t), void *ctx)
{
	p->handler = handler;
	p->ctx = ctx;
	struct sigaction sa = {.sa_handler = on_wake, .sa_flags = SA_NODEFER | SA_RESTART};
	sigemptyset(&sa.sa_mask);
	if (sigaction(PT_WAKE_SIGNAL, &sa, NULL) < 0)
		return -errno;
	/* Every tracee stop would also raise SIGCHLD in this process and wake
	 * the launcher's signal loop for nothing: SA_NOCLDSTOP keeps stops
	 * quiet (waits are still woken; exits still signal). The disposition
	 * stays what it was. */
	struct sigaction chld;
	if (sigaction(SIGCHLD, NULL, &chld) == 0) {
		chld.sa_flags |= SA_NOCLDSTOP;
		(void)sigaction(SIGCHLD, &chld, NULL);
	}
	struct sigaction st = {.sa_handler = on_stop_signal}; /* no SA_RESTART */
	sigemptyset(&st.sa_mask);
	if (sigaction(PT_STOP_SIGNAL, &st, NULL) < 0)
		return -errno;
	pthread_mutex_lock(&p->lock);
	spawn_worker_locked(p);
	int alive = p->n_alive;
	pthread_mutex_unlock(&p->lock);
	if (alive == 0)
		return -EAGAIN;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = pthread_create(&p->tracer, &attr, tracer_main, p);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -rc;
	p->tracer_started = true;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void pt_stop(struct lb_platform *p)
{
	atomic_store(&p->stop_flag, true);
	pthread_mutex_lock(&p->lock);
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	/* The tracer may sit in recvmsg or waitid; a worker in a blocking
	 * host call (a FIFO open): interrupt until they are out. */
	if (p->tracer_started) {
		while (!atomic_load(&p->tracer_done)) {
			/* no SA_RESTART: any wait of the tracer returns EINTR */
			pthread_kill(p->tracer, PT_STOP_SIGNAL);
			sleep_ms(2);
		}
		pthread_join(p->tracer, NULL); /* its exit kills what is left (EXITKILL) */
	}
	pthread_mutex_lock(&p->lock);
	while (p->n_alive > 0) {
		for (size_t i = 0; i < PT_MAX_WORKERS; i++)
			if (p->slots[i].state == SLOT_RUNNING)
				pthread_kill(p->slots[i].t, PT_STOP_SIGNAL);
		pthread_cond_broadcast(&p->work);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 2 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->gone, &p->lock, &until);
	}
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < PT_MAX_WORKERS; i++)
		if (p->slots[i].state != SLOT_FREE)
			pthread_join(p->slots[i].t, NULL);
}

static void pt_destroy(struct lb_platform *p)
{
	if (!p)
		return;
	struct pt_trap *list = atomic_exchange(&p->done, NULL);
	while (list) {
		struct pt_trap *next = list->next;
		free_trap(list);
		list = next;
	}
	for (struct pt_trap *t = p->queue_head, *n; t; t = n) {
		n = t->next;
		free_trap(t);
	}
	for (struct pt_trap *t = p->fd_waiting_head, *n; t; t = n) {
		n = t->next;
		free_trap(t);
	}
	for (size_t i = 0; i < p->n_ts; i++)
		if (p->ts[i].injecting && p->ts[i].trap)
			free_trap(p->ts[i].trap);
	while (p->spare) {
		struct pt_trap *n = p->spare->next;
		free(p->spare);
		p->spare = n;
	}
	free(p->ts);
	close(p->sup);
	close(p->tracee_end);
	close(p->scratch[0]);
	close(p->scratch[1]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->gone);
	free(p);
}

/* ---- per-trap services (worker threads) ---------------------------------- */

static struct pt_trap *trap_of(struct lb_trap *t)
{
	return t->priv;
}

/* The tracee cannot leave the seccomp stop but by dying, and the tracer
 * marks a trap dead before the dead thread's pid can be reaped: a read
 * that precedes a "still valid" answer read the caller. */
static int pt_still_valid(struct lb_trap *t)
{
	return atomic_load(&trap_of(t)->dead) ? -ENOENT : 0;
}

static int pt_read_mem(struct lb_trap *t, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	int rc = lb_target_copy(t->pid, addr, buf, len);
	return rc < 0 ? rc : pt_still_valid(t);
}

static int pt_read_str(struct lb_trap *t, uint64_t addr, char *buf, size_t cap)
{
	/* The open's path as the tracer read it at this stop: one copy,
	 * judged and used by the core as any other. */
	const struct pt_trap *tr = trap_of(t);
	if (tr->hint_len && addr == tr->hint_addr) {
		size_t n = tr->hint_len < cap ? tr->hint_len : cap;
		const char *end = memchr(tr->hint, '\0', n);
		if (end) {
			memcpy(buf, tr->hint, (size_t)(end - tr->hint) + 1);
			return pt_still_valid(t);
		}
	}
	int rc = lb_target_read_str(t->pid, addr, buf, cap);
	return rc < 0 ? rc : pt_still_valid(t);
}

static int pt_write_mem(struct lb_trap *t, uint64_t addr, const void *buf, size_t len)
{
	int rc = pt_still_valid(t);
	if (rc < 0)
		return rc;
	ssize_t n = lb_target_vm(t->pid, (void *)buf, addr, len, true);
	return n < 0 || (size_t)n != len ? -EFAULT : 0;
}

static int pt_get_fd(struct lb_trap *t, int target_fd)
{
	struct pt_trap *tr = trap_of(t);
	/* Never passed on (SCM_RIGHTS in a sendmsg, a connect on it, ...): it
	 * carries fds meant for other processes. */
	if (target_fd == tr->p->hidden)
		return -EBADF;
	if (tr->pidfd < 0) {
		int fd = (int)syscall(SYS_pidfd_open, t->pid, PIDFD_THREAD);
		if (fd < 0 && errno == EINVAL)
			fd = (int)syscall(SYS_pidfd_open, t->pid, 0);
		if (fd < 0)
			return -errno;
		tr->pidfd = fd;
		if (pt_still_valid(t) < 0)
			return -ESRCH;
	}
	int fd = lb_target_getfd(tr->pidfd, target_fd);
	if (fd < 0)
		return -errno;
	return fd;
}

/* Recorded here, delivered by the tracer once the handler returns. */
static int pt_reply(struct lb_trap *t, enum lb_reply_kind kind, int64_t value, int fd, bool cloexec)
{
	struct pt_trap *tr = trap_of(t);
	if (atomic_load(&tr->dead))
		return -ENOENT;
	if (kind == LB_REPLY_FD)
		tr->fd = fd; /* ours now; the tracer closes it once delivered */
	tr->kind = kind;
	tr->value = value;
	tr->cloexec = cloexec;
	return 0;
}

const struct lb_platform_ops lb_platform_ptrace = {
    .name = "ptrace",
    .prepare = pt_prepare,
    .free_prepared = pt_free_prepared,
    .child_fd = pt_child_fd,
    .install = pt_install,
    .before_exec = pt_before_exec,
    .attach = pt_attach,
    .serve = pt_serve,
    .stop = pt_stop,
    .destroy = pt_destroy,
    .read_mem = pt_read_mem,
    .read_str = pt_read_str,
    .write_mem = pt_write_mem,
    .get_fd = pt_get_fd,
    .still_valid = pt_still_valid,
    .reply = pt_reply,
    .installs_path_fds = true,
};
