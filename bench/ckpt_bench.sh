#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What signed checkpoints cost: records per second through the audit
# writer without a key, with --audit-key at the default interval (a
# checkpoint every 1000 records) and every 100 records, interleaved in one
# run (bench/ckpt_bench.c). Prints a table and writes
# bench/ckpt_results.json.
#
#   bash bench/ckpt_bench.sh [RECORDS] [ROUNDS]    (default 20000, 5)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
N=${1:-20000}
ROUNDS=${2:-5}
OUT=${CKPT_BENCH_OUT:-bench/ckpt_results.json}

if [[ $(id -u) -ne 0 ]]; then
	echo "ckpt_bench: run as root (the key must be root's, 0600)" >&2
	exit 1
fi
make --no-print-directory build/ckpt_bench >/dev/null || exit 1
dir=$(mktemp -d /tmp/twckpt.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
chmod 0700 "$dir"
build/ckpt_bench "$dir" "$N" "$ROUNDS" >"$OUT" || exit 1
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("%-16s %12s %8s  %s" % ("checkpoints", "records/s", "ratio", "min-max"))
for r in rows:
    if r["variant"] == "sign":
        print("one signature: %.1f us (%s)" % (r["value"], r["note"]))
        continue
    print("%-16s %12s %8.3f  %s" % (r["variant"], format(int(r["value"]), ","),
                                  r["ratio_to_baseline"], r["note"]))
PY
