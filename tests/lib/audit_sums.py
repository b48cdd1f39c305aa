#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Add up what an audit log accounts for, from `toolwall audit -j` on stdin.

  audit_sums.py [--call ID]

Prints one JSON object: "denied" (deny records, each weighing its count or
1), "audited", "lost" (the counts of lost records), "lost_kernel",
"lost_daemon", "lost_syslog_records" (records the syslog collector missed,
which are in the log), "records" (all records), and with --call,
"call_records" and
"call_denied" (the deny records of that call, and their weight).
"""
import json
import sys


def main():
    call = None
    if len(sys.argv) == 3 and sys.argv[1] == "--call":
        call = sys.argv[2]
    out = {"denied": 0, "audited": 0, "lost": 0, "lost_kernel": 0,
           "lost_daemon": 0, "records": 0, "aggregated": 0,
           "call_records": 0, "call_denied": 0}
    for line in sys.stdin:
        r = json.loads(line)
        out["records"] += 1
        ev = r.get("event")
        n = r.get("count", 1)
        if "count" in r and ev in ("deny", "audit"):
            out["aggregated"] += 1
            assert n > 1 and r["first_ts"] <= r["last_ts"], r
        if ev == "deny":
            out["denied"] += n
        elif ev == "audit":
            out["audited"] += n
        elif ev == "lost" and r.get("source") == "syslog":
            # records the syslog collector missed: all in this log, no
            # event lost
            out["lost_syslog_records"] = out.get("lost_syslog_records", 0) + r["records"]
        elif ev == "lost":
            out["lost"] += r["count"]
            k = "lost_" + r.get("source", "kernel")
            out[k] = out.get(k, 0) + r["count"]
        if call and r.get("call_id") == call:
            out["call_records"] += 1
            if ev == "deny":
                out["call_denied"] += n
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    sys.exit(main())
