/* SPDX-License-Identifier: MIT */
/* The mediated resolver's lifetime (lib/dns.c): a program's connect to a
 * nameserver goes through lb_core_handle on the fake platform and reaches
 * litebox's resolver; these tests check on the client's own socket what
 * the resolver does with its connections when the run ends. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../lib/dns.h"
#include "fake_platform.h"
#include "litebox/dns_proto.h"
#include "litebox/policy.h"

static struct fake_target ft;
static struct lb_policy *policy;
static struct lb_core *core;
static char conf[] = "/tmp/lb-dns-conf-XXXXXX";
static int n_names;

static void on_event(void *arg, const struct lb_event *ev)
{
	(void)arg;
	if (strcmp(ev->syscall, "dns") == 0)
		n_names++;
}

/* A core whose resolver configuration names ns as the nameserver. */
static void start_core(const char *ns, const char *rules)
{
	int fd = mkstemp(conf);
	cr_assert(fd >= 0);
	dprintf(fd, "nameserver %s\n", ns);
	close(fd);
	setenv("LITEBOX_RESOLV_CONF", conf, 1);
	char text[512];
	snprintf(text, sizeof(text), "version 1\n%s", rules);
	struct lb_diags d = {0};
	struct lb_policy_inputs in = {
	    .source = "t.policy",
	    .text = text,
	    .vars = {.cwd = "/tmp", .home = "/tmp", .tmpdir = "/tmp", .exe = "/x", .exe_dir = "/"}};
	cr_assert_eq(lb_policy_load(&in, &policy, &d), 0, "%s", d.n ? d.items[0].message : "");
	lb_diags_free(&d);
	struct lb_core_config cfg = {.policy = policy,
				     .platform = &fake_platform,
				     .on_event = on_event,
				     .report_allowed = true,
				     .initial_umask = 022};
	cr_assert_eq(lb_core_new(&cfg, &core), 0);
	n_names = 0;
}

static void setup(void)
{
	fake_init(&ft);
}

static void teardown(void)
{
	lb_core_free(core);
	lb_policy_free(policy);
	fake_fini(&ft);
	unlink(conf);
	unsetenv("LITEBOX_RESOLV_CONF");
}

TestSuite(dns, .init = setup, .fini = teardown, .timeout = 60);

/* The program's TCP connect to ns:53, which litebox redirects to its
 * resolver; the program's socket. */
static int connect_ns(const char *ns)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
	cr_assert_eq(inet_pton(AF_INET, ns, &a.sin_addr), 1);
	struct fake_answer r =
	    FAKE_CALL(core, &ft, SYS_connect, (uint64_t)s, fake_put(&ft, &a, sizeof(a)), sizeof(a));
	cr_assert_eq(r.kind, LB_REPLY_VALUE, "connected (kind %d, %lld)", r.kind,
		     (long long)r.value);
	cr_assert_eq(r.value, 0);
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	cr_assert_eq(getpeername(s, (struct sockaddr *)&peer, &pl), 0);
	cr_assert_eq(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK), "to litebox's resolver");
	return s;
}

/* A query for name over the stream (two length bytes first). */
static void send_query(int s, const char *name)
{
	struct lb_dns_query q = {.qtype = LB_DNS_TYPE_A, .qclass = 1};
	snprintf(q.name, sizeof(q.name), "%s", name);
	uint8_t msg[2 + LB_DNS_NAME_MAX + 32];
	size_t n = lb_dns_build_query(&q, 0x4242, msg + 2, sizeof(msg) - 2);
	cr_assert(n > 0);
	msg[0] = (uint8_t)(n >> 8);
	msg[1] = (uint8_t)n;
	cr_assert_eq(write(s, msg, n + 2), (ssize_t)(n + 2));
}

/* The rcode of the answer read from s (blocking). */
static int read_rcode(int s)
{
	uint8_t len[2], buf[512];
	cr_assert_eq(recv(s, len, 2, MSG_WAITALL), 2, "an answer");
	size_t n = (size_t)len[0] << 8 | len[1];
	cr_assert(n >= 12 && n <= sizeof(buf), "an answer of %zu bytes", n);
	cr_assert_eq(recv(s, buf, n, MSG_WAITALL), (ssize_t)n);
	return buf[3] & 0x0F;
}

/* The resolver hung up on s already: the end of the stream (or a reset,
 * when the stop came before the accept) is there to read now, no answer
 * before it. */
static void expect_hung_up(int s)
{
	struct pollfd p = {.fd = s, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 0), 1, "the connection is closed without waiting");
	char c;
	ssize_t n = recv(s, &c, 1, MSG_DONTWAIT);
	int err = errno;
	cr_expect(n == 0 || (n < 0 && err == ECONNRESET), "hung up, no answer (%zd, %s)", n,
		  n < 0 ? strerror(err) : "");
}

Test(dns, freeing_the_core_hangs_up_connections_that_outlive_the_run)
{
	start_core("192.0.2.1", "");
	int s = connect_ns("192.0.2.1");
	int idle = connect_ns("192.0.2.1"); /* a client that never sends */
	/* positive control: the resolver serves s (a name no rule allows) */
	send_query(s, "refused.example");
	cr_assert_eq(read_rcode(s), LB_DNS_RCODE_NXDOMAIN);
	cr_expect_eq(n_names, 1, "the name was judged");
	lb_core_free(core);
	core = NULL;
	expect_hung_up(s);
	expect_hung_up(idle);
	close(s);
	close(idle);
}

Test(dns, the_runs_end_refuses_later_connects)
{
	start_core("192.0.2.1", "");
	int s = connect_ns("192.0.2.1");
	lb_dns_stop(core);
	expect_hung_up(s);
	close(s);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	struct fake_answer r =
	    FAKE_CALL(core, &ft, SYS_connect, (uint64_t)s, fake_put(&ft, &a, sizeof(a)), sizeof(a));
	cr_expect_eq(r.kind, LB_REPLY_ERROR);
	cr_expect_eq(r.value, -ECONNREFUSED);
	close(s);
}

/* A nameserver that takes the query and never answers: the run's end
 * does not wait for it (the client gets no SERVFAIL first). */
Test(dns, the_runs_end_does_not_wait_for_a_silent_nameserver)
{
	int ns = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
	if (bind(ns, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		close(ns);
		cr_skip_test("cannot bind 127.0.0.2:53 for a nameserver (%s)", strerror(err));
	}
	start_core("127.0.0.2", "allow connect tcp allowed.example:*\n");
	int s = connect_ns("127.0.0.2");
	send_query(s, "allowed.example");
	uint8_t q[512];
	cr_assert(recv(ns, q, sizeof(q), 0) > 12, "the query went upstream");
	lb_dns_stop(core);
	expect_hung_up(s);
	close(s);
	close(ns);
}
