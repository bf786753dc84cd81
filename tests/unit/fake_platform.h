/* SPDX-License-Identifier: MIT */
/* A platform for unit tests: the "target" is this test process itself.
 * Its memory is a buffer (addresses outside it fault, EFAULT), its fds and
 * cwd are the test process's own (the core finds them through
 * /proc/TID/...), and answers are recorded instead of sent. An fd answer
 * is installed in the test process as the kernel would install it in the
 * target (lowest free number), so a test can read from it. */
#ifndef LITEBOX_FAKE_PLATFORM_H
#define LITEBOX_FAKE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "litebox/core.h"
#include "litebox/platform.h"

#define FAKE_MEM_SIZE (1u << 20)
#define FAKE_MEM_BASE 0x7f0000000000ull

struct fake_answer {
	int n; /* how many answers the call produced (exactly 1 is right) */
	enum lb_reply_kind kind;
	int64_t value; /* VALUE: the result; ERROR: -errno; FD: the installed fd */
	bool cloexec;
};

struct fake_target {
	uint8_t *mem; /* FAKE_MEM_SIZE bytes at FAKE_MEM_BASE */
	size_t top;
	pid_t tid;
	struct fake_answer answer;
};

extern const struct lb_platform_ops fake_platform;

void fake_init(struct fake_target *ft);
void fake_fini(struct fake_target *ft);
/* Copy into target memory; returns the target address. */
uint64_t fake_put(struct fake_target *ft, const void *data, size_t len);
uint64_t fake_put_str(struct fake_target *ft, const char *s);
/* Zeroed target memory for results; returns the target address. */
uint64_t fake_alloc(struct fake_target *ft, size_t len);
/* Where a target address lives in the test process (to check results). */
void *fake_ptr(struct fake_target *ft, uint64_t addr);

/* Trap nr with these registers and let the core answer it. */
struct fake_answer fake_call(struct lb_core *core, struct fake_target *ft, int nr, uint64_t a0,
			     uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
#define FAKE_CALL(core, ft, nr, ...) fake_call_n(core, ft, nr, (uint64_t[6]){__VA_ARGS__})
struct fake_answer fake_call_n(struct lb_core *core, struct fake_target *ft, int nr,
			       const uint64_t args[6]);

#endif
