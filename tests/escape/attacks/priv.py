#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Privilege escapes: gain what the agent account does not have (setuid,
# user namespaces and their capabilities, mounts), reach kernel interfaces a
# call must not (bpf, perf, keyrings, AF_ALG, TIOCSTI), or leave the call's
# cgroup.
#   priv.py ATTACK ARGS...
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import ctypes
import errno
import os
import socket
import subprocess
import time

from _esc import blocked, error, escaped, libc, refused_or_error, sysc

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x20000, 0x10000000, 0x40000000


def setuid_bin(path="/usr/bin/su"):
    """Exec a setuid-root program; read its effective uid while it waits."""
    p = subprocess.Popen([path, "-c", "true", "root"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    euid = None
    for _ in range(50):
        try:
            with open("/proc/%d/status" % p.pid) as f:
                st = f.read()
            if "\nName:\t%s\n" % os.path.basename(path) in "\n" + st:
                euid = int(st.split("\nUid:\t")[1].split()[1])
                break
        except (OSError, IndexError):
            pass
        if p.poll() is not None:
            break
        time.sleep(0.02)
    p.stdin.close()
    try:
        p.wait(8)
    except subprocess.TimeoutExpired:
        pass
    if euid is None:
        blocked("%s did not run (exit %s)" % (path, p.poll()))
    if euid == 0:
        escaped("%s ran with effective uid 0" % path)
    blocked("%s ran with effective uid %d (setuid ignored)" % (path, euid))


def unshare_user():
    sysc(272, CLONE_NEWUSER)
    escaped("a user namespace of its own (every capability in it)")


def clone_user():
    pid = sysc(56, CLONE_NEWUSER | 17, 0, 0, 0, 0)  # clone(CLONE_NEWUSER|SIGCHLD)
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    escaped("clone(CLONE_NEWUSER) made a child in a new user namespace")


def unshare_cmd():
    r = subprocess.run(["/usr/bin/unshare", "-Ur", "/usr/bin/id", "-u"],
                       capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.strip() == "0":
        escaped("unshare -Ur: root in a user namespace")
    blocked("unshare -Ur failed (exit %d)" % r.returncode)


def mount():
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        refused_or_error(OSError(ctypes.get_errno(), "mount"), "mount tmpfs")
    escaped("mounted a tmpfs")


def fsopen():
    fd = sysc(430, b"tmpfs", 0)
    os.close(fd)
    escaped("fsopen(tmpfs): the new mount API")


def open_tree():
    fd = sysc(428, -100, b"/", 0x80000)  # OPEN_TREE_CLOEXEC
    os.close(fd)
    escaped("open_tree gave a handle on the root mount")


def chroot():
    sysc(161, b"/")
    escaped("chroot")


def setns():
    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    sysc(308, fd, 0)
    escaped("setns into a network namespace")


def bpf_reach():
    """bpf() with a too-long attribute: E2BIG means the kernel looked."""
    buf = ctypes.create_string_buffer(b"\1" * 8192)
    try:
        sysc(321, 0, buf, 8192)
    except OSError as e:
        if e.errno == errno.E2BIG:
            escaped("bpf() reached the kernel (E2BIG)")
        raise
    escaped("bpf() map create")


def bpf_obj_get(path):
    attr = ctypes.create_string_buffer(128)
    p = ctypes.create_string_buffer(path.encode())
    ctypes.c_uint64.from_buffer(attr).value = ctypes.addressof(p)
    fd = sysc(321, 7, attr, 16)  # BPF_OBJ_GET
    os.close(fd)
    escaped("opened toolwall's pinned %s" % path)


def bpf_pins(path):
    names = os.listdir(path)
    escaped("listed %d of toolwall's pins" % len(names))


def perf():
    attr = ctypes.create_string_buffer(128)
    ctypes.c_uint32.from_buffer(attr, 0).value = 1    # PERF_TYPE_SOFTWARE
    ctypes.c_uint32.from_buffer(attr, 4).value = 128  # size
    ctypes.c_uint64.from_buffer(attr, 8).value = 0    # CPU_CLOCK
    ctypes.c_uint64.from_buffer(attr, 40).value = 1 | 32 | 64  # disabled, exclude kernel/hv
    fd = sysc(298, attr, 0, -1, -1, 0)
    os.close(fd)
    escaped("perf_event_open on itself")


def keyring():
    """The user keyring is the account's: every call of the agent shares it."""
    kid = sysc(250, 0, -4, 1)  # KEYCTL_GET_KEYRING_ID(KEY_SPEC_USER_KEYRING, create)
    escaped("reached the account's user keyring %d (shared by every call)" % kid)


def add_key():
    kid = sysc(248, b"user", b"tw-escape", b"x", 1, -4)
    escaped("add_key to the shared user keyring (%d)" % kid)


def af_alg():
    try:
        s = socket.socket(38, socket.SOCK_SEQPACKET, 0)  # AF_ALG
    except OSError as e:
        refused_or_error(e, "AF_ALG socket")
    s.close()
    escaped("AF_ALG socket (the kernel crypto API)")


def tiocsti():
    """A terminal of its own as controlling tty, then push input into it."""
    m, sl = os.openpty()
    name = os.ttyname(sl)
    os.close(sl)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fd = os.open(name, os.O_RDWR)  # its controlling terminal now
        c = ctypes.c_char(b"x")
        r = libc.ioctl(fd, 0x5412, ctypes.byref(c))  # TIOCSTI
        os._exit(0 if r == 0 else min(ctypes.get_errno(), 250))
    _, st = os.waitpid(pid, 0)
    e = os.WEXITSTATUS(st)
    if e == 0:
        escaped("TIOCSTI pushed input into a terminal")
    refused_or_error(OSError(e, os.strerror(e)), "TIOCSTI")


def cgroup_move(procs):
    """Write its own pid into another cgroup: out of its context."""
    with open(procs, "w") as f:
        f.write("%d\n" % os.getpid())
    with open("/proc/self/cgroup") as f:
        now = f.read().strip()
    escaped("moved itself to %s (%s)" % (procs, now))


def cgroup_sub():
    """A cgroup of its own below its call's, then move there."""
    with open("/proc/self/cgroup") as f:
        rel = [l.split(":", 2)[2].strip() for l in f if l.startswith("0::")][0]
    mnt = [l.split()[1] for l in open("/proc/mounts") if l.split()[2] == "cgroup2"][0]
    sub = os.path.join(mnt + rel, "esc")
    os.mkdir(sub)
    cgroup_move(os.path.join(sub, "cgroup.procs"))


def init_module():
    sysc(175, None, 0, b"")
    escaped("init_module accepted")


TABLE = {
    "setuid": setuid_bin, "unshare-user": unshare_user,
    "clone-user": clone_user, "unshare-cmd": unshare_cmd, "mount": mount,
    "fsopen": fsopen, "open-tree": open_tree,
    "chroot": chroot, "setns": setns, "bpf": bpf_reach,
    "bpf-obj-get": bpf_obj_get, "bpf-pins": bpf_pins, "perf": perf,
    "keyring": keyring, "add-key": add_key, "af-alg": af_alg,
    "tiocsti": tiocsti, "cgroup-move": cgroup_move, "cgroup-sub": cgroup_sub,
    "init-module": init_module,
}

if __name__ == "__main__":
    from _esc import run
    run(TABLE)
