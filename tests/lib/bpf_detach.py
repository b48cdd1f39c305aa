#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Try to detach every cgroup program toolwall uses from CGROUP, the way an
unprivileged process could detach legacy attachments (BPF_PROG_DETACH with
no program fd). Exit 0 if any detach succeeded (enforcement undone), 1 if
every attempt failed; prints the errno of each attempt on stderr."""
import ctypes
import os
import sys

SYS_bpf = 321  # x86_64
BPF_PROG_DETACH = 9
# inet egress, sock_create, connect4/6, sendmsg4/6, unix connect/sendmsg
ATTACH_TYPES = [1, 2, 10, 11, 14, 15, 49, 50]


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        print(f"open {sys.argv[1]}: {e.strerror}", file=sys.stderr)
        return 1
    undone = False
    for t in ATTACH_TYPES:
        # union bpf_attr for BPF_PROG_DETACH: target_fd, attach_bpf_fd,
        # attach_type, attach_flags
        attr = (ctypes.c_uint32 * 8)(fd, 0, t, 0, 0, 0, 0, 0)
        r = libc.syscall(SYS_bpf, BPF_PROG_DETACH, ctypes.byref(attr),
                         ctypes.sizeof(attr))
        if r == 0:
            undone = True
            print(f"attach type {t}: DETACHED", file=sys.stderr)
        else:
            print(f"attach type {t}: {os.strerror(ctypes.get_errno())}",
                  file=sys.stderr)
    return 0 if undone else 1


if __name__ == "__main__":
    sys.exit(main())
