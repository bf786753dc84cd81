"""Tiny TAP harness shared by the integration tests.

Each test is a function decorated with @test; it may call skip(reason) to
skip with a stated reason. run() prints TAP and exits non-zero on failure.
"""
import os
import subprocess
import sys
import tempfile
import traceback

LITEBOX = os.environ.get("LITEBOX") or os.path.join(
    os.environ.get("LB_BUILD_ROOT", "build"), "cmd", "litebox")
SOURCE_ROOT = os.environ.get("LB_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

_tests = []

# Which platform the run under test uses (meson runs the live suites on
# both); litebox reads the same variable as its --platform default.
PLATFORM = os.environ.get("LITEBOX_PLATFORM", "auto")


def platform_fds():
    """Descriptor numbers the platform itself keeps in every program: the
    ptrace platform's hidden socket end (docs/security.md)."""
    if PLATFORM != "ptrace":
        return set()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft <= 1024 and (hard == resource.RLIM_INFINITY or hard > soft):
        return {str(soft)}  # just above what the program can allocate
    return {str(min(soft, 1024) - 1)}


class Skip(Exception):
    pass


def test(fn):
    _tests.append(fn)
    return fn


def skip(reason):
    raise Skip(reason)


def litebox(*args, input=None, timeout=120, cwd=None, env=None, check=None):
    """Run litebox with args; return CompletedProcess (text mode)."""
    p = subprocess.run([LITEBOX, *args], input=input, capture_output=True,
                       text=True, timeout=timeout, cwd=cwd, env=env)
    if check is not None and p.returncode != check:
        raise AssertionError(
            f"litebox {' '.join(args)} exited {p.returncode}, expected {check}\n"
            f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
    return p


def native(*args, input=None, timeout=120, cwd=None, env=None):
    return subprocess.run(list(args), input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


_tmpdirs = []


def tmpdir():
    """A fresh directory, removed when the test file finishes."""
    d = tempfile.mkdtemp(prefix="litebox-test-")
    _tmpdirs.append(d)
    return d


def policy_workdir(policy_lines=()):
    """A fresh working directory (0755) holding p.policy: the default
    profile plus policy_lines."""
    d = tmpdir()
    os.chmod(d, 0o755)
    with open(os.path.join(d, "p.policy"), "w") as f:
        f.write("version 1\ninclude default\n")
        for line in policy_lines:
            f.write(line + "\n")
    return d


def _cleanup():
    import shutil
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


def eq(a, b, what=""):
    if a != b:
        raise AssertionError(f"{what}: {a!r} != {b!r}")


def run():
    print(f"1..{len(_tests)}", flush=True)
    failed = 0
    for i, fn in enumerate(_tests, 1):
        name = fn.__name__
        try:
            fn()
            print(f"ok {i} - {name}", flush=True)
        except Skip as s:
            print(f"ok {i} - {name} # SKIP {s}", flush=True)
        except Exception:
            failed += 1
            print(f"not ok {i} - {name}", flush=True)
            for line in traceback.format_exc().splitlines():
                print(f"# {line}", flush=True)
    _cleanup()
    sys.exit(1 if failed else 0)
