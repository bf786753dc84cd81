/* SPDX-License-Identifier: MIT */
/* Nested domains: the request's wire format against hostile bytes, the
 * intersection of two policies, and a policy rebuilt only from the texts
 * the inner litebox sent. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/nest.h"
#include "litebox/policy.h"

static char *argv_[] = {"/bin/sh", "-c", "echo hi", NULL};
static char *envp_[] = {"PATH=/usr/bin", "HOME=/root", NULL};
static char *files_[] = {"inner.policy", "include default\ndeny read /x\n"};
static char *cli_[] = {"0", "/etc/hostname", "--allow-read"};

static struct lb_nest_request sample(void)
{
	return (struct lb_nest_request){
	    .flags = LB_NEST_AUDIT | LB_NEST_QUIET,
	    .timeout_ms = 5000,
	    .log_fd = 7,
	    .policy_name = "inner.policy",
	    .log_path = "/tmp/l.jsonl",
	    .exec_path = "/bin/sh",
	    .cwd = "/work",
	    .home = "/root",
	    .tmpdir = "/tmp",
	    .exe_dir = "/bin",
	    .argv = argv_,
	    .envp = envp_,
	    .files = files_,
	    .n_files = 1,
	    .cli = cli_,
	    .n_cli = 1,
	};
}

Test(nest, round_trip)
{
	struct lb_nest_request in = sample(), out;
	char *buf;
	size_t len;
	cr_assert_eq(lb_nest_encode(&in, &buf, &len), 0);
	cr_assert_eq(lb_nest_decode(buf, len, &out), 0);
	cr_expect_eq(out.flags, in.flags);
	cr_expect_eq(out.timeout_ms, 5000);
	cr_expect_eq(out.log_fd, 7);
	cr_expect_str_eq(out.policy_name, "inner.policy");
	cr_expect_str_eq(out.exec_path, "/bin/sh");
	cr_expect_str_eq(out.cwd, "/work");
	cr_expect_null(out.timeout_text);
	cr_expect_str_eq(out.argv[2], "echo hi");
	cr_expect_null(out.argv[3]);
	cr_expect_str_eq(out.envp[1], "HOME=/root");
	cr_expect_eq(out.n_files, 1);
	cr_expect_str_eq(out.files[1], files_[1]);
	cr_expect_eq(out.n_cli, 1);
	cr_expect_str_eq(out.cli[2], "--allow-read");
	lb_nest_request_free(&out);
	free(buf);
}

/* Every truncation, and every single byte changed, either decodes to
 * something whose strings lie inside the buffer or is refused. */
Test(nest, hostile_bytes_are_refused_or_bounded)
{
	struct lb_nest_request in = sample(), out;
	char *buf;
	size_t len;
	cr_assert_eq(lb_nest_encode(&in, &buf, &len), 0);
	for (size_t cut = 0; cut < len; cut++) {
		char *copy = malloc(len);
		memcpy(copy, buf, len);
		cr_expect_neq(lb_nest_decode(copy, cut, &out), 0, "truncated at %zu", cut);
		free(copy);
	}
	for (size_t i = 0; i < len; i++) {
		for (int v = 0; v < 256; v += 51) {
			char *copy = malloc(len);
			memcpy(copy, buf, len);
			copy[i] = (char)v;
			if (lb_nest_decode(copy, len, &out) == 0) {
				for (size_t k = 0; out.argv[k]; k++)
					cr_expect(out.argv[k] >= copy && out.argv[k] < copy + len);
				cr_expect_eq(out.exec_path[0], '/');
				lb_nest_request_free(&out);
			}
			free(copy);
		}
	}
	free(buf);
}

static struct lb_policy *load_text(const char *text, bool lint)
{
	struct lb_policy_inputs in = {.source = "t.policy", .text = text, .lint = lint};
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_assert_eq(lb_policy_load(&in, &p, &d), 0);
	lb_diags_free(&d);
	return p;
}

Test(nest, both_policies_must_allow_and_the_outer_refusal_is_marked)
{
	struct lb_policy *outer = load_text("allow read /a/**\ndeny read /a/o\n"
					    "allow syscall ptrace\nhide /h\n",
					    false);
	struct lb_policy *inner = load_text("allow read /a/**\nallow read /h/**\n"
					    "deny read /a/i\nallow read /b/**\n",
					    false);
	lb_policy_set_outer(inner, outer, false);
	struct lb_decision d;
	lb_policy_judge_path(inner, LB_CLASS_READ, "/a/ok", &d);
	cr_expect_eq(d.verdict, LB_VERDICT_ALLOW, "both allow");
	lb_policy_judge_path(inner, LB_CLASS_READ, "/a/o", &d);
	cr_expect_eq(d.verdict, LB_VERDICT_DENY);
	cr_expect(d.outer, "the outer decided");
	lb_policy_judge_path(inner, LB_CLASS_READ, "/a/i", &d);
	cr_expect_eq(d.verdict, LB_VERDICT_DENY);
	cr_expect_not(d.outer, "the inner decided");
	lb_policy_judge_path(inner, LB_CLASS_READ, "/b/x", &d);
	cr_expect_eq(d.verdict, LB_VERDICT_DENY, "only the inner allows /b");
	cr_expect(d.outer);
	lb_policy_judge_path(inner, LB_CLASS_READ, "/h/x", &d);
	cr_expect_eq(d.verdict, LB_VERDICT_HIDE, "the outer hides /h");
	cr_expect(lb_policy_hides_below(inner, "/"));
	cr_expect_not(lb_policy_allows_dangerous(inner, "ptrace"), "only the outer allows it");
	/* An outer in audit mode refuses nothing, but keeps the dangerous set. */
	lb_policy_set_outer(inner, outer, true);
	lb_policy_judge_path(inner, LB_CLASS_READ, "/b/x", &d);
	cr_expect_eq(d.verdict, LB_VERDICT_ALLOW);
	cr_expect_not(lb_policy_allows_dangerous(inner, "ptrace"));
	lb_policy_free(inner);
	lb_policy_free(outer);
}

Test(nest, a_rebuilt_policy_reads_only_what_was_sent)
{
	const char *const texts[] = {"/nowhere/top.policy", "include part.policy\n",
				     "/nowhere/part.policy", "\n\ndeny read /x\n", NULL};
	struct lb_policy_inputs in = {.source = "/nowhere/top.policy", .file_texts = texts};
	struct lb_policy *p = NULL;
	struct lb_diags d = {0};
	cr_assert_eq(lb_policy_load(&in, &p, &d), 0);
	lb_diags_free(&d);
	struct lb_decision dec;
	lb_policy_judge_path(p, LB_CLASS_READ, "/x", &dec);
	cr_expect_eq(dec.verdict, LB_VERDICT_DENY);
	cr_expect_str_eq(dec.file, "/nowhere/part.policy");
	cr_expect_eq(dec.line, 3);
	lb_policy_free(p);
	/* A file that exists on disk but was not sent is not read. */
	const char *const none[] = {"/nowhere/top.policy", "include /etc/passwd\n", NULL};
	in.file_texts = none;
	p = NULL;
	cr_expect_neq(lb_policy_load(&in, &p, &d), 0);
	cr_expect_gt(d.n_errors, 0);
	cr_expect_null(strstr(d.items[0].message, "root:"), "%s", d.items[0].message);
	lb_diags_free(&d);
}
