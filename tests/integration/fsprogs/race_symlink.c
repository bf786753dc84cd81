/* Symlink race: a thread keeps swapping DIR/link (atomically, by rename)
 * between a symlink to an allowed file and one to a denied file while the
 * main thread opens DIR/link. Prints leaks (must be 0) and oks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tally.h"

static const char *dir, *targets[2];
static atomic_int stop;

static void *swapper(void *arg)
{
	(void)arg;
	char tmp[4096], link[4096];
	snprintf(link, sizeof(link), "%s/link", dir);
	for (unsigned i = 0; !atomic_load(&stop); i++) {
		snprintf(tmp, sizeof(tmp), "%s/tmp%u", dir, i & 1);
		unlink(tmp);
		if (symlink(targets[i & 1], tmp) == 0)
			rename(tmp, link);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	dir = argv[1];
	targets[0] = argv[2];
	targets[1] = argv[3];
	int iters = atoi(argv[4]);
	char link[4096];
	snprintf(link, sizeof(link), "%s/link", dir);
	symlink(targets[0], link);
	pthread_t t;
	pthread_create(&t, NULL, swapper, NULL);
	struct tally seen = {0};
	for (int i = 0; i < iters; i++)
		tally_open(&seen, link);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("leaks=%d ok=%d\n", seen.leaks, seen.oks);
	return 0;
}
