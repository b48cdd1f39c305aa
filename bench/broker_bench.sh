#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The credential broker's cost (issue 12, point 8), in one run: curl to the
# test bed's HTTPS echo service (tests/lib/brokered.sh, in its test network
# namespace) directly over TLS from the host, and the same curl inside a
# tool call, where the kernel redirects the connection to the daemon's
# broker (TLS in, placeholder swapped, TLS out to the same service).
#   latency   N requests on one kept-alive connection, per-request time
#             (curl's time_total): p50 and p99; the broker's added p50
#   bulk      a BIG-byte download and upload: throughput, broker / direct
# Medians over ROUNDS alternating rounds. Writes bench/broker_results.json.
# Targets: added p50 <= 300 us, bulk >= 0.7x direct. QUICK=1: reduced.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
source tests/lib/brokered.sh

[[ $(id -u) -eq 0 ]] || { echo "broker_bench: run as root" >&2; exit 1; }
QUICK=${QUICK:-}
[[ $QUICK == 0 ]] && QUICK=
N=${N:-$([[ -n $QUICK ]] && echo 300 || echo 2000)}
BIG=${BIG:-$([[ -n $QUICK ]] && echo 50000000 || echo 200000000)}
ROUNDS=${ROUNDS:-$([[ -n $QUICK ]] && echo 1 || echo 3)}

bk_env_up >/dev/null || { echo "broker_bench: the test bed did not come up" >&2; exit 1; }
T=$TW_WORK
URL=https://$SVC4:$PORT
truncate -s "$BIG" "$T/shared/up.bin"
chmod 0644 "$T/shared/up.bin"

# lat: one time_total (seconds) per request, one kept-alive connection
lat_direct() { curl -sS --cacert "$T/testca.pem" -o /dev/null -w '%{time_total}\n' "$URL/l[1-$N]"; }
lat_broker() { twx $WS bench-lat sh -c "curl -sS -o /dev/null -w '%{time_total}\n' -H \"Authorization: Bearer \$TRACKER_TOKEN\" '$URL/l[1-$N]'" 2>/dev/null; }
down_direct() { curl -sS --cacert "$T/testca.pem" -o /dev/null -w '%{speed_download}' "$URL/big?n=$BIG"; }
down_broker() { twx $WS bench-down sh -c "curl -sS -o /dev/null -w '%{speed_download}' -H \"Authorization: Bearer \$TRACKER_TOKEN\" '$URL/big?n=$BIG'" 2>/dev/null; }
up_direct() { curl -sS --cacert "$T/testca.pem" -o /dev/null -w '%{speed_upload}' -T "$T/shared/up.bin" "$URL/up"; }
up_broker() { twx $WS bench-up sh -c "curl -sS -o /dev/null -w '%{speed_upload}' -T $T/shared/up.bin -H \"Authorization: Bearer \$TRACKER_TOKEN\" $URL/up" 2>/dev/null; }

for ((r = 0; r < ROUNDS; r++)); do
	lat_direct >>"$T/lat.direct"
	lat_broker >>"$T/lat.broker"
	echo "$(down_direct)" >>"$T/down.direct"
	echo "$(down_broker)" >>"$T/down.broker"
	echo "$(up_direct)" >>"$T/up.direct"
	echo "$(up_broker)" >>"$T/up.broker"
done
rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$(bk pid)/status")
python3 - "$T" "$N" "$ROUNDS" "$BIG" "$rss" <<'PY' | tee bench/broker_results.txt
import json, statistics, sys
T, n, rounds, big, rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def nums(name):
    return [float(x) for x in open("%s/%s" % (T, name)).read().split()]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
rows = []
def row(bench, variant, value, unit, base, note=""):
    rows.append({"bench": bench, "variant": variant, "rules": None, "value": round(value, 1),
                 "unit": unit, "ratio_to_baseline": round(value / base, 3), "note": note})
ld, lb = nums("lat.direct"), nums("lat.broker")
for p in (50, 99):
    d, b = pct(ld, p) * 1e6, pct(lb, p) * 1e6
    row("broker_p%d" % p, "direct", d, "us", d, "%d requests, one connection" % len(ld))
    row("broker_p%d" % p, "broker", b, "us", d, "added %.0f us" % (b - d))
for what in ("down", "up"):
    d = statistics.median(nums(what + ".direct")) * 8 / 1e6
    b = statistics.median(nums(what + ".broker")) * 8 / 1e6
    row("broker_bulk_" + what, "direct", d, "Mbit/s", d, "%d bytes, median of %d" % (big, rounds))
    row("broker_bulk_" + what, "broker", b, "Mbit/s", d, "broker VmHWM %d kB" % rss)
json.dump(rows, open("bench/broker_results.json", "w"), indent=1)
print("%-18s %-8s %12s %-7s %7s  %s" % ("BENCH", "VARIANT", "VALUE", "UNIT", "RATIO", "NOTE"))
for r in rows:
    print("%-18s %-8s %12.1f %-7s %7.3f  %s" % (r["bench"], r["variant"], r["value"], r["unit"],
                                               r["ratio_to_baseline"], r["note"]))
added = rows[1]["value"] - rows[0]["value"]
bulk = min(rows[5]["ratio_to_baseline"], rows[7]["ratio_to_baseline"])
print("targets: added p50 %.0f us (<= 300: %s); bulk %.2fx direct (>= 0.7: %s)"
      % (added, "met" if added <= 300 else "MISSED", bulk, "met" if bulk >= 0.7 else "MISSED"))
PY
rm -f bench/broker_results.txt
echo "wrote bench/broker_results.json"
