/* 4 processes x 8 threads, each stat()ing argv[1] N times: exactly
 * 4 * 8 * N judged accesses of that path. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *path;
static int per_thread;

static void *worker(void *arg)
{
	(void)arg;
	struct stat st;
	for (int i = 0; i < per_thread; i++)
		stat(path, &st);
	return NULL;
}

static void process(void)
{
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	path = argv[1];
	per_thread = atoi(argv[2]);
	for (int p = 0; p < 4; p++) {
		if (fork() == 0) {
			process();
			_exit(0);
		}
	}
	int st, ok = 0;
	while (wait(&st) > 0)
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("processes=%d\n", ok);
	return ok == 4 ? 0 : 1;
}
