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
	local port=$1 out=$2 i
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
	for ((i = 0; i < 50; i++)); do
		ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && return 0
		kill -0 "$TW_RSYSLOG_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$_TW_RSYSLOG_DIR/log" >&2
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
