/* SPDX-License-Identifier: MIT */
/* Compile the core's filter plan to classic BPF with libseccomp. The BPF is
 * exported in the parent and loaded by the child with seccomp(2) itself, so
 * that we choose the filter flags (NEW_LISTENER, WAIT_KILLABLE_RECV) that
 * libseccomp 2.5 cannot set. Each platform renders the plan's NOTIFY as its
 * own trap action (user notification, or RET_TRACE for ptrace). */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "litebox/util.h"
#include "seccomp_internal.h"

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define lb_autoseccomp __attribute__((cleanup(seccomp_releasep)))

static uint32_t action_of(const struct lb_filter_rule *r, uint32_t trap_action)
{
	switch (r->action) {
	case LB_FILTER_ALLOW:
		return SCMP_ACT_ALLOW;
	case LB_FILTER_ERRNO:
		return SCMP_ACT_ERRNO((uint32_t)r->err);
	case LB_FILTER_NOTIFY:
		return trap_action;
	case LB_FILTER_KILL:
		return SCMP_ACT_KILL_PROCESS;
	}
	return SCMP_ACT_KILL_PROCESS;
}

/* The unsigned 32-bit range [lo, hi] as aligned blocks, each one masked
 * comparison of the low 32 bits (libseccomp compares 64 bits on x86-64,
 * and has no 32-bit ordering). At most 64 blocks. */
static size_t range32(unsigned arg, uint64_t lo, uint64_t hi, struct scmp_arg_cmp *out)
{
	size_t n = 0;
	while (lo <= hi) {
		uint64_t size = 1;
		while (size < (1ull << 32) && lo % (size * 2) == 0 && lo + size * 2 - 1 <= hi)
			size *= 2;
		out[n++] = (struct scmp_arg_cmp){.arg = arg,
						 .op = SCMP_CMP_MASKED_EQ,
						 .datum_a = ~(size - 1) & 0xffffffffu,
						 .datum_b = lo};
		lo += size;
	}
	return n;
}

#define LB_MAX_ALTS 64

/* One condition as alternatives, any of which makes it hold. */
static int cond_alts(const struct lb_filter_cond *c, struct scmp_arg_cmp *alt, size_t *n)
{
	*n = 1;
	switch (c->op) {
	case LB_CMP_MASKED_EQ:
		alt[0] = (struct scmp_arg_cmp){.arg = c->arg,
					       .op = SCMP_CMP_MASKED_EQ,
					       .datum_a = c->mask,
					       .datum_b = c->value};
		return 0;
	case LB_CMP_NE:
		alt[0] =
		    (struct scmp_arg_cmp){.arg = c->arg, .op = SCMP_CMP_NE, .datum_a = c->value};
		return 0;
	case LB_CMP_GE:
		alt[0] =
		    (struct scmp_arg_cmp){.arg = c->arg, .op = SCMP_CMP_GE, .datum_a = c->value};
		return 0;
	case LB_CMP_LE:
		alt[0] =
		    (struct scmp_arg_cmp){.arg = c->arg, .op = SCMP_CMP_LE, .datum_a = c->value};
		return 0;
	case LB_CMP_GE32:
		if (c->value > 0xffffffffu)
			return -EINVAL;
		*n = range32(c->arg, c->value, 0xffffffffu, alt);
		return 0;
	case LB_CMP_LE32:
		if (c->value > 0xffffffffu)
			return -EINVAL;
		*n = range32(c->arg, 0, c->value, alt);
		return 0;
	}
	return -EINVAL;
}

/* A rule whose conditions expand to several alternatives becomes one
 * libseccomp rule per combination (all with the same action). */
static int add_rule(scmp_filter_ctx ctx, const struct lb_filter_rule *r, uint32_t trap_action)
{
	struct scmp_arg_cmp alts[2][LB_MAX_ALTS];
	size_t n_alts[2] = {1, 1};

	if (r->n_conds > 2)
		return -EINVAL;
	for (unsigned i = 0; i < r->n_conds; i++) {
		int rc = cond_alts(&r->conds[i], alts[i], &n_alts[i]);
		if (rc < 0)
			return rc;
	}
	for (size_t a = 0; a < n_alts[0]; a++) {
		for (size_t b = 0; b < n_alts[1]; b++) {
			struct scmp_arg_cmp cmp[2] = {alts[0][a], alts[1][b]};
			/* _exact: never let libseccomp rewrite a rule into something else. */
			int rc = seccomp_rule_add_exact_array(ctx, action_of(r, trap_action), r->nr,
							      r->n_conds, cmp);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	lb_autoclose int fd = memfd_create("litebox-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return rc;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -E2BIG;
	lb_autofree struct sock_filter *insns = malloc((size_t)size);
	if (!insns)
		return -ENOMEM;
	if (pread(fd, insns, (size_t)size, 0) != size)
		return -EIO;
	prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	prog->filter = steal_pointer(&insns);
	return 0;
}

int lb_bpf_compile(const struct lb_filter_plan *plan, const struct lb_filter_plan *extra,
		   uint32_t trap_action, uint32_t foreign_action, struct sock_fprog *out)
{
	lb_autoseccomp scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* Foreign ABIs (x32 numbers, i386 via int 0x80) never reach a rule:
	 * the native-only filter sends them to the bad-arch action, which
	 * brings them to the supervisor; it records and refuses them (EPERM). */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, foreign_action);
	if (rc < 0)
		return rc;
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); /* the child sets it itself */
	if (rc < 0)
		return rc;
	/* A binary tree over syscall numbers instead of a linear chain: every
	 * untrapped call of the program runs this filter, and the plan has
	 * over a hundred rules. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < plan->n_rules; i++) {
		rc = add_rule(ctx, &plan->rules[i], trap_action);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; extra && i < extra->n_rules; i++) {
		rc = add_rule(ctx, &extra->rules[i], trap_action);
		if (rc < 0)
			return rc;
	}
	return export_bpf(ctx, out);
}

int lb_seccomp_prepare(const struct lb_filter_plan *plan, struct lb_prepared **out)
{
	lb_autofree struct lb_prepared *prep = calloc(1, sizeof(*prep));
	if (!prep)
		return -ENOMEM;
	int rc = lb_bpf_compile(plan, NULL, SCMP_ACT_NOTIFY, SCMP_ACT_NOTIFY, &prep->prog);
	if (rc < 0)
		return rc;
	*out = steal_pointer(&prep);
	return 0;
}

void lb_seccomp_free_prepared(struct lb_prepared *prep)
{
	if (!prep)
		return;
	free(prep->prog.filter);
	free(prep);
}
