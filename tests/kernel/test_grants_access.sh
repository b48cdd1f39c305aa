#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What a grant of a bundle gives besides its address rules (issue 14):
#   - its DNS names: answered by the context's resolver while the grant
#     lasts (TTL cut to the time left), the answered addresses allowed to
#     the context until the grant's deadline, in the kernel; after expiry or
#     revoke the name is refused again and a connect to the once-learned
#     address is denied by the kernel, also with the daemon SIGKILLed before
#     the expiry; learned addresses survive a daemon restart
#   - its credentials (env and $TOOLWALL_CREDENTIALS_DIR), repositories,
#     skills and instructions, for calls that START while it lasts: not for
#     a call started before, nor after expiry
#   - a per-call grant (--call-id): that call gets the credentials,
#     repositories, skills and instructions; a sibling call does not; names
#     are not covered (the resolver knows the context, not the call)
# The upstream is a real dnsmasq on a test host; clients are dig, python3
# and the probes.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
P=$TW_PROBE
WS=workspace:acme
GEN=channel:acme/general
TW=$TW_BIN
NAME=granted.acme.example
ADDR=203.0.113.11
BRIEF=brief.acme.example # TTL 5: it ends before the grant
BRIEF_ADDR=203.0.113.10

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

# ---- the upstream, and the bundle granted -----------------------------------
nsenter --net="$TW_NETNS_PATH" -- dnsmasq --keep-in-foreground --no-resolv --no-hosts \
	--bind-interfaces --listen-address=198.51.100.53 --port=53 --user=root \
	--pid-file= --host-record=$NAME,$ADDR,60 --host-record=$BRIEF,$BRIEF_ADDR,5 \
	--address=/docs.acme.example/10.10.1.10 \
	>"$TW_WORK/dnsmasq.out" 2>&1 &
DNSMASQ=$!
stop_dnsmasq() { kill "$DNSMASQ" 2>/dev/null; wait "$DNSMASQ" 2>/dev/null; }
tw_at_exit stop_dnsmasq
for _ in $(seq 50); do
	dig +time=1 +tries=1 @198.51.100.53 $NAME +short 2>/dev/null | gq $ADDR && break
	sleep 0.1
done

GX=$TW_WORK/gx
mkdir -p -m 0755 "$GX" "$GX/repo" "$GX/skills"
echo granted-repo >"$GX/repo/README"
chmod 0644 "$GX/repo/README"
printf '#!/bin/sh\necho extra-tool-ran\n' >"$GX/skills/extra-tool"
chmod 0755 "$GX/skills/extra-tool"
SECRET=xtr-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && echo "$SECRET" >"$TW_STORES/agent/extra-token")
cat >"$TW_POLICY/bundles/grant-extra.json" <<EOF
{ "bundle": "grant-extra", "description": "granted in the tests: a name, and what calls get",
  "connect": ["$NAME:443", "$BRIEF:443"],
  "credentials": [ { "name": "extra-token", "scope": "read", "env": "EXTRA_TOKEN",
                     "file": "$TW_STORES/agent/extra-token" } ],
  "repositories": [ { "path": "$GX/repo", "access": "read" } ],
  "skills": ["$GX/skills/extra-tool"],
  "instructions": "Extra rule: read only." }
EOF
"$TW" check -p "$TW_POLICY" >/dev/null || not_ok "the test policy checks"
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts"

expect()
{
	if [[ $3 == "$2" ]]; then ok "$1"; else not_ok "$1" "got '$3', want '$2'"; fi
}

# dq CTX ID: dig NAME in a call: "STATUS [TTL ADDR]".
dq()
{
	twx "$1" "$2" dig +time=2 +tries=1 @198.51.100.53 $NAME 2>/dev/null |
		awk -v n="$NAME." '/status:/ { st = $6; sub(/,/, "", st) }
			$1 == n && $4 == "A" { a = " " $2 " " $5 }
			END { print st a }'
}
# probe CTX CMD...: the probe's first line from a call of CTX.
probe() { local c=$1; shift; twx "$c" "p$BASHPID" "$P" "$@" 2>/dev/null | head -1; }
# in_ctx CMD...: as root in GEN's own cgroup (no daemon involved).
"$TW" status -j >"$TW_WORK/status.json"
GEN_CG=$(python3 - "$GEN" "$TW_WORK/status.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[2]))
for c in st["contexts"]:
    if c["name"] == sys.argv[1]:
        print(st["daemon"]["cgroup_root"] + "/" + c["cgroup"])
PY
)
in_ctx() { bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$GEN_CG" "$@" 2>/dev/null | head -1; }
grant_id() { sed -n 's/^grant \(g-[0-9a-f]*\):.*/\1/p' <<<"$1"; }
left_of() { "$TW" grants -j | python3 -c 'import json,sys; print([g["expires_in_s"] for g in json.load(sys.stdin)["grants"] if g["id"] == sys.argv[1]][0])' "$1"; }

# What a call holds of the bundle: its credential (env, file), repository,
# skill and instructions; "-" / "no" for what it does not.
ACCESS='t=${EXTRA_TOKEN:--}
f=$(cat "$TOOLWALL_CREDENTIALS_DIR/extra-token" 2>/dev/null) || f=-
r=$(cat "$1/repo/README" 2>/dev/null) || r=-
s=$("$1/skills/extra-tool" 2>/dev/null) || s=-
if grep -q "Extra rule" "$TOOLWALL_INSTRUCTIONS_FILE" 2>/dev/null; then i=yes; else i=no; fi
echo "tok=$t file=$f repo=$r skill=$s instr=$i"'
access() { twx "$1" "$2" sh -c "$ACCESS" sh "$GX" 2>/dev/null; }
HAS="tok=$SECRET file=$SECRET repo=granted-repo skill=extra-tool-ran instr=yes"
NONE="tok=- file=- repo=- skill=- instr=no"


# ---- before the grant ---------------------------------------------------------
expect "before: $NAME is refused in $GEN (NXDOMAIN)" NXDOMAIN "$(dq $GEN b-dig)"
expect "before: a connect to $ADDR:443 is denied" "ERR EPERM" "$(probe $GEN tcp $ADDR 443)"
expect "before: a call holds nothing of the bundle" "$NONE" "$(access $GEN b-acc)"
# A call that starts now and looks after the grant.
mkdir -m 0777 "$TW_WORK/shared/pre"
twx $GEN pre sh -c 'touch "$2/started"; while [ ! -e "$2/go" ]; do sleep 0.1; done; '"$ACCESS" \
	sh "$GX" "$TW_WORK/shared/pre" >"$TW_WORK/pre.out" 2>/dev/null &
PRE=$!
tw_eventually test -e "$TW_WORK/shared/pre/started" || not_ok "the call started before the grant runs"

# ---- during the grant -----------------------------------------------------------
LEN=30
out=$("$TW" grant $GEN grant-extra --for ${LEN}s --approved-by alice --reason "names test")
G1=$(grant_id "$out")
[[ -n $G1 ]] && ok "grant of a bundle with a name ($G1)" || not_ok "grant of a bundle with a name" "$out"
left=$(left_of "$G1")
got=$(dq $GEN d-dig)
read -r st ttl a <<<"$got"
if [[ $st == NOERROR && $a == "$ADDR" && -n $ttl ]] && ((ttl <= left && ttl < 60)); then
	ok "during: $NAME resolves in $GEN, TTL $ttl <= time left ${left}s (upstream: 60)"
else
	not_ok "during: $NAME resolves with TTL <= time left" "got '$got', time left $left"
fi
expect "during: a connect to the learned $ADDR:443 works" OK "$(probe $GEN tcp $ADDR 443)"
expect "during: by name, from python3 (the call's own resolver)" OK \
	"$(twx $GEN d-py python3 -c 'import socket,sys
socket.create_connection((sys.argv[1], 443), timeout=3).close(); print("OK")' $NAME 2>&1 | tail -1)"
expect "during: the learned address, another port: denied" "ERR EPERM" "$(probe $GEN tcp $ADDR 80)"
expect "during: the name in $WS: still refused" NXDOMAIN "$(dq $WS d-ws)"
expect "during: $ADDR:443 from $WS: denied" "ERR EPERM" "$(probe $WS tcp $ADDR 443)"
expect "during: a call started now holds the credential, repository, skill, instructions" \
	"$HAS" "$(access $GEN d-acc)"
expect "during: a call of $WS holds none of it" "$NONE" "$(access $WS d-wsacc)"
touch "$TW_WORK/shared/pre/go"
wait $PRE
expect "a call started before the grant does not gain it" "$NONE" "$(cat "$TW_WORK/pre.out")"
tw_eventually $AC "$TW_LOG" b-dig event=deny action=dns domain=$NAME >/dev/null 2>&1 &&
	ok "before: the refused lookup is recorded" || not_ok "before: the refused lookup is recorded"
if $AC "$TW_LOG" d-dig event=deny action=dns domain=$NAME >/dev/null 2>&1; then
	not_ok "during: the granted lookup is no denial"
else
	ok "during: the granted lookup is no denial"
fi

# ---- after expiry -----------------------------------------------------------------
got=$(tw_poll_until NXDOMAIN $((LEN + 10)) dq $GEN e-dig)
expect "after expiry: $NAME is refused again (NXDOMAIN)" NXDOMAIN "$got"
expect "after expiry: a connect to the once-learned $ADDR:443 is denied" "ERR EPERM" \
	"$(probe $GEN tcp $ADDR 443)"
expect "after expiry: a new call holds nothing of the bundle" "$NONE" "$(access $GEN e-acc)"
tw_eventually $AC "$TW_LOG" - event=expire grant_id="$G1" >/dev/null 2>&1 &&
	ok "expire record" || not_ok "expire record"

# ---- the daemon SIGKILLed before the expiry ------------------------------------------
G2=$(grant_id "$("$TW" grant $GEN grant-extra --for 8s --approved-by bob)")
got=$(dq $GEN k-dig)
[[ $got == "NOERROR "*" $ADDR" ]] && ok "(daemon alive) the name resolves" || not_ok "(daemon alive) the name resolves" "$got"
expect "(daemon alive) the learned address is allowed" OK "$(in_ctx "$P" tcp $ADDR 443)"
tw_daemon_kill9
expect "(daemon SIGKILLed) still allowed before the expiry" OK "$(in_ctx "$P" tcp $ADDR 443)"
got=$(tw_poll_until "ERR EPERM" 20 in_ctx "$P" tcp $ADDR 443)
expect "(daemon dead) the kernel denies the learned address at the grant's expiry" "ERR EPERM" "$got"
tw_daemon_start || not_ok "daemon restarts"
tw_eventually $AC "$TW_LOG" - event=expire grant_id="$G2" >/dev/null 2>&1 &&
	ok "the restarted daemon writes the expire record" || not_ok "expire record after restart"
expect "after the restart: the name is refused" NXDOMAIN "$(dq $GEN k-dig2)"

# ---- learned addresses survive a restart; revoke ends them at once -------------------
G3=$(grant_id "$("$TW" grant $GEN grant-extra --for 10m --approved-by carol)")
got=$(dq $GEN r-dig)
[[ $got == "NOERROR "*" $ADDR" ]] && ok "the name resolves ($G3)" || not_ok "the name resolves" "$got"
# An answer's TTL shorter than the grant: its address ends with the TTL.
got=$(twx $GEN r-brief dig +time=2 +tries=1 @198.51.100.53 $BRIEF +short 2>/dev/null)
expect "a name with TTL 5 resolves" "$BRIEF_ADDR" "$got"
# (allowed for the TTL and TW_DNS_GRACE_S: 7 s from the answer)
expect "its address is allowed" OK "$(in_ctx "$P" tcp $BRIEF_ADDR 443)"
got=$(tw_poll_until "ERR EPERM" 20 in_ctx "$P" tcp $BRIEF_ADDR 443)
expect "...and denied once its TTL (and the grace) ran out, the grant still live" "ERR EPERM" "$got"
expect "...while the grant's other address is still allowed" OK "$(in_ctx "$P" tcp $ADDR 443)"
tw_daemon_kill9
tw_daemon_start || not_ok "daemon restarts"
expect "after a restart: the learned address is still allowed" OK "$(in_ctx "$P" tcp $ADDR 443)"
"$TW" revoke "$G3" >/dev/null
expect "revoke: the learned address is denied at once" "ERR EPERM" "$(in_ctx "$P" tcp $ADDR 443)"
expect "revoke: the name is refused" NXDOMAIN "$(dq $GEN r-dig2)"

# ---- a per-call grant ------------------------------------------------------------------
G4=$(grant_id "$("$TW" grant $GEN grant-extra --for 10m --approved-by dave --call-id pc1)")
[[ -n $G4 ]] && ok "per-call grant ($G4)" || not_ok "per-call grant"
expect "per-call: call pc1 holds the credential, repository, skill, instructions" "$HAS" "$(access $GEN pc1)"
expect "per-call: a sibling call holds none of it" "$NONE" "$(access $GEN pc2)"
expect "per-call: names are not covered (NXDOMAIN in pc1 too)" NXDOMAIN "$(dq $GEN pc1)"
"$TW" revoke "$G4" >/dev/null
expect "per-call: after revoke, pc1 holds nothing" "$NONE" "$(access $GEN pc1)"

# ---- the credential value stays out of the records ---------------------------------------
if grep -qF "$SECRET" "$TW_LOG"; then
	not_ok "the granted credential's value is in no record"
else
	ok "the granted credential's value is in no record"
fi

tap_summary
