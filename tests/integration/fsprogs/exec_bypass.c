/* Ways to execute a file without naming it: memfd + fexecve, execveat on
 * an O_PATH fd, exec through /proc/self/fd/N. argv[1] is a file the policy
 * does not let the program execute; argv[2] an allowed one (control).
 * Each attempt runs in a child; prints one line per attempt: NAME ran|refused. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void attempt(const char *name, int how, const char *file)
{
	pid_t p = fork();
	if (p == 0) {
		char *argv[] = {(char *)file, NULL};
		int fd;
		char path[64];
		switch (how) {
		case 0: /* memfd copy */
			fd = (int)syscall(SYS_memfd_create, "x", 0);
			{
				int src = open(file, O_RDONLY);
				struct stat st;
				fstat(src, &st);
				sendfile(fd, src, NULL, (size_t)st.st_size);
			}
			fexecve(fd, argv, environ);
			break;
		case 1: /* execveat on O_PATH fd */
			fd = open(file, O_PATH);
			syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
			break;
		case 2: /* /proc/self/fd/N */
			fd = open(file, O_PATH);
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			execve(path, argv, environ);
			break;
		case 3: /* plainly */
			execve(file, argv, environ);
			break;
		}
		_exit(99);
	}
	int st;
	waitpid(p, &st, 0);
	printf("%s %s\n", name, WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ran" : "refused");
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	attempt("control", 3, argv[2]);
	attempt("plain", 3, argv[1]);
	attempt("memfd", 0, argv[1]);
	attempt("execveat_opath", 1, argv[1]);
	attempt("proc_self_fd", 2, argv[1]);
	return 0;
}
