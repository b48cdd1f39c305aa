#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two toolwall instances side by side. TOOLWALL_PIN_ROOT, TOOLWALL_RUN_DIR
# and TOOLWALL_CGROUP_ROOT move an instance's pins, control socket, state
# and lock, and cgroup tree: each instance enforces its own policy on its
# own calls and writes its own log, and `down` of one leaves the other
# enforcing. Roots that are not plain paths, or a pin root off bpffs, are
# refused with the variable named, and nothing of the running instance is
# touched.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

P=$TW_PROBE
WS=workspace:acme
CGM=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
if [[ $("$P" tcp 10.50.1.10 80) != OK ]]; then
	not_ok "without toolwall: 10.50.1.10:80 is reachable"
	tap_summary
	exit 1
fi
ok "without toolwall: 10.50.1.10:80 is reachable"

# Instance B: its own roots, and a policy whose baseline also allows :80.
NAME=tw-side-$$
B_ENV=(TOOLWALL_PIN_ROOT=/sys/fs/bpf/$NAME TOOLWALL_RUN_DIR=/run/$NAME
	TOOLWALL_CGROUP_ROOT=$NAME)
B_LOG=$TW_WORK/b/audit.jsonl
B_PID=""
b() { env "${B_ENV[@]}" "$TW_BIN" "$@"; }
cleanup_b()
{
	b down --kill >/dev/null 2>&1
	if [[ -n $B_PID ]]; then
		kill "$B_PID" 2>/dev/null
		wait "$B_PID" 2>/dev/null
	fi
	rm -rf "/run/$NAME" "/run/$NAME-calls" "/var/tmp/$NAME-calls"
	rmdir "/sys/fs/bpf/$NAME" "$CGM/$NAME" 2>/dev/null
}
tw_at_exit cleanup_b

cp -r "$TW_POLICY" "$TW_WORK/policy-b"
python3 - "$TW_WORK/policy-b/bundles/issue-tracker.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["connect"].append("10.50.1.10:80")
json.dump(b, open(sys.argv[1], "w"))
PY

tw_daemon_start || { not_ok "instance A starts"; tap_summary; exit 1; }
b daemon -p "$TW_WORK/policy-b" --audit-log "$B_LOG" >>"$TW_WORK/b.out" 2>&1 {TW_LOCK_FD}>&- &
B_PID=$!
for _ in $(seq 100); do
	b status >/dev/null 2>&1 && break
	kill -0 "$B_PID" 2>/dev/null || break
	sleep 0.1
done

a_cg=$("$TW_BIN" status 2>/dev/null | awk '$1 == "cgroups:" { print $2 }')
b_cg=$(b status 2>/dev/null | awk '$1 == "cgroups:" { print $2 }')
if [[ $a_cg == "$CGM/toolwall" && $b_cg == "$CGM/$NAME" ]] &&
	[[ -e /sys/fs/bpf/toolwall/links/tw_connect4 && -e /sys/fs/bpf/$NAME/links/tw_connect4 ]] &&
	[[ -S /run/toolwall/control.sock && -S /run/$NAME/control.sock ]]; then
	ok "two instances run side by side: own cgroup tree, pins and control socket each"
else
	not_ok "side by side" "A cgroups '$a_cg', B cgroups '$b_cg'; $(tail -3 "$TW_WORK/b.out")"
fi

expect_probe "instance A's call: its policy refuses 10.50.1.10:80" "ERR EPERM" -- \
	twx $WS r-a "$P" tcp 10.50.1.10 80
expect_probe "instance B's call: its policy allows 10.50.1.10:80" "OK" -- \
	b exec $WS --call-id r-b --requester tester -- "$P" tcp 10.50.1.10 80
expect_probe "instance B's call: what neither allows is refused" "ERR EPERM" -- \
	b exec $WS --call-id r-b2 --requester tester -- "$P" tcp 10.50.1.10 81

count() { # LOG CALL_ID: deny records of that call
	"$TW_BIN" audit --log "$1" -j --event deny 2>/dev/null |
		python3 -c 'import json,sys; print(sum(json.loads(l).get("call_id") == sys.argv[1] for l in sys.stdin))' "$2"
}
has_records() { [[ $(count "$TW_LOG" r-a) == 1 && $(count "$B_LOG" r-b2) == 1 ]]; }
if tw_eventually has_records && [[ $(count "$B_LOG" r-a) == 0 && $(count "$TW_LOG" r-b2) == 0 &&
	$(count "$B_LOG" r-b) == 0 ]]; then
	ok "each instance records its own calls' denials, and only those"
else
	not_ok "records per instance" "A: r-a $(count "$TW_LOG" r-a), r-b2 $(count "$TW_LOG" r-b2); B: r-b2 $(count "$B_LOG" r-b2), r-a $(count "$B_LOG" r-a)"
fi

# A running call of B lives under B's cgroup root.
b exec $WS --call-id r-long --requester tester -- sleep 30 >/dev/null 2>&1 &
long=$!
tw_eventually compgen -G "$CGM/$NAME/acme/workspace/call-*" >/dev/null
if compgen -G "$CGM/$NAME/acme/workspace/call-*" >/dev/null &&
	! compgen -G "$CGM/toolwall/acme/workspace/call-*" >/dev/null; then
	ok "B's call runs in B's cgroup tree, none in A's"
else
	not_ok "B's call cgroup" "$(ls "$CGM/$NAME/acme/workspace" "$CGM/toolwall/acme/workspace" 2>&1 | tr '\n' ' ')"
fi

out=$(b down --kill 2>&1)
rc=$?
wait "$long" 2>/dev/null
wait "$B_PID" 2>/dev/null
B_PID=""
if [[ $rc -eq 0 && ! -e /sys/fs/bpf/$NAME && ! -e $CGM/$NAME ]] &&
	[[ -e /sys/fs/bpf/toolwall/links/tw_connect4 && -d $CGM/toolwall ]] &&
	"$TW_BIN" status >/dev/null 2>&1; then
	ok "down of B removes B's pins and cgroups; A's stay and A serves"
else
	not_ok "down of B" "exit $rc: $out"
fi
expect_probe "after B is down, A still enforces" "ERR EPERM" -- twx $WS r-a2 "$P" tcp 10.50.1.10 80

# Bad roots: refused, naming the variable; nothing of A touched.
bad()
{
	local what=$1 var=$2 val=$3 want=$4 out rc
	out=$(env "$var=$val" "$TW_BIN" status 2>&1)
	rc=$?
	if [[ $rc -eq 2 ]] && grep -q "$var=\"$val\" $want" <<<"$out"; then
		ok "$what: refused (exit 2) naming $var"
	else
		not_ok "$what" "exit $rc: $out"
	fi
}
bad "a relative pin root" TOOLWALL_PIN_ROOT sys/fs/bpf/x "is not an absolute path"
bad "a run dir with .." TOOLWALL_RUN_DIR /run/../etc 'has a "." or ".." component'
bad "an absolute cgroup root" TOOLWALL_CGROUP_ROOT /sys/fs/cgroup/x "must be relative"
bad "a cgroup root with a space" TOOLWALL_CGROUP_ROOT "a b" "has a byte other than"
out=$(env TOOLWALL_PIN_ROOT=/run/$NAME-pins TOOLWALL_RUN_DIR=/run/$NAME \
	TOOLWALL_CGROUP_ROOT=$NAME "$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_WORK/c.jsonl" 2>&1)
rc=$?
rm -rf "/run/$NAME-pins" "/run/$NAME"
if [[ $rc -ne 0 ]] && grep -q "not on a bpf filesystem" <<<"$out" &&
	"$TW_BIN" status >/dev/null 2>&1 && [[ ! -e $CGM/$NAME ]]; then
	ok "a pin root off bpffs: the daemon refuses to start, saying so; A serves on"
else
	not_ok "pin root off bpffs" "exit $rc: $out"
fi

tap_summary
