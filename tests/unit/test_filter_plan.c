/* SPDX-License-Identifier: MIT */
/* The kernel filter plan as a table: every dangerous syscall of the spec
 * is refused for each profile and mode, and `policy show`'s kernel part
 * names exactly the calls the installed rules refuse. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>

#include "litebox/filter_plan.h"
#include "litebox/syscalls.h"

static const struct lb_policy_vars vars = {
    .cwd = "/work/proj",
    .home = "/home/u",
    .tmpdir = "/tmp",
    .exe = "/usr/bin/prog",
    .exe_dir = "/usr/bin",
};

static struct lb_policy *load(const char *text)
{
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	struct lb_policy_inputs in = {.source = "t.policy", .text = text, .vars = vars};
	cr_assert_eq(lb_policy_load(&in, &p, &d), 0, "%s", d.n ? d.items[0].message : "");
	lb_diags_free(&d);
	return p;
}

static struct lb_plan *build(const struct lb_policy *p, bool audit)
{
	struct lb_plan *plan = NULL;
	cr_assert_eq(lb_plan_build(&(struct lb_plan_inputs){.policy = p, .audit = audit}, &plan),
		     0);
	return plan;
}

/* The first unconditional rule for nr (the one the kernel applies), or NULL. */
static const struct lb_filter_rule *whole_rule(const struct lb_plan *plan, int nr)
{
	const struct lb_plan_entry *e;
	size_t n = lb_plan_entries(plan, &e);
	for (size_t i = 0; i < n; i++)
		if (e[i].rule.nr == nr && e[i].rule.n_conds == 0)
			return &e[i].rule;
	return NULL;
}

/* nr goes to the supervisor exactly when its path (argument 1) is not
 * NULL: nothing with a path is decided in the kernel. */
static bool traps_with_path(const struct lb_plan *plan, int nr)
{
	const struct lb_plan_entry *e;
	size_t n = lb_plan_entries(plan, &e);
	for (size_t i = 0; i < n; i++)
		if (e[i].rule.nr == nr && e[i].rule.n_conds == 1 &&
		    e[i].rule.action == LB_FILTER_NOTIFY && e[i].rule.conds[0].arg == 1 &&
		    e[i].rule.conds[0].op == LB_CMP_NE && e[i].rule.conds[0].value == 0)
			return true;
	return false;
}

/* A one-condition masked rule refusing nr with err. */
static bool refuses_masked(const struct lb_plan *plan, int nr, unsigned arg, uint64_t mask,
			   uint64_t value, int err)
{
	const struct lb_plan_entry *e;
	size_t n = lb_plan_entries(plan, &e);
	for (size_t i = 0; i < n; i++) {
		const struct lb_filter_rule *r = &e[i].rule;
		if (r->nr == nr && r->action == LB_FILTER_ERRNO && r->err == err &&
		    r->n_conds >= 1 && r->conds[0].op == LB_CMP_MASKED_EQ &&
		    r->conds[0].arg == arg && r->conds[0].mask == mask &&
		    r->conds[0].value == value)
			return true;
	}
	return false;
}

/* ../shared/spec/policy.md, "Built-in dangerous syscalls", refused whole. */
static const char *const spec_whole[] = {
    "ptrace",
    "process_vm_writev",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "mount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "swapon",
    "swapoff",
    "reboot",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "keyctl",
    "add_key",
    "request_key",
    "setns",
    "process_vm_readv",
    "pidfd_getfd",
    "kcmp",
    "acct",
    "quotactl",
    "syslog",
    /* docs/security.md: always refused */
    "chroot",
    "uselib",
    "lookup_dcookie",
    "fspick",
    "mount_setattr",
};

static const uint64_t ns_flags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
				    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

static void check_dangerous_refused(const char *text, bool audit)
{
	struct lb_policy *p = load(text);
	struct lb_plan *plan = build(p, audit);
	for (size_t i = 0; i < sizeof(spec_whole) / sizeof(spec_whole[0]); i++) {
		int nr = lb_syscall_nr(spec_whole[i]);
		cr_assert(nr >= 0, "%s has a number", spec_whole[i]);
		const struct lb_filter_rule *r = whole_rule(plan, nr);
		cr_assert(r, "%s (%s, audit %d) has a rule", spec_whole[i], text, audit);
		/* In audit mode the set goes to the supervisor, which records
		 * and refuses it; the always-refused ones stay in the kernel. */
		if (r->action == LB_FILTER_NOTIFY)
			cr_expect(audit, "%s: sent to litebox only in audit mode", spec_whole[i]);
		else
			cr_expect(r->action == LB_FILTER_ERRNO && r->err == EPERM,
				  "%s (%s): refused with EPERM", spec_whole[i], text);
	}
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
		cr_expect(refuses_masked(plan, SYS_clone, 0, ns_flags[i], ns_flags[i], EPERM));
		cr_expect(refuses_masked(plan, SYS_unshare, 0, ns_flags[i], ns_flags[i], EPERM));
	}
	cr_expect(refuses_masked(plan, SYS_unshare, 0, 0x80 /* CLONE_NEWTIME */, 0x80, EPERM));
	cr_expect(refuses_masked(plan, SYS_ioctl, 1, 0xffffffffu, TIOCSTI, EPERM));
	cr_expect(refuses_masked(plan, SYS_ioctl, 1, 0xffffffffu, TIOCLINUX, EPERM));
	const struct lb_filter_rule *c3 = whole_rule(plan, SYS_clone3);
	cr_expect(c3 && c3->action == LB_FILTER_ERRNO && c3->err == ENOSYS, "clone3: ENOSYS");
	bool listener = false;
	const struct lb_plan_entry *e;
	size_t n = lb_plan_entries(plan, &e);
	for (size_t i = 0; i < n; i++)
		listener |= e[i].rule.nr == SYS_seccomp && e[i].rule.action == LB_FILTER_ERRNO &&
			    e[i].rule.n_conds == 2 &&
			    e[i].rule.conds[1].mask == SECCOMP_FILTER_FLAG_NEW_LISTENER;
	cr_expect(listener, "seccomp with the new-listener flag is refused");
	for (int nr = LB_FIRST_UNKNOWN_NR; nr < LB_MAX_NR; nr++) {
		const struct lb_filter_rule *r = whole_rule(plan, nr);
		cr_expect(r && r->action == LB_FILTER_ERRNO && r->err == ENOSYS, "%d: ENOSYS", nr);
	}
	lb_plan_free(plan);
	lb_policy_free(p);
}

Test(filter_plan, dangerous_set_refused_in_every_profile_and_mode)
{
	static const char *const texts[] = {"include default\n", "include strict\n",
					    "include permissive\n", "version 1\n"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		check_dangerous_refused(texts[i], false);
		check_dangerous_refused(texts[i], true);
	}
}

Test(filter_plan, every_table_row_goes_to_the_supervisor)
{
	struct lb_policy *p = load("allow read /**\n");
	struct lb_plan *plan = build(p, false);
	const struct lb_syscall_row *rows;
	size_t n = lb_syscall_rows(&rows);
	for (size_t i = 0; i < n; i++) {
		const struct lb_filter_rule *r = whole_rule(plan, rows[i].nr);
		if (rows[i].kind == LB_K_GETDENTS) {
			cr_expect_null(r, "%s stays in the kernel when nothing is hidden",
				       rows[i].name);
		} else if (rows[i].kind == LB_K_SENDTO) {
			cr_expect_null(r, "sendto is conditioned on its address");
		} else if (rows[i].kind == LB_K_SETSOCKOPT) {
			cr_expect_null(r, "setsockopt is conditioned on level and name");
		} else if (rows[i].kind == LB_K_IOCTL) {
			cr_expect_null(r, "ioctl is conditioned on its request");
		} else if (rows[i].nr == SYS_newfstatat || rows[i].nr == SYS_statx) {
			cr_expect_null(r, "%s is conditioned on its path pointer", rows[i].name);
			cr_expect(traps_with_path(plan, rows[i].nr), "%s with a path is trapped",
				  rows[i].name);
		} else {
			cr_expect(r && r->action == LB_FILTER_NOTIFY, "%s is trapped",
				  rows[i].name);
		}
	}
	lb_plan_free(plan);
	lb_policy_free(p);
	p = load("allow read /**\nhide /secret\n");
	plan = build(p, false);
	const struct lb_filter_rule *r = whole_rule(plan, SYS_getdents64);
	cr_expect(r && r->action == LB_FILTER_NOTIFY, "listings are filtered with a hide rule");
	lb_plan_free(plan);
	lb_policy_free(p);
}

static char *show(const struct lb_plan *plan)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert(f);
	cr_assert_eq(lb_plan_show(plan, f), 0);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

/* Whole refusals are shown as "# NAME: refused with EPERM (policy rule)"
 * or as the words of the lines under a heading ("# ...:") that says
 * "refused with EPERM"; the list ends at a line with a colon. */
static bool shown_refused(const char *text, const char *name)
{
	char policy_line[128];
	snprintf(policy_line, sizeof(policy_line), "\n# %s: refused with EPERM", name);
	if (strstr(text, policy_line))
		return true;
	bool in_list = false;
	for (const char *l = text; *l;) {
		size_t len = strcspn(l, "\n");
		char line[256];
		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		l += len + (l[len] == '\n');
		if (len > 2 && line[len - 1] == ':') {
			in_list = strstr(line, "refused with EPERM") != NULL;
			continue;
		}
		if (!in_list || line[0] != '#' || strchr(line, ':')) {
			in_list = false;
			continue;
		}
		for (char *save = NULL, *w = strtok_r(line + 1, " ", &save); w;
		     w = strtok_r(NULL, " ", &save))
			if (strcmp(w, name) == 0)
				return true;
	}
	return false;
}

/* Every syscall whose first unconditional rule refuses it in the kernel is
 * shown as refused, and every name shown as refused has such a rule. */
static void check_show_matches(const char *text)
{
	struct lb_policy *p = load(text);
	struct lb_plan *plan = build(p, false);
	char *s = show(plan);
	for (int nr = 0; nr < LB_FIRST_UNKNOWN_NR; nr++) {
		const char *name = lb_syscall_name(nr);
		if (strcmp(name, "?") == 0)
			continue;
		const struct lb_filter_rule *r = whole_rule(plan, nr);
		bool refused = r && r->action == LB_FILTER_ERRNO && r->err == EPERM;
		cr_expect_eq(shown_refused(s, name), refused, "%s (%s): refused %d, shown:\n%s",
			     name, text, refused, s);
	}
	/* Each argument-conditioned refusal has its line. */
	const struct lb_plan_entry *e;
	size_t n = lb_plan_entries(plan, &e);
	for (size_t i = 0; i < n; i++) {
		if (e[i].rule.action != LB_FILTER_ERRNO || e[i].rule.n_conds == 0)
			continue;
		char line[128];
		snprintf(line, sizeof(line), "\n#   %s ", lb_syscall_name(e[i].rule.nr));
		cr_expect(strstr(s, line), "%s has a line:\n%s", line + 1, s);
	}
	char newer[64];
	snprintf(newer, sizeof(newer), "(number %d and up): ENOSYS", LB_FIRST_UNKNOWN_NR);
	cr_expect(strstr(s, newer), "%s", s);
	free(s);
	lb_plan_free(plan);
	lb_policy_free(p);
}

Test(filter_plan, show_lists_exactly_what_the_filter_refuses)
{
	check_show_matches("include default\n");
	check_show_matches("include strict\n");
	check_show_matches("include permissive\ndeny syscall personality\n");
	check_show_matches("allow syscall ptrace\nallow syscall chroot\ndeny syscall kcmp\n");
}

Test(filter_plan, show_of_policy_syscall_rules)
{
	struct lb_policy *p =
	    load("deny syscall personality\nallow syscall ptrace\naudit syscall getpid\n");
	struct lb_plan *plan = build(p, false);
	const struct lb_filter_rule *r = whole_rule(plan, SYS_ptrace);
	cr_expect_null(r, "an allowed dangerous call has no rule");
	r = whole_rule(plan, SYS_getpid);
	cr_expect(r && r->action == LB_FILTER_NOTIFY, "audited: sent to litebox");
	char *s = show(plan);
	cr_expect(strstr(s, "# personality: refused with EPERM (policy rule)"), "%s", s);
	cr_expect(strstr(s, "# getpid: sent to litebox to be recorded, then runs"), "%s", s);
	cr_expect(strstr(s, "allowed by this policy although dangerous:\n# ptrace"), "%s", s);
	cr_expect(strstr(s, "\n# chroot uselib lookup_dcookie\n"), "%s", s);
	free(s);
	lb_plan_free(plan);
	lb_policy_free(p);
}

Test(filter_plan, audit_mode_sends_the_dangerous_set_to_litebox)
{
	struct lb_policy *p = load("set mode audit\n");
	struct lb_plan *plan = build(p, true);
	const struct lb_filter_rule *r = whole_rule(plan, SYS_ptrace);
	cr_expect(r && r->action == LB_FILTER_NOTIFY);
	char *s = show(plan);
	cr_expect(strstr(s, "refused with EPERM by litebox, and recorded"), "%s", s);
	free(s);
	lb_plan_free(plan);
	lb_policy_free(p);
}

Test(filter_plan, platform_rules_are_the_entries)
{
	struct lb_policy *p = load("include default\n");
	struct lb_plan *plan = build(p, false);
	struct lb_filter_plan fp;
	const struct lb_plan_entry *e;
	lb_plan_filter(plan, &fp);
	size_t n = lb_plan_entries(plan, &e);
	cr_assert_eq(fp.n_rules, n);
	for (size_t i = 0; i < n; i++) {
		struct lb_filter_rule want = e[i].rule;
		/* refusals go to the supervisor to be recorded, which answers
		 * the entry's errno for exactly the calls the rule matches */
		if (lb_plan_recorded(&e[i])) {
			want.action = LB_FILTER_NOTIFY;
			uint64_t args[6] = {0};
			for (unsigned k = 0; k < want.n_conds; k++)
				if (want.conds[k].op == LB_CMP_MASKED_EQ)
					args[want.conds[k].arg] = want.conds[k].value;
			if (want.n_conds == 0 || want.conds[0].op == LB_CMP_MASKED_EQ)
				cr_expect(lb_plan_refusal(plan, want.nr, args) != NULL,
					  "rule %zu answered by the supervisor", i);
		}
		cr_expect_eq(memcmp(&fp.rules[i], &want, sizeof(want)), 0, "rule %zu", i);
	}
	cr_expect(lb_plan_refusal(plan, SYS_getpid, (uint64_t[6]){0}) == NULL);
	lb_plan_free(plan);
	lb_policy_free(p);
}

/* Only the options that reroute traffic leave the kernel, on both ints. */
static bool notifies_sockopt(const struct lb_plan *plan, int level, int name)
{
	const struct lb_plan_entry *e;
	size_t n = lb_plan_entries(plan, &e);
	for (size_t i = 0; i < n; i++) {
		const struct lb_filter_rule *r = &e[i].rule;
		if (r->nr == SYS_setsockopt && r->action == LB_FILTER_NOTIFY && r->n_conds == 2 &&
		    r->conds[0].arg == 1 && r->conds[0].mask == 0xffffffffu &&
		    r->conds[0].value == (uint64_t)level && r->conds[1].arg == 2 &&
		    r->conds[1].mask == 0xffffffffu && r->conds[1].value == (uint64_t)name)
			return true;
	}
	return false;
}

Test(filter_plan, route_socket_options_go_to_the_supervisor)
{
	struct lb_policy *p = load("include permissive\n");
	struct lb_plan *plan = build(p, false);
	cr_expect(notifies_sockopt(plan, SOL_IPV6, IPV6_RTHDR));
	cr_expect(notifies_sockopt(plan, SOL_SOCKET, SO_BINDTODEVICE));
	cr_expect(notifies_sockopt(plan, SOL_IP, IP_OPTIONS));
	cr_expect(!notifies_sockopt(plan, SOL_SOCKET, SO_REUSEADDR));
	lb_plan_free(plan);
	lb_policy_free(p);
	p = load("include permissive\nallow syscall setsockopt\n");
	plan = build(p, false);
	cr_expect(!notifies_sockopt(plan, SOL_IPV6, IPV6_RTHDR),
		  "allow syscall setsockopt lifts it");
	lb_plan_free(plan);
	lb_policy_free(p);
}

/* Fast mediation: the stat family stays in the kernel (no rule for it),
 * access only with F_OK/X_OK (R_OK and W_OK are judged as read and
 * write), readlink only when asked; audit mode is always exact. */
Test(filter_plan, fast_mediation_leaves_stat_to_the_kernel)
{
	struct lb_policy *p = load("version 1\ninclude default\nset mediation fast\n");
	struct lb_plan *plan = NULL;
	cr_assert_eq(
	    lb_plan_build(&(struct lb_plan_inputs){.policy = p, .stat_in_kernel = true}, &plan), 0);
	static const int stats[] = {SYS_stat, SYS_lstat, SYS_newfstatat, SYS_statx};
	const struct lb_plan_entry *e;
	size_t n = lb_plan_entries(plan, &e);
	for (size_t k = 0; k < sizeof(stats) / sizeof(stats[0]); k++)
		for (size_t i = 0; i < n; i++)
			cr_expect_neq(e[i].rule.nr, stats[k], "%s has a rule",
				      lb_syscall_name(stats[k]));
	static const int acc[] = {SYS_access, SYS_faccessat, SYS_faccessat2};
	for (size_t k = 0; k < sizeof(acc) / sizeof(acc[0]); k++) {
		unsigned arg = acc[k] == SYS_access ? 1 : 2, modes = 0;
		for (size_t i = 0; i < n; i++) {
			const struct lb_filter_rule *r = &e[i].rule;
			if (r->nr != acc[k])
				continue;
			cr_expect(r->n_conds == 1 && r->action == LB_FILTER_NOTIFY &&
				  r->conds[0].arg == arg && r->conds[0].op == LB_CMP_MASKED_EQ);
			modes |= (unsigned)r->conds[0].value;
		}
		cr_expect_eq(modes, 6u, "%s traps R_OK and W_OK", lb_syscall_name(acc[k]));
	}
	cr_expect(whole_rule(plan, SYS_readlink) != NULL, "readlink stays trapped");
	cr_expect(whole_rule(plan, SYS_openat) != NULL, "opens stay trapped");
	lb_plan_free(plan);
	cr_assert_eq(lb_plan_build(&(struct lb_plan_inputs){.policy = p,
							    .audit = true,
							    .stat_in_kernel = true,
							    .readlink_in_kernel = true},
				   &plan),
		     0);
	cr_expect(traps_with_path(plan, SYS_newfstatat), "audit mode is exact");
	cr_expect(whole_rule(plan, SYS_lstat) != NULL, "audit mode is exact");
	lb_plan_free(plan);
	lb_policy_free(p);
}
