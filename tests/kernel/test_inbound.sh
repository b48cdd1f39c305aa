#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Network escapes other than connect: binding and accepting (the reverse
# channel), the DNS resolver's ports, IPv6 forms that carry an IPv4 address,
# multicast joins, and sockets that outlive the grant a reload removed. Each
# case first shows the operation works without toolwall (root, outside the
# toolwall tree), then that a tool call is refused, with its audit record.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
IB=$HERE/../lib/inbound.py

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

# Listen entries for the test: the baseline's test-harness bundle may listen
# on the host's veth address 10.10.1.1 TCP 7000, UDP 7001, and on
# [fd00:10:10:1::1]:7002; warehouse-read (data-team only) on 10.10.1.1:7010,
# so a refusal in the workspace has a hint.
python3 - "$TW_POLICY" <<'PY' || { not_ok "test policy"; tap_summary; exit 1; }
import json, os, sys
pol = sys.argv[1]
p = os.path.join(pol, "bundles", "test-harness.json")
b = json.load(open(p))
b["listen"] = ["10.10.1.1:7000", "udp://10.10.1.1:7001",
               "[fd00:10:10:1::1]:7002"]
json.dump(b, open(p, "w"), indent=2)
p = os.path.join(pol, "bundles", "warehouse-read.json")
t = open(p).read()
t = t.replace('"connect": [', '"listen": ["10.10.1.1:7010"],\n  "connect": [', 1)
open(p, "w").write(t)
PY
"$TW_BIN" check -p "$TW_POLICY" >/dev/null || { not_ok "test policy checks"; tap_summary; exit 1; }

# IPv6 test hosts whose addresses carry 10.20.1.10 (the issue-tracker host,
# which the workspace may reach on TCP 5432): NAT64, 6to4, IPv4-compatible.
# They live in our test namespace, reached over our veth.
V6FORMS=("64:ff9b::a14:10a" "2002:a14:10a::1" "::10.20.1.10")
v6_up()
{
	ip -n "$TW_NETNS" addr add 64:ff9b::a14:10a/96 dev "$TW_NS_VETH" nodad &&
		ip addr add 64:ff9b::1/96 dev "$TW_VETH" nodad &&
		ip -n "$TW_NETNS" addr add 2002:a14:10a::1/48 dev "$TW_NS_VETH" nodad &&
		ip addr add 2002:a14:10a::2/48 dev "$TW_VETH" nodad &&
		ip -n "$TW_NETNS" addr add ::10.20.1.10/128 dev "$TW_NS_VETH" nodad &&
		ip route add ::10.20.1.10/128 dev "$TW_VETH"
}
v6_up || echo "# could not add every IPv6 form (some cases will skip)" >&2

tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts with bind, setsockopt and ingress programs attached"

WS=workspace:acme
DATA=channel:acme/data-team
n=0
cgmnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)

# as root outside toolwall (this shell's own cgroup): the baseline
bare() { timeout -k 2 20 python3 "$IB" "$@" 2>/dev/null | head -1; }
# inside a tool call of CTX with call id ID
call() { local ctx=$1 id=$2; shift 2; twx "$ctx" "$id" python3 "$IB" "$@" 2>/dev/null | head -1; }
# record CALL_ID EXPECTATIONS...: exactly one matching deny record
record() { tw_eventually $AC "$TW_LOG" "$@" event=deny >/dev/null 2>&1; }

# case NAME CTX EXPECT-BARE EXPECT-CALL ARGS... [| AUDIT...]
case_()
{
	local name=$1 ctx=$2 want_bare=$3 want=$4
	shift 4
	local args=() audit=()
	while (($#)) && [[ $1 != "|" ]]; do args+=("$1"); shift; done
	(($#)) && shift && audit=("$@")
	n=$((n + 1))
	local id="ib$n-${args[0]}" got
	got=$(bare "${args[@]}")
	if [[ $got != "$want_bare" ]]; then
		skip "$name" "does not work without toolwall either: '$got' (want '$want_bare')"
		return
	fi
	got=$(call "$ctx" "$id" "${args[@]}")
	if [[ $got != "$want" ]]; then
		not_ok "$name" "in a call: got '$got', want '$want'"
		return
	fi
	if ((${#audit[@]})); then
		local why
		if why=$(tw_eventually $AC "$TW_LOG" "$id" event=deny context="$ctx" \
			call_id="$id" "${audit[@]}" 2>&1); then
			ok "$name"
		else
			not_ok "$name" "audit: $(tail -c 600 <<<"$why")"
		fi
	else
		ok "$name"
	fi
}

# ---- bind -------------------------------------------------------------------
case_ "bind a listen-granted address and port" $WS OK OK bind tcp 10.10.1.1 7000
case_ "bind loopback, any port" $WS OK OK bind tcp 127.0.0.1 7011
case_ "bind ::1, any port" $WS OK OK bind tcp ::1 7011
case_ "bind an ephemeral port on the wildcard (clients)" $WS OK OK bind tcp 0.0.0.0 0
case_ "bind a non-granted port of the host's address" $WS OK "ERR EPERM" \
	bind tcp 10.10.1.1 7009 '|' action=bind proto=tcp dst=10.10.1.1 port=7009 \
	'reason~neither loopback nor held by a listen entry' hint=
case_ "bind the wildcard: not loopback" $WS OK "ERR EPERM" \
	bind tcp 0.0.0.0 7000 '|' action=bind dst=0.0.0.0 port=7000
case_ "bind [::] wildcard" $WS OK "ERR EPERM" \
	bind tcp :: 7002 '|' action=bind dst=:: port=7002
case_ "bind UDP on a port only TCP may use" $WS OK "ERR EPERM" \
	bind udp 10.10.1.1 7000 '|' action=bind proto=udp port=7000
case_ "bind a port another context's bundle may listen on: hint names it" $WS OK "ERR EPERM" \
	bind tcp 10.10.1.1 7010 '|' action=bind port=7010 \
	'hint~bundle warehouse-read (held by channel:acme/data-team)'
case_ "that context binds it" $DATA OK OK bind tcp 10.10.1.1 7010
case_ "bind an IPv6 listen-granted address" $WS OK OK bind tcp fd00:10:10:1::1 7002
case_ "bind ::ffff:10.10.1.1 is judged as IPv4" $WS OK "ERR EPERM" \
	bind tcp ::ffff:10.10.1.1 7009 '|' action=bind dst=10.10.1.1 port=7009 \
	dst_embedded_in_ipv6=True

# ---- the DNS resolver's ports -------------------------------------------------
rport=$(ss -Hlnup 2>/dev/null | awk -v p="pid=$TW_DAEMON_PID," '$0 ~ p && $4 ~ /^127\.0\.0\.1:/ { sub(/.*:/, "", $4); print $4; exit }')
tport=$(ss -Hlntp 2>/dev/null | awk -v p="pid=$TW_DAEMON_PID," '$0 ~ p && $4 ~ /^127\.0\.0\.1:/ { sub(/.*:/, "", $4); print $4; exit }')
if [[ -n $rport && -n $tport ]]; then
	# Without toolwall the address is taken (the daemon holds it): show that
	# another address with the same port is free, then refuse both.
	case_ "bind the resolver's UDP port on another address" $WS OK "ERR EPERM" \
		bind udp 10.10.1.1 "$rport" '|' action=bind proto=udp port="$rport" \
		'reason~DNS resolver'
	case_ "bind the resolver's TCP port on loopback ::1" $WS OK "ERR EPERM" \
		bind tcp ::1 "$tport" '|' action=bind proto=tcp port="$tport" \
		'reason~DNS resolver'
	case_ "bind the resolver's UDP port on 127.0.0.2" $WS OK "ERR EPERM" \
		bind udp 127.0.0.2 "$rport" '|' action=bind port="$rport"
else
	skip "resolver ports" "cannot find the daemon's resolver listeners with ss"
fi

# ---- accept: new inbound flows --------------------------------------------------
# serve_case NAME CTX PROTO ADDR PORT CLIENT-ADDR CLIENT-SRC WANT [| AUDIT...]
#   root first (no toolwall) then a call serves; a client in the test
#   namespace connects from CLIENT-SRC.
serve_case()
{
	local name=$1 ctx=$2 proto=$3 addr=$4 port=$5 caddr=$6 csrc=$7 want=$8
	shift 8
	[[ ${1:-} == "|" ]] && shift
	n=$((n + 1))
	local id="ib$n-serve" rdy=$TW_WORK/shared/ready.$n got spid cport
	rm -f "$rdy"
	timeout 10 python3 "$IB" serve "$proto" "$addr" "$port" 4 "$rdy" >"$TW_WORK/bare.$n" 2>&1 &
	spid=$!
	tw_eventually test -s "$rdy"
	cport=$(cat "$rdy" 2>/dev/null)
	for _ in 1 2 3; do tw_ns_exec python3 "$IB" connect "$proto" "$caddr" "$cport" "$csrc" >/dev/null 2>&1; done
	wait $spid
	got=$(head -1 "$TW_WORK/bare.$n")
	if [[ $got != OK* ]]; then
		skip "$name" "no inbound flow without toolwall either: '$got'"
		return
	fi
	rm -f "$rdy"
	twx "$ctx" "$id" python3 "$IB" serve "$proto" "$addr" "$port" 4 "$rdy" >"$TW_WORK/call.$n" 2>/dev/null &
	spid=$!
	tw_eventually test -s "$rdy"
	cport=$(cat "$rdy" 2>/dev/null)
	# one client (one source port): a refusal is one record, its SYN
	# retransmissions folded into its count
	tw_ns_exec python3 "$IB" connect "$proto" "$caddr" "$cport" "$csrc" >/dev/null 2>&1
	wait $spid
	got=$(head -1 "$TW_WORK/call.$n")
	if [[ $got != $want ]]; then
		not_ok "$name" "in a call: got '$got', want '$want'"
		return
	fi
	if (($#)); then
		local why
		if why=$(tw_eventually $AC "$TW_LOG" "$id" event=deny context="$ctx" \
			call_id="$id" action=accept proto="$proto" uid="$(id -u "$TW_AGENT")" \
			pid=0 "${@//@PORT@/$cport}" 2>&1); then
			ok "$name"
		else
			not_ok "$name" "audit: $(tail -c 600 <<<"$why")"
		fi
	else
		ok "$name"
	fi
}

serve_case "accept on a listen entry from a host the context may reach" $WS \
	tcp 10.10.1.1 7000 10.10.1.1 10.10.1.10 "OK accepted 10.10.1.10"
serve_case "accept from a host no rule covers: SYN dropped, recorded" $WS \
	tcp 10.10.1.1 7000 10.10.1.1 10.50.1.10 TIMEOUT '|' dst=10.10.1.1 port=7000 \
	src=10.50.1.10 'reason~no rule of workspace:acme covers that host'
serve_case "an ephemeral-port listener on the wildcard gets nothing" $WS \
	tcp 0.0.0.0 0 10.10.1.1 10.10.1.10 TIMEOUT '|' dst=10.10.1.1 port=@PORT@ \
	src=10.10.1.10 'reason~no listen entry of workspace:acme holds it'
serve_case "IPv6: accept on a listen entry from a reachable host" $WS \
	tcp fd00:10:10:1::1 7002 fd00:10:10:1::1 fd00:10:10:1::10 "OK accepted fd00:10:10:1::10"
serve_case "IPv6: from a host no rule covers" $WS \
	tcp fd00:10:10:1::1 7002 fd00:10:10:1::1 fd00:50::10 TIMEOUT '|' \
	dst=fd00:10:10:1::1 port=7002 src=fd00:50::10
serve_case "UDP: a datagram from a host the context may reach" $WS \
	udp 10.10.1.1 7001 10.10.1.1 10.20.1.10 "OK from 10.20.1.10"
serve_case "UDP: a datagram from a host no rule covers is dropped" $WS \
	udp 10.10.1.1 7001 10.10.1.1 10.50.1.10 TIMEOUT '|' dst=10.10.1.1 \
	port=7001 src=10.50.1.10
serve_case "UDP: an ephemeral wildcard port receives nothing from outside" $WS \
	udp 0.0.0.0 0 10.10.1.1 10.50.1.10 TIMEOUT '|' src=10.50.1.10

# Loopback to loopback needs no listen entry.
n=$((n + 1))
rdy=$TW_WORK/shared/ready.$n
twx $WS "ib$n-lo" python3 "$IB" serve tcp 127.0.0.1 0 4 "$rdy" >"$TW_WORK/call.$n" 2>/dev/null &
spid=$!
tw_eventually test -s "$rdy"
python3 "$IB" connect tcp 127.0.0.1 "$(cat "$rdy" 2>/dev/null)" >/dev/null 2>&1
wait $spid
got=$(head -1 "$TW_WORK/call.$n")
[[ $got == "OK accepted 127.0.0.1" ]] && ok "loopback listener accepts from loopback" ||
	not_ok "loopback listener" "got '$got'"

# ---- IPv6 forms that carry an IPv4 address are other IPv6 hosts ------------------
for a in "${V6FORMS[@]}"; do
	got=$("$TW_PROBE" tcp "$a" 5432 2>/dev/null | head -1)
	if [[ $got != OK ]]; then
		skip "tcp [$a]:5432 is an IPv6 host" "not reachable without toolwall: '$got'"
		continue
	fi
	n=$((n + 1))
	id="ib$n-v6"
	got=$(twx $WS "$id" "$TW_PROBE" tcp "$a" 5432 2>/dev/null | head -1)
	ex=$("$TW_BIN" explain -p "$TW_POLICY" $WS "[$a]:5432" 2>/dev/null | head -1)
	if [[ $got == "ERR EPERM" && $ex == denied:* ]] &&
		tw_eventually $AC "$TW_LOG" "$id" event=deny action=connect dst="$a" \
			port=5432 dst_embedded_in_ipv6!=True >/dev/null 2>&1; then
		ok "tcp [$a]:5432 is an IPv6 host: EPERM although 10.20.1.10:5432 is allowed; explain agrees; record names it"
	else
		not_ok "tcp [$a]:5432" "call '$got', explain '$ex'"
	fi
done
case_ "::ffff:10.20.1.10 is still judged as 10.20.1.10" $WS OK OK \
	connect tcp ::ffff:10.20.1.10 5432

# ---- multicast joins -------------------------------------------------------------
case_ "IP_ADD_MEMBERSHIP refused" $WS OK "ERR EPERM" mcast4 239.7.7.7 10.10.1.1 \
	'|' action=setsockopt group=239.7.7.7 'reason~multicast'
case_ "IPV6_JOIN_GROUP refused" $WS OK "ERR EPERM" mcast6 ff15::7 "$TW_VETH" \
	'|' action=setsockopt group=ff15::7
case_ "MCAST_JOIN_GROUP (SOL_IP) refused" $WS OK "ERR EPERM" mcastjoin4 239.7.7.8 "$TW_VETH" \
	'|' action=setsockopt
case_ "MCAST_JOIN_GROUP (SOL_IPV6) refused" $WS OK "ERR EPERM" mcastjoin6 ff15::8 "$TW_VETH" \
	'|' action=setsockopt

tap_summary
