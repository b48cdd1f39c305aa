#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# A call that keeps SysV objects (shared memory KEY, a message queue KEY+1,
# semaphores KEY+2, mode 0600) until a stop file appears, then removes them.
#   ipcvictim.py KEY READY STOP
import ctypes
import os
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
key, ready, stop = int(sys.argv[1], 0), sys.argv[2], sys.argv[3]
IPC_CREAT, IPC_RMID = 0o1000, 0
shmid = libc.shmget(key, 4096, IPC_CREAT | 0o600)
qid = libc.msgget(key + 1, IPC_CREAT | 0o600)
sid = libc.semget(key + 2, 1, IPC_CREAT | 0o600)
if min(shmid, qid, sid) < 0:
    print("ipcvictim: %s" % os.strerror(ctypes.get_errno()))
    sys.exit(1)
addr = libc.shmat(shmid, None, 0)
ctypes.memmove(addr, b"tw-ipc-victim", 13)
msg = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + 16)
ctypes.c_long.from_buffer(msg).value = 1
msg[ctypes.sizeof(ctypes.c_long):ctypes.sizeof(ctypes.c_long) + 13] = b"tw-ipc-victim"
libc.msgsnd(qid, msg, 13, 0)
open(ready, "w").close()
try:
    for _ in range(1200):
        if os.path.exists(stop):
            break
        time.sleep(0.05)
finally:
    libc.shmdt(ctypes.c_void_p(addr))
    libc.shmctl(shmid, IPC_RMID, None)
    libc.msgctl(qid, IPC_RMID, None)
    libc.semctl(sid, 0, IPC_RMID)
