#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The command line behaves the same everywhere: global options before or
# after the command (up to "--"), `help [COMMAND]`, `version` and
# --version (from the Makefile's one TW_VERSION), -j errors as one JSON
# object on stdout with a non-zero exit for every command that takes -j,
# check's host checks (an agent account that is root or missing) and its
# port-less connect warning, and a JSON syntax error reported first.
# No root, no daemon: runs the built ./toolwall on scratch policies.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
ROOT=$(cd "$HERE/../.." && pwd)
TW=${TW_BIN:-$ROOT/toolwall}
ACME=$ROOT/policy/examples/acme
WORK=$(mktemp -d /tmp/twcli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# no daemon answers here, whatever runs on the host
export TOOLWALL_CONTROL=$WORK/no-daemon.sock
export TOOLWALL_AUDIT_LOG=$WORK/no-audit.jsonl

# same NAME EXPECTED-OUTPUT-CMD -- CMD...: CMD prints what the first printed
same()
{
	local name=$1 a b
	shift
	a=$("$@" 2>&1; echo "exit $?")
	b=$(eval "$SAME_AS" 2>&1; echo "exit $?")
	if [[ $a == "$b" ]]; then ok "$name"; else
		not_ok "$name" "$(diff <(echo "$b") <(echo "$a") | head -4 | tr '\n' ' ')"
	fi
}

# --- global options before or after the command ---------------------------
SAME_AS='"$TW" -j -p "$ACME" check --portable'
same "-j -p before check = after it" "$TW" check --portable -j -p "$ACME"
same "--json --policy=PATH after the command" "$TW" check --portable --json --policy="$ACME"
SAME_AS='"$TW" -p "$ACME" explain channel:acme/general 10.30.1.10:5439'
same "global options among explain's arguments" "$TW" explain channel:acme/general -p "$ACME" 10.30.1.10:5439
SAME_AS='"$TW" -j -p "$ACME" compile'
same "compile -p PATH -j" "$TW" compile -p "$ACME" -j
# exec's command line after CONTEXT is its own: -j there is not toolwall's
# (the daemon is not running: exec fails before it runs anything)
out=$("$TW" exec workspace:acme true -j 2>&1)
if [[ $out != *'"ok":false'* ]]; then
	ok "exec: a -j after the command to run belongs to that command"
else
	not_ok "exec: -j after CMD taken as toolwall's" "$out"
fi
out=$("$TW" check --portable -p "$ACME" -- -j 2>&1)
rc=$?
if ((rc == 2)) && [[ $out == *"unexpected argument '-j'"* ]]; then
	ok "after --, -j is an argument, not an option"
else
	not_ok "-- ends the global options" "exit $rc: $out"
fi

# --- help and version ---------------------------------------------------------
out=$("$TW" help)
rc=$?
if ((rc == 0)) && grep -q '^  check ' <<<"$out" && grep -q '^  help ' <<<"$out" &&
	grep -q '^  version ' <<<"$out" && grep -q 'before or after COMMAND' <<<"$out"; then
	ok "toolwall help lists the commands and the global options"
else
	not_ok "toolwall help" "exit $rc"
fi
for c in check compile explain audit status exec daemon down; do
	SAME_AS='"$TW" $c --help'
	same "help $c = $c --help" "$TW" help "$c"
done
"$TW" help frobnicate >/dev/null 2>"$WORK/err"
rc=$?
if ((rc == 2)) && grep -q "unknown command 'frobnicate'" "$WORK/err"; then
	ok "help of an unknown command: exit 2, named"
else
	not_ok "help frobnicate" "exit $rc: $(cat "$WORK/err")"
fi
want=$(sed -n 's/^TW_VERSION := //p' "$ROOT/Makefile")
if [[ -n $want && $("$TW" version) == "toolwall $want" && $("$TW" --version) == "toolwall $want" &&
	$("$TW" -V) == "toolwall $want" && $("$TW" status --version) == "toolwall $want" ]]; then
	ok "version, --version, -V (also after a command): toolwall $want, the Makefile's"
else
	not_ok "version" "want $want, got '$("$TW" version)'"
fi
if [[ $("$TW" version -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])') == "$want" ]]; then
	ok "version -j: {\"name\",\"version\"}"
else
	not_ok "version -j" "$("$TW" version -j)"
fi
if [[ $(sed -n 's/^\.TH .*"toolwall \([^"]*\)".*/\1/p' "$ROOT/man/toolwall.8") == "$want" &&
	$(sed -n 's/^\.TH .*"toolwall \([^"]*\)".*/\1/p' "$ROOT/man/toolwall-policy.5") == "$want" ]]; then
	ok "the man pages' headers carry the same version"
else
	not_ok "man page version" "the Makefile says $want"
fi

# --- -j: errors are JSON on stdout, exit non-zero -----------------------------
mkdir -p "$WORK/bad"
printf '{"workspace": "acme", "agent": {"name": "a", "user": "nobody"}, "baseline": ["zzz"]}\n' >"$WORK/bad/a.json"
printf '{"bundle": "zzz", "connect": ["10.0.0.1:443"] ,,}\n' >"$WORK/bad/b.json"
# json_error NAME WHERE-PATTERN -- CMD...: one JSON object on stdout,
# "ok": false, an "error" and a "where" (WHERE-PATTERN a bash pattern)
json_error()
{
	local name=$1 where=$2 out rc
	shift 3
	out=$("$@" 2>/dev/null)
	rc=$?
	if ((rc != 0)) && python3 -c '
import json, sys, fnmatch
lines = sys.stdin.read().splitlines()
assert len(lines) == 1, "%d lines on stdout" % len(lines)
o = json.loads(lines[0])
assert o["ok"] is False and o["error"], o
assert fnmatch.fnmatchcase(o["where"], sys.argv[1]), o["where"]
' "$where" <<<"$out" 2>"$WORK/why"; then
		ok "$name"
	else
		not_ok "$name" "exit $rc: $(tail -1 "$WORK/why") ${out:0:200}"
	fi
}
json_error "check -j, invalid policy: where is FILE:LINE:COL" "*/bad/b.json:1:*" -- "$TW" check -j -p "$WORK/bad"
json_error "compile -j, invalid policy" "*/bad/b.json:1:*" -- "$TW" compile -j -p "$WORK/bad"
json_error "explain -j, invalid policy" "*/bad/b.json:1:*" -- "$TW" -j explain -p "$WORK/bad" workspace:acme 10.0.0.1:443
json_error "explain -j, unknown context" "explain" -- "$TW" explain -j -p "$ACME" workspace:nope 10.0.0.1:443
json_error "explain -j, bad destination" "explain" -- "$TW" explain -p "$ACME" workspace:acme nope -j
json_error "explain -j, missing arguments" "explain" -- "$TW" -j explain -p "$ACME"
json_error "check -j, unknown option" "check" -- "$TW" check -j --frob
json_error "status -j, no daemon" "status" -- "$TW" status -j
json_error "reload -j, no daemon" "reload" -- "$TW" -j reload
json_error "audit -j, no log" "audit" -- "$TW" audit -j --log "$WORK/none.jsonl"
json_error "version -j, an argument too many" "version" -- "$TW" version -j extra
json_error "-j, unknown command" "toolwall" -- "$TW" -j frobnicate
json_error "-j, unknown option before the command" "toolwall" -- "$TW" -j --frob check
# without -j the same failures stay text on stderr, stdout empty
out=$("$TW" compile -p "$WORK/bad" 2>/dev/null)
if [[ -z $out ]]; then ok "without -j, errors stay off stdout"; else
	not_ok "errors on stdout without -j" "$out"
fi

# --- one destination syntax --------------------------------------------------
# what the audit table prints is a DEST for explain and for audit --dst
out=$("$TW" explain -p "$ACME" channel:acme/data-team 10.30.1.10:5439/tcp)
rc=$?
if ((rc == 0)) && [[ $out == allowed:* ]]; then
	ok "explain takes the table's 10.30.1.10:5439/tcp"
else
	not_ok "explain ADDR:PORT/tcp" "exit $rc: $out"
fi
out=$("$TW" explain -p "$ACME" channel:acme/data-team 10.30.0.0/16:5439 2>&1)
rc=$?
if ((rc == 2)) && [[ $out == *"is a network: ask about one address"* ]]; then
	ok "explain of a network: exit 2, says to ask about one address"
else
	not_ok "explain CIDR" "exit $rc: $out"
fi
: >"$WORK/empty.jsonl"
for d in 10.30.1.10:5439/tcp '[fd00:30::5]:53/udp' api.tracker.example:443 \
	'*.tracker.example' 10.30.0.0/16:5000-6000 unix:/run/x.sock; do
	if ! "$TW" audit --log "$WORK/empty.jsonl" --dst "$d" >/dev/null 2>"$WORK/err"; then
		not_ok "audit --dst $d" "$(cat "$WORK/err")"
		continue
	fi
	ok "audit --dst takes $d"
done
json_error "audit -j --dst, unbracketed IPv6: where is --dst" "--dst" -- \
	"$TW" audit -j --log "$WORK/empty.jsonl" --dst fd00::1

# --- a JSON syntax error first ---------------------------------------------------
"$TW" check --portable -p "$WORK/bad" 2>"$WORK/err" >/dev/null
first=$(head -1 "$WORK/err")
if [[ $first == *"/bad/b.json:1:"*"error: invalid JSON:"* ]] &&
	grep -q 'unknown bundle "zzz"' "$WORK/err" &&
	grep -q 'the first is a JSON syntax error' "$WORK/err"; then
	ok "a JSON syntax error is reported first (jansson's text, line, column), before what stems from it"
else
	not_ok "syntax error first" "$(tr '\n' ' ' <"$WORK/err")"
fi

# --- check: the agent account, and connections without ports ----------------
acct_policy()
{
	printf '{"workspace": "acme", "agent": {"name": "a", "user": "%s"}}\n' "$1"
	printf '{"bundle": "b", "connect": ["10.0.0.1", "api.example:443", "udp://[fd00::1]", "tcp://10.1.0.0/16:1-65535"]}\n'
	printf '{"channel": "c", "workspace": "acme", "step_up": ["b"]}\n'
	[[ -n ${2:-} ]] && printf '{"dm": "alice", "workspace": "acme", "run_as": "%s"}\n' "$2"
}
acct_policy root >"$WORK/root.json"
"$TW" check -p "$WORK/root.json" 2>"$WORK/err" >/dev/null
rc=$?
if ((rc == 1)) && grep -q 'root.json:1:[0-9]*: error: workspace acme: agent.user "root" is root (uid 0)' "$WORK/err"; then
	ok "check: an agent account that is root is an error"
else
	not_ok "check: root agent" "exit $rc: $(cat "$WORK/err")"
fi
ghost=tw-no-such-user-$$
acct_policy nobody "$ghost" >"$WORK/ghost.json"
"$TW" check -p "$WORK/ghost.json" 2>"$WORK/err" >/dev/null
rc=$?
if ! id "$ghost" >/dev/null 2>&1 && ((rc == 1)) &&
	grep -q "ghost.json:4:[0-9]*: error: dm alice: run_as \"$ghost\" does not exist on this host" "$WORK/err"; then
	ok "check: an account that does not exist is an error (run_as here)"
else
	not_ok "check: missing account" "exit $rc: $(cat "$WORK/err")"
fi
acct_policy "$ghost" >"$WORK/ghost2.json"
out=$("$TW" check -p "$WORK/ghost2.json" 2>&1)
if grep -q "agent.user \"$ghost\" does not exist" <<<"$out"; then
	ok "check: an agent.user that does not exist is an error"
else
	not_ok "check: missing agent.user"
fi
if "$TW" check --portable -p "$WORK/ghost.json" >/dev/null 2>&1 &&
	"$TW" check --portable -p "$WORK/root.json" >/dev/null 2>&1; then
	ok "check --portable leaves the host's accounts out"
else
	not_ok "check --portable"
fi
acct_policy nobody >"$WORK/ports.json"
out=$("$TW" check -p "$WORK/ports.json" 2>&1)
rc=$?
n=$(grep -c 'warning: connect entry .* has no ports: it allows every port' <<<"$out")
if ((rc == 0 && n == 2)) && grep -q '"10.0.0.1" of bundle b has no ports' <<<"$out" &&
	grep -q '"udp://\[fd00::1\]" of bundle b has no ports' <<<"$out"; then
	ok "check warns about each connect entry without ports (2 of 4; 1-65535 written out is no slip)"
else
	not_ok "every-port warning" "exit $rc, $n warnings: $out"
fi
n=$("$TW" check -j -p "$WORK/ports.json" | python3 -c '
import json, sys
print(sum("has no ports" in w["message"] for w in json.load(sys.stdin)["warnings"]))')
if [[ $n == 2 ]]; then ok "check -j lists them in \"warnings\""; else
	not_ok "every-port warning in JSON" "$n"
fi

tap_summary
