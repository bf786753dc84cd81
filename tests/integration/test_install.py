#!/usr/bin/env python3
"""The install story (issue 15): `meson install` puts the binary, the man
pages and the shell completions in place; the man page, `run --help`, the
completions and the contract's option table agree; ./scripts/package
builds a .deb that unpacks and runs."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

SRC = lbtest.SOURCE_ROOT
BUILD = os.path.abspath(os.environ.get("LB_BUILD_ROOT", os.path.join(SRC, "build")))
# Options of the contract that no branch implements yet (issue 17): they
# must then be refused, and this list emptied when they land.
NOT_YET = set()
LEARN_ONLY = {"--output"}
INSTALLED = {
    "bin/litebox": "the binary",
    "share/man/man1/litebox.1": "litebox(1)",
    "share/man/man5/litebox.policy.5": "litebox.policy(5)",
    "share/bash-completion/completions/litebox": "bash completion",
    "share/zsh/vendor-completions/_litebox": "zsh completion",
    "share/fish/vendor_completions.d/litebox.fish": "fish completion",
}


def contract_options():
    """The options of cli.md's table of run/learn options (the contract
    when it is next to the tree, else the man page's source)."""
    for path in (os.path.join(SRC, "..", "shared", "spec", "cli.md"),
                 os.path.join(SRC, "..", "..", "shared", "spec", "cli.md"),
                 os.path.join(SRC, "man", "litebox.1.md")):
        if os.path.exists(path):
            text = open(path).read()
            break
    start = text.index("| option | meaning |")
    table = text[start:text.index("\n\n", start)]
    opts = set()
    for row in table.splitlines()[2:]:
        first = row.split(" | ")[0]
        opts.update(re.findall(r"--[a-z][a-z-]*", first))
    return opts


def man_text(page):
    p = subprocess.run(["groff", "-man", "-Tutf8"], input=open(page, "rb").read(),
                       capture_output=True) if shutil.which("groff") else None
    if p and p.returncode == 0:
        return re.sub(r".\x08", "", p.stdout.decode("utf-8", "replace")).replace("\u2010", "-")
    return open(page).read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")


@test
def meson_install_puts_everything_in_place():
    dest = lbtest.tmpdir()
    p = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild", "--quiet"],
                       capture_output=True, text=True)
    eq(p.returncode, 0, "meson install: " + p.stderr[-2000:])
    found = {}
    for root, _, files in os.walk(dest):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), dest)
            for want in INSTALLED:
                if rel.endswith(want):
                    found[want] = os.path.join(dest, rel)
    eq(sorted(set(INSTALLED) - set(found)), [], "missing from the install")
    v = subprocess.run([found["bin/litebox"], "--version"], capture_output=True, text=True)
    eq(v.returncode, 0, "installed litebox --version")
    assert v.stdout.startswith("litebox "), v.stdout
    assert ".TH LITEBOX 1" in open(found["share/man/man1/litebox.1"]).read()
    assert ".TH LITEBOX.POLICY 5" in open(found["share/man/man5/litebox.policy.5"]).read()


@test
def man_page_help_and_contract_agree():
    opts = contract_options()
    assert "--fail-on-deny" in opts and "--policy" in opts, opts
    man = man_text(os.path.join(BUILD, "man", "litebox.1"))
    run_help = litebox("run", "--help").stdout
    learn_help = litebox("learn", "--help").stdout
    missing = {}
    for o in sorted(opts - NOT_YET):
        docs = [("litebox(1)", man), ("learn --help", learn_help)]
        if o not in LEARN_ONLY:
            docs.append(("run --help", run_help))
        where = [name for name, text in docs if o not in text]
        if where:
            missing[o] = where
    eq(missing, {}, "options of the contract missing from")
    for o in sorted(opts & NOT_YET):
        p = litebox("run", o, "x", "--", "/bin/true")
        eq(p.returncode, 125, f"{o} is not implemented yet and must be refused (else update NOT_YET)")
    # The commands of the synopsis are in the man page.
    for cmd in ("litebox run", "litebox learn", "litebox policy check", "litebox policy show",
                "litebox policy generate", "litebox inspect", "litebox overlay diff",
                "litebox overlay apply"):
        assert cmd in man, f"{cmd} missing from litebox(1)"
    # The policy page is docs/policy.md: each of its sections is there.
    pol = man_text(os.path.join(BUILD, "man", "litebox.policy.5"))
    for h in re.findall(r"^## (.+)$", open(os.path.join(SRC, "docs", "policy.md")).read(), re.M):
        h = re.sub(r"`", "", h).upper()
        assert h in pol, f"section {h!r} of docs/policy.md missing from litebox.policy(5)"


@test
def completions_know_every_option():
    opts = (contract_options() - NOT_YET) | {"--log-level", "--fail-on-deny"}
    comp = os.path.join(SRC, "completions")
    for f in ("litebox.bash", "_litebox", "litebox.fish"):
        text = open(os.path.join(comp, f)).read()
        if f.endswith(".fish"):  # fish names long options without dashes: -l NAME
            missing = [o for o in opts if f"-l {o[2:]} " not in text and f"-l {o[2:]}\n" not in text]
        else:
            missing = [o for o in opts if o not in text]
        eq(sorted(missing), [], f"options missing from {f}")
    checks = [("bash", "litebox.bash"), ("zsh", "_litebox"), ("fish", "litebox.fish")]
    ran = 0
    for shell, f in checks:
        if shutil.which(shell):
            p = subprocess.run([shell, "-n", os.path.join(comp, f)], capture_output=True, text=True)
            eq(p.returncode, 0, f"{shell} -n {f}: {p.stderr}")
            ran += 1
    assert ran, "no shell to check the completion scripts"
    # bash: completing `litebox run --fail` offers --fail-on-deny.
    script = (f"source {os.path.join(comp, 'litebox.bash')}; COMP_WORDS=(litebox run --fail); "
              "COMP_CWORD=2; COMP_LINE='litebox run --fail'; COMP_POINT=${#COMP_LINE}; "
              "_litebox; printf '%s\\n' \"${COMPREPLY[@]}\"")
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    eq(p.stdout.split(), ["--fail-on-deny"], "bash completion of --fail: " + p.stderr)


@test
def debian_package_installs_and_runs():
    if not shutil.which("dpkg-deb"):
        lbtest.skip("dpkg-deb is not installed: no Debian package can be built here")
    out = lbtest.tmpdir()
    # The package's own release build is kept in the build tree between runs.
    p = subprocess.run([os.path.join(SRC, "scripts", "package"), "-o", out,
                        "-b", os.path.join(BUILD, "deb-build")], capture_output=True, text=True,
                       timeout=900)
    eq(p.returncode, 0, "scripts/package: " + p.stderr[-2000:])
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    eq(len(debs), 1, "one package")
    assert re.fullmatch(r"litebox_[0-9][^_]*_[a-z0-9]+\.deb", debs[0]), debs[0]
    deb = os.path.join(out, debs[0])
    fields = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"],
                            capture_output=True, text=True).stdout
    assert "Package: litebox" in fields and "libseccomp2" in fields, fields
    root = lbtest.tmpdir()
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    for want in ("usr/bin/litebox", "usr/share/man/man1/litebox.1.gz",
                 "usr/share/man/man5/litebox.policy.5.gz",
                 "usr/share/bash-completion/completions/litebox"):
        assert os.path.exists(os.path.join(root, want)), want
    exe = os.path.join(root, "usr", "bin", "litebox")
    v = subprocess.run([exe, "--version"], capture_output=True, text=True)
    eq(v.returncode, 0, "packaged --version")
    version = re.search(r"Version: (\S+)", fields).group(1)
    assert v.stdout.startswith(f"litebox {version}\n"), v.stdout
    d = lbtest.tmpdir()
    r = subprocess.run([exe, "run", "-q", "--", "/bin/sh", "-c", "echo packaged > out"], cwd=d,
                       capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "the packaged litebox runs a program: " + r.stderr)
    eq(open(os.path.join(d, "out")).read(), "packaged\n", "the program wrote its file")
    r = subprocess.run([exe, "run", "--", "/bin/cat", "/etc/shadow"], capture_output=True, text=True)
    assert r.returncode != 0 and "denied read /etc/shadow" in r.stderr, r.stderr


if __name__ == "__main__":
    lbtest.run()
