#!/usr/bin/env python3
"""The supervisor's worker pool: calls that block in the supervisor (FIFO
opens) never keep other calls from being answered, and the workers they
needed leave once idle. Observed from the host: the program's output and
the litebox process's thread count in /proc/PID/task."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, test

OPENERS = 70

# 70 readers block in FIFO opens (each holds a supervisor worker), one
# more read blocks on ctl until the host says go; then a stat and an
# open that needs a worker of its own (one through /proc) must be
# answered while all of them are still blocked (the ptrace platform's
# pool stopped at 64 workers: attack review 6, P6-6). Releasing the FIFO ends
# the burst; the run then waits on ctl2 while the host counts threads.
SCRIPT = f"""
mkfifo f ctl ctl2
i=0; while [ $i -lt {OPENERS} ]; do cat f > /dev/null & i=$((i+1)); done
read line < ctl
stat -c 'stat-answered %n' ctl
head -c 1 /proc/self/status > /dev/null && echo proc-open-answered
echo x > f
wait
echo burst-over
read line < ctl2
echo done
"""


def threads(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return -1


def fifo_waiters(pid):
    """litebox threads blocked in a FIFO open (the kernel's wait_for_partner);
    None where the kernel does not show wchan."""
    n, shown = 0, False
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return -1
    for t in tasks:
        try:
            w = open(f"/proc/{pid}/task/{t}/wchan").read().strip()
        except OSError:
            continue
        shown = shown or w not in ("", "0")
        n += w == "wait_for_partner"
    return n if shown else None


def wait_blocked(pid, want, deadline_s):
    """Until want FIFO opens block in litebox (or, without wchan, enough
    threads exist for them, the receiver, its watcher and main)."""
    end = time.monotonic() + deadline_s
    n = 0
    while time.monotonic() < end:
        t = threads(pid)
        if t < 0:
            return -1  # litebox is gone
        n = fifo_waiters(pid)
        if n is None:
            n = t - 3
        if n >= want:
            return n
        time.sleep(0.1)
    return n


def wait_opens(pid, want, deadline_s):
    """Until want processes of the program wait in an open litebox holds
    (a FIFO's: on the ptrace platform a worker waits for the writer on the
    read end it opened, not in the kernel's wait_for_partner); where
    /proc/PID/syscall says nothing, as wait_blocked."""
    end = time.monotonic() + deadline_s
    n = 0
    while time.monotonic() < end:
        if p_gone(pid):
            return -1
        found = in_open(descendants(pid))
        if found is None:
            # Only a kernel without /proc/PID/syscall falls back for good:
            # a poll that saw no program process yet (or only a zombie,
            # whose file reads fail) polls again (on ptrace the fallback's
            # wchan count stays 0: the run failed when the first poll came
            # too early on a loaded machine).
            if not syscall_shown():
                return wait_blocked(pid, want, max(1, end - time.monotonic()))
            time.sleep(0.1)
            continue
        n = len(found)
        if n >= want:
            return n
        time.sleep(0.1)
    return n


def syscall_shown():
    try:
        with open("/proc/self/syscall") as f:
            return bool(f.read().split())
    except OSError:
        return False


def p_gone(pid):
    return not os.path.exists(f"/proc/{pid}")


def wait_threads(pid, pred, deadline_s):
    """Poll the thread count until pred holds (a liveness bound, not a
    timing assertion); return the last count."""
    end = time.monotonic() + deadline_s
    n = threads(pid)
    while not pred(n) and time.monotonic() < end:
        time.sleep(0.1)
        n = threads(pid)
    return n


def write_fifo(path, text, deadline_s=60):
    """Open a FIFO for writing without hanging the test if nobody reads."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet (or not made yet)
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        os.write(fd, text.encode())
        os.close(fd)
        return
    raise AssertionError(f"nobody opened {path} for reading")


@test
def stat_and_open_answered_while_70_opens_block_and_idle_workers_leave():
    d = lbtest.tmpdir()
    p = subprocess.Popen([lbtest.LITEBOX, "run", "-q", "--timeout", "120s", "--",
                          "/bin/sh", "-c", SCRIPT], cwd=d, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        # every opener and the read of ctl blocked in the supervisor (a
        # straggler opening after the writer left would wait forever)
        n = wait_opens(p.pid, OPENERS + 1, 60)
        assert n >= OPENERS + 1, f"only {n} FIFO opens blocked in litebox"
        busy = threads(p.pid)
        write_fifo(os.path.join(d, "ctl"), "go\n")
        # the burst is over once the run waits on ctl2; then the workers
        # it needed leave: main, the receiver, its watcher, the ctl2 read
        n = wait_threads(p.pid, lambda n: n <= 6, 60)
        assert 0 < n <= 6, f"{n} litebox threads remain after the burst (peak {busy})"
        write_fifo(os.path.join(d, "ctl2"), "go\n")
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    eq(p.returncode, 0, f"exit status (stderr: {err[-500:]})")
    eq(out.split(), ["stat-answered", "ctl", "proc-open-answered", "burst-over", "done"], "output")


def lines(path):
    try:
        with open(path) as f:
            return f.read().count("\n")
    except FileNotFoundError:
        return 0


def wait_progress(path, more, deadline_s=60):
    """Until the program has appended `more` lines to path (each append is
    an open answered by the supervisor); return how many it did."""
    start = lines(path)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if lines(path) >= start + more:
            break
        time.sleep(0.05)
    return lines(path) - start


def descendants(root):
    """Pids of every process below root (the sandbox, under litebox)."""
    parent = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                st = open(f"/proc/{e}/stat").read()
                parent[int(e)] = int(st.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def in_open(pids, argv=None):
    """Those of pids inside open/openat now (/proc/PID/syscall), with the
    given argv if one is given; None where the kernel does not say."""
    found, shown = [], not pids
    for pid in pids:
        try:
            sc = open(f"/proc/{pid}/syscall").read().split()
            cmd = open(f"/proc/{pid}/cmdline").read().split("\0")[:-1]
        except OSError:
            continue
        shown = shown or bool(sc)
        if sc and sc[0] in ("2", "257") and (argv is None or cmd == argv):
            found.append(pid)
    return found if shown else None


def wait_in_open(root, argvs, deadline_s=60):
    """Until a process with each of argvs waits in an open (the program's
    side of a FIFO open litebox holds, on either platform)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        procs = descendants(root)
        got = [in_open(procs, a) for a in argvs]
        if any(g is None for g in got):
            return None
        if all(got):
            return True
        time.sleep(0.05)
    return False


# A reader and a writer block in FIFO opens (no other end yet) while a
# third process keeps opening a file to append to it; the host then
# completes both FIFOs.
FIFO_SCRIPT = """
mkfifo r w
cat r > got &
echo written | tee w > /dev/null &
while [ ! -e stop ]; do echo x >> prog; done
wait
echo done
"""


@test
def fifo_opens_wait_while_other_opens_are_answered():
    d = lbtest.tmpdir()
    p = subprocess.Popen([lbtest.LITEBOX, "run", "-q", "--timeout", "120s", "--",
                          "/bin/sh", "-c", FIFO_SCRIPT], cwd=d, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        seen = wait_in_open(p.pid, [["cat", "r"], ["tee", "w"]])
        assert seen is not False, "the FIFO opens never started"
        done = wait_progress(os.path.join(d, "prog"), 50)
        assert done >= 50, f"only {done} appends answered while two FIFO opens wait"
        write_fifo(os.path.join(d, "r"), "payload\n")
        # the writer's open is waiting for a reader: be that reader
        fd = os.open(os.path.join(d, "w"), os.O_RDONLY)
        with os.fdopen(fd) as f:
            eq(f.read(), "written\n", "what the program wrote into the FIFO")
        open(os.path.join(d, "stop"), "w").close()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    eq(p.returncode, 0, f"exit status (stderr: {err[-500:]})")
    eq(out, "done\n", "output")
    eq(open(os.path.join(d, "got")).read(), "payload\n", "what the program read from the FIFO")


# Readers keep opening a name the host keeps turning into a FIFO and back
# into a plain file: whichever open lands on a FIFO waits (nobody ever
# writes it), and must not keep the appender from being answered. The
# ptrace platform once guessed "plain file" from a stat and then blocked
# its tracer thread in the open, stalling every process of the run.
SWAP_SCRIPT = """
i=0; while [ $i -lt 6 ]; do (while [ ! -e stop ]; do read l < name; done) 2>/dev/null & i=$((i+1)); done
while [ ! -e stop ]; do echo x >> prog; done
echo done
"""


def swap_until(d, stop):
    """The FIFO is in place only between two back-to-back renames: an open
    more likely lands on it after a look at the plain file than on a look
    at the FIFO itself."""
    n = 0
    name = os.path.join(d, "name")
    while not stop():
        fifo, plain = os.path.join(d, f"p{n}"), os.path.join(d, f"f{n}")
        n += 1
        os.mkfifo(fifo)
        with open(plain, "w") as f:
            f.write("plain\n")
        os.rename(fifo, name)
        os.rename(plain, name)


@test
def fifo_swapped_in_under_an_open_does_not_stall_the_run():
    d = lbtest.tmpdir()
    with open(os.path.join(d, "name"), "w") as f:
        f.write("plain\n")
    p = subprocess.Popen([lbtest.LITEBOX, "run", "-q", "--timeout", "120s", "--",
                          "/bin/sh", "-c", SWAP_SCRIPT], cwd=d, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        # swap until every reader waits in a FIFO open (or, where the
        # kernel hides wchan, for a while)
        end = time.monotonic() + 30
        def enough():
            if time.monotonic() > end or p.poll() is not None:
                return True
            n = in_open(descendants(p.pid))
            return n is None or len(n) >= 6
        swap_until(d, enough)
        done = wait_progress(os.path.join(d, "prog"), 50)
        assert done >= 50, f"only {done} appends answered after the swaps"
        open(os.path.join(d, "stop"), "w").close()
        # the readers wait on FIFOs nobody will open: they die with the run
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    eq(out, "done\n", f"output (stderr: {err[-500:]})")


# A program waiting in a FIFO open the supervisor holds dies of a signal
# whose default action ends it, as natively: `timeout` ends it (status
# 124), and so does SIGTERM to litebox, passed on to it (143). The ptrace
# platform once kept such a signal pending until the open returned (with
# no writer: never). Controls: the same waits, a writer coming instead,
# deliver its data.
def run_cat(d, *prefix):
    return subprocess.Popen([lbtest.LITEBOX, "run", "-q", "--", *prefix, "cat", "ff"], cwd=d,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p, deadline_s=60):
    try:
        return p.communicate(timeout=deadline_s)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


def fifo_dir():
    d = lbtest.tmpdir()
    os.mkfifo(os.path.join(d, "ff"))
    return d


@test
def timeout_ends_a_program_waiting_for_a_fifo_writer():
    d = fifo_dir()
    p = run_cat(d, "timeout", "1")
    out, err = finish(p)
    eq(p.returncode, 124, f"status after timeout's SIGTERM (stderr: {err[-500:]})")
    p = run_cat(d, "timeout", "120")
    write_fifo(os.path.join(d, "ff"), "payload\n")
    out, err = finish(p)
    eq(p.returncode, 0, f"status of the control (stderr: {err[-500:]})")
    eq(out, "payload\n", "what the control read from the FIFO")


@test
def sigterm_ends_a_program_waiting_for_a_fifo_writer():
    d = fifo_dir()
    p = run_cat(d)
    try:
        seen = wait_in_open(p.pid, [["cat", "ff"]])
        assert seen is not False, "cat never waited in its open"
        if seen is None:  # the kernel does not say: give the open time to start
            time.sleep(1)
        p.send_signal(signal.SIGTERM)
    finally:
        out, err = finish(p)
    eq(p.returncode, 128 + signal.SIGTERM, f"status after SIGTERM (stderr: {err[-500:]})")
    p = run_cat(d)
    write_fifo(os.path.join(d, "ff"), "payload\n")
    out, err = finish(p)
    eq(p.returncode, 0, f"status of the control (stderr: {err[-500:]})")
    eq(out, "payload\n", "what the control read from the FIFO")


# The same for a connect the supervisor waits in: a listener whose accept
# queue is full drops the SYNs, so the connect waits (for minutes) until
# `timeout` ends the program. Control: a listener with room answers.
CONNECT = "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1]))); print('connected')"


def full_listener():
    """A listener whose accept queue is full: more SYNs are dropped."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.5)  # the handshakes fill the queue
    return lst, fillers


@test
def timeout_ends_a_program_waiting_in_a_connect():
    py = next((p for p in ("/usr/bin/python3", "/bin/python3") if os.access(p, os.X_OK)), None)
    if not py:
        lbtest.skip("no system python3 in /usr/bin")
    lst, fillers = full_listener()
    try:
        port = lst.getsockname()[1]
        p = lbtest.litebox("run", "-q", "--allow-connect", f"tcp 127.0.0.1:{port}", "--",
                           "timeout", "2", py, "-c", CONNECT, str(port), timeout=90)
        eq(p.returncode, 124, f"status after timeout's SIGTERM (stderr: {p.stderr[-500:]})")
    finally:
        for c in fillers + [lst]:
            c.close()
    room = socket.socket()
    room.bind(("127.0.0.1", 0))
    room.listen(8)
    try:
        port = room.getsockname()[1]
        p = lbtest.litebox("run", "-q", "--allow-connect", f"tcp 127.0.0.1:{port}", "--",
                           "timeout", "60", py, "-c", CONNECT, str(port), timeout=90)
        eq((p.returncode, p.stdout), (0, "connected\n"), f"control (stderr: {p.stderr[-500:]})")
    finally:
        room.close()


SENDMSG = """
import socket, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
if sys.argv[1] == "drain":
    import threading
    threading.Thread(target=lambda: [b.recv(65536) for _ in iter(int, 1)], daemon=True).start()
for i in range(64):
    a.sendmsg([b"x" * 65536])
print("sent")
"""


@test
def timeout_ends_a_program_waiting_in_a_sendmsg():
    # sendmsg is mediated (its address and descriptors are judged) and
    # runs on a worker; a full socket made the program deaf to SIGTERM on
    # the ptrace platform (new-user review 6, U6-6's sends).
    py = next((p for p in ("/usr/bin/python3", "/bin/python3") if os.access(p, os.X_OK)), None)
    if not py:
        lbtest.skip("no system python3 in /usr/bin")
    p = lbtest.litebox("run", "-q", "--", "timeout", "2", py, "-c", SENDMSG, "full", timeout=90)
    eq(p.returncode, 124, f"status after timeout's SIGTERM (stderr: {p.stderr[-500:]})")
    # control: with a reader the same sends complete
    p = lbtest.litebox("run", "-q", "--", "timeout", "60", py, "-c", SENDMSG, "drain", timeout=90)
    eq((p.returncode, p.stdout), (0, "sent\n"), f"control (stderr: {p.stderr[-500:]})")


if __name__ == "__main__":
    lbtest.run()
