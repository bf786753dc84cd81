#!/usr/bin/env python3
"""Network mediation, asserted on the other end: real listeners outside the
sandbox count who reached them."""
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, litebox, test

PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))


class TcpListener:
    """Accepts and counts connections on 127.0.0.1:port (outside the sandbox)."""

    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.count += 1
                c.close()
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        time.sleep(0.3)
        self.stop = True
        self.thread.join()
        self.sock.close()


def policy(lines):
    d = lbtest.tmpdir()
    p = os.path.join(d, "net.policy")
    with open(p, "w") as f:
        f.write("version 1\nallow read /usr/** /etc/** /proc/**\nallow exec /usr/**\n")
        f.write("allow read $CWD/** $TMPDIR/**\nallow write $CWD/** $TMPDIR/**\n")
        for l in lines:
            f.write(l + "\n")
    return d, p


def run_py(pol, d, code, **kw):
    return litebox("run", "-p", pol, "--", PY, "-c", code, cwd=d, **kw)


CONNECT = ("import socket, sys\n"
           "fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET\n"
           "s = socket.socket(fam, socket.SOCK_STREAM)\n"
           "try:\n"
           "    s.connect((sys.argv[1], int(sys.argv[2]))); print('connected')\n"
           "except OSError as e: print('refused', e.errno)\n")


def connect_from_sandbox(pol, d, host, port):
    p = litebox("run", "-p", pol, "--", PY, "-c", CONNECT, host, str(port), cwd=d)
    return p.stdout.split(), p.stderr


@test
def tcp_connect_allowed_reaches_denied_does_not():
    a, b = TcpListener(), TcpListener()
    d, pol = policy([f"allow connect tcp 127.0.0.1:{a.port}"])
    out_a, _ = connect_from_sandbox(pol, d, "127.0.0.1", a.port)
    out_b, err = connect_from_sandbox(pol, d, "127.0.0.1", b.port)
    a.close()
    b.close()
    eq(out_a, ["connected"], "allowed connect")
    eq(a.count, 1, "allowed listener reached")
    eq(out_b, ["refused", "111"], "denied connect gets ECONNREFUSED")
    eq(b.count, 0, "denied listener not reached")
    assert f"denied connect tcp 127.0.0.1:{b.port}" in err, err


@test
def ipv4_mapped_ipv6_is_judged_as_ipv4():
    a, b = TcpListener(), TcpListener()
    d, pol = policy([f"allow connect tcp 127.0.0.1:{a.port}"])
    out_a, _ = connect_from_sandbox(pol, d, "::ffff:127.0.0.1", a.port)
    out_b, _ = connect_from_sandbox(pol, d, "::ffff:127.0.0.1", b.port)
    a.close()
    b.close()
    eq(out_a, ["connected"], "v4-mapped to the allowed port")
    eq(out_b[0], "refused", "v4-mapped to a denied port")
    eq((a.count, b.count), (1, 0), "what the listeners saw")


@test
def sockaddr_swapped_by_a_second_thread():
    a, b = TcpListener(), TcpListener()
    d, pol = policy([f"allow connect tcp 127.0.0.1:{a.port}", f"allow exec $CWD/**"])
    exe = os.path.join(d, "race_connect")
    subprocess.run(["cc", "-O1", "-pthread", "-o", exe, os.path.join(HERE, "netprogs", "race_connect.c")],
                   check=True)
    p = litebox("run", "-q", "-p", pol, "--", exe, str(a.port), str(b.port), "1500", cwd=d, timeout=300)
    a.close()
    b.close()
    eq(p.returncode, 0, p.stderr)
    eq(b.count, 0, "the denied listener was never reached")
    assert a.count > 0, "positive control: the allowed listener was reached"


@test
def udp_sendto_and_sendmsg():
    recv_a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    recv_a.bind(("127.0.0.1", 0))
    recv_b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    recv_b.bind(("127.0.0.1", 0))
    pa, pb = recv_a.getsockname()[1], recv_b.getsockname()[1]
    d, pol = policy([f"allow connect udp 127.0.0.1:{pa}"])
    code = ("import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"s.sendto(b'to-a', ('127.0.0.1', {pa}))\n"
            f"s.sendmsg([b'msg-', b'a'], [], 0, ('127.0.0.1', {pa}))\n"
            "for f in (lambda: s.sendto(b'to-b', ('127.0.0.1', %d)),\n"
            "          lambda: s.sendmsg([b'msg-b'], [], 0, ('127.0.0.1', %d))):\n"
            "    try: f(); print('sent')\n"
            "    except OSError: print('refused')\n" % (pb, pb))
    p = run_py(pol, d, code)
    eq(p.stdout.split(), ["refused", "refused"], "sends to the denied receiver: " + p.stderr)
    recv_a.settimeout(2)
    got = sorted([recv_a.recv(100), recv_a.recv(100)])
    eq(got, [b"msg-a", b"to-a"], "the allowed receiver got both datagrams")
    recv_b.setblocking(False)
    try:
        data = recv_b.recv(100)
    except BlockingIOError:
        data = None
    eq(data, None, "the denied receiver got nothing")


@test
def unix_socket_server_outside():
    d = lbtest.tmpdir()
    sa, sb = os.path.join(d, "a.sock"), os.path.join(d, "b.sock")
    servers = []
    for path in (sa, sb):
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.listen(8)
        s.settimeout(0.5)
        servers.append(s)
    _, pol = policy([f"allow connect unix {sa}"])
    code = ("import socket, sys\n"
            "for p in sys.argv[1:]:\n"
            "    s = socket.socket(socket.AF_UNIX)\n"
            "    try: s.connect(p); print('connected')\n"
            "    except OSError: print('refused')\n")
    p = litebox("run", "-q", "-p", pol, "--", PY, "-c", code, sa, sb, cwd="/")
    eq(p.stdout.split(), ["connected", "refused"], p.stderr)
    servers[0].accept()[0].close()
    try:
        servers[1].accept()
        reached = True
    except socket.timeout:
        reached = False
    eq(reached, False, "the denied unix server was not reached")


@test
def bind_is_judged():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()[1]
    probe.close()
    other = free + 1 if free < 65535 else free - 1
    d, pol = policy([f"allow bind tcp 127.0.0.1:{free}"])
    code = ("import socket\n"
            "for port in (%d, %d):\n"
            "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "    try: s.bind(('127.0.0.1', port)); print('bound')\n"
            "    except PermissionError: print('refused')\n" % (free, other))
    p = run_py(pol, d, code)
    eq(p.stdout.split(), ["bound", "refused"], p.stderr)


@test
def nonblocking_connect_completes():
    a = TcpListener()
    d, pol = policy([f"allow connect tcp 127.0.0.1:{a.port}"])
    code = ("import socket, select, errno\n"
            "s = socket.socket(); s.setblocking(False)\n"
            f"r = s.connect_ex(('127.0.0.1', {a.port}))\n"
            "select.select([], [s], [], 5)\n"
            "print(r in (0, errno.EINPROGRESS), s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))\n")
    p = run_py(pol, d, code)
    a.close()
    eq(p.stdout.split(), ["True", "0"], p.stderr)
    eq(a.count, 1, "listener reached")


@test
def curl_reaches_a_local_http_server_on_an_allowed_port():
    if not shutil.which("curl"):
        lbtest.skip("curl is not installed")
    srv_dir = lbtest.tmpdir()
    with open(os.path.join(srv_dir, "hello.txt"), "w") as f:
        f.write("hello from the host\n")
    srv = subprocess.Popen([PY, "-m", "http.server", "0", "--bind", "127.0.0.1"], cwd=srv_dir,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = srv.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = int(line.split("port ")[1].split()[0])
        d = lbtest.tmpdir()
        p = litebox("run", "-q", "--", "curl", "-s", f"http://localhost:{port}/hello.txt", cwd=d)
        eq(p.stdout, "hello from the host\n", "curl under the default profile: " + p.stderr)
        d2, pol = policy(["allow connect tcp 127.0.0.1:1"])
        p = litebox("run", "-q", "-p", pol, "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    f"http://127.0.0.1:{port}/hello.txt", cwd=d2)
        assert p.returncode != 0 and p.stdout in ("000", ""), (p.returncode, p.stdout)
    finally:
        srv.terminate()
        srv.wait()


@test
def name_resolution_of_localhost():
    d = lbtest.tmpdir()
    p = litebox("run", "-q", "--", PY, "-c",
                "import socket; print(sorted({a[4][0] for a in socket.getaddrinfo('localhost', 80)}))", cwd=d)
    eq(p.returncode, 0, p.stderr)
    assert "127.0.0.1" in p.stdout, p.stdout
    p = litebox("run", "-q", "--", "getent", "hosts", "localhost", cwd=d)
    eq(p.returncode, 0, p.stderr)


@test
def redis_suite_under_a_policy_that_allows_only_its_port():
    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if not server or not cli:
        lbtest.skip("redis-server/redis-cli are not installed (.ci/run installs them)")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if subprocess.run([cli, "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.1)
        d, pol = policy([f"allow connect tcp 127.0.0.1:{port}"])
        suite = (f"set -e; {cli} -p {port} set k 41 >/dev/null; {cli} -p {port} incr k;"
                 f" test \"$({cli} -p {port} get k)\" = 42 && echo suite-ok")
        pol_sh = pol.replace(".policy", "-sh.policy")
        with open(pol, "a") as f:
            f.write("allow exec /bin/** /usr/bin/**\n")
        p = litebox("run", "-q", "-p", pol, "--", "/bin/sh", "-c", suite, cwd=d)
        eq(p.stdout.split()[-1:], ["suite-ok"], "redis suite under the policy: " + p.stderr)
        eq(subprocess.run([cli, "-p", str(port), "get", "k"], capture_output=True, text=True).stdout.strip(),
           "42", "the server outside saw the writes")
        d2, pol2 = policy(["allow connect tcp 127.0.0.1:1", "allow exec /bin/** /usr/bin/**"])
        p = litebox("run", "-q", "-p", pol2, "--", cli, "-p", str(port), "ping", cwd=d2)
        assert "PONG" not in p.stdout, "a policy without the port cannot reach redis"
        del pol_sh
    finally:
        srv.terminate()
        srv.wait()


@test
def af_unspec_destinations_are_judged_as_ipv4():
    recv_b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    recv_b.bind(("127.0.0.1", 0))
    pb = recv_b.getsockname()[1]
    d, pol = policy(["allow connect udp 127.0.0.1:1"])
    code = ("import ctypes, socket, struct\n"
            "l = ctypes.CDLL(None, use_errno=True)\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "sa = struct.pack('=HH4s8x', 0, socket.htons(%d), socket.inet_aton('127.0.0.1'))\n"
            "r = l.sendto(s.fileno(), b'unspec', 6, 0, sa, len(sa))\n"
            "print('sent' if r == 6 else 'refused')\n" % pb)
    p = run_py(pol, d, code)
    eq(p.stdout.split(), ["refused"], p.stderr)
    recv_b.setblocking(False)
    try:
        data = recv_b.recv(100)
    except BlockingIOError:
        data = None
    eq(data, None, "nothing reached the receiver")


@test
def listen_without_bind_is_a_wildcard_bind():
    d = lbtest.tmpdir()
    code = ("import socket\n"
            "s = socket.socket()\n"
            "try:\n"
            "    s.listen(); print('listening', s.getsockname())\n"
            "except PermissionError: print('refused')\n"
            "t = socket.socket(); t.bind(('127.0.0.1', 0)); t.listen(); print('control')\n")
    p = litebox("run", "-q", "--", PY, "-c", code, cwd=d)
    eq(p.stdout.split(), ["refused", "control"], "default allows binding loopback only: " + p.stderr)


@test
def hostile_control_message_is_refused_and_the_supervisor_survives():
    d = lbtest.tmpdir()
    code = ("import ctypes, socket, struct\n"
            "a, b = socket.socketpair()\n"
            "fds = [open('/dev/null') for _ in range(64)]\n"
            "l = ctypes.CDLL(None, use_errno=True)\n"
            "ctrl = ctypes.create_string_buffer(struct.pack('=QiiI', 16 + 800, socket.SOL_SOCKET, 1, 0), 24)\n"
            "data = ctypes.create_string_buffer(b'x')\n"
            "iov = struct.pack('=QQ', ctypes.addressof(data), 1)\n"
            "iovb = ctypes.create_string_buffer(iov)\n"
            "msg = struct.pack('=QI4xQQQQi4x', 0, 0, ctypes.addressof(iovb), 1, ctypes.addressof(ctrl), 24, 0)\n"
            "msgb = ctypes.create_string_buffer(msg)\n"
            "print(l.sendmsg(a.fileno(), msgb, 0), ctypes.get_errno())\n"
            "a.send(b'after'); print(b.recv(10).decode())\n")
    p = litebox("run", "-q", "--", PY, "-c", code, cwd=d)
    eq(p.returncode, 0, p.stderr)
    eq(p.stdout.split(), ["-1", "22", "after"], "EINVAL, then the sandbox still works")


if __name__ == "__main__":
    lbtest.run()
