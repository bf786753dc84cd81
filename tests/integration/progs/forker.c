/* Fork N children; child i opens and reads FILE, checks its content and
 * exits with status i + 1. The parent sums the statuses and prints the
 * sum, the expected sum and how many children read the file correctly. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: forker FILE N\n");
		return 2;
	}
	const char *file = argv[1];
	int n = atoi(argv[2]);
	char expect[4096];
	int fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror("open (parent)");
		return 2;
	}
	ssize_t elen = read(fd, expect, sizeof(expect));
	close(fd);
	if (elen <= 0)
		return 2;
	pid_t pids[256];
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 2;
		}
		if (pids[i] == 0) {
			char buf[4096];
			int cfd = open(file, O_RDONLY);
			if (cfd < 0)
				_exit(200);
			ssize_t r = read(cfd, buf, sizeof(buf));
			close(cfd);
			if (r != elen || memcmp(buf, expect, (size_t)r) != 0)
				_exit(201);
			_exit(i + 1);
		}
	}
	long sum = 0, expected = 0;
	int bad = 0;
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st)) {
			bad++;
			continue;
		}
		if (WEXITSTATUS(st) != i + 1)
			bad++;
		sum += WEXITSTATUS(st);
		expected += i + 1;
	}
	printf("children=%d sum=%ld expected=%ld bad=%d\n", n, sum, expected, bad);
	return bad ? 1 : 0;
}
