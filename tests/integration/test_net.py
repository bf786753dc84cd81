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


# ---- the boundary: litebox never lends its authority, a destination is a destination ----

def as_nobody():
    """preexec_fn and a note: run litebox as uid/gid 65534 when root."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def run_as(prefix, args, cwd):
    return subprocess.run([*(prefix or []), lbtest.LITEBOX, *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def lo_addresses():
    out = subprocess.run(["ip", "-o", "addr", "show", "lo"], capture_output=True, text=True).stdout
    return out


NEWADDR = r"""
import socket, struct, sys
addr, how = socket.inet_aton(sys.argv[1]), sys.argv[2]
ifa = struct.pack('=BBBBI', socket.AF_INET, 32, 0, 0, socket.if_nametoindex('lo'))
rta = lambda t, d: struct.pack('=HH', 4 + len(d), t) + d
body = ifa + rta(2, addr) + rta(1, addr)
msg = struct.pack('=IHHII', 16 + len(body), 20, 1 | 4 | 0x400 | 0x200, 1, 0) + body
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
try:
    if how == 'sendto': s.sendto(msg, (0, 0))
    else: s.sendmsg([msg], [], 0, (0, 0))
    print('ack', struct.unpack('=i', s.recv(4096)[16:20])[0])
except OSError as e:
    print('error', e.errno)
"""

GETLINK = r"""
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
req = struct.pack('=IHHIIBxxxiII', 32, 18, 1 | 0x300, 1, 0, socket.AF_UNSPEC, 0, 0, 0)
s.sendto(req, (0, 0))
names = set()
done = False
while not done:
    data = s.recv(65536)
    off = 0
    while off < len(data):
        ln, typ = struct.unpack_from('=IH', data, off)
        if typ == 3: done = True; break
        if typ == 16:
            a = off + 32
            while a < off + ln:
                rl, rt = struct.unpack_from('=HH', data, a)
                if rt == 3: names.add(data[a + 4:a + rl].rstrip(b'\0').decode())
                a += (rl + 3) & ~3
        off += (ln + 3) & ~3
print('lo' in names)
"""


@test
def rtnetlink_newaddr_runs_with_the_programs_capabilities():
    if os.geteuid() != 0:
        lbtest.skip("needs root: the attack is litebox's CAP_NET_ADMIN")
    if not shutil.which("ip"):
        lbtest.skip("ip (iproute2) is not installed: the host's lo cannot be inspected")
    d = lbtest.tmpdir()
    try:
        for i, how in enumerate(("sendto", "sendmsg")):
            addr = f"192.0.2.{200 + i}"
            p = litebox("run", "-q", "-p", "permissive", "--", PY, "-c", NEWADDR, addr, how, cwd=d)
            assert f" {addr}/32" not in lo_addresses(), f"{how} added {addr} to lo: {p.stdout}"
            eq(p.stdout.split(), ["ack", "-1"], f"{how}: EPERM as for the program: {p.stderr}")
        # positive controls: natively (with CAP_NET_ADMIN) the same request works ...
        p = subprocess.run([PY, "-c", NEWADDR, "192.0.2.210", "sendto"], capture_output=True, text=True)
        eq(p.stdout.split(), ["ack", "0"], "natively root adds the address")
        assert " 192.0.2.210/32" in lo_addresses()
        # ... and a harmless dump works under litebox
        p = litebox("run", "-q", "-p", "permissive", "--", PY, "-c", GETLINK, cwd=d)
        eq(p.stdout.split(), ["True"], "RTM_GETLINK dump under litebox: " + p.stderr)
    finally:
        for a in ("192.0.2.200", "192.0.2.201", "192.0.2.210"):
            subprocess.run(["ip", "addr", "del", f"{a}/32", "dev", "lo"], capture_output=True)


ROUTES = r"""
import socket, struct, sys
r = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); r.bind(('::1', 0)); r.settimeout(2)
port = r.getsockname()[1]
srh = struct.pack('=BBBBBBH', 0, 2, 4, 0, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, '2001:db8::1')
def attempt(what, f):
    try: f(); print(what, 'ok')
    except OSError as e: print(what, e.errno)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
attempt('rthdr', lambda: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RTHDR, srh))
attempt('hopopts', lambda: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, b'\0' * 8))
attempt('rthdr-cmsg', lambda: s.sendmsg([b'r'], [(socket.IPPROTO_IPV6, socket.IPV6_RTHDR, srh)], 0, ('::1', port)))
attempt('dstopts-cmsg', lambda: s.sendmsg([b'd'], [(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, b'\0' * 8)], 0, ('::1', port)))
attempt('pktinfo-if-cmsg', lambda: s.sendmsg([b'p'], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, bytes(16) + struct.pack('=i', 1))], 0, ('::1', port)))
attempt('bindtodevice', lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'lo\0'))
attempt('freebind', lambda: s.setsockopt(socket.IPPROTO_IPV6, 78, 1))
v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
lsrr = bytes([1, 0x83, 7, 4]) + socket.inet_aton('192.0.2.1')
attempt('ip-options', lambda: v4.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, lsrr))
attempt('retopts-cmsg', lambda: v4.sendmsg([b'o'], [(socket.IPPROTO_IP, 7, lsrr)], 0, ('127.0.0.1', 9)))
# positive controls: ordinary options, an ordinary control message, a plain send
attempt('recvpktinfo', lambda: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1))
attempt('hoplimit-cmsg', lambda: s.sendmsg([b'h'], [(socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack('=i', 5))], 0, ('::1', port)))
s.sendto(b'plain', ('::1', port))
got = set()
try:
    while True: got.add(r.recv(100).decode())
except socket.timeout: pass
print('received', ','.join(sorted(got)))
"""


def route_results(out):
    return dict(l.split(" ", 1) for l in out.strip().splitlines())


@test
def route_options_are_refused_plain_sends_work():
    d = lbtest.tmpdir()
    os.chmod(d, 0o777)
    nobody = as_nobody()
    if nobody:  # without privilege the same (IPV6_RTHDR needs none natively)
        p = run_as(nobody, ["run", "-p", "permissive", "--", PY, "-c", ROUTES], d)
        res = route_results(p.stdout)
        eq((res.get("rthdr"), res.get("bindtodevice"), res.get("received")), ("1", "1", "h,plain"),
           "as nobody: " + p.stdout + p.stderr)
    p = litebox("run", "-p", "permissive", "--", PY, "-c", ROUTES, cwd=d)
    res = route_results(p.stdout)
    for what in ("rthdr", "hopopts", "rthdr-cmsg", "dstopts-cmsg", "pktinfo-if-cmsg", "bindtodevice",
                 "freebind", "ip-options", "retopts-cmsg"):
        eq(res.get(what), "1", f"{what} refused with EPERM: {p.stdout} {p.stderr}")
    for line in ("setsockopt IPV6_RTHDR", "sendmsg IPV6_RTHDR", "setsockopt SO_BINDTODEVICE",
                 "setsockopt IP_OPTIONS", "sendmsg IP_RETOPTS"):
        assert f"denied syscall {line}" in p.stderr, (line, p.stderr)
    eq(res.get("recvpktinfo"), "ok", "an ordinary option")
    eq(res.get("hoplimit-cmsg"), "ok", "an ordinary control message")
    eq(res.get("received"), "h,plain", "only the ordinary datagrams reached ::1")
    # `allow syscall setsockopt` lifts the refusal (the policy's own choice)
    _, pol = policy(["allow connect *", "allow bind *", "allow syscall setsockopt"])
    p = run_py(pol, d, ROUTES)
    eq(route_results(p.stdout).get("rthdr"), "ok", "lifted: " + p.stdout + p.stderr)


AUTOBIND = r"""
import socket
r = socket.socket(); r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('127.0.0.1', 0))
r6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); r6.bind(('::1', 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', r.getsockname())
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s6.sendmsg([b'y'], [], 0, r6.getsockname()[:2])
for sock in (s, s6):
    host, port = sock.getsockname()[:2]
    print(host, port != 0)
"""


@test
def unbound_udp_send_binds_as_natively():
    d = lbtest.tmpdir()
    native = subprocess.run([PY, "-c", AUTOBIND], capture_output=True, text=True, cwd=d)
    p = litebox("run", "-q", "--", PY, "-c", AUTOBIND, cwd=d)
    eq(native.stdout.split(), ["0.0.0.0", "True", "::", "True"], "native autobind")
    eq(p.stdout, native.stdout, "autobind under litebox: " + p.stderr)


UNIX_NAMES = r"""
import os, socket, sys, tempfile
d = tempfile.mkdtemp(dir=sys.argv[1])
name = os.path.join(d, 'n' * (107 - len(d) - 1))
s = socket.socket(socket.AF_UNIX); s.bind(name); s.listen()
c = socket.socket(socket.AF_UNIX); c.connect(name)
a, peer = s.accept()
print(len(name), s.getsockname() == name, c.getpeername() == name, repr(peer), oct(os.stat(name).st_mode))
os.chdir(d)
dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); dg.bind('rel.sock')
tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); tx.bind('tx.sock'); tx.sendto(b'hi', 'rel.sock')
data, src = dg.recvfrom(10)
print(dg.getsockname(), src, data.decode())
"""


@test
def unix_sockets_keep_the_programs_names():
    for who, prefix in (("root", None), ("nobody", as_nobody())):
        if who == "nobody" and prefix is None:
            continue
        d = lbtest.tmpdir()
        os.chmod(d, 0o777)
        env = dict(os.environ, TMPDIR=d)
        native = subprocess.run([*(prefix or []), PY, "-c", UNIX_NAMES, d], capture_output=True,
                                text=True, cwd=d, env=env)
        eq(native.returncode, 0, native.stderr)
        p = subprocess.run([*(prefix or []), lbtest.LITEBOX, "run", "-q", "--", PY, "-c", UNIX_NAMES, d],
                           capture_output=True, text=True, cwd=d, env=env, timeout=120)
        eq(p.stdout, native.stdout, f"{who}: names, modes and peers as natively: " + p.stderr)
        assert native.stdout.startswith("107 True True ''"), native.stdout


MP = r"""
import multiprocessing, sys
from multiprocessing.connection import Listener, Client
with Listener(family='AF_UNIX') as l:
    addr = l.address
    c = Client(addr); s = l.accept(); c.send('ping'); print(s.recv(), addr == l._listener._socket.getsockname())
m = multiprocessing.Manager(); d = m.dict(); d['k'] = 42; print(dict(d)); m.shutdown()
"""


@test
def python_multiprocessing_under_the_default_profile():
    d = lbtest.tmpdir()
    p = litebox("run", "-q", "--", PY, "-c", MP, cwd=d, timeout=120)
    eq(p.stdout.split("\n")[:2], ["ping True", "{'k': 42}"], p.stderr)


@test
def go_unix_listener_addr_round_trip():
    go = shutil.which("go")
    if not go:
        lbtest.skip("go is not installed")
    d = lbtest.tmpdir()
    exe = os.path.join(d, "unix_addr")
    env = dict(os.environ, GOCACHE=os.path.join(d, "gocache"), GOPATH=os.path.join(d, "gopath"),
               GOFLAGS="-mod=mod", GO111MODULE="off", CGO_ENABLED="0")
    b = subprocess.run([go, "build", "-o", exe, os.path.join(HERE, "netprogs", "unix_addr.go")],
                       capture_output=True, text=True, env=env, timeout=300)
    if b.returncode != 0:
        lbtest.skip("go build failed: " + b.stderr[-300:])
    nd, ld = os.path.join(d, "native"), os.path.join(d, "sandboxed")
    os.mkdir(nd)
    os.mkdir(ld)
    native = subprocess.run([exe, nd], capture_output=True, text=True)
    eq(native.stdout.split(), ["true", "true", "hi"], native.stderr)
    p = litebox("run", "-q", "--", exe, ld, cwd=d)
    eq(p.stdout, native.stdout, "Listener.Addr() under litebox: " + p.stderr)


FOREIGN = r"""
import os, socket, sys
def attempt(path):
    c = socket.socket(socket.AF_UNIX)
    try: c.connect(path); return 'connected'
    except OSError as e: return str(e.errno)
outside, linked, own = sys.argv[1:4]
print('outside', attempt(outside))
os.link(outside, linked)
print('linked', attempt(linked))
os.unlink(linked)
s = socket.socket(socket.AF_UNIX); s.bind(own); s.listen()
print('own', attempt(own))
"""


def unix_server(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(8)
    s.settimeout(0.5)
    return s


def was_reached(server):
    try:
        server.accept()[0].close()
        return True
    except socket.timeout:
        return False


@test
def other_programs_unix_sockets_are_not_reachable_through_a_wildcard():
    for who, prefix in (("root", None), ("nobody", as_nobody())):
        if who == "nobody" and prefix is None:
            continue
        d = lbtest.tmpdir()
        os.chmod(d, 0o777)
        outside = os.path.join(d, "agent.sock")
        srv = unix_server(outside)
        os.chmod(outside, 0o777)
        if prefix:
            os.chown(outside, 65534, 65534)  # the user's own agent, as tmux or ssh-agent would be
        args = ["run", "--", PY, "-c", FOREIGN, outside, os.path.join(d, "linked.sock"),
                os.path.join(d, "own.sock")]
        env_tmp = dict(os.environ, TMPDIR=d)
        p = subprocess.run([*(prefix or []), lbtest.LITEBOX, *args], capture_output=True, text=True,
                           timeout=120, cwd=d, env=env_tmp)
        res = route_results(p.stdout)
        eq(res, {"outside": "111", "linked": "111", "own": "connected"}, f"{who}: {p.stdout} {p.stderr}")
        eq(was_reached(srv), False, f"{who}: the outside server was never reached")
        assert f"denied connect unix {outside}" in p.stderr, p.stderr
        # a policy that names the socket by its path reaches it (positive control)
        pd, pol = policy([f"allow connect unix {outside}"])
        os.chmod(pd, 0o755)
        os.chmod(pol, 0o644)
        p = subprocess.run([*(prefix or []), lbtest.LITEBOX, "run", "-q", "-p", pol, "--", PY, "-c",
                            "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1]); print('ok')",
                            outside], capture_output=True, text=True, timeout=120, cwd=d)
        eq(p.stdout.split(), ["ok"], f"{who}: named socket: {p.stderr}")
        eq(was_reached(srv), True, f"{who}: the named socket was reached")
        srv.close()


@test
def unix_bind_race_never_lands_outside_the_judged_directory():
    top = lbtest.tmpdir()
    ok, protected = os.path.join(top, "ok"), os.path.join(top, "protected")
    os.makedirs(os.path.join(ok, "d"))
    os.makedirs(protected)
    os.symlink(protected, os.path.join(ok, "x"))
    exe = os.path.join(top, "race_bind")
    subprocess.run(["cc", "-O1", "-pthread", "-o", exe, os.path.join(HERE, "netprogs", "race_bind.c")],
                   check=True)
    _, pol = policy([f"allow bind unix {ok}/**", f"allow exec {top}/race_bind",
                     f"allow read {top}/** ", f"allow write {top}/**"])
    p = litebox("run", "-q", "-p", pol, "--", exe, "3000", cwd=ok, timeout=300)
    eq(p.returncode, 0, p.stderr)
    outside = [f for f in os.listdir(protected)]
    eq(outside, [], "no socket was created in the directory the policy refuses")
    inside = [f for d in (os.path.join(ok, "d"), os.path.join(ok, "x")) if os.path.isdir(d)
              for f in os.listdir(d)]
    assert len(inside) > 0 and p.stdout.startswith("bound="), (p.stdout, "positive control: binds in d/ worked")


@test
def unix_bind_under_proc_changes_nothing_a_symlink_points_to():
    top = lbtest.tmpdir()
    ok = os.path.join(top, "ok")
    os.makedirs(ok)
    victim = os.path.join(top, "victim")
    with open(victim, "w") as f:
        f.write("v\n")
    os.chmod(victim, 0o600)
    exe = os.path.join(top, "race_proc_bind")
    subprocess.run(["cc", "-O1", "-pthread", "-o", exe,
                    os.path.join(HERE, "netprogs", "race_proc_bind.c")], check=True)
    _, pol = policy([f"allow bind unix {ok}/**", f"allow exec {exe}", f"allow read {top}/**",
                     f"allow write {ok}/**"])
    p = litebox("run", "-q", "-p", pol, "--", exe, victim, "2000", cwd=ok, timeout=300)
    eq(p.returncode, 0, p.stderr)
    eq(p.stdout.splitlines()[0], "mode=700 sock=1", "positive control: the program's umask")
    assert p.stdout.splitlines()[1] != "bound=0", p.stdout
    eq(os.stat(victim).st_mode & 0o7777, 0o600, "the symlink's target kept its mode")


SEND_CREDS = r"""
import os, socket, struct, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
if sys.argv[1] == 'drop':
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
cred = struct.pack('iII', os.getpid(), 0, 0)
try:
    a.sendmsg([b'x'], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, cred)])
    _, anc, _, _ = b.recvmsg(1, 64)
    print('sent', struct.unpack('iII', anc[0][2])[1:])
except OSError as e:
    print('errno', e.errno)
"""


@test
def scm_credentials_claim_only_the_programs_ids():
    # The kernel checks the claimed uid/gid against the sending thread,
    # litebox's: a program that dropped root must not send uid 0.
    if os.geteuid() != 0:
        lbtest.skip("needs root: the program must drop to nobody")
    d = lbtest.tmpdir()
    for how, expect in (("drop", "errno 1"), ("stay", "sent (0, 0)")):
        nat = subprocess.run([PY, "-c", SEND_CREDS, how], capture_output=True, text=True, cwd=d)
        eq(nat.stdout.strip(), expect, f"native control ({how}): " + nat.stderr)
        p = litebox("run", "-q", "--", PY, "-c", SEND_CREDS, how, cwd=d)
        eq(p.stdout, nat.stdout, f"{how}: as natively: " + p.stderr)


DROP_AND_CONNECT = r"""
import os, socket, sys
os.setgroups([]); os.setgid(65534); os.setuid(65534)
for path in sys.argv[1:]:
    c = socket.socket(socket.AF_UNIX)
    try: c.connect(path); print('connected')
    except OSError as e: print(e.errno)
"""


DGRAM_TO = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for f in (lambda: s.sendto(b'to', sys.argv[1]), lambda: s.sendmsg([b'msg'], [], 0, sys.argv[1])):
    try: f(); print('sent')
    except OSError as e: print(e.errno)
"""


@test
def datagrams_to_another_programs_socket_are_refused():
    d = lbtest.tmpdir()
    log = os.path.join(d, "log.sock")  # as /dev/log or a notify socket would be
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(log)
    rx.setblocking(False)
    env = dict(os.environ, TMPDIR=d)
    p = subprocess.run([lbtest.LITEBOX, "run", "--", PY, "-c", DGRAM_TO, log], capture_output=True,
                       text=True, cwd=d, env=env, timeout=120)
    eq(p.stdout.split(), ["111", "111"], p.stderr)
    assert f"denied connect unix {log}" in p.stderr, p.stderr
    try:
        got = rx.recv(10)
    except BlockingIOError:
        got = None
    eq(got, None, "the outside receiver got nothing")
    _, pol = policy([f"allow connect unix {log}"])  # named: the positive control
    p = litebox("run", "-q", "-p", pol, "--", PY, "-c", DGRAM_TO, log, cwd=d)
    eq(p.stdout.split(), ["sent", "sent"], p.stderr)
    eq(sorted([rx.recv(10), rx.recv(10)]), [b"msg", b"to"], "both datagrams arrived")
    rx.close()


@test
def unix_connect_is_checked_with_the_programs_ids():
    if os.geteuid() != 0:
        lbtest.skip("needs root: the program drops to nobody, litebox stays root")
    d = lbtest.tmpdir()
    os.chmod(d, 0o755)
    closed, open_ = os.path.join(d, "closed.sock"), os.path.join(d, "open.sock")
    servers = [unix_server(closed), unix_server(open_)]
    os.chmod(closed, 0o755)  # root's: nobody may not write (connect) to it
    os.chmod(open_, 0o777)
    native = subprocess.run([PY, "-c", DROP_AND_CONNECT, closed, open_], capture_output=True, text=True)
    eq(native.stdout.split(), ["13", "connected"], "natively: " + native.stderr)
    _, pol = policy([f"allow connect unix {closed} unix {open_}"])
    p = litebox("run", "-q", "-p", pol, "--", PY, "-c", DROP_AND_CONNECT, closed, open_, cwd=d)
    eq(p.stdout.split(), ["13", "connected"], "under litebox as natively: " + p.stderr)
    eq(was_reached(servers[0]), False, "the socket nobody may not use was not reached")
    eq(was_reached(servers[1]), True, "positive control")
    for s_ in servers:
        s_.close()


@test
def oversized_unix_address_is_einval_and_the_supervisor_survives():
    d = lbtest.tmpdir()
    code = ("import ctypes, socket, struct\n"
            "l = ctypes.CDLL(None, use_errno=True)\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "sa = struct.pack('=H', socket.AF_UNIX) + b'A' * 126\n"
            "print(l.connect(s.fileno(), sa, len(sa)), ctypes.get_errno())\n"
            "a, b = socket.socketpair(); a.send(b'alive'); print(b.recv(5).decode())\n")
    p = litebox("run", "-q", "--", PY, "-c", code, cwd=d)
    eq(p.stdout.split(), ["-1", "22", "alive"], p.stderr)


if __name__ == "__main__":
    lbtest.run()
