#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The syscall audit on the real kernel (bpf/proc.bpf.c, user/daemon/sysaudit.c):
# every program a tool call's process tree runs becomes an `exec` record
# with its exact argv and the call's id (double-forked grandchildren that
# outlive the call included), credential values never reach the log, a
# refused syscall repeated N times adds up to exactly N, a process placed
# straight into a context cgroup is recorded too, a daemon killed mid-call
# loses nothing the call ran meanwhile, and the sys_exit tracepoint (which
# costs every syscall of the host) is attached only while calls may run.
# The per-context matrix of refusals and their records is in
# test_sandbox.sh.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

TAP_TIMEOUT=60
AC="python3 $HERE/../lib/audit_check.py"
PY=/usr/bin/python3
WS=workspace:acme
DATA=channel:acme/data-team
LINK=/sys/fs/bpf/toolwall/links/tw_sys_exit

tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts"

# recs CALL_ID PYTHON_EXPR: the exec records of the call, as a list `r`,
# must make EXPR true (printed with the records when not).
recs()
{
	python3 - "$TW_LOG" "$1" "$2" <<'PY'
import json, sys
log, call, expr = sys.argv[1:]
r = [x for x in map(json.loads, open(log)) if x.get("call_id") == call and x.get("event") == "exec"]
if not eval(expr):
    for x in r:
        print(json.dumps({k: x.get(k) for k in ("pid", "ppid", "comm", "path", "argv")}))
    sys.exit(1)
PY
}

# ---- the tracepoint that costs every syscall runs only while calls may -----------------
tw_eventually test ! -e "$LINK" &&
	ok "idle daemon: no sys_exit tracepoint attached" ||
	not_ok "idle daemon: sys_exit tracepoint detached"
twx $WS t-watch sleep 1.5 >/dev/null 2>&1 &
watch=$!
tw_eventually $AC "$TW_LOG" t-watch event=exec path=/usr/bin/sleep >/dev/null 2>&1
[[ -e $LINK ]] && ok "a running call has the sys_exit tracepoint attached" ||
	not_ok "attached during a call"
wait $watch
tw_eventually test ! -e "$LINK" &&
	ok "detached again once no call is open and the tree is empty" ||
	not_ok "detached after the call"

# ---- the process tree, with exact argv ----------------------------------------------
twx $WS t-argv /bin/echo "a b" "" "c'd" >/dev/null 2>&1
tw_eventually recs t-argv 'len(r) == 1 and r[0]["argv"] == ["/bin/echo", "a b", "", "c'"'"'d"] and r[0]["path"] == "/bin/echo" and r[0]["comm"] == "echo" and r[0]["context"] == "workspace:acme" and r[0]["requester"] == "tester" and r[0]["action"] == "exec"' \
	>"$TW_WORK/r.out" 2>&1 &&
	ok "exec record: exact argv (spaces, empty, quotes), path, comm, context, requester" ||
	not_ok "exec record argv" "$(cat "$TW_WORK/r.out")"

# (the call waits for the grandchild: what outlives a call is killed with
# it, unless its context runs in the background; test_isolation.sh)
twx $WS t-tree sh -c '/bin/echo child >/dev/null; (setsid sh -c "sleep 0.3; exec /bin/echo late >/dev/null" &); sleep 0.8; exit 0' >/dev/null 2>&1
# Every record but the first has its parent in the tree, or the call's init
# (the command's parent, not exec'd, so not recorded) when orphaned (the
# double fork). Pids are the host's.
tree='len(r) >= 4 and any(x["argv"] == ["/bin/echo", "child"] for x in r) and any(x["argv"] == ["/bin/echo", "late"] for x in r) and all(x["ppid"] in {y["pid"] for y in r} or x["ppid"] == r[0]["ppid"] for x in r[1:]) and r[0]["pid"] != 2'
tw_eventually recs t-tree "$tree" >"$TW_WORK/r.out" 2>&1 &&
	ok "the whole tree: child, and a double-forked grandchild reparented to the call's init, each with the call's id and host pid" ||
	not_ok "process tree" "$(cat "$TW_WORK/r.out")"

long=$(printf 'x%.0s' $(seq 3000))
twx $WS t-long /bin/echo "$long" >/dev/null 2>&1
tw_eventually $AC "$TW_LOG" t-long event=exec argv_truncated=True >"$TW_WORK/r.out" 2>&1 &&
	recs t-long 'r[0]["argv"][0] == "/bin/echo" and set(r[0]["argv"][1]) == {"x"} and 900 < len(r[0]["argv"][1]) < 3000' >>"$TW_WORK/r.out" 2>&1 &&
	ok "a 3000-byte argv is recorded cut short and says so" ||
	not_ok "long argv" "$(cat "$TW_WORK/r.out")"

# ---- where a call starts ------------------------------------------------------------------
out=$(cd / && twx $WS t-cwd-home sh -c 'pwd; echo "$HOME"' 2>/dev/null)
[[ $(head -1 <<<"$out") == "$(tail -1 <<<"$out")" && $out == */var/tmp/toolwall-calls/* ]] &&
	tw_eventually $AC "$TW_LOG" t-cwd-home event=exec path=/usr/bin/sh >/dev/null 2>&1 &&
	$AC "$TW_LOG" t-cwd-home --count 0 event=deny >/dev/null 2>&1 &&
	ok "launched from a directory no grant covers (/), the call starts in its HOME, refused nothing" ||
	not_ok "start in HOME" "$out"
out=$(cd /etc && twx $WS t-cwd-etc pwd 2>/dev/null)
[[ $out == /etc ]] && ok "launched from a granted directory (/etc), the call starts there" ||
	not_ok "start in a granted cwd" "$out"

# ---- credential values never reach the log ------------------------------------------
twx $DATA t-redact sh -c 'env true "$WAREHOUSE_TOKEN" "x${TRACKER_TOKEN}y" "$(cat "$TOOLWALL_CREDENTIALS_DIR/warehouse-reader")"' >/dev/null 2>&1
# (tracker-agent is brokered: the call holds a placeholder, never the value)
tw_eventually recs t-redact 'any(x["argv"][:3] == ["env", "true", "[credential warehouse-reader]"] and x["argv"][3].startswith("xtwph_") and x["argv"][4] == "[credential warehouse-reader]" for x in r)' \
	>"$TW_WORK/r.out" 2>&1 &&
	ok "credential values in argv are replaced by [credential NAME]" ||
	not_ok "argv redaction" "$(cat "$TW_WORK/r.out")"
leak=""
for s in "$TW_SECRET_TRACKER" "$TW_SECRET_WAREHOUSE" "$TW_SECRET_ATS"; do
	grep -qF -- "$s" "$TW_LOG" && leak+=" ${s:0:4}"
done
[[ -z $leak ]] && ok "no credential value anywhere in the audit log" ||
	not_ok "credential value in the log" "$leak"

# ---- a refused syscall repeated N times adds up to N ------------------------------------
N=300
twx $WS t-flood $PY -c "
import os
for _ in range($N):
    try:
        os.open('/root/.bashrc', os.O_RDONLY)
    except PermissionError:
        pass
" >/dev/null 2>&1
sum_of()
{
	python3 - "$TW_LOG" "$1" "$2" <<'PY'
import json, sys
log, call, path = sys.argv[1:]
n = sum(x.get("count", 1) for x in map(json.loads, open(log))
        if x.get("call_id") == call and x.get("event") == "deny" and x.get("path") == path)
print(n)
PY
}
flood_done() { [[ $(sum_of t-flood /root/.bashrc) == "$N" ]]; }
tw_eventually flood_done
got=$(sum_of t-flood /root/.bashrc)
nrec=$($AC "$TW_LOG" t-flood --count 2 event=deny path=/root/.bashrc >/dev/null 2>&1 && echo 2)
[[ $got == "$N" && $nrec == 2 ]] &&
	ok "$N refused opens: 2 records (the first, then an aggregate) whose counts add up to exactly $N" ||
	not_ok "flood of refused opens" "sum $got, records ${nrec:-not 2}"
# A flood: whatever did not fit in the ring buffer is a `lost` record, so
# records plus lost add up to the kernel's own count of refusals.
st0=$("$TW_BIN" status -j | python3 -c 'import json,sys; s = json.load(sys.stdin)["syscall_audit"]; print(s["denied"] + s["lost"])')
lost0=$(python3 -c 'import json,sys; print(sum(r.get("count", 0) for r in map(json.loads, open(sys.argv[1])) if r.get("event") == "lost" and r.get("source") == "kernel-syscall-audit"))' "$TW_LOG")
twx $WS t-big $PY -c "
import os
for _ in range(100000):
    try:
        os.open('/root/.profile', os.O_RDONLY)
    except PermissionError:
        pass
" >/dev/null 2>&1
balance()
{
	python3 - "$TW_LOG" "$st0" "$lost0" "$("$TW_BIN" status -j)" <<'PY'
import json, sys
log, st0, lost0, st = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
kernel = st["syscall_audit"]["denied"] + st["syscall_audit"]["lost"] - st0
recs = flood = lost = 0
for r in map(json.loads, open(log)):
    if r.get("event") == "deny" and r.get("call_id") == "t-big":
        recs += r.get("count", 1)
        if r.get("path") == "/root/.profile":
            flood += r.get("count", 1)
    if r.get("event") == "lost" and r.get("source") == "kernel-syscall-audit":
        lost += r["count"]
lost -= lost0
print(kernel, recs, flood, lost)
sys.exit(0 if recs + lost == kernel and flood + lost == 100000 else 1)
PY
}
if tw_eventually balance >"$TW_WORK/bal.out" 2>&1; then
	ok "100000 refused opens: their records' counts + lost = 100000 = the kernel's count (kernel, records, flood, lost: $(tail -1 "$TW_WORK/bal.out"))"
else
	not_ok "flood balance (kernel, records, flood, lost)" "$(tail -1 "$TW_WORK/bal.out")"
fi

summary=$(twx $WS t-sum $PY -c "
import os
for _ in range(5):
    try: os.open('/root/x', os.O_RDONLY)
    except PermissionError: pass" 2>&1 >/dev/null)
grep -qF "open /root/x (read) (5 times): no bundle of workspace:acme grants read on /root/x" <<<"$summary" &&
	ok "the call's stderr summary lists the refused file and why" ||
	not_ok "summary of a refused file" "$summary"

# ---- refusals without a path argument: the file behind the descriptor --------------------
twx $WS t-fd $PY -c "
import os
fd = os.open('/etc/hostname', os.O_RDONLY)
try:
    os.fchmod(fd, 0o777)
except PermissionError:
    pass
try:
    os.chdir('/root')
except PermissionError:
    pass
import time; time.sleep(0.5)  # named from /proc/PID/fd while it runs
" >/dev/null 2>&1
tw_eventually $AC "$TW_LOG" t-fd event=deny action=chmod syscall=fchmod errno=EPERM path=/etc/hostname access=write >"$TW_WORK/r.out" 2>&1 &&
	$AC "$TW_LOG" t-fd event=deny action=chdir errno=EACCES path=/root access=read >>"$TW_WORK/r.out" 2>&1 &&
	ok "fchmod names the file its descriptor is open on (process still running); chdir is recorded too" ||
	not_ok "fd-based refusals" "$(tail -c 500 "$TW_WORK/r.out")"

# ---- a process put straight into a context cgroup ---------------------------------
cgroot=$(python3 -c '
for l in open("/proc/mounts"):
    f = l.split()
    if f[2] == "cgroup2":
        print(f[1]); break')/toolwall
ctxcg=$cgroot/acme/workspace
if [[ -d $ctxcg ]]; then
	(echo "$BASHPID" >"$ctxcg/cgroup.procs" && exec /bin/echo direct-member >/dev/null) &
	wait $!
	tw_eventually $AC "$TW_LOG" - event=exec context=workspace:acme call_id=null "path=/bin/echo" >"$TW_WORK/r.out" 2>&1 &&
		ok "a process placed in a context cgroup without a call is recorded (call_id null)" ||
		not_ok "direct member exec" "$(tail -c 400 "$TW_WORK/r.out")"
else
	not_ok "context cgroup $ctxcg exists"
fi

# ---- a daemon killed mid-call: what ran meanwhile is recorded on restart --------------
# The call waits for "go", which is given only once the daemon is dead; the
# daemon comes back only after the call has run its echo ("done").
G=$TW_WORK/shared
rm -f "$G/go" "$G/done"
twx $WS t-gap sh -c "while [ ! -e $G/go ]; do sleep 0.05; done; /bin/echo during-gap >/dev/null; touch $G/done; sleep 0.5" >/dev/null 2>&1 &
gap=$!
tw_eventually $AC "$TW_LOG" t-gap event=exec path=/usr/bin/sh >/dev/null 2>&1
tw_daemon_kill9
touch "$G/go"
tw_eventually test -e "$G/done"
tw_daemon_start || not_ok "daemon restarts"
wait $gap
tw_eventually recs t-gap 'any(x["argv"] == ["/bin/echo", "during-gap"] and x["context"] == "workspace:acme" and x["policy_rev"] for x in r)' >"$TW_WORK/r.out" 2>&1 &&
	ok "an exec while the daemon was dead is recorded after the restart, with the call's id and context" ||
	not_ok "exec during the daemon gap" "$(cat "$TW_WORK/r.out")"

# ---- Landlock's own records, the second source ----------------------------------------
# Enabling the kernel audit log, even briefly, leaves every process created
# afterwards on the audited (slower) syscall path until reboot. So the test
# enables it only on throwaway machines (CI) or when asked to.
KA="python3 $HERE/../lib/kaudit.py"
if ! was=$($KA get 2>/dev/null); then
	skip "Landlock audit records" "this kernel has no audit subsystem"
elif [[ $was != 1 && ${CI:-} != true && -z ${TW_TEST_KAUDIT:-} ]]; then
	skip "Landlock audit records" "the audit log is off here; enabling it slows later processes until reboot (runs in CI, or with TW_TEST_KAUDIT=1)"
else
	tw_at_exit "$KA set $was"
	$KA set 1
	# A file the call may read but not execute, on no noexec mount (what
	# the call writes is noexec: the mount, not Landlock, refuses that).
	LL=$TW_ROOT/tests/escape/test_resources.sh
	twx $WS t-landlock sh -c "exec $LL" >/dev/null 2>&1
	tw_eventually $AC "$TW_LOG" t-landlock event=deny source=landlock action=exec blockers=fs.execute \
		context=workspace:acme requester=tester "path~tests/escape/test_resources.sh" >"$TW_WORK/r.out" 2>&1 &&
		ok "with the kernel audit log on, Landlock's own record of the refusal joins the call's (source landlock, blockers fs.execute)" ||
		not_ok "Landlock audit record" "$(tail -c 600 "$TW_WORK/r.out")"
	$AC "$TW_LOG" t-landlock event=deny syscall=execve "path~tests/escape/test_resources.sh" >/dev/null 2>&1 &&
		ok "... next to the tracepoint's record of the same refusal" ||
		not_ok "tracepoint record beside the Landlock one"
	$KA set "$was"
	twx $WS t-landlock-off sh -c "exec $LL" >/dev/null 2>&1
	if [[ $was == 0 ]]; then
		tw_eventually $AC "$TW_LOG" t-landlock-off event=deny syscall=execve >/dev/null 2>&1 &&
			$AC "$TW_LOG" t-landlock-off --count 0 source=landlock >/dev/null 2>&1 &&
			ok "with the audit log off again, the tracepoint alone records it" ||
			not_ok "no Landlock record with audit off"
	fi
	"$TW_BIN" status | gq "^landlock: .* records from the kernel audit log" &&
		ok "status names the second source" || not_ok "status landlock line"
fi

# ---- status -------------------------------------------------------------------------
# status's counters and the log agree (the daemon drains every 100 ms)
status_matches()
{
	python3 - "$TW_LOG" "$("$TW_BIN" status -j)" <<'PY'
import json, sys
s = json.loads(sys.argv[2])["syscall_audit"]
recs = list(map(json.loads, open(sys.argv[1])))
execs = sum(1 for r in recs if r.get("event") == "exec")
# the ring buffer's loss (refusals over the context's budget are counted
# as refusals, and have lost records of cause "rate")
lost = sum(r["count"] for r in recs
           if r.get("event") == "lost" and r.get("source") == "kernel-syscall-audit"
           and r.get("cause") != "rate")
assert s["lost"] == lost, (s, lost)
assert lost or s["execs"] == execs, (s, execs)
assert isinstance(s["watching"], bool) and s["denied"] >= 100000, s
PY
}
tw_eventually status_matches >"$TW_WORK/st.out" 2>&1 &&
	ok "status -j reports the syscall audit: its exec and lost counters equal the log's exec and lost records" ||
	not_ok "status syscall_audit" "$(tail -c 400 "$TW_WORK/st.out")"

tap_summary
