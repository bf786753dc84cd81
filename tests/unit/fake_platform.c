/* SPDX-License-Identifier: MIT */
#include "fake_platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct fake_target *target_of(struct lb_trap *t)
{
	return t->priv;
}

/* The buffer span [addr, addr + len), or NULL (a fault). */
static uint8_t *span(struct fake_target *ft, uint64_t addr, size_t len)
{
	if (addr < FAKE_MEM_BASE || addr - FAKE_MEM_BASE > FAKE_MEM_SIZE ||
	    len > FAKE_MEM_SIZE - (addr - FAKE_MEM_BASE))
		return NULL;
	return ft->mem + (addr - FAKE_MEM_BASE);
}

static int fake_read_mem(struct lb_trap *t, uint64_t addr, void *buf, size_t len)
{
	uint8_t *p = span(target_of(t), addr, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

static int fake_read_str(struct lb_trap *t, uint64_t addr, char *buf, size_t cap)
{
	struct fake_target *ft = target_of(t);
	for (size_t i = 0; i < cap; i++) {
		uint8_t *p = span(ft, addr + i, 1);
		if (!p)
			return -EFAULT;
		buf[i] = (char)*p;
		if (!*p)
			return 0;
	}
	return -ENAMETOOLONG;
}

static int fake_write_mem(struct lb_trap *t, uint64_t addr, const void *buf, size_t len)
{
	uint8_t *p = span(target_of(t), addr, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

/* pidfd_getfd of our own fd: a duplicate. */
static int fake_get_fd(struct lb_trap *t, int target_fd)
{
	(void)t;
	int fd = fcntl(target_fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static int fake_still_valid(struct lb_trap *t)
{
	(void)t;
	return 0;
}

static int fake_reply(struct lb_trap *t, enum lb_reply_kind kind, int64_t value, int fd,
		      bool cloexec)
{
	struct fake_target *ft = target_of(t);
	struct fake_answer *a = &ft->answer;
	a->n++;
	a->kind = kind;
	a->value = value;
	a->cloexec = cloexec;
	if (kind == LB_REPLY_FD) {
		/* ADDFD with SEND: the lowest free number, the result of the call */
		int nfd = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
		a->value = nfd < 0 ? -errno : nfd;
		close(fd); /* the platform takes the fd */
		if (t->delivery)
			t->delivery->done(t->delivery, nfd < 0 ? (int)a->value : 0);
	}
	return 0;
}

const struct lb_platform_ops fake_platform = {
    .name = "fake",
    .read_mem = fake_read_mem,
    .read_str = fake_read_str,
    .write_mem = fake_write_mem,
    .get_fd = fake_get_fd,
    .still_valid = fake_still_valid,
    .reply = fake_reply,
};

void fake_init(struct fake_target *ft)
{
	memset(ft, 0, sizeof(*ft));
	ft->mem = calloc(1, FAKE_MEM_SIZE);
	ft->tid = gettid();
}

void fake_fini(struct fake_target *ft)
{
	free(ft->mem);
	ft->mem = NULL;
}

uint64_t fake_alloc(struct fake_target *ft, size_t len)
{
	size_t at = (ft->top + 15) & ~(size_t)15;
	if (!ft->mem || len > FAKE_MEM_SIZE - at)
		abort();
	memset(ft->mem + at, 0, len);
	ft->top = at + len;
	return FAKE_MEM_BASE + at;
}

uint64_t fake_put(struct fake_target *ft, const void *data, size_t len)
{
	uint64_t addr = fake_alloc(ft, len);
	memcpy(fake_ptr(ft, addr), data, len);
	return addr;
}

uint64_t fake_put_str(struct fake_target *ft, const char *s)
{
	return fake_put(ft, s, strlen(s) + 1);
}

void *fake_ptr(struct fake_target *ft, uint64_t addr)
{
	return span(ft, addr, 0);
}

struct fake_answer fake_call_n(struct lb_core *core, struct fake_target *ft, int nr,
			       const uint64_t args[6])
{
	static uint64_t id;
	struct lb_trap t = {.id = ++id, .pid = ft->tid, .nr = nr, .priv = ft};
	memcpy(t.args, args, sizeof(t.args));
	ft->answer = (struct fake_answer){0};
	lb_core_handle(core, &t);
	return ft->answer;
}

struct fake_answer fake_call(struct lb_core *core, struct fake_target *ft, int nr, uint64_t a0,
			     uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	const uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
	return fake_call_n(core, ft, nr, args);
}
