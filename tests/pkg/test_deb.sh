#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian package: `make deb` builds it; `dpkg -i` installs it and
# postinst creates the launcher group "toolwall", the agent account
# "toolwall-agent" (system, no login, no home, not a launcher) and the
# configuration and log directories; the installed binary, man pages and
# example policy work from /usr; `dpkg -r` removes every file it installed
# and leaves the configuration and accounts; `dpkg -P` removes those too.
#
# The test machine is the CI machine: it holds the host lock (no test that
# uses toolwall's default roots or its agent account runs meanwhile), skips
# when a toolwall package is installed or toolwall enforcement is in place,
# and puts the host back as it found it whatever happens: the package is
# purged, and an agent account or launcher group that existed before is
# recreated with its own ids, home, shell and members (the test sets them
# aside first, so that purge's removal of the accounts it created can be
# seen).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"
ROOT=$TW_ROOT

installed() { dpkg-query -W -f='${Status}' toolwall 2>/dev/null; }
# dpkg ARGS...: dpkg, waiting while another apt or dpkg holds its lock
dpkg_run()
{
	local i out rc
	for ((i = 0; i < 60; i++)); do
		out=$(DEBIAN_FRONTEND=noninteractive dpkg "$@" 2>&1)
		rc=$?
		grep -q 'lock' <<<"$out" && ((rc)) || { printf '%s\n' "$out"; return $rc; }
		sleep 5
	done
	printf '%s\n' "$out"
	return 1
}

if [[ $(id -u) -ne 0 ]]; then
	skip "the Debian package" "needs root (dpkg)"
	tap_summary
	exit 0
fi
if [[ -n $(installed) ]]; then
	skip "the Debian package" "a toolwall package is already on this host ($(installed)): not touching it"
	tap_summary
	exit 0
fi
tw_lock || { not_ok "host lock"; tap_summary; exit 1; }
if [[ -e /sys/fs/bpf/toolwall || -S /run/toolwall/control.sock ]]; then
	skip "the Debian package" "toolwall enforcement is in place on this host (removing the package would take it down)"
	tap_summary
	exit 0
fi

WORK=$(mktemp -d /tmp/twdeb.XXXXXX)
SAVED_USER=$(getent passwd toolwall-agent)
SAVED_GROUP=$(getent group toolwall-agent)
HAD_LAUNCHERS=$(getent group toolwall)
restore()
{
	if [[ -n $(installed) ]]; then
		dpkg_run -P toolwall >/dev/null || dpkg_run --force-all -P toolwall >/dev/null
	fi
	if [[ -n $HAD_LAUNCHERS ]] && ! getent group toolwall >/dev/null; then
		IFS=: read -r _ _ lgid lmembers <<<"$HAD_LAUNCHERS"
		groupadd --system -g "$lgid" toolwall
		[[ -n $lmembers ]] && gpasswd -M "$lmembers" toolwall >/dev/null
	fi
	if [[ -n $SAVED_USER ]] && ! getent passwd toolwall-agent >/dev/null; then
		IFS=: read -r _ _ uid gid gecos home shell <<<"$SAVED_USER"
		IFS=: read -r _ _ ggid _ <<<"$SAVED_GROUP"
		[[ -n $SAVED_GROUP ]] && ! getent group toolwall-agent >/dev/null &&
			groupadd --system -g "$ggid" toolwall-agent
		useradd --system -M -u "$uid" -g "$gid" -d "$home" -s "$shell" \
			${gecos:+-c "$gecos"} toolwall-agent
	fi
	rm -rf "$WORK"
}
tw_at_exit restore
# The accounts are used only under the host lock, which we hold: set
# aside those that exist (restored at exit with their ids and members).
if [[ -n $SAVED_USER ]] && ! userdel toolwall-agent; then
	not_ok "set aside the existing toolwall-agent account" "userdel failed"
	tap_summary
	exit 1
fi
if [[ -n $HAD_LAUNCHERS ]] && ! groupdel toolwall; then
	not_ok "set aside the existing toolwall group" "groupdel failed"
	tap_summary
	exit 1
fi

# ---- build --------------------------------------------------------------
if out=$(make -s -C "$ROOT" deb 2>&1); then
	deb=$(ls "$ROOT"/build/toolwall_*_"$(dpkg --print-architecture)".deb)
	ok "make deb: $(basename "$deb")"
else
	not_ok "make deb" "$(tail -3 <<<"$out")"
	tap_summary
	exit 1
fi
deps=$(dpkg-deb -f "$deb" Depends)
listing=$(dpkg-deb -c "$deb")
# libbpf, jansson, OpenSSL, ... are linked in (Makefile: SHARED=1 links
# them shared, and dpkg-shlibdeps then names them); libc and libsmartcols
# always come from dpkg-shlibdeps, libmicrohttpd12 (opened at run time by
# --metrics) by hand.
shared=1
[[ $(ldd "$ROOT/toolwall") == *libbpf* ]] || shared=0
if [[ $deps == *libc6* && $deps == *libsmartcols1* && $deps == *libmicrohttpd12* && $deps == *passwd* ]] &&
	{ ((shared == 0)) || [[ $deps == *libbpf1* && $deps == *libjansson4* && $deps == *libssl3* ]]; } &&
	grep -q ' ./usr/sbin/toolwall$' <<<"$listing" &&
	grep -q ' ./lib/systemd/system/toolwall.service$' <<<"$listing"; then
	ok "Depends from dpkg-shlibdeps ($deps); /usr/sbin/toolwall and the unit inside"
else
	not_ok "package metadata" "Depends: $deps"
fi

# ---- install --------------------------------------------------------------
if out=$(dpkg_run -i "$deb") && [[ $(installed) == "install ok installed" ]]; then
	ok "dpkg -i installs it"
else
	not_ok "dpkg -i" "$(tail -5 <<<"$out")"
fi
files=$(dpkg -L toolwall | while read -r f; do [[ -f $f ]] && echo "$f"; done)
IFS=: read -r _ _ uid _ _ home shell <<<"$(getent passwd toolwall-agent)"
IFS=: read -r _ _ lgid members <<<"$(getent group toolwall)"
if [[ -n $lgid && $lgid -lt 1000 && -n $uid && $uid -lt 1000 && $shell == /usr/sbin/nologin &&
	! -e $home && ",$members," != *",toolwall-agent,"* ]] &&
	! id -nG toolwall-agent | tr ' ' '\n' | gq -x toolwall; then
	ok "postinst: system group toolwall ($lgid), system user toolwall-agent ($uid, nologin, no home), not a launcher"
else
	not_ok "accounts" "group '$(getent group toolwall)' user '$(getent passwd toolwall-agent)'"
fi
if [[ -d /etc/toolwall/policy && -d /var/log/toolwall && $(stat -c %a /etc/toolwall/credentials) == 700 ]]; then
	ok "postinst: /etc/toolwall/policy, /etc/toolwall/credentials (0700), /var/log/toolwall"
else
	not_ok "directories" "$(ls -ld /etc/toolwall/* /var/log/toolwall 2>&1 | tr '\n' ' ')"
fi

# ---- run the installed binary ------------------------------------------------
v=$(/usr/sbin/toolwall --version 2>&1)
chk=$(/usr/sbin/toolwall check -p /usr/share/toolwall/examples/acme 2>&1)
rc=$?
if [[ $v == "toolwall "* && $rc -eq 0 ]]; then
	ok "/usr/sbin/toolwall --version ($v); check -p /usr/share/toolwall/examples/acme passes"
else
	not_ok "installed binary" "version '$v'; check exit $rc: $chk"
fi
m5=$(man -w toolwall-policy 2>&1) m8=$(man -w 8 toolwall 2>&1) m7=$(man -w 7 toolwall-protocol 2>&1)
if [[ $m5 == /usr/share/man/man5/toolwall-policy.5.gz && $m8 == /usr/share/man/man8/toolwall.8.gz &&
	$m7 == /usr/share/man/man7/toolwall-protocol.7.gz ]] &&
	man 5 toolwall-policy 2>/dev/null | gq 'credentials_dir' &&
	man 7 toolwall-protocol 2>/dev/null | gq 'SCM_RIGHTS'; then
	ok "man -w toolwall-policy: $m5; man -w 8 toolwall: $m8; man -w 7 toolwall-protocol: $m7; the pages render"
else
	not_ok "man pages" "'$m5' '$m8' '$m7'"
fi
if [[ -f /usr/share/bash-completion/completions/toolwall && -f /usr/share/toolwall/schema/toolwall-policy.schema.json ]]; then
	ok "bash completion and the JSON Schema are installed"
else
	not_ok "completion/schema" "$(ls /usr/share/bash-completion/completions/toolwall /usr/share/toolwall/schema 2>&1)"
fi

# ---- remove: files go, configuration and accounts stay -----------------------
echo "# a local edit" >/etc/toolwall/policy/local.json.note
out=$(dpkg_run -r toolwall)
left=$(for f in $files; do [[ -e $f ]] && echo "$f"; done)
if [[ $(installed) == "deinstall ok config-files" && -z $left && ! -e /usr/sbin/toolwall ]] &&
	[[ -f /etc/toolwall/policy/local.json.note ]] && getent passwd toolwall-agent >/dev/null &&
	getent group toolwall >/dev/null; then
	ok "dpkg -r: all $(wc -w <<<"$files") files gone; /etc/toolwall and the accounts stay"
else
	not_ok "dpkg -r" "status '$(installed)'; left: $left; $out"
fi

# ---- purge: nothing is left --------------------------------------------------
out=$(dpkg_run -P toolwall)
gone=1
for p in /etc/toolwall /var/log/toolwall /var/lib/toolwall /run/toolwall-calls /var/tmp/toolwall-calls; do
	[[ -e $p ]] && gone=0 && out+=" $p remains"
done
if [[ -z $(installed) && $gone -eq 1 ]] && ! getent passwd toolwall-agent >/dev/null &&
	! getent group toolwall >/dev/null && ! getent group toolwall-agent >/dev/null; then
	ok "dpkg -P: the package, /etc/toolwall, the log and state directories, group toolwall and user toolwall-agent are gone"
else
	not_ok "dpkg -P" "status '$(installed)'; $out; $(getent passwd toolwall-agent) $(getent group toolwall)"
fi

tap_summary
