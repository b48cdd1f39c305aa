#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The records of one run of tests/escape/attacks/records.py, checked field
by field against the bytes it used (test_records.sh).

  records_check.py bytes LOG CALL_ID PAYLOAD_HEX COMM_HEX SKILLDIR
      every record is there, complete, and each field's bytes decode back
      (README "Incident response": \\\\ and \\xNN; the domain in DNS
      presentation form, lowercased)
  records_check.py secret LOG CALL_ID NAME SKILLDIR
      every record is there and each field names the credential NAME
      (the value itself is the test's to grep for)
  records_check.py forms LOG COMM_CALL DIG_CALL NAME
      the denials of COMM_CALL (a process name "xy" + the value, cut to 15
      bytes) name "xy[credential NAME]"; DIG_CALL's two DNS records (the
      value in upper case, then split across two labels) name it too

Exit 0 when all holds; else prints what is missing and the call's records.
"""
import json
import re
import sys

FIELDS = ("event", "action", "comm", "path", "domain", "argv", "reason")


def decode(s):
    """record.h's encoding back to bytes (raises on a malformed one)."""
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif s[i + 1] == "\\":
            out += b"\\"
            i += 2
        elif s[i + 1] == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            raise ValueError("bad escape in %r" % s)
    return bytes(out)


def presentation(s):
    """A DNS name in presentation form (\\DDD, \\c) back to bytes."""
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] == "\\" and re.match(r"\d{3}", s[i + 1:i + 4]):
            out.append(int(s[i + 1:i + 4]))
            i += 4
        elif s[i] == "\\":
            out += s[i + 1].encode()
            i += 2
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


def load(log, call):
    recs = []
    for line in open(log, encoding="utf-8"):
        r = json.loads(line)  # every line is valid JSON, or this fails
        if r.get("call_id") == call:
            recs.append(r)
    return recs


def find(recs, pred):
    for r in recs:
        try:
            if pred(r):
                return r
        except (ValueError, TypeError, KeyError, IndexError):
            pass
    return None


def expect_bytes(recs, p, comm, skills):
    name = b"tw-rec-" + p
    who = (comm + p)[:15]
    d = decode

    def denied(action, path):
        return lambda r: (r["event"] == "deny" and r["action"] == action and
                          d(r["path"]) == path and d(r["comm"]) == who and
                          r.get("reason"))
    return {
        "unix socket path": denied("connect", b"/tmp/" + name),
        "abstract unix name": denied("connect", b"@" + name),
        "refused file path": denied("open", b"/root/" + name),
        "refused exec path": denied("exec", b"/root/" + name),
        "DNS name": lambda r: (
            r["action"] == "dns" and d(r["comm"]) == who and r.get("reason")
            and presentation(r["domain"]) ==
            (name + b".exfil.example").lower()),
        "exec path and argv": lambda r: (
            r["event"] == "exec" and d(r["path"]) == skills + b"/" + name and
            [d(a) for a in r["argv"]] == [name, b"arg-" + p] and
            d(r["comm"]) == name[:15]),
    }


def expect_secret(recs, cred, skills):
    m = "[credential %s]" % cred
    name = "tw-rec-" + m

    def denied(action, path):
        return lambda r: (r["event"] == "deny" and r["action"] == action and
                          r["path"] == path and r["comm"] == m)
    return {
        "unix socket path": denied("connect", "/tmp/" + name),
        "abstract unix name": denied("connect", "@" + name),
        "refused file path": denied("open", "/root/" + name),
        "refused exec path": denied("exec", "/root/" + name),
        "DNS name": lambda r: (r["action"] == "dns" and r["comm"] == m and
                               r["domain"] == name + ".exfil.example"),
        "exec path and argv": lambda r: (
            r["event"] == "exec" and r["path"] == skills + "/" + name and
            r["argv"] == [name, "arg-" + m]),
    }


def forms(log, comm_call, dig_call, cred):
    r = [json.loads(line) for line in open(log)]
    m = "[credential %s]" % cred
    comm = [x["comm"] for x in r
            if x.get("call_id") == comm_call and x.get("event") == "deny"]
    dig = [x["domain"] for x in r
           if x.get("call_id") == dig_call and x.get("action") == "dns"]
    if comm and all(c == "xy" + m for c in comm) and \
            dig == [m + ".exfil.example"] * 2:
        return 0
    print("process names %s; DNS names %s" % (comm, dig))
    return 1


def main():
    mode, log, call = sys.argv[1:4]
    if mode == "forms":
        return forms(log, call, sys.argv[4], sys.argv[5])
    recs = load(log, call)
    if mode == "bytes":
        want = expect_bytes(recs, bytes.fromhex(sys.argv[4]),
                            bytes.fromhex(sys.argv[5]), sys.argv[6].encode())
    else:
        want = expect_secret(recs, sys.argv[4], sys.argv[5])
    missing = [k for k, pred in want.items() if not find(recs, pred)]
    lost = [r for r in map(json.loads, open(log)) if r.get("event") == "lost"]
    if not missing and not lost:
        return 0
    print("missing: %s; lost records: %d; the call's records:" %
          (", ".join(missing) or "-", len(lost)))
    for r in recs + lost:
        print("  " + json.dumps({k: r.get(k) for k in FIELDS if k in r}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
