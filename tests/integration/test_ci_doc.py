#!/usr/bin/env python3
"""docs/ci.md and action.yml are real: the plain-shell example of ci.md
runs as written (checkout, build under a policy, a planted refusal fails
the build with 123), and the GitHub Action is valid YAML whose inputs the
documentation names and whose scripts parse."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, test

SRC = lbtest.SOURCE_ROOT
MARK = "<!-- ci-example:"


def example_script():
    text = open(os.path.join(SRC, "docs", "ci.md")).read()
    start = text.index(MARK)
    m = re.compile(r"```sh\n(.*?)```", re.S).search(text, start)
    return m.group(1)


@test
def plain_shell_example_runs_and_catches_the_planted_refusal():
    if not shutil.which("git") or not shutil.which("make") or not shutil.which("cc"):
        lbtest.skip("the example needs git, make and cc")
    d = lbtest.tmpdir()
    script = os.path.join(d, "ci-example.sh")
    with open(script, "w") as f:
        f.write(example_script())
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["LITEBOX"] = os.path.abspath(lbtest.LITEBOX)
    env["TMPDIR"] = d
    p = subprocess.run(["sh", script], capture_output=True, text=True, env=env, cwd=d, timeout=300)
    eq(p.returncode, 0, "the example script: " + p.stdout + p.stderr)
    assert "ci: clean build passed" in p.stdout, p.stdout
    assert "ci: planted refusal caught, the build fails with 123" in p.stdout, p.stdout
    assert "denied read " in p.stderr and "secrets/deploy-token" in p.stderr, p.stderr
    last = p.stdout.strip().splitlines()[-1]
    assert '"event":"exit"' in last and '"status":123' in last, last


def action():
    try:
        import yaml
    except ImportError:
        lbtest.skip("python3-yaml is not installed: the action's YAML cannot be checked here")
    with open(os.path.join(SRC, "action.yml")) as f:
        return yaml.safe_load(f)


@test
def action_yaml_is_a_valid_composite_action():
    a = action()
    for k in ("name", "description", "inputs", "runs"):
        assert k in a, f"action.yml has no {k}"
    eq(a["runs"]["using"], "composite", "runs.using")
    assert a["inputs"]["run"].get("required") is True, "the command is required"
    steps = a["runs"]["steps"]
    for s in steps:
        assert "run" in s or "uses" in s, s
        if "run" in s:
            eq(s.get("shell"), "bash", f"composite run steps name their shell: {s.get('name')}")
            # Inputs reach scripts through env, never spliced into the script text.
            assert "${{" not in s["run"], f"expression inside a script: {s.get('name')}"
            p = subprocess.run(["bash", "-n"], input=s["run"], capture_output=True, text=True)
            eq(p.returncode, 0, f"bash -n of step {s.get('name')}: {p.stderr}")
    upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    eq(len(upload), 1, "one upload step")
    assert "always()" in upload[0]["if"], "the log is uploaded whatever the outcome"
    runs = [s for s in steps if "run" in s and "litebox run" in s["run"]]
    eq(len(runs), 1, "one step runs litebox")
    assert "--fail-on-deny" in runs[0]["run"] and "--log" in runs[0]["run"], runs[0]["run"]
    # Every input is documented in docs/ci.md.
    doc = open(os.path.join(SRC, "docs", "ci.md")).read()
    missing = [i for i in a["inputs"] if f"`{i}`" not in doc]
    eq(missing, [], "action inputs missing from docs/ci.md")


if __name__ == "__main__":
    lbtest.run()
