/* SPDX-License-Identifier: MIT */
/* What a trapped call is answered with. Handlers return an answer; the
 * dispatcher (lb_core_handle) is the one place that replies, through the
 * platform, exactly once. Pure data: the south (host_*.c) builds answers
 * without knowing the policy. */
#ifndef LITEBOX_ANSWER_H
#define LITEBOX_ANSWER_H

#include <stdbool.h>
#include <stdint.h>

enum lb_answer_kind {
	LB_ANS_VALUE,	 /* the call's result */
	LB_ANS_ERROR,	 /* a positive errno */
	LB_ANS_FD,	 /* install fd in the target; the number is the result */
	LB_ANS_CONTINUE, /* let the kernel run the call as the program made it */
};

struct lb_answer {
	enum lb_answer_kind kind;
	int64_t value;
	int err;
	int fd;		 /* owned by the answer: closed once replied */
	bool cloexec;	 /* the installed fd's close-on-exec flag */
	const char *why; /* CONTINUE: why letting the kernel redo it is safe */
};

static inline struct lb_answer lb_ans_value(int64_t v)
{
	return (struct lb_answer){.kind = LB_ANS_VALUE, .value = v, .fd = -1};
}

static inline struct lb_answer lb_ans_errno(int err)
{
	return (struct lb_answer){.kind = LB_ANS_ERROR, .err = err < 0 ? -err : err, .fd = -1};
}

/* A host call's outcome: -errno, or the value. */
static inline struct lb_answer lb_ans_rc(int64_t rc)
{
	return rc < 0 ? lb_ans_errno((int)-rc) : lb_ans_value(rc);
}

/* Takes ownership of fd; a negative fd is that -errno. */
static inline struct lb_answer lb_ans_fd(int fd, bool cloexec)
{
	if (fd < 0)
		return lb_ans_errno(-fd);
	return (struct lb_answer){.kind = LB_ANS_FD, .fd = fd, .cloexec = cloexec};
}

static inline struct lb_answer lb_ans_continue(const char *why)
{
	return (struct lb_answer){.kind = LB_ANS_CONTINUE, .fd = -1, .why = why};
}

#endif
