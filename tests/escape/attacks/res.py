#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Resource escapes: a fork bomb and a memory hog, each capped so that a
# missing limit cannot hurt the host (MAX processes, MB megabytes, and a
# deadline); reaching the cap is the escape.
#   res.py forks MAX SECONDS
#   res.py memory MB SECONDS
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import os
import signal
import sys
import time

from _esc import blocked, error, escaped


def forks(cap, seconds):
    cap, end, kids, why = int(cap), time.time() + float(seconds), [], "cap"
    try:
        while len(kids) < cap and time.time() < end:
            try:
                pid = os.fork()
            except OSError as e:
                why = e.strerror
                break
            if pid == 0:
                signal.pause()
                os._exit(0)
            kids.append(pid)
    finally:
        for p in kids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        for p in kids:
            try:
                os.waitpid(p, 0)
            except OSError:
                pass
    if len(kids) >= cap:
        escaped("%d processes (the cap of this attack)" % len(kids))
    blocked("fork refused after %d processes (%s)" % (len(kids), why))


def avail_mb():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def memory(mb, seconds):
    mb, r, w = int(mb), *os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        chunks, end = [], time.time() + float(seconds)
        while len(chunks) * 16 < mb and time.time() < end:
            if avail_mb() < 2048:  # never squeeze the host
                os.write(w, b"H")
                os._exit(0)
            chunks.append(bytearray(16 << 20))  # zero-filled: every page touched
            os.write(w, b".")
        os.write(w, b"D")
        os._exit(0)
    os.close(w)
    got = b""
    while True:
        b = os.read(r, 4096)
        if not b:
            break
        got += b
    _, st = os.waitpid(pid, 0)
    n = got.count(b".") * 16
    if got.endswith(b"D"):
        escaped("%d MB allocated and touched (the cap of this attack)" % n)
    if got.endswith(b"H"):
        error("stopped at %d MB: the host ran low on memory" % n)
    if os.WIFSIGNALED(st):
        blocked("killed by signal %d at %d MB" % (os.WTERMSIG(st), n))
    blocked("allocation failed at %d MB (status %d)" % (n, st))


if __name__ == "__main__":
    {"forks": forks, "memory": memory}[sys.argv[1]](*sys.argv[2:])
