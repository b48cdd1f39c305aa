#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A call's terminal: it runs in a session of its own on a pty the launcher
# relays (keystrokes, output, window size, ctrl-C, ctrl-D, exit status),
# and what it leaves behind cannot read what the user types after the call
# ended. Without a terminal, pipes pass through as before. Driven by
# tests/lib/ptydrive.py on a pty of its own, as a user would.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

DRIVE="python3 $HERE/../lib/ptydrive.py"
PY=/usr/bin/python3

tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
# A channel whose leftovers run on: there the pty's hangup is what keeps a
# leftover from the user's keys (elsewhere the leftover ends with the call).
printf '[ { "channel": "bg", "workspace": "acme", "background": true } ]\n' \
	>"$TW_POLICY/pty-test.json"
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
SH=$TW_WORK/shared

# case NAME DESCRIPTION: run ptydrive's case through toolwall exec.
drive()
{
	local name=$1 desc=$2 out
	out=$($DRIVE "$name" "$SH" -- "$TW_BIN" exec workspace:acme \
		--call-id "pty-$name" -q -- 2>&1)
	if (($? == 0)); then
		ok "$desc: $(tail -1 <<<"$out")"
	else
		not_ok "$desc" "$out"
	fi
}

# ---- can the driver see a failure at all? --------------------------------
out=$($DRIVE session "$SH" -- env 2>&1)
if (($? != 0)) && grep -q "got the user's terminal" <<<"$out"; then
	ok "without toolwall a command shares the user's terminal (the check can fail)"
else
	not_ok "driver detects a shared terminal" "$out"
fi
rm -f "$SH/leak.out"
out=$($DRIVE leftover "$SH" -- env 2>&1)
if (($? != 0)) && grep -q "read: secret-typed" <<<"$out"; then
	ok "without toolwall a leftover process reads what the user types next"
else
	not_ok "driver detects the leak" "$out"
fi

# ---- through toolwall --------------------------------------------------------
drive session "the call has its own session and pty on stdin, stdout and stderr"
drive relay "a typed line reaches the call and its output comes back"
drive winsize "window size at start and on resize reach the call"
drive status "exit status passes through"
drive signalled "a call killed by a signal exits 128+signal"
drive eof "ctrl-D is end of input for the call"
drive intr "ctrl-C reaches the call's foreground process"
drive stop "a call that stops stops its launcher (the shell's job); fg resumes both"
drive susp "ctrl-Z in a call's session (no job-control shell there) does not hang the user's terminal"

rm -f "$SH/leak.out"
out=$($DRIVE leftover "$SH" -- "$TW_BIN" exec channel:acme/bg --call-id pty-left -q -- 2>&1)
rc=$?
if ((rc == 0)) && grep -Eq "got: (error EIO|eof)$" <<<"$out"; then
	ok "a background reader the call left behind cannot read what the user types after it ended ($(tail -1 <<<"$out"))"
else
	not_ok "leftover reader cut off" "$out"
fi
rm -f "$SH/leak.out"
out=$($DRIVE leftover "$SH" -- "$TW_BIN" exec workspace:acme --call-id pty-left2 -q -- 2>&1)
rc=$?
if ((rc == 0)) && grep -q "got: (nothing)$" <<<"$out"; then
	ok "without background the reader ends with its call and reads nothing"
else
	not_ok "leftover reader ended" "$out"
fi

# ---- no terminal: unchanged ---------------------------------------------------
out=$(echo piped | "$TW_BIN" exec workspace:acme --call-id pty-pipe -q -- \
	$PY -c 'import os, sys; print(os.isatty(0), os.isatty(1), sys.stdin.read().strip(), os.getsid(0) == os.getpid())' |
	cat)
if [[ $out == "False False piped True" ]]; then
	ok "without a terminal pipes pass through, and the call still has its own session"
else
	not_ok "pipes pass through" "$out"
fi
out=$("$TW_BIN" exec workspace:acme --call-id pty-pipe2 -q -- sh -c 'exit 3' </dev/null)
rc=$?
if ((rc == 3)); then
	ok "without a terminal the exit status passes through"
else
	not_ok "status without a terminal" "rc $rc"
fi

tap_summary
