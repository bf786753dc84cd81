#!/usr/bin/env python3
"""litebox inside litebox: the outer supervisor runs the inner's program in
a nested domain judged by both policies (docs/security.md, "Nested
sandboxes"). Every refusal has a positive control beside it."""
import json
import os
import shutil
import signal
import subprocess

import lbtest
from lbtest import eq, litebox, test

LB = os.path.abspath(lbtest.LITEBOX)
BUILD = os.path.dirname(os.path.dirname(LB))


def outer_on_ptrace():
    if lbtest.PLATFORM == "ptrace":
        return True
    p = litebox("run", "--platform", "seccomp", "-q", "--", "/bin/true")
    return p.returncode != 0


def need_seccomp_outer():
    if outer_on_ptrace():
        lbtest.skip("the outer litebox runs on the ptrace platform, which serves no nested "
                    "domains (outer_on_ptrace_refuses_with_a_clear_message covers it)")


def workdir():
    """files: inner-denied, outer-denied, ok; policies outer.policy and
    inner.policy, each denying its file; the outer runs this litebox."""
    d = lbtest.tmpdir()
    os.chmod(d, 0o755)
    for name in ("inner-denied", "outer-denied", "ok"):
        with open(os.path.join(d, name + ".txt"), "w") as f:
            f.write(f"MARKER-{name}\n")
    with open(os.path.join(d, "outer.policy"), "w") as f:
        f.write("version 1\ninclude default\n")
        f.write(f'allow exec "{LB}"\nallow read "{BUILD}/**"\n')
        f.write(f'deny read "{d}/outer-denied.txt"\n')
        f.write(f'deny write "{d}/outer-ro/**"\n')
    with open(os.path.join(d, "inner.policy"), "w") as f:
        f.write("version 1\ninclude default\n")
        f.write(f'deny read "{d}/inner-denied.txt"\n')
    os.mkdir(os.path.join(d, "outer-ro"))
    return d


def env_in(d):
    """The environment of a shell started in d (sh stats $PWD)."""
    return dict(os.environ, PWD=d)


def nested(d, inner_args, script, outer_args=(), timeout=60):
    return litebox("run", "-p", os.path.join(d, "outer.policy"), *outer_args, "--",
                   LB, "run", "-p", os.path.join(d, "inner.policy"), *inner_args, "--",
                   "/bin/sh", "-c", script, cwd=d, timeout=timeout, env=env_in(d))


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def denied_objects(recs):
    return sorted(r["object"] for r in recs if r.get("verdict") == "deny")


@test
def nested_run_prints_as_natively_and_says_nothing():
    need_seccomp_outer()
    d = workdir()
    native = subprocess.run([LB, "run", "--", "/bin/sh", "-c", "echo nested-ok"],
                            capture_output=True, text=True, cwd=d, timeout=60,
                            env=env_in(d))
    eq((native.returncode, native.stdout), (0, "nested-ok\n"), f"native ({native.stderr})")
    p = litebox("run", "--", LB, "run", "--", "/bin/sh", "-c", "echo nested-ok", cwd=d,
                env=env_in(d))
    eq((p.returncode, p.stdout, p.stderr), (0, "nested-ok\n", ""), "nested")


@test
def a_forced_inner_ptrace_platform_says_it_is_not_the_one_used():
    need_seccomp_outer()
    d = workdir()
    p = nested(d, ["--platform", "ptrace"], "echo nested-ok")
    eq((p.returncode, p.stdout), (0, "nested-ok\n"), p.stderr)
    assert "--platform ptrace has no effect inside another litebox" in p.stderr, p.stderr
    # control: without the flag, nothing is said
    p = nested(d, [], "echo nested-ok")
    eq(("--platform" in p.stderr, p.stdout), (False, "nested-ok\n"), p.stderr)


@test
def a_nested_runs_log_name_planted_as_a_link_is_not_followed():
    # The inner litebox opened its --log with a plain open: a symlink left
    # in the working directory (writable to the outer run) was truncated
    # through (final review; the outermost litebox never did).
    need_seccomp_outer()
    d = workdir()
    victim = os.path.join(d, "ok.txt")
    log = os.path.join(d, "inner.jsonl")
    os.symlink(victim, log)
    p = nested(d, ["--log", log], "echo nested-ok")
    eq((p.returncode, p.stdout), (125, ""), p.stderr)
    with open(victim) as f:
        eq(f.read(), "MARKER-ok\n", "the linked file")
    # control: a fresh name is the nested run's log
    os.unlink(log)
    p = nested(d, ["--log", log], "echo nested-ok")
    eq((p.returncode, p.stdout), (0, "nested-ok\n"), p.stderr)
    with open(log) as f:
        eq('"event":"start"' in f.read(), True, "the nested log")


@test
def the_inner_policy_holds_for_the_nested_program():
    need_seccomp_outer()
    d = workdir()
    # Control: the outer policy alone lets the program read the file.
    ctl = litebox("run", "-q", "-p", os.path.join(d, "outer.policy"), "--", "/bin/cat",
                  "inner-denied.txt", cwd=d)
    eq(ctl.stdout, "MARKER-inner-denied\n", f"outer control ({ctl.stderr})")
    p = nested(d, [], "cat ok.txt; cat inner-denied.txt; echo status=$?")
    eq(p.stdout, "MARKER-ok\nstatus=1\n", f"output ({p.stderr})")
    eq("denied read " + os.path.join(d, "inner-denied.txt") in p.stderr, True, p.stderr)
    eq(p.returncode, 0, p.stderr)


@test
def the_outer_policy_holds_for_the_nested_program():
    need_seccomp_outer()
    d = workdir()
    # Control: the inner policy alone lets the program read the file.
    ctl = litebox("run", "-q", "-p", os.path.join(d, "inner.policy"), "--", "/bin/cat",
                  "outer-denied.txt", cwd=d)
    eq(ctl.stdout, "MARKER-outer-denied\n", f"inner control ({ctl.stderr})")
    p = nested(d, [], "cat ok.txt; cat outer-denied.txt; echo status=$?; "
               "echo x > outer-ro/new; echo w=$?; echo y > made.txt; echo w=$?")
    eq(p.stdout, "MARKER-ok\nstatus=1\nw=2\nw=0\n", f"output ({p.stderr})")
    eq(os.path.exists(os.path.join(d, "outer-ro", "new")), False, "outer-ro/new on the host")
    eq(os.path.exists(os.path.join(d, "made.txt")), True, "made.txt (control)")
    eq("refused by " + os.path.join(d, "outer.policy") in p.stderr, True, p.stderr)


@test
def inner_audit_mode_does_not_lift_the_outer_refusals():
    need_seccomp_outer()
    d = workdir()
    p = nested(d, ["--audit"], "cat inner-denied.txt outer-denied.txt")
    eq(p.stdout, "MARKER-inner-denied\n", f"output ({p.stderr})")
    eq("would deny read " + os.path.join(d, "inner-denied.txt") in p.stderr, True, p.stderr)
    eq("denied read " + os.path.join(d, "outer-denied.txt") in p.stderr, True, p.stderr)


@test
def each_log_records_its_own_refusals_and_the_inner_log_both():
    need_seccomp_outer()
    d = workdir()
    olog, ilog = os.path.join(d, "outer.jsonl"), os.path.join(d, "inner.jsonl")
    p = nested(d, ["--log", ilog], "cat ok.txt inner-denied.txt outer-denied.txt",
               outer_args=["--log", olog])
    eq(p.stdout, "MARKER-ok\n", f"output ({p.stderr})")
    inner, outer = records(ilog), records(olog)
    eq(denied_objects(inner), [os.path.join(d, "inner-denied.txt"),
                               os.path.join(d, "outer-denied.txt")], "inner log")
    eq(denied_objects(outer), [os.path.join(d, "outer-denied.txt")], "outer log")
    eq(inner[0].get("event"), "start", "inner log starts")
    eq(inner[-1].get("event"), "exit", "inner log ends")
    rule = [r["rule"] for r in outer if r.get("verdict") == "deny"][0]
    eq(rule, os.path.join(d, "outer.policy") + ":5", "outer rule")
    rules = sorted(r["rule"] for r in inner if r.get("verdict") == "deny")
    eq(rules, [os.path.join(d, "inner.policy") + ":3", os.path.join(d, "outer.policy") + ":5"],
       "inner log: each refusal names its own policy's FILE:LINE")


@test
def exit_status_and_signals_are_the_nested_programs():
    need_seccomp_outer()
    d = workdir()
    eq(nested(d, [], "exit 7").returncode, 7, "exit status")
    eq(nested(d, [], "kill -TERM $$").returncode, 128 + signal.SIGTERM, "killed by a signal")
    # A signal sent to litebox reaches its program, the inner litebox,
    # which passes it on to the nested program.
    script = 'trap "echo got-usr1; exit 3" USR1; echo ready; sleep 30 & wait'
    outer = subprocess.Popen([LB, "run", "-p", os.path.join(d, "outer.policy"), "--", LB, "run",
                              "-p", os.path.join(d, "inner.policy"), "--", "/bin/sh", "-c",
                              script], cwd=d, env=env_in(d), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    eq(outer.stdout.readline(), "ready\n", "nested program started")
    os.kill(outer.pid, signal.SIGUSR1)
    out, err = outer.communicate(timeout=60)
    eq((outer.returncode, out), (3, "got-usr1\n"), err)


@test
def fail_on_deny_counts_the_nested_refusals():
    need_seccomp_outer()
    d = workdir()
    p = nested(d, ["--fail-on-deny"], "cat outer-denied.txt; true")
    eq(p.returncode, 123, p.stderr)
    ctl = nested(d, ["--fail-on-deny"], "cat ok.txt")
    eq(ctl.returncode, 0, f"control ({ctl.stderr})")
    # The outer's --fail-on-deny counts its own policy's refusals of
    # nested calls, not the inner policy's.
    p = nested(d, ["-q"], "cat outer-denied.txt; true", outer_args=["--fail-on-deny"])
    eq(p.returncode, 123, p.stderr)
    eq("1 access of a nested sandbox refused by this policy" in p.stderr, True, p.stderr)
    ctl = nested(d, ["-q"], "cat inner-denied.txt; true", outer_args=["--fail-on-deny"])
    eq(ctl.returncode, 0, f"control ({ctl.stderr})")


@test
def a_crafted_request_is_refused_and_a_generous_one_gains_nothing():
    need_seccomp_outer()
    d = workdir()
    prog = os.path.join(d, "hs.py")
    with open(prog, "w") as f:
        f.write("import ctypes, os\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p,"
                " ctypes.c_ulong, ctypes.c_ulong]\n"
                "print('hello', hex(libc.prctl(0x4c426e73, 1, None, 0, 0)))\n"
                "buf = ctypes.create_string_buffer(os.urandom(200))\n"
                "r = libc.prctl(0x4c426e73, 2, buf, 200, 0)\n"
                "print('garbage', r, os.strerror(ctypes.get_errno()))\n")
    if not os.path.exists("/usr/bin/python3"):
        lbtest.skip("no python3 for the crafted handshake")
    p = litebox("run", "-q", "-p", os.path.join(d, "outer.policy"), "--", "/usr/bin/python3",
                prog, cwd=d)
    eq(p.stdout, "hello 0x6e657331\ngarbage -1 Invalid argument\n", p.stderr)
    # Natively the option does not exist.
    n = subprocess.run(["/usr/bin/python3", prog], capture_output=True, text=True, cwd=d)
    eq(n.stdout.splitlines()[0], "hello -0x1", n.stderr)
    # A nested run whose policy allows everything still gets nothing the
    # outer refuses.
    with open(os.path.join(d, "inner.policy"), "w") as f:
        f.write("version 1\ninclude permissive\n")
    p = nested(d, [], "cat outer-denied.txt ok.txt")
    eq(p.stdout, "MARKER-ok\n", p.stderr)


HOSTILE_LOG = r"""
import ctypes, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                       ctypes.c_ulong]
libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
target, log_fd = sys.argv[1], int(sys.argv[2])
strs = ["p", target, "/bin/true", "", "/", "/", "/tmp", "/bin", "/bin/true",
        "p", "version 1\ninclude default\n"]
body = b"".join(x.encode() + b"\0" for x in strs)
head = struct.pack("=IIi8I4xQ", 0x4c424e31, 0, log_fd, 8, 1, 0, 0, 0, 0, 2, 0, 0)
buf = ctypes.create_string_buffer(head + body, len(head) + len(body))
ctl = libc.prctl(0x4c426e73, 2, buf, len(head) + len(body), 0)
st = ctypes.create_string_buffer(4)
print("served", ctl >= 0 and libc.read(ctl, st, 4) == 4)
"""


@test
def a_crafted_request_never_names_a_file_the_nested_supervisor_opens():
    """No inner litebox: the program itself asks for a nested domain whose
    log is a path (no fd, or "stderr"). The nested supervisor runs outside
    the sandbox with the outer's authority: it must open no name it is sent."""
    need_seccomp_outer()
    if not os.path.exists("/usr/bin/python3"):
        lbtest.skip("no python3 for the crafted handshake")
    d = workdir()
    prog = os.path.join(d, "hostile.py")
    with open(prog, "w") as f:
        f.write(HOSTILE_LOG)
    for log_fd in ("-1", "2"):
        victim = os.path.join(d, "outer-ro", "victim" + log_fd)
        with open(victim, "w") as f:
            f.write("PRECIOUS\n")
        p = litebox("run", "-q", "-p", os.path.join(d, "outer.policy"), "--",
                    "/usr/bin/python3", prog, victim, log_fd, cwd=d)
        eq(p.stdout, "served True\n", f"the request was served ({p.stderr})")
        with open(victim) as f:
            eq(f.read(), "PRECIOUS\n", f"log_fd {log_fd}: the outer-protected file")
    # The positive control, an inner litebox's own --log, is
    # each_log_records_its_own_refusals_and_the_inner_log_both.


@test
def a_nested_program_writes_into_the_outer_overlay_not_the_host():
    need_seccomp_outer()
    d = workdir()
    ov = os.path.join(lbtest.tmpdir(), "ov")
    p = nested(d, [], "echo hi > made.txt; cat made.txt", outer_args=["--overlay", ov])
    if "--overlay:" in p.stderr:
        lbtest.skip(f"no overlay here: {p.stderr.strip()}")
    eq((p.returncode, p.stdout), (0, "hi\n"), p.stderr)
    eq(os.path.exists(os.path.join(d, "made.txt")), False, "made.txt on the host")
    diff = litebox("overlay", "diff", ov)
    eq(os.path.join(d, "made.txt") in diff.stdout, True, diff.stdout + diff.stderr)
    # The inner cannot ask for an overlay of its own (it would be ignored).
    p = nested(d, ["--overlay", os.path.join(d, "inner-ov")], "true")
    eq(p.returncode, 125, p.stderr)
    eq("cannot give a nested sandbox an overlay" in p.stderr, True, p.stderr)


@test
def a_nested_run_works_without_root():
    need_seccomp_outer()
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        lbtest.skip("needs root and setpriv to run as another user")
    d = workdir()
    for name in ("outer.policy", "inner.policy", "ok.txt", "inner-denied.txt"):
        os.chmod(os.path.join(d, name), 0o644)
    # litebox itself must be reachable by that user
    exe = os.path.join(d, "litebox")
    shutil.copy(LB, exe)
    os.chmod(exe, 0o755)
    with open(os.path.join(d, "inner.policy"), "a") as f:
        f.write(f'allow exec "{exe}"\n')
    env = dict(env_in(d), HOME=d)
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe,
                        "run", "--", exe, "run", "-p", "inner.policy", "--", "/bin/sh", "-c",
                        "id -u; cat ok.txt; cat inner-denied.txt"],
                       capture_output=True, text=True, cwd=d, env=env, timeout=60)
    if "cannot start the sandbox" in p.stderr and "user namespace" in p.stderr:
        lbtest.skip(f"no user namespaces here: {p.stderr.strip()}")
    eq((p.returncode, p.stdout), (1, "65534\nMARKER-ok\n"), p.stderr)
    eq("denied read " + os.path.join(d, "inner-denied.txt") in p.stderr, True, p.stderr)


@test
def outer_on_ptrace_refuses_with_a_clear_message():
    d = workdir()
    p = litebox("run", "--platform", "ptrace", "-p", os.path.join(d, "outer.policy"), "--",
                LB, "run", "-p", os.path.join(d, "inner.policy"), "--", "/bin/cat",
                "inner-denied.txt", cwd=d)
    if "cannot use --platform ptrace" in p.stderr:
        lbtest.skip("ptrace is refused here")
    eq("MARKER" in p.stdout, False, "nothing ran unenforced")
    eq(p.returncode, 125, p.stderr)
    eq("runs inside another litebox" in p.stderr, True, p.stderr)


@test
def a_program_that_changed_its_credentials_gets_no_nested_run():
    # The nested init joins the sandbox as litebox's own init did: a program
    # that dropped to nobody would have got root back (review).
    need_seccomp_outer()
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        lbtest.skip("needs root and setpriv")
    d = workdir()
    with open(os.path.join(d, "outer.policy"), "a") as f:
        f.write(f'allow exec "{setpriv}"\n')
    inner = [LB, "run", "-p", os.path.join(d, "inner.policy"), "--", "/usr/bin/id", "-u"]
    p = litebox("run", "-p", os.path.join(d, "outer.policy"), "--", setpriv, "--reuid=65534",
                "--regid=65534", "--clear-groups", *inner, cwd=d, env=env_in(d))
    assert p.returncode != 0 and "0\n" not in p.stdout, (p.stdout, p.stderr)
    assert "nested run after a change of credentials" in p.stderr, p.stderr
    # control: the same nested run without the change of ids
    p = litebox("run", "-p", os.path.join(d, "outer.policy"), "--", *inner, cwd=d,
                env=env_in(d))
    eq((p.returncode, p.stdout), (0, "0\n"), p.stderr)


@test
def no_nested_run_under_dry_run_or_learn():
    # --dry-run and learn keep refused what would reach the host; a nested
    # domain would be judged with nothing kept, so none is started (attack
    # review N1): the host file stays, the refusal is said and recorded.
    need_seccomp_outer()
    d = workdir()
    target = os.path.join(d, "outer-ro", "host.txt")
    with open(os.path.join(d, "inner.policy"), "w") as f:
        f.write("version 1\ninclude permissive\n")
    script = f"echo CHANGED > {target}"
    for mode in (["--dry-run"], ["learn"]):
        with open(target, "w") as f:
            f.write("HOST\n")
        log = os.path.join(lbtest.tmpdir(), "outer.jsonl")
        if mode == ["learn"]:
            out = os.path.join(lbtest.tmpdir(), "learned.policy")
            p = litebox("learn", "-o", out, "--", LB, "run", "-p",
                        os.path.join(d, "inner.policy"), "--", "/bin/sh", "-c", script,
                        cwd=d, env=env_in(d), timeout=60)
        else:
            p = nested(d, [], script, outer_args=["--dry-run", "--log", log])
            recs = records(log)
            eq(any(r.get("verdict") == "deny" and "nested run" in r.get("object", "")
                   for r in recs), True, f"deny record: {recs}")
        eq(p.returncode != 0, True, f"{mode}: status ({p.stderr})")
        eq("nested run under --dry-run or learn" in p.stderr, True, p.stderr)
        with open(target) as f:
            eq(f.read(), "HOST\n", f"{mode}: the host file")
    # control: a plain outer run lets the nested program write (the outer
    # policy's deny of outer-ro/ aside, a file in the work dir)
    p = nested(d, [], f"echo NESTED > {d}/plain.txt")
    eq(p.returncode, 0, p.stderr)
    with open(os.path.join(d, "plain.txt")) as f:
        eq(f.read(), "NESTED\n", "plain nested run")


@test
def the_outer_judges_files_stay_unreadable_by_another_name_under_overlay():
    # Under --overlay the judge's files are known by the host object behind
    # the path; the nested domain's core knew it only for the outer's own
    # program (attack review N2).
    need_seccomp_outer()
    d = workdir()
    with open(os.path.join(d, "inner.policy"), "w") as f:
        f.write("version 1\ninclude permissive\n")
    with open(os.path.join(d, "outer.policy"), "a") as f:
        f.write("# SECRET-POLICY-MARKER\n")
    os.link(os.path.join(d, "outer.policy"), os.path.join(d, "other-name.policy"))
    ov = os.path.join(lbtest.tmpdir(), "ov")
    p = nested(d, [], "cat other-name.policy; cat ok.txt", outer_args=["--overlay", ov])
    if "--overlay:" in p.stderr:
        lbtest.skip(f"no overlay here: {p.stderr.strip()}")
    eq("SECRET-POLICY-MARKER" in p.stdout, False, p.stdout)
    eq("MARKER-ok" in p.stdout, True, f"control ({p.stderr})")


PROTECT_PROBE = r"""
import ctypes, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                       ctypes.c_ulong]
libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
for path in sys.argv[1:]:
    strs = ["p", "", "/bin/true", "", "/tmp", "/tmp", "/tmp", "/bin", "/bin/true",
            "PATH=/usr/bin:/bin", path, "p", "version 1\ninclude permissive\n"]
    body = b"".join(x.encode() + b"\0" for x in strs)
    head = struct.pack("=IIi8I4xQ", 0x4c424e31, 4, -1, 8, 1, 1, 0, 0, 1, 2, 0, 0)
    buf = ctypes.create_string_buffer(head + body, len(head) + len(body))
    ctl = libc.prctl(0x4c426e73, 2, buf, len(head) + len(body), 0)
    st = ctypes.create_string_buffer(4)
    ok = ctl >= 0 and libc.read(ctl, st, 4) == 4
    print(path.rsplit("/", 1)[-1], struct.unpack("=i", st.raw)[0] if ok else "unserved")
"""


@test
def a_nested_request_cannot_tell_whether_a_hidden_path_exists():
    # The request's protect list is the sandbox's claim: the nested
    # supervisor, outside the sandbox, protects what exists and never fails
    # on what does not (attack review N3: status 125 told "absent").
    need_seccomp_outer()
    if not os.path.exists("/usr/bin/python3"):
        lbtest.skip("no python3 for the crafted handshake")
    d = workdir()
    secret = os.path.join(lbtest.tmpdir(), "hidden-dir")
    os.mkdir(secret)
    with open(os.path.join(secret, "present.txt"), "w") as f:
        f.write("x\n")
    with open(os.path.join(d, "outer.policy"), "a") as f:
        f.write(f'hide "{secret}"\n')
    prog = os.path.join(d, "probe.py")
    with open(prog, "w") as f:
        f.write(PROTECT_PROBE)
    p = litebox("run", "-q", "-p", os.path.join(d, "outer.policy"), "--", "/usr/bin/python3",
                prog, os.path.join(secret, "present.txt"), os.path.join(secret, "absent.txt"),
                os.path.join(d, "ok.txt"), cwd=d)
    eq(p.stdout, "present.txt 0\nabsent.txt 0\nok.txt 0\n", p.stderr)



OWN_FILTER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]
allow = (Filter * 1)(Filter(0x06, 0, 0, 0x7fff0000))  # return ALLOW
prog = Prog(1, allow)
libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
    print("no filter", os.strerror(ctypes.get_errno()))
    sys.exit(3)
os.execv(sys.argv[1], sys.argv[1:])
"""


@test
def a_program_with_a_seccomp_filter_of_its_own_gets_no_nested_run():
    # The nested program starts outside the caller, so a filter the caller
    # added to itself would not bind it (attack review N4).
    need_seccomp_outer()
    if not os.path.exists("/usr/bin/python3"):
        lbtest.skip("no python3 to install a filter")
    d = workdir()
    prog = os.path.join(d, "own_filter.py")
    with open(prog, "w") as f:
        f.write(OWN_FILTER)
    inner = [LB, "run", "-q", "-p", os.path.join(d, "inner.policy"), "--", "/bin/cat", "ok.txt"]
    p = litebox("run", "-p", os.path.join(d, "outer.policy"), "--", "/usr/bin/python3", prog,
                *inner, cwd=d, env=env_in(d))
    eq(p.returncode, 125, p.stderr)
    eq("seccomp filter of the program's own" in p.stderr, True, p.stderr)
    eq("MARKER-ok" in p.stdout, False, p.stdout)
    # control: the same nested run without a filter of its own
    p = litebox("run", "-p", os.path.join(d, "outer.policy"), "--", *inner, cwd=d, env=env_in(d))
    eq((p.returncode, p.stdout), (0, "MARKER-ok\n"), p.stderr)

if __name__ == "__main__":
    lbtest.run()
