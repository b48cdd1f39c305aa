#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Filesystem escapes: run code the call wrote (memfd + execveat, the dynamic
# loader on a written file, mmap(PROT_EXEC), LD_PRELOAD, exec from writable
# places), read what it must not (credential stores, other calls' private
# directories, the audit log, the policy), and symlink/hardlink tricks.
# Nothing read is printed, only whether it was.
#   fs.py ATTACK ARGS...
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import os
import platform
import shutil
import subprocess
import tempfile

from _esc import blocked, error, escaped, libc, refused_or_error

MARK = "tw-escape-ran"


def scratch():
    return os.environ.get("HOME") or tempfile.gettempdir()


def ran(argv, what, env=None, fds=()):
    r = subprocess.run(argv, capture_output=True, text=True, env=env or {},
                       pass_fds=fds, timeout=10)
    if MARK in r.stdout:
        escaped(what)
    blocked("%s: did not run (exit %d: %s)" %
            (what, r.returncode, r.stderr.strip()[:100]))


def memfd(via="fd"):
    fd = os.memfd_create("tw-escape", 0)
    with open("/usr/bin/echo", "rb") as f:
        os.write(fd, f.read())
    if via == "proc":
        ran(["/proc/self/fd/%d" % fd, MARK], "exec of a memfd by its /proc path",
            fds=(fd,))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        try:
            os.execve(fd, ["echo", MARK], {})  # execveat(fd, "", AT_EMPTY_PATH)
        except OSError as e:
            os.write(1, ("ERR %d\n" % e.errno).encode())
        os._exit(1)
    os.close(w)
    out = os.read(r, 200).decode()
    os.waitpid(pid, 0)
    if MARK in out:
        escaped("execveat of a memfd")
    blocked("execveat of a memfd refused (%s)" % out.strip())


def written(name):
    """A copy of a system program where the call may write."""
    p = os.path.join(scratch(), "%s-%d" % (name, os.getpid()))
    shutil.copy("/usr/bin/echo", p)
    os.chmod(p, 0o755)
    return p


def ldso():
    p = written("ldso")
    loader = "/lib64/ld-linux-x86-64.so.2"
    if not os.path.exists(loader):
        loader = [l for l in os.listdir("/lib") if l.startswith("ld-linux")][0]
    ran([loader, p, MARK], "the dynamic loader ran a file the call wrote")


def mmap_exec():
    import ctypes
    if platform.machine() != "x86_64":
        error("mmap-exec: x86_64 code only")
    p = os.path.join(scratch(), "code-%d" % os.getpid())
    with open(p, "wb") as f:
        f.write(b"\xb8\x2a\x00\x00\x00\xc3" + b"\0" * 4090)  # mov eax,42; ret
    fd = os.open(p, os.O_RDONLY)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    a = libc.mmap(None, 4096, 1 | 4, 2, fd, 0)  # PROT_READ|PROT_EXEC, MAP_PRIVATE
    if a in (None, ctypes.c_void_p(-1).value):
        refused_or_error(OSError(ctypes.get_errno(), "mmap"), "mmap(PROT_EXEC) of a written file")
    if ctypes.CFUNCTYPE(ctypes.c_int)(a)() == 42:
        escaped("ran code from a file it wrote, by mmap(PROT_EXEC)")
    error("mapped code returned something else")


def preload():
    lib = [l for l in ("/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1",
                       "/lib/aarch64-linux-gnu/libz.so.1") if os.path.exists(l)][0]
    p = os.path.join(scratch(), "libtw-%d.so" % os.getpid())
    shutil.copy(lib, p)
    r = subprocess.run(["/usr/bin/true"], capture_output=True, text=True, timeout=10,
                       env={"LD_PRELOAD": p, "LD_DEBUG": "files"})
    if "calling init: " + p in r.stderr:
        escaped("LD_PRELOAD mapped a library the call wrote")
    blocked("LD_PRELOAD of a written library refused")


def exec_in(d):
    """Copy a program into D (writable to the account), run it."""
    d = os.path.expandvars(d)
    p = os.path.join(d, "tw-esc-%d" % os.getpid())
    try:
        shutil.copy("/usr/bin/echo", p)
        os.chmod(p, 0o755)
    except OSError as e:
        refused_or_error(e, "write %s" % d)
    try:
        ran([p, MARK], "exec of a program written to %s" % d)
    except OSError as e:
        refused_or_error(e, "exec from %s" % d)
    finally:
        try:
            os.unlink(p)
        except OSError:
            pass


def read(path):
    with open(path, "rb") as f:
        n = len(f.read())
    escaped("read %s (%d bytes)" % (path, n))


def listdir(path):
    names = os.listdir(path)
    escaped("listed %s (%d entries)" % (path, len(names)))


def plant(d):
    """Write into another call's directory."""
    p = os.path.join(d, "planted")
    with open(p, "w") as f:
        f.write("x")
    escaped("wrote into %s" % d)


def symlink(target):
    link = os.path.join(scratch(), "l-%d" % os.getpid())
    os.symlink(target, link)
    try:
        read(link)
    finally:
        os.unlink(link)


def hardlink(target):
    link = os.path.join(scratch(), "h-%d" % os.getpid())
    os.link(target, link)
    try:
        read(link)
    finally:
        os.unlink(link)


TABLE = {
    "memfd": memfd, "ldso": ldso, "mmap-exec": mmap_exec, "preload": preload,
    "exec-in": exec_in, "read": read, "list": listdir, "plant": plant,
    "symlink": symlink, "hardlink": hardlink,
}

if __name__ == "__main__":
    from _esc import run
    run(TABLE)
