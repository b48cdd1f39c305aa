#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, records class (issue 16, classes 2 and 3): a call attacks the
# audit log through the bytes it puts in its records
# (attacks/records.py: a process name, a unix socket path and an abstract
# name, a refused file, a refused exec, a DNS name):
#   - bytes that are not UTF-8, to make the records of its refusals
#     unwritable (dropped, or a `lost` record in their place);
#   - the data-team credential it holds, to carry the value out through the
#     records (the log, its syslog copy, or a SIEM reading them) and through
#     its own denial summary;
#   - terminal controls (ESC sequences, CR, newlines) in its process name and
#     in a refused path, to forge or hide rows in the table a responder reads
#     (README: "none of it can break the table").
# No bare run: the target is toolwall's own log. Field by field, with an
# exec'd program's path and argv too, the same is proven in
# tests/kernel/test_records.sh.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

R="$ESC_PY $ESC_ATTACKS/records.py"
ESC_NO_HOSTS=1 # (reaches no test host)
esc_setup
esc_victim_start || { tap_summary; exit 1; }

# ---- bytes that are not UTF-8 ------------------------------------------------------------
# ff fe, a backslash, "x41", a cut c3, "(", é, a lone 80; comm "R" + them
ENC='tw-rec-\xff\xfe\\x41\xc3(é\x80'
attempt "hide refusals behind bytes that are not UTF-8" $ESC_GEN "DONE*" -- \
	$R fffe5c783431c328c3a980 - 52
for t in "action=connect;path=/tmp/$ENC" "action=connect;path=@$ENC" \
	"action=open;path=/root/$ENC" "action=exec;path=/root/$ENC" \
	"action=dns;domain~.exfil.example"; do
	IFS=';' read -ra terms <<<"event=deny;context=$ESC_GEN;comm=R\\xff\\xfe\\\\x41\\xc3(é\\x80;$t"
	record "non-UTF-8 bytes: ${t%%;*} ${t#*;}" "${terms[@]}"
done
if grep -q '"event":"lost"' "$TW_LOG"; then
	not_ok "no record was lost for its bytes" "$(grep '"event":"lost"' "$TW_LOG" | head -2)"
else
	ok "no record was lost for its bytes"
fi

# ---- the credential a call holds, in every field ---------------------------------------
M='tw-rec-[credential warehouse-reader]'
attempt "carry the warehouse credential out through record fields" $ESC_DATA "DONE*" -- \
	$R env:WAREHOUSE_TOKEN -
for t in "action=connect;path=/tmp/$M" "action=connect;path=@$M" \
	"action=open;path=/root/$M" "action=exec;path=/root/$M" \
	"action=dns;domain=$M.exfil.example"; do
	IFS=';' read -ra terms <<<"event=deny;context=$ESC_DATA;comm=[credential warehouse-reader];$t"
	record "credential: ${t%%;*} ${t#*;}" "${terms[@]}"
done
# in the log, in what the call printed and in its denial summary (stderr)
no_secret "credential in every field"

# ---- forge rows in the responder's table ----------------------------------------------
FORGE='import ctypes
ctypes.CDLL(None).prctl(15, b"\x1b[2J\rX\n", 0, 0, 0)
for p in ("/root/\x1b[H\x1b[2Jok", "/root/a\r2026-01-01T00:00:00Z deny FORGED", "/root/b\nFORGED row"):
    try:
        open(p)
    except OSError:
        pass
print("DONE")'
attempt "forge rows with ESC, CR and newlines in comm and paths" $ESC_GEN "DONE" -- \
	python3 -c "$FORGE"
has_forge() { [[ $("$TW_BIN" audit --log "$TW_LOG" -j --call-id "$ESC_ID" --action open | wc -l) -ge 3 ]]; }
tw_eventually has_forge
n_rec=$("$TW_BIN" audit --log "$TW_LOG" -j --call-id "$ESC_ID" --action open | wc -l)
"$TW_BIN" audit --log "$TW_LOG" --call-id "$ESC_ID" --action open >"$TW_WORK/forge.table" 2>/dev/null
rows=$(($(wc -l <"$TW_WORK/forge.table") - 1))
if [[ $n_rec -ge 3 && $rows == "$n_rec" ]] && ! grep -q $'\e\|\r' "$TW_WORK/forge.table" &&
	! grep -q "^2026-01-01T00:00:00Z\|^FORGED" "$TW_WORK/forge.table" &&
	grep -qF '\e[2J\rX\n' "$TW_WORK/forge.table" && grep -qF '/root/b\nFORGED row' "$TW_WORK/forge.table"; then
	ok "the table shows them inert: one row per record ($rows), no raw control byte, no forged row"
else
	not_ok "forged rows" "$n_rec records, $rows rows: $(cat -v "$TW_WORK/forge.table" | head -6 | tr '\n' '|')"
fi

tap_summary
