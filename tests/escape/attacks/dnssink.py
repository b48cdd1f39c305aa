#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# A stand-in for "some other resolver" on a test host: answers every query,
# over UDP and TCP, with A 192.0.2.99 (an address no test policy names) and
# logs each query name. Run by the test (as root, in the test namespace).
#   dnssink.py --parent-pid PID LOG READY ADDR...   (exits when PID does)
import os
import socket
import struct
import sys
import threading

parent = int(sys.argv[2])
log, ready, addrs = sys.argv[3], sys.argv[4], sys.argv[5:]
lock = threading.Lock()


def name_of(q):
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    return ".".join(labels), i + 5


def answer(q):
    name, end = name_of(q)
    with lock, open(log, "a") as f:
        f.write(name + "\n")
    hdr = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("192.0.2.99")
    return hdr + q[12:end] + rr


def serve_udp(s):
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) > 12:
            s.sendto(answer(q), peer)


def serve_tcp(s):
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(3)
            n = struct.unpack("!H", c.recv(2))[0]
            q = c.recv(n)
            a = answer(q)
            c.sendall(struct.pack("!H", len(a)) + a)
        except (OSError, struct.error):
            pass
        c.close()


for a in addrs:
    f = socket.AF_INET6 if ":" in a else socket.AF_INET
    u = socket.socket(f, socket.SOCK_DGRAM)
    u.bind((a, 53))
    t = socket.socket(f, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((a, 53))
    t.listen(16)
    threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
    threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
open(ready, "w").close()
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        os._exit(0)
    threading.Event().wait(0.5)
