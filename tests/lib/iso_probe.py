#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""What one tool call can see and touch of the others (test_isolation.sh).

  iso_probe.py MODE [ARG...]

Prints one line, "OK [detail]" or "ERR ERRNONAME", and exits 0 or 1:
  victim INFO STOP KEY  write "PID" to INFO, make a SysV message queue and a
                        shared memory segment of KEY, wait for STOP
  cmdline PID           read /proc/PID/cmdline
  environ PID           read /proc/PID/environ
  prlimit PID           prlimit(PID, RLIMIT_NOFILE) (read, then set as is)
  setpriority PID       setpriority(PRIO_PROCESS, PID, 19)
  sched PID             sched_setscheduler(PID, SCHED_IDLE)
  kill0 PID             kill(PID, 0)
  msgget KEY            msgget(KEY, 0): is the queue visible?
  shmget KEY            shmget(KEY, 0, 0)
  pids                  the pids in /proc, space-separated
  memfd-exec            memfd_create(flags 0) + a copy of /bin/true + fexecve
  memfd-mfdexec         memfd_create(MFD_EXEC)
  mmap-exec FILE        mmap(FILE, PROT_READ|PROT_EXEC)
  grep-proc TEXT        is TEXT in the cmdline or environ of another process?
"""
import ctypes
import errno
import mmap
import os
import resource
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
MFD_EXEC = 0x10
IPC_CREAT = 0o1000


def err(e):
    print("ERR " + errno.errorcode.get(e, str(e)))
    sys.exit(1)


def call(fn, *args):
    r = fn(*args)
    if r < 0:
        err(ctypes.get_errno())
    return r


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    try:
        if mode == "victim":
            key = int(args[2])
            call(libc.msgget, key, IPC_CREAT | 0o600)
            call(libc.shmget, key, 4096, IPC_CREAT | 0o600)
            with open(args[0] + ".tmp", "w") as f:
                f.write("%d\n" % os.getpid())
            os.rename(args[0] + ".tmp", args[0])
            while not os.path.exists(args[1]):
                time.sleep(0.1)
            print("OK")
        elif mode in ("cmdline", "environ"):
            with open("/proc/%s/%s" % (args[0], mode), "rb") as f:
                data = f.read()
            print("OK " + data.replace(b"\0", b" ").decode(errors="replace"))
        elif mode == "prlimit":
            lim = resource.prlimit(int(args[0]), resource.RLIMIT_NOFILE)
            resource.prlimit(int(args[0]), resource.RLIMIT_NOFILE, lim)
            print("OK")
        elif mode == "setpriority":
            os.setpriority(os.PRIO_PROCESS, int(args[0]), 19)
            print("OK")
        elif mode == "sched":
            os.sched_setscheduler(int(args[0]), os.SCHED_IDLE,
                                  os.sched_param(0))
            print("OK")
        elif mode == "kill0":
            os.kill(int(args[0]), 0)
            print("OK")
        elif mode == "msgget":
            print("OK %d" % call(libc.msgget, int(args[0]), 0))
        elif mode == "shmget":
            print("OK %d" % call(libc.shmget, int(args[0]), 0, 0))
        elif mode == "pids":
            pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
            print("OK " + " ".join(map(str, pids)))
        elif mode == "memfd-exec":
            fd = os.memfd_create("tw-probe", 0)
            with open("/bin/true", "rb") as f:
                os.write(fd, f.read())
            sys.stdout.flush()
            os.execve(fd, ["true"], {})  # fexecve: no return when it works
        elif mode == "memfd-mfdexec":
            fd = call(libc.memfd_create, b"tw-probe", MFD_EXEC)
            print("OK %d" % fd)
        elif mode == "mmap-exec":
            with open(args[0], "rb") as f:
                mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC)
            print("OK")
        elif mode == "grep-proc":
            needle = args[0].encode()
            seen = []
            for p in os.listdir("/proc"):
                if not p.isdigit() or int(p) == os.getpid():
                    continue
                for what in ("cmdline", "environ"):
                    try:
                        with open("/proc/%s/%s" % (p, what), "rb") as f:
                            if needle in f.read():
                                seen.append("%s/%s" % (p, what))
                    except OSError:
                        pass
            print("OK " + (" ".join(seen) if seen else "absent"))
        else:
            print("ERR usage")
            sys.exit(2)
    except OSError as e:
        err(e.errno)


main()
