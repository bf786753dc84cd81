/* SPDX-License-Identifier: MIT */
/* libFuzzer: the sockaddr decoder. The first byte picks the socket's
 * family and the operation, the rest is the sockaddr as copied from the
 * program (at most sizeof(struct sockaddr_storage), as the supervisor
 * copies). Decoding never reads past the copy, and what it reports stays
 * inside it: a unix path is NUL-terminated within sun_path, an abstract
 * name lies within the bytes given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "litebox/net_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int domains[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
	if (size < 1)
		return 0;
	int domain = domains[data[0] & 3];
	bool for_connect = data[0] & 4;
	size_t len = size - 1;
	if (len > sizeof(struct sockaddr_storage))
		len = sizeof(struct sockaddr_storage);
	/* an exact-size heap copy, so ASan sees any read past it */
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, data + 1, len);
	struct lb_sa sa;
	int rc = lb_sockaddr_decode(copy, len, domain, for_connect, &sa);
	if (rc == 0 && sa.form == LB_SA_UNIX_PATH) {
		size_t n = strnlen(sa.path, sizeof(sa.path));
		if (n == 0 || n > LB_UNIX_PATH_MAX)
			abort();
	}
	if (rc == 0 && sa.form == LB_SA_UNIX_ABSTRACT) {
		if (sa.abstract < copy || sa.abstract + sa.abstract_len > copy + len)
			abort();
		volatile uint8_t sum = 0;
		for (size_t i = 0; i < sa.abstract_len; i++)
			sum ^= sa.abstract[i];
	}
	if (rc != 0 && rc != -22 && rc != -97) /* EINVAL, EAFNOSUPPORT */
		abort();
	free(copy);
	return 0;
}
