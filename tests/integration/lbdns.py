"""Offline DNS for the integration tests: a tiny authoritative nameserver the
test starts on port 53 of a loopback address of its own, and TCP listeners
that count who reached them (both outside the sandbox)."""
import errno
import random
import socket
import struct
import threading


def wire_name(name):
    return b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0"


class Nameserver:
    """A tiny authoritative server for a few names: A records, CNAMEs,
    NXDOMAIN for the rest. Every question it receives goes to self.asked."""

    def __init__(self, host, records):
        self.records = records
        self.asked = []
        self.over_udp = []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((host, 53))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((host, 53))
        self.tcp.listen(16)
        for fn in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=fn, daemon=True).start()

    def answer(self, q):
        qid = struct.unpack(">H", q[:2])[0]
        p, labels = 12, []
        while q[p]:
            labels.append(q[p + 1:p + 1 + q[p]].decode("ascii", "replace"))
            p += 1 + q[p]
        p += 1
        qtype = struct.unpack(">H", q[p:p + 2])[0]
        name = ".".join(labels).lower()
        self.asked.append(name)
        question = q[12:p + 4]
        if name not in self.records:
            return struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
        rrs = []
        for owner, value in self._chain(name):
            if value.startswith("CNAME "):
                tgt = wire_name(value[6:])
                rrs.append(wire_name(owner) + struct.pack(">HHIH", 5, 1, 60, len(tgt)) + tgt)
            elif qtype == 1:
                rrs.append(wire_name(owner) + struct.pack(">HHIH", 1, 1, 60, 4)
                           + socket.inet_aton(value))
        return struct.pack(">HHHHHH", qid, 0x8180, 1, len(rrs), 0, 0) + question + b"".join(rrs)

    def _chain(self, name):
        out = []
        for _ in range(8):
            for value in self.records.get(name, []):
                out.append((name, value))
            cnames = [v[6:] for v in self.records.get(name, []) if v.startswith("CNAME ")]
            if not cnames:
                break
            name = cnames[0]
        return out

    def _serve_udp(self):
        while True:
            q, a = self.udp.recvfrom(4096)
            self.over_udp.append(q)
            try:
                self.udp.sendto(self.answer(q), a)
            except Exception:  # a probe that is not DNS: logged, unanswered
                self.asked.append(repr(q[:16]))

    def _serve_tcp(self):
        while True:
            c, _ = self.tcp.accept()
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        with c:
            while True:
                h = c.recv(2)
                if len(h) < 2:
                    return
                n = struct.unpack(">H", h)[0]
                q = b""
                while len(q) < n:
                    more = c.recv(n - len(q))
                    if not more:
                        return
                    q += more
                r = self.answer(q)
                c.sendall(struct.pack(">H", len(r)) + r)


class Listener:
    """Counts TCP connections to host:port (outside the sandbox)."""

    def __init__(self, host, port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            c.close()


def loopback_net():
    """A fresh 127.A.B.0/24 for one test's nameserver and listeners."""
    return f"127.{random.randint(60, 250)}.{random.randint(1, 250)}"


def start_nameserver(records_for, skip):
    """A Nameserver at NET.1 with records_for(NET): (net, server). Retries
    another net when the address is taken; skips when port 53 needs root."""
    for _ in range(20):
        net = loopback_net()
        try:
            return net, Nameserver(net + ".1", records_for(net))
        except PermissionError:
            skip("binding port 53 needs root (or net.ipv4.ip_unprivileged_port_start)")
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    skip("no free loopback address for the test's nameserver")
