/* SPDX-License-Identifier: MIT */
/* Policy engine benchmark: parse a generated 5,000-rule policy, then answer
 * a million path queries against it (a mix of allowed, denied, hidden and
 * unmatched paths). Prints the parse time and ns per query. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "litebox/policy.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *make_policy(int n_rules)
{
	size_t cap = (size_t)n_rules * 96 + 256, len = 0;
	char *t = malloc(cap);
	len += (size_t)snprintf(t + len, cap - len, "version 1\n");
	static const char *const verbs[] = {"allow read", "allow write", "deny read", "allow exec",
					    "allow stat"};
	for (int i = 0; i < n_rules; i++) {
		const char *v = verbs[i % 5];
		switch (i % 4) {
		case 0:
			len += (size_t)snprintf(t + len, cap - len, "%s /srv/project%d/**\n", v, i);
			break;
		case 1:
			len +=
			    (size_t)snprintf(t + len, cap - len, "%s /opt/tool%d/lib/*.so\n", v, i);
			break;
		case 2:
			len += (size_t)snprintf(t + len, cap - len, "%s /home/u%d/**/cache/*\n", v,
						i % 97);
			break;
		default:
			len += (size_t)snprintf(t + len, cap - len, "%s /data/set%d/file%d.csv\n",
						v, i % 50, i);
		}
	}
	len += (size_t)snprintf(t + len, cap - len, "hide /home/u1/.ssh\n");
	return t;
}

int main(int argc, char **argv)
{
	int n_rules = argc > 1 ? atoi(argv[1]) : 5000;
	long n_queries = argc > 2 ? atol(argv[2]) : 1000000;
	char *text = make_policy(n_rules);
	struct lb_policy_inputs in = {
	    .source = "bench.policy",
	    .text = text,
	    .vars = {.cwd = "/work", .home = "/home/u1", .tmpdir = "/tmp"},
	};
	struct lb_diags diags = {0};
	struct lb_policy *p = NULL;
	double t0 = now_s();
	int rc = lb_policy_load(&in, &p, &diags);
	double t_parse = now_s() - t0;
	if (rc < 0) {
		fprintf(stderr, "load failed: %d (%zu diagnostics)\n", rc, diags.n);
		return 1;
	}
	static const char *const paths[] = {
	    "/srv/project400/src/main.c",
	    "/opt/tool401/lib/libx.so",
	    "/home/u5/a/b/cache/x",
	    "/data/set3/file403.csv",
	    "/usr/lib/x86_64-linux-gnu/libc.so.6",
	    "/home/u1/.ssh/id_rsa",
	    "/srv/project4996/deep/er/path/file.txt",
	    "/nowhere/at/all",
	};
	const size_t np = sizeof(paths) / sizeof(paths[0]);
	unsigned long allowed = 0;
	t0 = now_s();
	for (long i = 0; i < n_queries; i++) {
		struct lb_decision d;
		lb_policy_judge_path(p, (enum lb_class)(i % 4), paths[i % (long)np], &d);
		allowed += d.verdict == LB_VERDICT_ALLOW;
	}
	double t_query = now_s() - t0;
	printf("rules            %d\n", n_rules);
	printf("parse+compile    %.2f ms\n", t_parse * 1e3);
	printf("queries          %ld (%lu allowed)\n", n_queries, allowed);
	printf("per query        %.1f ns\n", t_query * 1e9 / (double)n_queries);
	lb_policy_free(p);
	lb_diags_free(&diags);
	free(text);
	return 0;
}
