/* SPDX-License-Identifier: MIT */
/* Benchmark workload: open + fstat + close of N files DIR/fNNNNN (created by
 * tests/bench/run.py). Prints the number of files and the sum of their sizes,
 * which the driver compares against the native run; the loop's own duration
 * ("loop_ns N") goes to stderr. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR N\n", argv[0]);
		return 2;
	}
	long n = atol(argv[2]);
	long long total = 0;
	char path[4096];
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%05ld", argv[1], i);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		struct stat st;
		if (fstat(fd, &st) != 0) {
			perror("fstat");
			return 1;
		}
		total += st.st_size;
		close(fd);
	}
	long long t1 = now_ns();
	printf("files %ld bytes %lld\n", n, total);
	fprintf(stderr, "loop_ns %lld\n", t1 - t0);
	return 0;
}
