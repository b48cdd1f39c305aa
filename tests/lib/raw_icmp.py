#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Open a raw ICMP socket now, send an echo request to HOST later.

  raw_icmp.py HOST READY_FILE GO_FILE

Writes READY_FILE once the socket exists, waits (at most 10 s) for GO_FILE,
then sends and prints OK or ERR <ERRNAME>. Used to reach the cgroup_skb
egress backstop with a socket that the address hooks never see."""
import errno
import os
import socket
import sys
import time

host, ready, go = sys.argv[1:4]
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
except OSError as e:
    print("ERR", errno.errorcode.get(e.errno, e.errno))
    sys.exit(1)
open(ready, "w").close()
deadline = time.time() + 10
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
try:
    s.sendto(b"\x08\x00\xf7\xfe\x00\x01\x00\x00", (host, 0))
    print("OK")
except OSError as e:
    print("ERR", errno.errorcode.get(e.errno, e.errno))
    sys.exit(1)
