/* SPDX-License-Identifier: MIT */
/* Turning observed accesses into a policy. Paths are first written back
 * with $CWD, $TMPDIR and $HOME, then folded into directory grants where
 * that stays narrow: the program's own trees ($CWD, $TMPDIR) and the
 * system's shared directories (/usr/lib, /usr/share...) become one rule
 * each; everything else stays exact, and known secrets (~/.ssh,
 * /etc/shadow...) are never folded into a wildcard. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "litebox/audit.h"
#include "litebox/dns_proto.h"
#include "litebox/learn.h"
#include "litebox/util.h"

struct obs {
	char *obj;
	unsigned long count;
};

/* Open-addressing string set with counts. */
struct table {
	struct obs *slots;
	size_t cap, n;
};

struct lb_learn {
	char *cwd, *home, *tmpdir;
	char *base;	 /* the policy learned on top of (include BASE), or NULL */
	char *base_text; /* or its text, when the output replaces it */
	pthread_mutex_t lock;
	struct table cls[LB_CLASS__COUNT];
	struct table refused_syscalls;
	unsigned long total;
};

static int table_grow(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct obs *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].obj)
			continue;
		size_t j = lb_hash_str(t->slots[i].obj) & (cap - 1);
		while (slots[j].obj)
			j = (j + 1) & (cap - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

static int table_add(struct table *t, const char *obj, unsigned long count)
{
	if ((t->n + 1) * 10 >= t->cap * 7 && table_grow(t) < 0)
		return -ENOMEM;
	size_t j = lb_hash_str(obj) & (t->cap - 1);
	while (t->slots[j].obj) {
		if (strcmp(t->slots[j].obj, obj) == 0) {
			t->slots[j].count += count;
			return 0;
		}
		j = (j + 1) & (t->cap - 1);
	}
	t->slots[j].obj = strdup(obj);
	if (!t->slots[j].obj)
		return -ENOMEM;
	t->slots[j].count = count;
	t->n++;
	return 0;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].obj);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int cmp_obs(const void *a, const void *b)
{
	return strcmp(((const struct obs *)a)->obj, ((const struct obs *)b)->obj);
}

/* The entries, sorted; the array is malloc'd, the strings borrowed. */
static struct obs *table_sorted(const struct table *t)
{
	struct obs *v = calloc(t->n + 1, sizeof(*v));
	if (!v)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].obj)
			v[k++] = t->slots[i];
	qsort(v, k, sizeof(*v), cmp_obs);
	return v;
}

int lb_learn_new(const struct lb_policy_vars *vars, struct lb_learn **out)
{
	lb_autofree struct lb_learn *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->cwd = vars->cwd ? strdup(vars->cwd) : NULL;
	l->home = vars->home ? strdup(vars->home) : NULL;
	l->tmpdir = strdup(vars->tmpdir ? vars->tmpdir : "/tmp");
	pthread_mutex_init(&l->lock, NULL);
	*out = steal_pointer(&l);
	return 0;
}

void lb_learn_free(struct lb_learn *l)
{
	if (!l)
		return;
	for (int c = 0; c < LB_CLASS__COUNT; c++)
		table_free(&l->cls[c]);
	table_free(&l->refused_syscalls);
	free(l->cwd);
	free(l->home);
	free(l->tmpdir);
	free(l->base);
	free(l->base_text);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int lb_learn_set_base(struct lb_learn *l, const char *base)
{
	free(l->base);
	l->base = base ? strdup(base) : NULL;
	return base && !l->base ? -ENOMEM : 0;
}

int lb_learn_set_base_text(struct lb_learn *l, const char *text)
{
	free(l->base_text);
	l->base_text = text ? strdup(text) : NULL;
	return text && !l->base_text ? -ENOMEM : 0;
}

int lb_learn_add(struct lb_learn *l, enum lb_class cls, const char *object, const char *verdict,
		 const char *rule)
{
	if ((size_t)cls >= LB_CLASS__COUNT || !object)
		return -EINVAL;
	if ((rule && strcmp(rule, "implicit") == 0) || lb_policy_implicit_path(object))
		return 0; /* implicit grants stay implicit */
	/* A write, exec, connect or bind the base does not grant is refused
	 * while learning (never changing the host, never reaching the
	 * network), and learned all the same. */
	bool refused_to_learn = (cls == LB_CLASS_WRITE || cls == LB_CLASS_EXEC ||
				 cls == LB_CLASS_CONNECT || cls == LB_CLASS_BIND) &&
				verdict && strcmp(verdict, "deny") == 0 && rule &&
				strcmp(rule, "default") == 0;
	if (l->base && cls != LB_CLASS_SYSCALL && verdict && strcmp(verdict, "would-deny") != 0 &&
	    !refused_to_learn)
		return 0; /* the base allows it, or refused it for good: no rule */
	pthread_mutex_lock(&l->lock);
	int rc;
	if (cls == LB_CLASS_SYSCALL) {
		/* Only refused (dangerous) syscalls reach the log as such:
		 * they are reported, never granted. */
		bool refused = verdict && strcmp(verdict, "allow") != 0;
		rc = refused ? table_add(&l->refused_syscalls, object, 1) : 0;
	} else {
		rc = table_add(&l->cls[cls], object, 1);
	}
	l->total++;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* A connect to an address the program resolved through the mediated DNS
 * is learned as a rule naming the host ("tcp pypi.org:443"), not the
 * address, which changes from run to run. */
int lb_learn_add_names(struct lb_learn *l, enum lb_class cls, const char *object,
		       const char *const *names, size_t n_names, const char *verdict,
		       const char *rule)
{
	const char *sp = object ? strchr(object, ' ') : NULL,
		   *colon = object ? strrchr(object, ':') : NULL;
	bool inet = sp && (strncmp(object, "tcp ", 4) == 0 || strncmp(object, "udp ", 4) == 0);
	if (cls != LB_CLASS_CONNECT || !n_names || !inet || !colon || colon < sp)
		return lb_learn_add(l, cls, object, verdict, rule);
	for (size_t i = 0; i < n_names; i++) {
		char named[LB_DNS_NAME_MAX + 32];
		int n = snprintf(named, sizeof(named), "%.4s%s%s", object, names[i], colon);
		if (n < 0 || (size_t)n >= sizeof(named))
			return lb_learn_add(l, cls, object, verdict, rule);
		int rc = lb_learn_add(l, cls, named, verdict, rule);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- a small reader for our own flat JSON records ------------------------------ */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static void put_utf8(char **o, unsigned cp)
{
	if (cp < 0x80) {
		*(*o)++ = (char)cp;
	} else if (cp < 0x800) {
		*(*o)++ = (char)(0xc0 | (cp >> 6));
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*(*o)++ = (char)(0xe0 | (cp >> 12));
		*(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	}
}

/* Parse a JSON string at p (at the opening quote) into out (cap bytes).
 * Returns the position after it, NULL on error. */
static const char *parse_string(const char *p, char *out, size_t cap)
{
	char *o = out, *end = out + cap - 4;
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if (o >= end)
			return NULL;
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'u': {
			unsigned cp = 0;
			for (int i = 1; i <= 4; i++) {
				char h = p[i];
				cp <<= 4;
				if (h >= '0' && h <= '9')
					cp |= (unsigned)(h - '0');
				else if (h >= 'a' && h <= 'f')
					cp |= (unsigned)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F')
					cp |= (unsigned)(h - 'A' + 10);
				else
					return NULL;
			}
			put_utf8(&o, cp);
			p += 4;
			break;
		}
		case '\0':
			return NULL;
		default:
			*o++ = *p;
		}
		p++;
	}
	if (*p != '"')
		return NULL;
	*o = '\0';
	return p + 1;
}

/* Skip any JSON value (numbers, literals, nested objects and arrays). */
static const char *skip_value(const char *p)
{
	char tmp[8192];
	if (*p == '"')
		return parse_string(p, tmp, sizeof(tmp));
	if (*p == '{' || *p == '[') {
		int depth = 0;
		do {
			if (*p == '"') {
				p = parse_string(p, tmp, sizeof(tmp));
				if (!p)
					return NULL;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				depth--;
			else if (!*p)
				return NULL;
			p++;
		} while (depth > 0);
		return p;
	}
	while (*p && *p != ',' && *p != '}')
		p++;
	return p;
}

#define MAX_NAMES 8

struct record {
	char cls[32], object[8192], verdict[32], rule[8192];
	bool is_event;
	bool absent;
	char names[MAX_NAMES][LB_DNS_NAME_MAX];
	size_t n_names;
};

/* "names":["a.example",...]: at most MAX_NAMES kept. */
static const char *parse_names(const char *p, struct record *r)
{
	if (*p != '[')
		return skip_value(p);
	p = skip_ws(p + 1);
	while (*p == '"') {
		char tmp[LB_DNS_NAME_MAX];
		if (!(p = parse_string(p, tmp, sizeof(tmp))))
			return NULL;
		if (r->n_names < MAX_NAMES)
			memcpy(r->names[r->n_names++], tmp, sizeof(tmp));
		p = skip_ws(p);
		if (*p == ',')
			p = skip_ws(p + 1);
	}
	return *p == ']' ? p + 1 : NULL;
}

static int parse_record(const char *line, struct record *r)
{
	const char *p = skip_ws(line);
	if (*p == '\0')
		return 1; /* blank line */
	if (*p++ != '{')
		return -EINVAL;
	for (;;) {
		char key[64];
		p = skip_ws(p);
		if (*p == '}')
			return 0;
		if (!(p = parse_string(p, key, sizeof(key))))
			return -EINVAL;
		p = skip_ws(p);
		if (*p++ != ':')
			return -EINVAL;
		p = skip_ws(p);
		char *dst = NULL;
		size_t cap = 0;
		if (strcmp(key, "class") == 0)
			dst = r->cls, cap = sizeof(r->cls);
		else if (strcmp(key, "object") == 0)
			dst = r->object, cap = sizeof(r->object);
		else if (strcmp(key, "verdict") == 0)
			dst = r->verdict, cap = sizeof(r->verdict);
		else if (strcmp(key, "rule") == 0)
			dst = r->rule, cap = sizeof(r->rule);
		else if (strcmp(key, "event") == 0)
			r->is_event = true;
		else if (strcmp(key, "absent") == 0)
			r->absent = strncmp(p, "true", 4) == 0;
		if (strcmp(key, "names") == 0)
			p = parse_names(p, r);
		else
			p = dst && *p == '"' ? parse_string(p, dst, cap) : skip_value(p);
		if (!p)
			return -EINVAL;
		p = skip_ws(p);
		if (*p == ',')
			p++;
		else if (*p != '}')
			return -EINVAL;
	}
}

int lb_learn_add_json(struct lb_learn *l, const char *line)
{
	struct record r = {0};
	int rc = parse_record(line, &r);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (r.is_event || !r.cls[0] || r.absent)
		return 0; /* the summary; lookups of nothing need no rule */
	int cls = lb_class_from_name(r.cls);
	if (cls < 0)
		return -EINVAL;
	const char *names[MAX_NAMES];
	for (size_t i = 0; i < r.n_names; i++)
		names[i] = r.names[i];
	return lb_learn_add_names(l, (enum lb_class)cls, r.object, names, r.n_names, r.verdict,
				  r.rule);
}

/* ---- generalisation ----------------------------------------------------------------- */

static bool under(const char *path, const char *dir)
{
	if (!dir || !*dir)
		return false;
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* out = a + b, truncated to len (paths longer than PATH_MAX never occur:
 * the resolver refuses them). */
static void join(char *out, size_t len, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la >= len)
		la = len - 1;
	memmove(out, a, la); /* a may be out itself */
	if (lb >= len - la)
		lb = len - la - 1;
	memmove(out + la, b, lb);
	out[la + lb] = '\0';
}

/* Never folded into a wildcard: a grant must name these exactly. */
static bool is_secret(const struct lb_learn *l, const char *path)
{
	static const char *const system[] = {"/etc/shadow",  "/etc/gshadow",   "/etc/ssh",
					     "/etc/sudoers", "/etc/sudoers.d", "/root"};
	static const char *const in_home[] = {".ssh",	".aws",	   ".gnupg", ".config/gh",
					      ".netrc", ".docker", ".kube",  ".git-credentials",
					      ".pgpass"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(system); i++) {
		/* /root is a secret of other users, not of root's own runs */
		if (l->home && strcmp(system[i], "/root") == 0 && strcmp(l->home, "/root") == 0)
			continue;
		if (under(path, system[i]))
			return true;
	}
	if (!l->home || strcmp(l->home, "/") == 0)
		return false;
	for (size_t i = 0; i < LB_ARRAY_SIZE(in_home); i++) {
		char p[4200];
		join(p, sizeof(p), l->home, "/");
		join(p, sizeof(p), p, in_home[i]);
		if (under(path, p))
			return true;
	}
	return false;
}

/* The variable form of path: "$CWD/src/a.c". The longest matching
 * variable wins ($CWD is usually inside $HOME). */
static void with_vars(const struct lb_learn *l, const char *path, char *out, size_t len)
{
	const struct {
		const char *name, *dir;
	} vars[] = {{"$CWD", l->cwd}, {"$TMPDIR", l->tmpdir}, {"$HOME", l->home}};
	size_t best = LB_ARRAY_SIZE(vars), best_len = 0;
	for (size_t i = 0; i < LB_ARRAY_SIZE(vars); i++) {
		const char *d = vars[i].dir;
		if (!d || strcmp(d, "/") == 0 || !under(path, d))
			continue;
		if (strlen(d) > best_len) {
			best = i;
			best_len = strlen(d);
		}
	}
	if (best == LB_ARRAY_SIZE(vars))
		join(out, len, path, "");
	else
		join(out, len, vars[best].name, path + best_len);
}

/* First n components of p ("/usr/lib/x/y", 2 -> "/usr/lib"). */
static void first_components(const char *p, int n, char *out, size_t len)
{
	const char *s = p;
	for (int i = 0; i < n && *s; i++) {
		s = strchr(s + 1, '/');
		if (!s) {
			s = p + strlen(p);
			break;
		}
	}
	size_t k = (size_t)(s - p);
	snprintf(out, len, "%.*s", (int)(k < len ? k : len - 1), p);
}

static int depth_of(const char *p)
{
	int d = 0;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

/* Kinds of generalised rules, the first byte of each key of the folded
 * tables: an exact name, a secret (exact, never folded further), or a
 * directory fold (the text ends in a globstar component or a lone star
 * component, the only wildcards: the directory part is a name and is
 * written with its '*' and '?' escaped). */
enum { K_EXACT = 'E', K_SECRET = 'S', K_FOLD = 'F' };

static void keyed(char kind, const char *text, char *out, size_t len)
{
	size_t n = strlen(text);
	if (n > len - 2)
		n = len - 2;
	out[0] = kind;
	memcpy(out + 1, text, n);
	out[n + 1] = '\0';
}

/* The rule key that covers path (variable form). */
static void fold(const struct lb_learn *l, const char *path, char *out, size_t len)
{
	char v[4096], head[4096], tmp[4200];
	with_vars(l, path, v, sizeof(v));
	if (is_secret(l, path)) {
		keyed(K_SECRET, v, out, len); /* exact, never folded */
		return;
	}
	if (strncmp(v, "$CWD", 4) == 0 || strncmp(v, "$TMPDIR", 7) == 0) {
		keyed(K_FOLD, v[1] == 'C' ? "$CWD/**" : "$TMPDIR/**", out, len);
		return;
	}
	if (strncmp(v, "$HOME/", 6) == 0) {
		/* $HOME/.cache/pip/x gives $HOME/.cache and everything below;
		 * $HOME/.bashrc stays exact. */
		first_components(v + 5, 1, head, sizeof(head));
		if (depth_of(v + 5) > 1) {
			snprintf(tmp, sizeof(tmp), "$HOME%s/**", head);
			keyed(K_FOLD, tmp, out, len);
		} else {
			keyed(K_EXACT, v, out, len);
		}
		return;
	}
	if (under(v, "/proc/self") || strncmp(v, "/proc/", 6) == 0) {
		keyed(K_FOLD, under(v, "/proc/self") ? "/proc/self/**" : "/proc/**", out, len);
		return;
	}
	static const char *const shared2[] = {"/usr", "/opt", "/sys", "/var/lib", "/var/cache"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(shared2); i++) {
		if (under(v, shared2[i]) && depth_of(v) > depth_of(shared2[i]) + 1) {
			first_components(v, depth_of(shared2[i]) + 1, head, sizeof(head));
			snprintf(tmp, sizeof(tmp), "%s/**", head);
			keyed(K_FOLD, tmp, out, len);
			return;
		}
	}
	static const char *const shared1[] = {"/lib", "/lib64", "/lib32", "/bin", "/sbin"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(shared1); i++) {
		if (under(v, shared1[i]) && strcmp(v, shared1[i]) != 0) {
			snprintf(tmp, sizeof(tmp), "%s/**", shared1[i]);
			keyed(K_FOLD, tmp, out, len);
			return;
		}
	}
	if (under(v, "/etc") && depth_of(v) > 2) {
		/* /etc/ssl/certs/x gives /etc/ssl and below; never all of /etc,
		 * which holds secrets. */
		first_components(v, 2, head, sizeof(head));
		snprintf(tmp, sizeof(tmp), "%s/**", head);
		keyed(K_FOLD, tmp, out, len);
		return;
	}
	keyed(K_EXACT, v, out, len);
}

static bool is_usr_dir_fold(const char *k)
{
	return k[0] == K_FOLD && strncmp(k + 1, "/usr/", 5) == 0 && depth_of(k + 1) == 3 &&
	       strcmp(k + strlen(k) - 3, "/**") == 0;
}

/* Second pass: three or more rules for directories right under /usr
 * (/usr/lib, /usr/share...) become one rule for /usr. */
static void merge_usr(struct table *t)
{
	size_t n = 0;
	unsigned long sum = 0;
	for (size_t i = 0; i < t->cap; i++) {
		const char *k = t->slots[i].obj;
		if (k && is_usr_dir_fold(k))
			n++;
		if (k && k[0] != K_SECRET && strncmp(k + 1, "/usr/", 5) == 0)
			sum += t->slots[i].count;
	}
	if (n < 3)
		return;
	struct table merged = {0};
	for (size_t i = 0; i < t->cap; i++) {
		const char *k = t->slots[i].obj;
		if (k && (k[0] == K_SECRET || strncmp(k + 1, "/usr/", 5) != 0))
			table_add(&merged, k, t->slots[i].count);
	}
	table_add(&merged, "F/usr/**", sum);
	table_free(t);
	*t = merged;
}

/* Third pass: a directory the program listed, and of which it then used
 * many entries the same way (ls -l, a build scanning /etc), gets one rule
 * for its entries (DIR, then a lone star component) instead of one rule
 * per entry. Not when a
 * secret is among them. */
#define LB_WHOLESALE 8

static bool entry_of(const char *k, const char *dir, size_t dlen)
{
	return k[0] == K_EXACT && strncmp(k + 1, dir, dlen) == 0 && k[1 + dlen] == '/' &&
	       k[2 + dlen] && !strchr(k + 2 + dlen, '/');
}

static void fold_listed(struct table *t, const struct table *listed)
{
	for (size_t d = 0; d < listed->cap; d++) {
		const char *dk = listed->slots[d].obj;
		if (!dk || dk[0] != K_EXACT)
			continue;
		const char *dir = dk + 1;
		size_t dlen = strlen(dir), n = 0;
		unsigned long sum = 0;
		bool secret = false;
		for (size_t i = 0; i < t->cap; i++) {
			const char *k = t->slots[i].obj;
			if (!k)
				continue;
			if (entry_of(k, dir, dlen)) {
				n++;
				sum += t->slots[i].count;
			}
			secret |= k[0] == K_SECRET && strncmp(k + 1, dir, dlen) == 0 &&
				  k[1 + dlen] == '/';
		}
		if (n < LB_WHOLESALE || secret)
			continue;
		struct table merged = {0};
		for (size_t i = 0; i < t->cap; i++) {
			const char *k = t->slots[i].obj;
			if (k && !entry_of(k, dir, dlen))
				table_add(&merged, k, t->slots[i].count);
		}
		char key[4200];
		snprintf(key, sizeof(key), "%c%s/*", K_FOLD, dir);
		table_add(&merged, key, sum);
		table_free(t);
		*t = merged;
	}
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		size_t nc = (*cap + n + 1) * 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* A rule object from its key: the variable ($CWD...) as a variable, the
 * rest with lb_policy_quote, the names in it (a '*' in a file name too)
 * as names and only a fold's own tail as wildcards. */
static void append_key(char **buf, size_t *len, size_t *cap, const char *key)
{
	const char *text = key + 1, *rest = text;
	char var[16] = "";
	if (text[0] == '$') {
		size_t vl = strcspn(text, "/");
		if (vl < sizeof(var)) {
			memcpy(var, text, vl);
			var[vl] = '\0';
			rest = text + vl;
		}
	}
	size_t rl = strlen(rest), lit = rl;
	if (key[0] == K_FOLD)
		lit = rl >= 3 && strcmp(rest + rl - 3, "/**") == 0 ? rl - 3 : rl >= 2 ? rl - 2 : 0;
	size_t need = lb_policy_quote(rest, lit, NULL, 0);
	char *q = malloc(need + 1);
	if (!q)
		return;
	lb_policy_quote(rest, lit, q, need + 1);
	append(buf, len, cap, var);
	if (rest[0] || !var[0])
		append(buf, len, cap, q);
	free(q);
}

/* An address object ("tcp 127.0.0.1:80", "unix /path"): the family word,
 * then the address quoted. Unix paths are patterns in the language, and
 * address patterns have no escaped '*': such a name is not granted. */
static bool append_addr(char **buf, size_t *len, size_t *cap, const char *obj)
{
	const char *sp = strchr(obj, ' ');
	if (!sp)
		return false;
	if (strncmp(obj, "unix ", 5) == 0 && strpbrk(sp + 1, "*?"))
		return false;
	char fam[16];
	snprintf(fam, sizeof(fam), "%.*s ", (int)(sp - obj), obj);
	size_t need = lb_policy_quote(sp + 1, 0, NULL, 0);
	char *q = malloc(need + 1);
	if (!q)
		return false;
	lb_policy_quote(sp + 1, 0, q, need + 1);
	append(buf, len, cap, fam);
	append(buf, len, cap, q);
	free(q);
	return true;
}

static void appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	char tmp[8400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	size_t n = strlen(tmp);
	if (*len + n + 1 > *cap) {
		size_t nc = (*cap + n + 1) * 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, tmp, n + 1);
	*len += n;
}

/* A comment line learn itself wrote (the header, the section marks): not
 * carried over, so that learning again does not stack them. */
static bool own_comment(const char *line, size_t n)
{
	static const char *const own[] = {
	    "# Generated by litebox from ", "# Each rule says how many accesses",
	    "# enforce it with: litebox run", "# ---- the policy this was learned on",
	    "# ---- learned in this run"};
	for (size_t i = 0; i < LB_ARRAY_SIZE(own); i++)
		if (n >= strlen(own[i]) && strncmp(line, own[i], strlen(own[i])) == 0)
			return true;
	return false;
}

/* The base's text without its `version` line (the learned file has one). */
static void append_base_text(char **buf, size_t *len, size_t *cap, const char *text)
{
	append(buf, len, cap, "# ---- the policy this was learned on, as it was ----\n");
	bool version_seen = false;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *q = p + strspn(p, " \t");
		bool is_version =
		    !version_seen && strncmp(q, "version", 7) == 0 && (q[7] == ' ' || q[7] == '\t');
		if (is_version)
			version_seen = true;
		else if (!own_comment(p, n))
			appendf(buf, len, cap, "%.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	append(buf, len, cap, "# ---- learned in this run ----\n");
}

/* Does the fold key r cover the key k (the same text, or below it)? */
static bool key_covers(const char *r, const char *k)
{
	if (strcmp(r + 1, k + 1) == 0)
		return true;
	if (r[0] != K_FOLD)
		return false;
	size_t n = strlen(r + 1);
	const char *rt = r + 1, *kt = k + 1;
	if (n >= 3 && strcmp(rt + n - 3, "/**") == 0)
		return strncmp(kt, rt, n - 3) == 0 && (kt[n - 3] == '/' || kt[n - 3] == '\0');
	if (n >= 2 && strcmp(rt + n - 2, "/*") == 0) /* the entries of a listed directory */
		return k[0] != K_FOLD && strncmp(kt, rt, n - 2) == 0 && kt[n - 2] == '/' &&
		       kt[n - 1] && !strchr(kt + n - 1, '/');
	return false;
}

static bool read_covers(const struct table *read, const char *key)
{
	for (size_t i = 0; i < read->cap; i++)
		if (read->slots[i].obj && key_covers(read->slots[i].obj, key))
			return true;
	return false;
}

/* "tcp NAME:*" (a name the program asked the resolver for) when a rule
 * "tcp NAME:PORT" or "udp NAME:PORT" says where it then connected. */
static bool name_has_port_rule(const struct table *t, const char *obj)
{
	size_t n = strlen(obj);
	if (strncmp(obj, "tcp ", 4) != 0 || n < 7 || strcmp(obj + n - 2, ":*") != 0)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		const char *r = t->slots[i].obj;
		if (r && strcmp(r, obj) != 0 && strlen(r) > n - 1 &&
		    (strncmp(r, "tcp ", 4) == 0 || strncmp(r, "udp ", 4) == 0) &&
		    strncmp(r + 4, obj + 4, n - 5) == 0)
			return true;
	}
	return false;
}

/* Another rule of the table, a directory fold, covers key. */
static bool covered_by_wider(const struct table *t, const char *key)
{
	for (size_t i = 0; i < t->cap; i++) {
		const char *r = t->slots[i].obj;
		if (r && strcmp(r, key) != 0 && key_covers(r, key))
			return true;
	}
	return false;
}

static void append_escaped_comment(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = lb_text_escape(s, NULL, 0);
	char *e = malloc(need + 1);
	if (!e)
		return;
	lb_text_escape(s, e, need + 1);
	append(buf, len, cap, e);
	free(e);
}

char *lb_learn_policy(struct lb_learn *l, const char *source_note)
{
	static const enum lb_class order[] = {LB_CLASS_READ, LB_CLASS_WRITE,   LB_CLASS_EXEC,
					      LB_CLASS_STAT, LB_CLASS_CONNECT, LB_CLASS_BIND};
	struct table folded[LB_CLASS__COUNT] = {0};
	char *buf = NULL;
	size_t len = 0, cap = 0;

	pthread_mutex_lock(&l->lock);
	for (size_t k = 0; k < LB_ARRAY_SIZE(order); k++) {
		enum lb_class c = order[k];
		const struct table *t = &l->cls[c];
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->slots[i].obj)
				continue;
			char pat[4200];
			if (c == LB_CLASS_CONNECT || c == LB_CLASS_BIND)
				snprintf(pat, sizeof(pat), "%s", t->slots[i].obj);
			else
				fold(l, t->slots[i].obj, pat, sizeof(pat));
			table_add(&folded[c], pat, t->slots[i].count);
		}
		if (c != LB_CLASS_CONNECT && c != LB_CLASS_BIND)
			merge_usr(&folded[c]);
	}
	fold_listed(&folded[LB_CLASS_STAT], &folded[LB_CLASS_READ]);
	fold_listed(&folded[LB_CLASS_READ], &folded[LB_CLASS_READ]);
	/* on a base, only what the base did not allow is recorded */
	appendf(&buf, &len, &cap, "version 1\n# Generated by litebox from %lu recorded access%s%s",
		l->total, l->total == 1 ? "" : "es", l->base ? " beyond the base" : "");
	if (source_note) {
		append(&buf, &len, &cap, " of ");
		append_escaped_comment(&buf, &len, &cap,
				       source_note); /* one line, whatever it holds */
	}
	appendf(&buf, &len, &cap,
		".\n# Each rule says how many accesses it covers. Review it, tighten it, then\n"
		"# enforce it with: litebox run -p THIS-FILE -- PROGRAM\n");
	if (l->base_text) {
		append_base_text(&buf, &len, &cap, l->base_text);
	} else if (l->base) {
		/* what the base allowed needs no rule: only the differences follow */
		size_t need = lb_policy_quote(l->base, 0, NULL, 0);
		char *q = malloc(need + 1);
		if (q) {
			lb_policy_quote(l->base, 0, q, need + 1);
			appendf(&buf, &len, &cap, "include %s\n", q);
			free(q);
		}
	}
	for (size_t k = 0; k < LB_ARRAY_SIZE(order); k++) {
		enum lb_class c = order[k];
		lb_autofree struct obs *v = table_sorted(&folded[c]);
		if (!v)
			continue;
		bool header = false;
		for (size_t i = 0; v[i].obj; i++) {
			/* read implies stat; a directory rule covers what is below */
			if (c == LB_CLASS_STAT && read_covers(&folded[LB_CLASS_READ], v[i].obj))
				continue;
			if (c != LB_CLASS_CONNECT && c != LB_CLASS_BIND &&
			    covered_by_wider(&folded[c], v[i].obj))
				continue;
			if (c == LB_CLASS_CONNECT && name_has_port_rule(&folded[c], v[i].obj))
				continue;
			if (!header) {
				appendf(&buf, &len, &cap, "\n");
				header = true;
			}
			size_t mark = len;
			appendf(&buf, &len, &cap, "allow %-7s ", lb_class_name(c));
			if (c != LB_CLASS_CONNECT && c != LB_CLASS_BIND) {
				append_key(&buf, &len, &cap, v[i].obj);
			} else if (!append_addr(&buf, &len, &cap, v[i].obj)) {
				len = mark;
				appendf(&buf, &len, &cap,
					"# not granted, a name with '*' or '?': %s ",
					lb_class_name(c));
				append_escaped_comment(&buf, &len, &cap, v[i].obj);
			}
			appendf(&buf, &len, &cap, "  # %lu access%s\n", v[i].count,
				v[i].count == 1 ? "" : "es");
		}
	}
	lb_autofree struct obs *ref = table_sorted(&l->refused_syscalls);
	for (size_t i = 0; ref && ref[i].obj; i++) {
		appendf(&buf, &len, &cap, "%s# refused and not granted (dangerous): syscall ",
			i == 0 ? "\n" : "");
		append_escaped_comment(&buf, &len, &cap, ref[i].obj);
		appendf(&buf, &len, &cap, " (%lu time%s)\n", ref[i].count,
			ref[i].count == 1 ? "" : "s");
	}
	pthread_mutex_unlock(&l->lock);
	for (int c = 0; c < LB_CLASS__COUNT; c++)
		table_free(&folded[c]);
	return buf;
}
