#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Read or set whether the kernel audit subsystem is enabled (netlink).

  kaudit.py get        print 1 or 0 (exit 2: no audit subsystem)
  kaudit.py set 0|1    enable or disable it

The tests enable it around the Landlock second-source checks and restore
the state they found; toolwall itself never changes it.
"""
import socket
import struct
import sys

NETLINK_AUDIT = 9
AUDIT_GET, AUDIT_SET = 1000, 1001
AUDIT_STATUS_ENABLED = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4


def talk(kind, body=b""):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    s.settimeout(2)
    s.bind((0, 0))
    s.send(struct.pack("=LHHLL", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body)
    for _ in range(4):
        d = s.recv(8192)
        _, t = struct.unpack("=LH", d[:6])
        if t == AUDIT_GET and kind == AUDIT_GET:
            return struct.unpack("=LL", d[16:24])[1]
        if t == 2:  # NLMSG_ERROR: an ack, or an error
            err = struct.unpack("=i", d[16:20])[0]
            if err:
                raise OSError(-err, "audit netlink")
            if kind == AUDIT_SET:
                return None
    return None


def main():
    try:
        if sys.argv[1:] == ["get"]:
            print(talk(AUDIT_GET))
        elif len(sys.argv) == 3 and sys.argv[1] == "set":
            talk(AUDIT_SET, struct.pack("=8L", AUDIT_STATUS_ENABLED, int(sys.argv[2]), 0, 0, 0, 0, 0, 0))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except OSError as e:
        print("kaudit.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
