#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Launch overhead of a tool call: hyperfine (-N, no shell) medians of
# /bin/true, of `toolwall exec workspace:acme -- /bin/true` as root, and of
# the same as a member of the launcher group (through the launch socket and
# the daemon's supervisor), each beside a /bin/true measured in the same
# hyperfine run. Writes bench/launch_results.json; the last line says
# whether root's added time meets the target (<= 2 ms).
#
#   RUNS=40 (QUICK=1: 10)   runs per command, after 3 warm-ups
#   BASE_BIN=PATH           also time PATH's root exec in the root run (another
#                           build of toolwall, say main's: before and after)
#
# Root only. Test accounts, a launcher group and the reference policy of the
# kernel tests (tests/lib/toolwall.sh), all removed at exit.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
source tests/lib/netns.sh
source tests/lib/toolwall.sh

[[ $(id -u) -eq 0 ]] || { echo "launch_bench: run as root" >&2; exit 1; }
command -v hyperfine >/dev/null ||
	{ echo "launch_bench: hyperfine is not installed (scripts/deps.sh bench)" >&2; exit 1; }
QUICK=${QUICK:-}
[[ $QUICK == 0 ]] && QUICK=
RUNS=${RUNS:-$([[ -n $QUICK ]] && echo 10 || echo 40)}
WS=workspace:acme

tw_setup_host || exit 1
tw_launchers twlb || exit 1
tw_daemon_start --launch-group "$TW_LG" || exit 1
HF=$TW_WORK/hf
mkdir -m 0777 "$HF"

# Each command must work before it is timed: a refused call is fast.
"$TW_BIN" exec -q $WS -- /bin/true ||
	{ echo "launch_bench: root's exec fails" >&2; exit 1; }
(cd "$HF" && setpriv --reuid "$TW_MEMBER" --regid "$TW_MEMBER" --init-groups -- \
	"$TW_BIN" exec -q $WS -- /bin/true) ||
	{ echo "launch_bench: the launcher's exec fails" >&2; exit 1; }

# hyperfine as USER (root: "") over /bin/true and CMD: "median min max" of
# each, in ms, one line per command.
timed()
{
	local user=$1 out=$HF/$2.json log=$HF/$2.out
	shift 2
	local as=()
	[[ -n $user ]] && as=(setpriv --reuid "$user" --regid "$user" --init-groups --)
	local extra=()
	[[ -z $user && -n ${BASE_BIN:-} ]] && extra=(-n base "${*/#$TW_BIN/$BASE_BIN}")
	(cd "$HF" && "${as[@]}" hyperfine -N --warmup 3 --runs "$RUNS" --style none \
		--export-json "$out" -n none /bin/true -n tw "$*" "${extra[@]}") >"$log" 2>&1 ||
		{ echo "launch_bench: hyperfine failed ($*):" >&2; tail -5 "$log" >&2; return 1; }
	python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], "%.3f %.3f %.3f" % tuple(r[k] * 1e3 for k in ("median", "min", "max")))
' "$out"
}

R=$(timed "" root "$TW_BIN exec $WS -q --call-id bench-root -- /bin/true") || exit 1
S=$(timed "$TW_MEMBER" socket "$TW_BIN exec $WS -q --call-id bench-sock -- /bin/true") || exit 1
python3 - "$R" "$S" <<'PY'
import json, sys
rows = []
for variant, txt in (("root", sys.argv[1]), ("socket", sys.argv[2])):
    got = {l.split()[0]: list(map(float, l.split()[1:])) for l in txt.splitlines()}
    base, tw = got["none"], got["tw"]
    if "base" in got:
        b = got["base"]
        print("launch_bench: BASE_BIN's root exec in the same run: median %.3f ms "
              "(+%.3f over /bin/true; min %.3f max %.3f)" % (b[0], b[0] - base[0], b[1], b[2]))
    rows.append({"bench": "launch", "variant": "none", "via": variant,
                 "value": base[0], "unit": "ms", "ratio_to_baseline": 1.0,
                 "note": "min %.3f max %.3f" % (base[1], base[2])})
    rows.append({"bench": "launch", "variant": "toolwall", "via": variant,
                 "value": tw[0], "unit": "ms",
                 "ratio_to_baseline": round(tw[0] / base[0], 3),
                 "added_ms": round(tw[0] - base[0], 3),
                 "note": "min %.3f max %.3f" % (tw[1], tw[2])})
print("%-8s %-9s %-7s %9s %9s %8s  %s" % ("BENCH", "VARIANT", "VIA", "MEDIAN", "ADDED", "RATIO", "NOTE"))
for r in rows:
    print("%-8s %-9s %-7s %6.3f ms %6s ms %8.3f  %s" % (r["bench"], r["variant"], r["via"],
          r["value"], "%.3f" % r["added_ms"] if "added_ms" in r else "", r["ratio_to_baseline"], r["note"]))
json.dump(rows, open("bench/launch_results.json", "w"), indent=1)
root_added = rows[1]["added_ms"]
print("launch_bench: root's exec adds %.2f ms over /bin/true (target <= 2 ms): %s; "
      "the launch socket's adds %.2f ms" % (root_added, "met" if root_added <= 2 else "missed",
                                            rows[3]["added_ms"]))
PY
echo "wrote bench/launch_results.json"
