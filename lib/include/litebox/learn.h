/* SPDX-License-Identifier: MIT */
/* From observed accesses to the smallest readable policy that allows them
 * (`litebox learn`, `litebox policy generate`). */
#ifndef LITEBOX_LEARN_H
#define LITEBOX_LEARN_H

#include <stddef.h>

#include "litebox/policy.h"

struct lb_learn;

/* vars: the $CWD, $HOME, $TMPDIR to substitute back into paths. */
int lb_learn_new(const struct lb_policy_vars *vars, struct lb_learn **out);
void lb_learn_free(struct lb_learn *l);

/* Learn on top of a base policy (a profile name or an absolute path): the
 * policy starts with `include BASE`, and only accesses the base refused
 * (would-deny) become rules. */
int lb_learn_set_base(struct lb_learn *l, const char *base);
/* The learned policy replaces its own base (learn -p F -o F): it carries
 * the base's text (as litebox read it) instead of `include F`, which
 * would include itself. */
int lb_learn_set_base_text(struct lb_learn *l, const char *text);

/* One observed access: class and object as in the audit log ("tcp
 * 127.0.0.1:5432" for sockets, a syscall name for the syscall class).
 * verdict is the audit log's word; implicit grants and refused dangerous
 * syscalls are not turned into rules. Thread-safe. */
int lb_learn_add(struct lb_learn *l, enum lb_class cls, const char *object, const char *verdict,
		 const char *rule);

/* The same for a connect to an address the program resolved through the
 * mediated DNS (names: the host names it asked for that resolved to it):
 * the rule names the host and port ("tcp pypi.org:443"), not the address.
 * With no names, as lb_learn_add. */
int lb_learn_add_names(struct lb_learn *l, enum lb_class cls, const char *object,
		       const char *const *names, size_t n_names, const char *verdict,
		       const char *rule);

/* One line of a JSON Lines audit log. Returns 0 (also for lines that are
 * not access records, such as the exit summary), -EINVAL for a line that
 * is not JSON. */
int lb_learn_add_json(struct lb_learn *l, const char *line);

/* The policy text (malloc'd), each rule with a comment saying how many
 * accesses it covers. */
char *lb_learn_policy(struct lb_learn *l, const char *source_note);

#endif
