#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Find the audit record(s) of one tool call and compare them with the
expected fields.

  audit_check.py LOG CALL_ID [--count N] KEY=VALUE... [KEY~SUBSTRING...]
                                [KEY!=VALUE...]

CALL_ID "-" matches every record. Passes (exit 0) when exactly N records
(default 1) of the call carry every
KEY=VALUE (numbers compared as numbers, "null" as JSON null), every
KEY~SUBSTRING and no KEY!=VALUE; otherwise prints the records it saw and
exits 1.
"""
import json
import sys


def matches(rec, want):
    for key, op, val in want:
        have = rec.get(key)
        if op == "!":
            if str(have) == val or (val == "null" and have is None):
                return False
        elif op == "~":
            if not isinstance(have, str) or val not in have:
                return False
        elif val == "null":
            if have is not None:
                return False
        elif isinstance(have, bool) or not isinstance(have, (int, float)):
            if str(have) != val:
                return False
        elif str(have) != val:
            return False
    return True


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    log, call = args[0], args[1]
    count, want = 1, []
    rest = args[2:]
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--count":
            count = int(rest[i + 1])
            i += 2
            continue
        k = min((p for p in (a.find("="), a.find("~")) if p > 0), default=-1)
        if k < 0:
            print(f"bad expectation {a!r}", file=sys.stderr)
            return 2
        if a[k] == "=" and a[k - 1] == "!":
            want.append((a[:k - 1], "!", a[k + 1:]))
        else:
            want.append((a[:k], a[k], a[k + 1:]))
        i += 1
    recs = []
    with open(log) as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if call == "-" or r.get("call_id") == call:
                recs.append(r)
    good = [r for r in recs if matches(r, want)]
    if len(good) == count:
        return 0
    print(f"call {call}: {len(good)} matching records, want {count}; "
          f"records of the call:", file=sys.stderr)
    for r in recs:
        print("  " + json.dumps(r), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
