/* SPDX-License-Identifier: MIT */
/* libFuzzer: any text given to lb_policy_load either fails cleanly with
 * diagnostics or gives a policy whose `show` output loads back to the
 * same `show` output; queries on it never crash. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct lb_policy_vars vars = {.cwd = "/work", .home = "/home/u", .tmpdir = "/tmp"};

static struct lb_policy *load(const char *text, int *rc)
{
	struct lb_policy_inputs in = {
	    .source = "fuzz.policy", .text = text, .vars = vars, .lint = true};
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	*rc = lb_policy_load(&in, &p, &d);
	if ((*rc == 0) != (p != NULL) || (*rc == -EINVAL && d.n_errors == 0))
		abort();
	for (size_t i = 0; i < d.n; i++)
		if (!d.items[i].file || !d.items[i].message)
			abort();
	lb_diags_free(&d);
	return p;
}

static void query(const struct lb_policy *p)
{
	static const char *const paths[] = {"/", "/etc/passwd", "/home/u/.ssh/id", "/work/a b",
					    "/tmp/x/y"};
	struct lb_decision dec;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (int c = LB_CLASS_READ; c <= LB_CLASS_STAT; c++)
			lb_policy_judge_path(p, (enum lb_class)c, paths[i], &dec);
	struct lb_sockaddr_obj a = {
	    .kind = LB_ADDR_TCP, .is_v4 = true, .ip = {127, 0, 0, 1}, .port = 80};
	lb_policy_judge_addr(p, LB_CLASS_CONNECT, &a, &dec);
	(void)lb_policy_hides_below(p, "/home");
	char *envp[] = {"A=1", "PATH=/bin", NULL};
	lb_env_free(lb_policy_build_env(p, envp));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	int rc;
	struct lb_policy *p = load(text, &rc);
	free(text);
	if (!p)
		return 0;
	query(p);
	char *one = lb_policy_show(p);
	lb_policy_free(p);
	if (!one)
		abort();
	p = load(one, &rc);
	if (!p)
		abort(); /* show wrote something that does not parse */
	char *two = lb_policy_show(p);
	lb_policy_free(p);
	if (!two || strcmp(one, two) != 0)
		abort(); /* show is not a fixed point */
	free(one);
	free(two);
	return 0;
}
