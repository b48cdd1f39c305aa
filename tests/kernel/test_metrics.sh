#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `toolwall daemon --metrics ADDR`: the Prometheus text format at GET
# /metrics, scraped with curl over TCP (127.0.0.1:PORT) and over a unix
# socket (curl --unix-socket), checked with promtool. Allowed and denied
# connects in two contexts move each context's counters by exactly what
# the calls did; reloads (applied and refused) move the reload counters and
# the revision info, and never move a context's counters back, even for a
# context the new policy no longer has. Bad --metrics values are refused
# before enforcement changes; other paths get 404, other methods 405;
# oversized requests and idle connections are bounded; many scrapes at
# once while a call floods the resolver: every DNS query is answered.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

P=$TW_PROBE
WS=workspace:acme
GEN=channel:acme/general
DM=dm:acme/alice

command -v promtool >/dev/null || { not_ok "promtool installed (scripts/deps.sh test)"; tap_summary; exit 1; }
tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/metrics
CURL=(curl -sS -m 10)
scrape() { "${CURL[@]}" "$@" "$URL"; }
# val FILE SERIES: the value of one series ('name{k="v",...}' as written).
val() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print "absent" }' "$1"; }
dec() { echo "toolwall_decisions_total{context=\"$1\",verdict=\"$2\"}"; }
daemon_gone() { ! kill -0 "$TW_DAEMON_PID" 2>/dev/null; }

# ---- bad values: refused at start, before enforcement changes --------------
nothing_changed() { [[ ! -e /sys/fs/bpf/toolwall/links && ! -S /run/toolwall/control.sock ]]; }
for bad in localhost:9464 127.0.0.1 127.0.0.1:0 127.0.0.1:70000 '::1:9464' \
	'[::1]9464' unix:relative/path "unix:/$(printf 'x%.0s' {1..120})"; do
	out=$("$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_LOG" --metrics "$bad" 2>&1)
	rc=$?
	if [[ $rc -eq 2 && $out == *"--metrics $bad: want IPv4:PORT"* ]] && nothing_changed; then
		ok "--metrics '$bad' refused with a clear error (exit 2), nothing enforced"
	else
		not_ok "--metrics '$bad' refused" "rc $rc: $out"
	fi
done
# A port in use and a path that is not a socket: refused before enforcement.
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); print("up", flush=True); time.sleep(60)' \
	"$PORT" >"$TW_WORK/busy.out" 2>&1 &
BUSY=$!
tw_eventually grep -q up "$TW_WORK/busy.out"
out=$("$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_LOG" --metrics "127.0.0.1:$PORT" 2>&1)
rc=$?
kill "$BUSY" 2>/dev/null; wait "$BUSY" 2>/dev/null
if [[ $rc -ne 0 && $out == *"refusing to start: --metrics 127.0.0.1:$PORT: cannot listen: Address already in use"* ]] &&
	nothing_changed; then
	ok "a port in use refuses the start before enforcement changes"
else
	not_ok "busy port" "rc $rc: $out"
fi
touch "$TW_WORK/not-a-socket"
out=$("$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_LOG" --metrics "unix:$TW_WORK/not-a-socket" 2>&1)
rc=$?
if [[ $rc -ne 0 && $out == *"exists and is not a socket"* && -f $TW_WORK/not-a-socket ]] && nothing_changed; then
	ok "a unix path that is not a socket is refused and left alone"
else
	not_ok "unix path not a socket" "rc $rc: $out"
fi

# ---- over TCP --------------------------------------------------------------
tw_daemon_start --metrics "127.0.0.1:$PORT" || { not_ok "daemon starts with --metrics"; tap_summary; exit 1; }
hdr=$("${CURL[@]}" -D - -o "$TW_WORK/m0" "$URL")
if [[ $hdr == "HTTP/1.1 200"* && ${hdr,,} == *"content-type: text/plain; version=0.0.4"* ]] &&
	grep -q '^toolwall_build_info{version="' "$TW_WORK/m0"; then
	ok "GET /metrics over TCP: 200, text format 0.0.4"
else
	not_ok "first scrape" "$hdr"
fi
if promtool check metrics <"$TW_WORK/m0" >"$TW_WORK/promtool.out" 2>&1; then
	ok "promtool check metrics passes on the scrape"
else
	not_ok "promtool check metrics" "$(head -5 "$TW_WORK/promtool.out")"
fi
# Every family has its HELP and TYPE, every sample a family, names toolwall_.
if python3 - "$TW_WORK/m0" <<'PY'; then
import re, sys
helps, types, bad = set(), set(), []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    m = re.match(r"# (HELP|TYPE) (\S+) ", line)
    if m:
        (helps if m.group(1) == "HELP" else types).add(m.group(2))
        continue
    name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
    if not name.startswith("toolwall_") or name not in helps or name not in types:
        bad.append(line)
sys.exit(1 if bad or helps != types or len(helps) < 40 else 0)
PY
	ok "every family has HELP and TYPE lines, every name starts with toolwall_"
else
	not_ok "HELP/TYPE for every family" "$(head -3 "$TW_WORK/m0")"
fi
rev=$("$TW_BIN" status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy_rev"])')
if [[ $(val "$TW_WORK/m0" "toolwall_policy_info{revision=\"$rev\"}") == 1 ]]; then
	ok "toolwall_policy_info names the revision in force ($(printf %.12s "$rev"))"
else
	not_ok "policy info" "$(grep policy_info "$TW_WORK/m0")"
fi

# ---- per-context counters move by exactly what the calls did ---------------
# Each probe makes one socket() (a decision, allowed) and one connect().
probe() { twx "$1" "$2" "$P" tcp "$3" "$4" 2>/dev/null | head -1; }
scrape >"$TW_WORK/m1"
o1=$(probe $WS m-ws-ok1 10.10.1.10 80) o2=$(probe $WS m-ws-ok2 10.10.1.10 443)
o3=$(probe $WS m-ws-deny 10.50.1.10 80)
o4=$(probe $GEN m-gen-ok 10.10.1.10 80)
o5=$(probe $GEN m-gen-deny1 10.30.1.10 5439) o6=$(probe $GEN m-gen-deny2 10.50.1.10 443)
o7=$(probe $DM m-dm-deny 10.50.1.10 80)
scrape >"$TW_WORK/m2"
# delta CONTEXT VERDICT FROM TO: how much a counter moved between scrapes.
delta() { echo $(($(val "$TW_WORK/$4" "$(dec "$1" "$2")") - $(val "$TW_WORK/$3" "$(dec "$1" "$2")"))); }
got="ws $(delta $WS allowed m1 m2)/$(delta $WS denied m1 m2)/$(delta $WS audited m1 m2)"
got+=" gen $(delta $GEN allowed m1 m2)/$(delta $GEN denied m1 m2)/$(delta $GEN audited m1 m2)"
got+=" dm $(delta $DM allowed m1 m2)/$(delta $DM denied m1 m2)"
if [[ "$o1 $o2 $o3 $o4 $o5 $o6 $o7" == "OK OK ERR EPERM OK ERR EPERM ERR EPERM ERR EPERM" &&
	$got == "ws 5/1/0 gen 4/2/0 dm 1/1" ]]; then
	ok "per-context counters moved by exactly what happened ($got allowed/denied/audited)"
else
	not_ok "per-context counters" "probes: $o1 $o2 $o3 $o4 $o5 $o6 $o7; deltas: $got (want ws 5/1/0 gen 4/2/0 dm 1/1)"
fi
dc=$(($(val "$TW_WORK/m2" toolwall_calls_started_total) - $(val "$TW_WORK/m1" toolwall_calls_started_total)))
if [[ $dc == 7 && $(val "$TW_WORK/m2" "toolwall_calls_running{context=\"$WS\"}") == 0 ]]; then
	ok "calls started moved by 7, none running now"
else
	not_ok "calls counters" "started +$dc; running $(grep calls_running "$TW_WORK/m2")"
fi
# A call running shows in its context's gauge while it runs.
twx $GEN m-running sleep 3 >/dev/null 2>&1 &
SLEEPER=$!
running() { scrape | grep -xF "toolwall_calls_running{context=\"$GEN\"} $1" >/dev/null; }
if tw_eventually running 1; then
	ok "a running call shows in toolwall_calls_running of its context"
else
	not_ok "calls running" "$(scrape | grep calls_running)"
fi
wait "$SLEEPER" 2>/dev/null
tw_eventually running 0 || not_ok "calls running back to 0" "$(scrape | grep calls_running)"

# ---- reloads: counted, the revision follows, counters never go back --------
DT=channel:acme/data-team
probe $DM m-dm-deny2 10.50.1.10 80 >/dev/null
probe $WS m-ws-deny2 10.50.1.10 80 >/dev/null
dt=$(probe $DT m-dt-ok 10.30.1.10 5439)
scrape >"$TW_WORK/r1"
# The new policy drops data-team (the contexts after it move up a place in
# the kernel's arrays) and alice's DM, and lets 10.10.1.10:8000 through.
cp -a "$TW_POLICY" "$TW_WORK/policy.orig"
sed -i 's|"10.10.1.0/24:80,443"|"10.10.1.0/24:80,443,8000"|' "$TW_POLICY/bundles/docs-search.json"
rm "$TW_POLICY/dms.json"
echo '[ { "channel": "general", "workspace": "acme", "step_up": [] } ]' >"$TW_POLICY/channels.json"
"$TW_BIN" reload >/dev/null 2>&1
scrape >"$TW_WORK/r2"
rev2=$("$TW_BIN" status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy_rev"])')
# The second reload refills the slot that held the counts of before.
"$TW_BIN" reload >/dev/null 2>&1
"$TW_BIN" reload >/dev/null 2>&1
scrape >"$TW_WORK/r3"
applied() { val "$TW_WORK/$1" 'toolwall_reloads_total{result="applied"}'; }
if [[ $rev2 != "$rev" && $(val "$TW_WORK/r2" "toolwall_policy_info{revision=\"$rev2\"}") == 1 &&
	$(grep -c '^toolwall_policy_info{' "$TW_WORK/r2") == 1 &&
	$(($(applied r2) - $(applied r1))) == 1 && $(($(applied r3) - $(applied r1))) == 3 ]]; then
	ok "a reload bumps toolwall_reloads_total{result=\"applied\"} and the revision info follows"
else
	not_ok "reload counters" "rev $rev -> $rev2; applied $(applied r1) $(applied r2) $(applied r3); $(grep policy_info "$TW_WORK/r2")"
fi
same=""
for f in r2 r3; do
	for c in $WS $GEN $DM $DT; do
		for v in allowed denied audited; do
			a=$(val "$TW_WORK/$f" "$(dec "$c" "$v")") b=$(val "$TW_WORK/r1" "$(dec "$c" "$v")")
			[[ $a == "$b" ]] || same+="$c $v in $f: $a, was $b; "
		done
	done
done
if [[ -z $same && $dt == OK && $(val "$TW_WORK/r3" "$(dec $DM denied)") -ge 1 &&
	$(val "$TW_WORK/r3" "$(dec $DT allowed)") -ge 2 ]]; then
	ok "three reloads (dropping $DT and $DM): every context keeps its counts, none goes back or moves to another"
else
	not_ok "counters across reloads" "${same:-data-team probe '$dt'}"
fi
probe $WS m-ws-8000 10.10.1.10 8000 >/dev/null
probe $WS m-ws-deny3 10.50.1.10 80 >/dev/null
scrape >"$TW_WORK/r4"
if [[ $(delta $WS allowed r3 r4) == 3 && $(delta $WS denied r3 r4) == 1 ]]; then
	ok "after the reloads the same counters go on from where they were (+3 allowed, +1 denied)"
else
	not_ok "counters after reloads" "allowed +$(delta $WS allowed r3 r4), denied +$(delta $WS denied r3 r4) (want +3, +1)"
fi
echo '{ "broken": ' >"$TW_POLICY/channels.json"
"$TW_BIN" reload >/dev/null 2>&1
scrape >"$TW_WORK/r5"
refused() { val "$TW_WORK/$1" 'toolwall_reloads_total{result="refused"}'; }
if [[ $(($(refused r5) - $(refused r4))) == 1 && $(applied r5) == $(applied r4) &&
	$(val "$TW_WORK/r5" "toolwall_policy_info{revision=\"$rev2\"}") == 1 ]]; then
	ok "a refused reload counts as refused; the revision in force stays"
else
	not_ok "refused reload" "refused $(refused r4) -> $(refused r5), applied $(applied r4) -> $(applied r5)"
fi
rm -rf "$TW_POLICY" && cp -a "$TW_WORK/policy.orig" "$TW_POLICY"
"$TW_BIN" reload >/dev/null 2>&1
if promtool check metrics < <(scrape) >"$TW_WORK/promtool.out" 2>&1; then
	ok "promtool check metrics passes after the reloads"
else
	not_ok "promtool after reloads" "$(head -5 "$TW_WORK/promtool.out")"
fi

# ---- only GET /metrics ------------------------------------------------------
code() { "${CURL[@]}" -o /dev/null -w '%{http_code}' "$@"; }
c1=$(code "http://127.0.0.1:$PORT/") c2=$(code "http://127.0.0.1:$PORT/metricsx")
c3=$(code "http://127.0.0.1:$PORT/metrics/") c4=$(code -X POST -d x=1 "$URL")
c5=$(code -I "$URL") c6=$(code -X DELETE "$URL")
allow=$("${CURL[@]}" -D - -o /dev/null -X PUT "$URL" | tr -d '\r' | grep -i '^allow:')
if [[ "$c1 $c2 $c3 $c4 $c5 $c6" == "404 404 404 405 405 405" && ${allow,,} == "allow: get" ]]; then
	ok "other paths 404, other methods (POST, HEAD, DELETE, PUT) 405 with Allow: GET"
else
	not_ok "404/405" "$c1 $c2 $c3 $c4 $c5 $c6; $allow"
fi
# A request over the size limit is refused; the server goes on.
big=$(code -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)" "$URL")
if [[ $big != 200 && $(code "$URL") == 200 ]] && ! daemon_gone; then
	ok "a 40 KB request is refused ($big), the next scrape is served"
else
	not_ok "oversized request" "got $big"
fi

# ---- scrapes at once while a call floods the resolver -----------------------
QLOG=$TW_WORK/upstream.log
nsenter --net="$TW_NETNS_PATH" -- dnsmasq --keep-in-foreground --no-resolv --no-hosts \
	--bind-interfaces --listen-address=198.51.100.53 --port=53 --user=root \
	--log-facility="$QLOG" --pid-file= --address=/docs.acme.example/10.10.1.10 \
	>"$TW_WORK/dnsmasq.out" 2>&1 &
DNSMASQ=$!
stop_dnsmasq() { kill "$DNSMASQ" 2>/dev/null; wait "$DNSMASQ" 2>/dev/null; }
tw_at_exit stop_dnsmasq
upstream() { [[ $(dig +time=1 +tries=1 @198.51.100.53 docs.acme.example +short 2>/dev/null) == 10.10.1.10 ]]; }
tw_eventually upstream || not_ok "upstream dnsmasq" "$(cat "$TW_WORK/dnsmasq.out")"
q0=$(scrape | awk '$1 == "toolwall_dns_queries_total" { print $2 }')
for i in $(seq 300); do echo "docs.acme.example A"; done >"$TW_WORK/shared/queries"
chmod 0644 "$TW_WORK/shared/queries"
# 12 clients at once (under the 16-connection bound), 40 scrapes each.
scrapers() {
	seq 480 | xargs -P 12 -I{} curl -s -m 20 -o /dev/null -w '%{http_code} %{time_total}\n' "$URL" >"$TW_WORK/codes"
}
scrapers &
SCR=$!
twx $WS m-dns-load dig +time=3 +tries=2 @198.51.100.53 +short -f "$TW_WORK/shared/queries" \
	>"$TW_WORK/dig.out" 2>&1
wait "$SCR"
answered=$(grep -cx 10.10.1.10 "$TW_WORK/dig.out")
codes=$(awk '{ print $1 }' "$TW_WORK/codes" | sort | uniq -c | tr -s ' ' | paste -sd, -)
# A figure, not an assertion: what a scrape took meanwhile.
echo "# scrapes during the DNS load: $(awk '{ print $2 * 1000 }' "$TW_WORK/codes" | sort -g |
	awk '{ a[NR] = $1 } END { printf "median %.1f ms, max %.1f ms", a[int((NR + 1) / 2)], a[NR] }')"
q1=$(scrape | awk '$1 == "toolwall_dns_queries_total" { print $2 }')
if [[ $answered == 300 && $codes == " 480 200" ]] && ((q1 - q0 >= 300)); then
	ok "480 scrapes by 12 clients at once while a call sends 300 queries: every query answered, every scrape 200"
else
	not_ok "scrapes during DNS load" "answered $answered/300; codes $codes; queries +$((q1 - q0))"
fi
# Idle connections beyond the bound: the resolver is not theirs to stall.
python3 - "$PORT" >"$TW_WORK/idle.out" 2>&1 <<'PY' &
import socket, sys, time
held = []
for _ in range(40):
    try:
        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
    except OSError:
        pass
print("holding", len(held), flush=True)
time.sleep(4)
PY
IDLE=$!
tw_eventually grep -q holding "$TW_WORK/idle.out"
a=$(twx $WS m-dns-idle dig +time=2 +tries=1 @198.51.100.53 docs.acme.example +short 2>/dev/null)
wait "$IDLE"
if [[ $a == 10.10.1.10 ]] && ! daemon_gone && tw_eventually test "$(code "$URL")" = 200; then
	ok "40 idle connections to the metrics port: DNS answers meanwhile, scrapes are served after"
else
	not_ok "idle connections" "dig '$a'; $(cat "$TW_WORK/idle.out")"
fi

# ---- over a unix socket; counters start from 0 at each daemon start ---------
SOCK=$TW_WORK/metrics.sock
uscrape() { curl -sS -m 10 --unix-socket "$SOCK" http://localhost/metrics; }
tw_down
if ! getent group toolwall-audit >/dev/null; then
	# Without the group the socket is root's alone.
	tw_daemon_start --metrics "unix:$SOCK" || { not_ok "daemon starts with unix:PATH"; tap_summary; exit 1; }
	got=$(stat -c '%a %U %G' "$SOCK")
	if [[ -S $SOCK && $got == "600 root root" ]] && uscrape | grep '^toolwall_build_info' >/dev/null; then
		ok "unix:PATH without a toolwall-audit group: 0600 root root, curl --unix-socket scrapes"
	else
		not_ok "unix socket mode without the group" "got '$got'"
	fi
	tw_down
fi
# With it: 0660 root:toolwall-audit; a member scrapes without root, others
# (the agent account) cannot connect. A stale socket file is replaced.
M_USER=tw-mon-$$ made_group=""
if ! getent group toolwall-audit >/dev/null; then
	groupadd --system toolwall-audit && made_group=1
fi
useradd --system --no-create-home --shell /usr/sbin/nologin -G toolwall-audit "$M_USER"
mon_cleanup()
{
	userdel "$M_USER" 2>/dev/null
	[[ -n $made_group ]] && groupdel toolwall-audit 2>/dev/null
	return 0
}
tw_at_exit mon_cleanup
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK" # stale
tw_daemon_start --metrics "unix:$SOCK" || { not_ok "daemon starts with unix:PATH"; tap_summary; exit 1; }
got=$(stat -c '%a %U %G' "$SOCK")
member=$(runuser -u "$M_USER" -- curl -s -m 10 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/metrics)
runuser -u "$TW_AGENT" -- curl -s -m 10 -o /dev/null --unix-socket "$SOCK" http://localhost/metrics
other=$?
if [[ $got == "660 root toolwall-audit" && $member == 200 && $other == 7 ]]; then
	ok "unix:PATH (over a stale socket file): 0660 root:toolwall-audit; a member scrapes without root (200), the agent cannot connect"
else
	not_ok "unix socket group" "mode '$got'; member $member; agent curl exit $other"
fi
uscrape >"$TW_WORK/u0"
probe $GEN m-unix-deny 10.50.1.10 80 >/dev/null
uscrape >"$TW_WORK/u1"
if [[ $(val "$TW_WORK/u0" "$(dec $GEN denied)") == 0 && $(val "$TW_WORK/u1" "$(dec $GEN denied)") == 1 &&
	$(val "$TW_WORK/u0" "$(dec $WS allowed)") == 0 ]] && promtool check metrics <"$TW_WORK/u1" >/dev/null 2>&1; then
	ok "curl --unix-socket: counters start from 0 after a restart, then move (+1 denied); promtool passes"
else
	not_ok "unix scrape" "$(grep "$GEN" "$TW_WORK/u0" "$TW_WORK/u1" | head -4)"
fi
if [[ $(curl -sS -m 10 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/) == 404 ]]; then
	ok "unix socket: other paths 404"
else
	not_ok "unix 404"
fi
kill "$TW_DAEMON_PID" && wait "$TW_DAEMON_PID" 2>/dev/null
TW_DAEMON_PID=""
if [[ ! -e $SOCK ]]; then
	ok "the daemon removes its unix socket when it stops"
else
	not_ok "unix socket left behind"
fi

tap_summary
