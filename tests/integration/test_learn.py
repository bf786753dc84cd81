#!/usr/bin/env python3
"""Audit mode, the JSON Lines log, `litebox learn` and `policy generate`:
the generated policy, enforced, lets the same program reach the same
result, and is no broader than needed for secrets."""
import json
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

PY = "/usr/bin/python3"


def c_project():
    d = lbtest.tmpdir()
    for i in range(4):
        with open(os.path.join(d, f"m{i}.c"), "w") as f:
            f.write(f"int f{i}(void) {{ return {i * 10}; }}\n")
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write("#include <stdio.h>\n" + "".join(f"int f{i}(void);\n" for i in range(4)) +
                "int main(void) { printf(\"%d\\n\", " + "+".join(f"f{i}()" for i in range(4)) + "); return 0; }\n")
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("OBJ=main.o m0.o m1.o m2.o m3.o\nprog: $(OBJ)\n\tcc -o $@ $(OBJ)\n%.o: %.c\n\tcc -c $<\n"
                "clean:\n\trm -f *.o prog\n")
    return d


def records(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


@test
def audit_log_has_the_fields_and_a_summary():
    d = lbtest.tmpdir()
    log = os.path.join(d, "a.jsonl")
    p = litebox("run", "-q", "-p", "strict", "--audit", "--log", log, "--", "/bin/cat", "/etc/hostname", cwd=d)
    eq(p.returncode, 0, "audit mode refuses nothing: " + p.stderr)
    recs = records(log)
    last = recs[-1]
    eq(last.get("event"), "exit", "last line is the summary")
    for k in ["status", "signal", "counts", "duration_ms"]:
        assert k in last, k
    eq(recs[0].get("event"), "start", "first line is the start record")
    body = recs[1:-1]
    assert body, "records were written"
    for r in body:
        for k in ["time", "pid", "comm", "exe", "syscall", "class", "object", "verdict", "rule", "mode"]:
            assert k in r, (k, r)
        eq(r["mode"], "audit", "mode")
    wd = [r for r in body if r["verdict"] == "would-deny" and r["object"] == "/etc/hostname"]
    assert wd, "reading /etc/hostname under strict is a would-deny"
    total = sum(last["counts"].values())
    eq(total, len(body), "summary counts every record")


@test
def human_messages_fold_and_obey_quiet_and_verbose():
    d = lbtest.tmpdir()
    secret = os.path.join(d, "secret")
    with open(secret, "w") as f:
        f.write("s")
    pol = os.path.join(d, "p.policy")
    with open(pol, "w") as f:
        f.write("version 1\ninclude default\ndeny read $CWD/secret\n")
    loop = f"for i in $(seq 120); do cat {secret} 2>/dev/null; done; true"
    p = litebox("run", "-p", pol, "--", "/bin/sh", "-c", loop, cwd=d)
    lines = [l for l in p.stderr.splitlines() if "denied read " + secret in l]
    eq(len(lines), 2, "first line at once, then one folded line: " + p.stderr)
    assert lines[0].startswith("litebox: denied read " + secret + " (pid "), lines[0]
    assert "refused by " + pol + ":3" in lines[0], lines[0]
    assert lines[1].endswith("(\u00d7119)") or lines[1].endswith("(\u00d7120)"), lines[1]
    q = litebox("run", "-q", "-p", pol, "--", "/bin/sh", "-c", loop, cwd=d)
    eq(q.stderr, "", "-q silences")
    v = litebox("run", "-v", "-p", pol, "--", "/bin/cat", os.path.join(d, "p.policy"), cwd=d)
    assert any(l.startswith("litebox: allowed read") for l in v.stderr.splitlines()), "-v shows allows"


@test
def log_that_cannot_be_written_fails_the_run():
    p = litebox("run", "-q", "--log", "/dev/full", "--", "/bin/true")
    eq(p.returncode, 125, "a log on /dev/full fails the run: " + p.stderr)
    assert "litebox:" in p.stderr


@test
def learn_a_build_then_enforce_it():
    d = c_project()
    pol = os.path.join(d, "learned.policy")
    p = litebox("learn", "-q", "-o", pol, "--", "make", "-j2", cwd=d)
    eq(p.returncode, 0, "learning run: " + p.stderr)
    text = open(pol).read()
    # learned on top of the default profile: it grants $CWD already, so
    # the learned policy is the include plus only what default refused
    assert "include default" in text and "$CWD/**" not in text, text
    chk = litebox("policy", "check", pol)
    eq(chk.returncode, 0, "the learned policy checks clean: " + chk.stderr)
    subprocess.run(["make", "clean"], cwd=d, capture_output=True)
    p = litebox("run", "-p", pol, "--", "make", "-j2", cwd=d)
    eq(p.returncode, 0, "enforced run of the learned policy: " + p.stderr)
    out = subprocess.run([os.path.join(d, "prog")], capture_output=True, text=True).stdout
    eq(out.strip(), "60", "the program built under the learned policy")


@test
def learn_a_python_script_then_enforce_it():
    d = lbtest.tmpdir()
    with open(os.path.join(d, "conf.ini"), "w") as f:
        f.write("[a]\nx = 21\n")
    with open(os.path.join(d, "s.py"), "w") as f:
        f.write("import configparser\nc = configparser.ConfigParser(); c.read('conf.ini')\n"
                "open('out.txt', 'w').write(str(2 * int(c['a']['x'])))\n")
    pol = os.path.join(d, "learned.policy")
    p = litebox("learn", "-q", "-o", pol, "--", PY, "s.py", cwd=d)
    eq(p.returncode, 0, "learning run: " + p.stderr)
    os.unlink(os.path.join(d, "out.txt"))
    p = litebox("run", "-p", pol, "--", PY, "s.py", cwd=d)
    eq(p.returncode, 0, "enforced: " + p.stderr)
    eq(open(os.path.join(d, "out.txt")).read(), "42", "output written under the learned policy")


@test
def learn_git_status_then_enforce_it():
    import shutil
    if not shutil.which("git"):
        lbtest.skip("git is not installed")
    d = lbtest.tmpdir()
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@e", HOME=d, GIT_CONFIG_NOSYSTEM="1")
    repo = os.path.join(d, "repo")
    subprocess.run(["sh", "-c", "git init -q repo && cd repo && echo a > a && git add a && git commit -qm one"
                    " && echo b > b"], cwd=d, env=env, check=True)
    pol = os.path.join(d, "git.policy")
    native = subprocess.run(["git", "status", "--porcelain"], cwd=repo, env=env, capture_output=True, text=True)
    p = litebox("learn", "-q", "-o", pol, "--", "git", "status", "--porcelain", cwd=repo, env=env)
    eq(p.returncode, 0, "learning git status: " + p.stderr)
    p = litebox("run", "-p", pol, "--", "git", "status", "--porcelain", cwd=repo, env=env)
    eq(p.returncode, 0, "git status under the learned policy: " + p.stderr)
    eq(p.stdout, native.stdout, "same output as natively")


@test
def generated_policy_never_folds_secrets():
    d = lbtest.tmpdir()
    home = lbtest.tmpdir()
    os.makedirs(os.path.join(home, ".ssh"))
    for n in ["id_rsa", "config"]:
        with open(os.path.join(home, ".ssh", n), "w") as f:
            f.write("k")
    log = os.path.join(d, "a.jsonl")
    env = dict(os.environ, HOME=home)
    p = litebox("run", "-q", "-p", "permissive", "--audit", "--log", log, "--", "/bin/sh", "-c",
                f"cat {home}/.ssh/id_rsa {home}/.ssh/config /usr/include/stdio.h /usr/include/stdlib.h "
                "/usr/share/dict/words /usr/lib/os-release >/dev/null 2>&1; true", cwd=d, env=env)
    eq(p.returncode, 0, p.stderr)
    g = litebox("policy", "generate", "--from", log, env=env, cwd=d)
    eq(g.returncode, 0, "generate: " + g.stderr)
    lines = [l.split("#")[0].split() for l in g.stdout.splitlines() if l.startswith("allow")]
    objs = [l[2] for l in lines if len(l) > 2]
    assert "$HOME/.ssh/id_rsa" in objs and "$HOME/.ssh/config" in objs, g.stdout
    assert not any(o.startswith("$HOME/.ssh/*") or o in ("$HOME/**", "/**") for o in objs), g.stdout
    assert any(o.startswith("/usr/") and o.endswith("/**") for o in objs), "system reads are folded: " + g.stdout
    assert not any("syscall" == l[1] for l in lines), "no syscall grants"


@test
def nothing_is_lost_under_load():
    """100,000 judged accesses from 8 threads in each of 4 processes: the
    log holds exactly that many records of them, and the summary counts
    every record."""
    d = lbtest.tmpdir()
    exe = os.path.join(d, "many_stats")
    subprocess.run(["cc", "-O1", "-pthread", "-o", exe,
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), "fsprogs", "many_stats.c")],
                   check=True)
    target = os.path.join(d, "target")
    open(target, "w").close()
    log = os.path.join(d, "load.jsonl")
    p = litebox("run", "-q", "--log", log, "--", exe, target, "3125", cwd=d, timeout=600)
    eq(p.returncode, 0, p.stderr)
    eq(p.stdout.strip(), "processes=4", "all four processes finished")
    recs = records(log)
    summary = recs[-1]
    eq(summary.get("event"), "exit", "summary line last")
    eq(recs[0].get("event"), "start", "start line first")
    eq(sum(summary["counts"].values()), len(recs) - 2, "the summary counts every record")
    hits = sum(1 for r in recs[1:-1] if r.get("object") == target and r.get("syscall") in ("stat", "newfstatat"))
    eq(hits, 100000, "records of the 100,000 stats")


@test
def learned_policy_gets_the_users_umask_and_never_follows_a_planted_link():
    d = lbtest.tmpdir()
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write("untouched\n")
    # the names a predictable temp file would have had
    for n in range(1, 64):
        os.symlink(victim, os.path.join(d, "out.policy.tmp.%d" % n))
    old = os.umask(0o022)
    try:
        p = litebox("learn", "-q", "-o", os.path.join(d, "out.policy"), "--", "/bin/true", cwd=d)
    finally:
        os.umask(old)
    eq(p.returncode, 0, p.stderr)
    eq(stat.S_IMODE(os.stat(os.path.join(d, "out.policy")).st_mode), 0o644, "umask 022 applies")
    eq(open(victim).read(), "untouched\n")
    leftovers = [n for n in os.listdir(d) if n.startswith("out.policy.") and ".tmp." not in n]
    eq(leftovers, [], "no temporary file left behind")


@test
def learning_never_changes_the_host_beyond_the_base():
    d = lbtest.tmpdir()
    import tempfile
    outside = tempfile.mkdtemp(dir="/var/tmp", prefix="litebox-test-")  # not granted by the base
    lbtest._tmpdirs.append(outside)
    target = os.path.join(outside, "planted")
    out = os.path.join(d, "out.policy")
    p = litebox("learn", "-q", "-o", out, "--", "/bin/sh", "-c",
                f"echo ok > made; echo evil > {target}; cat /etc/hostname", cwd=d)
    eq(open(os.path.join(d, "made")).read(), "ok\n", "control: the base's own grant works " + p.stderr)
    assert not os.path.exists(target), "learn wrote outside the base"
    text = open(out).read()
    assert "allow write" in text and os.path.basename(outside) in text, "the refused write is learned: " + text
    # and enforcing the learned policy lets the program do it
    q = litebox("run", "-q", "-p", out, "--", "/bin/sh", "-c", f"echo ok2 > {target}", cwd=d)
    eq(q.returncode, 0, q.stderr)
    eq(open(target).read(), "ok2\n")



@test
def learning_again_into_the_same_file_keeps_what_it_held():
    # docs/audit.md: `learn -p F -o F` goes on past the first pass. Writing
    # `include F` into F destroyed the first pass and made F include
    # itself (new-user review N14).
    d = lbtest.tmpdir()
    pol = os.path.join(d, "tool.policy")
    first = "ls /var/log >/dev/null; true"
    both = "ls /var/log >/dev/null && head -c1 /var/lib/dpkg/status >/dev/null && echo BOTH"
    p = litebox("learn", "-q", "-o", pol, "--", "/bin/sh", "-c", first, cwd=d)
    eq(p.returncode, 0, p.stderr)
    p = litebox("learn", "-q", "-p", pol, "-o", pol, "--", "/bin/sh", "-c", both, cwd=d)
    eq(p.returncode, 0, p.stderr)
    with open(pol) as f:
        text = f.read()
    eq("include " + pol in text, False, text)
    eq(text.count("version 1"), 1, text)
    eq("/var/log" in text and "/var/lib/dpkg" in text, True, text)
    p = litebox("policy", "check", pol)
    eq(p.returncode, 0, p.stderr)
    p = litebox("run", "-q", "-p", pol, "--", "/bin/sh", "-c", both, cwd=d)
    eq((p.returncode, p.stdout), (0, "BOTH\n"), p.stderr)
    # control: learning into another file includes the base by name,
    # relative within the working tree so that the pair travels with a
    # checkout (N24), absolute from outside it
    os.mkdir(os.path.join(d, "sub"))
    for out, name in ((os.path.join(d, "next.policy"), "tool.policy"),
                      (os.path.join(d, "sub", "next.policy"), "../tool.policy")):
        p = litebox("learn", "-q", "-p", pol, "-o", out, "--", "/bin/true", cwd=d)
        with open(out) as f:
            eq(f"include {name}\n" in f.read(), True, f"include of the base in {out}")
    elsewhere = lbtest.tmpdir()
    p = litebox("learn", "-q", "-p", pol, "-o", "next.policy", "--", "/bin/true", cwd=elsewhere)
    with open(os.path.join(elsewhere, "next.policy")) as f:
        eq(f"include {pol}\n" in f.read(), True, "absolute from outside the tree")

if __name__ == "__main__":
    lbtest.run()
