/* SPDX-License-Identifier: MIT */
/* --overlay DIR: the sandbox's file tree is made of overlayfs mounts whose
 * upper layers live in DIR, so the kernel itself keeps every change the
 * program makes (and the supervisor, which performs the program's calls
 * through /proc/INIT/root, makes them there too).
 *
 * Init, in its own mount namespace, builds a new tree on DIR/.stage and
 * pivots into it: every writable host filesystem becomes an overlay (its
 * upper in DIR/layers/ID/upper), every other mount (/proc, /dev, /sys,
 * read-only mounts, the sandbox's own /proc) is bound recursively as it
 * was. Why a staged tree and not overlays stacked in place: an overlay of
 * a filesystem hides the submounts beneath it, and "/" cannot be covered
 * in place at all (a process's root does not follow a mount on top of
 * it), so the submounts must be put back on top in order anyway; pivoting
 * into the result is what a container runtime does and leaves nothing of
 * the old tree reachable.
 *
 * In a user namespace (runs without root) the host's mounts are locked to
 * their parents: a filesystem with submounts cannot be an overlay's lower
 * layer as a whole (the kernel would reveal what the submounts cover). Its
 * directories without submounts are overlaid one by one instead, on a
 * read-only tmpfs that holds the levels above them (docs/audit.md says
 * what that costs). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "litebox/overlay.h"
#include "litebox/text.h"
#include "litebox/util.h"
#include "bind.h"
#include "overlay_internal.h"

#define ERR_SIZE 1024

struct lb_overlay {
	char *dir;	   /* absolute, real */
	dev_t dev;	   /* DIR as lb_overlay_open checked it: init uses */
	ino_t ino;	   /* no other directory put at its path since */
	ino_t host_userns; /* litebox's user namespace: init in another needs userxattr */
	char *err;	   /* shared with init (MAP_SHARED): why entering failed */
};

/* ---- manifest --------------------------------------------------------------- */

void lb_overlay_put_name(FILE *f, const char *s, const char *also)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		size_t n = u[i] < 0x80 ? 1 : lb_utf8_seq(u + i, len - i);
		bool esc = u[i] < ' ' || u[i] == '\\' || u[i] == 0x7f || n == 0 ||
			   (u[i] < 0x80 && strchr(also, u[i])) ||
			   (n > 1 && lb_cp_unsafe(lb_utf8_cp(u + i, n)));
		n = n ? n : 1;
		for (size_t k = 0; k < n; k++)
			if (esc)
				fprintf(f, "\\%03o", u[i + k]);
			else
				fputc(u[i + k], f);
		i += n;
	}
}

char *lb_ovl_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return s;
}

void lb_ovl_manifest_free(struct lb_ovl_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].host);
	free(m->v);
	*m = (struct lb_ovl_manifest){0};
}

static int manifest_add(struct lb_ovl_manifest *m, unsigned id, const char *host)
{
	struct lb_ovl_layer *v = realloc(m->v, (m->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->v = v;
	if (!(v[m->n].host = strdup(host)))
		return -ENOMEM;
	v[m->n++].id = id;
	if (id >= m->next_id)
		m->next_id = id + 1;
	return 0;
}

int lb_ovl_manifest_load(const char *dir, struct lb_ovl_manifest *m)
{
	char line[PATH_MAX * 4 + 64];
	*m = (struct lb_ovl_manifest){.next_id = 1};
	int err = 0;
	lb_autofclose FILE *f = lb_ovl_fopen(dir, "manifest", O_RDONLY, &err);
	if (!f)
		return err;
	if (!fgets(line, sizeof(line), f) || strncmp(line, LB_OVL_MAGIC, strlen(LB_OVL_MAGIC)))
		return -EINVAL;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		unsigned id;
		int off = 0;
		if (strcmp(line, "xattr trusted") == 0 || strcmp(line, "xattr user") == 0) {
			strcpy(m->xattr_ns, line[6] == 't' ? "trusted" : "user");
			continue;
		}
		if (sscanf(line, "layer %u %n", &id, &off) != 1 || off == 0 || id == 0) {
			lb_ovl_manifest_free(m);
			return -EINVAL;
		}
		int rc = manifest_add(m, id, lb_ovl_unescape(line + off));
		if (rc < 0) {
			lb_ovl_manifest_free(m);
			return rc;
		}
	}
	return 0;
}

int lb_ovl_manifest_save(const char *dir, const struct lb_ovl_manifest *m)
{
	lb_autoclose int dfd = lb_ovl_dir_open(dir);
	if (dfd < 0)
		return dfd;
	/* ours alone: a name left by a crash (or put there) is not reused */
	if (unlinkat(dfd, "manifest.new", 0) < 0 && errno != ENOENT)
		return -errno;
	int fd = lb_ovl_file(dfd, "manifest.new", O_WRONLY | O_CREAT | O_EXCL);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		int rc = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	fprintf(f, "%s\n", LB_OVL_MAGIC);
	if (m->xattr_ns[0])
		fprintf(f, "xattr %s\n", m->xattr_ns);
	for (size_t i = 0; i < m->n; i++) {
		fprintf(f, "layer %u ", m->v[i].id);
		lb_overlay_put_name(f, m->v[i].host, " ");
		fputc('\n', f);
	}
	int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, "manifest.new", dfd, "manifest") < 0)
		rc = -errno;
	return rc;
}

/* A DIR of before the namespace was recorded: what a run by this user
 * would have used. */
const char *lb_ovl_private_prefix(const struct lb_ovl_manifest *m)
{
	const char *ns = m->xattr_ns[0] ? m->xattr_ns : geteuid() == 0 ? "trusted" : "user";
	return strcmp(ns, "user") == 0 ? "user.overlay." : "trusted.overlay.";
}

/* ---- the supervisor's side ------------------------------------------------- */

static int mkdir_p(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	if (strlen(path) >= sizeof(p))
		return -ENAMETOOLONG;
	strcpy(p, path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, mode) < 0 && errno != EEXIST ? -errno : 0;
}

/* DIR holds nothing but the names in only (NULL-terminated). */
static bool dir_holds_only(int dfd, const char *const *only)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	rewinddir(d);
	struct dirent *e;
	bool ok = true;
	while (ok && (e = readdir(d))) {
		ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
		for (size_t i = 0; !ok && only[i]; i++)
			ok = strcmp(e->d_name, only[i]) == 0;
	}
	closedir(d);
	return ok;
}

static const char *open_problem(int rc)
{
	switch (rc) {
	case -EPERM:
		return "it, or a directory or file in it, is not yours alone (another user's, "
		       "or writable by group or others: chmod go-w), and litebox trusts what it "
		       "holds";
	case -ELOOP:
	case -ENOTDIR:
		return "a symlink or another kind of file stands where litebox keeps its own";
	default:
		return strerror(-rc);
	}
}

static ino_t userns_ino(void)
{
	struct stat st;
	return stat("/proc/self/ns/user", &st) == 0 ? st.st_ino : 0;
}

int lb_overlay_open(const char *dir, struct lb_overlay **out, char *err, size_t errlen)
{
	int rc = mkdir_p(dir, 0700);
	if (rc < 0) {
		snprintf(err, errlen, "cannot create the overlay directory '%s': %s", dir,
			 strerror(-rc));
		return rc;
	}
	lb_autofree char *real = realpath(dir, NULL);
	if (!real) {
		rc = -errno;
		snprintf(err, errlen, "'%s': %s", dir, strerror(errno));
		return rc;
	}
	lb_autoclose int dfd = lb_ovl_dir_open(real);
	struct stat dst;
	if (dfd < 0 || fstat(dfd, &dst) < 0) {
		rc = dfd < 0 ? dfd : -errno;
		snprintf(err, errlen, "cannot use '%s' as the overlay directory: %s", real,
			 open_problem(rc));
		return rc;
	}
	struct lb_ovl_manifest m;
	rc = lb_ovl_manifest_load(real, &m);
	bool fresh = rc == -ENOENT && dir_holds_only(dfd, (const char *const[]){NULL});
	if (fresh) {
		/* marked before the manifest exists: runs protect a DIR only
		 * when it holds both (lib/protect.c) */
		m = (struct lb_ovl_manifest){.next_id = 1};
		rc = lb_ovl_mark(dfd);
		if (rc == 0)
			rc = lb_ovl_manifest_save(real, &m);
	} else if (rc == -ENOENT || rc == -EINVAL) {
		snprintf(err, errlen,
			 "'%s' is not an overlay directory of litebox (no readable manifest): give "
			 "an empty or new directory",
			 real);
		return -EINVAL;
	}
	lb_ovl_manifest_free(&m);
	/* In a new DIR, what litebox did not make was put there by another
	 * (a program racing this run in $TMPDIR): refused, not used. */
	lb_autoclose int layers =
	    rc < 0 ? rc : lb_ovl_subdir(dfd, "layers", fresh ? LB_OVL_FRESH : LB_OVL_MAKE);
	if (layers < 0)
		rc = layers;
	if (rc == 0 && fresh &&
	    !dir_holds_only(dfd, (const char *const[]){"manifest", "layers", NULL}))
		rc = -EPERM;
	if (rc == 0 && !fresh && lb_ovl_check_mark(dfd) < 0) {
		snprintf(err, errlen,
			 "'%s' was not made by litebox (it lacks the mark litebox gives the "
			 "directories it makes, which no sandboxed program can set): give a new "
			 "directory",
			 real);
		return -EPERM;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot prepare the overlay directory '%s': %s", real,
			 open_problem(rc));
		return rc;
	}
	struct lb_overlay *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->err = mmap(NULL, ERR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (o->err == MAP_FAILED) {
		free(o);
		return -ENOMEM;
	}
	o->err[0] = '\0';
	o->dir = steal_pointer(&real);
	o->dev = dst.st_dev;
	o->ino = dst.st_ino;
	o->host_userns = userns_ino();
	*out = o;
	return 0;
}

void lb_overlay_free(struct lb_overlay *o)
{
	if (!o)
		return;
	munmap(o->err, ERR_SIZE);
	free(o->dir);
	free(o);
}

const char *lb_overlay_dir(const struct lb_overlay *o)
{
	return o->dir;
}

const char *lb_overlay_error(const struct lb_overlay *o)
{
	return o && o->err[0] ? o->err : NULL;
}

/* ---- init's side: the host's mounts ------------------------------------------ */

struct mnt {
	int id, parent;
	dev_t dev;
	char *root;  /* the directory of its filesystem it shows */
	char *point; /* where it is mounted */
	char *type;
	bool ro;
	bool done;
};

struct builder {
	const struct lb_overlay *o;
	struct mnt *m;
	size_t n;
	struct lb_ovl_manifest man;
	bool userxattr;
	bool man_dirty;
	int layers;	/* DIR/layers, checked: every layer is made relative to it */
	char **mounted; /* the host directories overlaid in this run */
	size_t n_mounted;
	char stage[PATH_MAX];
};

static int fail(struct builder *b, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first failure is the one reported (as "what: why"). */
static int fail(struct builder *b, int rc, const char *fmt, ...)
{
	if (!b->o->err[0]) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->o->err, ERR_SIZE, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < ERR_SIZE)
			snprintf(b->o->err + n, ERR_SIZE - (size_t)n, ": %s", strerror(-rc));
	}
	return rc;
}

static int read_mounts(struct builder *b)
{
	lb_autofclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char root[PATH_MAX], point[PATH_MAX], opts[256], type[64];
		int id, parent, n = 0;
		unsigned major, minor;
		if (sscanf(line, "%d %d %u:%u %4095s %4095s %255s %n", &id, &parent, &major, &minor,
			   root, point, opts, &n) < 7 ||
		    !n)
			continue;
		char *dash = strstr(line + n - 1, " - "); /* %n came after the space */
		if (!dash || sscanf(dash + 3, "%63s", type) != 1)
			continue;
		struct mnt *v = realloc(b->m, (b->n + 1) * sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			break;
		}
		b->m = v;
		v[b->n] = (struct mnt){.id = id,
				       .parent = parent,
				       .dev = makedev(major, minor),
				       .root = strdup(lb_ovl_unescape(root)),
				       .point = strdup(lb_ovl_unescape(point)),
				       .type = strdup(type),
				       .ro = strncmp(opts, "ro", 2) == 0 &&
					     (opts[2] == ',' || opts[2] == '\0')};
		if (!v[b->n].root || !v[b->n].point || !v[b->n].type)
			rc = -ENOMEM;
		b->n++;
	}
	free(line);
	return rc;
}

bool lb_ovl_under(const char *path, const char *dir)
{
	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static bool strictly_under(const char *path, const char *dir)
{
	return lb_ovl_under(path, dir) && strcmp(path, dir) != 0;
}

static struct mnt *by_id(struct builder *b, int id)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->m[i].id == id)
			return &b->m[i];
	return NULL;
}

/* The mount seen at m's place: the last one stacked on it. */
static struct mnt *visible_top(struct builder *b, struct mnt *m)
{
	for (bool again = true; again;) {
		again = false;
		for (size_t i = b->n; i-- > 0;)
			if (b->m[i].parent == m->id && &b->m[i] != m &&
			    strcmp(b->m[i].point, m->point) == 0) {
				m = &b->m[i];
				again = true;
				break;
			}
	}
	return m;
}

/* Filesystems that hold no file of the host's to change: kernel views,
 * devices, and what lives under them. */
static bool overlaid(const struct builder *b, const struct mnt *m)
{
	static const char *const pseudo[] = {
	    "proc",	"sysfs",      "devtmpfs",  "devpts",	  "cgroup", "cgroup2",
	    "mqueue",	"tracefs",    "debugfs",   "securityfs",  "pstore", "bpf",
	    "configfs", "fusectl",    "hugetlbfs", "binfmt_misc", "autofs", "efivarfs",
	    "nsfs",	"rpc_pipefs", "selinuxfs", "ramfs",
	};
	static const char *const kernel_trees[] = {"/proc", "/sys", "/dev", "/run"};
	if (m->ro || lb_ovl_under(m->point, b->o->dir))
		return false;
	for (size_t i = 0; i < LB_ARRAY_SIZE(pseudo); i++)
		if (strcmp(m->type, pseudo[i]) == 0)
			return false;
	/* POSIX shared memory is files on a tmpfs: they are the host's too */
	if (strcmp(m->point, "/dev/shm") == 0)
		return true;
	for (size_t i = 0; i < LB_ARRAY_SIZE(kernel_trees); i++)
		if (lb_ovl_under(m->point, kernel_trees[i]))
			return false;
	return true;
}

/* A visible mount point strictly under path (other than in DIR). */
static bool mounts_under(struct builder *b, const char *path)
{
	for (size_t i = 0; i < b->n; i++)
		if (strictly_under(b->m[i].point, path) && !lb_ovl_under(b->m[i].point, b->o->dir))
			return true;
	return false;
}

static bool is_mount_point(struct builder *b, const char *path)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->m[i].point, path) == 0)
			return true;
	return false;
}

static void staged(const struct builder *b, const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s%s", b->stage, strcmp(path, "/") ? path : "");
}

/* ---- init's side: layers ------------------------------------------------------ */

static unsigned layer_id(struct builder *b, const char *host, bool *fresh)
{
	for (size_t i = 0; i < b->man.n; i++)
		if (strcmp(b->man.v[i].host, host) == 0) {
			*fresh = false;
			return b->man.v[i].id;
		}
	unsigned id = b->man.next_id;
	if (manifest_add(&b->man, id, host) < 0)
		return 0;
	b->man_dirty = true;
	*fresh = true;
	return id;
}

/* The upper's root is what the program sees as the directory itself: it
 * gets the host directory's owner, mode and times. Without root the owner
 * cannot be given away: the user then owns it, so its owner bits are
 * narrowed to what the user had on the host (access(), which sees the
 * real owner: in the user namespace a directory of root's and one of the
 * user's both show the overflow uid when the user is nobody). The
 * supervisor refuses chmod, chown and times of such a root
 * (lib/fs_ops.c). */
static void copy_root_attrs(const char *host, int upper, bool userns)
{
	struct stat st;
	if (stat(host, &st) < 0)
		return;
	mode_t mode = st.st_mode & 07777;
	if (fchown(upper, st.st_uid, st.st_gid) < 0 || userns) {
		mode_t own = 0;
		own |= access(host, R_OK) == 0 ? S_IRUSR : 0;
		own |= access(host, W_OK) == 0 ? S_IWUSR : 0;
		own |= access(host, X_OK) == 0 ? S_IXUSR : 0;
		mode = (mode & ~(mode_t)S_IRWXU) | own;
	}
	(void)fchmod(upper, mode);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	(void)futimens(upper, ts);
}

/* Options of a mount(2) string: ',' ':' and '\' escaped. */
static void opt_path(char *out, size_t len, const char *key, const char *path)
{
	size_t n = (size_t)snprintf(out, len, "%s=", key);
	for (const char *p = path; *p && n + 3 < len; p++) {
		if (*p == ',' || *p == ':' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	out[n < len ? n : len - 1] = '\0';
}

/* upper and work of layer id, by descriptor: layers/ID is made or checked
 * relative to DIR/layers, upper and work opened without following a
 * symlink (upper's root has the host directory's owner and mode, so only
 * its kind is checked; its parent, the user's alone, is what no one else
 * could have changed). *made: upper was made now. */
static int layer_dirs(struct builder *b, unsigned id, bool fresh, int *upper, int *work, bool *made)
{
	char name[16];
	snprintf(name, sizeof(name), "%u", id);
	/* a new id's directory is what a run that never recorded it left */
	int rc = fresh ? lb_ovl_remove_at(b->layers, name) : 0;
	if (rc < 0)
		return rc;
	lb_autoclose int n = lb_ovl_subdir(b->layers, name, fresh ? LB_OVL_FRESH : LB_OVL_MAKE);
	if (n < 0)
		return n;
	*made = mkdirat(n, "upper", 0700) == 0;
	if (!*made && errno != EEXIST)
		return -errno;
	if (mkdirat(n, "work", 0700) < 0 && errno != EEXIST)
		return -errno;
	*upper = openat(n, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*upper < 0)
		return -errno;
	*work = lb_ovl_subdir(n, "work", LB_OVL_EXISTING);
	return *work < 0 ? *work : 0;
}

/* A layer never mounted is no layer: its directories go (the caller may
 * descend into the host directory instead). */
static void unmake_layer(struct builder *b, unsigned id)
{
	char name[16];
	snprintf(name, sizeof(name), "%u", id);
	lb_autoclose int n =
	    openat(b->layers, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (n >= 0) {
		(void)unlinkat(n, "upper", AT_REMOVEDIR);
		(void)unlinkat(n, "work", AT_REMOVEDIR);
	}
	(void)unlinkat(b->layers, name, AT_REMOVEDIR);
}

static int mount_layer(struct builder *b, const char *host, const char *target)
{
	bool fresh = false;
	unsigned id = layer_id(b, host, &fresh);
	if (!id)
		return -ENOMEM;
	lb_autoclose int upper = -1;
	lb_autoclose int work = -1;
	bool made = false;
	int rc = layer_dirs(b, id, fresh, &upper, &work, &made);
	if (rc < 0)
		return fail(b, rc, "cannot create the layer of %s in the overlay directory%s", host,
			    rc == -EPERM || rc == -ELOOP || rc == -ENOTDIR || rc == -EEXIST
				? " (something not litebox's stands in it)"
				: "");
	if (made) /* also after `overlay apply` emptied DIR */
		copy_root_attrs(host, upper, b->userxattr);
	/* overlayfs is given the directories checked, by descriptor: the
	 * magic link resolves to the open directory, not to a name again */
	char up_path[64], wo_path[64];
	snprintf(up_path, sizeof(up_path), "/proc/self/fd/%d", upper);
	snprintf(wo_path, sizeof(wo_path), "/proc/self/fd/%d", work);
	char lo[PATH_MAX * 2 + 16], up[128], wo[128];
	opt_path(lo, sizeof(lo), "lowerdir", host);
	opt_path(up, sizeof(up), "upperdir", up_path);
	opt_path(wo, sizeof(wo), "workdir", wo_path);
	lb_autofree char *opts = NULL;
	if (asprintf(&opts, "%s,%s,%s,redirect_dir=nofollow,index=off,metacopy=off%s", lo, up, wo,
		     b->userxattr ? ",userxattr" : "") < 0)
		return -ENOMEM;
	if (mount("overlay", target, "overlay", 0, opts) < 0) {
		rc = -errno;
		if (fresh) {
			b->man.n--;
			free(b->man.v[b->man.n].host);
			b->man.next_id = id;
			unmake_layer(b, id);
		}
		return rc;
	}
	char **v = realloc(b->mounted, (b->n_mounted + 1) * sizeof(*v));
	if (!v || !(v[b->n_mounted] = strdup(host)))
		return -ENOMEM;
	b->mounted = v;
	b->n_mounted++;
	return 0;
}


static int cover(struct builder *b, const char *host, const char *target);

/* One entry of a directory that cannot be a layer as a whole. */
static int skeleton_entry(struct builder *b, const char *host, const char *target)
{
	struct stat st;
	/* gone, or not the user's to look at (so not the program's either) */
	if (lstat(host, &st) < 0)
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	bool point = is_mount_point(b, host);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(target, st.st_mode & 07777) < 0)
			return -errno;
		if (point || strcmp(host, b->o->dir) == 0)
			return 0; /* the mount comes later; DIR is hidden */
		return cover(b, host, target);
	}
	if (S_ISLNK(st.st_mode)) {
		char to[PATH_MAX];
		ssize_t n = readlink(host, to, sizeof(to) - 1);
		if (n < 0) /* no longer a link: changed under the walk, left out */
			return errno == EINVAL || errno == ENOENT ? 0 : -errno;
		to[n] = '\0';
		return symlink(to, target) < 0 ? -errno : 0;
	}
	int fd = open(target, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	if (point)
		return 0;
	int rc = lb_bind_object(host, &st, target, S_IFREG, LB_BIND_RDONLY);
	/* Another object there than the one looked at (a process swapping
	 * names under the walk): left out, never the other one. */
	if (rc == -EPERM || rc == -ENOENT) {
		unlink(target);
		return 0;
	}
	return rc;
}

static int skeleton(struct builder *b, const char *host, const char *target)
{
	DIR *d = opendir(host);
	if (!d)
		return fail(b, -errno, "cannot list %s", host);
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char h[PATH_MAX], t[PATH_MAX];
		if (snprintf(h, sizeof(h), "%s/%s", strcmp(host, "/") ? host : "", e->d_name) >=
			(int)sizeof(h) ||
		    snprintf(t, sizeof(t), "%s/%s", target, e->d_name) >= (int)sizeof(t)) {
			rc = -ENAMETOOLONG;
			break;
		}
		rc = skeleton_entry(b, h, t);
		if (rc < 0)
			fail(b, rc, "cannot rebuild %s in the overlay's tree", h);
	}
	closedir(d);
	return rc;
}

/* host becomes an overlay at target; where the kernel refuses because
 * host has (locked) submounts, a read-only tmpfs holds its entries and
 * each subdirectory is covered in turn. */
static int cover(struct builder *b, const char *host, const char *target)
{
	int rc = mount_layer(b, host, target);
	if (rc == 0 || b->o->err[0])
		return rc;
	if (rc != -EINVAL || !mounts_under(b, host))
		return fail(b, rc, "cannot mount an overlay on %s", host);
	struct stat st;
	if (stat(host, &st) < 0)
		return fail(b, -errno, "cannot read %s", host);
	char opts[64];
	snprintf(opts, sizeof(opts), "mode=%o", st.st_mode & 07777);
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return fail(b, -errno, "cannot mount a tmpfs for %s", host);
	rc = skeleton(b, host, target);
	if (rc == 0 && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		rc = fail(b, -errno, "cannot make the tmpfs for %s read-only", host);
	return rc;
}

/* ---- init's side: the tree ---------------------------------------------------- */

static int place(struct builder *b, struct mnt *m);

static int place_children(struct builder *b, struct mnt *m, bool overlays_only)
{
	for (size_t i = 0; i < b->n; i++) {
		struct mnt *c = &b->m[i];
		if (c->parent != m->id || c == m || c->done || strcmp(c->point, m->point) == 0)
			continue;
		struct mnt *top = visible_top(b, c);
		c->done = true;
		if (lb_ovl_under(top->point, b->o->dir))
			continue;
		int rc;
		if (!overlays_only || overlaid(b, top))
			rc = place(b, top);
		else
			rc = place_children(b, top, true); /* came with the recursive bind */
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int place(struct builder *b, struct mnt *m)
{
	char target[PATH_MAX];
	staged(b, m->point, target, sizeof(target));
	m->done = true;
	if (overlaid(b, m)) {
		int rc = cover(b, m->point, target);
		return rc < 0 ? rc : place_children(b, m, false);
	}
	if (mount(m->point, target, NULL, MS_BIND | MS_REC, NULL) < 0) {
		/* unmounted (or removed) since mountinfo was read: what is left
		 * at that path is its parent's, which is placed already */
		if (errno == ENOENT)
			return 0;
		return fail(b, -errno, "cannot bind %s into the overlay's tree", m->point);
	}
	return place_children(b, m, true);
}

static struct mnt *root_mount(struct builder *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->m[i].point, "/") == 0 && !by_id(b, b->m[i].parent))
			return visible_top(b, &b->m[i]);
	return NULL;
}

static bool in_layer(struct builder *b, const char *path)
{
	for (size_t i = 0; i < b->n_mounted; i++)
		if (strictly_under(path, b->mounted[i]))
			return true;
	return false;
}

static int bind_socket(const char *path, const char *target)
{
	const struct stat any_socket = {.st_mode = S_IFSOCK};
	return lb_bind_object(path, &any_socket, target, S_IFSOCK, LB_BIND_RDONLY);
}

/* The kernel finds a listening unix socket by its inode, and an overlay
 * shows another inode: a socket on an overlaid filesystem (an ssh-agent's
 * or X11's in /tmp) would refuse every connection. Each socket bound at
 * the start is put back by a bind mount of the host's own (one bound
 * later, by a program outside, stays out of reach; a failure leaves the
 * overlay's copy, which refuses connections). */
static void bind_sockets(struct builder *b)
{
	FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return;
	char *line = NULL, last[PATH_MAX] = "";
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		int off = 0;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %n", &off) < 0 || off == 0 ||
		    line[off] != '/' || strcmp(line + off, last) == 0)
			continue;
		const char *path = line + off;
		snprintf(last, sizeof(last), "%s", path);
		char target[PATH_MAX];
		staged(b, path, target, sizeof(target));
		if (in_layer(b, path) && !lb_ovl_under(path, b->o->dir))
			(void)bind_socket(path, target);
	}
	free(line);
	fclose(f);
}

/* path, under from, moved to the same place under to. */
static void rebase(char *out, size_t len, const char *path, const char *from, const char *to)
{
	const char *rest = strcmp(from, "/") ? path + strlen(from) : path;
	snprintf(out, len, "%s%s", strcmp(to, "/") ? to : "", rest);
	if (!out[0])
		snprintf(out, len, "/");
}

/* The program sees an empty read-only directory at path. */
static int hide_at(struct builder *b, const char *path)
{
	char target[PATH_MAX];
	struct stat st;
	staged(b, path, target, sizeof(target));
	if (stat(target, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,mode=0755") < 0)
		return fail(b, -errno, "cannot hide %s from the program", path);
	return 0;
}

/* DIR stays the judge's: hidden at its path, and wherever the host shows
 * its filesystem's directory a second time (a bind mount of a directory
 * above it): each mount of the same filesystem whose root holds DIR. */
static int hide_dir(struct builder *b)
{
	struct stat st;
	if (stat(b->o->dir, &st) < 0)
		return fail(b, -errno, "cannot read %s", b->o->dir);
	const struct mnt *home = NULL;
	for (size_t i = 0; i < b->n; i++)
		if (b->m[i].dev == st.st_dev && lb_ovl_under(b->o->dir, b->m[i].point) &&
		    (!home || strlen(b->m[i].point) >= strlen(home->point)))
			home = &b->m[i];
	int rc = hide_at(b, b->o->dir);
	if (!home)
		return rc;
	char in_fs[PATH_MAX], alias[PATH_MAX];
	rebase(in_fs, sizeof(in_fs), b->o->dir, home->point, home->root);
	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		const struct mnt *m = &b->m[i];
		if (m == home || m->dev != st.st_dev || !lb_ovl_under(in_fs, m->root))
			continue;
		rebase(alias, sizeof(alias), in_fs, m->root, m->point);
		if (strcmp(alias, b->o->dir) != 0 && !lb_ovl_under(alias, b->o->dir))
			rc = hide_at(b, alias);
	}
	return rc;
}

static int pivot(struct builder *b, const char *cwd)
{
	if (chdir(b->stage) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(b, -errno, "cannot switch to the overlay's tree at %s", b->stage);
	if (umount2(".", MNT_DETACH) < 0)
		return fail(b, -errno, "cannot leave the host's tree");
	if (chdir("/") < 0 || (cwd && chdir(cwd) < 0))
		return fail(b, -errno, "cannot enter %s in the overlay's tree", cwd ? cwd : "/");
	return 0;
}

static void builder_free(struct builder *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->m[i].root);
		free(b->m[i].point);
		free(b->m[i].type);
	}
	free(b->m);
	for (size_t i = 0; i < b->n_mounted; i++)
		free(b->mounted[i]);
	free(b->mounted);
	lb_ovl_manifest_free(&b->man);
	if (b->layers >= 0)
		close(b->layers);
}

/* DIR and DIR/layers as lb_overlay_open checked them: the same directory
 * (not another put at its path since), still the user's alone. */
static int open_layers(struct builder *b)
{
	lb_autoclose int dfd = lb_ovl_dir_open(b->o->dir);
	struct stat st;
	if (dfd < 0)
		return fail(b, dfd, "cannot open the overlay directory %s", b->o->dir);
	if (fstat(dfd, &st) < 0 || st.st_dev != b->o->dev || st.st_ino != b->o->ino)
		return fail(b, -EPERM, "%s was replaced during the run", b->o->dir);
	b->layers = lb_ovl_subdir(dfd, "layers", LB_OVL_EXISTING);
	if (b->layers < 0)
		return fail(b, b->layers, "cannot open %s/layers", b->o->dir);
	return 0;
}

int lb_overlay_enter(const struct lb_overlay *o)
{
	struct builder b = {.o = o, .userxattr = userns_ino() != o->host_userns, .layers = -1};
	char cwd[PATH_MAX];
	bool have_cwd = getcwd(cwd, sizeof(cwd)) != NULL;
	snprintf(b.stage, sizeof(b.stage), "%s/.stage", o->dir);
	int rc = open_layers(&b);
	if (rc == 0 && (rc = lb_ovl_manifest_load(o->dir, &b.man)) < 0)
		rc = fail(&b, rc, "cannot read the manifest of %s", o->dir);
	const char *ns = b.userxattr ? "user" : "trusted";
	if (rc == 0 && b.man.xattr_ns[0] && strcmp(b.man.xattr_ns, ns) != 0)
		rc = fail(&b, -EXDEV,
			  "%s holds the layers of a run %s root; a run %s root needs another "
			  "directory",
			  o->dir, b.userxattr ? "as" : "without", b.userxattr ? "without" : "as");
	if (rc == 0 && !b.man.xattr_ns[0]) {
		snprintf(b.man.xattr_ns, sizeof(b.man.xattr_ns), "%s", ns);
		b.man_dirty = true;
	}
	if (rc == 0 && (rc = read_mounts(&b)) < 0)
		fail(&b, rc, "cannot read the mount table");
	if (rc == 0 && mkdir(b.stage, 0700) < 0 && errno != EEXIST)
		rc = fail(&b, -errno, "cannot create %s", b.stage);
	struct mnt *root = rc == 0 ? root_mount(&b) : NULL;
	if (rc == 0 && !root)
		rc = fail(&b, -ENOENT, "no root in the mount table");
	if (rc == 0)
		rc = place(&b, root);
	if (rc == 0 && b.man_dirty && (rc = lb_ovl_manifest_save(o->dir, &b.man)) < 0)
		fail(&b, rc, "cannot write the manifest of %s", o->dir);
	if (rc == 0) {
		bind_sockets(&b);
		rc = hide_dir(&b);
	}
	if (rc == 0)
		rc = pivot(&b, have_cwd ? cwd : NULL);
	builder_free(&b);
	return rc;
}
