#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The resolver under attack from inside tool calls (issue 16, classes 1 and
# 4). The upstream is tests/lib/dns_upstream.py on the policy's upstream
# address (198.51.100.53): it logs every query that reaches it, byte for
# byte. Clients: python (hand-made queries no library sends), dig.
#
#   names judged as the wire carries them: a name over 253 octets below a
#     wildcard never reaches the upstream (REFUSED, recorded); the longest
#     legal name is forwarded whole; a 64-octet label is FORMERR; a label
#     with a byte no hostname holds matches no wildcard
#   the forwarded query is rebuilt: one question of class IN, lower case,
#     no answer/authority records, our own option-less OPT, not the
#     client's id; ANY is NOTIMP
#   kept upstream sockets: few source ports for many lookups; forgeries
#     from the upstream's address (wrong id, wrong question, not a
#     response) are ignored and grant nothing
#   floods: identical refusals aggregate into records with exact counts;
#     over a context's query budget, REFUSED, and every query is accounted
#     for in the records
#   fairness: while a call of workspace:acme floods refused names over UDP,
#     holds trickling TCP connections and keeps asking allowed names the
#     upstream holds for 1.5 s (each holds a resolver thread), a call of
#     #data-team gets its answers within 2x its idle latency (or idle +
#     100 ms), and all its records are written
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
ATK="/usr/bin/python3 $HERE/../lib/dns_attack.py 198.51.100.53"
WS=workspace:acme
DT=channel:acme/data-team

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

UPLOG=$TW_WORK/upstream.jsonl
UP_PID=""
stop_upstream() { [[ -n $UP_PID ]] && kill "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null; UP_PID=""; }
tw_at_exit stop_upstream
touch "$UPLOG"
# (nsenter execs python: $! is the upstream itself; it must not hold our
# host lock, and it ends by itself should this script die)
nsenter --net="$TW_NETNS_PATH" -- /usr/bin/python3 "$HERE/../lib/dns_upstream.py" \
	--parent-pid $$ "$UPLOG" "$TW_WORK/up.ready" 198.51.100.53 \
	>"$TW_WORK/up.out" 2>&1 </dev/null {TW_LOCK_FD}>&- &
UP_PID=$!
if tw_eventually test -e "$TW_WORK/up.ready" &&
	dig +time=1 +tries=2 @198.51.100.53 probe.example +short | gq 203.0.113.10; then
	ok "the recording upstream answers on 198.51.100.53"
else
	not_ok "recording upstream" "$(cat "$TW_WORK/up.out")"
	tap_summary
	exit 1
fi
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }

# upstream_has PY-EXPR: some logged query satisfies EXPR (over q: the record)
upstream_has() {
	python3 -c '
import json, sys
qs = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(eval("(" + sys.argv[2] + ")", {"q": q}) for q in qs) else 1)' "$UPLOG" "$1"
}
# rec_sum CALL PY-EXPR: the events the call's records matching EXPR stand
# for (each its count, or 1), then how many records
rec_sum() {
	python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r for r in rs if r.get("call_id") == sys.argv[2] and eval(sys.argv[3], {"r": r})]
print(sum(r.get("count", 1) for r in rs), len(rs))' "$TW_LOG" "$1" "$2"
}
status_dns() { "$TW_BIN" status -j | python3 -c "import json,sys; d=json.load(sys.stdin)['dns']; print($1)"; }

# ---- names judged as the wire carries them -----------------------------------
A63=rep:a:63
got=$(twx $WS k-max $ATK raw "$A63,$A63,$A63,rep:b:44,docs-cdn,example" 1)
if [[ $got == NOERROR ]] && upstream_has 'q["name"] == ("a"*63+".")*3 + "b"*44 + ".docs-cdn.example"'; then
	ok "the longest name there is (253 octets) below *.docs-cdn.example is judged and forwarded whole"
else
	not_ok "253-octet name" "$got"
fi
got=$(twx $WS k-long $ATK raw "$A63,$A63,$A63,$A63,docs-cdn,example" 1)
if [[ $got == REFUSED ]] && ! upstream_has '"a"*63 + "." + "a"*63 + "." + "a"*63 + "." + "a"*63 in q["name"]' &&
	tw_eventually $AC "$TW_LOG" k-long event=deny action=dns 'reason~longer than 253' 'domain~aaaaaaaa' >/dev/null; then
	ok "a 269-octet name below *.docs-cdn.example: REFUSED, recorded, never upstream (no truncation)"
else
	not_ok "over-long name" "$got $(grep k-long "$TW_LOG" | tail -1)"
fi
got=$(twx $WS k-label $ATK raw "rep:x:64,docs-cdn,example" 1)
if [[ $got == FORMERR ]] && ! upstream_has '"x"*60 in q["name"]' &&
	tw_eventually $AC "$TW_LOG" k-label event=deny action=dns 'reason~longer than 63' >/dev/null; then
	ok "a 64-octet label: FORMERR, recorded, never upstream"
else
	not_ok "64-octet label" "$got $(grep k-label "$TW_LOG" | tail -1)"
fi
for case in 'k-nul hex:610062 a\000b' 'k-space hex:612062 a\032b' 'k-high hex:61ff62 a\255b'; do
	read -r id lab shown <<<"$case"
	got=$(twx $WS "$id" $ATK raw "$lab,docs-cdn,example" 1)
	if [[ $got == NXDOMAIN ]] && ! upstream_has "'${lab#hex:}' in q['labels']" &&
		tw_eventually $AC "$TW_LOG" "$id" event=deny action=dns "domain=$shown.docs-cdn.example" >/dev/null; then
		ok "a label with byte ${lab#hex:} under *.docs-cdn.example: NXDOMAIN, recorded as $shown, never upstream"
	else
		not_ok "label bytes $lab" "$got $(grep "$id" "$TW_LOG" | tail -1)"
	fi
done

# ---- the forwarded query is rebuilt ------------------------------------------
got=$(twx $WS k-garbage $ATK garbage cdn-probe.docs-cdn.example)
if [[ $got == "NOERROR id-echoed" ]] && upstream_has '
q["name"] == "cdn-probe.docs-cdn.example" and q["qd"] == 1 and q["an"] == 0 and q["ns"] == 0
and q["ar"] == 1 and q["qclass"] == 1 and q["qtype"] == 1 and q["flags"] == 0x0100
and q["id"] != 0x5151 and q["extra"] == "00002904d0000080000000"' &&
	! upstream_has '"smuggled" in bytes.fromhex(q["raw"]).decode("latin1") or "COOKIE" in bytes.fromhex(q["raw"]).decode("latin1")'; then
	ok "upstream sees the rebuilt query: one question, class IN, lower case, no client records, bits, id or EDNS options"
else
	not_ok "rebuilt query" "$got $(grep -i cdn-probe "$UPLOG" | tail -1)"
fi
got=$(twx $WS k-dig-edns dig +time=2 +tries=1 @198.51.100.53 +cookie +nsid +subnet=10.0.0.0/24 +padding=64 dig-probe.docs-cdn.example +short 2>/dev/null)
if [[ $got == 203.0.113.10 ]] && upstream_has 'q["name"] == "dig-probe.docs-cdn.example" and q["extra"] == "00002904d0000000000000"'; then
	ok "dig with a cookie, NSID, client subnet and padding: answered; upstream sees only our OPT"
else
	not_ok "dig edns" "$got $(grep dig-probe "$UPLOG" | tail -1)"
fi
# ---- the kept upstream sockets (dnsup.c) ---------------------------------------
# Each resolver thread keeps its UDP socket to the upstream: 24 queries
# come from at most TW_DNS_THREADS (8) source ports, not from 24.
names=$(for i in $(seq 24); do printf 'reuse-%d.docs-cdn.example ' "$i"; done)
got=$(twx $WS k-reuse dig +time=2 +tries=1 @198.51.100.53 $names +short 2>/dev/null | grep -c '^203.0.113.10$')
ports=$(python3 -c '
import json, sys
print(len({q["port"] for q in map(json.loads, open(sys.argv[1])) if q.get("name", "").startswith("reuse-")}))' "$UPLOG")
if [[ $got == 24 && $ports -ge 1 && $ports -le 8 ]]; then
	ok "24 lookups answered over kept upstream sockets: $ports source ports"
else
	not_ok "kept upstream sockets" "$got answers, $ports source ports"
fi
# ... and a datagram on such a socket counts only when it answers the query
# in flight: the upstream's address sends three forgeries first (another
# id; the id with another question; the id and question, not a response),
# each answering 203.0.113.66, then the answer.
got=$(twx $WS k-spoof dig +time=3 +tries=1 @198.51.100.53 spoof-1.docs-cdn.example spoof-2.docs-cdn.example +short 2>/dev/null | tr '\n' ' ')
if [[ $got == "203.0.113.10 203.0.113.10 " ]] && "$TW_BIN" status -j | python3 -c '
import json, sys
s = json.load(sys.stdin)["dns"]
sys.exit(any(a["addr"] == "203.0.113.66" for a in s["addresses"]))'; then
	ok "forged datagrams from the upstream's address (wrong id, wrong question, not a response) ignored: the answer is released, nothing of theirs granted"
else
	not_ok "forgeries on a kept socket" "answers: $got; $("$TW_BIN" status -j | grep -o '203.0.113.66' | head -1)"
fi
got=$(twx $WS k-any dig +time=2 +tries=1 @198.51.100.53 any-probe.docs-cdn.example ANY 2>&1)
if grep -q "status: NOTIMP" <<<"$got" && ! upstream_has '"any-probe" in q["name"]' &&
	tw_eventually $AC "$TW_LOG" k-any event=deny action=dns qtype=ANY 'reason~query type' >/dev/null; then
	ok "ANY for an allowed name: NOTIMP, recorded, never upstream"
else
	not_ok "ANY" "$(grep status: <<<"$got")"
fi

# ---- floods: aggregated, with exact counts -------------------------------------
got=$(twx $WS k-same $ATK flood-same agg-probe.exfil.example 150)
same_sum() { [[ $(rec_sum k-same 'r.get("domain") == "agg-probe.exfil.example"') == "150 "* ]]; }
tw_eventually same_sum
read -r sum nrec <<<"$(rec_sum k-same 'r.get("domain") == "agg-probe.exfil.example"')"
if [[ $got == '{"NXDOMAIN": 150}' && $sum == 150 && $nrec -le 5 ]]; then
	ok "150 identical refused queries: $nrec records whose counts add up to exactly 150"
else
	not_ok "identical flood aggregated" "client $got, $nrec records for $sum queries"
fi
rl0=$(status_dns "d['limits']['ratelimited']")
got=$(twx $WS k-budget $ATK flood-distinct budget-probe 1200)
read -r nx refused lost <<<"$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c.get("NXDOMAIN",0), c.get("REFUSED",0), c.get("lost",0))' "$got")"
rl=$(($(status_dns "d['limits']['ratelimited']") - rl0))
accounted() {
	read -r all _ <<<"$(rec_sum k-budget 'r.get("action") == "dns"')"
	read -r over _ <<<"$(rec_sum k-budget 'r.get("reason", "").startswith("over the context")')"
	[[ $all == $((nx + refused)) && $over == "$rl" ]]
}
for ((i = 0; i < 3; i++)); do tw_eventually accounted && break; done
if [[ $lost == 0 && $refused -gt 0 && $rl == "$refused" ]] && accounted; then
	read -r _ n <<<"$(rec_sum k-budget 'r.get("action") == "dns"')"
	ok "1200 distinct refused names: $refused over the budget (REFUSED, counted), all 1200 accounted for in $n records"
else
	read -r all n <<<"$(rec_sum k-budget 'r.get("action") == "dns"')"
	read -r over _ <<<"$(rec_sum k-budget 'r.get("reason", "").startswith("over the context")')"
	not_ok "budget flood" "client $got, ratelimited $rl, records $n for $all queries, $over over the budget"
fi

# ---- fairness: one context's flood and slowloris, another's answers ------------
# dig_times ID N DIG-ARGS...: one dig in a #data-team call asking N
# names; prints each answer's query time (ms), one a line, and fails
# unless all N were answered.
dig_times() {
	local id=$1 n=$2 out
	shift 2
	out=$(twx $DT "$id" dig +time=3 +tries=1 @198.51.100.53 "$@" 2>/dev/null)
	grep -o "Query time: [0-9]*" <<<"$out" | awk '{print $3}'
	[[ $(grep -c "status: NOERROR" <<<"$out") == "$n" ]]
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 99999)}'; }
W=warehouse.acme.example
idle=$(dig_times k-idle 9 $W $W $W $W $W $W $W $W $W | median)
twx $WS k-flood $ATK flood-bg 14 fair 30 >"$TW_WORK/flood.out" 2>&1 &
flood=$!
sleep 3 # the flood under way, the slow connections open
busy=$(dig_times k-busy 9 $W $W $W $W $W $W $W $W $W | median)
tcp_ok=yes
dig_times k-busy-tcp 5 +tcp $W $W $W $W $W >/dev/null || tcp_ok=no
twx $DT k-busy-nx dig +time=3 +tries=1 @198.51.100.53 b-refused-1.exfil.example \
	b-refused-2.exfil.example b-refused-3.exfil.example >"$TW_WORK/busy-nx.out" 2>&1
while kill -0 $flood 2>/dev/null; do wait $flood; done
bound=$((2 * idle > idle + 100 ? 2 * idle : idle + 100))
if [[ $busy -le $bound && $tcp_ok == yes ]]; then
	ok "during another context's flood and slowloris: median answer ${busy} ms (idle ${idle} ms, bound ${bound} ms), TCP answered too"
else
	not_ok "fairness" "median ${busy} ms during the flood, idle ${idle} ms (bound ${bound}), tcp answered: $tcp_ok; flood: $(cat "$TW_WORK/flood.out")"
fi
all=yes
for i in 1 2 3; do
	tw_eventually $AC "$TW_LOG" k-busy-nx event=deny action=dns context=$DT domain=b-refused-$i.exfil.example >/dev/null || all=no
done
[[ $all == yes ]] && ok "... and every refused name of the other context has its own record" ||
	not_ok "records during the flood" "$(grep b-refused "$TW_LOG" | grep -v '"exec"'); $(grep status: "$TW_WORK/busy-nx.out")"
if [[ $(status_dns "d['limits']['ratelimited']") -gt $((rl0 + rl)) ]] &&
	[[ $(status_dns "d['tcp_clients']['timeouts']") -gt 0 ]]; then
	ok "... the flood went over its budget and its slow connections were cut at their deadline"
else
	not_ok "the flood was a flood" "$(cat "$TW_WORK/flood.out") $("$TW_BIN" status -j | python3 -c 'import json,sys; d=json.load(sys.stdin)["dns"]; print(d["limits"], d["tcp_clients"])')"
fi

[[ -n ${TW_KEEP_LOG:-} ]] && cp "$TW_LOG" "$TW_KEEP_LOG" && cp "$UPLOG" "$TW_KEEP_LOG.upstream"
tap_summary
