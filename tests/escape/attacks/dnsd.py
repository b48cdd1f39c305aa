#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Attacks on toolwall's own daemon from inside a call: its DNS resolver
# (reached by any query to port 53, which the hooks redirect), its control
# socket, its listening ports. Each ends by asking the resolver again: an
# answer means it survived (BLOCKED), silence means it died (ESCAPED).
#   dnsd.py ATTACK SERVER|PATH ...
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import json
import os
import socket
import struct
import time

from _esc import blocked, error, escaped, refused_or_error


def query(name, tid=0x7457):
    q = struct.pack("!HHHHHH", tid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)



def recv_tcp_dns(s):
    """One length-prefixed DNS message (the prefix may arrive alone)."""
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
        b = s.recv(4096)
        if not b:
            break
        buf += b
    return buf[2:]

def alive(server, name, what, protos=(False, True), last=True):
    """The resolver still answers, over UDP and over TCP."""
    for tcp in protos:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        s.settimeout(4)
        try:
            q = query(("tcp-" if tcp else "") + name)
            if tcp:
                s.connect((server, 53))
                s.sendall(struct.pack("!H", len(q)) + q)
                ans = recv_tcp_dns(s)
            else:
                s.sendto(q, (server, 53))
                ans = s.recv(4096)
        except (socket.timeout, ConnectionError):
            escaped("%s: the resolver no longer answers over %s" % (what, "tcp" if tcp else "udp"))
        finally:
            s.close()
        if len(ans) < 12 or ans[:2] != q[:2]:
            error("%s: a strange answer" % what)
    if last:
        blocked("%s: the resolver still answers (udp and tcp)" % what)


def half(server, name):
    """TCP: a length that promises more than is sent, then close; then a
    full query closed (with a reset) before the answer is read."""
    for _ in range(5):
        s = socket.create_connection((server, 53), 3)
        s.sendall(b"\x01\x00" + query("half")[:6])
        s.close()
    for _ in range(30):
        s = socket.create_connection((server, 53), 3)
        q = query("reset.exfil.example")
        s.sendall(struct.pack("!H", len(q)) + q)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    time.sleep(0.5)
    alive(server, name, "half queries and resets")


def hold(server, name, n="200"):
    """Many TCP connections, each with half a query, held open. They can
    use up only the call's own share of TCP clients: UDP is answered while
    they are held, TCP again once they are let go (other contexts are
    answered throughout: tests/kernel/test_control.sh)."""
    held = []
    for _ in range(int(n)):
        try:
            s = socket.create_connection((server, 53), 3)
            s.sendall(b"\x00\x40\x12")
            held.append(s)
        except OSError:
            break
    what = "%d half-open connections held" % len(held)
    alive(server, name, what, protos=(False,), last=False)
    for s in held:
        s.close()
    time.sleep(0.5)
    alive(server, name, what + ", then let go", protos=(True,))


def malformed(server, name):
    bad = [
        b"\x12",                                          # shorter than a header
        struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c",  # pointer to itself
        struct.pack("!HHHHHH", 2, 0x0100, 1, 0, 0, 0) + b"\x3f" + b"a" * 10,  # label runs off
        struct.pack("!HHHHHH", 3, 0x0100, 60000, 0, 0, 0),  # 60000 questions, none there
        query(".".join(["a" * 63] * 5)),                 # a name over 255 bytes
        query("x" * 63 + ".exfil.example")[:-4],          # no type/class
        struct.pack("!HHHHHH", 4, 0x8180, 1, 1, 0, 0) + query("r.example")[12:],  # a response
    ]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for b in bad:
        s.sendto(b, (server, 53))
    time.sleep(0.5)
    alive(server, name, "malformed queries")


def control(path, context):
    """Ask the daemon, over its control socket, for a call in CONTEXT."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        refused_or_error(e, "connect %s" % path)
    req = {"v": 1, "op": "call-start", "context": context, "call_id": "esc-forged",
           "requester": "escape"}
    s.sendall((json.dumps(req) + "\n").encode())
    s.settimeout(3)
    try:
        ans = s.recv(65536).decode(errors="replace")
    except (socket.timeout, ConnectionError):
        blocked("the daemon did not answer a call's request")
    try:
        if json.loads(ans.splitlines()[0]).get("ok"):
            escaped("the daemon started a %s call for it" % context)
    except (ValueError, IndexError):
        pass
    blocked("the daemon refused: %s" % ans.strip()[:80])


def bind_resolver(_=None):
    """Bind the address and port of every loopback socket root holds."""
    taken = 0
    for proto, kind in (("udp", socket.SOCK_DGRAM), ("tcp", socket.SOCK_STREAM)):
        for line in open("/proc/net/" + proto).read().splitlines()[1:]:
            f = line.split()
            local, uid = f[1], int(f[7])
            ip, port = local.split(":")
            if uid != 0 or ip != "0100007F" or (proto == "tcp" and f[3] != "0A"):
                continue
            s = socket.socket(socket.AF_INET, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                s.bind(("127.0.0.1", int(port, 16)))
                taken += 1
            except OSError:
                pass
            s.close()
    if taken:
        escaped("bound %d of root's loopback ports" % taken)
    blocked("none of root's loopback ports could be bound")


def second_daemon(binary, policy):
    """Start another toolwall daemon from inside the call."""
    import subprocess
    try:
        r = subprocess.run([binary, "daemon", "-p", policy], capture_output=True,
                           text=True, timeout=5)
    except subprocess.TimeoutExpired:
        escaped("a second daemon ran for 5 s")
    except OSError as e:
        refused_or_error(e, "exec %s" % binary)
    blocked("a second daemon exited %d: %s" % (r.returncode, r.stderr.strip()[:80]))


TABLE = {"second-daemon": second_daemon, "half": half, "hold": hold, "malformed": malformed,
         "control": control, "bind-resolver": bind_resolver}

if __name__ == "__main__":
    from _esc import run
    run(TABLE)
