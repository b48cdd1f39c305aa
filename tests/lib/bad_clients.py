#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Clients that misbehave, for the daemon's DNS-over-TCP listener and its
control socket. Each mode prints one line a test can match.

DNS (run inside a tool call; every port-53 connection goes to toolwall):
  dns-early NAME N HOW   N times: send one query for NAME and close before
                         the answer; HOW: fin, or both (every other one
                         reset with SO_LINGER 0): "sent N"
  dns-half               half a length prefix, then wait: "closed after S"
                         (the server's time limit) or "open after S"
  dns-huge               a 65535-byte length and 10 bytes: as dns-half
  dns-flood N HOLD       open N connections at once and hold them HOLD s:
                         "opened A closed_by_server C"
Control socket (root):
  ctl-stall SECONDS K    keep K connections that sent half a request,
                         reopening those the daemon closes, for SECONDS:
                         "closed_by_daemon C longest_open S"
  ctl-early N            N times: send a status request and reset the
                         connection before the reply: "sent N"
  ctl-big                70000 bytes with no newline: the reply line
  ctl-garbage            "not json": the reply line
  ctl-flood N            N idle connections, then one status request on a
                         new one: "status ok" or what went wrong
"""
import os
import resource
import select
import socket
import struct
import sys
import time

DNS = ("198.51.100.53", 53)
CTL = os.environ.get("TOOLWALL_CONTROL", "/run/toolwall/control.sock")


def query(name, qid=0x4242):
    hdr = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return hdr + q + b"\0" + struct.pack(">HH", 1, 1)


def rst(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def wait_closed(s, limit):
    """Seconds until the peer closes S (EOF or reset), or None."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - t0 < limit:
        try:
            if s.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n + 64), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def dns_early(name, n, how):
    msg = query(name)
    for i in range(n):
        s = socket.create_connection(DNS, timeout=3)
        if how == "both" and i % 2:
            rst(s)
        s.sendall(struct.pack(">H", len(msg)) + msg)
        s.close()
    print("sent", n)


def dns_stall(data):
    s = socket.create_connection(DNS, timeout=3)
    s.sendall(data)
    t = wait_closed(s, 10)
    print("closed after %.1f" % t if t is not None else "open after 10")


def dns_flood(n, hold):
    raise_nofile(n)
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(DNS)
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        socks.append(s)
    time.sleep(hold)
    closed = 0
    for s in socks:
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print("opened", len(socks), "closed_by_server", closed)


def ctl_conn():
    # A blocking connect, as toolwall's own client makes: with the listen
    # backlog full it waits (up to SO_SNDTIMEO) for the daemon to accept,
    # where Python's timeout mode would fail at once with EAGAIN.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 10, 0))
    s.connect(CTL)
    s.settimeout(10)
    return s


def ctl_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        try:
            d = s.recv(65536)
        except OSError as e:
            return "error " + str(e)
        if not d:
            break
        buf += d
    return buf.decode(errors="replace").strip()


def ctl_stall(seconds, k):
    end = time.monotonic() + seconds
    conns = {}
    closed = 0
    longest = 0.0
    while time.monotonic() < end:
        while len(conns) < k:
            s = ctl_conn()
            s.sendall(b'{"op":"sta')
            s.setblocking(False)
            conns[s] = time.monotonic()
        r, _, _ = select.select(list(conns), [], [], 0.2)
        for s in r:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if d == b"":
                longest = max(longest, time.monotonic() - conns.pop(s))
                closed += 1
                s.close()
    print("closed_by_daemon", closed, "longest_open %.1f" % longest)


def ctl_early(n):
    for _ in range(n):
        s = ctl_conn()
        rst(s)
        s.sendall(b'{"op":"status"}\n')
        s.close()
    print("sent", n)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "dns-early":
        dns_early(args[0], int(args[1]), args[2])
    elif mode == "dns-half":
        dns_stall(b"\x00")
    elif mode == "dns-huge":
        dns_stall(b"\xff\xff" + b"\x12" * 10)
    elif mode == "dns-flood":
        dns_flood(int(args[0]), float(args[1]))
    elif mode == "ctl-stall":
        ctl_stall(float(args[0]), int(args[1]))
    elif mode == "ctl-early":
        ctl_early(int(args[0]))
    elif mode == "ctl-big":
        s = ctl_conn()
        try:
            s.sendall(b"x" * 70000)
        except OSError as e:
            print("send failed:", e)
        print(ctl_line(s))
    elif mode == "ctl-garbage":
        s = ctl_conn()
        s.sendall(b"not json\n")
        print(ctl_line(s))
    elif mode == "ctl-flood":
        n = int(args[0])
        raise_nofile(n)
        idle = [ctl_conn() for _ in range(n)]
        s = ctl_conn()
        s.sendall(b'{"op":"status"}\n')
        line = ctl_line(s)
        print("status ok" if line.startswith('{"ok":true') else line[:200])
        for c in idle:
            c.close()
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
