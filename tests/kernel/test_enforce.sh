#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Kernel enforcement on the reference policy: the daemon, real eBPF programs
# on the real kernel, test hosts in a private network namespace, and a table
# of operations per context. Each row asserts the exact outcome (errno) and,
# for a denial, the exact audit record of that call.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
# Let every group create ping sockets, so that it is toolwall (EPERM) and not
# the ping_group_range sysctl (EACCES) that refuses them below. (Inside the
# host lock that tw_setup_host took: the sysctl is host-wide.)
PING_RANGE=/proc/sys/net/ipv4/ping_group_range
old_ping=$(cat $PING_RANGE)
restore_ping() { echo "$old_ping" >$PING_RANGE; }
echo "0 2147483647" >$PING_RANGE
tw_at_exit restore_ping

tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts on the reference policy"

WS=workspace:acme
DATA=channel:acme/data-team
GEN=channel:acme/general
DM=dm:acme/alice
P=$TW_PROBE
n=0

# row CONTEXT EXPECT MODE ARGS... [| AUDIT-EXPECTATIONS...]
#   EXPECT is the probe's first line ("OK", "ERR EPERM"). For a denial the
#   call must have exactly one matching audit record; expectations after
#   "|" are audit_check.py KEY=VALUE / KEY~SUB terms.
row()
{
	local ctx=$1 expect=$2
	shift 2
	local args=() audit=()
	while (($#)) && [[ $1 != "|" ]]; do args+=("$1"); shift; done
	(($#)) && shift && audit=("$@")
	n=$((n + 1))
	local id="t$n-${args[0]}"
	local name="$ctx ${args[*]} -> $expect"
	local out
	out=$(twx "$ctx" "$id" "$P" "${args[@]}" 2>"$TW_WORK/err.$n" | head -1)
	if [[ $out != "$expect" ]]; then
		not_ok "$name" "got '$out'; stderr: $(head -3 "$TW_WORK/err.$n" | tr '\n' ' ')"
		return
	fi
	if [[ $expect == OK ]]; then
		# An allowed operation leaves no record of the call but the
		# exec of the probe (which proves the call's records are
		# there to be seen).
		if tw_eventually $AC "$TW_LOG" "$id" event=exec "path=$P" 2>/dev/null &&
			$AC "$TW_LOG" "$id" --count 0 event!=exec 2>"$TW_WORK/ac.$n"; then
			ok "$name"
		else
			not_ok "$name" "allowed, yet audit records exist: $(tail -c 400 "$TW_WORK/ac.$n")"
		fi
		return
	fi
	if ((${#audit[@]})); then
		local why
		if why=$($AC "$TW_LOG" "$id" event=deny context="$ctx" \
			workspace=acme call_id="$id" requester=tester \
			uid="$(id -u "$TW_AGENT")" "${audit[@]}" 2>&1); then
			ok "$name"
		else
			not_ok "$name" "audit: $why"
		fi
	else
		ok "$name"
	fi
}

# ---- workspace: the baseline -------------------------------------------
row $WS OK tcp 10.20.1.10 5432
row $WS OK tcp 10.20.1.10 8000
row $WS OK tcp 10.20.1.10 8500
row $WS OK tcp 10.20.1.10 8999
row $WS "ERR EPERM" tcp 10.20.1.10 9000 '|' action=connect proto=tcp \
	dst=10.20.1.10 port=9000 'reason~port 9000 is not allowed' \
	'reason~8000-8999' hint=
row $WS OK tcp 10.10.1.10 80
row $WS OK tcp 10.10.1.10 443
row $WS "ERR EPERM" tcp 10.10.1.10 5432 '|' dst=10.10.1.10 port=5432 \
	'reason~port 5432 is not allowed'
row $WS "ERR EPERM" tcp 10.30.1.10 5439 '|' action=connect dst=10.30.1.10 \
	port=5439 'reason~no rule of workspace:acme allows tcp 10.30.1.10' \
	'hint~bundle warehouse-read' 'hint~channel:acme/data-team' \
	'policy_rev~'
row $WS "ERR EPERM" tcp 10.50.1.10 80 '|' dst=10.50.1.10 port=80 hint=
row $WS OK tcp ::ffff:10.20.1.10 5432
row $WS "ERR EPERM" tcp ::ffff:10.30.1.10 5439 '|' dst=10.30.1.10 port=5439 \
	dst_embedded_in_ipv6=True 'hint~warehouse-read'
row $WS OK tcp fd00:10:10:1::10 443
row $WS "ERR EPERM" tcp fd00:10:10:1::10 80 '|' dst=fd00:10:10:1::10 port=80
row $WS "ERR EPERM" tcp fd00:30::5 5439 '|' dst=fd00:30::5 port=5439 \
	'hint~warehouse-read'
row $WS "ERR EPERM" tcp fd00:50::10 443 '|' dst=fd00:50::10 port=443 hint=
row $WS OK udp 10.20.1.10 123
row $WS "ERR EPERM" udp 10.20.1.10 9999 '|' action=sendmsg proto=udp \
	dst=10.20.1.10 port=9999
row $WS OK udp-connect 10.20.1.10 123
row $WS "ERR EPERM" udp-connect 10.20.1.10 9999 '|' action=connect proto=udp \
	dst=10.20.1.10 port=9999
row $WS OK udp-sendmsg 10.20.1.10 123
row $WS "ERR EPERM" udp ::ffff:10.50.1.10 9999 '|' action=sendmsg proto=udp \
	dst=10.50.1.10 port=9999
row $WS OK udp-sendmmsg 10.20.1.10 123
row $WS "ERR EPERM" udp-sendmmsg 10.50.1.10 9999 '|' action=sendmsg \
	dst=10.50.1.10 port=9999
row $WS "ERR EPERM" tcp 10.20.1.10 123 '|' proto=tcp port=123 \
	'reason~port 123 is not allowed for tcp 10.20.1.10 (allowed: 5432,8000-8999)'
row $WS OK tcp-fastopen 10.20.1.10 5432
row $WS "ERR EPERM" tcp-fastopen 10.50.1.10 80 '|' action=connect dst=10.50.1.10
row $WS "ERR EPERM" tcp-fastopen-connect 10.50.1.10 80 '|' action=connect \
	dst=10.50.1.10
# io_uring is refused to tool calls by the launcher's seccomp filter
# (IORING_OP_SOCKET would make AF_VSOCK/AF_NETLINK sockets that the socket()
# filter never sees), before any hook: the syscall audit records that. The
# hooks' own coverage of io_uring is proven below with a root process placed
# in a context cgroup.
row $WS "ERR EPERM" uring-connect 10.20.1.10 5432 '|' action=io_uring_setup \
	syscall=io_uring_setup errno=EPERM 'reason~seccomp denies io_uring_setup()'
row $WS "ERR EPERM" uring-sendmsg 10.50.1.10 9999 '|' action=io_uring_setup \
	syscall=io_uring_setup errno=EPERM 'reason~seccomp denies io_uring_setup()'
# Raw sockets need CAP_NET_RAW, which a tool call never has: the kernel
# refuses them before toolwall's hook (no record). The hook itself is proven
# below with a root process placed straight into a context cgroup.
row $WS "ERR EPERM" raw4
row $WS "ERR EPERM" raw6
row $WS "ERR EPERM" icmp4 10.20.1.10 '|' action=socket 'reason~ICMP socket'
if grep -q '^SCTP ' /proc/net/protocols || modprobe -q sctp 2>/dev/null; then
	row $WS "ERR EPERM" sctp4 '|' action=socket 'reason~SCTP socket'
else
	skip "sctp4 socket" "this kernel has no SCTP (socket() fails before any hook)"
fi
row $WS "ERR EPERM" mptcp4 '|' action=socket 'reason~MPTCP socket'
row $WS "ERR EPERM" udplite4 '|' action=socket
# AF_PACKET never reaches sock_create (KERNEL-NOTES): the launcher's seccomp
# filter refuses it, and the syscall audit records that.
row $WS "ERR EPERM" packet '|' action=socket syscall=socket errno=EPERM \
	'reason~seccomp denies socket()'
row $WS OK unix $TW_DEMO_RUN/tracker.sock
row $WS "ERR EPERM" unix $TW_DEMO_RUN/other.sock '|' action=connect \
	proto=unix path=$TW_DEMO_RUN/other.sock 'reason~unix socket' \
	path_exists=True
tw_unix_server "$TW_DEMO_RUN/dgram.sock" dgram && chmod 0666 "$TW_DEMO_RUN/dgram.sock"
row $WS "ERR EPERM" unix-dgram $TW_DEMO_RUN/dgram.sock '|' action=sendmsg \
	proto=unix path=$TW_DEMO_RUN/dgram.sock
row $WS "ERR EPERM" unix-abstract twtest-abstract '|' action=connect \
	proto=unix path=@twtest-abstract

# ---- channel with a step-up ------------------------------------------------
row $DATA OK tcp 10.30.1.10 5439
row $DATA OK tcp ::ffff:10.30.1.10 5439
row $DATA OK tcp fd00:30::5 5439
row $DATA OK udp 10.30.0.53 8125
row $DATA OK tcp 10.20.1.10 5432
row $DATA "ERR EPERM" tcp 10.40.2.2 443 '|' dst=10.40.2.2 \
	'hint~bundle recruiting' 'hint~dm:acme/alice'

# ---- channel without a step-up ---------------------------------------------
row $GEN OK tcp 10.20.1.10 8500
row $GEN "ERR EPERM" tcp 10.30.1.10 5439 '|' context=$GEN \
	'hint~channel:acme/data-team'
row $GEN "ERR EPERM" tcp 10.40.2.2 443 '|' 'hint~dm:acme/alice'

# ---- direct message --------------------------------------------------------
row $DM OK tcp 10.40.2.2 443
row $DM OK tcp 10.20.1.10 5432
row $DM "ERR EPERM" tcp 10.30.1.10 5439 '|' 'hint~channel:acme/data-team'

# ---- even root, placed in a context cgroup, gets no raw or ICMP socket ------
cgmnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
ROOT_SOCKET_RECORD='
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
want = {"family": int(sys.argv[2]), "type": int(sys.argv[3])}
ok = [r for r in recs if r.get("action") == "socket" and r.get("uid") == 0
      and all(r["socket"][k] == v for k, v in want.items())
      and r.get("comm") == "twprobe" and r.get("context") == "workspace:acme"
      and r.get("call_id") is None and r["event"] == "deny"]
sys.exit(0 if ok else 1)'
for spec in "raw4 2 3" "raw6 10 3" "icmp4 2 2" "packet 17 3"; do
	read -r mode fam typ <<<"$spec"
	got=$(sh -c "echo \$\$ > $cgmnt/toolwall/acme/workspace/cgroup.procs && exec $P $mode" 2>/dev/null | head -1)
	if [[ $mode == packet ]]; then
		# sock_create never sees AF_PACKET (KERNEL-NOTES): root keeps it;
		# the launcher's seccomp filter is what refuses it to tool calls.
		[[ $got == OK ]] && ok "root in a context: packet socket is not a sock_create matter (seccomp's)" ||
			not_ok "root packet socket" "$got"
		continue
	fi
	if [[ $got == "ERR EPERM" ]] &&
		tw_eventually python3 -c "$ROOT_SOCKET_RECORD" "$TW_LOG" "$fam" "$typ"; then
		ok "root in a context: $mode socket denied by sock_create, with a record"
	else
		not_ok "root in a context: $mode" "got '$got'"
	fi
done

# ---- io_uring-issued operations meet the same hooks ---------------------------
for spec in "uring-connect 10.20.1.10 5432 OK" "uring-connect 10.50.1.10 443 ERR EPERM" \
	"uring-sendmsg 10.50.1.10 9999 ERR EPERM"; do
	read -r mode host port want <<<"$spec"
	got=$(sh -c "echo \$\$ > $cgmnt/toolwall/acme/workspace/cgroup.procs && exec $P $mode $host $port" 2>/dev/null | head -1)
	sleep 0.3 # the record is written by the daemon asynchronously
	if [[ $got == "$want" ]] && { [[ $want == OK ]] || python3 - "$TW_LOG" "$host" "$port" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ok = [r for r in recs if r.get("event") == "deny" and r.get("uid") == 0
      and r.get("dst") == sys.argv[2] and r.get("port") == int(sys.argv[3])
      and r.get("comm") == "twprobe" and r.get("context") == "workspace:acme"]
sys.exit(0 if ok else 1)
PY
	}; then
		ok "root in a context: $mode $host $port -> $want (io_uring meets the hooks)"
	else
		not_ok "root in a context: $mode $host $port" "got '$got'"
	fi
done

# ---- children and daemons keep the call's context ------------------------
row $WS "ERR EPERM" fork-tcp 10.50.1.10 80 '|' dst=10.50.1.10 port=80
out=$TW_WORK/shared/daemon.out
rm -f "$out"
# Without "background", what a call leaves behind ends with it: the
# double-forked grandchild (it waits 200 ms, then connects and writes OUT)
# never gets to connect. Background leftovers: tests/kernel/test_isolation.sh.
twx $WS t-daemon "$P" daemon-tcp 10.50.1.10 80 "$out" >/dev/null 2>&1
sleep 1.5
if [[ ! -s $out ]] && ! pgrep -f "twprobe daemon-tcp 10.50.1.10 80 $out" >/dev/null; then
	ok "a double-forked daemon ends with its call (no background)"
else
	not_ok "double-forked daemon ends with its call" "got '$(cat "$out" 2>/dev/null)'"
fi

# ---- real clients --------------------------------------------------------
if twx $WS t-curl-ok curl -s -m 3 -o /dev/null http://10.10.1.10:80/ 2>/dev/null; then
	ok "curl to an allowed host works"
else
	not_ok "curl to an allowed host works"
fi
twx $WS t-curl-deny curl -s -m 3 -o /dev/null http://10.50.1.10:80/ 2>"$TW_WORK/curl.err"
rc=$?
if [[ $rc -eq 7 ]] && grep -q "denied" "$TW_WORK/curl.err" &&
	$AC "$TW_LOG" t-curl-deny event=deny comm=curl dst=10.50.1.10 port=80 >/dev/null; then
	ok "curl to a denied host fails (exit 7), with a summary and a record"
else
	not_ok "curl to a denied host" "exit $rc; $(head -3 "$TW_WORK/curl.err" | tr '\n' ' ')"
fi
if twx $WS t-nc-ok nc -z -w 2 10.20.1.10 5432 2>/dev/null; then
	ok "nc to an allowed port works"
else
	not_ok "nc to an allowed port works"
fi
if ! twx $WS t-nc-deny nc -z -w 2 10.20.1.10 9000 2>/dev/null &&
	$AC "$TW_LOG" t-nc-deny event=deny comm=nc port=9000 >/dev/null; then
	ok "nc to a denied port fails, with a record"
else
	not_ok "nc to a denied port fails"
fi
pyout=$(twx $DATA t-py python3 -c '
import socket
s = socket.create_connection(("10.30.1.10", 5439), timeout=3); s.close()
try:
    socket.create_connection(("10.40.2.2", 443), timeout=3)
    print("LEAK")
except PermissionError:
    print("EPERM")' 2>/dev/null)
if [[ $pyout == EPERM ]]; then
	ok "python sockets: allowed then denied (PermissionError)"
else
	not_ok "python sockets" "got '$pyout'"
fi

# ---- the exec contract ------------------------------------------------------
uid=$(twx $WS t-id id -u 2>/dev/null)
if [[ $uid == "$(id -u $TW_AGENT)" ]]; then
	ok "tool calls run as the agent account, not root"
else
	not_ok "tool calls run as the agent account" "uid $uid"
fi
nnp=$(twx $WS t-nnp sh -c 'grep NoNewPrivs /proc/self/status' 2>/dev/null)
if [[ $nnp == *1 ]]; then ok "no_new_privs is set"; else not_ok "no_new_privs" "$nnp"; fi
twx $WS t-exit sh -c 'exit 42' 2>/dev/null
rc=$?
[[ $rc -eq 42 ]] && ok "exit status passes through" || not_ok "exit status" "got $rc"
got=$(echo hello | twx $WS t-stdin cat 2>/dev/null)
[[ $got == hello ]] && ok "stdin and stdout pass through" || not_ok "stdin/stdout" "$got"
twx $WS t-sig sh -c 'kill -TERM $$' 2>/dev/null
rc=$?
[[ $rc -eq 143 ]] && ok "a signal death is reported as 128+N" || not_ok "signal exit" "got $rc"
summary=$(twx $GEN t-summary "$P" tcp 10.30.1.10 5439 2>&1 >/dev/null)
if grep -q "denied in channel:acme/general" <<<"$summary" &&
	grep -q "connect tcp 10.30.1.10:5439" <<<"$summary" &&
	grep -q "Would be allowed by bundle warehouse-read (held by channel:acme/data-team)" <<<"$summary"; then
	ok "the summary tells the agent what was denied and which bundle would allow it"
else
	not_ok "exec summary" "$summary"
fi
twx nosuch:ctx t-bad true 2>"$TW_WORK/bad.err"
rc=$?
[[ $rc -eq 125 ]] && grep -q "no context nosuch:ctx" "$TW_WORK/bad.err" &&
	ok "an unknown context is refused (125) and the command never runs" ||
	not_ok "unknown context" "exit $rc $(cat "$TW_WORK/bad.err")"

# ---- a tool call tries to undo enforcement --------------------------------
undo=$(twx $WS t-undo sh -c "
	echo \$\$ > $cgmnt/cgroup.procs 2>/dev/null && echo moved-root
	echo \$\$ > $cgmnt/toolwall/acme/channels/data-team/cgroup.procs 2>/dev/null && echo moved-ctx
	cat /sys/fs/bpf/toolwall/maps/tw_rules >/dev/null 2>&1 && echo read-pin
	ls /sys/fs/bpf/toolwall/links >/dev/null 2>&1 && echo list-pins
	python3 $HERE/../lib/bpf_detach.py $cgmnt/toolwall && echo detached
	$P tcp 10.50.1.10 80" 2>/dev/null)
if [[ $undo == "ERR EPERM" ]]; then
	ok "a tool call cannot move itself, open the pins or detach the programs"
else
	not_ok "undo attempts" "$(echo "$undo" | tr '\n' ' ')"
fi

# ---- status ---------------------------------------------------------------------
st=$("$TW_BIN" status -j)
if python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["ok"] and len(s["policy_rev"]) == 64
assert s["counters"]["denied"] > 0 and s["counters"]["allowed"] > 0
assert "sock_create" in s["features"]
assert len(s["contexts"]) == 4' <<<"$st"; then
	ok "status -j: revision, features, contexts, counters"
else
	not_ok "status -j" "$st"
fi

tap_summary
