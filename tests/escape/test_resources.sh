#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, resource class: a fork bomb and a memory hog in a call of
# workspace:acme, each capped by the attack itself (512 processes, 1 GiB,
# 20 s) so that a missing limit cannot hurt the shared host; reaching the
# cap is the escape. The test policy sets the workspace's limits to
# {"pids": 64, "memory": "256M"} when `toolwall check` accepts them (the
# SPEC's "limits"); otherwise the product's safe defaults must still stop
# the attacks below the caps.
#
# Fix pending on another branch: limits (pids and memory per call, in this
# host's v1 pids and memory hierarchies). Both attempts need it.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

R="$ESC_PY $ESC_ATTACKS/res.py"
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
ws=$TW_POLICY/workspace.json
cp "$ws" "$TW_WORK/workspace.saved"
sed -i 's/"mode": "enforce",/"mode": "enforce",\n  "limits": { "pids": 64, "memory": "256M" },/' "$ws"
if "$TW_BIN" check -p "$TW_POLICY" >"$TW_WORK/check.out" 2>&1; then
	ok "the test policy sets limits (pids 64, memory 256M)"
else
	cp "$TW_WORK/workspace.saved" "$ws"
	skip "the test policy sets limits" "toolwall check refuses them: $(head -1 "$TW_WORK/check.out"); the defaults must hold"
fi
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
tw_at_exit esc_victim_stop
esc_victim_start || { tap_summary; exit 1; }
WS=$ESC_WS

# The bare agent gets 100 processes and 128 MB with caps that small (the
# primitive works; the host is spared a bare 512/1024).
b=$(esc_bare $R forks 100 20)
if [[ $b == ESCAPED* ]]; then
	TAP_TIMEOUT=40 attempt "a fork bomb stops below 512 processes [needs: limits]" $WS "BLOCKED*" -- $R forks 512 20
	no_secret "fork bomb"
else
	skip "a fork bomb is bounded" "the bare agent cannot fork 100 processes either (got '$b')"
fi
esc_victim_alive && ok "the victim survived the fork bomb" || not_ok "victim alive after the fork bomb"
b=$(esc_bare $R memory 128 20)
if [[ $b == ESCAPED* ]]; then
	attempt "a memory hog stops below 1 GiB [needs: limits]" $WS "BLOCKED*" -- $R memory 1024 20
	no_secret "memory hog"
else
	skip "a memory hog is bounded" "the bare agent cannot allocate 128 MB either (got '$b')"
fi
esc_victim_alive && ok "the victim survived the memory hog" || not_ok "victim alive after the memory hog"
tap_summary
