#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: toolwall side by side with no firewall, nftables, iptables and
# (for launch cost) @anthropic-ai/sandbox-runtime, measured in one run as
# ratios to the no-firewall figure of the same run. Prints a table, writes
# bench/results.json and bench/*.png. See bench/README.md for each figure.
#
#   QUICK=1     every figure at reduced size (a smoke check, under a minute)
#   RULES="10 1000 10000 100000"  MS=300  ROUNDS=7  MULTI="1000 100"
#   LAUNCH_RUNS=30  GAP_RELOADS=20  SRT_VERSION=0.0.83  SRT=0 (skip srt)
#
# Root only. Everything runs in cgroups and network namespaces of its own
# (twbench-PID); traffic stays on their loopback. All of it is removed at exit,
# toolwall included (`toolwall down`).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
source tests/lib/netns.sh
source tests/lib/toolwall.sh

if [[ $(id -u) -ne 0 ]]; then
	echo "make bench: run as root" >&2
	exit 1
fi
QUICK=${QUICK:-}
[[ $QUICK == 0 ]] && QUICK=
q() { [[ -n $QUICK ]] && echo "$1" || echo "$2"; }
RULES=${RULES:-$(q "10 1000" "10 1000 10000 100000")}
MS=${MS:-$(q 60 300)}
ROUNDS=${ROUNDS:-$(q 3 7)}
MULTI=${MULTI:-$(q "100 100" "1000 100")}
LAUNCH_RUNS=${LAUNCH_RUNS:-$(q 5 30)}
GAP_RELOADS=${GAP_RELOADS:-$(q 3 20)}
SRT_VERSION=${SRT_VERSION:-0.0.83}
PORT=18765 UPORT=18767 SINK=18768 DENY_PORT=18766

B=$ROOT/build/bench
CB=$B/connect_bench
mkdir -p "$B"
gcc -O2 -Wall -Wextra -Werror -o "$CB" bench/connect_bench.c -lpthread || exit 1
SB=$B/syscall_bench
gcc -O2 -Wall -Wextra -Werror -o "$SB" bench/syscall_bench.c || exit 1

# Never alongside the kernel tests: both own /sys/fs/bpf/toolwall and the
# toolwall cgroup tree. The lock is the one tests and the demo take.
while pgrep -f 'tests/kernel/test_' >/dev/null; do
	echo "make bench: kernel tests are running; waiting" >&2
	sleep 10
done
tw_lock || exit 1
if [[ -e /sys/fs/bpf/toolwall ]]; then
	if [[ ${CI:-} == true || -n ${TW_TEST_TAKEOVER:-} ]]; then
		"$TW_BIN" down >/dev/null 2>&1
	else
		echo "make bench: toolwall enforcement is already in place; run 'toolwall down' first" >&2
		exit 1
	fi
fi

CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
BCG_REL=twbench-$$
BCG=$CG2/$BCG_REL
TWCG=$CG2/toolwall/bench/workspace
NS_PLAIN=twbench-$$-plain NS_NFT=twbench-$$-nft NS_IPT=twbench-$$-ipt
TW_WORK=$(mktemp -d /tmp/twbench.XXXXXX)
chmod 0755 "$TW_WORK"
TW_POLICY=$TW_WORK/policy
TW_LOG=$TW_WORK/audit.jsonl
TSV=$TW_WORK/results.tsv
SERVERS=()
: >"$TSV"

cleanup()
{
	local pid ns
	tw_down
	for pid in "${SERVERS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in "$NS_PLAIN" "$NS_NFT" "$NS_IPT"; do
		ip netns del "$ns" 2>/dev/null
	done
	rmdir "$BCG"/{none,nft,ipt,srv} "$BCG" 2>/dev/null
	rm -rf "$TW_WORK"
}
tw_at_exit cleanup

# ---- the stage ----------------------------------------------------------

mkdir -p "$BCG/none" "$BCG/nft" "$BCG/ipt" "$BCG/srv" || exit 1
for ns in "$NS_PLAIN" "$NS_NFT" "$NS_IPT"; do
	ip netns add "$ns" && ip -n "$ns" link set lo up || exit 1
	"$CB" -c "$BCG/srv" -n "/run/netns/$ns" serve $PORT $UPORT $SINK \
		>"$TW_WORK/serve-$ns.out" 2>&1 &
	SERVERS+=($!)
done
for ns in "$NS_PLAIN" "$NS_NFT" "$NS_IPT"; do
	for ((i = 0; i < 50; i++)); do
		grep -q ready "$TW_WORK/serve-$ns.out" 2>/dev/null && break
		sleep 0.1
	done
	grep -q ready "$TW_WORK/serve-$ns.out" || { cat "$TW_WORK/serve-$ns.out" >&2; exit 1; }
done

# Which cgroup and network namespace each variant's client runs in.
declare -A WHERE=(
	[none]="-c $BCG/none -n /run/netns/$NS_PLAIN"
	[toolwall]="-c $TWCG -n /run/netns/$NS_PLAIN"
	[nftables]="-c $BCG/nft -n /run/netns/$NS_NFT"
	[iptables]="-c $BCG/ipt -n /run/netns/$NS_IPT"
)

now_ms() { date +%s%3N; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
minmax() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "min %s max %s", lo, hi }'; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN { if (b + 0 == 0) print "null"; else printf f, a / b }'; }

# emit BENCH VARIANT RULES VALUE UNIT RATIO [NOTE]
emit()
{
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}" >>"$TSV"
	printf '%-20s %-9s %7s %12s %-8s %7s  %s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}"
}
header() { printf '\n%-20s %-9s %7s %12s %-8s %7s  %s\n' BENCH VARIANT RULES VALUE UNIT RATIO NOTE; }

# One timed sample: sample VARIANT MODE PORT [ok|fail] -> ns per op (or Mbit/s)
sample()
{
	local out
	# shellcheck disable=SC2086 # WHERE holds options
	out=$("$CB" ${WHERE[$1]} -t "$MS" -x "${4:-ok}" "$2" "$3") || {
		echo "make bench: $1 $2 $3 ${4:-ok} failed" >&2
		return 1
	}
	awk '{ print $4 }' <<<"$out"
}

declare -A S # "bench variant" -> samples, space separated

# rounds BENCH MODE PORT EXPECT VARIANT...: ROUNDS samples of each variant,
# interleaved and rotated so no variant always runs first.
rounds()
{
	local bench=$1 mode=$2 port=$3 x=$4 r i n v x1
	shift 4
	local vs=("$@")
	n=${#vs[@]}
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < n; i++)); do
			v=${vs[(r + i) % n]}
			x1=$(sample "$v" "$mode" "$port" "$x") || exit 1
			S["$bench $v"]+="$x1 "
		done
	done
}

# report BENCH RULES UNIT [rate] VARIANT...: medians; ratio to "none".
report()
{
	local bench=$1 rules=$2 unit=$3 rate="" b v m
	shift 3
	[[ $1 == rate ]] && { rate=1; shift; }
	b=$(tr ' ' '\n' <<<"${S["$bench none"]}" | grep . | median)
	for v in "$@"; do
		m=$(tr ' ' '\n' <<<"${S["$bench $v"]}" | grep . | median)
		if [[ -n $rate ]]; then
			emit "$bench" "$v" "$rules" "$m" "$unit" "$(div "$m" "$b")" \
				"$(tr ' ' '\n' <<<"${S["$bench $v"]}" | grep . | minmax)"
		else
			emit "$bench" "$v" "$rules" "$m" "$unit" "$(div "$m" "$b")" \
				"+$(awk -v m="$m" -v b="$b" 'BEGIN { printf "%.0f", m - b }') ns; $(tr ' ' '\n' <<<"${S["$bench $v"]}" | grep . | minmax)"
		fi
		unset 'S[$bench $v]'
	done
	unset 'S[$bench none]'
}

reload_ms()
{
	local t0 t1
	t0=$(now_ms)
	"$TW_BIN" reload >/dev/null || { echo "make bench: toolwall reload failed" >&2; return 1; }
	t1=$(now_ms)
	echo $((t1 - t0))
}

rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$TW_DAEMON_PID/status"; }

# Kernel memory of the allowlist maps (bytes; bpftool reports usage).
map_bytes()
{
	bpftool -j map show 2>/dev/null | python3 -c '
import json, sys
print(sum(m.get("bytes_memlock", 0) for m in json.load(sys.stdin)
          if m.get("name", "").startswith(("tw_rules", "tw_cgroups", "tw_unix"))))'
}

# Where toolwall's added time goes, from the kernel's own per-program
# accounting (kernel.bpf_stats_enabled; no PMU needed). Stats cost two clock
# reads per program run, so they are on only for this pass, never while the
# variants are compared.
prog_stats()
{
	bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("tw_"):
        print(p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))' | sort
}

# hook_cost N MODE PORT [ok|fail]: one sample of toolwall with stats on; emits
# ns per run and runs per operation for every toolwall program that ran.
hook_cost()
{
	local n=$1 mode=$2 port=$3 x=${4:-ok} old out ops
	old=$(cat /proc/sys/kernel/bpf_stats_enabled)
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	prog_stats >"$TW_WORK/stats0"
	# shellcheck disable=SC2086
	out=$("$CB" ${WHERE[toolwall]} -t "$MS" -x "$x" "$mode" "$port")
	prog_stats >"$TW_WORK/stats1"
	echo "$old" >/proc/sys/kernel/bpf_stats_enabled
	ops=$(awk '{ print $2 + $6 }' <<<"$out") # timed + warm-up
	join "$TW_WORK/stats0" "$TW_WORK/stats1" | while read -r name t0 c0 t1 c1; do
		((c1 - c0 >= ops / 10 && c1 > c0)) || continue # ran for every op, not once
		emit "bpf:$name:$mode${x/ok/}" toolwall "$n" \
			"$(div $((t1 - t0)) $((c1 - c0)) %.0f)" ns/run null \
			"$(div $((c1 - c0)) "$ops" %.2f) runs per $mode${x/ok/}"
	done
}

nft_load()
{ # nft_load N -> ms; the cgroupv2 path resolves under /sys/fs/cgroup, which
	# is a tmpfs in this hybrid layout: mount cgroup2 there, privately.
	local t0 t1
	python3 bench/gen.py nft "$TW_WORK/nft.rules" "$1" "$BCG_REL/nft" $PORT $UPORT || return 1
	nsenter --net="/run/netns/$NS_NFT" nft delete table inet twbench 2>/dev/null
	t0=$(now_ms)
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare -m sh -c 'mount -t cgroup2 none /sys/fs/cgroup &&
		exec nsenter --net="$1" nft -f "$2"' sh "/run/netns/$NS_NFT" "$TW_WORK/nft.rules" ||
		return 1
	t1=$(now_ms)
	echo $((t1 - t0))
}

ipt_load()
{
	local t0 t1
	python3 bench/gen.py ipt "$TW_WORK/ipt.rules" "$1" "$BCG_REL/ipt" $PORT $UPORT || return 1
	t0=$(now_ms)
	nsenter --net="/run/netns/$NS_IPT" iptables-restore <"$TW_WORK/ipt.rules" || return 1
	t1=$(now_ms)
	echo $((t1 - t0))
}

echo "make bench: $(nproc) vCPU, $(uname -r), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "make bench: RULES='$RULES' MS=$MS ROUNDS=$ROUNDS MULTI='$MULTI'${QUICK:+ (QUICK)}"
echo "make bench: iptables is $(iptables -V), nft $(nft -v | awk '{ print $2 }')"

python3 bench/gen.py policy "$TW_POLICY" 10 "$PORT,$SINK" $UPORT || exit 1
# The metrics endpoint is served all along (idle, it costs nothing); its
# scrape is timed in section 4, with many contexts.
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# A launcher group with a member: section 3 also times a launch through the
# launch socket, as an agent runtime that is not root makes it.
tw_launchers twb || exit 1
tw_daemon_start --metrics "127.0.0.1:$MPORT" --launch-group "$TW_LG" || exit 1
[[ -d $TWCG ]] || { echo "make bench: no context cgroup $TWCG" >&2; exit 1; }
header

# ---- 3. launch cost -------------------------------------------------------

# srt: @anthropic-ai/sandbox-runtime from npm (bubblewrap, socat, ripgrep from
# Debian). It runs the command in bwrap with its network behind proxies.
SRT_BIN=""
if [[ ${SRT:-1} != 0 ]]; then
	if ! command -v npm >/dev/null; then
		SRT_WHY="npm is not installed"
	elif [[ ! -x $B/srt/node_modules/.bin/srt ]] &&
		! npm install --silent --no-audit --no-fund --prefix "$B/srt" \
			"@anthropic-ai/sandbox-runtime@$SRT_VERSION" >"$TW_WORK/npm.log" 2>&1; then
		SRT_WHY="npm install failed: $(tail -1 "$TW_WORK/npm.log")"
	else
		SRT_BIN=$B/srt/node_modules/.bin/srt
		mkdir -p "$TW_WORK/srt"
		echo '{"network":{"allowedDomains":["localhost"],"deniedDomains":[]},"filesystem":{"denyRead":[],"allowWrite":["'"$TW_WORK"'/srt"],"denyWrite":[]}}' \
			>"$TW_WORK/srt.json"
		if ! (cd "$TW_WORK/srt" && "$SRT_BIN" -s "$TW_WORK/srt.json" /bin/true) \
			>"$TW_WORK/srt.log" 2>&1; then
			SRT_WHY="srt cannot run here: $(tail -1 "$TW_WORK/srt.log")"
			SRT_BIN=""
		fi
	fi
else
	SRT_WHY="skipped (SRT=0)"
fi

launch_cmds=(-n none /bin/true
	-n toolwall "$TW_BIN exec workspace:bench --call-id bench -- /bin/true")
[[ -n $SRT_BIN ]] && launch_cmds+=(-n srt "$SRT_BIN -s $TW_WORK/srt.json /bin/true")
(cd "$TW_WORK/srt" 2>/dev/null || cd "$TW_WORK"
	hyperfine -N --warmup 3 --runs "$LAUNCH_RUNS" --style none \
		--export-json "$TW_WORK/launch.json" "${launch_cmds[@]}" >/dev/null 2>&1) ||
	{ echo "make bench: hyperfine failed" >&2; exit 1; }
# hyperfine's medians: "NAME MEDIAN MIN MAX" in ms, one line per command
launch_rows()
{
	python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], "%.3f" % (r["median"] * 1e3), "%.3f" % (r["min"] * 1e3), "%.3f" % (r["max"] * 1e3))
' "$1"
}
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f ms over /bin/true", a - b }'; }
while read -r name med lo hi; do
	[[ $name == none ]] && base=$med
	emit launch "$name" 0 "$med" ms "$(div "$med" "$base")" \
		"min $lo max $hi${base:+; $(added "$med" "$base")}"
done < <(launch_rows "$TW_WORK/launch.json")
[[ -z $SRT_BIN ]] && emit launch srt 0 null ms null "not run: $SRT_WHY"
# The same call from a member of the launcher group: the launch socket, the
# daemon's supervisor (toolwall supervise), then root's path; its own
# /bin/true baseline in the same hyperfine run, as that user.
mkdir -m 0777 "$TW_WORK/hf"
(cd "$TW_WORK/hf" && setpriv --reuid "$TW_MEMBER" --regid "$TW_MEMBER" --init-groups -- \
	hyperfine -N --warmup 3 --runs "$LAUNCH_RUNS" --style none \
	--export-json "$TW_WORK/hf/launch_sock.json" -n none /bin/true \
	-n toolwall "$TW_BIN exec workspace:bench --call-id bench-sock -- /bin/true" >/dev/null 2>&1) ||
	{ echo "make bench: hyperfine through the launch socket failed" >&2; exit 1; }
base=""
while read -r name med lo hi; do
	[[ $name == none ]] && base=$med
	emit launch_socket "$name" 0 "$med" ms "$(div "$med" "$base")" \
		"min $lo max $hi; $(added "$med" "$base")"
done < <(launch_rows "$TW_WORK/hf/launch_sock.json")

# ---- 5. the syscall audit's price on every syscall of the host -------------

# watching: is the sys_exit tracepoint attached (a call may run)?
watching() { [[ $("$TW_BIN" status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["syscall_audit"]["watching"])') == "$1" ]]; }
# hold_call: a tool call that just waits, so the tracepoint stays attached.
hold_call() { "$TW_BIN" exec -q workspace:bench --call-id bench-hold -- sleep 100000 >/dev/null 2>&1 & HOLD=$!; }
hold_end()
{
	[[ -n ${HOLD:-} ]] || return 0
	kill "$HOLD" 2>/dev/null
	wait "$HOLD" 2>/dev/null
	HOLD=""
}
tw_at_exit hold_end
for ((r = 0; r < ROUNDS; r++)); do
	for v in none toolwall; do
		if [[ $v == toolwall ]]; then
			hold_call
			tw_eventually watching True || { echo "make bench: sys_exit never attached" >&2; exit 1; }
		else
			hold_end
			tw_eventually watching False || { echo "make bench: sys_exit never detached" >&2; exit 1; }
		fi
		S["syscall_getppid $v"]+="$("$SB" "$MS" | awk '{ print $3 }') "
	done
done
hold_end
report syscall_getppid 0 ns none toolwall

# From here on a tool call stays open, as during real work: the sys_exit
# tracepoint is attached and every variant below, the baseline included,
# pays its host-wide price (reported above on its own).
hold_call

# ---- 1. connect cost by rule count; 4. compile-and-push, one context -------

MAXN=${RULES##* }
for n in $RULES; do
	r=()
	for port in 443 444 443; do # three reloads that change the policy
		python3 bench/gen.py policy "$TW_POLICY" "$n" "$PORT,$SINK" $UPORT $port || exit 1
		ms=$(reload_ms) || exit 1
		r+=("$ms")
	done
	emit compile_push toolwall "$n" "$(printf '%s\n' "${r[@]}" | median)" ms null "reloads ${r[*]} ms"
	ms=$(nft_load "$n") || { echo "make bench: nft load failed" >&2; exit 1; }
	emit compile_push nftables "$n" "$ms" ms null "nft -f, one set"
	ms=$(ipt_load "$n") || { echo "make bench: iptables-restore failed" >&2; exit 1; }
	emit compile_push iptables "$n" "$ms" ms null "iptables-restore, one rule per entry"
	if [[ $n == "$MAXN" ]]; then
		emit daemon_rss toolwall "$n" "$(rss VmRSS)" KiB null "peak $(rss VmHWM) KiB"
		emit map_memory toolwall "$n" "$(map_bytes)" bytes null "tw_rules+tw_cgroups+tw_unix, both slots"
	fi

	rounds connect_tcp tcp $PORT ok none toolwall nftables iptables
	rounds connect_tcp_denied tcp $DENY_PORT fail none toolwall nftables iptables
	rounds connect_udp udp $UPORT ok none toolwall
	rounds udp_reconnect reconnect $UPORT ok none toolwall
	report connect_tcp "$n" ns none toolwall nftables iptables
	report connect_tcp_denied "$n" ns none toolwall nftables iptables
	report connect_udp "$n" ns none toolwall
	report udp_reconnect "$n" ns none toolwall
	hook_cost "$n" tcp $PORT
	hook_cost "$n" reconnect $UPORT
	[[ $n == "$MAXN" ]] && hook_cost "$n" tcp $DENY_PORT fail
done

# ---- 2. throughput, at the largest rule count --------------------------------

rounds udp_sendto sendto $UPORT ok none toolwall nftables iptables
rounds tcp_bulk bulk $SINK ok none toolwall
# sendto: ns per message -> messages per second
for v in none toolwall nftables iptables; do
	S["udp_sendto_rate $v"]=$(for x in ${S["udp_sendto $v"]}; do awk -v x="$x" 'BEGIN { printf "%.0f ", 1e9 / x }'; done)
	unset 'S[udp_sendto $v]'
done
report udp_sendto_rate "$MAXN" msg/s rate none toolwall nftables iptables
report tcp_bulk "$MAXN" Mbit/s rate none toolwall

# ---- 4. many contexts; the reload gap --------------------------------------

hold_end # its context goes with the next policy

read -r mctx mrules <<<"$MULTI"
python3 bench/gen.py multi "$TW_POLICY" "$mctx" "$mrules" "$PORT,$SINK" $UPORT 443 || exit 1
first=$(reload_ms) || exit 1
r=()
for port in 444 443 444; do
	python3 bench/gen.py multi "$TW_POLICY" "$mctx" "$mrules" "$PORT,$SINK" $UPORT $port || exit 1
	ms=$(reload_ms) || exit 1
	r+=("$ms")
done
emit compile_push_multi toolwall "$((mctx * mrules))" "$(printf '%s\n' "${r[@]}" | median)" ms null \
	"$mctx contexts x $mrules rules; first load (creates cgroups) $first ms; reloads ${r[*]} ms"
emit daemon_rss_multi toolwall "$((mctx * mrules))" "$(rss VmRSS)" KiB null "peak $(rss VmHWM) KiB"
emit map_memory_multi toolwall "$((mctx * mrules))" "$(map_bytes)" bytes null "both slots"
# One GET /metrics with every context of the many-context policy (curl's
# own time, connection included); the daemon's lock is held for the copy.
scr=()
for ((i = 0; i < 21; i++)); do
	scr+=("$(curl -s -m 10 -o "$TW_WORK/scrape.txt" -w '%{time_total}' "http://127.0.0.1:$MPORT/metrics" |
		awk '{ printf "%.2f", $1 * 1000 }')")
done
emit metrics_scrape toolwall "$((mctx * mrules))" "$(printf '%s\n' "${scr[@]}" | median)" ms null \
	"$mctx contexts; $(wc -c <"$TW_WORK/scrape.txt") bytes; $(printf '%s\n' "${scr[@]}" | minmax) ms"

# Reload gap: a tight loop of connect() to an allowed destination in a
# context while the policy is reloaded GAP_RELOADS times (alternating
# revisions, all allowing it). Anything but 0 failures is a gap.
# shellcheck disable=SC2086
"$CB" ${WHERE[toolwall]} gap $UPORT >"$TW_WORK/gap.out" 2>&1 &
gap_pid=$!
sleep 0.2
t0=$(now_ms)
for ((i = 0; i < GAP_RELOADS; i++)); do
	python3 bench/gen.py multi "$TW_POLICY" "$mctx" "$mrules" "$PORT,$SINK" $UPORT $((443 + (i & 1))) || exit 1
	"$TW_BIN" reload >/dev/null || { echo "make bench: reload failed" >&2; exit 1; }
done
t1=$(now_ms)
sleep 0.1
kill -INT "$gap_pid"
wait "$gap_pid"
read -r _ ok _ failed _ errno_ <"$TW_WORK/gap.out"
emit reload_gap toolwall "$((mctx * mrules))" "$failed" denied null \
	"$ok connects allowed during $GAP_RELOADS reloads in $((t1 - t0)) ms${errno_:+, first errno $errno_}"

# ---- results ------------------------------------------------------------

python3 bench/gen.py report "$TSV" bench/results.json || exit 1
echo
echo "wrote bench/results.json"
if command -v gnuplot >/dev/null; then
	gnuplot -e "tsv='$TSV'; out='bench/'" bench/plot.gp 2>"$TW_WORK/gnuplot.err" ||
		{ cat "$TW_WORK/gnuplot.err" >&2; exit 1; }
	echo "wrote bench/connect.png bench/throughput.png bench/launch.png bench/reload.png"
else
	echo "make bench: gnuplot is not installed; no plots" >&2
fi
if [[ -n $failed && $failed != 0 ]]; then
	echo "make bench: $failed connects were denied during reloads" >&2
	exit 1
fi
