/* SPDX-License-Identifier: MIT */
/* Acting as the program: the credentials a host operation is done with.
 * Shared by the core (which reads them from the caller) and the south
 * (which performs operations under them); no policy here. */
#ifndef LITEBOX_CREDS_H
#define LITEBOX_CREDS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LB_MAX_GROUPS 256

/* What the kernel checks for a thread of the program: its ids, groups
 * and capability sets (as seen from litebox's user namespace). */
struct lb_creds {
	uid_t ruid, fsuid, euid, suid;
	gid_t rgid, fsgid, egid, sgid;
	int n_groups;
	gid_t groups[LB_MAX_GROUPS];
	uint64_t cap_eff, cap_prm;
};

struct lb_call; /* one trapped call (core_internal.h): whose credentials */
struct lb_core;

/* Act as the program: between enter and leave, the calling worker thread
 * has the caller's fsuid, fsgid, supplementary groups and effective
 * capabilities (never more than litebox's own), so the kernel's checks,
 * f_cred of opened files and capability checks on sockets come out as
 * they would for the program. Per thread (raw syscalls, capset on the
 * thread itself). Wrap exactly the host operation done for the caller,
 * not litebox's own plumbing (/proc/TID reads, pidfd_getfd, memory
 * access), which needs litebox's authority. enter fails closed (-errno:
 * refuse the call); leave is always needed and keeps errno. */
struct lb_creds_guard {
	bool switched, ids, caps;
	bool sender; /* real, effective and saved ids switched too */
	struct lb_core *core;
};
int lb_creds_enter(struct lb_call *c, struct lb_creds_guard *g);
/* The same with the caller's real ids (what access(2) checks). */
int lb_creds_enter_real(struct lb_call *c, struct lb_creds_guard *g);
/* The same for a socket call, with the caller's real, effective and
 * saved ids too (what SO_PEERCRED and SCM_CREDENTIALS carry). */
int lb_creds_enter_sender(struct lb_call *c, struct lb_creds_guard *g);
void lb_creds_leave(struct lb_creds_guard *g);
void lb_caller_creds(struct lb_call *c, struct lb_creds *cr);

#endif
