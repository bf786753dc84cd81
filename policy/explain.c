/* SPDX-License-Identifier: MIT */
/* `litebox policy show FILE --explain OBJECT...`: for one path or address,
 * every class's verdict, the rule that decides it (FILE:LINE) and why it
 * and not the next matching rule (Decisions, rule 2). Not on any hot path:
 * it scans every rule. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "litebox/util.h"

static const char *verdict_name(enum lb_verdict v)
{
	return v == LB_VERDICT_ALLOW   ? "allow"
	       : v == LB_VERDICT_AUDIT ? "audit (allowed and recorded)"
	       : v == LB_VERDICT_DENY  ? "deny"
				       : "hide (as if it did not exist)";
}

static bool matches(const struct lb_rule *r, const char *path, const struct lb_sockaddr_obj *a)
{
	if (path)
		return r->pat && lb_pattern_match(r->pat, path);
	return r->addr && lb_addr_pattern_match(r->addr, a);
}

/* The deciding rule and the best of the others that match. */
static void contenders(const struct lb_policy *p, unsigned cls, const char *path,
		       const struct lb_sockaddr_obj *a, const struct lb_rule **win,
		       const struct lb_rule **next)
{
	*win = *next = NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct lb_rule *r = &p->rules[i];
		if (!lb_rule_judges(r, cls) || !matches(r, path, a))
			continue;
		if (!*win || lb_rule_beats(r, *win)) {
			*next = *win;
			*win = r;
		} else if (!*next || lb_rule_beats(r, *next)) {
			*next = r;
		}
	}
}

/* Directories that lead to something granted may be walked and listed
 * (the core's rule), though no rule names them. */
static bool leads_to_grant(const struct lb_policy *p, const char *path)
{
	size_t len = strlen(path);
	if (strcmp(path, "/") == 0)
		return true;
	for (unsigned c = LB_CLASS_READ; c <= LB_CLASS_STAT; c++) {
		const char *const *pre;
		size_t n = lb_policy_grant_prefixes(p, (enum lb_class)c, &pre);
		for (size_t i = 0; i < n; i++)
			if (strncmp(pre[i], path, len) == 0 && pre[i][len] == '/')
				return true;
	}
	return false;
}

static void put_class(FILE *f, const struct lb_policy *p, unsigned cls, const char *path,
		      const struct lb_sockaddr_obj *a)
{
	const struct lb_rule *win, *next;
	char at[PATH_MAX + 32], text[PATH_MAX + 64], why[2 * PATH_MAX + 256];
	contenders(p, cls, path, a, &win, &next);
	fprintf(f, "  %-8s", lb_class_name((enum lb_class)cls));
	if (!win) {
		bool walk = path && (cls == LB_CLASS_STAT || cls == LB_CLASS_READ) &&
			    leads_to_grant(p, path);
		fprintf(
		    f, "deny: no rule matches%s\n",
		    walk ? " (the program may still stat it, and list it as a directory, because "
			   "it leads to a granted path)"
			 : "");
		return;
	}
	lb_rule_text(win, text, sizeof(text));
	fprintf(f, "%s: '%s' (%s)", verdict_name(win->verdict), text,
		lb_rule_where(win, at, sizeof(at)));
	if (win->cls == LB_CLASS_READ && cls == LB_CLASS_STAT)
		fputs(", read implies stat", f);
	if (!next) {
		fputs(", the only rule that matches\n", f);
		return;
	}
	lb_rule_why(win, next, why, sizeof(why));
	lb_rule_text(next, text, sizeof(text));
	fprintf(f, "\n  %-8s  over '%s' (%s): %s\n", "", text, lb_rule_where(next, at, sizeof(at)),
		why);
}

/* The stream writes buf only when it is closed. */
static char *finish(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

char *lb_policy_explain_path(const struct lb_policy *p, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "%s\n", path);
	for (unsigned c = LB_CLASS_READ; c <= LB_CLASS_STAT; c++)
		put_class(f, p, c, path, NULL);
	return finish(f, &buf);
}

static const char *decision_where(const struct lb_decision *d, char *buf, size_t len)
{
	if (d->origin == LB_ORIGIN_CLI)
		snprintf(buf, len, "%s", d->file ? d->file : "the command line");
	else
		snprintf(buf, len, "%s:%u", d->file ? d->file : "?", d->line);
	return buf;
}

/* A host name: whether litebox's resolver answers it, and which rule
 * decides a connect to an address it resolved to. */
static char *explain_name(FILE *f, char **buf, const struct lb_policy *p,
			  const struct lb_sockaddr_obj *a)
{
	struct lb_decision d;
	char at[PATH_MAX + 32];
	lb_policy_judge_name(p, a->names[0], &d);
	fprintf(f, "%s %s:%u (an address the name resolved to)\n",
		a->kind == LB_ADDR_UDP ? "udp" : "tcp", a->names[0], a->port);
	if (d.origin == LB_ORIGIN_DEFAULT)
		fprintf(f, "  %-8sdeny: no connect rule covers the name (answered NXDOMAIN)\n",
			"dns");
	else
		fprintf(f, "  %-8s%s by %s\n", "dns",
			d.verdict == LB_VERDICT_DENY ? "deny (answered NXDOMAIN)" : "resolved",
			decision_where(&d, at, sizeof(at)));
	put_class(f, p, LB_CLASS_CONNECT, NULL, a);
	return finish(f, buf);
}

char *lb_policy_explain_addr(const struct lb_policy *p, const struct lb_sockaddr_obj *a)
{
	char *buf = NULL, name[PATH_MAX + 64];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	if (a->n_names > 0)
		return explain_name(f, &buf, p, a);
	lb_sockaddr_format(a, name, sizeof(name));
	fprintf(f, "%s\n", name);
	put_class(f, p, LB_CLASS_CONNECT, NULL, a);
	put_class(f, p, LB_CLASS_BIND, NULL, a);
	return finish(f, &buf);
}
