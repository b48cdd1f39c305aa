#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every test toolwall has and end with "N passed, N failed, N skipped".
#   unit     cmocka tests of parser, compiler, explain (plain and ASan+UBSan)
#   fuzz     every parser of untrusted bytes under libFuzzer, a bounded time
#            each (policy, audit log, DNS messages, control requests)
#   cli      toolwall check on the reference policy and the malformed corpus;
#            the command line (tests/cli/)
#   kernel   real eBPF programs, cgroups, network namespaces (root); first
#            the programs alone in a private cgroup (tests/bpf/)
#   escape   attacks from inside tool calls, each refused and recorded (root)
#   pkg      make install/uninstall into a DESTDIR; the Debian package built,
#            installed, run, removed and purged (root; restores the host)
# TW_TESTS="unit cli" limits the run; TW_FUZZ_SECONDS sets the fuzz time
# of each target (20 s).
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failures=()
want=" ${TW_TESTS:-unit fuzz cli kernel escape pkg} "

note() { printf '\n=== %s\n' "$*"; }
add() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0})); }

# run_tap FILE: a TAP file of tests/lib/tap.sh; counts its RESULT line.
durations=() # "SECONDS FILE" of each TAP file, for the slowest list
run_tap() {
	local t=$1 out rc res p f s t0=$SECONDS
	out=$(bash "$t" 2>&1 </dev/null)
	rc=$?
	durations+=("$((SECONDS - t0)) $t")
	printf '%s\n' "$out" | grep -v '^RESULT '
	res=$(printf '%s\n' "$out" | sed -n 's/^RESULT //p' | tail -1)
	if [[ -z $res ]]; then
		failures+=("$t (exit $rc, no result)"); add 0 1; return
	fi
	read -r p f s <<<"$res"
	((f)) && failures+=("$t")
	add "$p" "$f" "$s"
}

run_cmocka() {
	local bin=$1 out p f
	out=$("$bin" 2>&1)
	local rc=$?
	printf '%s\n' "$out" | grep -E '^\[ *(FAILED|  ERROR|PASSED) *\]|^\[  FAILED  \]' || true
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0} f=${f:-0}
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		f=1 # crashed (sanitizer, signal) before cmocka could count
		printf '%s\n' "$out" | tail -30
	fi
	if ((f)); then
		printf '%s\n' "$out" | grep -E '^\[  (FAILED|ERROR)|error|Error' | head -30
		failures+=("$bin")
	fi
	echo "$bin: $p passed, $f failed"
	add "$p" "$f"
}

if [[ $want == *" unit "* ]]; then
	note "unit tests"
	for t in build/unit/test_*; do run_cmocka "$t"; done
	note "unit tests under ASan+UBSan"
	for t in build/asan/test_*; do run_cmocka "$t"; done
fi

if [[ $want == *" fuzz "* ]]; then
	# Every parser of untrusted bytes, from its committed corpus; a crash,
	# leak, UB report or timeout fails the run and keeps the input.
	for src in tests/fuzz/fuzz_*.c; do
		t=$(basename "$src" .c) bin=build/fuzz/$(basename "$src" .c)
		note "fuzzing $t (${TW_FUZZ_SECONDS:-20}s)"
		if [[ ! -x $bin ]]; then
			echo "FAIL $bin is not built (make fuzz)"
			failures+=("$t not built"); add 0 1; continue
		fi
		corpus=$(mktemp -d)
		cp tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
		dict=()
		[[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
		if "$bin" "${dict[@]}" -max_total_time="${TW_FUZZ_SECONDS:-20}" \
			-timeout=5 -rss_limit_mb=2048 -print_final_stats=0 \
			-artifact_prefix="$corpus/" "$corpus" >"$corpus.log" 2>&1; then
			echo "$t: no crash, leak or timeout"
			add 1 0
		else
			tail -40 "$corpus.log"
			failures+=("$t (artifacts in $corpus)")
			add 0 1
		fi
		rm -f "$corpus.log"
	done
fi

if [[ $want == *" cli "* ]]; then
	note "toolwall check on the reference policy and the malformed corpus"
	# --portable: the example's agent account need not exist on this host
	if ./toolwall check --portable -p policy/examples/acme >/dev/null; then
		add 1 0
	else
		failures+=("check policy/examples/acme"); add 0 1
	fi
	# Every field of the format, each set once (the schema must take it too).
	if ./toolwall check -p tests/policy/every-field.json >/dev/null; then
		add 1 0
	else
		failures+=("check tests/policy/every-field.json"); add 0 1
	fi
	for f in tests/malformed/*.json; do
		exp=${f%.json}.expect
		out=$(./toolwall check -p "$f" 2>&1)
		rc=$?
		ok=1
		[[ $rc -eq 1 ]] || ok=0
		while IFS= read -r line; do
			[[ -z $line ]] && continue
			loc=${line%%: *} msg=${line#*: }
			msg=${msg//$(basename "$f")/$f} # the CLI prints full paths
			grep -F -- "$loc" <<<"$out" | grep -qF -- "$msg" || ok=0
		done <"$exp"
		if ((ok)); then add 1 0; else
			echo "FAIL $f (exit $rc):"; echo "$out" | head -5
			failures+=("check $f"); add 0 1
		fi
	done
	# explain shows the standing instructions a call in the context gets.
	allowed=$(./toolwall explain -p policy/examples/acme channel:acme/data-team 10.30.1.10:5439)
	denied=$(./toolwall explain -j -p policy/examples/acme workspace:acme 10.30.1.10:5439)
	if grep -q "warehouse-read: Never export more than 1000 rows." <<<"$allowed" &&
		python3 -c 'import json,sys; i = json.load(sys.stdin)["instructions"]; assert {"bundle": "issue-tracker", "text": "File tickets only in project OPS."} in i and all(x["bundle"] != "warehouse-read" for x in i)' <<<"$denied"; then
		add 1 0
	else
		echo "FAIL explain instructions"; failures+=("explain instructions"); add 0 1
	fi
	# A bad --dns-budget is a usage error that says what it wants, before
	# the daemon touches anything.
	bad=0
	for v in x -1 5:0 1:2:9 1:2:0 2000000 1:2:3:4 "5:"; do
		out=$(./toolwall daemon --dns-budget "$v" 2>&1)
		[[ $? -eq 2 && $out == *"--dns-budget $v: want QPS[:BURST[:INFLIGHT]]"* ]] || bad=1
	done
	if ((!bad)); then add 1 0; else
		echo "FAIL daemon --dns-budget: $out"; failures+=("--dns-budget errors"); add 0 1
	fi
	# The data flows one way: no dependency cycle among user/ modules
	# (include and call graph), the pure folders use nothing else, and no
	# file is over 1000 lines nor any function over 120.
	if python3 tests/lib/layers.py --sizes; then add 1 0; else
		failures+=("layers (tests/lib/layers.py)"); add 0 1
	fi
	# The man page keeps up with the command table.
	miss=""
	for c in $(./toolwall --help | awk '/^Commands:/ { on = 1; next } on && NF { print $1 } /^$/ && on { exit }'); do
		grep -q "^\.B[IR]* $c\b\|^\.B $c$\|^\.BI $c " man/toolwall.8 || miss+=" $c"
	done
	if [[ -z $miss ]]; then add 1 0; else
		echo "FAIL man/toolwall.8 lacks:$miss"; failures+=("man page"); add 0 1
	fi
	# The policy reference: the JSON Schema holds every example and
	# rejects every malformed case it can see (Debian's python3-jsonschema,
	# hence /usr/bin/python3); the schema keeps up with the parser's
	# tables and toolwall-policy(5) names every field of it.
	py=/usr/bin/python3
	[[ -x $py ]] || py=python3
	out=$("$py" tests/lib/policy_schema.py 2>&1)
	rc=$?
	grep -v '^ok ' <<<"$out"
	if ((rc == 0)); then add 1 0; else
		failures+=("policy schema (tests/lib/policy_schema.py)"); add 0 1
	fi
	if python3 tests/lib/policy_doc.py; then add 1 0; else
		failures+=("policy reference (tests/lib/policy_doc.py)"); add 0 1
	fi
	# scripts/deps.sh's layers are cumulative: runtime in build, build in
	# test and in bench; the peers only in bench; an unknown layer refused.
	# (Each list is read whole first: `grep -q` in a pipe under pipefail
	# would fail the check whenever it closed the pipe before deps.sh ended.)
	lay() { bash scripts/deps.sh --list "$1"; }
	has() { grep -qx "$2" <<<"$1"; }
	l_run=$(lay runtime) l_build=$(lay build) l_test=$(lay test) l_bench=$(lay bench)
	if [[ -z $(comm -23 <(echo "$l_run") <(echo "$l_build")) &&
		-z $(comm -23 <(echo "$l_build") <(echo "$l_test")) &&
		-z $(comm -23 <(echo "$l_build") <(echo "$l_bench")) ]] &&
		has "$l_bench" hyperfine && ! has "$l_test" hyperfine &&
		! has "$l_build" libcmocka-dev && has "$l_test" python3-jsonschema &&
		has "$l_test" prometheus && has "$l_run" libmicrohttpd12 &&
		! bash scripts/deps.sh nope 2>/dev/null; then
		add 1 0
	else
		echo "FAIL scripts/deps.sh layers"; failures+=("deps layers"); add 0 1
	fi
	# The command line: global options, help, version, -j errors, check's
	# host checks and warnings (tests/cli/, TAP files as the kernel's are).
	for t in tests/cli/test_*.sh; do
		note "$t"
		run_tap "$t"
	done
	echo "cli: done"
fi

kernel_files=()
[[ $want == *" kernel "* ]] && kernel_files+=(tests/bpf/test_*.sh tests/kernel/test_*.sh)
[[ $want == *" escape "* ]] && kernel_files+=(tests/escape/test_*.sh)
[[ $want == *" pkg "* ]] && kernel_files+=(tests/pkg/test_*.sh)
if ((${#kernel_files[@]})); then
	for t in "${kernel_files[@]}"; do
		[[ -e $t ]] || continue
		note "$t"
		if [[ $(id -u) -ne 0 ]]; then
			echo "skipped: kernel tests need root"; add 0 0 1; continue
		fi
		run_tap "$t"
	done
fi

echo
if ((${#durations[@]})); then
	echo "slowest files (seconds):"
	printf '%s\n' "${durations[@]}" | sort -rn | head -8 | sed 's/^/  /'
fi
if ((${#failures[@]})); then
	echo "failed:"; printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
