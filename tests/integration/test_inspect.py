#!/usr/bin/env python3
"""litebox inspect: text and JSON facts, and the exit statuses of cli.md."""
import atexit
import json
import os
import shutil
import struct
import subprocess

import lbtest
from lbtest import LITEBOX, eq, litebox, run, test


def tmpdir():
    d = lbtest.tmpdir()
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def aarch64_elf(path):
    """A bare 64-bit ELF header for EM_AARCH64 (183), made executable."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    # e_type e_machine e_version e_entry e_phoff e_shoff e_flags
    # e_ehsize e_phentsize e_phnum e_shentsize e_shnum e_shstrndx
    rest = struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, 0x400000, 0, 0, 0, 64, 56, 0, 64, 0, 0)
    with open(path, "wb") as f:
        f.write(ident + rest)
    os.chmod(path, 0o755)


def one_litebox_line(stderr, *needles):
    lines = stderr.splitlines()
    eq(len(lines), 1, f"stderr lines {lines!r}")
    assert lines[0].startswith("litebox: "), lines[0]
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"


@test
def text_output_of_bin_ls():
    p = litebox("inspect", "/bin/ls", check=0)
    out = p.stdout
    assert out.startswith("path: /"), out
    for line in ("class: ELF64", "machine: x86_64", "needed:"):
        assert line in out.splitlines(), f"{line!r} missing in\n{out}"
    assert any(l.startswith("type: dynamic") for l in out.splitlines()), out
    assert any(l.startswith("interpreter: /") for l in out.splitlines()), out
    libc = [l for l in out.splitlines() if l.strip().startswith("libc.so.6 => ")]
    eq(len(libc), 1, "libc.so.6 lines")
    assert os.path.exists(libc[0].split(" => ", 1)[1]), libc[0]


@test
def json_output_of_bin_ls():
    p = litebox("inspect", "--json", "/bin/ls", check=0)
    doc = json.loads(p.stdout)
    eq(doc["runnable"], True, "runnable")
    eq(doc["problem"], None, "problem")
    prog = doc["program"]
    eq(prog["path"], os.path.realpath("/bin/ls"), "path")
    eq(prog["script"], False, "script")
    eq(prog["class"], 64, "class")
    eq(prog["machine"], "x86_64", "machine")
    eq(prog["static"], False, "static")
    assert prog["interpreter"].startswith("/"), prog["interpreter"]
    for key in ("type", "pie", "runpath", "rpath"):
        assert key in prog, key
    names = [lib["name"] for lib in prog["needed"]]
    assert "libc.so.6" in names, names
    eq(len(names), len(set(names)), "no duplicate libraries")
    libc = next(lib for lib in prog["needed"] if lib["name"] == "libc.so.6")
    assert libc["resolved"] and os.path.exists(libc["resolved"]), libc


@test
def json_of_a_script_nests_the_interpreter():
    d = tmpdir()
    script = os.path.join(d, "s\u00e9 \"q\".sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh -e\necho hi\n")
    os.chmod(script, 0o755)
    doc = json.loads(litebox("inspect", "--json", script, check=0).stdout)
    prog = doc["program"]
    eq(prog["path"], os.path.realpath(script), "path survives JSON escaping")
    eq(prog["script"], True, "script")
    eq(prog["script_interpreter"], "/bin/sh", "interpreter")
    eq(prog["script_argument"], "-e", "argument")
    eq(prog["interpreter_program"]["machine"], "x86_64", "interpreter machine")


@test
def json_escapes_invalid_utf8():
    d = tmpdir()
    name = os.path.join(os.fsencode(d), b"bad\xff\x01name")
    with open(name, "wb") as f:
        f.write(b"#!/bin/sh\n")
    os.chmod(name, 0o755)
    p = subprocess.run([os.fsencode(LITEBOX), b"inspect", b"--json", name], capture_output=True)
    eq(p.returncode, 0, "status")
    text = p.stdout.decode("utf-8")  # must be valid UTF-8
    path = json.loads(text)["program"]["path"]
    assert path.endswith("bad\ufffd\x01name"), repr(path)


@test
def missing_program_is_127():
    p = litebox("inspect", "litebox-no-such-program-xyz", check=127)
    one_litebox_line(p.stderr, "litebox-no-such-program-xyz", "not found")
    eq(p.stdout, "", "stdout")


@test
def directory_is_126():
    p = litebox("inspect", tmpdir(), check=126)
    one_litebox_line(p.stderr, "is a directory")


@test
def empty_file_is_126():
    path = os.path.join(tmpdir(), "empty")
    open(path, "w").close()
    os.chmod(path, 0o755)
    p = litebox("inspect", path, check=126)
    one_litebox_line(p.stderr, "empty")


@test
def aarch64_is_126_and_named():
    path = os.path.join(tmpdir(), "arm64-prog")
    aarch64_elf(path)
    p = litebox("inspect", path, check=126)
    one_litebox_line(p.stderr, "aarch64")
    assert "machine: aarch64" in p.stdout.splitlines(), p.stdout


@test
def bad_usage_is_125():
    litebox("inspect", check=125)
    litebox("inspect", "--frobnicate", "/bin/ls", check=125)
    litebox("inspect", "/bin/ls", "/bin/sh", check=125)


run()
