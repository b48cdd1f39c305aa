#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The credential broker on its own (`toolwall broker --config`), with real
# TLS on both sides: curl as the client trusting only the broker's CA, a
# Python HTTPS service as the upstream with a certificate from a test CA the
# broker is told to trust. Proves: the placeholder becomes the value only in
# the credential's header, at its own service, in its scope; it stays a
# placeholder in any other header, service or context; fronting (Host or SNI
# naming another origin) is refused; an upstream whose certificate does not
# verify gets no request; bodies pass intact both ways (chunked upload,
# large download); every request has one `request` record that never holds
# the value or the placeholder.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"

ROOT=$(cd "$HERE/../.." && pwd)
TW=$ROOT/toolwall
ECHO=$ROOT/tests/lib/https_echo.py
TOK_W=twph_0123456789abcdef0123456789abcdef
TOK_R=twph_fedcba9876543210fedcba9876543210
TOK_OTHER=twph_00112233445566778899aabbccddeeff
PIDS=()

T=$(mktemp -d /tmp/twbroker.XXXXXX) || exit 1
cleanup()
{
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
tw_at_exit cleanup

SECRET_W=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
SECRET_R=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s' "$SECRET_W" >"$T/tracker.cred"
printf '%s' "$SECRET_R" >"$T/warehouse.cred"
chmod 600 "$T"/*.cred

# A test CA for the upstream, and a certificate for both service names.
cert()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=$1" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$T/$1-srv.key" -out "$T/$1-srv.csr" \
			-subj /CN=api.tracker.example &&
		printf 'subjectAltName=DNS:api.tracker.example,DNS:db.warehouse.example\n' >"$T/ext" &&
		openssl x509 -req -in "$T/$1-srv.csr" -CA "$T/$1.pem" -CAkey "$T/$1.key" \
			-CAcreateserial -out "$T/$1-srv.pem" -days 2 -extfile "$T/ext"
}
if ! { cert upca && cert rogue; } >"$T/openssl.log" 2>&1; then
	not_ok "test certificates" "$(tail -3 "$T/openssl.log")"
	tap_summary
	exit 1
fi

# start_echo NAME CERT-PREFIX: an HTTPS upstream; sets UP_PORT.
start_echo()
{
	local i
	python3 "$ECHO" --addr 127.0.0.1 --port-file "$T/$1.port" --log "$T/$1.log" \
		--cert "$T/$2-srv.pem" --key "$T/$2-srv.key" 2>"$T/$1.err" &
	PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		[[ -s $T/$1.port ]] && break
		sleep 0.1
	done
	UP_PORT=$(cat "$T/$1.port" 2>/dev/null)
	[[ -n $UP_PORT ]]
}
start_echo up upca || { not_ok "upstream starts" "$(cat "$T/up.err")"; tap_summary; exit 1; }
GOOD=$UP_PORT
start_echo rogue rogue || { not_ok "rogue upstream starts"; tap_summary; exit 1; }
ROGUE=$UP_PORT

# The upstream works without the broker (the test CA, the placeholder as is).
got=$(curl -sS --cacert "$T/upca.pem" --connect-to "api.tracker.example:443:127.0.0.1:$GOOD" \
	https://api.tracker.example/ping 2>&1)
[[ $got == *'"path": "/ping"'* ]] && ok "the upstream answers without the broker" ||
	not_ok "the upstream answers without the broker" "$got"

cat >"$T/cfg.json" <<EOF
{ "ca_dir": "$T/ca", "upstream_ca": "$T/upca.pem", "records": "$T/records.jsonl",
  "credentials": [
    { "name": "tracker-agent", "scope": "write", "header": "Authorization: Bearer {}",
      "file": "$T/tracker.cred", "services": ["https://api.tracker.example"] },
    { "name": "warehouse-read", "scope": "read", "header": "X-Api-Key: {}",
      "file": "$T/warehouse.cred", "services": ["https://db.warehouse.example"] } ],
  "placeholders": [
    { "token": "$TOK_W", "credential": "tracker-agent", "context": "workspace:acme", "call_id": "call-w" },
    { "token": "$TOK_R", "credential": "warehouse-read", "context": "workspace:acme", "call_id": "call-w" },
    { "token": "$TOK_OTHER", "credential": "tracker-agent", "context": "channel:acme/general", "call_id": "call-g" } ],
  "routes": [
    { "listen": "127.0.0.1:0", "origin": "https://api.tracker.example", "context": "workspace:acme", "upstream": "127.0.0.1:$GOOD" },
    { "listen": "127.0.0.1:0", "origin": "https://db.warehouse.example", "context": "workspace:acme", "upstream": "127.0.0.1:$GOOD" },
    { "listen": "127.0.0.1:0", "origin": "https://api.tracker.example", "context": "channel:acme/sales", "upstream": "127.0.0.1:$ROGUE" } ] }
EOF

"$TW" broker --config "$T/cfg.json" >"$T/ready.json" 2>"$T/broker.err" &
BROKER=$!
PIDS+=($BROKER)
for ((i = 0; i < 100; i++)); do
	[[ -s $T/ready.json ]] && break
	sleep 0.1
done
ready=$(head -1 "$T/ready.json")
route() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["routes"][int(sys.argv[2])]["listen"].rsplit(":",1)[1])' "$ready" "$1"; }
if [[ $ready != *'"ready":true'* ]]; then
	not_ok "broker announces its routes" "$ready $(cat "$T/broker.err")"
	tap_summary
	exit 1
fi
ok "broker announces its routes and CA"
P_TRACKER=$(route 0)
P_WAREHOUSE=$(route 1)
P_ROGUE=$(route 2)
CA=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ca_cert"])' "$ready")
fp=$(openssl x509 -in "$CA" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
[[ $ready == *"\"ca_sha256\":\"$fp\""* ]] && ok "the announced fingerprint is the CA certificate's" ||
	not_ok "the announced fingerprint is the CA certificate's" "$fp vs $ready"
[[ $(stat -c %a "$T/ca/ca.key") == 600 && $(stat -c %a "$T/ca") == 700 ]] &&
	ok "the CA key is root's alone (0600 in a 0700 directory)" ||
	not_ok "the CA key is root's alone" "$(ls -la "$T/ca")"

# bk PORT HOST CURL-ARGS...: HTTPS to HOST through the broker's route.
bk()
{
	local port=$1 host=$2
	shift 2
	curl -sS --max-time 20 --cacert "$CA" --connect-to "$host:443:127.0.0.1:$port" "$@"
}
# upstream_last FIELD: the last request the upstream received, one field.
upstream_last()
{
	python3 - "$T/up.log" "$1" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rec = json.loads(lines[-1]) if lines else {}
field = sys.argv[2]
if field.startswith("h:"):
    want = field[2:].lower()
    print("\n".join(v for k, v in rec.get("headers", []) if k.lower() == want))
else:
    print(rec.get(field, ""))
EOF
}
ups() { wc -l <"$T/up.log"; }

# 1. The value, in its header, at its own service.
got=$(bk "$P_TRACKER" api.tracker.example -H "Authorization: Bearer $TOK_W" \
	-H "X-Trace: $TOK_W" https://api.tracker.example/issues?q=1)
[[ $(upstream_last h:authorization) == "Bearer $SECRET_W" ]] &&
	ok "at its service, the Authorization placeholder reaches the upstream as the value" ||
	not_ok "placeholder swapped at its service" "$(upstream_last h:authorization)"
[[ $(upstream_last h:x-trace) == "$TOK_W" ]] &&
	ok "in any other header it stays the placeholder" ||
	not_ok "placeholder kept in another header" "$(upstream_last h:x-trace)"
[[ $got != *"$SECRET_W"* && $got == *'"path": "/issues?q=1"'* ]] &&
	ok "the answer reaches the call, without the value" || not_ok "answer" "$got"

# 2. At another service (the warehouse route) the tracker's placeholder stays.
bk "$P_WAREHOUSE" db.warehouse.example -H "Authorization: Bearer $TOK_W" \
	https://db.warehouse.example/q >/dev/null
[[ $(upstream_last h:authorization) == "Bearer $TOK_W" ]] &&
	ok "at another service the placeholder stays a placeholder" ||
	not_ok "other service" "$(upstream_last h:authorization)"

# 3. A placeholder of a call in another context stays a placeholder.
bk "$P_TRACKER" api.tracker.example -H "Authorization: Bearer $TOK_OTHER" \
	https://api.tracker.example/x >/dev/null
[[ $(upstream_last h:authorization) == "Bearer $TOK_OTHER" ]] &&
	ok "another context's placeholder stays a placeholder" ||
	not_ok "other context" "$(upstream_last h:authorization)"

# 4. Scope: read allows GET, refuses POST with a 403 that says why.
bk "$P_WAREHOUSE" db.warehouse.example -H "X-Api-Key: $TOK_R" https://db.warehouse.example/rows >/dev/null
[[ $(upstream_last h:x-api-key) == "$SECRET_R" ]] && ok "read scope: GET carries the value" ||
	not_ok "read scope GET" "$(upstream_last h:x-api-key)"
n=$(ups)
got=$(bk "$P_WAREHOUSE" db.warehouse.example -w '\n%{http_code}' -X POST -d x=1 \
	-H "X-Api-Key: $TOK_R" https://db.warehouse.example/rows)
[[ $got == *403 && $got == *"scope read: POST is not allowed"* && $(ups) == "$n" ]] &&
	ok "read scope: POST is refused (403, says why) and never reaches the upstream" ||
	not_ok "read scope POST" "$got"

# 5. Fronting: the Host header or the SNI naming another origin.
n=$(ups)
got=$(bk "$P_TRACKER" api.tracker.example -w '\n%{http_code}' -H "Host: paste.example" \
	-H "Authorization: Bearer $TOK_W" https://api.tracker.example/)
[[ $got == *403 && $got == *"domain fronting"* && $(ups) == "$n" ]] &&
	ok "a Host header naming another origin is refused (403)" || not_ok "Host fronting" "$got"
got=$(curl -sS --max-time 20 --cacert "$CA" -k --connect-to "paste.example:443:127.0.0.1:$P_TRACKER" \
	-w '\n%{http_code}' -H "Host: api.tracker.example" -H "Authorization: Bearer $TOK_W" \
	https://paste.example/ 2>&1)
[[ $got == *403 && $got == *"TLS server name"* && $(ups) == "$n" ]] &&
	ok "an SNI naming another origin is refused (403)" || not_ok "SNI fronting" "$got"

# 6. Bodies both ways: a 3 MB chunked upload, a 5 MB download.
head -c 3000000 /dev/urandom >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
bk "$P_TRACKER" api.tracker.example -H "Authorization: Bearer $TOK_W" \
	-H "Transfer-Encoding: chunked" --data-binary @"$T/up.bin" https://api.tracker.example/up >/dev/null
[[ $(upstream_last body_sha256) == "$want" && $(upstream_last body_len) == 3000000 ]] &&
	ok "a 3 MB chunked upload arrives intact" || not_ok "chunked upload" "$(upstream_last body_len)"
n=$(bk "$P_TRACKER" api.tracker.example "https://api.tracker.example/big?n=5000000" | wc -c)
[[ $n == 5000000 ]] && ok "a 5 MB answer arrives intact" || not_ok "download" "$n bytes"

# 7. Keep-alive: two requests on one connection, each swapped.
got=$(bk "$P_TRACKER" api.tracker.example -H "Authorization: Bearer $TOK_W" \
	https://api.tracker.example/a https://api.tracker.example/b)
tail -2 "$T/up.log" | grep -c "Bearer $SECRET_W" | gq -x 2 &&
	ok "two requests on one kept-alive connection: both carry the value" ||
	not_ok "keep-alive" "$got"

# 8. An upstream whose certificate does not verify gets nothing.
rogue_n() { if [[ -f $T/rogue.log ]]; then wc -l <"$T/rogue.log"; else echo 0; fi; }
n_rogue=$(rogue_n)
got=$(bk "$P_ROGUE" api.tracker.example -w '\n%{http_code}' https://api.tracker.example/)
[[ $got == *502 && $(rogue_n) == "$n_rogue" ]] &&
	ok "an upstream whose certificate does not verify: 502, no request sent" ||
	not_ok "rogue upstream" "$got"

# 9. The records: one per request, no value, no placeholder.
sleep 0.5
R=$T/records.jsonl
python3 - "$R" <<'EOF' && ok "request records: decision, status, credential, bytes, path without query" || not_ok "request records" "$(tail -5 "$R")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
by = lambda path: [r for r in recs if r["path"] == path]
a = by("/issues")[0]
assert a["decision"] == "allow" and a["status"] == 200 and a["credential"] == "tracker-agent", a
assert a["call_id"] == "call-w" and a["host"] == "api.tracker.example" and a["port"] == 443, a
d = [r for r in by("/rows") if r["method"] == "POST"][0]
assert d["decision"] == "deny" and d["status"] == 403 and "scope read" in d["reason"], d
assert d["hint"], d
big = by("/big")[0]
assert big["bytes_in"] >= 5000000, big
up = by("/up")[0]
assert up["bytes_out"] == 3000000, up
assert all(r["event"] == "request" and r["ts"] for r in recs)
EOF
if grep -q -e "$SECRET_W" -e "$SECRET_R" -e "twph_" "$R" "$T/broker.err" "$T/ready.json"; then
	not_ok "no value and no placeholder in the records or the broker's output"
else
	ok "no value and no placeholder in the records or the broker's output"
fi

# 10. Bad configuration: a clear error, exit 1, nothing listens.
printf '{ "ca_dir": "%s/ca2", "routes": [ { "listen": "127.0.0.1:x" } ] }' "$T" >"$T/bad.json"
out=$("$TW" broker --config "$T/bad.json" 2>&1)
rc=$?
[[ $rc == 1 && $out == *"routes[0]"* ]] && ok "a bad route: exit 1 and the error names routes[0]" ||
	not_ok "bad config" "rc=$rc $out"
printf '{ "ca_dir": ' >"$T/bad2.json"
out=$("$TW" broker --config "$T/bad2.json" 2>&1)
rc=$?
[[ $rc == 1 && $out == *"bad2.json:1:"* ]] && ok "broken JSON: exit 1, FILE:LINE:COL" ||
	not_ok "broken JSON" "rc=$rc $out"

kill -0 "$BROKER" 2>/dev/null && ok "the broker is still up after every refusal" ||
	not_ok "broker alive"
tap_summary
