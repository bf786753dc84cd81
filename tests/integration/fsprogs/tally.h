/* Shared by the race programs: open a path, read its first bytes and count
 * what was reached ("SECRET..." is a leak, "OK..." the positive control). */
#ifndef LB_TALLY_H
#define LB_TALLY_H

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

struct tally {
	int leaks, oks;
};

static inline void tally_open(struct tally *t, const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	char data[16] = {0};
	if (read(fd, data, sizeof(data) - 1) > 0) {
		if (strncmp(data, "SECRET", 6) == 0)
			t->leaks++;
		else if (strncmp(data, "OK", 2) == 0)
			t->oks++;
	}
	close(fd);
}

#endif
