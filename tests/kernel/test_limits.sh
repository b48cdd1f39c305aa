#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Per-call limits: a fork bomb in a call stops at its pids limit while the
# host and other calls still fork; a memory hog is OOM-killed at its memory
# limit; both leave a `limit` record and a line in the exec summary. Each
# call gets cgroups of its own in the hierarchies that hold the controllers
# (found in /proc/mounts), removed at call end; a daemon that cannot find a
# controller refuses to start calls.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
PY=/usr/bin/python3

tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
cat >"$TW_POLICY/limits-test.json" <<'EOF'
[{ "channel": "tight", "workspace": "acme",
   "limits": { "pids": 24, "memory": "96M" } }]
EOF
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
SH=$TW_WORK/shared

# Where this host keeps each controller: v2 if its mount offers it, else
# the v1 hierarchy that has it (discovered, never assumed).
V2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
where()
{
	if grep -qw "$1" "$V2/cgroup.controllers" 2>/dev/null; then
		echo "cgroup2 $V2"
	else
		awk -v c="$1" '$3 == "cgroup" && ("," $4 ",") ~ ("," c ",") { print "cgroup v1 " $2; exit }' /proc/mounts
	fi
}
PIDS_AT=$(where pids)
MEM_AT=$(where memory)
[[ -n $PIDS_AT && -n $MEM_AT ]] || {
	skip "limits" "this host has no pids or memory controller"
	tap_summary
	exit 0
}
# The directory holding one call's pids cgroup for context cgroup REL.
pids_dir() { if [[ $PIDS_AT == cgroup2* ]]; then echo "$V2/toolwall/$1"; else echo "${PIDS_AT#cgroup v1 }/toolwall/$1"; fi; }

# ---- the policy: parse, compile, status ------------------------------------
out=$("$TW_BIN" compile -p "$TW_POLICY" 2>&1)
if grep -A8 '^context channel:acme/tight' <<<"$out" | grep -q 'limits        pids 24, memory 96M' &&
	grep -A8 '^context workspace:acme$' <<<"$out" | grep -q 'limits        pids 512, memory 2G'; then
	ok "compile shows a channel's own limits and the workspace defaults (pids 512, memory 2G)"
else
	not_ok "compile shows the limits" "$out"
fi
st=$("$TW_BIN" status -j)
if $PY -c 'import json,sys; l=json.loads(sys.argv[1])["limits"]; sys.exit(not (l["ok"] and l["pids"]==sys.argv[2] and l["memory"]==sys.argv[3]))' \
	"$st" "$PIDS_AT" "$MEM_AT"; then
	ok "status names the controllers in use: pids in $PIDS_AT, memory in $MEM_AT"
else
	not_ok "status names the controllers" "$(grep -A4 '"limits"' <<<"$st")"
fi

# ---- fork bomb ---------------------------------------------------------------
# Forks children that sleep until told, until fork fails or CAP is reached;
# prints "eagain N" or "cap N". Bounded: it never makes more than CAP.
cat >"$SH/bomb.py" <<'EOF'
import errno, os, sys, time
cap, hold = int(sys.argv[1]), float(sys.argv[2])
kids = []
res = None
while len(kids) < cap:
    try:
        pid = os.fork()
    except OSError as e:
        res = "eagain" if e.errno == errno.EAGAIN else "error %d" % e.errno
        break
    if pid == 0:
        time.sleep(hold)
        os._exit(0)
    kids.append(pid)
print(res or "cap", len(kids), flush=True)
for k in kids:
    os.waitpid(k, 0)
EOF
chmod 0644 "$SH/bomb.py"

base=$(setpriv --reuid "$TW_AGENT" --regid "$TW_AGENT" --init-groups $PY "$SH/bomb.py" 60 0.2 2>&1)
if [[ $base == "cap 60" ]]; then
	ok "without toolwall: the agent account forks 60 processes"
else
	skip "fork bomb" "the agent cannot fork 60 processes even outside toolwall: $base"
fi

rm -f "$SH/bomb.out" "$SH/other.out"
"$TW_BIN" exec channel:acme/tight --call-id lim-bomb -- \
	sh -c "$PY $SH/bomb.py 200 4 > $SH/bomb.out" 2>"$SH/bomb.err" &
bomb=$!
# The bomb is at its limit (and holds it for a few seconds) ...
tw_eventually grep -qs . "$SH/bomb.out"
calldir=$(ls -d "$(pids_dir acme/channels/tight)"/call-* 2>/dev/null | head -1)
if [[ -n $calldir && $(cat "$calldir/pids.max" 2>/dev/null) == 24 ]]; then
	ok "the call has its own pids cgroup with pids.max 24 ($calldir)"
else
	not_ok "the call's pids cgroup" "dir '$calldir' max '$(cat "$calldir/pids.max" 2>/dev/null)'"
fi
# ... while another call and the host still fork freely.
"$TW_BIN" exec workspace:acme --call-id lim-other -- \
	sh -c "$PY $SH/bomb.py 60 0.2 > $SH/other.out" 2>/dev/null
host=$($PY "$SH/bomb.py" 60 0.2 2>&1)
wait "$bomb"
rc=$?
read -r res n <"$SH/bomb.out"
if [[ $res == eagain ]] && ((n >= 10 && n < 24)); then
	ok "fork bomb in the call stops with EAGAIN after $n children (limit 24 with the shell and python)"
else
	not_ok "fork bomb stops at the limit" "$(cat "$SH/bomb.out")"
fi
if [[ $(cat "$SH/other.out") == "cap 60" && $host == "cap 60" ]]; then
	ok "meanwhile another call and the host fork 60 processes each"
else
	not_ok "other calls unaffected" "other '$(cat "$SH/other.out")' host '$host'"
fi
if ((rc == 0)); then
	ok "the bombed call still exits 0 (its own status)"
else
	not_ok "bombed call status" "rc $rc"
fi
if grep -q "reached its process limit (24)" "$SH/bomb.err"; then
	ok "exec summary says the call reached its process limit"
else
	not_ok "summary of the pids limit" "$(cat "$SH/bomb.err")"
fi
if tw_eventually $AC "$TW_LOG" lim-bomb event=limit action=fork limit=24 \
	context=channel:acme/tight requester=null "reason~process limit" >/dev/null; then
	ok "a limit record (action fork, limit 24) names the call"
else
	not_ok "limit record for the fork bomb" "$($AC "$TW_LOG" lim-bomb event=limit 2>&1 | tail -5)"
fi
if tw_eventually test ! -e "$calldir"; then
	ok "the call's pids cgroup is removed at call end"
else
	not_ok "pids cgroup removed" "$calldir still there"
fi
if $AC "$TW_LOG" lim-other --count 0 event=limit >/dev/null; then
	ok "the other call has no limit record"
else
	not_ok "no limit record for the other call"
fi

# ---- memory hog --------------------------------------------------------------
# Touches 1 MiB at a time up to CAP MiB; prints its progress.
cat >"$SH/hog.py" <<'EOF'
import sys
cap = int(sys.argv[1])
keep = []
for i in range(cap):
    keep.append(b"x" * (1 << 20))
    if i % 16 == 0:
        print("at", i, flush=True)
print("done", cap, flush=True)
EOF
chmod 0644 "$SH/hog.py"
base=$(setpriv --reuid "$TW_AGENT" --regid "$TW_AGENT" --init-groups $PY "$SH/hog.py" 256 2>&1 | tail -1)
if [[ $base == "done 256" ]]; then
	ok "without toolwall: the agent account fills 256 MiB"
else
	skip "memory hog" "256 MiB do not fit even outside toolwall: $base"
fi
"$TW_BIN" exec channel:acme/tight --call-id lim-hog -- $PY "$SH/hog.py" 256 \
	>"$SH/hog.out" 2>"$SH/hog.err"
rc=$?
if ((rc == 137)) && ! grep -q done "$SH/hog.out"; then
	ok "a memory hog in the call is killed (SIGKILL, status 137) before 256 MiB ($(tail -1 "$SH/hog.out"))"
else
	not_ok "memory hog killed at the limit" "rc $rc, $(tail -1 "$SH/hog.out")"
fi
if grep -q "reached its memory limit (96M)" "$SH/hog.err"; then
	ok "exec summary says the call reached its memory limit"
else
	not_ok "summary of the memory limit" "$(cat "$SH/hog.err")"
fi
if tw_eventually $AC "$TW_LOG" lim-hog event=limit action=memory limit=100663296 \
	"reason~OOM killer" >/dev/null; then
	ok "a limit record (action memory, limit 96M) names the call"
else
	not_ok "limit record for the memory hog" "$($AC "$TW_LOG" lim-hog event=limit 2>&1 | tail -5)"
fi
mem_dir() { if [[ $MEM_AT == cgroup2* ]]; then echo "$V2/toolwall/$1"; else echo "${MEM_AT#cgroup v1 }/toolwall/$1"; fi; }
if tw_eventually sh -c "! ls -d '$(mem_dir acme/channels/tight)'/call-* >/dev/null 2>&1"; then
	ok "no memory cgroup of an ended call is left ($(mem_dir acme/channels/tight))"
else
	not_ok "memory cgroups removed" "$(ls -d "$(mem_dir acme/channels/tight)"/call-*)"
fi
out=$("$TW_BIN" exec workspace:acme --call-id lim-hog-ok -- $PY "$SH/hog.py" 256 2>/dev/null | tail -1)
if [[ $out == "done 256" ]]; then
	ok "the same hog fits in the workspace's default 2G"
else
	not_ok "hog within the default limit" "$out"
fi

# ---- the init is created in its cgroup v2 ------------------------------------
# clone3(CLONE_INTO_CGROUP): no migration into the call's v2 cgroup (only
# the v1 limit cgroups of a hybrid layout are joined by cgroup.procs), and
# the command still runs in the call's cgroup with its limits.
strace -f -e trace=clone3,openat -o "$TW_WORK/clone.trace" \
	"$TW_BIN" exec workspace:acme --call-id lim-clone3 -- sh -c 'cat /proc/self/cgroup' >"$TW_WORK/clone.out" 2>&1
v2procs=$(grep -c "\"$V2/toolwall/.*/cgroup.procs\", O_WRONLY" "$TW_WORK/clone.trace")
if grep -qE 'clone3\(\{flags=[A-Z_|]*CLONE_INTO_CGROUP' "$TW_WORK/clone.trace" && ((v2procs == 0)) &&
	grep -q '^0::/toolwall/acme/workspace/call-' "$TW_WORK/clone.out"; then
	ok "the call's init is created in its cgroup v2 (clone3 CLONE_INTO_CGROUP, no cgroup.procs write)"
else
	not_ok "init created in its cgroup" "v2 cgroup.procs writes: $v2procs; $(grep -m2 'clone3\|cgroup.procs' "$TW_WORK/clone.trace"); $(head -3 "$TW_WORK/clone.out")"
fi
if [[ $PIDS_AT == "cgroup v1 "* ]]; then
	grep -q "^[0-9]*:pids:/toolwall/acme/workspace/call-" "$TW_WORK/clone.out" &&
		ok "and joins its v1 pids cgroup before the command runs" ||
		not_ok "v1 pids cgroup" "$(cat "$TW_WORK/clone.out")"
fi

# ---- no controller: calls are refused ----------------------------------------
# A daemon in a private mount namespace where the pids hierarchy is not
# mounted sees a host without the controller. Enforcement stays pinned
# while we swap daemons.
if [[ $PIDS_AT == cgroup2* ]]; then
	skip "no-controller refusal" "pids is a v2 controller here; cannot hide it"
else
	kill "$TW_DAEMON_PID"
	wait "$TW_DAEMON_PID" 2>/dev/null
	unshare -m --propagation private sh -c \
		"umount -l '${PIDS_AT#cgroup v1 }' && exec '$TW_BIN' daemon -p '$TW_POLICY' --audit-log '$TW_LOG'" \
		>>"$TW_WORK/daemon.out" 2>&1 {TW_LOCK_FD}>&- &
	TW_DAEMON_PID=$!
	tw_eventually "$TW_BIN" status >/dev/null 2>&1
	st=$("$TW_BIN" status 2>&1)
	err=$("$TW_BIN" exec workspace:acme --call-id lim-none -- true 2>&1)
	rc=$?
	if ((rc == 125)) && grep -q "cannot limit tool calls on this host: pids in none" <<<"$err"; then
		ok "without a pids controller the call is refused (125, says why)"
	else
		not_ok "refused without a controller" "rc $rc: $err"
	fi
	if grep -q "limits:     pids in none" <<<"$st"; then
		ok "status says pids has no controller and calls are refused"
	else
		not_ok "status without a controller" "$st"
	fi
fi

# ---- down removes the v1 trees ---------------------------------------------------
if [[ $PIDS_AT == cgroup2* && $MEM_AT == cgroup2* ]]; then
	skip "down removes v1 limit trees" "no v1 hierarchy in use"
else
	tw_down
	left=""
	for at in "$PIDS_AT" "$MEM_AT"; do
		[[ $at == "cgroup v1 "* && -e ${at#cgroup v1 }/toolwall ]] && left+=" ${at#cgroup v1 }/toolwall"
	done
	if [[ -z $left ]]; then
		ok "toolwall down removes its v1 limit trees"
	else
		not_ok "down removes v1 limit trees" "left:$left"
	fi
fi

tap_summary
