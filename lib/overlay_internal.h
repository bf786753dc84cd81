/* SPDX-License-Identifier: MIT */
/* What lib/overlay.c, lib/overlay_diff.c and lib/overlay_apply.c share:
 * DIR's manifest, names in it, walking the layers. */
#ifndef LITEBOX_OVERLAY_INTERNAL_H
#define LITEBOX_OVERLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define LB_OVL_MAGIC "litebox-overlay 1"
/* The extended attribute litebox marks a DIR it made with (no program may
 * set a name with this prefix: lib/fs_ops.c): `overlay apply` and a run
 * reusing DIR trust only a DIR so marked. */
#define LB_OVL_MARK_PREFIX "user.litebox."
#define LB_OVL_MARK "user.litebox.overlay"

struct lb_ovl_layer {
	unsigned id;
	char *host; /* the host directory this layer's upper overlays */
};

struct lb_ovl_manifest {
	struct lb_ovl_layer *v;
	size_t n;
	unsigned next_id;
	/* where overlayfs keeps its own xattrs in the layers ("trusted" as
	 * root, "user" in a user namespace); only that namespace's overlay.*
	 * mean anything to diff and apply, the other is the program's */
	char xattr_ns[8];
};

/* The overlay.* prefix of DIR's layers, e.g. "trusted.overlay.". */
const char *lb_ovl_private_prefix(const struct lb_ovl_manifest *m);

int lb_ovl_manifest_load(const char *dir, struct lb_ovl_manifest *m);
int lb_ovl_manifest_save(const char *dir, const struct lb_ovl_manifest *m);
void lb_ovl_manifest_free(struct lb_ovl_manifest *m);

/* DIR's own names, opened without following a symlink and checked on
 * the descriptor (lib/overlay_fs.c). -errno on failure: -EPERM when the
 * object is another user's, writable by another, or (a file) has a second
 * name; -ELOOP/-ENOTDIR for a symlink. */
enum lb_ovl_make {
	LB_OVL_EXISTING, /* it must exist */
	LB_OVL_MAKE,	 /* made when absent */
	LB_OVL_FRESH,	 /* made now: one already there was put there by another */
};
/* DIR itself (an absolute, real path): a directory of the user's that no
 * other can write. */
int lb_ovl_dir_open(const char *dir);
/* A directory of DIR's (mode 0700 when made), checked as DIR is. */
int lb_ovl_subdir(int at, const char *name, enum lb_ovl_make make);
/* A bookkeeping file: created 0600, a regular file of the user's with one
 * name. flags: open(2)'s, O_NOFOLLOW and O_CLOEXEC added. */
int lb_ovl_file(int at, const char *name, int flags);
/* The same as a stdio stream, DIR opened by lb_ovl_dir_open. NULL with
 * *err set on failure. */
FILE *lb_ovl_fopen(const char *dir, const char *name, int flags, int *err);
/* Mark DIR as made by litebox; 0 also where its filesystem keeps no user
 * xattrs (nothing can be marked there, by anyone). */
int lb_ovl_mark(int dfd);
/* DIR carries the mark: 0, -EPERM when not (a DIR a program made), 0 on a
 * filesystem without user xattrs. */
int lb_ovl_check_mark(int dfd);
/* rm -rf of name in the directory at, by descriptor: never following a
 * symlink, never entering another filesystem. */
int lb_ovl_remove_at(int at, const char *name);

/* Undoes lb_overlay_put_name's \ooo escapes (and mountinfo's), in place;
 * returns s. */
char *lb_ovl_unescape(char *s);
/* path is dir or below it ("/" holds every absolute path). */
bool lb_ovl_under(const char *path, const char *dir);

/* ---- shared by diff and apply (lib/overlay_diff.c) ---- */

struct stat;

/* dir/name into out; out is left empty when it does not fit. */
void lb_ovl_join(char *out, size_t len, const char *dir, const char *name);
bool lb_ovl_is_whiteout(const struct stat *st);
/* The entries of dir, sorted. */
int lb_ovl_list_dir(const char *dir, char ***out, size_t *n);
void lb_ovl_free_list(char **v, size_t n);
/* Two regular files with the same bytes (never blocks on a FIFO). */
bool lb_ovl_same_bytes(const char *a, const char *b);
/* The program's extended attribute names of path (NUL-separated), without
 * overlayfs's own (prefix); their total length. follow: path is a
 * descriptor's /proc/self/fd/N, whose object is meant, not the link. */
size_t lb_ovl_own_xattrs(const char *prefix, const char *path, bool follow, char *buf, size_t len);

/* Tests only: called with each step's host path right before apply
 * looks at the host again and commits the step (NULL: nothing). */
extern void (*lb_ovl_apply_hook)(const char *path);

#endif
