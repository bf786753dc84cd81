/* SPDX-License-Identifier: MIT */
#ifndef LITEBOX_SECCOMP_INTERNAL_H
#define LITEBOX_SECCOMP_INTERNAL_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>

#include "bpf.h"
#include "litebox/platform.h"

/* Debian 12's 6.1 uapi headers lack these (kernel 6.6+). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

struct lb_prepared {
	struct sock_fprog prog;
};

int lb_seccomp_prepare(const struct lb_filter_plan *plan, struct lb_prepared **out);
void lb_seccomp_free_prepared(struct lb_prepared *prep);

#endif
