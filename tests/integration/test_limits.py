#!/usr/bin/env python3
"""`limit`, `env` and `--allow-*` wiring of a policy into a run."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test


def needs_pids_cgroup(r):
    if r.returncode == 125 and "pids cgroup" in r.stderr:
        lbtest.skip("no pids cgroup on this machine: litebox refuses 'limit procs' as root (as it must)")


def policy(*lines):
    d = lbtest.tmpdir()
    p = os.path.join(d, "t.policy")
    with open(p, "w") as f:
        f.write("version 1\ninclude default\n" + "".join(l + "\n" for l in lines))
    return d, p


@test
def limit_procs_contains_a_fork_bomb_even_as_root():
    d, p = policy("limit procs 16", "limit time 20s")
    # A name of this run's own: other runs of this test on the machine must
    # not be counted below.
    name = "bomb%d" % os.getpid()
    bomb = f"{name}() {{ {name} | {name} & }}; {name}; sleep 2; echo survived"
    t0 = time.time()
    r = litebox("run", "-q", "-p", p, "--", "/bin/bash", "-c", bomb, cwd=d, timeout=60)
    needs_pids_cgroup(r)
    assert time.time() - t0 < 30, "the bomb was contained and the run ended"
    # the host is fine: count this user's processes now vs. a moment later
    left = subprocess.run(["pgrep", "-c", "-f", name], capture_output=True, text=True).stdout.strip()
    eq(left, "0", "no bomb process outlives the run")
    assert r.returncode in (0, 124, 126, 127, 254) or r.returncode > 128, r.returncode


@test
def limit_procs_counts_only_the_sandbox():
    d, p = policy("limit procs 8")
    code = "for i in 1 2 3 4 5; do sleep 0.2 & done; wait; echo five-ok"
    r = litebox("run", "-q", "-p", p, "--", "/bin/sh", "-c", code, cwd=d)
    needs_pids_cgroup(r)
    eq(r.stdout.strip(), "five-ok", "5 children fit under 8: " + r.stderr)
    code = "for i in $(seq 20); do sleep 1 & done; wait"
    r = litebox("run", "-q", "-p", p, "--", "/bin/sh", "-c", code, cwd=d)
    assert "fork" in r.stderr.lower(), "20 children do not fit under 8: " + r.stderr


@test
def limit_time_ends_the_run():
    d, p = policy("limit time 1s")
    t0 = time.time()
    r = litebox("run", "-q", "-p", p, "--", "sleep", "30", cwd=d)
    eq(r.returncode, 124, "limit time is a timeout")
    assert time.time() - t0 < 5


@test
def limit_files_and_fsize():
    d, p = policy("limit files 32", "limit fsize 1K")
    code = ("import resource, os\n"
            "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
            "fd = os.open('big', os.O_WRONLY | os.O_CREAT, 0o644)\n"
            "try:\n"
            "    n = os.write(fd, b'x' * 4096); n += os.write(fd, b'x' * 4096); print('wrote', n)\n"
            "except OSError as e: print('fsize', e.errno)\n")
    r = litebox("run", "-q", "-p", p, "--", "/usr/bin/python3", "-c", code, cwd=d)
    lines = r.stdout.split()
    eq(lines[0], "32", "RLIMIT_NOFILE")
    eq(lines[1], "fsize", "a 4 KiB write over limit fsize 1K fails: " + r.stderr)
    assert os.path.getsize(os.path.join(d, "big")) <= 1024


@test
def env_clear_keep_set():
    d, p = policy("env clear", "env keep PATH LB_KEEP", "env set LB_SET=from-policy")
    env = dict(os.environ, LB_KEEP="kept", LB_DROP="dropped")
    r = litebox("run", "-q", "-p", p, "--", "/usr/bin/env", cwd=d, env=env)
    vars_ = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    eq(vars_.get("LB_KEEP"), "kept", "env keep")
    eq(vars_.get("LB_SET"), "from-policy", "env set")
    eq("LB_DROP" in vars_, False, "env clear dropped the rest")
    eq("PATH" in vars_, True, "PATH kept")


@test
def malformed_policy_does_not_start_the_program():
    d = lbtest.tmpdir()
    p = os.path.join(d, "bad.policy")
    with open(p, "w") as f:
        f.write("version 1\nallow read /usr/**\nallow frobnicate /x\n")
    marker = os.path.join(d, "ran")
    r = litebox("run", "-p", p, "--", "/bin/touch", marker, cwd=d)
    eq(r.returncode, 125, "bad policy exit status")
    assert r.stderr.startswith(f"{p}:3:7: error:"), r.stderr
    assert not os.path.exists(marker), "the program was not started"


if __name__ == "__main__":
    lbtest.run()
