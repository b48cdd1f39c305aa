#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# FQDN allowlists: every port-53 packet of a context goes to toolwall's
# resolver, which answers only names the context's bundles allow and grants
# the answered addresses for their TTL. The upstream is a real dnsmasq on a
# test host (198.51.100.53, the reference policy's upstream) whose query log
# proves what did and did not reach it. Clients: dig, getent, curl, python.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
P=$TW_PROBE
WS=workspace:acme

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

# ---- the upstream: dnsmasq, authoritative for the test names ---------------
QLOG=$TW_WORK/upstream.log
big=$(printf '"%0200d",' 1 2 3 4 5 6 7 8 9 10)
nsenter --net="$TW_NETNS_PATH" -- dnsmasq --keep-in-foreground --no-resolv --no-hosts \
	--bind-interfaces --listen-address=198.51.100.53 --port=53 --user=root \
	--log-queries --log-facility="$QLOG" --local-ttl=2 --pid-file= \
	--address=/docs.acme.example/10.10.1.10 \
	--address=/api.tracker.example/10.20.1.10 \
	--address=/warehouse.acme.example/10.30.1.10 \
	--address=/evil.acme.example/10.50.1.10 \
	--host-record=cdn.docs-cdn.example,203.0.113.10,60 \
	--address=/many.docs-cdn.example/203.0.113.10 \
	--address=/opcode-probe.docs-cdn.example/203.0.113.10 \
	--address=/many.docs-cdn.example/203.0.113.11 \
	--host-record=docs-cdn.example,203.0.113.10 \
	--host-record=deep.a.b.docs-cdn.example,203.0.113.11 \
	--host-record=v6only.docs-cdn.example,2001:db8:1::10 \
	--cname=alias.docs-cdn.example,target.elsewhere.example \
	--host-record=target.elsewhere.example,203.0.113.11 \
	--address=/rebind.docs-cdn.example/127.0.0.1 \
	--address=/meta.docs-cdn.example/169.254.169.254 \
	--address=/self.docs-cdn.example/203.0.113.1 \
	--txt-record=big.docs-cdn.example,"${big%,}" \
	>"$TW_WORK/dnsmasq.out" 2>&1 &
DNSMASQ=$!
# Ours to stop (netns.sh only stops the processes it started itself).
stop_dnsmasq() { kill "$DNSMASQ" 2>/dev/null; wait "$DNSMASQ" 2>/dev/null; }
tw_at_exit stop_dnsmasq
for _ in $(seq 50); do
	dig +time=1 +tries=1 @198.51.100.53 docs.acme.example +short 2>/dev/null | gq 10.10.1.10 && break
	sleep 0.1
done
if dig +time=1 +tries=1 @198.51.100.53 docs.acme.example +short | gq 10.10.1.10; then
	ok "upstream dnsmasq answers on 198.51.100.53"
else
	not_ok "upstream dnsmasq" "$(cat "$TW_WORK/dnsmasq.out")"
	tap_summary
	exit 1
fi
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }

# q CONTEXT ID DIG-ARGS...: dig inside a tool call (one try, short timeout)
q() { local c=$1 id=$2; shift 2; twx "$c" "$id" dig +time=2 +tries=1 "$@" 2>/dev/null; }
upstream_saw() { grep -qi -- "$1" "$QLOG"; }

# ---- allowed names resolve, and only then connect ---------------------------
expect_probe "before any lookup, 203.0.113.10:443 is denied" "ERR EPERM" -- \
	twx $WS d-pre "$P" tcp 203.0.113.10 443
got=$(q $WS d-dig @198.51.100.53 docs.acme.example +short)
[[ $got == 10.10.1.10 ]] && ok "dig: an allowed name resolves through toolwall" ||
	not_ok "dig allowed name" "$got"
got=$(q $WS d-dig-any @10.255.255.53 cdn.docs-cdn.example +short)
[[ $got == 203.0.113.10 ]] && ok "DNS to any server address is answered by toolwall's resolver" ||
	not_ok "redirect of an arbitrary server" "$got"
got=$(twx $WS d-getent getent hosts cdn.docs-cdn.example 2>/dev/null | awk '{print $1}')
[[ $got == 203.0.113.10 ]] && ok "getent (glibc resolver) resolves an allowed name" ||
	not_ok "getent" "$got"
got=$(twx $WS d-py /usr/bin/python3 -c '
import socket
ai = socket.getaddrinfo("cdn.docs-cdn.example", 443, socket.AF_INET, socket.SOCK_STREAM)
a = ai[0][4]
s = socket.create_connection(a, timeout=3); s.close(); print("OK", a[0])' 2>"$TW_WORK/py.err")
[[ $got == "OK 203.0.113.10" ]] && ok "python: getaddrinfo then connect to the learned address" ||
	not_ok "python getaddrinfo+connect" "$got $(head -c 300 "$TW_WORK/py.err")"
if twx $WS d-curl curl -s -m 3 -o /dev/null http://cdn.docs-cdn.example:443/ 2>/dev/null; then
	ok "curl by name works"
else
	not_ok "curl by name"
fi
expect_probe "learned: 203.0.113.10:443 is now allowed" "OK" -- \
	twx $WS d-learned "$P" tcp 203.0.113.10 443
expect_probe "learned with the rule's ports only: 203.0.113.10:80 denied" "ERR EPERM" -- \
	twx $WS d-learned-port "$P" tcp 203.0.113.10 80
expect_probe "learned per context: #general did not look it up, denied" "ERR EPERM" -- \
	twx channel:acme/general d-other-ctx "$P" tcp 203.0.113.10 443
if "$TW_BIN" status -j | python3 -c '
import json, sys
s = json.load(sys.stdin)["dns"]
assert s["queries"] > 0 and s["answered"] > 0 and s["redirected"] > 0
assert any(a["addr"] == "203.0.113.10" and a["context"] == "workspace:acme"
           and a["ports"] == "443" for a in s["addresses"])'; then
	ok "status -j shows resolver counters and learned addresses"
else
	not_ok "status dns"
fi

out=$("$TW_BIN" explain -p "$TW_POLICY" $WS 203.0.113.10:443)
if [[ $? -eq 0 ]] && grep -q "for now.*cdn.docs-cdn.example" <<<"$out" &&
	grep -q "tcp 203.0.113.10 port 443  <- cdn.docs-cdn.example" <<<"$("$TW_BIN" compile -p "$TW_POLICY")"; then
	ok "explain and compile show the addresses learned right now"
else
	not_ok "explain/compile learned" "$out"
fi
"$TW_BIN" explain -p "$TW_POLICY" channel:acme/general 203.0.113.10:443 >/dev/null
[[ $? -eq 1 ]] && ok "explain: learned in one context only" || not_ok "explain other context"

# ---- names a context may not use ----------------------------------------------
got=$(q $WS d-sib @198.51.100.53 evil.acme.example)
if grep -q "status: NXDOMAIN" <<<"$got" && ! upstream_saw evil.acme.example &&
	$AC "$TW_LOG" d-sib event=deny action=dns domain=evil.acme.example proto=udp \
		context=$WS comm=dig requester=tester 'reason~no bundle of workspace:acme allows the name' >/dev/null; then
	ok "a sibling name gets NXDOMAIN, a dns record naming the process and call, and never reaches upstream"
else
	not_ok "sibling name" "$(grep status: <<<"$got")"
fi
got=$(q $WS d-sibt @198.51.100.53 evil2.acme.example +tcp)
if grep -q "status: NXDOMAIN" <<<"$got" &&
	$AC "$TW_LOG" d-sibt event=deny action=dns domain=evil2.acme.example proto=tcp comm=dig >/dev/null; then
	ok "over TCP too: NXDOMAIN, and the record names dig and the call"
else
	not_ok "sibling name over TCP" "$(grep status: <<<"$got") $(grep evil2 "$TW_LOG" | tail -1)"
fi
got=$(q $WS d-apex @198.51.100.53 docs-cdn.example)
grep -q "status: NXDOMAIN" <<<"$got" && ok "*.docs-cdn.example does not cover docs-cdn.example itself" ||
	not_ok "wildcard apex" "$(grep status: <<<"$got")"
# One label "leak.docs-cdn" under "example" (dig's escaped dot) prints like
# a name below docs-cdn.example but is none (found by tests/fuzz/fuzz_dns).
got=$(q $WS d-ldot @198.51.100.53 'leak\.docs-cdn.example')
if grep -q "status: NXDOMAIN" <<<"$got" && ! upstream_saw leak &&
	$AC "$TW_LOG" d-ldot event=deny action=dns >/dev/null; then
	ok "a dot inside a label is no subdomain: NXDOMAIN, recorded, nothing upstream"
else
	not_ok "dot inside a label" "$(grep status: <<<"$got") $(grep -c leak "$QLOG")"
fi
# Only a standard query of class IN goes upstream, whatever name it carries
# (the same names resolve as plain queries: the refusal is the opcode's).
got=$(q $WS d-notify @198.51.100.53 +opcode=notify opcode-probe.docs-cdn.example)
if grep -q "status: NOTIMP" <<<"$got" && ! upstream_saw opcode-probe; then
	ok "a NOTIFY for an allowed name: NOTIMP, nothing upstream"
else
	not_ok "opcode" "$(grep status: <<<"$got") $(grep -c opcode-probe "$QLOG")"
fi
got=$(q $WS d-chaos @198.51.100.53 -c CH class-probe.docs-cdn.example TXT)
if grep -q "status: REFUSED" <<<"$got" && ! upstream_saw class-probe; then
	ok "class CH for an allowed name: REFUSED, nothing upstream"
else
	not_ok "class" "$(grep status: <<<"$got") $(grep -c class-probe "$QLOG")"
fi
got=$(q $WS d-plain @198.51.100.53 opcode-probe.docs-cdn.example +short)
[[ -n $got ]] && upstream_saw opcode-probe && ok "... the same name as a standard query is answered" ||
	not_ok "standard query of the probe name" "$got"
got=$(q $WS d-deep @198.51.100.53 deep.a.b.docs-cdn.example +short)
[[ $got == 203.0.113.11 ]] && ok "*.docs-cdn.example covers any depth" || not_ok "wildcard depth" "$got"
got=$(q $WS d-wh @198.51.100.53 warehouse.acme.example)
if grep -q "status: NXDOMAIN" <<<"$got" &&
	grep -q '"domain":"warehouse.acme.example".*"hint":"bundle warehouse-read (held by channel:acme/data-team)"' "$TW_LOG"; then
	ok "a name of another context: NXDOMAIN with the hint"
else
	not_ok "warehouse name from the workspace" "$(grep status: <<<"$got")"
fi
got=$(q channel:acme/data-team d-wh2 @198.51.100.53 warehouse.acme.example +short)
[[ $got == 10.30.1.10 ]] && ok "the data-team channel resolves the warehouse" || not_ok "step-up name" "$got"

tunnel=""
for i in 1 2 3; do
	tunnel+=$(head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 60).
done
got=$(q $WS d-tunnel @198.51.100.53 "${tunnel}tunnel.example" TXT)
if grep -q "status: NXDOMAIN" <<<"$got" && ! upstream_saw tunnel.example; then
	ok "tunnelling attempt: NXDOMAIN, and the upstream's query log shows nothing arrived"
else
	not_ok "tunnelling" "$(grep status: <<<"$got")"
fi
expect_probe "DNS-like traffic to the upstream on another port is an address denial" "ERR EPERM" -- \
	twx $WS d-5353 "$P" udp 198.51.100.53 5353

# ---- rebinding and CNAMEs ----------------------------------------------------------
got=$(q $WS d-rebind @198.51.100.53 rebind.docs-cdn.example)
if grep -q "status: REFUSED" <<<"$got" &&
	grep -q '"domain":"rebind.docs-cdn.example".*"reason":"rebinding' "$TW_LOG"; then
	ok "rebinding to 127.0.0.1 is refused and recorded"
else
	not_ok "rebinding" "$(grep status: <<<"$got")"
fi
got=$(q $WS d-meta @198.51.100.53 meta.docs-cdn.example)
grep -q "status: REFUSED" <<<"$got" && ok "rebinding to the cloud metadata address is refused" ||
	not_ok "metadata rebinding" "$(grep status: <<<"$got")"
# 203.0.113.1 is public-looking, but it is this host's end of the test veth.
got=$(q $WS d-self @198.51.100.53 self.docs-cdn.example)
grep -q "status: REFUSED" <<<"$got" && grep -q '"domain":"self.docs-cdn.example".*"answer":"203.0.113.1"' "$TW_LOG" &&
	ok "rebinding to one of this host's own addresses is refused" ||
	not_ok "own-address rebinding" "$(grep status: <<<"$got")"
got=$(q $WS d-cname @198.51.100.53 alias.docs-cdn.example +short | tail -1)
[[ $got == 203.0.113.11 ]] && ok "CNAME chain followed within the answer" || not_ok "cname" "$got"
expect_probe "the CNAME target's address is granted" "OK" -- \
	twx $WS d-cname-conn "$P" tcp 203.0.113.11 443
got=$(q $WS d-cname-t @198.51.100.53 target.elsewhere.example)
grep -q "status: NXDOMAIN" <<<"$got" && ok "a CNAME target never widens what may be resolved" ||
	not_ok "cname target" "$(grep status: <<<"$got")"

# ---- IPv6-only names, TCP, truncation, EDNS0 ----------------------------------
got=$(q $WS d-v6 @198.51.100.53 v6only.docs-cdn.example AAAA +short)
[[ $got == 2001:db8:1::10 ]] && ok "AAAA of an IPv6-only name" || not_ok "aaaa" "$got"
expect_probe "the learned IPv6 address connects" "OK" -- \
	twx $WS d-v6-conn "$P" tcp 2001:db8:1::10 443
got=$(q $WS d-tcp @198.51.100.53 +tcp docs.acme.example +short)
[[ $got == 10.10.1.10 ]] && ok "DNS over TCP is redirected and answered" || not_ok "tcp dns" "$got"
got=$(q $WS d-tc @198.51.100.53 +noedns +ignore big.docs-cdn.example TXT)
grep -q "flags:.* tc" <<<"$got" && ok "a large answer to a 512-byte client is truncated (TC)" ||
	not_ok "truncation" "$(grep flags: <<<"$got")"
got=$(q $WS d-tc-retry @198.51.100.53 +noedns big.docs-cdn.example TXT)
[[ $(grep -c 000000000 <<<"$got") -ge 1 ]] && grep -q "status: NOERROR" <<<"$got" &&
	ok "the client's TCP retry gets the whole answer" || not_ok "tcp retry" "$(grep -E 'status|flags' <<<"$got")"
got=$(q $WS d-edns @198.51.100.53 +bufsize=4096 big.docs-cdn.example TXT)
if grep -q "status: NOERROR" <<<"$got" && ! grep -q "flags:.* tc" <<<"$got"; then
	ok "EDNS0: a 4096-byte client gets the large answer over UDP"
else
	not_ok "edns0" "$(grep -E 'status|flags' <<<"$got")"
fi

# ---- many addresses, a slow upstream --------------------------------------
got=$(q channel:acme/general d-many @198.51.100.53 many.docs-cdn.example +short | sort | tr '\n' ' ')
if [[ $got == "203.0.113.10 203.0.113.11 " ]] &&
	twx channel:acme/general d-many-1 "$P" tcp 203.0.113.10 443 >/dev/null 2>&1 &&
	twx channel:acme/general d-many-2 "$P" tcp 203.0.113.11 443 >/dev/null 2>&1; then
	ok "a name with several addresses: every one is granted"
else
	not_ok "many addresses" "$got"
fi
# The first upstream never answers (nothing holds 198.51.100.99): after its
# 2 s timeout the second one does, and other queries are not held up.
cp "$TW_POLICY/workspace.json" "$TW_WORK/ws.orig"
sed -i 's/"upstream": \["198.51.100.53:53"\]/"upstream": ["198.51.100.99:53", "198.51.100.53:53"]/' \
	"$TW_POLICY/workspace.json"
"$TW_BIN" reload >/dev/null
q $WS d-slow @198.51.100.53 api.tracker.example +time=5 +short >"$TW_WORK/slow.out" &
slow=$!
sleep 0.3
fast=$(q channel:acme/data-team d-fast @198.51.100.53 docs-missing.acme.example)
kill -0 $slow 2>/dev/null && pending=yes || pending=no # still waiting upstream?
wait $slow
if [[ $(cat "$TW_WORK/slow.out") == 10.20.1.10 ]] && grep -q "status: NXDOMAIN" <<<"$fast" &&
	[[ $pending == yes ]]; then
	ok "a slow upstream: failover to the next one; other queries answered meanwhile"
else
	not_ok "slow upstream" "slow '$(cat "$TW_WORK/slow.out")', other answered while pending: $pending"
fi
cp "$TW_WORK/ws.orig" "$TW_POLICY/workspace.json"
"$TW_BIN" reload >/dev/null

# ---- TTL expiry -------------------------------------------------------------------------
q $WS d-ttl @198.51.100.53 deep.a.b.docs-cdn.example +short >/dev/null
expect_probe "freshly learned 203.0.113.11:443 works" "OK" -- \
	twx $WS d-ttl-ok "$P" tcp 203.0.113.11 443
sleep 5.5 # TTL 2 s + grace 2 s
expect_probe "after TTL and grace the address is denied again" "ERR EPERM" -- \
	twx $WS d-ttl-gone "$P" tcp 203.0.113.11 443

# ---- a dead upstream: SERVFAIL, counted, no hang --------------------------------
kill "$DNSMASQ" 2>/dev/null
wait "$DNSMASQ" 2>/dev/null
start=$(date +%s)
got=$(q $WS d-down @198.51.100.53 api.tracker.example)
took=$(($(date +%s) - start))
if grep -q "status: SERVFAIL" <<<"$got" &&
	"$TW_BIN" status -j | python3 -c 'import json,sys; assert json.load(sys.stdin)["dns"]["servfail"] > 0'; then
	ok "upstream down: SERVFAIL, counted (${took}s)"
else
	not_ok "upstream down" "$(grep status: <<<"$got") after ${took}s"
fi

tap_summary
