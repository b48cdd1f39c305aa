#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Socket operations for the inbound/network-escape kernel tests, run inside a
tool call (or as root outside toolwall, to show they work there). The first
line of output is the verdict: "OK ...", "ERR EPERM", "ERR <errno name>",
"TIMEOUT".

  inbound.py bind tcp|udp ADDR PORT
  inbound.py serve tcp ADDR PORT SECONDS [READY-FILE]
        bind, listen, write the bound port to READY-FILE, accept one
        connection for SECONDS: "OK accepted PEER" or "TIMEOUT"
  inbound.py serve udp ADDR PORT SECONDS [READY-FILE]
        bind, write the port, wait for one datagram: "OK from PEER"
  inbound.py connect tcp|udp ADDR PORT [SRC]
        from the test host: connect (TCP, 2 s) or send one datagram from SRC
  inbound.py mcast4 GROUP IFADDR | mcast6 GROUP IFNAME | mcastjoin4 GROUP
        IFNAME | mcastjoin6 GROUP IFNAME
        join a multicast group (IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP,
        MCAST_JOIN_GROUP at SOL_IP / SOL_IPV6)
  inbound.py keep tcp|udp ADDR PORT DIR
        connect, exchange one message, touch DIR/ready, wait for DIR/go,
        exchange again (DIR/go holds how many rounds); print per round
        "OK" or "ERR <name>" or "TIMEOUT"
"""
import errno
import os
import socket
import struct
import sys
import time


def fam(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def err(e):
    return "ERR " + errno.errorcode.get(e.errno, str(e.errno))


def bind(proto, addr, port):
    s = socket.socket(fam(addr), socket.SOCK_STREAM if proto == "tcp" else
                      socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    return s


def serve(proto, addr, port, secs, ready=None):
    s = bind(proto, addr, port)
    if proto == "tcp":
        s.listen(4)
    if ready:
        with open(ready + ".tmp", "w") as f:
            f.write("%d\n" % s.getsockname()[1])
        os.rename(ready + ".tmp", ready)
    s.settimeout(float(secs))
    try:
        if proto == "tcp":
            c, peer = s.accept()
            c.close()
            return "OK accepted %s" % peer[0]
        data, peer = s.recvfrom(100)
        return "OK from %s" % peer[0]
    except socket.timeout:
        return "TIMEOUT"


def connect(proto, addr, port, src=None):
    s = socket.socket(fam(addr), socket.SOCK_STREAM if proto == "tcp" else
                      socket.SOCK_DGRAM)
    if src:
        s.bind((src, 0))
    # under the 1 s SYN retransmission: a refused flow is one SYN, one record
    s.settimeout(0.8)
    try:
        if proto == "tcp":
            s.connect((addr, int(port)))
        else:
            s.sendto(b"ping", (addr, int(port)))
        return "OK"
    except socket.timeout:
        return "TIMEOUT"


def mcast(kind, group, where):
    if kind == "mcast4":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mreq = socket.inet_aton(group) + socket.inet_aton(where)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    elif kind == "mcast6":
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        mreq = socket.inet_pton(socket.AF_INET6, group) + \
            struct.pack("@I", socket.if_nametoindex(where))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    else:
        v6 = kind == "mcastjoin6"
        f = socket.AF_INET6 if v6 else socket.AF_INET
        s = socket.socket(f, socket.SOCK_DGRAM)
        if v6:
            sa = struct.pack("=HHI16sI", socket.AF_INET6, 0, 0,
                             socket.inet_pton(f, group), 0)
        else:
            sa = struct.pack("=HH4s", socket.AF_INET, 0,
                             socket.inet_aton(group))
        # struct group_req: ifindex, padding to 8, sockaddr_storage
        req = struct.pack("@I4x", socket.if_nametoindex(where)) + \
            sa.ljust(128, b"\0")
        MCAST_JOIN_GROUP = 42
        s.setsockopt(socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP,
                     MCAST_JOIN_GROUP, req)
    return "OK"


def keep(proto, addr, port, d):
    s = socket.socket(fam(addr), socket.SOCK_STREAM if proto == "tcp" else
                      socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((addr, int(port)))

    def round_trip(msg):
        try:
            s.send(msg)
            got = s.recv(100)
            return "OK" if got else "ERR closed"
        except socket.timeout:
            return "TIMEOUT"
        except OSError as e:
            return err(e)

    out = [round_trip(b"one\n")]
    open(os.path.join(d, "ready"), "w").close()
    for _ in range(600):
        if os.path.exists(os.path.join(d, "go")):
            break
        time.sleep(0.05)
    rounds = int(open(os.path.join(d, "go")).read().strip() or 1)
    for i in range(rounds):
        # each round waits for its own go file after the first
        if i:
            for _ in range(600):
                if os.path.exists(os.path.join(d, "go%d" % i)):
                    break
                time.sleep(0.05)
        out.append(round_trip(b"again\n"))
        open(os.path.join(d, "done%d" % i), "w").close()
    return " ".join(out)


def main():
    a = sys.argv[1:]
    try:
        if a[0] == "bind":
            bind(a[1], a[2], a[3])
            r = "OK"
        elif a[0] == "serve":
            r = serve(*a[1:])
        elif a[0] == "connect":
            r = connect(*a[1:])
        elif a[0].startswith("mcast"):
            r = mcast(a[0], a[1], a[2])
        elif a[0] == "keep":
            r = keep(*a[1:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except OSError as e:
        r = err(e)
    print(r, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
