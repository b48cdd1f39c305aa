#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# An audit trail a responder can trust, with the daemon: signed
# checkpoints, queries that tell the truth, and a table that agent-chosen
# text cannot break.
#  - `toolwall audit keygen` writes a key pair (private 0600) and never
#    overwrites one; `daemon --audit-key` refuses a missing, loose
#    (group/other readable) or non-Ed25519 key at start, saying which.
#  - The daemon signs at start, every N records, and at stop;
#    `audit --verify --pubkey` passes and counts the unsigned tail.
#  - A log altered and re-hashed from start to end still verifies by its
#    chain alone but fails with the public key; another key fails; an
#    empty log says it has no records.
#  - Queries tell the truth: a plain query of an altered log warns, names
#    the record and exits 1; a partial last line (a crash mid-write) is
#    reported as such by the query and by --verify, not as tampering; bad
#    filter values are errors; --since takes -1h.
#  - Safe display: a call's argv with ESC sequences, CR and newlines
#    renders inert in the table: one row per record, no raw control byte,
#    the escapes and the argument boundaries visible; -j is the JSON as
#    written.
#  - Responders in the audit group (toolwall-audit) read, query and verify
#    the log without root (files 0640, the directory the daemon made 0750);
#    anyone else is refused by the file modes.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

P=$TW_PROBE
WS=workspace:acme

tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
K=$TW_WORK/keys
mkdir -m 0700 "$K"

out=$("$TW_BIN" audit keygen --out "$K/audit.key" 2>&1)
if [[ $? -eq 0 && $(stat -c %a "$K/audit.key") == 600 && -s $K/audit.key.pub ]] &&
	grep -q "BEGIN PUBLIC KEY" "$K/audit.key.pub" && ! grep -q PRIVATE "$K/audit.key.pub"; then
	ok "keygen writes the private key 0600 and the public key beside it"
else
	not_ok "keygen" "$out"
fi
before=$(sha256sum "$K/audit.key")
out=$("$TW_BIN" audit keygen --out "$K/audit.key" 2>&1)
rc=$?
if [[ $rc -eq 1 && $(sha256sum "$K/audit.key") == "$before" ]] && grep -q "never overwritten" <<<"$out"; then
	ok "keygen never overwrites a key (exit 1, saying so)"
else
	not_ok "keygen overwrite" "exit $rc: $out"
fi

# Keys the daemon must refuse, each with what is wrong.
cp "$K/audit.key" "$K/loose.key" && chmod 0640 "$K/loose.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ec.key" 2>/dev/null
chmod 0600 "$K/ec.key"
refuse()
{
	local what=$1 key=$2 want=$3 out rc
	out=$("$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_WORK/refused.jsonl" --audit-key "$key" 2>&1)
	rc=$?
	if [[ $rc -eq 2 ]] && grep -q -- "$want" <<<"$out" && [[ ! -e $TW_WORK/refused.jsonl ]] &&
		[[ ! -e /sys/fs/bpf/toolwall ]]; then
		ok "the daemon refuses $what at start (exit 2), touching nothing"
	else
		not_ok "refuse $what" "exit $rc: $out"
	fi
}
refuse "a missing key" "$K/none.key" "No such file"
refuse "a key readable by others" "$K/loose.key" "readable by root only"
refuse "a key that is not Ed25519" "$K/ec.key" "not an Ed25519 private key"

# Signed: at start, every 5 records, at stop.
tw_daemon_start --audit-key "$K/audit.key" --audit-checkpoint 5/3600 ||
	{ not_ok "daemon starts with --audit-key"; tap_summary; exit 1; }
twx $WS s-1 sh -c "for p in 1 2 3 4 5 6 7 8 9 10 11 12; do $P tcp 127.0.0.1 \$((40000 + p)); done" >/dev/null 2>&1
count_deny() { "$TW_BIN" audit --log "$TW_LOG" -j --event deny --call-id s-1 2>/dev/null | wc -l; }
has12() { [[ $(count_deny) -ge 12 ]]; }
tw_eventually has12
kill "$TW_DAEMON_PID" && wait "$TW_DAEMON_PID" 2>/dev/null
TW_DAEMON_PID=""
ck=$("$TW_BIN" audit --log "$TW_LOG" -j --event checkpoint | wc -l)
out=$("$TW_BIN" audit --log "$TW_LOG" --verify --pubkey "$K/audit.key.pub" 2>&1)
rc=$?
if [[ $rc -eq 0 && $ck -ge 4 ]] && grep -q "signed: $ck checkpoints by key" <<<"$out" &&
	grep -q "0 records after it are unsigned" <<<"$out"; then
	ok "checkpoints at start, every 5 records and at stop ($ck): --verify --pubkey passes, nothing unsigned"
else
	not_ok "signed log verifies" "exit $rc, $ck checkpoints: $out"
fi
last=$(tail -1 "$TW_LOG")
if python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["event"]=="checkpoint" and len(r["signature"])==128 and r["head"]==r["prev"] and len(r["key_id"])==16' "$last"; then
	ok "the last record is the stop's checkpoint: head (= prev), key_id, signature"
else
	not_ok "stop checkpoint" "$last"
fi

# Tamper: change a denial's port, re-hash every record after it.
cp "$TW_LOG" "$TW_WORK/orig.jsonl"
python3 - "$TW_LOG" <<'PY'
import hashlib, re, sys
lines = open(sys.argv[1]).read().splitlines()
prev = "0" * 64
out = []
done = False
for l in lines:
    body = l[:l.rindex(',"hash":"')] + "}"
    if not done and '"call_id":"s-1"' in body and '"port":40003' in body:
        body = body.replace('"port":40003', '"port":40099')
        done = True
    body = re.sub(r'"prev":"[0-9a-f]{64}"', '"prev":"%s"' % prev, body, count=1)
    h = hashlib.sha256(body.encode()).hexdigest()
    out.append(body[:-1] + ',"hash":"%s"}' % h)
    prev = h
assert done
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
plain=$("$TW_BIN" audit --log "$TW_LOG" --verify 2>&1)
prc=$?
out=$("$TW_BIN" audit --log "$TW_LOG" --verify --pubkey "$K/audit.key.pub" 2>&1)
rc=$?
if [[ $prc -eq 0 && $rc -eq 1 ]] && grep -q "checkpoint seq [0-9]* does not verify" <<<"$out"; then
	ok "a log altered and re-hashed: the chain alone verifies, the signed checkpoints do not"
else
	not_ok "re-hash detected" "plain exit $prc; keyed exit $rc: $out"
fi
cp "$TW_WORK/orig.jsonl" "$TW_LOG"

"$TW_BIN" audit keygen --out "$K/other.key" >/dev/null 2>&1
out=$("$TW_BIN" audit --log "$TW_LOG" --verify --pubkey "$K/other.key.pub" 2>&1)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "signed by key .*, not by the key given" <<<"$out"; then
	ok "checkpoints of another key: fails, naming both keys"
else
	not_ok "other key" "exit $rc: $out"
fi

# A daemon without the key writes an unsigned tail: counted, not hidden.
tw_daemon_start || { not_ok "daemon restarts"; tap_summary; exit 1; }
expect_probe "a denial without signing" "ERR EPERM" -- twx $WS s-2 "$P" tcp 127.0.0.1 40100
has_s2() { "$TW_BIN" audit --log "$TW_LOG" -j --call-id s-2 --event deny | gq .; }
tw_eventually has_s2
tail_n=$(awk 'END { print NR }' "$TW_LOG")
last_ck=$(grep -n '"event":"checkpoint"' "$TW_LOG" | tail -1 | cut -d: -f1)
want=$((tail_n - last_ck))
out=$("$TW_BIN" audit --log "$TW_LOG" --verify --pubkey "$K/audit.key.pub" 2>&1)
rc=$?
if [[ $rc -eq 0 ]] && grep -q "$want records after it are unsigned" <<<"$out"; then
	ok "records after the last checkpoint are reported as unsigned ($want)"
else
	not_ok "unsigned tail" "exit $rc (want $want): $out"
fi

# ---- queries tell the truth --------------------------------------------------
Q=$TW_WORK/q
mkdir -p "$Q"
cp "$TW_LOG" "$Q/alt.jsonl"
line=$(grep -n '"call_id":"s-1".*"port":4000' "$Q/alt.jsonl" | sed -n 3p | cut -d: -f1)
sed -i "${line}s/\"port\":4000/\"port\":5000/" "$Q/alt.jsonl"
out=$("$TW_BIN" audit --log "$Q/alt.jsonl" 2>&1 >/dev/null)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "alt.jsonl:$line: the record below is not intact: its content does not match its hash" <<<"$out"; then
	ok "a plain query of an altered log warns, naming the record, and exits 1"
else
	not_ok "query of an altered log" "exit $rc (line $line): $out"
fi
cp "$TW_LOG" "$Q/del.jsonl"
sed -i "${line}d" "$Q/del.jsonl"
out=$("$TW_BIN" audit --log "$Q/del.jsonl" 2>&1 >/dev/null)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "del.jsonl:$line: the record below is not intact: seq [0-9]* before it is missing" <<<"$out"; then
	ok "a plain query of a log with a record deleted: warns at the record after the hole, exit 1"
else
	not_ok "query of a log with a deleted record" "exit $rc: $out"
fi
cp "$TW_LOG" "$Q/swap.jsonl"
python3 - "$Q/swap.jsonl" "$line" <<'PY'
import sys
l = open(sys.argv[1]).read().splitlines(True)
i = int(sys.argv[2]) - 1
l[i], l[i + 1] = l[i + 1], l[i]
open(sys.argv[1], "w").writelines(l)
PY
out=$("$TW_BIN" audit --log "$Q/swap.jsonl" 2>&1 >/dev/null)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "swap.jsonl:$((line + 1)): the record below is not intact: seq [0-9]* after seq [0-9]* (inserted or reordered)" <<<"$out"; then
	ok "a plain query of a log with two records swapped: warns, exit 1"
else
	not_ok "query of a reordered log" "exit $rc: $out"
fi
cp "$TW_LOG" "$Q/trunc.jsonl"
head -c 70 <(tail -1 "$TW_LOG") >>"$Q/trunc.jsonl"
n=$(wc -l <"$Q/trunc.jsonl")
out=$("$TW_BIN" audit --log "$Q/trunc.jsonl" 2>&1 >/dev/null)
rc=$?
vout=$("$TW_BIN" audit --log "$Q/trunc.jsonl" --verify 2>&1)
vrc=$?
if [[ $rc -eq 1 && $vrc -eq 1 ]] && grep -q "trunc.jsonl:$((n + 1)): the last line is incomplete" <<<"$out" &&
	grep -q "the last line is incomplete.*not tampering" <<<"$vout" && ! grep -q "does not verify\|altered" <<<"$vout"; then
	ok "a partial last line: query and --verify both say it is incomplete (a crash), not tampering; exit 1"
else
	not_ok "partial last line" "query exit $rc: $out; verify exit $vrc: $vout"
fi
bad_filter()
{
	local out rc
	out=$("$TW_BIN" audit --log "$TW_LOG" "$@" 2>&1)
	rc=$?
	if [[ $rc -eq 2 && -n $out ]]; then ok "audit $*: an error (exit 2), not an empty table"
	else not_ok "audit $*" "exit $rc: $out"; fi
}
bad_filter --summary --top abc
bad_filter --event denied
bad_filter --time mars
# times in local time on request: the same instant, with the zone's offset
utc=$("$TW_BIN" audit --log "$TW_LOG" --event policy | awk 'NR == 2 { print $1 }')
loc=$(TZ=Asia/Kolkata "$TW_BIN" audit --log "$TW_LOG" --event policy --time local | awk 'NR == 2 { print $1 }')
m_utc=$("$TW_BIN" audit --log "$TW_LOG" --summary | awk '/^timeline/ { getline; print $1; exit }')
m_loc=$(TZ=Asia/Kolkata "$TW_BIN" audit --log "$TW_LOG" --summary --time local |
	awk '/^timeline \(per minute, local time\)/ { getline; print $1; exit }')
if [[ $utc == *Z && $loc == *+05:30 ]] &&
	[[ $(date -u -d "$utc" +%s.%N) == $(date -u -d "$loc" +%s.%N) ]] &&
	[[ $m_utc == *Z && $m_loc == *+05:30 && $(date -u -d "$m_utc" +%s) == $(date -u -d "$m_loc" +%s) ]]; then
	ok "--time local: $utc reads $loc in Asia/Kolkata (the same instant); the summary's minute $m_utc reads $m_loc"
else
	not_ok "--time local" "utc '$utc', local '$loc'; summary '$m_utc' '$m_loc'"
fi
# a policy load names the policy's path, not a unix socket; --dst unix:
# finds a unix connect (the control case) and not the policy
US=$TW_WORK/no-such.sock
twx $WS u-1 "$P" unix "$US" >/dev/null 2>&1
has_u1() { "$TW_BIN" audit --log "$TW_LOG" -j --call-id u-1 --event deny | gq .; }
tw_eventually has_u1
row=$("$TW_BIN" audit --log "$TW_LOG" --event policy | awk 'NR == 2')
n_us=$("$TW_BIN" audit --log "$TW_LOG" -j --dst "unix:$US" | wc -l)
n_pol=$("$TW_BIN" audit --log "$TW_LOG" -j --dst "unix:$TW_POLICY"; echo "exit $?")
if [[ $row == *" load "*" $TW_POLICY "* && $row != *unix:* && $n_us == 1 && $n_pol == "exit 0" ]]; then
	ok "a policy load row shows the policy's path; --dst unix: finds the unix connect ($n_us) and not the policy"
else
	not_ok "policy load row" "row '$row'; --dst unix:$US: $n_us records; unix:$TW_POLICY: $n_pol"
fi
n_since=$("$TW_BIN" audit --log "$TW_LOG" -j --since -1h --call-id s-1 --event deny | wc -l)
if [[ $n_since -ge 12 ]]; then
	ok "--since -1h: the last hour's records"
else
	not_ok "--since -1h" "$n_since records"
fi

# ---- safe display -------------------------------------------------------------
twx $WS d-1 /bin/sh -c 'exit 0' sh $'\e[2J\e[H' $'ok\rFORGED ROW' $'two\nlines' 'a b' >/dev/null 2>&1
has_d1() { "$TW_BIN" audit --log "$TW_LOG" -j --call-id d-1 --event exec | gq .; }
tw_eventually has_d1
n_rec=$("$TW_BIN" audit --log "$TW_LOG" -j --call-id d-1 --event exec | wc -l)
"$TW_BIN" audit --log "$TW_LOG" --call-id d-1 --event exec >"$Q/table" 2>/dev/null
rows=$(($(wc -l <"$Q/table") - 1))
if [[ $n_rec -ge 1 && $rows == "$n_rec" ]] && ! grep -q $'\e\|\r' "$Q/table" &&
	grep -qF "sh -c 'exit 0' sh '\e[2J\e[H' 'ok\rFORGED ROW' 'two\nlines' 'a b'" "$Q/table"; then
	ok "an argv with ESC, CR and newlines renders inert: one row per record ($rows), escapes and argument boundaries visible"
else
	not_ok "safe display" "$n_rec records, $rows rows: $(cat -v "$Q/table" | head -5)"
fi
if "$TW_BIN" audit --log "$TW_LOG" -j --call-id d-1 --event exec | python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
assert "\x1b[2J\x1b[H" in r["argv"] and "ok\rFORGED ROW" in r["argv"], r["argv"]'; then
	ok "-j keeps the record as written (the JSON escapes, not the display ones)"
else
	not_ok "-j unchanged"
fi

# ---- responders read without root ------------------------------------------------
R_USER=tw-resp-$$ O_USER=tw-other-$$ made_group=""
if ! getent group toolwall-audit >/dev/null; then
	groupadd --system toolwall-audit && made_group=1
fi
useradd --system --no-create-home --shell /usr/sbin/nologin -G toolwall-audit "$R_USER"
useradd --system --no-create-home --shell /usr/sbin/nologin "$O_USER"
resp_cleanup()
{
	userdel "$R_USER" 2>/dev/null
	userdel "$O_USER" 2>/dev/null
	[[ -n $made_group ]] && groupdel toolwall-audit 2>/dev/null
	return 0
}
tw_at_exit resp_cleanup
RLOG=$TW_WORK/resp/audit.jsonl
tw_daemon_kill9
tw_daemon_start --audit-log "$RLOG" || { not_ok "daemon starts on a new log"; tap_summary; exit 1; }
twx $WS g-1 "$P" tcp 127.0.0.1 40200 >/dev/null 2>&1
has_g1() { "$TW_BIN" audit --log "$RLOG" -j --call-id g-1 --event deny | gq .; }
tw_eventually has_g1
kill "$TW_DAEMON_PID" && wait "$TW_DAEMON_PID" 2>/dev/null
TW_DAEMON_PID=""
as() { runuser -u "$1" -- "${@:2}"; }
perm=$(stat -c '%a %G' "$RLOG") dperm=$(stat -c '%a %G' "$(dirname "$RLOG")")
if [[ $perm == "640 toolwall-audit" && $dperm == "750 toolwall-audit" ]] &&
	as "$R_USER" "$TW_BIN" audit --log "$RLOG" --verify >/dev/null 2>&1 &&
	[[ $(as "$R_USER" "$TW_BIN" audit --log "$RLOG" -j --call-id g-1 --event deny | wc -l) == 1 ]]; then
	ok "a responder in toolwall-audit verifies and queries the log without root (file $perm, dir $dperm)"
else
	not_ok "responder access" "file '$perm', dir '$dperm'"
fi
out=$(as "$O_USER" "$TW_BIN" audit --log "$RLOG" 2>&1)
rc=$?
if [[ $rc -ne 0 ]] && grep -qi "permission denied" <<<"$out"; then
	ok "a user outside the group cannot read it (exit $rc, permission denied)"
else
	not_ok "outsider refused" "exit $rc: $out"
fi

# An empty log is not a verified one.
: >"$TW_WORK/empty.jsonl"
out=$("$TW_BIN" audit --log "$TW_WORK/empty.jsonl" --verify 2>&1)
rc=$?
if [[ $rc -eq 1 ]] && grep -q "no records" <<<"$out"; then
	ok "an empty log: 'no records', exit 1 (not 'verifies')"
else
	not_ok "empty log" "exit $rc: $out"
fi

tap_summary
