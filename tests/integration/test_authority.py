#!/usr/bin/env python3
"""litebox never lends its authority: host operations done for the program
carry the program's credentials and capabilities (threats.md: confused
deputy, persistence). Each refusal has a native run or a positive control
beside it, and the outcome is judged on the host."""
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test


workdir = lbtest.policy_workdir


def run_in(d, *args, **kw):
    return litebox("run", "-q", "-p", os.path.join(d, "p.policy"), "--", *args, cwd=d, **kw)


def py(d, code, *args, **kw):
    return run_in(d, "/usr/bin/python3", "-c", code, *args, **kw)


def native_py(d, code, *args):
    return subprocess.run(["/usr/bin/python3", "-c", code, *args], capture_output=True,
                          text=True, cwd=d)


def need_root():
    if os.geteuid() != 0:
        lbtest.skip("needs root: the difference between litebox's authority and the program's")


KALLSYMS = ("vals = [l.split()[0] for l in open('/proc/kallsyms') if l.split()[1] in 'Tt']\n"
            "print('nonzero' if any(int(v, 16) for v in vals[:200]) else 'zero')\n")


@test
def proc_kallsyms_is_read_with_the_programs_capabilities():
    need_root()
    if not os.path.exists("/proc/kallsyms"):
        lbtest.skip("no /proc/kallsyms")
    d = workdir(["allow read /proc/kallsyms"])
    nat = native_py(d, KALLSYMS)
    if nat.stdout.strip() != "nonzero":
        lbtest.skip("kallsyms shows no addresses natively either (kptr_restrict)")
    p = py(d, KALLSYMS)
    eq(p.stdout.strip(), "zero", "the sandbox has no CAP_SYSLOG: " + p.stderr)


@test
def proc_kmsg_needs_cap_syslog():
    need_root()
    d = workdir(["allow read /proc/kmsg /proc/version"])
    code = ("import os\n"
            "try:\n"
            "    fd = os.open('/proc/kmsg', os.O_RDONLY | os.O_NONBLOCK); print('opened')\n"
            "except PermissionError: print('EPERM')\n"
            "print(open('/proc/version').read().split()[0])\n")
    nat = native_py(d, code)
    eq(nat.stdout.split(), ["opened", "Linux"], "native control: root opens /proc/kmsg")
    p = py(d, code)
    eq(p.stdout.split(), ["EPERM", "Linux"], p.stderr)


@test
def capability_xattr_needs_cap_setfcap():
    need_root()
    d = workdir()
    f = os.path.join(d, "prog")
    with open(f, "wb") as fh:
        fh.write(b"x")
    # a v2 security.capability value granting CAP_NET_RAW (permitted)
    value = "b'\\x01\\x00\\x00\\x02\\x00\\x20\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'"
    code = ("import os\n"
            "try:\n"
            f"    os.setxattr('prog', 'security.capability', {value}); print('set')\n"
            "except PermissionError: print('EPERM')\n"
            "os.setxattr('prog', 'user.note', b'1'); print('user')\n")
    p = py(d, code)
    eq(p.stdout.split(), ["EPERM", "user"], p.stderr)
    assert "security.capability" not in os.listxattr(f), "no file capability on the host"
    eq(os.getxattr(f, "user.note"), b"1", "control: the user xattr reached the host")


def setuid_bits(path):
    return os.lstat(path).st_mode & (stat.S_ISUID | stat.S_ISGID)


SETUID_CODE = ("import os, shutil\n"
               "fd = os.open('created', os.O_CREAT | os.O_WRONLY, 0o6755); os.close(fd)\n"
               "open('chmodded', 'w').close(); os.chmod('chmodded', 0o4755)\n"
               "fd = os.open('fchmodded', os.O_CREAT | os.O_WRONLY, 0o755)\n"
               "os.fchmod(fd, 0o2755); os.close(fd)\n"
               "os.mknod('node', 0o4755 | 0o100000)\n"
               "os.mkdir('sgid-dir', 0o2775); os.chmod('sgid-dir', 0o2775)\n"
               "print('done')\n")


def check_no_setuid(d, what):
    for name in ("created", "chmodded", "fchmodded", "node"):
        p = os.path.join(d, name)
        eq(setuid_bits(p), 0, f"{what}: {name} carries no setuid/setgid bit")
        assert os.lstat(p).st_mode & 0o111, f"{what}: {name} keeps its exec bits"


@test
def no_file_the_program_makes_is_setuid():
    d = workdir()
    nat = lbtest.tmpdir()
    os.chmod(nat, 0o755)
    r = native_py(nat, SETUID_CODE)
    eq(r.stdout.strip(), "done", "native control " + r.stderr)
    assert setuid_bits(os.path.join(nat, "chmodded")) & stat.S_ISUID, "natively chmod u+s works"
    p = py(d, SETUID_CODE)
    eq(p.stdout.strip(), "done", p.stderr)
    check_no_setuid(d, "python")
    # directories keep setgid: it only decides the group of new entries
    assert os.lstat(os.path.join(d, "sgid-dir")).st_mode & stat.S_ISGID


@test
def coreutils_cannot_plant_a_setuid_program():
    d = workdir()
    src = os.path.join(d, "src")
    with open(src, "w") as f:
        f.write("#!/bin/sh\n")
    p = run_in(d, "sh", "-c", "install -m 4755 src inst && cp src cp && chmod u+s,g+s cp "
               "&& cp -p inst copied-p && echo ok")
    eq(p.stdout.strip(), "ok", p.stderr)
    for name in ("inst", "cp", "copied-p"):
        eq(setuid_bits(os.path.join(d, name)), 0, name)
    nat = subprocess.run(["sh", "-c", "install -m 4755 src native-inst"], cwd=d)
    eq(nat.returncode, 0)
    assert setuid_bits(os.path.join(d, "native-inst")) & stat.S_ISUID, "native control"


@test
def no_setuid_file_as_an_unprivileged_user():
    need_root()
    if subprocess.run(["setpriv", "--help"], capture_output=True).returncode != 0:
        lbtest.skip("no setpriv")
    d = workdir()
    os.chmod(d, 0o777)
    env = dict(os.environ, HOME=d, TMPDIR=d)
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        lbtest.LITEBOX, "run", "-q", "-p", os.path.join(d, "p.policy"), "--",
                        "/usr/bin/python3", "-c", SETUID_CODE], cwd=d, env=env,
                       capture_output=True, text=True, timeout=120)
    if "user namespace" in p.stderr or p.returncode == 125:
        lbtest.skip("litebox cannot start as nobody here: " + p.stderr.strip()[-200:])
    eq(p.stdout.strip(), "done", p.stderr)
    check_no_setuid(d, "as nobody")
    eq(os.lstat(os.path.join(d, "created")).st_uid, 65534, "the file is the user's")

@test
def renaming_a_directory_cannot_move_files_out_of_their_rules():
    d = workdir(["deny write $CWD/protected/*"])
    os.mkdir(os.path.join(d, "protected"))
    os.mkdir(os.path.join(d, "free"))
    with open(os.path.join(d, "protected", "f"), "w") as f:
        f.write("ORIGINAL\n")
    code = ("import os, errno\n"
            "try:\n"
            "    os.rename('protected', 'moved')\n"
            "    open('moved/f', 'w').write('CHANGED\\n')\n"
            "    os.rename('moved', 'protected'); print('moved')\n"
            "except OSError as e: print(errno.errorcode[e.errno])\n"
            "os.rename('free', 'free2'); print('control')\n")
    p = py(d, code)
    eq(p.stdout.split(), ["EXDEV", "control"], p.stderr)
    with open(os.path.join(d, "protected", "f")) as f:
        eq(f.read(), "ORIGINAL\n", "the protected file's bytes")
    assert os.path.isdir(os.path.join(d, "free2")), "control rename reached the host"
    # mv falls back to copy and delete, each file judged: the delete is refused
    p = run_in(d, "mv", "protected", "moved")
    assert p.returncode != 0, "mv cannot take the protected file along"
    with open(os.path.join(d, "protected", "f")) as f:
        eq(f.read(), "ORIGINAL\n", "after mv")


@test
def renaming_a_directory_between_alike_places_works():
    d = workdir(["deny write $CWD/*/locked"])
    os.makedirs(os.path.join(d, "a", "sub"))
    p = run_in(d, "sh", "-c", "mv a b && mv b/sub b/sub2 && echo ok")
    eq(p.stdout.strip(), "ok", p.stderr)
    assert os.path.isdir(os.path.join(d, "b", "sub2"))
    assert "denied" not in p.stderr

TRUNC = ("import os, errno, signal, resource, sys\n"
         "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
         "if len(sys.argv) > 1: resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))\n"
         "open('big', 'w').close()\n"
         "for n in (1 << 20, (1 << 20) + 1, 10 << 20):\n"
         "    try: os.truncate('big', n); print(n, 'ok')\n"
         "    except OSError as e: print(n, errno.errorcode[e.errno])\n")


@test
def limit_fsize_binds_truncate_done_by_litebox():
    d = workdir(["limit fsize 1M"])
    nat = native_py(d, TRUNC, "native-limit")
    eq(nat.stdout.split(), ["1048576", "ok", "1048577", "EFBIG", "10485760", "EFBIG"], "native")
    p = py(d, TRUNC)
    eq(p.stdout, nat.stdout, p.stderr)
    eq(os.path.getsize(os.path.join(d, "big")), 1 << 20, "the host file stayed within the limit")


HIDDEN = ("import os, errno\n"
          "def t(n, f):\n"
          "    try: f(); print(n, 'ok')\n"
          "    except OSError as e: print(n, errno.errorcode[e.errno])\n"
          "t('file-below', lambda: os.stat('hid/key/x'))\n"
          "t('missing-below', lambda: os.stat('hid/nope/x'))\n"
          "t('link-inside', lambda: open('hid/lnk').read())\n"
          "t('link-into', lambda: open('into').read())\n"
          "t('loop-below', lambda: os.stat('hid/loop/x'))\n"
          "t('mkdir-below', lambda: os.mkdir('hid/key/d'))\n"
          "t('control', lambda: open('visible').read())\n")


@test
def below_a_hidden_path_every_lookup_is_enoent():
    d = workdir(["hide $CWD/hid"])
    os.mkdir(os.path.join(d, "hid"))
    with open(os.path.join(d, "hid", "key"), "w") as f:
        f.write("KEY")
    with open(os.path.join(d, "visible"), "w") as f:
        f.write("V")
    os.symlink("/etc/hostname", os.path.join(d, "hid", "lnk"))
    os.symlink("loop", os.path.join(d, "hid", "loop"))
    os.symlink("hid/lnk", os.path.join(d, "into"))
    p = py(d, HIDDEN)
    eq(p.stdout.split(), ["file-below", "ENOENT", "missing-below", "ENOENT",
                          "link-inside", "ENOENT", "link-into", "ENOENT",
                          "loop-below", "ENOENT", "mkdir-below", "ENOENT",
                          "control", "ok"], p.stderr)
    assert not os.path.exists(os.path.join(d, "hid", "key", "d"))

PTY = ("import os, sys, errno\n"
       "m, s = os.openpty(); os.write(s, b'own-pty\\n'); print(os.read(m, 100).decode().strip())\n"
       "try:\n"
       "    os.close(os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)); print('opened-other')\n"
       "except OSError as e: print(errno.errorcode[e.errno])\n")


@test
def other_terminals_are_out_of_reach_own_ptys_work():
    d = workdir()
    m, sl = os.openpty()  # another terminal of the host's
    try:
        other = os.ttyname(sl)
        nat = native_py(d, PTY, other)
        eq(nat.stdout.split(), ["own-pty", "opened-other"], "native control " + nat.stderr)
        p = litebox("run", "-p", os.path.join(d, "p.policy"), "--", "/usr/bin/python3", "-c",
                    PTY, other, cwd=d)
        eq(p.stdout.split(), ["own-pty", "EACCES"], p.stderr)
        assert f"denied read {other}" in p.stderr or f"denied write {other}" in p.stderr, p.stderr
    finally:
        os.close(m)
        os.close(sl)


@test
def the_terminal_litebox_runs_on_stays_the_programs():
    import pty
    code = ("import os; fd = os.open(os.ttyname(0), os.O_RDWR | os.O_NOCTTY); "
            "os.write(fd, b'on-my-tty\\n')")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(lbtest.LITEBOX, [lbtest.LITEBOX, "run", "-q", "--", "/usr/bin/python3", "-c", code])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert b"on-my-tty" in out, out
    eq(os.waitstatus_to_exitcode(status), 0, out.decode(errors="replace"))

DROP = ("import os, sys, errno\n"
        "fd = os.open(sys.argv[2], os.O_RDONLY)\n"
        "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        "def t(n, f):\n"
        "    try: f(); print(n, 'ok')\n"
        "    except OSError as e: print(n, errno.errorcode[e.errno])\n"
        "t('stat-below-0700', lambda: os.stat(sys.argv[1] + '/inner/file'))\n"
        "t('open-below-0700', lambda: open(sys.argv[1] + '/inner/file').read())\n"
        "t('own-fd-via-proc', lambda: open(f'/proc/self/fd/{fd}').read())\n"
        "t('stat-public', lambda: os.stat(sys.argv[2]))\n")


@test
def a_program_that_dropped_root_walks_paths_with_its_own_ids():
    need_root()
    d = workdir()
    locked = os.path.join(d, "locked")
    os.makedirs(os.path.join(locked, "inner"))
    with open(os.path.join(locked, "inner", "file"), "w") as f:
        f.write("x")
    os.chmod(os.path.join(locked, "inner"), 0o755)
    os.chmod(locked, 0o700)  # root's: nobody may not search it
    public = os.path.join(d, "public")
    with open(public, "w") as f:
        f.write("p")
    os.chmod(public, 0o644)
    nat = native_py(d, DROP, locked, public)
    want = ["stat-below-0700", "EACCES", "open-below-0700", "EACCES",
            "own-fd-via-proc", "ok", "stat-public", "ok"]
    eq(nat.stdout.split(), want, "native " + nat.stderr)
    p = py(d, DROP, locked, public)
    eq(p.stdout.split(), want, p.stderr)


RT_AND_MLOCK = ("import ctypes, os\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "try:\n"
                "    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(99)); print('fifo ok')\n"
                "except OSError as e: print('fifo', e.errno)\n"
                "r = libc.mlockall(3); print('mlockall', 0 if r == 0 else ctypes.get_errno())\n")


@test
def a_root_program_cannot_take_the_cpu_or_pin_memory():
    need_root()
    d = workdir()
    nat = native_py(d, "import os; print(os.sched_getscheduler(0))")
    eq(nat.returncode, 0, nat.stderr)  # positive control: python runs, the calls exist
    p = py(d, RT_AND_MLOCK)
    eq(p.returncode, 0, p.stderr)
    lines = p.stdout.split("\n")
    eq(lines[0], "fifo 1", "CAP_SYS_NICE is dropped: " + p.stdout)
    assert lines[1] in ("mlockall 1", "mlockall 12"), "CAP_IPC_LOCK is dropped: " + p.stdout


NONDUMPABLE = ("import ctypes, os, socket\n"
               "ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0, as gpg-agent does\n"
               "os.stat('.'); open('made', 'w').write('x')\n"
               "f = os.open('made', os.O_RDONLY); os.fstat(f); os.statvfs('.')\n"
               "s = socket.socket(socket.AF_UNIX); s.bind('agent.sock'); s.listen()\n"
               "print('ok', os.path.exists('made'), s.getsockname())\n")


@test
def a_program_that_makes_itself_non_dumpable_still_works():
    # litebox reads the caller's memory with its own authority (the
    # program's capabilities are not enough for a non-dumpable caller)
    d = workdir()
    nat = native_py(d, NONDUMPABLE)
    eq(nat.stdout.strip(), "ok True agent.sock", "control, native: " + nat.stderr)
    os.unlink(os.path.join(d, "made"))
    os.unlink(os.path.join(d, "agent.sock"))
    p = py(d, NONDUMPABLE)
    eq(p.stdout.strip(), "ok True agent.sock", p.stderr)


if __name__ == "__main__":
    lbtest.run()
