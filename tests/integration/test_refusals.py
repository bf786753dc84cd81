#!/usr/bin/env python3
"""What counts as a refusal, and what a refusal shows: a probe of a hidden or
denied name that does not exist withheld nothing (ENOENT as natively, not
counted for --fail-on-deny), and --dry-run keeps the secrets the policy
names refused while it lets through what the policy merely does not grant.
Every refusal has a positive control beside it."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import eq, litebox, test  # noqa: E402


def home():
    h = lbtest.tmpdir()
    os.chmod(h, 0o755)
    return h, dict(os.environ, HOME=h, TMPDIR=lbtest.tmpdir(), PWD=h)


@test
def probing_a_hidden_name_is_shown_but_not_counted_whether_or_not_it_exists():
    # pip, requests, meson and npm probe ~/.netrc or ~/.npmrc: a CI run under
    # --fail-on-deny exited 123 for it (new-user review N1). To the program a
    # hidden name does not exist, so a probe is no gap in the policy; and
    # whether the host file exists must not show in what litebox says or
    # counts (attack review H1: a nested litebox's status told it).
    h, env = home()
    script = "cat ~/.netrc ~/.npmrc 2>&1; true"
    outs = []
    for present in (False, True):
        if present:
            with open(os.path.join(h, ".netrc"), "w") as f:
                f.write("machine x login y password SECRET-NETRC\n")
        p = litebox("run", "--fail-on-deny", "--", "/bin/sh", "-c", script, cwd=h, env=env)
        eq(p.returncode, 0, p.stderr)
        eq(p.stdout.count("No such file or directory"), 2, p.stdout)
        eq("SECRET-NETRC" in p.stdout, False, p.stdout)
        eq(p.stderr.count("hid read"), 2, p.stderr)
        outs.append(p.stderr.replace(f"{h}", "H"))
    eq(outs[0], outs[1], "what litebox says does not depend on the hidden file")
    # control: a refusal that is one still fails the run
    p = litebox("run", "--fail-on-deny", "--", "/bin/sh", "-c", "echo x >> ~/.bashrc; true",
                cwd=h, env=env)
    eq(p.returncode, 123, p.stderr)


@test
def a_denied_name_that_does_not_exist_answers_enoent():
    h, env = home()
    os.mkdir(os.path.join(h, "private"))
    with open(os.path.join(h, "private", "there"), "w") as f:
        f.write("SECRET-THERE\n")
    pol = os.path.join(lbtest.tmpdir(), "p.policy")
    with open(pol, "w") as f:
        f.write(f'version 1\ninclude default\ndeny read "{h}/private/**"\n')
    p = litebox("run", "-p", pol, "--", "/bin/sh", "-c",
                "cat private/missing 2>&1; cat private/there 2>&1; true", cwd=h, env=env)
    eq(p.stdout.splitlines()[0].endswith("No such file or directory"), True, p.stdout)
    eq(p.stdout.splitlines()[1].endswith("Permission denied"), True, f"control: {p.stdout}")
    eq("denied read" in p.stderr and "private/there" in p.stderr, True, p.stderr)
    eq("private/missing" in p.stderr, False, p.stderr)


@test
def dry_run_keeps_hidden_and_denied_secrets_refused():
    # --dry-run is the first step for a tool not trusted yet; its output can
    # be a public CI log (new-user review N7).
    h, env = home()
    os.makedirs(os.path.join(h, ".ssh"))
    with open(os.path.join(h, ".ssh", "id_rsa"), "w") as f:
        f.write("SECRET-KEY\n")
    with open(os.path.join(h, "notes.txt"), "w") as f:
        f.write("NOT-GRANTED-NOTES\n")
    work = lbtest.tmpdir()
    with open(os.path.join(work, "denied.txt"), "w") as f:
        f.write("SECRET-DENIED\n")
    pol = os.path.join(lbtest.tmpdir(), "p.policy")
    with open(pol, "w") as f:
        f.write(f'version 1\ninclude default\ndeny read "{work}/denied.txt"\n')
    p = litebox("run", "--dry-run", "-p", pol, "--", "/bin/sh", "-c",
                f"cat {h}/.ssh/id_rsa {work}/denied.txt {h}/notes.txt 2>&1; true", cwd=work,
                env=env)
    eq("SECRET-KEY" in p.stdout or "SECRET-DENIED" in p.stdout, False, p.stdout)
    # control: what the policy merely does not grant is let through and
    # reported, as --dry-run promises
    eq("NOT-GRANTED-NOTES" in p.stdout, True, f"{p.stdout} {p.stderr}")
    eq("would deny read" in p.stderr and "notes.txt" in p.stderr, True, p.stderr)



LANDLOCK_PROBE = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, VERSION)
print("abi", abi if abi >= 0 else os.strerror(ctypes.get_errno()))
"""


@test
def a_programs_own_landlock_is_reported_unavailable_not_silently_void():
    # litebox's supervisor performs the program's opens, so a ruleset the
    # program applied to itself would bind nothing it does through litebox
    # (attack review N5): the answer is Linux's for Landlock switched off.
    if not os.path.exists("/usr/bin/python3"):
        lbtest.skip("no python3")
    native = subprocess.run(["/usr/bin/python3", "-c", LANDLOCK_PROBE],
                                   capture_output=True, text=True)
    if not native.stdout.startswith("abi ") or not native.stdout.split()[1].isdigit():
        lbtest.skip(f"no Landlock on this kernel: {native.stdout.strip()}")
    p = litebox("run", "-q", "--", "/usr/bin/python3", "-c", LANDLOCK_PROBE)
    eq(p.stdout, "abi Operation not supported\n", p.stderr)
    # control: a policy that allows it by name gets the kernel's answer
    pol = os.path.join(lbtest.tmpdir(), "p.policy")
    with open(pol, "w") as f:
        f.write("version 1\ninclude default\nallow syscall landlock_create_ruleset\n")
    p = litebox("run", "-q", "-p", pol, "--", "/usr/bin/python3", "-c", LANDLOCK_PROBE)
    eq(p.stdout, native.stdout, p.stderr)
    # and `policy check` says what the rule does (it once called such a
    # rule "no effect", new-user review N15)
    p = litebox("policy", "check", pol)
    eq("lifts litebox's built-in refusal" in p.stderr, True, p.stderr)


@test
def a_refused_write_to_a_shared_cache_points_at_a_private_one():
    # "allow with: allow write ~/.cache/go-build/f6/f6bc...-d" is never what
    # a user wants: the next run writes another file (new-user review N4).
    h, env = home()
    os.makedirs(os.path.join(h, ".cache", "pip"))
    work = os.path.join(h, "proj")
    os.mkdir(work)
    env["PWD"] = work
    p = litebox("run", "--", "/bin/sh", "-c",
                f"echo x > {h}/.cache/pip/y; echo x >> {h}/.bashrc; true", cwd=work, env=env)
    lines = [l for l in p.stderr.splitlines() if l.startswith("litebox: denied write")]
    eq(len(lines), 2, p.stderr)
    eq('"A private writable cache"' in lines[0] and "allow with: allow write" in lines[0], True,
       lines[0])
    eq("private" in lines[1], False, f"control, a start-up file: {lines[1]}")

if __name__ == "__main__":
    lbtest.run()
