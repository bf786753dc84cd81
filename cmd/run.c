/* SPDX-License-Identifier: MIT */
/* `litebox run` and `litebox learn`: parse options, load the policy, start
 * the program under the core and map the outcome to an exit status. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "litebox/audit.h"
#include "litebox/core.h"
#include "litebox/elf.h"
#include "litebox/launcher.h"
#include "litebox/learn.h"
#include "litebox/policy.h"
#include "litebox/text.h"
#include "litebox/util.h"

extern char **environ;

#define MAX_CLI_RULES 256

struct run_opts {
	const char *policy;
	const char *log;
	const char *platform;
	bool audit, quiet, verbose, learn;
	uint64_t timeout_ms;
	struct lb_cli_rule rules[MAX_CLI_RULES];
	char *rule_storage[MAX_CLI_RULES];
	size_t n_rules;
	const char *learn_out;
};

/* ---- option parsing ------------------------------------------------------------ */

static int add_cli_rule(struct run_opts *o, enum lb_class cls, const char *flag, const char *arg)
{
	if (o->n_rules == MAX_CLI_RULES) {
		lb_msg("too many --allow-* options (at most %d)", MAX_CLI_RULES);
		return -1;
	}
	char *obj;
	bool is_path = cls == LB_CLASS_READ || cls == LB_CLASS_WRITE || cls == LB_CLASS_EXEC;
	if (is_path && arg[0] != '/') {
		/* A relative path on the command line means relative to here. */
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) || asprintf(&obj, "%s/%s", cwd, arg) < 0)
			return -1;
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
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, OPT_HELP},
    {0},
};

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
		if (lb_parse_duration_ms(optarg, &o->timeout_ms) < 0 || o->timeout_ms == 0) {
			lb_msg("invalid --timeout '%s': give a number with s, m, h or ms (90s, 5m)",
			       optarg);
			return -1;
		}
		return 0;
	case OPT_PLATFORM:
		o->platform = optarg;
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
		return 1;
	default:
		return -1; /* getopt printed the reason */
	}
}

static int parse_opts(int argc, char **argv, struct run_opts *o, bool learn)
{
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:qvo:", long_opts, NULL)) != -1) {
		if (c == '?') {
			if (optopt)
				lb_msg("unknown option '-%c' (see 'litebox help run')", optopt);
			else
				lb_msg("unknown option '%s' (see 'litebox help run')",
				       argv[optind - 1]);
			return -1;
		}
		if (c == ':') {
			lb_msg("option '%s' needs a value", argv[optind - 1]);
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
	if (o->platform && strcmp(o->platform, "seccomp") != 0) {
		lb_msg(
		    "platform '%s' is not available: only --platform seccomp is implemented so far",
		    o->platform);
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

static int load_policy(const struct run_opts *o, const struct lb_program *prog, struct implicit *im,
		       struct lb_policy **out)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd))) {
		lb_msg("cannot determine the current directory: %s", strerror(errno));
		return -1;
	}
	const char *home = getenv("HOME");
	struct passwd *pw = home ? NULL : getpwuid(getuid());
	const char *tmp = getenv("TMPDIR");
	lb_autofree char *exe_dir = lb_dirname_dup(prog->path);
	add_implicit_program(im, prog);

	struct lb_policy_inputs in = {
	    .source = o->policy ? o->policy : "default",
	    .vars = {.cwd = cwd,
		     .home = home ? home : (pw ? pw->pw_dir : "/"),
		     .tmpdir = tmp && tmp[0] == '/' ? tmp : "/tmp",
		     .exe = prog->path,
		     .exe_dir = exe_dir},
	    .cli_rules = o->rules,
	    .n_cli_rules = o->n_rules,
	    .implicit_read = im->read,
	    .n_implicit_read = im->n_read,
	    .implicit_exec = im->exec,
	    .n_implicit_exec = im->n_exec,
	};
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
	return 0;
}

/* ---- events: the audit log and the human-readable lines --------------------------- */

#define FOLD_SLOTS 1024

struct fold_entry {
	uint64_t hash;
	unsigned count;
	char *line;
};

struct run_state {
	struct run_opts *opts;
	struct lb_audit *audit;
	struct lb_learn *learn;
	pthread_mutex_t lock;
	struct fold_entry fold[FOLD_SLOTS];
	bool log_failed;
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

static void format_denial(const struct lb_event *ev, char *line, size_t len)
{
	char comm[64], rule[PATH_MAX + 16];
	comm_of(ev->pid, comm, sizeof(comm));
	lb_decision_rule(ev->decision, rule, sizeof(rule));
	const char *what = ev->verdict == LB_EV_WOULD_DENY ? "would deny"
			   : ev->verdict == LB_EV_HIDE	   ? "hid"
			   : ev->verdict == LB_EV_KILL	   ? "killed on"
			   : ev->verdict == LB_EV_ALLOW	   ? "allowed"
							   : "denied";
	const char *cls = lb_class_name(ev->cls);
	/* The program chose the names and its comm: a terminal sees escapes,
	 * never its control bytes (no ESC sequences, no fake litebox: lines). */
	char e_comm[64 * 4 + 1], e_obj[PATH_MAX * 2];
	lb_text_escape(comm, e_comm, sizeof(e_comm));
	lb_text_escape(ev->object, e_obj, sizeof(e_obj));
	int n = snprintf(line, len, "litebox: %s %s %s (pid %d %s, %s)", what, cls, e_obj,
			 (int)ev->pid, e_comm, ev->syscall);
	if (n < 0 || (size_t)n >= len)
		return;
	if (ev->verdict == LB_EV_ALLOW)
		snprintf(line + n, len - (size_t)n, " by %s", rule);
	else if (ev->decision->origin == LB_ORIGIN_DEFAULT)
		snprintf(line + n, len - (size_t)n, " \u2014 allow with: allow %s %s", cls, e_obj);
	else
		snprintf(line + n, len - (size_t)n, " \u2014 %s by %s",
			 what[0] == 'h' ? "hidden" : "refused", rule);
}

/* Print the first of identical refusals at once; count the repeats (the
 * same verdict, class, object, program and call, whatever the pid) and
 * report them folded at the end or when another refusal takes the slot. */
static void print_folded(struct run_state *st, const struct lb_event *ev, const char *line)
{
	char comm[64], key[PATH_MAX * 2 + 128];
	comm_of(ev->pid, comm, sizeof(comm));
	snprintf(key, sizeof(key), "%d %d %s %s %s", (int)ev->verdict, (int)ev->cls, ev->object,
		 comm, ev->syscall);
	uint64_t h = lb_hash_str(key);
	pthread_mutex_lock(&st->lock);
	struct fold_entry *e = &st->fold[h % FOLD_SLOTS];
	if (e->line && e->hash == h) {
		e->count++;
		pthread_mutex_unlock(&st->lock);
		return;
	}
	if (e->line && e->count > 1)
		fprintf(stderr, "%s (\u00d7%u)\n", e->line, e->count);
	free(e->line);
	e->line = strdup(line);
	e->hash = h;
	e->count = 1;
	fprintf(stderr, "%s\n", line);
	pthread_mutex_unlock(&st->lock);
}

static void flush_folded(struct run_state *st)
{
	for (size_t i = 0; i < FOLD_SLOTS; i++) {
		struct fold_entry *e = &st->fold[i];
		if (e->line && e->count > 1)
			fprintf(stderr, "%s (\u00d7%u)\n", e->line, e->count);
		free(e->line);
		e->line = NULL;
	}
}

static void on_event(void *arg, const struct lb_event *ev)
{
	struct run_state *st = arg;
	if (lb_audit_record(st->audit, ev) < 0)
		st->log_failed = true;
	if (st->learn && !ev->absent) {
		char rule[PATH_MAX + 16];
		lb_decision_rule(ev->decision, rule, sizeof(rule));
		if (lb_learn_add(st->learn, ev->cls, ev->object, lb_event_verdict_name(ev->verdict),
				 rule) < 0)
			st->log_failed = true;
	}
	bool denial = ev->verdict != LB_EV_ALLOW;
	if (st->opts->quiet || (!denial && !st->opts->verbose) ||
	    (ev->absent && !st->opts->verbose))
		return;
	char line[PATH_MAX * 2 + 256];
	format_denial(ev, line, sizeof(line));
	print_folded(st, ev, line);
}

/* ---- running ------------------------------------------------------------------------ */

static struct lb_policy_vars learn_vars;
static char learn_cwd[PATH_MAX];

static struct lb_policy_vars vars_of(const struct lb_program *prog)
{
	(void)prog;
	const char *tmp = getenv("TMPDIR");
	learn_vars.cwd = getcwd(learn_cwd, sizeof(learn_cwd)) ? learn_cwd : NULL;
	learn_vars.home = getenv("HOME");
	learn_vars.tmpdir = tmp && tmp[0] == '/' ? tmp : "/tmp";
	return learn_vars;
}

/* Write the learned policy next to its final name, then rename: a reader
 * never sees half a policy. */
static int write_learned(const struct run_opts *o, struct lb_learn *l, char **argv)
{
	lb_autofree char *text = lb_learn_policy(l, argv[0]);
	lb_autofree char *tmp = NULL;
	if (!text || asprintf(&tmp, "%s.tmp.%d", o->learn_out, (int)getpid()) < 0) {
		lb_msg("cannot build the learned policy: out of memory");
		return -1;
	}
	FILE *f = fopen(tmp, "we");
	if (!f || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		lb_msg("cannot write '%s': %s", tmp, strerror(errno));
		if (f)
			fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, o->learn_out) < 0) {
		lb_msg("cannot write '%s': %s", o->learn_out, strerror(errno));
		unlink(tmp);
		return -1;
	}
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

static int supervise_program(struct run_opts *o, struct lb_program *prog, struct lb_policy *policy,
			     const struct implicit *im, char **argv)
{
	struct run_state st = {.opts = o};
	const char *log = o->log ? o->log : lb_policy_log_path(policy);
	enum lb_mode mode = o->audit ? LB_MODE_AUDIT : lb_policy_mode(policy);
	struct lb_policy_vars lv = vars_of(prog);
	int rc = o->learn ? lb_learn_new(&lv, &st.learn) : 0;
	if (rc < 0) {
		lb_msg("cannot start learning: %s", strerror(-rc));
		return LB_EXIT_LITEBOX;
	}
	rc = lb_audit_open(log, mode, &st.audit);
	if (rc < 0) {
		lb_msg("cannot open the audit log '%s': %s", log, strerror(-rc));
		return LB_EXIT_LITEBOX;
	}
	pthread_mutex_init(&st.lock, NULL);
	mode_t um = umask(0); /* the supervisor applies the program's umask itself */
	struct lb_core_config cc = {
	    .policy = policy,
	    .platform = &lb_platform_seccomp,
	    .on_event = on_event,
	    .event_arg = &st,
	    .report_allowed = o->verbose || log != NULL || o->learn,
	    .initial_umask = um,
	    .force_audit = o->audit,
	    /* the log the program must not rewrite for `policy generate` */
	    .protect_paths = (const char *const[]){log && strcmp(log, "-") ? log : NULL, NULL},
	};
	struct lb_core *core = NULL;
	if ((rc = lb_core_new(&cc, &core)) < 0) {
		lb_msg("cannot set up the sandbox: %s", strerror(-rc));
		lb_audit_close(st.audit, LB_EXIT_LITEBOX, 0, 0);
		return LB_EXIT_LITEBOX;
	}
	char **env = lb_policy_build_env(policy, environ);
	struct lb_launch_config lc = {
	    .exec_path = prog->path,
	    .argv = argv,
	    .envp = env,
	    .platform = &lb_platform_seccomp,
	    .core = core,
	    .limits = lb_policy_limits(policy),
	    .timeout_ms = effective_timeout(o, policy),
	    .umask = um,
	    .landlock_policy = policy,
	    /* audit mode refuses nothing, exec included: Landlock lets every
	     * exec through and the supervisor records what it would refuse */
	    .exec_paths = mode == LB_MODE_AUDIT ? (const char *const[]){"/"} : im->exec,
	    .n_exec_paths = mode == LB_MODE_AUDIT ? 1 : im->n_exec,
	};
	struct lb_launch_result res;
	uint64_t t0 = now_ms();
	rc = lb_launch(&lc, &res);
	uint64_t dt = now_ms() - t0;
	int status = LB_EXIT_LITEBOX;
	if (rc < 0 && res.error[0]) {
		lb_msg("cannot start the sandbox: %s", res.error);
	} else if (rc < 0) {
		if (rc == -EINVAL || rc == -ENOSYS)
			lb_msg("cannot start the sandbox: %s (seccomp user notification with ADDFD "
			       "needs Linux 5.14+)",
			       strerror(-rc));
		else if (rc == -ENOTSUP)
			lb_msg("cannot start the sandbox: 'limit procs' needs a pids cgroup, which "
			       "is not available here");
		else
			lb_msg("cannot start the sandbox: %s", strerror(-rc));
	} else {
		status = exit_status_of(&res, argv[0]);
	}
	flush_folded(&st);
	int sig = rc == 0 && WIFSIGNALED(res.wait_status) && !res.exec_errno
		      ? WTERMSIG(res.wait_status)
		      : 0;
	int lrc = lb_audit_close(st.audit, status, sig, dt);
	if (lrc < 0 || st.log_failed) {
		lb_msg("the audit log '%s' could not be written (%s): the run fails rather than "
		       "leave an incomplete log",
		       log, strerror(lrc < 0 ? -lrc : EIO));
		status = LB_EXIT_LITEBOX;
	}
	if (st.learn && status != LB_EXIT_LITEBOX && write_learned(o, st.learn, argv) < 0)
		status = LB_EXIT_LITEBOX;
	lb_learn_free(st.learn);
	lb_env_free(env);
	lb_core_free(core);
	pthread_mutex_destroy(&st.lock);
	return status;
}

int cmd_run(int argc, char **argv, int learn)
{
	struct run_opts o = {0};
	int status = LB_EXIT_LITEBOX;
	int rc = parse_opts(argc, argv, &o, learn);
	if (rc > 0) {
		fputs(
		    "usage: litebox run [OPTIONS] [--] PROGRAM [ARG...]; see 'litebox help run'\n",
		    stdout);
		status = 0;
		goto free_rules;
	}
	if (rc < 0)
		goto free_rules;
	if (learn) {
		/* Learning watches a run in which nothing is refused. */
		o.learn = true;
		o.audit = true;
		if (!o.policy)
			o.policy = "permissive";
	}
	char **prog_argv = argv + optind;
	struct lb_program *prog = NULL;
	enum lb_exec_problem problem = LB_EXEC_OK;
	char detail[512] = "";
	rc = lb_program_inspect(prog_argv[0], getenv("PATH"), &prog, &problem, detail,
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
		status = supervise_program(&o, prog, policy, &im, prog_argv);
		lb_policy_free(policy);
	}
	for (size_t i = 0; i < im.n_owned; i++)
		free(im.owned[i]);
	lb_program_free(prog);
free_rules:
	for (size_t i = 0; i < o.n_rules; i++)
		free(o.rule_storage[i]);
	return status;
}
