/* Sockaddr race: a thread keeps rewriting the port of the sockaddr between
 * an allowed and a denied listener while the main thread connects with it.
 * The listeners (outside the sandbox) count who was reached. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr;
static uint16_t ports[2];
static atomic_int stop;

static void *flipper(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !atomic_load(&stop); i++)
		*(volatile uint16_t *)&addr.sin_port = htons(ports[i & 1]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	ports[0] = (uint16_t)atoi(argv[1]);
	ports[1] = (uint16_t)atoi(argv[2]);
	int iters = atoi(argv[3]);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(ports[0]);
	pthread_t t;
	pthread_create(&t, NULL, flipper, NULL);
	int ok = 0;
	for (int i = 0; i < iters; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			ok++;
		close(s);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("connected=%d\n", ok);
	return 0;
}
