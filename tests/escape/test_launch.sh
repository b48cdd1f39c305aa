#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, launch class: an attacker who read supervise.c and
# launchsock.c, as a member of the launcher group or as any other local
# account, against the launch socket (tests/escape/attacks/launch.py, run
# outside any call): request fields that would choose the confinement, a
# context outside the policy, variables toolwall sets, control operations
# through the launch socket, the control socket itself, forged
# SCM_CREDENTIALS, stdio that is a directory, an O_PATH descriptor, a TCP
# connection or a unix connection to root's service, a working directory
# outside every grant, and a flood of refused connections. And from inside
# a call: the launch socket is out of reach.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

tw_launchers twe || { not_ok "test users and group"; tap_summary; exit 1; }
LG=$TW_LG MEMBER=$TW_MEMBER OTHER=$TW_OTHER
ESC_NO_HOSTS=1
esc_setup --launch-group "$LG"
MUID=$(id -u "$MEMBER") OUID=$(id -u "$OTHER")
SOCK=/run/toolwall-launch/launch.sock
export ESC_SHARED=$TW_WORK/shared

# lx NAME USER EXPECT MODE ARGS...: launch.py as USER; its first line must
# match EXPECT.
lx()
{
	local name=$1 u=$2 expect=$3 out
	shift 3
	out=$(cd /tmp && setpriv --reuid "$u" --regid "$u" --init-groups -- \
		env ESC_SHARED="$ESC_SHARED" "$ESC_PY" "$ESC_ATTACKS/launch.py" "$SOCK" "$@" 2>&1 </dev/null)
	if [[ $(head -1 <<<"$out") == $expect ]]; then
		ok "$name: $(head -1 <<<"$out" | cut -c1-160)"
	else
		not_ok "$name" "$(head -3 <<<"$out" | tr '\n' ' ')"
	fi
}
alive()
{
	if "$TW_BIN" status >/dev/null 2>&1; then
		ok "$1: the daemon still serves"
	else
		not_ok "$1: the daemon still serves"
	fi
}

# ---- a member choosing its confinement -----------------------------------
for f in 'cgroup "/sys/fs/cgroup"' 'run_as "root"' 'launcher_uid 0' 'background true' \
	'mode "audit"' 'cgid 1'; do
	name=${f%% *} val=${f#* }
	lx "a launcher sets \"$name\" in its request: refused, nothing runs" "$MEMBER" \
		"BLOCKED unknown field*" field "$name" "$val"
done
out=$(cd /tmp && setpriv --reuid "$MEMBER" --regid "$MEMBER" --init-groups -- \
	"$TW_BIN" exec workspace:acme --env PATH=/tmp --env LD_PRELOAD=x -- /bin/true 2>&1)
rc=$?
if ((rc == 125)) && grep -q "toolwall sets this variable itself" <<<"$out"; then
	ok "--env PATH=... through the launch socket: refused as root's exec refuses it (125)"
else
	not_ok "--env PATH" "rc $rc: $out"
fi
for ctx in "workspace:../acme" "channel:acme/../../x" "workspace:acme/../../etc" "dm:acme/alice@acme.com/x"; do
	out=$(cd /tmp && setpriv --reuid "$MEMBER" --regid "$MEMBER" --init-groups -- \
		"$TW_BIN" exec "$ctx" -- /bin/sh -c "touch $ESC_SHARED/ctx-ran" 2>&1)
	rc=$?
	if ((rc == 125)) && [[ ! -e $ESC_SHARED/ctx-ran ]] && grep -q "no context" <<<"$out"; then
		ok "context '$ctx': refused (125), nothing ran"
	else
		not_ok "context '$ctx'" "rc $rc: $out"
	fi
	rm -f "$ESC_SHARED/ctx-ran"
done

# ---- the daemon's root operations ---------------------------------------------
for op in stop reload call-start call-end status hello; do
	lx "\"$op\" as the first request on the launch socket" "$MEMBER" "BLOCKED the first request must be*" first "$op"
done
alive "after control ops on the launch socket"
lx "a member connects to the control socket" "$MEMBER" "BLOCKED Permission denied" control /run/toolwall/control.sock
lx "a non-member connects to the control socket" "$OTHER" "BLOCKED Permission denied" control /run/toolwall/control.sock
alive "after the control socket attempts"

# ---- credentials --------------------------------------------------------------------
lx "a non-member forges SCM_CREDENTIALS of root" "$OTHER" "BLOCKED*" credforge
lx "a non-member sends SO_PASSCRED and SCM_CREDENTIALS of its own" "$OTHER" "BLOCKED uid $OUID may not launch*" credown
lx "a member forges SCM_CREDENTIALS of root" "$MEMBER" "BLOCKED the kernel refused*" credforge
refusals() { grep '"event":"launch"' "$TW_LOG" | gq "\"outcome\":\"refused\",\"pid\":[0-9]*,\"uid\":$OUID,"; }
if tw_eventually refusals; then
	ok "the non-member's attempts are launch records with its own uid ($OUID)"
else
	not_ok "refusal recorded" "$(grep '"event":"launch"' "$TW_LOG" | tail -2)"
fi

# ---- descriptors ----------------------------------------------------------------------
lx "a directory (/) as the call's stdin" "$MEMBER" "BLOCKED refused: the launcher's stdin is a directory*" stdio dir
lx "an O_PATH descriptor as the call's stdin" "$MEMBER" "BLOCKED refused: the launcher's stdin is a directory or an O_PATH*" stdio opath
lx "a TCP connection as the call's stdin" "$MEMBER" "BLOCKED refused: the launcher's stdin is a socket*" stdio tcp
lx "a unix connection to root's service as the call's stdin" "$MEMBER" "BLOCKED refused: the launcher's stdin is a socket*" \
	stdio unixroot "$TW_DEMO_RUN/other.sock"
secret=$TW_WORK/nogrant
mkdir -p "$secret" && chmod 0755 "$secret" && echo "launch-cwd-secret" >"$secret/mark" && chmod 0644 "$secret/mark"
lx "a working directory outside every grant (readable by the agent's account)" "$MEMBER" "BLOCKED started in*" cwd "$secret" mark

# ---- a flood of refused peers ----------------------------------------------------------
before=$(grep -c '"event":"launch"' "$TW_LOG")
lx "200 connections of a non-member" "$OTHER" "BLOCKED 1 kind(s) of answer*" flood 200
after=$(grep -c '"event":"launch"' "$TW_LOG")
alive "after the flood"
if ((after - before < 20)); then
	ok "the flood is aggregated: $((after - before)) new launch record(s) for 200 refusals"
else
	not_ok "flood aggregated" "$((after - before)) records"
fi

# ---- from inside a call -----------------------------------------------------------------
attempt "a call connects to the launch socket" workspace:acme "ERR EPERM*" -- "$TW_PROBE" unix "$SOCK"
record "a call connects to the launch socket" event=deny action=connect proto=unix "path=$SOCK"

tap_summary
