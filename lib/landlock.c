/* SPDX-License-Identifier: MIT */
/* The Landlock layer beneath the supervisor.
 *
 * Every file and socket operation of the sandbox is performed by the
 * supervisor, which Landlock does not restrict. So the sandbox's own
 * domain can be nearly closed: it handles every filesystem right and
 * grants only READ_FILE|EXECUTE beneath the directories the policy lets
 * it execute from (execve is the one path operation the kernel performs
 * for the program itself, after the supervisor judged it: this closes the
 * check-then-exec window to the granted prefixes). It handles TCP bind and
 * connect with no rule at all (the supervisor performs them), and scopes
 * abstract unix sockets and signals to the sandbox. Any path or socket
 * operation that reached the kernel without passing the supervisor - a
 * call litebox forgot to trap, a bug in the filter - is refused. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"
#include "litebox/util.h"

/* Debian 12's uapi headers stop at ABI 3. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define LB_LANDLOCK_NET_BIND_TCP (1ULL << 0)
#define LB_LANDLOCK_NET_CONNECT_TCP (1ULL << 1)
#define LB_LANDLOCK_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define LB_LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#ifndef LANDLOCK_RULE_PATH_BENEATH
#define LANDLOCK_RULE_PATH_BENEATH 1
#endif

struct lb_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct lb_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

int lb_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static uint64_t fs_rights(int abi)
{
	uint64_t r = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
	if (abi >= 2)
		r |= 1ULL << 13; /* REFER */
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* The directory an exec rule for path goes on: path itself if it exists.
 * An exec grant for a directory the run creates (an exec rule for
 * $CWD/build before build/ exists) must work in the kernel too, so the rule
 * then goes on the nearest existing ancestor, where the path will appear,
 * and the supervisor keeps the precise decision. Only where the program may
 * create the missing directory, though: Landlock grants the whole subtree,
 * and a rule on an ancestor the run cannot write to (/ for an absent
 * /libx32) would open everything beneath it to an execve whose path the
 * program swaps after the supervisor judged it. -ENOENT: no rule. */
static int open_rule_dir(const struct lb_policy *policy, const char *path)
{
	char p[PATH_MAX];
	if (strlen(path) >= sizeof(p))
		return -ENAMETOOLONG;
	strcpy(p, path);
	int fd = open(p, O_PATH | O_CLOEXEC);
	if (fd >= 0 || (errno != ENOENT && errno != ENOTDIR))
		return fd >= 0 ? fd : -errno;
	for (;;) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			return -ENOENT; /* never beneath / */
		*slash = '\0';
		fd = open(p, O_PATH | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
			return -errno;
		if (fd < 0)
			continue;
		*slash = '/'; /* p is now the first missing directory */
		struct lb_decision d;
		lb_policy_judge_path(policy, LB_CLASS_WRITE, p, &d);
		if (d.verdict == LB_VERDICT_ALLOW || d.verdict == LB_VERDICT_AUDIT)
			return fd;
		close(fd);
		return -ENOENT;
	}
}

static int allow_exec_beneath(int ruleset, const struct lb_policy *policy, const char *path)
{
	lb_autoclose int fd = open_rule_dir(policy, path);
	if (fd < 0)
		return 0; /* nothing the run can reach or create: nothing to grant */
	struct lb_path_beneath pb = {
	    .allowed_access = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE,
	    .parent_fd = fd,
	};
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return -errno;
	return 0;
}

int lb_landlock_apply(const struct lb_policy *policy, const char *const *exec_paths, size_t n_exec)
{
	int abi = lb_landlock_abi();
	if (abi < 1)
		return 0;
	struct lb_ruleset_attr attr = {.handled_access_fs = fs_rights(abi)};
	if (abi >= 4)
		attr.handled_access_net = LB_LANDLOCK_NET_BIND_TCP | LB_LANDLOCK_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LB_LANDLOCK_SCOPE_ABSTRACT_UNIX | LB_LANDLOCK_SCOPE_SIGNAL;
	size_t attr_size = abi >= 6 ? sizeof(attr) : abi >= 4 ? 16 : 8;
	lb_autoclose int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (rs < 0)
		return -errno;

	const char *const *prefixes;
	size_t n = lb_policy_grant_prefixes(policy, LB_CLASS_EXEC, &prefixes);
	for (size_t i = 0; i < n; i++) {
		int rc = allow_exec_beneath(rs, policy, prefixes[i]);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < n_exec; i++) {
		int rc = allow_exec_beneath(rs, policy, exec_paths[i]);
		if (rc < 0)
			return rc;
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return -errno;
	return 0;
}
