/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "core_internal.h"
#include "litebox/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define LB_MAX_NR 512
/* The first x86_64 number after the calls litebox knows (6.14's
 * mseal is 462; 463.. are the *xattrat calls, open_tree_attr, ...). */
#define LB_FIRST_UNKNOWN_NR 463

/* ---- the kernel filter plan --------------------------------------------- */

struct plan_builder {
	struct lb_filter_rule *rules;
	size_t n, cap;
	/* per syscall: already given an unconditional action */
	bool taken[LB_MAX_NR];
};

static int plan_add(struct plan_builder *b, struct lb_filter_rule r)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 128;
		struct lb_filter_rule *n = realloc(b->rules, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->rules = n;
		b->cap = cap;
	}
	b->rules[b->n++] = r;
	if (r.n_conds == 0 && r.nr >= 0 && r.nr < LB_MAX_NR)
		b->taken[r.nr] = true;
	return 0;
}

static int plan_simple(struct plan_builder *b, int nr, enum lb_filter_action act, int err)
{
	if (nr < 0 || nr >= LB_MAX_NR || b->taken[nr])
		return 0;
	return plan_add(b, (struct lb_filter_rule){.nr = nr, .action = act, .err = err});
}

static int plan_masked(struct plan_builder *b, int nr, unsigned arg, uint64_t mask, uint64_t value,
		       enum lb_filter_action act, int err)
{
	return plan_add(
	    b, (struct lb_filter_rule){
		   .nr = nr,
		   .action = act,
		   .err = err,
		   .n_conds = 1,
		   .conds = {{.arg = arg, .op = LB_CMP_MASKED_EQ, .mask = mask, .value = value}}});
}

static const uint64_t ns_flags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
				    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

/* The members of the dangerous set that are dangerous only with certain
 * arguments get argument-conditioned rules instead of a whole refusal. */
static int plan_conditional_dangers(struct plan_builder *b, const struct lb_policy *p)
{
	int rc = 0;
	if (!lb_policy_allows_dangerous(p, "clone")) {
		for (size_t i = 0; i < LB_ARRAY_SIZE(ns_flags) && rc == 0; i++)
			rc = plan_masked(b, SYS_clone, 0, ns_flags[i], ns_flags[i], LB_FILTER_ERRNO,
					 EPERM);
	}
	if (!lb_policy_allows_dangerous(p, "unshare")) {
		for (size_t i = 0; i < LB_ARRAY_SIZE(ns_flags) && rc == 0; i++)
			rc = plan_masked(b, SYS_unshare, 0, ns_flags[i], ns_flags[i],
					 LB_FILTER_ERRNO, EPERM);
		if (rc == 0)
			rc = plan_masked(b, SYS_unshare, 0, CLONE_NEWTIME, CLONE_NEWTIME,
					 LB_FILTER_ERRNO, EPERM);
	}
	/* clone3 passes its flags in memory the filter cannot read: answer
	 * ENOSYS, on which glibc falls back to clone, whose flags we see. */
	if (rc == 0 && !lb_policy_allows_dangerous(p, "clone3"))
		rc = plan_simple(b, SYS_clone3, LB_FILTER_ERRNO, ENOSYS);
	/* ioctl's request is an unsigned int: compare only the low 32 bits,
	 * or 0xffffffff00005412 would slip past a 64-bit comparison. */
	if (rc == 0 && !lb_policy_allows_dangerous(p, "ioctl"))
		rc = plan_masked(b, SYS_ioctl, 1, 0xffffffffu, TIOCSTI, LB_FILTER_ERRNO, EPERM);
	if (rc == 0 && !lb_policy_allows_dangerous(p, "ioctl"))
		rc = plan_masked(b, SYS_ioctl, 1, 0xffffffffu, TIOCLINUX, LB_FILTER_ERRNO, EPERM);
	/* A listener installed by the program would answer before ours. */
	if (rc == 0 && !lb_policy_allows_dangerous(p, "seccomp"))
		rc = plan_add(
		    b,
		    (struct lb_filter_rule){
			.nr = SYS_seccomp,
			.action = LB_FILTER_ERRNO,
			.err = EPERM,
			.n_conds = 2,
			.conds = {{.arg = 0, .mask = 0xffffffffu, .value = SECCOMP_SET_MODE_FILTER},
				  {.arg = 1,
				   .mask = SECCOMP_FILTER_FLAG_NEW_LISTENER,
				   .value = SECCOMP_FILTER_FLAG_NEW_LISTENER}}});
	return rc;
}

static bool is_conditional_danger(const char *name)
{
	static const char *const names[] = {"clone", "clone3", "unshare", "ioctl", "seccomp"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

static int nr_of(const char *name)
{
	return seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
}

/* Policy `deny syscall` rules are settled in the kernel; `audit syscall`
 * goes to the supervisor to be recorded, then runs. */
static int plan_policy_syscalls(struct plan_builder *b, const struct lb_policy *p)
{
	const struct lb_syscall_rule *rules;
	size_t n = lb_policy_syscall_rules(p, &rules);
	for (size_t i = 0; i < n; i++) {
		int rc = 0;
		if (rules[i].verdict == LB_VERDICT_DENY)
			rc = plan_simple(b, rules[i].nr, LB_FILTER_ERRNO, EPERM);
		else if (rules[i].verdict == LB_VERDICT_AUDIT)
			rc = plan_simple(b, rules[i].nr, LB_FILTER_NOTIFY, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int plan_dangerous(struct plan_builder *b, const struct lb_policy *p, bool audit)
{
	for (const char *const *d = lb_dangerous_syscalls; *d; d++) {
		if (is_conditional_danger(*d) || lb_policy_allows_dangerous(p, *d))
			continue;
		int nr = nr_of(*d);
		if (nr < 0)
			continue;
		/* In audit mode the set stays refused, but goes through the
		 * supervisor so that each refusal is recorded. */
		int rc = plan_simple(b, nr, audit ? LB_FILTER_NOTIFY : LB_FILTER_ERRNO, EPERM);
		if (rc < 0)
			return rc;
	}
	/* System calls newer than this table (open_tree_attr, the *xattrat
	 * family, file_getattr/setattr, ...) take paths litebox does not
	 * judge: ENOSYS, on which libcs fall back to the older calls. Any
	 * future number fails closed the same way. */
	for (int nr = LB_FIRST_UNKNOWN_NR; nr < LB_MAX_NR; nr++) {
		int rc = plan_simple(b, nr, LB_FILTER_ERRNO, ENOSYS);
		if (rc < 0)
			return rc;
	}
	/* Never useful inside the sandbox and a way around path checks. */
	static const char *const always[] = {"chroot",	      "uselib",		"fspick",
					     "mount_setattr", "lookup_dcookie", "open_tree",
					     "move_mount"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(always); i++) {
		if (lb_policy_allows_dangerous(p, always[i]))
			continue;
		int rc = plan_simple(b, nr_of(always[i]), LB_FILTER_ERRNO, EPERM);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Calls whose effect the supervisor must know about, answered CONTINUE
 * (their arguments are plain numbers, nothing is decided on memory). */
static const int tracked_nrs[] = {SYS_umask,	SYS_setuid,    SYS_setgid,    SYS_setreuid,
				  SYS_setregid, SYS_setresuid, SYS_setresgid, SYS_setfsuid,
				  SYS_setfsgid, SYS_setgroups};

static int plan_mediated(struct plan_builder *b, const struct lb_core *core)
{
	const struct lb_syscall_row *rows;
	size_t n = lb_syscall_rows(&rows);
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (rows[i].kind == LB_K_SENDTO) {
			/* sendto without an address (the common, connected case)
			 * stays in the kernel: a NULL register cannot change. */
			rc = plan_add(b, (struct lb_filter_rule){
					     .nr = rows[i].nr,
					     .action = LB_FILTER_NOTIFY,
					     .n_conds = 1,
					     .conds = {{.arg = 4, .op = LB_CMP_NE, .value = 0}}});
		} else if (rows[i].kind == LB_K_GETDENTS && !core->has_hides) {
			continue;
		} else {
			rc = plan_simple(b, rows[i].nr, LB_FILTER_NOTIFY, 0);
		}
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < LB_ARRAY_SIZE(tracked_nrs); i++) {
		int rc = plan_simple(b, tracked_nrs[i], LB_FILTER_NOTIFY, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Socket families: only unix, IPv4, IPv6 and the routing netlink that
 * libc needs (getaddrinfo's AI_ADDRCONFIG, if_nameindex). Packet and raw
 * sockets also need CAP_NET_RAW, which the sandbox does not have. The
 * domain is an int: compared on the low 32 bits. */
static int plan_socket_families(struct plan_builder *b)
{
	/* Below AF_NETLINK (16) one rule per family; from AF_PACKET (17) up a
	 * single 64-bit >= rule (garbage in the upper half of the int only
	 * makes it refuse more). */
	for (uint64_t fam = 0; fam < AF_PACKET; fam++) {
		if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6 || fam == AF_NETLINK)
			continue;
		int rc =
		    plan_masked(b, SYS_socket, 0, 0xffffffffu, fam, LB_FILTER_ERRNO, EAFNOSUPPORT);
		if (rc < 0)
			return rc;
	}
	int rc = plan_add(
	    b, (struct lb_filter_rule){.nr = SYS_socket,
				       .action = LB_FILTER_ERRNO,
				       .err = EAFNOSUPPORT,
				       .n_conds = 1,
				       .conds = {{.arg = 0, .op = LB_CMP_GE, .value = AF_PACKET}}});
	if (rc < 0)
		return rc;
	rc = plan_add(b,
		      (struct lb_filter_rule){
			  .nr = SYS_socket,
			  .action = LB_FILTER_ERRNO,
			  .err = EPROTONOSUPPORT,
			  .n_conds = 2,
			  .conds = {{.arg = 0, .mask = 0xffffffffu, .value = AF_NETLINK},
				    {.arg = 2, .op = LB_CMP_NE, .value = 0 /* NETLINK_ROUTE */}}});
	/* SCTP binds and connects through setsockopt (SCTP_SOCKOPT_BINDX_ADD,
	 * CONNECTX), where no address can be judged. */
	for (int fam = 0; fam < 2 && rc == 0; fam++)
		rc = plan_add(
		    b, (struct lb_filter_rule){
			   .nr = SYS_socket,
			   .action = LB_FILTER_ERRNO,
			   .err = EPROTONOSUPPORT,
			   .n_conds = 2,
			   .conds = {
			       {.arg = 0, .mask = 0xffffffffu, .value = fam ? AF_INET6 : AF_INET},
			       {.arg = 2, .mask = 0xffffffffu, .value = IPPROTO_SCTP}}});
	return rc;
}

static int build_plan(struct lb_core *core)
{
	struct plan_builder b = {0};
	const struct lb_policy *p = core->cfg.policy;
	bool audit = lb_core_mode(core) == LB_MODE_AUDIT;

	/* Order matters: the first unconditional action given to a syscall
	 * wins. Policy denials first, then the dangerous set, then what the
	 * supervisor mediates. */
	int rc = plan_policy_syscalls(&b, p);
	if (rc == 0)
		rc = plan_dangerous(&b, p, audit);
	if (rc == 0)
		rc = plan_conditional_dangers(&b, p);
	if (rc == 0)
		rc = plan_mediated(&b, core);
	if (rc == 0)
		rc = plan_socket_families(&b);
	if (rc < 0) {
		free(b.rules);
		return rc;
	}
	core->rules = b.rules;
	core->n_rules = b.n;
	return 0;
}

enum lb_mode lb_core_mode(const struct lb_core *core)
{
	return core->cfg.force_audit ? LB_MODE_AUDIT : lb_policy_mode(core->cfg.policy);
}

int lb_core_filter_plan(struct lb_core *core, struct lb_filter_plan *out)
{
	out->rules = core->rules;
	out->n_rules = core->n_rules;
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
	core->n_groups = getgroups(LB_MAX_GROUPS, core->groups);
	if (core->n_groups < 0)
		core->n_groups = 0;
	core->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (core->rootfd < 0)
		return -errno;
	int rc = collect_grant_prefixes(core);
	if (rc == 0)
		rc = build_plan(core);
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
	free(core->rules);
	free(core);
}

static ino_t pidns_of(pid_t pid)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)pid);
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

void lb_core_set_sandbox(struct lb_core *core, pid_t init_pid)
{
	core->sandbox_pidns = pidns_of(init_pid);
	core->own_pidns = pidns_of(getpid());
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
	if (strncmp(path, "/proc/", 6) != 0)
		return false;
	char *end;
	long pid = strtol(path + 6, &end, 10);
	if (end == path + 6 || (*end != '/' && *end != '\0'))
		return false;
	if (pid == c->t->pid)
		return false;
	if (c->rctx.tgid == 0)
		c->rctx.tgid = lb_tgid_of(c->t->pid);
	if (pid == c->rctx.tgid)
		return false;
	return !pid_in_sandbox(c->core, (pid_t)pid);
}

/* ---- answering ------------------------------------------------------------ */

void lb_reply_value(struct lb_call *c, int64_t v)
{
	c->ops->reply(c->t, LB_REPLY_VALUE, v, -1, false);
	c->replied = true;
}

void lb_reply_errno(struct lb_call *c, int err)
{
	c->ops->reply(c->t, LB_REPLY_ERROR, -(int64_t)(err > 0 ? err : -err), -1, false);
	c->replied = true;
}

void lb_reply_fd(struct lb_call *c, int fd, bool cloexec)
{
	c->ops->reply(c->t, LB_REPLY_FD, 0, fd, cloexec);
	c->replied = true;
}

void lb_reply_continue(struct lb_call *c)
{
	c->ops->reply(c->t, LB_REPLY_CONTINUE, 0, -1, false);
	c->replied = true;
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

/* The policy speaks of /proc/self; the resolver sees /proc/<tgid>. */
static const char *policy_view(struct lb_call *c, const char *path, char *buf, size_t len)
{
	if (strncmp(path, "/proc/", 6) != 0)
		return path;
	char *end;
	long pid = strtol(path + 6, &end, 10);
	if (end == path + 6 || (*end != '/' && *end != '\0'))
		return path;
	if (c->rctx.tgid == 0)
		c->rctx.tgid = lb_tgid_of(c->t->pid);
	if (pid != c->rctx.tgid && pid != c->t->pid)
		return path;
	snprintf(buf, len, "/proc/self%s", end);
	return buf;
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
	    .syscall = c->row ? c->row->name : lb_syscall_name(c->t->nr),
	    .cls = cls,
	    .object = object,
	    .verdict = v,
	    .decision = d,
	    .audited = audited,
	    .absent = absent,
	};
	c->core->cfg.on_event(c->core->cfg.event_arg, &ev);
}

/* A lookup (read, stat, exec) that no rule grants, of an object that does
 * not exist, is answered ENOENT as the kernel would: PATH searches and
 * config probes (git, ld.so, python) treat EACCES as an error but ENOENT
 * as "try the next one". What exists still gets EACCES. This tells that
 * a path exists as much as Landlock does; `hide` makes a path absent
 * whether it exists or not. */
static bool refused_lookup_of_nothing(struct lb_call *c, enum lb_class cls,
				      const struct lb_decision *d)
{
	if (d->verdict != LB_VERDICT_DENY || d->origin != LB_ORIGIN_DEFAULT || !c->cur)
		return false;
	if (cls != LB_CLASS_READ && cls != LB_CLASS_STAT && cls != LB_CLASS_EXEC)
		return false;
	struct stat st;
	const char *name = c->cur->name[0] ? c->cur->name : ".";
	return fstatat(c->cur->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

static int apply_decision(struct lb_call *c, enum lb_class cls, const char *object,
			  const struct lb_decision *d, int deny_errno)
{
	if (d->verdict == LB_VERDICT_ALLOW || d->verdict == LB_VERDICT_AUDIT) {
		emit(c, cls, object, LB_EV_ALLOW, d, false);
		return 0;
	}
	bool absent = refused_lookup_of_nothing(c, cls, d);
	if (lb_core_mode(c->core) == LB_MODE_AUDIT) {
		emit(c, cls, object, LB_EV_WOULD_DENY, d, absent);
		return 0;
	}
	if (lb_policy_on_deny(c->core->cfg.policy) == LB_ON_DENY_KILL) {
		emit(c, cls, object, LB_EV_KILL, d, absent);
		if (c->rctx.tgid == 0)
			c->rctx.tgid = lb_tgid_of(c->t->pid);
		kill(c->rctx.tgid, SIGKILL);
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
	lb_policy_judge_path(c->core->cfg.policy, cls, view, &d);
	bool ancestor_rule = cls == LB_CLASS_STAT || (cls == LB_CLASS_READ && ancestors_listable);
	if (d.verdict == LB_VERDICT_DENY && d.origin == LB_ORIGIN_DEFAULT && ancestor_rule &&
	    leads_to_grant(c->core, view)) {
		d.verdict = LB_VERDICT_ALLOW;
		d.origin = LB_ORIGIN_IMPLICIT;
	}
	return apply_decision(c, cls, view, &d, EACCES);
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
	return apply_decision(c, cls, obj, &d, cls == LB_CLASS_CONNECT ? ECONNREFUSED : EACCES);
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

/* Field 4 (filesystem id) of the "Uid:" / "Gid:" lines. */
static long fs_id(const char *status, const char *key)
{
	const char *l = strstr(status, key);
	if (!l)
		return -1;
	l += strlen(key);
	long v = -1;
	for (int i = 0; i < 4; i++)
		v = strtol(l, (char **)&l, 10);
	return v;
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

void lb_creds_enter(struct lb_call *c, struct lb_creds_guard *g)
{
	g->switched = false;
	if (!atomic_load_explicit(&c->core->creds_changed, memory_order_relaxed))
		return;
	char buf[4096];
	long fsuid = -1, fsgid = -1;
	gid_t groups[LB_MAX_GROUPS];
	int n_groups = -1;
	if (read_status(c->t->pid, buf, sizeof(buf)) == 0) {
		fsuid = fs_id(buf, "\nUid:");
		fsgid = fs_id(buf, "\nGid:");
		n_groups = parse_groups(buf, groups, LB_MAX_GROUPS);
	}
	if (fsuid < 0 || fsgid < 0 || n_groups < 0) {
		/* Fail closed: what cannot be read acts as nobody. */
		fsuid = fsgid = 65534;
		n_groups = 0;
	} else if ((uid_t)fsuid == geteuid() && (gid_t)fsgid == getegid()) {
		return;
	}
	/* Per-thread in the kernel: the raw calls change this worker only
	 * (glibc's wrappers would change every thread of the supervisor). */
	syscall(SYS_setgroups, n_groups, groups);
	syscall(SYS_setfsgid, (gid_t)fsgid);
	syscall(SYS_setfsuid, (uid_t)fsuid);
	g->switched = true;
	g->core = c->core;
}

/* Keeps errno: callers read the operation's errno after leaving. */
void lb_creds_leave(struct lb_creds_guard *g)
{
	if (!g->switched)
		return;
	int saved = errno;
	syscall(SYS_setfsuid, geteuid());
	syscall(SYS_setfsgid, getegid());
	syscall(SYS_setgroups, g->core->n_groups, g->core->groups);
	errno = saved;
}

/* ---- where paths start --------------------------------------------------------- */

int lb_read_path(struct lb_call *c, uint64_t addr, char *buf)
{
	int rc = c->ops->read_str(c->t, addr, buf, PATH_MAX);
	return rc;
}

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
	int f = open(p, flags | O_CLOEXEC);
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

int lb_resolve_str(struct lb_call *c, int dirfd, const char *path, unsigned flags,
		   struct lb_resolved *out)
{
	int rc;
	if (path[0] == '/') {
		rc = lb_resolve(&c->rctx, c->core->rootfd, "/", path, flags, out);
	} else if (path[0] == '\0') {
		return -ENOENT;
	} else {
		struct lb_start s = {.fd = -1};
		rc = lb_start_dir(c, dirfd, &s);
		if (rc < 0)
			return rc;
		rc = lb_resolve(&c->rctx, s.fd, s.path, path, flags, out);
		lb_start_release(&s);
	}
	if (rc == 0)
		c->cur = out;
	return rc;
}

/* ---- dispatch ---------------------------------------------------------------- */

static bool is_tracked(int nr)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(tracked_nrs); i++)
		if (tracked_nrs[i] == nr)
			return true;
	return false;
}

/* Calls without a row: tracked state changes, audited syscalls, and (in
 * audit mode) the dangerous set. */
static void handle_untabled(struct lb_call *c)
{
	int nr = c->t->nr;
	if (nr == SYS_umask) {
		atomic_store(&c->core->umask_changed, true);
		lb_reply_continue(c);
		return;
	}
	if (is_tracked(nr)) {
		atomic_store(&c->core->creds_changed, true);
		lb_reply_continue(c);
		return;
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
		lb_reply_continue(c);
		return;
	}
	/* The dangerous set in audit mode: still refused, and recorded. */
	struct lb_decision d = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
	emit(c, LB_CLASS_SYSCALL, name, LB_EV_DENY, &d, false);
	lb_reply_errno(c, EPERM);
}

void lb_core_handle(void *arg, struct lb_trap *t)
{
	struct lb_core *core = arg;
	struct lb_call c = {
	    .core = core,
	    .t = t,
	    .row = lb_syscall_row(t->nr),
	    .ops = core->ops,
	    .rctx = {.rootfd = core->rootfd,
		     .tid = t->pid,
		     .pid_visible = pid_in_sandbox,
		     .arg = core},
	};

	if (!c.row)
		handle_untabled(&c);
	else if (c.row->kind >= LB_K_CONNECT)
		lb_net_handle(&c);
	else
		lb_fs_handle(&c);
	/* Fail closed: a path that forgot to answer refuses. */
	if (!c.replied)
		lb_reply_errno(&c, EPERM);
}
