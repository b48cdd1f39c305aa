#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, grants class: the guarantees the README gives for grants
# and quarantine, attacked from inside tool calls.
#   - a call cannot lift its own quarantine, nor grant or extend a grant
#     (the control socket is root's; the pinned maps are root's, 0700)
#   - a call cannot step out of its call scope (no cgroup of its own)
#   - a grant in one context (or to one call) opens nothing elsewhere:
#     neither addresses nor the bundle's DNS names nor its credentials
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

G=$ESC_ATTACKS/grants.py
N=$ESC_ATTACKS/net.py
CTL=/run/toolwall/control.sock
esc_setup
WS=$ESC_WS
GEN=$ESC_GEN

# A grant to channel:acme/general and one to call esc-granted only.
"$TW_BIN" grant $GEN warehouse-read --for 10m --approved-by escape-suite >/dev/null ||
	not_ok "grant to $GEN"
"$TW_BIN" grant $WS --connect 10.50.1.10:80 --for 10m --approved-by escape-suite \
	--call-id esc-granted >/dev/null || not_ok "per-call grant"

esc "a grant in $GEN does not open the warehouse to $WS" $WS \
	"action=connect;dst=10.30.1.10;port=5439" -- $ESC_PY $N tcp 10.30.1.10 5439
esc "a grant in $GEN does not open the warehouse to the DM" $ESC_DM \
	"action=connect;dst=10.30.1.10;port=5439" -- $ESC_PY $N tcp 10.30.1.10 5439
esc "a grant to call esc-granted does not reach another call of $WS" $WS \
	"action=connect;dst=10.50.1.10;port=80" -- $ESC_PY $N tcp 10.50.1.10 80
esc "a grant opens only the bundle's ports (10.30.1.10:80)" $GEN \
	"action=connect;dst=10.30.1.10;port=80" -- $ESC_PY $N tcp 10.30.1.10 80

# The granted bundle's name and credential, from a sibling context and a
# sibling call. Another resolver on the policy's upstream (198.51.100.53)
# answers everything with 192.0.2.99: an answer from it is the escape.
SINK_PID=""
stop_sink() { [[ -n $SINK_PID ]] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null; SINK_PID=""; }
tw_at_exit stop_sink
nsenter --net="$TW_NETNS_PATH" -- /usr/bin/python3 "$ESC_ATTACKS/dnssink.py" \
	--parent-pid $$ "$TW_WORK/sink.log" "$TW_WORK/sink.ready" 198.51.100.53 \
	>"$TW_WORK/sink.out" 2>&1 </dev/null {TW_LOCK_FD}>&- &
SINK_PID=$!
tw_eventually test -e "$TW_WORK/sink.ready" || not_ok "dns sink starts" "$(cat "$TW_WORK/sink.out")"
"$TW_BIN" grant $WS warehouse-read --for 10m --approved-by escape-suite \
	--call-id esc-granted2 >/dev/null || not_ok "per-call grant of a bundle"
# (the attacks can tell: in the granted context and call they get through)
out=$(twx $GEN esc-pos-dns $ESC_PY $N dns-udp 198.51.100.53 warehouse.acme.example 2>&1)
[[ $out == ESCAPED* ]] && ok "(control) $GEN resolves the granted name" ||
	not_ok "(control) $GEN resolves the granted name" "$out"
out=$(twx $GEN esc-pos-cred $ESC_PY $G cred WAREHOUSE_TOKEN warehouse-reader 2>&1)
[[ $out == ESCAPED* ]] && ok "(control) a call of $GEN holds the granted credential" ||
	not_ok "(control) a call of $GEN holds the granted credential" "$out"
out=$(twx $WS esc-granted2 $ESC_PY $G cred WAREHOUSE_TOKEN warehouse-reader 2>&1)
[[ $out == ESCAPED* ]] && ok "(control) call esc-granted2 holds its granted credential" ||
	not_ok "(control) call esc-granted2 holds its granted credential" "$out"
esc "a grant in $GEN does not answer its name in $WS" $WS \
	"action=dns;domain=warehouse.acme.example" -- \
	$ESC_PY $N dns-udp 198.51.100.53 warehouse.acme.example
ESC_NOBARE="credentials are toolwall's to hand out: a bare process holds none" \
	esc "a grant in $GEN gives its credential to no call of $WS" $WS - -- \
	$ESC_PY $G cred WAREHOUSE_TOKEN warehouse-reader
ESC_NOBARE="credentials are toolwall's to hand out: a bare process holds none" \
	esc "a grant to call esc-granted2 gives its credential to no other call of $WS" $WS - -- \
	$ESC_PY $G cred WAREHOUSE_TOKEN warehouse-reader

ESC_NOBARE="the control socket is root's for every account" \
	esc "grant itself a bundle over the control socket" $GEN \
	"action=connect;proto=unix;path=$CTL" -- $ESC_PY $G control $CTL \
	'{"op":"grant","context":"channel:acme/general","bundle":"docs-search","for":"8h","approved_by":"me"}'
ESC_NOBARE="the control socket is root's for every account" \
	esc "extend its grant: revoke and grant again for 8h" $GEN \
	"action=connect;proto=unix;path=$CTL" -- $ESC_PY $G control $CTL \
	'{"op":"grant","context":"channel:acme/general","bundle":"warehouse-read","for":"8h","approved_by":"me"}'
for m in tw_grants tw_scopes tw_grant_on; do
	ESC_NOBARE="the pins are root's (0700) for every account" \
		esc "open the pinned map $m" $GEN - -- $ESC_PY $G map /sys/fs/bpf/toolwall/maps/$m
done
ESC_NOBARE="a call's cgroup is not delegated to it" \
	esc "make a cgroup of its own (a scope no quarantine names)" $GEN - -- $ESC_PY $G mkcg

# Quarantined: a call of the context that outlives the kill cannot exist,
# so the attempt runs in a call of a quarantined call id's sibling context
# ... no: a quarantined context starts no call. Lift it from a call of
# another context instead.
"$TW_BIN" quarantine $GEN --reason "escape suite" >/dev/null || not_ok "quarantine $GEN"
ESC_NOBARE="the control socket is root's for every account" \
	esc "release $GEN from a call of $WS" $WS \
	"action=connect;proto=unix;path=$CTL" -- $ESC_PY $G control $CTL \
	'{"op":"release","context":"channel:acme/general"}'
out=$(twx $GEN esc-q "$ESC_PY" "$N" tcp 10.20.1.10 5432 2>&1)
rc=$?
[[ $rc == 125 && $out == *quarantined* ]] && ok "the quarantined context starts no call" ||
	not_ok "the quarantined context starts no call" "exit $rc: $out"
"$TW_BIN" release $GEN >/dev/null

tap_summary
