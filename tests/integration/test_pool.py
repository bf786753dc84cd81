#!/usr/bin/env python3
"""The supervisor's worker pool: calls that block in the supervisor (FIFO
opens) never keep other calls from being answered, and the workers they
needed leave once idle. Observed from the host: the program's output and
the litebox process's thread count in /proc/PID/task."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest
from lbtest import eq, test

OPENERS = 61

# 61 readers block in FIFO opens (each holds a supervisor worker), one
# more read blocks on ctl until the host says go; then a stat must be
# answered while all of them are still blocked. Releasing the FIFO ends
# the burst; the run then waits on ctl2 while the host counts threads.
SCRIPT = f"""
mkfifo f ctl ctl2
i=0; while [ $i -lt {OPENERS} ]; do cat f > /dev/null & i=$((i+1)); done
read line < ctl
stat -c 'stat-answered %n' ctl
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
def stat_answered_while_61_opens_block_and_idle_workers_leave():
    d = lbtest.tmpdir()
    p = subprocess.Popen([lbtest.LITEBOX, "run", "-q", "--timeout", "120s", "--",
                          "/bin/sh", "-c", SCRIPT], cwd=d, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        # every opener and the read of ctl blocked in the supervisor (a
        # straggler opening after the writer left would wait forever)
        n = wait_blocked(p.pid, OPENERS + 1, 60)
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
    eq(out.split(), ["stat-answered", "ctl", "burst-over", "done"], "output")


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


# A reader and a writer block in FIFO opens (no other end yet) while a
# third process keeps opening a file to append to it; the host then
# completes both FIFOs.
FIFO_SCRIPT = """
mkfifo r w
cat r > got &
echo written > w &
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
        n = wait_blocked(p.pid, 2, 60)
        assert n >= 2, f"only {n} FIFO opens blocked in litebox"
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
            n = fifo_waiters(p.pid)
            return time.monotonic() > end or (n is not None and n >= 6) or p.poll() is not None
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


if __name__ == "__main__":
    lbtest.run()
