# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# A real syslog collector for tests: Debian's rsyslogd, in the foreground,
# without systemd, on its own config. Source it after netns.sh, then:
#
#   tw_rsyslog_start PORT OUT   rsyslogd listening on udp 127.0.0.1:PORT,
#                               writing every message it parsed as
#                               "MSGID|APP-NAME|PROCID|FACILITY|SEVERITY|SD|MSG"
#                               to OUT ($TW_RSYSLOG_PID); returns once it listens
#   tw_rsyslog_stop             stop it (also registered at exit)
#
# The fields come from rsyslog's own RFC 5424 parser: a message that is
# not valid RFC 5424 has no MSGID or structured data there.

[[ -n ${_TW_RSYSLOG_SH:-} ]] && return 0
_TW_RSYSLOG_SH=1

TW_RSYSLOG_PID=""
_TW_RSYSLOG_DIR=""

tw_rsyslog_start()
{
	local port=$1 out=$2
	command -v rsyslogd >/dev/null || return 1
	_TW_RSYSLOG_DIR=$(mktemp -d /tmp/twsyslog.XXXXXX) || return 1
	cat >"$_TW_RSYSLOG_DIR/rsyslog.conf" <<CONF
global(workDirectory="$_TW_RSYSLOG_DIR")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$port")
template(name="tw" type="string"
         string="%msgid%|%app-name%|%procid%|%syslogfacility%|%syslogseverity%|%structured-data%|%msg%\n")
*.* action(type="omfile" file="$out" template="tw")
CONF
	rsyslogd -n -f "$_TW_RSYSLOG_DIR/rsyslog.conf" \
		-i "$_TW_RSYSLOG_DIR/rsyslogd.pid" >"$_TW_RSYSLOG_DIR/log" 2>&1 &
	TW_RSYSLOG_PID=$!
	tw_at_exit tw_rsyslog_stop
	_tw_rsyslog_listens "$TW_RSYSLOG_PID" -Hlun "$port" "$_TW_RSYSLOG_DIR/log"
}

# _tw_rsyslog_listens PID SS-FLAGS PORT LOG: wait up to 10 s for rsyslogd
# PID to listen on PORT; else say why (its LOG) and fail
_tw_rsyslog_listens()
{
	local i
	for ((i = 0; i < 100; i++)); do
		ss "$2" "sport = :$3" 2>/dev/null | grep -q . && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	cat "$4" >&2
	return 1
}

tw_rsyslog_stop()
{
	if [[ -n $TW_RSYSLOG_PID ]]; then
		kill "$TW_RSYSLOG_PID" 2>/dev/null
		wait "$TW_RSYSLOG_PID" 2>/dev/null
		TW_RSYSLOG_PID=""
	fi
	[[ -n $_TW_RSYSLOG_DIR ]] && rm -rf "$_TW_RSYSLOG_DIR"
	_TW_RSYSLOG_DIR=""
}

# Stream collectors, as many as a test needs, each its own rsyslogd:
#
#   tw_rsyslog_stream NAME PORT OUT [CA CERT KEY]
#                 imtcp on 127.0.0.1:PORT (octet-counted framing, as RFC
#                 6587 and 5425 say), in TLS with GnuTLS when CERT and KEY
#                 are given; the same "MSGID|...|MSG" lines to OUT; returns
#                 once it listens
#   tw_rsyslog_halt NAME      stop it (its config is kept)
#   tw_rsyslog_resume NAME    start it again, on the same port and config
#
# Every one of them is stopped and removed at exit.
declare -A _TW_RSL_PID=() _TW_RSL_DIR=() _TW_RSL_PORT=()

tw_rsyslog_stream()
{
	local name=$1 port=$2 out=$3 ca=${4:-} cert=${5:-} key=${6:-} dir tls="" mod=""
	command -v rsyslogd >/dev/null || return 1
	dir=$(mktemp -d /tmp/twsyslog.XXXXXX) || return 1
	_TW_RSL_DIR[$name]=$dir
	_TW_RSL_PORT[$name]=$port
	if [[ -n $cert ]]; then
		[[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ||
			-n $(find /usr/lib -name lmnsd_gtls.so -print -quit 2>/dev/null) ]] || return 1
		tls="DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"$ca\"
       DefaultNetstreamDriverCertFile=\"$cert\" DefaultNetstreamDriverKeyFile=\"$key\""
		mod='StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"'
	fi
	cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir" maxMessageSize="64k" $tls)
module(load="imtcp" $mod)
input(type="imtcp" address="127.0.0.1" port="$port")
template(name="tw" type="string"
         string="%msgid%|%app-name%|%procid%|%syslogfacility%|%syslogseverity%|%structured-data%|%msg%\n")
*.* action(type="omfile" file="$out" template="tw")
CONF
	if [[ ${#_TW_RSL_PID[@]} -eq 0 ]]; then
		tw_at_exit _tw_rsyslog_streams_stop
	fi
	_TW_RSL_PID[$name]=""
	tw_rsyslog_resume "$name"
}

tw_rsyslog_resume()
{
	local name=$1 dir=${_TW_RSL_DIR[$1]} port=${_TW_RSL_PORT[$1]}
	rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >>"$dir/log" 2>&1 &
	_TW_RSL_PID[$name]=$!
	_tw_rsyslog_listens "${_TW_RSL_PID[$name]}" -Hltn "$port" "$dir/log"
}

tw_rsyslog_halt()
{
	local pid=${_TW_RSL_PID[$1]:-}
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	_TW_RSL_PID[$1]=""
}

_tw_rsyslog_streams_stop()
{
	local name
	for name in "${!_TW_RSL_DIR[@]}"; do
		tw_rsyslog_halt "$name"
		rm -rf "${_TW_RSL_DIR[$name]}"
	done
	_TW_RSL_DIR=()
}
