#!/usr/bin/env python3
"""Host names in connect rules, with DNS mediated by litebox (docs/policy.md,
"Host names"; docs/security.md, "Mediated DNS"). Offline: the test runs its
own nameserver (TCP and UDP, port 53 of a loopback address of its own) and
points litebox at it with LITEBOX_RESOLV_CONF; listeners outside the
sandbox count who reached them, and the nameserver's own log shows which
queries left litebox."""
import errno
import json
import os
import random
import shutil
import socket
import subprocess
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import litebox, skip, test
from lbdns import Listener, start_nameserver

PY = "/usr/bin/python3"


class World:
    """A nameserver at 127.A.B.1 and listeners at 127.A.B.2 and .3 on one
    port, names: pkg.example.test -> .2, other.example.test -> .3,
    alias.example.test -> CNAME real.example.net -> .2."""

    def __init__(self, options="timeout:2 attempts:1"):
        self.net, self.ns = start_nameserver(lambda net: {
            "pkg.example.test": [net + ".2"],
            "other.example.test": [net + ".3"],
            "alias.example.test": ["CNAME real.example.net"],
            "real.example.net": [net + ".2"],
        }, skip)
        self.l2 = Listener(self.net + ".2")
        self.l3 = Listener(self.net + ".3", self.l2.port)
        self.port = self.l2.port
        self.dir = lbtest.tmpdir()
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "resolv.conf")
        with open(self.conf, "w") as f:
            f.write(f"nameserver {self.net}.1\noptions {options}\n")
        self.env = dict(os.environ, LITEBOX_RESOLV_CONF=self.conf)

    def policy(self, lines, base=None):
        p = os.path.join(self.dir, f"p{random.randint(0, 1 << 30)}.policy")
        with open(p, "w") as f:
            if base:
                f.write(f"version 1\ninclude {base}\n")
            else:  # no loopback grant: only the name rules reach the listeners
                f.write("version 1\nallow read /usr/** /etc/** /proc/** $CWD/**\n"
                        "allow exec /usr/**\n")
            f.write("\n".join(lines) + "\n")
        return p

    def run(self, pol, *argv, opts=()):
        log = os.path.join(self.dir, f"log{random.randint(0, 1 << 30)}.jsonl")
        p = litebox("run", "--log", log, "-p", pol, *opts, "--", *argv, cwd=self.dir,
                    env=self.env, timeout=60)
        with open(log) as f:
            recs = [json.loads(l) for l in f if l.strip()]
        return p, [r for r in recs if "verdict" in r]


CONNECT = r"""
import socket, sys
name, port = sys.argv[1], int(sys.argv[2])
try:
    addr = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
except socket.gaierror as e:
    print("unresolved", e.errno == socket.EAI_NONAME)
    sys.exit(3)
print("resolved", addr)
for a in [addr] + sys.argv[3:]:
    s = socket.socket()
    s.settimeout(10)
    try:
        s.connect((a, port))
        print("connected", a)
    except OSError as e:
        print("refused", a, e.errno)
"""


def dns_denials(recs, name):
    return [r for r in recs if r.get("syscall") == "dns" and r["object"] == f"tcp {name}:*"
            and r["verdict"] == "deny"]


@test
def python_resolves_an_allowed_name_and_connects_to_its_address():
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}"])
    p, recs = w.run(pol, PY, "-c", CONNECT, "pkg.example.test", str(w.port))
    assert p.returncode == 0, p.stderr
    assert f"resolved {w.net}.2" in p.stdout and f"connected {w.net}.2" in p.stdout, p.stdout
    assert w.l2.count == 1, w.l2.count
    assert "pkg.example.test" in w.ns.asked, w.ns.asked


@test
def a_name_not_allowed_does_not_resolve_and_never_leaves():
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}"])
    p, recs = w.run(pol, PY, "-c", CONNECT, "other.example.test", str(w.port))
    assert p.returncode == 3 and "unresolved True" in p.stdout, (p.stdout, p.stderr)
    assert dns_denials(recs, "other.example.test"), recs
    assert "denied connect tcp other.example.test:*" in p.stderr, p.stderr
    assert "other.example.test" not in w.ns.asked, w.ns.asked
    assert w.l3.count == 0
    # positive control, same run setup: the allowed name is asked upstream
    p, _ = w.run(pol, PY, "-c", CONNECT, "pkg.example.test", str(w.port))
    assert "pkg.example.test" in w.ns.asked and w.l2.count == 1, (p.stdout, w.ns.asked)


@test
def getent_resolves_allowed_names_only():
    w = World()
    pol = w.policy(["allow connect tcp *.example.test:443"])
    p, _ = w.run(pol, "getent", "hosts", "pkg.example.test")
    assert p.returncode == 0 and p.stdout.split()[0] == f"{w.net}.2", (p.stdout, p.stderr)
    p, recs = w.run(pol, "getent", "hosts", "real.example.net")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert dns_denials(recs, "real.example.net"), recs
    assert "real.example.net" not in w.ns.asked, w.ns.asked


@test
def curl_reaches_an_allowed_name():
    if not os.path.exists("/usr/bin/curl"):
        skip("no curl")
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}"])
    p, _ = w.run(pol, "/usr/bin/curl", "-sS", "-m", "10", f"http://pkg.example.test:{w.port}/")
    assert w.l2.count == 1, (w.l2.count, p.stderr)
    p, recs = w.run(pol, "/usr/bin/curl", "-sS", "-m", "10", f"http://other.example.test:{w.port}/")
    assert p.returncode == 6, (p.returncode, p.stderr)  # couldn't resolve host
    assert w.l3.count == 0 and "other.example.test" not in w.ns.asked


@test
def an_address_the_name_did_not_resolve_to_is_refused():
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}"])
    p, recs = w.run(pol, PY, "-c", CONNECT, "pkg.example.test", str(w.port), f"{w.net}.3")
    assert f"connected {w.net}.2" in p.stdout, p.stdout  # the control
    assert f"refused {w.net}.3 {errno.ECONNREFUSED}" in p.stdout, p.stdout
    assert w.l2.count == 1 and w.l3.count == 0, (w.l2.count, w.l3.count)
    assert any(r["object"] == f"tcp {w.net}.3:{w.port}" and r["verdict"] == "deny"
               for r in recs), recs
    # an address is not granted before the name resolved to it either
    p, recs = w.run(pol, PY, "-c", CONNECT, "localhost", str(w.port), f"{w.net}.2")
    assert f"refused {w.net}.2 {errno.ECONNREFUSED}" in p.stdout, p.stdout
    assert w.l2.count == 1


@test
def a_cname_chain_counts_for_the_name_asked_and_case_does_not_matter():
    w = World()
    pol = w.policy([f"allow connect tcp ALIAS.example.test:{w.port}"])
    p, _ = w.run(pol, PY, "-c", CONNECT, "Alias.Example.TEST", str(w.port))
    assert f"connected {w.net}.2" in p.stdout, (p.stdout, p.stderr)
    assert w.l2.count == 1
    # the target's own name is not allowed: asking it is refused
    p, recs = w.run(pol, PY, "-c", CONNECT, "real.example.net", str(w.port))
    assert "unresolved True" in p.stdout and dns_denials(recs, "real.example.net"), p.stdout


@test
def udp_to_the_nameserver_is_refused_unless_allowed():
    w = World()
    send = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "try:\n s.sendto(b'exfil-marker'*4,(sys.argv[1],53)); print('sent')\n"
            "except OSError as e: print('refused',e.errno)\n")
    pol = w.policy(["allow connect tcp pkg.example.test:443"], base="default")
    p, recs = w.run(pol, PY, "-c", send, f"{w.net}.1")
    assert f"refused {errno.ECONNREFUSED}" in p.stdout, (p.stdout, p.stderr)
    assert any(r["object"] == f"udp {w.net}.1:53" and r["verdict"] == "deny" for r in recs), recs
    assert not any("exfil" in a for a in w.ns.asked), w.ns.asked
    # positive control: allowed by address, the datagram arrives
    pol = w.policy([f"allow connect udp {w.net}.1:53"], base="default")
    p, _ = w.run(pol, PY, "-c", send, f"{w.net}.1")
    assert "sent" in p.stdout, (p.stdout, p.stderr)
    for _ in range(50):
        if any("exfil" in a for a in w.ns.asked):
            break
        threading.Event().wait(0.05)
    assert any("exfil" in a for a in w.ns.asked), w.ns.asked


@test
def another_port_of_the_nameserver_is_not_a_way_around():
    # Docker's embedded DNS listens on 127.0.0.11 at a second, random port
    # too; the default profile's `connect udp localhost:*` let a program send
    # any name there (attack review D2).
    w = World()
    recv = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    recv[0].bind((f"{w.net}.1", 0))
    recv[1].bind((f"{w.net}.2", recv[0].getsockname()[1]))
    port = recv[0].getsockname()[1]
    send = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "try:\n s.sendto(b'exfil-marker',(sys.argv[1],int(sys.argv[2]))); print('sent')\n"
            "except OSError as e: print('refused',e.errno)\n")
    pol = w.policy([], base="default")
    p, recs = w.run(pol, PY, "-c", send, f"{w.net}.1", str(port))
    assert f"refused {errno.EACCES}" in p.stdout, (p.stdout, p.stderr)
    assert any(r["object"] == f"udp {w.net}.1:{port}" and r["verdict"] == "deny" for r in recs), recs
    # control: the same port of another loopback address is reached
    p, _ = w.run(pol, PY, "-c", send, f"{w.net}.2", str(port))
    assert "sent" in p.stdout, (p.stdout, p.stderr)
    for r in recv:
        r.settimeout(2)
    assert recv[1].recv(64) == b"exfil-marker"
    recv[0].setblocking(False)
    try:
        got = recv[0].recv(64)
    except BlockingIOError:
        got = None
    assert got is None, got


@test
def the_program_reads_a_view_of_resolv_conf():
    w = World()
    pol = w.policy([])
    p, _ = w.run(pol, "cat", "/etc/resolv.conf")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert f"nameserver {w.net}.1" in lines and "options use-vc" in lines, p.stdout
    assert "options timeout:2 attempts:1" in lines, p.stdout
    # the view cannot be written through the descriptor the program got
    wr = ("import os\nfd=os.open('/etc/resolv.conf',os.O_RDONLY)\n"
          "try:\n os.write(fd,b'nameserver 1.1.1.1\\n'); print('wrote')\n"
          "except OSError as e: print('error',e.errno)\n")
    p, _ = w.run(pol, PY, "-c", wr)
    assert f"error {errno.EBADF}" in p.stdout, (p.stdout, p.stderr)


@test
def audit_mode_resolves_and_records_would_deny():
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}", "set mode audit"])
    p, recs = w.run(pol, PY, "-c", CONNECT, "other.example.test", str(w.port))
    assert f"connected {w.net}.3" in p.stdout, (p.stdout, p.stderr)
    assert any(r.get("syscall") == "dns" and r["object"] == "tcp other.example.test:*"
               and r["verdict"] == "would-deny" for r in recs), recs


@test
def dry_run_keeps_names_not_allowed_from_leaving():
    # --dry-run refuses nothing, but a name is data sent out: as connects
    # outside the policy, a name it does not allow stays unresolved and
    # never reaches the nameserver (attack review D1).
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}"])
    p, recs = w.run(pol, PY, "-c", CONNECT, "secret.exfil.example.test", str(w.port),
                    opts=["--dry-run"])
    assert "unresolved True" in p.stdout, (p.stdout, p.stderr)
    assert "secret.exfil.example.test" not in w.ns.asked, w.ns.asked
    assert dns_denials(recs, "secret.exfil.example.test"), recs
    # control: the allowed name resolves and connects under --dry-run too
    p, _ = w.run(pol, PY, "-c", CONNECT, "pkg.example.test", str(w.port), opts=["--dry-run"])
    assert f"connected {w.net}.2" in p.stdout, (p.stdout, p.stderr)
    assert "pkg.example.test" in w.ns.asked, w.ns.asked


@test
def go_resolver_uses_tcp_from_the_view():
    go = shutil.which("go")
    if not go:
        skip("go is not installed")
    w = World()
    exe = os.path.join(w.dir, "resolve")
    env = dict(os.environ, GOCACHE=os.path.join(w.dir, "gocache"),
               GOPATH=os.path.join(w.dir, "gopath"), GO111MODULE="off", CGO_ENABLED="0")
    here = os.path.dirname(os.path.abspath(__file__))
    b = subprocess.run([go, "build", "-o", exe, os.path.join(here, "netprogs", "resolve.go")],
                       capture_output=True, text=True, env=env, timeout=300)
    if b.returncode != 0:
        skip("go build failed: " + b.stderr[-300:])
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}", f"allow read {exe}",
                    f"allow exec {exe}"])
    p, _ = w.run(pol, exe, "pkg.example.test", str(w.port))
    assert f"connected {w.net}.2" in p.stdout, (p.stdout, p.stderr)
    assert w.l2.count == 1
    p, recs = w.run(pol, exe, "other.example.test", str(w.port))
    assert "unresolved true" in p.stdout, (p.stdout, p.stderr)
    assert dns_denials(recs, "other.example.test") and "other.example.test" not in w.ns.asked


@test
def etc_hosts_names_count_as_resolved():
    pairs = []
    with open("/etc/hosts") as f:
        for line in f:
            words = line.split("#")[0].split()
            if len(words) >= 2 and words[0].startswith("127.") and words[0] != "127.0.0.1":
                pairs += [(words[0], n) for n in words[1:] if n != "localhost"]
            elif len(words) >= 2 and words[0] == "127.0.0.1":
                pairs += [(words[0], n) for n in words[1:]
                          if n != "localhost" and "." not in n or n.endswith(".test")]
    pairs = [(a, n) for a, n in pairs if n.replace("-", "").replace(".", "").isalnum()]
    if not pairs:
        skip("/etc/hosts names no loopback address but localhost")
    addr, name = pairs[0]
    w = World()
    lst = Listener(addr)
    pol = w.policy([f"allow connect tcp {name}:{lst.port}"])
    p, _ = w.run(pol, PY, "-c", CONNECT, name, str(lst.port))
    assert f"connected {addr}" in p.stdout, (p.stdout, p.stderr)
    assert lst.count == 1 and name not in w.ns.asked
    # control: the same address without the name rule is refused
    pol = w.policy([f"allow connect tcp pkg.example.test:{lst.port}"])
    p, _ = w.run(pol, PY, "-c", CONNECT, name, str(lst.port))
    assert f"refused {addr} {errno.ECONNREFUSED}" in p.stdout, p.stdout
    assert lst.count == 1


RAW_TCP = r'''
import socket, struct, sys
s = socket.create_connection((sys.argv[1], 53), timeout=10)
def ask(msg):
    s.sendall(struct.pack(">H", len(msg)) + msg)
    h = s.recv(2)
    if len(h) < 2:
        return None
    n = struct.unpack(">H", h)[0]
    r = b""
    while len(r) < n:
        r += s.recv(n - len(r))
    return r
def query(name):
    q = b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + bytes(1)
    return struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 1, 1)
r = ask(query("c2VjcmV0.exfil.example"))
print("rcode", r[3] & 15, "id", struct.unpack(">H", r[:2])[0] == 0x4242)
r = ask(query("PKG.example.test"))
print("rcode", r[3] & 15, "answers", struct.unpack(">H", r[6:8])[0])
print("garbage", ask(b"secret-marker-" * 8))
'''


@test
def a_program_speaking_dns_itself_gets_the_same_answers():
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}"], base="default")
    p, recs = w.run(pol, PY, "-c", RAW_TCP, f"{w.net}.1")
    lines = p.stdout.splitlines()
    assert lines[:3] == ["rcode 3 id True", "rcode 0 answers 1", "garbage None"], (p.stdout,
                                                                                   p.stderr)
    assert dns_denials(recs, "c2vjcmv0.exfil.example"), recs
    assert any(r["object"] == "dns (malformed query)" and r["verdict"] == "deny"
               for r in recs), recs
    assert w.ns.asked == ["pkg.example.test"], w.ns.asked  # nothing else left litebox


@test
def upstream_queries_use_tcp_when_the_host_says_use_vc():
    # (a litebox inside litebox reads its outer one's view, which says so)
    w = World(options="use-vc")
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}"])
    p, recs = w.run(pol, PY, "-c", CONNECT, "pkg.example.test", str(w.port))
    assert f"connected {w.net}.2" in p.stdout, (p.stdout, p.stderr)
    assert "pkg.example.test" in w.ns.asked and w.ns.over_udp == [], w.ns.over_udp
    # control: without use-vc litebox asks over UDP first
    w = World()
    p, recs = w.run(w.policy([f"allow connect tcp pkg.example.test:{w.port}"]), PY, "-c",
                    CONNECT, "pkg.example.test", str(w.port))
    assert f"connected {w.net}.2" in p.stdout and w.ns.over_udp, (p.stdout, w.ns.over_udp)


@test
def on_deny_kill_kills_the_asker():
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}", "set on-deny kill"])
    p, recs = w.run(pol, PY, "-c", CONNECT, "other.example.test", str(w.port))
    assert "unresolved" not in p.stdout and p.returncode != 3, (p.returncode, p.stdout)
    assert any(r.get("syscall") == "dns" and r["verdict"] == "kill" for r in recs), recs
    p, _ = w.run(pol, PY, "-c", CONNECT, "pkg.example.test", str(w.port))  # control
    assert f"connected {w.net}.2" in p.stdout, (p.stdout, p.stderr)


STALE_ASKER = r'''
import os, socket, struct, sys, time
ns, d, marker = sys.argv[1], sys.argv[2], sys.argv[3]
def wait_for(name):
    while not os.path.exists(os.path.join(d, name)):
        time.sleep(0.02)
asker = os.fork()
if asker == 0:  # P: connects to the nameserver, hands the socket on, exits
    s = socket.create_connection((ns, 53), timeout=10)
    if os.fork() == 0:  # C: asks for a refused name once P is gone
        wait_for("ask")
        q = b"".join(bytes([len(x)]) + x.encode() for x in "other.example.test".split(".")) + bytes(1)
        q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 1, 1)
        s.sendall(struct.pack(">H", len(q)) + q)
        s.settimeout(10)
        r = s.recv(4096)
        with open(os.path.join(d, "asked.tmp"), "w") as f:  # renamed: never read half-written
            f.write("answered %d" % len(r))
        os.rename(os.path.join(d, "asked.tmp"), os.path.join(d, "asked"))
        os._exit(0)
    open(os.path.join(d, "ready"), "w").write("x")
    wait_for("exit")
    os._exit(0)
os.waitpid(asker, 0)  # its pid is free again
wait_for("asked")
print(open(os.path.join(d, "asked")).read())
'''


def host_pids_with(marker):
    """The python processes with marker in their arguments: {pid: ppid}."""
    out = {}
    for pid in os.listdir("/proc"):
        try:
            if os.path.realpath(f"/proc/{pid}/exe") != os.path.realpath(PY):
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/status") as f:
                ppid = [int(l.split()[1]) for l in f if l.startswith("PPid:")][0]
            out[int(pid)] = ppid
        except (OSError, IndexError, ValueError):
            pass
    return out


def decoy_with_pid(pid):
    """A process outside the sandbox with host pid pid (ns_last_pid), or None."""
    for _ in range(50):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
        except OSError:
            return None
        d = subprocess.Popen(["sleep", "60"])
        if d.pid == pid:
            return d
        d.kill()
        d.wait()
    return None


@test
def on_deny_kill_never_kills_a_process_that_took_a_gone_askers_pid():
    if os.geteuid() != 0:
        skip("giving a decoy the gone asker's pid (ns_last_pid) needs root")
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}", "set on-deny kill",
                    "allow write $CWD/**"])
    marker = "lbtest-stale-" + os.urandom(4).hex()
    log = os.path.join(w.dir, "stale.jsonl")
    run = subprocess.Popen([lbtest.LITEBOX, "run", "-q", "--log", log, "-p", pol, "--", PY, "-c", STALE_ASKER,
                            f"{w.net}.1", w.dir, marker], cwd=w.dir, env=w.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    decoy = None
    try:
        for _ in range(500):
            if os.path.exists(os.path.join(w.dir, "ready")) or run.poll() is not None:
                break
            threading.Event().wait(0.02)
        procs = host_pids_with(marker)  # M, P and C: P is C's parent and M's child
        ps = [p for p in procs if p in procs.values() and procs[p] in procs]
        assert len(ps) == 1, procs
        asker = ps[0]
        open(os.path.join(w.dir, "exit"), "w").close()
        for _ in range(500):
            if not os.path.exists(f"/proc/{asker}"):
                break
            threading.Event().wait(0.02)
        decoy = decoy_with_pid(asker)
        open(os.path.join(w.dir, "ask"), "w").close()
        out, err = run.communicate(timeout=60)
        if decoy is None:
            skip("could not start a process with the gone asker's pid (a busy machine)")
        assert "answered" in out, (out, err)
        assert decoy.poll() is None, "litebox killed the process that took the asker's pid"
    finally:
        if run.poll() is None:
            run.kill()
        if decoy:
            decoy.kill()
            decoy.wait()
    with open(log) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    assert any(r.get("syscall") == "dns" and r.get("verdict") == "kill" for r in recs), recs
    assert "other.example.test" not in w.ns.asked, w.ns.asked


@test
def generate_and_learn_name_the_host_not_the_address():
    w = World()
    # an audit run resolves and connects; the log names the host, and the
    # policy generated from it grants the name and the port
    log = os.path.join(w.dir, "audit.jsonl")
    pol = w.policy(["allow connect tcp other.example.test:1"])
    p = litebox("run", "--audit", "--log", log, "-p", pol, "--", PY, "-c", CONNECT,
                "pkg.example.test", str(w.port), cwd=w.dir, env=w.env, timeout=60)
    assert f"connected {w.net}.2" in p.stdout, p.stdout + p.stderr
    with open(log) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    conn = [r for r in recs if r.get("syscall") == "connect" and r.get("object") == f"tcp {w.net}.2:{w.port}"]
    assert conn and conn[0].get("names") == ["pkg.example.test"], conn
    out = os.path.join(w.dir, "generated.policy")
    g = litebox("policy", "generate", "--from", log, "-o", out, cwd=w.dir)
    assert g.returncode == 0, g.stderr
    text = open(out).read()
    assert f"allow connect tcp pkg.example.test:{w.port}" in text, text
    assert f"{w.net}.2" not in text and "pkg.example.test:*" not in text, text
    # enforced, the generated policy reaches the host by name, and only it
    before = w.l2.count
    p, recs = w.run(out, PY, "-c", CONNECT, "pkg.example.test", str(w.port), f"{w.net}.3")
    assert f"connected {w.net}.2" in p.stdout and w.l2.count == before + 1, p.stdout + p.stderr
    assert f"refused {w.net}.3" in p.stdout and w.l3.count == 0, p.stdout
    # litebox learn: the base lets the name resolve, the connect to another
    # port is refused while learning and learned by name
    learned = os.path.join(w.dir, "learned.policy")
    p = litebox("learn", "-q", "-p", w.policy(["allow connect tcp pkg.example.test:1"]), "-o", learned,
                "--", PY, "-c", CONNECT, "pkg.example.test", str(w.port), cwd=w.dir, env=w.env, timeout=60)
    text = open(learned).read()
    assert f"allow connect tcp pkg.example.test:{w.port}" in text, text + p.stderr
    assert f"{w.net}.2" not in text, text
    eq_count = w.l2.count
    assert eq_count == before + 1, "learning connected nowhere"


@test
def policy_show_explains_a_host_name():
    d = lbtest.policy_workdir(["allow connect tcp pypi.org:443", "deny connect tcp *.evil.test:*",
                               "allow connect tcp *:8443"])
    p = litebox("policy", "show", "p.policy", "--explain", "tcp PyPI.org:443",
                "tcp x.evil.test:8443", "tcp other.test:443", cwd=d, check=0)
    out = p.stdout
    assert "tcp pypi.org:443 (an address the name resolved to)" in out, out
    assert "dns     resolved by p.policy:3" in out, out
    assert "'allow connect tcp pypi.org:443' (p.policy:3)" in out, out
    assert "dns     deny (answered NXDOMAIN) by p.policy:4" in out, out
    assert "dns     resolved by p.policy:5" in out, out  # `*` as host: every name
    p = litebox("policy", "check", "p.policy", cwd=d)
    assert p.returncode == 0, p.stdout + p.stderr



@test
def a_nested_sandbox_resolves_only_names_the_outer_policy_allows_too():
    """A litebox inside litebox: the nested domain's resolver judges a name
    by both policies, so a looser inner policy (*.example.test) sends no
    name upstream that the outer refuses, in the inner's --audit too."""
    if lbtest.PLATFORM == "ptrace":
        skip("the outer litebox runs on the ptrace platform, which serves no nested domains")
    lb = os.path.abspath(lbtest.LITEBOX)
    build = os.path.dirname(os.path.dirname(lb))
    w = World()
    outer = w.policy([f'allow exec "{lb}"', f'allow read "{build}/**"',
                      f"allow connect tcp pkg.example.test:{w.port}"], base="default")
    inner = w.policy(["allow connect tcp *.example.test:*"], base="default")
    for extra in ([], ["--audit"]):
        p, _ = w.run(outer, lb, "run", "-q", *extra, "-p", inner, "--", PY, "-c", CONNECT,
                     "other.example.test", str(w.port))
        assert "unresolved True" in p.stdout, (extra, p.stdout, p.stderr)
        assert "other.example.test" not in w.ns.asked, (extra, w.ns.asked)
    # positive control: a name both allow resolves and is reached
    p, _ = w.run(outer, lb, "run", "-q", "-p", inner, "--", PY, "-c", CONNECT,
                 "pkg.example.test", str(w.port))
    assert f"connected {w.net}.2" in p.stdout, (p.stdout, p.stderr)
    assert "pkg.example.test" in w.ns.asked and w.l2.count == 1, (w.ns.asked, w.l2.count)


FASTOPEN = r"""
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(x)]) + x.encode() for x in sys.argv[3].split(".")) + b"\0\0\1\0\1"
s = socket.socket()
try:
    s.sendto(struct.pack(">H", len(q)) + q, socket.MSG_FASTOPEN, (host, port))
    print("sent")
except OSError as e:
    print("refused", e.errno)
"""


@test
def tcp_fast_open_to_the_nameserver_is_refused_not_sent_unmediated():
    """sendto(MSG_FASTOPEN) connects as it sends: towards a nameserver whose
    address the policy grants, it would bypass the redirect connect() gets
    and carry any name upstream."""
    w = World()
    pol = w.policy([f"allow connect tcp {w.net}.0/24:*"])
    p, recs = w.run(pol, PY, "-c", FASTOPEN, w.net + ".1", "53", "fastopen.secret.example")
    assert p.stdout == f"refused {errno.EOPNOTSUPP}\n", (p.stdout, p.stderr)
    assert "fastopen.secret.example" not in w.ns.asked, w.ns.asked
    assert [r for r in recs if r["verdict"] == "deny" and "fast open" in r["object"]], recs
    # positive control: fast open to an address the policy grants, not a nameserver
    p, _ = w.run(pol, PY, "-c", FASTOPEN, w.net + ".2", str(w.port), "x")
    assert p.stdout == "sent\n" and w.l2.count == 1, (p.stdout, p.stderr, w.l2.count)


@test
def an_overlay_run_reads_the_view_too():
    # Under --overlay /etc/resolv.conf has the overlay's device: the host's
    # file was served, its resolver used UDP and no name resolved (trial).
    w = World()
    pol = w.policy([f"allow connect tcp pkg.example.test:{w.port}"])
    ovl = os.path.join(lbtest.tmpdir(), "ovl")
    p, _ = w.run(pol, "cat", "/etc/resolv.conf", opts=("--overlay", ovl))
    assert "options use-vc" in p.stdout.splitlines(), (p.stdout, p.stderr)
    p, _ = w.run(pol, PY, "-c", CONNECT, "pkg.example.test", str(w.port),
                 opts=("--overlay", ovl))
    assert f"connected {w.net}.2" in p.stdout, (p.stdout, p.stderr)
    assert w.l2.count == 1, w.l2.count



STALE_A = r"""
import socket, struct, sys, time
q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(x)]) + x.encode() for x in sys.argv[2].split(".")) + b"\0\0\1\0\1"
s = socket.create_connection((sys.argv[1], 53), timeout=10)
s.sendall(struct.pack(">H", len(q)) + q)
s.recv(512)
s.sendall(b"\0\2xx")  # malformed: litebox hangs up first (its side keeps TIME_WAIT)
s.recv(512)
print(s.getsockname()[1], s.getpeername()[1], flush=True)
s.close()
time.sleep(30)
"""

STALE_B = r"""
import socket, struct, sys
q = struct.pack(">HHHHHH", 9, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(x)]) + x.encode() for x in sys.argv[3].split(".")) + b"\0\0\1\0\1"
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.settimeout(10)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.connect(("127.0.0.1", int(sys.argv[2])))
    s.sendall(struct.pack(">H", len(q)) + q)
    print("answered", len(s.recv(512)) > 0)
except OSError as e:
    print("refused", e.errno)
"""


@test
def another_runs_program_cannot_reuse_a_served_resolver_connection_address():
    """litebox's resolver serves a connection by its peer address: once
    served, that address is forgotten, so another sandbox's program (the
    default profile reaches loopback) binding it again is not served under
    this run's policy."""
    w = World()
    pol = w.policy(["allow connect tcp *.example.test:443"], base="default")
    a = subprocess.Popen([lbtest.LITEBOX, "run", "-q", "-p", pol, "--", PY, "-c", STALE_A,
                          w.net + ".1", "pkg.example.test"], env=w.env, cwd=w.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = a.stdout.readline().split()
        assert len(line) == 2, (line, a.stderr.read() if a.poll() is not None else "")
        assert "pkg.example.test" in w.ns.asked, w.ns.asked  # positive control
        p = litebox("run", "-q", "--", PY, "-c", STALE_B, line[0], line[1], "other.example.test",
                    cwd=w.dir, env=w.env, timeout=60)
        assert "answered True" not in p.stdout, (p.stdout, p.stderr)
        assert "other.example.test" not in w.ns.asked, w.ns.asked
    finally:
        a.kill()
        a.wait()

if __name__ == "__main__":
    lbtest.run()
