#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# No client can kill or stall the daemon. DNS-over-TCP clients inside a
# call that close before their answer (FIN or RST: the daemon's write would
# raise SIGPIPE), send half a length prefix, announce 65535 bytes and send
# 10, or open 1000 connections: the daemon stays up, keeps answering other
# clients and contexts, records the query, and closes the stallers at its
# time limit. Control-socket clients that stall mid-request, send 70 KB,
# send garbage, reset before the reply or open 100 idle connections: DNS
# answers (dig in a call) and event records (a denied connect) go on while
# they do; each of them is served or dropped by rule.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
P=$TW_PROBE
WS=workspace:acme
BAD=$HERE/../lib/bad_clients.py

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

# ---- the upstream: dnsmasq on the test host ---------------------------------
QLOG=$TW_WORK/upstream.log
nsenter --net="$TW_NETNS_PATH" -- dnsmasq --keep-in-foreground --no-resolv --no-hosts \
	--bind-interfaces --listen-address=198.51.100.53 --port=53 --user=root \
	--log-queries --log-facility="$QLOG" --local-ttl=2 --pid-file= \
	--address=/docs.acme.example/10.10.1.10 \
	--host-record=cdn.docs-cdn.example,203.0.113.10,60 \
	>"$TW_WORK/dnsmasq.out" 2>&1 &
DNSMASQ=$!
stop_dnsmasq() { kill "$DNSMASQ" 2>/dev/null; wait "$DNSMASQ" 2>/dev/null; }
tw_at_exit stop_dnsmasq
for _ in $(seq 50); do
	dig +time=1 +tries=1 @198.51.100.53 docs.acme.example +short 2>/dev/null | gq 10.10.1.10 && break
	sleep 0.1
done
# Without toolwall: the upstream answers over UDP and TCP.
if [[ $(dig +time=1 +tries=1 @198.51.100.53 docs.acme.example +short) == 10.10.1.10 &&
	$(dig +tcp +time=1 +tries=1 @198.51.100.53 docs.acme.example +short) == 10.10.1.10 ]]; then
	ok "without toolwall: the upstream answers over UDP and TCP"
else
	not_ok "upstream dnsmasq" "$(cat "$TW_WORK/dnsmasq.out")"
	tap_summary
	exit 1
fi
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
# The call reads its helper from the shared directory it may read.
cp "$BAD" "$TW_WORK/shared/bad.py" && chmod 0644 "$TW_WORK/shared/bad.py"
B=$TW_WORK/shared/bad.py

alive() { kill -0 "$TW_DAEMON_PID" 2>/dev/null; }
dig_in() { twx "$1" "$2" dig +time=2 +tries=1 "${@:3}" @198.51.100.53 +short 2>/dev/null; }
st() { "$TW_BIN" status -j | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }

# ---- DNS over TCP: clients that go away before the answer --------------------
# Allowed names (their answer comes after an upstream round trip: the client
# is gone by then) and a denied one (answered at once, recorded).
out=$(twx $WS c-early /usr/bin/python3 "$B" dns-early docs.acme.example 20 both 2>&1)
out2=$(twx $WS c-early-deny /usr/bin/python3 "$B" dns-early exfil.attacker.example 6 fin 2>&1)
if [[ $out == "sent 20" && $out2 == "sent 6" ]] && alive &&
	[[ $(dig_in $WS c-after-early docs.acme.example) == 10.10.1.10 ]]; then
	ok "26 queries closed (FIN or RST) before their answer: the daemon lives and answers the next"
else
	not_ok "early close" "$out / $out2; alive $(alive && echo yes || echo no)"
fi
# Each refused query of a client that left is still recorded, once.
SIX='
import json, sys
n = sum(r.get("count", 1) for r in map(json.loads, open(sys.argv[1]))
        if r.get("domain") == "exfil.attacker.example" and r.get("action") == "dns"
        and r.get("event") == "deny" and r.get("proto") == "tcp")
sys.exit(0 if n == 6 else 1)'
if tw_eventually python3 -c "$SIX" "$TW_LOG"; then
	ok "the refused name of clients that left is still recorded (6 queries, 6 records)"
else
	not_ok "early close record" "$(grep -c exfil "$TW_LOG") records"
fi

# ---- half a length prefix, a huge length: held, then closed by rule ----------
twx $WS c-half /usr/bin/python3 "$B" dns-half >"$TW_WORK/half.out" 2>&1 &
h1=$!
twx $WS c-huge /usr/bin/python3 "$B" dns-huge >"$TW_WORK/huge.out" 2>&1 &
h2=$!
sleep 0.5
# While both stall: same context over TCP and UDP, another context over TCP.
a1=$(dig_in $WS c-while-udp docs.acme.example)
a2=$(dig_in $WS c-while-tcp docs.acme.example +tcp)
a3=$(dig_in channel:acme/general c-while-other docs.acme.example +tcp)
wait $h1 $h2
read -r _ _ t1 <"$TW_WORK/half.out"
read -r _ _ t2 <"$TW_WORK/huge.out"
if [[ $a1 == 10.10.1.10 && $a2 == 10.10.1.10 && $a3 == 10.10.1.10 ]]; then
	ok "with half a length prefix and a 65535-byte promise pending, others are answered (UDP, TCP, other context)"
else
	not_ok "answers during stalls" "udp '$a1' tcp '$a2' other '$a3'"
fi
if grep -q "^closed after" "$TW_WORK/half.out" && grep -q "^closed after" "$TW_WORK/huge.out" &&
	python3 -c "import sys; sys.exit(0 if float('$t1') <= 4 and float('$t2') <= 4 else 1)"; then
	ok "both stalled clients are closed by the daemon's time limit (${t1}s, ${t2}s)"
else
	not_ok "DNS client time limit" "$(cat "$TW_WORK/half.out" "$TW_WORK/huge.out")"
fi

# ---- 1000 connections from one call --------------------------------------------
twx $WS c-flood /usr/bin/python3 "$B" dns-flood 1000 3 >"$TW_WORK/flood.out" 2>&1 &
fl=$!
sleep 1
a1=$(dig_in $WS c-flood-udp docs.acme.example)
a2=$(dig_in channel:acme/general c-flood-other docs.acme.example +tcp)
wait $fl
read -r _ opened _ closed <"$TW_WORK/flood.out"
if [[ $a1 == 10.10.1.10 && $a2 == 10.10.1.10 ]] && alive; then
	ok "1000 connections from one call: UDP in its context and TCP in another are answered"
else
	not_ok "flood: answers" "udp '$a1' other tcp '$a2'; $(cat "$TW_WORK/flood.out")"
fi
refused=$(st 's["dns"]["tcp_clients"]["refused"]')
if [[ ${opened:-0} -ge 900 && ${closed:-0} -ge 900 && $refused -ge 900 ]]; then
	ok "the flood is held to the per-context limit: $closed of $opened closed, $refused refused (status)"
else
	not_ok "flood limit" "$(cat "$TW_WORK/flood.out"); refused $refused"
fi
if [[ $(dig_in $WS c-after-flood docs.acme.example +tcp) == 10.10.1.10 ]] && alive; then
	ok "after the flood, the flooding context's own TCP queries are answered again"
else
	not_ok "after flood"
fi

# ---- control socket: a stalled client delays nothing ---------------------------
python3 "$BAD" ctl-stall 12 3 >"$TW_WORK/stall.out" 2>&1 &
stall=$!
sleep 0.5
# call-start and call-end go through the control socket too.
a1=$(dig_in $WS c-stall-dig docs.acme.example)
r1=$(twx $WS c-stall-deny "$P" tcp 10.50.1.10 80 2>/dev/null)
if [[ $a1 == 10.10.1.10 ]] && kill -0 $stall 2>/dev/null; then
	ok "a stalled control client (half a request) delays no DNS answer (dig in a call)"
else
	not_ok "dig during control stall" "'$a1'"
fi
if [[ $r1 == "ERR EPERM" ]] &&
	tw_eventually $AC "$TW_LOG" c-stall-deny event=deny action=connect dst=10.50.1.10 >/dev/null &&
	kill -0 $stall 2>/dev/null; then
	ok "a stalled control client delays no event: the denied connect's record appears"
else
	not_ok "record during control stall" "probe '$r1'"
fi
if [[ $(st 's["daemon"]["pid"]') == "$TW_DAEMON_PID" ]] && kill -0 $stall 2>/dev/null; then
	ok "status answers while the control socket has stalled clients"
else
	not_ok "status during stall"
fi
wait $stall
read -r _ cl _ longest <"$TW_WORK/stall.out"
if [[ ${cl:-0} -ge 3 ]] && python3 -c "import sys; sys.exit(0 if 4 <= float('$longest') <= 8 else 1)" &&
	[[ $(st 's["control"]["timeouts"]') -ge 3 ]]; then
	ok "stalled control clients are closed at the time limit ($cl closed, longest ${longest}s)"
else
	not_ok "control time limit" "$(cat "$TW_WORK/stall.out")"
fi

# ---- control socket: bad requests ------------------------------------------------
out=$(python3 "$BAD" ctl-big)
if grep -q '"ok":false.*request longer than 65536 bytes' <<<"$out" && alive; then
	ok "a 70 KB request is refused with a clear error"
else
	not_ok "big request" "${out:0:200}"
fi
out=$(python3 "$BAD" ctl-garbage)
if grep -q '"ok":false.*not a JSON object' <<<"$out" && alive; then
	ok "a request that is not JSON gets an error reply"
else
	not_ok "garbage request" "$out"
fi
out=$(python3 "$BAD" ctl-early 50)
if [[ $out == "sent 50" ]] && sleep 0.3 && alive &&
	[[ $(st 's["daemon"]["pid"]') == "$TW_DAEMON_PID" ]]; then
	ok "50 clients that reset before their reply: the daemon lives"
else
	not_ok "control early reset" "$out"
fi
out=$(python3 "$BAD" ctl-flood 100)
if [[ $out == "status ok" ]] && alive &&
	[[ $(st 's["control"]["evicted"]') -gt 0 ]]; then
	ok "100 idle control connections: a new request is still served (oldest idle dropped)"
else
	not_ok "control flood" "$out"
fi
out=$(python3 - <<'PY'
import json, socket
s = socket.socket(socket.AF_UNIX); s.connect("/run/toolwall/control.sock")
s.sendall(b'{"op":"hello"}\n'); r = json.loads(s.makefile().readline())
print(r["v"], "status" in r["ops"] and "call-start" in r["ops"])
PY
)
[[ $out == "1 True" ]] && ok "hello: protocol version 1 and the operations" || not_ok "hello" "$out"

# ---- the daemon is the one that started -----------------------------------------
if alive && grep -q '"event":"daemon","action":"start"' "$TW_LOG" &&
	[[ $(grep -c '"event":"daemon"' "$TW_LOG") -eq 1 ]]; then
	ok "one daemon all along: a single daemon start record, no restart"
else
	not_ok "daemon restarted" "$(grep '"event":"daemon"' "$TW_LOG")"
fi

tap_summary
