#!/usr/bin/env python3
"""The terminal stays the program's: a REPL, Ctrl-C from the terminal, a
full-screen editor writing a file, and job control, all through a pty."""
import os
import pty
import select
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import LITEBOX, eq, test


class Pty:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(argv[0], argv)
        self.buf = b""

    def send(self, data):
        os.write(self.fd, data)

    def expect(self, needle, timeout=10):
        end = time.time() + timeout
        while needle not in self.buf:
            left = end - time.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {needle!r}; got {self.buf[-400:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"EOF waiting for {needle!r}; got {self.buf[-400:]!r}")
                self.buf += chunk

    def wait(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    self.buf += os.read(self.fd, 4096)
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        raise AssertionError("did not exit")


@test
def python_repl_and_ctrl_c():
    t = Pty([LITEBOX, "run", "-q", "--", "/usr/bin/python3", "-q"])
    t.expect(b">>> ")
    t.send(b"6*7\r")
    t.expect(b"42")
    t.send(b"import time; time.sleep(30)\r")
    time.sleep(0.5)
    t.send(b"\x03")  # the terminal's SIGINT reaches the program
    t.expect(b"KeyboardInterrupt")
    t.send(b"print('still' + 'here')\r")
    t.expect(b"stillhere")
    t.send(b"exit(5)\r")
    eq(t.wait(), 5, "REPL exit status")


@test
def full_screen_editor_writes_the_file():
    if not shutil.which("vi"):
        lbtest.skip("no vi on this machine")
    d = lbtest.tmpdir()
    path = os.path.join(d, "f.txt")
    with open(path, "w") as f:
        f.write("one\n")
    t = Pty([LITEBOX, "run", "-q", "--", shutil.which("vi"), path])
    time.sleep(1.0)
    t.send(b"Atwo\x1b")
    time.sleep(0.3)
    t.send(b":wq\r")
    eq(t.wait(), 0, "vi exit status")
    eq(open(path).read(), "onetwo\n", "file written through the sandbox")


@test
def job_control_stop_and_continue():
    t = Pty(["/bin/sh", "-i"])
    t.send(f"{LITEBOX} run -q -- /bin/sh -c 'sleep 1; echo woke-up'\r".encode())
    time.sleep(0.3)
    t.send(b"\x1a")  # Ctrl-Z: the whole job stops
    t.expect(b"Stopped")
    t.send(b"fg\r")
    t.expect(b"woke-up")
    t.send(b"exit\r")
    t.wait()


if __name__ == "__main__":
    lbtest.run()
