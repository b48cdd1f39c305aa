#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Attacks on the launch socket, run as a launcher (or not) outside any call.

  launch.py SOCKET MODE [ARGS...]

Prints one verdict line first: "BLOCKED <how>" when the daemon refused or
the attack got nothing, "ESCAPED <what>" when it got through. Modes:

  field NAME JSON     an exec request with an extra field NAME=JSON (a
                      cgroup, an account, a mode...): a marker file the
                      command would create must not appear
  first OP            a first request other than exec (a control op)
  control PATH        connect to the control socket itself
  credforge           SCM_CREDENTIALS claiming uid 0 with the request
  credown             SO_PASSCRED and SCM_CREDENTIALS of our own (a non-member
                      hoping its claim counts)
  stdio KIND          pass KIND as the call's stdin: dir, opath, tcp, unixroot
  cwd DIR MARK        pass DIR as the working directory: the call must not
                      start there nor read MARK relative to it
  flood N             N connections of a non-member
"""
import json
import os
import socket
import struct
import sys

SOCK = sys.argv[1]
MODE = sys.argv[2]
ARGS = sys.argv[3:]
SHARED = os.environ.get("ESC_SHARED", "/tmp")


def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    return s


def request(argv, **extra):
    req = {"v": 1, "op": "exec", "context": "workspace:acme", "argv": argv,
           "quiet": True}
    req.update(extra)
    return json.dumps(req).encode() + b"\n"


def answer(s):
    """Every line until the end or an error: (last message, all text)."""
    f = s.makefile()
    last = None
    text = ""
    for line in f:
        text += line
        last = json.loads(line)
        if not last.get("ok") or last.get("event") == "exit":
            break
    return last, text


def verdict(last, escaped_if):
    if escaped_if(last):
        print("ESCAPED", json.dumps(last)[:300])
    else:
        err = (last or {}).get("error") or "status %s" % (last or {}).get("status")
        print("BLOCKED", err)


def field():
    name, value = ARGS[0], json.loads(ARGS[1])
    mark = os.path.join(SHARED, "launch-field-" + name)
    s = connect()
    socket.send_fds(s, [request(["/bin/sh", "-c", "touch " + mark],
                                **{name: value})], [0, 1, 2])
    last, _ = answer(s)
    verdict(last, lambda m: os.path.exists(mark) or (m and m.get("ok")))


def first():
    s = connect()
    s.sendall(json.dumps({"v": 1, "op": ARGS[0], "context": "workspace:acme",
                          "cgid": 1}).encode() + b"\n")
    last, _ = answer(s)
    verdict(last, lambda m: m is None or m.get("ok"))


def control():
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(ARGS[0])
        s.sendall(b'{"op":"stop"}\n')
        print("ESCAPED", s.recv(200))
    except OSError as e:
        print("BLOCKED", e.strerror)


def creds(forge):
    s = connect()
    if not forge:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    pid, uid, gid = (os.getpid(), 0, 0) if forge else (os.getpid(), os.getuid(), os.getgid())
    anc = [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack("iII", pid, uid, gid))]
    try:
        s.sendmsg([request(["/bin/true"])], anc)
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused before it read the request: its answer is there
    except OSError as e:
        # the kernel refuses a claim that is not ours: nothing was sent
        print("BLOCKED the kernel refused the forged credentials:", e.strerror)
        return
    last, _ = answer(s)
    verdict(last, lambda m: m and m.get("ok"))


def stdio():
    kind = ARGS[0]
    keep = None
    if kind == "dir":
        fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    elif kind == "opath":
        fd = os.open("/etc/hostname", os.O_PATH)
    elif kind == "tcp":
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        c = socket.create_connection(srv.getsockname())
        keep = srv
        fd = c.fileno()
    elif kind == "unixroot":
        c = socket.socket(socket.AF_UNIX)
        c.connect(ARGS[1])
        fd = c.fileno()
    s = connect()
    # the command would tell what fd 0 is: it must never run
    socket.send_fds(s, [request(["/bin/sh", "-c", "ls -l /proc/self/fd/0 >&2"])],
                    [fd, 1, 2])
    last, _ = answer(s)
    del keep
    verdict(last, lambda m: m is None or m.get("ok"))


def cwd():
    d, mark = ARGS[0], ARGS[1]
    fd = os.open(d, os.O_PATH | os.O_DIRECTORY)
    r, w = os.pipe()
    s = connect()
    socket.send_fds(s, [request(["/bin/sh", "-c",
                                 "pwd; cat " + mark + " 2>&1 | head -c 200"])],
                    [0, w, 2, fd])
    os.close(w)
    last, _ = answer(s)
    out = os.read(r, 4096).decode(errors="replace")
    where = out.splitlines()[0] if out else ""
    leaked = out.count("\n") > 1 and "No such file" not in out and "denied" not in out
    if where == d or leaked:
        print("ESCAPED started in", where, "read:", out[:200].replace("\n", " | "))
    else:
        print("BLOCKED started in", where, "and", out.splitlines()[1:2])


def flood():
    errs = set()
    for _ in range(int(ARGS[0])):
        s = connect()
        last, _ = answer(s)
        errs.add((last or {}).get("error", "none")[:40])
        s.close()
    print("BLOCKED", len(errs), "kind(s) of answer:", sorted(errs)[0])


{"field": field, "first": first, "control": control,
 "credforge": lambda: creds(True), "credown": lambda: creds(False),
 "stdio": stdio, "cwd": cwd, "flood": flood}[MODE]()
