#!/usr/bin/env python3
"""The command line contract of cli.md: --version, --help, and the 125
status (with a `litebox: ` message on standard error) for every misuse,
checking on the host that the program did not run."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

_DIRS = []


def tmp():
    d = lbtest.tmpdir()
    _DIRS.append(d)
    return d


def misuse(*args, cwd=None):
    """litebox ARGS must exit 125 with one `litebox: ` line on stderr."""
    p = litebox(*args, cwd=cwd, timeout=30)
    eq(p.returncode, 125, f"status of litebox {' '.join(args)} (stderr {p.stderr!r})")
    lines = p.stderr.splitlines()
    assert lines, f"litebox {' '.join(args)}: nothing on standard error"
    assert lines[0].startswith("litebox: "), f"first stderr line: {lines[0]!r}"
    prefixed = [line for line in lines if line.startswith("litebox: ")]
    eq(len(prefixed), 1, f"lines starting 'litebox: ' in {p.stderr!r}")
    eq(p.stdout, "", f"stdout of litebox {' '.join(args)}")
    return p


MISUSES = [
    ("run", "--no-such-option", "--", "true"),
    ("--no-such-option",),
    ("run",),
    ("no-such-command",),
    ("run", "--timeout", "abc", "--", "true"),
    ("run", "--platform", "nope", "--", "true"),
]


def not_run(d):
    eq(os.listdir(d), [], "files created: the program ran despite the error")


@test
def version_exits_0():
    p = litebox("--version", timeout=30)
    eq(p.returncode, 0, "status")
    assert p.stdout.startswith("litebox "), f"stdout: {p.stdout!r}"
    lines = p.stdout.strip().splitlines()
    eq(len(lines), 2, "the version, then the kernel features")
    for feature in ("seccomp listener ", "ADDFD ", "sync wake-up ", "Landlock "):
        assert feature in lines[1], f"--version does not name {feature!r}: {lines[1]!r}"
    eq(p.stderr, "", "stderr")


@test
def help_exits_0():
    p = litebox("--help", timeout=30)
    eq(p.returncode, 0, "status")
    for cmd in ("run", "learn", "policy", "inspect"):
        assert cmd in p.stdout, f"--help does not mention {cmd}: {p.stdout!r}"
    eq(p.stderr, "", "stderr")
    p = litebox("help", "run", timeout=30)
    eq(p.returncode, 0, "help run")
    assert "--timeout" in p.stdout and "--policy" in p.stdout, p.stdout


@test
def every_command_answers_help():
    """cli.md: every command and subcommand answers -h and --help with its
    usage on standard output and exit 0."""
    cases = {
        ("run",): "litebox run", ("learn",): "-o FILE", ("policy",): "litebox policy check",
        ("policy", "check"): "litebox policy check FILE", ("policy", "show"): "litebox policy show FILE",
        ("policy", "generate"): "--from LOG.jsonl", ("inspect",): "litebox inspect",
    }
    for cmd, want in cases.items():
        for flag in ("-h", "--help"):
            p = litebox(*cmd, flag, timeout=30)
            eq(p.returncode, 0, f"{' '.join(cmd)} {flag}: {p.stderr!r}")
            assert p.stdout.startswith("usage: ") and want in p.stdout, (cmd, flag, p.stdout)
            eq(p.stderr, "", f"stderr of {' '.join(cmd)} {flag}")
        p = litebox("help", *cmd, timeout=30)
        eq(p.returncode, 0, f"help {' '.join(cmd)}")
        assert want in p.stdout, (cmd, p.stdout)
    # `help learn` is learn's usage, with -o.
    assert "-o, --output FILE" in litebox("help", "learn").stdout
    # Help after other options, and for run without a program.
    eq(litebox("run", "-q", "-h").returncode, 0, "run -q -h")
    d = tmp()
    eq(litebox("policy", "check", "--help", cwd=d).returncode, 0, "check --help reads no file")


@test
def typos_get_the_closest_known_word():
    cases = [
        (("run", "--alow-read", "/x", "--", "true"), "did you mean --allow-read?"),
        (("run", "--fail-on-denny", "--", "true"), "did you mean --fail-on-deny?"),
        (("learn", "--polcy", "x", "--", "true"), "did you mean --policy?"),
        (("rnu", "true"), "did you mean run?"),
        (("polcy", "check"), "did you mean policy?"),
        (("policy", "chek", "x"), "did you mean check?"),
        (("inspect", "--jsn", "/bin/true"), "did you mean --json?"),
        (("run", "--platform", "seccmp", "--", "true"), "did you mean seccomp?"),
        (("help", "lern"), "did you mean learn?"),
    ]
    for args, want in cases:
        p = litebox(*args, timeout=30)
        eq(p.returncode, 125, f"status of {args}")
        assert want in p.stderr, (args, p.stderr)
    # Nothing close: no suggestion.
    p = litebox("run", "--zzzzzzzzzzzz", "--", "true", timeout=30)
    assert "did you mean" not in p.stderr, p.stderr


@test
def unknown_option_is_125():
    d = tmp()
    misuse("run", "--no-such-option", "--", "touch", os.path.join(d, "ran"), cwd=d)
    misuse("run", "-Z", "touch", os.path.join(d, "ran"), cwd=d)
    not_run(d)
    misuse("--no-such-option")


@test
def run_without_program_is_125():
    d = tmp()
    misuse("run", cwd=d)
    misuse("run", "--", cwd=d)
    misuse("run", "-q", cwd=d)


@test
def unknown_command_is_125():
    misuse("no-such-command")
    misuse("runn", "true")


@test
def bad_timeout_is_125():
    d = tmp()
    for bad in ("abc", "-5s", "10x", ""):
        misuse("run", "--timeout", bad, "--", "touch", os.path.join(d, "ran"), cwd=d)
    not_run(d)
    # Control: a well-formed timeout runs the program.
    p = litebox("run", "-q", "--timeout", "30s", "--", "touch", os.path.join(d, "ran"), cwd=d)
    eq(p.returncode, 0, f"control run (stderr {p.stderr!r})")
    assert os.path.exists(os.path.join(d, "ran")), "control: the program did not run"


@test
def bad_platform_is_125():
    d = tmp()
    misuse("run", "--platform", "nope", "--", "touch", os.path.join(d, "ran"), cwd=d)
    not_run(d)
    p = litebox("run", "-q", "--platform", "auto", "--", "touch", os.path.join(d, "ran"), cwd=d)
    eq(p.returncode, 0, f"--platform auto (stderr {p.stderr!r})")
    os.unlink(os.path.join(d, "ran"))
    p = litebox("run", "-q", "--platform", "seccomp", "--", "touch", os.path.join(d, "ran"), cwd=d)
    eq(p.returncode, 0, f"control: --platform seccomp (stderr {p.stderr!r})")
    assert os.path.exists(os.path.join(d, "ran")), "control: the program did not run"


@test
def misuse_messages_are_all_prefixed():
    """cli.md: litebox writes its own messages to standard error, each
    prefixed `litebox: ` (a bare `Hint: ` line is not)."""
    bad = {}
    for args in MISUSES:
        p = litebox(*args, timeout=30)
        eq(p.returncode, 125, f"status of litebox {' '.join(args)}")
        unprefixed = [line for line in p.stderr.splitlines() if not line.startswith("litebox: ")]
        if unprefixed:
            bad[" ".join(args)] = unprefixed
    eq(bad, {}, "stderr lines without the 'litebox: ' prefix")


@test
def denial_lines_name_the_pid_the_program_sees():
    p = litebox("run", "--", "/bin/sh", "-c", "echo $$; exec cat /etc/shadow")
    own = p.stdout.strip()
    assert own.isdigit(), p.stdout  # control: the shell ran and told its pid
    assert f"(pid {own} cat, openat)" in p.stderr, p.stderr


@test
def the_allow_with_hint_grants_exactly_the_name_refused():
    d = lbtest.tmpdir()
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    for name in ("**", "plain"):
        with open(os.path.join(sub, name), "w") as f:
            f.write("content of " + name)
    base = "version 1\nallow read /usr/** /lib/** /lib64/** /etc/**\nallow exec /usr/**\n"
    pol = os.path.join(d, "p.policy")
    with open(pol, "w") as f:
        f.write(base)
    p = litebox("run", "-p", pol, "--", "/bin/cat", os.path.join(sub, "**"), cwd=d)
    hint = [l.split("allow with: ", 1)[1] for l in p.stderr.splitlines() if "allow with: " in l]
    assert hint, p.stderr
    with open(pol, "w") as f:
        f.write(base + hint[0] + "\n")
    ok = litebox("run", "-q", "-p", pol, "--", "/bin/cat", os.path.join(sub, "**"), cwd=d)
    eq(ok.stdout, "content of **", "the hint grants the file it names: " + ok.stderr)
    no = litebox("run", "-q", "-p", pol, "--", "/bin/cat", os.path.join(sub, "plain"), cwd=d)
    assert no.returncode != 0 and "content of plain" not in no.stdout, "and nothing else"



@test
def a_relative_home_falls_back_to_the_users_home_directory():
    # HOME=relative gave 20 errors about the default profile's $HOME rules
    # (new-user review N26); $TMPDIR already fell back to /tmp.
    env = dict(os.environ, HOME="relative")
    p = litebox("run", "-q", "--", "/bin/sh", "-c", "echo ok", env=env)
    eq((p.returncode, p.stdout), (0, "ok\n"), p.stderr)
    p = litebox("policy", "show", "default", env=env)
    eq(p.returncode, 0, p.stderr)

if __name__ == "__main__":
    try:
        lbtest.run()
    finally:
        for d in _DIRS:
            shutil.rmtree(d, ignore_errors=True)
