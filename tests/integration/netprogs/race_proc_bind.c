/* Binds /proc/self/cwd/s.sock over and over while a second thread
 * replaces s.sock with a symlink to argv[1]: nothing done for the bind
 * may follow that symlink. Prints the mode of the first, unraced bind. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static atomic_int done;
static const char *victim;

static void *swapper(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		unlink("l");
		if (symlink(victim, "l") == 0)
			rename("l", "s.sock");
	}
	return NULL;
}

static int bind_once(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, "/proc/self/cwd/s.sock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int rc = bind(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	victim = argv[1];
	umask(077);
	struct stat st;
	if (bind_once() < 0 || lstat("s.sock", &st) < 0)
		return perror("bind"), 1;
	printf("mode=%o sock=%d\n", (unsigned)(st.st_mode & 07777), S_ISSOCK(st.st_mode));
	unlink("s.sock");
	pthread_t th;
	pthread_create(&th, NULL, swapper, NULL);
	int bound = 0;
	for (int i = 0; i < atoi(argv[2]); i++) {
		bound += bind_once() == 0;
		unlink("s.sock");
	}
	atomic_store(&done, 1);
	pthread_join(th, NULL);
	printf("bound=%d\n", bound);
	return 0;
}
