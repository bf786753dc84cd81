#!/usr/bin/env python3
"""The built-in dangerous system calls of policy.md, each attacked from a
real program under `litebox run`, each with a positive control beside it
(a native run of the same program, or ordinary calls of the same program
under litebox), so that a litebox that simply breaks everything fails."""
import fcntl
import os
import select
import shutil
import subprocess
import sys
import termios
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

HERE = os.path.dirname(os.path.abspath(__file__))
_BIN = {}
_DIRS = []


def build(name):
    """Compile progs/NAME.c natively, once, into a temp dir."""
    if name not in _BIN:
        if not shutil.which("cc"):
            lbtest.skip("no C compiler (cc) to build the attack program")
        d = lbtest.tmpdir()
        _DIRS.append(d)
        out = os.path.join(d, name)
        subprocess.run(["cc", "-O1", "-o", out, os.path.join(HERE, "progs", name + ".c")],
                       check=True)
        _BIN[name] = out
    return _BIN[name]


def parse(out):
    """Lines 'NAME ret=R errno=E' -> {NAME: (R, E)}."""
    res = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].startswith("ret=") and parts[2].startswith("errno="):
            res[parts[0]] = (int(parts[1][4:]), parts[2][6:])
    return res


def sandboxed(mode, *extra):
    d = lbtest.tmpdir()
    try:
        return litebox("run", "-q", "--", build("danger"), mode, *extra, cwd=d, timeout=30)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def natively(mode, *extra):
    return lbtest.native(build("danger"), mode, *extra, timeout=30)


def get(res, name, p):
    if name not in res:
        raise AssertionError(f"no result for {name}; exit {p.returncode}\n"
                             f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
    return res[name]


def refused(res, name, p, errnos=("EPERM",)):
    r, e = get(res, name, p)
    if r >= 0 or e not in errnos:
        raise AssertionError(f"{name} under litebox returned {r} ({e}); expected failure with "
                             f"{'/'.join(errnos)}\nstdout: {p.stdout}\nstderr: {p.stderr[-1500:]}")


def works(res, name, p):
    r, e = get(res, name, p)
    if r < 0:
        raise AssertionError(f"control {name} failed under litebox ({e})\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr[-1500:]}")


@test
def unshare_user_namespace_refused():
    if not shutil.which("unshare"):
        lbtest.skip("util-linux unshare is not installed")
    nat = lbtest.native("unshare", "-U", "true")
    d = lbtest.tmpdir()
    try:
        ctl = litebox("run", "-q", "--", "true", cwd=d)
        eq(ctl.returncode, 0, "control: litebox run true")
        ctl = litebox("run", "-q", "--", "unshare", "--help", cwd=d)
        eq(ctl.returncode, 0, "control: litebox run unshare --help")
        assert "unshare" in ctl.stdout, "control: unshare --help printed its usage"
        p = litebox("run", "-q", "--", "unshare", "-U", "true", cwd=d)
        assert p.returncode != 0, (
            f"unshare -U true succeeded under litebox (natively: exit {nat.returncode})")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def ptrace_refused():
    nat = parse(natively("ptrace").stdout)
    p = sandboxed("ptrace")
    res = parse(p.stdout)
    for c in ("control_fork", "control_kill", "control_basic"):
        works(res, c, p)
    for name in ("ptrace_attach", "ptrace_seize", "ptrace_traceme"):
        refused(res, name, p)
        assert nat.get(name, (-1,))[0] == 0, (
            f"native control: {name} natively {nat.get(name)}")
    eq(p.returncode, 0, "exit status")


@test
def io_uring_refused():
    nat = parse(natively("io_uring").stdout)
    p = sandboxed("io_uring")
    res = parse(p.stdout)
    works(res, "control_basic", p)
    refused(res, "io_uring_setup", p)
    refused(res, "io_uring_enter", p)
    if nat.get("io_uring_setup", (-1,))[0] < 0:
        print(f"# note: natively io_uring_setup also fails: {nat.get('io_uring_setup')}")


def _tiocsti_run(cmd, cwd=None):
    """Run cmd with a fresh pty as its controlling terminal (stdin) and
    return (CompletedProcess, bytes injected into the pty's input)."""
    master, slave = os.openpty()
    try:
        tty.setraw(slave)

        def ctty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        p = subprocess.run(cmd, stdin=slave, capture_output=True, text=True,
                           timeout=30, preexec_fn=ctty, cwd=cwd)
        os.set_blocking(slave, False)
        injected = b""
        while select.select([slave], [], [], 0.2)[0]:
            try:
                chunk = os.read(slave, 100)
            except BlockingIOError:
                break
            if not chunk:
                break
            injected += chunk
        return p, injected
    finally:
        os.close(master)
        os.close(slave)


@test
def tiocsti_refused_also_with_garbage_in_upper_bits():
    prog = build("danger")
    nat, nat_inj = _tiocsti_run([prog, "tiocsti"])
    nres = parse(nat.stdout)
    if nres.get("control_tcgets", (-1,))[0] < 0:
        lbtest.skip(f"cannot make a pty the controlling terminal here: {nat.stdout} {nat.stderr}")
    d = lbtest.tmpdir()
    try:
        p, inj = _tiocsti_run([lbtest.LITEBOX, "run", "-q", "--", prog, "tiocsti"], cwd=d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    res = parse(p.stdout)
    works(res, "control_tcgets", p)
    refused(res, "tiocsti", p)
    refused(res, "tiocsti_hi", p)
    eq(inj, b"", "bytes pushed into the terminal's input from the sandbox")
    if nat_inj != b"QR":
        print(f"# note: natively TIOCSTI injected {nat_inj!r} ({nres})")


@test
def seccomp_new_listener_refused_plain_filter_allowed():
    nat = parse(natively("seccomp").stdout)
    p = sandboxed("seccomp")
    res = parse(p.stdout)
    works(res, "control_nnp", p)
    refused(res, "seccomp_listener", p)
    works(res, "control_seccomp_plain", p)
    works(res, "control_basic", p)
    assert nat.get("seccomp_listener", (-1,))[0] >= 0, f"native control: {nat}"


@test
def clone_newuser_refused():
    nat = parse(natively("clone").stdout)
    p = sandboxed("clone")
    res = parse(p.stdout)
    works(res, "control_fork", p)
    refused(res, "clone_newuser", p)
    # clone3 arguments live in memory a seccomp filter cannot read:
    # ENOSYS (so libc falls back to clone) is an acceptable refusal.
    refused(res, "clone3_newuser", p, ("EPERM", "ENOSYS"))
    refused(res, "unshare_newuser", p)
    if nat.get("clone_newuser", (-1,))[0] < 0:
        print(f"# note: natively CLONE_NEWUSER also fails here: {nat}")


@test
def mount_refused():
    d = lbtest.tmpdir()
    m = os.path.join(d, "m")
    os.mkdir(m)
    try:
        p = litebox("run", "-q", "--", build("danger"), "mount", d, cwd=d, timeout=30)
        res = parse(p.stdout)
        works(res, "control_write", p)
        with open(os.path.join(d, "control")) as f:
            eq(f.read(), "c\n", "control file written by the sandboxed program")
        mounted = os.path.ismount(m)
        refused(res, "mount_tmpfs", p)
        refused(res, "mount_bind", p, ("EPERM", "ENOENT", "EACCES"))
        assert not mounted, "a tmpfs was mounted on the host from inside the sandbox"
    finally:
        for _ in range(3):
            if os.path.ismount(m):
                subprocess.run(["umount", "-l", m])
        shutil.rmtree(d, ignore_errors=True)


@test
def bpf_refused():
    nat = parse(natively("bpf").stdout)
    p = sandboxed("bpf")
    res = parse(p.stdout)
    works(res, "control_basic", p)
    refused(res, "bpf_map_create", p)
    if nat.get("bpf_map_create", (-1,))[0] < 0:
        print(f"# note: natively bpf also fails here: {nat}")


@test
def keyctl_and_add_key_refused():
    nat = parse(natively("keyctl").stdout)
    p = sandboxed("keyctl")
    res = parse(p.stdout)
    works(res, "control_basic", p)
    refused(res, "keyctl", p)
    refused(res, "add_key", p)
    if nat.get("keyctl", (-1,))[0] < 0:
        print(f"# note: natively keyctl also fails here: {nat}")


@test
def process_vm_readv_and_pidfd_getfd_refused():
    nat = parse(natively("pvm").stdout)
    p = sandboxed("pvm")
    res = parse(p.stdout)
    works(res, "control_fork", p)
    works(res, "control_pidfd_open", p)
    works(res, "control_basic", p)
    refused(res, "process_vm_readv", p)
    refused(res, "process_vm_writev", p)
    refused(res, "pidfd_getfd", p)
    assert "process_vm_readv_value=none" in p.stdout, p.stdout
    assert nat.get("process_vm_readv", (-1,))[0] > 0, f"native control: {nat}"


@test
def i386_int80_refused():
    n = natively("int80")
    first = n.stdout.split("\n")[0].split()
    if n.returncode != 0 or len(first) != 3 or first[1][4:] != first[2][7:]:
        lbtest.skip(f"int 0x80 does not reach the i386 ABI natively (IA32 emulation off?): "
                    f"{n.stdout.strip()!r} exit {n.returncode}")
    p = sandboxed("int80")
    if p.returncode == 128 + 9 or p.returncode == 128 + 31:
        return  # killed on the foreign-ABI call: refused
    lines = p.stdout.split("\n")
    parts = lines[0].split()
    assert len(parts) == 3 and parts[0] == "int80", f"output: {p.stdout!r} stderr {p.stderr!r}"
    ret, pid = int(parts[1][4:]), int(parts[2][7:])
    assert ret != pid, f"int 0x80 getpid returned the pid ({ret}) under litebox"
    assert ret < 0, f"int 0x80 getpid returned {ret} under litebox, expected -EPERM"
    res = parse(p.stdout)
    works(res, "control_basic", p)


@test
def x32_syscall_numbers_refused():
    n = parse(natively("x32").stdout)
    p = sandboxed("x32")
    if p.returncode in (128 + 9, 128 + 31):
        return  # killed on the foreign-ABI call: refused
    res = parse(p.stdout)
    works(res, "control_basic", p)
    r, e = get(res, "x32_getpid", p)
    assert r < 0, f"x32 getpid returned {r} under litebox (natively: {n.get('x32_getpid')})"
    r, e = get(res, "x32_write", p)
    assert r < 0, f"x32 write returned {r} under litebox (natively: {n.get('x32_write')})"
    print(f"# x32 natively: {n.get('x32_getpid')}, under litebox: {res.get('x32_getpid')}")


if __name__ == "__main__":
    try:
        lbtest.run()
    finally:
        for d in _DIRS:
            shutil.rmtree(d, ignore_errors=True)
