/* SPDX-License-Identifier: MIT */
/* Nested domains, between the launcher, the core and lib/nest.c. */
#ifndef LITEBOX_NEST_INTERNAL_H
#define LITEBOX_NEST_INTERNAL_H

#include <sys/types.h>

#include "litebox/answer.h"
#include "litebox/nest.h"

struct lb_call;

int lb_nest_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);
ssize_t lb_nest_recv(int sock, void *buf, size_t cap, int *fds, size_t *n_fds);

/* The outer litebox, before it confines itself: fork the helper that
 * starts a supervisor per nested domain (it dies with litebox). Returns
 * litebox's end of the helper's socket, or -errno; *pid the helper. */
int lb_nest_helper_start(const struct lb_nest_host *host, const struct lb_nest_join *base,
			 pid_t *pid);

/* The core's answer to LB_NEST_PRCTL. */
struct lb_answer lb_nest_handle(struct lb_call *c);

#endif
