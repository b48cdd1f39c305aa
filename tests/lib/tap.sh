# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# TAP-ish helpers for bash test files. Source it, then:
#
#   ok NAME                        ok N - NAME
#   not_ok NAME DETAIL             not ok N - NAME # DETAIL
#   skip NAME WHY                  ok N - NAME # SKIP WHY
#   expect_probe NAME EXPECTED -- CMD...
#                                  run CMD; pass if its first stdout line matches
#                                  EXPECTED (a bash pattern: "ERR EPERM", "OK *")
#   expect_success NAME -- CMD...  pass if CMD exits 0
#   gq ARGS...                     grep ARGS >/dev/null: like grep -q, but reads
#                                  all its input, so the writer before the pipe
#                                  never dies of SIGPIPE (a false failure under
#                                  pipefail)
#   tap_summary                    "# P passed, F failed, S skipped", "1..N" and
#                                  "RESULT P F S" (for the top-level runner);
#                                  returns 0 if nothing failed
#
# Counters: TAP_N TAP_PASSED TAP_FAILED TAP_SKIPPED. External commands get
# $TAP_TIMEOUT seconds (default 30); shell functions are run as they are.

[[ -n ${_TW_TAP_SH:-} ]] && return 0
_TW_TAP_SH=1

TAP_N=0
TAP_PASSED=0
TAP_FAILED=0
TAP_SKIPPED=0
TAP_TIMEOUT=${TAP_TIMEOUT:-30}

gq()
{
	grep "$@" >/dev/null
}

ok()
{
	TAP_N=$((TAP_N + 1))
	TAP_PASSED=$((TAP_PASSED + 1))
	echo "ok $TAP_N - $1"
}

not_ok()
{
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1${2:+ # $2}"
}

skip()
{
	TAP_N=$((TAP_N + 1))
	TAP_SKIPPED=$((TAP_SKIPPED + 1))
	echo "ok $TAP_N - $1 # SKIP ${2:-}"
}

# _tap_run CMD...: run with a timeout unless CMD is a shell function or builtin.
_tap_run()
{
	if [[ $(type -t "$1") == file ]]; then
		timeout -k 5 "$TAP_TIMEOUT" "$@"
	else
		"$@"
	fi
}

# Split "NAME [ARG] -- CMD..." calls: checks the "--".
_tap_need_sep()
{
	if [[ ${1:-} != -- ]]; then
		echo "tap.sh: ${FUNCNAME[1]}: missing -- before the command" >&2
		return 1
	fi
}

expect_probe()
{
	local name=$1 expected=$2 out err rc line errfile
	shift 2
	_tap_need_sep "$@" || {
		not_ok "$name" "test bug: missing --"
		return 1
	}
	shift
	errfile=$(mktemp)
	out=$(_tap_run "$@" 2>"$errfile")
	rc=$?
	err=$(head -c 300 "$errfile" | tr '\n' ' ')
	rm -f "$errfile"
	line=${out%%$'\n'*}
	# shellcheck disable=SC2053 # EXPECTED is a pattern on purpose
	if [[ $line == $expected ]]; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "expected '$expected', got '$line' (exit $rc)${err:+; stderr: $err}"
	return 1
}

expect_success()
{
	local name=$1 rc errfile err
	shift
	_tap_need_sep "$@" || {
		not_ok "$name" "test bug: missing --"
		return 1
	}
	shift
	errfile=$(mktemp)
	_tap_run "$@" >/dev/null 2>"$errfile"
	rc=$?
	err=$(head -c 300 "$errfile" | tr '\n' ' ')
	rm -f "$errfile"
	if ((rc == 0)); then
		ok "$name"
		return 0
	fi
	not_ok "$name" "exit $rc${err:+; stderr: $err}"
	return 1
}

tap_summary()
{
	echo "# $TAP_PASSED passed, $TAP_FAILED failed, $TAP_SKIPPED skipped"
	echo "1..$TAP_N"
	echo "RESULT $TAP_PASSED $TAP_FAILED $TAP_SKIPPED"
	((TAP_FAILED == 0))
}
