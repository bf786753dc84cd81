/* SPDX-License-Identifier: MIT */
/* `litebox run` and `litebox learn`: parse options, load the policy, start
 * the program under the core and map the outcome to an exit status. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "report.h"
#include "litebox/audit.h"
#include "litebox/core.h"
#include "litebox/elf.h"
#include "litebox/launcher.h"
#include "litebox/learn.h"
#include "litebox/overlay.h"
#include "litebox/nest.h"
#include "litebox/policy.h"
#include "litebox/text.h"
#include "litebox/util.h"

extern char **environ;

#define MAX_CLI_RULES 256

struct run_opts {
	const char *policy;
	const char *log;
	const char *platform;
	bool audit, quiet, verbose, learn, fail_on_deny, dry_run;
	bool dry_run_keeps;  /* --dry-run --overlay DIR: DIR is the user's, kept */
	bool nested;	     /* a nested domain's run, supervised for an inner litebox */
	const char *overlay; /* --overlay DIR, or --dry-run's throwaway one */
	enum lb_log_level log_level;
	uint64_t timeout_ms;
	const char *timeout_text; /* as typed, for the message */
	struct lb_cli_rule rules[MAX_CLI_RULES];
	char *rule_storage[MAX_CLI_RULES];
	size_t n_rules;
	const char *learn_out;
};

/* ---- option parsing ------------------------------------------------------------ */

/* The canonical form of a path typed on the command line: absolute
 * (relative to here), "." and ".." resolved as the kernel would (through
 * symlinks where the path exists, since the policy judges real paths). */
static char *canonical_cli_path(const char *arg)
{
	char cwd[PATH_MAX];
	lb_autofree char *abs = NULL;
	if (arg[0] == '/')
		abs = strdup(arg);
	else if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, arg) < 0)
		abs = NULL;
	if (!abs)
		return NULL;
	char *real = realpath(abs, NULL);
	if (real)
		return real;
	/* Not there yet: resolve lexically. */
	char *out = malloc(strlen(abs) + 2);
	if (!out)
		return NULL;
	size_t n = 0;
	for (char *save = NULL, *c = strtok_r(abs, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			n = n > 0 ? n - 1 : 0;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, c, strlen(c));
		n += strlen(c);
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

/* A directory (or a path ending in '/') stands for its whole tree. */
static char *cli_path_pattern(const char *arg)
{
	lb_autofree char *path = canonical_cli_path(arg);
	if (!path)
		return NULL;
	struct stat st;
	size_t len = strlen(arg);
	bool tree = arg[len - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) ||
		    strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0;
	char *out = NULL;
	if (asprintf(&out, "%s%s", path, !tree ? "" : strcmp(path, "/") == 0 ? "**" : "/**") < 0)
		return NULL;
	return out;
}

static int add_cli_rule(struct run_opts *o, enum lb_class cls, const char *flag, const char *arg)
{
	if (o->n_rules == MAX_CLI_RULES) {
		lb_msg("too many --allow-* options (at most %d)", MAX_CLI_RULES);
		return -1;
	}
	char *obj;
	bool is_path = cls == LB_CLASS_READ || cls == LB_CLASS_WRITE || cls == LB_CLASS_EXEC;
	if (is_path) {
		if (!arg[0]) {
			lb_msg("%s needs a path", flag);
			return -1;
		}
		if (!(obj = cli_path_pattern(arg))) {
			lb_msg("%s '%s': %s", flag, arg, strerror(errno));
			return -1;
		}
	} else if (!(obj = strdup(arg))) {
		return -1;
	}
	o->rule_storage[o->n_rules] = obj;
	o->rules[o->n_rules++] = (struct lb_cli_rule){.cls = cls, .object = obj, .flag = flag};
	return 0;
}

enum {
	OPT_AUDIT = 256,
	OPT_LOG,
	OPT_TIMEOUT,
	OPT_PLATFORM,
	OPT_ALLOW_READ,
	OPT_ALLOW_WRITE,
	OPT_ALLOW_EXEC,
	OPT_ALLOW_CONNECT,
	OPT_ALLOW_BIND,
	OPT_FAIL_ON_DENY,
	OPT_LOG_LEVEL,
	OPT_OVERLAY,
	OPT_DRY_RUN,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"policy", required_argument, NULL, 'p'},
    {"audit", no_argument, NULL, OPT_AUDIT},
    {"log", required_argument, NULL, OPT_LOG},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"allow-read", required_argument, NULL, OPT_ALLOW_READ},
    {"allow-write", required_argument, NULL, OPT_ALLOW_WRITE},
    {"allow-exec", required_argument, NULL, OPT_ALLOW_EXEC},
    {"allow-connect", required_argument, NULL, OPT_ALLOW_CONNECT},
    {"allow-bind", required_argument, NULL, OPT_ALLOW_BIND},
    {"fail-on-deny", no_argument, NULL, OPT_FAIL_ON_DENY},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"overlay", required_argument, NULL, OPT_OVERLAY},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, OPT_HELP},
    {0},
};

static bool long_option_takes_value(const char *name)
{
	if (strncmp(name, "--", 2) != 0)
		return false;
	for (size_t i = 0; long_opts[i].name; i++)
		if (strcmp(name + 2, long_opts[i].name) == 0)
			return long_opts[i].has_arg == required_argument;
	return false;
}

static const struct {
	int opt;
	enum lb_class cls;
	const char *flag;
} allow_flags[] = {
    {OPT_ALLOW_READ, LB_CLASS_READ, "--allow-read"},
    {OPT_ALLOW_WRITE, LB_CLASS_WRITE, "--allow-write"},
    {OPT_ALLOW_EXEC, LB_CLASS_EXEC, "--allow-exec"},
    {OPT_ALLOW_CONNECT, LB_CLASS_CONNECT, "--allow-connect"},
    {OPT_ALLOW_BIND, LB_CLASS_BIND, "--allow-bind"},
};

static int handle_opt(struct run_opts *o, int c, bool learn)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(allow_flags); i++)
		if (c == allow_flags[i].opt)
			return add_cli_rule(o, allow_flags[i].cls, allow_flags[i].flag, optarg);
	switch (c) {
	case 'p':
		o->policy = optarg;
		return 0;
	case OPT_AUDIT:
		o->audit = true;
		return 0;
	case OPT_LOG:
		o->log = optarg;
		return 0;
	case OPT_TIMEOUT:
		o->timeout_text = optarg;
		if (lb_parse_duration_ms(optarg, &o->timeout_ms) < 0 || o->timeout_ms == 0) {
			lb_msg("invalid --timeout '%s': give a number with s, m, h or ms (90s, 5m)",
			       optarg);
			return -1;
		}
		return 0;
	case OPT_PLATFORM:
		if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "seccomp") != 0 &&
		    strcmp(optarg, "ptrace") != 0) {
			lb_msg("invalid --platform '%s': give auto, seccomp or ptrace%s", optarg,
			       lb_suggest_tail(optarg, (const char *const[]){"auto", "seccomp",
									     "ptrace", NULL}));
			return -1;
		}
		o->platform = optarg;
		return 0;
	case OPT_FAIL_ON_DENY:
		o->fail_on_deny = true;
		return 0;
	case OPT_OVERLAY:
		o->overlay = optarg;
		return 0;
	case OPT_DRY_RUN:
		o->dry_run = true;
		return 0;
	case OPT_LOG_LEVEL:
		if (strcmp(optarg, "all") == 0) {
			o->log_level = LB_LOG_ALL;
		} else if (strcmp(optarg, "refused") == 0) {
			o->log_level = LB_LOG_REFUSED;
		} else {
			lb_msg(
			    "invalid --log-level '%s': give refused or all%s", optarg,
			    lb_suggest_tail(optarg, (const char *const[]){"refused", "all", NULL}));
			return -1;
		}
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'o':
		if (!learn) {
			lb_msg("-o is an option of 'litebox learn'");
			return -1;
		}
		o->learn_out = optarg;
		return 0;
	case OPT_HELP:
	case 'h':
		return 1;
	default:
		return -1; /* getopt printed the reason */
	}
}

/* The option getopt could not take, with the closest known one. */
static void report_bad_option(int argc, char **argv, const char *cmd, bool needs_value)
{
	const char *arg = optind - 1 < argc ? argv[optind - 1] : "?";
	if (needs_value ||
	    (optopt && arg[0] == '-' && arg[1] == optopt && !arg[2] && strchr("po", optopt))) {
		lb_msg("option '%s' needs a value (see 'litebox help %s')", arg, cmd);
		return;
	}
	char shortopt[3] = {'-', (char)optopt, 0};
	const char *given = optopt && arg[1] != '-' ? shortopt : arg;
	char name[128];
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(given, "="), given);
	const char *known[LB_ARRAY_SIZE(long_opts) + 4];
	static char storage[LB_ARRAY_SIZE(long_opts)][32];
	size_t n = 0;
	for (size_t i = 0; long_opts[i].name; i++) {
		snprintf(storage[i], sizeof(storage[i]), "--%s", long_opts[i].name);
		known[n++] = storage[i];
	}
	known[n] = NULL;
	if (long_option_takes_value(name))
		lb_msg("option '%s' needs a value (see 'litebox help %s')", name, cmd);
	else
		lb_msg("unknown option '%s'%s (see 'litebox help %s')", name,
		       lb_suggest_tail(name, known), cmd);
}

static int parse_opts(int argc, char **argv, struct run_opts *o, bool learn)
{
	int c;
	opterr = 0;
	optind = 1;
	const char *cmd = learn ? "learn" : "run";
	while ((c = getopt_long(argc, argv, "+p:qvo:h", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			report_bad_option(argc, argv, cmd, c == ':');
			return -1;
		}
		int rc = handle_opt(o, c, learn);
		if (rc)
			return rc;
	}
	if (optind >= argc) {
		lb_msg("no program given: litebox %s [OPTIONS] -- PROGRAM [ARG...]",
		       learn ? "learn -o FILE" : "run");
		return -1;
	}
	if (learn && !o->learn_out) {
		lb_msg("litebox learn needs -o FILE");
		return -1;
	}
	return 0;
}

/* ---- policy ---------------------------------------------------------------------- */

static void print_diags(const struct lb_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct lb_diag *g = &d->items[i];
		const char *sev = g->severity == LB_DIAG_ERROR ? "error" : "warning";
		if (g->line == 0) /* the whole file: missing, unreadable, a directory */
			fprintf(stderr, "%s: %s: %s\n", g->file ? g->file : "?", sev, g->message);
		else
			fprintf(stderr, "%s:%u:%u: %s: %s\n", g->file ? g->file : "?", g->line,
				g->col, sev, g->message);
		if (g->include_chain) {
			const char *p = g->include_chain;
			while (*p) {
				size_t l = strcspn(p, "\n");
				fprintf(stderr, "  %.*s\n", (int)l, p);
				p += l + (p[l] == '\n');
			}
		}
	}
}

struct implicit {
	const char *read[512];
	size_t n_read;
	const char *exec[8];
	size_t n_exec;
	char *owned[8]; /* realpath()s made for the lists */
	size_t n_owned;
};

static const char *keep_real(struct implicit *im, const char *path)
{
	char *r = realpath(path, NULL);
	if (!r || im->n_owned == LB_ARRAY_SIZE(im->owned)) {
		free(r);
		return path;
	}
	im->owned[im->n_owned++] = r;
	return r;
}

static void add_implicit_program(struct implicit *im, const struct lb_program *p)
{
	if (!p)
		return;
	if (im->n_exec < LB_ARRAY_SIZE(im->exec))
		im->exec[im->n_exec++] = p->path;
	if (im->n_read < LB_ARRAY_SIZE(im->read))
		im->read[im->n_read++] = p->path;
	/* The policy judges real paths: /lib64/ld-linux-x86-64.so.2 is a
	 * link. The kernel opens the ELF interpreter for exec itself. */
	const char *interp = p->interp ? keep_real(im, p->interp) : NULL;
	if (interp && im->n_read < LB_ARRAY_SIZE(im->read))
		im->read[im->n_read++] = interp;
	if (interp && im->n_exec < LB_ARRAY_SIZE(im->exec))
		im->exec[im->n_exec++] = interp;
	for (size_t i = 0; i < p->n_libs && im->n_read < LB_ARRAY_SIZE(im->read); i++)
		if (p->libs[i].resolved)
			im->read[im->n_read++] = p->libs[i].resolved;
	add_implicit_program(im, p->interp_program);
}

static bool at_or_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Why a write grant on $CWD and below would hand out far more than a working
 * directory here (NULL: it would not). */
static const char *cwd_too_broad(const char *cwd, const char *home)
{
	static const char *const trees[] = {"/etc",   "/usr",	"/bin",	   "/sbin", "/lib",
					    "/lib32", "/lib64", "/libx32", "/boot", "/proc",
					    "/sys",   "/dev",	"/run"};
	static const char *const tops[] = {"/var", "/opt",   "/srv", "/home",
					   "/mnt", "/media", "/snap"};
	if (strcmp(cwd, "/") == 0)
		return "the root directory";
	for (size_t i = 0; i < LB_ARRAY_SIZE(trees); i++)
		if (at_or_below(cwd, trees[i]))
			return "a system directory";
	for (size_t i = 0; i < LB_ARRAY_SIZE(tops); i++)
		if (strcmp(cwd, tops[i]) == 0)
			return "a system directory";
	if (home && at_or_below(home, cwd) && strcmp(home, cwd) != 0)
		return "above your home directory";
	return NULL;
}

/* The variables the policy was loaded with (a nested run sends them). */
static struct {
	char cwd[PATH_MAX];
	const char *home, *tmpdir;
	char *exe_dir;
	bool cwd_grants_off;
} loaded;

static int load_policy(const struct run_opts *o, const struct lb_program *prog, struct implicit *im,
		       struct lb_policy **out)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd))) {
		lb_msg("cannot determine the current directory: %s", strerror(errno));
		return -1;
	}
	const char *home = lb_home_dir();
	const char *tmp = getenv("TMPDIR");
	lb_autofree char *exe_dir = lb_dirname_dup(prog->path);
	add_implicit_program(im, prog);

	const char *broad = cwd_too_broad(cwd, home);
	struct lb_policy_inputs in = {
	    .source = o->policy ? o->policy : "default",
	    .vars = {.cwd = cwd,
		     .home = home,
		     .tmpdir = tmp && tmp[0] == '/' ? tmp : "/tmp",
		     .exe = prog->path,
		     .exe_dir = exe_dir,
		     .cwd_grants_off = broad != NULL},
	    .cli_rules = o->rules,
	    .n_cli_rules = o->n_rules,
	    .implicit_read = im->read,
	    .n_implicit_read = im->n_read,
	    .implicit_exec = im->exec,
	    .n_implicit_exec = im->n_exec,
	};
	snprintf(loaded.cwd, sizeof(loaded.cwd), "%s", cwd);
	loaded.home = in.vars.home;
	loaded.tmpdir = in.vars.tmpdir;
	free(loaded.exe_dir);
	loaded.exe_dir = exe_dir ? strdup(exe_dir) : NULL;
	loaded.cwd_grants_off = in.vars.cwd_grants_off;
	struct lb_diags diags = {0};
	int rc = lb_policy_load(&in, out, &diags);
	size_t n_diags = diags.n;
	print_diags(&diags);
	lb_diags_free(&diags);
	if (rc < 0) {
		if (n_diags == 0)
			lb_msg("cannot load policy '%s': %s", in.source, strerror(-rc));
		return -1;
	}
	if (lb_policy_cwd_grants_left_out(*out) > 0)
		lb_msg(
		    "the working directory %s is %s: the policy's $CWD write and exec grants are "
		    "left out (run from a project directory, or grant one with --allow-write DIR)",
		    cwd, broad);
	return 0;
}

/* ---- events: the audit log and the human-readable lines --------------------------- */

struct run_state {
	struct run_opts *opts;
	struct lb_audit *audit;
	struct lb_learn *learn;
	struct lb_report *report;
	atomic_bool log_failed;
};

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(p, "re");
	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	if (!buf[0])
		snprintf(buf, len, "?");
}

/* The pid the program itself sees for the calling thread's process (its
 * `$$`, its getpid()): the innermost NStgid of /proc/TID/status. Denial
 * lines name it; the log keeps the host's pid for host tools. */
static pid_t sandbox_pid_of(pid_t tid)
{
	char p[64], line[256];
	snprintf(p, sizeof(p), "/proc/%d/status", (int)tid);
	FILE *f = fopen(p, "re");
	pid_t pid = tid;
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NStgid:", 7) != 0)
			continue;
		char *last = strrchr(line, '\t');
		long v = last ? strtol(last + 1, NULL, 10) : 0;
		if (v > 0)
			pid = (pid_t)v;
		break;
	}
	fclose(f);
	return pid;
}

static const char *verdict_words(enum lb_event_verdict v)
{
	switch (v) {
	case LB_EV_WOULD_DENY:
		return "would deny";
	case LB_EV_HIDE:
		return "hid";
	case LB_EV_KILL:
		return "killed on";
	case LB_EV_ALLOW:
		return "allowed";
	case LB_EV_DENY:
		break;
	}
	return "denied";
}

/* The end of a message: " — allow with: allow read /x" for what no rule
 * granted, " — refused by FILE:LINE" for what a rule refused; and the
 * rule column of the step summary. */
/* The object of an "allow with:" hint as a policy word that names exactly
 * what was refused, whatever bytes the program put in the name (a file
 * called `**` must not become a grant of a whole tree). False when no rule
 * can name it exactly (a unix socket path with a wildcard character:
 * address patterns have no escapes). */
static bool hint_object(const struct lb_event *ev, char *buf, size_t len)
{
	const char *obj = ev->object, *sp;
	if (ev->cls == LB_CLASS_SYSCALL) {
		snprintf(buf, len, "%s", obj);
		return true;
	}
	if (ev->cls != LB_CLASS_CONNECT && ev->cls != LB_CLASS_BIND)
		return lb_policy_quote(obj, strlen(obj), buf, len) < len;
	if (!(sp = strchr(obj, ' ')) || (strncmp(obj, "unix ", 5) == 0 && strpbrk(sp, "*?")))
		return false;
	int n = snprintf(buf, len, "%.*s", (int)(sp - obj) + 1, obj);
	return n > 0 && (size_t)n < len &&
	       lb_policy_quote(sp + 1, 0, buf + n, len - (size_t)n) < len - (size_t)n;
}

/* A write the default profile refuses in a shared package cache: a
 * grant of the one file refused is never what the user wants (the next
 * run writes another), a private cache is (docs/policy.md). */
static bool shared_cache_write(const struct lb_event *ev)
{
	static const char *const caches[] = {"/.cache/", "/.npm/",    "/.cargo/", "/go/",
					     "/.m2/",	 "/.gradle/", "/.ccache/"};
	const char *f = ev->decision->file;
	if (ev->cls != LB_CLASS_WRITE || ev->decision->origin != LB_ORIGIN_POLICY || !f ||
	    strcmp(f, "<builtin:default>") != 0)
		return false;
	for (size_t i = 0; i < LB_ARRAY_SIZE(caches); i++)
		if (strstr(ev->object, caches[i]))
			return true;
	return false;
}

static void describe_rule(const struct lb_event *ev, char *tail, size_t tlen, char *rule,
			  size_t rlen)
{
	char where[PATH_MAX + 16];
	lb_decision_rule(ev->decision, where, sizeof(where));
	const char *cls = lb_class_name(ev->cls);
	if (ev->err) {
		snprintf(tail, tlen, " \u2014 allowed by the policy, but the program got %s (%s)",
			 strerrorname_np(ev->err) ? strerrorname_np(ev->err) : "an error",
			 strerror(ev->err));
		snprintf(rule, rlen, "%s", where);
		return;
	}
	if (ev->verdict == LB_EV_ALLOW) {
		snprintf(tail, tlen, " by %s", where);
		snprintf(rule, rlen, "%s", where);
	} else if (ev->decision->origin == LB_ORIGIN_DEFAULT) {
		char word[PATH_MAX * 2];
		if (!hint_object(ev, word, sizeof(word))) {
			snprintf(rule, rlen, "(no rule names it exactly)");
			snprintf(tail, tlen, " \u2014 no rule can name it exactly");
			return;
		}
		snprintf(rule, rlen, "allow %s %s", cls, word);
		snprintf(tail, tlen, " \u2014 allow with: allow %s %s", cls, word);
	} else {
		const char *how = ev->verdict == LB_EV_HIDE ? "hidden" : "refused";
		snprintf(rule, rlen, "%s by %s", how, where);

		/* cli.md's form ("— allow with: RULE"), the deciding rule after
		 * it. A rule of the user's policy overrides an included one at
		 * equal specificity, and an exact path beats every pattern
		 * (Decisions, rule 2): say what would (an enclosing run's
		 * refusal, and the boundary, no rule of this policy lifts). */
		char word[PATH_MAX * 2];
		bool hint = ev->decision->origin == LB_ORIGIN_POLICY && !ev->decision->outer &&
			    hint_object(ev, word, sizeof(word));
		const char *why = shared_cache_write(ev)
				      ? ": shared caches are read-only; a private one is better, "
					"docs/policy.md, \"A private writable cache\""
				      : "";
		/* never a cut hint: it would name something else */
		if (!hint || snprintf(tail, tlen, " \u2014 allow with: allow %s %s (%s by %s%s)",
				      cls, word, how, where, why) >= (int)tlen)
			snprintf(tail, tlen, " \u2014 %s by %s%s", how, where, why);
	}
}

/* A nested domain's supervisor: the enclosing run's log, where the
 * enclosing policy's refusals of nested calls are recorded too. */
static struct lb_audit *outer_audit;
/* Those refusals, counted where the enclosing run reads them at its end
 * (a shared page, mapped before the nested supervisors are forked). */
static _Atomic uint64_t *nested_refused;

static void on_event(void *arg, const struct lb_event *ev)
{
	struct run_state *st = arg;
	if (lb_audit_record(st->audit, ev) < 0)
		st->log_failed = true;
	if (outer_audit && ev->decision && ev->decision->outer)
		(void)lb_audit_record(outer_audit, ev);
	if (nested_refused && ev->decision && ev->decision->outer && lb_event_refused(ev) &&
	    !ev->absent)
		atomic_fetch_add(nested_refused, 1);
	if (st->learn && !ev->absent) {
		char rule[PATH_MAX + 16];
		lb_decision_rule(ev->decision, rule, sizeof(rule));
		if (lb_learn_add_names(st->learn, ev->cls, ev->object, ev->names, ev->n_names,
				       lb_event_verdict_name(ev->verdict), rule) < 0)
			st->log_failed = true;
	}
	const struct run_opts *o = st->opts;
	bool refused = lb_event_refused(ev);
	bool denial = ev->verdict != LB_EV_ALLOW && !ev->err;
	bool print = !o->quiet && (o->verbose || (denial && !ev->absent));
	if (!refused && !print)
		return;
	char comm[64], tail[PATH_MAX * 2 + 64], rule[PATH_MAX * 2 + 64];
	comm_of(ev->pid, comm, sizeof(comm));
	describe_rule(ev, tail, sizeof(tail), rule, sizeof(rule));
	struct lb_seen s = {
	    .what = ev->err ? "failed" : verdict_words(ev->verdict),
	    .cls = lb_class_name(ev->cls),
	    .object = ev->object,
	    .comm = comm,
	    .syscall = ev->syscall,
	    .tail = tail,
	    .rule = rule,
	    .pid = sandbox_pid_of(ev->pid),
	    .refused = refused,
	    .print = print,
	};
	lb_report_add(st->report, &s);
}

/* ---- running ------------------------------------------------------------------------ */

static struct lb_policy_vars learn_vars;
static char learn_cwd[PATH_MAX];

static struct lb_policy_vars vars_of(const struct lb_program *prog)
{
	(void)prog;
	const char *tmp = getenv("TMPDIR");
	learn_vars.cwd = getcwd(learn_cwd, sizeof(learn_cwd)) ? learn_cwd : NULL;
	learn_vars.home = lb_home_dir();
	learn_vars.tmpdir = tmp && tmp[0] == '/' ? tmp : "/tmp";
	return learn_vars;
}

static int write_learned(const struct run_opts *o, struct lb_learn *l, char **argv)
{
	lb_autofree char *text = lb_learn_policy(l, argv[0]);
	if (!text) {
		lb_msg("cannot build the learned policy: out of memory");
		return -1;
	}
	if (lb_write_file_replacing(o->learn_out, text) < 0)
		return -1;
	if (!o->quiet)
		lb_msg("wrote %s", o->learn_out);
	return 0;
}

static int report_program_problem(const char *name, enum lb_exec_problem problem,
				  const char *detail)
{
	if (problem == LB_EXEC_NOT_FOUND && !strchr(name, '/'))
		lb_msg("%s: %s (give a path, such as ./%s, for a program outside PATH)", name,
		       detail, name);
	else
		lb_msg("%s: %s", name, detail);
	return lb_exec_problem_status(problem);
}

static int exit_status_of(const struct lb_launch_result *r, const char *prog)
{
	if (r->exec_errno) {
		lb_msg("%s: cannot execute: %s", prog, strerror(r->exec_errno));
		return r->exec_errno == ENOENT ? LB_EXIT_NOT_FOUND : LB_EXIT_CANNOT_RUN;
	}
	if (r->timed_out)
		return LB_EXIT_TIMEOUT;
	if (WIFEXITED(r->wait_status))
		return WEXITSTATUS(r->wait_status);
	if (WIFSIGNALED(r->wait_status))
		return 128 + WTERMSIG(r->wait_status);
	return LB_EXIT_LITEBOX;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t effective_timeout(const struct run_opts *o, const struct lb_policy *p)
{
	uint64_t t = o->timeout_ms, lim = lb_policy_limits(p)->time_ms;
	if (lim && (!t || lim < t))
		return lim;
	return t;
}

/* "5m", "90s", "1h", "250ms": how a duration is typed. */
static void format_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

static void make_run_id(char *buf, size_t len)
{
	unsigned char r[16] = {0};
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t t = now_ms() ^ (uint64_t)getpid() << 32;
		memcpy(r, &t, sizeof(t));
	}
	size_t n = 0;
	for (size_t i = 0; i < sizeof(r) && n + 3 <= len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%02x", r[i]);
}

/* --platform: auto takes seccomp user notification where it works here,
 * else ptrace, and says so once. NULL when none can be used (said why). */
static const struct lb_platform_ops *choose_platform(const struct run_opts *o)
{
	/* The environment sets the default (the test suite runs whole on
	 * each platform this way, shells and terminals included). */
	const char *env = getenv("LITEBOX_PLATFORM");
	const char *want = o->platform ? o->platform : env && *env ? env : "auto";
	char why[256] = "", why2[256] = "";
	if (strcmp(want, "auto") != 0 && strcmp(want, "seccomp") != 0 &&
	    strcmp(want, "ptrace") != 0) {
		lb_msg("invalid LITEBOX_PLATFORM '%s': give auto, seccomp or ptrace", want);
		return NULL;
	}
	if (strcmp(want, "ptrace") == 0) {
		if (lb_ptrace_usable(why, sizeof(why)) == 0)
			return &lb_platform_ptrace;
		lb_msg("cannot use --platform ptrace: %s", why);
		return NULL;
	}
	if (lb_seccomp_usable(why, sizeof(why)) == 0)
		return &lb_platform_seccomp;
	if (strcmp(want, "seccomp") == 0) {
		lb_msg("cannot use --platform seccomp: %s; try --platform ptrace", why);
		return NULL;
	}
	if (lb_ptrace_usable(why2, sizeof(why2)) == 0) {
		if (!o->quiet)
			lb_msg("%s; using the ptrace platform (slower per trapped call)", why);
		return &lb_platform_ptrace;
	}
	lb_msg("cannot start the sandbox: %s, and %s", why, why2);
	return NULL;
}

static int open_log(struct run_state *st, const char *log, int log_fd, enum lb_mode mode,
		    const char *platform, char **argv)
{
	int rc = log_fd >= 0 && log_fd != STDERR_FILENO ? lb_audit_open_fd(log_fd, mode, &st->audit)
							: lb_audit_open(log, mode, &st->audit);
	if (rc < 0) {
		lb_msg("cannot open the audit log '%s': %s", log, strerror(-rc));
		return -1;
	}
	lb_audit_set_level(st->audit, st->opts->log_level);
	char run_id[40];
	make_run_id(run_id, sizeof(run_id));
	struct lb_audit_start start = {
	    .version = LITEBOX_VERSION,
	    .argv = argv,
	    .policy = st->opts->policy ? st->opts->policy : "default",
	    .platform = platform,
	    .run_id = run_id,
	};
	if (lb_audit_start(st->audit, &start) < 0)
		st->log_failed = true;
	return 0;
}

static void report_launch_error(int rc)
{
	if (rc == -EINVAL || rc == -ENOSYS)
		lb_msg("cannot start the sandbox: %s (seccomp user notification with ADDFD "
		       "needs Linux 5.14+)",
		       strerror(-rc));
	else if (rc == -ENOTSUP)
		lb_msg("cannot start the sandbox: 'limit procs' needs a pids cgroup, which "
		       "is not available here");
	else
		lb_msg("cannot start the sandbox: %s", strerror(-rc));
}

/* What the people and the CI reading the run are told at its end. */
static int tell_outcome(struct run_state *st, int status, uint64_t timeout_ms, bool timed_out,
			const char *log, char **argv)
{
	const struct run_opts *o = st->opts;
	lb_report_flush_folded(st->report);
	if (timed_out && !o->quiet) {
		char d[32];
		if (o->timeout_text && o->timeout_ms == timeout_ms)
			snprintf(d, sizeof(d), "%s", o->timeout_text);
		else
			format_duration(timeout_ms, d, sizeof(d));
		lb_msg("timed out after %s; the sandbox was killed", d);
	}
	uint64_t refused = lb_report_refused(st->report);
	if (!o->quiet)
		lb_report_closing_line(st->report, lb_audit_absent(st->audit), o->audit, log);
	/* This policy's refusals of nested sandboxes' calls (said there). */
	uint64_t nested = !o->nested && nested_refused ? atomic_load(nested_refused) : 0;
	if (nested && !o->quiet)
		lb_msg("%llu access%s of a nested sandbox refused by this policy",
		       (unsigned long long)nested, nested == 1 ? "" : "es");
	refused += nested;
	const char *gha = getenv("GITHUB_ACTIONS");
	if (refused && gha && strcmp(gha, "true") == 0) {
		if (!o->quiet)
			lb_report_annotations(st->report, stderr);
		/* A nested run's summary is the enclosing run's to write: a file
		 * named by the inner litebox is never opened from out here. */
		const char *summary = o->nested ? NULL : getenv("GITHUB_STEP_SUMMARY");
		int rc =
		    summary && summary[0] ? lb_report_step_summary(st->report, summary, argv) : 0;
		if (rc < 0)
			lb_msg("cannot append to GITHUB_STEP_SUMMARY '%s': %s", summary,
			       strerror(-rc));
	}
	if (o->fail_on_deny && status == 0 && refused) {
		lb_msg("--fail-on-deny: the program exited 0, but %llu access%s %s: exit status %d",
		       (unsigned long long)refused, refused == 1 ? "" : "es",
		       o->audit	      ? "would have been refused"
		       : refused == 1 ? "was refused"
				      : "were refused",
		       LB_EXIT_DENIED);
		return LB_EXIT_DENIED;
	}
	return status;
}

/* After an --overlay run: remember the host's state of what changed (for
 * `overlay apply`); after --dry-run: say what would have changed. */
static int overlay_outcome(const struct run_opts *o, struct run_state *st,
			   const struct lb_overlay *ovl, int status)
{
	const char *dir = lb_overlay_dir(ovl);
	if (!o->dry_run || o->dry_run_keeps) {
		int rc = lb_overlay_record(dir);
		if (rc < 0) {
			lb_msg("--overlay: cannot record the host's state in '%s' (%s): 'overlay "
			       "apply' will refuse these changes",
			       dir, strerror(-rc));
			return LB_EXIT_LITEBOX;
		}
		if (!o->dry_run)
			return status;
	}
	struct lb_ovl_diff d;
	char err[512];
	if (lb_overlay_diff(dir, &d, err, sizeof(err)) < 0) {
		lb_msg("--dry-run: %s", err);
		return LB_EXIT_LITEBOX;
	}
	if (!o->quiet) {
		if (lb_report_refused(st->report) == 0)
			lb_msg("--dry-run: nothing would have been refused");
		if (d.n == 0)
			lb_msg("--dry-run: no file would have changed");
		else
			lb_msg("--dry-run: %zu change%s to files would have been made:", d.n,
			       d.n == 1 ? "" : "s");
		for (size_t i = 0; i < d.n; i++) {
			fputs("litebox: would change: ", stderr);
			lb_overlay_print_change(stderr, &d.v[i]);
		}
	}
	lb_overlay_diff_free(&d);
	return status;
}

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* base as an include in a file in out_dir names it: relative when both
 * are in the working tree (an include is read relative to the including
 * file, so the pair travels with a checkout), else absolute. */
static char *include_name(const char *base, const char *out_dir, const char *cwd)
{
	if (!cwd || !path_under(base, cwd) || !path_under(out_dir, cwd))
		return strdup(base);
	size_t i = 0, common = 0;
	while (base[i] && base[i] == out_dir[i])
		i++;
	if (out_dir[i] == '\0' && base[i] == '/')
		common = i; /* out_dir is above base */
	else
		for (size_t j = 0; j < i; j++)
			if (base[j] == '/')
				common = j;
	size_t ups = 0;
	for (const char *p = out_dir + common; *p; p++)
		ups += *p == '/';
	char *r = malloc(3 * ups + strlen(base) + 1);
	if (!r)
		return NULL;
	r[0] = '\0';
	for (size_t k = 0; k < ups; k++)
		strcat(r, "../");
	strcat(r, base + common + 1);
	return r;
}

/* The base of a learned policy as its include names it: a built-in
 * profile by name, a file by a path from the learned file's directory
 * (relative within the working tree, else absolute). */
static int learn_base(struct lb_learn *l, const char *policy, const struct lb_policy *parsed,
		      const char *out)
{
	if (!strchr(policy, '/') && access(policy, F_OK) != 0)
		return lb_learn_set_base(l, policy);
	/* learn -p F -o F (docs/audit.md's next step): `include F` in F
	 * would include itself, so F's text goes in instead */
	const struct lb_policy_file *files;
	struct stat st;
	lb_autofree char *real = realpath(policy, NULL);
	lb_autofree char *out_parent = lb_dirname_dup(out);
	lb_autofree char *out_dir = out_parent ? realpath(out_parent, NULL) : NULL;
	char cwd[PATH_MAX];
	lb_autofree char *named =
	    real && out_dir ? include_name(real, out_dir, getcwd(cwd, sizeof(cwd))) : NULL;
	int rc = lb_learn_set_base(l, named ? named : real ? real : policy);
	if (rc == 0 && lb_policy_files(parsed, &files) > 0 && stat(out, &st) == 0 &&
	    st.st_dev == files[0].dev && st.st_ino == files[0].ino)
		rc = lb_learn_set_base_text(l, files[0].text);
	return rc;
}

/* ---- litebox inside litebox (lib/nest.c, docs/security.md) ----------------------- */

/* What a nested domain's supervisor is given beside the request. */
struct nest_ctx {
	const struct lb_nest_join *join;
	int log_fd;
	const char *const *protect;
	char **envp; /* the inner litebox's environment, for the program */
};

/* The enclosing run, as the nested domains' supervisors (forked from it)
 * see it. */
static struct {
	const struct lb_policy *policy;
	bool audit;
	bool writes_contained; /* --overlay: nested programs write into it too */
	int log_fd;
	const char *protect[64];
} outer_run;

static int supervise_program(struct run_opts *o, struct lb_program *prog, struct lb_policy *policy,
			     const struct implicit *im, char **argv, const struct nest_ctx *nest);

static void add_protect(const char **list, size_t *n, size_t cap, const char *path)
{
	if (path && strcmp(path, "-") != 0 && *n + 1 < cap)
		list[(*n)++] = path;
}

static void outer_protect(const struct lb_policy *policy, const char *log)
{
	size_t n = 0;
	const struct lb_policy_file *files;
	size_t nf = lb_policy_files(policy, &files);
	add_protect(outer_run.protect, &n, LB_ARRAY_SIZE(outer_run.protect), log);
	for (size_t i = 0; i < nf; i++)
		add_protect(outer_run.protect, &n, LB_ARRAY_SIZE(outer_run.protect), files[i].path);
	outer_run.protect[n] = NULL;
}

static struct run_opts nest_opts(const struct lb_nest_request *r)
{
	return (struct run_opts){
	    .policy = r->policy_name,
	    .log = r->log_path,
	    .audit = r->flags & LB_NEST_AUDIT,
	    .quiet = r->flags & LB_NEST_QUIET,
	    .verbose = r->flags & LB_NEST_VERBOSE,
	    .fail_on_deny = r->flags & LB_NEST_FAIL_ON_DENY,
	    .log_level = r->flags & LB_NEST_LOG_REFUSED ? LB_LOG_REFUSED : LB_LOG_ALL,
	    .timeout_ms = r->timeout_ms,
	    .timeout_text = r->timeout_text,
	    .nested = true,
	};
}

/* In a process of its own, outside the sandbox (lib/nest.c): the inner
 * litebox's run, supervised here against both policies. */
static int nest_serve(void *arg, const struct lb_nest_job *job)
{
	(void)arg;
	const struct lb_nest_request *r = job->req;
	struct run_opts o = nest_opts(r);
	struct lb_cli_rule cli[MAX_CLI_RULES];
	size_t n_cli = 0;
	for (size_t i = 0; i < r->n_cli && n_cli < MAX_CLI_RULES; i++) {
		long cls = strtol(r->cli[3 * i], NULL, 10);
		if (cls < 0 || cls >= LB_CLASS__COUNT)
			return LB_EXIT_LITEBOX;
		cli[n_cli++] = (struct lb_cli_rule){.cls = (enum lb_class)cls,
						    .object = r->cli[3 * i + 1],
						    .flag = r->cli[3 * i + 2]};
	}
	/* Only what the inner litebox sent: nothing is read from the file
	 * system out here (an empty table still means "read nothing"). */
	char *none[] = {NULL, NULL};
	struct lb_policy_inputs in = {
	    .source = r->policy_name,
	    .vars = {.cwd = r->cwd,
		     .home = r->home,
		     .tmpdir = r->tmpdir,
		     .exe = r->exec_path,
		     .exe_dir = r->exe_dir,
		     .cwd_grants_off = r->flags & LB_NEST_CWD_GRANTS_OFF},
	    .cli_rules = cli,
	    .n_cli_rules = n_cli,
	    .implicit_read = (const char *const *)r->implicit_read,
	    .n_implicit_read = r->n_implicit_read,
	    .implicit_exec = (const char *const *)r->implicit_exec,
	    .n_implicit_exec = r->n_implicit_exec,
	    .file_texts = (const char *const *)(r->n_files ? r->files : none),
	};
	struct lb_policy *policy = NULL;
	struct lb_diags diags = {0};
	int rc = lb_policy_load(&in, &policy, &diags);
	if (rc < 0)
		print_diags(&diags);
	lb_diags_free(&diags);
	if (rc < 0) {
		lb_msg("cannot start the nested sandbox: its policy did not read back (%s)",
		       strerror(-rc));
		return LB_EXIT_LITEBOX;
	}
	lb_policy_set_outer(policy, outer_run.policy, outer_run.audit);
	int ofd = outer_run.log_fd >= 0 ? fcntl(outer_run.log_fd, F_DUPFD_CLOEXEC, 3) : -1;
	if (ofd >= 0 && lb_audit_open_fd(ofd, LB_MODE_ENFORCE, &outer_audit) < 0)
		outer_audit = NULL;
	const char *protect[256];
	size_t n = 0;
	for (size_t i = 0; outer_run.protect[i]; i++)
		add_protect(protect, &n, LB_ARRAY_SIZE(protect), outer_run.protect[i]);
	protect[n] = NULL;
	/* The inner's log by the descriptor it passed; the names it sent (its
	 * log's, its policy files') are the sandbox's and are not looked up
	 * out here: what exists would show in what is refused. */
	struct implicit im = {0};
	for (size_t i = 0; i < r->n_implicit_exec && i < LB_ARRAY_SIZE(im.exec); i++)
		im.exec[im.n_exec++] = r->implicit_exec[i];
	struct lb_program prog = {.path = (char *)r->exec_path};
	struct nest_ctx ctx = {
	    .join = job->join, .log_fd = r->log_fd, .protect = protect, .envp = r->envp};
	int status = supervise_program(&o, &prog, policy, &im, r->argv, &ctx);
	lb_audit_close(outer_audit, NULL);
	outer_audit = NULL;
	lb_policy_free(policy);
	return status;
}

static const struct lb_nest_host nest_host = {.serve = nest_serve};

static int open_nested_log(const char *log)
{
	if (!log)
		return -1;
	if (strcmp(log, "-") == 0)
		return STDERR_FILENO;
	/* as the outermost litebox opens it: a run may have planted the name */
	int fd = lb_audit_open_log_file(log);
	if (fd < 0)
		lb_msg("cannot open the audit log '%s': %s", log, strerror(-fd));
	return fd < 0 ? -2 : fd;
}

/* Inside another litebox: the outer one runs the program in a nested
 * domain judged by both policies; this process only asks, waits and
 * exits with the status litebox would have. */
static int run_nested(const struct run_opts *o, const struct lb_policy *policy,
		      const struct implicit *im, const char *exec_path, char **argv,
		      const char *log, long outer)
{
	if (o->overlay) {
		lb_msg(
		    "this litebox runs inside another litebox, which cannot give a nested "
		    "sandbox an overlay: run with --overlay or --dry-run from the outer litebox");
		return LB_EXIT_LITEBOX;
	}
	if (outer == LB_NEST_NOT_SERVED || o->learn) {
		lb_msg("this litebox runs inside another litebox, which %s: run the program under "
		       "the outer litebox directly, with the rules it needs in the outer policy",
		       o->learn
			   ? "cannot learn for a nested run"
			   : "cannot start a nested sandbox here (it uses the ptrace platform)");
		return LB_EXIT_LITEBOX;
	}
	const struct lb_policy_file *files;
	size_t n_files = lb_policy_files(policy, &files);
	lb_autofree char **protect = calloc(n_files + 1, sizeof(char *));
	lb_autofree char **texts = calloc(2 * n_files + 1, sizeof(char *));
	lb_autofree char **cli = calloc(3 * o->n_rules + 1, sizeof(char *));
	char cls_num[MAX_CLI_RULES][8];
	if (!protect || !texts || !cli) {
		lb_msg("cannot start the nested sandbox: out of memory");
		return LB_EXIT_LITEBOX;
	}
	for (size_t i = 0; i < n_files; i++) {
		protect[i] = files[i].path;
		texts[2 * i] = files[i].named;
		texts[2 * i + 1] = files[i].text;
	}
	for (size_t i = 0; i < o->n_rules; i++) {
		snprintf(cls_num[i], sizeof(cls_num[i]), "%d", (int)o->rules[i].cls);
		cli[3 * i] = cls_num[i];
		cli[3 * i + 1] = (char *)o->rules[i].object;
		cli[3 * i + 2] = (char *)(o->rules[i].flag ? o->rules[i].flag : "--allow");
	}
	int log_fd = open_nested_log(log);
	if (log_fd == -2)
		return LB_EXIT_LITEBOX;
	struct lb_nest_request req = {
	    .flags = (o->audit ? LB_NEST_AUDIT : 0) | (o->fail_on_deny ? LB_NEST_FAIL_ON_DENY : 0) |
		     (o->quiet ? LB_NEST_QUIET : 0) | (o->verbose ? LB_NEST_VERBOSE : 0) |
		     (o->log_level == LB_LOG_REFUSED ? LB_NEST_LOG_REFUSED : 0) |
		     (loaded.cwd_grants_off ? LB_NEST_CWD_GRANTS_OFF : 0),
	    .timeout_ms = o->timeout_ms,
	    .timeout_text = o->timeout_text,
	    .log_fd = log_fd,
	    .policy_name = o->policy ? o->policy : "default",
	    .cwd = loaded.cwd,
	    .home = loaded.home,
	    .tmpdir = loaded.tmpdir,
	    .exe_dir = loaded.exe_dir,
	    .files = texts,
	    .n_files = n_files,
	    .cli = cli,
	    .n_cli = o->n_rules,
	    .log_path = log,
	    .exec_path = exec_path,
	    .argv = argv,
	    .envp = environ,
	    .implicit_read = (char **)im->read,
	    .n_implicit_read = im->n_read,
	    .implicit_exec = (char **)im->exec,
	    .n_implicit_exec = im->n_exec,
	    .protect = protect,
	    .n_protect = n_files,
	};
	/* The outer litebox serves the domain on its platform, seccomp (one
	 * on ptrace serves none): a forced ptrace is not what runs. */
	if (o->platform && strcmp(o->platform, "ptrace") == 0 && !o->quiet)
		lb_msg("--platform ptrace has no effect inside another litebox: the outer one "
		       "serves this sandbox on the seccomp platform");
	int ctl = lb_nest_run(&req);
	if (log_fd > STDERR_FILENO)
		close(log_fd);
	if (ctl < 0) {
		lb_msg("cannot start the nested sandbox: the outer litebox refused it (%s)",
		       strerror(-ctl));
		return LB_EXIT_LITEBOX;
	}
	int status = lb_nest_wait(ctl);
	close(ctl);
	if (status < 0) {
		lb_msg("the outer litebox ended the nested sandbox before the program exited");
		return LB_EXIT_LITEBOX;
	}
	return status;
}

/* A nested domain's log is only ever the fd the inner litebox passed (or
 * its stderr): a name in the request, or a log line in the texts it sent,
 * is never opened out here, where the supervisor has the outer's authority. */
static const char *nested_log(const struct run_opts *o, const struct nest_ctx *nest)
{
	if (nest->log_fd < 0)
		return NULL;
	if (nest->log_fd == STDERR_FILENO)
		return "-";
	return o->log ? o->log : "(the inner litebox's log)";
}

static void view_freep(struct lb_view **v)
{
	lb_view_free(*v);
}

/* `set mediation fast`: the view that lets the kernel answer the stat
 * family. Audit mode, --dry-run, learn and a nested domain run exact (they
 * must see every access); --overlay cannot be combined with it. 0 with
 * *out NULL for an exact run, 0 with the view, or an exit status. */
static int plan_fast(const struct run_opts *o, const struct lb_policy *policy, enum lb_mode mode,
		     const char *cwd, const struct nest_ctx *nest, struct lb_view **out)
{
	*out = NULL;
	if (lb_policy_mediation(policy) != LB_MEDIATION_FAST || mode == LB_MODE_AUDIT || o->learn ||
	    o->dry_run || nest)
		return 0;
	if (o->overlay) {
		lb_msg("--overlay cannot be combined with 'set mediation fast' (the view and the "
		       "overlay are both the sandbox's tree): drop one, or use 'set mediation "
		       "exact'");
		return LB_EXIT_LITEBOX;
	}
	int rc = lb_view_plan(policy, cwd, out);
	if (rc < 0) {
		lb_msg("set mediation fast: cannot plan the sandbox's view: %s", strerror(-rc));
		return LB_EXIT_LITEBOX;
	}
	if (!lb_view_fast(*out)) {
		if (!o->quiet)
			lb_msg("set mediation fast: %s; this run is exact", lb_view_reason(*out));
		lb_view_free(*out);
		*out = NULL;
	}
	return 0;
}

static int supervise_program(struct run_opts *o, struct lb_program *prog, struct lb_policy *policy,
			     const struct implicit *im, char **argv, const struct nest_ctx *nest)
{
	struct run_state st = {.opts = o};
	const char *log = nest ? nested_log(o, nest) : o->log ? o->log : lb_policy_log_path(policy);
	enum lb_mode mode = o->audit ? LB_MODE_AUDIT : lb_policy_mode(policy);
	if (!nest) {
		long outer = lb_nest_hello();
		if (outer)
			return run_nested(o, policy, im, prog->path, argv, log, outer);
	}
	struct lb_policy_vars lv = vars_of(prog);
	__attribute__((cleanup(view_freep))) struct lb_view *view = NULL;
	int vrc = plan_fast(o, policy, mode, lv.cwd, nest, &view);
	if (vrc)
		return vrc;
	const struct lb_platform_ops *platform = nest ? &lb_platform_seccomp : choose_platform(o);
	if (!platform)
		return LB_EXIT_LITEBOX;
	const char *platform_name = platform->name;
	int rc = o->learn ? lb_learn_new(&lv, &st.learn) : 0;
	if (rc == 0 && st.learn)
		rc = learn_base(st.learn, o->policy, policy, o->learn_out);
	if (rc < 0) {
		lb_msg("cannot start learning: %s", strerror(-rc));
		return LB_EXIT_LITEBOX;
	}
	struct lb_overlay *ovl = NULL;
	char oerr[512];
	if (o->overlay && lb_overlay_open(o->overlay, &ovl, oerr, sizeof(oerr)) < 0) {
		lb_msg("--overlay: %s", oerr);
		lb_learn_free(st.learn);
		return LB_EXIT_LITEBOX;
	}
	if (!(st.report = lb_report_new())) {
		lb_overlay_free(ovl);
		lb_learn_free(st.learn);
		return LB_EXIT_LITEBOX;
	}
	if (open_log(&st, log, nest ? nest->log_fd : -1, mode, platform_name, argv) < 0) {
		lb_overlay_free(ovl);
		lb_report_free(st.report);
		lb_learn_free(st.learn);
		return LB_EXIT_LITEBOX;
	}
	mode_t um = umask(0); /* the supervisor applies the program's umask itself */
	struct lb_core_config cc = {
	    .policy = policy,
	    .platform = platform,
	    .on_event = on_event,
	    .event_arg = &st,
	    .report_allowed = o->verbose || o->learn || (log != NULL && o->log_level == LB_LOG_ALL),
	    .initial_umask = um,
	    .force_audit = o->audit,
	    .learning = o->learn,
	    .writes_contained = o->overlay != NULL || (nest && outer_run.writes_contained),
	    .dry_run = o->dry_run,
	    .stat_in_kernel = lb_view_fast(view),
	    .readlink_in_kernel = lb_view_readlink_in_kernel(view),
	    /* the log the program must not rewrite for `policy generate` */
	    .protect_paths =
		nest ? nest->protect
		     : (const char *const[]){log && strcmp(log, "-") ? log : NULL, NULL},
	    .protect_fd = nest && nest->log_fd >= 0 ? &nest->log_fd : NULL,
	};
	struct lb_core *core = NULL;
	char **env = NULL;
	int status = LB_EXIT_LITEBOX;
	struct lb_launch_result res = {0};
	uint64_t t0 = now_ms(), timeout = effective_timeout(o, policy);
	if ((rc = lb_core_new(&cc, &core)) < 0) {
		lb_msg("cannot set up the sandbox: %s", strerror(-rc));
	} else {
		env = lb_policy_build_env(policy, nest ? nest->envp : environ);
		struct lb_launch_config lc = {
		    .exec_path = prog->path,
		    .argv = argv,
		    .envp = env,
		    .platform = platform,
		    .core = core,
		    .limits = lb_policy_limits(policy),
		    .timeout_ms = timeout,
		    .umask = um,
		    .landlock_policy = policy,
		    /* audit mode refuses nothing, exec included: Landlock lets every
		     * exec through and the supervisor records what it would refuse */
		    .exec_paths = mode == LB_MODE_AUDIT ? (const char *const[]){"/"} : im->exec,
		    .n_exec_paths = mode == LB_MODE_AUDIT ? 1 : im->n_exec,
		    .overlay = ovl,
		    .view = view,
		    /* one level of nesting: a nested domain serves none itself */
		    .nest_host = nest ? NULL : &nest_host,
		    .join = nest ? nest->join : NULL,
		};
		if (!nest) {
			void *page = mmap(NULL, sizeof(*nested_refused), PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			nested_refused = page == MAP_FAILED ? NULL : page;
			outer_run.policy = policy;
			outer_run.audit = mode == LB_MODE_AUDIT;
			outer_run.writes_contained = ovl != NULL;
			outer_run.log_fd = log && strcmp(log, "-") ? lb_audit_fd(st.audit) : -1;
			outer_protect(policy, log);
		}
		rc = lb_launch(&lc, &res);
		if (rc < 0 && res.error[0])
			lb_msg("cannot start the sandbox: %s", res.error);
		else if (rc < 0)
			report_launch_error(rc);
		else
			status = exit_status_of(&res, argv[0]);
	}
	bool ran = rc == 0 && !res.exec_errno;
	status = tell_outcome(&st, status, timeout, ran && res.timed_out, log, argv);
	if (ovl && rc == 0)
		status = overlay_outcome(o, &st, ovl, status);
	lb_overlay_free(ovl);
	struct lb_audit_summary sum = {
	    .status = status,
	    .signal = ran && WIFSIGNALED(res.wait_status) ? WTERMSIG(res.wait_status) : 0,
	    .timed_out = ran && res.timed_out,
	    .duration_ms = now_ms() - t0,
	    .refused = lb_report_refused(st.report),
	    .distinct = lb_report_distinct(st.report),
	};
	int lrc = lb_audit_close(st.audit, &sum);
	if (lrc < 0 || st.log_failed) {
		lb_msg("the audit log '%s' could not be written (%s): the run fails rather than "
		       "leave an incomplete log",
		       log, strerror(lrc < 0 ? -lrc : EIO));
		status = LB_EXIT_LITEBOX;
	}
	umask(um); /* litebox's own files (the learned policy) get the user's umask */
	if (st.learn && status != LB_EXIT_LITEBOX && write_learned(o, st.learn, argv) < 0)
		status = LB_EXIT_LITEBOX;
	lb_learn_free(st.learn);
	lb_report_free(st.report);
	lb_env_free(env);
	lb_core_free(core);
	return status;
}

/* A program an earlier run over the same overlay built exists only in
 * DIR: its facts are read there, and it is run by its own path, which the
 * sandbox's tree has. */
static int inspect_in_overlay(const char *dir, const char *program, struct lb_program **prog,
			      enum lb_exec_problem *problem, char *detail, size_t len)
{
	char cwd[PATH_MAX], abs[PATH_MAX * 2];
	lb_autofree char *real = realpath(dir, NULL);
	if (program[0] == '/')
		snprintf(abs, sizeof(abs), "%s", program);
	else if (getcwd(cwd, sizeof(cwd)))
		snprintf(abs, sizeof(abs), "%s/%s", cwd, program);
	else
		return -ENOENT;
	lb_autofree char *copy = real ? lb_overlay_find(real, abs) : NULL;
	if (!copy)
		return -ENOENT;
	lb_program_free(*prog);
	*prog = NULL;
	int rc = lb_program_inspect(copy, NULL, prog, problem, detail, len);
	if (*prog) {
		free((*prog)->path);
		if (!((*prog)->path = strdup(abs)))
			return -ENOMEM;
	}
	return rc;
}

int cmd_run(int argc, char **argv, int learn)
{
	struct run_opts o = {0};
	int status = LB_EXIT_LITEBOX;
	char dry_dir[PATH_MAX] = "";
	int rc = parse_opts(argc, argv, &o, learn);
	if (rc > 0) {
		fputs(lb_usage(learn ? "learn" : "run"), stdout);
		status = 0;
		goto free_rules;
	}
	if (rc < 0)
		goto free_rules;
	if (o.dry_run && o.overlay) {
		o.dry_run_keeps = true; /* the changes stay in DIR for diff/apply */
		o.audit = true;
	} else if (o.dry_run) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dry_dir, sizeof(dry_dir), "%s/litebox-dry-run-XXXXXX",
			 tmp && tmp[0] == '/' ? tmp : "/tmp");
		if (!mkdtemp(dry_dir)) {
			lb_msg("--dry-run: cannot create a temporary directory");
			goto free_rules;
		}
		o.overlay = dry_dir;
		o.audit = true;
	}
	if (learn) {
		/* Learning watches an audit-mode run on top of a base policy
		 * (default: the default profile) that keeps the base's hides,
		 * explicit denials and network limits; the learned policy is
		 * `include BASE` plus what the base refused. */
		o.learn = true;
		o.audit = true;
		if (!o.policy)
			o.policy = "default";
	}
	char **prog_argv = argv + optind;
	struct lb_program *prog = NULL;
	enum lb_exec_problem problem = LB_EXEC_OK;
	char detail[512] = "";
	rc = lb_program_inspect(prog_argv[0], getenv("PATH"), &prog, &problem, detail,
				sizeof(detail));
	if (o.overlay && problem == LB_EXEC_NOT_FOUND && strchr(prog_argv[0], '/'))
		rc = inspect_in_overlay(o.overlay, prog_argv[0], &prog, &problem, detail,
					sizeof(detail));
	if (rc < 0 || problem != LB_EXEC_OK) {
		status = report_program_problem(prog_argv[0], problem ? problem : LB_EXEC_NOT_FOUND,
						detail[0] ? detail : strerror(-rc));
		lb_program_free(prog);
		goto free_rules;
	}
	struct lb_policy *policy = NULL;
	struct implicit im = {0};
	if (load_policy(&o, prog, &im, &policy) == 0) {
		status = supervise_program(&o, prog, policy, &im, prog_argv, NULL);
		lb_policy_free(policy);
	}
	for (size_t i = 0; i < im.n_owned; i++)
		free(im.owned[i]);
	lb_program_free(prog);
free_rules:
	if (dry_dir[0] && o.overlay == dry_dir)
		(void)lb_overlay_remove_tree(dry_dir);
	for (size_t i = 0; i < o.n_rules; i++)
		free(o.rule_storage[i]);
	return status;
}
