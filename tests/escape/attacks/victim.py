#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# A victim tool call: writes its pid, then runs until a stop file appears.
# Its argv carries a secret (argv[3]), as a careless tool's might.
import os
import sys
import time

pidfile, stopfile = sys.argv[1], sys.argv[2]
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(pidfile + ".tmp", pidfile)
while not os.path.exists(stopfile):
    time.sleep(0.05)
print("victim done")
