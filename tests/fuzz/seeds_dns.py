#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Seed corpus for fuzz_dns (input layout: see fuzz_dns.c).

Usage: seeds_dns.py OUTDIR
Queries are built the way stub resolvers send them (RD set, one question,
EDNS OPT from modern clients); answers the way a recursive resolver sends
them (name compression, CNAME chains, TC then the same over TCP).
"""
import os
import struct
import sys

A, NS, CNAME, TXT, AAAA, OPT = 1, 2, 5, 16, 28, 41


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qid, qname, qtype=A, edns=0):
    hdr = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    msg = hdr + name(qname) + struct.pack(">HH", qtype, 1)
    if edns:
        msg += b"\0" + struct.pack(">HHIH", OPT, edns, 0, 0)
    return msg


def rr(owner, rtype, rdata, ttl=300):
    # owner: bytes already encoded (a name, or a 0xc00c pointer)
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def answer(q, rrs, rcode=0, tc=False):
    qid = struct.unpack(">H", q[:2])[0]
    flags = 0x8180 | rcode | (0x0200 if tc else 0)
    question = q[12:]
    # drop the query's OPT: keep the question only
    end = question.index(b"\0") + 5
    hdr = struct.pack(">HHHHHH", qid, flags, 1, len(rrs), 0, 0)
    return hdr + question[:end] + b"".join(rrs)


PTR = b"\xc0\x0c"


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def seed(ctx, tcp, q, udp=b"", tcpans=None):
    b = bytes([(ctx << 1) | tcp]) + struct.pack(">H", len(q)) + q
    b += struct.pack(">H", len(udp)) + udp
    if tcpans is not None:
        b += struct.pack(">H", len(tcpans)) + tcpans
    return b


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    s = {}
    q = query(0x1a2b, "docs.acme.example")
    s["allowed-a"] = seed(0, 0, q, answer(q, [rr(PTR, A, ip4("93.184.216.34"))]))
    q = query(0x0001, "www.docs-cdn.example", AAAA, 1232)
    cname = name("edge.cdn.example")
    # the CNAME's target, by a pointer to where its rdata starts
    tgt = struct.pack(">H", 0xc000 | (12 + len(name("www.docs-cdn.example")) + 4 + 12))
    s["wildcard-cname-aaaa"] = seed(0, 0, q, answer(q, [
        rr(PTR, CNAME, cname),
        rr(tgt, AAAA, ip6("2606:4700::6810:84e5")),
        rr(name("other.example"), AAAA, ip6("2001:db8::1"))]))
    q = query(0x7777, "api.tracker.example")
    s["literal-private"] = seed(0, 1, q, answer(q, [rr(PTR, A, ip4("10.20.1.10"))]))
    q = query(0x4242, "docs.acme.example")
    s["rebinding-loopback"] = seed(0, 0, q, answer(q, [rr(PTR, A, ip4("127.0.0.1"))]))
    q = query(0x4243, "docs.acme.example", AAAA)
    s["rebinding-metadata-v6"] = seed(0, 0, q, answer(q, [
        rr(PTR, A, ip4("169.254.169.254")), rr(PTR, AAAA, ip6("::ffff:10.0.0.1"))]))
    q = query(0x1111, "exfil.attacker.example", TXT)
    s["refused-name"] = seed(0, 0, q)
    q = query(0x1112, "warehouse.acme.example")
    s["other-context"] = seed(2, 0, q, answer(q, [rr(PTR, A, ip4("203.0.113.7"))]))
    s["data-team"] = seed(1, 0, q, answer(q, [rr(PTR, A, ip4("203.0.113.7"), 90000)]))
    s["no-context"] = seed(4, 0, q)
    q = query(0x2222, "ats.recruiting.example")
    s["dm"] = seed(3, 1, q, answer(q, [rr(PTR, A, ip4("198.51.100.20"))]))
    q = query(0x3333, "docs.acme.example", A, 4096)
    big = [rr(PTR, A, ip4("93.184.216.%d" % i)) for i in range(1, 40)]
    s["truncated-then-tcp"] = seed(0, 0, q, answer(q, big[:2], tc=True), answer(q, big))
    s["edns-large"] = seed(0, 0, q, answer(q, big))
    q = query(0x3334, "docs.acme.example")
    s["udp-client-large"] = seed(0, 0, q, answer(q, big))
    s["servfail"] = seed(0, 0, q, answer(q, [], rcode=2))
    s["bad-id"] = seed(0, 0, q, b"\x99\x99" + answer(q, big[:1])[2:])
    s["formerr-short"] = seed(0, 0, b"\x12\x34\x01")
    s["response-as-query"] = seed(0, 0, answer(q, big[:1]))
    q2 = struct.pack(">HHHHHH", 9, 0x0100, 2, 0, 0, 0) + name("a.example") + \
        b"\0\1\0\1" + name("docs.acme.example") + b"\0\1\0\1"
    s["two-questions"] = seed(0, 0, q2)
    # one label "x.docs-cdn" under "example": not below docs-cdn.example,
    # though ldns prints it "x\\.docs-cdn.example" (was judged allowed)
    raw = b"\x0ax.docs-cdn\x07example\x00"
    q = struct.pack(">HHHHHH", 0x5150, 0x0100, 1, 0, 0, 0) + raw + b"\0\1\0\1"
    s["regress-label-dot"] = seed(0, 0, q, answer(q, [rr(PTR, A, ip4("203.0.113.9"))]))
    for k, v in s.items():
        with open(os.path.join(out, k), "wb") as f:
            f.write(v)


main()
