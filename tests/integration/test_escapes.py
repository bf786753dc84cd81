#!/usr/bin/env python3
"""Ways out found by attacking the boundary as someone who has read the
source: each is closed, each refusal is judged on the host (a marker file
absent, the judge's bytes unchanged), with a positive control beside it."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

HERE = os.path.dirname(os.path.abspath(__file__))
_BIN = {}


def build(name, *flags):
    key = (name, flags)
    if key not in _BIN:
        if not shutil.which("cc"):
            lbtest.skip("no C compiler (cc) to build the helper")
        out = os.path.join(lbtest.tmpdir(), name)
        subprocess.run(["cc", "-O1", "-pthread", *flags, "-o", out,
                        os.path.join(HERE, "progs", name + ".c")], check=True)
        _BIN[key] = out
    return _BIN[key]


def outside_tmpdir():
    """A fresh directory outside $TMPDIR and the working directory, which
    the default profile neither lets the program read nor run from."""
    for base in ("/var/tmp", "/srv", "/mnt"):
        if os.path.isdir(base) and os.access(base, os.W_OK):
            d = tempfile.mkdtemp(prefix="litebox-test-", dir=base)
            lbtest._tmpdirs.append(d)
            os.chmod(d, 0o755)
            return d
    lbtest.skip("no writable directory outside $TMPDIR")


# ---- the Landlock exec layer never widens past what the run may create -------

@test
def exec_race_cannot_run_what_the_default_profile_does_not_grant():
    # The default profile grants exec beneath directories that may not exist
    # (/libx32, $HOME/go/bin): the kernel layer must not move those grants to
    # an existing ancestor such as /, or an execve whose path the program
    # swaps after the supervisor's check runs anything.
    race = build("exec_race")
    work = lbtest.tmpdir()
    shutil.copy(race, os.path.join(work, "race"))
    payload = os.path.join(outside_tmpdir(), "payload")
    shutil.copy(race, payload)
    p = litebox("run", "-q", "--", "./race", "/usr/bin/true", payload, "1000", cwd=work,
                timeout=300)
    assert not os.path.exists(os.path.join(work, "payload-ran")), p.stdout + p.stderr[-2000:]
    eq(p.stdout.strip(), "lost", p.stderr[-2000:])
    # control: the same race with the payload where exec is granted runs it
    inside = os.path.join(work, "payload")
    shutil.copy(race, inside)
    p = litebox("run", "-q", "--", "./race", "/usr/bin/true", inside, "1000", cwd=work,
                timeout=300)
    assert p.stdout.startswith("won"), p.stdout + p.stderr[-2000:]
    assert os.path.exists(os.path.join(work, "payload-ran"))
    # control: exec of the outside payload is refused and recorded directly
    p = litebox("run", "--", "/bin/sh", "-c", f"'{payload}'", cwd=work)
    assert p.returncode == 126 and "denied exec" in p.stderr, p.stderr


lbtest.run()
