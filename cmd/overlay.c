/* SPDX-License-Identifier: MIT */
/* `litebox overlay diff DIR [--patch]` and `litebox overlay apply DIR`:
 * what a run with --overlay DIR changed, and making it so on the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "litebox/overlay.h"
#include "litebox/util.h"

static const char *type_name(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "dir";
	if (S_ISLNK(m))
		return "symlink";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	return S_ISCHR(m) ? "char" : "block";
}

static void put_path(FILE *f, const char *s)
{
	lb_overlay_put_name(f, s, "");
}

void lb_overlay_print_change(FILE *f, const struct lb_ovl_change *c)
{
	fprintf(f, "%s\t", lb_ovl_kind_name(c->kind));
	switch (c->kind) {
	case LB_OVL_MODE:
		fprintf(f, "%04o>%04o", c->old_mode & 07777, c->new_mode & 07777);
		break;
	case LB_OVL_OWNER:
		fprintf(f, "%u:%u>%u:%u", c->old_uid, c->old_gid, c->new_uid, c->new_gid);
		break;
	case LB_OVL_TIMES:
	case LB_OVL_XATTRS:
		fputc('-', f);
		break;
	case LB_OVL_DELETED:
		fputs(type_name(c->old_mode), f);
		break;
	default:
		fputs(type_name(c->new_mode), f);
		/* what apply will not make, in plain sight */
		if (c->kind == LB_OVL_ADDED && (c->new_mode & 07000))
			fprintf(f, " %04o", c->new_mode & 07777);
	}
	fputc('\t', f);
	put_path(f, c->path);
	fputc('\n', f);
}

/* "a" or "b" and the path as put_path writes it: a name's newline would
 * otherwise forge lines of the patch. NULL when out of memory. */
static char *label_of(char side, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputc(side, f);
	put_path(f, path);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* fd's bytes to stdout, control bytes but newline and tab as ^X (as
 * cat -v), DEL as ^?. */
static void copy_shown(int fd)
{
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		for (ssize_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)buf[i];
			if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
				putchar('^');
				putchar(ch == 0x7f ? '?' : ch + '@');
			} else {
				putchar(ch);
			}
		}
	fflush(stdout);
}

/* An added or deleted file's other side is labelled /dev/null, as diff
 * and git do, so that `patch -p1` creates or removes the file (an "a/"
 * label for an added file left an empty file behind). */
static int unified(const char *path, const char *old, const char *new)
{
	bool from_nothing = strcmp(old, "/dev/null") == 0;
	bool to_nothing = strcmp(new, "/dev/null") == 0;
	lb_autofree char *a = from_nothing ? strdup("/dev/null") : label_of('a', path);
	lb_autofree char *b = to_nothing ? strdup("/dev/null") : label_of('b', path);
	if (!a || !b)
		return -1;
	fflush(stdout);
	/* On a terminal the program's bytes are shown, not obeyed: an ESC
	 * sequence or a CR in a file could redraw the review ("+echo done"
	 * over "curl ... | sh"). Piped (into patch(1)) they pass unchanged. */
	bool escape = isatty(STDOUT_FILENO);
	int pfd[2] = {-1, -1};
	if (escape && pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (escape && dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execlp("diff", "diff", "-u", "--label", a, "--label", b, old, new, (char *)NULL);
		_exit(127);
	}
	if (escape) {
		close(pfd[1]);
		copy_shown(pfd[0]);
		close(pfd[0]);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		lb_msg("cannot show the differences of %s: 'diff -u' failed%s",
		       from_nothing ? b + 1 : a + 1,
		       WIFEXITED(st) && WEXITSTATUS(st) == 127 ? " (is diffutils installed?)" : "");
		return -1;
	}
	return 0;
}

static int patch(const struct lb_ovl_diff *d)
{
	int rc = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct lb_ovl_change *c = &d->v[i];
		if (c->kind == LB_OVL_MODIFIED && S_ISREG(c->new_mode))
			rc |= unified(c->path, c->path, c->upper);
		else if (c->kind == LB_OVL_ADDED && S_ISREG(c->new_mode))
			rc |= unified(c->path, "/dev/null", c->upper);
		else if (c->kind == LB_OVL_DELETED && S_ISREG(c->old_mode))
			rc |= unified(c->path, c->path, "/dev/null");
	}
	return rc;
}

static int diff_cmd(const char *dir, int want_patch)
{
	struct lb_ovl_diff d;
	char err[512];
	if (lb_overlay_diff(dir, &d, err, sizeof(err)) < 0) {
		lb_msg("%s", err);
		return LB_EXIT_LITEBOX;
	}
	int rc = 0;
	if (want_patch)
		rc = patch(&d);
	else
		for (size_t i = 0; i < d.n; i++)
			lb_overlay_print_change(stdout, &d.v[i]);
	lb_overlay_diff_free(&d);
	return rc ? LB_EXIT_LITEBOX : 0;
}

static int apply_cmd(const char *dir)
{
	char err[4096];
	size_t n;
	int rc = lb_overlay_apply(dir, &n, err, sizeof(err));
	if (rc == -EBUSY) {
		lb_msg("nothing applied: the host changed since the run, or cannot be changed "
		       "by you: %s",
		       err);
		lb_hint("look at 'litebox overlay diff %s', then run the tool again with a "
			"new overlay directory",
			dir);
		return 1;
	}
	if (rc == -EAGAIN) {
		lb_msg("nothing applied, the host is as it was: %s", err);
		return 1;
	}
	if (rc < 0) {
		lb_msg("%s", err[0] ? err : strerror(-rc));
		return LB_EXIT_LITEBOX;
	}
	if (n)
		lb_msg("applied %zu change%s to the host; %s holds nothing now", n,
		       n == 1 ? "" : "s", dir);
	else
		lb_msg("nothing to apply: %s holds no change", dir);
	return 0;
}

int cmd_overlay(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(lb_usage("overlay"), stdout);
		return 0;
	}
	const char *sub = argc >= 2 ? argv[1] : "";
	bool is_diff = strcmp(sub, "diff") == 0, is_apply = strcmp(sub, "apply") == 0;
	if (!is_diff && !is_apply) {
		lb_msg("unknown overlay command '%s'%s (see 'litebox help overlay')", sub,
		       lb_suggest_tail(sub, (const char *const[]){"diff", "apply", NULL}));
		return LB_EXIT_LITEBOX;
	}
	const char *dir = NULL;
	int want_patch = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(lb_usage(is_diff ? "overlay diff" : "overlay apply"), stdout);
			return 0;
		}
		if (is_diff && strcmp(argv[i], "--patch") == 0) {
			want_patch = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			lb_msg("unknown option '%s'%s (see 'litebox help overlay')", argv[i],
			       is_diff ? lb_suggest_tail(argv[i],
							 (const char *const[]){"--patch", NULL})
				       : "");
			return LB_EXIT_LITEBOX;
		} else if (!dir) {
			dir = argv[i];
		} else {
			lb_msg("overlay %s takes one DIR", sub);
			return LB_EXIT_LITEBOX;
		}
	}
	if (!dir) {
		lb_msg("overlay %s needs the overlay directory: litebox overlay %s DIR", sub, sub);
		return LB_EXIT_LITEBOX;
	}
	char *real = realpath(dir, NULL);
	if (!real) {
		lb_msg("'%s': %s", dir, strerror(errno));
		return LB_EXIT_LITEBOX;
	}
	int rc = is_diff ? diff_cmd(real, want_patch) : apply_cmd(real);
	free(real);
	return rc;
}
