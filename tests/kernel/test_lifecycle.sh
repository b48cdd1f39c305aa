#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Enforcement over time: a killed daemon leaves every context enforcing, a
# restarted one re-adopts it, reloads are atomic (also under a tight connect
# loop), a broken policy is refused with the old one kept, audit mode, and
# `toolwall down` removes everything.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
P=$TW_PROBE

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/toolwall

# in_ctx CGROUP-REL CMD...: run CMD as the agent account in a context
# cgroup directly, without the daemon (what survives it).
in_ctx()
{
	local rel=$1
	shift
	sh -c "echo \$\$ > $CG/$rel/cgroup.procs && exec setpriv --reuid $TW_AGENT \
		--regid $TW_AGENT --init-groups --no-new-privs \"\$@\"" sh "$@"
}

rev() { "$TW_BIN" status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy_rev"])'; }

# ---- SIGKILL the daemon: enforcement stays --------------------------------
twx workspace:acme t-inflight sh -c "sleep 1; $P tcp 10.50.1.10 80 > $TW_WORK/shared/inflight" \
	>/dev/null 2>&1 &
exec_pid=$!
# The call has its cgroup (so the daemon knows it) before the daemon dies.
tw_eventually sh -c "ls -d $CG/acme/workspace/call-* >/dev/null 2>&1"
tw_daemon_kill9
expect_probe "daemon killed: a denied connect is still denied" "ERR EPERM" -- \
	in_ctx acme/workspace "$P" tcp 10.30.1.10 5439
expect_probe "daemon killed: an allowed connect still works" "OK" -- \
	in_ctx acme/workspace "$P" tcp 10.20.1.10 5432
expect_probe "daemon killed: the data-team step-up still holds" "OK" -- \
	in_ctx acme/channels/data-team "$P" tcp 10.30.1.10 5439
expect_probe "daemon killed: raw sockets still refused" "ERR EPERM" -- \
	in_ctx acme/workspace "$P" raw4
wait "$exec_pid" 2>/dev/null
if [[ $(cat "$TW_WORK/shared/inflight" 2>/dev/null) == "ERR EPERM" ]]; then
	ok "a call running when the daemon died stays confined"
else
	not_ok "in-flight call" "$(cat "$TW_WORK/shared/inflight" 2>/dev/null)"
fi
if [[ -e /sys/fs/bpf/toolwall/links/tw_connect4 ]]; then
	ok "links stay pinned"
else
	not_ok "links stay pinned"
fi

# ---- another ABI's pinned state is never adopted ------------------------------
# tw_state's abi field (bytes 4-7) set to 99, as a toolwall of another ABI
# would have left it: the daemon refuses to start, says why, and touches
# nothing; enforcement stays. Then the real value back.
STATE=/sys/fs/bpf/toolwall/maps/tw_state
set_abi() # N: rewrite tw_state[0].abi; prints the old value
{
	python3 - "$STATE" "$1" <<'PY'
import json, subprocess, sys
path, abi = sys.argv[1], int(sys.argv[2])
out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", path, "key", "0", "0", "0", "0"],
                     check=True, capture_output=True, text=True).stdout
val = [int(b, 16) for b in json.loads(out)["value"]]
print(int.from_bytes(bytes(val[4:8]), "little"))
val[4:8] = list(abi.to_bytes(4, "little"))
subprocess.run(["bpftool", "map", "update", "pinned", path, "key", "0", "0", "0", "0",
                "value"] + [str(b) for b in val], check=True)
PY
}
if abi_was=$(set_abi 99); then
	out=$(timeout 20 "$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_LOG" 2>&1)
	rc=$?
	if [[ $rc == 1 && $out == *"ABI 99, this one speaks ABI $abi_was"* && $out == *"toolwall down"* ]]; then
		ok "a daemon refuses pinned state of another ABI, and says which and what to do"
	else
		not_ok "ABI mismatch refused" "rc=$rc $out"
	fi
	[[ $(set_abi 99) == 99 ]] && ok "... and leaves that state as it was" ||
		not_ok "pinned state untouched"
	expect_probe "... while the pinned programs keep enforcing" "ERR EPERM" -- \
		in_ctx acme/workspace "$P" tcp 10.30.1.10 5439
	set_abi "$abi_was" >/dev/null
else
	not_ok "rewrite tw_state with bpftool"
fi

# ---- restart: re-adopt ------------------------------------------------------
seq_before=$(tail -1 "$TW_LOG" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
tw_daemon_start || not_ok "daemon restarts"
if grep -q '"adopted": true' <<<"$("$TW_BIN" status -j)"; then
	ok "restarted daemon re-adopts the pinned programs"
else
	not_ok "re-adopt"
fi
expect_probe "after restart: denied stays denied" "ERR EPERM" -- \
	twx workspace:acme t-after-deny "$P" tcp 10.30.1.10 5439
expect_probe "after restart: allowed still works" "OK" -- \
	twx workspace:acme t-after-ok "$P" tcp 10.20.1.10 5432
if $AC "$TW_LOG" t-after-deny event=deny dst=10.30.1.10 >/dev/null &&
	python3 - "$TW_LOG" "$seq_before" <<'PY'
import json, sys
seqs = [json.loads(l)["seq"] for l in open(sys.argv[1])]
assert seqs == list(range(1, len(seqs) + 1)), "seq gaps"
assert seqs[-1] > int(sys.argv[2])
PY
then
	ok "the audit log continues across the restart (seq without gaps)"
else
	not_ok "audit continuity"
fi

# ---- reload: a step-up granted, then revoked --------------------------------
r1=$(rev)
cp "$TW_POLICY/channels.json" "$TW_WORK/channels.orig"
sed -i 's/"general", "workspace": "acme", "step_up": \[\]/"general", "workspace": "acme", "step_up": ["warehouse-read"]/' \
	"$TW_POLICY/channels.json"
expect_probe "before reload: general cannot reach the warehouse" "ERR EPERM" -- \
	twx channel:acme/general t-r0 "$P" tcp 10.30.1.10 5439
if "$TW_BIN" reload >/dev/null && [[ $(rev) != "$r1" ]]; then
	ok "toolwall reload installs a new revision"
else
	not_ok "toolwall reload"
fi
expect_probe "after reload: general reaches the warehouse" "OK" -- \
	twx channel:acme/general t-r1 "$P" tcp 10.30.1.10 5439
cp "$TW_WORK/channels.orig" "$TW_POLICY/channels.json"
kill -HUP "$TW_DAEMON_PID"
for _ in $(seq 50); do [[ $(rev) == "$r1" ]] && break; sleep 0.1; done
if [[ $(rev) == "$r1" ]]; then
	ok "SIGHUP reloads (back to the first revision)"
else
	not_ok "SIGHUP reload"
fi
expect_probe "after SIGHUP: general is denied again" "ERR EPERM" -- \
	twx channel:acme/general t-r2 "$P" tcp 10.30.1.10 5439

# ---- a broken policy is refused, the old one stays --------------------------
cp "$TW_POLICY/bundles/docs-search.json" "$TW_WORK/docs.orig"
sed -i 's|"10.10.1.0/24:80,443"|"10.10.1.1/24:80,443"|' "$TW_POLICY/bundles/docs-search.json"
out=$("$TW_BIN" reload 2>&1)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "docs-search.json:[0-9]*:[0-9]*: error: .*host bits" <<<"$out" &&
	[[ $(rev) == "$r1" ]]; then
	ok "a broken policy is refused with FILE:LINE:COL and the old revision stays"
else
	not_ok "broken policy" "exit $rc: $out"
fi
expect_probe "after a refused reload: allowed still allowed" "OK" -- \
	twx workspace:acme t-b1 "$P" tcp 10.10.1.10 80
expect_probe "after a refused reload: denied still denied" "ERR EPERM" -- \
	twx workspace:acme t-b2 "$P" tcp 10.50.1.10 80
if grep -q '"event":"policy","action":"rejected"' "$TW_LOG"; then
	ok "the refused reload is in the audit log"
else
	not_ok "refused reload record"
fi
cp "$TW_WORK/docs.orig" "$TW_POLICY/bundles/docs-search.json"

# ---- reload under a tight connect loop ----------------------------------------
cp -r "$TW_POLICY" "$TW_WORK/policy-a"
cp -r "$TW_POLICY" "$TW_WORK/policy-b"
python3 - "$TW_WORK/policy-b/bundles/issue-tracker.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["connect"] += ["10.60.%d.0/24:%d" % (i, 1000 + i) for i in range(200)]
json.dump(b, open(sys.argv[1], "w"))
PY
twx workspace:acme t-loop-ok "$P" tcp-loop 10.20.1.10 5432 4 >"$TW_WORK/loop-ok" 2>/dev/null &
l1=$!
twx workspace:acme t-loop-deny "$P" tcp-loop 10.50.1.10 80 4 >"$TW_WORK/loop-deny" 2>/dev/null &
l2=$!
sleep 0.5
reloads=0
for i in $(seq 10); do
	if ((i % 2)); then src=policy-b; else src=policy-a; fi
	rm -rf "$TW_POLICY" && cp -r "$TW_WORK/$src" "$TW_POLICY"
	"$TW_BIN" reload >/dev/null && reloads=$((reloads + 1))
	sleep 0.2
done
wait $l1 $l2
read -r _ okn epn oth <"$TW_WORK/loop-ok"
read -r _ dok dep doth <"$TW_WORK/loop-deny"
if ((reloads == 10 && okn > 0 && epn == 0 && oth == 0)); then
	ok "10 reloads under a connect loop: allowed never denied ($okn connects)"
else
	not_ok "reload loop, allowed" "reloads $reloads; ok $okn eperm $epn other $oth"
fi
if ((dok == 0 && dep > 0)); then
	ok "10 reloads under a connect loop: denied never allowed ($dep attempts)"
else
	not_ok "reload loop, denied" "ok $dok eperm $dep other $doth"
fi
rm -rf "$TW_POLICY" && cp -r "$TW_WORK/policy-a" "$TW_POLICY" && "$TW_BIN" reload >/dev/null

# ---- audit mode -------------------------------------------------------------
sed -i 's/"general", "workspace": "acme", "step_up": \[\]/"general", "workspace": "acme", "step_up": [], "mode": "audit"/' \
	"$TW_POLICY/channels.json"
"$TW_BIN" reload >/dev/null
expect_probe "audit mode: a would-be denial goes through" "OK" -- \
	twx channel:acme/general t-audit "$P" tcp 10.30.1.10 5439
if $AC "$TW_LOG" t-audit event=audit context=channel:acme/general dst=10.30.1.10 \
	'hint~warehouse-read' >/dev/null; then
	ok "audit mode: recorded as event=audit with its hint"
else
	not_ok "audit mode record"
fi
expect_probe "audit mode is per context: the workspace still enforces" "ERR EPERM" -- \
	twx workspace:acme t-audit-ws "$P" tcp 10.30.1.10 5439

# ---- the egress backstop -----------------------------------------------------
# A raw socket opened while #general audits (sock_create lets it through and
# records it) is cut off by the cgroup_skb egress hook once enforce returns.
W=$TW_WORK/shared
sh -c "echo \$\$ > $CG/acme/channels/general/cgroup.procs && \
	exec python3 $HERE/../lib/raw_icmp.py 10.20.1.10 $W/ready $W/go" >"$W/raw.out" 2>&1 &
raw_pid=$!
for _ in $(seq 50); do [[ -e $W/ready ]] && break; sleep 0.1; done
cp "$TW_WORK/channels.orig" "$TW_POLICY/channels.json"
"$TW_BIN" reload >/dev/null
touch "$W/go"
wait $raw_pid
BACKSTOP_RECORDS='
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
sock = [r for r in recs if r["event"] == "audit" and r.get("action") == "socket"
        and r.get("context") == "channel:acme/general"]
egr = [r for r in recs if r["event"] == "deny" and r.get("action") == "egress"
       and r.get("proto") == "icmp" and r.get("dst") == "10.20.1.10"]
sys.exit(0 if sock and egr else 1)'
if [[ $(cat "$W/raw.out") == "ERR EPERM" ]] &&
	tw_eventually python3 -c "$BACKSTOP_RECORDS" "$TW_LOG"; then
	ok "egress backstop drops ICMP from a socket the address hooks never saw"
else
	not_ok "egress backstop" "$(cat "$W/raw.out")"
fi

# ---- no context, fail closed ------------------------------------------------
mkdir -p "$CG/acme/stray"
expect_probe "a cgroup in the tree with no context gets nothing" "ERR EPERM" -- \
	in_ctx acme/stray "$P" tcp 10.20.1.10 5432
rmdir "$CG/acme/stray"

# ---- down -----------------------------------------------------------------------
"$TW_BIN" down >/dev/null
wait "$TW_DAEMON_PID" 2>/dev/null
TW_DAEMON_PID=""
if [[ ! -e /sys/fs/bpf/toolwall && ! -e $CG ]] &&
	! grep -q 'tw_' <<<"$(bpftool link show 2>/dev/null)"; then
	ok "down removes pins, links and cgroups"
else
	not_ok "down" "$(ls -R /sys/fs/bpf/toolwall 2>&1 | head -5)"
fi
expect_probe "after down: nothing is enforced" "OK" -- "$P" tcp 10.50.1.10 80

tap_summary
