#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A one-context denial flood: what the daemon writes and what it costs, with
# each context's event budget in the kernel (the default) and without it
# (--audit-budget 0), against the idle daemon, all in one run.
#
#   bash bench/flood_bench.sh [SECONDS] [PROBES]   (root; default 10 s, 2 probes)
#
# Each flood phase runs PROBES copies of `twprobe tcp-sweep` (connect() to a
# denied address, the port moving on at every try, so the daemon's
# aggregation cannot fold them) in one context for SECONDS. Per phase:
# denials/s (the kernel's counter), records/s written, lost/s (events
# reported in `lost` records), unaccounted (must be 0), the log's growth in
# bytes/s, daemon CPU (utime+stime from /proc/PID/stat) in CPU-seconds per
# second, and how long a `toolwall reload` takes in the middle of it.
# Prints a table and writes bench/flood_results.json.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source tests/lib/netns.sh
source tests/lib/toolwall.sh

SECS=${1:-10}
PROBES=${2:-2}
OUT=${FLOOD_BENCH_OUT:-bench/flood_results.json}

if [[ $(id -u) -ne 0 ]]; then
	echo "flood_bench: run as root" >&2
	exit 1
fi
make --no-print-directory toolwall ktest >/dev/null || exit 1
tw_lock || exit 1
if [[ -e /sys/fs/bpf/toolwall ]]; then
	echo "flood_bench: toolwall enforcement is already in place; run 'toolwall down' first" >&2
	exit 1
fi
TW_WORK=$(mktemp -d /tmp/twflood.XXXXXX)
TW_POLICY=$TW_WORK/policy
mkdir -p "$TW_POLICY"
_bench_cleanup() { tw_down; rm -rf "$TW_WORK"; }
tw_at_exit _bench_cleanup
cat >"$TW_POLICY/policy.json" <<'JSON'
[ { "workspace": "bench", "agent": { "name": "bench", "user": "nobody" },
    "baseline": ["local"] },
  { "bundle": "local", "connect": ["127.0.0.1:18765"] } ]
JSON

hz=$(getconf CLK_TCK)
counter() { "$TW_BIN" status -j | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"; }
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sums() { "$TW_BIN" audit --log "$TW_LOG" -j | python3 tests/lib/audit_sums.py; }

# phase NAME [DAEMON ARGS]: a fresh log and daemon; PROBES flooders (none
# for "idle") for SECS, a reload in the middle; one JSON line of results.
phase()
{
	local name=$1 cg pids=() i d0 d1 c0 c1 s0 s1 b0 b1 r0 r1 t0 t1
	shift
	TW_LOG=$TW_WORK/$name.jsonl
	tw_daemon_start "$@" >/dev/null || return 1
	cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/toolwall/bench/workspace
	sleep 1
	d0=$(counter denied)
	s0=$(sums)
	b0=$(stat -c %s "$TW_LOG")
	c0=$(cpu_of "$TW_DAEMON_PID")
	t0=$(date +%s%N)
	if [[ $name != idle ]]; then
		for ((i = 0; i < PROBES; i++)); do
			sh -c "echo \$\$ > $cg/cgroup.procs && exec $TW_PROBE tcp-sweep 127.0.0.2 $((1 + i * 30000)) $SECS" >/dev/null &
			pids+=($!)
		done
	fi
	sleep "$(python3 -c "print($SECS / 2)")"
	r0=$(date +%s%N)
	"$TW_BIN" reload >/dev/null
	r1=$(date +%s%N)
	if ((${#pids[@]})); then wait "${pids[@]}"; else sleep "$(python3 -c "print($SECS / 2)")"; fi
	t1=$(date +%s%N)
	c1=$(cpu_of "$TW_DAEMON_PID")
	# the records of what was queued, and the lost records, follow within a tick or two
	for _ in $(seq 50); do
		sleep 0.2
		d1=$(counter denied)
		s1=$(sums)
		python3 -c 'import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); sys.exit(0 if a["denied"]-b["denied"]+a["lost"]-b["lost"] == int(sys.argv[3])-int(sys.argv[4]) else 1)' \
			"$s1" "$s0" "$d1" "$d0" && break
	done
	b1=$(stat -c %s "$TW_LOG")
	kill "$TW_DAEMON_PID"
	wait "$TW_DAEMON_PID" 2>/dev/null
	TW_DAEMON_PID=""
	python3 - "$name" "$s0" "$s1" "$d0" "$d1" "$b0" "$b1" "$c0" "$c1" "$hz" "$t0" "$t1" "$r0" "$r1" <<'PY'
import json, sys
name = sys.argv[1]
s0, s1 = json.loads(sys.argv[2]), json.loads(sys.argv[3])
d0, d1, b0, b1, c0, c1, hz, t0, t1, r0, r1 = (float(x) for x in sys.argv[4:15])
secs = (t1 - t0) / 1e9
den = d1 - d0
rec = s1["denied"] - s0["denied"]
lost = s1["lost"] - s0["lost"]
print(json.dumps({"phase": name, "seconds": round(secs, 2),
    "denials_per_s": round(den / secs), "records_per_s": round((s1["records"] - s0["records"]) / secs),
    "recorded_denials_per_s": round(rec / secs), "lost_per_s": round(lost / secs),
    "unaccounted": int(den - rec - lost), "log_bytes_per_s": round((b1 - b0) / secs),
    "daemon_cpu": round((c1 - c0) / hz / secs, 3), "reload_ms": round((r1 - r0) / 1e6, 1)}))
PY
}

rows=()
for p in idle budget no-budget; do
	row=$(phase "$p" $([[ $p == no-budget ]] && echo --audit-budget 0)) || exit 1
	rows+=("$row")
done
printf '%s\n' "${rows[@]}" >"$TW_WORK/rows.jsonl"
python3 - "$OUT" "$SECS" "$PROBES" "$TW_WORK/rows.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
cols = ["denials_per_s", "records_per_s", "lost_per_s", "unaccounted", "log_bytes_per_s", "daemon_cpu", "reload_ms"]
print("%-10s" % "phase" + "".join("%17s" % c for c in cols))
for r in rows:
    print("%-10s" % r["phase"] + "".join("%17s" % r[c] for c in cols))
json.dump({"seconds": float(sys.argv[2]), "probes": int(sys.argv[3]), "phases": rows},
          open(sys.argv[1], "w"), indent=2)
sys.exit(0 if all(r["unaccounted"] == 0 for r in rows) else 1)
PY
