#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A call cannot see or touch other calls, and what it writes never runs:
# each tool call has its own PID, mount and IPC namespaces (a fresh /proc),
# its writable directories are mounted noexec, its memfds cannot be
# executed, and what it leaves behind ends with it unless its context sets
# "background": true. Every refusal is first shown to work for the bare
# agent account (without toolwall), then refused in a call next to another
# running call; refusals that toolwall makes (not mere absence) are checked
# for their audit record.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

PY=/usr/bin/python3 # pyenv (root's PATH) is under /root, out of a call's reach
IP=$TW_ROOT/tests/lib/iso_probe.py
AC="python3 $HERE/../lib/audit_check.py"
WS=workspace:acme
GEN=channel:acme/general
DATA=channel:acme/data-team
BG=channel:acme/bg

if [[ ! -r /proc/sys/vm/memfd_noexec ]]; then
	skip "isolation tests" "this kernel has no vm.memfd_noexec (Linux < 6.3)"
	tap_summary
	exit 0
fi
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
AS_AGENT=(setpriv --reuid "$TW_AGENT" --regid "$TW_AGENT" --clear-groups)
SH=$TW_WORK/shared

# Processes this test starts outside toolwall, killed by PID at exit.
bare_pids=()
ipc_keys=()
cleanup_iso()
{
	local p k
	for p in "${bare_pids[@]}"; do kill "$p" 2>/dev/null; done
	for k in "${ipc_keys[@]}"; do
		ipcrm -Q "$k" 2>/dev/null
		ipcrm -M "$k" 2>/dev/null
	done
}
tw_at_exit cleanup_iso

cat >"$TW_POLICY/isolation-test.json" <<EOF
[ { "channel": "bg", "workspace": "acme", "background": true } ]
EOF
if ! "$TW_BIN" check -p "$TW_POLICY" >"$TW_WORK/check.out" 2>&1; then
	not_ok "test policy" "$(head -5 "$TW_WORK/check.out" | tr '\n' ' ')"
	tap_summary
	exit 1
fi
comp=$("$TW_BIN" compile -p "$TW_POLICY" 2>&1)
grep -A4 "^context $BG\$" <<<"$comp" | grep -q "leftovers *run on after a call (background)" &&
	grep -A4 "^context $GEN\$" <<<"$comp" | grep -q "leftovers *killed with their call" &&
	ok "compile shows each context's leftovers rule" ||
	not_ok "compile shows background" "$(grep -A4 "^context $BG\$" <<<"$comp" | tr '\n' ' ')"
printf '[{"channel":"bad","workspace":"acme","background":"yes"}]\n' >"$TW_WORK/bad.json"
mkdir -p "$TW_WORK/badpol" && cp -r "$TW_POLICY"/. "$TW_WORK/badpol/" &&
	cp "$TW_WORK/bad.json" "$TW_WORK/badpol/bad.json"
"$TW_BIN" check -p "$TW_WORK/badpol" >"$TW_WORK/bad.out" 2>&1
rc=$?
((rc != 0)) && grep -q 'bad.json:1:[0-9]*: \(error: \)\?"background" must be true or false, not a string' "$TW_WORK/bad.out" &&
	ok "check refuses a background that is not a boolean, naming where" ||
	not_ok "check background" "exit $rc: $(head -c 300 "$TW_WORK/bad.out")"
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts"

n=0
# cell CONTEXT WANT_RC WANT_OUT CMD...: as test_sandbox.sh (WANT_OUT a bash
# pattern; with AUD="K=V;K~S", exactly one such record of the call).
cell()
{
	local ctx=$1 want_rc=$2 want_out=$3
	shift 3
	local out rc id="i$((++n))"
	local name="$ctx: ${*:1:4} -> exit $want_rc $want_out"
	name=${name//$IP/iso_probe}
	out=$(twx "$ctx" "$id" "$@" 2>"$TW_WORK/err.$n")
	rc=$?
	# shellcheck disable=SC2053 # a pattern on purpose
	if [[ $rc == "$want_rc" && $out == $want_out ]]; then
		ok "$name"
	else
		not_ok "$name" "got exit $rc, out '$(head -c 200 <<<"$out" | tr '\n' ' ')'; err: $(head -c 300 "$TW_WORK/err.$n" | tr '\n' ' ')"
	fi
	if [[ -n ${AUD-} ]]; then
		local terms
		IFS=';' read -ra terms <<<"context=$ctx;requester=tester;$AUD"
		if tw_eventually $AC "$TW_LOG" "$id" "${terms[@]}" >"$TW_WORK/ac.$n" 2>&1; then
			ok "$name: recorded ($AUD)"
		else
			not_ok "$name: recorded ($AUD)" "$(tail -c 600 "$TW_WORK/ac.$n" | tr '\n' ' ')"
		fi
	fi
}
bare() # MODE ARG...: the probe as the bare agent account, first line
{
	"${AS_AGENT[@]}" "$PY" "$IP" "$@" 2>/dev/null | head -1
}

# ---- 1. PID and IPC namespaces ------------------------------------------------------
# Without toolwall: an agent process sees and touches another of the same
# account, and shares its SysV IPC.
"${AS_AGENT[@]}" sleep 120 &
bare_target=$!
bare_pids+=("$bare_target")
for mode in cmdline prlimit setpriority sched kill0; do
	got=$(bare "$mode" "$bare_target")
	[[ $got == OK* ]] && ok "bare agent: $mode on another agent process works" ||
		not_ok "bare agent: $mode" "got '$got'"
done
key0=$((0x7a000000 + RANDOM))
ipc_keys+=("$key0")
"${AS_AGENT[@]}" "$PY" "$IP" victim "$SH/bare.info" "$SH/bare.stop" "$key0" >/dev/null 2>&1 &
bare_pids+=("$!")
tw_eventually test -s "$SH/bare.info"
for mode in msgget shmget; do
	got=$(bare "$mode" "$key0")
	[[ $got == OK* ]] && ok "bare agent: $mode sees another agent process's object" ||
		not_ok "bare agent: $mode" "got '$got'"
done
touch "$SH/bare.stop"

# The victim: a call of data-team holding a queue and a segment, with a
# secret in its launcher's argv.
key=$((0x7b000000 + RANDOM))
ipc_keys+=("$key")
vsecret=vsec-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$TW_BIN" exec $DATA --call-id iso-victim --requester tester --env "VICTIM_TOKEN=$vsecret" -- \
	"$PY" "$IP" victim "$SH/v.info" "$SH/v.stop" "$key" >"$TW_WORK/victim.out" 2>&1 &
vlauncher=$!
tw_eventually test -s "$SH/v.info"
read -r vns <"$SH/v.info"
# (the launcher's argv holds the same words: the one in a PID namespace)
vhost=$(pgrep -f "iso_probe.py victim $SH/v.info" | while read -r p; do
	[[ $(awk '/^NSpid:/ { print NF }' "/proc/$p/status" 2>/dev/null) == 3 ]] && echo "$p"
done | head -1)
nspid=$(awk '/^NSpid:/ { print $2, $3 }' "/proc/$vhost/status" 2>/dev/null)
if [[ -n $vhost && $nspid == "$vhost $vns" && $vns -le 3 ]]; then
	ok "the victim call runs in its own PID namespace (host pid $vhost is pid $vns there)"
else
	not_ok "victim in a PID namespace" "host pid '$vhost', NSpid '$nspid', its own pid '$vns'"
fi
[[ $(readlink "/proc/$vhost/ns/ipc") != "$(readlink /proc/self/ns/ipc)" &&
	$(readlink "/proc/$vhost/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] &&
	ok "the victim call has its own IPC and mount namespaces" ||
	not_ok "victim IPC/mount namespaces"
# the launcher's argv holds the victim's --env value: readable on the host
got=$(bare cmdline "$vlauncher")
[[ $got == *"$vsecret"* ]] &&
	ok "bare agent: the launcher's argv (with --env values) is readable on the host" ||
	not_ok "bare agent reads the launcher's argv" "got '$got'"
# The victim's records name it by its host pid and comm.
tw_eventually $AC "$TW_LOG" iso-victim "context=$DATA" event=exec "pid=$vhost" \
	comm=python3 "path=$PY" >"$TW_WORK/ac.v" 2>&1 &&
	ok "the victim's exec record carries its host pid $vhost and comm python3" ||
	not_ok "victim exec record (host pid)" "$(tail -c 600 "$TW_WORK/ac.v" | tr '\n' ' ')"

# From other calls (another context, and the same one): nothing to see.
for c in $GEN $DATA; do
	for target in "$vhost" "$vlauncher" "$TW_DAEMON_PID"; do
		cell "$c" 1 "ERR ENOENT" "$PY" "$IP" cmdline "$target"
		for mode in prlimit setpriority sched kill0; do
			cell "$c" 1 "ERR ESRCH" "$PY" "$IP" "$mode" "$target"
		done
	done
	cell "$c" 1 "ERR ENOENT" "$PY" "$IP" msgget "$key"
	cell "$c" 1 "ERR ENOENT" "$PY" "$IP" shmget "$key"
	# its own world: its init and itself
	cell "$c" 0 "OK 1 2" "$PY" "$IP" pids
	cell "$c" 0 "OK absent" "$PY" "$IP" grep-proc "$vsecret"
done
# Its own init shows no argv of the launcher, and no --env value.
csecret=csec-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
out=$("$TW_BIN" exec $GEN --call-id iso-init --env "CALL_TOKEN=$csecret" -- "$PY" "$IP" cmdline 1 2>&1)
[[ $out == "OK toolwall-init "* && $out != *"$csecret"* ]] &&
	ok "/proc/1/cmdline of a call is 'toolwall-init', without the launcher's --env values" ||
	not_ok "init cmdline" "$out"
out=$(twx $GEN iso-initenv "$PY" "$IP" environ 1 2>/dev/null)
[[ $out == "ERR EACCES" || $out == "ERR EPERM" ]] &&
	ok "a call cannot read its init's environment ($out)" || not_ok "init environ" "$out"
kill -0 "$vhost" 2>/dev/null && ok "the victim call was alive through every check" ||
	not_ok "victim alive"
touch "$SH/v.stop"
wait "$vlauncher"
rc=$?
[[ $rc == 0 && $(cat "$TW_WORK/victim.out") == OK ]] &&
	ok "the victim call ends normally (exit 0)" ||
	not_ok "victim end" "exit $rc: $(head -c 200 "$TW_WORK/victim.out")"

# The launcher's signals reach the command through the init.
rm -f "$SH/sig.ready"
# (the launcher itself in the background, not a shell function around it)
"$TW_BIN" exec $WS --call-id iso-signal --requester tester -- sh -c "trap 'echo got-term; exit 7' TERM; echo > $SH/sig.ready; while :; do sleep 0.1; done" \
	>"$TW_WORK/sig.out" 2>/dev/null &
slauncher=$!
tw_eventually test -e "$SH/sig.ready"
kill -TERM "$slauncher"
wait "$slauncher"
rc=$?
[[ $rc == 7 && $(cat "$TW_WORK/sig.out") == got-term ]] &&
	ok "SIGTERM to the launcher reaches the command (its trap ran, exit 7)" ||
	not_ok "signal forwarding" "exit $rc: $(head -c 200 "$TW_WORK/sig.out")"

# Exit statuses come through the init exactly.
cell $WS 0 "" true
cell $WS 1 "" false
cell $WS 42 "" sh -c 'exit 42'
cell $WS 143 "" sh -c 'kill -TERM $$'
cell $WS 127 "" no-such-command-here

# ---- 2. what a call writes is never executable -------------------------------------
d=$(mktemp -d /var/tmp/tw-iso.XXXXXX)
tw_at_exit "rm -rf $d"
cp /bin/true "$d/t"
chown -R "$TW_AGENT" "$d"
"${AS_AGENT[@]}" /lib64/ld-linux-x86-64.so.2 "$d/t" &&
	ok "bare agent: ld.so runs a copied file" || not_ok "bare agent ld.so"
got=$(bare mmap-exec "$d/t")
[[ $got == OK ]] && ok "bare agent: mmap(PROT_EXEC) of a written file works" ||
	not_ok "bare agent mmap-exec" "$got"
rm -rf "$d"
for c in $GEN $DATA; do
	for dir in '$HOME' "$SH"; do
		cell "$c" 127 "" sh -c "cp /bin/true $dir/t-\$\$ && /lib64/ld-linux-x86-64.so.2 $dir/t-\$\$"
		AUD="event=deny;action=exec;syscall=mmap;errno=EPERM" \
			cell "$c" 1 "ERR EPERM" sh -c "cp /bin/true $dir/m-\$\$ && exec $PY $IP mmap-exec $dir/m-\$\$"
	done
	out=$(twx "$c" "mnt$n" sh -c 'grep -E " ('"${SH//\//\\/}"'|\/var\/tmp\/toolwall-calls\/[^ ]*) " /proc/self/mountinfo' 2>&1)
	[[ $(grep -c noexec <<<"$out") -ge 2 ]] &&
		ok "$c: HOME and the writable shared directory are mounted noexec" ||
		not_ok "$c: noexec mounts" "$out"
done
grep -q "$SH" /proc/self/mountinfo && not_ok "a call's mounts reached the host" ||
	ok "a call's noexec mounts stay in its own mount namespace"

# ---- 3. executable memfds -----------------------------------------------------------------
got=$("${AS_AGENT[@]}" "$PY" "$IP" memfd-exec 2>&1; echo "rc=$?")
[[ $got == "rc=0" ]] && ok "bare agent: memfd_create + fexecve of /bin/true runs it" ||
	not_ok "bare agent memfd exec" "$got"
got=$(bare memfd-mfdexec)
[[ $got == OK* ]] && ok "bare agent: memfd_create(MFD_EXEC) works" || not_ok "bare agent MFD_EXEC" "$got"
for c in $GEN $DATA; do
	cell "$c" 0 "2" cat /proc/sys/vm/memfd_noexec
	AUD="event=deny;syscall=execveat;errno=EACCES" \
		cell "$c" 1 "ERR EACCES" "$PY" "$IP" memfd-exec
	AUD="event=deny;action=memfd_create;syscall=memfd_create;errno=EPERM;reason~seccomp denies memfd_create()" \
		cell "$c" 1 "ERR EPERM" "$PY" "$IP" memfd-mfdexec
done
[[ $(cat /proc/sys/vm/memfd_noexec) == 0 ]] &&
	ok "the host's vm.memfd_noexec is untouched (0)" || not_ok "host memfd_noexec changed"

# ---- 4. leftovers: killed with the call, unless background ------------------------------
for c in $GEN $BG; do
	tag=left-${c##*/}-$RANDOM
	rm -f "$SH/$tag.pid"
	# The command leaves a sleeper behind (its own session, stdio closed)
	# and exits at once.
	twx "$c" "$tag" sh -c "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo \$! > $SH/$tag.pid" \
		>/dev/null 2>"$TW_WORK/$tag.err"
	rc=$?
	sleep 0.3
	hp=$(pgrep -f "^sleep 300\$" | while read -r p; do
		[[ $(readlink "/proc/$p/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] &&
			grep -q "call-" "/proc/$p/cgroup" && echo "$p"
	done | head -1)
	if [[ $c == "$BG" ]]; then
		if [[ $rc == 0 && -n $hp ]] && grep -q "/toolwall/acme/channels/bg/call-" "/proc/$hp/cgroup"; then
			ok "background: the leftover runs on after the call, in the call's cgroup"
			grep -q "^NoNewPrivs:.*1" "/proc/$hp/status" &&
				grep -q "^Seccomp:.*2" "/proc/$hp/status" &&
				[[ $(stat -c %u "/proc/$hp") == $(id -u "$TW_AGENT") ]] &&
				ok "background: the leftover is still confined (agent uid, no_new_privs, seccomp)" ||
				not_ok "background leftover confined" "$(grep -E '^(Uid|NoNewPrivs|Seccomp)' "/proc/$hp/status" | tr '\n' ' ')"
			cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$hp/cgroup")
			cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
			kill "$hp"
			tw_eventually sh -c "! test -s '$cgroot$cg/cgroup.procs'" &&
				ok "background: the call's init ends with its last process" ||
				not_ok "background init left behind"
		else
			not_ok "background leftover runs on" "exit $rc, pid '$hp': $(head -c 200 "$TW_WORK/$tag.err")"
		fi
	else
		[[ $rc == 0 && -z $hp ]] &&
			ok "no background: what the call left behind is killed with it" ||
			not_ok "leftover killed" "exit $rc, still running: $hp"
	fi
done

tap_summary
