#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, daemon class: a call of workspace:acme attacks toolwall's
# own daemon. Its resolver (any port-53 query is redirected to it): TCP half
# queries then close, queries reset before the answer is written (SIGPIPE),
# hundreds of half-open connections, malformed packets; after each the
# resolver must still answer, with a record of that last query. Its control
# socket (a call asking for a data-team call); root's loopback ports (the
# resolver's listeners); running a second daemon from a call; and, from the
# host, a second daemon beside the running one.
#
# No bare run: the target of each attack is toolwall itself, which only a
# call reaches; each attack proves itself by asking the resolver afterwards
# (an unanswered query prints ESCAPED).
#
# Fixes pending on other branches (attempts tagged [needs: ...]):
#   sigpipe  the daemon survives a peer that closes before its answer
#   single   a second daemon refuses to start while one runs
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

Q="$ESC_PY $ESC_ATTACKS/dnsd.py"
ESC_NO_HOSTS=1 # (port 53 anywhere goes to the resolver; see UP)
esc_setup
esc_victim_start || { tap_summary; exit 1; }
WS=$ESC_WS
# Any port-53 destination of a call is redirected to its resolver; a
# loopback one keeps a query that were not redirected on this host.
UP=127.0.0.53
daemon_ok()
{
	if kill -0 "$TW_DAEMON_PID" 2>/dev/null && "$TW_BIN" status >/dev/null 2>&1; then
		ok "$1: the daemon still runs and answers status"
	else
		not_ok "$1: the daemon still runs and answers status" "$(tail -3 "$TW_WORK/daemon.out" | tr '\n' ' ')"
	fi
}

ESC_NOBARE="the target is toolwall's resolver" ESC_FIX=sigpipe \
	esc "TCP DNS half queries, then queries reset before the answer" $WS \
	"action=dns;domain=alive-1.exfil.example;proto=udp" -- $Q half $UP alive-1.exfil.example
daemon_ok "half queries and resets"
ESC_NOBARE="the target is toolwall's resolver" \
	esc "200 half-open TCP DNS connections held" $WS \
	"action=dns;domain=alive-2.exfil.example;proto=udp" -- $Q hold $UP alive-2.exfil.example 200
daemon_ok "half-open connections"
ESC_NOBARE="the target is toolwall's resolver" \
	esc "malformed DNS packets (pointer loops, overlong names, responses)" $WS \
	"action=dns;domain=alive-3.exfil.example" -- $Q malformed $UP alive-3.exfil.example
daemon_ok "malformed packets"
ESC_NOBARE="the daemon checks its peer's credentials (root or the launcher group)" \
	esc "the control socket: ask for a data-team call" $WS \
	"action=connect;proto=unix;path=/run/toolwall/control.sock" -- $Q control /run/toolwall/control.sock "$ESC_DATA"
daemon_ok "control socket"
ESC_NOBARE="the kernel refuses a port in use to every account" \
	esc "bind root's loopback ports (the resolver's listeners)" $WS - -- $Q bind-resolver
ESC_NOBARE="toolwall daemon needs root outside a call too" \
	esc "run a second toolwall daemon from a call" $WS "action=exec;errno=EACCES;path=$TW_BIN" -- \
	$Q second-daemon "$TW_BIN" "$TW_POLICY"
daemon_ok "after the call's attempts"

# ---- a second daemon from the host, beside the running one [needs: single] -------------
second_pid=""
stop_second() { [[ -n $second_pid ]] && kill "$second_pid" 2>/dev/null && wait "$second_pid" 2>/dev/null; second_pid=""; }
tw_at_exit stop_second
"$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_WORK/second.jsonl" >"$TW_WORK/second.out" 2>&1 {TW_LOCK_FD}>&- &
second_pid=$!
for ((i = 0; i < 50; i++)); do kill -0 "$second_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$second_pid" 2>/dev/null; then
	stop_second
	not_ok "a second daemon refuses to start [needs: single]" "it ran for 5 s beside the first"
else
	wait "$second_pid"
	rc=$?
	second_pid=""
	[[ $rc != 0 && -s $TW_WORK/second.out ]] &&
		ok "a second daemon refuses to start [needs: single] (exit $rc: $(head -1 "$TW_WORK/second.out"))" ||
		not_ok "a second daemon refuses to start [needs: single]" "exit $rc, said '$(head -c 200 "$TW_WORK/second.out")'"
fi
daemon_ok "after a second daemon [needs: single]"
ESC_NOBARE="enforcement after a second daemon" ESC_FIX=single \
	esc "a unix socket no bundle grants, after a second daemon came and went" $WS \
	"action=connect;proto=unix;path=$TW_DEMO_RUN/other.sock" -- $ESC_PY "$ESC_ATTACKS/net.py" unix "$TW_DEMO_RUN/other.sock"

esc_victim_alive && ok "the victim call ran through every attempt" || not_ok "victim alive"
tap_summary
