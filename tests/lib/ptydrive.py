#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Drive a command on a terminal of our own, as a user at a keyboard would.

  ptydrive.py CASE SHARED -- CMD...

CMD is run on a fresh pty (the "user's terminal", 33 rows x 111 columns)
with CASE's program appended; the case types into it and checks what comes
back. Prints what it saw; exit 0 when the case holds, 1 when not.
Cases: session relay winsize status signalled eof intr stop susp leftover.
"""
import errno
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

PY = "/usr/bin/python3"

PROGRAMS = {
    "session": [PY, "-c",
                "import os; print('TTY', os.ttyname(0), os.getsid(0) == os.getpid(),"
                " os.ttyname(1), os.ttyname(2))"],
    "relay": [PY, "-c", "l = input('prompt> '); print('got', l[::-1])"],
    # (the handler only notes the signal: printing from it could interrupt
    # a print of the main code)
    "winsize": [PY, "-c",
                "import os, signal, time\n"
                "got = []\n"
                "signal.signal(signal.SIGWINCH, lambda s, f: got.append(s))\n"
                "c, r = os.get_terminal_size(0); print('size', c, r, flush=True)\n"
                "end = time.time() + 10\n"
                "while not got and time.time() < end: time.sleep(0.05)\n"
                "c, r = os.get_terminal_size(0)\n"
                "print('winch', c, r) if got else print('no winch')"],
    "status": ["sh", "-c", "exit 7"],
    "signalled": ["sh", "-c", "kill -TERM $$"],
    "eof": ["cat"],
    "intr": [PY, "-c",
             "import signal, sys, time\n"
             "def intr(s, f):\n"
             "    print('got SIGINT', flush=True); sys.exit(42)\n"
             "signal.signal(signal.SIGINT, intr)\n"
             "print('ready', flush=True); time.sleep(10); print('no SIGINT')"],
    # stops itself (SIGSTOP), then goes on when continued
    "stop": [PY, "-c",
             "import os, signal\n"
             "print('ready', flush=True); os.kill(os.getpid(), signal.SIGSTOP); print('done', flush=True)"],
    # ctrl-Z reaches it, but the call's session has no job-control shell
    "susp": [PY, "-c",
             "import time\n"
             "print('ready', flush=True); time.sleep(1.5); print('done', flush=True)"],
    # leaves a reader of its terminal behind and ends at once
    "leftover": [PY, "-c",
                 "import errno, os, select, signal, sys, time\n"
                 "out = sys.argv[1]\n"
                 "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
                 "if os.fork() > 0:\n"
                 "    print('parent done', flush=True); os._exit(0)\n"
                 "res, end = 'timeout', time.time() + 5\n"
                 "try:\n"
                 "    while time.time() < end:\n"
                 "        if select.select([0], [], [], end - time.time())[0]:\n"
                 "            d = os.read(0, 200)\n"
                 "            res = 'read: ' + d.decode(errors='replace').strip() if d else 'eof'\n"
                 "            break\n"
                 "except OSError as e:\n"
                 "    res = 'error ' + errno.errorcode.get(e.errno, str(e.errno))\n"
                 "open(out + '.tmp', 'w').write(res + '\\n')\n"
                 "os.rename(out + '.tmp', out)\n"],
}


def proc_state(pid):
    return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]


def ppid(pid):
    return int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])


def descendant_states(root):
    """{pid: state} of every process below ROOT."""
    kids, states = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            rest = open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(rest[1]), []).append(int(d))
        states[int(d)] = rest[0]
    out, todo = {}, list(kids.get(root, []))
    while todo:
        p = todo.pop()
        out[p] = states[p]
        todo += kids.get(p, [])
    return out


class Term:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
            os.write(1, ("USER-TTY %s\r\n" % os.ttyname(0)).encode())
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.buf = b""
        self.status = None

    def pump(self, timeout):
        r = select.select([self.fd], [], [], timeout)[0]
        if not r:
            return False
        try:
            d = os.read(self.fd, 4096)
        except OSError:
            d = b""
        self.buf += d
        return bool(d)

    def expect(self, pattern, timeout=30):
        end = time.time() + timeout
        while True:
            # look at what the last read brought in, even at the deadline
            m = re.search(pattern.encode(), self.buf)
            if m:
                return m
            if time.time() >= end:
                break
            if not self.pump(end - time.time()) and self.status is not None:
                break
            self.poll()
        raise AssertionError("never saw %r within %ds" % (pattern, timeout))

    def send(self, data):
        os.write(self.fd, data.encode())

    def poll(self):
        if self.status is None:
            p, st = os.waitpid(self.pid, os.WNOHANG)
            if p:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status

    def wait(self, timeout=30):
        end = time.time() + timeout
        while self.poll() is None and time.time() < end:
            self.pump(0.05)
        while self.pump(0.05):
            pass
        if self.status is None:
            raise AssertionError("the command did not end")
        return self.status


def run(case, shared, cmd):
    prog = PROGRAMS[case]
    if case == "leftover":
        prog = prog + [os.path.join(shared, "leak.out")]
    if case in ("stop", "susp"):
        # under a shell with job control, as a user at a prompt would be
        cmd = ["bash", "-c", 'set -m; "$@"; echo STOPPED $?; sleep 2.6; fg',
               "bash"] + cmd
    t = Term(cmd + prog)
    try:
        user_tty = t.expect(r"USER-TTY (\S+)").group(1).decode()
        if case == "session":
            m = t.expect(r"TTY (\S+) (\w+) (\S+) (\S+)")
            tty, leader, o, e = [x.decode() for x in m.groups()]
            assert tty != user_tty, "the call got the user's terminal %s" % tty
            assert leader == "True", "the call is not a session leader"
            assert o == tty and e == tty, "stdout/stderr are not the call's pty"
            assert t.wait() == 0
            print("user terminal %s, the call's %s (own session)" % (user_tty, tty))
        elif case == "relay":
            t.expect("prompt> ")
            t.send("hello world\r")
            t.expect("got dlrow olleh")
            assert t.wait() == 0
            print("typed line reached the call, its answer came back")
        elif case == "winsize":
            t.expect("size 111 33")
            fcntl.ioctl(t.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            t.expect("winch 120 40")
            assert t.wait() == 0
            print("start size and a resize both reached the call")
        elif case in ("status", "signalled"):
            st = t.wait()
            want = 7 if case == "status" else 128 + signal.SIGTERM
            assert st == want, "exit status %s, want %s" % (st, want)
            print("exit status %d" % st)
        elif case == "eof":
            t.send("abc\r")
            t.expect(r"abc\r\n(.|\n)*abc")
            t.send("\x04")
            st = t.wait()
            assert st == 0, "cat ended with %s" % st
            print("cat echoed the line and ended on ctrl-D")
        elif case == "intr":
            t.expect("ready")
            t.send("\x03")
            t.expect("got SIGINT")
            st = t.wait()
            assert st == 42, "status %s" % st
            print("ctrl-C reached the call's foreground process")
        elif case == "stop":
            t.expect(r"STOPPED 148")
            assert b"done" not in t.buf, "the call went on"
            # the launcher and every process below it (pids as this host
            # sees them), while the shell sleeps before `fg`
            named = [p for p in descendant_states(t.pid)
                     if open("/proc/%d/comm" % p).read().strip() == "toolwall"]
            # the launcher, not the call's init below it (same comm)
            launcher = [p for p in named if ppid(p) not in named]
            assert len(launcher) == 1, "no launcher below the shell"
            # (a namespace's init below it may sleep: only the program
            # and the launcher count)
            states = {p: st for p, st in descendant_states(launcher[0]).items()
                      if "SIGSTOP" in open("/proc/%d/cmdline" % p).read()}
            states[launcher[0]] = proc_state(launcher[0])
            assert len(states) == 2 and set(states.values()) == {"T"}, \
                "the call and its launcher are not both stopped: %s" % states
            t.expect("done")
            assert t.wait() == 0
            print("a stopped call stops its launcher (the shell's job); fg resumes both")
        elif case == "susp":
            t.expect("ready")
            t.send("\x1a")
            t.expect("done")
            t.expect("STOPPED 0")  # the launcher ended, status 0, never stopped
            t.wait()
            print("ctrl-Z neither hangs the terminal nor stops the call")
        elif case == "leftover":
            leak = os.path.join(shared, "leak.out")
            t.expect("parent done")
            t.wait()
            time.sleep(0.3)
            # the call is over: the user types at the prompt
            t.send("secret-typed\r")
            end = time.time() + 10
            while not os.path.exists(leak) and time.time() < end:
                t.pump(0.1)
            got = open(leak).read().strip() if os.path.exists(leak) else "(nothing)"
            print("the leftover reader got: %s" % got)
            return 1 if "secret-typed" in got else 0
    except AssertionError as e:
        print("FAIL: %s" % e)
        print("terminal output: %r" % t.buf[-2000:])
        return 1
    finally:
        if t.poll() is None:
            os.kill(t.pid, signal.SIGKILL)
            os.waitpid(t.pid, 0)
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) < 4 or a[2] != "--":
        sys.exit(__doc__)
    sys.exit(run(a[0], a[1], a[3:]))
