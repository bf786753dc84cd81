/* SIGSYS that is the program's own business, beside litebox's refusal of
 * foreign-ABI calls (which the ptrace platform receives as a SIGSYS of its
 * filter):
 *   own-trap   the program's own filter traps getppid with data 0x42; its
 *              handler must see that SIGSYS as natively (data, number)
 *   ignored    SIGSYS ignored, then an i386 getpid through int 0x80: the
 *              program goes on, and the call has an answer
 *   kill       SIGSYS sent to itself with kill(): the handler runs
 * Prints one line per check. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t got_code, got_errno, got_nr, hits;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_code = si->si_code;
	got_errno = si->si_errno;
	got_nr = si->si_syscall;
	hits++;
}

static void catch_sigsys(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
}

static int own_trap(void)
{
	catch_sigsys();
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | 0x42),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		printf("own_trap filter-failed errno=%d\n", errno);
		return 1;
	}
	long r = syscall(SYS_getppid);
	printf("own_trap hits=%d code=%d data=0x%x nr=%d ret=%ld\n", (int)hits, (int)got_code,
	       (unsigned)got_errno, (int)got_nr, r);
	return 0;
}

static int ignored(void)
{
	signal(SIGSYS, SIG_IGN);
	long r = 20; /* getpid in the i386 table */
	__asm__ volatile("int $0x80" : "+a"(r) : : "r8", "r9", "r10", "r11", "memory");
	printf("ignored alive ret_is_pid=%d ret_negative=%d\n", r == getpid(), r < 0);
	return 0;
}

static int by_kill(void)
{
	catch_sigsys();
	kill(getpid(), SIGSYS);
	printf("kill hits=%d code_is_user=%d\n", (int)hits, got_code == SI_USER);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "own-trap") == 0)
		return own_trap();
	if (argc == 2 && strcmp(argv[1], "ignored") == 0)
		return ignored();
	if (argc == 2 && strcmp(argv[1], "kill") == 0)
		return by_kill();
	fprintf(stderr, "usage: sigsys own-trap|ignored|kill\n");
	return 2;
}
