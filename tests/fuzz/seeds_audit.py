#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Seed corpus for fuzz_audit: audit log segments.

Usage: seeds_audit.py REAL_LOG OUTDIR
REAL_LOG is a log a kernel test wrote (its lines are cut into short
segments); records of the kinds the test log lacks (dns, audit mode,
aggregated, lost, rotate, unix, IPv6) are sealed here the way the daemon
seals them (audit_chain.h), plus a gzip segment and tampered copies.
"""
import gzip
import hashlib
import json
import os
import sys

GENESIS = "0" * 64


def seal(canon):
    h = hashlib.sha256(canon.encode()).hexdigest()
    return canon[:-1] + ',"hash":"' + h + '"}', h


def chain(records, seq0=1, prev=GENESIS):
    lines = []
    for i, r in enumerate(records):
        r = dict(r)
        r["seq"] = seq0 + i
        r["prev"] = prev
        line, prev = seal(json.dumps(r, separators=(",", ":")))
        lines.append(line)
    return lines


REV = "36edf84df9c639f54a607be591447d087a039f35c5c767d752d0c702a04c4e2e"
SYNTH = [
    {"ts": "2026-12-02T10:00:00.000000001Z", "event": "deny",
     "context": "workspace:acme", "workspace": "acme", "call_id": "call-1",
     "pid": 4242, "comm": "dig", "uid": 995, "action": "dns",
     "proto": "udp", "domain": "exfil.example.com", "qtype": "TXT",
     "reason": "no bundle of workspace:acme allows the name", "hint":
     "bundle issue-tracker (held by channel:acme/ops)", "policy_rev": REV},
    {"ts": "2026-12-02T10:00:01Z", "event": "audit",
     "context": "channel:acme/general", "action": "connect", "proto": "tcp",
     "dst": "10.30.1.10", "port": 5439, "count": 12,
     "first_ts": "2026-12-02T10:00:01Z", "last_ts": "2026-12-02T10:04:59Z",
     "hint": "bundle warehouse-read (held by channel:acme/data-team); "
     "bundle other", "policy_rev": REV},
    {"ts": "2026-12-02T10:00:02Z", "event": "deny", "context":
     "workspace:acme", "action": "connect", "proto": "unix",
     "path": "/run/x.sock", "call_id": "call-1"},
    {"ts": "2026-12-02T10:00:03Z", "event": "deny", "context":
     "workspace:acme", "action": "sendmsg", "proto": "udp",
     "dst": "fd00::1", "port": 53, "pid": 4242},
    {"ts": "2026-12-02T10:00:04Z", "event": "lost", "count": 25,
     "count_is_lower_bound": True, "source": "ringbuf",
     "reason": "ring buffer full", "policy_rev": REV},
    {"ts": "2026-12-02T10:00:05Z", "event": "rotate",
     "segment": "/var/log/toolwall/audit.jsonl.1.gz", "removed": 2,
     "retained_from": 3},
    {"ts": "2026-12-02T10:00:06Z", "event": "exec", "context":
     "workspace:acme", "pid": 1, "comm": "sh", "action": "exec",
     "argv": ["/bin/sh", "-c", "curl https://x.example.com/" + "a" * 200]},
    {"ts": "2026-12-02T10:00:07Z", "event": "audit", "context":
     "channel:acme/general", "action": "socket",
     "socket": {"family": 2, "type": 3, "protocol": 1}},
]


def main():
    real, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    seeds = {}
    lines = [l.rstrip("\n") for l in open(real)]
    for i in range(0, min(len(lines), 60), 6):
        seeds["real-%02d" % i] = "\n".join(lines[i:i + 6]) + "\n"
    synth = chain(SYNTH)
    seeds["synth-chain"] = "\n".join(synth) + "\n"
    seeds["synth-continued"] = "\n".join(chain(SYNTH[:3], 41, "ab" * 32)) + "\n"
    seeds["synth-nonl"] = "\n".join(synth[:2])
    seeds["altered"] = "\n".join(synth[:3]).replace("5439", "5440") + "\n"
    seeds["reordered"] = "\n".join([synth[1], synth[0], synth[2]]) + "\n"
    seeds["missing"] = "\n".join([synth[0], synth[3]]) + "\n"
    seeds["unsealed"] = "\n".join(json.dumps(r) for r in SYNTH) + "\n"
    seeds["garbage"] = synth[0] + "\nnot json\n[1,2]\n\n" + synth[1] + "\n"
    for name, text in seeds.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    with open(os.path.join(out, "synth-chain.gz"), "wb") as f:
        f.write(gzip.compress(seeds["synth-chain"].encode()))
    gz = gzip.compress(seeds["real-00"].encode())
    with open(os.path.join(out, "truncated.gz"), "wb") as f:
        f.write(gz[: len(gz) // 2])


main()
