# SPDX-License-Identifier: GPL-2.0-only
# Shared by the escape suite's attack programs: one verdict line first,
# "BLOCKED <how>" or "ESCAPED <what>", then exit. Anything else (a crash, a
# timeout, an unexpected errno) prints "ERROR <what>" so that the harness
# never mistakes a broken attack for a refusal.
import ctypes
import errno
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def blocked(how):
    out("BLOCKED " + how)
    sys.exit(0)


def escaped(what):
    out("ESCAPED " + what)
    sys.exit(0)


def error(what):
    out("ERROR " + what)
    sys.exit(3)


def ename(e):
    return errno.errorcode.get(e, str(e))


# Errors that mean "refused" (by a hook, seccomp, Landlock, the kernel's own
# permission checks, or a target hidden in another namespace).
REFUSED = (errno.EPERM, errno.EACCES, errno.ESRCH, errno.ENOENT, errno.EXDEV,
           errno.EROFS)


def refused_or_error(e, what):
    """An OSError from the attack's key step: BLOCKED when it is a refusal."""
    if e.errno in REFUSED:
        blocked("%s: %s" % (what, ename(e.errno)))
    error("%s: %s" % (what, ename(e.errno) if e.errno else e))


def sysc(nr, *args):
    """A raw syscall; returns its value or raises OSError."""
    # Every integer as a full long: variadic ints leave the upper half of a
    # register undefined, which the kernel reads as part of the argument.
    args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    r = libc.syscall(ctypes.c_long(nr), *args)
    if r == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def run(table):
    """argv[1] names the attack in TABLE; the rest are its arguments."""
    if len(sys.argv) < 2 or sys.argv[1] not in table:
        error("usage: %s ATTACK ARGS... (one of %s)" %
              (sys.argv[0], " ".join(sorted(table))))
    try:
        table[sys.argv[1]](*sys.argv[2:])
    except SystemExit:
        raise
    except OSError as e:
        refused_or_error(e, sys.argv[1])
    except Exception as e:  # noqa: BLE001 - any crash is an ERROR verdict
        error("%s: %s: %s" % (sys.argv[1], type(e).__name__, e))
    error("%s: no verdict" % sys.argv[1])
