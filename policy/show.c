/* SPDX-License-Identifier: MIT */
/* lb_policy_show: the effective policy (includes followed, variables
 * expanded) written in the policy language, one rule per line, so that it
 * parses back to the same policy; then comments on the implicit grants.
 * What the kernel filter decides is the runtime's knowledge: `policy show`
 * appends it from the filter plan itself (lib/filter_plan.c).
 *
 * Nothing in the output depends on where a rule came from (file, line):
 * showing the shown text again gives the same bytes. One file has one
 * level of includes, so a rule that an including file overrides (and that
 * therefore never decides anything) is left out: flattened beside its
 * overrider, it could win again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "litebox/util.h"

/* A word as the lexer reads it back (the one quoting routine). */
static void put_word(FILE *f, const char *w, size_t literal_end)
{
	char small[512];
	size_t n = lb_policy_quote(w, literal_end, small, sizeof(small));
	if (n < sizeof(small)) {
		fputs(small, f);
		return;
	}
	char *big = malloc(n + 1);
	if (big) {
		lb_policy_quote(w, literal_end, big, n + 1);
		fputs(big, f);
	}
	free(big);
}

static const char *verdict_word(enum lb_verdict v)
{
	return v == LB_VERDICT_ALLOW ? "allow" : v == LB_VERDICT_AUDIT ? "audit" : "deny";
}

static void put_rule(FILE *f, const struct lb_rule *r)
{
	if (r->cls == LB_CLASS_HIDE)
		fputs("hide ", f);
	else
		fprintf(f, "%s %s ", verdict_word(r->verdict),
			lb_class_name((enum lb_class)r->cls));
	put_word(f, r->word, r->literal_end);
	if (r->word2) {
		fputc(' ', f);
		put_word(f, r->word2, 0);
	}
	if (r->origin == LB_ORIGIN_CLI && r->src)
		fprintf(f, "  # from %s", r->src->file);
	fputc('\n', f);
}

/* The largest unit that writes v exactly. */
static void put_scaled(FILE *f, uint64_t v, const char *const *units, const uint64_t *mult,
		       size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (v % mult[i] == 0) {
			fprintf(f, "%llu%s", (unsigned long long)(v / mult[i]), units[i]);
			return;
		}
	}
}

static void put_limits(FILE *f, const struct lb_limits *l)
{
	static const char *const tu[] = {"ms", "s", "m", "h"};
	static const uint64_t tm[] = {1, 1000, 60000, 3600000};
	static const char *const su[] = {"", "K", "M", "G", "T"};
	static const uint64_t sm[] = {1, 1ull << 10, 1ull << 20, 1ull << 30, 1ull << 40};
	if (l->time_ms) {
		fputs("limit time ", f);
		put_scaled(f, l->time_ms, tu, tm, LB_ARRAY_SIZE(tu));
		fputc('\n', f);
	}
	if (l->cpu_s) {
		fputs("limit cpu ", f);
		put_scaled(f, l->cpu_s * 1000, tu, tm, LB_ARRAY_SIZE(tu));
		fputc('\n', f);
	}
	if (l->memory) {
		fputs("limit memory ", f);
		put_scaled(f, l->memory, su, sm, LB_ARRAY_SIZE(su));
		fputc('\n', f);
	}
	if (l->fsize) {
		fputs("limit fsize ", f);
		put_scaled(f, l->fsize, su, sm, LB_ARRAY_SIZE(su));
		fputc('\n', f);
	}
	if (l->procs)
		fprintf(f, "limit procs %llu\n", (unsigned long long)l->procs);
	if (l->files)
		fprintf(f, "limit files %llu\n", (unsigned long long)l->files);
}

static void put_settings(FILE *f, const struct lb_policy *p)
{
	fputs("version 1\n", f);
	fprintf(f, "set mode %s\n", p->mode == LB_MODE_AUDIT ? "audit" : "enforce");
	if (p->mediation == LB_MEDIATION_FAST)
		fputs("set mediation fast\n", f);
	fprintf(f, "set on-deny %s\n", p->on_deny == LB_ON_DENY_KILL ? "kill" : "errno");
	fprintf(f, "set implicit-grants %s\n", p->implicit ? "on" : "off");
	if (p->log) {
		fputs("set log ", f);
		put_word(f, p->log, 0);
		fputc('\n', f);
	}
	put_limits(f, &p->limits);
	for (size_t i = 0; i < p->n_env; i++) {
		const struct lb_env_op *e = &p->env[i];
		fputs(e->kind == LB_ENV_CLEAR  ? "env clear"
		      : e->kind == LB_ENV_KEEP ? "env keep "
					       : "env set ",
		      f);
		if (e->arg)
			put_word(f, e->arg, 0);
		fputc('\n', f);
	}
}

static void put_implicit(FILE *f, const struct lb_policy *p)
{
	bool any = false;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *r = &p->rules[i];
		if (r->origin != LB_ORIGIN_IMPLICIT)
			continue;
		if (!any)
			fputs("\n# ---- implicit grants (set implicit-grants off removes them) "
			      "----\n",
			      f);
		any = true;
		fprintf(f, "# allow %s %s\n", lb_class_name((enum lb_class)r->cls), r->word);
	}
	if (p->implicit)
		fputs("# and the program's own file, its ELF interpreter and libraries (found when "
		      "it runs)\n",
		      f);
}

char *lb_policy_show(const struct lb_policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("# The effective policy: includes followed, variables expanded.\n", f);
	put_settings(f, p);
	bool cli = false;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *r = &p->rules[i];
		if (i == 0)
			fputc('\n', f);
		if (r->origin == LB_ORIGIN_CLI && !cli) {
			fputs("# from the command line\n", f);
			cli = true;
		}
		bool dead = r->cls != LB_CLASS_SYSCALL &&
			    (lb_rule_shadow(p, r) || lb_rule_shadow_flat(p, r));
		if ((r->origin == LB_ORIGIN_POLICY || r->origin == LB_ORIGIN_CLI) && !dead)
			put_rule(f, r);
	}
	put_implicit(f, p);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
