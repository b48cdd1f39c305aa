#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Inputs and outputs of `make bench` (bench/run.sh).

  gen.py policy DIR N TCP_PORTS UDP_PORT [FILL_PORT]
        toolwall policy: workspace "bench" whose baseline allows
        127.0.0.1:TCP_PORTS, udp://127.0.0.1:UDP_PORT and N-2 filler /32
        rules over 10.0.0.0/8 (FILL_PORT, default 443): N rules in one context.
  gen.py multi DIR CONTEXTS RULES TCP_PORTS UDP_PORT [FILL_PORT]
        the same workspace plus CONTEXTS-1 channels, each stepping up its own
        bundle of RULES-2 fillers: every channel holds RULES rules.
  gen.py nft FILE N CGROUP TCP_PORT UDP_PORT
        nftables equivalent of `policy`: one table, a cgroupv2 match on CGROUP
        (relative to the cgroup2 root), concatenated address . port sets.
  gen.py ipt FILE N CGROUP TCP_PORT UDP_PORT
        iptables-restore equivalent: one rule per entry, each with
        `-m cgroup --path CGROUP`, the allowed listener last.
  gen.py report TSV JSON
        results TSV (bench variant rules value unit ratio note) -> JSON array.

Every ruleset judges only what opens a connection (the connect hook, a TCP
SYN) or an unconnected datagram, and rejects the rest of CGROUP's traffic.
"""
import json
import os
import sys


def filler(i, port):
    # i >= 1; distinct /32s in 10.0.0.0/8, never 127.0.0.1
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255), port


def write_json(path, objs):
    with open(path, "w") as f:
        json.dump(objs, f)


def base_objs(tcp_ports, udp_port):
    return [
        {"workspace": "bench", "agent": {"name": "bench", "user": "nobody"},
         "baseline": ["local"]},
        {"bundle": "local",
         "connect": ["127.0.0.1:%s" % tcp_ports, "udp://127.0.0.1:%s" % udp_port]},
    ]


def policy(d, n, tcp_ports, udp_port, fill_port="443"):
    n = int(n)
    objs = base_objs(tcp_ports, udp_port)
    if n > 2:
        objs.append({"bundle": "fill", "connect": [
            "%s:%s" % filler(i, fill_port) for i in range(1, n - 1)]})
        objs[0]["baseline"].append("fill")
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "policy.json"), objs)


def multi(d, contexts, rules, tcp_ports, udp_port, fill_port="443"):
    contexts, rules = int(contexts), int(rules)
    objs = base_objs(tcp_ports, udp_port)
    per = rules - 2
    for c in range(1, contexts):
        objs.append({"bundle": "b%04d" % c, "connect": [
            "%s:%s" % filler(c * per + j + 1, fill_port) for j in range(per)]})
        objs.append({"channel": "c%04d" % c, "workspace": "bench",
                     "step_up": ["b%04d" % c]})
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "policy.json"), objs)


def nft(path, n, cgroup, tcp_port, udp_port):
    n = int(n)
    level = cgroup.strip("/").count("/") + 1
    els = ["%s . %s" % filler(i, 443) for i in range(1, n - 1)]
    els.append("127.0.0.1 . %s" % tcp_port)
    with open(path, "w") as f:
        f.write("table inet twbench {\n")
        f.write(" set tcp4 { type ipv4_addr . inet_service; size %d;\n"
                "  elements = { %s }\n }\n" % (max(65536, 2 * n), ",\n".join(els)))
        f.write(" set udp4 { type ipv4_addr . inet_service;\n"
                "  elements = { 127.0.0.1 . %s }\n }\n" % udp_port)
        f.write(" chain out {\n"
                "  type filter hook output priority filter; policy accept;\n"
                "  socket cgroupv2 level %d \"%s\" jump ctx\n }\n" % (level, cgroup))
        # Only a SYN opens a connection: the rest of a TCP flow passes, as
        # it does past a connect hook.
        f.write(" chain ctx {\n"
                "  tcp flags & (syn | ack) != syn accept\n"
                "  meta nfproto ipv4 ip daddr . tcp dport @tcp4 accept\n"
                "  meta nfproto ipv4 ip daddr . udp dport @udp4 accept\n"
                "  meta l4proto tcp reject with tcp reset\n"
                "  reject\n }\n}\n")


def ipt(path, n, cgroup, tcp_port, udp_port):
    n = int(n)
    m = "-A OUTPUT -m cgroup --path %s" % cgroup
    with open(path, "w") as f:
        f.write("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                ":OUTPUT ACCEPT [0:0]\n")
        f.write("%s -p tcp ! --syn -j ACCEPT\n" % m)
        for i in range(1, n - 1):
            f.write("%s -d %s/32 -p tcp -m tcp --dport %d -j ACCEPT\n"
                    % ((m,) + filler(i, 443)))
        f.write("%s -d 127.0.0.1/32 -p udp -m udp --dport %s -j ACCEPT\n" % (m, udp_port))
        f.write("%s -d 127.0.0.1/32 -p tcp -m tcp --dport %s -j ACCEPT\n" % (m, tcp_port))
        f.write("%s -p tcp -j REJECT --reject-with tcp-reset\n" % m)
        f.write("%s -j REJECT\n" % m)
        f.write("COMMIT\n")


def num(s):
    if s in ("", "null", "-"):
        return None
    v = float(s)
    return int(v) if v.is_integer() and "." not in s else v


def report(tsv, out):
    rows = []
    with open(tsv) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 6:
                continue
            r = {"bench": p[0], "variant": p[1], "rules": num(p[2]),
                 "value": num(p[3]), "unit": p[4], "ratio_to_baseline": num(p[5])}
            if len(p) > 6 and p[6]:
                r["note"] = p[6]
            rows.append(r)
    with open(out, "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    cmds = {"policy": policy, "multi": multi, "nft": nft, "ipt": ipt,
            "report": report}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.stderr.write(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](*sys.argv[2:])
