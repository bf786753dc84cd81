/* SPDX-License-Identifier: MIT */
/* Benchmark workload: N calls of getppid, a system call litebox never traps
 * (the kernel filter allows it). Prints the number of calls and whether every
 * call returned the same value (the value itself differs between runners) on
 * stdout, and the loop's own duration ("loop_ns N") on stderr. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	long first = syscall(SYS_getppid), same = 0;
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		same += syscall(SYS_getppid) == first;
	long long t1 = now_ns();
	printf("calls %ld consistent %s\n", n, same == n ? "yes" : "no");
	fprintf(stderr, "loop_ns %lld\n", t1 - t0);
	return 0;
}
