#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Audit throughput: denial events per second that reach the audit log with
# zero unaccounted loss, against the raw ring-buffer drain rate measured in
# the same run under the same load.
#
#   bash bench/audit_bench.sh [SECONDS] [PROBES]     (root; default 5 s, nproc probes)
#
# Both phases run PROBES copies of `twprobe tcp-loop` (connect()+close() to a
# denied address as fast as they can) in one context of a one-bundle policy,
# for SECONDS:
#   audit: the daemon drains the ring buffer, judges each event, aggregates,
#          seals and writes records (hash chain, rotation, fsync-free appends);
#          the log's counts + lost counts must equal the kernel's denied
#          counter delta exactly ("unaccounted" = 0), and "lost" says how many
#          the kernel ring buffer could not hold;
#   raw:   no daemon; build/audit_drain consumes the same pinned ring buffer
#          with a callback that only counts.
# For each: events/s offered (kernel denials), events/s drained (recorded),
# lost, and consumer CPU-seconds, hence the consumer's capacity in events per
# CPU-second. Prints a table and writes bench/audit_results.json.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source tests/lib/netns.sh
source tests/lib/toolwall.sh

SECS=${1:-5}
PROBES=${2:-$(nproc)}
DENY_PORT=18766
OUT=${AUDIT_BENCH_OUT:-bench/audit_results.json}

if [[ $(id -u) -ne 0 ]]; then
	echo "audit_bench: run as root" >&2
	exit 1
fi
make --no-print-directory toolwall ktest >/dev/null || exit 1
gcc -O2 -Wall -Wextra -Werror -o build/audit_drain bench/audit_drain.c -lbpf || exit 1
tw_lock || exit 1
if [[ -e /sys/fs/bpf/toolwall ]]; then
	echo "audit_bench: toolwall enforcement is already in place; run 'toolwall down' first" >&2
	exit 1
fi
TW_WORK=$(mktemp -d /tmp/twaudit.XXXXXX)
TW_POLICY=$TW_WORK/policy
TW_LOG=$TW_WORK/audit.jsonl
mkdir -p "$TW_POLICY"
_bench_cleanup() { tw_down; rm -rf "$TW_WORK"; }
tw_at_exit _bench_cleanup
cat >"$TW_POLICY/policy.json" <<'JSON'
[ { "workspace": "bench", "agent": { "name": "bench", "user": "nobody" },
    "baseline": ["local"] },
  { "bundle": "local", "connect": ["127.0.0.1:18765"] } ]
JSON

tw_daemon_start || exit 1
cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/toolwall/bench/workspace
[[ -d $cg ]] || { echo "audit_bench: no context cgroup $cg" >&2; exit 1; }

counter() { "$TW_BIN" status -j | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"; }
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# flood: PROBES root processes placed straight into the context's cgroup
# (no daemon needed for that), each a connect loop for SECS.
flood()
{
	local pids=() i
	for ((i = 0; i < PROBES; i++)); do
		sh -c "echo \$\$ > $cg/cgroup.procs && exec $TW_PROBE tcp-loop 127.0.0.1 $DENY_PORT $SECS" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# ---- phase 1: the audit path -----------------------------------------------------
hz=$(getconf CLK_TCK)
d0=$(counter denied)
l0=$(counter events_lost)
c0=$(cpu_of "$TW_DAEMON_PID")
flood
# let the daemon finish: aggregates of exited processes, lost accounting
for _ in $(seq 30); do
	sleep 0.2
	d1=$(counter denied)
	acc=$("$TW_BIN" audit --log "$TW_LOG" -j | python3 tests/lib/audit_sums.py)
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["denied"] + s["lost"] == int(sys.argv[2]) - int(sys.argv[3]) else 1)' \
		"$acc" "$d1" "$d0" && break
done
c1=$(cpu_of "$TW_DAEMON_PID")
l1=$(counter events_lost)
daemon_cpu=$(python3 -c "print(($c1 - $c0) / $hz)")

# ---- phase 2: raw drain, same load -------------------------------------------------
kill "$TW_DAEMON_PID"
wait "$TW_DAEMON_PID" 2>/dev/null
TW_DAEMON_PID=""
st0=$(bpftool -j map dump pinned /sys/fs/bpf/toolwall/maps/tw_stats)
build/audit_drain $((SECS + 2)) >"$TW_WORK/raw.json" &
dpid=$!
sleep 0.5
flood
wait "$dpid"
st1=$(bpftool -j map dump pinned /sys/fs/bpf/toolwall/maps/tw_stats)

python3 - "$acc" "$d0" "$d1" "$l0" "$l1" "$daemon_cpu" "$SECS" "$PROBES" "$TW_WORK/raw.json" "$st0" "$st1" "$OUT" <<'PY'
import json, sys
acc = json.loads(sys.argv[1])
d0, d1, l0, l1 = (int(x) for x in sys.argv[2:6])
cpu, secs, probes = float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
raw = json.load(open(sys.argv[9]))

def stat(dump, idx):
    total = 0
    for e in json.loads(dump):
        k = e["key"]
        k = k if isinstance(k, int) else int(k[0], 16)
        if k != idx:
            continue
        for v in e.get("values", []):
            val = v["value"]
            total += val if isinstance(val, int) else int.from_bytes(bytes(int(b, 16) for b in val), "little")
    return total

DENIED, LOST = 1, 4
rd = stat(sys.argv[11], DENIED) - stat(sys.argv[10], DENIED)
rl = stat(sys.argv[11], LOST) - stat(sys.argv[10], LOST)
delta = d1 - d0
res = {
    "seconds": secs, "probes": probes,
    "audit": {
        "offered_per_s": round(delta / secs),
        "recorded_per_s": round(acc["denied"] / secs),
        "lost_kernel": l1 - l0, "lost_total": acc["lost"],
        "unaccounted": delta - acc["denied"] - acc["lost"],
        "records": acc["records"], "consumer_cpu_s": round(cpu, 3),
        "events_per_cpu_s": round(acc["denied"] / cpu) if cpu > 0 else None,
    },
    "raw": {
        "offered_per_s": round(rd / secs),
        "drained_per_s": round(raw["events"] / secs),
        "lost_kernel": rl, "consumer_cpu_s": raw["cpu_s"],
        "events_per_cpu_s": round(raw["events"] / raw["cpu_s"]) if raw["cpu_s"] > 0 else None,
    },
}
a, r = res["audit"], res["raw"]
print("%-6s %14s %14s %10s %12s %10s %16s" % ("", "offered/s", "recorded/s", "lost", "unaccounted", "cpu s", "events/cpu-s"))
print("%-6s %14d %14d %10d %12d %10.2f %16s" % ("audit", a["offered_per_s"], a["recorded_per_s"], a["lost_total"],
      a["unaccounted"], a["consumer_cpu_s"], a["events_per_cpu_s"]))
print("%-6s %14d %14d %10d %12s %10.2f %16s" % ("raw", r["offered_per_s"], r["drained_per_s"], r["lost_kernel"], "-",
      r["consumer_cpu_s"], r["events_per_cpu_s"]))
print("audit log: %d records for %d events" % (a["records"], acc["denied"]))
json.dump(res, open(sys.argv[12], "w"), indent=2)
sys.exit(0 if a["unaccounted"] == 0 else 1)
PY
