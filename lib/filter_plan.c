/* SPDX-License-Identifier: MIT */
/* The kernel filter plan (see litebox/filter_plan.h): built here, and only
 * here, from the policy; installed by the platform; rendered by
 * `policy show` from the same entries. */
#include <errno.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "litebox/filter_plan.h"
#include "litebox/nest.h"
#include "litebox/net_decode.h"
#include "litebox/syscalls.h"
#include "litebox/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct lb_plan {
	const struct lb_policy *policy;
	bool audit;
	bool stat_in_kernel, readlink_in_kernel;
	struct lb_plan_entry *entries;
	struct lb_filter_rule *rules; /* the entries' rules, for the platform */
	size_t n, cap;
	/* per syscall: already given an unconditional action (the first one
	 * given wins) */
	bool taken[LB_MAX_NR];
	/* per syscall: some refusal of it goes to the supervisor to be
	 * recorded (see recorded) */
	bool refused[LB_MAX_NR];
};

static int plan_add(struct lb_plan *b, struct lb_filter_rule r, enum lb_plan_why why,
		    const char *note)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 128;
		struct lb_plan_entry *n = realloc(b->entries, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->entries = n;
		b->cap = cap;
	}
	b->entries[b->n++] = (struct lb_plan_entry){.rule = r, .why = why, .note = note};
	if (r.n_conds == 0 && r.nr >= 0 && r.nr < LB_MAX_NR)
		b->taken[r.nr] = true;
	return 0;
}

static int plan_simple(struct lb_plan *b, int nr, enum lb_filter_action act, int err,
		       enum lb_plan_why why)
{
	if (nr < 0 || nr >= LB_MAX_NR || b->taken[nr])
		return 0;
	return plan_add(b, (struct lb_filter_rule){.nr = nr, .action = act, .err = err}, why, NULL);
}

/* Refuse nr with err when (arg & mask) == value. */
static int plan_masked(struct lb_plan *b, int nr, unsigned arg, uint64_t mask, uint64_t value,
		       int err, enum lb_plan_why why, const char *note)
{
	return plan_add(
	    b,
	    (struct lb_filter_rule){
		.nr = nr,
		.action = LB_FILTER_ERRNO,
		.err = err,
		.n_conds = 1,
		.conds = {{.arg = arg, .op = LB_CMP_MASKED_EQ, .mask = mask, .value = value}}},
	    why, note);
}

static const uint64_t ns_flags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
				    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

static bool allowed(const struct lb_plan *b, const char *name)
{
	return lb_policy_allows_dangerous(b->policy, name);
}

static int plan_ns_flags(struct lb_plan *b, int nr, const char *note)
{
	int rc = 0;
	for (size_t i = 0; i < LB_ARRAY_SIZE(ns_flags) && rc == 0; i++)
		rc = plan_masked(b, nr, 0, ns_flags[i], ns_flags[i], EPERM, LB_WHY_DANGEROUS_ARGS,
				 note);
	return rc;
}

/* The members of the dangerous set that are dangerous only with certain
 * arguments get argument-conditioned rules instead of a whole refusal. */
static int plan_conditional_dangers(struct lb_plan *b)
{
	int rc = 0;
	if (!allowed(b, "clone"))
		rc = plan_ns_flags(b, SYS_clone, "with a namespace flag");
	/* Whatever the policy allows: a CLONE_UNTRACED child escapes the
	 * ptrace platform's tracer, and a program allowed ptrace could then
	 * answer that child's trapped calls itself. Nothing but debuggers'
	 * internals uses the flag. */
	if (rc == 0)
		rc = plan_masked(b, SYS_clone, 0, CLONE_UNTRACED, CLONE_UNTRACED, EPERM,
				 LB_WHY_DANGEROUS_ARGS,
				 "with CLONE_UNTRACED (always: it would leave the tracer)");
	if (rc == 0 && !allowed(b, "unshare")) {
		rc = plan_ns_flags(b, SYS_unshare, "with a namespace flag");
		if (rc == 0)
			rc = plan_masked(b, SYS_unshare, 0, CLONE_NEWTIME, CLONE_NEWTIME, EPERM,
					 LB_WHY_DANGEROUS_ARGS, "with a namespace flag");
	}
	/* clone3 passes its flags in memory the filter cannot read: answer
	 * ENOSYS, on which glibc falls back to clone, whose flags we see. */
	if (rc == 0 && !allowed(b, "clone3") && SYS_clone3 < LB_MAX_NR && !b->taken[SYS_clone3])
		rc = plan_add(b,
			      (struct lb_filter_rule){
				  .nr = SYS_clone3, .action = LB_FILTER_ERRNO, .err = ENOSYS},
			      LB_WHY_DANGEROUS_ARGS,
			      "(always: its flags are in memory; libc falls back to clone)");
	/* ioctl's request is an unsigned int: compare only the low 32 bits,
	 * or 0xffffffff00005412 would slip past a 64-bit comparison. */
	if (rc == 0 && !allowed(b, "ioctl"))
		rc = plan_masked(b, SYS_ioctl, 1, 0xffffffffu, TIOCSTI, EPERM,
				 LB_WHY_DANGEROUS_ARGS, "TIOCSTI and TIOCLINUX");
	if (rc == 0 && !allowed(b, "ioctl"))
		rc = plan_masked(b, SYS_ioctl, 1, 0xffffffffu, TIOCLINUX, EPERM,
				 LB_WHY_DANGEROUS_ARGS, "TIOCSTI and TIOCLINUX");
	/* A listener installed by the program would answer before ours. */
	if (rc == 0 && !allowed(b, "seccomp"))
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
				   .value = SECCOMP_FILTER_FLAG_NEW_LISTENER}}},
		    LB_WHY_DANGEROUS_ARGS, "setting a filter with the new-listener flag");
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

/* A program's own Landlock domain binds only what the program does
 * itself, and litebox's supervisor performs its opens: the restriction
 * would silently not hold. The answer is the kernel's for Landlock
 * switched off (EOPNOTSUPP), so a program knows it is not confined by its
 * own ruleset (a feature not offered, not a refusal: no record). */
static int plan_unhonoured(struct lb_plan *b)
{
	for (const char *const *u = lb_unhonoured_syscalls; *u; u++) {
		int nr = lb_syscall_nr(*u);
		if (nr < 0 || allowed(b, *u))
			continue;
		int rc = plan_simple(b, nr, LB_FILTER_ERRNO, EOPNOTSUPP, LB_WHY_UNHONOURED);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Policy `deny syscall` rules are settled in the kernel; `audit syscall`
 * goes to the supervisor to be recorded, then runs. */
static int plan_policy_syscalls(struct lb_plan *b)
{
	/* A nested domain: the enclosing policy's `deny syscall` rules hold
	 * too (its `audit syscall` rules are its own program's). */
	const struct lb_policy *outer = lb_policy_outer(b->policy);
	const struct lb_syscall_rule *rules;
	size_t n = outer ? lb_policy_syscall_rules(outer, &rules) : 0;
	for (size_t i = 0; i < n; i++)
		if (rules[i].verdict == LB_VERDICT_DENY &&
		    plan_simple(b, rules[i].nr, LB_FILTER_ERRNO, EPERM, LB_WHY_POLICY) < 0)
			return -ENOMEM;
	n = lb_policy_syscall_rules(b->policy, &rules);
	for (size_t i = 0; i < n; i++) {
		int rc = 0;
		if (rules[i].verdict == LB_VERDICT_DENY)
			rc = plan_simple(b, rules[i].nr, LB_FILTER_ERRNO, EPERM, LB_WHY_POLICY);
		else if (rules[i].verdict == LB_VERDICT_AUDIT)
			rc = plan_simple(b, rules[i].nr, LB_FILTER_NOTIFY, 0, LB_WHY_POLICY);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int plan_dangerous(struct lb_plan *b)
{
	for (const char *const *d = lb_dangerous_syscalls; *d; d++) {
		if (is_conditional_danger(*d) || allowed(b, *d))
			continue;
		/* In audit mode the set stays refused, but goes through the
		 * supervisor so that each refusal is recorded. */
		int rc =
		    plan_simple(b, lb_syscall_nr(*d), b->audit ? LB_FILTER_NOTIFY : LB_FILTER_ERRNO,
				EPERM, LB_WHY_DANGEROUS);
		if (rc < 0)
			return rc;
	}
	/* System calls newer than this table (open_tree_attr, the *xattrat
	 * family, file_getattr/setattr, ...) take paths litebox does not
	 * judge: ENOSYS, on which libcs fall back to the older calls. Any
	 * future number fails closed the same way. */
	for (int nr = LB_FIRST_UNKNOWN_NR; nr < LB_MAX_NR; nr++) {
		int rc = plan_simple(b, nr, LB_FILTER_ERRNO, ENOSYS, LB_WHY_NEWER);
		if (rc < 0)
			return rc;
	}
	/* Never useful inside the sandbox and a way around path checks. */
	for (const char *const *n = lb_never_syscalls; *n; n++) {
		if (allowed(b, *n))
			continue;
		int rc = plan_simple(b, lb_syscall_nr(*n), LB_FILTER_ERRNO, EPERM, LB_WHY_NEVER);
		if (rc < 0)
			return rc;
	}
	return plan_unhonoured(b);
}

/* Socket options that send traffic elsewhere than its destination
 * (source routing, routing headers, the outgoing interface, non-local
 * sources): decided on level and name, two ints. They go to the
 * supervisor, which refuses and records them; every other option stays
 * in the kernel. `allow syscall setsockopt` lifts the refusal. */
static int plan_route_sockopts(struct lb_plan *b, int nr)
{
	if (b->taken[nr] || allowed(b, "setsockopt"))
		return 0;
	const struct lb_sockopt_id *ids;
	size_t n = lb_route_sockopts(&ids);
	for (size_t i = 0; i < n; i++) {
		struct lb_filter_rule r = {
		    .nr = nr,
		    .action = LB_FILTER_NOTIFY,
		    .n_conds = 2,
		    .conds = {{.arg = 1, .mask = 0xffffffffu, .value = (uint32_t)ids[i].level},
			      {.arg = 2, .mask = 0xffffffffu, .value = (uint32_t)ids[i].name}}};
		int rc = plan_add(b, r, LB_WHY_MEDIATED, ids[i].text);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ioctls that change a file's metadata through a descriptor (chattr's
 * immutable and append-only flags, the fsxattr, ...) or make names (btrfs
 * subvolumes): decided on the request, an unsigned int compared on its
 * low 32 bits, and sent to the supervisor, which judges them as a write
 * of the descriptor's file. Every other request stays in the kernel. */
static int plan_metadata_ioctls(struct lb_plan *b, int nr)
{
	if (b->taken[nr])
		return 0;
	const struct lb_ioctl_row *rows;
	size_t n = lb_ioctl_rows(&rows);
	for (size_t i = 0; i < n; i++) {
		struct lb_filter_rule r = {
		    .nr = nr,
		    .action = LB_FILTER_NOTIFY,
		    .n_conds = 1,
		    .conds = {{.arg = 1, .mask = 0xffffffffu, .value = rows[i].req}}};
		int rc = plan_add(b, r, LB_WHY_MEDIATED, rows[i].name);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* newfstatat and statx with a NULL path (kernel 6.11+: with AT_EMPTY_PATH
 * the fd itself, else EFAULT) stay in the kernel: a NULL register cannot
 * change, and the supervisor judges nothing for an object the caller
 * already holds. Every other path goes to the supervisor. */
static int plan_pathless_stat(struct lb_plan *b, int nr)
{
	if (b->taken[nr])
		return 0;
	return plan_add(b,
			(struct lb_filter_rule){.nr = nr,
						.action = LB_FILTER_NOTIFY,
						.n_conds = 1,
						.conds = {{.arg = 1, .op = LB_CMP_NE, .value = 0}}},
			LB_WHY_MEDIATED,
			"with a path (a NULL path, an fd's own stat, stays in the kernel)");
}

/* Fast mediation: the kernel answers these in the sandbox's view
 * (lib/view.c), where what the policy refuses is absent. */
static bool in_kernel(const struct lb_plan *b, enum lb_sys_kind kind)
{
	if (kind == LB_K_STAT || kind == LB_K_STATX)
		return b->stat_in_kernel;
	return kind == LB_K_READLINK && b->readlink_in_kernel;
}

/* access(R_OK) and access(W_OK) are judged as read and write (they must
 * not promise what open then refuses): only F_OK and X_OK, which are stat,
 * stay in the kernel. The mode is an int in a register. */
static int plan_access_modes(struct lb_plan *b, const struct lb_syscall_row *row)
{
	static const int bits[] = {R_OK, W_OK};
	unsigned arg = row->nr == SYS_access ? 1 : 2;
	for (size_t i = 0; i < LB_ARRAY_SIZE(bits); i++) {
		struct lb_filter_rule r = {.nr = row->nr,
					   .action = LB_FILTER_NOTIFY,
					   .n_conds = 1,
					   .conds = {{.arg = arg,
						      .op = LB_CMP_MASKED_EQ,
						      .mask = (uint64_t)bits[i],
						      .value = (uint64_t)bits[i]}}};
		int rc = plan_add(b, r, LB_WHY_MEDIATED,
				  "with R_OK or W_OK (F_OK and X_OK stay in the kernel: fast "
				  "mediation)");
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int plan_mediated(struct lb_plan *b)
{
	const struct lb_syscall_row *rows;
	size_t n = lb_syscall_rows(&rows);
	bool filter_listings = lb_policy_hides_below(b->policy, "/");
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (rows[i].kind == LB_K_SENDTO) {
			/* sendto without an address (the common, connected case)
			 * stays in the kernel: a NULL register cannot change. */
			rc = plan_add(b,
				      (struct lb_filter_rule){
					  .nr = rows[i].nr,
					  .action = LB_FILTER_NOTIFY,
					  .n_conds = 1,
					  .conds = {{.arg = 4, .op = LB_CMP_NE, .value = 0}}},
				      LB_WHY_MEDIATED, "with a destination address");
		} else if (rows[i].kind == LB_K_GETDENTS &&
			   (!filter_listings || b->stat_in_kernel)) {
			/* nothing to filter; in the view of fast mediation what
			 * is hidden is absent */
			continue;
		} else if (in_kernel(b, rows[i].kind)) {
			continue;
		} else if (rows[i].kind == LB_K_ACCESS && b->stat_in_kernel) {
			rc = b->taken[rows[i].nr] ? 0 : plan_access_modes(b, &rows[i]);
		} else if (rows[i].nr == SYS_newfstatat || rows[i].nr == SYS_statx) {
			rc = plan_pathless_stat(b, rows[i].nr);
		} else if (rows[i].kind == LB_K_SETSOCKOPT) {
			rc = plan_route_sockopts(b, rows[i].nr);
		} else if (rows[i].kind == LB_K_IOCTL) {
			rc = plan_metadata_ioctls(b, rows[i].nr);
		} else {
			rc = plan_simple(b, rows[i].nr, LB_FILTER_NOTIFY, 0, LB_WHY_MEDIATED);
		}
		if (rc < 0)
			return rc;
	}
	/* The nesting handshake of a litebox inside this one (lib/nest.c):
	 * a prctl option Linux does not have. */
	if (!b->taken[SYS_prctl]) {
		struct lb_filter_rule r = {
		    .nr = SYS_prctl,
		    .action = LB_FILTER_NOTIFY,
		    .n_conds = 1,
		    .conds = {{.arg = 0, .mask = 0xffffffffu, .value = LB_NEST_PRCTL}}};
		if (plan_add(b, r, LB_WHY_MEDIATED, "litebox's nesting handshake") < 0)
			return -ENOMEM;
	}
	/* Made by the supervisor, sealed against exec (lib/memfd.c). */
	if (plan_simple(b, SYS_memfd_create, LB_FILTER_NOTIFY, 0, LB_WHY_MEDIATED) < 0)
		return -ENOMEM;
	const int *tracked;
	size_t n_tracked = lb_tracked_syscalls(&tracked);
	for (size_t i = 0; i < n_tracked; i++) {
		int rc = plan_simple(b, tracked[i], LB_FILTER_NOTIFY, 0, LB_WHY_TRACKED);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Socket families: only unix, IPv4, IPv6 and the routing netlink that
 * libc needs (getaddrinfo's AI_ADDRCONFIG, if_nameindex). Packet and raw
 * sockets also need CAP_NET_RAW, which the sandbox does not have. The
 * domain is an int: compared on the low 32 bits. */
static int plan_socket_families(struct lb_plan *b)
{
	static const char families[] = "of a family other than unix, IPv4, IPv6 and netlink";
	/* Below AF_NETLINK (16) one rule per family; from AF_PACKET (17) up a
	 * single 64-bit >= rule (garbage in the upper half of the int only
	 * makes it refuse more). */
	for (uint64_t fam = 0; fam < AF_PACKET; fam++) {
		if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6 || fam == AF_NETLINK)
			continue;
		int rc = plan_masked(b, SYS_socket, 0, 0xffffffffu, fam, EAFNOSUPPORT,
				     LB_WHY_SOCKET, families);
		if (rc < 0)
			return rc;
	}
	int rc = plan_add(
	    b,
	    (struct lb_filter_rule){.nr = SYS_socket,
				    .action = LB_FILTER_ERRNO,
				    .err = EAFNOSUPPORT,
				    .n_conds = 1,
				    .conds = {{.arg = 0, .op = LB_CMP_GE, .value = AF_PACKET}}},
	    LB_WHY_SOCKET, families);
	if (rc < 0)
		return rc;
	rc = plan_add(b,
		      (struct lb_filter_rule){
			  .nr = SYS_socket,
			  .action = LB_FILTER_ERRNO,
			  .err = EPROTONOSUPPORT,
			  .n_conds = 2,
			  .conds = {{.arg = 0, .mask = 0xffffffffu, .value = AF_NETLINK},
				    {.arg = 2, .op = LB_CMP_NE, .value = 0 /* NETLINK_ROUTE */}}},
		      LB_WHY_SOCKET, "of netlink other than routing");
	/* SCTP binds and connects through setsockopt (SCTP_SOCKOPT_BINDX_ADD,
	 * CONNECTX), where no address can be judged. */
	for (int fam = 0; fam < 2 && rc == 0; fam++)
		rc =
		    plan_add(b,
			     (struct lb_filter_rule){
				 .nr = SYS_socket,
				 .action = LB_FILTER_ERRNO,
				 .err = EPROTONOSUPPORT,
				 .n_conds = 2,
				 .conds = {{.arg = 0,
					    .mask = 0xffffffffu,
					    .value = fam ? AF_INET6 : AF_INET},
					   {.arg = 2, .mask = 0xffffffffu, .value = IPPROTO_SCTP}}},
			     LB_WHY_SOCKET, "for SCTP");
	return rc;
}

/* Every refusal produces a record: refusals of what the policy governs
 * (its `deny syscall` rules, the dangerous set, the calls never useful in a
 * sandbox) are sent to the supervisor, which records them and answers the
 * entry's errno (lb_plan_refusal). They are rare, so the round trip costs
 * nothing that matters. Not recorded: ENOSYS answers that make libc fall
 * back (clone3, numbers newer than the table) and socket families litebox
 * cannot judge, which are not refusals of anything the policy names. */
bool lb_plan_recorded(const struct lb_plan_entry *e)
{
	if (e->rule.action != LB_FILTER_ERRNO || e->rule.err == ENOSYS)
		return false;
	return e->why == LB_WHY_POLICY || e->why == LB_WHY_DANGEROUS ||
	       e->why == LB_WHY_DANGEROUS_ARGS || e->why == LB_WHY_NEVER;
}

static int copy_rules(struct lb_plan *b)
{
	b->rules = calloc(b->n ? b->n : 1, sizeof(*b->rules));
	if (!b->rules)
		return -ENOMEM;
	for (size_t i = 0; i < b->n; i++) {
		b->rules[i] = b->entries[i].rule;
		int nr = b->rules[i].nr;
		if (lb_plan_recorded(&b->entries[i]) && nr >= 0 && nr < LB_MAX_NR) {
			b->rules[i].action = LB_FILTER_NOTIFY;
			b->refused[nr] = true;
		}
	}
	return 0;
}

static bool cond_holds(const struct lb_filter_cond *c, const uint64_t args[6])
{
	uint64_t a = c->arg < 6 ? args[c->arg] : 0;
	switch (c->op) {
	case LB_CMP_MASKED_EQ:
		return (a & c->mask) == c->value;
	case LB_CMP_NE:
		return a != c->value;
	case LB_CMP_GE:
		return a >= c->value;
	case LB_CMP_LE:
		return a <= c->value;
	case LB_CMP_GE32:
		return (uint32_t)a >= c->value;
	case LB_CMP_LE32:
		return (uint32_t)a <= c->value;
	}
	return false;
}

const struct lb_plan_entry *lb_plan_refusal(const struct lb_plan *plan, int nr,
					    const uint64_t args[6])
{
	if (nr < 0 || nr >= LB_MAX_NR || !plan->refused[nr])
		return NULL;
	for (size_t i = 0; i < plan->n; i++) {
		const struct lb_plan_entry *e = &plan->entries[i];
		if (e->rule.nr != nr || !lb_plan_recorded(e))
			continue;
		bool all = true;
		for (unsigned k = 0; k < e->rule.n_conds && all; k++)
			all = cond_holds(&e->rule.conds[k], args);
		if (all)
			return e;
	}
	return NULL;
}

int lb_plan_build(const struct lb_plan_inputs *in, struct lb_plan **out)
{
	struct lb_plan *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->policy = in->policy;
	b->audit = in->audit;
	/* audit mode must see every access it records */
	b->stat_in_kernel = in->stat_in_kernel && !in->audit;
	b->readlink_in_kernel = b->stat_in_kernel && in->readlink_in_kernel;
	/* Order matters: the first unconditional action given to a syscall
	 * wins. Policy denials first, then the dangerous set, then what the
	 * supervisor mediates. */
	int rc = plan_policy_syscalls(b);
	if (rc == 0)
		rc = plan_dangerous(b);
	if (rc == 0)
		rc = plan_conditional_dangers(b);
	if (rc == 0)
		rc = plan_mediated(b);
	if (rc == 0)
		rc = plan_socket_families(b);
	if (rc == 0)
		rc = copy_rules(b);
	if (rc < 0) {
		lb_plan_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void lb_plan_free(struct lb_plan *plan)
{
	if (!plan)
		return;
	free(plan->entries);
	free(plan->rules);
	free(plan);
}

void lb_plan_filter(const struct lb_plan *plan, struct lb_filter_plan *out)
{
	out->rules = plan->rules;
	out->n_rules = plan->n;
}

size_t lb_plan_entries(const struct lb_plan *plan, const struct lb_plan_entry **out)
{
	*out = plan->entries;
	return plan->n;
}

/* ---- rendering (`policy show`) ---------------------------------------------- */

/* Words after a "# " comment prefix, wrapped before 80 columns. */
struct wrap {
	FILE *f;
	size_t col;
};

static void wrap_word(struct wrap *w, const char *s)
{
	size_t len = strlen(s);
	if (w->col > 3 && w->col + 1 + len > 78) {
		fputs("\n#  ", w->f);
		w->col = 3;
	}
	fputc(' ', w->f);
	fputs(s, w->f);
	w->col += len + 1;
}

static void wrap_text(FILE *f, const char *head, const char *text)
{
	struct wrap w = {f, strlen(head) + 2};
	char word[256];
	fprintf(f, "# %s", head);
	for (const char *s = text; *s;) {
		size_t l = strcspn(s, " ");
		snprintf(word, sizeof(word), "%.*s", (int)l, s);
		wrap_word(&w, word);
		s += l + (s[l] == ' ');
	}
	fputc('\n', f);
}

static bool unconditional(const struct lb_plan_entry *e, enum lb_plan_why why,
			  enum lb_filter_action act)
{
	return e->why == why && e->rule.n_conds == 0 && e->rule.action == act;
}

/* The names of the unconditional rules of one kind, after a heading; nothing
 * when there are none. */
static void put_names(FILE *f, const struct lb_plan *p, enum lb_plan_why why,
		      enum lb_filter_action act, const char *heading)
{
	struct wrap w = {f, 1};
	bool any = false;
	for (size_t i = 0; i < p->n; i++) {
		if (!unconditional(&p->entries[i], why, act))
			continue;
		if (!any)
			fprintf(f, "# %s:\n#", heading);
		any = true;
		wrap_word(&w, lb_syscall_name(p->entries[i].rule.nr));
	}
	if (any)
		fputc('\n', f);
}

static bool seen_before(const struct lb_plan *p, size_t i)
{
	const struct lb_plan_entry *e = &p->entries[i];
	for (size_t j = 0; j < i; j++) {
		const struct lb_plan_entry *o = &p->entries[j];
		if (o->why == e->why && o->rule.nr == e->rule.nr && o->rule.err == e->rule.err &&
		    o->note == e->note)
			return true;
	}
	return false;
}

/* One line per syscall, condition and answer of the conditioned rules. */
static void put_conditioned(FILE *f, const struct lb_plan *p, enum lb_plan_why why,
			    const char *heading)
{
	bool any = false;
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_plan_entry *e = &p->entries[i];
		if (e->why != why || !e->note || seen_before(p, i))
			continue;
		if (!any)
			fprintf(f, "# %s:\n", heading);
		any = true;
		fprintf(f, "#   %s %s", lb_syscall_name(e->rule.nr), e->note);
		if (e->rule.action == LB_FILTER_ERRNO)
			fprintf(f, ": %s", strerrorname_np(e->rule.err));
		fputc('\n', f);
	}
}

static void put_newer(FILE *f, const struct lb_plan *p)
{
	int first = -1;
	for (size_t i = 0; i < p->n && first < 0; i++)
		if (unconditional(&p->entries[i], LB_WHY_NEWER, LB_FILTER_ERRNO))
			first = p->entries[i].rule.nr;
	if (first >= 0)
		fprintf(f, "# system calls newer than litebox's table (number %d and up): ENOSYS\n",
			first);
}

static void put_policy_rules(FILE *f, const struct lb_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_plan_entry *e = &p->entries[i];
		if (e->why != LB_WHY_POLICY)
			continue;
		const char *name = lb_syscall_name(e->rule.nr);
		if (e->rule.action == LB_FILTER_ERRNO)
			fprintf(f, "# %s: refused with EPERM (policy rule)\n", name);
		else
			fprintf(f,
				"# %s: sent to litebox to be recorded, then runs (policy rule)\n",
				name);
	}
}

static void put_allowed_dangers(FILE *f, const struct lb_plan *p)
{
	struct wrap w = {f, 1};
	bool any = false;
	for (const char *const *d = lb_dangerous_syscalls; *d; d++) {
		if (!allowed(p, *d))
			continue;
		fputs(any ? "" : "# allowed by this policy although dangerous:\n#", f);
		any = true;
		wrap_word(&w, *d);
	}
	if (any)
		fputc('\n', f);
}

/* How the runtime enforces each class. Update this table, and only this
 * table, when mediation of a class changes. */
static const struct {
	const char *classes;
	const char *how;
} enforcement[] = {
    {"read, write, exec, stat",
     "enforced by the litebox supervisor (seccomp user notification) on the "
     "resolved host path, with Landlock beneath it where the kernel has it"},
    {"connect, bind", "enforced by the litebox supervisor (connect, bind, sendto and sendmsg "
		      "with an address)"},
    {"syscall", "enforced by the kernel filter, without a round trip"},
};

int lb_plan_show(const struct lb_plan *p, FILE *f)
{
	fputs("\n# ---- decided by the kernel filter alone ----\n", f);
	put_names(f, p, LB_WHY_DANGEROUS, LB_FILTER_ERRNO,
		  "refused with EPERM, before litebox sees them (the dangerous set)");
	put_names(f, p, LB_WHY_DANGEROUS, LB_FILTER_NOTIFY,
		  "refused with EPERM by litebox, and recorded (the dangerous set, audit mode)");
	put_names(f, p, LB_WHY_NEVER, LB_FILTER_ERRNO,
		  "refused with EPERM, never useful in a sandbox (unless allowed by name)");
	put_conditioned(f, p, LB_WHY_DANGEROUS_ARGS,
			"refused by their arguments (each unless allowed by name)");
	put_allowed_dangers(f, p);
	fputs("# system calls of any other ABI (x32, i386 through int 0x80): refused with EPERM\n",
	      f);
	put_newer(f, p);
	put_names(f, p, LB_WHY_UNHONOURED, LB_FILTER_ERRNO,
		  "EOPNOTSUPP, as with Landlock switched off: the supervisor performs the "
		  "program's opens, so its own ruleset would not hold (unless allowed by name)");
	put_conditioned(f, p, LB_WHY_SOCKET, "sockets refused");
	put_policy_rules(f, p);
	put_names(f, p, LB_WHY_MEDIATED, LB_FILTER_NOTIFY, "sent to litebox to be judged");
	put_conditioned(f, p, LB_WHY_MEDIATED, "sent to litebox to be judged only");
	put_names(f, p, LB_WHY_TRACKED, LB_FILTER_NOTIFY,
		  "sent to litebox to be noted, then run (umask and credentials)");
	if (p->stat_in_kernel)
		fprintf(f,
			"# mediation fast: stat, lstat, newfstatat, statx, access, faccessat, "
			"faccessat2 (F_OK, X_OK), getdents64%s\n#   answered by the kernel in the "
			"sandbox's view "
			"(what the policy refuses is absent there)\n",
			p->readlink_in_kernel ? ", readlink, readlinkat" : "");
	else
		fputs("# mediation exact: every path-taking call is sent to litebox\n", f);
	fputs("\n# ---- enforcement by class ----\n", f);
	for (size_t i = 0; i < LB_ARRAY_SIZE(enforcement); i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s:", enforcement[i].classes);
		wrap_text(f, head, enforcement[i].how);
	}
	return ferror(f) ? -EIO : 0;
}
