#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Resolver overhead: query latency (p50, p99) and rate through toolwall's
# per-context resolver, against querying the same upstream (dnsmasq on a
# test host) directly, in one run. Writes bench/dns_results.json.
# QUICK=1 for a reduced run.
#
# The resolver itself is measured: its per-context budgets (200 queries a
# second, 3 upstream lookups at once by default) would answer most of the
# rate run REFUSED or SERVFAIL, so the daemon runs with DNS_BUDGET
# (`--dns-budget`, default 0:0:8: no query budget, every thread may serve
# the one context). Only real answers count (dns_bench.c).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source tests/lib/netns.sh
source tests/lib/toolwall.sh

[[ $(id -u) -eq 0 ]] || { echo "dns_bench: run as root" >&2; exit 1; }
N=${N:-$([[ -n ${QUICK:-} ]] && echo 500 || echo 5000)}
SECS=${SECS:-$([[ -n ${QUICK:-} ]] && echo 2 || echo 5)}
WIN=${WIN:-32}
DNS_BUDGET=${DNS_BUDGET:-0:0:8}
UP=198.51.100.53
NAME=docs.acme.example

gcc -O2 -Wall -Werror -o build/dns_bench bench/dns_bench.c -lldns || exit 1
tw_hosts_up || exit 1
tw_setup_host || exit 1
nsenter --net="$TW_NETNS_PATH" -- dnsmasq --keep-in-foreground --no-resolv \
	--no-hosts --bind-interfaces --listen-address=$UP --port=53 --user=root \
	--pid-file= --cache-size=0 --address=/$NAME/10.10.1.10 \
	>"$TW_WORK/dnsmasq.out" 2>&1 &
DNSMASQ=$!
# Ours to stop (netns.sh only stops the processes it started itself).
stop_dnsmasq() { kill "$DNSMASQ" 2>/dev/null; wait "$DNSMASQ" 2>/dev/null; }
tw_at_exit stop_dnsmasq
for _ in $(seq 50); do
	dig +time=1 +tries=1 @$UP $NAME +short 2>/dev/null | grep -q 10.10.1.10 && break
	sleep 0.1
done
tw_daemon_start --dns-budget "$DNS_BUDGET" || exit 1
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/toolwall/acme/workspace
inside() { sh -c "echo \$\$ > $CG/cgroup.procs && exec \"\$@\"" sh "$@"; }

# Each run's own line (answers, failures, timeouts) goes to stderr: a
# figure made of refusals would show there.
run() { local o; o=$("$@"); echo "dns_bench: ${*: -4}: $o" >&2; echo "$o"; }
read -r _ d50 _ d99 _ <<<"$(run build/dns_bench $UP $NAME lat "$N")"
read -r _ t50 _ t99 _ <<<"$(run inside build/dns_bench $UP $NAME lat "$N")"
read -r _ dq _ <<<"$(run build/dns_bench $UP $NAME qps "$SECS" "$WIN")"
read -r _ tq _ <<<"$(run inside build/dns_bench $UP $NAME qps "$SECS" "$WIN")"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-16s %-9s %12s %-6s %8s\n' BENCH VARIANT VALUE UNIT RATIO
printf '%-16s %-9s %12s %-6s %8s\n' dns_p50 none "$d50" us 1.00
printf '%-16s %-9s %12s %-6s %8s\n' dns_p50 toolwall "$t50" us "$(ratio "$t50" "$d50")"
printf '%-16s %-9s %12s %-6s %8s\n' dns_p99 none "$d99" us 1.00
printf '%-16s %-9s %12s %-6s %8s\n' dns_p99 toolwall "$t99" us "$(ratio "$t99" "$d99")"
printf '%-16s %-9s %12s %-6s %8s\n' dns_qps none "$dq" q/s 1.00
printf '%-16s %-9s %12s %-6s %8s\n' dns_qps toolwall "$tq" q/s "$(ratio "$tq" "$dq")"
python3 - "$d50" "$t50" "$d99" "$t99" "$dq" "$tq" >bench/dns_results.json <<'PY'
import json, sys
d50, t50, d99, t99, dq, tq = map(float, sys.argv[1:])
row = lambda b, v, val, u, base: {"bench": b, "variant": v, "rules": None,
    "value": val, "unit": u, "ratio_to_baseline": round(val / base, 3)}
print(json.dumps([row("dns_p50", "none", d50, "us", d50),
                  row("dns_p50", "toolwall", t50, "us", d50),
                  row("dns_p99", "none", d99, "us", d99),
                  row("dns_p99", "toolwall", t99, "us", d99),
                  row("dns_qps", "none", dq, "q/s", dq),
                  row("dns_qps", "toolwall", tq, "q/s", dq)], indent=1))
PY
echo "wrote bench/dns_results.json"
