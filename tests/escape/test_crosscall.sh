#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, cross-call class. A call of channel:acme/general attacks a
# victim call of channel:acme/data-team (a warehouse credential in its argv
# and environment), the victim's launcher (`toolwall exec`, root, whose argv
# carries the victim's command line) and the daemon: /proc/PID/cmdline,
# environ, maps, mem; prlimit, setpriority, sched_setscheduler,
# sched_setaffinity, kill, tgkill, pidfd_send_signal, pidfd_getfd, ptrace,
# process_vm_readv; SysV shared memory, message queues and semaphores of
# another call.
#
# Fixes pending on other branches (attempts tagged [needs: ...]):
#   pidns    each call in a PID namespace of its own (other calls' and the
#            host's processes invisible: /proc/PID gone, ESRCH)
#   ipcns    each call in an IPC namespace of its own
# Every process outside the call is outside its PID namespace: the attacks
# find no such process (ENOENT, ESRCH). Nothing is refused, so nothing is
# recorded; the refusals Landlock's scoping and the syscall audit record for
# processes a call can name are proven in tests/kernel/test_sandbox.sh.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

X="$ESC_PY $ESC_ATTACKS/cross.py"
ESC_NO_HOSTS=1 # (reaches no test host)
esc_setup
esc_victim_start || { tap_summary; exit 1; }
V=$ESC_VICTIM_PID
G=$ESC_GEN
# The victim's launcher: the `toolwall exec` process of its call id.
L=""
for p in $(pgrep -f -- "--call-id $ESC_VICTIM_ID"); do
	[[ $(cat /proc/$p/comm 2>/dev/null) == toolwall ]] && L=$p
done
D=$TW_DAEMON_PID
[[ -n $V && -n $L && -n $D ]] && ok "victim $V, its launcher $L, daemon $D" ||
	not_ok "victim, launcher and daemon pids" "victim '$V' launcher '$L' daemon '$D'"

# ---- reading other processes -------------------------------------------------------
ESC_FIX=pidns esc "the victim's /proc/PID/cmdline (its argv holds a token)" $G - -- $X cmdline "$V"
ESC_FIX=pidns esc "the victim's launcher's cmdline (root, world-readable)" $G - -- $X cmdline "$L"
ESC_FIX=pidns esc "every process's cmdline, scanned for credentials" $G - -- $X scan
esc "the victim's /proc/PID/environ" $G \
	- -- $X environ "$V"
esc "the victim's /proc/PID/maps" $G \
	- -- $X maps "$V"
esc "the victim's /proc/PID/mem" $G \
	- -- $X mem "$V"
ESC_NOBARE="the launcher is root's: no agent account reads its environment" \
	esc "the launcher's /proc/PID/environ" $G - -- $X environ "$L"
ESC_NOBARE="the daemon is root's: no agent account reads its environment" \
	esc "the daemon's /proc/PID/environ" $G - -- $X environ "$D"
ESC_NOBARE="the daemon is root's: no agent account reads its maps" \
	esc "the daemon's /proc/PID/maps" $G - -- $X maps "$D"
ESC_NOBARE="the daemon is root's: no agent account opens its memory" \
	esc "the daemon's /proc/PID/mem" $G - -- $X mem "$D"
ESC_FIX=pidns esc "the daemon is visible to a call" $G - -- $X visible "$D"
ESC_FIX=pidns esc "the victim is visible to a call" $G - -- $X visible "$V"

# ---- touching the victim -----------------------------------------------------------
ESC_FIX=pidns esc "prlimit on the victim" $G - -- $X prlimit "$V"
ESC_FIX=pidns esc "setpriority on the victim" $G - -- $X setpriority "$V"
ESC_FIX=pidns esc "sched_setscheduler on the victim" $G - -- $X sched "$V"
ESC_FIX=pidns esc "sched_setaffinity on the victim" $G - -- $X affinity "$V"
esc "kill(victim, 0)" $G - -- $X kill "$V"
esc "tgkill(victim, 0)" $G - -- $X tgkill "$V"
esc "pidfd_send_signal to the victim" $G - -- $X pidfd-signal "$V"
esc "pidfd_getfd from the victim" $G - -- $X pidfd-getfd "$V"
esc "ptrace attach to the victim" $G - -- $X ptrace "$V"
esc "process_vm_readv of the victim" $G - -- $X vm-read "$V"
ESC_NOBARE="the daemon is root's: no agent account may signal it" \
	esc "kill(daemon, 0)" $G - -- $X kill "$D"
esc_victim_alive && ok "the victim call survived the attacks" || not_ok "victim alive"

# ---- SysV IPC of another call ---------------------------------------------------------
# Proof first: a bare agent process holds objects, a bare agent attack reads
# them. Then a data-team call holds objects under another key, and a
# #general call tries the same.
BARE_KEY=$((0x74770000 + ($$ & 0xfff) * 4))
CALL_KEY=$((BARE_KEY + 0x10000))
ipc_holder_stop()
{
	touch "$TW_WORK/shared/ipc.stop"
	[[ -n ${IPC_BARE:-} ]] && wait "$IPC_BARE" 2>/dev/null
	[[ -n ${IPC_CALL:-} ]] && wait "$IPC_CALL" 2>/dev/null
	IPC_BARE="" IPC_CALL=""
	local k
	for k in $BARE_KEY $CALL_KEY; do # whatever a crashed holder left
		ipcrm -M $k 2>/dev/null; ipcrm -Q $((k + 1)) 2>/dev/null; ipcrm -S $((k + 2)) 2>/dev/null
	done
	return 0
}
tw_at_exit ipc_holder_stop
rm -f "$TW_WORK/shared/ipc.stop" "$TW_WORK/shared/ipc.bare" "$TW_WORK/shared/ipc.call"
esc_bare "$ESC_PY" "$ESC_ATTACKS/ipcvictim.py" $BARE_KEY "$TW_WORK/shared/ipc.bare" \
	"$TW_WORK/shared/ipc.stop" >/dev/null &
IPC_BARE=$!
twx $ESC_DATA ipc-holder-$$ "$ESC_PY" "$ESC_ATTACKS/ipcvictim.py" $CALL_KEY \
	"$TW_WORK/shared/ipc.call" "$TW_WORK/shared/ipc.stop" >"$TW_WORK/ipc.out" 2>&1 &
IPC_CALL=$!
tw_eventually test -e "$TW_WORK/shared/ipc.bare"
tw_eventually test -e "$TW_WORK/shared/ipc.call" ||
	not_ok "a data-team call holds SysV objects" "$(cat "$TW_WORK/ipc.out")"
ipc()
{
	local name=$1 kind=$2 off=$3 b
	[[ -n ${ESC_FIX:-} ]] && name+=" [needs: $ESC_FIX]"
	b=$(esc_bare $X "$kind" $((BARE_KEY + off)))
	if [[ $b != ESCAPED* ]]; then
		skip "$name" "the bare agent cannot do it either (got '$b')"
		return
	fi
	attempt "$name" $G "BLOCKED*" -- $X "$kind" $((CALL_KEY + off))
	no_secret "$name"
}
ESC_FIX=ipcns ipc "another call's SysV shared memory" shm 0
ESC_FIX=ipcns ipc "another call's SysV message queue" msg 1
ESC_FIX=ipcns ipc "another call's SysV semaphores" sem 2
ipc_holder_stop

esc_victim_alive && ok "the victim call ran through every attempt" || not_ok "victim alive"
tap_summary
