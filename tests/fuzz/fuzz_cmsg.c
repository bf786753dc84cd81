/* SPDX-License-Identifier: MIT */
/* libFuzzer: the control-message walker and the route-option classifier,
 * over a msg_control buffer as copied from the program. Every message it
 * reports lies inside the buffer, the walk ends, and classifying a
 * message reads only its own data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "litebox/net_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	struct lb_cmsg cm;
	size_t pos = 0, steps = 0;
	int rc;
	while ((rc = lb_cmsg_next(copy, size, &pos, &cm)) > 0) {
		if (cm.off + CMSG_LEN(0) > size || cm.data_off != cm.off + CMSG_LEN(0) ||
		    cm.data_off + cm.data_len > size)
			abort();
		if (pos <= cm.off || ++steps > size)
			abort(); /* the walk always moves forward */
		/* the data handed to the classifier is exactly this message's */
		uint8_t *own = malloc(cm.data_len ? cm.data_len : 1);
		if (!own)
			abort();
		memcpy(own, copy + cm.data_off, cm.data_len);
		(void)lb_route_cmsg(cm.level, cm.type, own, cm.data_len);
		free(own);
	}
	if (rc != 0 && rc != -22)
		abort();
	free(copy);
	return 0;
}
