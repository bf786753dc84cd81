/* SPDX-License-Identifier: MIT */
/* The filter plan compiled to classic BPF, shared by the platforms. */
#ifndef LITEBOX_BPF_H
#define LITEBOX_BPF_H

#include <linux/filter.h>
#include <stdint.h>

#include "litebox/platform.h"

/* The plan (then the platform's own extra rules, may be NULL) as BPF; the
 * plan's NOTIFY becomes trap_action (SECCOMP_RET_USER_NOTIF or
 * SECCOMP_RET_TRACE), and a call of a foreign ABI (x32 numbers, i386
 * through int 0x80) gets foreign_action. */
int lb_bpf_compile(const struct lb_filter_plan *plan, const struct lb_filter_plan *extra,
		   uint32_t trap_action, uint32_t foreign_action, struct sock_fprog *out);

#endif
