/* SPDX-License-Identifier: MIT */
/* Micro-benchmark: cost per call of
 *   getppid  - a syscall litebox never traps (settled by the BPF filter),
 *   umask    - trapped and answered CONTINUE: the bare notification round trip,
 *   fstat    - newfstatat(fd, "", AT_EMPTY_PATH): trapped and emulated,
 *   stat_path - stat of an absolute path: resolved, judged, emulated,
 *   lstat_rel - lstat of a name relative to the cwd (what git status does),
 *   open     - openat + close of /dev/null: resolved, judged, opened, ADDFD.
 *   connect_udp - connect of a UDP socket to 127.0.0.1:9: judged, connected
 *              (no packet is sent).
 * Run it natively and under `litebox run` (see docs/benchmarks.md). Prints
 * one line per operation: NAME ns_per_call (median of 7 batches).
 * Usage: roundtrip [N [OP]]: N calls per batch (default 20000); OP runs
 * only that operation (for profiling one kind of call). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BATCHES 7

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void op_getppid(void)
{
	syscall(SYS_getppid);
}

static void op_umask(void)
{
	syscall(SYS_umask, 022);
}

static int devnull = -1;
static void op_fstat(void)
{
	struct stat st;
	fstatat(devnull, "", &st, AT_EMPTY_PATH);
}

static void op_stat_path(void)
{
	struct stat st;
	stat("/usr/lib/x86_64-linux-gnu/libc.so.6", &st);
}

static void op_lstat_rel(void)
{
	struct stat st;
	lstat("libc.so.6", &st);
}

static void op_open(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
}

static int udp = -1;
static void op_connect_udp(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(udp, (struct sockaddr *)&a, sizeof(a));
}

static double measure(void (*op)(void), long n)
{
	double per[BATCHES];
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++)
			op();
		per[b] = (now_ns() - t0) / (double)n;
	}
	qsort(per, BATCHES, sizeof(per[0]), cmp_double);
	return per[BATCHES / 2];
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	if (n <= 0)
		n = 20000;
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (chdir("/usr/lib/x86_64-linux-gnu") != 0)
		perror("chdir");
	static const struct {
		const char *name;
		void (*op)(void);
		long scale; /* fewer iterations for slow ops */
	} ops[] = {
	    {"getppid", op_getppid, 10},
	    {"umask", op_umask, 1},
	    {"fstat", op_fstat, 1},
	    {"stat_path", op_stat_path, 1},
	    {"lstat_rel", op_lstat_rel, 1},
	    {"open_close", op_open, 1},
	    {"connect_udp", op_connect_udp, 1},
	};
	const char *only = argc > 2 ? argv[2] : NULL;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!only || strcmp(only, ops[i].name) == 0)
			printf("%-12s %10.1f ns\n", ops[i].name,
			       measure(ops[i].op, n * ops[i].scale));
	return 0;
}
