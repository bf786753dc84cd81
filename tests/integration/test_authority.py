#!/usr/bin/env python3
"""litebox never lends its authority: host operations done for the program
carry the program's credentials and capabilities (threats.md: confused
deputy, persistence). Each refusal has a native run or a positive control
beside it, and the outcome is judged on the host."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test


def workdir(policy_lines=()):
    d = lbtest.tmpdir()
    os.chmod(d, 0o755)
    with open(os.path.join(d, "p.policy"), "w") as f:
        f.write("version 1\ninclude default\n")
        for line in policy_lines:
            f.write(line + "\n")
    return d


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


if __name__ == "__main__":
    lbtest.run()
