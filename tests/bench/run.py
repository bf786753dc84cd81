#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""litebox benchmark driver (see docs/benchmarks.md).

Times a fixed set of workloads natively, under litebox and under every peer
sandbox that is installed and works here (strace -f as the ptrace baseline,
proot, bubblewrap, firejail, gVisor runsc). Every runner's output for a
workload is first checked against the native output: a runner that breaks a
workload is reported as FAIL (with its error output), never with a time.
Repetitions alternate between runners. Results: OUT/results.md (Markdown),
OUT/results.json, OUT/results.png (when matplotlib or gnuplot is available).

Standard library only; matplotlib is optional (used for the plot, possibly
through another interpreter such as Debian's /usr/bin/python3).

    python3 tests/bench/run.py --litebox build/cmd/litebox --reps 5 --out bench-results
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent.parent

# Same environment for every runner, so that no runner is helped or hurt by
# the caller's environment (pyenv shims, locale, ...).
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": os.environ.get("HOME", "/root"),
    "LC_ALL": "C",
    "LANG": "C",
    "TERM": "dumb",
}

# Targets from issue 16: ratio to native of litebox under the default
# profile (the runner "litebox"), per-round ratios, median.
TARGETS = {
    "cpu": 1.05,
    "getppid": 1.1,
    "make": 1.15,
    "python": 1.25,
    "open": 8.0,
    "forkexec": 1.3,
    "readtree": 3.0,
    "gitstatus": 4.0,
}

# The litebox runners: the default profile (plus exec of the benchmark's
# own programs, which live under the work dir) and permissive.
LITEBOX_RUNNERS = ("litebox", "litebox-fast", "litebox-baseline", "litebox-permissive",
                   "litebox-ptrace", "litebox-ptrace-fast")

PTRACE_PEERS = ("strace", "proot")

PY_MODULES = ["json", "re", "os", "subprocess", "collections", "datetime",
              "decimal", "argparse", "logging", "pathlib", "tempfile", "csv"]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Workloads


class Workload:
    def __init__(self, name, title, argv, cwd=None, inner=False, prepare=None):
        self.name = name          # short key (results.json)
        self.title = title        # human description
        self.argv = argv          # the command, absolute paths only
        self.cwd = cwd
        self.inner = inner        # program prints "loop_ns N" on stderr
        self.prepare = prepare    # callable run before every timed run


def compile_c(src, out, extra=()):
    cmd = ["cc", "-O2", "-std=c11", "-o", str(out), str(src), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"compiling {src} failed:\n{r.stderr}")


def gen_make_project(d, nfiles, nfuncs, opt="-O1"):
    """A small C project: nfiles translation units + main.c + a Makefile."""
    d.mkdir(parents=True, exist_ok=True)
    hdr = ["#ifndef PROJ_H", "#define PROJ_H", "#include <stdint.h>"]
    for f in range(nfiles):
        hdr.append(f"uint64_t unit{f}(uint64_t seed);")
    hdr.append("#endif")
    (d / "proj.h").write_text("\n".join(hdr) + "\n")
    for f in range(nfiles):
        src = ["#include <stdint.h>", "#include <string.h>", "#include <stdio.h>",
               "#include <stdlib.h>", '#include "proj.h"', ""]
        for k in range(nfuncs):
            src += [
                f"struct s{f}_{k} {{ uint64_t a[8]; uint32_t b; char name[24]; }};",
                f"static uint64_t fn{f}_{k}(uint64_t x, struct s{f}_{k} *s)",
                "{",
                "\tfor (int i = 0; i < 8; i++) {",
                f"\t\tswitch ((x + i) % 7) {{",
                f"\t\tcase 0: s->a[i] ^= x * {2 * k + 3}u; break;",
                f"\t\tcase 1: s->a[i] += x >> {k % 13 + 1}; break;",
                f"\t\tcase 2: s->a[i] = (s->a[i] << 3) | (x & {k + 1}u); break;",
                f"\t\tcase 3: s->b += (uint32_t)(s->a[i] % {k + 5}u); break;",
                "\t\tcase 4: s->name[i % 24] = (char)('a' + (x % 26)); break;",
                f"\t\tdefault: x = x * 6364136223846793005ULL + {f * 100 + k}u; break;",
                "\t\t}",
                "\t\tx ^= s->a[i] + s->b;",
                "\t}",
                "\tfor (size_t j = 0; j < strlen(s->name); j++)",
                "\t\tx = x * 31 + (uint64_t)s->name[j];",
                "\treturn x;",
                "}",
                "",
            ]
        src += [f"uint64_t unit{f}(uint64_t seed)", "{", "\tuint64_t x = seed;"]
        for k in range(nfuncs):
            src += [f"\t{{ struct s{f}_{k} s; memset(&s, 0, sizeof(s));",
                    f"\t  x = fn{f}_{k}(x, &s); }}"]
        src += ["\treturn x;", "}"]
        (d / f"unit{f}.c").write_text("\n".join(src) + "\n")
    main = ["#include <stdio.h>", "#include <inttypes.h>", '#include "proj.h"',
            "int main(void)", "{", "\tuint64_t x = 1;"]
    for f in range(nfiles):
        main.append(f"\tx = unit{f}(x);")
    main += ['\tprintf("result %016" PRIx64 "\\n", x);', "\treturn 0;", "}"]
    (d / "main.c").write_text("\n".join(main) + "\n")
    objs = " ".join([f"unit{f}.o" for f in range(nfiles)] + ["main.o"])
    (d / "Makefile").write_text(
        f"CC = cc\nCFLAGS = {opt} -Wall\n"
        f"OBJS = {objs}\n"
        "prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n"
        "%.o: %.c proj.h\n\t$(CC) $(CFLAGS) -c -o $@ $<\n"
        "clean:\n\trm -f $(OBJS) prog\n")


def gen_git_repo(d, nfiles, per_dir=100):
    """A committed git repository of nfiles small files in directories of
    per_dir, with a .gitignore, one modified and one untracked file (so
    that status has something to say)."""
    d.mkdir(parents=True)
    for i in range(nfiles):
        sub = d / f"d{i // per_dir:03d}"
        if i % per_dir == 0:
            sub.mkdir()
        (sub / f"f{i:05d}.txt").write_text(f"file {i}\n" * (1 + i % 5))
    (d / ".gitignore").write_text("*.o\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        r = subprocess.run(git + cmd, cwd=d, capture_output=True, text=True, env=BASE_ENV)
        if r.returncode != 0:
            raise SystemExit(f"git {' '.join(cmd)} failed:\n{r.stderr}")
    (d / "d000" / "f00000.txt").write_text("changed\n")
    (d / "untracked.txt").write_text("new\n")
    # One status natively so the index is refreshed (racy-clean entries):
    # every runner then sees the same, read-mostly, state.
    subprocess.run(["git", "status", "--porcelain"], cwd=d, capture_output=True, env=BASE_ENV)


def setup_workloads(work, quick, only):
    """Create binaries and data in the work dir; return the workload list."""
    bindir = work / "bin"
    bindir.mkdir()
    for prog in ("openloop", "getppid_loop", "cpuloop", "readtree"):
        compile_c(BENCH_DIR / f"{prog}.c", bindir / prog)

    n_open = 5000 if quick else 20000
    n_getppid = 200000
    n_cpu = 100_000_000 if quick else 400_000_000
    n_fork = 100 if quick else 300
    n_py = 3 if quick else 10
    make_files, make_funcs = (3, 20) if quick else (5, 40)
    many_files = 10 if quick else 30
    git_files = 1000 if quick else 5000
    tree = "/usr/include/linux" if quick else "/usr/include"

    wl = []

    def want(name):
        return not only or name in only

    if want("open"):
        files = work / "files"
        files.mkdir()
        for i in range(n_open):
            (files / f"f{i:05d}").write_text("x" * (i % 97) + "\n")
        wl.append(Workload(
            "open", f"open/fstat/close loop over {n_open} files (C)",
            [str(bindir / "openloop"), str(files), str(n_open)], inner=True))
    if want("getppid"):
        wl.append(Workload(
            "getppid", f"{n_getppid} getppid calls, never trapped (C)",
            [str(bindir / "getppid_loop"), str(n_getppid)], inner=True))
    if want("forkexec"):
        wl.append(Workload(
            "forkexec", f"{n_fork} fork+exec of /bin/true (sh loop)",
            ["/bin/sh", "-c",
             f"i=0; while [ $i -lt {n_fork} ]; do /bin/true; i=$((i+1)); done; echo $i"]))
    if want("make"):
        proj = work / "proj"
        gen_make_project(proj, make_files, make_funcs)
        wl.append(Workload(
            "make", f"make -j2, C build of {make_files + 1} files, -O1",
            ["/bin/sh", "-c",
             f"cd {proj} && rm -f *.o prog && make -s -j2 && cksum prog"]))
    if want("makemany"):
        proj = work / "many"
        gen_make_project(proj, many_files, 2)
        wl.append(Workload(
            "makemany", f"make -j2, many small files: {many_files + 1} C files, -O1",
            ["/bin/sh", "-c",
             f"cd {proj} && rm -f *.o prog && make -s -j2 && cksum prog"]))
    if want("gitstatus"):
        repo = work / "repo"
        gen_git_repo(repo, git_files)
        wl.append(Workload(
            "gitstatus", f"git status of a {git_files}-file repository",
            [shutil.which("git", path=BASE_ENV["PATH"]) or "/usr/bin/git",
             "status", "--porcelain"], cwd=str(repo)))
    if want("python"):
        imports = ", ".join(PY_MODULES)
        code = f"import {imports}; print('ok', {len(PY_MODULES)})"
        wl.append(Workload(
            "python", f"{n_py} python3 start-ups importing {len(PY_MODULES)} stdlib modules",
            ["/bin/sh", "-c",
             f"i=0; while [ $i -lt {n_py} ]; do /usr/bin/python3 -c \"{code}\" || exit 1; "
             "i=$((i+1)); done"]))
    if want("readtree"):
        wl.append(Workload(
            "readtree", f"read every file under {tree} (C, nftw)",
            [str(bindir / "readtree"), tree]))
    if want("cpu"):
        wl.append(Workload(
            "cpu", f"pure CPU loop, {n_cpu // 1_000_000}M xorshift steps (C)",
            [str(bindir / "cpuloop"), str(n_cpu)], inner=True))
    return wl


# --------------------------------------------------------------------------
# Runners


class Runner:
    def __init__(self, name, prefix, note="", ptrace=False):
        self.name = name
        self.prefix = prefix      # list, or callable(workload) -> list
        self.note = note
        self.ptrace = ptrace
        self.unavailable = None   # reason string when it cannot run here

    def argv(self, w):
        pre = self.prefix(w) if callable(self.prefix) else self.prefix
        return list(pre) + list(w.argv)


def resolve_litebox(opt):
    p = opt or os.environ.get("LITEBOX") or "build/cmd/litebox"
    cand = Path(p)
    if not cand.is_absolute():
        if not cand.exists() and (REPO_ROOT / cand).exists():
            cand = REPO_ROOT / cand
        elif not cand.exists() and not opt and not os.environ.get("LITEBOX"):
            cand = REPO_ROOT / cand
    return cand.resolve() if cand.exists() else cand


def probe(argv, timeout=60):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env=BASE_ENV, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    if r.returncode != 0 or r.stdout.strip() != "probe-ok":
        msg = (r.stderr.strip() or r.stdout.strip() or f"exit {r.returncode}")
        return False, f"exit {r.returncode}: " + " | ".join(msg.splitlines()[-3:])
    return True, ""


def litebox_policy_file(work):
    """The default profile plus exec of the benchmark's own programs (they
    live in the work dir, which the default profile lets read and write)."""
    f = work / "bench.policy"
    f.write_text(f"version 1\ninclude default\nallow exec {work}/**\n")
    return f


def litebox_fast_policy_file(work, pol):
    """The same policy with `set mediation fast` (docs/policy.md)."""
    f = work / "bench-fast.policy"
    f.write_text(f"version 1\ninclude {pol[-1]}\nset mediation fast\n")
    return f


def setup_litebox_fast(lb, pol, probe_cmd, work, name="litebox-fast"):
    """litebox-fast: unavailable when the policy falls back to exact where
    the workloads run."""
    r = setup_litebox(name, lb, pol, probe_cmd)
    if r.unavailable:
        return r
    p = subprocess.run([str(lb), "run", *pol, "--", *probe_cmd], capture_output=True,
                       text=True, timeout=60, cwd=str(work), env=BASE_ENV,
                       stdin=subprocess.DEVNULL)
    if "this run is exact" in p.stderr:
        r.prefix = []
        r.unavailable = "unavailable: " + p.stderr.strip().splitlines()[-1]
    return r


def setup_litebox(name, lb, pol, probe_cmd):
    r = Runner(name, [])
    r.path = str(lb)
    if not lb.exists():
        r.unavailable = f"unavailable: {lb} not found (build it: meson compile -C build)"
        return r
    ok, why = probe([str(lb), "run", "-q", *pol, "--", *probe_cmd])
    if ok:
        r.prefix = [str(lb), "run", "-q", *pol, "--"]
        r.note = f"litebox run -q {' '.join(pol)} --"
    else:
        r.unavailable = f"unavailable: {why}"
    return r


def setup_runners(args, work):
    runners = [Runner("native", [])]
    probe_cmd = ["/bin/sh", "-c", "echo probe-ok"]

    lb = resolve_litebox(args.litebox)
    pol = ["-p", str(litebox_policy_file(work))] if not args.policy else ["-p", args.policy]
    runners.append(setup_litebox("litebox", lb, pol, probe_cmd))
    if args.baseline:
        # Another build with the same policy, in the same rounds: a change's
        # before and after under the same load.
        runners.append(setup_litebox("litebox-baseline", Path(args.baseline).resolve(), pol,
                                     probe_cmd))
    fast = ["-p", str(litebox_fast_policy_file(work, pol))]
    if not args.no_fast:
        runners.append(setup_litebox_fast(lb, fast, probe_cmd, work))
    if not args.no_permissive:
        runners.append(setup_litebox("litebox-permissive", lb, ["-p", "permissive"], probe_cmd))
    if not args.no_ptrace:
        # The same policy as "litebox", on the ptrace platform.
        runners.append(setup_litebox("litebox-ptrace", lb, ["--platform", "ptrace", *pol],
                                     probe_cmd))
        if not args.no_fast:
            # ...and with 'set mediation fast': what trapping less gives
            # the platform whose every trap is a stop (an open two).
            runners.append(setup_litebox_fast(lb, ["--platform", "ptrace", *fast], probe_cmd,
                                              work, "litebox-ptrace-fast"))
    if not args.no_overlay:
        # The same policy as "litebox", with every change going to an
        # overlay directory (reused across repetitions, as a user would).
        runners.append(setup_litebox("litebox-overlay", lb,
                                     [*pol, "--overlay", str(work / "bench.ovl")], probe_cmd))

    if args.no_peers:
        return runners

    peers = [
        Runner("strace", ["strace", "-f", "--seccomp-bpf", "-e", "trace=%file",
                          "-o", "/dev/null"],
               "strace -f --seccomp-bpf -e trace=%file -o /dev/null (ptrace, stops only "
               "at path-taking calls, as litebox traps them)", ptrace=True),
        Runner("proot", ["proot"], "proot (ptrace, seccomp-accelerated)",
               ptrace=True),
        Runner("bwrap", ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev",
                         "--proc", "/proc", "--bind", str(work), str(work),
                         "--unshare-pid", "--die-with-parent"],
               "bwrap --ro-bind / / --dev /dev --proc /proc --bind WORK WORK "
               "--unshare-pid (namespaces only, no syscall mediation)"),
        Runner("firejail", ["firejail", "--quiet", "--noprofile"],
               "firejail --quiet --noprofile"),
        Runner("runsc", ["runsc", "--network=none", "do"],
               "gVisor runsc --network=none do (systrap/ptrace platform default)"),
    ]
    tool = {"strace": "strace", "proot": "proot", "bwrap": "bwrap",
            "firejail": "firejail", "runsc": "runsc"}
    for r in peers:
        if args.runners and r.name not in args.runners:
            continue
        exe = shutil.which(tool[r.name], path=BASE_ENV["PATH"])
        if not exe:
            r.unavailable = f"unavailable: {tool[r.name]} not installed"
        else:
            ok, why = probe(r.argv(Workload("probe", "", probe_cmd)))
            if not ok:
                r.unavailable = f"unavailable: {why}"
            if r.name == "runsc":
                v = subprocess.run(["runsc", "--version"], capture_output=True, text=True)
                r.note += f"; {v.stdout.splitlines()[0] if v.stdout else ''}"
        runners.append(r)
    return runners


# --------------------------------------------------------------------------
# Running


def cpu_busy(interval=0.1):
    """Fraction of all CPUs' time not idle over interval (from /proc/stat)."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = read()
    time.sleep(interval)
    t1, i1 = read()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


IDLE_STATS = {"runs": 0, "waited": 0, "gave_up": 0}


def wait_idle(threshold, max_wait):
    """The VM may be shared (other builds, fuzzers): start a timed run only
    when the machine is (nearly) idle, waiting at most max_wait seconds."""
    if threshold <= 0:
        return
    IDLE_STATS["runs"] += 1
    deadline = time.monotonic() + max_wait
    first = True
    while cpu_busy() > threshold:
        if first:
            IDLE_STATS["waited"] += 1
            first = False
        if time.monotonic() > deadline:
            IDLE_STATS["gave_up"] += 1
            return


def run_once(argv, cwd, timeout):
    """Run argv; return dict(wall, cpu, rc, out, err, timeout)."""
    before = os.times()
    t0 = time.perf_counter()
    try:
        p = subprocess.Popen(argv, cwd=cwd, env=BASE_ENV, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        return {"wall": None, "cpu": None, "rc": None, "out": "", "err": str(e),
                "timeout": False}
    try:
        out, err = p.communicate(timeout=timeout)
        to = False
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        to = True
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + \
          (after.children_system - before.children_system)
    return {"wall": wall, "cpu": cpu, "rc": p.returncode,
            "out": out.decode(errors="replace"), "err": err.decode(errors="replace"),
            "timeout": to}


def parse_inner(err):
    for line in err.splitlines():
        if line.startswith("loop_ns "):
            try:
                return int(line.split()[1]) / 1e9
            except ValueError:
                pass
    return None


def describe_failure(r, ref):
    if r["timeout"]:
        head = "timed out"
    elif r["rc"] != ref["rc"]:
        head = f"exit status {r['rc']} (native {ref['rc']})"
    else:
        head = "output differs from native"
    lines = [head]
    if r["out"].strip() != ref["out"].strip():
        lines.append("stdout: " + repr(r["out"].strip()[-300:]))
        lines.append("native stdout: " + repr(ref["out"].strip()[-300:]))
    err = "\n".join(l for l in r["err"].strip().splitlines() if not l.startswith("loop_ns"))
    if err:
        lines.append("stderr (tail): " + err[-800:])
    return "\n".join(lines)


def same_result(r, ref):
    return (not r["timeout"] and r["rc"] == ref["rc"] and
            r["out"].strip() == ref["out"].strip())


def summarize(xs):
    if not xs:
        return None
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) >= 2 else [xs[0]] * 3
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1],
            "q1": q[0], "q3": q[2], "n": len(xs)}


def rss_sample(lb_prefix, w, timeout):
    """Run w under litebox, sampling the supervisor's VmHWM from
    /proc/PID/status, and collect wait4's ru_maxrss for comparison."""
    argv = lb_prefix + w.argv
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, cwd=w.cwd, env=BASE_ENV, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT)
        hwm = rss = 0
        threads = 0
        deadline = time.monotonic() + timeout
        status = ru = None
        while True:
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm = max(hwm, int(line.split()[1]))
                        elif line.startswith("VmRSS:"):
                            rss = max(rss, int(line.split()[1]))
                        elif line.startswith("Threads:"):
                            threads = max(threads, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.002)
        p.returncode = os.waitstatus_to_exitcode(status)
    return {"workload": w.name, "vmhwm_kb": hwm, "max_vmrss_kb": rss,
            "max_threads": threads, "wait4_maxrss_kb": ru.ru_maxrss,
            "exit": p.returncode}


def microbench(lb_runner, work, timeout):
    exe = work / "bin" / "roundtrip"
    compile_c(BENCH_DIR / "roundtrip.c", exe)
    res = {"command": "cc -O2 -o roundtrip tests/bench/roundtrip.c; ./roundtrip; "
                      "litebox run -q -p POLICY -- ./roundtrip (default + exec, permissive)",
           "runs": [r.name for r in lb_runner]}
    for r in lb_runner:
        if r.unavailable:
            res[r.name] = {"unavailable": r.unavailable}
            continue
        o = run_once(r.argv(Workload("roundtrip", "", [str(exe)])), None, timeout)
        vals = {}
        for line in o["out"].splitlines():
            parts = line.split()
            if len(parts) >= 2:
                try:
                    vals[parts[0]] = float(parts[1])
                except ValueError:
                    pass
        if o["rc"] != 0 or not vals:
            res[r.name] = {"failed": describe_failure(o, {"rc": 0, "out": o["out"]})}
        else:
            res[r.name] = vals
    return res


# --------------------------------------------------------------------------
# Report


def fmt_t(s):
    if s is None:
        return "-"
    if s < 1:
        return f"{s * 1000:.0f} ms" if s >= 0.01 else f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def write_markdown(res, path):
    R = [r["name"] for r in res["runners"]]
    L = []
    L.append("# litebox benchmark results\n")
    m = res["machine"]
    L.append(f"- date: {res['date']}")
    L.append(f"- machine: {m['nproc']} CPUs ({m['cpu']}), kernel {m['kernel']}, {m['os']}")
    L.append(f"- command: `{res['command']}`")
    L.append(f"- repetitions: {res['reps']} (after one untimed check run per runner); "
             "runners alternate within each repetition")
    L.append("")
    L.append("## Runners\n")
    for r in res["runners"]:
        s = r["unavailable"] or r["note"] or ""
        L.append(f"- **{r['name']}**: {s}")
    L.append("")
    L.append("## Ratio to native (median over rounds of the round's wall time / native's)\n")
    L.append("| workload | " + " | ".join(R) + " | litebox target | litebox faster than ptrace peers |")
    L.append("|---" * (len(R) + 3) + "|")
    for w in res["workloads"]:
        cells = []
        for rn in R:
            c = w["results"].get(rn, {})
            if c.get("status") == "ok":
                cells.append(f"{c['ratio']:.2f}")
            elif c.get("status") == "FAIL":
                cells.append("FAIL")
            else:
                cells.append("n/a")
        t = w.get("target")
        tcell = "-"
        if t is not None:
            lbc = w["results"].get("litebox", {})
            met = w.get("target_met")
            tcell = f"≤ {t} " + ("met" if met else "missed" if met is not None else "")
        fp = w.get("faster_than_ptrace_peers") or {}
        fcell = ", ".join(f"{p}: {'yes' if v else 'NO'}" for p, v in fp.items()) or "-"
        L.append(f"| {w['name']} | " + " | ".join(cells) + f" | {tcell} | {fcell} |")
    L.append("")
    L.append("CPU-time ratio (user+sys of the runner's whole tree, litebox's supervisor "
             "included; median over rounds; 10 ms resolution, so only for workloads "
             "well above that):\n")
    L.append("| workload | " + " | ".join(R) + " |")
    L.append("|---" * (len(R) + 1) + "|")
    for w in res["workloads"]:
        cells = []
        for rn in R:
            c = w["results"].get(rn, {})
            v = c.get("cpu_ratio") if c.get("status") == "ok" else None
            cells.append(f"{v:.2f}" if v else "-")
        L.append(f"| {w['name']} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Wall time: median [min – max] (×native)\n")
    L.append("| workload | runner | median | min | max | IQR | ×native | CPU (user+sys) | in-process loop |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for w in res["workloads"]:
        for rn in R:
            c = w["results"].get(rn, {})
            if c.get("status") == "ok":
                s = c["wall"]
                inner = c.get("inner")
                inner_s = (f"{fmt_t(inner['median'])} (×{c['inner_ratio']:.2f})"
                           if inner and c.get("inner_ratio") else "-")
                cpu = c.get("cpu")
                L.append(f"| {w['name']} | {rn} | {fmt_t(s['median'])} | {fmt_t(s['min'])} | "
                         f"{fmt_t(s['max'])} | {fmt_t(s['q3'] - s['q1'])} | "
                         f"{c['ratio']:.2f} | {fmt_t(cpu['median']) if cpu else '-'} | {inner_s} |")
            elif c.get("status") == "FAIL":
                L.append(f"| {w['name']} | {rn} | FAIL | | | | | | |")
    L.append("")
    L.append("CPU (user+sys): of all reaped descendants (os.times), 10 ms resolution; "
             "near 0 for runners whose workers are not reaped through the driver's "
             "child (bwrap --unshare-pid) and partial for runsc. In-process loop: the "
             "program's own clock around its loop, which leaves out start-up.\n")
    ig = res.get("idle_gate")
    if ig and ig.get("threshold"):
        L.append(f"Idle gate: each timed run started once the CPUs were < "
                 f"{ig['threshold'] * 100:.0f}% busy (waited before {ig['waited']} of "
                 f"{ig['runs']} runs, gave up after {ig['max_wait']:.0f} s {ig['gave_up']} "
                 "times).\n")
    L.append("Workloads:\n")
    for w in res["workloads"]:
        L.append(f"- **{w['name']}**: {w['title']} — `{' '.join(w['argv'])}`")
    fails = [(w["name"], rn, c["detail"]) for w in res["workloads"]
             for rn, c in w["results"].items() if c.get("status") == "FAIL"]
    if fails:
        L.append("\n## Failures\n")
        for wn, rn, d in fails:
            L.append(f"### {wn} under {rn}\n")
            L.append("```\n" + d + "\n```\n")
    mb = res.get("microbench")
    if mb:
        L.append("\n## Micro-benchmark (tests/bench/roundtrip.c, ns per call, median of 7 batches)\n")
        L.append(f"`{mb['command']}`\n")
        runs = [k for k in mb.get("runs", ("native", "litebox")) if k in mb]
        ops = []
        for k in runs:
            if isinstance(mb[k], dict):
                for op in mb[k]:
                    if op not in ("unavailable", "failed") and op not in ops:
                        ops.append(op)
        lbs = [k for k in runs if k != "native"]
        L.append("Added by litebox: over native; over the bare round trip: minus "
                 "litebox's umask (trapped, answered CONTINUE) in the same run.\n")
        L.append("| operation | " + " | ".join(runs) + " | " +
                 " | ".join(f"{k}: added / over round trip" for k in lbs) + " |")
        L.append("|---" * (len(runs) + len(lbs) + 1) + "|")
        for op in ops:
            vals = [mb[k].get(op) for k in runs]
            cells = []
            for k in lbs:
                v, n, rt = mb[k].get(op), mb["native"].get(op), mb[k].get("umask")
                if None in (v, n):
                    cells.append("-")
                    continue
                over = f"{(v - rt) / 1000:.2f} µs" if rt and op not in ("getppid", "umask") \
                    else "-"
                cells.append(f"{(v - n) / 1000:.2f} µs / {over}")
            L.append(f"| {op} | " + " | ".join("-" if v is None else f"{v:.1f}" for v in vals)
                     + " | " + " | ".join(cells) + " |")
        for k in runs:
            if "unavailable" in mb[k] or "failed" in mb[k]:
                L.append(f"\n{k}: {mb[k].get('unavailable') or mb[k].get('failed')}")
    mem = res.get("memory")
    if mem:
        L.append("\n## Supervisor memory (litebox process only)\n")
        L.append("VmHWM of the litebox pid sampled every 2 ms from /proc/PID/status; "
                 "wait4's ru_maxrss is the maximum over litebox *and* every descendant "
                 "it (or its init) reaped, i.e. usually a compiler process, and is shown "
                 "only to make that difference visible.\n")
        L.append("| workload | supervisor VmHWM | max VmRSS seen | threads | wait4 ru_maxrss (tree) |")
        L.append("|---|---|---|---|---|")
        for x in mem:
            if "error" in x:
                L.append(f"| {x['workload']} | {x['error']} | | | |")
                continue
            L.append(f"| {x['workload']} | {x['vmhwm_kb'] / 1024:.1f} MiB | "
                     f"{x['max_vmrss_kb'] / 1024:.1f} MiB | {x['max_threads']} | "
                     f"{x['wait4_maxrss_kb'] / 1024:.1f} MiB |")
    if res.get("plot"):
        L.append(f"\nPlot: {res['plot']}")
    L.append(f"\nTotal driver time: {res['elapsed_s']:.0f} s")
    path.write_text("\n".join(L) + "\n")


PLOT_CODE = r"""
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
res = json.load(open(sys.argv[1]))
runners = [r["name"] for r in res["runners"] if r["name"] != "native" and not r["unavailable"]]
wls = res["workloads"]
fig, ax = plt.subplots(figsize=(max(8, 1.5 * len(wls)), 5))
width = 0.8 / max(1, len(runners))
for i, rn in enumerate(runners):
    xs, ys, fails = [], [], []
    for j, w in enumerate(wls):
        c = w["results"].get(rn, {})
        x = j + (i - (len(runners) - 1) / 2) * width
        if c.get("status") == "ok":
            xs.append(x); ys.append(c["ratio"])
        elif c.get("status") == "FAIL":
            fails.append(x)
    bars = ax.bar(xs, ys, width, label=rn)
    for x in fails:
        ax.text(x, 1.0, "FAIL", rotation=90, ha="center", va="bottom", fontsize=7,
                color=bars.patches[0].get_facecolor() if bars.patches else "k")
for j, w in enumerate(wls):
    t = w.get("target")
    if t:
        ax.hlines(t, j - 0.45, j + 0.45, colors="red", linestyles="dashed", linewidth=1)
ax.axhline(1.0, color="black", linewidth=0.8)
ax.set_yscale("log")
ax.set_xticks(range(len(wls)))
ax.set_xticklabels([w["name"] for w in wls])
ax.set_ylabel("median wall time / native (log)")
ax.set_title("litebox and peers vs native (red dashes: litebox targets)")
ax.legend(fontsize=8, ncol=3)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=120)
"""


def make_plot(json_path, png_path):
    """matplotlib through this or another interpreter, else gnuplot."""
    interps = [sys.executable]
    for p in ("/usr/bin/python3",):
        if os.path.exists(p) and p not in interps:
            interps.append(p)
    for py in interps:
        r = subprocess.run([py, "-c", PLOT_CODE, str(json_path), str(png_path)],
                           capture_output=True, text=True)
        if r.returncode == 0 and png_path.exists():
            return f"{png_path.name} (matplotlib via {py})"
    if shutil.which("gnuplot"):
        res = json.loads(json_path.read_text())
        runners = [r["name"] for r in res["runners"]
                   if r["name"] != "native" and not r["unavailable"]]
        dat = png_path.with_suffix(".dat")
        lines = ["workload " + " ".join(runners)]
        for w in res["workloads"]:
            vals = []
            for rn in runners:
                c = w["results"].get(rn, {})
                vals.append(f"{c['ratio']:.4f}" if c.get("status") == "ok" else "NaN")
            lines.append(w["name"] + " " + " ".join(vals))
        dat.write_text("\n".join(lines) + "\n")
        script = (f"set terminal png size 1000,500\nset output '{png_path}'\n"
                  "set style data histograms\nset style fill solid\nset logscale y\n"
                  "set ylabel 'median / native'\nset key autotitle columnhead\n"
                  f"plot for [i=2:{len(runners) + 1}] '{dat}' using i:xtic(1)\n")
        r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
        if r.returncode == 0 and png_path.exists():
            return f"{png_path.name} (gnuplot)"
    return None


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--litebox", help="litebox binary (default: $LITEBOX, else "
                    "build/cmd/litebox relative to the repo root)")
    ap.add_argument("--policy", default="",
                    help="policy for the runner 'litebox' (default: the default profile "
                    "plus exec of the work dir)")
    ap.add_argument("--baseline", default="",
                    help="a second litebox binary, run as 'litebox-baseline' with the same "
                    "policy in the same rounds (before/after a change)")
    ap.add_argument("--no-fast", action="store_true",
                    help="skip the runner litebox-fast (the same policy with 'set mediation "
                         "fast')")
    ap.add_argument("--no-ptrace", action="store_true",
                    help="skip the runner litebox-ptrace (litebox on its ptrace platform)")
    ap.add_argument("--no-overlay", action="store_true",
                    help="skip the runner litebox-overlay (litebox --overlay)")
    ap.add_argument("--no-permissive", action="store_true",
                    help="skip the runner litebox-permissive")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions (default 5)")
    ap.add_argument("--out", default="bench-results", help="output directory")
    ap.add_argument("--quick", action="store_true", help="smaller workloads (smoke test)")
    ap.add_argument("--workloads", help="comma-separated subset: "
                    "open,getppid,forkexec,make,makemany,gitstatus,python,readtree,cpu")
    ap.add_argument("--runners", help="comma-separated subset of peers to try "
                    "(strace,proot,bwrap,firejail,runsc); native and litebox always run")
    ap.add_argument("--no-peers", action="store_true", help="only native and litebox")
    ap.add_argument("--timeout", type=float, default=180, help="per-run timeout, s")
    ap.add_argument("--idle-threshold", type=float, default=0.5,
                    help="before each timed run wait until the CPUs are less busy "
                    "than this fraction (0 disables; default 0.5)")
    ap.add_argument("--idle-wait", type=float, default=1.0,
                    help="longest wait for an idle machine, s (default 1)")
    ap.add_argument("--no-micro", action="store_true", help="skip roundtrip.c")
    ap.add_argument("--no-memory", action="store_true", help="skip the RSS measurement")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    args.runners = set(args.runners.split(",")) if args.runners else None
    only = set(args.workloads.split(",")) if args.workloads else None

    started = time.monotonic()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="litebox-bench-"))
    try:
        log(f"work dir {work}")
        # HOME inside the work dir: git and python read no config of the
        # caller's, and litebox's default profile grants it (under $TMPDIR).
        (work / "home").mkdir()
        BASE_ENV["HOME"] = str(work / "home")
        workloads = setup_workloads(work, args.quick, only)
        runners = setup_runners(args, work)
        for r in runners:
            log(f"runner {r.name}: {r.unavailable or 'ok'} {r.note}")
        live = [r for r in runners if not r.unavailable]

        results = {w.name: {} for w in workloads}
        native_ref = {}
        # 1. check run (also warms caches): every runner's output vs native's.
        for w in workloads:
            ref = run_once(w.argv, w.cwd, args.timeout)
            native_ref[w.name] = ref
            if ref["rc"] != 0 or ref["timeout"]:
                raise SystemExit(f"workload {w.name} fails natively:\n"
                                 f"{describe_failure(ref, {'rc': 0, 'out': ref['out']})}")
            for r in live[1:]:
                o = run_once(r.argv(w), w.cwd, args.timeout)
                ok = same_result(o, ref)
                log(f"check {w.name:9s} {r.name:9s} {'ok' if ok else 'FAIL'} "
                    f"{o['wall']:.2f}s" if o["wall"] else f"check {w.name} {r.name} error")
                if not ok:
                    results[w.name][r.name] = {"status": "FAIL",
                                               "detail": describe_failure(o, ref)}

        # 2. timed repetitions, alternating runners (order rotated per rep).
        samples = {(w.name, r.name): [] for w in workloads for r in live}
        for rep in range(args.reps):
            order = live[rep % len(live):] + live[:rep % len(live)]
            for w in workloads:
                for r in order:
                    if results[w.name].get(r.name, {}).get("status") == "FAIL":
                        continue
                    wait_idle(args.idle_threshold, args.idle_wait)
                    o = run_once(r.argv(w), w.cwd, args.timeout)
                    if not same_result(o, native_ref[w.name]):
                        results[w.name][r.name] = {
                            "status": "FAIL",
                            "detail": f"(repetition {rep + 1}) " +
                                      describe_failure(o, native_ref[w.name])}
                        continue
                    samples[(w.name, r.name)].append(
                        (o["wall"], o["cpu"], parse_inner(o["err"]) if w.inner else None, rep))
            log(f"repetition {rep + 1}/{args.reps} done "
                f"({time.monotonic() - started:.0f} s elapsed)")

        wl_json = []
        for w in workloads:
            wr = results[w.name]
            nat = samples[(w.name, "native")]
            nat_med = statistics.median(s[0] for s in nat)
            nat_inner = [s[2] for s in nat if s[2] is not None]
            nat_inner_med = statistics.median(nat_inner) if nat_inner else None
            nat_by_rep = {s[3]: s[0] for s in nat}
            nat_cpu_by_rep = {s[3]: s[1] for s in nat}
            for r in runners:
                if r.unavailable:
                    wr[r.name] = {"status": "unavailable", "detail": r.unavailable}
                    continue
                if wr.get(r.name, {}).get("status") == "FAIL":
                    continue
                ss = samples[(w.name, r.name)]
                wall = summarize([s[0] for s in ss])
                inner = [s[2] for s in ss if s[2] is not None]
                # The machine is shared: compare each run with the native
                # run of the same round (adjacent in time), then take the
                # median of those ratios.
                per_round = [s[0] / nat_by_rep[s[3]] for s in ss if s[3] in nat_by_rep]
                # CPU time of everything the runner's child reaped (litebox's
                # workers included): less sensitive than wall time to a
                # busy machine. Unavailable where the workload is not reaped
                # through the child (bwrap --unshare-pid).
                cpu_round = [s[1] / nat_cpu_by_rep[s[3]] for s in ss
                             if nat_cpu_by_rep.get(s[3]) and s[1] > 0]
                c = {"status": "ok", "wall": wall,
                     "cpu": summarize([s[1] for s in ss]),
                     "ratio": statistics.median(per_round) if per_round
                     else wall["median"] / nat_med,
                     "ratio_of_medians": wall["median"] / nat_med,
                     "round_ratios": per_round,
                     "cpu_ratio": statistics.median(cpu_round) if cpu_round else None,
                     "ratio_min": wall["min"] / nat_med, "ratio_max": wall["max"] / nat_med,
                     "samples": [s[0] for s in ss]}
                if inner:
                    c["inner"] = summarize(inner)
                    if nat_inner_med:
                        c["inner_ratio"] = c["inner"]["median"] / nat_inner_med
                wr[r.name] = c
            entry = {"name": w.name, "title": w.title, "argv": w.argv, "results": wr}
            if w.name in TARGETS:
                entry["target"] = TARGETS[w.name]
                lbc = wr.get("litebox", {})
                if lbc.get("status") == "ok":
                    entry["target_met"] = lbc["ratio"] <= TARGETS[w.name]
                elif lbc.get("status") == "FAIL":
                    entry["target_met"] = False
            # "faster than every ptrace-based peer"
            lbc = wr.get("litebox", {})
            cmp = {}
            for p in PTRACE_PEERS:
                pc = wr.get(p, {})
                if pc.get("status") == "ok" and lbc.get("status") == "ok":
                    cmp[p] = lbc["wall"]["median"] < pc["wall"]["median"]
            entry["faster_than_ptrace_peers"] = cmp
            wl_json.append(entry)

        res = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
            "reps": args.reps, "quick": args.quick,
            "machine": {"nproc": os.cpu_count(), "kernel": platform.release(),
                        "cpu": cpu_model(), "os": os_name()},
            "runners": [{"name": r.name, "note": r.note, "unavailable": r.unavailable,
                         "argv_prefix": (r.prefix if not callable(r.prefix) else None)}
                        for r in runners],
            "workloads": wl_json,
            "idle_gate": dict(IDLE_STATS, threshold=args.idle_threshold,
                              max_wait=args.idle_wait),
        }
        lbr = next(r for r in runners if r.name == "litebox")
        if not args.no_micro:
            log("micro-benchmark roundtrip.c")
            res["microbench"] = microbench(
                [r for r in runners if r.name == "native" or r.name in LITEBOX_RUNNERS],
                work, args.timeout)
        if not args.no_memory and not lbr.unavailable:
            res["memory"] = []
            for w in workloads:
                if w.name in ("make", "open"):
                    log(f"memory: {w.name} under litebox")
                    try:
                        res["memory"].append(rss_sample(lbr.prefix, w, args.timeout))
                    except OSError as e:
                        res["memory"].append({"workload": w.name, "error": str(e)})
        res["elapsed_s"] = time.monotonic() - started
        jpath = out / "results.json"
        jpath.write_text(json.dumps(res, indent=1))
        if not args.no_plot:
            res["plot"] = make_plot(jpath, out / "results.png") or \
                "skipped: neither matplotlib nor gnuplot available"
        res["elapsed_s"] = time.monotonic() - started
        jpath.write_text(json.dumps(res, indent=1))
        write_markdown(res, out / "results.md")
        log(f"wrote {out / 'results.md'}, {jpath}" +
            (f", {res.get('plot')}" if res.get("plot") else ""))
        print((out / "results.md").read_text())
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def os_name():
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


if __name__ == "__main__":
    main()
