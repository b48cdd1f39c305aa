# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The escape suite's harness. Every attempt is a real program run as the
# agent account inside a tool call (`toolwall exec`), next to a running
# victim call in a more privileged context, and asserts both the refusal
# and its audit record. Source it from tests/escape/test_*.sh, then:
#
#   esc_setup [DAEMON-ARGS]   test hosts, host state, daemon; exits on failure
#                             (ESC_NO_HOSTS=1: no test hosts, for classes
#                             that reach none, so they need not queue for
#                             the test addresses)
#   esc_victim_start [CTX]    a victim call (default channel:acme/data-team,
#                             which holds WAREHOUSE_TOKEN) that runs until
#                             esc_victim_stop; sets ESC_VICTIM_PID (its pid as
#                             the host sees it) and ESC_VICTIM_ID (call id);
#                             the victim's argv carries $TW_SECRET_WAREHOUSE
#   esc_victim_alive          the victim still runs (0) or not (1)
#   esc_victim_stop           tell it to stop, wait for it
#   attempt NAME CTX EXPECT -- CMD...
#                             run CMD in a call of CTX (call id $ESC_ID, set
#                             to a fresh id before CMD runs); pass when the
#                             first line it prints matches EXPECT (a bash
#                             pattern, e.g. "BLOCKED*"); on failure print
#                             what it printed and its stderr
#   record NAME KEY=VALUE...  the call $ESC_ID has exactly one record with
#                             these fields (audit_check.py terms), within 5 s
#   no_secret NAME            no victim secret appears in the audit log or in
#                             what the last attempt printed
#   esc_bare CMD...           run CMD as the bare agent account, outside
#                             toolwall (no cgroup, Landlock or seccomp of
#                             ours; $ESC_BARE_WRAP, e.g. "unshare -Urn",
#                             goes before CMD); prints its first line
#   esc NAME CTX RECORD -- CMD...
#                             one whole attack: CMD as the bare agent must
#                             print "ESCAPED*" (the primitive works here;
#                             otherwise one skip, with what it printed), then
#                             attempt NAME CTX "BLOCKED*", then record (RECORD
#                             is "K=V;K~S;..." with event=deny and the
#                             context added, or "-" when the product writes
#                             no record for that refusal), then no_secret.
#                             ESC_NOBARE="why" skips the bare run (and says
#                             why in the test name) where no account outside
#                             toolwall could do it either. ESC_FIX="..."
#                             names the pending fix an attempt needs: it is
#                             added to the test name, so a report can tell
#                             "fails today, fixed by X" from a regression.
#
# Attack programs live in tests/escape/attacks/ (readable by tool calls: the
# harness bundle grants the directory) and print one verdict line first:
# "BLOCKED <how>" when the attack failed, "ESCAPED <what>" when it got
# through. They run with /usr/bin/python3 (root's pyenv is out of reach).

[[ -n ${_TW_ESCAPE_SH:-} ]] && return 0
_TW_ESCAPE_SH=1

ESC_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$ESC_HERE/../lib/tap.sh"
source "$ESC_HERE/../lib/netns.sh"
source "$ESC_HERE/../lib/toolwall.sh"

ESC_ATTACKS=$ESC_HERE/attacks
ESC_PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
ESC_AC="/usr/bin/python3 $ESC_HERE/../lib/audit_check.py" # (not a pyenv shim: it is polled)
ESC_WS=workspace:acme
ESC_GEN=channel:acme/general
ESC_DATA=channel:acme/data-team
ESC_DM=dm:acme/alice
ESC_ID=""
ESC_N=0
ESC_VICTIM_PID=""
ESC_VICTIM_ID=""
ESC_VICTIM_LAUNCHER=""

esc_setup()
{
	if [[ -z ${ESC_NO_HOSTS:-} ]]; then
		tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
	fi
	tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
	tw_daemon_start "$@" || { not_ok "daemon starts"; tap_summary; exit 1; }
	tw_at_exit esc_victim_stop
}

# The victim waits for a file in its own HOME; its argv holds the data-team
# secret, as a careless tool might.
esc_victim_start()
{
	local ctx=${1:-$ESC_DATA} i
	ESC_VICTIM_ID=victim-$$-$RANDOM
	rm -f "$TW_WORK/victim.pid" "$TW_WORK/victim.stop"
	twx "$ctx" "$ESC_VICTIM_ID" "$ESC_PY" "$ESC_ATTACKS/victim.py" \
		"$TW_WORK/shared/victim.pid" "$TW_WORK/shared/victim.stop" \
		"--token=$TW_SECRET_WAREHOUSE" >"$TW_WORK/victim.out" 2>&1 &
	ESC_VICTIM_LAUNCHER=$!
	for ((i = 0; i < 100; i++)); do
		if [[ -s $TW_WORK/shared/victim.pid ]]; then
			ESC_VICTIM_PID=$(cat "$TW_WORK/shared/victim.pid")
			# The pid as the host sees it (the call may have a PID
			# namespace of its own): the victim's process in its call's
			# cgroup whose argv names the stop file.
			local p
			for p in $(pgrep -f "victim.stop --token="); do
				ESC_VICTIM_PID=$p
			done
			return 0
		fi
		sleep 0.1
	done
	not_ok "victim call starts" "$(cat "$TW_WORK/victim.out")"
	return 1
}

esc_victim_alive()
{
	[[ -n $ESC_VICTIM_PID ]] && kill -0 "$ESC_VICTIM_PID" 2>/dev/null
}

esc_victim_stop()
{
	[[ -n $ESC_VICTIM_LAUNCHER ]] || return 0
	touch "$TW_WORK/shared/victim.stop" 2>/dev/null
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$ESC_VICTIM_LAUNCHER" 2>/dev/null || break
		sleep 0.1
	done
	kill "$ESC_VICTIM_LAUNCHER" 2>/dev/null
	wait "$ESC_VICTIM_LAUNCHER" 2>/dev/null
	ESC_VICTIM_LAUNCHER=""
	ESC_VICTIM_PID=""
}

attempt()
{
	local name=$1 ctx=$2 expect=$3
	shift 3
	[[ ${1:-} == -- ]] && shift
	ESC_N=$((ESC_N + 1))
	ESC_ID=esc-$$-$ESC_N
	local out
	out=$(twx "$ctx" "$ESC_ID" "$@" 2>"$TW_WORK/esc.err.$ESC_N")
	printf '%s\n' "$out" >"$TW_WORK/esc.out.$ESC_N"
	if [[ $(head -1 <<<"$out") == $expect ]]; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "got '$(head -3 <<<"$out" | tr '\n' ' ')'; stderr: $(head -3 "$TW_WORK/esc.err.$ESC_N" | tr '\n' ' ')"
	return 1
}

record()
{
	local name=$1 why
	shift
	if why=$(tw_eventually $ESC_AC "$TW_LOG" "$ESC_ID" "$@" 2>&1) ||
		why=$($ESC_AC "$TW_LOG" "$ESC_ID" "$@" 2>&1); then
		ok "$name: recorded"
	else
		not_ok "$name: recorded" "$(tail -c 600 <<<"$why")"
	fi
}

no_secret()
{
	local name=$1 s
	for s in "$TW_SECRET_WAREHOUSE" "$TW_SECRET_TRACKER" "$TW_SECRET_ATS"; do
		if grep -qF -- "$s" "$TW_LOG" "$TW_WORK/esc.out.$ESC_N" \
			"$TW_WORK/esc.err.$ESC_N" 2>/dev/null; then
			not_ok "$name: no secret leaked" "found a test secret"
			return 1
		fi
	done
	ok "$name: no secret leaked"
}

# (what the bare run leaves behind, e.g. a detached process, must not hold
# the host lock)
esc_bare()
{
	local home=$TW_WORK/shared/bare-home
	mkdir -p "$home" && chown "$TW_AGENT:" "$home" 2>/dev/null
	# shellcheck disable=SC2086 # the wrapper is words on purpose
	(cd "$home" && timeout -k 5 "${TAP_TIMEOUT:-30}" setpriv --reuid "$TW_AGENT" \
		--regid "$TW_AGENT" --clear-groups --inh-caps=-all \
		env -i PATH=/usr/bin:/bin HOME="$home" PYTHONDONTWRITEBYTECODE=1 \
		${ESC_BARE_WRAP:-} "$@" 2>&1 </dev/null {TW_LOCK_FD}>&- | head -1)
}

esc()
{
	local name=$1 ctx=$2 rec=$3 b
	shift 3
	[[ ${1:-} == -- ]] && shift
	[[ -n ${ESC_FIX:-} ]] && name+=" [needs: $ESC_FIX]"
	if [[ -n ${ESC_NOBARE:-} ]]; then
		name+=" [no bare run: $ESC_NOBARE]"
	else
		b=$(esc_bare "$@")
		if [[ $b != ESCAPED* ]]; then
			skip "$name" "the bare agent cannot do it either, nothing to refuse (got '${b:-nothing}')"
			return 0
		fi
	fi
	local held=0
	attempt "$name" "$ctx" "BLOCKED*" -- "$@" || held=1
	if [[ $rec != - ]] && ((held)); then
		# (no refusal, so no record to wait 5 s for)
		not_ok "$name: recorded" "nothing was refused"
	elif [[ $rec != - ]]; then
		local terms
		IFS=';' read -ra terms <<<"event=deny;context=$ctx;$rec"
		record "$name" "${terms[@]}"
	fi
	no_secret "$name"
}
