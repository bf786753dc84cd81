/* Ways to close descriptor argv[1] (the ptrace platform's hidden socket)
 * that the kernel reads differently from a 64-bit comparison: close_range
 * with garbage in the upper half of its first argument, and FIOCLEX before
 * an exec, and a range below it that a 64-bit comparison takes for one
 * over it. Each is also made on an fd of our own (the control), then a
 * file is opened, here and after exec. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void cat(const char *tag, const char *path)
{
	char line[64] = "failed\n";
	FILE *f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f))
		snprintf(line, sizeof(line), "failed\n");
	printf("%s %s", tag, line);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	(void)argc;
	int h = atoi(argv[1]);
	int own = open("/dev/null", O_RDONLY);
	syscall(SYS_close_range, 0x100000000UL | (unsigned)own, 0xffffffffUL, 0);
	printf("own-closed %s\n", fcntl(own, F_GETFD) < 0 ? "yes" : "no");
	cat("after-close_range", argv[2]);
	/* a range below the hidden fd whose last bound has garbage above: the
	 * kernel closes only [a, a]; b stays open */
	int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
	syscall(SYS_close_range, (unsigned)a, 0x100000000UL | (unsigned)a, 0);
	printf("only-a-closed %s\n",
	       fcntl(a, F_GETFD) < 0 && fcntl(b, F_GETFD) >= 0 ? "yes" : "no");
	close(b);
	own = open("/dev/null", O_RDONLY);
	ioctl(own, FIOCLEX);
	printf("own-cloexec %s\n", fcntl(own, F_GETFD) == FD_CLOEXEC ? "yes" : "no");
	ioctl(h, FIOCLEX);
	fflush(stdout);
	execl("/bin/sh", "sh", "-c", "echo after-exec $(cat \"$0\")", argv[2], (char *)NULL);
	return 1;
}
