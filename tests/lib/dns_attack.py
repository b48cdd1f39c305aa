#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Hand-made DNS queries a resolver library would never send, from inside a
tool call (port 53 anywhere reaches toolwall's resolver).

  dns_attack.py SERVER raw LABELS QTYPE      one query for the labels given
        (comma-separated; each a plain string, or hex:<hex>, or
        rep:<char>:<n>); prints the rcode's name
  dns_attack.py SERVER garbage NAME          a query for NAME in mixed case
        with header bits a client may set (Z, AD, CD), an answer and an
        authority record it should not carry, and EDNS options (a cookie,
        padding, client subnet); prints "<rcode> <id-echoed>"
  dns_attack.py SERVER flood-same NAME N     N queries for NAME, 32 in flight;
        prints JSON {rcode name: count, "lost": n}
  dns_attack.py SERVER flood-distinct PREFIX N   the same, names PREFIX-<i>
  dns_attack.py SERVER flood-bg SECONDS PREFIX SLOW
        for SECONDS: UDP queries for distinct names PREFIX-<i>, about 2000 a
        second (replies read and dropped), SLOW TCP
        connections each trickling a query one byte every 100 ms (a new one
        whenever the resolver closes one), and 20 lookups a second of
        allowed names slow-<i>.docs-cdn.example that the upstream holds
        for 1.5 s (each holds a resolver thread while it waits); prints
        JSON counts at the end
"""
import json
import os
import select
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
          5: "REFUSED"}


def label(spec):
    if spec.startswith("hex:"):
        return bytes.fromhex(spec[4:])
    if spec.startswith("rep:"):
        _, ch, n = spec.split(":")
        return ch.encode() * int(n)
    return spec.encode()


def wire(labels):
    out = b""
    for b in labels:
        out += bytes([len(b) if len(b) < 64 else 64]) + b
    return out + b"\0"


def query(qid, labels, qtype=1, flags=0x0100, rest=b"", counts=(0, 0, 0)):
    return struct.pack("!HHHHHH", qid, flags, 1, *counts) + wire(labels) + \
        struct.pack("!HH", qtype, 1) + rest


def ask(server, q, timeout=3):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, (server, 53))
        a = s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()
    return a


def raw(server, spec, qtype):
    labels = [label(x) for x in spec.split(",")]
    a = ask(server, query(0x4242, labels, int(qtype)))
    if a is None:
        print("TIMEOUT")
    elif a[:2] != b"\x42\x42":
        print("WRONG-ID")
    else:
        print(RCODES.get(a[3] & 0x0f, str(a[3] & 0x0f)))


def garbage(server, name):
    labels = [x.encode() for x in name.split(".")]
    mixed = [bytes(c ^ 0x20 if i % 2 and 97 <= c <= 122 else c for i, c in enumerate(b))
             for b in labels]
    an = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, 9) + b"\x08smuggled"
    ns = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, 6) + b"\x05extra"
    opts = struct.pack("!HH", 10, 8) + b"COOKIE!!" + \
        struct.pack("!HH", 12, 6) + b"\0" * 6 + \
        struct.pack("!HHBB", 8, 7, 0, 1) + struct.pack("!HBB", 1, 24, 0) + b"\x0a\x00\x00"
    opt = b"\0" + struct.pack("!HHIH", 41, 4096, 0x00008000, len(opts)) + opts
    # Z, AD and CD set beside RD; one answer, one authority, one additional
    q = query(0x5151, mixed, 1, 0x0170, an + ns + opt, (1, 1, 1))
    a = ask(server, q)
    if a is None:
        print("TIMEOUT")
        return
    print(RCODES.get(a[3] & 0x0f, "?"), "id-echoed" if a[:2] == b"\x51\x51" else "id-wrong")


def flood(server, names):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect((server, 53))
    pending, counts, i, n = {}, {}, 0, len(names)
    while i < n or pending:
        while i < n and len(pending) < 32:
            qid = i & 0xffff
            s.send(query(qid, [x.encode() for x in names[i].split(".")]))
            pending[qid] = time.monotonic()
            i += 1
        r, _, _ = select.select([s], [], [], 2)
        if not r:
            counts["lost"] = counts.get("lost", 0) + len(pending)
            pending.clear()
            continue
        a = s.recv(65535)
        qid = struct.unpack("!H", a[:2])[0]
        if pending.pop(qid, None) is not None:
            k = RCODES.get(a[3] & 0x0f, "?")
            counts[k] = counts.get(k, 0) + 1
    print(json.dumps(counts))


def slow_conn(server, q):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect((server, 53))
    except BlockingIOError:
        pass
    return [c, struct.pack("!H", len(q)) + q, 0]


def flood_bg(server, seconds, prefix, slow):
    end = time.monotonic() + float(seconds)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setblocking(False)
    u.connect((server, 53))
    q = query(7, [b"slow", b"nx", b"example"])
    conns = [slow_conn(server, q) for _ in range(int(slow))]
    v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    v.setblocking(False)
    v.connect((server, 53))
    sent = reopened = i = held = 0
    tick = slowtick = time.monotonic()
    while time.monotonic() < end:
        for _ in range(20):  # ~2000 a second: 10x a context's budget
            try:
                u.send(query(i & 0xffff, [("%s-%d" % (prefix, i)).encode(), b"exfil",
                                          b"example"]))
                sent += 1
                i += 1
            except (BlockingIOError, ConnectionRefusedError):
                break
        try:
            while True:
                u.recv(65535)
        except (BlockingIOError, ConnectionRefusedError):
            pass
        if time.monotonic() - slowtick >= 0.05:
            slowtick = time.monotonic()
            try:
                v.send(query(held & 0xffff, [("slow-%d" % held).encode(), b"docs-cdn",
                                             b"example"]))
                held += 1
                while True:
                    v.recv(65535)
            except (BlockingIOError, ConnectionRefusedError):
                pass
        if time.monotonic() - tick >= 0.1:
            tick = time.monotonic()
            for k, cn in enumerate(conns):
                try:
                    if cn[2] < len(cn[1]) - 1:  # never the last byte
                        cn[0].send(cn[1][cn[2]:cn[2] + 1])
                        cn[2] += 1
                    cn[0].recv(1, socket.MSG_DONTWAIT)
                    raise ConnectionResetError  # (EOF: closed by the resolver)
                except BlockingIOError:
                    pass
                except OSError:
                    cn[0].close()
                    conns[k] = slow_conn(server, q)
                    reopened += 1
        time.sleep(0.01)
    print(json.dumps({"sent": sent, "reopened": reopened, "slow": held}))


def main():
    server, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "raw":
        raw(server, *args)
    elif cmd == "garbage":
        garbage(server, *args)
    elif cmd == "flood-same":
        flood(server, [args[0]] * int(args[1]))
    elif cmd == "flood-distinct":
        flood(server, ["%s-%d.exfil.example" % (args[0], i) for i in range(int(args[1]))])
    elif cmd == "flood-bg":
        flood_bg(server, *args)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    main()
