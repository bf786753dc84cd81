/* SPDX-License-Identifier: MIT */
/* Benchmark workload: a pure CPU loop (xorshift64), no system calls inside
 * the loop. Prints the final state (checked by the driver against the native
 * run) on stdout and the loop's own duration ("loop_ns N") on stderr. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 400000000L;
	uint64_t x = 88172645463325252ULL, acc = 0;
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		acc += x >> 60;
	}
	long long t1 = now_ns();
	printf("iterations %ld result %016llx %llu\n", n, (unsigned long long)x,
	       (unsigned long long)acc);
	fprintf(stderr, "loop_ns %lld\n", t1 - t0);
	return 0;
}
