/* A small program for the compile tests: deterministic output. */
#include <stdio.h>

static unsigned long fib(unsigned n)
{
	unsigned long a = 0, b = 1;
	while (n--) {
		unsigned long t = a + b;
		a = b;
		b = t;
	}
	return a;
}

int main(int argc, char **argv)
{
	for (unsigned i = 0; i < 40; i += 7)
		printf("fib(%u) = %lu\n", i, fib(i));
	printf("argc=%d last=%s\n", argc, argv[argc - 1]);
	return 0;
}
