/* SPDX-License-Identifier: MIT */
/* The judgments of the filesystem calls that are more than "may this
 * class reach this path" (lb_judge_path in core.c): links and renames that
 * would launder a file, moves of judged subtrees, privileged attributes,
 * device nodes, listings with hidden entries, foreign unix sockets,
 * routing socket options. With core.c, the only
 * places that ask the policy; the handlers (fs_ops.c) ask these. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core_internal.h"
#include "litebox/util.h"

/* ---- extended attributes and device nodes ------------------------------------ */

static bool privileged_xattr(const char *name)
{
	return strncmp(name, "trusted.", 8) == 0 ||
	       (strncmp(name, "security.", 9) == 0 && strcmp(name, "security.selinux") != 0);
}

/* Drop the names of trusted.* attributes (the sandbox could not list them). */
ssize_t lb_xattr_list_visible(char *list, ssize_t n)
{
	ssize_t out = 0;
	for (ssize_t i = 0; i < n;) {
		size_t l = strnlen(list + i, (size_t)(n - i)) + 1;
		if (strncmp(list + i, "trusted.", 8) != 0) {
			memmove(list + out, list + i, l);
			out += (ssize_t)l;
		}
		i += (ssize_t)l;
	}
	return out;
}

/* trusted.* and security.* need CAP_SYS_ADMIN / CAP_SETFCAP /
 * CAP_MAC_ADMIN, which the sandbox does not have and the supervisor may:
 * answer as the kernel would answer the program. */
int lb_judge_xattr_name(enum lb_class cls, const char *name)
{
	if (privileged_xattr(name))
		return cls == LB_CLASS_READ ? -ENODATA : -EPERM;
	return 0;
}

/* The sandbox has no CAP_MKNOD, but the supervisor may: refuse devices as
 * the kernel would refuse them to the program. */
int lb_judge_mknod(mode_t mode)
{
	return S_ISCHR(mode) || S_ISBLK(mode) ? -EPERM : 0;
}

/* Device nodes are the host's, shared by everything on it (/dev/null):
 * their names and attributes are not the program's to change, whatever
 * the policy grants; it cannot make one either. A grant of write to a
 * device is a grant to write to the device. Timestamps stay (touch
 * /dev/null works natively for anyone who may write it). */
int lb_judge_node_change(struct lb_call *c, int dirfd, const char *name, int objfd,
			 const char *path)
{
	struct stat st;
	int rc = objfd >= 0 ? fstat(objfd, &st)
			    : fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
	if (rc < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
		return 0; /* absent: the host call answers as Linux would */
	return lb_refuse_boundary(c, LB_CLASS_WRITE, path, EPERM);
}

/* ---- links and renames -------------------------------------------------------- */

/* A hard link must not smuggle a file into a place that grants more than
 * its own path does: for every class the new name would grant, the old
 * path must be granted too. */
static bool grants(struct lb_call *c, enum lb_class cls, const char *path)
{
	struct lb_decision d;
	lb_policy_judge_path(c->core->cfg.policy, cls, path, &d);
	return d.verdict == LB_VERDICT_ALLOW || d.verdict == LB_VERDICT_AUDIT;
}

bool lb_judge_read_granted(struct lb_call *c, const char *path)
{
	return grants(c, LB_CLASS_READ, path);
}

int lb_judge_link_source(struct lb_call *c, const char *old, const char *new_path)
{
	static const enum lb_class classes[] = {LB_CLASS_READ, LB_CLASS_WRITE, LB_CLASS_EXEC};
	int prc = lb_judge_protected(c, LB_CLASS_WRITE, old); /* no new name for the log */
	if (prc < 0)
		return prc;
	for (size_t i = 0; i < LB_ARRAY_SIZE(classes); i++) {
		if (!grants(c, classes[i], new_path))
			continue;
		/* Exec at the new name gives nothing new when the program may
		 * read the file and write the new name: it could copy the bytes
		 * there itself (mv "$(mktemp)" ./x with exec only in $CWD). */
		if (classes[i] == LB_CLASS_EXEC && grants(c, LB_CLASS_READ, old) &&
		    grants(c, LB_CLASS_WRITE, new_path))
			continue;
		if (!grants(c, classes[i], old)) {
			int rc = lb_judge_path(c, classes[i], old); /* records the refusal */
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* True when from (or to, for an exchange) is a directory and some rule,
 * a prefix or a glob, could judge a path inside it differently at the new
 * place: the subtree's content would change rules with its path. EXDEV
 * makes mv fall back to copy + delete, each file then judged on its own. */
bool lb_judge_moves_subtree(struct lb_call *c, const struct lb_resolved *from,
			    const struct lb_resolved *to, unsigned flags)
{
	struct stat st;
	bool from_dir =
	    fstatat(from->dirfd, from->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
	bool to_dir = (flags & RENAME_EXCHANGE) &&
		      fstatat(to->dirfd, to->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		      S_ISDIR(st.st_mode);
	if (!from_dir && !to_dir)
		return false;
	return lb_policy_subtrees_differ(c->core->cfg.policy, from->path, to->path);
}

/* ---- listings ---------------------------------------------------------------- */

bool lb_listing_filtered(struct lb_call *c, const char *dir)
{
	return lb_policy_hides_below(c->core->cfg.policy, dir);
}

bool lb_listing_hides(struct lb_call *c, const char *dir, const char *name)
{
	char full[PATH_MAX * 2];
	snprintf(full, sizeof(full), "%s/%s", strcmp(dir, "/") ? dir : "", name);
	struct lb_decision dec;
	lb_policy_judge_path(c->core->cfg.policy, LB_CLASS_STAT, full, &dec);
	return dec.verdict == LB_VERDICT_HIDE;
}

/* ---- sockets -------------------------------------------------------------------- */

/* A unix socket litebox did not see the sandbox bind is reached only
 * where a rule names its path exactly. */
bool lb_judge_names_unix(struct lb_call *c, enum lb_class cls, const char *path)
{
	return lb_policy_names_unix(c->core->cfg.policy, cls, path);
}

/* `allow syscall setsockopt` lifts the refusal of the routing options. */
bool lb_routing_sockopts_allowed(struct lb_call *c)
{
	return lb_policy_allows_dangerous(c->core->cfg.policy, "setsockopt");
}
