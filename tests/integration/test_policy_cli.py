#!/usr/bin/env python3
"""`litebox policy check` and `litebox policy show` on the built-in
profiles, the examples and malformed files."""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbtest import SOURCE_ROOT, eq, litebox, run, test, tmpdir  # noqa: E402

PROFILES = ["default", "strict", "permissive"]
EXAMPLES = sorted(glob.glob(os.path.join(SOURCE_ROOT, "policy", "examples", "*.policy")))
PROFILE_FILES = sorted(glob.glob(os.path.join(SOURCE_ROOT, "policy", "profiles", "*.policy")))


def write(d, name, text, mode="w"):
    path = os.path.join(d, name)
    with open(path, mode) as f:
        f.write(text)
    return path


@test
def profiles_check_clean():
    for name in PROFILES:
        p = litebox("policy", "check", name)
        eq(p.returncode, 0, f"policy check {name}: {p.stderr}")
        if "error:" in p.stderr:
            raise AssertionError(p.stderr)


@test
def profile_files_check_clean():
    assert len(PROFILE_FILES) == 3, PROFILE_FILES
    for path in PROFILE_FILES:
        p = litebox("policy", "check", path)
        eq(p.returncode, 0, f"policy check {path}: {p.stderr}")


@test
def examples_check_clean():
    assert len(EXAMPLES) >= 4, EXAMPLES
    p = litebox("policy", "check", *EXAMPLES, cwd=tmpdir())
    eq(p.returncode, 0, f"policy check examples: {p.stderr}")
    assert "error:" not in p.stderr, p.stderr


@test
def malformed_file_reports_position():
    d = tmpdir()
    path = write(d, "bad.policy", "version 1\n# fine\nallow reed /etc/**\nallow read /x\n")
    p = litebox("policy", "check", path)
    eq(p.returncode, 1, "exit status")
    assert re.search(r"^" + re.escape(path) + r":3:7: error: unknown class 'reed'", p.stderr, re.M), p.stderr
    assert "litebox: " + path + ":" not in p.stderr


@test
def every_error_reported_and_status_1():
    d = tmpdir()
    path = write(d, "bad.policy", "allow read relative\nset mode loud\nallow read $NOPE/x\n")
    p = litebox("policy", "check", path)
    eq(p.returncode, 1, "exit status")
    for pos in (":1:12: error:", ":2:10: error:", ":3:12: error:"):
        assert path + pos in p.stderr, (pos, p.stderr)


@test
def include_chain_printed():
    d = tmpdir()
    write(d, "inner.policy", "allow read /ok\nlimit time soon\n")
    top = write(d, "top.policy", "version 1\ninclude inner.policy\n")
    p = litebox("policy", "check", top)
    eq(p.returncode, 1, "exit status")
    inner = os.path.join(d, "inner.policy")
    assert f"{inner}:2:12: error:" in p.stderr, p.stderr
    assert f"\n  included from {top}:2" in p.stderr, p.stderr


@test
def include_cycle_is_an_error():
    d = tmpdir()
    write(d, "a.policy", "include b.policy\n")
    write(d, "b.policy", "include a.policy\n")
    p = litebox("policy", "check", os.path.join(d, "a.policy"))
    eq(p.returncode, 1, "exit status")
    assert "include cycle" in p.stderr, p.stderr


@test
def not_text_and_not_a_file():
    d = tmpdir()
    path = write(d, "bin.policy", b"allow read /x\n\x00\x01", mode="wb")
    p = litebox("policy", "check", path)
    eq(p.returncode, 1, "NUL byte")
    assert f"{path}:2:1: error:" in p.stderr, p.stderr
    p = litebox("policy", "check", d)
    eq(p.returncode, 1, "directory")
    assert "is a directory" in p.stderr, p.stderr
    p = litebox("policy", "check", os.path.join(d, "missing.policy"))
    eq(p.returncode, 1, "missing file")


@test
def warnings_do_not_fail_check():
    d = tmpdir()
    path = write(d, "broad.policy", "allow write /**\nallow exec /tmp/**\n")
    p = litebox("policy", "check", path)
    eq(p.returncode, 0, "exit status")
    assert f"{path}:1:13: warning:" in p.stderr, p.stderr
    assert f"{path}:2:12: warning:" in p.stderr, p.stderr


@test
def show_output_checks_clean_and_is_stable():
    d = tmpdir()
    for source in PROFILES + EXAMPLES:
        p = litebox("policy", "show", source, cwd=d)
        eq(p.returncode, 0, f"policy show {source}: {p.stderr}")
        assert "version 1" in p.stdout
        shown = write(d, "shown.policy", p.stdout)
        c = litebox("policy", "check", shown, cwd=d)
        eq(c.returncode, 0, f"check of show {source}: {c.stderr}")
        assert "error:" not in c.stderr, c.stderr
        again = litebox("policy", "show", shown, cwd=d)
        eq(again.stdout, p.stdout, f"show of show {source}")


@test
def show_mentions_kernel_filter_and_expands():
    d = tmpdir()
    path = write(d, "p.policy", "include strict\ndeny syscall personality\n")
    p = litebox("policy", "show", path, cwd=d)
    eq(p.returncode, 0, p.stderr)
    assert f"allow read {os.path.realpath(d)}/**" in p.stdout or f"allow read {d}/**" in p.stdout, p.stdout
    assert "include" not in [line.split()[0] for line in p.stdout.splitlines() if line and line[0] != "#"]
    assert "ptrace" in p.stdout and "personality" in p.stdout, p.stdout


@test
def show_of_malformed_fails():
    d = tmpdir()
    path = write(d, "bad.policy", "allow\n")
    p = litebox("policy", "show", path)
    eq(p.returncode, 1, "exit status")
    assert f"{path}:1:6: error:" in p.stderr, p.stderr
    eq(p.stdout, "", "nothing on standard output")


@test
def explain_names_the_deciding_rule_and_why():
    d = tmpdir()
    os.mkdir(os.path.join(d, "out"))
    path = write(d, "job.policy", "include default\ndeny write $CWD/**\nallow write $CWD/out/**\n"
                 "allow read /etc/**\n")
    p = litebox("policy", "show", path, "--explain", "out/a.o", "src.c", "/etc/shadow",
                "tcp 127.0.0.1:5432", "udp", "10.0.0.1:53", cwd=d)
    eq(p.returncode, 0, p.stderr)
    blocks = {}
    for line in p.stdout.splitlines():
        if not line.startswith(" "):
            key = line
            blocks[key] = []
        else:
            blocks[key].append(line.strip())
    real = os.path.realpath(d)
    out = " ".join(blocks[f"{real}/out/a.o"])
    assert f"write   allow: 'allow write {real}/out/**' ({path}:3)" in out, out
    assert f"over 'deny write {real}/**' ({path}:2): its literal prefix" in out, out
    src = " ".join(blocks[f"{real}/src.c"])
    assert f"write   deny: 'deny write {real}/**' ({path}:2)" in src, src
    assert "the including file overrides what it includes" in src, src
    shadow = " ".join(blocks["/etc/shadow"])
    assert "read    deny: 'deny read /etc/shadow' (<builtin:default>:" in shadow, shadow
    assert "an exact path beats every pattern" in shadow, shadow
    assert "exec    deny: no rule matches" in shadow, shadow
    assert "connect allow: 'allow connect tcp localhost:*'" in " ".join(blocks["tcp 127.0.0.1:5432"])
    assert "connect deny: no rule matches" in " ".join(blocks["udp 10.0.0.1:53"])
    bad = litebox("policy", "show", path, "--explain", "tcp nowhere", cwd=d)
    eq(bad.returncode, 1, "an unreadable address")
    eq(litebox("policy", "show", path, "--explain").returncode, 125, "--explain without objects")


@test
def check_warns_about_rules_that_never_decide():
    d = tmpdir()
    path = write(d, "p.policy", "include default\ndeny write $CWD/**\nallow write $CWD/out/**\n"
                 "allow write $CWD/out/*/*\nhide /srv/x\nallow read /srv/x/*\n"
                 "allow read $HOME/.npmrc\n")
    p = litebox("policy", "check", path, cwd=d)
    eq(p.returncode, 0, p.stderr)
    warnings = [line for line in p.stderr.splitlines() if "warning:" in line]
    assert any(f"{path}:4:" in w and "never decide" in w and "fewer wildcards" in w for w in warnings), p.stderr
    assert any(f"{path}:6:" in w and "never decide" in w and "hide wins over allow" in w for w in warnings), p.stderr
    eq(len(warnings), 2, "narrowing, widening and re-opening are not warned about: " + p.stderr)


@test
def usage_errors():
    eq(litebox("policy").returncode, 125, "no subcommand")
    eq(litebox("policy", "frobnicate").returncode, 125, "unknown subcommand")
    eq(litebox("policy", "check").returncode, 125, "check without FILE")
    eq(litebox("policy", "show").returncode, 125, "show without FILE")
    eq(litebox("policy", "show", "default", "extra").returncode, 125, "show with a stray word")


if __name__ == "__main__":
    run()
