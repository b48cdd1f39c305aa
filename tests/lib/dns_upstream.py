#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A DNS upstream that records every query that reaches it, byte for byte.

  dns_upstream.py --parent-pid PID LOG READY ADDR...

Listens on ADDR:53 over UDP and TCP (run it in the test namespace). Each
query is logged as one JSON line: "raw" (hex), "id", "flags", "qd", "an",
"ns", "ar", "labels" (each label in hex), "name" (labels joined by dots,
bytes outside printable ASCII as \\xNN), "qtype", "qclass", "tcp", "port"
(the asker's source port), and "extra" (the hex of what follows the
question). Names with a label starting "nx" get NXDOMAIN; every other name
gets A 203.0.113.10, TTL 60 (1.5 s late when a label starts "slow": an
upstream that holds a lookup). Over UDP, a name with a label starting
"spoof" first gets three forgeries from the upstream's own address and
port, each answering A 203.0.113.66: one with another id, one with the
query's id but another question, one with its id and question but not
marked a response; the true answer follows 50 ms later.
Exits when PID does.
"""
import json
import os
import socket
import struct
import sys
import threading

parent = int(sys.argv[2])
log, ready, addrs = sys.argv[3], sys.argv[4], sys.argv[5:]
lock = threading.Lock()


def parse(q):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", q[:12])
    i, labels = 12, []
    while i < len(q) and q[i] and q[i] < 64:
        labels.append(q[i + 1:i + 1 + q[i]])
        i += 1 + q[i]
    qtype, qclass = struct.unpack("!HH", q[i + 1:i + 5])
    return {"id": qid, "flags": flags, "qd": qd, "an": an, "ns": ns, "ar": ar,
            "labels": [b.hex() for b in labels],
            "name": ".".join(b.decode("ascii", "backslashreplace") for b in labels),
            "qtype": qtype, "qclass": qclass, "extra": q[i + 5:].hex()}, i + 5, labels


def answer(q, tcp, port=None):
    try:
        rec, end, labels = parse(q)
    except (struct.error, IndexError):
        rec, end, labels = {"unparsed": True}, len(q), []
    rec["raw"] = q.hex()
    rec["tcp"] = tcp
    rec["port"] = port
    with lock, open(log, "a") as f:
        f.write(json.dumps(rec) + "\n")
    if "unparsed" in rec:
        return None
    nx = any(b.startswith(b"nx") for b in labels)
    flags = 0x8180 | (3 if nx else 0)
    hdr = q[:2] + struct.pack("!HHHHH", flags, 1, 0 if nx else 1, 0, 0)
    rr = b"" if nx else struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + \
        socket.inet_aton("203.0.113.10")
    return hdr + q[12:end] + rr


def slow(q):
    return b"\x04slow" in q[12:] or b"slow-" in q[12:]


def forgeries(a):
    """Three answers that are not the answer to A's query (see above)."""
    bad = a[:-4] + socket.inet_aton("203.0.113.66")
    i = 12
    while bad[i]:
        i += 1 + bad[i]
    other_id = bytes([bad[0] ^ 0x5a, bad[1]]) + bad[2:]
    other_question = bad[:12] + b"\x0aother-name\x08docs-cdn\x07example\x00" + \
        bad[i + 1:]
    not_response = bad[:2] + bytes([bad[2] & 0x7f]) + bad[3:]
    return [other_id, other_question, not_response]


def serve_udp(s):
    while True:
        q, peer = s.recvfrom(65535)
        a = answer(q, False, peer[1]) if len(q) >= 12 else None
        if a and b"spoof-" in q[12:]:
            for f in forgeries(a):
                s.sendto(f, peer)
            threading.Timer(0.05, s.sendto, (a, peer)).start()
        elif a and slow(q):
            threading.Timer(1.5, s.sendto, (a, peer)).start()
        elif a:
            s.sendto(a, peer)


def serve_conn(c):
    try:
        c.settimeout(3)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            b = c.recv(65535)
            if not b:
                return
            buf += b
        a = answer(buf[2:], True)
        if a:
            c.sendall(struct.pack("!H", len(a)) + a)
    except OSError:
        pass
    finally:
        c.close()


def serve_tcp(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_conn, args=(c,), daemon=True).start()


for a in addrs:
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((a, 53))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((a, 53))
    t.listen(64)
    threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
    threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
open(ready, "w").close()
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        os._exit(0)
    threading.Event().wait(0.5)
