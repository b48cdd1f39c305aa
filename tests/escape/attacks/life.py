#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Lifecycle escapes: outlive the call (a detached process that keeps a
# heartbeat, or writes to the call's terminal after its end), and keep
# trying a forbidden host while the operator runs `toolwall down`.
#   life.py leftover BEAT SECONDS     detach a child that touches BEAT
#   life.py late-write DELAY          detach a child that writes to stdout
#   life.py keep-trying HOST PORT SECONDS
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import os
import socket
import sys
import time

from _esc import blocked, escaped


def detach():
    """Double fork + setsid: the grandchild is nobody's child in the call."""
    if os.fork():
        return False
    os.setsid()
    if os.fork():
        os._exit(0)
    return True


def leftover(beat, seconds):
    if not detach():
        time.sleep(0.2)
        print("LEFT a detached process behind")
        return
    end = time.time() + float(seconds)
    while time.time() < end:
        try:
            with open(beat, "w") as f:
                f.write("%d %f\n" % (os.getpid(), time.time()))
        except OSError:
            pass
        time.sleep(0.1)
    os._exit(0)


def late_write(delay):
    if not detach():
        print("LEFT a writer behind")
        return
    time.sleep(float(delay))
    try:
        os.write(1, b"tw-late-write\n")
    except OSError:
        pass
    os._exit(0)


def keep_trying(host, port, seconds):
    end = time.time() + float(seconds)
    last = "none"
    while time.time() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect((host, int(port)))
            escaped("connected to %s:%s" % (host, port))
        except OSError as e:
            last = e.strerror
        finally:
            s.close()
        time.sleep(0.1)
    blocked("no connection in %s s (last: %s)" % (seconds, last))


if __name__ == "__main__":
    {"leftover": leftover, "late-write": late_write,
     "keep-trying": keep_trying}[sys.argv[1]](*sys.argv[2:])
