#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Echo server for toolwall's kernel tests: one process, one selector.

TCP and unix stream connections echo what they receive, except that a
connection whose first bytes are an HTTP request gets a minimal HTTP/1.0
response ("twtest <local address>") and is closed, so curl works on any port.
UDP and unix datagrams are echoed to the sender; UDP replies leave from the
address the datagram was sent to (IP_PKTINFO), so connected clients accept
them even when the namespace has several addresses in one subnet.

--ready FILE is created once every socket listens.
"""
import argparse
import ctypes
import os
import selectors
import signal
import socket
import struct
import sys

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ")
MAX_BUF = 65536

sel = selectors.DefaultSelector()
unix_paths = []


def die_with_parent(ppid):
    """End with the test shell, even if it is SIGKILLed: no orphan servers."""
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != ppid:  # it died before prctl
        sys.exit(0)


def ports(text):
    return [int(p) for p in text.split(",") if p]


def unix_name(path):
    """'@name' is an abstract socket name."""
    return "\0" + path[1:] if path.startswith("@") else path


def listen_tcp(family, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    s.listen(1024)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, ("accept", None))


def bind_udp(family, port):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s.bind(("::", port))
    else:
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.bind(("0.0.0.0", port))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, ("udp", None))


def listen_unix(path, kind, mode):
    name = unix_name(path)
    s = socket.socket(socket.AF_UNIX, kind)
    if not name.startswith("\0"):
        if os.path.exists(name):
            os.unlink(name)
        s.bind(name)
        os.chmod(name, mode)
        unix_paths.append(name)
    else:
        s.bind(name)
    if kind == socket.SOCK_STREAM:
        s.listen(128)
        sel.register(s, selectors.EVENT_READ, ("accept", None))
    else:
        sel.register(s, selectors.EVENT_READ, ("dgram", None))
    s.setblocking(False)


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.inbuf = b""
        self.out = b""
        self.mode = None  # None until the first bytes decide: "echo" or "http"
        self.closing = False

    def local(self):
        addr = self.sock.getsockname()
        if isinstance(addr, tuple):
            host = addr[0][7:] if addr[0].startswith("::ffff:") else addr[0]
            return "[%s]:%d" % (host, addr[1]) if ":" in host else "%s:%d" % (host, addr[1])
        return "unix:" + (addr.decode(errors="replace") if isinstance(addr, bytes) else addr)

    def feed(self, data):
        if self.mode == "echo":
            self.out += data
            return
        if self.closing:
            return  # HTTP response queued; ignore the rest
        self.inbuf += data
        if self.mode is None:
            if self.inbuf.startswith(HTTP_METHODS):
                self.mode = "http"
            elif any(m.startswith(self.inbuf) for m in HTTP_METHODS):
                return  # could still become a request line
            else:
                self.mode, self.out, self.inbuf = "echo", self.out + self.inbuf, b""
                return
        if b"\r\n\r\n" in self.inbuf or len(self.inbuf) > MAX_BUF:
            body = ("twtest %s\n" % self.local()).encode()
            head = ("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)).encode()
            self.out += head + (b"" if self.inbuf.startswith(b"HEAD ") else body)
            self.closing = True


def update(conn):
    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
    sel.modify(conn.sock, events, ("conn", conn))


def close(conn):
    sel.unregister(conn.sock)
    conn.sock.close()


def on_accept(lsock):
    try:
        sock, _ = lsock.accept()
    except (BlockingIOError, ConnectionAbortedError):
        return
    sock.setblocking(False)
    sel.register(sock, selectors.EVENT_READ, ("conn", Conn(sock)))


def on_conn(conn, mask):
    try:
        if mask & selectors.EVENT_READ:
            data = conn.sock.recv(MAX_BUF)
            if not data:  # peer done: flush what we can, then close
                if conn.mode is None:
                    conn.out += conn.inbuf
                if conn.out:
                    conn.sock.send(conn.out)
                close(conn)
                return
            conn.feed(data)
        if conn.out:
            n = conn.sock.send(conn.out)
            conn.out = conn.out[n:]
        if conn.closing and not conn.out:
            close(conn)
            return
        update(conn)
    except BlockingIOError:
        update(conn)
    except OSError:
        close(conn)


def on_udp(sock):
    v6 = sock.family == socket.AF_INET6
    try:
        data, anc, _, peer = sock.recvmsg(MAX_BUF, socket.CMSG_SPACE(20))
    except BlockingIOError:
        return
    reply_anc = []
    for level, kind, cdata in anc:
        if v6 and level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            dst, ifindex = struct.unpack("16sI", cdata[:20])
            reply_anc = [(level, kind, struct.pack("16sI", dst, ifindex))]
        elif not v6 and level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            _, _, dst = struct.unpack("i4s4s", cdata[:12])
            reply_anc = [(level, kind, struct.pack("i4s4s", 0, dst, b"\0" * 4))]
    try:
        sock.sendmsg([data], reply_anc, 0, peer)
    except OSError as e:
        print("echo_server: udp reply to %s: %s" % (peer, e), file=sys.stderr)


def on_dgram(sock):
    try:
        data, peer = sock.recvfrom(MAX_BUF)
    except BlockingIOError:
        return
    if peer:  # an unbound sender cannot be answered
        try:
            sock.sendto(data, peer)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tcp", type=ports, default=[], help="comma-separated TCP ports")
    ap.add_argument("--udp", type=ports, default=[], help="comma-separated UDP ports")
    ap.add_argument("--no-ipv6", action="store_true", help="IPv4 sockets only")
    ap.add_argument("--unix", action="append", default=[], help="unix stream PATH or @NAME")
    ap.add_argument("--unix-dgram", action="append", default=[], help="unix datagram PATH or @NAME")
    ap.add_argument("--mode", type=lambda m: int(m, 8), default=0o666, help="unix socket file mode")
    ap.add_argument("--ready", help="file to create once listening")
    ap.add_argument("--parent-pid", type=int, help="exit when this parent process ends")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    if args.parent_pid:
        die_with_parent(args.parent_pid)

    families = [socket.AF_INET] + ([] if args.no_ipv6 else [socket.AF_INET6])
    for fam in families:
        for p in args.tcp:
            listen_tcp(fam, p)
        for p in args.udp:
            bind_udp(fam, p)
    for path in args.unix:
        listen_unix(path, socket.SOCK_STREAM, args.mode)
    for path in args.unix_dgram:
        listen_unix(path, socket.SOCK_DGRAM, args.mode)

    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.ready + ".tmp", args.ready)
    try:
        while True:
            for key, mask in sel.select():
                kind, conn = key.data
                if kind == "accept":
                    on_accept(key.fileobj)
                elif kind == "conn":
                    on_conn(conn, mask)
                elif kind == "udp":
                    on_udp(key.fileobj)
                else:
                    on_dgram(key.fileobj)
    finally:
        for path in unix_paths:
            try:
                os.unlink(path)
            except OSError:
                pass


if __name__ == "__main__":
    main()
