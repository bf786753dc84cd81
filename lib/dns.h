/* SPDX-License-Identifier: MIT */
/* Mediated DNS (docs/policy.md, "Host names"; docs/security.md): the
 * program's resolver configuration is a litebox view that sends every
 * query over TCP to the configured nameservers; those connects reach
 * litebox's own resolver, which answers names no rule allows as
 * non-existent and records, for the names it resolves, the addresses the
 * connect judge then grants to name rules. */
#ifndef LITEBOX_DNS_H
#define LITEBOX_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

struct lb_core;
struct lb_call;

/* The host's resolver configuration ($LITEBOX_RESOLV_CONF, else
 * /etc/resolv.conf) and /etc/hosts, read once. 0 or -ENOMEM. */
int lb_dns_init(struct lb_core *core);
/* The run's end: the resolver hangs up every connection (a client that
 * outlives the run, or one that never sends, holds nothing up), its
 * threads are done when it returns, and later DNS connects are refused.
 * Nothing of the resolver calls the core's on_event after it. */
void lb_dns_stop(struct lb_core *core);
/* Stops the resolver first. */
void lb_dns_free(struct lb_core *core);

/* After open: fd is the caller's new descriptor; if it is the host's
 * resolver configuration opened for reading, it is closed and the view
 * returned instead. Returns the fd to install, or -errno (fd closed). */
/* seen: the walk's lstat of the object when it has one (a file it
 * shows is not the configuration needs no fstat), or NULL. */
int lb_dns_view_swap(struct lb_call *c, int fd, int flags, const char *path,
		     const struct stat *seen);

/* A connect of the caller's socket sock to addr: true when it is a TCP
 * connect to a configured nameserver, port 53, which litebox performed
 * itself towards its resolver (*rc: the connect's 0 or -errno). */
bool lb_dns_intercept(struct lb_call *c, int sock, const void *addr, socklen_t len, int *rc);
/* A TCP socket's destination addr is a configured nameserver, port 53. */
bool lb_dns_nameserver_stream(struct lb_call *c, int sock, const void *addr, socklen_t len);

/* ip is a configured nameserver's own address that only DNS is reached
 * at: any nameserver but the shared loopback addresses 127.0.0.1 and ::1
 * (Docker's 127.0.0.11 answers on a second port too, systemd-resolved's
 * 127.0.0.53/54 on 53 alone). */
bool lb_dns_nameserver_only(struct lb_core *core, bool is_v4, const uint8_t *ip);

/* The names that resolved to ip for the program (at most max, pointers
 * valid while the core lives). */
size_t lb_dns_names_of(struct lb_core *core, bool is_v4, const uint8_t *ip, const char **names,
		       size_t max);
/* Those of them the program asked the mediated resolver for (not the
 * names /etc/hosts gives every address it lists). */
size_t lb_dns_asked_names_of(struct lb_core *core, bool is_v4, const uint8_t *ip,
			     const char **names, size_t max);

#endif
