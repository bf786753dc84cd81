#!/usr/bin/env python3
"""What the program sees is what Linux shows (issue 11): Linux's errno
order, readlink as read, exec of what the run builds, --audit refusing
nothing, and every refusal visible in the log. Each case is compared with
the native run of the same program, and judged on the host."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test


workdir = lbtest.policy_workdir


def run_in(d, *args, log=None, **kw):
    extra = ["--log", log] if log else []
    kw.setdefault("env", dict(os.environ, PWD=d))  # shells stat $PWD
    return litebox("run", "-p", os.path.join(d, "p.policy"), *extra, "--", *args, cwd=d, **kw)


PROBE = ("import os, errno, sys\n"
         "def t(n, f):\n"
         "    try: f(); print(n, 'ok')\n"
         "    except OSError as e: print(n, errno.errorcode[e.errno])\n")


def both(d, body):
    """(litebox run, native run) of the same python program in d."""
    code = PROBE + body
    lb = run_in(d, "/usr/bin/python3", "-c", code)
    nat = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, cwd=d)
    return lb, nat


@test
def stat_of_an_fd_by_a_null_path_is_the_kernels_and_a_path_is_still_judged():
    # newfstatat/statx with a NULL path stay in the kernel (6.11+: the fd's
    # own metadata with AT_EMPTY_PATH, EFAULT without): the same answers
    # as natively. The same calls with a path still reach litebox: a
    # hidden name is absent (ENOENT) under litebox, present natively.
    d = workdir(["hide $CWD/secret"])
    with open(os.path.join(d, "f"), "w") as f:
        f.write("x" * 1234)
    with open(os.path.join(d, "secret"), "w") as f:
        f.write("s")
    body = ("import ctypes\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "L = ctypes.c_long\n"
            "buf = ctypes.create_string_buffer(512)\n"
            "fd = os.open('f', os.O_RDONLY)\n"
            "def call(nr, *a):\n"
            "    r = libc.syscall(L(nr), *a)\n"
            "    return 'ok' if r == 0 else errno.errorcode[ctypes.get_errno()]\n"
            "size = lambda off: int.from_bytes(buf.raw[off:off + 8], 'little')\n"
            "print('fstatat-null', call(262, L(fd), None, buf, L(0x1000)), size(48))\n"
            "print('fstatat-null-noflag', call(262, L(fd), None, buf, L(0)))\n"
            "buf = ctypes.create_string_buffer(512)\n"
            "print('statx-null', call(332, L(fd), None, L(0x1000), L(0x200), buf), size(40))\n"
            "print('fstatat-empty', call(262, L(fd), b'', buf, L(0x1000)), size(48))\n"
            "print('fstatat-secret', call(262, L(-100), b'secret', buf, L(0)))\n"
            "print('statx-secret', call(332, L(-100), b'secret', L(0), L(0x200), buf))\n")
    lb, nat = both(d, body)
    out = nat.stdout.splitlines()
    if out and out[0].startswith("fstatat-null EFAULT"):
        lbtest.skip("this kernel (before 6.11) has no NULL-path stat")
    eq(out, ["fstatat-null ok 1234", "fstatat-null-noflag EFAULT", "statx-null ok 1234",
             "fstatat-empty ok 1234", "fstatat-secret ok", "statx-secret ok"],
       "native control " + nat.stderr)
    eq(lb.stdout.splitlines(), out[:4] + ["fstatat-secret ENOENT", "statx-secret ENOENT"],
       "under litebox: " + lb.stderr)


@test
def close_range_closes_what_the_kernel_reads_never_more():
    # close_range takes unsigned ints: garbage above bit 31 of `last` is
    # ignored by the kernel. The ptrace platform traps close_range over
    # its hidden fd on the 64-bit registers and must not widen the range.
    d = workdir()
    body = ("import ctypes\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "fds = [os.open('/dev/null', os.O_RDONLY) for _ in range(3)]\n"
            "far = os.dup2(fds[2], 100)\n"
            "r = libc.syscall(ctypes.c_long(436), ctypes.c_long(fds[0]), ctypes.c_long((1 << 32) | fds[1]),\n"
            "                 ctypes.c_long(0))\n"
            "print('rc', r)\n"
            "t('first-closed', lambda: os.fstat(fds[0]))\n"
            "t('beyond-last-open', lambda: os.fstat(fds[2]))\n"
            "t('far-open', lambda: os.fstat(far))\n")
    lb, nat = both(d, body)
    eq(nat.stdout.split(), ["rc", "0", "first-closed", "EBADF", "beyond-last-open", "ok",
                            "far-open", "ok"], "native control " + nat.stderr)
    eq(lb.stdout, nat.stdout, "as natively: " + lb.stderr)


@test
def existence_comes_before_permission():
    d = workdir(["deny write $CWD/ro/**"])
    os.makedirs(os.path.join(d, "ro", "a", "b"))
    with open(os.path.join(d, "ro", "file"), "w") as f:
        f.write("x")
    body = ("t('mkdir-existing', lambda: os.mkdir('ro/a'))\n"
            "t('makedirs', lambda: os.makedirs('ro/a/b', exist_ok=True))\n"
            "t('excl-existing', lambda: os.open('ro/file', os.O_CREAT | os.O_EXCL | os.O_WRONLY))\n"
            "t('creat-dir', lambda: os.open('ro/a', os.O_CREAT | os.O_RDONLY))\n"
            "t('creat-slash', lambda: os.open('nodir/', os.O_CREAT | os.O_WRONLY))\n"
            "t('symlink-existing', lambda: os.symlink('x', 'ro/file'))\n"
            "t('unlink-missing', lambda: os.unlink('ro/missing'))\n"
            "t('rename-missing', lambda: os.rename('ro/missing', 'ro/other'))\n"
            "t('readlink-dir', lambda: os.readlink('ro/a'))\n"
            "t('readlink-parent', lambda: os.readlink(os.path.dirname(os.getcwd())))\n")
    lb, nat = both(d, body)
    eq(lb.stdout, nat.stdout, "same answers as natively: " + lb.stderr)
    assert "denied" not in lb.stderr, "no denial line for answers Linux gives first: " + lb.stderr
    assert not os.path.exists(os.path.join(d, "nodir")), "open('nodir/', O_CREAT) made no file"
    # positive control: what needs the permission is still refused, visibly
    lb, nat = both(d, "t('mkdir-new', lambda: os.mkdir('ro/new'))\n")
    eq(lb.stdout.split(), ["mkdir-new", "EACCES"], lb.stderr)
    eq(nat.stdout.split(), ["mkdir-new", "ok"])
    assert "denied write" in lb.stderr, lb.stderr


@test
def creating_without_a_needed_class_is_eacces_not_enoent():
    import shutil
    import tempfile
    w = tempfile.mkdtemp(prefix="litebox-wo-", dir="/var/tmp")  # no rule grants reading it
    try:
        d = workdir([f"allow write {w}/**"])
        body = (f"t('w+', lambda: open('{w}/b', 'w+'))\n"
                f"t('w', lambda: open('{w}/c', 'w').write('C'))\n")
        lb, nat = both(d, body)
        eq(nat.stdout.split(), ["w+", "ok", "w", "ok"], "native")
        eq(lb.stdout.split(), ["w+", "EACCES", "w", "ok"], lb.stderr)
        assert "denied read" in lb.stderr and f"{w}/b" in lb.stderr, lb.stderr
        with open(os.path.join(w, "c")) as f:
            eq(f.read(), "C", "control reached the host")
    finally:
        shutil.rmtree(w, ignore_errors=True)


@test
def readlink_is_read():
    d = workdir(["deny read $CWD/link"])
    os.symlink("/etc/hostname-target-marker", os.path.join(d, "link"))
    os.symlink("/etc/other-marker", os.path.join(d, "ok-link"))
    body = ("try: print(os.readlink('link'))\n"
            "except PermissionError: print('EACCES')\n"
            "print(os.readlink('ok-link'))\n")
    lb, _ = both(d, body)
    eq(lb.stdout.split(), ["EACCES", "/etc/other-marker"], lb.stderr)
    assert "hostname-target-marker" not in lb.stdout + lb.stderr


@test
def exec_of_what_the_run_builds():
    # no exec grant reaches $CWD itself: Landlock must grant where build/ will be
    d = lbtest.tmpdir()
    with open(os.path.join(d, "p.policy"), "w") as f:
        f.write("version 1\ninclude strict\n"
                "allow read /usr/** /lib/** /lib64/** /etc/** /bin/** /dev/**\n"
                "allow exec /usr/** /bin/**\n"
                "allow write $CWD/**\n"
                "allow exec $CWD/build/**\n")
    assert not os.path.exists(os.path.join(d, "build"))
    log = os.path.join(lbtest.tmpdir(), "run.jsonl")
    p = run_in(d, "sh", "-c", "mkdir -p build && cp /bin/echo build/prog && "
               "build/prog built-and-ran", log=log)
    if "Text file busy" in p.stderr:
        p = run_in(d, "sh", "-c", "build/prog built-and-ran", log=log)
    eq(p.stdout.strip(), "built-and-ran", p.stderr)
    assert "denied exec" not in p.stderr, p.stderr
    recs = [json.loads(l) for l in open(log)]
    ex = [r for r in recs if r.get("class") == "exec" and r["object"].endswith("build/prog")]
    assert ex and all(r["verdict"] == "allow" for r in ex), ex
    # control: outside the grant, exec is refused and recorded
    p = run_in(d, "sh", "-c", "cp /bin/echo prog2 && ./prog2 no")
    assert "no" not in p.stdout.split() and "denied exec" in p.stderr, p.stderr


@test
def audit_mode_refuses_no_exec():
    d = lbtest.tmpdir()
    with open(os.path.join(d, "p.policy"), "w") as f:
        f.write("version 1\ninclude strict\n")
    p = litebox("run", "--audit", "-p", os.path.join(d, "p.policy"), "--",
                "/bin/sh", "-c", "/usr/bin/id -u >/dev/null && echo ran", cwd=d)
    eq(p.stdout.strip(), "ran", p.stderr)
    assert "would deny exec /usr/bin/id" in p.stderr, "recorded: " + p.stderr
    # control: enforce mode refuses the same exec
    p = litebox("run", "-p", os.path.join(d, "p.policy"), "--",
                "/bin/sh", "-c", "/usr/bin/id -u >/dev/null && echo ran", cwd=d)
    assert "ran" not in p.stdout and "denied exec /usr/bin/id" in p.stderr, p.stderr


MIXED = ("import os, errno, json, sys\n"
         "res = []\n"
         "def t(obj, f):\n"
         "    try: f(); res.append([obj, 0])\n"
         "    except OSError as e: res.append([obj, e.errno])\n"
         "cwd = os.getcwd()\n"
         "t('secret', lambda: open('secret').read())\n"
         "t('ok', lambda: open('ok').read())\n"
         "t('ro/x', lambda: open('ro/x', 'w'))\n"
         "t('ro', lambda: os.mkdir('ro'))\n"
         "t('ro/new', lambda: os.mkdir('ro/new'))\n"
         "t('ro/f', lambda: os.unlink('ro/f'))\n"
         "t('ro/f', lambda: os.chmod('ro/f', 0o600))\n"
         "t('ro/f', lambda: os.utime('ro/f'))\n"
         "t('ro/f', lambda: os.rename('ok2', 'ro/f2'))\n"
         "t('ro/f', lambda: os.symlink('x', 'ro/s'))\n"
         "t('link', lambda: os.readlink('link'))\n"
         "t('hidden', lambda: os.stat('hidden/inner'))\n"
         "t('ok', lambda: os.stat('ok'))\n"
         "t('out/a', lambda: open('out/a', 'w').write('a'))\n"
         "def run_id():\n"
         "    pid = os.fork()\n"
         "    if pid == 0:\n"
         "        try: os.execv('/usr/bin/id', ['id'])\n"
         "        except OSError as e: os._exit(e.errno)\n"
         "    st = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n"
         "    if st: raise OSError(st, 'exec')\n"
         "t('/usr/bin/id', run_id)\n"
         "print('RESULT', json.dumps(res))\n")


@test
def every_refusal_is_in_the_log_and_every_record_is_true():
    d = workdir(["deny read $CWD/secret", "deny write $CWD/ro/**", "deny read $CWD/link",
                 "hide $CWD/hidden", "deny exec /usr/bin/id"])
    for name, text in (("secret", "S"), ("ok", "O"), ("ok2", "O")):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    os.makedirs(os.path.join(d, "ro"))
    os.makedirs(os.path.join(d, "out"))
    os.makedirs(os.path.join(d, "hidden"))
    with open(os.path.join(d, "ro", "f"), "w") as f:
        f.write("f")
    os.symlink("target", os.path.join(d, "link"))
    log = os.path.join(lbtest.tmpdir(), "mixed.jsonl")
    p = run_in(d, "/usr/bin/python3", "-c", MIXED, log=log)
    res = json.loads(p.stdout.split("RESULT", 1)[1])
    refused = [obj for obj, e in res if e in (13, 1)]
    recs = [json.loads(l) for l in open(log)]
    denies = [r for r in recs if r.get("verdict") in ("deny", "hide")]
    # one record per refusal (the hidden stat is a 'hide' record, answered ENOENT)
    eq(len([r for r in denies if r["verdict"] == "deny"]), len(refused),
       f"program saw {refused}; log denies {[r['object'] for r in denies]}")
    for obj in refused:
        assert any(r["object"].endswith(obj) for r in denies), f"no record for refused {obj}"
    assert any(r["verdict"] == "hide" and "hidden" in r["object"] for r in denies)
    # positive controls reached the host
    with open(os.path.join(d, "out", "a")) as f:
        eq(f.read(), "a")
    eq([e for obj, e in res if obj == "ok"], [0, 0], "allowed calls succeeded")
    # no allow record for an exec that then failed
    assert not any(r.get("verdict") == "allow" and r.get("object") == "/usr/bin/id" for r in recs)

@test
def a_temp_file_moves_into_the_working_directory():
    import tempfile
    d = workdir(["deny exec $TMPDIR/**", "allow exec $CWD/**",
                 "deny read $TMPDIR/litebox-unreadable-*"])
    src = tempfile.mkstemp(prefix="litebox-mv-")[1]
    bad = tempfile.mkstemp(prefix="litebox-unreadable-")[1]
    try:
        with open(src, "w") as f:
            f.write("moved\n")
        p = run_in(d, "sh", "-c", f"mv {src} ./x && cat x")
        eq(p.stdout, "moved\n", p.stderr)
        assert "denied" not in p.stderr, p.stderr
        assert not os.path.exists(src)
        # control: a file it may not read cannot be carried to a readable name
        body = f"t('mv', lambda: os.rename('{bad}', 'y'))\n"
        lb = run_in(d, "/usr/bin/python3", "-c", PROBE + body)
        eq(lb.stdout.split(), ["mv", "EACCES"], lb.stderr)
        assert os.path.exists(bad) and not os.path.exists(os.path.join(d, "y"))
    finally:
        for f in (src, bad):
            if os.path.exists(f):
                os.unlink(f)

PROC = ("import os, sys\n"
        "me = os.getpid()\n"
        "print(open(f'/proc/{me}/status').read().split()[1])\n"
        "print(os.readlink('/proc/self') == str(me))\n"
        "print(os.path.exists(f'/proc/{me}/fd/0'))\n"
        "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "print(len(pids), sys.argv[1] in map(str, pids))\n")


@test
def proc_is_the_sandboxs_own():
    d = workdir()
    p = run_in(d, "/usr/bin/python3", "-c", PROC, str(os.getpid()))
    out = p.stdout.split()
    assert out and out[0].startswith("python3"), "/proc/<getpid()> is the program: " + p.stdout + p.stderr
    eq(out[1:3], ["True", "True"], "/proc/self and /proc/<getpid()>/fd: " + p.stderr)
    # the sandbox's processes only (init and the program): no host pid
    assert int(out[3]) <= 3, "only the sandbox's processes are listed: " + p.stdout
    eq(out[4], "False", "the host's processes stay invisible")
    # native control: the host's /proc lists the test itself
    nat = subprocess.run(["/usr/bin/python3", "-c", PROC, str(os.getpid())],
                         capture_output=True, text=True)
    eq(nat.stdout.split()[4], "True", "native control")
    # a shell's $$ names itself
    p = run_in(d, "sh", "-c", "head -1 /proc/$$/status")
    eq(p.stdout.split()[0], "Name:", p.stderr)
    assert p.stdout.split()[1] in ("sh", "dash", "bash"), p.stdout

@test
def proc_is_the_sandboxs_own_as_an_unprivileged_user():
    if os.geteuid() != 0:
        lbtest.skip("needs root to switch to nobody")
    d = lbtest.tmpdir()
    os.chmod(d, 0o777)
    env = dict(os.environ, HOME=d, TMPDIR=d, PWD=d)
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        lbtest.LITEBOX, "run", "-q", "--", "/usr/bin/python3", "-c", PROC,
                        str(os.getpid())], cwd=d, env=env, capture_output=True, text=True,
                       timeout=120)
    if p.returncode == 125:
        lbtest.skip("litebox cannot start as nobody here: " + p.stderr.strip()[-200:])
    out = p.stdout.split()
    assert out and out[0].startswith("python3"), p.stdout + p.stderr
    eq(out[1:3], ["True", "True"], p.stderr)
    assert int(out[3]) <= 3 and out[4] == "False", p.stdout


@test
def a_directory_leading_to_a_grant_opens_with_or_without_o_directory():
    d = lbtest.tmpdir()
    os.chmod(d, 0o755)
    with open(os.path.join(d, "p.policy"), "w") as f:
        # no rule names outer/ itself: it is listable because it leads to a grant
        f.write("version 1\nallow read /usr/** /lib/** /lib64/** /etc/** /proc/**\n"
                "allow exec /usr/**\nallow stat $CWD\nallow read $CWD/outer/inner/**\n")
    os.makedirs(os.path.join(d, "outer", "inner"))
    with open(os.path.join(d, "outer", "secret"), "w") as f:
        f.write("marker-7731")
    body = ("t('plain', lambda: os.close(os.open('outer', os.O_RDONLY)))\n"
            "t('dir', lambda: os.close(os.open('outer', os.O_RDONLY | os.O_DIRECTORY)))\n"
            "t('scandir', lambda: sorted(e.name for e in os.scandir('outer')))\n"
            "t('secret', lambda: print(open('outer/secret').read()))\n")
    lb, nat = both(d, body)
    eq(nat.stdout.split("\n")[:3], ["plain ok", "dir ok", "scandir ok"], nat.stderr)
    eq(lb.stdout.split("\n")[:3], ["plain ok", "dir ok", "scandir ok"], lb.stderr)
    assert "secret EACCES" in lb.stdout, lb.stdout  # control: content stays refused
    assert "marker-7731" not in lb.stdout


@test
def a_file_just_written_runs_at_once():
    # cp then exec: litebox's copy of the written fd must be gone before
    # the program runs on, or exec fails with ETXTBSY (a race: many rounds)
    d = workdir()
    os.mkdir(os.path.join(d, "build"))
    script = ("fails=0; for i in $(seq 1 200); do cp /bin/true build/t$i && build/t$i "
              "|| fails=$((fails+1)); done; echo fails=$fails")
    p = run_in(d, "/bin/sh", "-c", script)
    eq(p.stdout.strip(), "fails=0", p.stderr)
    assert os.path.exists(os.path.join(d, "build", "t200")), "control: the copies exist on the host"

@test
def the_program_starts_with_the_callers_umask():
    # On the ptrace platform the program ran with umask 0 (files 0666):
    # the launcher's umask() was trapped before the tracer held it.
    d = lbtest.policy_workdir()
    script = "grep Umask /proc/self/status; touch f; stat -c %a f; rm f"
    for um in (0o022, 0o077):
        old = os.umask(um)
        try:
            r = litebox("run", "-p", "p.policy", "--", "/bin/sh", "-c", script, cwd=d)
            nat = subprocess.run(["/bin/sh", "-c", script], cwd=d, capture_output=True, text=True)
        finally:
            os.umask(old)
        eq(r.returncode, 0, r.stderr)
        eq(r.stdout, nat.stdout, f"umask {um:o}: as natively")



def _signal_lines(prefix_py, cmd):
    """Run cmd (a list) from a Python that first runs prefix_py (signal
    setup), then execs; returns the process."""
    code = prefix_py + "\nimport os, sys\nos.execvp(sys.argv[1], sys.argv[1:])\n"
    return subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True,
                          timeout=60)


@test
def ignored_and_blocked_signals_reach_the_program_as_through_exec():
    # execve keeps SIG_IGN dispositions and the mask: nohup, `trap '' HUP`
    # and a shell's background jobs rely on it.
    setup = ("import signal\n"
             "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
             "signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n"
             "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])")
    probe = ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]
    nat = _signal_lines(setup, probe)
    ign = int(nat.stdout.split("SigIgn:")[1].split()[0], 16)
    eq(ign & 0x1001, 0x1001, nat.stdout)  # control: HUP and PIPE ignored natively
    r = _signal_lines(setup, [lbtest.LITEBOX, "run", "-q", "--", *probe])
    eq(r.returncode, 0, r.stderr)
    eq(r.stdout, nat.stdout, "dispositions and mask as natively")
    # control: started with SIGHUP not ignored, the program does not ignore it
    r = litebox("run", "-q", "--", *probe)
    eq(int(r.stdout.split("SigIgn:")[1].split()[0], 16) & 0x1, 0, r.stdout)


@test
def a_hangup_sent_to_litebox_started_under_nohup_spares_the_program():
    d = lbtest.tmpdir()
    script = "sleep 1.5; echo survived"
    results = {}
    for label, setup in (("nohup", "import signal\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)"),
                         ("plain", "")):
        code = (setup + "\nimport os, sys, time, signal, subprocess\n"
                "p = subprocess.Popen(sys.argv[1:])\ntime.sleep(0.6)\n"
                "p.send_signal(signal.SIGHUP)\nsys.exit(p.wait() & 0xff)\n")
        r = subprocess.run([sys.executable, "-c", code, lbtest.LITEBOX, "run", "-q", "--",
                            "/bin/sh", "-c", script], capture_output=True, text=True,
                           timeout=60, cwd=d)
        results[label] = r
    eq(results["nohup"].stdout.strip(), "survived", results["nohup"].stderr)
    # control: without nohup the hangup is passed on and ends the program
    eq(results["plain"].stdout.strip(), "", results["plain"].stderr)
    eq(results["plain"].returncode, 128 + 1, results["plain"].stderr)


@test
def litebox_started_with_sigchld_ignored_still_runs_and_passes_it_on():
    setup = "import signal\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)"
    probe = ["/bin/sh", "-c", "grep ^SigIgn /proc/self/status; /bin/true && echo child-ran"]
    nat = _signal_lines(setup, probe)
    r = _signal_lines(setup, [lbtest.LITEBOX, "run", "-q", "--", *probe])
    eq(r.returncode, 0, r.stderr)
    eq(r.stdout, nat.stdout, r.stderr)
    assert "child-ran" in r.stdout, r.stdout


if __name__ == "__main__":
    lbtest.run()
