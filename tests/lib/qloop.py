#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A tool call that loops on connects, for the quarantine tests.

    qloop.py ADDR PORT OUT SECONDS

Connects to ADDR:PORT (TCP) again and again for SECONDS, and writes one line
per attempt to OUT, flushed at once: the CLOCK_BOOTTIME nanoseconds at which
the attempt began (the clock of the kernel's records) and its outcome (OK,
EPERM, or another errno name). "END" when SECONDS ran out: a call killed by
a quarantine never writes it.
"""
import errno
import socket
import sys
import time


def main():
    addr, port, out, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    end = time.monotonic() + secs
    with open(out, "w", buffering=1) as f:
        while time.monotonic() < end:
            t = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(1)
            try:
                s.connect((addr, port))
                what = "OK"
            except OSError as e:
                what = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "TIMEOUT"
            finally:
                s.close()
            f.write("%d %s\n" % (t, what))
            time.sleep(0.002)
        f.write("END\n")


if __name__ == "__main__":
    main()
