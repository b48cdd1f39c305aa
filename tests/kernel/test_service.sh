#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# toolwall as a service: the unit verifies (systemd-analyze, offline), the
# daemon speaks sd_notify to a real notify socket (READY=1 only once a call
# is already refused what the policy refuses; RELOADING=1 then READY=1
# around reloads, refused ones included; STOPPING=1 at stop), and under a
# delegated cgroup (simulated as systemd makes one: a cgroup marked
# trusted.delegate=1 and trusted.invocation_id, the daemon started in it
# with INVOCATION_ID) the daemon moves into OWN/daemon and its tool calls
# land under OWN/calls; an explicit TOOLWALL_CGROUP_ROOT wins over it, and
# a cgroup not delegated, of another invocation, or shared with another
# process keeps the default root.
# Every instance has its own pins, run dir and cgroups: no host lock, no
# test hosts.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

CGM=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
NAME=tw-svc-$$
SVC=$CGM/$NAME # the simulated service's delegated cgroup
WORK=$(mktemp -d /tmp/twsvc.XXXXXX)
chmod 0755 "$WORK"
INV=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
PA=$((20000 + $$ % 5000)) PB=$((PA + 1)) # allowed, refused
LISTENER="" DAEMON=""
ENV=()

stop_pid() { [[ -n $1 ]] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null; }
cleanup()
{
	stop_pid "$DAEMON"
	stop_pid "$LISTENER"
	for r in a b; do
		env TOOLWALL_PIN_ROOT=/sys/fs/bpf/$NAME-$r TOOLWALL_RUN_DIR=/run/$NAME-$r \
			"$TW_BIN" down --kill >/dev/null 2>&1
		rm -rf "/run/$NAME-$r" "/run/$NAME-$r-calls" "/var/tmp/$NAME-$r-calls"
		rmdir "/sys/fs/bpf/$NAME-$r" 2>/dev/null
	done
	rm -rf "/run/$NAME-nopin" "/run/$NAME-c" "/run/$NAME-c-calls" "/var/tmp/$NAME-c-calls"
	# our own process tree first leaves the cgroups we made
	for d in "$SVC/daemon" "$SVC"; do
		[[ -d $d ]] || continue
		while read -r p; do echo "$p" >"$CGM/cgroup.procs"; done <"$d/cgroup.procs" 2>/dev/null
	done
	for d in "$CGM/$NAME-x" "$CGM/$NAME-y" "$SVC"; do
		[[ -d $d ]] && tw_cg_rmtree "$d"
	done
	# limits on a hybrid host: what the calls made in v1 hierarchies
	for h in $(awk '$3 == "cgroup" { print $2 }' /proc/mounts); do
		for d in "$h/$NAME" "$h/$NAME-x" "$h/$NAME-y"; do
			[[ -d $d ]] && tw_cg_rmtree "$d"
		done
	done
	rm -rf "$WORK"
}
# rmdir a cgroup tree bottom-up (only what this test made)
tw_cg_rmtree() { find "$1" -depth -type d -exec rmdir {} + 2>/dev/null; }
tw_at_exit cleanup

# ---- the unit verifies --------------------------------------------------
# systemd-analyze verify checks that ExecStart's binary exists: install
# with PREFIX inside the scratch directory, so the unit names a real file,
# and verify it offline against the host's own targets.
make -s -C "$TW_ROOT" install PREFIX="$WORK/root/usr" >"$WORK/install.out" 2>&1
unit=$WORK/root/usr/lib/systemd/system/toolwall.service
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify passes on toolwall.service" "no systemd-analyze (deps: test layer)"
elif out=$(systemd-analyze verify --man=no "$unit" 2>&1) && [[ -z $out ]]; then
	ok "systemd-analyze verify passes on toolwall.service (offline; PID 1 need not be systemd)"
else
	not_ok "systemd-analyze verify" "$out"
fi
want="Type=notify ExecReload= Restart=on-failure Delegate=yes ExecStart=$WORK/root/usr/sbin/toolwall"
miss=""
for w in $want; do grep -q "^$w" "$unit" || miss+=" $w"; done
if [[ -z $miss ]]; then ok "the unit: $want"; else not_ok "the unit lacks" "$miss"; fi

# ---- a policy: the agent may reach 127.0.0.1:PA, nothing else --------------
cat >"$WORK/policy.json" <<EOF
[ { "workspace": "svc", "agent": { "name": "svc-agent", "user": "nobody" },
    "baseline": ["loop"] },
  { "bundle": "loop", "connect": ["127.0.0.1:$PA"],
    "skills": ["$(dirname "$TW_PROBE")"] } ]
EOF
"$TW_BIN" check -p "$WORK/policy.json" >/dev/null || {
	not_ok "test policy" "$("$TW_BIN" check -p "$WORK/policy.json" 2>&1)"
	tap_summary
	exit 1
}
# exec A PORT: a tool call of instance A/B trying 127.0.0.1:PORT
probe_cmd() { echo env "${ENV[@]}" "$TW_BIN" exec workspace:svc --call-id "$2" -- "$TW_PROBE" tcp 127.0.0.1 "$1"; }

# start_daemon LABEL NOTIFY_ADDR [ENV...]: listener, then the daemon inside
# $SVC (INVOCATION_ID set, as a service manager starts it)
start_daemon()
{
	local label=$1 addr=$2 i
	shift 2
	ENV=("$@")
	mkdir -p "$SVC"
	python3 "$TW_ROOT/tests/lib/notify_sock.py" "$addr" "$WORK/$label.notify" \
		--on-ready $(probe_cmd $PB r-ready) >"$WORK/$label.listener" 2>&1 &
	LISTENER=$!
	for ((i = 0; i < 50; i++)); do
		grep -qs listening "$WORK/$label.listener" && break
		sleep 0.1
	done
	env "${ENV[@]}" NOTIFY_SOCKET="$addr" INVOCATION_ID="$INV" sh -c \
		'echo $$ > "$1/cgroup.procs" && exec "$2" daemon -p "$3" --audit-log "$4"' \
		sh "$SVC" "$TW_BIN" "$WORK/policy.json" "$WORK/$label.audit" \
		>"$WORK/$label.daemon" 2>&1 &
	DAEMON=$!
}
ready() { grep -q '^MSG .*READY=1' "$WORK/$1.notify" 2>/dev/null; }
msgs() { grep '^MSG ' "$WORK/$1.notify" | grep -o 'READY=1\|RELOADING=1\|STOPPING=1' | tr '\n' ' '; }
wait_for() { local i; for ((i = 0; i < 100; i++)); do "$@" && return 0; sleep 0.1; done; return 1; }

# ---- readiness, reloads, stop (a path socket; explicit root wins) ---------
A_ENV=(TOOLWALL_PIN_ROOT=/sys/fs/bpf/$NAME-a TOOLWALL_RUN_DIR=/run/$NAME-a
	TOOLWALL_CGROUP_ROOT=$NAME-x)
start_daemon a "$WORK/notify.sock" "${A_ENV[@]}"
if wait_for ready a; then
	ok "READY=1 arrives on a path notify socket"
else
	not_ok "READY=1" "$(cat "$WORK/a.notify" "$WORK/a.daemon" 2>&1 | tail -5)"
fi
wait_for grep -q '^ON-READY' "$WORK/a.notify"
if grep -q '^ON-READY rc=1 ERR EPERM' "$WORK/a.notify"; then
	ok "when READY=1 is read, a tool call is already refused what the policy refuses (EPERM)"
else
	not_ok "enforcing at READY=1" "$(grep ON-READY "$WORK/a.notify")"
fi
first=$(grep -m1 '^MSG ' "$WORK/a.notify")
if [[ $first == *"READY=1|STATUS=enforcing policy "*"(1 contexts) on $CGM/$NAME-x" ]]; then
	ok "the first message is READY=1 with STATUS (policy, contexts, cgroup root)"
else
	not_ok "first message" "$first"
fi
out=$(eval "$(probe_cmd $PA r-allowed)" 2>/dev/null)
if [[ $out == "ERR ECONNREFUSED" || $out == OK ]]; then
	ok "what the policy allows passes the hooks ($out)"
else
	not_ok "allowed port" "$out"
fi
pid_cg=$(sed -n 's/^0:://p' "/proc/$DAEMON/cgroup" 2>/dev/null)
if [[ $pid_cg == "/$NAME" && ! -e $SVC/daemon ]]; then
	ok "TOOLWALL_CGROUP_ROOT wins over a delegated cgroup: the daemon stays where it was started"
else
	not_ok "explicit root" "daemon in '$pid_cg'"
fi

env "${A_ENV[@]}" "$TW_BIN" reload >/dev/null 2>&1
wait_for eval '[[ $(msgs a) == "READY=1 RELOADING=1 READY=1 " ]]'
kill -HUP "$DAEMON"
wait_for eval '[[ $(msgs a) == "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 " ]]'
if [[ $(msgs a) == "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 " ]] &&
	grep -q '^MSG RELOADING=1|MONOTONIC_USEC=[0-9]*|STATUS=reloading' "$WORK/a.notify"; then
	ok "toolwall reload and SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1, each"
else
	not_ok "reload notifications" "$(msgs a)"
fi
cp "$WORK/policy.json" "$WORK/policy.good"
echo '[ { "workspace": "svc", "baseline": ["nope"] } ]' >"$WORK/policy.json"
env "${A_ENV[@]}" "$TW_BIN" reload >/dev/null 2>&1
cp "$WORK/policy.good" "$WORK/policy.json"
wait_for grep -q 'STATUS=reload refused; enforcing' "$WORK/a.notify"
if [[ $(msgs a) == "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 " ]] &&
	grep -q '^MSG READY=1|STATUS=reload refused; enforcing policy' "$WORK/a.notify"; then
	ok "a refused reload: RELOADING=1, then READY=1 saying the policy in force stays"
else
	not_ok "refused reload" "$(tail -2 "$WORK/a.notify")"
fi
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null
DAEMON=""
if [[ $(msgs a) == *"READY=1 STOPPING=1 " ]] && grep -q '^MSG STOPPING=1|STATUS=' "$WORK/a.notify"; then
	ok "SIGTERM: STOPPING=1 is the last message"
else
	not_ok "stop" "$(msgs a)"
fi
stop_pid "$LISTENER"
LISTENER=""
# The pins of A enforce $NAME-x: a daemon with the same pins and another
# root must not adopt them (its root would be left unenforced).
out=$(env TOOLWALL_PIN_ROOT=/sys/fs/bpf/$NAME-a TOOLWALL_RUN_DIR=/run/$NAME-a \
	TOOLWALL_CGROUP_ROOT=$NAME-y timeout 20 "$TW_BIN" daemon -p "$WORK/policy.json" \
	--audit-log "$WORK/y.audit" 2>&1)
rc=$?
tw_cg_rmtree "$CGM/$NAME-y"
if [[ $rc -eq 1 ]] && grep -q "attached to another cgroup" <<<"$out"; then
	ok "pins that enforce another live cgroup root are not adopted: the daemon refuses, saying why"
else
	not_ok "foreign pinned links" "exit $rc: $out"
fi
env "${A_ENV[@]}" "$TW_BIN" down --kill >/dev/null 2>&1

# ---- the rule's other cases ----------------------------------------------
# decide INVOCATION_ID: start the daemon in $SVC with a pin root off bpffs,
# so it stops right after deciding its cgroup root (nothing is created)
decide()
{
	env TOOLWALL_PIN_ROOT=/run/$NAME-nopin TOOLWALL_RUN_DIR=/run/$NAME-c \
		INVOCATION_ID="$1" NOTIFY_SOCKET="${2:-}" sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" daemon -p "$3" --audit-log "$4"' \
		sh "$SVC" "$TW_BIN" "$WORK/policy.json" "$WORK/c.audit" 2>&1
}
out=$(decide "$INV" relative/notify.sock)
if grep -q "$NAME is not delegated (no Delegate=yes): the cgroup root is toolwall" <<<"$out" &&
	grep -q "not on a bpf filesystem" <<<"$out" && [[ ! -e $SVC/daemon ]]; then
	ok "started by a service manager without a delegated cgroup: the default root, nothing moved"
else
	not_ok "not delegated" "$out"
fi
if grep -q "NOTIFY_SOCKET is not a unix socket address (a path or @name); readiness is not reported" <<<"$out"; then
	ok "a NOTIFY_SOCKET that is no unix address is reported, not sent to"
else
	not_ok "bad NOTIFY_SOCKET" "$out"
fi
python3 -c 'import os, sys
os.setxattr(sys.argv[1], "trusted.delegate", b"1")
os.setxattr(sys.argv[1], "trusted.invocation_id", sys.argv[2].encode())' "$SVC" "$INV" ||
	not_ok "mark $SVC delegated" "cannot set trusted.* xattrs on cgroupfs"
out=$(decide "0123456789abcdef0123456789abcdef")
if grep -q "belongs to another invocation ($INV, not \$INVOCATION_ID 0123456789abcdef0123456789abcdef): the cgroup root is toolwall" <<<"$out" &&
	[[ ! -e $SVC/daemon ]]; then
	ok "a delegated cgroup of another invocation (an inherited INVOCATION_ID): the default root, nothing moved"
else
	not_ok "other invocation" "$out"
fi

sleep 60 &
sibling=$!
echo "$sibling" >"$SVC/cgroup.procs"
out=$(decide "$INV")
kill "$sibling"
wait "$sibling" 2>/dev/null
if grep -q "$NAME holds other processes: we are not the service's main process: the cgroup root is toolwall" <<<"$out" &&
	[[ ! -e $SVC/daemon ]]; then
	ok "a delegated cgroup the daemon shares with another process (an inherited environment): the default root, nothing moved"
else
	not_ok "shared cgroup" "$out"
fi

# ---- a delegated cgroup (abstract socket) -------------------------------------
B_ENV=(TOOLWALL_PIN_ROOT=/sys/fs/bpf/$NAME-b TOOLWALL_RUN_DIR=/run/$NAME-b)
start_daemon b "@$NAME-notify" "${B_ENV[@]}"
if wait_for ready b; then
	ok "READY=1 arrives on an abstract (@name) notify socket"
else
	not_ok "READY=1 (abstract)" "$(cat "$WORK/b.notify" "$WORK/b.daemon" 2>&1 | tail -5)"
fi
wait_for grep -q '^ON-READY' "$WORK/b.notify"
pid_cg=$(sed -n 's/^0:://p' "/proc/$DAEMON/cgroup" 2>/dev/null)
root=$(env "${B_ENV[@]}" "$TW_BIN" status 2>/dev/null | awk '$1 == "cgroups:" { print $2 }')
if [[ $pid_cg == "/$NAME/daemon" && $root == "$SVC/calls" ]] &&
	[[ $(cat "/run/$NAME-b/cgroup-root" 2>/dev/null) == "$NAME/calls" ]]; then
	ok "delegated: the daemon moved into OWN/daemon, the root is OWN/calls (recorded for down)"
else
	not_ok "delegated root" "daemon in '$pid_cg', root '$root'; $(tail -3 "$WORK/b.daemon")"
fi
if grep -q '^ON-READY rc=1 ERR EPERM' "$WORK/b.notify"; then
	ok "delegated: the call at READY=1 is refused (EPERM)"
else
	not_ok "delegated call refused" "$(grep ON-READY "$WORK/b.notify")"
fi
ENV=("${B_ENV[@]}")
eval "$(probe_cmd 0 r-long | sed "s|$TW_PROBE tcp 127.0.0.1 0|sleep 20|")" >/dev/null 2>&1 &
long=$!
wait_for compgen -G "$SVC/calls/svc/workspace/call-*" >/dev/null
if compgen -G "$SVC/calls/svc/workspace/call-*" >/dev/null && ! compgen -G "$CGM/toolwall/svc" >/dev/null; then
	ok "delegated: a running call's cgroup is under OWN/calls/svc/workspace"
else
	not_ok "call cgroup" "$(find "$SVC" -maxdepth 4 -type d | tr '\n' ' ')"
fi

# The service fails and its manager cleans up as systemd does: every
# process of the unit's cgroup killed, the tree removed. The pinned links
# are severed with it; the restarted daemon replaces them and enforces.
kill -9 "$DAEMON"
echo 1 >"$SVC/cgroup.kill"
wait "$DAEMON" 2>/dev/null
wait "$long" 2>/dev/null
DAEMON=""
stop_pid "$LISTENER"
wait_for grep -q '^populated 0' "$SVC/cgroup.events"
tw_cg_rmtree "$SVC"
mkdir "$SVC"
python3 -c 'import os, sys
os.setxattr(sys.argv[1], "trusted.delegate", b"1")' "$SVC"
start_daemon b2 "@$NAME-notify2" "${B_ENV[@]}"
wait_for ready b2
wait_for grep -q '^ON-READY' "$WORK/b2.notify"
if grep -q '^ON-READY rc=1 ERR EPERM' "$WORK/b2.notify" &&
	[[ $(sed -n 's/^0:://p' "/proc/$DAEMON/cgroup" 2>/dev/null) == "/$NAME/daemon" ]]; then
	ok "restart after the service's tree was removed: severed pinned links replaced, calls refused again"
else
	not_ok "restart in a fresh delegated cgroup" "$(grep ON-READY "$WORK/b2.notify"; tail -3 "$WORK/b2.daemon")"
fi

out=$(env "${B_ENV[@]}" "$TW_BIN" down --kill 2>&1)
rc=$?
wait "$DAEMON" 2>/dev/null
DAEMON=""
if [[ $rc -eq 0 && ! -e $SVC/calls && ! -e /sys/fs/bpf/$NAME-b ]] && msgs b2 | gq 'STOPPING=1 $'; then
	ok "down finds the delegated tree from the recorded root and removes it; the daemon said STOPPING=1"
else
	not_ok "down (delegated)" "exit $rc: $out; $(ls "$SVC" 2>&1 | tr '\n' ' ')"
fi

tap_summary
