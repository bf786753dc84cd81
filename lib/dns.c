/* SPDX-License-Identifier: MIT */
/* Mediated DNS: the resolver configuration view, the redirect of the
 * program's DNS connects to litebox's resolver, that resolver, and the
 * table of names and the addresses they resolved to (see dns.h).
 *
 * Why TCP: a UDP answer must come from the nameserver's address and port
 * (glibc and musl check it, a connected socket receives only from its
 * peer), which litebox cannot fake without privilege; the supervisor does
 * see every connect(), and a stream connected to litebox carries the
 * program's queries to litebox and nowhere else. `options use-vc` in the
 * view makes glibc and Go's resolver use TCP (docs/security.md lists who
 * does not). The program's socket stays its own file: it is connected to
 * a loopback listener of litebox's instead of the nameserver, so its
 * flags, its epoll registrations and its non-blocking connect behave as
 * they would. */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"
#include "litebox/dns_proto.h"
#include "litebox/net_decode.h"
#include "litebox/south.h"
#include "litebox/util.h"

#define MAX_NS 3
#define MAX_PEERS 64
#define MAX_ENTRIES 8192
#define VIEW_MAX 8192
#define UPSTREAM_TIMEOUT_MS 3000
#define CLIENT_TIMEOUT_MS 30000
#define PEER_WAIT_MS 2000
#define MAX_CONNS 64 /* a program cannot make litebox start more threads */
#define CONN_STACK (256 * 1024)

struct dns_entry {
	char *name;
	bool is_v4;
	bool asked; /* an answer of the mediated resolver, not /etc/hosts */
	uint8_t ip[16];
};

/* A program socket litebox connected to its resolver, known by its
 * local address (what the resolver sees as the peer). */
struct dns_peer {
	bool is_v4;
	uint8_t ip[16];
	uint16_t port;
	pid_t tid; /* 0: a free slot */
	/* The connecting process, for `set on-deny kill`: a tid read later
	 * may be another process's by then (-1: none). */
	int pidfd;
};

struct lb_dns {
	struct lb_core *core;
	struct sockaddr_storage ns[MAX_NS];
	socklen_t ns_len[MAX_NS];
	int n_ns;
	char view[VIEW_MAX];
	size_t view_len;
	bool have_conf;
	bool tcp_only; /* the host's own configuration says use-vc */
	dev_t conf_dev;
	ino_t conf_ino;
	char conf_path[PATH_MAX]; /* where /etc/resolv.conf leads */

	pthread_mutex_t lock;
	pthread_cond_t peer_cond;
	pthread_cond_t idle_cond; /* n_conns reached 0 */
	int n_conns;
	int memfd;
	bool started, stopping;
	pthread_t acceptor;
	/* Readable once the run ends: every wait of the resolver's threads
	 * watches it, so a client or nameserver that never answers holds
	 * the run's end up for no longer than a poll() return. */
	int stopfd;
	int lsn4, lsn6;
	uint16_t port4, port6;
	struct dns_peer peers[MAX_PEERS];
	size_t next_peer;
	struct dns_entry *tab;
	size_t n_tab, cap_tab;
};

/* ---- the table ------------------------------------------------------------------ */

static void table_add(struct lb_dns *d, const char *name, bool is_v4, const uint8_t *ip, bool asked)
{
	size_t iplen = is_v4 ? 4 : 16;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_tab; i++)
		if (d->tab[i].is_v4 == is_v4 && memcmp(d->tab[i].ip, ip, iplen) == 0 &&
		    strcmp(d->tab[i].name, name) == 0) {
			d->tab[i].asked |= asked;
			goto out;
		}
	if (d->n_tab == d->cap_tab && d->cap_tab < MAX_ENTRIES) {
		size_t cap = d->cap_tab ? d->cap_tab * 2 : 64;
		struct dns_entry *n = realloc(d->tab, cap * sizeof(*n));
		if (n) {
			d->tab = n;
			d->cap_tab = cap;
		}
	}
	/* A full table grants nothing more: later connects are refused. */
	if (d->n_tab < d->cap_tab) {
		struct dns_entry *e = &d->tab[d->n_tab];
		*e = (struct dns_entry){.name = strdup(name), .is_v4 = is_v4, .asked = asked};
		memcpy(e->ip, ip, iplen);
		if (e->name)
			d->n_tab++;
	}
out:
	pthread_mutex_unlock(&d->lock);
}

static size_t names_of(struct lb_core *core, bool is_v4, const uint8_t *ip, const char **names,
		       size_t max, bool asked_only)
{
	struct lb_dns *d = core->dns;
	size_t n = 0;
	if (!d)
		return 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_tab && n < max; i++)
		if (d->tab[i].is_v4 == is_v4 && memcmp(d->tab[i].ip, ip, is_v4 ? 4 : 16) == 0 &&
		    (d->tab[i].asked || !asked_only))
			names[n++] = d->tab[i].name;
	pthread_mutex_unlock(&d->lock);
	return n;
}

size_t lb_dns_names_of(struct lb_core *core, bool is_v4, const uint8_t *ip, const char **names,
		       size_t max)
{
	return names_of(core, is_v4, ip, names, max, false);
}

size_t lb_dns_asked_names_of(struct lb_core *core, bool is_v4, const uint8_t *ip,
			     const char **names, size_t max)
{
	return names_of(core, is_v4, ip, names, max, true);
}

/* ---- the host's configuration ----------------------------------------------------- */

/* "name" as the policy matches it: lower case, no trailing dot; false if
 * it holds anything a host name cannot. */
static bool normal_name(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);
	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
		out[i] = c;
	}
	out[n] = '\0';
	return true;
}

static bool parse_ip(const char *s, bool *is_v4, uint8_t ip[16])
{
	char buf[INET6_ADDRSTRLEN];
	snprintf(buf, sizeof(buf), "%s", s);
	char *pct = strchr(buf, '%'); /* a scope id: the address is what counts */
	if (pct)
		*pct = '\0';
	memset(ip, 0, 16);
	if (inet_pton(AF_INET, buf, ip) == 1) {
		*is_v4 = true;
		return true;
	}
	if (inet_pton(AF_INET6, buf, ip) != 1)
		return false;
	*is_v4 = false;
	static const uint8_t mapped[12] = {[10] = 0xFF, [11] = 0xFF};
	if (memcmp(ip, mapped, 12) == 0) {
		memmove(ip, ip + 12, 4);
		*is_v4 = true;
	}
	return true;
}

/* /etc/hosts: every name counts as resolved to its address, as the
 * program's resolver reads them there before asking DNS. */
static void read_hosts(struct lb_dns *d)
{
	FILE *f = fopen("/etc/hosts", "re");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#'), *save = NULL;
		if (hash)
			*hash = '\0';
		char *tok = strtok_r(line, " \t\r\n", &save);
		bool is_v4;
		uint8_t ip[16];
		if (!tok || !parse_ip(tok, &is_v4, ip))
			continue;
		char name[LB_DNS_NAME_MAX];
		while ((tok = strtok_r(NULL, " \t\r\n", &save)))
			if (normal_name(tok, name, sizeof(name)))
				table_add(d, name, is_v4, ip, false);
	}
	fclose(f);
}

static void add_ns(struct lb_dns *d, const char *text)
{
	bool is_v4;
	uint8_t ip[16];
	if (d->n_ns >= MAX_NS || !parse_ip(text, &is_v4, ip))
		return;
	struct sockaddr_storage *ss = &d->ns[d->n_ns];
	memset(ss, 0, sizeof(*ss));
	if (is_v4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(53);
		memcpy(&a->sin_addr, ip, 4);
		d->ns_len[d->n_ns] = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(53);
		memcpy(&a->sin6_addr, ip, 16);
		d->ns_len[d->n_ns] = sizeof(*a);
	}
	d->n_ns++;
}

__attribute__((format(printf, 2, 3))) static void view_add(struct lb_dns *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(d->view + d->view_len, sizeof(d->view) - d->view_len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(d->view) - d->view_len)
		d->view_len += (size_t)n;
}

/* The view keeps the host's search list and options and adds use-vc;
 * its nameservers are the host's (their connects come to litebox). */
/* An options line asking for TCP (glibc's use-vc, BSD spellings): a
 * litebox inside litebox reads its outer one's view, whose nameservers
 * answer over TCP only. */
static bool wants_tcp(const char *line)
{
	char copy[1024], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *w = strtok_r(copy, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save))
		if (!strcmp(w, "use-vc") || !strcmp(w, "usevc") || !strcmp(w, "tcp"))
			return true;
	return false;
}

static void read_resolv_conf(struct lb_dns *d, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[1024], keep[8][1024];
	size_t n_keep = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char word[32] = "", arg[INET6_ADDRSTRLEN + 8] = "";
		if (sscanf(line, "%31s %53s", word, arg) < 1 || word[0] == '#' || word[0] == ';')
			continue;
		if (strcmp(word, "nameserver") == 0)
			add_ns(d, arg);
		if (strcmp(word, "options") == 0 && wants_tcp(line))
			d->tcp_only = true;
		else if ((!strcmp(word, "search") || !strcmp(word, "domain") ||
			  !strcmp(word, "options") || !strcmp(word, "sortlist")) &&
			 n_keep < LB_ARRAY_SIZE(keep))
			snprintf(keep[n_keep++], sizeof(keep[0]), "%s", line);
	}
	if (f)
		fclose(f);
	if (d->n_ns == 0)
		add_ns(d, "127.0.0.1"); /* what resolvers use without a nameserver line */
	view_add(d, "%s",
		 "# litebox: this run's resolver configuration; queries go over TCP\n"
		 "# to litebox, which resolves only the names the policy allows\n");
	for (int i = 0; i < d->n_ns; i++) {
		char text[INET6_ADDRSTRLEN] = "";
		const struct sockaddr_storage *ss = &d->ns[i];
		if (ss->ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text,
				  sizeof(text));
		else
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, text,
				  sizeof(text));
		view_add(d, "nameserver %s\n", text);
	}
	for (size_t i = 0; i < n_keep; i++) {
		size_t l = strlen(keep[i]);
		view_add(d, "%s%s", keep[i], l && keep[i][l - 1] == '\n' ? "" : "\n");
	}
	view_add(d, "%s", "options use-vc\n");
}

int lb_dns_init(struct lb_core *core)
{
	struct lb_dns *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->core = core;
	d->memfd = d->lsn4 = d->lsn6 = d->stopfd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->peer_cond, NULL);
	pthread_cond_init(&d->idle_cond, NULL);
	/* made now: the supervisor's own filter allows no eventfd later */
	d->stopfd = eventfd(0, EFD_CLOEXEC);
	if (d->stopfd < 0) {
		int err = errno;
		pthread_cond_destroy(&d->idle_cond);
		pthread_cond_destroy(&d->peer_cond);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return -err;
	}
	const char *conf = getenv("LITEBOX_RESOLV_CONF");
	read_resolv_conf(d, conf && conf[0] ? conf : "/etc/resolv.conf");
	struct stat st;
	if (stat("/etc/resolv.conf", &st) == 0 && S_ISREG(st.st_mode)) {
		d->have_conf = true;
		d->conf_dev = st.st_dev;
		d->conf_ino = st.st_ino;
		if (!realpath("/etc/resolv.conf", d->conf_path))
			d->conf_path[0] = '\0';
	}
	read_hosts(d);
	core->dns = d;
	return 0;
}

static void stop_resolver(struct lb_dns *d);

void lb_dns_stop(struct lb_core *core)
{
	if (core->dns)
		stop_resolver(core->dns);
}

void lb_dns_free(struct lb_core *core)
{
	struct lb_dns *d = core->dns;
	if (!d)
		return;
	stop_resolver(d); /* no thread of the resolver looks at core or d after this */
	core->dns = NULL;
	if (d->memfd >= 0)
		close(d->memfd);
	close(d->stopfd);
	for (size_t i = 0; i < MAX_PEERS; i++)
		if (d->peers[i].tid && d->peers[i].pidfd >= 0)
			close(d->peers[i].pidfd);
	for (size_t i = 0; i < d->n_tab; i++)
		free(d->tab[i].name);
	free(d->tab);
	pthread_cond_destroy(&d->idle_cond);
	pthread_cond_destroy(&d->peer_cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* ---- the view --------------------------------------------------------------------- */

static int view_memfd(struct lb_dns *d)
{
	int fd = memfd_create("litebox-resolv.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (write(fd, d->view, d->view_len) != (ssize_t)d->view_len ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* A read-only description of its own (own offset) of the sealed view. */
static int view_open(struct lb_dns *d)
{
	pthread_mutex_lock(&d->lock);
	if (d->memfd < 0)
		d->memfd = view_memfd(d);
	int m = d->memfd;
	pthread_mutex_unlock(&d->lock);
	if (m < 0)
		return m;
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", m);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static bool is_conf(const struct lb_dns *d, const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_dev == d->conf_dev && st->st_ino == d->conf_ino;
}

int lb_dns_view_swap(struct lb_call *c, int fd, int flags, const char *path,
		     const struct stat *seen)
{
	struct lb_dns *d = c->core->dns;
	struct stat st;
	if (!d || !d->have_conf || (flags & (O_ACCMODE | O_PATH)) != O_RDONLY)
		return fd;
	/* Under --overlay the file has the overlay's device: the host's
	 * object behind the same path tells whether it is the host's
	 * resolver configuration. */
	bool by_path = c->core->cfg.writes_contained && path && d->conf_path[0] &&
		       strcmp(path, d->conf_path) == 0;
	/* The common case costs nothing: the walk's own look at the file
	 * says it is another one. (Swapped for the configuration since, the
	 * program reads the host's file: the view is what makes names
	 * resolve, the refusals hold without it.) */
	if (seen && !by_path && !is_conf(d, seen))
		return fd;
	/* No look of the walk's (a followed link, a library's soname): the
	 * configuration is reached by its own path or by a link to it, which
	 * the walk resolved to that path; any other name is another file. */
	if (!seen && !by_path && !(path && d->conf_path[0] && strcmp(path, d->conf_path) == 0))
		return fd;
	if (fstat(fd, &st) < 0)
		return fd;
	bool conf = is_conf(d, &st) ||
		    (by_path && fstatat(c->core->rootfd, path + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		     is_conf(d, &st));
	if (!conf)
		return fd;
	close(fd);
	return view_open(d); /* fail closed: never the host's file instead */
}

/* ---- events ------------------------------------------------------------------------ */

static void emit(struct lb_dns *d, pid_t tid, const char *name, enum lb_event_verdict v,
		 const struct lb_decision *dec)
{
	const struct lb_core_config *cfg = &d->core->cfg;
	bool audited = dec->verdict == LB_VERDICT_AUDIT;
	if (!cfg->on_event || (v == LB_EV_ALLOW && !audited && !cfg->report_allowed))
		return;
	char obj[LB_DNS_NAME_MAX + 16];
	if (name) /* the object a rule would grant it with */
		snprintf(obj, sizeof(obj), "tcp %s:*", name[0] ? name : ".");
	else
		snprintf(obj, sizeof(obj), "dns (malformed query)");
	struct lb_event ev = {.pid = tid,
			      .nr = -1,
			      .syscall = "dns",
			      .cls = LB_CLASS_CONNECT,
			      .object = obj,
			      .verdict = v,
			      .decision = dec,
			      .audited = audited};
	cfg->on_event(cfg->event_arg, &ev);
}

/* Judge a query for name, as apply_decision judges an access: true when
 * it may go upstream. */
static bool judge_name(struct lb_dns *d, pid_t tid, int pidfd, const char *name)
{
	struct lb_decision dec;
	lb_policy_judge_name(d->core->cfg.policy, name, &dec);
	if (dec.verdict == LB_VERDICT_ALLOW || dec.verdict == LB_VERDICT_AUDIT) {
		emit(d, tid, name, LB_EV_ALLOW, &dec);
		return true;
	}
	/* learning and --dry-run keep network limits, as for connects (a
	 * name is data sent out); an enclosing litebox's refusal holds in
	 * the inner's audit mode too */
	if (lb_core_mode(d->core) == LB_MODE_AUDIT && !d->core->cfg.learning &&
	    !d->core->cfg.dry_run && !dec.outer) {
		emit(d, tid, name, LB_EV_WOULD_DENY, &dec);
		return true;
	}
	if (lb_policy_on_deny(d->core->cfg.policy) == LB_ON_DENY_KILL) {
		emit(d, tid, name, LB_EV_KILL, &dec);
		/* never by number: the thread that connected may be gone and
		 * its tid another process's */
		if (pidfd >= 0)
			(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		return false;
	}
	emit(d, tid, name, LB_EV_DENY, &dec);
	return false;
}

/* ---- upstream ------------------------------------------------------------------------ */

/* fd is ready for ev within ms, and the run has not ended (stopfd). */
static bool wait_fd(int fd, short ev, int ms, int stopfd)
{
	struct pollfd p[2] = {{.fd = fd, .events = ev}, {.fd = stopfd, .events = POLLIN}};
	return poll(p, 2, ms) > 0 && !p[1].revents && (p[0].revents & ev);
}

static bool read_full(int fd, uint8_t *buf, size_t len, int ms, int stopfd)
{
	size_t got = 0;
	while (got < len) {
		if (!wait_fd(fd, POLLIN, ms, stopfd))
			return false;
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static bool write_full(int fd, const uint8_t *buf, size_t len, int stopfd)
{
	size_t done = 0;
	while (done < len) {
		if (!wait_fd(fd, POLLOUT, UPSTREAM_TIMEOUT_MS, stopfd))
			return false;
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* One message over a stream: two length bytes, then the message. */
static ssize_t stream_exchange(int fd, const uint8_t *q, size_t qlen, uint8_t *out, int stopfd)
{
	uint8_t hdr[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen};
	if (!write_full(fd, hdr, 2, stopfd) || !write_full(fd, q, qlen, stopfd) ||
	    !read_full(fd, hdr, 2, UPSTREAM_TIMEOUT_MS, stopfd))
		return -1;
	size_t n = (size_t)hdr[0] << 8 | hdr[1];
	return read_full(fd, out, n, UPSTREAM_TIMEOUT_MS, stopfd) ? (ssize_t)n : -1;
}

static ssize_t ask_one(const struct sockaddr *ns, socklen_t nslen, bool tcp, const uint8_t *q,
		       size_t qlen, uint8_t *out, int stopfd)
{
	lb_autoclose int s = socket(
	    ns->sa_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -1;
	if (connect(s, ns, nslen) < 0 && errno != EINPROGRESS)
		return -1;
	if (tcp)
		return stream_exchange(s, q, qlen, out, stopfd);
	if (send(s, q, qlen, 0) != (ssize_t)qlen ||
	    !wait_fd(s, POLLIN, UPSTREAM_TIMEOUT_MS, stopfd))
		return -1;
	return recv(s, out, LB_DNS_MSG_MAX, 0);
}

struct answer_ctx {
	struct lb_dns *d;
	const char *name;
};

static void learn_addr(void *arg, bool is_v4, const uint8_t *ip)
{
	struct answer_ctx *a = arg;
	table_add(a->d, a->name, is_v4, ip, true);
}

/* Ask the host's nameservers (UDP, TCP when truncated or unanswered) with
 * a query litebox built; the answer's addresses go to the table. Returns
 * the response length in out (its id the client's), 0 if none came. */
static size_t forward(struct lb_dns *d, const struct lb_dns_query *q, uint8_t *out)
{
	uint8_t query[LB_DNS_NAME_MAX + 32];
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return 0;
	size_t qlen = lb_dns_build_query(q, id, query, sizeof(query));
	if (qlen == 0)
		return 0;
	struct answer_ctx a = {d, q->name};
	for (int i = 0; i < d->n_ns; i++) {
		for (int tcp = d->tcp_only; tcp <= 1; tcp++) {
			const struct sockaddr *ns = (const struct sockaddr *)&d->ns[i];
			ssize_t n = ask_one(ns, d->ns_len[i], tcp, query, qlen, out, d->stopfd);
			bool tc = false;
			if (n <= 0 ||
			    lb_dns_parse_response(out, (size_t)n, q, id, &tc, learn_addr, &a) < 0)
				continue;
			if (tc && !tcp)
				continue;
			out[0] = (uint8_t)(q->id >> 8);
			out[1] = (uint8_t)q->id;
			return (size_t)n;
		}
	}
	return 0;
}

/* ---- the resolver --------------------------------------------------------------------- */

/* An AF_INET or AF_INET6 address the kernel filled in, read as the
 * connect judge reads the program's (IPv4-mapped as IPv4). */
static bool inet_of(const struct sockaddr_storage *ss, socklen_t len, struct lb_sa *sa)
{
	return lb_sockaddr_decode(ss, len, ss->ss_family, true, sa) == 0 && sa->form == LB_SA_INET;
}

/* Found once: a connection served is forgotten, so the address cannot be
 * bound again later (its TIME_WAIT over) by another process on the host,
 * another sandbox's program among them, to be served under this policy. */
static bool peer_find(struct lb_dns *d, const struct lb_sa *sa, pid_t *tid, int *pidfd)
{
	for (size_t i = 0; i < MAX_PEERS; i++) {
		struct dns_peer *p = &d->peers[i];
		if (p->tid && p->port == sa->port && p->is_v4 == sa->is_v4 &&
		    memcmp(p->ip, sa->ip, sa->is_v4 ? 4 : 16) == 0) {
			*tid = p->tid;
			*pidfd = p->pidfd;
			p->tid = 0;
			p->pidfd = -1;
			return true;
		}
	}
	return false;
}

/* Which program thread this connection is: only sockets litebox
 * connected here are served (the connect may still be returning). */
static bool identify(struct lb_dns *d, int conn, pid_t *tid, int *pidfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct lb_sa sa;
	if (getpeername(conn, (struct sockaddr *)&ss, &len) < 0 || !inet_of(&ss, len, &sa))
		return false;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PEER_WAIT_MS / 1000;
	pthread_mutex_lock(&d->lock);
	bool found;
	while (!(found = peer_find(d, &sa, tid, pidfd)) && !d->stopping)
		if (pthread_cond_timedwait(&d->peer_cond, &d->lock, &until) != 0)
			break;
	pthread_mutex_unlock(&d->lock);
	return found;
}

/* One query of the program: its answer in out, or 0 to hang up. */
static size_t answer(struct lb_dns *d, pid_t tid, int pidfd, const uint8_t *msg, size_t len,
		     uint8_t *out)
{
	struct lb_dns_query q;
	if (lb_dns_parse_query(msg, len, &q) < 0) {
		struct lb_decision dec = {.verdict = LB_VERDICT_DENY, .origin = LB_ORIGIN_BUILTIN};
		emit(d, tid, NULL, LB_EV_DENY, &dec);
		return 0;
	}
	if (!judge_name(d, tid, pidfd, q.name))
		return lb_dns_build_error(msg, &q, LB_DNS_RCODE_NXDOMAIN, out, LB_DNS_MSG_MAX);
	size_t n = forward(d, &q, out);
	return n ? n : lb_dns_build_error(msg, &q, LB_DNS_RCODE_SERVFAIL, out, LB_DNS_MSG_MAX);
}

static void serve(struct lb_dns *d, int conn)
{
	pid_t tid;
	lb_autoclose int pidfd = -1;
	lb_autofree uint8_t *in = malloc(LB_DNS_MSG_MAX);
	lb_autofree uint8_t *out = malloc(LB_DNS_MSG_MAX + 2);
	if (!in || !out || !identify(d, conn, &tid, &pidfd))
		return;
	uint8_t hdr[2];
	while (read_full(conn, hdr, 2, CLIENT_TIMEOUT_MS, d->stopfd)) {
		size_t n = (size_t)hdr[0] << 8 | hdr[1];
		if (!read_full(conn, in, n, CLIENT_TIMEOUT_MS, d->stopfd))
			break;
		size_t m = answer(d, tid, pidfd, in, n, out + 2);
		out[0] = (uint8_t)(m >> 8);
		out[1] = (uint8_t)m;
		if (m == 0 || !write_full(conn, out, m + 2, d->stopfd))
			break;
	}
}

/* The last thing a connection's thread does: once the count is 0, the
 * run's end may free d. */
static void conn_done(struct lb_dns *d)
{
	pthread_mutex_lock(&d->lock);
	if (--d->n_conns == 0)
		pthread_cond_broadcast(&d->idle_cond);
	pthread_mutex_unlock(&d->lock);
}

struct conn_job {
	struct lb_dns *d;
	int conn;
};

static void *conn_thread(void *arg)
{
	struct conn_job j = *(struct conn_job *)arg;
	free(arg);
	serve(j.d, j.conn);
	close(j.conn);
	conn_done(j.d);
	return NULL;
}

/* A thread of its own for conn, counted (the run's end waits for it). */
static void start_conn(struct lb_dns *d, int conn)
{
	pthread_mutex_lock(&d->lock);
	bool room = d->n_conns < MAX_CONNS;
	if (room)
		d->n_conns++;
	pthread_mutex_unlock(&d->lock);
	if (!room) {
		close(conn); /* the client retries, as with a busy server */
		return;
	}
	struct conn_job *j = malloc(sizeof(*j));
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, CONN_STACK);
	if (j)
		*j = (struct conn_job){d, conn};
	if (!j || pthread_create(&th, &attr, conn_thread, j) != 0) {
		free(j);
		close(conn);
		conn_done(d);
	}
	pthread_attr_destroy(&attr);
}

static void *accept_thread(void *arg)
{
	struct lb_dns *d = arg;
	struct pollfd p[3] = {{.fd = d->lsn4, .events = POLLIN},
			      {.fd = d->lsn6, .events = POLLIN},
			      {.fd = d->stopfd, .events = POLLIN}};
	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[2].revents)
			return NULL;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & POLLIN))
				continue;
			int conn = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (conn >= 0)
				start_conn(d, conn);
		}
	}
}

static int listen_on(int family, uint16_t *port)
{
	int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss = {.ss_family = (sa_family_t)family};
	socklen_t len =
	    family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	int one = 1;
	if (s < 0 ||
	    (family == AF_INET6 &&
	     setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 64) < 0 ||
	    getsockname(s, (struct sockaddr *)&ss, &len) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return s;
}

static void close_listeners(struct lb_dns *d)
{
	int *fds[] = {&d->lsn4, &d->lsn6};
	for (size_t i = 0; i < LB_ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

/* Started at the first DNS connect: a run that never resolves costs no
 * thread and no listener. None after the run's end. */
static int start_resolver(struct lb_dns *d)
{
	int rc = 0;
	pthread_mutex_lock(&d->lock);
	if (d->stopping) {
		rc = -ECONNREFUSED;
	} else if (!d->started) {
		d->lsn4 = listen_on(AF_INET, &d->port4);
		d->lsn6 = listen_on(AF_INET6, &d->port6);
		if (d->lsn4 < 0 || pthread_create(&d->acceptor, NULL, accept_thread, d) != 0) {
			close_listeners(d);
			rc = -ECONNREFUSED;
		} else {
			d->started = true;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Every connection hung up and every thread of the resolver done (none
 * waits past a poll() return: each watches stopfd). */
static void stop_resolver(struct lb_dns *d)
{
	pthread_mutex_lock(&d->lock);
	bool running = d->started && !d->stopping;
	d->stopping = true;
	if (running)
		(void)!write(d->stopfd, &(uint64_t){1}, sizeof(uint64_t));
	pthread_cond_broadcast(&d->peer_cond);
	pthread_mutex_unlock(&d->lock);
	if (!running)
		return;
	pthread_join(d->acceptor, NULL);
	pthread_mutex_lock(&d->lock);
	while (d->n_conns > 0)
		pthread_cond_wait(&d->idle_cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
	close_listeners(d);
}

/* ---- the connect ----------------------------------------------------------------------- */

static bool is_nameserver(const struct lb_dns *d, const struct lb_sa *sa)
{
	for (int i = 0; i < d->n_ns; i++) {
		struct lb_sa ns;
		if (inet_of(&d->ns[i], d->ns_len[i], &ns) && ns.is_v4 == sa->is_v4 &&
		    memcmp(ns.ip, sa->ip, sa->is_v4 ? 4 : 16) == 0)
			return true;
	}
	return false;
}

bool lb_dns_nameserver_only(struct lb_core *core, bool is_v4, const uint8_t *ip)
{
	static const uint8_t lo4[4] = {127, 0, 0, 1}, lo6[16] = {[15] = 1};
	struct lb_dns *d = core->dns;
	if (!d || memcmp(ip, is_v4 ? lo4 : lo6, is_v4 ? 4 : 16) == 0)
		return false;
	struct lb_sa sa = {.is_v4 = is_v4};
	memcpy(sa.ip, ip, is_v4 ? 4 : 16);
	return is_nameserver(d, &sa);
}

static int sock_int(int sock, int level, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);
	return getsockopt(sock, level, opt, &v, &l) < 0 ? -1 : v;
}

/* litebox's listener in the socket's family: [::1], or IPv4-mapped
 * 127.0.0.1 for a dual-stack socket where ::1 is unavailable. */
static socklen_t resolver_addr(const struct lb_dns *d, int domain, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (domain == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(d->port4);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	if (d->lsn6 >= 0) {
		a->sin6_port = htons(d->port6);
		a->sin6_addr = in6addr_loopback;
	} else {
		a->sin6_port = htons(d->port4);
		static const uint8_t v4lo[16] = {[10] = 0xFF, [11] = 0xFF, [12] = 127, [15] = 1};
		memcpy(&a->sin6_addr, v4lo, 16);
	}
	return sizeof(*a);
}

static void peer_add(struct lb_dns *d, int sock, pid_t tid, int pidfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct lb_sa sa;
	if (getsockname(sock, (struct sockaddr *)&ss, &len) < 0 || !inet_of(&ss, len, &sa)) {
		if (pidfd >= 0)
			close(pidfd);
		return;
	}
	struct dns_peer p = {.tid = tid, .pidfd = pidfd, .is_v4 = sa.is_v4, .port = sa.port};
	memcpy(p.ip, sa.ip, 16);
	pthread_mutex_lock(&d->lock);
	struct dns_peer *slot = &d->peers[d->next_peer++ % MAX_PEERS];
	if (slot->tid && slot->pidfd >= 0)
		close(slot->pidfd);
	*slot = p;
	pthread_cond_broadcast(&d->peer_cond);
	pthread_mutex_unlock(&d->lock);
}

/* Port 53 of a configured nameserver, decoded as a socket of family
 * domain would take addr. */
static bool to_nameserver(const struct lb_dns *d, const void *addr, socklen_t len, int domain)
{
	struct lb_sa sa;
	return (domain == AF_INET || domain == AF_INET6) &&
	       lb_sockaddr_decode(addr, len, domain, true, &sa) == 0 && sa.form == LB_SA_INET &&
	       sa.port == 53 && is_nameserver(d, &sa);
}

/* The address's own family first, from the copy already made: a connect
 * anywhere but a nameserver's port 53 (nearly every one) costs no system
 * call. A socket accepts only its own family's addresses (an AF_INET6
 * socket takes IPv4 as ::ffff:a.b.c.d), so where the socket's family
 * would find a nameserver, the address's family does too. */
static int nameserver_domain(const struct lb_dns *d, int sock, const void *addr, socklen_t len)
{
	sa_family_t fam;
	if (len < (socklen_t)sizeof(fam))
		return -1;
	memcpy(&fam, addr, sizeof(fam));
	if (!to_nameserver(d, addr, len, fam))
		return -1;
	int domain = sock_int(sock, SOL_SOCKET, SO_DOMAIN);
	return to_nameserver(d, addr, len, domain) &&
		       sock_int(sock, SOL_SOCKET, SO_TYPE) == SOCK_STREAM &&
		       sock_int(sock, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP
		   ? domain
		   : -1;
}

bool lb_dns_nameserver_stream(struct lb_call *c, int sock, const void *addr, socklen_t len)
{
	struct lb_dns *d = c->core->dns;
	return d && nameserver_domain(d, sock, addr, len) >= 0;
}

bool lb_dns_intercept(struct lb_call *c, int sock, const void *addr, socklen_t len, int *rc)
{
	struct lb_dns *d = c->core->dns;
	int domain = d ? nameserver_domain(d, sock, addr, len) : -1;
	if (domain < 0)
		return false;
	if ((*rc = start_resolver(d)) < 0)
		return true;
	struct sockaddr_storage to;
	socklen_t tolen = resolver_addr(d, domain, &to);
	*rc = lb_host_connect(c, sock, (struct sockaddr *)&to, tolen);
	if (*rc == 0 || *rc == -EINPROGRESS) {
		/* the caller is stopped in its connect: its tgid is its own */
		int pidfd = lb_policy_on_deny(c->core->cfg.policy) == LB_ON_DENY_KILL
				? (int)syscall(SYS_pidfd_open, lb_caller_tgid(c), 0)
				: -1;
		/* a caller gone since (its number reused): no pidfd, no kill */
		if (pidfd >= 0 && c->ops->still_valid(c->t) < 0) {
			close(pidfd);
			pidfd = -1;
		}
		peer_add(d, sock, c->t->pid, pidfd);
	}
	return true;
}
