#!/usr/bin/env python3
"""Filesystem mediation: the attacks of threats.md, each with a positive
control, asserting on what happened on the host."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = {}


def build(name):
    """Compile fsprogs/NAME.c once, natively."""
    if name not in BIN:
        out = os.path.join(lbtest.tmpdir(), name)
        subprocess.run(["cc", "-O1", "-pthread", "-o", out,
                        os.path.join(HERE, "fsprogs", name + ".c")], check=True)
        BIN[name] = out
    return BIN[name]


def workdir(policy_lines=()):
    """A fresh directory with an allowed file 'ok', a denied file 'secret',
    and a policy 'p.policy' (the default profile plus policy_lines)."""
    d = lbtest.tmpdir()
    with open(os.path.join(d, "ok"), "w") as f:
        f.write("OK\n")
    with open(os.path.join(d, "secret"), "w") as f:
        f.write("SECRET\n")
    with open(os.path.join(d, "p.policy"), "w") as f:
        f.write("version 1\ninclude default\n")
        f.write("deny read $CWD/secret\ndeny write $CWD/secret\n")
        for line in policy_lines:
            f.write(line + "\n")
    return d


def run_in(d, *args, **kw):
    return litebox("run", "-q", "-p", os.path.join(d, "p.policy"), "--", *args, cwd=d, **kw)


def py(d, code, **kw):
    return run_in(d, "/usr/bin/python3", "-c", code, **kw)


@test
def denied_read_is_refused_and_allowed_read_works():
    d = workdir()
    p = run_in(d, "cat", "ok")
    eq(p.returncode, 0, "control: cat ok")
    eq(p.stdout, "OK\n", "control output")
    p = run_in(d, "cat", "secret")
    assert p.returncode != 0, "cat secret must fail"
    assert "SECRET" not in p.stdout


@test
def denial_message_names_the_rule_to_add():
    d = workdir()
    p = litebox("run", "-p", os.path.join(d, "p.policy"), "--", "cat", "secret", cwd=d)
    line = [l for l in p.stderr.splitlines() if l.startswith("litebox: denied read")]
    assert line, p.stderr
    assert os.path.join(d, "secret") in line[0], line[0]
    assert "(pid " in line[0] and "cat" in line[0] and "openat" in line[0], line[0]


@test
def path_buffer_swapped_by_a_second_thread():
    d = workdir()
    prog = build("race_open")
    p = run_in(d, prog, os.path.join(d, "ok"), os.path.join(d, "secret"), "3000", timeout=300)
    eq(p.returncode, 0, "race_open exit " + p.stderr)
    leaks, oks = [int(x.split("=")[1]) for x in p.stdout.split()]
    eq(leaks, 0, "secret reads through the pointer race")
    assert oks > 0, "positive control: some opens of ok must succeed"


@test
def path_buffer_swapped_beyond_its_first_256_bytes():
    # The ptrace platform reads an open's first 256 bytes once at the stop
    # and hands them to the core when the path ends there; a longer path is
    # read by the core in full. Here the two paths share those first bytes
    # and differ only after them.
    long = os.path.join("a" * 120, "b" * 120)
    d = workdir(["deny read $CWD/%s/secret" % long])
    os.makedirs(os.path.join(d, long))
    for name, data in (("ok", "OK\n"), ("secret", "SECRET\n")):
        with open(os.path.join(d, long, name), "w") as f:
            f.write(data)
    ok, secret = os.path.join(d, long, "ok"), os.path.join(d, long, "secret")
    assert len(ok) > 256 and len(secret) < 500, len(ok)
    prog = build("race_open")
    p = run_in(d, prog, ok, secret, "3000", timeout=300)
    eq(p.returncode, 0, "race_open exit " + p.stderr)
    leaks, oks = [int(x.split("=")[1]) for x in p.stdout.split()]
    eq(leaks, 0, "secret reads through the pointer race past the first 256 bytes")
    assert oks > 0, "positive control: some opens of ok must succeed"
    p = run_in(d, "cat", secret)
    assert p.returncode != 0 and "SECRET" not in p.stdout, "control: the rule refuses it"


@test
def symlink_swapped_in_a_writable_directory():
    d = workdir()
    w = os.path.join(d, "w")
    os.mkdir(w)
    prog = build("race_symlink")
    p = run_in(d, prog, w, os.path.join(d, "ok"), os.path.join(d, "secret"), "2000", timeout=300)
    eq(p.returncode, 0, "race_symlink exit " + p.stderr)
    leaks, oks = [int(x.split("=")[1]) for x in p.stdout.split()]
    eq(leaks, 0, "secret reads through the symlink race")
    assert oks > 0, "positive control: some opens through the link must succeed"


@test
def dirfd_and_dotdot_lead_outside():
    d = workdir()
    os.mkdir(os.path.join(d, "sub"))
    code = ("import os\n"
            "fd = os.open('sub', os.O_RDONLY | os.O_DIRECTORY)\n"
            "print(os.read(os.open('../ok', os.O_RDONLY, dir_fd=fd), 2).decode())\n"
            "try:\n"
            "    os.open('../secret', os.O_RDONLY, dir_fd=fd); print('LEAK')\n"
            "except PermissionError: print('refused')\n"
            "try:\n"
            "    os.open('sub/../sub/./../secret', os.O_RDONLY); print('LEAK')\n"
            "except PermissionError: print('refused')\n")
    p = py(d, code)
    eq(p.stdout.split(), ["OK", "refused", "refused"], "dirfd/.. results " + p.stderr)


@test
def proc_magic_links_are_judged_by_their_target():
    d = workdir()
    code = ("import os\n"
            "for p in ['/proc/self/root' + os.getcwd() + '/secret', '/proc/self/cwd/secret',\n"
            "          '/proc/thread-self/cwd/secret']:\n"
            "    try:\n"
            "        open(p).read(); print('LEAK', p)\n"
            "    except (PermissionError, FileNotFoundError): print('refused')\n"
            "print(open('/proc/self/cwd/ok').read().strip())\n")
    p = py(d, code)
    eq(p.stdout.split(), ["refused", "refused", "refused", "OK"], "magic links " + p.stderr)


@test
def hard_link_cannot_carry_a_denied_file():
    d = workdir()
    code = ("import os\n"
            "os.link('ok', 'ok-link'); print('linked')\n"
            "try:\n"
            "    os.link('secret', 'hl'); print('LEAK')\n"
            "except PermissionError: print('refused')\n")
    p = py(d, code)
    eq(p.stdout.split(), ["linked", "refused"], "hard links " + p.stderr)
    assert os.path.exists(os.path.join(d, "ok-link")), "control link exists on the host"
    assert not os.path.exists(os.path.join(d, "hl")), "no hard link to the secret on the host"


@test
def write_tricks_on_a_read_only_file():
    d = workdir(["deny write $CWD/ro"])
    with open(os.path.join(d, "ro"), "w") as f:
        f.write("KEEP\n")
    with open(os.path.join(d, "other"), "w") as f:
        f.write("x\n")
    code = ("import os\n"
            "def t(name, fn):\n"
            "    try:\n"
            "        fn(); print(name, 'done')\n"
            "    except PermissionError: print(name, 'refused')\n"
            "t('trunc', lambda: os.open('ro', os.O_RDONLY | os.O_TRUNC))\n"
            "t('rename_onto', lambda: os.rename('other', 'ro'))\n"
            "t('chmod', lambda: os.chmod('ro', 0o777))\n"
            "t('utime', lambda: os.utime('ro', (0, 0)))\n"
            "t('setxattr', lambda: os.setxattr('ro', 'user.x', b'1'))\n"
            "t('unlink', lambda: os.unlink('ro'))\n"
            "t('read', lambda: open('ro').read())\n"
            "t('control_chmod', lambda: os.chmod('other', 0o600))\n")
    p = py(d, code)
    got = dict(l.split() for l in p.stdout.splitlines())
    for k in ["trunc", "rename_onto", "chmod", "utime", "setxattr", "unlink"]:
        eq(got.get(k), "refused", k + " " + p.stderr)
    eq(got.get("read"), "done", "reading ro is allowed")
    eq(got.get("control_chmod"), "done", "control chmod")
    st = os.stat(os.path.join(d, "ro"))
    eq(open(os.path.join(d, "ro")).read(), "KEEP\n", "ro content on the host")
    assert st.st_mtime > 1000, "utime did not reach the host"
    eq(os.stat(os.path.join(d, "other")).st_mode & 0o777, 0o600, "control chmod on the host")


@test
def write_tricks_through_a_read_only_fd():
    d = workdir(["deny write $CWD/ro"])
    with open(os.path.join(d, "ro"), "w") as f:
        f.write("KEEP\n")
    with open(os.path.join(d, "other"), "w") as f:
        f.write("x\n")
    code = ("import os\n"
            "def t(name, fn):\n"
            "    try:\n"
            "        fn(); print(name, 'done')\n"
            "    except PermissionError: print(name, 'refused')\n"
            "    except OSError as e: print(name, 'errno', e.errno)\n"
            "fd = os.open('ro', os.O_RDONLY)\n"
            "t('fchmod', lambda: os.fchmod(fd, 0o777))\n"
            "t('fchown', lambda: os.fchown(fd, 0, 0))\n"
            "t('futimens', lambda: os.utime(fd, (0, 0)))\n"
            "t('fsetxattr', lambda: os.setxattr(fd, 'user.x', b'1'))\n"
            "t('fremovexattr', lambda: os.removexattr(fd, 'user.x'))\n"
            "p = os.open('other', os.O_PATH)\n"
            "t('fchmod_opath', lambda: os.fchmod(p, 0o600))\n"
            "o = os.open('other', os.O_RDONLY)\n"
            "t('control_fchmod', lambda: os.fchmod(o, 0o640))\n"
            "t('control_fsetxattr', lambda: os.setxattr(o, 'user.x', b'1'))\n")
    p = py(d, code)
    got = dict(l.split(None, 1) for l in p.stdout.splitlines())
    for k in ["fchmod", "fchown", "futimens", "fsetxattr", "fremovexattr"]:
        eq(got.get(k), "refused", k + " " + p.stderr)
    eq(got.get("fchmod_opath"), "errno 9", "fchmod of an O_PATH fd is EBADF, as natively")
    eq(got.get("control_fchmod"), "done", "control fchmod " + p.stderr)
    eq(got.get("control_fsetxattr"), "done", "control fsetxattr " + p.stderr)
    st = os.stat(os.path.join(d, "ro"))
    eq(st.st_mode & 0o777, 0o644, "ro's mode on the host")
    assert st.st_mtime > 1000, "futimens did not reach the host"
    eq(os.stat(os.path.join(d, "other")).st_mode & 0o777, 0o640, "control reached the host")


@test
def a_descriptor_without_a_trustworthy_path_is_refused_not_waved_through():
    # /proc/self/fd shows "NAME (deleted)" for a deleted file: a live file
    # that is merely named so used to have its fchmod go unjudged.
    d = workdir(["deny write $CWD/ro/**"])
    os.mkdir(os.path.join(d, "ro"))
    with open(os.path.join(d, "ro", "x (deleted)"), "w") as f:
        f.write("KEEP\n")
    code = ("import os\n"
            "def t(name, fn):\n"
            "    try:\n"
            "        fn(); print(name, 'done')\n"
            "    except PermissionError: print(name, 'refused')\n"
            "    except OSError as e: print(name, 'errno', e.errno)\n"
            "fd = os.open('ro/x (deleted)', os.O_RDONLY)\n"
            "t('fchmod', lambda: os.fchmod(fd, 0o777))\n"
            "t('futimens', lambda: os.utime(fd, (0, 0)))\n"
            "g = os.open('gone', os.O_CREAT | os.O_RDWR, 0o600)\n"
            "os.unlink('gone')\n"
            "t('control_unlinked', lambda: os.fchmod(g, 0o640))\n"
            "o = os.open('ok', os.O_RDONLY)\n"
            "t('control_named', lambda: os.fchmod(o, 0o640))\n")
    p = litebox("run", "-p", os.path.join(d, "p.policy"), "--", "/usr/bin/python3", "-c", code, cwd=d)
    got = dict(l.split(None, 1) for l in p.stdout.splitlines())
    eq(got.get("fchmod"), "refused", "fchmod " + p.stderr)
    eq(got.get("futimens"), "refused", "futimens " + p.stderr)
    eq(got.get("control_unlinked"), "done", "fchmod of a deleted file " + p.stderr)
    eq(got.get("control_named"), "done", "control fchmod " + p.stderr)
    assert "denied write" in p.stderr and "x (deleted)" in p.stderr, p.stderr
    st = os.stat(os.path.join(d, "ro", "x (deleted)"))
    eq(st.st_mode & 0o777, 0o644, "mode on the host")
    assert st.st_mtime > 1000, "futimens reached the host"
    eq(os.stat(os.path.join(d, "ok")).st_mode & 0o777, 0o640, "control on the host")


@test
def a_listing_without_a_trustworthy_path_is_refused_not_shown_whole():
    d = workdir(['hide "$CWD/d (deleted)/hidden" $CWD/plain/hidden'])
    for sub in ("d (deleted)", "plain"):
        os.makedirs(os.path.join(d, sub, "hidden"))
        os.mkdir(os.path.join(d, sub, "shown"))
    code = ("import os\n"
            "def t(name, fn):\n"
            "    try:\n"
            "        print(name, ','.join(sorted(fn())))\n"
            "    except PermissionError: print(name, 'refused')\n"
            "    except FileNotFoundError: print(name, 'absent')\n"
            "t('named_deleted', lambda: os.listdir('d (deleted)'))\n"
            "t('control_plain', lambda: os.listdir('plain'))\n"
            "os.mkdir('gone'); os.chdir('gone'); os.rmdir('../gone')\n"
            "t('control_removed', lambda: os.listdir('.'))\n")
    p = litebox("run", "-p", os.path.join(d, "p.policy"), "--", "/usr/bin/python3", "-c", code, cwd=d)
    got = dict(l.split(None, 1) for l in p.stdout.splitlines())
    eq(got.get("named_deleted"), "refused", "listing " + p.stderr)
    eq(got.get("control_plain"), "shown", "control listing " + p.stderr)
    eq(got.get("control_removed"), "absent", "listing of a removed cwd, as natively")
    assert "denied read" in p.stderr and "d (deleted)" in p.stderr, p.stderr


@test
def hidden_path_is_absent_everywhere():
    d = workdir(["hide $CWD/hidden"])
    os.mkdir(os.path.join(d, "hidden"))
    with open(os.path.join(d, "hidden", "f"), "w") as f:
        f.write("x")
    code = ("import os\n"
            "def t(name, fn):\n"
            "    try:\n"
            "        fn(); print(name, 'visible')\n"
            "    except FileNotFoundError: print(name, 'absent')\n"
            "t('stat', lambda: os.stat('hidden'))\n"
            "t('open', lambda: open('hidden/f').read())\n"
            "t('create', lambda: open('hidden/new', 'w'))\n"
            "t('access', lambda: os.access('hidden', os.F_OK) or (_ for _ in ()).throw(FileNotFoundError()))\n"
            "print('listed', 'hidden' in os.listdir('.'))\n"
            "print('control', 'ok' in os.listdir('.'))\n")
    p = py(d, code)
    got = dict(l.split() for l in p.stdout.splitlines())
    for k in ["stat", "open", "create", "access"]:
        eq(got.get(k), "absent", k + " " + p.stderr)
    eq(got.get("listed"), "False", "hidden entry in the listing")
    eq(got.get("control"), "True", "control entry in the listing")
    assert not os.path.exists(os.path.join(d, "hidden", "new"))


@test
def exec_without_naming_the_file():
    d = workdir(["deny exec $CWD/noexec/**"])
    os.mkdir(os.path.join(d, "noexec"))
    shutil.copy("/bin/true", os.path.join(d, "noexec", "t"))
    shutil.copy("/bin/true", os.path.join(d, "t-ok"))
    prog = build("exec_bypass")
    shutil.copy(prog, os.path.join(d, "exec_bypass"))
    p = run_in(d, "./exec_bypass", os.path.join(d, "noexec", "t"), os.path.join(d, "t-ok"))
    got = dict(l.split() for l in p.stdout.splitlines())
    eq(got.get("control"), "ran", "control exec " + p.stderr)
    for k in ["plain", "memfd", "execveat_opath", "proc_self_fd"]:
        eq(got.get(k), "refused", k)


@test
def coreutils_under_the_default_policy_change_the_host():
    d = workdir()
    script = ("set -e; mkdir -p a/b; echo hello > a/b/f; cp a/b/f a/c; mv a/c a/d; ln -s d a/l;"
              " tar cf t.tar a; rm -r a; tar xf t.tar; find a -type f | sort; cat a/l")
    p = run_in(d, "sh", "-c", script)
    eq(p.returncode, 0, "coreutils script " + p.stderr)
    eq(p.stdout.split(), ["a/b/f", "a/d", "hello"], "output")
    assert os.path.islink(os.path.join(d, "a", "l"))
    eq(open(os.path.join(d, "a", "d")).read(), "hello\n", "file on the host")


@test
def git_init_and_commit():
    if not shutil.which("git"):
        lbtest.skip("git is not installed")
    d = workdir()
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@e", HOME=d)
    p = run_in(d, "sh", "-c", "git init -q r && cd r && echo x > f && git add f && git commit -qm m && git log --oneline | wc -l", env=env)
    eq(p.returncode, 0, "git " + p.stderr)
    eq(p.stdout.strip(), "1", "one commit")
    assert os.path.isdir(os.path.join(d, "r", ".git", "objects"))


@test
def allow_flags_widen_the_policy():
    d = workdir()
    outside = lbtest.tmpdir()
    target = os.path.join(outside, "made")
    p = litebox("run", "-q", "-p", "strict", "--", "sh", "-c", f"echo x > {target}", cwd=d)
    assert p.returncode != 0 and not os.path.exists(target), "strict must refuse the write"
    p = litebox("run", "-q", "-p", "strict", "--allow-write", outside, "--allow-write", outside + "/**",
                "--allow-exec", "/usr/**", "--allow-read", "/usr/**", "--allow-read", "/etc/**",
                "--", "/bin/sh", "-c", f"echo x > {target}", cwd=d)
    eq(p.returncode, 0, "--allow-write run " + p.stderr)
    assert os.path.exists(target), "--allow-write let the file be created on the host"


@test
def open_with_access_mode_3_is_judged():
    d = workdir(["hide $CWD/hidden-file"])
    open(os.path.join(d, "hidden-file"), "w").close()
    code = ("import os\n"
            "for p in ('secret', 'hidden-file'):\n"
            "    try:\n"
            "        os.open(p, 3); print('opened')\n"
            "    except (PermissionError, FileNotFoundError) as e: print(type(e).__name__)\n"
            "fd = os.open('ok', 3); os.close(fd); print('control')\n")
    p = py(d, code)
    eq(p.stdout.split(), ["PermissionError", "FileNotFoundError", "control"], p.stderr)


@test
def rename_cannot_launder_a_denied_file():
    d = workdir()
    code = ("import os\n"
            "try:\n"
            "    os.rename('secret', 'public'); print('LEAK', open('public').read())\n"
            "except PermissionError: print('refused')\n"
            "os.rename('ok', 'ok2'); print('control')\n")
    p = py(d, code)
    eq(p.stdout.split(), ["refused", "control"], p.stderr)
    assert os.path.exists(os.path.join(d, "secret")) and not os.path.exists(os.path.join(d, "public"))
    assert os.path.exists(os.path.join(d, "ok2")), "control rename reached the host"


@test
def host_processes_are_absent_from_proc():
    d = workdir()
    host_pid = os.getpid()
    code = ("import os, sys\n"
            "pid = sys.argv[1]\n"
            "for p in (f'/proc/{pid}/status', f'/proc/{pid}/mem', '/proc/1/environ'):\n"
            "    try:\n"
            "        open(p, 'rb').read(1); print('LEAK', p)\n"
            "    except FileNotFoundError: print('absent')\n"
            "    except PermissionError: print('absent')  # the sandbox's init: not dumpable\n"
            "try:\n"
            "    os.chdir(f'/proc/{pid}'); print('LEAK chdir')\n"
            "except FileNotFoundError: print('absent')\n"
            "print(open('/proc/self/status').read().split()[0])\n")
    p = run_in(d, "/usr/bin/python3", "-c", code, str(host_pid))
    eq(p.stdout.split(), ["absent"] * 4 + ["Name:"], p.stderr)


@test
def syscalls_newer_than_the_table_fail_closed():
    d = workdir(["hide $CWD/hidden-file"])
    code = ("import ctypes, os\n"
            "l = ctypes.CDLL(None, use_errno=True)\n"
            "for nr in (463, 464, 467, 468, 500):\n"
            "    r = l.syscall(nr, -100, b'hidden-file', 0, 0, 0)\n"
            "    print(r, ctypes.get_errno())\n")
    p = py(d, code)
    eq(p.stdout.split(), ["-1", "38"] * 5, "ENOSYS for each: " + p.stderr)


@test
def trailing_slash_on_a_symlink_is_not_its_target():
    d = workdir()
    os.mkdir(os.path.join(d, "target-dir"))
    os.symlink("target-dir", os.path.join(d, "link"))
    code = ("import os\n"
            "try:\n"
            "    os.rmdir('link/'); print('removed')\n"
            "except NotADirectoryError: print('ENOTDIR')\n")
    p = py(d, code)
    native = subprocess.run(["/usr/bin/python3", "-c", "import os\ntry:\n os.rmdir('/nonexistent-x/')\nexcept OSError: pass"])
    eq(p.stdout.split(), ["ENOTDIR"], p.stderr)
    assert os.path.isdir(os.path.join(d, "target-dir")), "the link's target survived"
    del native


@test
def a_program_that_drops_root_gets_its_own_permissions():
    if os.geteuid() != 0:
        lbtest.skip("needs root: the program must be able to setuid")
    d = workdir()
    os.chmod(d, 0o755)  # traversable: the refusals below come from the files' own modes
    private = os.path.join(d, "root-only")
    with open(private, "w") as f:
        f.write("x")
    os.chmod(private, 0o600)
    rootdir = os.path.join(d, "root-dir")
    os.mkdir(rootdir, 0o755)
    code = ("import os, sys\n"
            "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            "def t(name, fn):\n"
            "    try:\n"
            "        fn(); print(name, 'done')\n"
            "    except PermissionError: print(name, 'denied')\n"
            "t('read', lambda: open(sys.argv[1]).read())\n"
            "t('create', lambda: open(sys.argv[2] + '/x', 'w'))\n"
            "t('xattr', lambda: os.setxattr(sys.argv[1], 'user.x', b'1'))\n"
            "print('access', os.access(sys.argv[1], os.R_OK))\n")
    p = run_in(d, "/usr/bin/python3", "-c", code, private, rootdir)
    native = subprocess.run(["/usr/bin/python3", "-c", code, private, rootdir], capture_output=True, text=True)
    eq(native.stdout.split(), ["read", "denied", "create", "denied", "xattr", "denied", "access", "False"],
       "native control")
    eq(p.stdout, native.stdout, "under litebox as natively: " + p.stderr)
    assert not os.path.exists(os.path.join(rootdir, "x"))


@test
def exec_reads_no_script_the_program_may_not_execute():
    # The #! line is judged (the interpreter too), but the file is read
    # only when the program itself could execute it: the first line of a
    # root-only file must not reach a denial line or the log.
    if os.geteuid() != 0:
        lbtest.skip("needs root: the program must be able to setuid")
    d = workdir(["deny exec $CWD/interp"])
    os.chmod(d, 0o755)
    shutil.copy("/bin/true", os.path.join(d, "interp"))
    for name, mode in (("private.sh", 0o600), ("public.sh", 0o755)):
        with open(os.path.join(d, name), "w") as f:
            f.write(f"#!{d}/interp\n")
        os.chmod(os.path.join(d, name), mode)
    code = ("import os, sys\n"
            "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            "for n in sys.argv[1:]:\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        try: os.execv(n, [n])\n"
            "        except OSError as e: print(n, e.errno, flush=True); os._exit(1)\n"
            "    os.waitpid(pid, 0)\n")
    p = litebox("run", "-p", os.path.join(d, "p.policy"), "--", "/usr/bin/python3", "-c", code,
                "./private.sh", "./public.sh", cwd=d)
    eq(p.stdout.split("\n")[:2], ["./private.sh 13", "./public.sh 13"], p.stderr)
    denied = [l for l in p.stderr.splitlines() if "denied exec" in l]
    eq(len(denied), 1, "one refusal, for the script nobody may execute: " + p.stderr)
    assert f"denied exec {d}/interp" in denied[0], p.stderr


@test
def truncate_opens_no_fifo_or_device():
    d = workdir()
    os.mkfifo(os.path.join(d, "fifo"))
    os.mkdir(os.path.join(d, "dir"))
    code = ("import os\n"
            "def t(name, fn):\n"
            "    try:\n"
            "        fn(); print(name, 'done')\n"
            "    except OSError as e: print(name, e.errno)\n"
            "t('fifo', lambda: os.truncate('fifo', 0))\n"
            "t('dir', lambda: os.truncate('dir', 0))\n"
            "t('file', lambda: os.truncate('ok', 1))\n")
    nat = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, cwd=d)
    eq(nat.stdout.split(), ["fifo", "22", "dir", "21", "file", "done"], "native control")
    with open(os.path.join(d, "ok"), "w") as f:
        f.write("OK\n")
    p = py(d, code)
    eq(p.stdout, nat.stdout, "as natively: " + p.stderr)
    eq(open(os.path.join(d, "ok")).read(), "O", "the regular file was truncated on the host")


if __name__ == "__main__":
    lbtest.run()
