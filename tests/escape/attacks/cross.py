#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Cross-call escapes: see or touch another call (the victim, which holds a
# warehouse credential in its argv and environment), its launcher or the
# daemon. The verdict never prints what was read, only whether it was.
#   cross.py ATTACK PID|KEY
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import ctypes
import errno
import os

from _esc import blocked, error, escaped, libc, refused_or_error, sysc

SECRET_HINTS = (b"--token=", b"WAREHOUSE_TOKEN=", b"whs-")


def read_proc(pid, what):
    with open("/proc/%s/%s" % (pid, what), "rb") as f:
        return f.read()


def secret_in(data):
    return any(h in data for h in SECRET_HINTS)


def cmdline(pid):
    data = read_proc(pid, "cmdline")
    if secret_in(data):
        escaped("/proc/%s/cmdline holds a credential" % pid)
    blocked("/proc/%s/cmdline is not the victim's (another namespace)" % pid)


def environ(pid):
    data = read_proc(pid, "environ")
    if secret_in(data):
        escaped("/proc/%s/environ holds a credential" % pid)
    escaped("/proc/%s/environ read (%d bytes)" % (pid, len(data)))


def maps(pid):
    data = read_proc(pid, "maps")
    escaped("/proc/%s/maps read (%d bytes)" % (pid, len(data)))


def mem(pid):
    fd = os.open("/proc/%s/mem" % pid, os.O_RDONLY)
    os.close(fd)
    escaped("/proc/%s/mem opened" % pid)


def scan(_=None):
    """Every process's argv: a credential in anyone else's is the escape."""
    me, hits = os.getpid(), 0
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me:
            continue
        try:
            if secret_in(read_proc(p, "cmdline")):
                hits += 1
        except OSError:
            pass
    if hits:
        escaped("%d other processes show a credential in their argv" % hits)
    blocked("no other process's argv shows a credential")


def visible(pid):
    """The process exists to this call (its /proc entry, its comm)."""
    comm = read_proc(pid, "comm").strip().decode()
    escaped("pid %s (%s) is visible" % (pid, comm))


def prlimit(pid):
    """Rewrite its RLIMIT_CORE with the value it has (no harm, same proof)."""
    import resource
    cur = resource.prlimit(int(pid), resource.RLIMIT_CORE)
    resource.prlimit(int(pid), resource.RLIMIT_CORE, cur)
    escaped("prlimit set pid %s's limits" % pid)


def setpriority(pid):
    prio = os.getpriority(os.PRIO_PROCESS, int(pid))
    os.setpriority(os.PRIO_PROCESS, int(pid), prio)
    escaped("setpriority on pid %s" % pid)


def sched(pid):
    os.sched_setscheduler(int(pid), os.SCHED_OTHER, os.sched_param(0))
    escaped("sched_setscheduler on pid %s" % pid)


def affinity(pid):
    os.sched_setaffinity(int(pid), os.sched_getaffinity(int(pid)))
    escaped("sched_setaffinity on pid %s" % pid)


def kill(pid):
    os.kill(int(pid), 0)
    escaped("kill(pid %s, 0) allowed" % pid)


def tgkill(pid):
    sysc(234, int(pid), int(pid), 0)
    escaped("tgkill(pid %s, 0) allowed" % pid)


def pidfd_signal(pid):
    fd = sysc(434, int(pid), 0)  # pidfd_open
    sysc(424, fd, 0, None, 0)    # pidfd_send_signal(fd, 0)
    escaped("pidfd_send_signal to pid %s" % pid)


def pidfd_getfd(pid):
    fd = sysc(434, int(pid), 0)
    got = sysc(438, fd, 2, 0)    # pidfd_getfd: its stderr
    os.close(got)
    escaped("pidfd_getfd took a descriptor of pid %s" % pid)


def ptrace(pid):
    if libc.ptrace(16, int(pid), None, None) != 0:  # PTRACE_ATTACH
        e = ctypes.get_errno()
        refused_or_error(OSError(e, os.strerror(e)), "ptrace attach")
    os.waitpid(int(pid), 0x40000000)  # __WALL
    libc.ptrace(17, int(pid), None, None)  # PTRACE_DETACH
    escaped("ptrace attached to pid %s" % pid)


class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def vm_read(pid):
    buf = ctypes.create_string_buffer(64)
    local = iovec(ctypes.cast(buf, ctypes.c_void_p), 64)
    remote = iovec(ctypes.c_void_p(0x10000), 64)  # a guess: EFAULT = allowed
    try:
        sysc(310, int(pid), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    except OSError as e:
        if e.errno == errno.EFAULT:
            escaped("process_vm_readv allowed on pid %s (EFAULT on a guess)" % pid)
        raise
    escaped("process_vm_readv read pid %s" % pid)


# ---- SysV IPC (objects a victim made, by key) -----------------------------

libc.shmat.restype = ctypes.c_void_p


def shm(key):
    shmid = libc.shmget(int(key, 0), 0, 0)
    if shmid < 0:
        refused_or_error(OSError(ctypes.get_errno(), "shmget"), "shmget")
    addr = libc.shmat(shmid, None, 0o10000)  # SHM_RDONLY
    if addr in (None, ctypes.c_void_p(-1).value):
        refused_or_error(OSError(ctypes.get_errno(), "shmat"), "shmat")
    data = ctypes.string_at(addr, 64)
    escaped("read another call's shared memory (%s)" %
            ("its marker" if b"tw-ipc-victim" in data else "%d bytes" % len(data)))


def msg(key):
    qid = libc.msgget(int(key, 0), 0)
    if qid < 0:
        refused_or_error(OSError(ctypes.get_errno(), "msgget"), "msgget")
    buf = ctypes.create_string_buffer(128)
    n = libc.msgrcv(qid, buf, 64, 0, 0o4000 | 0o20000)  # IPC_NOWAIT|MSG_COPY
    if n < 0:
        n = libc.msgrcv(qid, buf, 64, 0, 0o4000)
    if n < 0:
        e = ctypes.get_errno()
        if e == errno.ENOMSG:
            escaped("opened another call's message queue (empty)")
        refused_or_error(OSError(e, "msgrcv"), "msgrcv")
    escaped("read another call's message queue (%d bytes)" % n)


def sem(key):
    sid = libc.semget(int(key, 0), 0, 0)
    if sid < 0:
        refused_or_error(OSError(ctypes.get_errno(), "semget"), "semget")
    escaped("opened another call's semaphore set")


TABLE = {
    "cmdline": cmdline, "environ": environ, "maps": maps, "mem": mem,
    "scan": scan, "visible": visible, "prlimit": prlimit,
    "setpriority": setpriority, "sched": sched, "affinity": affinity,
    "kill": kill, "tgkill": tgkill, "pidfd-signal": pidfd_signal,
    "pidfd-getfd": pidfd_getfd, "ptrace": ptrace, "vm-read": vm_read,
    "shm": shm, "msg": msg, "sem": sem,
}

if __name__ == "__main__":
    from _esc import run
    run(TABLE)
