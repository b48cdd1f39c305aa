#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Sockets outlive the grant a reload removed: a connected UDP socket (sends
# are not hooked) and an established TCP connection are judged again on
# their first packet under the new policy generation. A reload that keeps
# the grant must not disturb them; one that removes it cuts them off, with
# one record each.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
IB=$HERE/../lib/inbound.py

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts"

WS=workspace:acme
IT=$TW_POLICY/bundles/issue-tracker.json
cp "$IT" "$TW_WORK/issue-tracker.orig"

# edit_policy PYTHON-EXPR-ON-t: rewrite the issue-tracker bundle, reload.
edit_reload()
{
	python3 - "$IT" "$1" <<'PY' && "$TW_BIN" reload >/dev/null
import sys
p, expr = sys.argv[1], sys.argv[2]
t = open(p).read()
t = eval(expr)
open(p, "w").write(t)
PY
}

# keep_case NAME PROTO ADDR PORT ENTRY
#   A call connects and exchanges a message; then a reload that keeps the
#   grant (a description change), a round; then a reload that removes
#   ENTRY from the bundle, a round.
keep_case()
{
	local name=$1 proto=$2 addr=$3 port=$4 entry=$5
	local d=$TW_WORK/shared/keep-$proto id=rj-$proto pid got
	mkdir -p -m 0777 "$d"
	cp "$TW_WORK/issue-tracker.orig" "$IT"
	"$TW_BIN" reload >/dev/null
	# without toolwall: the exchange works at all
	got=$(timeout 5 python3 "$IB" connect "$proto" "$addr" "$port" 2>/dev/null | head -1)
	if [[ $got != OK ]]; then
		skip "$name" "no exchange without toolwall: '$got'"
		return
	fi
	twx $WS "$id" python3 "$IB" keep "$proto" "$addr" "$port" "$d" >"$TW_WORK/keep.$proto" 2>/dev/null &
	pid=$!
	tw_eventually test -e "$d/ready"
	edit_reload "t.replace('Read and write tickets', 'Read and write tickets (v2)')"
	echo 2 >"$d/go"
	tw_eventually test -e "$d/done0"
	edit_reload "t.replace('\"$entry\",', '').replace(', \"$entry\"', '')"
	if grep -q "\"$entry\"" "$IT"; then
		not_ok "$name" "test bug: $entry still in the bundle"
	fi
	touch "$d/go1"
	wait $pid
	got=$(cat "$TW_WORK/keep.$proto")
	local want="OK OK ERR EPERM"
	[[ $proto == tcp ]] && want="OK OK TIMEOUT"
	if [[ $got != "$want" ]]; then
		not_ok "$name" "rounds: got '$got', want '$want'"
		return
	fi
	if tw_eventually $AC "$TW_LOG" "$id" event=deny action=egress proto="$proto" \
		dst="$addr" port="$port" 'reason~older policy revision' >/dev/null 2>&1; then
		ok "$name"
	else
		not_ok "$name" "no single record: $($AC "$TW_LOG" "$id" event=deny 2>&1 | tail -c 600)"
	fi
}

keep_case "connected UDP: kept by an unrelated reload, cut off (EPERM) when the grant goes" \
	udp 10.20.1.10 123 "udp://10.20.1.10:123"
keep_case "established TCP: kept by an unrelated reload, cut off when the grant goes" \
	tcp 10.20.1.10 5432 "10.20.0.0/16:5432"

cp "$TW_WORK/issue-tracker.orig" "$IT"
"$TW_BIN" reload >/dev/null

tap_summary
