#!/usr/bin/env python3
"""Ordinary programs under `litebox run`, compared with native runs of the
same commands: output, exit status and what they leave on the host."""
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

HERE = os.path.dirname(os.path.abspath(__file__))
PROGS = os.path.join(HERE, "progs")
# A system python: the default profile lets the program exec what the
# system installed, not a per-user interpreter under $HOME.
PY = next((p for p in ("/usr/bin/python3", "/bin/python3") if os.access(p, os.X_OK)), None)
_DIRS = []


def tmp():
    d = lbtest.tmpdir()
    _DIRS.append(d)
    return d


def need(tool):
    if not shutil.which(tool):
        lbtest.skip(f"{tool} is not installed")


def cc(src, out, *flags):
    need("cc")
    subprocess.run(["cc", "-O1", *flags, "-o", out, src], check=True)
    return out


def lb(*args, **kw):
    kw.setdefault("timeout", 60)
    return litebox("run", "-q", "--", *args, **kw)


def same(args, cwd=None, input=None, env=None, what=None):
    """Run args natively and under litebox; compare stdout and status."""
    d = cwd or tmp()
    n = lbtest.native(*args, cwd=d, input=input, env=env, timeout=60)
    p = lb(*args, cwd=d, input=input, env=env)
    want = n.returncode if n.returncode >= 0 else 128 - n.returncode
    eq(p.stdout, n.stdout, f"stdout of {what or args}")
    eq(p.returncode, want, f"exit status of {what or args} (stderr: {p.stderr[-500:]!r})")
    return p


@test
def sh_pipelines_match_native():
    need("sh")
    for script in (
        "printf 'pear\\napple\\nfig\\nbanana\\n' | sort | tr a-z A-Z | head -3",
        "seq 1 2000 | awk '{s += $1} END {print s}' | sed 's/^/sum=/'",
        "ls -1 /usr/bin | sort | head -20 | wc -l; echo done; exit 5",
        "echo one two three | while read a b c; do echo \"$c $b $a\"; done | cat -n",
        "false | true; echo pipe=$?; (exit 4) ; echo sub=$?; cat /etc/hostname | wc -c",
        "x=$(printf '%s\\n' a b c | grep -c .); test $x -eq 3 && exit 9",
    ):
        same(["sh", "-c", script])


@test
def python_computes_and_writes_a_file():
    if not PY:
        lbtest.skip("no system python3 in /usr/bin")
    d = tmp()
    code = ("import hashlib, sys, json\n"
            "h = hashlib.sha256()\n"
            "for i in range(20000): h.update(str(i * i).encode())\n"
            "out = {'digest': h.hexdigest(), 'primes': [n for n in range(2, 200) "
            "if all(n % k for k in range(2, n))]}\n"
            "open(sys.argv[1], 'w').write(json.dumps(out, sort_keys=True))\n"
            "print(out['digest'])\n")
    native_out = os.path.join(d, "native.json")
    lb_out = os.path.join(d, "lb.json")
    n = lbtest.native(PY, "-c", code, native_out, cwd=d)
    eq(n.returncode, 0, "native run")
    p = lb(PY, "-c", code, lb_out, cwd=d)
    eq(p.returncode, 0, f"litebox run (stderr: {p.stderr[-800:]!r})")
    eq(p.stdout, n.stdout, "stdout")
    assert os.path.isfile(lb_out), "the file written under litebox is not on the host"
    with open(native_out) as a, open(lb_out) as b:
        eq(b.read(), a.read(), "file written under litebox vs natively")


@test
def gcc_compiles_a_working_binary():
    need("gcc")
    d = tmp()
    shutil.copy(os.path.join(PROGS, "hello.c"), d)
    n = lbtest.native("gcc", "-O2", "-Wall", "-o", "hello_native", "hello.c", cwd=d)
    eq(n.returncode, 0, f"native gcc: {n.stderr}")
    p = lb("gcc", "-O2", "-Wall", "-o", "hello_lb", "hello.c", cwd=d)
    eq(p.returncode, 0, f"gcc under litebox (stderr: {p.stderr[-1500:]!r})")
    built = os.path.join(d, "hello_lb")
    assert os.path.isfile(built) and os.access(built, os.X_OK), "no executable produced"
    a = lbtest.native(os.path.join(d, "hello_native"), "x", "y")
    b = lbtest.native(built, "x", "y")
    eq(b.returncode, a.returncode, "status of the built program")
    eq(b.stdout, a.stdout, "output of the program built under litebox")
    assert a.stdout, "the program printed nothing"


def _gen_project(d, nfuncs=4):
    os.makedirs(d)
    with open(os.path.join(d, "util.h"), "w") as f:
        for i in range(nfuncs):
            f.write(f"long f{i}(long x);\n")
    for i in range(nfuncs):
        with open(os.path.join(d, f"f{i}.c"), "w") as f:
            f.write('#include "util.h"\n'
                    f"long f{i}(long x) {{ long s = {i + 1}; for (long k = 0; k < x; k++)"
                    f" s = (s * {31 + i} + k) % 1000003; return s; }}\n")
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write('#include <stdio.h>\n#include "util.h"\nint main(void) {\n')
        for i in range(nfuncs):
            f.write(f'  printf("f{i} %ld\\n", f{i}({1000 * (i + 1)}));\n')
        f.write("  return 0;\n}\n")
    objs = " ".join(f"f{i}.o" for i in range(nfuncs)) + " main.o"
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write(f"prog: {objs}\n\tcc -o $@ {objs}\n"
                "%.o: %.c util.h\n\tcc -O1 -c -o $@ $<\n"
                "clean:\n\trm -f prog *.o\n")


@test
def make_j2_builds_a_project():
    need("make")
    need("cc")
    root = tmp()
    nd, ld = os.path.join(root, "native"), os.path.join(root, "lb")
    _gen_project(nd)
    _gen_project(ld)
    n = lbtest.native("make", "-j2", cwd=nd)
    eq(n.returncode, 0, f"native make: {n.stderr}")
    p = lb("make", "-j2", cwd=ld)
    eq(p.returncode, 0, f"make -j2 under litebox (stderr: {p.stderr[-1500:]!r})")
    eq(sorted(p.stdout.splitlines()), sorted(n.stdout.splitlines()), "make's commands")
    eq(sorted(os.listdir(ld)), sorted(os.listdir(nd)), "files after the build")
    a = lbtest.native(os.path.join(nd, "prog"))
    b = lbtest.native(os.path.join(ld, "prog"))
    eq(b.stdout, a.stdout, "output of the program built under litebox")
    eq(b.returncode, a.returncode, "status of the built program")
    # Up to date: a second make does nothing, under litebox too.
    p2 = lb("make", "-j2", cwd=ld)
    eq(p2.returncode, 0, "second make")
    assert "up to date" in p2.stdout, p2.stdout


@test
def fifty_children_read_a_file_and_exit_distinctly():
    d = tmp()
    prog = cc(os.path.join(PROGS, "forker.c"), os.path.join(d, "forker"))
    data = os.path.join(d, "data.txt")
    with open(data, "w") as f:
        f.write("".join(f"line {i}\n" for i in range(100)))
    n = lbtest.native(prog, data, "50", cwd=d)
    eq(n.returncode, 0, f"native: {n.stdout} {n.stderr}")
    p = lb(prog, data, "50", cwd=d)
    eq(p.stdout, n.stdout, "summary of the 50 children")
    eq(p.returncode, 0, f"exit status (stderr: {p.stderr[-800:]!r})")


@test
def sixteen_threads_each_write_their_file():
    d = tmp()
    prog = cc(os.path.join(PROGS, "threads.c"), os.path.join(d, "threads"), "-pthread")
    nd, ld = os.path.join(d, "native"), os.path.join(d, "lb")
    os.mkdir(nd)
    os.mkdir(ld)
    n = lbtest.native(prog, nd, "16", cwd=d)
    eq(n.returncode, 0, f"native: {n.stdout}")
    p = lb(prog, ld, "16", cwd=d)
    eq(p.stdout, n.stdout, "threads summary")
    eq(p.returncode, 0, f"exit status (stderr: {p.stderr[-800:]!r})")
    eq(sorted(os.listdir(ld)), sorted(os.listdir(nd)), "files created")
    eq(len(os.listdir(ld)), 16, "number of files on the host")
    for name in os.listdir(nd):
        with open(os.path.join(nd, name)) as a, open(os.path.join(ld, name)) as b:
            eq(b.read(), a.read(), f"content of {name}")


@test
def exit_codes_pass_through():
    for code in (0, 1, 3, 255):
        same(["sh", "-c", f"exit {code}"])
    same(["false"])
    same(["true"])


@test
def killed_by_signal_is_128_plus_n():
    d = tmp()
    for sig in (signal.SIGSEGV, signal.SIGTERM):
        n = lbtest.native("sh", "-c", f"kill -{sig.name[3:]} $$", cwd=d)
        eq(n.returncode, -sig, f"native kill -{sig.name}")
        p = lb("sh", "-c", f"kill -{sig.name[3:]} $$", cwd=d)
        eq(p.returncode, 128 + sig, f"kill -{sig.name[3:]} $$ under litebox")
    eq(128 + signal.SIGSEGV, 139, "SIGSEGV")
    eq(128 + signal.SIGTERM, 143, "SIGTERM")


@test
def stdin_passes_through():
    text = "".join(f"row {i} {'x' * (i % 50)}\n" for i in range(5000))
    same(["wc", "-c", "-l"], input=text)
    same(["sort", "-r"], input=text)
    same(["sh", "-c", "read a; read b; echo \"$b|$a\"; cat | wc -l"], input=text)
    same(["cat"], input="")


@test
def environment_passes_through():
    env = dict(os.environ)
    env["LB_TEST_VAR"] = "va lue with spaces = and 'quotes' ünïcødé"
    env["LB_TEST_EMPTY"] = ""
    env["LB_TEST_NL"] = "line1\nline2"
    script = ('printf "%s|" "$LB_TEST_VAR" "${LB_TEST_EMPTY-unset}" "$LB_TEST_NL" '
              '"$PATH" "$HOME"')
    p = same(["sh", "-c", script], env=env)
    assert "ünïcødé" in p.stdout and "line1\nline2" in p.stdout, p.stdout


def _fails_with(args, status, cwd=None):
    d = cwd or tmp()
    p = lb(*args, cwd=d)
    eq(p.returncode, status, f"litebox run {args} (stderr {p.stderr!r})")
    assert p.stderr.startswith("litebox: "), f"stderr: {p.stderr!r}"
    return p


@test
def program_not_found_is_127():
    d = tmp()
    _fails_with(["litebox-no-such-program-4711"], 127, d)
    _fails_with([os.path.join(d, "missing")], 127, d)
    _fails_with(["./missing"], 127, d)


@test
def directory_is_126():
    d = tmp()
    os.mkdir(os.path.join(d, "sub"))
    _fails_with([os.path.join(d, "sub")], 126, d)


@test
def empty_file_is_126():
    d = tmp()
    f = os.path.join(d, "empty")
    open(f, "w").close()
    os.chmod(f, 0o755)
    _fails_with([f], 126, d)


@test
def non_executable_file_is_126():
    d = tmp()
    f = os.path.join(d, "script")
    with open(f, "w") as fh:
        fh.write("#!/bin/sh\ntouch ran\n")
    os.chmod(f, 0o644)
    try:
        ran = lbtest.native(f, cwd=d).returncode == 0
    except PermissionError:
        ran = False
    if ran:
        lbtest.skip("a non-executable file can be executed here (running as root "
                    "with a file system that ignores the mode?)")
    _fails_with([f], 126, d)
    assert not os.path.exists(os.path.join(d, "ran")), "the script ran"


@test
def shebang_script_runs():
    d = tmp()
    f = os.path.join(d, "hello.sh")
    with open(f, "w") as fh:
        fh.write('#!/bin/sh\necho "args: $# $1 $2"\necho made > "$(dirname "$0")/made"\n'
                 "exit 6\n")
    os.chmod(f, 0o755)
    same([f, "a b", "c"], cwd=d)
    os.unlink(os.path.join(d, "made"))
    p = lb(f, "x", cwd=d)
    eq(p.returncode, 6, "status")
    with open(os.path.join(d, "made")) as fh:
        eq(fh.read(), "made\n", "file created by the script")


@test
def relative_program_path_uses_cwd():
    d = tmp()
    prog = os.path.join(d, "x")
    cc(os.path.join(PROGS, "hello.c"), prog)
    same(["./x", "rel"], cwd=d)
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    same(["../x", "up"], cwd=sub)
    s = os.path.join(d, "s.sh")
    with open(s, "w") as fh:
        fh.write("#!/bin/sh\npwd\n")
    os.chmod(s, 0o755)
    same(["./s.sh"], cwd=d)


if __name__ == "__main__":
    try:
        lbtest.run()
    finally:
        for d in _DIRS:
            shutil.rmtree(d, ignore_errors=True)
