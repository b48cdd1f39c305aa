#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, lifecycle class: what a call leaves behind. A detached
# process (double fork + setsid) that keeps a heartbeat after its call
# ended; one that writes to the call's terminal after the end; a call whose
# launcher is killed; and `toolwall down` while a call keeps trying a host it
# may not reach. A data-team victim call runs beside it.
#
# Fixes pending on other branches (attempts tagged [needs: ...]):
#   leftover  what a call leaves is ended with it (no "background": true)
#   pty       a terminal of the call's own, closed at its end
#   down      `toolwall down` refuses while calls run, or ends them (--kill)
# The bare runs show the primitive works without toolwall (a bare leftover
# keeps beating; a bare loop reaches the host).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

LF="$ESC_PY $ESC_ATTACKS/life.py"
esc_setup
esc_victim_start || { tap_summary; exit 1; }
WS=$ESC_WS
BEAT=$TW_WORK/shared/beat

# Kill, by the pid it wrote, a leftover that is still beating.
LEFT_PIDS=()
kill_leftovers()
{
	local p
	for p in "${LEFT_PIDS[@]}"; do
		[[ $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null) == *life.py* ]] && kill -9 "$p" 2>/dev/null
	done
	LEFT_PIDS=()
	return 0
}
tw_at_exit kill_leftovers
# beating FILE: the heartbeat in FILE advances over 0.6 s (its writer lives)
beating()
{
	local a b
	a=$(cat "$1" 2>/dev/null)
	sleep 0.6
	b=$(cat "$1" 2>/dev/null)
	[[ -n $b && $a != "$b" ]]
}
# the host-side pid of a beating leftover (the file holds the pid it sees,
# which inside a PID namespace is not the host's)
leftover_pids() { pgrep -f "life.py leftover $1" || true; }

# ---- a detached process outlives its call [needs: leftover] ----------------------------
rm -f "$BEAT.bare"
esc_bare $LF leftover "$BEAT.bare" 15 >/dev/null
if beating "$BEAT.bare"; then
	read -ra LEFT_PIDS <<<"$(leftover_pids "$BEAT.bare" | tr '\n' ' ')"
	kill_leftovers
	ESC_N=$((ESC_N + 1)) ESC_ID=esc-$$-$ESC_N
	rm -f "$BEAT"
	twx $WS "$ESC_ID" $LF leftover "$BEAT" 15 >"$TW_WORK/esc.out.$ESC_N" 2>&1
	sleep 0.5
	if beating "$BEAT"; then
		not_ok "a detached process is ended with its call [needs: leftover]" "it still beats after the call ended"
	else
		ok "a detached process is ended with its call [needs: leftover]"
	fi
	read -ra LEFT_PIDS <<<"$(leftover_pids "$BEAT" | tr '\n' ' ')"
	kill_leftovers
	no_secret "leftover"
else
	skip "a detached process is ended with its call" "a bare leftover does not keep beating either"
fi

# ---- a leftover writes to the call's terminal after the end [needs: leftover, pty] --------
ESC_N=$((ESC_N + 1)) ESC_ID=esc-$$-$ESC_N
out=$TW_WORK/esc.out.$ESC_N
twx $WS "$ESC_ID" $LF late-write 1 >"$out" 2>&1 </dev/null &
wpid=$!
for ((i = 0; i < 60; i++)); do kill -0 $wpid 2>/dev/null || break; sleep 0.1; done
kill -0 $wpid 2>/dev/null && { kill $wpid; not_ok "the call ended (launcher returned)" "still waiting after 6 s"; }
wait $wpid 2>/dev/null
sleep 1.5
if grep -q tw-late-write "$out"; then
	not_ok "nothing reaches the call's output after its end [needs: leftover, pty]" "the leftover wrote after the call ended"
else
	ok "nothing reaches the call's output after its end [needs: leftover, pty]"
fi
read -ra LEFT_PIDS <<<"$(pgrep -f "life.py late-write" | tr '\n' ' ')"
kill_leftovers

# ---- the launcher is killed: the call must not run on [needs: leftover] -------------------
ESC_N=$((ESC_N + 1)) ESC_ID=esc-$$-$ESC_N
rm -f "$BEAT.k"
"$TW_BIN" exec $WS --call-id "$ESC_ID" -- $ESC_PY -c "
import time
for _ in range(150):
    open('$BEAT.k', 'w').write(repr(time.time()))
    time.sleep(0.1)" >/dev/null 2>&1 &
lpid=$!
tw_eventually test -s "$BEAT.k"
kill -9 $lpid
wait $lpid 2>/dev/null
sleep 1
if beating "$BEAT.k"; then
	not_ok "a call whose launcher was killed is ended [needs: leftover]" "it still runs"
else
	ok "a call whose launcher was killed is ended [needs: leftover]"
fi
for p in $(pgrep -f -- "$BEAT.k"); do # (the orphaned call, if it runs on)
	[[ $(cat /proc/$p/comm 2>/dev/null) == python3 ]] && kill -9 "$p" 2>/dev/null
done

# ---- toolwall down while a call keeps trying a forbidden host [needs: down] ----------------
b=$(esc_bare $LF keep-trying 10.50.1.10 80 2)
if [[ $b == ESCAPED* ]]; then
	esc_victim_stop
	ESC_N=$((ESC_N + 1)) ESC_ID=esc-$$-$ESC_N
	twx $WS "$ESC_ID" $LF keep-trying 10.50.1.10 80 6 >"$TW_WORK/esc.out.$ESC_N" 2>&1 &
	cpid=$!
	sleep 1.5
	"$TW_BIN" down >"$TW_WORK/down.out" 2>&1
	down_rc=$?
	wait $cpid 2>/dev/null
	got=$(head -1 "$TW_WORK/esc.out.$ESC_N")
	if [[ $got == ESCAPED* ]]; then
		not_ok "toolwall down while a call runs does not free the call [needs: down]" \
			"down exit $down_rc ($(head -1 "$TW_WORK/down.out")); the call: $got"
	else
		ok "toolwall down while a call runs does not free the call [needs: down] (down exit $down_rc; the call: ${got:-ended})"
	fi
	no_secret "down"
else
	skip "toolwall down while a call runs" "the bare agent cannot reach the host either (got '$b')"
fi

tap_summary
