#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The learned-address table (user/daemon/learned.c) under load: a context
# that resolves far more addresses than its quota cannot make a reload fail
# (a revocation takes effect at once), a full quota refuses only that
# context's new answers (REFUSED, with a record), and expiry frees room.
# The upstream is a real dnsmasq on the test host 198.51.100.53 serving
# 1100 names of 64 addresses each from a hosts file; the clients are dig
# (each process resolving a hundred names, as a crawler would) and the
# probe. TW_LEARNED_NAMES sets the number of names.
#
# Before the table was bounded (commit 4370b70 and earlier) this failed:
# the flood learned 140802 entries in 271 s (a linear scan per address),
# the reload was refused with "learned address map update: Argument list
# too long" (the copy into the second slot filled tw_learned, 262144
# entries, and stayed full), so the revoked name kept connecting, and
# another context's fresh answer was answered but its address denied
# (nothing more fit the map); no over-quota answer was ever refused.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
P=$TW_PROBE
WS=workspace:acme
BULK=channel:acme/bulk
QUOTA=channel:acme/quota
EXPIRY=channel:acme/expiry
# names x 64 addresses x 2 protocols: more than one slot of tw_learned
# holds (TW_MAX_LEARNED / 2), so a reload that copied them all would fail
NBULK=${TW_LEARNED_NAMES:-1100}

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

# ---- the policy: channels that may resolve the test names -------------------
cat >"$TW_POLICY/bundles/bulk.json" <<'JSON'
{ "bundle": "bulk",
  "description": "names with many addresses, two we keep or revoke, small ones",
  "connect": ["*.bulk.example:443", "udp://*.bulk.example:443",
              "keep.q.example:443", "revoked.q.example:443", "*.s.example:443"] }
JSON
cat >"$TW_POLICY/test-channels.json" <<'JSON'
[ { "channel": "bulk", "workspace": "acme", "step_up": ["bulk"] },
  { "channel": "quota", "workspace": "acme", "step_up": ["bulk"] },
  { "channel": "expiry", "workspace": "acme", "step_up": ["bulk"] } ]
JSON
"$TW_BIN" check -p "$TW_POLICY" >/dev/null || { not_ok "test policy"; tap_summary; exit 1; }

# ---- the upstream ------------------------------------------------------------
HOSTS=$TW_WORK/bulk.hosts
python3 - "$HOSTS" "$NBULK" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for k in range(n):
        for i in range(64):
            a = k * 64 + i  # in 198.18.0.0/15: public-looking, never special
            f.write("198.%d.%d.%d n%d.bulk.example\n" % (18 + (a >> 16), (a >> 8) & 255, a & 255, k))
PY
nsenter --net="$TW_NETNS_PATH" -- dnsmasq --keep-in-foreground --no-resolv --no-hosts \
	--bind-interfaces --listen-address=198.51.100.53 --port=53 --user=root \
	--local-ttl=3600 --pid-file= --addn-hosts="$HOSTS" \
	--host-record=cdn.docs-cdn.example,203.0.113.10 \
	--host-record=keep.q.example,203.0.113.10 \
	--host-record=revoked.q.example,203.0.113.11 \
	--host-record=s1.s.example,198.19.1.1 --host-record=s2.s.example,198.19.1.2 \
	--host-record=s3.s.example,198.19.1.3 --host-record=s4.s.example,198.19.1.4 \
	--host-record=s5.s.example,198.19.1.5 \
	--host-record=e1.s.example,198.19.2.1,1 --host-record=e2.s.example,198.19.2.2,1 \
	--host-record=e3.s.example,198.19.2.3 \
	>"$TW_WORK/dnsmasq.out" 2>&1 &
DNSMASQ=$!
stop_dnsmasq() { kill "$DNSMASQ" 2>/dev/null; wait "$DNSMASQ" 2>/dev/null; }
tw_at_exit stop_dnsmasq
for _ in $(seq 100); do
	dig +time=1 +tries=1 @198.51.100.53 n7.bulk.example +short 2>/dev/null | gq . && break
	sleep 0.1
done
if [[ $(dig +time=1 +tries=1 @198.51.100.53 n7.bulk.example +short | wc -l) == 64 ]]; then
	ok "upstream dnsmasq answers 64 addresses per bulk name"
else
	not_ok "upstream dnsmasq" "$(cat "$TW_WORK/dnsmasq.out")"
	tap_summary
	exit 1
fi
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }

# q CONTEXT ID DIG-ARGS...: dig inside a tool call (one try)
q() { local c=$1 id=$2; shift 2; twx "$c" "$id" dig +time=3 +tries=1 "$@" 2>/dev/null; }
status_of() { grep -o 'status: [A-Z]*' <<<"$1" | head -1; }

# ---- a reload with the learned table full ---------------------------------------
got=$(q $BULK l-keep @198.51.100.53 keep.q.example +short; q $BULK l-rev @198.51.100.53 revoked.q.example +short)
[[ $got == $'203.0.113.10\n203.0.113.11' ]] && ok "bulk channel resolves keep.q.example and revoked.q.example" ||
	not_ok "resolve keep/revoked" "$got"
expect_probe "revoked.q.example's address connects while the name is allowed" "OK" -- \
	twx $BULK l-rev-ok "$P" tcp 203.0.113.11 443

# In batches of 100 names, one dig process each: a batch that gives up
# early does not end the flood.
seq 0 $((NBULK - 1)) | sed 's/^/n/; s/$/.bulk.example/' |
	split -l 100 - "$TW_WORK/shared/bulk.names."
t0=$(date +%s)
for f in "$TW_WORK"/shared/bulk.names.*; do
	twx $BULK l-flood dig +time=5 +tries=1 @198.51.100.53 -f "$f" >>"$TW_WORK/flood.out" 2>&1
done
t1=$(date +%s)
echo "# flood: $(grep -c 'status: NOERROR' "$TW_WORK/flood.out") answered," \
	"$(grep -c 'status: REFUSED' "$TW_WORK/flood.out") refused in $((t1 - t0)) s"

sed -i 's/"revoked.q.example:443"/"keep2.q.example:443"/' "$TW_POLICY/bundles/bulk.json"
out=$("$TW_BIN" reload 2>&1)
rc=$?
if [[ $rc -eq 0 ]]; then
	ok "the reload succeeds after the flood"
else
	not_ok "reload with many learned names" "rc $rc: $(head -c 300 <<<"$out")"
	tail -3 "$TW_WORK/daemon.out" | sed 's/^/# /'
fi
expect_probe "the revoked name's address is denied at once" "ERR EPERM" -- \
	twx $BULK l-rev-gone "$P" tcp 203.0.113.11 443
expect_probe "the kept name's address still connects" "OK" -- \
	twx $BULK l-keep-ok "$P" tcp 203.0.113.10 443
got=$(q $WS l-ws @198.51.100.53 cdn.docs-cdn.example +short)
[[ $got == 203.0.113.10 ]] && ok "another context resolves after the flood" ||
	not_ok "other context resolves" "$got"
expect_probe "and connects to what it learned" "OK" -- \
	twx $WS l-ws-conn "$P" tcp 203.0.113.10 443
if "$TW_BIN" status -j | python3 -c '
import json, sys
s = json.load(sys.stdin)
c = {x["name"]: x for x in s["contexts"]}
b = c["channel:acme/bulk"]
assert b["max_learned"] == 1024 and 0 < b["learned"] <= 1024, b
assert c["workspace:acme"]["learned"] >= 1, c["workspace:acme"]
assert s["dns"]["quota_refused"] > 0, s["dns"]
assert sum(x["learned"] for x in c.values()) == len(s["dns"]["addresses"])'; then
	ok "status -j: learned addresses per context against max_learned (1024 by default)"
else
	not_ok "status -j learned per context"
fi
"$TW_BIN" status | gq "channel:acme/bulk .*learned [0-9]*/1024" &&
	ok "status shows the same as text" || not_ok "status text" "$("$TW_BIN" status | grep bulk)"

# ---- a full quota refuses only that context's new answers ----------------------
python3 - "$TW_POLICY/test-channels.json" <<'PY'
import json, sys
f = sys.argv[1]
c = json.load(open(f))
for x in c:
    if x["channel"] == "quota":
        x["dns"] = {"max_learned": 4}
    if x["channel"] == "expiry":
        x["dns"] = {"max_learned": 2}
json.dump(c, open(f, "w"), indent=1)
PY
"$TW_BIN" reload >/dev/null && ok "a reload sets per-channel quotas" || not_ok "reload with quotas"
all=""
for i in 1 2 3 4; do
	all+="$(status_of "$(q $QUOTA l-s$i @198.51.100.53 s$i.s.example)") "
done
[[ $all == "status: NOERROR status: NOERROR status: NOERROR status: NOERROR " ]] &&
	ok "four names fill a quota of 4" || not_ok "fill the quota" "$all"
got=$(q $QUOTA l-s5 @198.51.100.53 s5.s.example)
if [[ $(status_of "$got") == "status: REFUSED" ]] &&
	tw_eventually $AC "$TW_LOG" l-s5 event=deny action=dns domain=s5.s.example \
		context=$QUOTA comm=dig 'reason~learned-address quota full: channel:acme/quota holds 4 of its 4' >/dev/null; then
	ok "the fifth name is REFUSED, with a dns record naming the quota, the process and the call"
else
	not_ok "over quota" "$(status_of "$got") $(grep s5.s.example "$TW_LOG" | tail -1 | cut -c1-300)"
fi
expect_probe "nothing of the refused answer was granted" "ERR EPERM" -- \
	twx $QUOTA l-s5-conn "$P" tcp 198.19.1.5 443
got=$(q $QUOTA l-s1again @198.51.100.53 s1.s.example +short)
[[ $got == 198.19.1.1 ]] && ok "a name it holds still resolves (no new room needed)" ||
	not_ok "refresh within quota" "$got"
got=$(q $WS l-ws2 @198.51.100.53 cdn.docs-cdn.example +short)
[[ $got == 203.0.113.10 ]] && ok "another context keeps resolving while that quota is full" ||
	not_ok "other context during full quota" "$got"
expect_probe "and keeps connecting" "OK" -- twx $WS l-ws2-conn "$P" tcp 203.0.113.10 443
got=$(q $BULK l-keep2 @198.51.100.53 keep.q.example +short)
[[ $got == 203.0.113.10 ]] && ok "the flooded channel re-resolves a name it holds" ||
	not_ok "bulk channel refresh" "$got"

# ---- expiry frees quota ---------------------------------------------------------
all=""
for i in 1 2; do
	all+="$(status_of "$(q $EXPIRY l-e$i @198.51.100.53 e$i.s.example)") "
done
got=$(q $EXPIRY l-e3 @198.51.100.53 e3.s.example)
if [[ $all == "status: NOERROR status: NOERROR " && $(status_of "$got") == "status: REFUSED" ]]; then
	ok "two 1-second names fill a quota of 2; a third is refused"
else
	not_ok "expiry quota fill" "$all / $(status_of "$got")"
fi
sleep 3.5 # TTL 1 s + the grace of 2 s
got=$(q $EXPIRY l-e3b @198.51.100.53 e3.s.example +short)
[[ $got == 198.19.2.3 ]] && ok "once they expire, the third name is answered" ||
	not_ok "expiry frees quota" "$got"

tap_summary
