#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Tampering with a signed, rotated audit log, case by case: each one is
# detected by `audit --verify --pubkey` and by a query (`audit`, the table,
# with --pubkey), both exit 1, each case with a message of its own that
# names what was done:
#
#   edit            a record changed          "does not match its hash"
#   delete          a record removed          "seq N before it is missing" / "record seq N is missing"
#   reorder         two records swapped       "inserted or reordered" / "reordered"
#   truncate        the last line cut short   "the last line is incomplete" (not tampering)
#   re-hash         a record changed and the whole log re-hashed
#                                             "checkpoint seq N does not verify"
#   swap segments   two rotated segments renamed into each other's place
#                                             "segments swapped or renamed"
#   delete segment  a rotated segment removed "a segment deleted"
#
# The log is the daemon's own (--audit-key, a checkpoint every 5 records,
# rotation every 6 KiB), each case on a copy of it.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

P=$TW_PROBE
WS=workspace:acme

tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }
K=$TW_WORK/audit.key
"$TW_BIN" audit keygen --out "$K" >/dev/null 2>&1
L=$TW_WORK/log
tw_daemon_start --audit-log "$L/audit.jsonl" --audit-key "$K" --audit-checkpoint 5/3600 \
	--audit-max-size 6K --audit-keep 20 ||
	{ not_ok "daemon starts"; tap_summary; exit 1; }
twx $WS t-1 sh -c "for p in \$(seq 44000 44079); do $P tcp 127.0.0.1 \$p; done" >/dev/null 2>&1
has80() { [[ $("$TW_BIN" audit --log "$L/audit.jsonl" -j --event deny --call-id t-1 2>/dev/null | wc -l) -ge 80 ]]; }
tw_eventually has80
kill "$TW_DAEMON_PID" && wait "$TW_DAEMON_PID" 2>/dev/null
TW_DAEMON_PID=""
nseg=$(ls "$L"/audit.jsonl.*.gz 2>/dev/null | wc -l)
out=$("$TW_BIN" audit --log "$L/audit.jsonl" --verify --pubkey "$K.pub" 2>&1)
q=$("$TW_BIN" audit --log "$L/audit.jsonl" --pubkey "$K.pub" 2>&1 >/dev/null)
if [[ $? -eq 0 && $nseg -ge 4 && -z $q ]] && grep -q "0 records after it are unsigned" <<<"$out"; then
	ok "the untouched log ($nseg rotated segments) verifies with the key, and a query with it is silent"
else
	not_ok "untouched log" "$nseg segments: $out $q"
	tap_summary
	exit 1
fi

# edit.py DIR CASE: tamper with the copy of the log in DIR
EDIT=$TW_WORK/edit.py
cat >"$EDIT" <<'PY'
import glob, gzip, hashlib, os, re, sys
d, case = sys.argv[1], sys.argv[2]
live = os.path.join(d, "audit.jsonl")
def seg(n):
    return os.path.join(d, "audit.jsonl.%d.gz" % n)
def read(f):
    return (gzip.open(f, "rt") if f.endswith(".gz") else open(f)).read().splitlines()
def write(f, lines, end="\n"):
    data = "\n".join(lines) + end
    (gzip.open(f, "wt") if f.endswith(".gz") else open(f, "w")).write(data)
segs = sorted(glob.glob(os.path.join(d, "audit.jsonl.*.gz")),
              key=lambda f: -int(f.split(".")[-2]))
mid = seg(2)  # a whole rotated segment, neither the oldest nor the live file
if case == "edit":
    # one record's event name, whatever record it is (which records a
    # segment holds depends on timing: exec, checkpoint and denials)
    l = read(mid)
    l[3], n = re.subn(r'"event":"([a-z_]+)"', r'"event":"\1x"', l[3], count=1)
    assert n == 1
    write(mid, l)
elif case == "delete":
    l = read(mid); del l[3]; write(mid, l)
elif case == "reorder":
    l = read(mid); l[3], l[4] = l[4], l[3]; write(mid, l)
elif case == "truncate":
    l = read(live)
    open(live, "a").write(l[-1][:70])
elif case == "rehash":
    prev, done = "0" * 64, False
    for f in segs + [live]:
        out = []
        for line in read(f):
            body = line[:line.rindex(',"hash":"')] + "}"
            if not done and '"event":"deny"' in body:
                body = body.replace('"event":"deny"', '"event":"dany"', 1)
                done = True
            body = re.sub(r'"prev":"[0-9a-f]{64}"', '"prev":"%s"' % prev, body, count=1)
            body = re.sub(r'"head":"[0-9a-f]{64}"', '"head":"%s"' % prev, body, count=1)
            prev = hashlib.sha256(body.encode()).hexdigest()
            out.append(body[:-1] + ',"hash":"%s"}' % prev)
        write(f, out)
    assert done
elif case == "swap-segments":
    os.rename(seg(2), seg(0)); os.rename(seg(3), seg(2)); os.rename(seg(0), seg(3))
elif case == "delete-segment":
    os.remove(mid)
PY

tamper()
{ # CASE VERIFY-PATTERN QUERY-PATTERN
	local c=$1 vwant=$2 qwant=$3 d=$TW_WORK/t/$1 vout vrc qout qrc
	mkdir -p "$TW_WORK/t"
	cp -r "$L" "$d"
	if ! python3 "$EDIT" "$d" "$c"; then
		not_ok "$c: tampering"
		return
	fi
	# a chain check alone catches all but the re-hash
	if [[ $c != rehash ]] && ! "$TW_BIN" audit --log "$d/audit.jsonl" --verify >/dev/null 2>&1; then :
	elif [[ $c == rehash ]] && "$TW_BIN" audit --log "$d/audit.jsonl" --verify >/dev/null 2>&1; then :
	else not_ok "$c: the chain alone" "unexpected --verify result without the key"; fi
	vout=$("$TW_BIN" audit --log "$d/audit.jsonl" --verify --pubkey "$K.pub" 2>&1)
	vrc=$?
	qout=$("$TW_BIN" audit --log "$d/audit.jsonl" --pubkey "$K.pub" 2>&1 >/dev/null)
	qrc=$?
	if [[ $vrc -eq 1 && $qrc -eq 1 ]] && grep -q -- "$vwant" <<<"$vout" && grep -q -- "$qwant" <<<"$qout"; then
		ok "$c: --verify --pubkey ('$vwant') and a query ('$qwant') both catch it, exit 1"
	else
		not_ok "$c" "verify exit $vrc: $vout | query exit $qrc: $qout"
	fi
}
tamper edit "altered: the record does not match its hash" "its content does not match its hash (altered)"
tamper delete "record seq [0-9]* is missing" "seq [0-9]* before it is missing (deleted or moved)"
tamper reorder "reordered: seq [0-9]* belongs between" "(inserted or reordered)"
tamper truncate "the last line is incomplete.*not tampering" "the last line is incomplete"
tamper rehash "checkpoint seq [0-9]* does not verify with key" "checkpoint seq [0-9]* does not verify.*the records read before it are not proven"
tamper swap-segments "segments out of order: it starts at seq" "(segments swapped or renamed)"
tamper delete-segment "missing between two segments.*(a segment deleted)" "missing between segments.*(a segment deleted)"

# Each case says something no other case says.
msgs=$(for c in edit delete reorder truncate rehash swap-segments delete-segment; do
	"$TW_BIN" audit --log "$TW_WORK/t/$c/audit.jsonl" --verify --pubkey "$K.pub" 2>&1 | head -1 |
		sed -e 's/[0-9]\+//g' -e "s|$TW_WORK/t/[a-z-]*/||g"
done | sort -u | wc -l)
if [[ $msgs -eq 7 ]]; then
	ok "seven cases, seven distinct --verify messages"
else
	not_ok "distinct messages" "$msgs distinct"
fi

tap_summary
