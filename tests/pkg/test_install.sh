#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make install / make uninstall into a DESTDIR: the tree holds exactly the
# files expected (file by file, with their modes), what is installed works
# from where it is (the binary, the man pages, the completion, the unit's
# ExecStart, the example policy), PREFIX moves all of it, and uninstall
# leaves the DESTDIR empty. Touches nothing outside its scratch directory.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d /tmp/twinst.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# expected PREFIX UNITDIR: "MODE PATH" lines, sorted
expected()
{
	local p=$1 u=$2 f
	{
		echo "755 $p/sbin/toolwall"
		echo "644 $p/share/man/man8/toolwall.8"
		echo "644 $p/share/man/man5/toolwall-policy.5"
		echo "644 $p/share/man/man7/toolwall-protocol.7"
		echo "644 $u/toolwall.service"
		echo "644 $p/share/bash-completion/completions/toolwall"
		echo "644 $p/share/toolwall/schema/toolwall-policy.schema.json"
		(cd "$ROOT/policy/examples" && find . -type f -name '*.json') | while read -r f; do
			echo "644 $p/share/toolwall/examples/${f#./}"
		done
	} | sort
}
tree() { (cd "$1" && find . -type f -printf '%m /%P\n' -o -type l -printf 'link /%P\n' | sort); }

D=$WORK/default
if make -s -C "$ROOT" install DESTDIR="$D" >"$WORK/out" 2>&1; then
	ok "make install DESTDIR=... (PREFIX /usr/local)"
else
	not_ok "make install" "$(tail -3 "$WORK/out")"
fi
diff_out=$(diff <(expected /usr/local /usr/local/lib/systemd/system) <(tree "$D"))
if [[ -z $diff_out ]]; then
	ok "the tree, file by file with modes: binary, 3 man pages, unit, completion, schema, $(find "$ROOT/policy/examples" -name '*.json' | wc -l) example files"
else
	not_ok "installed tree" "$(echo "$diff_out" | tr '\n' ' ')"
fi
bin=$D/usr/local/sbin/toolwall
if [[ $("$bin" --version) == "toolwall "* ]] &&
	"$bin" check --portable -p "$D/usr/local/share/toolwall/examples/acme" >/dev/null; then
	ok "the installed binary runs; toolwall check passes on the installed example policy"
else
	not_ok "installed binary" "$("$bin" check --portable -p "$D/usr/local/share/toolwall/examples/acme" 2>&1 | head -3)"
fi
if grep -qx 'ExecStart=/usr/local/sbin/toolwall daemon $TOOLWALL_DAEMON_ARGS' "$D/usr/local/lib/systemd/system/toolwall.service" &&
	grep -qx 'ExecReload=/usr/local/sbin/toolwall reload' "$D/usr/local/lib/systemd/system/toolwall.service"; then
	ok "the unit starts and reloads the binary where PREFIX put it"
else
	not_ok "unit paths" "$(grep '^Exec' "$D/usr/local/lib/systemd/system/toolwall.service")"
fi
warn=$( { man --warnings -l "$D/usr/local/share/man/man8/toolwall.8" && man --warnings -l "$D/usr/local/share/man/man5/toolwall-policy.5" &&
	man --warnings -l "$D/usr/local/share/man/man7/toolwall-protocol.7"; } 2>&1 >/dev/null)
if [[ -z $warn ]] && MANPATH=$D/usr/local/share/man man -w toolwall-policy >/dev/null 2>&1 &&
	MANPATH=$D/usr/local/share/man man -w 8 toolwall >/dev/null 2>&1 &&
	MANPATH=$D/usr/local/share/man man -w 7 toolwall-protocol >/dev/null 2>&1; then
	ok "man finds toolwall(8), toolwall-policy(5) and toolwall-protocol(7) under the installed MANPATH; no troff warnings"
else
	not_ok "man pages" "$warn"
fi
comp=$(bash -c 'source "$1"; complete -p toolwall; COMP_WORDS=(toolwall audit --fo); COMP_CWORD=2; PATH=$2:$PATH; _toolwall; echo "${COMPREPLY[*]}"' \
	sh "$D/usr/local/share/bash-completion/completions/toolwall" "$D/usr/local/sbin" 2>&1)
if [[ $comp == *"complete -F _toolwall toolwall"* && $comp == *"--follow --format"* ]]; then
	ok "the bash completion loads and completes options from the installed binary"
else
	not_ok "completion" "$comp"
fi

U=$WORK/usr
make -s -C "$ROOT" install DESTDIR="$U" PREFIX=/usr >"$WORK/out" 2>&1
diff_out=$(diff <(expected /usr /usr/lib/systemd/system) <(tree "$U"))
if [[ -z $diff_out ]] && grep -q '^ExecStart=/usr/sbin/toolwall ' "$U/usr/lib/systemd/system/toolwall.service"; then
	ok "PREFIX=/usr: /usr/sbin/toolwall, /usr/lib/systemd/system, /usr/share/..."
else
	not_ok "PREFIX=/usr" "$(echo "$diff_out" | tr '\n' ' ')"
fi

for d in "$D" "$U"; do
	p=/usr/local
	[[ $d == "$U" ]] && p=/usr
	make -s -C "$ROOT" uninstall DESTDIR="$d" PREFIX=$p >"$WORK/out" 2>&1
done
left=$(find "$D" "$U" -mindepth 1 2>/dev/null)
if [[ -z $left ]]; then
	ok "make uninstall leaves both DESTDIRs empty (files and the directories install made)"
else
	not_ok "uninstall left" "$(echo "$left" | head -5 | tr '\n' ' ')"
fi

tap_summary
