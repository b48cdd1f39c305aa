#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Context names as chat systems write them (upper case, "@", 128
# characters; SPEC) are enforced on the real kernel exactly as plain ones:
# each such channel and DM gets a cgroup directory of its own named as
# written (so "General" and "general" are two contexts with their own
# grants), its calls reach what its bundles allow and nothing else, and
# every record names the context in full. The kernel refuses a cgroup directory named like
# its own files (cgroup.procs), which is why check refuses such names.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

AC="python3 $HERE/../lib/audit_check.py"
P=$TW_PROBE

tw_hosts_up || { not_ok "test hosts up"; tap_summary; exit 1; }
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

LONG=Ops@Team.$(printf 'L%.0s' {1..119}) # 128 characters
BUNDLE=warehouse-v2
cat >"$TW_POLICY/odd-names.json" <<EOF
[
  { "bundle": "$BUNDLE", "connect": ["10.30.1.10:5439"] },
  { "channel": "General", "workspace": "acme", "step_up": ["$BUNDLE"] },
  { "channel": "$LONG", "workspace": "acme", "step_up": ["$BUNDLE"] },
  { "channel": "C024BE91L", "workspace": "acme" },
  { "dm": "Bob@Acme.example", "workspace": "acme", "personal": ["$BUNDLE"] },
  { "dm": "bob@acme.example", "workspace": "acme" }
]
EOF
if ((${#LONG} == 128)) && "$TW_BIN" check -p "$TW_POLICY" >"$TW_WORK/check.out" 2>&1; then
	ok "check accepts General, C024BE91L, Bob@Acme.example and a 128-character name"
else
	not_ok "check" "$(head -3 "$TW_WORK/check.out")"
fi
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts"

n=0
# row CONTEXT EXPECT PROBE-ARGS... [| AUDIT-EXPECTATIONS...]
row()
{
	local ctx=$1 expect=$2 args=() audit=() out id
	shift 2
	while (($#)) && [[ $1 != "|" ]]; do args+=("$1"); shift; done
	(($#)) && shift && audit=("$@")
	n=$((n + 1))
	id=nm$n
	out=$(twx "$ctx" "$id" "$P" "${args[@]}" 2>"$TW_WORK/err.$n" | head -1)
	if [[ $out != "$expect" ]]; then
		not_ok "${ctx:0:40} ${args[*]} -> $expect" \
			"got '$out'; $(head -2 "$TW_WORK/err.$n" | tr '\n' ' ')"
		return
	fi
	if ((${#audit[@]})) && ! tw_eventually $AC "$TW_LOG" "$id" event=deny \
		context="$ctx" "${audit[@]}" >"$TW_WORK/ac.$n" 2>&1; then
		not_ok "${ctx:0:40} ${args[*]}: its record" "$(tail -c 400 "$TW_WORK/ac.$n")"
		return
	fi
	ok "${ctx:0:40} ${args[*]} -> $expect${audit:+ (one record, named in full)}"
}

row channel:acme/General OK tcp 10.30.1.10 5439
row channel:acme/general "ERR EPERM" tcp 10.30.1.10 5439 '|' dst=10.30.1.10 \
	"hint~bundle $BUNDLE" hint~channel:acme/General
row "channel:acme/$LONG" OK tcp 10.30.1.10 5439
row "channel:acme/$LONG" "ERR EPERM" tcp 10.50.1.10 80 '|' dst=10.50.1.10
row channel:acme/C024BE91L "ERR EPERM" tcp 10.30.1.10 5439 '|' \
	"hint~bundle $BUNDLE" "hint~channel:acme/$LONG"
row dm:acme/Bob@Acme.example OK tcp 10.30.1.10 5439
row dm:acme/bob@acme.example "ERR EPERM" tcp 10.30.1.10 5439 '|' dst=10.30.1.10 \
	port=5439 hint~dm:acme/Bob@Acme.example

# each call runs in the cgroup named as written, under its context's
cg=$(twx "channel:acme/$LONG" nm-cg cat /proc/self/cgroup 2>/dev/null)
if [[ $cg == *"/acme/channels/$LONG/call-"* ]]; then
	ok "a call of the 128-character channel runs in .../acme/channels/NAME/call-N"
else
	not_ok "cgroup of the long name" "$cg"
fi
cg=$(twx channel:acme/General nm-cg2 cat /proc/self/cgroup 2>/dev/null)
if [[ $cg == *"/acme/channels/General/call-"* ]]; then
	ok "General and general are two cgroup directories"
else
	not_ok "cgroup of General" "$cg"
fi

# explain, audit --context and the summary take the names as written
if "$TW_BIN" explain -p "$TW_POLICY" channel:acme/General 10.30.1.10:5439/tcp >/dev/null &&
	! "$TW_BIN" explain -p "$TW_POLICY" dm:acme/bob@acme.example 10.30.1.10:5439 >/dev/null; then
	ok "explain agrees with the kernel for General and bob@acme.example"
else
	not_ok "explain with odd names"
fi
got=$("$TW_BIN" audit --log "$TW_LOG" --context "channel:acme/$LONG" -j | grep -c '"event":"deny"')
if [[ $got == 1 ]]; then
	ok "audit --context finds the long channel's one denial"
else
	not_ok "audit --context LONG" "$got records"
fi
if "$TW_BIN" audit --log "$TW_LOG" --summary -j |
	python3 -c 'import json,sys; s=json.load(sys.stdin); assert sys.argv[1] in json.dumps(s), s' "$BUNDLE" \
		>"$TW_WORK/sum.out" 2>&1; then
	ok "the summary attributes the denials to $BUNDLE, the bundle that would allow them"
else
	not_ok "summary by bundle" "$(tail -c 300 "$TW_WORK/sum.out")"
fi

# the kernel itself refuses a cgroup named like its own files (in a
# scratch cgroup of the cgroup v2 mount, wherever it is mounted)
mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
scratch=$([[ -n $mnt ]] && mktemp -d "$mnt/tw-names.XXXXXX" 2>/dev/null)
[[ -n $scratch ]] && tw_at_exit rmdir "$scratch"
if [[ -n $scratch && -e $scratch/cgroup.procs ]]; then
	if ! mkdir "$scratch/cgroup.procs" 2>/dev/null; then
		ok "the kernel refuses a cgroup directory named cgroup.procs (check refuses the name)"
	else
		rmdir "$scratch/cgroup.procs"
		not_ok "mkdir cgroup.procs in a cgroup succeeded"
	fi
else
	skip "mkdir cgroup.procs" "no cgroup v2 mount"
fi

tap_summary
