# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The brokered-credential test bed shared by the kernel tests of the
# broker run by the daemon (test_brokered.sh, test_broker_ops.sh) and its
# benchmark. It sources tap.sh, netns.sh and toolwall.sh; call bk_env_up: test
# hosts, an HTTPS echo service with its own test CA in the test namespace
# (10.20.1.10 and fd00:10:10:1::10 port 8443 brokered for tracker-agent,
# 10.30.1.10:8443 for warehouse-reader with scope read; port 8444 allowed
# but not brokered; port 8445 brokered but serving a certificate of a CA
# nobody trusts), the reference policy's upstream resolver (dnsmasq), the
# policy (with what the test's bk_policy_extra, if defined, adds), and the
# daemon with its broker ready. BK_DNSMASQ_EXTRA: more dnsmasq options
# (words), set before bk_env_up.
#
#   svc_n LOG               requests the service LOG (svc, plain, rogue) got
#   svc_hdr LOG N HEADER    HEADER of its Nth request (1-based)
#   rec_of PATH             the request records of PATH (failure messages)
#   bk FIELD                a field of the broker's status
#   status                  `toolwall status -j`

_BK_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$_BK_LIB/tap.sh"
source "$_BK_LIB/netns.sh"
source "$_BK_LIB/toolwall.sh"

PY=/usr/bin/python3
WS=workspace:acme
GEN=channel:acme/general
DATA=channel:acme/data-team
SVC4=10.20.1.10
SVC6=fd00:10:10:1::10
WH=10.30.1.10
PORT=8443
ROGUE_PORT=8445
PH_RE='twph_[0-9a-f]{32}'
SVC_PIDS=()

_bk_certs()
{
	local T=$1
	# cert NAME CA: a certificate for the service's names, signed by CA
	cert()
	{
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$T/$1.key" -out "$T/$1.csr" -subj /CN=api.tracker.example &&
			openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" \
				-CAcreateserial -out "$T/$1.pem" -days 2 -extfile "$T/ext"
	}
	{
		for ca in testca rogueca; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$T/$ca.key" -out "$T/$ca.pem" -days 2 -subj "/CN=tw-$ca" || return 1
		done
		printf 'subjectAltName=DNS:api.tracker.example,DNS:granted.tracker.example,DNS:forget.tracker.example,IP:%s,IP:%s,IP:%s\n' \
			"$SVC4" "$SVC6" "$WH" >"$T/ext" &&
			cert svc testca && cert rogue rogueca
	} >"$T/openssl.log" 2>&1
}

# start_svc PORT LOG [CERT]: the echo on every test address ([::] is dual-stack)
start_svc()
{
	local cert=${3:-svc}
	nsenter --net="$TW_NETNS_PATH" -- python3 "$TW_ROOT/tests/lib/https_echo.py" --addr :: \
		--port "$1" --port-file "$TW_WORK/$2.port" --log "$TW_WORK/$2.log" \
		--cert "$TW_WORK/$cert.pem" --key "$TW_WORK/$cert.key" 2>"$TW_WORK/$2.err" &
	SVC_PIDS+=($!)
	tw_eventually test -s "$TW_WORK/$2.port"
}
stop_svc() { local p; for p in "${SVC_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
stop_dnsmasq() { kill "$BK_DNSMASQ" 2>/dev/null; wait "$BK_DNSMASQ" 2>/dev/null; }

# The reference policy, edited: tracker-agent brokered at IPv4, IPv6, a
# name (write) and the rogue port, warehouse-reader brokered (read) with
# its own header, the test CA trusted for upstreams.
_bk_policy()
{
	$PY - "$TW_POLICY" "$TW_WORK/testca.pem" <<'PY'
import json, os, re, sys
pol, ca = sys.argv[1:]
f = os.path.join(pol, "bundles", "issue-tracker.json")
t = open(f).read()
t = t.replace('"api.tracker.example:443",', '"api.tracker.example:443", "api.tracker.example:8443", "[fd00:10:10:1::10]:8443", "10.20.1.10:8445",')
# (the name answers 203.0.113.10, an address of its own: one origin per
# address and port is what the redirect knows)
t = re.sub(r'"services": \[[^]]*\]', '"services": ["https://10.20.1.10:8443", "https://[fd00:10:10:1::10]:8443", "https://api.tracker.example:8443", "https://10.20.1.10:8445"]', t)
open(f, "w").write(t)
f = os.path.join(pol, "bundles", "warehouse-read.json")
t = open(f).read()
t = t.replace('"10.30.0.0/16:5439",', '"10.30.0.0/16:5439", "10.30.1.10:8443",')
t = t.replace('"file": ', '"services": ["https://10.30.1.10:8443"], "header": "X-Api-Key: {}", "file": ')
open(f, "w").write(t)
f = os.path.join(pol, "workspace.json")
t = open(f).read()
t = t.replace('"mode": "enforce",', '"mode": "enforce", "broker": {"upstream_ca": "%s"},' % ca)
open(f, "w").write(t)
PY
}

status() { "$TW_BIN" status -j 2>/dev/null; }
bk() { status | $PY -c 'import json,sys; b=json.load(sys.stdin)["broker"]; print(b.get(sys.argv[1], ""))' "$1"; }
bk_ready() { [[ $(bk ready) == True ]]; }
rec_of() { grep '"event":"request"' "$TW_LOG" | grep -F "\"path\":\"$1\"" | tail -2; }
svc_n() { if [[ -f $TW_WORK/$1.log ]]; then wc -l <"$TW_WORK/$1.log"; else echo 0; fi; }
svc_hdr()
{
	$PY - "$TW_WORK/$1.log" "$2" "$3" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
if len(recs) < int(sys.argv[2]):
    sys.exit("the service got %d requests" % len(recs))
r = recs[int(sys.argv[2]) - 1]
print("\n".join(v for k, v in r["headers"] if k.lower() == sys.argv[3].lower()))
PY
}

# bk_env_up: everything above; says not ok and returns 1 on failure.
bk_env_up()
{
	tw_hosts_up || { not_ok "test hosts up"; return 1; }
	tw_setup_host || { not_ok "host setup"; return 1; }
	_bk_certs "$TW_WORK" || { not_ok "test certificates" "$(tail -3 "$TW_WORK/openssl.log")"; return 1; }
	cp "$TW_WORK/testca.pem" "$TW_WORK/shared/testca.pem" # to reach it directly
	chmod 0644 "$TW_WORK/testca.pem" "$TW_WORK/shared/testca.pem"
	tw_at_exit stop_svc
	start_svc $PORT svc && start_svc 8444 plain && start_svc $ROGUE_PORT rogue rogue ||
		{ not_ok "test services start" "$(cat "$TW_WORK"/*.err)"; return 1; }
	nsenter --net="$TW_NETNS_PATH" -- dnsmasq --keep-in-foreground --no-resolv --no-hosts \
		--bind-interfaces --listen-address=198.51.100.53 --port=53 --user=root \
		--local-ttl=30 --pid-file= --address=/api.tracker.example/203.0.113.10 \
		--address=/granted.tracker.example/203.0.113.11 ${BK_DNSMASQ_EXTRA:-} \
		>"$TW_WORK/dnsmasq.out" 2>&1 &
	BK_DNSMASQ=$!
	tw_at_exit stop_dnsmasq
	_bk_policy || { not_ok "test policy"; return 1; }
	# a test's own additions to the policy, if it defines them
	if declare -F bk_policy_extra >/dev/null; then
		bk_policy_extra || { not_ok "the test's own policy additions"; return 1; }
	fi
	local out
	out=$("$TW_BIN" check -p "$TW_POLICY" 2>&1)
	[[ $? == 0 ]] && ok "the test policy checks" || { not_ok "test policy" "$out"; return 1; }
	export TOOLWALL_BROKER_DIR=$TW_WORK/broker
	tw_daemon_start || { not_ok "daemon starts"; return 1; }
	tw_eventually bk_ready &&
		ok "the daemon runs the broker (status: ready, pid $(bk pid), port $(bk port))" ||
		{ not_ok "broker ready" "$(status | head -c 600) $(tail -5 "$TW_WORK/daemon.out")"; return 1; }
}
