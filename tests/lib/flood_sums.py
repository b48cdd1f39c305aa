#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Add up an audit log's accounts of kernel events, from `toolwall audit -j`
on stdin, the socket hooks' and the syscall audit's apart (each has its own
kernel counter):

  net_denied  weight (count or 1) of deny/audit records of the socket hooks
  net_lost    counts of `lost` records of source "kernel"
  sys_denied  weight of deny records of the syscall audit (with "syscall")
  sys_lost    counts of `lost` records of source "kernel-syscall-audit"

Landlock's own records (source "landlock", from the kernel audit log) are
neither. Prints one JSON object.
"""
import json
import sys


def main():
    out = {"net_denied": 0, "net_lost": 0, "sys_denied": 0, "sys_lost": 0}
    for line in sys.stdin:
        r = json.loads(line)
        ev, n = r.get("event"), r.get("count", 1)
        if ev in ("deny", "audit") and r.get("source") != "landlock":
            out["sys_denied" if "syscall" in r else "net_denied"] += n
        elif ev == "lost" and r.get("source") == "kernel":
            out["net_lost"] += n
        elif ev == "lost" and r.get("source") == "kernel-syscall-audit":
            out["sys_lost"] += n
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    sys.exit(main())
