#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The syslog copy over streams, against real rsyslogd collectors (Debian's,
# GnuTLS for TLS) that this test runs on its own configs, on free loopback
# ports, with a test CA it makes with openssl:
#  - tcp:// (RFC 6587 octet counting): every record of the log, checkpoints
#    included, arrives once, parsed by rsyslog's RFC 5424 parser (MSGID,
#    facility 13, no structured data by default) with the sealed line whole
#    as MSG (a wrong frame length would cut or merge lines).
#  - tls:// (RFC 5425) with --syslog-ca and --syslog-sd-id: the same, with
#    [NAME@PEN seq=.. hash=..] structured data.
#  - The collector stopped mid-stream and started again: the daemon
#    reconnects and sends what waited in its queue (nothing lost); stopped
#    longer than the queue holds: the drops are a `lost` record (source
#    syslog, the seq range) in the local log and in status, the collector
#    gets that record, and every record it misses is one the record counts.
#    The local log misses nothing and verifies.
#  - A collector whose certificate the CA did not sign, or that names
#    another address, is refused: a clear line in the daemon's output,
#    certs_refused in status, nothing sent; its records are counted lost.
#  - Bad options are start-up errors that say what is wrong.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"
source "$HERE/../lib/rsyslog.sh"

P=$TW_PROBE
WS=workspace:acme

if ! command -v rsyslogd >/dev/null || ! command -v openssl >/dev/null; then
	skip "syslog streams" "rsyslogd or openssl not installed (scripts/deps.sh test)"
	tap_summary
	exit 0
fi
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

# ---- a test CA, a collector certificate, and two it must refuse ----------
C=$TW_WORK/pki
mkdir -m 0700 "$C"
cert()
{ # NAME CA SAN: a P-256 key and a server certificate signed by CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$C/$1.key" -out "$C/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" \
			-CAcreateserial -days 2 -out "$C/$1.pem" \
			-extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3") 2>/dev/null
}
for ca in ca rogue-ca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=toolwall test $ca" -keyout "$C/$ca.key" -out "$C/$ca.pem" 2>/dev/null
done
if cert collector ca IP:127.0.0.1 && cert rogue rogue-ca IP:127.0.0.1 &&
	cert elsewhere ca IP:127.0.0.2,DNS:collector.invalid; then
	ok "a test CA, the collector's certificate, a rogue one and one for another name"
else
	not_ok "test PKI"
	tap_summary
	exit 1
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TCP_PORT=$(free_port) TLS_PORT=$(free_port) BAD_PORT=$(free_port)
TCP_OUT=$TW_WORK/tcp.out TLS_OUT=$TW_WORK/tls.out BAD_OUT=$TW_WORK/bad.out
touch "$TCP_OUT" "$TLS_OUT" "$BAD_OUT"
if tw_rsyslog_stream tcp "$TCP_PORT" "$TCP_OUT" &&
	tw_rsyslog_stream tls "$TLS_PORT" "$TLS_OUT" "$C/ca.pem" "$C/collector.pem" "$C/collector.key"; then
	ok "rsyslogd collectors listen: tcp on $TCP_PORT, tls on $TLS_PORT"
else
	not_ok "rsyslogd collectors"
	tap_summary
	exit 1
fi

# poll CMD... for up to 60 s (the sender's backoff reaches 30 s)
poll() { local i; for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.1; done; return 1; }
# check.py OUT LOG [SD-ID]: every record of LOG arrived at OUT once and
# whole; prints what is missing (seqs) and fails on anything malformed
CHECK=$TW_WORK/check.py
cat >"$CHECK" <<'PY'
import json, sys
out, log = sys.argv[1], sys.argv[2]
sd_id = sys.argv[3] if len(sys.argv) > 3 else None
mode = sys.argv[4] if len(sys.argv) > 4 else "all"
want = {}
for line in open(log):
    r = json.loads(line)
    want[r["seq"]] = (r, line.rstrip("\n"))
got = {}
for line in open(out):
    msgid, app, procid, fac, sev, sd, msg = line.rstrip("\n").split("|", 6)
    r = json.loads(msg)  # a wrong frame length cuts or merges lines
    assert r["seq"] in want, "a record that is not in the log: %s" % msg
    assert msg == want[r["seq"]][1], "not the sealed line: %s" % msg
    assert msgid == r["event"] and app == "toolwall" and fac == "13", line
    if sd_id:
        assert sd.startswith("[%s seq=\"%d\"" % (sd_id, r["seq"])), sd
        assert 'hash="%s"' % r["hash"] in sd, sd
    else:
        assert sd == "-", sd
    assert r["seq"] not in got, "sent twice: %d" % r["seq"]
    got[r["seq"]] = r
missing = sorted(set(want) - set(got))
ev = {r["event"] for r in got.values()}
assert "checkpoint" in ev and "deny" in ev, ev
if mode == "all":
    assert not missing, "missing seqs %s" % missing
else:
    # what is missing is exactly what the log's `lost` records (source
    # syslog) count, and the collector got those records
    lost = [r for r, _ in want.values()
            if r["event"] == "lost" and r.get("source") == "syslog"]
    assert lost and all(r["seq"] in got for r in lost), "lost records: %s" % lost
    assert sum(r["records"] for r in lost) == len(missing), (lost, missing)
    for m in missing:
        assert any(r["first_seq"] <= m <= r["last_seq"] for r in lost), (m, lost)
    assert all("count" not in r and "they are in this log" in r["reason"] for r in lost), lost
    print(sum(r["records"] for r in lost))
PY
arrived() { python3 "$CHECK" "$@" >/dev/null 2>&1; }
denials() # CALL FIRST N: N denied connects, ports FIRST..FIRST+N-1
{
	twx $WS "$1" sh -c "for p in \$(seq $2 $(($2 + $3 - 1))); do $P tcp 127.0.0.1 \$p; done" >/dev/null 2>&1
}
count_deny() { "$TW_BIN" audit --log "$TW_LOG" -j --event deny --call-id "$1" 2>/dev/null | wc -l; }
has_n() { [[ $(count_deny "$1") -ge $2 ]]; }
stop_daemon() { kill "$TW_DAEMON_PID" && wait "$TW_DAEMON_PID" 2>/dev/null; TW_DAEMON_PID=""; }
sl() { "$TW_BIN" status -j | python3 -c "import json,sys; print(json.load(sys.stdin)['syslog'].get('$1'))"; }
K=$TW_WORK/audit.key
"$TW_BIN" audit keygen --out "$K" >/dev/null 2>&1

# ---- bad options: start-up errors ------------------------------------------
refuse()
{
	local want=$1 out rc
	shift
	out=$("$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_WORK/refused.jsonl" "$@" 2>&1)
	rc=$?
	if [[ $rc -eq 2 ]] && grep -q -- "$want" <<<"$out" && [[ ! -e $TW_WORK/refused.jsonl ]]; then
		ok "refused at start: $* ($want)"
	else
		not_ok "refuse $*" "exit $rc: $out"
	fi
}
refuse "want udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT" --syslog tls://127.0.0.1
refuse "cannot load the CA file" --syslog "tls://127.0.0.1:$TLS_PORT" --syslog-ca "$TW_WORK/none.pem"
refuse "only for a tls:// destination" --syslog "tcp://127.0.0.1:$TCP_PORT" --syslog-ca "$C/ca.pem"
refuse "enterprise number" --syslog "tcp://127.0.0.1:$TCP_PORT" --syslog-sd-id toolwall
refuse "only for a stream" --syslog "udp://127.0.0.1:$TCP_PORT" --syslog-queue 10

# ---- tcp: every record, checkpoints included, framed right ------------------
tw_daemon_start --syslog "tcp://127.0.0.1:$TCP_PORT" --audit-key "$K" --audit-checkpoint 5/3600 ||
	{ not_ok "daemon starts with tcp://"; tap_summary; exit 1; }
denials t-1 41000 12
poll has_n t-1 12
stop_daemon
if err=$(python3 "$CHECK" "$TCP_OUT" "$TW_LOG" 2>&1); then
	ok "tcp://: all $(wc -l <"$TW_LOG") records, checkpoints included, arrived once, whole, as RFC 5424 without structured data"
else
	not_ok "tcp:// records" "$(tail -c 600 <<<"$err")"
fi

# ---- tls: the same, with the operator's SD-ID --------------------------------
mv "$TW_LOG" "$TW_WORK/tcp.jsonl"
tw_daemon_start --syslog "tls://127.0.0.1:$TLS_PORT" --syslog-ca "$C/ca.pem" \
	--syslog-sd-id toolwall@32473 --syslog-queue 40 --audit-key "$K" --audit-checkpoint 5/3600 ||
	{ not_ok "daemon starts with tls://"; tap_summary; exit 1; }
denials s-1 42000 6
poll has_n s-1 6
if poll arrived "$TLS_OUT" "$TW_LOG" toolwall@32473 &&
	poll grep -q "syslog tls://127.0.0.1:$TLS_PORT: connected" "$TW_WORK/daemon.out"; then
	ok "tls://: records and checkpoints arrive through TLS (test CA, name 127.0.0.1) with [toolwall@32473 seq hash]"
else
	not_ok "tls:// records" "$(python3 "$CHECK" "$TLS_OUT" "$TW_LOG" toolwall@32473 2>&1 | tail -c 400) $(grep syslog "$TW_WORK/daemon.out" | tail -3) $(tail -c 300 "$TLS_OUT")"
fi

# outage CALL FIRST N: the TLS collector stops; once the daemon has seen
# it go, N denials while it is away
disconnected() { [[ $(sl connected) == False ]]; }
outage()
{
	tw_rsyslog_halt tls
	poll disconnected
	denials "$1" "$2" "$3"
	poll has_n "$1" "$3"
}

# The collector goes away mid-stream and comes back: nothing is lost.
outage s-2 42100 3
queued=$(sl queued)
tw_rsyslog_resume tls
if poll arrived "$TLS_OUT" "$TW_LOG" toolwall@32473 && [[ $(sl lost) == 0 && $(sl connects) -ge 2 ]] &&
	[[ $queued -ge 3 ]]; then
	ok "collector restarted: the daemon reconnects and sends the $queued records that waited; lost 0"
else
	not_ok "reconnect" "queued $queued, status lost $(sl lost), connects $(sl connects)"
fi

# Away for longer than the queue (40) holds: drops become `lost` records.
outage s-3 42200 60
lost_st=$(sl lost)
tw_rsyslog_resume tls
accounted() { python3 "$CHECK" "$TLS_OUT" "$TW_LOG" toolwall@32473 accounted >/dev/null 2>&1; }
poll accounted
counted=$(python3 "$CHECK" "$TLS_OUT" "$TW_LOG" toolwall@32473 accounted 2>&1)
if [[ $counted =~ ^[0-9]+$ && $counted -gt 0 && $counted == "$(sl lost)" && $lost_st -gt 0 ]]; then
	ok "queue overflow: $counted records dropped, counted in status and in lost records (source syslog, seq ranges) the collector got; nothing else missing"
else
	not_ok "overflow accounting" "status lost $lost_st/$(sl lost): $(tail -c 600 <<<"$counted")"
fi
stop_daemon
out=$("$TW_BIN" audit --log "$TW_LOG" --verify --pubkey "$K.pub" 2>&1)
if [[ $? -eq 0 ]] && tail -1 "$TW_LOG" | gq '"event":"checkpoint"' &&
	grep -qF "$(tail -1 "$TW_LOG")" "$TLS_OUT" &&
	python3 "$CHECK" "$TLS_OUT" "$TW_LOG" toolwall@32473 accounted >/dev/null; then
	ok "at stop the collector gets everything up to the stop's checkpoint; the local log misses nothing and verifies with the key"
else
	not_ok "local log after the outages" "$out; $(tail -1 "$TW_LOG")"
fi
# ---- certificates the daemon must refuse -------------------------------------
refused_cert()
{ # NAME CERT WANT: a collector with CERT is refused, saying WANT
	local name=$1 crt=$2 want=$3 log=$TW_WORK/$1.jsonl
	tw_rsyslog_stream "$name" "$BAD_PORT" "$BAD_OUT" "$C/ca.pem" "$C/$crt.pem" "$C/$crt.key" ||
		{ not_ok "rsyslogd with $crt"; return; }
	: >"$TW_WORK/daemon.out"
	tw_daemon_start --audit-log "$log" --syslog "tls://127.0.0.1:$BAD_PORT" --syslog-ca "$C/ca.pem" ||
		{ not_ok "daemon with $name"; return; }
	denials "$name" 43000 2
	poll grep -q "certificate is refused" "$TW_WORK/daemon.out"
	local refusals=$(sl certs_refused) error=$(sl last_error)
	stop_daemon
	tw_rsyslog_halt "$name"
	if [[ $refusals -ge 1 && ! -s $BAD_OUT ]] && grep -q "$want" <<<"$error" &&
		grep -q "syslog tls://127.0.0.1:$BAD_PORT: the collector's certificate is refused: $want" "$TW_WORK/daemon.out" &&
		"$TW_BIN" audit --log "$log" -j --event lost | gq '"source":"syslog"'; then
		ok "$name: refused ($error), certs_refused $refusals, nothing sent, its records counted lost"
	else
		not_ok "$name refused" "refusals $refusals, error '$error', sent $(wc -l <"$BAD_OUT"): $(grep syslog "$TW_WORK/daemon.out" | head -3)"
	fi
}
refused_cert rogue rogue "self-signed certificate in certificate chain\|unable to get local issuer certificate"
refused_cert elsewhere elsewhere "IP address mismatch"

tap_summary
