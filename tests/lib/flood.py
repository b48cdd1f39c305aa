#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Traffic beside the flood of tests/kernel/test_flood.sh (the flood itself
is `twprobe tcp-sweep`), run inside tool calls.

  flood.py deny HOST PORT0 N       N connects to HOST ports PORT0.., one each;
                                   prints "EPERM <n> OTHER <n>"
  flood.py refuse SECONDS          chroot("/") as fast as it can: each
                                   EPERM is an event of the syscall audit
                                   (and nothing for Landlock's own log);
                                   prints "REFUSED <n> OTHER <n>"
  flood.py hold HOST PORT SECONDS OUT
                                   a new TCP connection to HOST:PORT every
                                   20 ms, for SECONDS or until OUT.stop
                                   exists; appends "<unix time>
                                   ok|eperm|<errno>" per try to OUT
"""
import errno
import os
import socket
import sys
import time


def deny(host, port0, n):
    n_eperm = n_other = 0
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect((host, port0 + i))
            n_other += 1
        except PermissionError:
            n_eperm += 1
        except OSError:
            n_other += 1
        s.close()
    print("EPERM %d OTHER %d" % (n_eperm, n_other))


def refuse(seconds):
    n_refused = n_other = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(1000):
            try:
                os.chroot("/")
                n_other += 1
            except PermissionError:
                n_refused += 1
            except OSError:
                n_other += 1
    print("REFUSED %d OTHER %d" % (n_refused, n_other))


def hold(host, port, seconds, out):
    end = time.monotonic() + seconds
    with open(out, "a", buffering=1) as f:
        while time.monotonic() < end and not os.path.exists(out + ".stop"):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.connect((host, port))
                what = "ok"
            except PermissionError:
                what = "eperm"
            except OSError as e:
                what = errno.errorcode.get(e.errno, str(e.errno))
            s.close()
            f.write("%.6f %s\n" % (time.time(), what))
            time.sleep(0.02)


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "refuse":
        refuse(float(a[1]))
    elif len(a) == 4 and a[0] == "deny":
        deny(a[1], int(a[2]), int(a[3]))
    elif len(a) == 5 and a[0] == "hold":
        hold(a[1], int(a[2]), float(a[3]), a[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
