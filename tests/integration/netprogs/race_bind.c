/* Bind race: a thread keeps exchanging the directory d (where binding is
 * allowed) with a symlink to a directory where it is not, while the main
 * thread binds unix sockets to "d/sN". Afterwards the host counts the
 * socket files in each directory. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static atomic_int stop;

static void *flipper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		syscall(SYS_renameat2, AT_FDCWD, "d", AT_FDCWD, "x", RENAME_EXCHANGE);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int iters = atoi(argv[1]);
	pthread_t t;
	pthread_create(&t, NULL, flipper, NULL);
	int bound = 0;
	for (int i = 0; i < iters; i++) {
		struct sockaddr_un un = {.sun_family = AF_UNIX};
		snprintf(un.sun_path, sizeof(un.sun_path), "d/s%d", i);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(s, (struct sockaddr *)&un, sizeof(un)) == 0)
			bound++;
		close(s);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("bound=%d\n", bound);
	return 0;
}
