#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Grants and quarantine escapes: a call tries to lift its own quarantine,
# to grant or extend a grant for itself, or to write the kernel's grant
# state directly.
#   grants.py control SOCKET REQUEST-JSON   send one request to the daemon
#   grants.py map PIN                       open a pinned map (BPF_OBJ_GET)
#   grants.py mkcg                          make a cgroup of its own below
#                                           its call's (a scope no grant or
#                                           quarantine names)
#   grants.py cred VAR NAME                 hold credential NAME: in the
#                                           environment (VAR) or as a file
#                                           in $TOOLWALL_CREDENTIALS_DIR
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import ctypes
import json
import os
import socket

from _esc import blocked, error, escaped, refused_or_error, sysc

SYS_BPF = 321  # x86_64
BPF_OBJ_GET = 7


def control(path, request):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        refused_or_error(e, "connect %s" % path)
    s.sendall((request + "\n").encode())
    s.settimeout(3)
    try:
        ans = s.recv(65536).decode(errors="replace")
    except (socket.timeout, ConnectionError):
        blocked("the daemon did not answer")
    try:
        if json.loads(ans.splitlines()[0]).get("ok"):
            escaped("the daemon did it: %s" % ans.strip()[:120])
    except (ValueError, IndexError):
        pass
    blocked("the daemon refused: %s" % ans.strip()[:80])


def bpf_map(pin):
    path = ctypes.create_string_buffer(pin.encode())
    # union bpf_attr for BPF_OBJ_GET: pathname (u64), bpf_fd, file_flags
    attr = (ctypes.c_uint64 * 4)(ctypes.addressof(path), 0, 0, 0)
    try:
        fd = sysc(SYS_BPF, BPF_OBJ_GET, ctypes.addressof(attr), 32)
    except OSError as e:
        refused_or_error(e, "BPF_OBJ_GET %s" % pin)
    escaped("opened the pinned map %s (fd %d)" % (pin, fd))


def mkcg():
    cg = open("/proc/self/cgroup").read().strip().split("::")[-1]
    for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(root + cg + "/cgroup.procs"):
            break
    else:
        error("cannot find its cgroup %s" % cg)
    sub = root + cg + "/escape"
    try:
        os.mkdir(sub)
    except OSError as e:
        refused_or_error(e, "mkdir %s" % sub)
    escaped("made cgroup %s" % sub)


def cred(var, name):
    v = os.environ.get(var)
    if v:
        escaped("holds %s (%d bytes)" % (var, len(v)))
    d = os.environ.get("TOOLWALL_CREDENTIALS_DIR")
    if d and os.path.exists(os.path.join(d, name)):
        escaped("holds the file %s/%s" % (d, name))
    blocked("no %s in its environment, no file %s" % (var, name))


def main():
    a = sys.argv[1:]
    if a[:1] == ["control"] and len(a) == 3:
        control(a[1], a[2])
    elif a[:1] == ["map"] and len(a) == 2:
        bpf_map(a[1])
    elif a == ["mkcg"]:
        mkcg()
    elif a[:1] == ["cred"] and len(a) == 3:
        cred(a[1], a[2])
    error("usage: grants.py control SOCKET JSON | map PIN | mkcg | cred VAR NAME")


if __name__ == "__main__":
    main()
