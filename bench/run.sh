#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: connect()+close() cost with and without toolwall, measured in
# one run (ratios, never absolute thresholds), at several rule counts in the
# context; the cost of a denied connect; policy compile-and-push time.
# Writes bench/results.json. QUICK=1 runs every figure at reduced size.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source tests/lib/netns.sh
source tests/lib/toolwall.sh

if [[ $(id -u) -ne 0 ]]; then
	echo "make bench: run as root" >&2
	exit 1
fi
QUICK=${QUICK:-}
ITERS=${ITERS:-$([[ -n $QUICK ]] && echo 3000 || echo 30000)}
ROUNDS=${ROUNDS:-$([[ -n $QUICK ]] && echo 3 || echo 7)}
RULES=${RULES:-$([[ -n $QUICK ]] && echo "10 1000" || echo "10 1000 10000 100000")}
PORT=18765
DENY_PORT=18766

gcc -O2 -o build/connect_bench bench/connect_bench.c -lpthread || exit 1
if [[ -e /sys/fs/bpf/toolwall ]]; then
	echo "make bench: toolwall enforcement is already in place; run 'toolwall down' first" >&2
	exit 1
fi
TW_WORK=$(mktemp -d /tmp/twbench.XXXXXX)
TW_POLICY=$TW_WORK/policy
TW_LOG=$TW_WORK/audit.jsonl
mkdir -p "$TW_POLICY"
tw_at_exit _bench_cleanup
_bench_cleanup() { tw_down; rm -rf "$TW_WORK"; }

# policy N: workspace "bench" whose baseline allows 127.0.0.1:PORT plus N-1
# filler /32 rules spread over 10.0.0.0/8.
policy()
{
	python3 - "$TW_POLICY/policy.json" "$1" "$PORT" <<'PY'
import json, sys
path, n, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fill = ["10.%d.%d.%d:443" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
        for i in range(1, n)]
json.dump([
    {"workspace": "bench", "agent": {"name": "bench", "user": "nobody"},
     "baseline": ["local"]},
    {"bundle": "local", "connect": ["127.0.0.1:%d" % port] + fill},
], open(path, "w"))
PY
}

CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/toolwall/bench/workspace
inside() { sh -c "echo \$\$ > $CG/cgroup.procs && exec \"\$@\"" sh "$@"; }
ns_per_op() { "$@" | awk '/ns_per_op/ { print $2 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

results=()
emit()
{ # bench variant rules value unit ratio
	results+=("{\"bench\":\"$1\",\"variant\":\"$2\",\"rules\":$3,\"value\":$4,\"unit\":\"$5\",\"ratio_to_baseline\":$6}")
	printf '%-22s %-9s %7s %12s %-6s %8s\n' "$1" "$2" "$3" "$4" "$5" "$6"
}

policy 10
tw_daemon_start || exit 1
printf '%-22s %-9s %7s %12s %-6s %8s\n' BENCH VARIANT RULES VALUE UNIT RATIO

for n in $RULES; do
	policy "$n"
	t0=$(date +%s%N)
	"$TW_BIN" reload >/dev/null || { echo "reload failed at $n rules" >&2; exit 1; }
	t1=$(date +%s%N)
	push_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	base=() tw=()
	for ((r = 0; r < ROUNDS; r++)); do
		base+=("$(ns_per_op build/connect_bench $PORT "$ITERS")")
		tw+=("$(ns_per_op inside build/connect_bench $PORT "$ITERS")")
	done
	b=$(printf '%s\n' "${base[@]}" | median)
	t=$(printf '%s\n' "${tw[@]}" | median)
	ratio=$(awk -v t="$t" -v b="$b" 'BEGIN { printf "%.3f", t / b }')
	emit connect_close none "$n" "$b" ns 1.000
	emit connect_close toolwall "$n" "$t" ns "$ratio"
	emit compile_push_reload toolwall "$n" "$push_ms" ms null
done

d=()
for ((r = 0; r < ROUNDS; r++)); do
	d+=("$(ns_per_op inside build/connect_bench $DENY_PORT "$ITERS" --expect-eperm)")
done
dn=$(printf '%s\n' "${d[@]}" | median)
ratio=$(awk -v t="$dn" -v b="$b" 'BEGIN { printf "%.3f", t / b }')
emit denied_connect toolwall "${RULES##* }" "$dn" ns "$ratio"

rss=$(awk '/VmRSS/ { print $2 }' /proc/"$TW_DAEMON_PID"/status)
emit daemon_rss toolwall "${RULES##* }" "$rss" KiB null

mkdir -p bench
(IFS=,; echo "[${results[*]}]") | python3 -m json.tool >bench/results.json
echo "wrote bench/results.json"
