#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Launching without root: a member of the launcher group (a test user in a
# test group, both removed at the end; `daemon --launch-group`) runs
# `toolwall exec` as itself, and the daemon's supervisor runs the call by
# root's own path: confined exactly as root's call (the same probes give
# the same verdicts, the denial is recorded with the launcher's uid),
# stdin/stdout/stderr pass through both ways, exit statuses and signal
# deaths come back, SIGINT/SIGTERM reach the command, SIGKILL of the
# launcher ends the call, a pty command sees the window size. A user
# outside the group is refused with a message and a `launch` record. exec's
# own errors exit 125. --summary-json FD gives the denials as JSON. The
# control protocol: hello answers "v" and its ops, and the ops
# toolwall-protocol(7) documents are exactly those. The launch socket is
# also driven by a python client of its own (the protocol as a runtime
# would speak it, descriptors by SCM_RIGHTS). The supervisor creates the
# call's init in its cgroup (clone3, seen with strace); without clone3
# (TOOLWALL_TEST_NO_CLONE3) root's launcher and the supervisor both still
# start calls the old way.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

PY=/usr/bin/python3
WS=workspace:acme
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
tw_launchers twl || { not_ok "test users and group"; tap_summary; exit 1; }
LG=$TW_LG MEMBER=$TW_MEMBER OTHER=$TW_OTHER
MUID=$(id -u "$MEMBER") OUID=$(id -u "$OTHER")
# At most 2 launched calls at once: the bound is tested below.
tw_daemon_start --launch-group "$LG" --launch-max 2 ||
	{ not_ok "daemon starts"; tap_summary; exit 1; }
SH=$TW_WORK/shared
P=$TW_PROBE

# as USER CMD...: CMD as USER (its own uid, gid and groups), from a
# directory it may enter.
as() { local u=$1; shift; (cd /tmp && exec setpriv --reuid "$u" --regid "$u" --init-groups -- "$@"); }
mx() { as "$MEMBER" "$TW_BIN" exec "$@"; }
# as_bg USER CMD...: the same in the background, BG its pid (CMD's own).
as_bg() { local u=$1; shift; (cd /tmp && exec setpriv --reuid "$u" --regid "$u" --init-groups -- "$@") & BG=$!; }

# ---- confined exactly like root's call -----------------------------------
same=1 detail=""
for row in "OK|unix $TW_DEMO_RUN/tracker.sock" "ERR EPERM|unix $TW_DEMO_RUN/other.sock" \
	"ERR EPERM|tcp 10.50.1.10 80" "ERR EPERM|udp 10.50.1.10 9999"; do
	want=${row%%|*} args=${row#*|}
	# shellcheck disable=SC2086
	r=$(twx $WS "l-root-$RANDOM" "$P" $args 2>/dev/null | head -1)
	# shellcheck disable=SC2086
	m=$(mx $WS --call-id "l-mem-$RANDOM" -q -- "$P" $args 2>/dev/null | head -1)
	[[ $r == "$want"* && $m == "$r" ]] || { same=0; detail+="[$args: root '$r' launcher '$m'] "; }
done
if ((same)); then
	ok "a launcher's call gets root's call's verdicts (an allowed unix connect works; unix, tcp and udp denials are EPERM)"
else
	not_ok "same verdicts as root" "$detail"
fi
out=$(mx $WS --call-id l-deny --requester runtime -q -- "$P" unix "$TW_DEMO_RUN/other.sock" 2>/dev/null)
if [[ $out == "ERR EPERM"* ]] &&
	tw_eventually python3 "$HERE/../lib/audit_check.py" "$TW_LOG" l-deny event=deny action=connect \
		proto=unix "path=$TW_DEMO_RUN/other.sock" "launcher_uid=$MUID" requester=runtime context=$WS >/dev/null; then
	ok "the launcher's denied connect is recorded with its call id, requester and launcher_uid $MUID"
else
	not_ok "denial recorded" "$out $(python3 "$HERE/../lib/audit_check.py" "$TW_LOG" l-deny event=deny launcher_uid=$MUID 2>&1 | tail -3)"
fi
out=$(mx $WS --call-id l-id -q -- /usr/bin/id -un 2>&1)
if [[ $out == "$TW_AGENT" ]]; then
	ok "the call runs as the agent account ($out), not as the launcher"
else
	not_ok "agent account" "$out"
fi

# ---- stdio both ways -------------------------------------------------------
head -c 1000000 /dev/urandom >"$TW_WORK/in.bin"
chmod 0644 "$TW_WORK/in.bin"
want=$(sha256sum <"$TW_WORK/in.bin" | cut -c1-64)
got=$(as "$MEMBER" sh -c "'$TW_BIN' exec $WS --call-id l-pipe -q -- /bin/sh -c 'cat; echo to-stderr >&2' <'$TW_WORK/in.bin' 2>/tmp/twl-err.$$ | sha256sum" | cut -c1-64)
err=$(cat /tmp/twl-err.$$ 2>/dev/null)
rm -f /tmp/twl-err.$$
if [[ $got == "$want" && $err == to-stderr ]]; then
	ok "1 MB through stdin and back on stdout unchanged, stderr passed apart"
else
	not_ok "stdio" "sha $got vs $want, stderr '$err'"
fi

# ---- exit statuses ---------------------------------------------------------
codes=""
for c in 0 3 255; do
	mx $WS --call-id "l-exit-$c" -q -- /bin/sh -c "exit $c" </dev/null
	codes+="$? "
done
mx $WS --call-id l-sig -q -- /bin/sh -c 'kill -TERM $$' </dev/null
codes+="$?"
if [[ $codes == "0 3 255 143" ]]; then
	ok "exit statuses 0, 3, 255 and a SIGTERM death (143) come back"
else
	not_ok "exit statuses" "$codes (want 0 3 255 143)"
fi

# ---- signals -----------------------------------------------------------------
# sig USER SIGNAL: USER's launcher (root: root's own exec) gets SIGNAL once
# its command is ready, without a terminal; the command notes it, exits 7.
sig()
{
	local u=$1 s=$2 pid i out rc
	rm -f "$SH/ready.$s"
	as_bg "$u" "$TW_BIN" exec $WS --call-id "l-$u-$s" -q -- $PY -c "
import signal, sys, time
signal.signal(signal.SIG$s, lambda n, f: (print('got', signal.Signals(n).name, flush=True), sys.exit(7)))
open('$SH/ready.$s', 'w').close()
time.sleep(60)
print('no signal')" </dev/null >"$TW_WORK/sig.$s" 2>&1
	pid=$BG
	for ((i = 0; i < 100; i++)); do [[ -e $SH/ready.$s ]] && break; sleep 0.1; done
	kill -"$s" "$pid"
	wait "$pid"
	rc=$?
	out=$(cat "$TW_WORK/sig.$s")
	if ((rc == 7)) && [[ $out == "got SIG$s" ]]; then
		ok "$u: SIG$s to the launcher reaches the command (it exits 7, the launcher with it)"
	else
		not_ok "$u: SIG$s relayed" "rc $rc: $out"
	fi
}
sig "$MEMBER" INT
sig "$MEMBER" TERM
sig root INT
sig root QUIT

rm -f "$SH/ready.kill"
as_bg "$MEMBER" "$TW_BIN" exec $WS --call-id l-kill -q -- /bin/sh -c "touch $SH/ready.kill; exec sleep 300.25" </dev/null >/dev/null 2>&1
pid=$BG
for ((i = 0; i < 100; i++)); do [[ -e $SH/ready.kill ]] && break; sleep 0.1; done
running=$(pgrep -fc '^sleep 300.25')
kill -9 "$pid"
wait "$pid" 2>/dev/null
if ((running == 1)) && tw_eventually bash -c '! pgrep -f "^sleep 300.25" >/dev/null'; then
	ok "SIGKILL of the launcher ends its call (the command was running, then gone)"
else
	not_ok "SIGKILL ends the call" "running before: $running; after: $(pgrep -fa '^sleep 300.25')"
	pkill -9 -f '^sleep 300.25'
fi

# ---- a terminal: window size, and the pty relay --------------------------------
DRIVE="python3 $HERE/../lib/ptydrive.py"
for c in winsize relay status; do
	out=$($DRIVE "$c" "$SH" -- setpriv --reuid "$MEMBER" --regid "$MEMBER" --init-groups -- \
		"$TW_BIN" exec $WS --call-id "l-pty-$c" -q -- 2>&1)
	if (($? == 0)); then
		ok "on a terminal, through the launch socket: $c ($(tail -1 <<<"$out"))"
	else
		not_ok "pty $c" "$out"
	fi
done

# ---- refused: a user outside the group ---------------------------------------
out=$(as "$OTHER" "$TW_BIN" exec $WS --call-id l-other -- /bin/echo hi 2>&1)
rc=$?
if ((rc == 125)) && grep -q "uid $OUID may not launch tool calls: only root and members of the launcher group $LG" <<<"$out" &&
	[[ $out != *hi* ]]; then
	ok "a user outside the group is refused (125): $(head -1 <<<"$out")"
else
	not_ok "non-member refused" "rc $rc: $out"
fi
if tw_eventually python3 "$HERE/../lib/audit_check.py" "$TW_LOG" - event=launch outcome=refused \
	"uid=$OUID" "user=$OTHER" action=exec "reason~uid $OUID may not launch" >/dev/null &&
	python3 - "$TW_LOG" "$OUID" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in recs if x.get("event") == "launch" and x.get("uid") == int(sys.argv[2])][0]
assert "--call-id" in r["argv"] and "l-other" in r["argv"] and "/bin/echo" in r["argv"], r
PY
then
	ok "its refusal is a launch record: who (user, uid, pid, comm) and what (argv)"
else
	not_ok "refusal record" "$(grep '"event":"launch"' "$TW_LOG" | tail -2)"
fi

# ---- exec's own errors: 125 -----------------------------------------------------
mx $WS >/dev/null 2>&1; r1=$?
mx $WS --bogus -- true >/dev/null 2>&1; r2=$?
out=$(mx workspace:nowhere --call-id l-nowhere -- true 2>&1); r3=$?
out4=$(as "$MEMBER" env TOOLWALL_RUN_DIR=/tmp/twl-none-$$ "$TW_BIN" exec $WS -- true 2>&1); r4=$?
"$TW_BIN" exec $WS >/dev/null 2>&1; r5=$?
if [[ "$r1 $r2 $r3 $r4 $r5" == "125 125 125 125 125" ]] && grep -q "no context workspace:nowhere" <<<"$out" &&
	grep -q "not reachable at /tmp/twl-none-$$-launch/launch.sock" <<<"$out4"; then
	ok "exec's own errors exit 125: no command, unknown option, unknown context, no daemon at the socket; root's usage error too"
else
	not_ok "125" "$r1 $r2 $r3 $r4 $r5: $out / $out4"
fi

# ---- --summary-json FD --------------------------------------------------------------
check_summary()
{
	python3 - "$1" "$2" "$3" "$TW_DEMO_RUN/other.sock" <<'PY'
import json, sys
path, call, code, sock = sys.argv[1:]
lines = open(path).read().splitlines()
assert len(lines) == 1, lines
s = json.loads(lines[0])
assert s["v"] == 1 and s["call_id"] == call and s["context"] == "workspace:acme", s
assert s["exit_status"] == int(code), s
d = [x for x in s["denials"] if sock in x["what"]]
assert d and d[0]["count"] >= 1 and d[0]["reason"], s
PY
}
as "$MEMBER" sh -c "'$TW_BIN' exec $WS --call-id l-sum --summary-json 3 -- /bin/sh -c '$P unix $TW_DEMO_RUN/other.sock; exit 4' 3>/tmp/twl-sum.$$ 2>/tmp/twl-sumerr.$$ >/dev/null"
rc=$?
cp /tmp/twl-sum.$$ "$TW_WORK/sum.json" 2>/dev/null
prose=$(cat /tmp/twl-sumerr.$$ 2>/dev/null)
rm -f /tmp/twl-sum.$$ /tmp/twl-sumerr.$$
if ((rc == 4)) && check_summary "$TW_WORK/sum.json" l-sum 4 && grep -q "kind of operation denied" <<<"$prose"; then
	ok "launcher: --summary-json 3 writes one JSON line (v, call_id, context, denials, exit_status); the prose is on stderr"
else
	not_ok "summary json (launcher)" "rc $rc: $(cat "$TW_WORK/sum.json" 2>/dev/null) / $prose"
fi
"$TW_BIN" exec $WS --call-id l-sum-root -q --summary-json 3 -- /bin/sh -c "$P unix $TW_DEMO_RUN/other.sock >/dev/null; exit 5" 3>"$TW_WORK/sum-root.json"
rc=$?
if ((rc == 5)) && check_summary "$TW_WORK/sum-root.json" l-sum-root 5; then
	ok "root: --summary-json gives the same summary"
else
	not_ok "summary json (root)" "rc $rc: $(cat "$TW_WORK/sum-root.json")"
fi

# ---- the bound: --launch-max 2 ---------------------------------------------------------
rm -f "$SH"/ready.b*
for b in 1 2; do
	as_bg "$MEMBER" "$TW_BIN" exec $WS --call-id "l-b$b" -q -- /bin/sh -c "touch $SH/ready.b$b; exec sleep 300.5" </dev/null >/dev/null 2>&1
	eval "bpid$b=$BG"
done
for ((i = 0; i < 100; i++)); do [[ -e $SH/ready.b1 && -e $SH/ready.b2 ]] && break; sleep 0.1; done
out=$(mx $WS --call-id l-b3 -- /bin/echo third 2>&1); rc=$?
kill -9 "$bpid1" "$bpid2" 2>/dev/null
wait "$bpid1" "$bpid2" 2>/dev/null
tw_eventually bash -c '! pgrep -f "^sleep 300.5" >/dev/null'
if ((rc == 125)) && grep -q "runs 2 launched tool calls, its most" <<<"$out"; then
	ok "a third launch beyond --launch-max 2 is told to try again (125), nothing starts"
else
	not_ok "launch bound" "rc $rc: $out"
fi
again() { [[ $(mx $WS --call-id "l-b4-$RANDOM" -q -- /bin/echo again 2>&1) == again ]]; }
if tw_eventually again; then
	ok "once they ended, launching works again"
else
	not_ok "after the bound" "$(mx $WS --call-id l-b5 -q -- /bin/echo again 2>&1)"
fi

# ---- the protocols -----------------------------------------------------------------------
out=$(python3 - "$TW_ROOT/man/toolwall-protocol.7" <<'PY'
import json, re, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect("/run/toolwall/control.sock")
s.sendall(b'{"op":"hello"}\n')
rep = json.loads(s.makefile().readline())
assert rep["ok"] is True and rep["v"] == 1, rep
page = open(sys.argv[1]).read()
# the control ops are the page's ".SS" headings under CONTROL SOCKET,
# each written as the op's name in quotes
sec = page.split('.SH "CONTROL SOCKET"')[1].split(".SH ")[0]
documented = re.findall(r'^\.SS "?\\\(dq(\S+?)\\\(dq', sec, re.M)
assert sorted(documented) == sorted(rep["ops"]), (documented, rep["ops"])
print(" ".join(rep["ops"]))
PY
)
if (($? == 0)); then
	ok "hello answers v 1 and its ops ($out); toolwall-protocol(7) documents exactly those"
else
	not_ok "hello and the documented ops" "$out"
fi
out=$(python3 - <<'PY'
import json, socket
s = socket.socket(socket.AF_UNIX)
s.connect("/run/toolwall/control.sock")
s.sendall(b'{"v":2,"op":"status"}\n')
rep = json.loads(s.makefile().readline())
assert rep["ok"] is False and rep["v"] == 1 and "version" in rep["error"], rep
print(rep["error"])
PY
)
if (($? == 0)); then
	ok "a request in another protocol version is refused: $out"
else
	not_ok "v refused" "$out"
fi
out=$(as "$MEMBER" $PY - "$TW_DEMO_RUN/tracker.sock" <<'PY'
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect("/run/toolwall-launch/launch.sock")
r, w = os.pipe()
req = {"v": 1, "op": "exec", "context": "workspace:acme", "call_id": "l-py",
       "argv": ["/bin/sh", "-c", "read x; echo got $x; exit 6"], "quiet": True}
os.write(w, b"hello\n"); os.close(w)
out_r, out_w = os.pipe()
socket.send_fds(s, [json.dumps(req).encode() + b"\n"], [r, out_w, 2])
os.close(out_w)
end = json.loads(s.makefile().readline())
print(os.read(out_r, 100).decode().strip(), end["status"], end["event"], end["summary"]["call_id"])
PY
)
if [[ $out == "got hello 6 exit l-py" ]]; then
	ok "a client of its own speaks the launch protocol (request + SCM_RIGHTS, exit message): $out"
else
	not_ok "python launch client" "$out"
fi
st=$("$TW_BIN" status -j | python3 -c 'import json,sys; l = json.load(sys.stdin)["launch"]; print(l["group"], l["max"], l["started"] > 0, l["refused"] > 0, l["busy"] > 0)')
if [[ $st == "$LG 2 True True True" ]]; then
	ok "status shows the launch socket: group, bound, started, refused, busy"
else
	not_ok "status launch" "$st"
fi
m=$(stat -c '%a %U %G' /run/toolwall-launch/launch.sock) dm=$(stat -c '%a %U %G' /run/toolwall-launch)
if [[ $m == "666 root $LG" && $dm == "755 root $LG" ]]; then
	ok "the launch socket is 0666 root:$LG in a 0755 root:$LG directory (who may launch is the daemon's check: everyone else is refused and recorded)"
else
	not_ok "socket modes" "$m / $dm"
fi

# ---- the supervisor creates the init in its cgroup --------------------------------------
# (clone3 CLONE_INTO_CGROUP|CLONE_NEWPID, its reader thread only after: no
# cgroup.procs write into the call's v2 cgroup)
V2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
# (-I1: a signal ends strace at once; timeout ends it should it not)
timeout -k 2 60 strace -I1 -f -e trace=clone3,openat -o "$TW_WORK/sv.trace" \
	-p "$TW_DAEMON_PID" >/dev/null 2>&1 {TW_LOCK_FD}>&- &
ST=$!
tw_eventually grep -q . "$TW_WORK/sv.trace" 2>/dev/null || sleep 1
out=$(mx $WS --call-id l-clone -- sh -c 'echo ran' 2>&1)
kill "$ST" 2>/dev/null
wait "$ST" 2>/dev/null
v2procs=$(grep -c "\"$V2/toolwall/.*/cgroup.procs\", O_WRONLY" "$TW_WORK/sv.trace")
if [[ $out == ran ]] && grep -qE 'clone3\(\{flags=[A-Z_|]*CLONE_INTO_CGROUP' "$TW_WORK/sv.trace" && ((v2procs == 0)); then
	ok "the supervisor creates the call's init in its cgroup v2 (clone3, no cgroup.procs write)"
else
	not_ok "supervisor clone3" "out '$out'; v2 cgroup.procs writes $v2procs; $(grep -m2 -E 'clone3\(\{flags=[A-Z_|]*(CLONE_NEWPID|CLONE_INTO)|cgroup.procs' "$TW_WORK/sv.trace")"
fi

# The old way, where clone3 cannot: a new PID namespace by unshare(), a
# fork, the init joins its cgroup; the launcher (root's, or the
# supervisor, which starts its reader thread after) goes on in its own
# namespace.
out=$(TOOLWALL_TEST_NO_CLONE3=1 "$TW_BIN" exec $WS --call-id l-old -q -- sh -c 'echo $$; grep "^0::" /proc/self/cgroup' 2>&1)
[[ $out == 2$'\n'"0::/toolwall/acme/workspace/call-"* ]] &&
	ok "without clone3 (root): pid 2 of its own namespace, in its call cgroup" || not_ok "root without clone3" "$out"
tw_down
export TOOLWALL_TEST_NO_CLONE3=1
tw_daemon_start --launch-group "$LG" --launch-max 2 || not_ok "daemon restarts"
unset TOOLWALL_TEST_NO_CLONE3
out=$(mx $WS --call-id l-old2 -- sh -c 'echo $$; grep "^0::" /proc/self/cgroup' 2>&1); rc=$?
[[ $rc == 0 && $out == 2$'\n'"0::/toolwall/acme/workspace/call-"* ]] &&
	ok "without clone3 (the supervisor): the same, and its reader runs (exit 0)" ||
	not_ok "supervisor without clone3" "rc $rc: $out"

# ---- the daemon down -------------------------------------------------------------------
tw_down
out=$(mx $WS --call-id l-down -- true 2>&1); rc=$?
if ((rc == 125)) && grep -q "not reachable" <<<"$out"; then
	ok "with the daemon down a launcher gets 125: $(head -1 <<<"$out")"
else
	not_ok "daemon down" "rc $rc: $out"
fi

tap_summary
