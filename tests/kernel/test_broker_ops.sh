#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The credential broker as an operator runs it (the daemon's broker, the
# test bed of tests/lib/brokered.sh):
#   - it runs without privileges: not uid 0, no capability, no way back,
#     not dumpable; the CA key stays root's alone on disk;
#   - a 200 MB upload and a 200 MB download pass through it intact while
#     its peak resident memory (VmHWM) stays far below the body size;
#   - a core dump of a process of the call holds the placeholder, never
#     the value;
#   - a running call's placeholder keeps working after the daemon restarts
#     (the daemon saves the calls' placeholders with the calls, never a
#     value, and hands them to its new broker).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/brokered.sh"

bk_env_up || { tap_summary; exit 1; }
T=$TW_WORK
BIG=200000000
BOUND_KB=$((64 * 1024)) # the broker's peak RSS bound: a third of the body

# ---- 1. privilege separation ----------------------------------------------------
pid=$(bk pid)
st=/proc/$pid/status
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st")
read -r -a u <<<"$uids"
[[ ${#u[@]} == 4 && ${u[0]} != 0 && ${u[1]} != 0 && ${u[2]} != 0 && ${u[3]} != 0 &&
	$(awk '/^Gid:/ {print $2}' "$st") != 0 ]] &&
	ok "the broker runs as uid ${u[0]} (real, effective, saved, fs: none is root)" ||
	not_ok "broker uid" "$(grep -E '^(Uid|Gid):' "$st")"
caps=$(grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' "$st" | awk '{print $2}' | sort -u)
[[ $caps == 0000000000000000 ]] &&
	ok "the broker has no capability (CapInh, CapPrm, CapEff, CapBnd, CapAmb all 0)" ||
	not_ok "broker capabilities" "$(grep ^Cap "$st")"
[[ $(awk '/^NoNewPrivs:/ {print $2}' "$st") == 1 && $(awk '/^Groups:/ {print NF}' "$st") == 1 ]] &&
	ok "no_new_privs, no supplementary group" || not_ok "nnp/groups" "$(grep -E '^(NoNewPrivs|Groups):' "$st")"
[[ ${u[0]} != 0 && $(stat -c %u "/proc/$pid/environ") == 0 ]] &&
	ok "not dumpable (its /proc files are root's: no ptrace, no core by its own account)" ||
	not_ok "dumpable" "$(stat -c %U "/proc/$pid/environ")"
[[ $(stat -c %U:%a "$T/broker/ca.key") == root:600 && $(stat -c %U:%a "$T/broker") == root:700 ]] &&
	ok "the CA key on disk is root's alone (0600 in a 0700 directory)" ||
	not_ok "CA key on disk" "$(ls -la "$T/broker")"
out=$(setpriv --reuid="${u[0]}" --regid="$(awk '/^Gid:/ {print $2}' "$st")" --clear-groups \
	cat "$T/broker/ca.key" 2>&1)
[[ $out != *"PRIVATE KEY"* ]] && ok "the broker's account cannot read the CA key" ||
	not_ok "CA key readable by the broker's account"
n=$(svc_n svc)
twx $WS o-priv sh -c "curl -sS --max-time 10 -H \"Authorization: Bearer \$TRACKER_TOKEN\" https://$SVC4:$PORT/priv" >/dev/null 2>&1
[[ $(svc_hdr svc $((n + 1)) authorization) == "Bearer $TW_SECRET_TRACKER" ]] &&
	ok "unprivileged, it still swaps the value (the daemon passed the store open)" ||
	not_ok "unprivileged swap" "$(svc_hdr svc $((n + 1)) authorization 2>&1) $(rec_of /priv)"

# ---- 2. 200 MB each way in bounded memory ----------------------------------------
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
truncate -s $BIG "$T/shared/big.bin"
chmod 0644 "$T/shared/big.bin"
want=$(sha256sum <"$T/shared/big.bin" | cut -d' ' -f1)
n=$(svc_n svc)
out=$(twx $WS o-up sh -c "curl -sS --max-time 300 -o /dev/null -w '%{http_code} %{size_upload}' -T $T/shared/big.bin -H \"Authorization: Bearer \$TRACKER_TOKEN\" https://$SVC4:$PORT/upload" 2>&1)
got=$($PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2])]; print(r["body_len"], r["body_sha256"], dict(r["headers"]).get("Authorization"))' "$T/svc.log" "$n" 2>&1)
[[ $out == "200 $BIG" && $got == "$BIG $want Bearer $TW_SECRET_TRACKER" ]] &&
	ok "a 200 MB upload (Content-Length) arrives intact, with the value" || not_ok "200 MB upload" "$out; $got"
up_kb=$(hwm "$pid")
out=$(twx $WS o-down sh -c "curl -sS --max-time 300 -o /dev/null -w '%{http_code} %{size_download}' -H \"Authorization: Bearer \$TRACKER_TOKEN\" 'https://$SVC4:$PORT/big?n=$BIG'" 2>&1)
[[ $out == "200 $BIG" ]] && ok "a 200 MB download arrives whole" || not_ok "200 MB download" "$out"
n=$(svc_n svc)
out=$(twx $WS o-chunk sh -c "head -c $BIG /dev/zero | curl -sS --max-time 300 -o /dev/null -w '%{http_code}' -T - -H \"Authorization: Bearer \$TRACKER_TOKEN\" https://$SVC4:$PORT/chunked" 2>&1)
got=$($PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2])]; print(r["body_len"], r["body_sha256"])' "$T/svc.log" "$n" 2>&1)
[[ $out == 200 && $got == "$BIG $want" ]] && ok "a 200 MB chunked upload arrives intact" ||
	not_ok "200 MB chunked upload" "$out; $got"
kb=$(hwm "$pid")
[[ $(bk pid) == "$pid" && -n $kb && $kb -lt $BOUND_KB ]] &&
	ok "the broker's peak RSS (VmHWM) after 600 MB through it: $kb kB (after the first upload $up_kb kB; bound $BOUND_KB kB)" ||
	not_ok "broker memory" "VmHWM $kb kB (bound $BOUND_KB kB), pid $pid now $(bk pid)"
rm -f "$T/shared/big.bin"

# ---- 3. a core dump of the call holds the placeholder, not the value ----------
OLD_PATTERN=$(cat /proc/sys/kernel/core_pattern)
restore_pattern() { printf '%s' "$OLD_PATTERN" >/proc/sys/kernel/core_pattern; }
tw_at_exit restore_pattern
mkdir -m 0700 "$T/cores"
printf '#!/bin/sh\nexec cat >"%s/core.$1"\n' "$T/cores" >"$T/core.sh"
chmod 0755 "$T/core.sh"
printf '|%s %%p' "$T/core.sh" >/proc/sys/kernel/core_pattern
out=$(twx $WS o-core $PY -c 'import os, resource, signal, sys
try:
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
except (ValueError, OSError):
    pass
tok = os.environ["TRACKER_TOKEN"]
held = open(os.environ["TOOLWALL_CREDENTIALS_DIR"] + "/tracker-agent").read() * 3
print(tok, flush=True)
os.kill(os.getpid(), signal.SIGSEGV)' 2>/dev/null)
restore_pattern
tw_eventually sh -c "ls $T/cores/core.* >/dev/null 2>&1"
core=$(ls "$T"/cores/core.* 2>/dev/null | head -1)
tw_eventually sh -c "[ \$(stat -c %s '$core' 2>/dev/null || echo 0) -gt 100000 ]"
if [[ $out =~ ^$PH_RE$ && -s $core ]] && grep -qaF "$out" "$core"; then
	ok "the call dumped core ($(stat -c %s "$core") bytes): it holds the placeholder"
else
	not_ok "core dump" "placeholder '$out', core '$core' $(ls -la "$T/cores")"
fi
[[ -s $core ]] && ! grep -qaF "$TW_SECRET_TRACKER" "$core" &&
	ok "the core dump holds no credential value" || not_ok "value in the core dump"

# ---- 4. a daemon restart: a running call's placeholder keeps working ----------
rm -f "$T/shared/go" "$T/shared/ready"
twx $WS o-restart sh -c "touch $T/shared/ready; while [ ! -e $T/shared/go ]; do sleep 0.05; done; curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H \"Authorization: Bearer \$TRACKER_TOKEN\" https://$SVC4:$PORT/restarted" >"$T/restart.out" 2>&1 &
RUN=$!
tw_eventually test -e "$T/shared/ready"
STATE=/run/toolwall/state.json
grep -q twph_ "$STATE" && ! grep -qF "$TW_SECRET_TRACKER" "$STATE" &&
	[[ $(stat -c %U:%a "$STATE") == root:600 ]] &&
	ok "the saved calls (root's, 0600) hold their placeholders, never a value" ||
	not_ok "saved calls" "$(ls -la "$STATE")"
old=$(bk pid)
kill "$TW_DAEMON_PID"
wait "$TW_DAEMON_PID" 2>/dev/null
TW_DAEMON_PID=""
tw_daemon_start || not_ok "the daemon starts again"
tw_eventually bk_ready && [[ $(bk pid) != "$old" ]] &&
	ok "the daemon restarted, with a new broker" || not_ok "restart" "$(status | head -c 400)"
n=$(svc_n svc)
touch "$T/shared/go"
wait $RUN
[[ $(cat "$T/restart.out") == 200* && $(svc_hdr svc $((n + 1)) authorization) == "Bearer $TW_SECRET_TRACKER" ]] &&
	ok "a call running across the daemon's restart: its placeholder still becomes the value" ||
	not_ok "placeholder after a daemon restart" "$(cat "$T/restart.out") $(svc_hdr svc $((n + 1)) authorization 2>&1)"
n=$(svc_n svc)
twx $WS o-after sh -c "curl -sS --max-time 10 -o /dev/null -H \"Authorization: Bearer \$TRACKER_TOKEN\" https://$SVC4:$PORT/after" >/dev/null 2>&1
[[ $(svc_hdr svc $((n + 1)) authorization) == "Bearer $TW_SECRET_TRACKER" ]] &&
	ok "a new call after the restart is brokered too" || not_ok "new call after restart"
tap_summary
