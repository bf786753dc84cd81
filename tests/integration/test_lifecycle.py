#!/usr/bin/env python3
"""Process lifecycle under `litebox run`: nothing outlives the sandbox
(daemons, --timeout, a killed litebox), signals sent to litebox reach the
program, and the program cannot signal litebox or other host processes."""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

PY = next((p for p in ("/usr/bin/python3", "/bin/python3") if os.access(p, os.X_OK)), None)
# Every sleep this file starts carries "300.<TOKEN><n>" so it can be found
# (and, should a test fail, ended by pid) without touching anyone else's.
TOKEN = "%06d" % random.randrange(10**6)
_DIRS = []
_POPENS = []


def tmp():
    d = lbtest.tmpdir()
    _DIRS.append(d)
    return d


def marker(n):
    return f"300.{TOKEN}{n}"


def pids_of(pattern):
    """Pids whose command line matches the regex pattern (pgrep -f)."""
    r = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    me = os.getpid()
    return sorted(int(x) for x in r.stdout.split() if int(x) != me)


def end(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for(cond, timeout):
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def spawn(*args, **kw):
    p = subprocess.Popen([lbtest.LITEBOX, *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, **kw)
    _POPENS.append(p)
    return p


def need_pgrep():
    if not shutil.which("pgrep"):
        lbtest.skip("pgrep (procps) is not installed")


@test
def double_forked_daemon_does_not_survive():
    need_pgrep()
    m = marker(1)
    d = tmp()
    try:
        p = litebox("run", "-q", "--", "sh", "-c",
                    f"(setsid sleep {m} &) ; (nohup sleep {m} >/dev/null 2>&1 &); echo started",
                    cwd=d, timeout=30)
        eq(p.returncode, 0, f"status (stderr {p.stderr!r})")
        eq(p.stdout, "started\n", "stdout")
        left = pids_of(f"sleep {m}")
        eq(left, [], "daemons left running after litebox exited")
    finally:
        end(pids_of(f"sleep {m}"))


@test
def timeout_kills_the_tree():
    need_pgrep()
    m = marker(2)
    d = tmp()
    try:
        t0 = time.monotonic()
        p = litebox("run", "-q", "--timeout", "1s", "--", "sh", "-c",
                    f"sleep {m} & sleep {m}", cwd=d, timeout=30)
        dt = time.monotonic() - t0
        eq(p.returncode, 124, f"status (stderr {p.stderr!r})")
        assert 0.9 <= dt <= 3.0, f"--timeout 1s took {dt:.2f}s"
        eq(pids_of(f"sleep {m}"), [], "sleeps left after --timeout")
        # Control: a program that ends before the timeout keeps its status.
        p = litebox("run", "-q", "--timeout", "5s", "--", "sh", "-c", "exit 3", cwd=d)
        eq(p.returncode, 3, "status of a program within its timeout")
    finally:
        end(pids_of(f"sleep {m}"))


def _signal_reaches_program(sig):
    if not PY:
        lbtest.skip("no system python3 in /usr/bin")
    d = tmp()
    ready, got = os.path.join(d, "ready"), os.path.join(d, "got")
    code = ("import os, signal, sys, time\n"
            "def h(s, f):\n"
            "    open(sys.argv[2], 'w').write(str(s))\n"
            "    os._exit(7)\n"
            f"signal.signal({int(sig)}, h)\n"
            "open(sys.argv[1], 'w').write('x')\n"
            "time.sleep(30)\n"
            "sys.exit(1)\n")
    p = spawn("run", "-q", "--", PY, "-c", code, ready, got, cwd=d)
    try:
        assert wait_for(lambda: os.path.exists(ready), 10), "the program did not start"
        t0 = time.monotonic()
        p.send_signal(sig)
        p.wait(timeout=10)
        out, err = p.communicate()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    eq(p.returncode, 7, f"litebox status after {sig.name} (stderr {err!r})")
    assert time.monotonic() - t0 < 5, "the program took too long to see the signal"
    with open(got) as f:
        eq(f.read(), str(int(sig)), "signal number written by the program's handler")


@test
def sigterm_to_litebox_reaches_program():
    _signal_reaches_program(signal.SIGTERM)


@test
def sigint_to_litebox_reaches_program():
    _signal_reaches_program(signal.SIGINT)


@test
def sighup_to_litebox_reaches_program():
    _signal_reaches_program(signal.SIGHUP)


@test
def sigkill_of_litebox_kills_the_tree():
    need_pgrep()
    a, b = marker(3), marker(4)
    d = tmp()
    p = spawn("run", "-q", "--", "sh", "-c", f"sleep {a} & sleep {b}", cwd=d)
    try:
        # Anchored: litebox's and sh's own command lines hold the markers too.
        ok = wait_for(lambda: pids_of(f"^sleep {a}$") and pids_of(f"^sleep {b}$"), 10)
        assert ok, "the sleeps did not start under litebox"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=5)
        # Unanchored: the sleeps, sh and litebox's init alike.
        gone = wait_for(lambda: not pids_of(f"300\\.{TOKEN}[34]"), 2)
        assert gone, f"processes left after SIGKILL of litebox: {pids_of(f'300.{TOKEN}[34]')}"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        end(pids_of(f"300\\.{TOKEN}[34]"))


@test
def sandbox_cannot_signal_litebox():
    d = tmp()
    # exec keeps the shell's pid, so $$ is litebox's pid.
    script = ('kill -9 "$LITEBOX_PID"; echo "kill9=$?"; '
              'kill -STOP "$LITEBOX_PID"; echo "stop=$?"; '
              'kill -TERM "$LITEBOX_PID"; echo "term=$?"; exit 5')
    p = subprocess.run(["sh", "-c", f'LITEBOX_PID=$$ exec "$0" run -q -- sh -c \'{script}\'',
                        lbtest.LITEBOX], capture_output=True, text=True, timeout=30, cwd=d)
    eq(p.returncode, 5, f"litebox status (stdout {p.stdout!r}, stderr {p.stderr!r})")
    res = dict(line.split("=") for line in p.stdout.split())
    for k in ("kill9", "stop", "term"):
        assert res.get(k) not in (None, "0"), f"kill -{k} of litebox succeeded: {p.stdout!r}"


@test
def sandbox_cannot_signal_host_processes():
    need_pgrep()
    m = marker(5)
    d = tmp()
    host = subprocess.Popen(["sleep", m])
    _POPENS.append(host)
    try:
        # Control: the same command works on a process inside the sandbox.
        p = litebox("run", "-q", "--", "sh", "-c",
                    'sleep 30 & k=$!; kill -9 $k; echo "inner=$?"; '
                    f'kill -9 {host.pid}; echo "host=$?"', cwd=d, timeout=30)
        eq(p.returncode, 0, f"status (stderr {p.stderr!r})")
        res = dict(line.split("=") for line in p.stdout.split())
        eq(res.get("inner"), "0", "control: killing the sandbox's own child")
        assert res.get("host") not in (None, "0"), f"kill of a host process succeeded: {p.stdout!r}"
        time.sleep(0.1)
        assert host.poll() is None, f"the host process died: {host.returncode}"
    finally:
        host.kill()
        host.wait()


@test
def nothing_left_behind():
    need_pgrep()
    time.sleep(0.2)
    left = pids_of(f"300\\.{TOKEN}")
    end(left)
    eq(left, [], "processes of this test file still running")
    for p in _POPENS:
        assert p.poll() is not None, f"pid {p.pid} ({p.args}) still running"


if __name__ == "__main__":
    try:
        lbtest.run()
    finally:
        for p in _POPENS:
            if p.poll() is None:
                p.kill()
                p.wait()
        end(pids_of(f"300\\.{TOKEN}"))
        for d in _DIRS:
            shutil.rmtree(d, ignore_errors=True)
