#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian package: `make deb` builds it; `dpkg -i` installs it and
# postinst creates the launcher group "toolwall", the agent account
# "toolwall-agent" (system, no login, no home, not a launcher), the
# broker's account "toolwall-broker" (the same, in a group of its own) and
# the configuration and log directories; the installed binary, man pages
# and example policy work from /usr. Then the installed package at work
# (when the host has bpffs, cgroup v2 and BTF): the README's policy steps,
# the daemon started by the installed unit's own ExecStart (no systemd as
# PID 1 here), its broker running as toolwall-broker; an ordinary account
# in group "toolwall" launches calls through the launch socket (output,
# exit status, the agent account, a loopback connect the policy does not
# grant gets EPERM and a deny record in /var/log/toolwall), an account
# outside it is refused (125, a launch record); the daemon is stopped by
# its pid and the test accounts removed. `dpkg -r` takes enforcement down
# (prerm), removes every file it installed and leaves the configuration and
# accounts; `dpkg -P` removes those too, and what the daemon left in /run.
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
ACCOUNTS="toolwall-agent toolwall-broker" # the system users postinst creates
declare -A SAVED_PW SAVED_GR
for a in $ACCOUNTS; do
	SAVED_PW[$a]=$(getent passwd "$a")
	SAVED_GR[$a]=$(getent group "$a")
done
HAD_LAUNCHERS=$(getent group toolwall)
# put_back NAME: the system user NAME (and its own group) as it was before
put_back()
{
	local n=$1 uid gid gecos home shell ggid
	[[ -n ${SAVED_PW[$n]} ]] && ! getent passwd "$n" >/dev/null || return 0
	IFS=: read -r _ _ uid gid gecos home shell <<<"${SAVED_PW[$n]}"
	IFS=: read -r _ _ ggid _ <<<"${SAVED_GR[$n]}"
	[[ -n ${SAVED_GR[$n]} ]] && ! getent group "$n" >/dev/null &&
		groupadd --system -g "$ggid" "$n"
	useradd --system -M -u "$uid" -g "$gid" -d "$home" -s "$shell" \
		${gecos:+-c "$gecos"} "$n"
}
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
	for a in $ACCOUNTS; do put_back "$a"; done
	rm -rf "$WORK"
}
tw_at_exit restore
# The accounts are used only under the host lock, which we hold: set
# aside those that exist (restored at exit with their ids and members).
for a in $ACCOUNTS; do
	if [[ -n ${SAVED_PW[$a]} ]] && ! userdel "$a"; then
		not_ok "set aside the existing $a account" "userdel failed"
		tap_summary
		exit 1
	fi
done
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
# The package links its libraries shared (their security updates reach
# it): dpkg-shlibdeps names them; libmicrohttpd12 (opened at run time by
# --metrics) is named by hand.
if [[ $deps == *libc6* && $deps == *libsmartcols1* && $deps == *libmicrohttpd12* && $deps == *passwd* &&
	$deps == *libbpf1* && $deps == *libjansson4* && $deps == *libssl3* && $deps == *libldns3* ]] &&
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
IFS=: read -r _ _ buid bgid _ bhome bshell <<<"$(getent passwd toolwall-broker)"
IFS=: read -r _ _ bggid bmembers <<<"$(getent group toolwall-broker)"
if [[ -n $buid && $buid -lt 1000 && $bshell == /usr/sbin/nologin && ! -e $bhome &&
	$bgid == "$bggid" && -z $bmembers ]] &&
	! id -nG toolwall-broker | tr ' ' '\n' | gq -x toolwall; then
	ok "postinst: system user toolwall-broker ($buid, nologin, no home, its own group $bgid), not a launcher"
else
	not_ok "broker account" "user '$(getent passwd toolwall-broker)' group '$(getent group toolwall-broker)'"
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

# ---- the installed package at work, as its unit starts it ---------------------
# The README's steps: the example policy into /etc/toolwall/policy, empty
# agent credential stores; then the unit's own ExecStart (no systemd as PID
# 1 here: run as the unit would, environment cleared, no_new_privs), and
# tool calls launched by an ordinary member of the group "toolwall"
# through the installed launch socket.
TW=/usr/sbin/toolwall
TWLOG=/var/log/toolwall/audit.jsonl
DPID="" LPID="" MEM=twdeb-mem-$$ OTH=twdeb-oth-$$
# as USER CMD...: CMD as USER (its uid, gid and groups from the account database)
as() { local u=$1; shift; (cd /tmp && exec setpriv --reuid "$u" --regid "$u" --init-groups -- "$@"); }
# status_field EXPR: a field of the installed daemon's `status -j` (python)
status_field() { "$TW" status -j 2>/dev/null | python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"; }
stop_daemon()
{
	local tw=$TW
	if [[ -n $DPID ]]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
		DPID=""
	fi
	[[ -n $LPID ]] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	LPID=""
	[[ -x $tw ]] || tw=$ROOT/toolwall
	[[ -e /sys/fs/bpf/toolwall ]] && "$tw" down --kill >/dev/null 2>&1
	return 0
}
drop_users()
{
	userdel "$MEM" 2>/dev/null
	userdel "$OTH" 2>/dev/null
	return 0
}
e2e_why=""
gq -E '^[^ ]+ /sys/fs/bpf bpf ' /proc/mounts || e2e_why="no bpf filesystem at /sys/fs/bpf"
gq -E '^[^ ]+ [^ ]+ cgroup2 ' /proc/mounts || e2e_why+="${e2e_why:+; }no cgroup v2 mount"
[[ -e /sys/kernel/btf/vmlinux ]] || e2e_why+="${e2e_why:+; }no kernel BTF"
if [[ -n $e2e_why || $(installed) != "install ok installed" ]]; then
	skip "the installed daemon, launches by a group member, refusal, the broker's account" \
		"${e2e_why:-the package is not installed}"
else
	tw_at_exit drop_users
	tw_at_exit stop_daemon
	cp -r /usr/share/toolwall/examples/acme/. /etc/toolwall/policy/
	for c in tracker-agent warehouse-reader; do
		install -m 0600 /dev/null "/etc/toolwall/credentials/$c"
	done
	unit=/lib/systemd/system/toolwall.service
	line=$(sed -n 's/^ExecStart=//p' "$unit")
	# systemd splits $TOOLWALL_DAEMON_ARGS (unset here: no /etc/default/toolwall) into words
	# shellcheck disable=SC2016 # the literal text of the unit's line
	read -ra argv <<<"${line//'$TOOLWALL_DAEMON_ARGS'/}"
	if [[ ${argv[0]:-} == "$TW" && ${argv[1]:-} == daemon ]]; then
		# The daemon must not hold our lock should it outlive us.
		(cd / && exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			setpriv --no-new-privs -- "${argv[@]}") >"$WORK/daemon.out" 2>&1 {TW_LOCK_FD}>&- &
		DPID=$!
	fi
	up=0
	for ((i = 0; i < 600 && DPID; i++)); do
		[[ -S /run/toolwall/control.sock ]] && "$TW" status >/dev/null 2>&1 && up=1 && break
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	rev=$(status_field 's.get("policy_rev") or s.get("policy", {}).get("rev")')
	if ((up)) && "$TW" check >/dev/null 2>&1; then
		ok "the unit's ExecStart ($line) runs the installed daemon on /etc/toolwall/policy (pid $DPID, revision $rev)"
	else
		not_ok "installed daemon starts" "ExecStart '$line'; $(tail -5 "$WORK/daemon.out" 2>/dev/null)"
	fi

	# The broker: started by the daemon as root, runs on as toolwall-broker.
	broker_ready() { [[ $(status_field 's["broker"]["ready"]') == True ]]; }
	tw_eventually broker_ready
	bpid=$(status_field 's["broker"]["pid"]')
	bps=$(ps -o user:32=,group:32= -p "${bpid:-0}" 2>/dev/null | xargs)
	bcaps=$(sed -n 's/^CapEff:\t//p' "/proc/${bpid:-0}/status" 2>/dev/null)
	bids=$(awk '/^[UG]id:/ {print $2, $3, $4, $5}' "/proc/${bpid:-0}/status" 2>/dev/null | xargs)
	buid=$(id -u toolwall-broker 2>/dev/null) bgid=$(id -g toolwall-broker 2>/dev/null)
	if [[ $bps == "toolwall-broker toolwall-broker" && $bcaps == 0000000000000000 &&
		$bids == "$buid $buid $buid $buid $bgid $bgid $bgid $bgid" ]]; then
		ok "the daemon's broker (pid $bpid) runs as toolwall-broker:toolwall-broker (uid $buid), no capability"
	else
		not_ok "broker account" "pid '$bpid': ps '$bps', CapEff '$bcaps', ids '$bids' (want $buid/$bgid)"
	fi

	# An ordinary account in the group, and one outside it.
	useradd --no-create-home --shell /usr/sbin/nologin -G toolwall "$MEM" &&
		useradd --no-create-home --shell /usr/sbin/nologin "$OTH"
	MUID=$(id -u "$MEM" 2>/dev/null) OUID=$(id -u "$OTH" 2>/dev/null)

	# shellcheck disable=SC2016 # $(id -un) runs in the call
	out=$(as "$MEM" "$TW" exec workspace:acme --call-id deb-run -q -- /bin/sh -c 'echo out-$(id -un); exit 7' 2>&1)
	rc=$?
	if [[ $rc -eq 7 && $out == out-toolwall-agent ]]; then
		ok "$MEM (uid $MUID, in group toolwall) launches a call: its output arrives, it ran as toolwall-agent, exit 7 passes through"
	else
		not_ok "a member's call" "rc $rc: $out"
	fi

	# A loopback listener the call is not granted: reachable outside, EPERM inside.
	python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$WORK/port" &
	LPID=$!
	tw_eventually test -s "$WORK/port"
	port=$(head -1 "$WORK/port")
	probe='import errno, socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1]))); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))'
	outside=$(python3 -c "$probe" "$port" 2>&1)
	inside=$(as "$MEM" "$TW" exec workspace:acme --call-id deb-deny --requester test-deb -q -- \
		/usr/bin/python3 -c "$probe" "$port" 2>&1)
	if [[ $outside == connected && $inside == EPERM ]]; then
		ok "127.0.0.1:$port: connected outside toolwall, EPERM in the member's call"
	else
		not_ok "denied loopback connect" "outside '$outside', inside '$inside'"
	fi
	if tw_eventually python3 "$ROOT/tests/lib/audit_check.py" "$TWLOG" deb-deny event=deny action=connect \
		dst=127.0.0.1 "port=$port" "launcher_uid=$MUID" requester=test-deb context=workspace:acme >/dev/null; then
		ok "a deny record in the installed log $TWLOG (call deb-deny, launcher_uid $MUID)"
	else
		not_ok "deny record" "$(python3 "$ROOT/tests/lib/audit_check.py" "$TWLOG" deb-deny event=deny 2>&1 | tail -3)"
	fi

	out=$(as "$OTH" "$TW" exec workspace:acme --call-id deb-other -- /bin/echo not-run 2>&1)
	rc=$?
	if [[ $rc -eq 125 && $out == *"uid $OUID may not launch tool calls"*"launcher group toolwall"* && $out != *not-run* ]]; then
		ok "$OTH (uid $OUID, not in the group) is refused (125): $(head -1 <<<"$out")"
	else
		not_ok "a non-member refused" "rc $rc: $out"
	fi
	if tw_eventually python3 "$ROOT/tests/lib/audit_check.py" "$TWLOG" - event=launch outcome=refused \
		"uid=$OUID" "user=$OTH" >/dev/null; then
		ok "its refusal is a launch record in $TWLOG"
	else
		not_ok "refusal record" "$(grep '"event":"launch"' "$TWLOG" 2>&1 | tail -2)"
	fi

	# Stop it by its pid (as the service manager would); the pins stay for prerm.
	kill "$DPID"
	wait "$DPID"
	rc=$?
	DPID=""
	drop_users
	if [[ $rc -eq 0 ]] && ! getent passwd "$MEM" >/dev/null && ! getent passwd "$OTH" >/dev/null; then
		ok "SIGTERM stops the installed daemon (exit 0); the test users are removed"
	else
		not_ok "daemon stop" "exit $rc; $(tail -3 "$WORK/daemon.out")"
	fi
fi

# ---- remove: files go, configuration and accounts stay -----------------------
echo "# a local edit" >/etc/toolwall/policy/local.json.note
out=$(dpkg_run -r toolwall)
left=$(for f in $files; do [[ -e $f ]] && echo "$f"; done)
if [[ $(installed) == "deinstall ok config-files" && -z $left && ! -e /usr/sbin/toolwall &&
	! -e /sys/fs/bpf/toolwall ]] &&
	[[ -f /etc/toolwall/policy/local.json.note ]] && getent passwd toolwall-agent >/dev/null &&
	getent group toolwall >/dev/null; then
	ok "dpkg -r: enforcement down (prerm), all $(wc -w <<<"$files") files gone; /etc/toolwall and the accounts stay"
else
	not_ok "dpkg -r" "status '$(installed)'; left: $left; $out"
fi

# ---- purge: nothing is left --------------------------------------------------
out=$(dpkg_run -P toolwall)
gone=1
for p in /etc/toolwall /var/log/toolwall /var/lib/toolwall /run/toolwall-calls /var/tmp/toolwall-calls \
	/run/toolwall /run/toolwall-launch /run/toolwall-broker; do
	[[ -e $p ]] && gone=0 && out+=" $p remains"
done
for a in $ACCOUNTS; do
	getent passwd "$a" >/dev/null && gone=0 && out+=" user $a remains"
	getent group "$a" >/dev/null && gone=0 && out+=" group $a remains"
done
if [[ -z $(installed) && $gone -eq 1 ]] && ! getent group toolwall >/dev/null; then
	ok "dpkg -P: the package, /etc/toolwall, the log, state and run directories, group toolwall, users toolwall-agent and toolwall-broker and their groups are gone"
else
	not_ok "dpkg -P" "status '$(installed)'; $out; $(getent group toolwall)"
fi

tap_summary
