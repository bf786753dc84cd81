#!/usr/bin/env python3
"""CI mode (cli.md, issue 15): --fail-on-deny, --log-level, the start and
exit records, the closing line, the timeout message, GitHub annotations and
the step summary, folded lines naming their pids, --allow-* PATH forms.
Real programs run; what they did is checked on the host."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test


def project():
    """A directory with a secret the policy refuses and a policy file."""
    d = lbtest.tmpdir()
    with open(os.path.join(d, "secret"), "w") as f:
        f.write("s3cret\n")
    with open(os.path.join(d, "ci.policy"), "w") as f:
        f.write("version 1\ninclude default\ndeny read $CWD/secret\n")
    return d


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def env_without_gha(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_") and k != "PWD"}
    env.update(extra)
    return env


@test
def fail_on_deny_turns_a_refusal_into_123():
    d = project()
    script = "cat secret > got 2>/dev/null; echo done > ran; true"
    p = litebox("run", "-p", "ci.policy", "--fail-on-deny", "--", "/bin/sh", "-c", script,
                cwd=d, env=env_without_gha())
    eq(p.returncode, 123, "status: " + p.stderr)
    eq(open(os.path.join(d, "ran")).read(), "done\n", "the program ran to its end")
    eq(open(os.path.join(d, "got")).read(), "", "the secret was not read")
    assert "--fail-on-deny" in p.stderr, p.stderr
    # Control: the same run without the flag keeps the program's status.
    p = litebox("run", "-p", "ci.policy", "--", "/bin/sh", "-c", script, cwd=d, env=env_without_gha())
    eq(p.returncode, 0, "without --fail-on-deny: " + p.stderr)
    # A failing program keeps its own status.
    p = litebox("run", "-q", "-p", "ci.policy", "--fail-on-deny", "--", "/bin/sh", "-c",
                "cat secret 2>/dev/null; exit 3", cwd=d, env=env_without_gha())
    eq(p.returncode, 3, "the program's own failure wins")


@test
def lookups_of_absent_paths_do_not_fail_the_run():
    d = project()
    log = os.path.join(d, "a.jsonl")
    p = litebox("run", "-p", "ci.policy", "--fail-on-deny", "--log", log, "--", "/bin/sh", "-c",
                "ls /srv/litebox-absent-probe 2>/dev/null; echo ok > ran; true", cwd=d,
                env=env_without_gha())
    recs = records(log)
    probes = [r for r in recs if r.get("object") == "/srv/litebox-absent-probe"]
    if not probes or any(r["verdict"] == "allow" for r in probes):
        lbtest.skip("this machine's default profile grants /srv: no refused absent lookup to test")
    assert all(r.get("absent") for r in probes), probes
    eq(p.returncode, 0, "only absent lookups were refused: " + p.stderr)
    eq(open(os.path.join(d, "ran")).read(), "ok\n", "the program ran")
    exit_rec = recs[-1]
    assert exit_rec["counts"]["absent"] >= len(probes), exit_rec
    eq(exit_rec["refused"], 0, "no refusal counted")
    assert "refused" not in p.stderr, "no closing line without refusals: " + p.stderr


@test
def start_and_exit_records_frame_the_log():
    d = project()
    log = os.path.join(d, "run.jsonl")
    p = litebox("run", "-q", "-p", "ci.policy", "--log", log, "--", "/bin/sh", "-c",
                "cat secret; cat secret; ls /srv/litebox-absent-probe; echo x > out", cwd=d,
                env=env_without_gha())
    eq(open(os.path.join(d, "out")).read(), "x\n", "control: the program wrote its file")
    recs = records(log)
    start, end = recs[0], recs[-1]
    eq(start.get("event"), "start", "first line")
    for k in ("version", "argv", "policy", "mode", "platform", "run_id"):
        assert k in start, (k, start)
    eq(start["argv"][:2], ["/bin/sh", "-c"], "argv")
    eq(start["policy"], "ci.policy", "policy")
    eq(start["mode"], "enforce", "mode")
    assert start["platform"] in ("seccomp", "ptrace"), start
    assert re.fullmatch(r"[0-9a-f]{32}", start["run_id"]), start
    eq(end.get("event"), "exit", "last line")
    eq(end["status"], p.returncode, "status")
    eq(end["signal"], None, "signal")
    assert isinstance(end["duration_ms"], int), end
    body = recs[1:-1]
    eq(sum(end["counts"].values()), len(body), "counts add up to the records")
    denies = [r for r in body if r["verdict"] == "deny" and not r.get("absent")]
    eq(end["counts"]["deny"], len(denies), "deny counts refusals only")
    eq(end["counts"]["absent"], sum(1 for r in body if r["verdict"] != "allow" and r.get("absent")),
       "absent lookups counted apart")
    eq(end["refused"], 2, "two refused reads of the secret")
    eq(end["distinct"], 1, "one distinct refusal")


@test
def log_level_refused_keeps_only_refusals():
    d = project()
    log = os.path.join(d, "r.jsonl")
    p = litebox("run", "-q", "-p", "ci.policy", "--log", log, "--log-level", "refused", "--",
                "/bin/sh", "-c", "cat secret; cat /etc/hostname > out", cwd=d, env=env_without_gha())
    eq(p.returncode, 0, p.stderr)
    assert os.path.getsize(os.path.join(d, "out")) > 0, "control: the allowed read happened"
    recs = records(log)
    eq(recs[0]["event"], "start", "start record")
    eq(recs[-1]["event"], "exit", "exit record")
    body = recs[1:-1]
    eq(sorted({r["verdict"] for r in body}), ["deny"], "only refusals are written")
    assert any(r["object"] == os.path.join(d, "secret") for r in body), body
    eq(recs[-1]["counts"]["allow"], None, "plain allows are not counted at this level")
    # Control: `all` writes the allows too.
    log2 = os.path.join(d, "all.jsonl")
    litebox("run", "-q", "-p", "ci.policy", "--log", log2, "--log-level", "all", "--",
            "/bin/cat", "/etc/hostname", cwd=d, env=env_without_gha())
    assert any(r.get("verdict") == "allow" for r in records(log2)), "all: allows written"
    p = litebox("run", "--log-level", "refusd", "--", "/bin/true")
    eq(p.returncode, 125, "bad level")
    assert "did you mean refused?" in p.stderr, p.stderr


@test
def closing_line_counts_refusals_and_absent_lookups():
    d = project()
    p = litebox("run", "-p", "ci.policy", "--", "/bin/sh", "-c",
                "cat secret; cat secret; cat secret; ls /srv/litebox-absent-probe; true",
                cwd=d, env=env_without_gha())
    eq(p.returncode, 0, p.stderr)
    last = p.stderr.splitlines()[-1]
    assert re.fullmatch(r"litebox: 3 accesses refused \(1 distinct\)(, \d+ lookups? of absent "
                        r"paths)?; details: --log FILE", last), last
    log = os.path.join(d, "c.jsonl")
    p = litebox("run", "-p", "ci.policy", "--log", log, "--", "/bin/sh", "-c", "cat secret; true",
                cwd=d, env=env_without_gha())
    assert p.stderr.splitlines()[-1].endswith("; details: " + log), p.stderr
    p = litebox("run", "-q", "-p", "ci.policy", "--", "/bin/sh", "-c", "cat secret; true", cwd=d,
                env=env_without_gha())
    eq(p.stderr, "cat: secret: Permission denied\n", "-q: no litebox lines")


@test
def folded_lines_name_every_pid():
    d = project()
    p = litebox("run", "-p", "ci.policy", "--", "/bin/sh", "-c",
                "for i in 1 2 3; do cat secret 2>/dev/null; done; true", cwd=d, env=env_without_gha())
    lines = [line for line in p.stderr.splitlines() if "denied read " + os.path.join(d, "secret") in line]
    eq(len(lines), 2, "the first line, then the folded one: " + p.stderr)
    m = re.search(r"\(pids (\d+),(\d+),(\d+) cat, open(at)?\)", lines[1])
    assert m and lines[1].endswith("(\u00d73)"), lines[1]
    assert len({m.group(1), m.group(2), m.group(3)}) == 3, lines[1]
    assert f"(pid {m.group(1)} cat," in lines[0], lines[0]


@test
def timeout_says_so():
    d = lbtest.tmpdir()
    p = litebox("run", "--timeout", "1s", "--", "/bin/sh", "-c", "sleep 30; echo late > late", cwd=d)
    eq(p.returncode, 124, "status")
    assert "litebox: timed out after 1s; the sandbox was killed" in p.stderr.splitlines(), p.stderr
    assert not os.path.exists(os.path.join(d, "late")), "the program was killed"


@test
def github_annotations_and_step_summary():
    d = project()
    # A file name chosen by the program, with a line break, "::" and "%".
    evil = "x\n::warning::pwned%0A"
    os.mkdir(os.path.join(d, "s"))
    with open(os.path.join(d, "s", evil), "w") as f:
        f.write("s\n")
    with open(os.path.join(d, "ci.policy"), "a") as f:
        f.write("deny read $CWD/s/x*\n")
    summary = os.path.join(d, "summary.md")
    open(summary, "w").close()
    env = env_without_gha(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=summary)
    script = 'cat secret; cat secret; cat s/*; echo ran > ran; true'
    p = litebox("run", "-p", "ci.policy", "--", "/bin/sh", "-c", script, cwd=d, env=env)
    eq(p.returncode, 0, p.stderr)
    eq(open(os.path.join(d, "ran")).read(), "ran\n", "control: the program ran")
    lines = p.stderr.splitlines()
    assert not any(line.startswith("::warning") for line in lines), "a name forged a command: " + p.stderr
    ann = [line for line in lines if line.startswith("::")]
    eq(len(ann), 2, "one annotation per distinct refusal: " + p.stderr)
    eq(ann[0], f"::error title=litebox::denied read {d}/secret (cat, openat)", "annotation")
    assert ann[1].startswith("::error title=litebox::denied read "), ann[1]
    assert "x%0A%3A:warning%3A:pwned%250A" in ann[1], ann[1]
    text = open(summary).read()
    rows = [line for line in text.splitlines() if line.startswith("| denied")]
    eq(len(rows), 2, "two table rows: " + text)
    md_d = re.sub(r"([|\\`*_\[\]#!~])", r"\\\1", d)  # Markdown-escaped, as in the table
    assert f"{md_d}/secret" in rows[0] and "| 2 |" in rows[0] and "refused by" in rows[0], rows[0]
    assert "pwned" in rows[1] and "\n::" not in text, text
    # Control: outside GitHub Actions, no workflow commands and no summary.
    open(summary, "w").close()
    p = litebox("run", "-p", "ci.policy", "--", "/bin/sh", "-c", script, cwd=d,
                env=env_without_gha(GITHUB_STEP_SUMMARY=summary))
    assert not any(line.startswith("::") for line in p.stderr.splitlines()), p.stderr
    eq(open(summary).read(), "", "no summary outside GitHub Actions")


@test
def allow_flags_take_relative_paths_and_whole_trees():
    d = lbtest.tmpdir()
    for sub in ("out", "dot"):
        os.mkdir(os.path.join(d, sub))
    pol = os.path.join(d, "ro.policy")
    with open(pol, "w") as f:  # nothing writable but what the flags grant
        f.write("version 1\nallow read /**\nallow exec /usr/** /bin/** /lib*/**\n")
    script = "mkdir -p out/a/b && echo 1 > out/a/b/f && echo 2 > dot/f && mkdir new && echo 3 > new/f"
    p = litebox("run", "-q", "-p", pol, "--allow-write", "out", "--allow-write", "./dot",
                "--allow-write", "new/", "--", "/bin/sh", "-c", script, cwd=d)
    eq(p.returncode, 0, "relative and directory flags: " + p.stderr)
    eq(open(os.path.join(d, "out/a/b/f")).read(), "1\n", "out covers its tree")
    eq(open(os.path.join(d, "dot/f")).read(), "2\n", "./dot is accepted")
    eq(open(os.path.join(d, "new/f")).read(), "3\n", "new/ (absent) covers its tree")
    # Control: what no flag names stays refused.
    p = litebox("run", "-q", "-p", pol, "--allow-write", "out", "--", "/bin/sh", "-c",
                "echo 4 > other", cwd=d)
    assert p.returncode != 0 and not os.path.exists(os.path.join(d, "other")), "control"


if __name__ == "__main__":
    lbtest.run()
