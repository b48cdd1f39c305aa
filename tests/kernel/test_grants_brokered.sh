#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A granted bundle's brokered credential works for calls started while the
# grant lasts (issues 12 and 14), on the real kernel with real clients:
#   - before the grant a call of the context holds no placeholder and cannot
#     reach the service; during it curl with the placeholder reaches the
#     service through the broker, the SERVICE receives the real value, and a
#     `request` record is written; after expiry a new call holds nothing and
#     cannot reach the service
#   - a service the context's own policy allows (not brokered by it) is
#     redirected to the broker while the grant lasts, and reached directly
#     again after expiry, also with the daemon SIGKILLed before the expiry
#     (the redirect carries the grant's deadline into the kernel)
#   - a per-call grant (--call-id): that call's connects are redirected and
#     its placeholder swapped; a sibling call of the same context gets
#     neither placeholder nor redirect
#   - a service the grant gives by a name the context's own rules allow:
#     the address the context learns for it is redirected while the
#     context holds it, and the redirect goes when the context forgets it
#     (its TTL over), though the grant lasts
# Test bed: tests/lib/brokered.sh (HTTPS echo services with their own CA in
# the test namespace, recording every header they receive).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/brokered.sh"

AC="$PY $HERE/../lib/audit_check.py"
GPORT=8446 # granted service: no rule of any context allows WH:8446
OPORT=8447 # SVC4:8447: every context's own rules allow it, none brokers it
GSECRET=""
# granted by name: the test resolver answers 203.0.113.11, an address no
# rule of any context allows and no literal service of the grant holds
GNAME=granted.tracker.example
# a name GEN's own rules allow (and SVC4:FPORT as a literal), answered
# with a TTL of 4 s; the grant brokers it by name
FNAME=forget.tracker.example
FPORT=8448
# shellcheck disable=SC2034 # (read by brokered.sh)
BK_DNSMASQ_EXTRA="--host-record=$FNAME,$SVC4,4"

# The bundle granted: a brokered credential at both services.
bk_policy_extra()
{
	GSECRET=grk-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	(umask 077 && echo "$GSECRET" >"$TW_STORES/agent/granted-key") || return 1
	cat >"$TW_POLICY/bundles/grant-bk.json" <<JSON
{ "bundle": "grant-bk", "description": "granted in the tests: a brokered credential",
  "connect": ["$WH:$GPORT", "$SVC4:$OPORT", "$GNAME:$GPORT", "$FNAME:$FPORT"],
  "credentials": [ { "name": "granted-key", "scope": "write", "env": "GRANTED_TOKEN",
                     "file": "$TW_STORES/agent/granted-key",
                     "services": ["https://$WH:$GPORT", "https://$SVC4:$OPORT", "https://$GNAME:$GPORT", "https://$FNAME:$FPORT"],
                     "header": "X-Granted-Key: {}" } ] }
JSON
	cat >"$TW_POLICY/bundles/forget-name.json" <<JSON
{ "bundle": "forget-name", "description": "$GEN's own: a name and its address",
  "connect": ["$FNAME:$FPORT", "$SVC4:$FPORT"] }
JSON
	$PY - "$TW_POLICY/channels.json" "$GEN" <<'PY'
import json, sys
f, ctx = sys.argv[1:]
chans = json.load(open(f))
for c in chans:
    if "channel:%s/%s" % (c["workspace"], c["channel"]) == ctx:
        c["step_up"] = c.get("step_up", []) + ["forget-name"]
json.dump(chans, open(f, "w"), indent=1)
PY
}

bk_env_up || { tap_summary; exit 1; }
T=$TW_WORK
start_svc $GPORT gsvc && start_svc $OPORT osvc && start_svc $FPORT fsvc ||
	{ not_ok "the granted services start" "$(cat "$T"/gsvc.err "$T"/osvc.err)"; tap_summary; exit 1; }

expect()
{
	if [[ $3 == "$2" ]]; then ok "$1"; else not_ok "$1" "got '$3', want '$2'"; fi
}
grant_id() { sed -n 's/^grant \(g-[0-9a-f]*\):.*/\1/p' <<<"$1"; }
# gcall CTX ID URL: a call with curl sending its placeholder (or "-") in
# X-Granted-Key to URL; prints "TOKEN|HTTP_CODE".
gcall()
{
	twx "$1" "$2" sh -c 't=${GRANTED_TOKEN:--}
c=$(curl -s -o /dev/null --max-time 10 -w "%{http_code}" -H "X-Granted-Key: $t" "$1") || c=${c:-000}
printf "%s|%s" "$t" "$c"' sh "$3" 2>/dev/null
}
GURL=https://$WH:$GPORT/granted
OURL=https://$SVC4:$OPORT/own
NURL=https://$GNAME:$GPORT/named

# in_ctx CMD...: as root in GEN's own cgroup (no daemon involved).
GEN_CG=$(status | $PY -c 'import json, sys
st = json.load(sys.stdin)
print([st["daemon"]["cgroup_root"] + "/" + c["cgroup"] for c in st["contexts"] if c["name"] == sys.argv[1]][0])' "$GEN")
in_ctx() { bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$GEN_CG" "$@" 2>/dev/null; }
# direct: curl to the own-allowed service trusting only the test CA:
# 200 only when the connection reached the service itself, not the broker.
direct() { in_ctx curl -s -o /dev/null --max-time 5 -w '%{http_code}' --cacert "$T/testca.pem" "$OURL/$1"; }

# ---- before the grant ----------------------------------------------------------
n=$(svc_n gsvc)
out=$(gcall $GEN b-g "$GURL")
[[ $out == "-|000" && $(svc_n gsvc) == "$n" ]] &&
	ok "before: the call holds no placeholder and cannot reach the service" ||
	not_ok "before: no placeholder, no service" "$out"
expect "before: a connect to $WH:$GPORT is denied by the kernel" "ERR EPERM" \
	"$(twx $GEN b-p "$TW_PROBE" tcp $WH $GPORT 2>/dev/null | head -1)"
expect "before: the own-allowed service is reached directly" 200 "$(direct b)"
out=$(gcall $GEN b-n "$NURL")
expect "before: the service granted by name is out of reach (no placeholder, name refused)" "-|000" "$out"

# ---- during a grant to the whole context ----------------------------------------
LEN=25
out=$("$TW_BIN" grant $GEN grant-bk --for ${LEN}s --approved-by alice --reason "brokered grant test")
G1=$(grant_id "$out")
[[ -n $G1 ]] && ok "grant of a bundle with a brokered credential ($G1)" || not_ok "grant" "$out"
n=$(svc_n gsvc)
out=$(gcall $GEN d-g "$GURL")
tok=${out%%|*}
[[ $tok =~ ^$PH_RE$ && ${out##*|} == 200 ]] &&
	ok "during: the call holds a placeholder, curl reaches the service (200)" ||
	not_ok "during: placeholder and 200" "$out"
expect "during: the SERVICE receives the real value" "$GSECRET" "$(svc_hdr gsvc $((n + 1)) x-granted-key)"
[[ $out != *"$GSECRET"* ]] && ok "during: the call never sees the value" || not_ok "value in the call"
rec=$(rec_of /granted)
[[ $rec == *'"credential":"granted-key"'* && $rec == *'"decision":"allow"'* && $rec == *"\"context\":\"$GEN\""* ]] &&
	ok "during: a request record names the credential, allow, the context" ||
	not_ok "request record" "$rec"
n=$(svc_n osvc)
out=$(gcall $GEN d-o "$OURL")
[[ ${out##*|} == 200 && $(svc_hdr osvc $((n + 1)) x-granted-key) == "$GSECRET" ]] &&
	ok "during: the own-allowed service is brokered too (the value arrives)" ||
	not_ok "own-allowed service brokered" "$out / $(svc_hdr osvc $((n + 1)) x-granted-key)"
code=$(direct d)
[[ $code != 200 ]] && ok "during: a connect to it from the context reaches the broker, not the service ($code)" ||
	not_ok "during: redirect of the own-allowed service" "$code"
n=$(svc_n gsvc)
out=$(gcall $GEN d-n "$NURL")
[[ ${out%%|*} =~ ^$PH_RE$ && ${out##*|} == 200 && $(svc_hdr gsvc $((n + 1)) x-granted-key) == "$GSECRET" ]] &&
	ok "during: the service granted by name ($GNAME, answered by the grant) is brokered: the value arrives" ||
	not_ok "during: service by name" "$out / $(svc_hdr gsvc $((n + 1)) x-granted-key)"
out=$(gcall $WS d-ws "$GURL")
[[ $out == "-|000" ]] && ok "during: a call of $WS gets neither placeholder nor service" ||
	not_ok "other context" "$out"

# ---- after expiry -----------------------------------------------------------------
got=$(tw_poll_until 200 $((LEN + 10)) direct e)
expect "after expiry: the own-allowed service is reached directly again" 200 "$got"
n=$(svc_n gsvc)
out=$(gcall $GEN e-g "$GURL")
[[ $out == "-|000" && $(svc_n gsvc) == "$n" ]] &&
	ok "after expiry: a new call holds no placeholder and cannot reach the service" ||
	not_ok "after expiry" "$out"
n=$(svc_n osvc)
out=$(twx $GEN e-o sh -c "curl -s -o /dev/null --max-time 10 -w '%{http_code}' --cacert $T/shared/testca.pem -H 'X-Granted-Key: $tok' $OURL" 2>/dev/null)
[[ $out == 200 && $(svc_hdr osvc $((n + 1)) x-granted-key) == "$tok" ]] &&
	ok "after expiry: the own-allowed service is judged by the context's own policy (direct, the old placeholder arrives unchanged)" ||
	not_ok "after expiry: own policy" "$out"
out=$(gcall $GEN e-n "$NURL")
expect "after expiry: the service granted by name is out of reach again" "-|000" "$out"
tw_eventually $AC "$TW_LOG" - event=expire grant_id="$G1" >/dev/null 2>&1 &&
	ok "expire record" || not_ok "expire record"

# ---- the daemon SIGKILLed before the expiry ------------------------------------------
G2=$(grant_id "$("$TW_BIN" grant $GEN grant-bk --for 8s --approved-by bob)")
code=$(direct k)
[[ -n $G2 && $code != 200 ]] && ok "(daemon alive) the context's connects go to the broker ($code)" ||
	not_ok "(daemon alive) redirect" "$G2 $code"
tw_daemon_kill9
code=$(direct k2)
[[ $code != 200 ]] && ok "(daemon SIGKILLed) still redirected before the expiry, never direct ($code)" ||
	not_ok "(daemon dead) before expiry" "$code"
got=$(tw_poll_until 200 20 direct k3)
expect "(daemon dead) the kernel ends the redirect at the grant's expiry: direct again" 200 "$got"
tw_daemon_start || not_ok "daemon restarts"
tw_eventually bk_ready || not_ok "broker ready after the restart"
tw_eventually $AC "$TW_LOG" - event=expire grant_id="$G2" >/dev/null 2>&1 &&
	ok "the restarted daemon writes the expire record" || not_ok "expire record after restart"

# ---- a per-call grant --------------------------------------------------------------------
G3=$(grant_id "$("$TW_BIN" grant $WS grant-bk --for 10m --approved-by carol --call-id pcb1)")
[[ -n $G3 ]] && ok "per-call grant ($G3)" || not_ok "per-call grant"
n=$(svc_n gsvc)
out=$(gcall $WS pcb1 "$GURL")
[[ ${out%%|*} =~ ^$PH_RE$ && ${out##*|} == 200 && $(svc_hdr gsvc $((n + 1)) x-granted-key) == "$GSECRET" ]] &&
	ok "per-call: call pcb1 reaches the service, which receives the value" ||
	not_ok "per-call: pcb1" "$out"
n=$(svc_n osvc)
out=$(twx $WS pcb2 sh -c 'printf "%s|" "${GRANTED_TOKEN:--}"
curl -s -o /dev/null --max-time 10 -w "%{http_code}" --cacert "$1" -H "X-Granted-Key: x" "$2"' sh "$T/shared/testca.pem" "$OURL" 2>/dev/null)
[[ $out == "-|200" && $(svc_hdr osvc $((n + 1)) x-granted-key) == x ]] &&
	ok "per-call: a sibling call holds no placeholder and reaches the own-allowed service directly (not brokered)" ||
	not_ok "per-call: sibling" "$out"
"$TW_BIN" revoke "$G3" >/dev/null
out=$(gcall $WS pcb1 "$GURL")
expect "per-call: after revoke, pcb1 gets nothing" "-|000" "$out"

# ---- a name the context's own rules allow: its learned address, then forgotten -------
fdirect() { in_ctx curl -s -o /dev/null --max-time 5 -w '%{http_code}' --cacert "$T/testca.pem" "https://$SVC4:$FPORT/$1"; }
G4=$(grant_id "$("$TW_BIN" grant $GEN grant-bk --for 10m --approved-by dave)")
expect "(name) before the context learns $FNAME, $SVC4:$FPORT (its own literal) is reached directly" 200 "$(fdirect f0)"
n=$(svc_n fsvc)
out=$(gcall $GEN f-n "https://$FNAME:$FPORT/fname")
[[ ${out%%|*} =~ ^$PH_RE$ && ${out##*|} == 200 && $(svc_hdr fsvc $((n + 1)) x-granted-key) == "$GSECRET" ]] &&
	ok "(name) a call resolves $FNAME by its context's own rules; the learned address is brokered by the grant: the value arrives" ||
	not_ok "(name) learned address brokered" "$out / $(svc_hdr fsvc $((n + 1)) x-granted-key 2>&1)"
code=$(fdirect f1)
[[ $code != 200 ]] && ok "(name) while the context holds the address, its connects go to the broker ($code)" ||
	not_ok "(name) redirect of the learned address" "$code"
got=$(tw_poll_until 200 30 fdirect f2)
live=$("$TW_BIN" grants -j | $PY -c 'import json,sys; print(any(g["id"] == sys.argv[1] for g in json.load(sys.stdin)["grants"]))' "$G4")
[[ $got == 200 && $live == True ]] &&
	ok "(name) the context forgets the address (TTL 4 s): the redirect goes, the grant still lasts" ||
	not_ok "(name) forgotten address" "direct $got, grant live $live"
"$TW_BIN" revoke "$G4" >/dev/null

# ---- the value stays out of the records ---------------------------------------------------
if grep -qF "$GSECRET" "$TW_LOG"; then
	not_ok "the granted credential's value is in no record"
else
	ok "the granted credential's value is in no record"
fi

tap_summary
