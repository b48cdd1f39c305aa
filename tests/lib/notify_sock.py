#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A service manager's notify socket, for tests of sd_notify readiness.

    notify_sock.py ADDR LOG [--on-ready CMD...]

Binds a unix datagram socket at ADDR (a path, or "@name" for the abstract
namespace), prints "listening" on stdout once bound, then writes every
datagram it receives to LOG, one "MSG <fields joined by |>" line each.
With --on-ready, CMD runs the moment the first READY=1 arrives, before
anything else is read, and its result is logged as "ON-READY rc=N <stdout>":
what is true when READY=1 is read. Runs until killed.
"""
import socket
import subprocess
import sys


def main():
    addr, log = sys.argv[1], sys.argv[2]
    cmd = sys.argv[sys.argv.index("--on-ready") + 1:] if "--on-ready" in sys.argv else None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
    print("listening", flush=True)
    ready_seen = False
    with open(log, "a", buffering=1) as out:
        while True:
            msg = s.recv(4096).decode("utf-8", "replace")
            fields = msg.split("\n")
            out.write("MSG " + "|".join(fields) + "\n")
            if cmd and not ready_seen and "READY=1" in fields:
                ready_seen = True
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
                out.write("ON-READY rc=%d %s\n" % (r.returncode, r.stdout.strip().replace("\n", " ")))


if __name__ == "__main__":
    main()
