/* SPDX-License-Identifier: MIT */
/* --overlay DIR: the program's changes to files land in DIR, never on the
 * host. Init builds the sandbox's file tree from overlayfs mounts (one
 * upper/work pair per overlaid host directory, DIR/layers/ID) and pivots
 * into it; `litebox overlay diff|apply` read DIR afterwards. Layout and
 * design: docs/audit.md. */
#ifndef LITEBOX_OVERLAY_H
#define LITEBOX_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct lb_overlay;

/* The supervisor's side, before the launch: DIR created if absent (it must
 * be empty or an overlay directory), its layout made. err gets the reason. */
int lb_overlay_open(const char *dir, struct lb_overlay **out, char *err, size_t errlen);
void lb_overlay_free(struct lb_overlay *o);
const char *lb_overlay_dir(const struct lb_overlay *o);

/* Init's side, in its own mount namespace with CAP_SYS_ADMIN there:
 * mount the overlays and pivot into them. -errno; the reason is then
 * in lb_overlay_error(). */
int lb_overlay_enter(const struct lb_overlay *o);
const char *lb_overlay_error(const struct lb_overlay *o);

/* After the run: remember the host's state of every path the run
 * changed (what `apply` checks the host against). */
int lb_overlay_record(const char *dir);

/* A name as every overlay file and report writes it, one line each and
 * nothing a terminal acts on: control characters, backslashes, bytes that
 * are not UTF-8, C1 controls, bidirectional overrides and the bytes of
 * also (" " in DIR's space-separated files) as \ooo, a byte each. */
void lb_overlay_put_name(FILE *f, const char *s, const char *also);

/* ---- diff and apply ------------------------------------------------------ */

enum lb_ovl_kind {
	LB_OVL_DELETED,
	LB_OVL_ADDED,
	LB_OVL_MODIFIED, /* contents: bytes, a symlink's target, a device number */
	LB_OVL_MODE,
	LB_OVL_OWNER,
	LB_OVL_TIMES,
	LB_OVL_XATTRS,
};

struct lb_ovl_change {
	enum lb_ovl_kind kind;
	char *path;  /* on the host */
	char *upper; /* the new object in DIR (NULL for a deletion) */
	mode_t old_mode, new_mode;
	uid_t old_uid, new_uid;
	gid_t old_gid, new_gid;
};

struct lb_ovl_diff {
	struct lb_ovl_change *v;
	size_t n;
	char prefix[24]; /* overlayfs's own xattrs in DIR's layers ("trusted.overlay.") */
};

/* The changes in DIR, sorted by host path (deletions of a tree list every
 * path in it). */
int lb_overlay_diff(const char *dir, struct lb_ovl_diff *out, char *err, size_t errlen);
void lb_overlay_diff_free(struct lb_ovl_diff *d);
const char *lb_ovl_kind_name(enum lb_ovl_kind k);

/* Make the changes on the host, all or nothing. Refuses (-EBUSY,
 * conflicts described in err, up to errlen) when a host path changed
 * since the run; -EAGAIN when a change failed, or a host object changed
 * after that check (err names it), and every change before it was undone
 * (err says which and why). Either way the host is unchanged. *applied:
 * how many changes (as `overlay diff` lists them) were made. */
int lb_overlay_apply(const char *dir, size_t *applied, char *err, size_t errlen);

/* Where the object a run made at host path lives in DIR (malloc'd), or
 * NULL when no run made it (or deleted it). */
char *lb_overlay_find(const char *dir, const char *path);

/* rm -rf that also enters directories without write permission. */
int lb_overlay_remove_tree(const char *path);

#endif
