/* SPDX-License-Identifier: MIT */
/* `litebox policy generate --from LOG.jsonl [-o FILE]`: a policy from an
 * audit log written by `litebox run --audit --log LOG.jsonl`. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "litebox/learn.h"
#include "litebox/util.h"

static int read_log(struct lb_learn *l, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!f) {
		lb_msg("cannot open the audit log '%s': %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned long n = 0;
	int rc = 0;
	while (getline(&line, &cap, f) >= 0) {
		n++;
		if (lb_learn_add_json(l, line) < 0) {
			fprintf(stderr, "%s:%lu:1: error: not an audit log record\n", path, n);
			rc = -1;
			break;
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

int cmd_policy_generate(int argc, char **argv)
{
	const char *from = NULL, *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else {
			lb_msg("unexpected argument '%s': litebox policy generate --from LOG.jsonl "
			       "[-o FILE]",
			       argv[i]);
			return LB_EXIT_LITEBOX;
		}
	}
	if (!from) {
		lb_msg("policy generate needs --from LOG.jsonl");
		return LB_EXIT_LITEBOX;
	}
	char cwd[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	struct lb_policy_vars vars = {.cwd = getcwd(cwd, sizeof(cwd)) ? cwd : NULL,
				      .home = lb_home_dir(),
				      .tmpdir = tmp && tmp[0] == '/' ? tmp : "/tmp"};
	struct lb_learn *l = NULL;
	if (lb_learn_new(&vars, &l) < 0)
		return LB_EXIT_LITEBOX;
	int status = 1;
	if (read_log(l, from) == 0) {
		lb_autofree char *text = lb_learn_policy(l, from);
		if (!text)
			lb_msg("cannot build the policy: out of memory");
		else if (out)
			status = lb_write_file_replacing(out, text) < 0 ? 1 : 0;
		else if (fputs(text, stdout) < 0 || fflush(stdout) != 0)
			lb_msg("cannot write standard output: %s", strerror(errno));
		else
			status = 0;
	}
	lb_learn_free(l);
	return status;
}
