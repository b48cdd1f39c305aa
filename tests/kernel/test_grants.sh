#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Time-limited grants and quarantine on the real kernel (issue 14, point 6):
#   - a grant opens exactly what the bundle holds, in exactly that context
#   - at expiry the next connect is refused (polled with a deadline); the
#     daemon writes an `expire` record
#   - the daemon SIGKILLed before the expiry and not restarted: the grant
#     still ends on time (the kernel compares each rule's deadline)
#   - revoke is immediate; a per-call grant does not reach a sibling call
#   - a connection opened during a grant is not cut at expiry; a new one
#     is refused
#   - grants survive a daemon restart and a reload; a reload that removes
#     the bundle ends the grant with a record
#   - quarantine: no connect that starts after the kernel's flag succeeds
#     (measured on the kernel's clock, CLOCK_BOOTTIME, from the loop's own
#     attempts and the quarantine record), the looping call is killed, new
#     calls are refused, every path (TCP, UDP, DNS, unix) is refused, it
#     survives a daemon restart; release ends it
#   - refused grants change nothing
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
IB=$HERE/../lib/inbound.py
QL=$HERE/../lib/qloop.py
P=$TW_PROBE
WS=workspace:acme
GEN=channel:acme/general
DATA=channel:acme/data-team
DM=dm:acme/alice
TW=$TW_BIN

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts"

# probe CTX CMD...: the probe's first line from a tool call of CTX (run in
# $(...): a call id of its own from the subshell's PID).
probe()
{
	local ctx=$1
	shift
	twx "$ctx" "g$BASHPID" "$P" "$@" 2>/dev/null | head -1
}

# expect NAME WANT GOT
expect()
{
	if [[ $3 == "$2" ]]; then ok "$1"; else not_ok "$1" "got '$3', want '$2'"; fi
}

# in_ctx CTX CMD...: CMD run by root, moved into CTX's own cgroup (no
# daemon involved: works with the daemon dead, or the context quarantined).
ctx_cgroup()
{
	python3 - "$1" "$TW_WORK/status.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[2]))
for c in st["contexts"]:
    if c["name"] == sys.argv[1]:
        print(st["daemon"]["cgroup_root"] + "/" + c["cgroup"])
PY
}
"$TW" status -j >"$TW_WORK/status.json"
GEN_CG=$(ctx_cgroup $GEN)
WS_CG=$(ctx_cgroup $WS)
in_ctx()
{
	local cg=$1
	shift
	bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@" 2>/dev/null | head -1
}

# grant_id OUTPUT: the id `toolwall grant` printed.
grant_id() { sed -n 's/^grant \(g-[0-9a-f]*\):.*/\1/p' <<<"$1"; }

# until_refused DEADLINE_S CMD...: poll CMD (a probe printing OK or ERR ...)
# until it is refused; prints the last output.
# (A connect begun just before the deadline whose SYN the egress hook
# judges just after it never connects: ETIMEDOUT, after 2 s. That probe
# says nothing either way; the next one must be refused.)
until_refused()
{
	local deadline=$(($(date +%s) + $1)) out
	shift
	while :; do
		out=$("$@")
		[[ $out != OK && $out != "ERR ETIMEDOUT" ]] && break
		(($(date +%s) > deadline)) && break
		sleep 0.2
	done
	echo "$out"
}

# ---- refused grants change nothing --------------------------------------
before=$(wc -l <"$TW_LOG")
refused()
{
	local name=$1 want=$2
	shift 2
	local out rc
	out=$("$TW" grant "$@" 2>&1)
	rc=$?
	if [[ $rc == 1 && $out == *"$want"* ]]; then
		ok "refused: $name"
	else
		not_ok "refused: $name" "exit $rc: $out"
	fi
}
refused "a personal bundle in a channel" "personal" \
	$GEN recruiting --for 5m --approved-by alice
refused "an unknown bundle" "no bundle nope" \
	$GEN nope --for 5m --approved-by alice
refused "an unknown context" "no context channel:acme/nope" \
	channel:acme/nope warehouse-read --for 5m --approved-by alice
refused "longer than max_grant (8h)" "at most 8h" \
	$GEN warehouse-read --for 9h --approved-by alice
refused "zero duration" "more than 0s" \
	$GEN warehouse-read --for 0s --approved-by alice
refused "a bundle the context holds" "holds bundle issue-tracker already" \
	$GEN issue-tracker --for 5m --approved-by alice
out=$("$TW" grant $GEN warehouse-read --for 5m 2>&1)
expect "no --approved-by: usage error (2)" 2 "$?"
out=$("$TW" grant $GEN warehouse-read --for 5x --approved-by a 2>&1)
expect "a bad DURATION: usage error (2)" 2 "$?"
expect "refused grants: none live" 0 "$("$TW" grants -j | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["grants"]))')"
if grep -q '"event":"grant"' <(tail -n +"$((before + 1))" "$TW_LOG"); then
	not_ok "refused grants: no grant record"
else
	ok "refused grants: no grant record"
fi
expect "refused grants: the channel still cannot reach the warehouse" \
	"ERR EPERM" "$(twx $GEN ghint "$P" tcp 10.30.1.10 5439 2>/dev/null | head -1)"

# The denial's hint names the grant command.
$AC "$TW_LOG" ghint event=deny \
	'hint~toolwall grant channel:acme/general warehouse-read --for 15m --approved-by WHO' \
	>/dev/null 2>&1 && ok "a denial's hint names the exact grant command" ||
	not_ok "a denial's hint names the exact grant command" "$($AC "$TW_LOG" ghint event=deny 2>&1 | tail -c 500)"

# ---- a grant opens exactly the bundle, in exactly that context ----------
LEN=6
out=$("$TW" grant $GEN warehouse-read --for ${LEN}s --approved-by alice --reason "incident 42")
G1=$(grant_id "$out")
[[ -n $G1 ]] && ok "grant prints its id and expiry ($G1)" || not_ok "grant prints its id" "$out"
mkdir -m 0777 "$TW_WORK/shared/keep"
twx $GEN keep python3 "$IB" keep tcp 10.30.1.10 5439 "$TW_WORK/shared/keep" >"$TW_WORK/keep.out" 2>/dev/null &
KEEP=$!
expect "granted: tcp 10.30.1.10:5439 (the bundle's CIDR)" OK "$(probe $GEN tcp 10.30.1.10 5439)"
expect "granted: udp 10.30.0.53:8125" OK "$(probe $GEN udp-sendmsg 10.30.0.53 8125)"
expect "granted: [fd00:30::5]:5439 (IPv6 rule)" OK "$(probe $GEN tcp fd00:30::5 5439)"
expect "not granted: 10.30.1.10 port 80 (not in the bundle)" "ERR EPERM" "$(probe $GEN tcp 10.30.1.10 80)"
expect "not granted: 10.50.1.10:5439 (no rule)" "ERR EPERM" "$(probe $GEN tcp 10.50.1.10 5439)"
expect "other context: workspace:acme still refused" "ERR EPERM" "$(probe $WS tcp 10.30.1.10 5439)"
expect "other context: the DM still refused" "ERR EPERM" "$(probe $DM tcp 10.30.1.10 5439)"
tw_eventually test -e "$TW_WORK/shared/keep/ready" || not_ok "long-lived connection opened"
$AC "$TW_LOG" - event=grant grant_id="$G1" approved_by=alice operator=root \
	reason="incident 42" context=$GEN bundle=warehouse-read 'expires~Z' >/dev/null 2>&1 &&
	ok "grant record: grant_id, approved_by, operator, reason, expires" ||
	not_ok "grant record" "$($AC "$TW_LOG" - event=grant 2>&1 | tail -c 600)"
st=$("$TW" status -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["grants"]; print(g[0]["id"] if g else "", g[0]["expires_in_s"] if g else -1)')
[[ $st == "$G1 "* ]] && ok "status shows the live grant and its time left ($st s)" || not_ok "status shows the grant" "$st"

out=$("$TW" -p "$TW_POLICY" explain $GEN 10.30.1.10:5439)
rc=$?
[[ $rc == 0 && $out == *"grant $G1"*"left"* ]] && ok "explain names the live grant and its time left" ||
	not_ok "explain names the live grant" "exit $rc: $out"
out=$("$TW" -p "$TW_POLICY" explain $WS 10.30.1.10:5439)
expect "explain: the grant does not answer for another context" 1 "$?"

# ---- expiry ----------------------------------------------------------------
got=$(until_refused $((LEN + 10)) probe $GEN tcp 10.30.1.10 5439)
expect "at expiry the next connect is refused" "ERR EPERM" "$got"
if tw_eventually $AC "$TW_LOG" - event=expire grant_id="$G1" >/dev/null 2>&1; then
	ok "expire record"
else
	not_ok "expire record"
fi
echo 1 >"$TW_WORK/shared/keep/go"
wait $KEEP
expect "a connection opened during the grant is not cut at expiry" "OK OK" "$(cat "$TW_WORK/keep.out")"
expect "a new connection after expiry is refused" "ERR EPERM" "$(probe $GEN tcp 10.30.1.10 5439)"

# ---- the daemon killed before the expiry: the kernel ends the grant --------
out=$("$TW" grant $GEN warehouse-read --for 4s --approved-by alice)
G2=$(grant_id "$out")
expect "(daemon alive) granted" OK "$(in_ctx "$GEN_CG" "$P" tcp 10.30.1.10 5439)"
tw_daemon_kill9
expect "(daemon SIGKILLed) still granted before the expiry" OK "$(in_ctx "$GEN_CG" "$P" tcp 10.30.1.10 5439)"
got=$(until_refused 14 in_ctx "$GEN_CG" "$P" tcp 10.30.1.10 5439)
expect "(daemon dead, not restarted) the grant ends on time" "ERR EPERM" "$got"
tw_daemon_start || not_ok "daemon restarts"
if tw_eventually $AC "$TW_LOG" - event=expire grant_id="$G2" >/dev/null 2>&1; then
	ok "the restarted daemon writes the expire record"
else
	not_ok "the restarted daemon writes the expire record"
fi

# ---- revoke is immediate ----------------------------------------------------
G3=$(grant_id "$("$TW" grant $GEN warehouse-read --for 10m --approved-by bob)")
expect "(before revoke) granted" OK "$(probe $GEN tcp 10.30.1.10 5439)"
"$TW" revoke "$G3" --reason "done early" >/dev/null
expect "revoke is immediate: the next connect is refused" "ERR EPERM" "$(probe $GEN tcp 10.30.1.10 5439)"
$AC "$TW_LOG" - event=revoke grant_id="$G3" operator=root approved_by=bob \
	reason="done early" >/dev/null 2>&1 && ok "revoke record" ||
	not_ok "revoke record" "$($AC "$TW_LOG" - event=revoke 2>&1 | tail -c 600)"
out=$("$TW" revoke "$G3" 2>&1)
expect "revoking it again: refused (1)" 1 "$?"

# ---- a per-call grant does not reach a sibling call ------------------------
G4=$(grant_id "$("$TW" grant $GEN --connect 10.50.1.10:80 --for 10m --approved-by carol --call-id callA)")
mkdir -m 0777 "$TW_WORK/shared/sib"
twx $GEN callB python3 "$QL" 10.50.1.10 80 "$TW_WORK/shared/sib/b" 3 >/dev/null 2>&1 &
SIB=$!
expect "per-call grant: call callA reaches 10.50.1.10:80" OK "$(twx $GEN callA "$P" tcp 10.50.1.10 80 2>/dev/null | head -1)"
wait $SIB
if grep -q " OK" "$TW_WORK/shared/sib/b" || ! grep -q " EPERM" "$TW_WORK/shared/sib/b"; then
	not_ok "per-call grant: the sibling call running meanwhile is refused" "$(sort -k2 "$TW_WORK/shared/sib/b" | uniq -c -f1 | head)"
else
	ok "per-call grant: the sibling call running meanwhile is refused"
fi
expect "per-call grant: a later call with another id is refused" "ERR EPERM" "$(twx $GEN callC "$P" tcp 10.50.1.10 80 2>/dev/null | head -1)"
expect "per-call grant: the same call id in another context is refused" "ERR EPERM" "$(twx $WS callA "$P" tcp 10.50.1.10 80 2>/dev/null | head -1)"
"$TW" revoke "$G4" >/dev/null

# ---- grants survive a daemon restart and a reload ---------------------------
G5=$(grant_id "$("$TW" grant $GEN warehouse-read --for 10m --approved-by dave)")
tw_daemon_kill9
tw_daemon_start || not_ok "daemon restarts"
expect "after a restart: the grant is listed" "$G5" "$("$TW" grants -j | python3 -c 'import json,sys; print(" ".join(g["id"] for g in json.load(sys.stdin)["grants"]))')"
expect "after a restart: still granted" OK "$(probe $GEN tcp 10.30.1.10 5439)"
sed -i 's/Read-only queries/Read-only queries (v2)/' "$TW_POLICY/bundles/warehouse-read.json"
"$TW" reload >/dev/null
expect "after a reload: still granted" OK "$(probe $GEN tcp 10.30.1.10 5439)"
cat >"$TW_POLICY/bundles/scratch.json" <<'EOF'
{ "bundle": "scratch", "description": "granted, then removed", "connect": ["10.50.1.10:8000"] }
EOF
"$TW" reload >/dev/null
G6=$(grant_id "$("$TW" grant $GEN scratch --for 10m --approved-by erin)")
expect "a bundle no context holds can be granted" OK "$(probe $GEN tcp 10.50.1.10 8000)"
rm "$TW_POLICY/bundles/scratch.json"
"$TW" reload >/dev/null
expect "a reload that removes the bundle ends the grant" "ERR EPERM" "$(probe $GEN tcp 10.50.1.10 8000)"
$AC "$TW_LOG" - event=revoke grant_id="$G6" 'reason~policy reload' >/dev/null 2>&1 &&
	ok "...with a record" || not_ok "...with a record" "$($AC "$TW_LOG" - event=revoke 2>&1 | tail -c 500)"
expect "...and the other grant stays" OK "$(probe $GEN tcp 10.30.1.10 5439)"
"$TW" revoke "$G5" >/dev/null

# ---- quarantine ---------------------------------------------------------------
mkdir -m 0777 "$TW_WORK/shared/q"
twx $GEN qloop python3 "$QL" 10.20.1.10 5432 "$TW_WORK/shared/q/loop" 30 >/dev/null 2>&1 &
QPID=$!
tw_eventually grep -q " OK" "$TW_WORK/shared/q/loop" || not_ok "the looping call connects"
"$TW" quarantine $GEN --reason "runaway agent" >"$TW_WORK/q.out"
expect "quarantine: exit 0" 0 "$?"
deadline=$(($(date +%s) + 5))
while kill -0 $QPID 2>/dev/null && (($(date +%s) < deadline)); do sleep 0.05; done
if kill -0 $QPID 2>/dev/null; then
	not_ok "quarantine kills the looping call"
else
	wait $QPID
	grep -q END "$TW_WORK/shared/q/loop" && not_ok "quarantine kills the looping call" "it ran to its end" ||
		ok "quarantine kills the looping call (its cgroup)"
fi
qns=$(python3 - "$TW_LOG" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == "quarantine" and r.get("context") == "channel:acme/general":
        print(r["kernel_ns"])
PY
)
verdict=$(python3 - "$TW_WORK/shared/q/loop" "$qns" <<'PY'
import sys
q = int(sys.argv[2])
rows = [l.split() for l in open(sys.argv[1]) if l.strip() and l.strip() != "END"]
rows = [(int(t), w) for t, w in rows]
late_ok = [t for t, w in rows if w == "OK" and t >= q]
last_ok = max([t for t, w in rows if w == "OK"] or [0])
after = [t for t, w in rows if t >= q]
print("ok" if not late_ok else "bad",
      "attempts=%d after_flag=%d ok_after_flag=%d last_ok_before_flag_ms=%.3f last_attempt_after_flag_ms=%.3f"
      % (len(rows), len(after), len(late_ok), (q - last_ok) / 1e6,
         ((max(after) - q) / 1e6) if after else -1))
PY
)
echo "# quarantine (kernel clock): $verdict"
[[ $verdict == ok* ]] && ok "quarantine: no connect that starts after the kernel's flag succeeds" ||
	not_ok "quarantine: no connect that starts after the kernel's flag succeeds" "$verdict"
last_after=$(sed -n 's/.*last_attempt_after_flag_ms=\([-0-9.]*\).*/\1/p' <<<"$verdict")
python3 -c "import sys; sys.exit(0 if float('$last_after') < 100 else 1)" &&
	ok "quarantine: the loop made its last attempt within 100 ms of the flag ($last_after ms, kernel clock)" ||
	not_ok "quarantine: the loop's last attempt within 100 ms of the flag" "$last_after ms"
$AC "$TW_LOG" - event=quarantine context=$GEN operator=root reason="runaway agent" \
	killed=1 >/dev/null 2>&1 && ok "quarantine record (operator, reason, killed)" ||
	not_ok "quarantine record" "$($AC "$TW_LOG" - event=quarantine 2>&1 | tail -c 500)"
out=$(twx $GEN qnew "$P" tcp 10.20.1.10 5432 2>&1)
rc=$?
[[ $rc == 125 && $out == *quarantined* ]] && ok "quarantine: a new call is refused (125)" ||
	not_ok "quarantine: a new call is refused" "exit $rc: $out"
expect "quarantine: TCP connect refused" "ERR EPERM" "$(in_ctx "$GEN_CG" "$P" tcp 10.20.1.10 5432)"
expect "quarantine: UDP send refused" "ERR EPERM" "$(in_ctx "$GEN_CG" "$P" udp-sendmsg 10.20.1.10 123)"
expect "quarantine: DNS (port 53) refused" "ERR EPERM" "$(in_ctx "$GEN_CG" "$P" udp 198.51.100.53 53)"
expect "quarantine: unix connect refused" "ERR EPERM" "$(in_ctx "$GEN_CG" "$P" unix /run/toolwall-demo/tracker.sock)"
expect "quarantine: another context is untouched" OK "$(probe $WS tcp 10.20.1.10 5432)"
tw_eventually $AC "$TW_LOG" - --count 4 event=deny context=$GEN 'reason~quarantined' >/dev/null 2>&1 &&
	ok "quarantine: the refusals are recorded as such" ||
	not_ok "quarantine: the refusals are recorded" "$($AC "$TW_LOG" - event=deny context=$GEN 'reason~quarantined' 2>&1 | tail -c 400)"
tw_daemon_kill9
expect "quarantine survives the daemon's death" "ERR EPERM" "$(in_ctx "$GEN_CG" "$P" tcp 10.20.1.10 5432)"
tw_daemon_start || not_ok "daemon restarts"
expect "quarantine survives a restart" "ERR EPERM" "$(in_ctx "$GEN_CG" "$P" tcp 10.20.1.10 5432)"
out=$(twx $GEN qnew2 "$P" tcp 10.20.1.10 5432 2>&1)
expect "...and new calls are still refused" 125 "$?"
"$TW" release $GEN >/dev/null
expect "release: calls run and connect again" OK "$(probe $GEN tcp 10.20.1.10 5432)"
$AC "$TW_LOG" - event=release context=$GEN operator=root >/dev/null 2>&1 &&
	ok "release record" || not_ok "release record"

# A call's quarantine: the sibling call goes on.
twx $GEN qA python3 "$QL" 10.20.1.10 5432 "$TW_WORK/shared/q/a" 30 >/dev/null 2>&1 &
QA=$!
twx $GEN qB python3 "$QL" 10.20.1.10 5432 "$TW_WORK/shared/q/b" 4 >/dev/null 2>&1 &
QB=$!
tw_eventually grep -q " OK" "$TW_WORK/shared/q/a"
tw_eventually grep -q " OK" "$TW_WORK/shared/q/b"
"$TW" quarantine --call-id qA >/dev/null
deadline=$(($(date +%s) + 5))
while kill -0 $QA 2>/dev/null && (($(date +%s) < deadline)); do sleep 0.05; done
kill -0 $QA 2>/dev/null && not_ok "call quarantine kills the call" || ok "call quarantine kills the call"
wait $QA 2>/dev/null
wait $QB
tail -1 "$TW_WORK/shared/q/b" | gq END && ! grep -q EPERM "$TW_WORK/shared/q/b" &&
	ok "call quarantine: the sibling call ran on, granted" ||
	not_ok "call quarantine: the sibling call ran on" "$(tail -3 "$TW_WORK/shared/q/b")"
out=$(twx $GEN qA "$P" tcp 10.20.1.10 5432 2>&1)
expect "call quarantine: the call id is refused again" 125 "$?"
expect "call quarantine: another call id runs" OK "$(probe $GEN tcp 10.20.1.10 5432)"
"$TW" release --call-id qA >/dev/null
expect "call release: the call id runs again" OK "$(twx $GEN qA "$P" tcp 10.20.1.10 5432 2>/dev/null | head -1)"

# ---- audit --grants ------------------------------------------------------------
evs=$("$TW" audit --log "$TW_LOG" --grants -j | python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l)["event"] for l in sys.stdin if l.strip()})))')
expect "audit --grants: grant, revoke, expire, quarantine, release only" \
	"expire grant quarantine release revoke" "$evs"
"$TW" audit --log "$TW_LOG" --verify >/dev/null 2>&1 && ok "the hash chain verifies" ||
	not_ok "the hash chain verifies"

tap_summary
