/* N threads; thread i creates DIR/t<i>.txt, writes its lines, reopens
 * the file, reads it back and checks it, then appends a final line. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *dir;
static int ok[64];

static void *worker(void *arg)
{
	int i = (int)(long)arg;
	char path[4096], text[256], back[256];
	snprintf(path, sizeof(path), "%s/t%d.txt", dir, i);
	int len = snprintf(text, sizeof(text), "thread %d line %d\n", i, i * i);
	for (int round = 0; round < 20; round++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, text, (size_t)len) != len)
			return NULL;
		close(fd);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return NULL;
		ssize_t r = read(fd, back, sizeof(back));
		close(fd);
		if (r != len || memcmp(back, text, (size_t)len) != 0)
			return NULL;
	}
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		return NULL;
	char fin[64];
	int fl = snprintf(fin, sizeof(fin), "done %d\n", i);
	if (write(fd, fin, (size_t)fl) != fl)
		return NULL;
	close(fd);
	ok[i] = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	dir = argv[1];
	int n = atoi(argv[2]);
	if (n > 64)
		return 2;
	pthread_t t[64];
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(long)i) != 0)
			return 2;
	int good = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		good += ok[i];
	}
	printf("threads=%d ok=%d\n", n, good);
	return good == n ? 0 : 1;
}
