/* Pointer race: a second thread keeps rewriting the path buffer between an
 * allowed file and a denied one while the main thread opens it. Prints how
 * often the denied file's content was read (must be 0) and how often the
 * allowed one was (the positive control). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tally.h"

static char buf[512];
static const char *paths[2];
static atomic_int stop;

static void *flipper(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !atomic_load(&stop); i++)
		strcpy(buf, paths[i & 1]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	paths[0] = argv[1];
	paths[1] = argv[2];
	int iters = atoi(argv[3]);
	strcpy(buf, paths[0]);
	pthread_t t;
	pthread_create(&t, NULL, flipper, NULL);
	struct tally seen = {0};
	for (int i = 0; i < iters; i++)
		tally_open(&seen, buf);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("leaks=%d ok=%d\n", seen.leaks, seen.oks);
	return 0;
}
