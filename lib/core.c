/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core_internal.h"
#include "dns.h"
#include "litebox/util.h"
#include "nest_internal.h"

enum lb_mode lb_core_mode(const struct lb_core *core)
{
	return core->cfg.force_audit ? LB_MODE_AUDIT : lb_policy_mode(core->cfg.policy);
}

int lb_core_filter_plan(struct lb_core *core, struct lb_filter_plan *out)
{
	lb_plan_filter(core->plan, out);
	return 0;
}

/* ---- set-up ---------------------------------------------------------------- */

static int collect_grant_prefixes(struct lb_core *core)
{
	static const enum lb_class classes[] = {LB_CLASS_READ, LB_CLASS_WRITE, LB_CLASS_EXEC,
						LB_CLASS_STAT};
	size_t total = 0;
	for (size_t i = 0; i < LB_ARRAY_SIZE(classes); i++) {
		const char *const *pre;
		total += lb_policy_grant_prefixes(core->cfg.policy, classes[i], &pre);
	}
	core->grant_prefixes = calloc(total + 1, sizeof(char *));
	if (!core->grant_prefixes)
		return -ENOMEM;
	for (size_t i = 0; i < LB_ARRAY_SIZE(classes); i++) {
		const char *const *pre;
		size_t n = lb_policy_grant_prefixes(core->cfg.policy, classes[i], &pre);
		for (size_t j = 0; j < n; j++) {
			char *dup = strdup(pre[j]);
			if (!dup)
				return -ENOMEM;
			core->grant_prefixes[core->n_grant_prefixes++] = dup;
		}
	}
	return 0;
}

void lb_track_pty(struct lb_core *core, int n)
{
	pthread_mutex_lock(&core->tty_lock);
	bool known = false;
	for (size_t i = 0; i < core->n_ttys && !known; i++)
		known = core->ttys[i] == n;
	if (!known && core->n_ttys == core->cap_ttys) {
		size_t cap = core->cap_ttys ? core->cap_ttys * 2 : 8;
		int *t = realloc(core->ttys, cap * sizeof(*t));
		if (t) {
			core->ttys = t;
			core->cap_ttys = cap;
		}
	}
	if (!known && core->n_ttys < core->cap_ttys)
		core->ttys[core->n_ttys++] = n;
	pthread_mutex_unlock(&core->tty_lock);
}

/* The pty number of /dev/pts/N, else -1. */
static int pts_number(const char *path)
{
	if (strncmp(path, "/dev/pts/", 9) != 0)
		return -1;
	char *end;
	long n = strtol(path + 9, &end, 10);
	return end == path + 9 || *end || n < 0 || n > INT_MAX ? -1 : (int)n;
}

static bool own_tty(struct lb_core *core, const char *path)
{
	int n = pts_number(path);
	if (n < 0)
		return false;
	pthread_mutex_lock(&core->tty_lock);
	bool found = false;
	for (size_t i = 0; i < core->n_ttys && !found; i++)
		found = core->ttys[i] == n;
	pthread_mutex_unlock(&core->tty_lock);
	return found;
}

/* The terminal litebox was started on (standard fds, or the controlling
 * terminal behind /dev/tty) stays the program's. */
static void track_own_terminal(struct lb_core *core)
{
	char name[64];
	for (int fd = 0; fd <= 2; fd++)
		if (isatty(fd) && ttyname_r(fd, name, sizeof(name)) == 0 && pts_number(name) >= 0)
			lb_track_pty(core, pts_number(name));
	lb_autoclose int t = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (t >= 0 && ttyname_r(t, name, sizeof(name)) == 0 && pts_number(name) >= 0)
		lb_track_pty(core, pts_number(name));
}

int lb_core_new(const struct lb_core_config *cfg, struct lb_core **out)
{
	lb_autofree struct lb_core *core = calloc(1, sizeof(*core));
	if (!core)
		return -ENOMEM;
	core->cfg = *cfg;
	core->ops = cfg->platform;
	core->umask = cfg->initial_umask;
	core->sandbox_pidns = 0;
	core->has_hides = lb_policy_hides_below(cfg->policy, "/");
	pthread_mutex_init(&core->creds_lock, NULL);
	pthread_mutex_init(&core->tty_lock, NULL);
	pthread_mutex_init(&core->root_lock, NULL);
	core->sandbox_root = -1;
	core->nest_fd = -1;
	pthread_mutex_init(&core->nest_lock, NULL);
	track_own_terminal(core);
	/* A program allowed to enter namespaces of its own changes what its
	 * capabilities mean without a tracked call: read them per call. */
	static const char *const ns_calls[] = {"unshare", "clone", "clone3", "setns"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(ns_calls); i++)
		if (lb_policy_allows_dangerous(cfg->policy, ns_calls[i]))
			atomic_store(&core->creds_changed, true);
	core->n_groups = getgroups(LB_MAX_GROUPS, core->groups);
	if (core->n_groups < 0)
		core->n_groups = 0;
	lb_net_core_init(core);
	core->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (core->rootfd < 0) {
		int err = errno;
		lb_net_core_free(core);
		return -err;
	}
	int rc = collect_grant_prefixes(core);
	if (rc == 0)
		rc = lb_protect_init(core, cfg->protect_paths, cfg->protect_fd);
	if (rc == 0)
		rc = lb_dns_init(core);
	if (rc == 0)
		rc = lb_plan_build(
		    &(struct lb_plan_inputs){.policy = cfg->policy,
					     .audit = lb_core_mode(core) == LB_MODE_AUDIT,
					     .stat_in_kernel = cfg->stat_in_kernel,
					     .readlink_in_kernel = cfg->readlink_in_kernel},
		    &core->plan);
	if (rc < 0) {
		lb_core_free(steal_pointer(&core));
		return rc;
	}
	*out = steal_pointer(&core);
	return 0;
}

void lb_core_free(struct lb_core *core)
{
	if (!core)
		return;
	if (core->rootfd >= 0)
		close(core->rootfd);
	for (size_t i = 0; i < core->n_grant_prefixes; i++)
		free(core->grant_prefixes[i]);
	free(core->grant_prefixes);
	lb_protect_free(core);
	lb_plan_free(core->plan);
	pthread_mutex_destroy(&core->creds_lock);
	pthread_mutex_destroy(&core->tty_lock);
	pthread_mutex_destroy(&core->root_lock);
	pthread_mutex_destroy(&core->nest_lock);
	if (core->sandbox_root >= 0)
		close(core->sandbox_root);
	free(core->ttys);
	lb_dns_free(core);
	lb_net_core_free(core);
	free(core);
}

static ino_t ns_of(pid_t pid, const char *ns)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

static ino_t pidns_of(pid_t pid)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)pid);
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

void lb_core_set_nest(struct lb_core *core, int fd)
{
	core->nest_fd = fd;
}

void lb_core_set_sandbox(struct lb_core *core, pid_t init_pid)
{
	core->sandbox_init = init_pid;
	core->sandbox_pidns = pidns_of(init_pid);
	core->own_pidns = pidns_of(getpid());
	core->own_ipcns = ns_of(init_pid, "ipc") != ns_of(getpid(), "ipc");
}

/* /proc/PID of a process outside the sandbox reads as absent. */
static bool pid_in_sandbox(void *arg, pid_t pid)
{
	struct lb_core *core = arg;
	if (core->sandbox_pidns == 0 || core->sandbox_pidns == core->own_pidns)
		return false; /* no pid namespace of its own: see lb_core_set_sandbox */
	return pidns_of(pid) == core->sandbox_pidns;
}

/* /proc/PID/... of a process outside the sandbox is absent, whatever the
 * policy says and however the path was reached (a cwd or dirfd inside
 * /proc/PID never passes through /proc itself). Judged on the canonical
 * path. Without a pid namespace of its own, only the caller's own
 * entries are visible. */
static bool outside_proc_entry(struct lb_call *c, const char *path)
{
	pid_t pid;
	const char *rest;
	if (c->core->own_proc || !lb_proc_pid_path(path, &pid, &rest))
		return false; /* the sandbox's own /proc shows nothing else */
	if (pid == c->t->pid || pid == lb_caller_tgid(c))
		return false;
	return !pid_in_sandbox(c->core, pid);
}

pid_t lb_caller_tgid(struct lb_call *c)
{
	if (c->rctx.tgid == 0)
		c->rctx.tgid = lb_tgid_of(c->t->pid);
	return c->rctx.tgid;
}

static int read_status(pid_t tid, char *buf, size_t len);

/* The last number of a "NStgid:" / "NSpid:" line: the id in the
 * innermost pid namespace, the sandbox's. */
static pid_t innermost_id(const char *status, const char *key)
{
	const char *l = strstr(status, key);
	if (!l)
		return 0;
	l += strlen(key);
	long v = 0;
	for (;;) {
		char *end;
		long n = strtol(l, &end, 10);
		if (end == l)
			break;
		v = n;
		l = end;
	}
	return (pid_t)v;
}

static void caller_proc_ids(struct lb_call *c)
{
	if (c->proc_tgid)
		return;
	char buf[4096];
	if (c->core->own_proc && read_status(c->t->pid, buf, sizeof(buf)) == 0) {
		c->proc_tgid = innermost_id(buf, "\nNStgid:");
		c->proc_tid = innermost_id(buf, "\nNSpid:");
	}
	if (!c->proc_tgid || !c->proc_tid) {
		c->proc_tgid = lb_caller_tgid(c);
		c->proc_tid = c->t->pid;
	}
}

/* For the resolver: /proc/self and /proc/thread-self of the caller. */
static void resolver_proc_ids(void *arg, pid_t *tgid, pid_t *tid)
{
	struct lb_call *c = arg;
	caller_proc_ids(c);
	*tgid = c->proc_tgid;
	*tid = c->proc_tid;
}

/* Is pid (as /proc numbers it) the caller's process or thread? */
static bool is_caller_proc_pid(struct lb_call *c, pid_t pid)
{
	caller_proc_ids(c);
	return pid == c->proc_tgid || pid == c->proc_tid;
}

/* ---- answering ------------------------------------------------------------ */

/* The one place that answers a trapped call, exactly once. A failed reply
 * means the target is gone, which needs no handling. */
static void reply(struct lb_call *c, struct lb_answer a)
{
	switch (a.kind) {
	case LB_ANS_VALUE:
		c->ops->reply(c->t, LB_REPLY_VALUE, a.value, -1, false);
		return;
	case LB_ANS_FD:
		c->ops->reply(c->t, LB_REPLY_FD, 0, a.fd, a.cloexec); /* takes a.fd */
		return;
	case LB_ANS_CONTINUE:
		c->ops->reply(c->t, LB_REPLY_CONTINUE, 0, -1, false);
		return;
	case LB_ANS_ERROR:
		break;
	}
	/* An error without an errno would be a success: refuse instead. */
	c->ops->reply(c->t, LB_REPLY_ERROR, -(int64_t)(a.err > 0 ? a.err : EPERM), -1, false);
}

/* ---- judging ---------------------------------------------------------------- */

static bool leads_to_grant(const struct lb_core *core, const char *path)
{
	size_t len = strlen(path);
	for (size_t i = 0; i < core->n_grant_prefixes; i++) {
		const char *g = core->grant_prefixes[i];
		if (len == 1 && path[0] == '/')
			return true;
		if (strncmp(g, path, len) == 0 && g[len] == '/')
			return true;
	}
	return false;
}

/* A nested domain: the enclosing litebox lets a program walk to the
 * enclosing policy's grants too (as leads_to_grant does for its own), so
 * a default refusal of the enclosing policy on such a directory leaves
 * the decision to the inner one. */
static bool outer_lets_walk(const struct lb_core *core, const struct lb_decision *d,
			    const char *path)
{
	static const enum lb_class classes[] = {LB_CLASS_READ, LB_CLASS_WRITE, LB_CLASS_EXEC,
						LB_CLASS_STAT};
	const struct lb_policy *outer = lb_policy_outer(core->cfg.policy);
	if (!outer || !d->outer || d->verdict != LB_VERDICT_DENY || d->origin != LB_ORIGIN_DEFAULT)
		return false;
	size_t len = strlen(path);
	for (size_t i = 0; i < LB_ARRAY_SIZE(classes); i++) {
		const char *const *pre;
		size_t n = lb_policy_grant_prefixes(outer, classes[i], &pre);
		for (size_t j = 0; j < n; j++)
			if ((len == 1 && path[0] == '/') ||
			    (strncmp(pre[j], path, len) == 0 && pre[j][len] == '/'))
				return true;
	}
	return false;
}

/* The policy speaks of /proc/self; the resolver sees /proc/<tgid>. */
static const char *policy_view(struct lb_call *c, const char *path, char *buf, size_t len)
{
	pid_t pid;
	const char *rest;
	if (!lb_proc_pid_path(path, &pid, &rest))
		return path;
	if (!is_caller_proc_pid(c, pid))
		return path;
	snprintf(buf, len, "/proc/self%s", rest);
	return buf;
}

/* Allow records of a call wait until its answer is delivered: an fd the
 * program had no room for (EMFILE) or never received (it died) was not
 * an allowed call. At most LB_LATER_MAX per call; more are written at
 * once (no call judges that many objects before an fd answer). */
#define LB_LATER_MAX 4
struct lb_later {
	struct lb_delivery base;
	struct lb_core *core;
	size_t n;
	struct {
		struct lb_event ev;
		struct lb_decision d;
		char *object;
	} held[LB_LATER_MAX];
};

static bool later_hold(struct lb_call *c, const struct lb_event *ev)
{
	if (!c->later) {
		c->later = calloc(1, sizeof(*c->later));
		if (!c->later)
			return false;
		c->later->core = c->core;
	}
	struct lb_later *l = c->later;
	if (l->n == LB_LATER_MAX)
		return false;
	char *obj = strdup(ev->object);
	if (!obj)
		return false;
	l->held[l->n].ev = *ev;
	l->held[l->n].d = *ev->decision;
	l->held[l->n].object = obj;
	l->n++;
	return true;
}

/* Write the held records: as they were when the program got its answer
 * (err 0), as refusals naming the errno it got instead, or not at all
 * when the platform judges the call again (LB_DELIVERY_REDONE). */
static void later_flush(struct lb_later *l, int err)
{
	if (!l)
		return;
	const struct lb_core_config *cfg = &l->core->cfg;
	for (size_t i = 0; i < l->n; i++) {
		struct lb_event ev = l->held[i].ev;
		struct lb_decision d = l->held[i].d;
		ev.object = l->held[i].object;
		ev.decision = &d;
		if (err < 0) {
			d = (struct lb_decision){.verdict = LB_VERDICT_DENY,
						 .origin = LB_ORIGIN_BUILTIN};
			ev.verdict = LB_EV_DENY;
			ev.audited = false;
			ev.absent = false;
			ev.err = -err;
		}
		if (err <= 0)
			cfg->on_event(cfg->event_arg, &ev);
		free(l->held[i].object);
	}
	free(l);
}

static void later_done(struct lb_delivery *d, int err)
{
	later_flush((struct lb_later *)d, err);
}

static void emit(struct lb_call *c, enum lb_class cls, const char *object, enum lb_event_verdict v,
		 const struct lb_decision *d, bool absent)
{
	if (!c->core->cfg.on_event)
		return;
	bool audited = d->verdict == LB_VERDICT_AUDIT;
	if (v == LB_EV_ALLOW && !audited && !c->core->cfg.report_allowed)
		return;
	/* For the record (and for learning): an allowed lookup of nothing
	 * needs no rule in a generated policy. */
	if (v == LB_EV_ALLOW && c->cur && c->core->cfg.report_allowed &&
	    (cls == LB_CLASS_READ || cls == LB_CLASS_STAT || cls == LB_CLASS_EXEC)) {
		struct stat st;
		const char *name = c->cur->name[0] ? c->cur->name : ".";
		absent =
		    fstatat(c->cur->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	}
	struct lb_event ev = {
	    .pid = c->t->pid,
	    .nr = c->t->nr,
	    .syscall = c->row			    ? c->row->name
		       : c->t->abi != LB_ABI_NATIVE ? object
						    : lb_syscall_name(c->t->nr),
	    .cls = cls,
	    .object = object,
	    .verdict = v,
	    .decision = d,
	    .audited = audited,
	    .absent = absent,
	};
	if (v == LB_EV_ALLOW && c->defer_allows && later_hold(c, &ev))
		return;
	if (c->later) { /* the records of one call stay in order */
		later_flush(c->later, 0);
		c->later = NULL;
	}
	const char *names[8];
	const struct lb_sockaddr_obj *a = c->addr;
	if (a && cls == LB_CLASS_CONNECT && (a->kind == LB_ADDR_TCP || a->kind == LB_ADDR_UDP)) {
		ev.n_names =
		    lb_dns_asked_names_of(c->core, a->is_v4, a->ip, names, LB_ARRAY_SIZE(names));
		ev.names = names;
	}
	c->core->cfg.on_event(c->core->cfg.event_arg, &ev);
}

/* A refused lookup (read, stat, exec) of an object that does not exist is
 * answered ENOENT as the kernel would: PATH searches and config probes
 * (git, ld.so, python) treat EACCES as an error but ENOENT as "try the
 * next one". What exists still gets EACCES. This tells that a path exists
 * as much as Landlock does; `hide` makes a path absent whether it exists
 * or not, and is recorded, shown and counted the same either way (any
 * difference would tell the program, through a nested litebox's status or
 * a log it can read, whether the hidden file exists). */
static bool refused_lookup_of_nothing(struct lb_call *c, enum lb_class cls,
				      const struct lb_decision *d)
{
	if (d->verdict != LB_VERDICT_DENY || !c->cur || c->creating)
		return false;
	if (cls != LB_CLASS_READ && cls != LB_CLASS_STAT && cls != LB_CLASS_EXEC)
		return false;
	struct stat st;
	const char *name = c->cur->name[0] ? c->cur->name : ".";
	return fstatat(c->cur->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

/* `litebox learn` runs in audit mode on top of a base policy, but never
 * gives the program more than the base: what the base hides, its explicit
 * denials and its network limits stay refused, and so does every write or
 * exec the base does not grant (a hostile program must not change the
 * host while it is learned; those refusals are still learned, and the
 * next `learn -p LEARNED` goes further). Only reads and stats that no rule
 * of the base decided run, recorded as would-deny, and writes too when
 * they land in an overlay (--overlay, --dry-run), not on the host. */
/* A write the kernel will make in an overlay's upper layer (--overlay):
 * the object judged, resolved in a directory of an overlayfs, and a file,
 * directory or link, or nothing yet (a device or FIFO there is the host's
 * own, through the overlay). */
static bool lands_in_overlay(const struct lb_call *c, const char *object)
{
	const struct lb_resolved *r = c->cur;
	struct statfs sf;
	struct stat st;
	/* through a descriptor: the open file itself is on the overlay */
	if (c->core->cfg.writes_contained && c->fd_object >= 0)
		return fstatfs(c->fd_object, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC &&
		       fstat(c->fd_object, &st) == 0 &&
		       (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode));
	if (!c->core->cfg.writes_contained || !r || !object || strcmp(r->path, object) != 0 ||
	    fstatfs(r->dirfd, &sf) < 0 || sf.f_type != OVERLAYFS_SUPER_MAGIC)
		return false;
	if (fstatat(r->dirfd, r->name[0] ? r->name : "", &st,
		    AT_SYMLINK_NOFOLLOW | (r->name[0] ? 0 : AT_EMPTY_PATH)) < 0)
		return errno == ENOENT;
	return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode);
}

/* An open for writing that changes no file of the host's: of a stream (a
 * pipe, a socket, the terminal, /dev/null and the like), or of the state
 * of the sandbox's own processes (/proc/PID in its pid namespace). Not an
 * unlink, rename or chmod of one: those change a name on the host. */
static bool changes_no_file(const struct lb_call *c, const char *object)
{
	const struct lb_resolved *r = c->cur;
	struct stat st;
	long nr = c->t->nr;
	if (nr != SYS_open && nr != SYS_openat && nr != SYS_openat2)
		return false;
	static const char *const own[] = {"/proc/self/", "/proc/thread-self/"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(own); i++)
		if (strncmp(object, own[i], strlen(own[i])) == 0)
			return true;
	if (strncmp(object, "/proc/", 6) == 0 && object[6] >= '1' && object[6] <= '9') {
		size_t n = strspn(object + 6, "0123456789");
		if (object[6 + n] == '/')
			return true;
	}
	/* followed: a symlink is judged by what a write would reach */
	if (!r || strcmp(r->path, object) != 0 ||
	    fstatat(r->dirfd, r->name[0] ? r->name : "", &st, r->name[0] ? 0 : AT_EMPTY_PATH) < 0)
		return false;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return true;
	if (!S_ISCHR(st.st_mode))
		return false;
	unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
	return (maj == 1 && (min == 3 || min == 5 || min == 7 || min == 8 || min == 9)) ||
	       (maj == 5 && (min == 0 || min == 2)) || (maj >= 136 && maj <= 143);
}

/* --dry-run changes nothing on the host, whatever the policy grants: a
 * granted write that would not land in the overlay (a separate /run
 * mount, a device, /proc/sys) is refused too. */
static bool dry_run_escape(const struct lb_call *c, enum lb_class cls, const char *object)
{
	return c->core->cfg.dry_run && cls == LB_CLASS_WRITE && object &&
	       !lands_in_overlay(c, object) && !changes_no_file(c, object);
}

static bool kept_while_learning(const struct lb_call *c, enum lb_class cls, const char *object,
				const struct lb_decision *d)
{
	/* --dry-run: what would reach the host (a sysctl, a device, a
	 * separate /run, a daemon's socket, the network) stays refused, and
	 * so do the secrets the policy names (hides, explicit denials of
	 * reads): a dry run is for a tool not trusted yet, whose output may
	 * be a public CI log */
	if (c->core->cfg.dry_run && !c->core->cfg.learning)
		return d->verdict == LB_VERDICT_HIDE ||
		       (d->origin != LB_ORIGIN_DEFAULT &&
			(cls == LB_CLASS_READ || cls == LB_CLASS_STAT)) ||
		       cls == LB_CLASS_CONNECT || cls == LB_CLASS_BIND ||
		       dry_run_escape(c, cls, object);
	if (!c->core->cfg.learning)
		return false;
	return d->verdict == LB_VERDICT_HIDE || d->origin != LB_ORIGIN_DEFAULT ||
	       cls == LB_CLASS_CONNECT || cls == LB_CLASS_BIND ||
	       (cls == LB_CLASS_WRITE && !lands_in_overlay(c, object)) || cls == LB_CLASS_EXEC;
}

static int apply_decision(struct lb_call *c, enum lb_class cls, const char *object,
			  const struct lb_decision *d, int deny_errno)
{
	if ((d->verdict == LB_VERDICT_ALLOW || d->verdict == LB_VERDICT_AUDIT) &&
	    dry_run_escape(c, cls, object)) {
		struct lb_decision r = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
		emit(c, cls, object, LB_EV_DENY, &r, false);
		return -EROFS;
	}
	if (d->verdict == LB_VERDICT_ALLOW || d->verdict == LB_VERDICT_AUDIT) {
		emit(c, cls, object, LB_EV_ALLOW, d, false);
		return 0;
	}
	bool absent = refused_lookup_of_nothing(c, cls, d);
	/* An enclosing litebox's refusal (a nested domain) holds in the
	 * inner's audit mode too. */
	if (lb_core_mode(c->core) == LB_MODE_AUDIT && !d->outer &&
	    !kept_while_learning(c, cls, object, d)) {
		emit(c, cls, object, LB_EV_WOULD_DENY, d, absent);
		return 0;
	}
	if (lb_policy_on_deny(c->core->cfg.policy) == LB_ON_DENY_KILL) {
		emit(c, cls, object, LB_EV_KILL, d, absent);
		kill(lb_caller_tgid(c), SIGKILL);
		return -deny_errno;
	}
	if (d->verdict == LB_VERDICT_HIDE) {
		emit(c, cls, object, LB_EV_HIDE, d, false);
		return -ENOENT;
	}
	emit(c, cls, object, LB_EV_DENY, d, absent);
	return absent ? -ENOENT : -deny_errno;
}

static int hidden_process(struct lb_call *c, enum lb_class cls, const char *path)
{
	struct lb_decision d = {.verdict = LB_VERDICT_HIDE, .origin = LB_ORIGIN_BUILTIN};
	emit(c, cls, path, LB_EV_HIDE, &d, false);
	return -ENOENT; /* in audit mode too: the boundary is not the policy */
}

/* The judge's own files, whatever the policy says and in audit mode too
 * (the boundary is not the policy): see protect.c. */
int lb_judge_protected(struct lb_call *c, enum lb_class cls, const char *path)
{
	enum lb_protection p = lb_protection_of(c, cls, path);
	if (p == LB_PROTECT_HIDE)
		return hidden_process(c, cls, path);
	if (p == LB_PROTECT_NONE)
		return 0;
	struct lb_decision d = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
	emit(c, cls, path, LB_EV_DENY, &d, false);
	return -EACCES;
}

int lb_refuse_fd_object(struct lb_call *c, enum lb_class cls, pid_t pid, int fd)
{
	char p[64], obj[PATH_MAX] = "";
	snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, fd);
	ssize_t n = readlink(p, obj, sizeof(obj) - 1);
	if (n <= 0)
		snprintf(obj, sizeof(obj), "%s", p);
	else
		obj[n] = '\0';
	return lb_refuse_object(c, cls, obj);
}

int lb_refuse_object(struct lb_call *c, enum lb_class cls, const char *object)
{
	struct lb_decision d = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
	emit(c, cls, object, LB_EV_DENY, &d, false);
	return -EACCES;
}

/* Judge path for cls. The directories that lead to a granted path may be
 * walked (stat) and, when ancestors_listable, listed (ls /,
 * os.listdir("/home")): a program must be able to reach what it may use. */
static int judge(struct lb_call *c, enum lb_class cls, const char *path, bool ancestors_listable)
{
	char buf[PATH_MAX + 16];
	const char *view = policy_view(c, path, buf, sizeof(buf));
	struct lb_decision d;

	if (outside_proc_entry(c, path))
		return hidden_process(c, cls, path);
	int prc = lb_judge_protected(c, cls, path);
	if (prc < 0)
		return prc;
	lb_policy_judge_path(c->core->cfg.policy, cls, view, &d);
	bool ancestor_rule = cls == LB_CLASS_STAT || (cls == LB_CLASS_READ && ancestors_listable);
	if (ancestor_rule && outer_lets_walk(c->core, &d, view))
		lb_policy_judge_own(c->core->cfg.policy, cls, view, &d);
	if (d.verdict == LB_VERDICT_DENY && d.origin == LB_ORIGIN_DEFAULT && !d.outer &&
	    ancestor_rule && leads_to_grant(c->core, view)) {
		d.verdict = LB_VERDICT_ALLOW;
		d.origin = LB_ORIGIN_IMPLICIT;
	}
	/* its own terminal and the ptys it opened: nothing else under /dev/pts */
	if (d.verdict == LB_VERDICT_DENY && d.origin == LB_ORIGIN_DEFAULT && cls != LB_CLASS_EXEC &&
	    own_tty(c->core, view)) {
		d.verdict = LB_VERDICT_ALLOW;
		d.origin = LB_ORIGIN_IMPLICIT;
	}
	return apply_decision(c, cls, view, &d, EACCES);
}

bool lb_may_see(struct lb_call *c, const char *path)
{
	char buf[PATH_MAX + 16];
	const char *view = policy_view(c, path, buf, sizeof(buf));
	if (outside_proc_entry(c, path) ||
	    lb_protection_of(c, LB_CLASS_STAT, path) != LB_PROTECT_NONE)
		return false;
	struct lb_decision d;
	lb_policy_judge_path(c->core->cfg.policy, LB_CLASS_STAT, view, &d);
	if (d.verdict == LB_VERDICT_HIDE)
		return false;
	if (d.verdict == LB_VERDICT_ALLOW || d.verdict == LB_VERDICT_AUDIT ||
	    lb_core_mode(c->core) == LB_MODE_AUDIT)
		return true;
	return d.origin == LB_ORIGIN_DEFAULT && leads_to_grant(c->core, view);
}

int lb_judge_path(struct lb_call *c, enum lb_class cls, const char *path)
{
	return judge(c, cls, path, false);
}

int lb_judge_dir_listing(struct lb_call *c, const char *path)
{
	return judge(c, LB_CLASS_READ, path, true);
}

int lb_judge_addr(struct lb_call *c, enum lb_class cls, const struct lb_sockaddr_obj *a)
{
	char obj[PATH_MAX + 64];
	struct lb_decision d;

	lb_sockaddr_format(a, obj, sizeof(obj));
	lb_policy_judge_addr(c->core->cfg.policy, cls, a, &d);
	c->addr = a;
	int rc = apply_decision(c, cls, obj, &d, cls == LB_CLASS_CONNECT ? ECONNREFUSED : EACCES);
	c->addr = NULL;
	return rc;
}

int lb_refuse(struct lb_call *c, enum lb_class cls, const char *object, int err)
{
	struct lb_decision d = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
	return apply_decision(c, cls, object, &d, err);
}

int lb_refuse_boundary(struct lb_call *c, enum lb_class cls, const char *object, int err)
{
	struct lb_decision d = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
	emit(c, cls, object, LB_EV_DENY, &d, false);
	return -err;
}

/* ---- caller state ----------------------------------------------------------- */

static int read_status(pid_t tid, char *buf, size_t len)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/status", (int)tid);
	lb_autoclose int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

mode_t lb_caller_umask(struct lb_call *c)
{
	if (!atomic_load_explicit(&c->core->umask_changed, memory_order_relaxed))
		return c->core->umask;
	char buf[2048];
	if (read_status(c->t->pid, buf, sizeof(buf)) < 0)
		return 0777; /* fail closed: create nothing accessible */
	const char *u = strstr(buf, "\nUmask:");
	return u ? (mode_t)strtol(u + 7, NULL, 8) : 0777;
}

/* Field k (0 real, 1 effective, 2 saved, 3 filesystem) of the "Uid:" /
 * "Gid:" lines. */
static long status_id(const char *status, const char *key, int k)
{
	const char *l = strstr(status, key);
	if (!l)
		return -1;
	l += strlen(key);
	long v = -1;
	for (int i = 0; i <= k; i++)
		v = strtol(l, (char **)&l, 10);
	return v;
}

static bool status_caps(const char *status, const char *key, uint64_t *out)
{
	const char *l = strstr(status, key);
	if (!l)
		return false;
	char *end;
	*out = strtoull(l + strlen(key), &end, 16);
	return end != l + strlen(key);
}

/* The "Groups:" line of a status text into gids (at most max). */
static int parse_groups(const char *status, gid_t *gids, int max)
{
	const char *l = strstr(status, "\nGroups:");
	if (!l)
		return -1;
	l += 8;
	int n = 0;
	while (n < max) {
		char *end;
		long v = strtol(l, &end, 10);
		if (end == l)
			break;
		gids[n++] = (gid_t)v;
		l = end;
	}
	return n;
}

static ino_t userns_of(pid_t pid)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)pid);
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

/* What cannot be read acts as nobody with no capability (fail closed). */
static void creds_nobody(struct lb_creds *cr)
{
	*cr = (struct lb_creds){.ruid = 65534,
				.fsuid = 65534,
				.euid = 65534,
				.suid = 65534,
				.rgid = 65534,
				.fsgid = 65534,
				.egid = 65534,
				.sgid = 65534};
}

/* The credentials of thread tid, from /proc/TID/status. Capabilities
 * count only when tid is in litebox's user namespace: a process in a
 * user namespace of its own has none over the host's objects. */
static void creds_load(pid_t tid, struct lb_creds *cr)
{
	char buf[4096];
	long ruid = -1, fsuid = -1, rgid = -1, fsgid = -1, euid = -1, suid = -1, egid = -1,
	     sgid = -1;
	uint64_t eff = 0, prm = 0;
	if (read_status(tid, buf, sizeof(buf)) == 0) {
		ruid = status_id(buf, "\nUid:", 0);
		fsuid = status_id(buf, "\nUid:", 3);
		rgid = status_id(buf, "\nGid:", 0);
		fsgid = status_id(buf, "\nGid:", 3);
		euid = status_id(buf, "\nUid:", 1);
		suid = status_id(buf, "\nUid:", 2);
		egid = status_id(buf, "\nGid:", 1);
		sgid = status_id(buf, "\nGid:", 2);
		cr->n_groups = parse_groups(buf, cr->groups, LB_MAX_GROUPS);
		if (!status_caps(buf, "\nCapEff:", &eff) || !status_caps(buf, "\nCapPrm:", &prm))
			ruid = -1;
	}
	if (ruid < 0 || fsuid < 0 || rgid < 0 || fsgid < 0 || euid < 0 || suid < 0 || egid < 0 ||
	    sgid < 0 || cr->n_groups < 0) {
		creds_nobody(cr);
		return;
	}
	ino_t ns = userns_of(tid);
	bool same_ns = ns != 0 && ns == userns_of(getpid());
	cr->ruid = (uid_t)ruid;
	cr->fsuid = (uid_t)fsuid;
	cr->rgid = (gid_t)rgid;
	cr->fsgid = (gid_t)fsgid;
	cr->euid = (uid_t)euid;
	cr->suid = (uid_t)suid;
	cr->egid = (gid_t)egid;
	cr->sgid = (gid_t)sgid;
	cr->cap_eff = same_ns ? eff : 0;
	cr->cap_prm = same_ns ? prm : 0;
}

/* Until some sandboxed thread changes its credentials (the set*id family
 * and capset are tracked), every process has the ones the program started
 * with: read once and kept. After that, read per call. */
void lb_caller_creds(struct lb_call *c, struct lb_creds *cr)
{
	struct lb_core *core = c->core;
	if (atomic_load_explicit(&core->creds_changed, memory_order_acquire)) {
		if (!c->creds_loaded)
			creds_load(c->t->pid, &c->creds);
		c->creds_loaded = true;
		*cr = c->creds;
		return;
	}
	pthread_mutex_lock(&core->creds_lock);
	if (!core->initial_loaded) {
		creds_load(c->t->pid, &core->initial);
		core->initial_loaded = true;
	}
	*cr = core->initial;
	pthread_mutex_unlock(&core->creds_lock);
}

/* The worker thread's own state, restored after each operation. */
struct own_state {
	bool loaded;
	uid_t ruid, euid, suid; /* never change while litebox runs: asked once */
	gid_t rgid, egid, sgid;
	uint32_t eff[2], prm[2], inh[2];
	/* The effective set the thread has now: litebox's, or the program's
	 * kept between calls (see lb_creds_leave). */
	uint64_t cur_eff;
};
static _Thread_local struct own_state own;

static int own_load(void)
{
	if (own.loaded)
		return 0;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		own.eff[i] = d[i].effective;
		own.prm[i] = d[i].permitted;
		own.inh[i] = d[i].inheritable;
	}
	if (getresuid(&own.ruid, &own.euid, &own.suid) < 0 ||
	    getresgid(&own.rgid, &own.egid, &own.sgid) < 0)
		return -errno;
	own.cur_eff = (uint64_t)own.eff[0] | ((uint64_t)own.eff[1] << 32);
	own.loaded = true;
	return 0;
}

static uint64_t own_caps(const uint32_t v[2])
{
	return (uint64_t)v[0] | ((uint64_t)v[1] << 32);
}

static int set_effective(uint64_t eff);

/* Back to litebox's own effective set. */
static int own_restore(void)
{
	if (!own.loaded || own.cur_eff == own_caps(own.eff))
		return 0;
	return set_effective(own_caps(own.eff));
}

/* At the start of a call: a worker may keep the program's effective set
 * between calls only while no sandboxed process has changed its
 * credentials (then every process has the same ones, and litebox's own
 * /proc and ptrace-checked plumbing passes with them); after a change it
 * serves with its own again. */
static void lb_creds_settle(struct lb_core *core)
{
	if (atomic_load_explicit(&core->creds_changed, memory_order_relaxed) && own_restore() < 0)
		abort();
}

/* capset(2) on the calling thread only: the effective set becomes eff
 * (within the thread's own permitted set, which stays). */
static int set_effective(uint64_t eff)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	for (int i = 0; i < 2; i++) {
		d[i].effective = (uint32_t)(eff >> (32 * i));
		d[i].permitted = own.prm[i];
		d[i].inheritable = own.inh[i];
	}
	if (syscall(SYS_capset, &hdr, d) < 0)
		return -errno;
	own.cur_eff = eff;
	return 0;
}

static bool same_groups(const struct lb_core *core, const struct lb_creds *cr)
{
	return cr->n_groups == core->n_groups &&
	       memcmp(cr->groups, core->groups, (size_t)cr->n_groups * sizeof(gid_t)) == 0;
}

/* setfsuid/setfsgid answer the previous id: ask again to know it took. */
static int set_fs_ids(uid_t uid, gid_t gid, int n_groups, const gid_t *groups)
{
	if (syscall(SYS_setgroups, n_groups, groups) < 0)
		return -errno;
	syscall(SYS_setfsgid, gid);
	syscall(SYS_setfsuid, uid);
	if ((gid_t)syscall(SYS_setfsgid, (gid_t)-1) != gid ||
	    (uid_t)syscall(SYS_setfsuid, (uid_t)-1) != uid)
		return -EPERM;
	return 0;
}

static int creds_apply(struct lb_call *c, struct lb_creds_guard *g, uid_t uid, gid_t gid,
		       const struct lb_creds *cr, uint64_t eff)
{
	struct lb_core *core = c->core;
	g->switched = false;
	g->sender = false;
	g->core = core;
	int rc = own_load();
	if (rc < 0)
		return rc;
	eff &= own_caps(own.prm); /* never more than litebox holds */
	g->ids = uid != own.euid || gid != own.egid || !same_groups(core, cr);
	g->caps = eff != own.cur_eff;
	if (!g->ids && !g->caps)
		return 0;
	g->switched = true;
	/* switching ids needs litebox's CAP_SETUID/CAP_SETGID */
	if (g->ids && (rc = own_restore()) < 0)
		return rc;
	/* Per-thread in the kernel: the raw calls change this worker only
	 * (glibc's wrappers would change every thread of the supervisor).
	 * Ids first (setgroups needs CAP_SETGID, and a change of fsuid
	 * away from 0 clears the filesystem capabilities), then the exact
	 * effective set. */
	if (g->ids && (rc = set_fs_ids(uid, gid, cr->n_groups, cr->groups)) < 0)
		return rc;
	if ((g->ids || g->caps) && (rc = set_effective(eff)) < 0)
		return rc;
	return 0;
}

int lb_creds_enter(struct lb_call *c, struct lb_creds_guard *g)
{
	struct lb_creds cr;
	lb_caller_creds(c, &cr);
	return creds_apply(c, g, cr.fsuid, cr.fsgid, &cr, cr.cap_eff);
}

/* access(2) without AT_EACCESS checks with the real ids, and, for a real
 * uid 0, the permitted set (the kernel's access_override_creds). */
int lb_creds_enter_real(struct lb_call *c, struct lb_creds_guard *g)
{
	struct lb_creds cr;
	lb_caller_creds(c, &cr);
	return creds_apply(c, g, cr.ruid, cr.rgid, &cr, cr.ruid == 0 ? cr.cap_prm : 0);
}

static bool same_sender(const struct lb_creds *cr)
{
	return cr->ruid == own.ruid && cr->euid == own.euid && cr->suid == own.suid &&
	       cr->rgid == own.rgid && cr->egid == own.egid && cr->sgid == own.sgid;
}

/* The thread's real, effective and saved ids become the program's (raw
 * calls: this thread only), keeping its permitted set (KEEPCAPS) so that
 * it can come back; the kernel clears the effective set on leaving uid 0,
 * which is raised again at once. */
static int sender_ids(const struct lb_creds *cr)
{
	int rc = own_restore();
	if (rc == 0 && (syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
			syscall(SYS_setresgid, cr->rgid, cr->egid, cr->sgid) < 0 ||
			syscall(SYS_setresuid, cr->ruid, cr->euid, cr->suid) < 0))
		rc = -errno;
	int back = set_effective(own_caps(own.eff));
	return rc < 0 ? rc : back;
}

static int sender_restore(void)
{
	if (set_effective(own_caps(own.eff)) < 0 ||
	    syscall(SYS_setresuid, own.ruid, own.euid, own.suid) < 0 ||
	    syscall(SYS_setresgid, own.rgid, own.egid, own.sgid) < 0 ||
	    syscall(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	return set_effective(own_caps(own.eff));
}

/* Sockets: the kernel takes SO_PEERCRED (at connect and listen) and the
 * credentials of each unix message (SCM_CREDENTIALS, implicit or checked
 * when explicit) from the sending thread's real, effective and saved ids,
 * not from the fs ids lb_creds_enter switches. While those are litebox's
 * (the program never changed its ids) nothing more is needed; else the
 * worker takes the program's for exactly the call. */
int lb_creds_enter_sender(struct lb_call *c, struct lb_creds_guard *g)
{
	struct lb_creds cr;
	lb_caller_creds(c, &cr);
	int rc = own_load();
	bool sender = rc == 0 && !same_sender(&cr);
	if (sender)
		rc = sender_ids(&cr);
	if (rc == 0)
		rc = creds_apply(c, g, cr.fsuid, cr.fsgid, &cr, cr.cap_eff);
	else
		*g = (struct lb_creds_guard){.core = c->core};
	g->sender = sender;
	return rc;
}

static void creds_leave_fs(struct lb_creds_guard *g);

/* Keeps errno: callers read the operation's errno after leaving. A
 * worker that cannot get its own authority back must not serve again. */
void lb_creds_leave(struct lb_creds_guard *g)
{
	int saved = errno;
	creds_leave_fs(g);
	if (g->sender && sender_restore() < 0)
		abort();
	g->sender = false;
	errno = saved;
}

static void creds_leave_fs(struct lb_creds_guard *g)
{
	if (!g->switched)
		return;
	g->switched = false;
	/* Only the effective set differs and nobody changed credentials:
	 * keep it for the next call (capset costs microseconds; the common
	 * root run would pay two per operation). lb_creds_settle ends it. */
	if (!g->ids && !atomic_load_explicit(&g->core->creds_changed, memory_order_relaxed))
		return;
	int saved = errno;
	if (set_effective(own_caps(own.eff)) < 0)
		abort();
	if (g->ids) {
		if (set_fs_ids(own.euid, own.egid, g->core->n_groups, g->core->groups) < 0)
			abort();
		/* back to fsuid 0 raised the filesystem capabilities again */
		if (set_effective(own_caps(own.eff)) < 0)
			abort();
	}
	errno = saved;
}

/* ---- where paths start --------------------------------------------------------- */

/* The caller's cwd or directory fd, re-opened through /proc: one syscall,
 * and the same directory the caller holds (the magic link is followed by
 * the kernel to exactly that inode, whatever its name is now). */
int lb_proc_fd_open(struct lb_call *c, int fd, int flags)
{
	char p[64];
	if (fd == AT_FDCWD)
		snprintf(p, sizeof(p), "/proc/%d/cwd", (int)c->t->pid);
	else if (fd >= 0)
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)c->t->pid, fd);
	else
		return -EBADF;
	/* pinning the caller's own object is litebox's work: its authority */
	int f = lb_target_open(p, flags | O_CLOEXEC);
	if (f >= 0)
		return f;
	if (errno == ENOENT)
		return fd == AT_FDCWD ? -ENOENT : -EBADF;
	return -errno;
}

int lb_start_dir(struct lb_call *c, int dirfd, struct lb_start *s)
{
	s->owned = true;
	s->fd = lb_proc_fd_open(c, dirfd, O_PATH | O_DIRECTORY);
	if (s->fd < 0)
		return s->fd;
	int rc = lb_fd_path(s->fd, s->path, sizeof(s->path));
	if (rc < 0) {
		lb_start_release(s);
		return rc;
	}
	return 0;
}

void lb_start_release(struct lb_start *s)
{
	if (s->owned && s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* For the resolver: a path the policy hides ends the walk (enforce mode;
 * in audit mode the walk goes on and the object is judged). */
static bool grant_at_or_below(const struct lb_core *core, const char *path)
{
	size_t len = strlen(path);
	for (size_t i = 0; i < core->n_grant_prefixes; i++) {
		const char *g = core->grant_prefixes[i];
		if (strncmp(g, path, len) == 0 && (g[len] == '\0' || g[len] == '/'))
			return true;
	}
	return false;
}

/* For the resolver: a path the policy hides ends the walk, unless a more
 * precise rule grants something at or below it (`allow read
 * $HOME/.config/gh/hosts.yml` under a hidden `.config/gh`), which the
 * judge of the object then decides. In audit mode the walk goes on. */
static bool path_hidden(void *arg, const char *path)
{
	struct lb_core *core = arg;
	if (lb_core_mode(core) == LB_MODE_AUDIT)
		return false;
	struct lb_decision d;
	lb_policy_judge_path(core->cfg.policy, LB_CLASS_STAT, path, &d);
	return d.verdict == LB_VERDICT_HIDE && !grant_at_or_below(core, path);
}

/* The class a walk stopped by `hide` is recorded under: the call's own. */
static enum lb_class walk_class(const struct lb_call *c)
{
	switch (c->row->kind) {
	case LB_K_STAT:
	case LB_K_STATX:
	case LB_K_STATFS:
	case LB_K_ACCESS:
	case LB_K_CHDIR:
		return LB_CLASS_STAT;
	case LB_K_READLINK:
	case LB_K_GETXATTR:
	case LB_K_LISTXATTR:
	case LB_K_INOTIFY:
	case LB_K_GETDENTS:
		return LB_CLASS_READ;
	case LB_K_EXEC:
		return LB_CLASS_EXEC;
	case LB_K_CONNECT:
	case LB_K_SENDTO:
	case LB_K_SENDMSG:
	case LB_K_SENDMMSG:
		return LB_CLASS_CONNECT;
	case LB_K_BIND:
	case LB_K_LISTEN:
		return LB_CLASS_BIND;
	case LB_K_OPEN:
		if (c->row->flags_arg != LB_NO_ARG &&
		    (c->t->args[c->row->flags_arg] & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)))
			return LB_CLASS_WRITE;
		return LB_CLASS_READ;
	default:
		return LB_CLASS_WRITE;
	}
}

/* The walk's own authority: litebox's inside /proc (see resolve.h). */
static int walk_authority(void *arg, bool litebox)
{
	struct lb_call *c = arg;
	if (!c->walk_guard)
		return 0;
	if (litebox) {
		lb_creds_leave(c->walk_guard);
		return own_restore();
	}
	return lb_creds_enter(c, c->walk_guard);
}

/* Does a walk as the caller differ from one as litebox? With other ids,
 * or without a DAC override litebox has: directories it may not search. */
static bool walk_as_caller(struct lb_call *c)
{
	const uint64_t dac = (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_DAC_READ_SEARCH);
	struct lb_creds cr;
	lb_caller_creds(c, &cr);
	if (own_load() < 0)
		return true;
	if (cr.fsuid != own.euid || cr.fsgid != own.egid || !same_groups(c->core, &cr))
		return true;
	return (own_caps(own.eff) & dac) && !(cr.cap_eff & dac);
}

/* The walk, as the caller where that matters. */
static int resolve_as_caller(struct lb_call *c, int start_fd, const char *start_path,
			     const char *path, unsigned flags, struct lb_resolved *out)
{
	struct lb_creds_guard g = {0};
	int rc = 0;
	if (walk_as_caller(c)) {
		rc = lb_creds_enter(c, &g);
		c->walk_guard = &g;
	}
	if (rc == 0)
		rc = lb_resolve(&c->rctx, start_fd, start_path, path, flags, out);
	else if (flags & LB_RES_START_OWNED)
		close(start_fd);
	c->walk_guard = NULL;
	lb_creds_leave(&g);
	if (rc < 0 && out->dirfd >= 0)
		lb_resolved_release(out);
	return rc;
}

/* start + "/" + path with ".", ".." and "//" taken lexically, into out. */
static bool lexical_path(const char *start, const char *path, char *out, size_t len)
{
	char buf[PATH_MAX * 2];
	int n = snprintf(buf, sizeof(buf), "%s/%s", path[0] == '/' ? "" : start, path);
	if (n < 0 || (size_t)n >= sizeof(buf) || len < 2)
		return false;
	size_t o = 0;
	for (char *save = NULL, *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			while (o > 0 && out[--o] != '/')
				;
			continue;
		}
		size_t tl = strlen(t);
		if (o + 1 + tl + 1 > len)
			return false;
		out[o++] = '/';
		memcpy(out + o, t, tl);
		o += tl;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return true;
}

/* Fast mediation: a path outside the sandbox's view is absent there, so
 * the walk failed. Where exact mode would refuse an existing host path
 * (EACCES and a denial line naming the rule to add), answer the same; a
 * path the host lacks too, or one the policy grants that appeared after
 * the view was built, stays absent. Only ever a refusal: nothing is
 * performed outside the view. */
/* The host path lex exists, and canon is where it leads: looked up as
 * the program (its ids and capabilities), as exact mode's walk is, so a
 * path it could not reach tells it nothing. */
static bool host_path_as_caller(struct lb_call *c, const char *lex, char *canon)
{
	struct lb_creds_guard g = {0};
	struct stat st;
	if (lb_creds_enter(c, &g) < 0) {
		lb_creds_leave(&g);
		return false;
	}
	bool found =
	    fstatat(c->core->rootfd, lex[1] ? lex + 1 : ".", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    realpath(lex, canon);
	lb_creds_leave(&g);
	return found;
}

static int outside_view(struct lb_call *c, const char *start, const char *path, int rc)
{
	char lex[PATH_MAX], canon[PATH_MAX];
	struct lb_decision d;
	if ((rc != -ENOENT && rc != -ENOTDIR) || !c->core->cfg.stat_in_kernel ||
	    c->rctx.rootfd == c->core->rootfd || !lexical_path(start, path, lex, sizeof(lex)) ||
	    (strncmp(lex, "/proc", 5) == 0 && (lex[5] == '\0' || lex[5] == '/')) ||
	    !host_path_as_caller(c, lex, canon) ||
	    (strncmp(canon, "/proc", 5) == 0 && (canon[5] == '\0' || canon[5] == '/')))
		return rc;
	/* judged as exact mode judges: the object the host path reaches */
	enum lb_class cls = walk_class(c);
	lb_policy_judge_path(c->core->cfg.policy, cls, canon, &d);
	if (d.verdict == LB_VERDICT_ALLOW || d.verdict == LB_VERDICT_AUDIT ||
	    (d.verdict == LB_VERDICT_DENY && d.origin == LB_ORIGIN_DEFAULT &&
	     (cls == LB_CLASS_STAT || cls == LB_CLASS_READ) && leads_to_grant(c->core, canon)))
		return rc;
	int jrc = lb_judge_path(c, cls, canon);
	return jrc < 0 ? jrc : rc;
}

int lb_resolve_str(struct lb_call *c, int dirfd, const char *path, unsigned flags,
		   struct lb_resolved *out)
{
	int rc;
	out->hidden_stop = false;
	out->dirfd = -1;
	if (path[0] == '/') {
		rc = resolve_as_caller(c, c->rctx.rootfd, "/", path, flags, out);
		if (rc < 0 && !out->hidden_stop)
			rc = outside_view(c, "/", path, rc);
	} else if (path[0] == '\0') {
		return -ENOENT;
	} else {
		struct lb_start s = {.fd = -1};
		rc = lb_start_dir(c, dirfd, &s);
		if (rc < 0)
			return rc;
		rc = resolve_as_caller(c, s.fd, s.path, path, flags | LB_RES_START_OWNED, out);
		if (rc < 0 && !out->hidden_stop)
			rc = outside_view(c, s.path, path, rc);
	}
	if (rc == 0)
		c->cur = out;
	if (rc == -ENOENT && out->hidden_stop) {
		struct lb_decision d;
		lb_policy_judge_path(c->core->cfg.policy, LB_CLASS_STAT, out->path, &d);
		emit(c, walk_class(c), out->path, LB_EV_HIDE, &d, false);
	}
	return rc;
}

/* ---- dispatch ---------------------------------------------------------------- */

#define WHY_TRACKED "umask/set*id: numbers only, noted so that later operations act with them"
#define WHY_AUDITED "audit syscall: recorded, decided on no memory"

/* Calls without a row: tracked state changes and audited syscalls. */
static struct lb_answer handle_untabled(struct lb_call *c)
{
	int nr = c->t->nr;
	if (nr == SYS_umask) {
		atomic_store(&c->core->umask_changed, true);
		return lb_ans_continue(WHY_TRACKED);
	}
	if (nr == SYS_memfd_create)
		return lb_memfd_handle(c);
	if (nr == SYS_prctl && (uint32_t)c->t->args[0] == LB_NEST_PRCTL)
		return lb_nest_handle(c);
	if (lb_syscall_is_tracked(nr)) {
		atomic_store(&c->core->creds_changed, true);
		return lb_ans_continue(WHY_TRACKED);
	}
	const char *name = lb_syscall_name(nr);
	const struct lb_syscall_rule *rules;
	size_t n = lb_policy_syscall_rules(c->core->cfg.policy, &rules);
	for (size_t i = 0; i < n; i++) {
		if (rules[i].nr != nr || rules[i].verdict != LB_VERDICT_AUDIT)
			continue;
		struct lb_decision d = {.verdict = LB_VERDICT_AUDIT,
					.origin = LB_ORIGIN_POLICY,
					.file = rules[i].file,
					.line = rules[i].line};
		emit(c, LB_CLASS_SYSCALL, name, LB_EV_ALLOW, &d, false);
		return lb_ans_continue(WHY_AUDITED);
	}
	/* Trapped for no known reason: refuse (fail closed), recorded. */
	struct lb_decision d = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
	emit(c, LB_CLASS_SYSCALL, name, LB_EV_DENY, &d, false);
	return lb_ans_errno(EPERM);
}

static const struct lb_syscall_rule *policy_syscall_rule(const struct lb_core *core, int nr)
{
	const struct lb_syscall_rule *rules;
	size_t n = lb_policy_syscall_rules(core->cfg.policy, &rules);
	for (size_t i = 0; i < n; i++)
		if (rules[i].nr == nr && rules[i].verdict == LB_VERDICT_DENY)
			return &rules[i];
	return NULL;
}

/* A refusal of the kernel filter plan, sent here to be recorded. The
 * built-in ones (the dangerous set, calls never useful in a sandbox) hold
 * in audit mode too; a policy's `deny syscall` is a would-deny there, and
 * the call then goes on as it would without the rule. Returns true with
 * the answer in *a, false when the call is mediated as usual. */
static bool handle_plan_refusal(struct lb_call *c, const struct lb_plan_entry *e,
				struct lb_answer *a)
{
	const char *name = lb_syscall_name(c->t->nr);
	const struct lb_syscall_rule *r =
	    e->why == LB_WHY_POLICY ? policy_syscall_rule(c->core, c->t->nr) : NULL;
	struct lb_decision d = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
	if (r) {
		d.origin = LB_ORIGIN_POLICY;
		d.file = r->file;
		d.line = r->line;
		int rc = apply_decision(c, LB_CLASS_SYSCALL, name, &d, e->rule.err);
		if (rc == 0 && c->row)
			return false; /* audit mode: mediate it as usual */
		*a = rc == 0 ? lb_ans_continue("deny syscall in audit mode: recorded, then runs")
			     : lb_ans_errno(-rc);
		return true;
	}
	emit(c, LB_CLASS_SYSCALL, name, LB_EV_DENY, &d, false);
	*a = lb_ans_errno(e->rule.err);
	return true;
}

struct lb_answer lb_core_untabled(struct lb_call *c)
{
	return handle_untabled(c);
}

/* The sandbox's root, found at the first call (init has mounted its /proc
 * long before the program runs): when the caller's mount namespace is
 * not litebox's, paths are resolved from its root, so that renames and
 * links stay within one mount and /proc is the sandbox's. */
static void find_sandbox_root(struct lb_core *core, pid_t tid)
{
	if (atomic_load_explicit(&core->root_state, memory_order_acquire))
		return;
	pthread_mutex_lock(&core->root_lock);
	if (!atomic_load(&core->root_state)) {
		char p[64];
		struct stat theirs, ours, sp, hp;
		snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)tid);
		bool known = stat(p, &theirs) == 0 && stat("/proc/self/ns/mnt", &ours) == 0;
		bool other_ns = known && theirs.st_ino != ours.st_ino;
		snprintf(p, sizeof(p), "/proc/%d/root", (int)tid);
		int fd = other_ns ? open(p, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		if (fd >= 0) {
			core->sandbox_root = fd;
			core->own_proc = fstatat(fd, "proc", &sp, 0) == 0 &&
					 stat("/proc", &hp) == 0 && sp.st_dev != hp.st_dev;
		}
		/* A caller litebox may not look into (init once it is not
		 * dumpable, for a run without root) leaves it to the next. */
		if ((known && !other_ns) || fd >= 0 || ++core->root_tries > 1000)
			atomic_store_explicit(&core->root_state, 1, memory_order_release);
	}
	pthread_mutex_unlock(&core->root_lock);
}

/* A call of another ABI (x32, i386 through int 0x80): its number means
 * another call, so nothing of it is mediated. Refused, recorded as
 * "x32:NR" or "i386:NR". */
static struct lb_answer handle_foreign(struct lb_call *c)
{
	char obj[32];
	snprintf(obj, sizeof(obj), "%s:%d", c->t->abi == LB_ABI_X32 ? "x32" : "i386",
		 c->t->abi == LB_ABI_X32 ? c->t->nr & ~LB_X32_SYSCALL_BIT : c->t->nr);
	struct lb_decision d = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
	emit(c, LB_CLASS_SYSCALL, obj, LB_EV_DENY, &d, false);
	return lb_ans_errno(EPERM);
}

static void call_init(struct lb_call *c, struct lb_core *core, struct lb_trap *t)
{
	lb_creds_settle(core);
	find_sandbox_root(core, t->pid);
	*c = (struct lb_call){
	    .core = core,
	    .t = t,
	    .fd_object = -1,
	    .row = t->abi == LB_ABI_NATIVE ? lb_syscall_row(t->nr) : NULL,
	    .ops = core->ops,
	    .rctx = {.rootfd = core->sandbox_root >= 0 ? core->sandbox_root : core->rootfd,
		     .tid = t->pid,
		     .pid_visible = core->own_proc ? NULL : pid_in_sandbox,
		     .proc_ids = resolver_proc_ids,
		     .proc_arg = c,
		     .authority = walk_authority,
		     .hidden = core->has_hides ? path_hidden : NULL,
		     .arg = core},
	};
}

/* North, core and south for one call: decode with the table row, judge,
 * perform; every path returns the answer. */
static struct lb_answer answer(struct lb_call *c)
{
	struct lb_answer a;
	if (c->t->abi != LB_ABI_NATIVE)
		return handle_foreign(c);
	const struct lb_plan_entry *refusal = lb_plan_refusal(c->core->plan, c->t->nr, c->t->args);
	if (refusal && handle_plan_refusal(c, refusal, &a))
		return a;
	if (!c->row)
		return handle_untabled(c);
	int rc = lb_op_decode(c->row, c->ops, c->t, &c->op);
	if (rc < 0)
		return lb_ans_errno(-rc);
	if (c->row->kind >= LB_K_CONNECT)
		return lb_net_handle(c);
	return lb_fs_handle(c);
}

void lb_core_handle(void *arg, struct lb_trap *t)
{
	struct lb_call c;
	call_init(&c, arg, t);
	c.defer_allows = c.row != NULL;
	struct lb_answer a = answer(&c);
	t->delivery = NULL;
	if (a.kind == LB_ANS_FD && c.later) {
		c.later->base.done = later_done;
		t->delivery = &c.later->base; /* the platform writes them */
	} else {
		later_flush(c.later, 0);
	}
	reply(&c, a);
}

struct lb_answer lb_core_answer(struct lb_core *core, struct lb_trap *t)
{
	struct lb_call c;
	call_init(&c, core, t);
	return answer(&c);
}
