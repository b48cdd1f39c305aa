#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The audit trail on the real kernel: a hash chain that `toolwall audit
# --verify` checks across restarts and rotated gzip segments (and that
# catches tampering), queries, --follow, --summary, audit mode -> --suggest
# -> enforce, a flood whose record counts plus lost counts equal the
# kernel's denied counter exactly, a full log disk that neither stops
# enforcement nor goes unrecorded, and RFC 5424 records received by a real
# rsyslogd.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"
source "$HERE/../lib/rsyslog.sh"

TAP_TIMEOUT=60
SUMS="python3 $HERE/../lib/audit_sums.py"
P=$TW_PROBE
WS=workspace:acme
GEN=channel:acme/general
FLOOD_SECONDS=${TW_FLOOD_SECONDS:-3}
SYSLOG_PORT=$((20000 + $$ % 20000))

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
SYSLOG_OUT=$TW_WORK/syslog.out
if tw_rsyslog_start "$SYSLOG_PORT" "$SYSLOG_OUT"; then
	have_rsyslog=1
else
	have_rsyslog=""
fi
DAEMON_ARGS=(--audit-max-size 48K --audit-keep 4 --syslog "udp://127.0.0.1:$SYSLOG_PORT" --syslog-sd-id toolwall@32473)
tw_daemon_start "${DAEMON_ARGS[@]}" || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts with rotation and a syslog sink"

daemon_stop()
{
	kill "$TW_DAEMON_PID" 2>/dev/null
	wait "$TW_DAEMON_PID" 2>/dev/null
	TW_DAEMON_PID=""
}

aj() { "$TW_BIN" audit --log "$TW_LOG" "$@"; }
status_counter() { "$TW_BIN" status -j | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"; }

# ---- records are sealed into a chain -------------------------------------------
twx $WS a-1 "$P" tcp 10.50.1.10 80 >/dev/null 2>&1
twx $WS a-2 "$P" tcp 10.30.1.10 5439 >/dev/null 2>&1
if aj -j --call-id a-1 --event deny | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
assert len(r) == 1, r
r = r[0]
for k in ("ts", "seq", "event", "context", "workspace", "pid", "uid", "comm",
          "call_id", "requester", "action", "proto", "dst", "port", "reason",
          "policy_rev", "hint", "prev", "hash"):
    assert k in r, k
assert len(r["hash"]) == 64 and len(r["prev"]) == 64
assert list(r)[-1] == "hash"'; then
	ok "a denial record carries the SPEC fields, prev and hash"
else
	not_ok "sealed denial record"
fi
expect_success "toolwall audit --verify on the live log" -- "$TW_BIN" audit --log "$TW_LOG" --verify

# ---- a restart continues the chain ------------------------------------------------
daemon_stop
tw_daemon_start "${DAEMON_ARGS[@]}" || not_ok "daemon restarts"
twx $WS a-3 "$P" tcp 10.50.1.10 81 >/dev/null 2>&1
tw_daemon_kill9
tw_daemon_start "${DAEMON_ARGS[@]}" || not_ok "daemon restarts after kill -9"
twx $WS a-4 "$P" tcp 10.50.1.10 82 >/dev/null 2>&1
if aj --verify -j | python3 -c '
import json, sys
v = json.load(sys.stdin)
assert v["ok"] and v["first_seq"] == 1 and v["records"] == v["last_seq"], v' &&
	aj -j --event daemon | python3 -c '
import json, sys
acts = [json.loads(l)["action"] for l in sys.stdin]
assert acts.count("start") + acts.count("adopt") >= 3, acts'; then
	ok "the chain continues across a clean restart and a kill -9"
else
	not_ok "chain across restarts" "$(aj --verify 2>&1 | tail -2)"
fi

# ---- queries -----------------------------------------------------------------------
q()
{
	local name=$1 want=$2
	shift 2
	local got
	got=$(aj -j "$@" | python3 -c 'import sys; print(sum(1 for _ in sys.stdin))')
	if [[ $got == "$want" ]]; then ok "audit $name"; else not_ok "audit $name" "got $got records, want $want"; fi
}
q "--call-id" 1 --call-id a-2 --event deny
q "--call-id --event exec" 1 --call-id a-2 --event exec
q "--context --event --action" 4 --context $WS --event deny --action connect
q "--dst ADDR" 1 --dst 10.30.1.10
q "--dst CIDR" 3 --dst 10.50.0.0/16
q "--dst ADDR:PORT" 1 --dst 10.50.1.10:81
q "--workspace" 4 --workspace acme --event deny
q "--since 10m" 4 --since 10m --event deny
q "--until (an hour ago)" 0 --until 1h --event deny
pid=$(aj -j --call-id a-4 --event deny | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["pid"])')
q "--pid" 2 --pid "$pid" # the probe's exec and its denial
q "--domain (no DNS records)" 0 --domain '*.example'
if grep -q "10.30.1.10:5439/tcp.*no rule of workspace:acme" <<<"$(aj --call-id a-2)"; then
	ok "the default table shows destination and reason"
else
	not_ok "audit table" "$(aj --call-id a-2)"
fi
if aj --format ocsf --call-id a-2 --event deny | python3 -c '
import json, sys
o = json.loads(sys.stdin.readline())
assert o["class_uid"] == 4001 and o["type_uid"] == 400105, o
assert o["dst_endpoint"] == {"ip": "10.30.1.10", "port": 5439}, o
assert o["actor"]["process"]["name"] == "twprobe"
assert o["unmapped"]["call_id"] == "a-2"'; then
	ok "--format ocsf: Network Activity / Refuse with endpoint and process"
else
	not_ok "--format ocsf"
fi
"$TW_BIN" audit --log "$TW_LOG" --since yesterday >/dev/null 2>&1
rc=$?
[[ $rc -eq 2 ]] && ok "a bad --since is a usage error (2)" || not_ok "bad --since" "exit $rc"

# ---- --follow --------------------------------------------------------------------------
"$TW_BIN" audit --log "$TW_LOG" --follow -j --call-id f-1 --event deny >"$TW_WORK/follow.out" 2>&1 &
fpid=$!
sleep 0.5
twx $WS f-1 "$P" tcp 10.50.1.10 83 >/dev/null 2>&1
for _ in $(seq 30); do grep -q '"f-1"' "$TW_WORK/follow.out" && break; sleep 0.1; done
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
if [[ $(grep -c '"call_id":"f-1"' "$TW_WORK/follow.out") == 1 ]]; then
	ok "--follow prints a new record as it is written"
else
	not_ok "--follow" "$(head -3 "$TW_WORK/follow.out")"
fi

# ---- a flood: counts are exact -----------------------------------------------------------
d0=$(status_counter denied)
before=$(aj -j | $SUMS)
out=$(twx $WS flood "$P" tcp-loop 10.50.1.10 80 "$FLOOD_SECONDS" 2>/dev/null)
read -r _ n_ok n_eperm n_other <<<"$out"
want=""
for _ in $(seq 50); do
	d1=$(status_counter denied)
	after=$(aj -j | $SUMS --call flood)
	if python3 - "$before" "$after" "$d0" "$d1" <<'PY'
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
delta = int(sys.argv[4]) - int(sys.argv[3])
got = (a["denied"] - b["denied"]) + (a["lost"] - b["lost"])
sys.exit(0 if got == delta else 1)
PY
	then want=1; break; fi
	sleep 0.2
done
summary=$(python3 - "$before" "$after" "$d0" "$d1" "$n_eperm" <<'PY'
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("kernel denied %d; records %d (counting %d) + lost %d (kernel %d, daemon %d); "
      "probe EPERMs %s; records of the call %d" % (
      int(sys.argv[4]) - int(sys.argv[3]), a["records"] - b["records"],
      a["denied"] - b["denied"], a["lost"] - b["lost"],
      a["lost_kernel"] - b["lost_kernel"], a["lost_daemon"] - b["lost_daemon"],
      sys.argv[5], a["call_records"]))
PY
)
echo "# flood: $summary"
if [[ -n $want ]]; then
	ok "flood: records' counts + lost counts == the kernel's denied delta, exactly"
else
	not_ok "flood accounting" "$summary"
fi
if python3 - "$after" "$n_eperm" "$d0" "$d1" <<'PY'
import json, sys
a = json.loads(sys.argv[1])
n, delta = int(sys.argv[2]), int(sys.argv[4]) - int(sys.argv[3])
# every EPERM the probe saw is a kernel denial; the flood is bounded in records
assert n >= 20000 and delta >= n, (n, delta)
assert a["call_records"] <= 20 + 3 * 10, a
PY
then
	ok "flood: $n_eperm denied connects became a bounded number of records"
else
	not_ok "flood bounded" "$summary"
fi

# ---- rotation: gzip segments, read and verified as one log --------------------------------
# (wait for our calls only: `wait` alone would wait for the servers too)
pids=()
for i in $(seq 1 120); do
	twx $WS "r-$i" "$P" tcp 10.50.1.10 $((1000 + i)) >/dev/null 2>&1 &
	pids+=($!)
	if ((i % 20 == 0)); then wait "${pids[@]}"; pids=(); fi
done
nseg=$(ls "$TW_LOG".*.gz 2>/dev/null | wc -l)
if ((nseg >= 2 && nseg <= 4)) && [[ ! -e $TW_LOG.5.gz ]] &&
	gzip -t "$TW_LOG".*.gz 2>/dev/null; then
	ok "the log rotated by size into $nseg gzip segments (keep 4)"
else
	not_ok "rotation" "$(ls -l "$TW_LOG"* 2>&1 | tr '\n' ' ')"
fi
n_read=$(aj -j | wc -l)
n_files=$( (for f in $(ls -r "$TW_LOG".*.gz); do zcat "$f"; done; cat "$TW_LOG") | wc -l)
if [[ $n_read == "$n_files" ]] && [[ $(aj -j --call-id r-120 --event deny | wc -l) == 1 ]] &&
	[[ $(aj -j --event rotate | wc -l) -ge 1 ]]; then
	ok "toolwall audit reads rotated and live segments as one stream ($n_read records)"
else
	not_ok "reading segments" "$n_read vs $n_files"
fi
expect_success "--verify across rotated segments" -- "$TW_BIN" audit --log "$TW_LOG" --verify

# ---- tampering, on a copy --------------------------------------------------------------------
T=$TW_WORK/tamper
mkdir -p "$T"
copy_log() { rm -f "$T"/*; cp "$TW_LOG"* "$T"/; }
copy_log
seg=$T/$(basename "$TW_LOG").1.gz
zcat "$seg" | sed '3s/"ts":"2/"ts":"1/' | gzip >"$seg.new" && mv "$seg.new" "$seg"
out=$("$TW_BIN" audit --log "$T/$(basename "$TW_LOG")" --verify 2>&1)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "first bad record: $seg line 3" <<<"$out" && grep -q altered <<<"$out"; then
	ok "--verify names an altered record in a gzip segment (file, line, seq)"
else
	not_ok "tamper: altered" "exit $rc: $out"
fi
copy_log
seg=$T/$(basename "$TW_LOG").1.gz
zcat "$seg" | sed '5d' | gzip >"$seg.new" && mv "$seg.new" "$seg"
out=$("$TW_BIN" audit --log "$T/$(basename "$TW_LOG")" --verify -j)
if python3 -c '
import json, sys
v = json.loads(sys.argv[1])
assert not v["ok"] and v["error"]["kind"] == "missing" and v["error"]["line"] == 5, v' "$out"; then
	ok "--verify names a deleted record (missing)"
else
	not_ok "tamper: missing" "$out"
fi
copy_log
live=$T/$(basename "$TW_LOG")
seg=$live.1.gz
python3 - "$seg" <<'PY'
import gzip, sys
l = gzip.open(sys.argv[1], "rt").readlines()
l[2], l[3] = l[3], l[2]
gzip.open(sys.argv[1], "wt").writelines(l)
PY
out=$("$TW_BIN" audit --log "$live" --verify 2>&1)
if grep -q "reordered" <<<"$out" && grep -q "first bad record: $seg line 4" <<<"$out"; then
	ok "--verify names reordered records"
else
	not_ok "tamper: reordered" "$out"
fi
# a damaged segment: reported, the rest still read
copy_log
seg=$T/$(basename "$TW_LOG").2.gz
truncate -s $(($(stat -c %s "$seg") / 2)) "$seg"
out=$("$TW_BIN" audit --log "$live" -j 2>"$T/err")
rc=$?
if [[ $rc -eq 1 ]] && grep -q "damaged segment" "$T/err" && grep -q '"call_id":"r-120"' <<<"$out"; then
	ok "a damaged segment is reported and the other segments are still read"
else
	not_ok "damaged segment" "exit $rc: $(cat "$T/err")"
fi

# ---- summary ---------------------------------------------------------------------------------------
if aj --summary -j | python3 -c '
import json, sys
s = json.load(sys.stdin)
top = s["by_context"]["workspace:acme"]["top"]
# the flood: recorded up to its context'"'"'s budget (1000 at once, 200/s), the rest lost
assert top[0]["dst"] == "10.50.1.10:80/tcp" and top[0]["count"] >= 1000, top[0]
assert s["by_bundle"]["warehouse-read"]["top"][0]["dst"] == "10.30.1.10:5439/tcp"
assert any(k.startswith("twprobe[") for k in s["by_process"])
assert s["timeline"] and "minute" in s["timeline"][0]
assert s["totals"]["deny"] + s["totals"]["lost"] > 20000, s["totals"]'; then
	ok "--summary: per context, per process, per bundle, per minute"
else
	not_ok "--summary" "$(aj --summary | head -20 | tr '\n' ' ')"
fi

# ---- audit mode -> --suggest -> enforce ---------------------------------------------------------------
sed -i 's/"general", "workspace": "acme", "step_up": \[\]/"general", "workspace": "acme", "step_up": [], "mode": "audit"/' \
	"$TW_POLICY/channels.json"
"$TW_BIN" reload >/dev/null || not_ok "reload into audit mode"
twx $GEN s-1 "$P" tcp 10.30.1.10 5439 >/dev/null 2>&1
twx $GEN s-2 "$P" udp 10.30.0.53 8125 >/dev/null 2>&1
twx $GEN s-3 "$P" tcp fd00:30::5 5439 >/dev/null 2>&1
"$TW_BIN" audit --log "$TW_LOG" --suggest $GEN --since 1m >"$TW_POLICY/bundles/suggested.json" 2>"$TW_WORK/suggest.err"
sed -i 's/"general", "workspace": "acme", "step_up": \[\], "mode": "audit"/"general", "workspace": "acme", "step_up": ["suggested-channel-acme-general"]/' \
	"$TW_POLICY/channels.json"
if "$TW_BIN" check -p "$TW_POLICY" >/dev/null 2>&1 && "$TW_BIN" reload >/dev/null &&
	[[ $(twx $GEN s-4 "$P" tcp 10.30.1.10 5439 2>/dev/null | head -1) == OK ]] &&
	[[ $(twx $GEN s-5 "$P" udp 10.30.0.53 8125 2>/dev/null | head -1) == OK ]] &&
	[[ $(twx $GEN s-6 "$P" tcp fd00:30::5 5439 2>/dev/null | head -1) == OK ]] &&
	[[ $(twx $GEN s-7 "$P" tcp 10.30.1.10 5440 2>/dev/null | head -1) == "ERR EPERM" ]]; then
	ok "--suggest: the bundle from audit mode, enforced, allows exactly what was recorded"
else
	not_ok "--suggest" "$(cat "$TW_POLICY/bundles/suggested.json" "$TW_WORK/suggest.err" | tr '\n' ' ')"
fi

# ---- syslog: a real rsyslogd parsed our RFC 5424 ------------------------------------------------------
if [[ -n $have_rsyslog ]]; then
	for _ in $(seq 30); do grep -q '|a-2"' "$SYSLOG_OUT" 2>/dev/null && break; grep -q 'call_id="a-2"' "$SYSLOG_OUT" 2>/dev/null && break; sleep 0.1; done
	if python3 - "$SYSLOG_OUT" <(aj -j --call-id a-2 --event deny) <<'PY'
import json, re, sys
want = json.loads(open(sys.argv[2]).readline())
hits = []
for line in open(sys.argv[1]):
    msgid, app, procid, fac, sev, sd, msg = line.rstrip("\n").split("|", 6)
    if 'call_id="a-2"' in sd and msgid == "deny":
        hits.append((msgid, app, procid, fac, sev, sd, msg))
assert len(hits) == 1, hits
msgid, app, procid, fac, sev, sd, msg = hits[0]
assert msgid == "deny" and app == "toolwall" and fac == "13" and sev == "4", hits[0]
assert sd.startswith("[toolwall@32473 ") and 'seq="%d"' % want["seq"] in sd, sd
assert 'hash="%s"' % want["hash"] in sd, sd
assert json.loads(msg) == want, msg
PY
	then
		ok "rsyslogd received the record as RFC 5424 (MSGID, SD-ID, facility 13) with the sealed line"
	else
		not_ok "syslog via rsyslogd" "$(tail -3 "$SYSLOG_OUT" 2>&1 | tr '\n' ' ')"
	fi
else
	skip "syslog via rsyslogd" "rsyslogd not available"
fi

# ---- a full log disk ----------------------------------------------------------------------------------
daemon_stop
M=$TW_WORK/full
mkdir -p "$M"
if mount -t tmpfs -o size=512k tw-audit-test "$M"; then
	tw_at_exit "daemon_stop; umount '$M' 2>/dev/null"
	FLOG=$M/audit.jsonl
	tw_daemon_start --audit-log "$FLOG" || not_ok "daemon on tmpfs"
	twx $WS full-0 "$P" tcp 10.50.1.10 80 >/dev/null 2>&1
	d0=$(status_counter denied)
	dd if=/dev/zero of="$M/filler" bs=4k 2>/dev/null
	denied_ok=1
	for i in $(seq 1 20); do
		[[ $(twx $WS "full-$i" "$P" tcp 10.50.1.10 $((2000 + i)) 2>/dev/null | head -1) == "ERR EPERM" ]] || denied_ok=""
	done
	out=$(twx $WS full-flood "$P" tcp-loop 10.50.1.10 80 1 2>/dev/null)
	alive=$(kill -0 "$TW_DAEMON_PID" 2>/dev/null && echo 1)
	failed=$(python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['records_failed'])" < <("$TW_BIN" status -j))
	rm -f "$M/filler"
	sleep 1.5 # the daemon's 1 s tick writes the gap's lost record
	twx $WS full-after "$P" tcp 10.50.1.10 80 >/dev/null 2>&1
	d1=$(status_counter denied)
	if [[ -n $denied_ok && -n $alive && $failed -gt 0 ]]; then
		ok "log disk full: every connect still denied, the daemon alive ($failed records failed)"
	else
		not_ok "enforcement with a full log" "denied_ok=$denied_ok alive=$alive failed=$failed"
	fi
	res=$("$TW_BIN" audit --log "$FLOG" -j | $SUMS)
	if python3 - "$res" "$d0" "$d1" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
delta = int(sys.argv[3]) - int(sys.argv[2])
# full-0 was before d0: one denial more in the log than in the delta
assert s["lost_daemon"] > 0, s
assert s["denied"] - 1 + s["lost"] == delta, (s, delta)
PY
	then
		ok "the gap is recorded as a lost record when writing resumes; counts still add up exactly"
	else
		not_ok "gap accounting" "$res d0=$d0 d1=$d1"
	fi
	expect_success "--verify after the full disk" -- "$TW_BIN" audit --log "$FLOG" --verify
	daemon_stop
	umount "$M"
else
	skip "full log disk" "cannot mount a tmpfs"
fi

tap_summary
