/* SPDX-License-Identifier: MIT */
/* litebox: run unmodified Linux programs under a declarative policy. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "litebox/util.h"

void lb_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("litebox: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *lb_home_dir(void)
{
	const char *home = getenv("HOME");
	if (home && home[0] == '/')
		return home;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/";
}

int lb_write_file_replacing(const char *path, const char *text)
{
	lb_autofree char *tmp = NULL;
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		lb_msg("cannot write '%s': out of memory", path);
		return -1;
	}
	/* mkstemp: a fresh name, O_EXCL, never a planted symlink; then the
	 * mode a plain create would have had under the user's umask. */
	mode_t um = umask(0);
	umask(um);
	int fd = mkostemp(tmp, O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (fd >= 0 && !f)
		close(fd);
	if (!f || fchmod(fileno(f), 0666 & ~um) < 0 || fputs(text, f) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		lb_msg("cannot write '%s': %s", fd < 0 ? path : tmp, strerror(errno));
		if (f)
			fclose(f);
		if (fd >= 0)
			unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		lb_msg("cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void lb_hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("litebox: hint: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

#if LB_SANITIZED
/* A sanitizer build (meson -Db_sanitize=address,undefined): LeakSanitizer
 * checks at exit from a task it clones and ptraces, which the supervisor's
 * own seccomp allowlist (lib/confine.c) forbids, so the exit hung. Leaks
 * are checked by the unit tests, which run unconfined. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

static const char *const commands[] = {"run",  "learn",	    "policy", "inspect", "overlay",
				       "help", "--version", "--help", NULL};

static int help(int argc, char **argv)
{
	char topic[64] = "";
	for (int i = 0; i < argc && i < 2; i++)
		snprintf(topic + strlen(topic), sizeof(topic) - strlen(topic), "%s%s", i ? " " : "",
			 argv[i]);
	const char *text = lb_usage(topic);
	if (text) {
		fputs(text, stdout);
		return 0;
	}
	lb_msg("no help for '%s'%s (commands: run, learn, policy, inspect, overlay)", topic,
	       lb_suggest_tail(argv[0], commands));
	return LB_EXIT_LITEBOX;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(lb_usage(""), stderr);
		return LB_EXIT_LITEBOX;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1, 0);
	if (strcmp(cmd, "learn") == 0)
		return cmd_run(argc - 1, argv + 1, 1);
	if (strcmp(cmd, "inspect") == 0)
		return cmd_inspect(argc - 1, argv + 1);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(argc - 1, argv + 1);
	if (strcmp(cmd, "overlay") == 0)
		return cmd_overlay(argc - 1, argv + 1);
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0)
		return cmd_version();
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return help(0, NULL);
	if (strcmp(cmd, "help") == 0) {
		if (argc > 2 && (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0))
			return help(1, argv + 1);
		return help(argc - 2, argv + 2);
	}
	lb_msg("unknown %s '%s'%s (run 'litebox --help' for the list of commands)",
	       cmd[0] == '-' ? "option" : "command", cmd, lb_suggest_tail(cmd, commands));
	return LB_EXIT_LITEBOX;
}
