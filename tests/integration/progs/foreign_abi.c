/* System calls through the other ABIs of an x86_64 kernel: an x32 number
 * (nr | 0x40000000) and an i386 call through int 0x80, both getpid, then
 * the native getpid. Prints the raw results (negative: -errno). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	long x32 = syscall(SYS_getpid | 0x40000000L);
	if (x32 < 0)
		x32 = -errno;
	long i386 = 20; /* getpid in the i386 table */
	__asm__ volatile("int $0x80" : "+a"(i386) : : "r8", "r9", "r10", "r11", "memory");
	printf("x32 %ld\ni386 %ld\nnative %ld\n", x32, i386, (long)getpid());
	return 0;
}
