#!/usr/bin/env python3
"""--overlay DIR, --dry-run and `litebox overlay diff|apply`: real tools
(make, git, pip install into a venv, rm -rf, sed -i, mv) run over an overlay; each leaves the host
byte for byte as it was, `overlay diff` lists exactly what the same job
changes when run natively, and `overlay apply` then gives the tree the
native run gives. As root, and as an unprivileged user (nobody) when the
tests run as root."""
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import eq, litebox, run, skip, test, tmpdir  # noqa: E402

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
           "GIT_CONFIG_NOSYSTEM": "1"}
# Files whose bytes record where and when they were written (git's index
# holds the worktree's inode numbers and times): compared by presence only.
BYTES_DIFFER = {".git/index"}


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def snapshot(root):
    """relative path -> (type, permission bits, sha256 of the bytes or the
    link's target) for everything under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                h = "link:" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            else:
                h = ""
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), h, user_xattrs(p))
    return out


def user_xattrs(p):
    """The user.* extended attributes of p (sorted name, value pairs)."""
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return ()
    return tuple(sorted((n, os.getxattr(p, n, follow_symlinks=False)) for n in names
                        if n.startswith("user.")))


def changes(before, after):
    """What a native run changed, as `overlay diff` names it."""
    out = set()
    for rel in before.keys() | after.keys():
        b, a = before.get(rel), after.get(rel)
        if b == a:
            continue
        if a is None:
            out.add(("deleted", rel))
        elif b is None:
            out.add(("added", rel))
        elif b[0] != a[0]:
            out |= {("deleted", rel), ("added", rel)}
        else:
            if b[2] != a[2]:
                out.add(("modified", rel))
            if b[1] != a[1]:
                out.add(("mode", rel))
            if b[3] != a[3]:
                out.add(("xattrs", rel))
    return out


def same_tree(a, b):
    """Two snapshots alike, but for the bytes of BYTES_DIFFER."""
    def strip(s):
        return {k: (v if k not in BYTES_DIFFER else v[:2] + v[3:]) for k, v in s.items()}
    eq(strip(a), strip(b), "the tree after apply and after the native run")


class As:
    """Who runs litebox: the test's own user, or nobody (from root)."""

    def __init__(self, user):
        self.user = user

    def prefix(self):
        return (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                if self.user else [])

    def litebox(self, *args, cwd=None, env=None, check=None, preexec_fn=None):
        e = dict(os.environ, **(env or {}))
        if self.user:
            e["HOME"] = e["TMPDIR"] = cwd or "/tmp"
        p = subprocess.run(self.prefix() + [lbtest.LITEBOX, *args], cwd=cwd, env=e,
                           capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL, preexec_fn=preexec_fn,
                           restore_signals=preexec_fn is None)
        if check is not None and p.returncode != check:
            raise AssertionError(f"litebox {' '.join(args)} exited {p.returncode}, expected "
                                 f"{check}\nstdout: {p.stdout[-3000:]}\nstderr: {p.stderr[-3000:]}")
        return p

    def native(self, *args, cwd=None, env=None):
        e = dict(os.environ, **(env or {}))
        if self.user:
            e["HOME"] = cwd or "/tmp"
        p = subprocess.run(self.prefix() + list(args), cwd=cwd, env=e, capture_output=True,
                           text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, f"native {args}: {p.stderr}"
        return p

    def workdir(self):
        d = tmpdir()
        os.chmod(d, 0o755)
        if self.user:
            os.chown(d, 65534, 65534)
        return d

    def own(self, d):
        if self.user:
            for dirpath, dirs, files in os.walk(d):
                for n in [dirpath] + [os.path.join(dirpath, x) for x in dirs + files]:
                    os.lchown(n, 65534, 65534)


ROOT = As(False)
NOBODY = As(True)


def need_nobody():
    if os.geteuid() != 0:
        skip("the tests run as a normal user already (the unprivileged case is covered)")
    if shutil.which("setpriv") is None:
        skip("no setpriv to run litebox as nobody")
    d = NOBODY.workdir()
    p = NOBODY.litebox("run", "-q", "--overlay", os.path.join(d, "ovl"), "-p", "permissive",
                       "--", "/bin/true", cwd=d)
    if p.returncode != 0:
        skip("litebox --overlay cannot start as nobody here: " + p.stderr.strip()[-300:])


def overlay_diff(who, ovl, base):
    """`overlay diff` as a set of (kind, path relative to base)."""
    p = who.litebox("overlay", "diff", ovl, check=0)
    out = set()
    for line in p.stdout.splitlines():
        kind, _detail, path = line.split("\t", 2)
        assert path == base or path.startswith(base + "/"), f"outside the job's tree: {line}"
        out.add((kind, os.path.relpath(path, base)))
    return out


def job(who, setup, script, env=None):
    """Run script (sh -c) natively in the tree setup() makes, then under
    --overlay in a fresh copy made at the same path (paths end up in the
    bytes: a venv's scripts, git's config); check the host, the diff, then
    that apply gives the native run's tree."""
    d = who.workdir()
    env = dict(GIT_ENV, **(env or {}))
    t = os.path.join(d, "t")
    setup(t)
    who.own(d)
    before = snapshot(t)
    who.native("sh", "-c", script, cwd=t, env=env)
    native = snapshot(t)
    expected = changes(before, native)
    assert expected, "the job changes something natively"
    shutil.rmtree(t)

    setup(t)
    who.own(d)
    host_before = snapshot(t)
    ovl = os.path.join(d, "ovl")
    who.litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c", script,
                cwd=t, env=env, check=0)
    eq(snapshot(t), host_before, "the host after the run under --overlay")
    eq(overlay_diff(who, ovl, t), expected, "overlay diff against the native run's changes")
    who.litebox("overlay", "apply", ovl, check=0)
    same_tree(snapshot(t), native)
    eq(overlay_diff(who, ovl, t), set(), "the overlay after apply")


def make_tree(t):
    write(os.path.join(t, "hello.c"),
          '#include <stdio.h>\nint main(void) { puts("built here"); return 0; }\n')
    write(os.path.join(t, "Makefile"), "hello: hello.c\n\tcc -o hello hello.c\n")


def git_tree(t):
    os.makedirs(t)
    subprocess.run(["git", "init", "-q", "-b", "main", t], check=True)
    write(os.path.join(t, "README"), "one\n")
    subprocess.run(["git", "-C", t, "add", "README"], check=True)
    subprocess.run(["git", "-C", t, "-c", "user.name=t", "-c", "user.email=t@e", "commit",
                    "-qm", "first"], check=True, env=dict(os.environ, **GIT_ENV))
    write(os.path.join(t, "README"), "two\n")
    write(os.path.join(t, "NEW"), "new\n")


def tree_to_remove(t):
    for i in range(3):
        write(os.path.join(t, "keep", f"k{i}"), f"keep {i}\n")
        write(os.path.join(t, "gone", f"sub{i}", "f"), f"f {i}\n")
    os.symlink("sub0/f", os.path.join(t, "gone", "link"))


def text_tree(t):
    write(os.path.join(t, "conf", "app.ini"), "[main]\nlevel = 1\nname = x\n")
    write(os.path.join(t, "conf", "other"), "untouched\n")


def mv_tree(t):
    write(os.path.join(t, "a", "file"), "moving\n")
    write(os.path.join(t, "a", "dir", "inner"), "inner\n")
    os.makedirs(os.path.join(t, "b"))


def build_wheel(d):
    """A pure-Python wheel with a console script, built by hand (a wheel is
    a zip with its metadata), so that pip installs it offline."""
    import base64
    import zipfile
    files = {
        "lbhello/__init__.py": "def main():\n    print('hello from the wheel')\n",
        "lbhello-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: lbhello\n"
                                          "Version: 1.0\n",
        "lbhello-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: litebox-test\n"
                                       "Root-Is-Purelib: true\nTag: py3-none-any\n",
        "lbhello-1.0.dist-info/entry_points.txt": "[console_scripts]\nlbhello = lbhello:main\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
        record.append(f"{name},sha256={digest.decode().rstrip('=')},{len(text)}")
    record.append("lbhello-1.0.dist-info/RECORD,,")
    files["lbhello-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = os.path.join(d, "lbhello-1.0-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    os.chmod(d, 0o755)
    os.chmod(path, 0o644)
    return path


def user_python(who, modules="os"):
    """A python3 the user can run, with these modules."""
    for py in (shutil.which("python3"), "/usr/bin/python3", sys.executable):
        # through sh: setpriv finds the program before it drops to the user
        if py and subprocess.run(who.prefix() + ["sh", "-c", f'"$0" -c "import {modules}"', py],
                                 cwd="/", capture_output=True).returncode == 0:
            return py
    skip(f"no python3 with {modules} for this user")


def venv_python(who):
    """A python3 the user can run that makes venvs and has pip."""
    return user_python(who, "venv, pip")


def pip_job(who):
    py = venv_python(who)
    wheel = build_wheel(tmpdir())
    # SOURCE_DATE_EPOCH: pip writes hash-checked .pyc files, whose bytes do
    # not hold the time of the run (the native and the overlay run differ)
    env = {"SOURCE_DATE_EPOCH": "1767225600", "PIP_NO_CACHE_DIR": "1",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    # the venv sees the system's pip (--system-site-packages): a venv of its
    # own pip (ensurepip) installs thousands of files, minutes under ptrace
    job(who, lambda t: os.makedirs(t),
        f"{py} -m venv --without-pip --system-site-packages v && "
        f"v/bin/python -m pip install -q --no-index {wheel} && "
        "v/bin/lbhello > ran.txt && grep -q 'hello from the wheel' ran.txt", env=env)


# umask 022 first: under the ptrace platform a shell that ran a child
# creates its next files with umask 0 (a bug of that platform, not of the
# overlay: the same happens without --overlay).
MAKE = "umask 022; make -s && ./hello > ran.txt"
GIT = "git add -A && git commit -qm second"
RM = "rm -rf gone"
SED = "sed -i 's/level = 1/level = 2/' conf/app.ini && chmod 600 conf/other"
MV = "mv a/file b/ && mv a/dir b/dir"


def need(tool):
    if shutil.which(tool) is None:
        skip(f"no {tool} on this machine")


@test
def make_builds_and_runs_a_binary_over_the_overlay():
    need("make")
    need("cc")
    job(ROOT, make_tree, MAKE)


@test
def git_commit_over_the_overlay():
    need("git")
    job(ROOT, git_tree, GIT)


@test
def rm_rf_of_a_tree_over_the_overlay():
    job(ROOT, tree_to_remove, RM)


@test
def sed_i_and_chmod_over_the_overlay():
    job(ROOT, text_tree, SED)


@test
def mv_across_directories_over_the_overlay():
    job(ROOT, mv_tree, MV)


@test
def as_nobody_make_sed_mv_and_rm_rf():
    need_nobody()
    need("make")
    need("cc")
    job(NOBODY, make_tree, MAKE)
    job(NOBODY, text_tree, SED)
    job(NOBODY, mv_tree, MV)
    job(NOBODY, tree_to_remove, RM)


@test
def as_nobody_git_commit():
    need_nobody()
    need("git")
    if subprocess.run(NOBODY.prefix() + ["sh", "-c", ": <> /dev/null"],
                      stderr=subprocess.DEVNULL).returncode != 0:
        skip("nobody cannot open /dev/null on this machine (its mode was changed), which "
             "git needs natively")
    job(NOBODY, git_tree, GIT)


@test
def pip_install_into_a_venv_over_the_overlay():
    pip_job(ROOT)


@test
def as_nobody_pip_install_into_a_venv():
    need_nobody()
    pip_job(NOBODY)


@test
def every_kind_of_change_is_listed_and_applied():
    d = ROOT.workdir()
    t = os.path.join(d, "t")
    for name, text in (("f", "12345\n"), ("g", "g\n"), ("h", "h\n")):
        write(os.path.join(t, name), text)
    os.makedirs(os.path.join(t, "sub"))
    os.makedirs(os.path.join(t, "empty"))
    ovl = os.path.join(d, "ovl")
    owner = "chown 1000:1000 h;" if os.geteuid() == 0 else ""
    before = snapshot(t)
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
            f"ln g g.link; ln -s f f.sym; {owner} touch -d 2020-01-01T00:00:00Z g; "
            "truncate -s 2 f; rmdir empty; chmod 700 sub; mkfifo fifo", cwd=t, check=0)
    eq(snapshot(t), before, "the host after the run")
    lines = litebox("overlay", "diff", ovl, check=0).stdout.splitlines()
    expected = [f"deleted\tdir\t{t}/empty", f"modified\tfile\t{t}/f",
                f"added\tsymlink\t{t}/f.sym", f"added\tfifo\t{t}/fifo",
                f"times\t-\t{t}/g", f"added\tfile\t{t}/g.link",
                f"mode\t0755>0700\t{t}/sub"]
    if owner:
        expected.insert(6, f"owner\t0:0>1000:1000\t{t}/h")
    eq(lines, expected, "overlay diff")
    litebox("overlay", "apply", ovl, check=0)
    eq(open(os.path.join(t, "f")).read(), "12", "truncated")
    eq(os.stat(os.path.join(t, "g.link")).st_ino, os.stat(os.path.join(t, "g")).st_ino,
       "the hard link")
    eq(os.readlink(os.path.join(t, "f.sym")), "f", "symlink")
    assert stat.S_ISFIFO(os.lstat(os.path.join(t, "fifo")).st_mode)
    eq(int(os.stat(os.path.join(t, "g")).st_mtime), 1577836800, "utimes")
    eq(stat.S_IMODE(os.stat(os.path.join(t, "sub")).st_mode), 0o700, "chmod")
    assert not os.path.exists(os.path.join(t, "empty"))
    if owner:
        eq(os.stat(os.path.join(t, "h")).st_uid, 1000, "chown")


@test
def the_program_sees_its_changes_and_a_second_run_sees_the_first():
    d = ROOT.workdir()
    write(os.path.join(d, "old"), "old\n")
    ovl = os.path.join(d, "ovl")
    p = litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
                "echo first > made && rm old && ls && cat made", cwd=d, check=0)
    eq(p.stdout, "made\novl\nfirst\n", "the program's own view")
    assert not os.path.exists(os.path.join(d, "made")), "the host got the new file"
    eq(open(os.path.join(d, "old")).read(), "old\n", "the host lost the removed file")
    # a positive control: the same job without --overlay changes the host
    p = litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
                "cat made; ls old 2>&1; echo second >> made", cwd=d, check=None)
    assert p.stdout.startswith("first\n"), p.stdout + p.stderr
    assert "No such file" in p.stdout, p.stdout
    eq(open(os.path.join(d, "old")).read(), "old\n", "the host after the second run")
    # a program the first run made, run by the second as PROGRAM itself
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
            "printf '#!/bin/sh\\necho built-in-the-overlay\\n' > tool && chmod +x tool",
            cwd=d, check=0)
    assert not os.path.exists(os.path.join(d, "tool"))
    p = litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "./tool", cwd=d, check=0)
    eq(p.stdout, "built-in-the-overlay\n", "the second run runs what the first built")
    kinds = overlay_diff(ROOT, ovl, d)
    eq(kinds, {("added", "made"), ("deleted", "old"), ("added", "tool")}, "the runs' changes")
    litebox("run", "-q", "-p", "permissive", "--", "sh", "-c", "echo native > native", cwd=d,
            check=0)
    assert os.path.exists(os.path.join(d, "native")), "without --overlay the host changes"


@test
def a_host_unix_socket_under_an_overlaid_directory_still_answers():
    import socket
    import threading
    d = ROOT.workdir()
    path = os.path.join(d, "agent.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)

    def serve():
        c, _ = srv.accept()
        c.sendall(b"from-the-host")
        c.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    p = litebox("run", "-q", "--overlay", os.path.join(d, "ovl"), "-p", "permissive", "--",
                sys.executable, "-c",
                "import socket; s = socket.socket(socket.AF_UNIX); "
                f"s.connect({path!r}); print(s.recv(64).decode())", cwd=d)
    srv.close()
    eq(p.stdout.strip(), "from-the-host", p.stderr)


@test
def the_overlay_directory_is_out_of_the_programs_reach():
    d = ROOT.workdir()
    ovl = os.path.join(d, "ovl")
    p = litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
                f"ls -A {ovl}; echo x > {ovl}/manifest; cat {ovl}/manifest; echo end", cwd=d)
    eq(p.stdout.strip().splitlines()[-1], "end", p.stderr)
    assert "litebox-overlay" not in p.stdout, p.stdout
    assert open(os.path.join(ovl, "manifest")).read().startswith("litebox-overlay 1\n")


def dir_hidden_at_a_second_mount(who):
    # The host shows the directory holding DIR a second time (a bind
    # mount): DIR is hidden there too, the rest of that mount is not.
    d = who.workdir()
    write(os.path.join(d, "marker"), "seen\n")
    ovl = os.path.join(d, "ovl")
    who.litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "true", cwd=d,
                check=0)
    who.own(d)
    alias = tmpdir()
    os.chmod(alias, 0o755)
    subprocess.run(["mount", "--bind", d, alias], check=True)
    try:
        p = who.litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
                        f"cat {alias}/marker; ls -A {alias}/ovl; cat {alias}/ovl/manifest; "
                        f"echo x > {alias}/ovl/manifest; echo end", cwd=d)
    finally:
        subprocess.run(["umount", alias], check=True)
    lines = p.stdout.splitlines()
    eq(lines[0], "seen", "control: the second mount shows the directory\n" + p.stderr)
    eq(lines[-1], "end", p.stderr)
    assert "litebox-overlay" not in p.stdout, p.stdout
    eq(len(lines), 2, "DIR's entries through the second mount: " + p.stdout)
    assert open(os.path.join(ovl, "manifest")).read().startswith("litebox-overlay 1\n")


@test
def the_overlay_directory_is_hidden_at_a_second_mount_too():
    if os.geteuid() != 0:
        skip("a bind mount on the host needs root")
    dir_hidden_at_a_second_mount(ROOT)


@test
def as_nobody_the_overlay_directory_is_hidden_at_a_second_mount_too():
    need_nobody()
    dir_hidden_at_a_second_mount(NOBODY)


@test
def as_nobody_an_overlaid_directory_keeps_the_hosts_owner_rules():
    # Without root the user owns each overlay's root (/usr here): chmod,
    # chown and explicit times of it answer EPERM as on the host, so the
    # program cannot open /usr to itself and write there.
    need_nobody()
    st = os.stat("/usr")
    if st.st_uid == 65534:
        skip("/usr is nobody's here")
    d = NOBODY.workdir()
    mode = f"{stat.S_IMODE(st.st_mode):o}"
    script = (f"chmod {mode} /usr; echo chmod=$?; chown 65534 /usr; echo chown=$?; "
              "touch -d 2000-01-01 /usr; echo touch=$?; chmod 777 /usr; "
              "touch /usr/litebox-f10; echo create=$?; "
              "mkdir mine && chmod 700 mine && touch -d 2000-01-01 mine; echo mine=$?")
    native = NOBODY.native("sh", "-c", script + "; rmdir mine", cwd=d).stdout
    assert "chmod=1" in native and "create=1" in native and "mine=0" in native, native
    ovl = os.path.join(d, "ovl")
    p = NOBODY.litebox("run", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c", script,
                       cwd=d)
    eq(p.stdout, native, "the same answers as on the host\n" + p.stderr)
    assert "denied write /usr" in p.stderr, p.stderr
    eq(overlay_diff(NOBODY, ovl, d), {("added", "mine")}, "the overlay's changes")


def granted_write_outside_the_overlay(who):
    # A separate tmpfs under /run the policy lets the program write: with
    # --overlay such a write reaches the host (documented), with --dry-run
    # it is refused; /dev/null and a pipe still take writes.
    if os.geteuid() != 0:
        skip("mounting a tmpfs under /run needs root")
    run_dir = tempfile.mkdtemp(prefix="litebox-test-", dir="/run")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=1777,size=1m", "tmpfs", run_dir],
                   check=True)
    d = who.workdir()
    script = (f"echo run > {run_dir}/f; echo $?; echo null > /dev/null && echo null-ok; "
              "echo piped | cat; ls /proc/self/fd > /dev/null && echo proc-ok")
    try:
        p = who.litebox("run", "--dry-run", "--allow-write", run_dir, "--", "sh", "-c", script,
                        cwd=d)
        eq(p.returncode, 0, p.stderr)
        eq(os.listdir(run_dir), [], "the host's /run after --dry-run")
        assert f"denied write {run_dir}/f" in p.stderr, p.stderr
        out = p.stdout.splitlines()
        assert out[0] != "0" and "null-ok" in out and "piped" in out, p.stdout
        # the control: the same grant with --overlay reaches the host
        who.litebox("run", "-q", "--overlay", os.path.join(d, "ovl"), "-p", "permissive",
                    "--", "sh", "-c", script, cwd=d, check=0)
        eq(os.listdir(run_dir), ["f"], "a granted write under --overlay")
    finally:
        subprocess.run(["umount", run_dir], check=True)
        os.rmdir(run_dir)


@test
def dry_run_refuses_a_granted_write_that_would_reach_the_host():
    granted_write_outside_the_overlay(ROOT)


@test
def as_nobody_dry_run_refuses_a_granted_write_that_would_reach_the_host():
    need_nobody()
    granted_write_outside_the_overlay(NOBODY)


@test
def apply_refuses_a_host_that_changed_and_changes_nothing():
    d = ROOT.workdir()
    write(os.path.join(d, "f"), "host\n")
    write(os.path.join(d, "g"), "g\n")
    ovl = os.path.join(d, "ovl")
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
            "echo run > f; echo new > h; rm g", cwd=d, check=0)
    write(os.path.join(d, "f"), "changed on the host meanwhile\n")
    before = snapshot(d)
    p = litebox("overlay", "apply", ovl)
    eq(p.returncode, 1, p.stderr)
    assert "changed since the run" in p.stderr and os.path.join(d, "f") in p.stderr, p.stderr
    eq(snapshot(d), before, "the host after a refused apply")
    # the control: put the host back as the run saw it... a new run, then apply works
    ovl2 = os.path.join(d, "ovl2")
    litebox("run", "-q", "--overlay", ovl2, "-p", "permissive", "--", "sh", "-c",
            "echo run > f", cwd=d, check=0)
    litebox("overlay", "apply", ovl2, check=0)
    eq(open(os.path.join(d, "f")).read(), "run\n", "apply of an unchanged host")


def xattr_job(who):
    """A job that adds, replaces, deletes and chmods, and sets user.*
    extended attributes on new, changed and kept objects."""
    py = user_python(who)
    setx = f"{py} -c 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())'"
    return ("echo a2 > a.txt && echo new > b.txt && rm -rf zz && chmod 700 keep && "
            "mkdir -p newdir/sub && echo n > newdir/sub/f && ln -s ../b.txt newdir/l && "
            "head -c 300000 /dev/zero > big && "
            f"{setx} b.txt user.tag made && {setx} newdir user.tag dir && "
            f"{setx} a.txt user.tag changed && {setx} keep/k user.set 1")


def xattr_tree(t):
    write(os.path.join(t, "a.txt"), "a1\n")
    os.setxattr(os.path.join(t, "a.txt"), "user.kept", b"host")
    write(os.path.join(t, "keep", "k"), "k\n")
    for i in range(3):
        write(os.path.join(t, "zz", f"d{i}", "f"), f"{i}\n")


def leftovers(t):
    return [os.path.join(dp, n) for dp, ds, fs in os.walk(t) for n in ds + fs
            if n.startswith(".litebox-apply")]


def apply_all_or_nothing(who):
    """A change that fails half-way leaves the host as it was, and the
    overlay ready for the next apply: a file larger than the apply's file
    size limit (RLIMIT_FSIZE: EFBIG while staging, after every other
    change was staged)."""
    import resource
    import signal
    d = who.workdir()
    t = os.path.join(d, "t")
    xattr_tree(t)
    who.own(d)
    try:
        os.setxattr(t, "user.probe", b"1")
        os.removexattr(t, "user.probe")
    except OSError as e:
        skip(f"no user.* extended attributes on this filesystem: {e}")
    ovl = os.path.join(d, "ovl")
    who.litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
                xattr_job(who), cwd=t, check=0)
    before = snapshot(t)
    listed = overlay_diff(who, ovl, t)
    assert ("xattrs", "a.txt") in listed or ("modified", "a.txt") in listed, listed

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100000, 100000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    p = who.litebox("overlay", "apply", ovl, preexec_fn=small_files)
    eq(p.returncode, 1, p.stderr)
    assert "nothing applied" in p.stderr and "File too large" in p.stderr, p.stderr
    eq(snapshot(t), before, "the host after an apply that failed half-way")
    eq(leftovers(t), [], "temporaries left behind")
    eq(overlay_diff(who, ovl, t), listed, "the overlay after a failed apply")
    # the control: without the limit the same overlay applies
    who.litebox("overlay", "apply", ovl, check=0)
    check_applied(t)


def check_applied(t):
    def x(p):
        return dict(user_xattrs(os.path.join(t, p)))
    eq(open(os.path.join(t, "a.txt")).read(), "a2\n", "a.txt")
    eq(x("a.txt"), {"user.kept": b"host", "user.tag": b"changed"}, "a.txt's xattrs")
    eq(x("b.txt"), {"user.tag": b"made"}, "an added file's xattrs")
    eq(x("newdir"), {"user.tag": b"dir"}, "an added directory's xattrs")
    eq(x("keep/k"), {"user.set": b"1"}, "xattrs set on a file kept in place")
    eq(os.readlink(os.path.join(t, "newdir", "l")), "../b.txt", "the new symlink")
    eq(stat.S_IMODE(os.stat(os.path.join(t, "keep")).st_mode), 0o700, "chmod")
    eq(os.path.getsize(os.path.join(t, "big")), 300000, "the big file")
    assert not os.path.exists(os.path.join(t, "zz")), "rm -rf"
    eq(leftovers(t), [], "temporaries left behind")


@test
def apply_is_all_or_nothing_and_keeps_xattrs():
    apply_all_or_nothing(ROOT)


@test
def as_nobody_apply_is_all_or_nothing_and_keeps_xattrs():
    need_nobody()
    apply_all_or_nothing(NOBODY)


def rename_fails_half_way(who):
    # The host's directory zz is a mount point by apply's time (bound on
    # itself by root: lstat sees the same object, so no conflict is found
    # up front), so renaming it aside fails with EBUSY after a.txt, b.txt
    # and newdir were put in place: each is taken back.
    if os.geteuid() != 0:
        skip("binding a directory on itself needs root")
    d = who.workdir()
    t = os.path.join(d, "t")
    xattr_tree(t)
    who.own(d)
    ovl = os.path.join(d, "ovl")
    who.litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
                xattr_job(who), cwd=t, check=0)
    before = snapshot(t)
    zz = os.path.join(t, "zz")
    subprocess.run(["mount", "--bind", zz, zz], check=True)
    try:
        p = who.litebox("overlay", "apply", ovl)
        eq(p.returncode, 1, p.stderr)
        assert f"cannot change {zz}" in p.stderr and "busy" in p.stderr, p.stderr
        eq(snapshot(t), before, "the host after apply failed at its last rename")
        eq(leftovers(t), [], "temporaries left behind")
    finally:
        subprocess.run(["umount", zz], check=True)
    who.litebox("overlay", "apply", ovl, check=0)
    check_applied(t)


@test
def a_rename_that_fails_half_way_through_apply_is_undone():
    rename_fails_half_way(ROOT)


@test
def as_nobody_a_rename_that_fails_half_way_through_apply_is_undone():
    need_nobody()
    rename_fails_half_way(NOBODY)


@test
def a_change_deeper_than_path_max_is_never_left_out_silently():
    # A host tree deeper than PATH_MAX, changed at its bottom: diff and
    # apply cannot name that file, so they fail and say why (apply used to
    # apply the rest and empty DIR, losing the change); DIR keeps it.
    d = ROOT.workdir()
    comp = "d" * 200
    fd = os.open(d, os.O_RDONLY)
    for _ in range(22):  # 22 × 201 bytes: beyond 4096
        os.mkdir(comp, dir_fd=fd)
        nfd = os.open(comp, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    with open(os.open("deep", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
        f.write("host\n")
    os.close(fd)
    write(os.path.join(d, "shallow"), "host\n")
    ovl = os.path.join(d, "ovl")
    cds = "; ".join([f"cd {comp}"] * 22)
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
            f"echo run > shallow; ({cds}; echo run > deep)", cwd=d)
    p = litebox("overlay", "diff", ovl)
    eq(p.returncode, 125, p.stdout + p.stderr)
    assert "File name too long" in p.stderr, p.stderr
    p = litebox("overlay", "apply", ovl)
    # apply reaches DIR through its descriptor (/proc/self/fd/N, shorter
    # than DIR's name): it may read the layer the run's record could not,
    # and then refuses a path the record lacks
    assert p.returncode != 0 and ("File name too long" in p.stderr or
                                  "no record of it at the run" in p.stderr), p.stderr
    eq(open(os.path.join(d, "shallow")).read(), "host\n", "nothing applied")
    assert os.listdir(os.path.join(ovl, "layers")), "DIR keeps the changes"
    # the control: the shallow change alone diffs and applies
    ovl2 = os.path.join(d, "ovl2")
    litebox("run", "-q", "--overlay", ovl2, "-p", "permissive", "--", "sh", "-c",
            "echo run > shallow", cwd=d, check=0)
    litebox("overlay", "apply", ovl2, check=0)
    eq(open(os.path.join(d, "shallow")).read(), "run\n", "the control applied")
    subprocess.run(["rm", "-rf", os.path.join(d, comp)], check=True)


@test
def overlay_diff_patch_shows_text_differences():
    need("diff")
    d = ROOT.workdir()
    write(os.path.join(d, "t.txt"), "a\nb\n")
    ovl = os.path.join(d, "ovl")
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
            "printf 'a\\nc\\n' > t.txt", cwd=d, check=0)
    p = litebox("overlay", "diff", ovl, "--patch", check=0)
    assert f"--- a{d}/t.txt" in p.stdout and "-b\n+c\n" in p.stdout, p.stdout


@test
def patch_of_added_and_deleted_files_applies_with_patch_and_apply_says_so():
    # An added file's "from" side was labelled a/PATH: patch -p1 left a
    # deleted file behind, empty (new-user trial). And apply said nothing.
    need("diff")
    need("patch")
    d = ROOT.workdir()
    write(os.path.join(d, "gone.txt"), "old\n")
    ovl = os.path.join(d, "ovl")
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
            "rm gone.txt; echo new > added.txt", cwd=d, check=0)
    p = litebox("overlay", "diff", ovl, "--patch", check=0)
    assert f"--- /dev/null\n+++ b{d}/added.txt" in p.stdout, p.stdout
    assert f"--- a{d}/gone.txt\n+++ /dev/null" in p.stdout, p.stdout
    copy = ROOT.workdir()
    rel = os.path.relpath(d, "/")
    shutil.copytree(d, os.path.join(copy, rel), ignore=shutil.ignore_patterns("ovl"))
    r = subprocess.run(["patch", "-p1", "-s"], input=p.stdout, cwd=copy, capture_output=True,
                       text=True)
    eq(r.returncode, 0, r.stdout + r.stderr)
    assert not os.path.exists(os.path.join(copy, rel, "gone.txt")), "patch removed it"
    eq(open(os.path.join(copy, rel, "added.txt")).read(), "new\n", "patch created it")
    p = litebox("overlay", "apply", ovl, check=0)
    assert "applied 2 changes to the host" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(d, "gone.txt")), "control: apply removed it"
    p = litebox("overlay", "apply", ovl, check=0)
    assert "nothing to apply" in p.stderr, p.stderr


@test
def dry_run_reports_what_would_be_refused_and_changed():
    d = ROOT.workdir()
    tmp = os.path.join(d, "tmp")
    os.makedirs(tmp)
    write(os.path.join(d, "f"), "host\n")
    before = snapshot(d)
    p = litebox("run", "--dry-run", "--", "sh", "-c", "echo run > f; echo new > g", cwd=d,
                env=dict(os.environ, TMPDIR=tmp))
    eq(p.returncode, 0, p.stderr)
    eq(snapshot(d), before, "the host after --dry-run")
    assert f"would change: modified\tfile\t{d}/f" in p.stderr, p.stderr
    assert f"would change: added\tfile\t{d}/g" in p.stderr, p.stderr
    assert "would have been refused" in p.stderr, p.stderr  # default: no writes here
    eq(os.listdir(tmp), [], "the throwaway overlay is removed")


@test
def learn_over_a_dry_run_lets_writes_run_in_the_overlay_and_learns_them():
    d = ROOT.workdir()
    name = "/etc/litebox-overlay-learned-" + os.path.basename(d)
    out = os.path.join(d, "learned.policy")
    p = litebox("learn", "--dry-run", "-o", out, "--", "sh", "-c",
                f"echo written > {name} && cat {name}", cwd=d,
                env=dict(os.environ, TMPDIR=d))
    eq(p.returncode, 0, p.stderr)
    eq(p.stdout, "written\n", "the program read its own write")
    assert not os.path.exists(name), "learning wrote on the host"
    assert f"allow write   {name}" in open(out).read(), open(out).read()
    # the control: without an overlay, learning refuses that write
    p = litebox("learn", "-o", out, "--", "sh", "-c", f"echo written > {name}", cwd=d)
    assert "denied write " + name in p.stderr, p.stderr
    assert not os.path.exists(name)


@test
def an_overlay_that_cannot_be_made_refuses_to_start():
    d = ROOT.workdir()
    write(os.path.join(d, "notovl", "x"), "x\n")
    p = litebox("run", "--overlay", os.path.join(d, "notovl"), "-p", "permissive", "--", "sh",
                "-c", "echo ran > ran", cwd=d)
    eq(p.returncode, 125, p.stderr)
    assert "not an overlay directory" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(d, "ran")), "it ran without the overlay"
    p = litebox("run", "--overlay", "/proc/self/nope", "-p", "permissive", "--", "sh", "-c",
                "echo ran > ran", cwd=d)
    eq(p.returncode, 125, p.stderr)
    assert not os.path.exists(os.path.join(d, "ran")), "it ran without the overlay"



@test
def dry_run_into_a_named_overlay_keeps_it_for_diff_and_apply():
    # The documented way to keep a dry run's changes used plain --audit,
    # which drops the dry run's refusals (new-user review N9): --dry-run
    # --overlay DIR keeps both.
    d = tmpdir()
    os.chmod(d, 0o755)
    f = os.path.join(d, "f")
    write(f, "old\n")
    ovl = os.path.join(tmpdir(), "kept.ovl")
    p = litebox("run", "--dry-run", "--overlay", ovl, "--", "/bin/sh", "-c",
                "echo new > f; echo x > /proc/sys/kernel/printk_ratelimit", cwd=d)
    eq(open(f).read(), "old\n", f"the host file after the dry run ({p.stderr})")
    eq("1 change to files would have been made" in p.stderr, True, p.stderr)
    eq("denied write /proc/sys/kernel/printk_ratelimit" in p.stderr, True,
       f"the dry run's refusals hold: {p.stderr}")
    diff = litebox("overlay", "diff", ovl, check=0).stdout
    eq(diff, f"modified\tfile\t{f}\n", diff)
    litebox("overlay", "apply", ovl, check=0)
    eq(open(f).read(), "new\n", "applied")


@test
def dry_run_lets_changes_through_a_descriptor_land_in_the_overlay():
    # fchown/fchmod/futimens/fsetxattr on a file in the overlay were taken
    # for writes that reach the host: sed -i and touch failed under
    # --dry-run (new-user review N34). Control: the host is unchanged.
    d = tmpdir()
    os.chmod(d, 0o755)
    f = os.path.join(d, "c.ini")
    write(f, "v=1\n")
    p = litebox("run", "--dry-run", "--", "/bin/sh", "-c",
                "sed -i s/v=1/v=2/ c.ini && touch newf && chmod 600 newf && cat c.ini && echo ok",
                cwd=d)
    eq((p.returncode, p.stdout), (0, "v=2\nok\n"), p.stderr)
    eq("denied" in p.stderr, False, p.stderr)
    eq(open(f).read(), "v=1\n", "the host file")
    eq(os.path.exists(os.path.join(d, "newf")), False, "no new file on the host")
    eq("mode" in p.stderr, False, f"no invented mode change: {p.stderr}")

if __name__ == "__main__":
    run()
