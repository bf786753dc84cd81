/* Every way to read, receive on or duplicate descriptor argv[1] (the
 * ptrace platform's hidden socket), while a child keeps the supervisor
 * sending it fds; then the same calls on a socketpair of our own (the
 * positive control), then an open that must still be answered. Prints one
 * line per call: its name and "ok" or the errno name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s %s\n", what, r >= 0 ? "ok" : strerrorname_np(errno));
}

static long recv_fd(int h)
{
	char buf[8];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} c;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b)};
	return recvmsg(h, &m, MSG_DONTWAIT);
}

static long send_fd(int sock, int fd)
{
	char byte = 'x';
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} c = {0};
	struct iovec iov = {&byte, 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, MSG_DONTWAIT);
}

/* Each call once; recvmsg `tries` times (the race with the opener). */
static void attempt(const char *tag, int h, int relay, int tries)
{
	char buf[8], name[64];
	struct iovec iov = {buf, sizeof(buf)};
	long got = -1;
	int err = 0;
	for (int i = 0; i < tries && got < 0; i++) {
		got = recv_fd(h);
		err = errno;
	}
	errno = err;
	snprintf(name, sizeof(name), "%s recvmsg", tag);
	say(name, got);
#define TRY(what, call)                                                                            \
	do {                                                                                       \
		snprintf(name, sizeof(name), "%s %s", tag, what);                                  \
		say(name, (call));                                                                 \
	} while (0)
	TRY("recv-peek", recv(h, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	TRY("read", read(h, buf, 0));
	TRY("readv", readv(h, &iov, 0));
	TRY("dup", dup(h));
	TRY("F_DUPFD", fcntl(h, F_DUPFD, 0));
	TRY("F_DUPFD_CLOEXEC", fcntl(h, F_DUPFD_CLOEXEC, 0));
	TRY("high-bits-dup", syscall(SYS_dup, 0xabcd00000000UL | (unsigned)h));
	TRY("dup2", dup2(h, 200));
	TRY("dup3", dup3(h, 201, 0));
	TRY("high-bits-dup2", syscall(SYS_dup2, 0xabcd00000000UL | (unsigned)h, 202));
	long pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	TRY("pidfd_getfd", pidfd < 0 ? pidfd : syscall(SYS_pidfd_getfd, pidfd, h, 0));
	TRY("scm_rights", send_fd(relay, h));
	/* reconfiguring or querying it: SO_PASSCRED made every process's fd
	 * answers overflow, SO_PEERCRED named litebox (attack review 6) */
	int one = 1;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	TRY("setsockopt", setsockopt(h, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)));
	TRY("getsockopt", getsockopt(h, SOL_SOCKET, SO_PEERCRED, &cred, &len));
	TRY("getsockname", getsockname(h, (struct sockaddr *)&sa, &salen));
	TRY("F_GETFL", fcntl(h, F_GETFL));
}

int main(int argc, char **argv)
{
	int h = atoi(argv[1]);
	pid_t opener = fork();
	if (opener == 0) {
		for (;;) {
			int fd = open(argv[2], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
	}
	int relay[2], own[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, relay) < 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, own) < 0)
		return 2;
	attempt("hidden", h, relay[0], 2000);
	kill(opener, SIGKILL);
	waitpid(opener, NULL, 0);
	/* control: a message with an fd waits on our own socket */
	for (int i = 0; i < 2; i++)
		send_fd(own[0], 0);
	send(own[0], "x", 1, 0);
	attempt("own", own[1], relay[0], 1);
	char line[64] = "";
	FILE *f = fopen(argv[2], "r");
	printf("open %s\n", f && fgets(line, sizeof(line), f) ? line : "failed\n");
	return 0;
}
