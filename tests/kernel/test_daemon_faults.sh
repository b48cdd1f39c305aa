#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The daemon under faults.
#  - One daemon at a time: a second one exits 1 naming the first's pid and
#    touches nothing; the first keeps recording; once the first is killed
#    (-9, its lock is stale) a new one starts and re-adopts.
#  - `toolwall down` refuses while a call runs (exit 1, naming it) and
#    leaves everything in place; `down --kill` ends the call's processes
#    and only then removes enforcement: no call process ever runs outside
#    the toolwall cgroups.
#  - Fault injection: a seeded loop (TW_FAULT_SEED, TW_FAULT_ROUNDS, default
#    50) kills the daemon with SIGKILL at a random delay during a reload, a
#    call start or a burst of records with audit log rotation. After each
#    round: a new daemon re-adopts, an allowed and a denied connect get
#    their verdicts, `toolwall audit --verify` passes, and every denial the
#    test caused has exactly one record (none duplicated; fewer only with a
#    `lost` record that says so).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
P=$TW_PROBE
WS=workspace:acme
CGM=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG=$CGM/toolwall

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

# Without toolwall: the test hosts answer both destinations used below.
if [[ $("$P" tcp 10.20.1.10 5432) == OK && $("$P" tcp 10.50.1.10 80) == OK ]]; then
	ok "without toolwall: 10.20.1.10:5432 and 10.50.1.10:80 are reachable"
else
	not_ok "test hosts reachable"
	tap_summary
	exit 1
fi
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
st() { "$TW_BIN" status -j | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }

# ---- one daemon at a time ------------------------------------------------------
first=$TW_DAEMON_PID
out=$("$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_WORK/second.jsonl" 2>&1)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "another toolwall daemon (pid $first) is running" <<<"$out" &&
	[[ ! -e $TW_WORK/second.jsonl ]]; then
	ok "a second daemon exits 1 naming the first's pid, and opens nothing"
else
	not_ok "second daemon refused" "exit $rc: $out"
fi
out=$("$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_LOG" 2>&1)
rc=$?
if [[ $rc -eq 1 ]] && kill -0 "$first" 2>/dev/null && [[ $(st 's["daemon"]["pid"]') == "$first" ]] &&
	"$TW_BIN" audit --log "$TW_LOG" --verify >/dev/null 2>&1; then
	ok "a second daemon on the same log: refused; the first still serves and the chain verifies"
else
	not_ok "second daemon, same log" "exit $rc: $out"
fi
expect_probe "the first daemon still enforces" "ERR EPERM" -- \
	twx $WS f-first "$P" tcp 10.50.1.10 80
if tw_eventually $AC "$TW_LOG" f-first event=deny dst=10.50.1.10 >/dev/null; then
	ok "the first daemon keeps recording"
else
	not_ok "first daemon records"
fi
tw_daemon_kill9
if tw_daemon_start && [[ $TW_DAEMON_PID != "$first" ]] &&
	[[ $(st 's["daemon"]["adopted"]') == True ]] &&
	[[ $(head -1 /run/toolwall/daemon.lock) == "$TW_DAEMON_PID" ]]; then
	ok "after kill -9 the stale lock does not block: a new daemon starts and re-adopts"
else
	not_ok "restart after kill -9" "$(tail -3 "$TW_WORK/daemon.out")"
fi
expect_probe "the new daemon enforces" "ERR EPERM" -- twx $WS f-second "$P" tcp 10.50.1.10 80

# ---- killed after an event's record, before the ring let the event go ---------
# The daemon dies right after writing its first denial's record; the event is
# still at the head of the pinned ring. The next daemon must not record it
# again (nor lose the denial that follows).
count_port() {
	"$TW_BIN" audit --log "$TW_LOG" -j | python3 -c '
import json, sys
print(sum(json.loads(l).get("count", 1) for l in sys.stdin
          if json.loads(l).get("event") == "deny" and json.loads(l).get("port") == int(sys.argv[1])))' "$1"
}
port_has() { [[ $(count_port "$1") == "$2" ]]; }
tw_daemon_kill9
if TOOLWALL_TEST_KILL_AFTER_EVENTS=1 tw_daemon_start; then
	killed=$TW_DAEMON_PID
	twx $WS f-inflight "$P" tcp 10.50.1.10 81 >/dev/null 2>&1
	for _ in $(seq 50); do kill -0 "$killed" 2>/dev/null || break; sleep 0.1; done
	wait "$killed" 2>/dev/null
	rc=$?
	TW_DAEMON_PID=""
	first_count=$(count_port 81)
	tw_daemon_start
	expect_probe "after the in-flight kill, a new daemon enforces" "ERR EPERM" -- \
		twx $WS f-after-inflight "$P" tcp 10.50.1.10 82
	tw_eventually port_has 82 1
	if [[ $rc -eq 137 && $first_count == 1 && $(count_port 81) == 1 && $(count_port 82) == 1 ]] &&
		"$TW_BIN" audit --log "$TW_LOG" --verify >/dev/null 2>&1; then
		ok "killed after recording an event the ring still held: the next daemon records it once, and the next denial too"
	else
		not_ok "in-flight event after kill" "daemon exit $rc; port 81: $first_count before restart, $(count_port 81) after; port 82: $(count_port 82)"
	fi
else
	not_ok "daemon starts with the in-flight fault point"
fi

# ---- down refuses while a call runs; --kill ends it first ---------------------------
rm -f "$TW_WORK/shared/long.pid"
twx $WS f-long sh -c "echo \$\$ > $TW_WORK/shared/long.pid; exec sleep 60" >/dev/null 2>&1 &
long_exec=$!
tw_eventually test -s "$TW_WORK/shared/long.pid"
long=$(cat "$TW_WORK/shared/long.pid" 2>/dev/null)
# The pid the call wrote is in its own PID namespace: find the host's.
host_long=$(for f in "$CG"/acme/workspace/call-*/cgroup.procs; do cat "$f"; done 2>/dev/null |
	while read -r p; do [[ $(cat /proc/$p/comm 2>/dev/null) == sleep ]] && echo "$p"; done | head -1)
out=$("$TW_BIN" down 2>&1)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "call f-long in $WS" <<<"$out" && grep -q "pid $host_long (sleep)" <<<"$out" &&
	grep -q -- "--kill" <<<"$out"; then
	ok "down refuses while a call runs: exit 1, names the call and its process"
else
	not_ok "down refuses" "exit $rc (call pid $long, host $host_long): $out"
fi
if [[ -n $host_long ]] && kill -0 "$host_long" 2>/dev/null && kill -0 "$TW_DAEMON_PID" 2>/dev/null &&
	[[ -e /sys/fs/bpf/toolwall/links/tw_connect4 ]] &&
	[[ $("$P" tcp 10.50.1.10 80) == OK ]] &&
	[[ $(twx $WS f-still "$P" tcp 10.50.1.10 80 2>/dev/null) == "ERR EPERM" ]]; then
	ok "the refused down changed nothing: call, daemon, pins and verdicts stay"
else
	not_ok "after refused down"
fi
out=$("$TW_BIN" down --kill 2>&1)
rc=$?
wait "$long_exec" 2>/dev/null
if [[ $rc -eq 0 ]] && grep -q "ended [0-9]* process" <<<"$out" && ! kill -0 "$host_long" 2>/dev/null &&
	[[ ! -e /sys/fs/bpf/toolwall && ! -e $CG ]]; then
	ok "down --kill ends the call's process, then removes pins and cgroups"
else
	not_ok "down --kill" "exit $rc: $out"
fi
# Nothing of the call survives anywhere (it was never moved to the root).
if ! grep -qx "$host_long" "$CGM/cgroup.procs" 2>/dev/null && ! kill -0 "$host_long" 2>/dev/null; then
	ok "the call's process was ended, never moved out of the tree unconfined"
else
	not_ok "call process after down --kill"
fi
TW_DAEMON_PID=""

# ---- fault injection ----------------------------------------------------------------
SEED=${TW_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
ROUNDS=${TW_FAULT_ROUNDS:-50}
RANDOM=$SEED
echo "# fault injection: seed $SEED, $ROUNDS rounds (TW_FAULT_SEED=$SEED to replay)"
# Rotation every few rounds; every segment kept, to count records in all.
DARGS=(--audit-max-size 24K --audit-keep 10000)
cp -r "$TW_POLICY" "$TW_WORK/policy-a"
cp -r "$TW_POLICY" "$TW_WORK/policy-b"
python3 - "$TW_WORK/policy-b/bundles/issue-tracker.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["connect"] += ["10.60.%d.0/24:%d" % (i, 1000 + i) for i in range(60)]
json.dump(b, open(sys.argv[1], "w"))
PY
tw_daemon_start "${DARGS[@]}" || { not_ok "daemon starts for the fault loop"; tap_summary; exit 1; }
EXPECT=$TW_WORK/expected # "PORT DENIED(0/1)" per denial the test caused
: >"$EXPECT"
bad_rounds=0 kills=(0 0 0) t0=$SECONDS
phases=(reload call-start rotation)

round_check()
{
	local i=$1 vport=$2 out
	# The restarted daemon re-adopts what the killed one pinned.
	[[ $(st 's["daemon"]["adopted"]') == True ]] || { echo "not re-adopted"; return 1; }
	out=$(twx $WS "f-$i-v" sh -c "$P tcp 10.20.1.10 5432; $P tcp 10.50.1.10 $vport" 2>/dev/null |
		tr '\n' ' ')
	[[ $out == "OK ERR EPERM " ]] || { echo "verdicts: $out"; return 1; }
	echo "$vport 1" >>"$EXPECT"
	"$TW_BIN" audit --log "$TW_LOG" --verify >"$TW_WORK/verify.out" 2>&1 ||
		{ echo "verify: $(tail -3 "$TW_WORK/verify.out")"; return 1; }
	# Every denial caused so far: exactly its records, or fewer with a
	# `lost` record; never more.
	"$TW_BIN" audit --log "$TW_LOG" -j | python3 -c '
import collections, json, sys
exp = collections.Counter()
for line in open(sys.argv[1]):
    port, n = line.split()
    exp[int(port)] += int(n)
got = collections.Counter()
lost = 0
for line in sys.stdin:
    r = json.loads(line)
    if r.get("event") == "lost":
        lost += r.get("count", 1)
    elif r.get("event") == "deny" and r.get("dst") == "10.50.1.10" and r.get("port", 0) >= 20000:
        got[r["port"]] += r.get("count", 1)
dup = [p for p in got if got[p] > exp[p]]
missing = sum(exp[p] - got[p] for p in exp if got[p] < exp[p])
if dup:
    sys.exit("duplicated or unexpected records for ports %s" % dup[:5])
if missing > lost:
    sys.exit("%d denials without a record and only %d lost" % (missing, lost))
' "$EXPECT" || return 1
}

for ((i = 1; i <= ROUNDS; i++)); do
	ph=$((i % 3))
	delay=$(printf '0.%03d' $((RANDOM % 400)))
	port=$((20000 + i * 100))
	case $ph in
	0) # reload: alternate between two policies
		if ((i % 2)); then src=policy-b; else src=policy-a; fi
		rm -rf "$TW_POLICY" && cp -r "$TW_WORK/$src" "$TW_POLICY"
		"$TW_BIN" reload >/dev/null 2>&1 &
		bg=$!
		;;
	1) # call start (and its denial, if it got that far)
		: >"$TW_WORK/k.out"
		twx $WS "f-$i-k" "$P" tcp 10.50.1.10 "$port" >"$TW_WORK/k.out" 2>/dev/null &
		bg=$!
		;;
	2) # a burst of distinct denials: records, rotations
		: >"$TW_WORK/k.out"
		twx $WS "f-$i-r" sh -c "for p in \$(seq $port $((port + 29))); do
			$P tcp 10.50.1.10 \$p | sed \"s/^/\$p /\"; done" >"$TW_WORK/k.out" 2>/dev/null &
		bg=$!
		;;
	esac
	# The burst: kill once it is under way (records being written).
	((ph == 2)) && for _ in $(seq 30); do [[ -s $TW_WORK/k.out ]] && break; sleep 0.1; done
	sleep "$delay"
	tw_daemon_kill9
	kills[ph]=$((kills[ph] + 1))
	if ! tw_daemon_start "${DARGS[@]}" >/dev/null 2>&1; then
		not_ok "round $i (${phases[ph]}, kill after ${delay}s): restart" "$(tail -3 "$TW_WORK/daemon.out")"
		bad_rounds=$((bad_rounds + 1))
		break
	fi
	# The interrupted client ends (refused, or done); its denials count.
	wait "$bg" 2>/dev/null
	case $ph in
	1) [[ $(cat "$TW_WORK/k.out") == "ERR EPERM" ]] && echo "$port 1" >>"$EXPECT" ;;
	2) awk '$2 == "ERR" && $3 == "EPERM" { print $1, 1 }' "$TW_WORK/k.out" >>"$EXPECT" ;;
	esac
	if ! why=$(round_check "$i" $((port + 99)) 2>&1); then
		not_ok "round $i (${phases[ph]}, kill after ${delay}s)" "$why"
		bad_rounds=$((bad_rounds + 1))
		((bad_rounds >= 3)) && break
	fi
done
segs=$(find "$(dirname "$TW_LOG")" -name "$(basename "$TW_LOG").*" | wc -l)
caused=$(awk '{ n += $2 } END { print n + 0 }' "$EXPECT")
if ((bad_rounds == 0 && i > ROUNDS)); then
	ok "fault loop: $ROUNDS rounds (seed $SEED; killed in reload ${kills[0]}, call start ${kills[1]}, rotation ${kills[2]}) in $((SECONDS - t0))s: re-adopted, verdicts right, chain verifies, $caused denials each recorded once"
else
	not_ok "fault loop (seed $SEED)" "$bad_rounds bad rounds, stopped at round $i"
fi
if ((segs >= 3)); then
	ok "the loop rotated the log ($segs segments) and --verify covered them all"
else
	not_ok "rotation during the loop" "$segs segments"
fi

tap_summary
