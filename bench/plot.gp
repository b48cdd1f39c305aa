# SPDX-License-Identifier: GPL-2.0-only
# Plots of `make bench`: gnuplot -e "tsv='RESULTS.tsv'; out='bench/'" bench/plot.gp
# RESULTS.tsv columns: bench variant rules value unit ratio note (bench/run.sh).

set terminal pngcairo size 1000,600 font ",10" noenhanced
set datafile separator "\t"
set key top left
set grid
sel(b, v) = sprintf("< awk -F'\t' '$1 == \"%s\" && $2 == \"%s\"' %s", b, v, tsv)

# 1. connect cost as a ratio to no firewall, by rules in the context.
set output out . "connect.png"
set multiplot layout 1,2 title "connect() cost relative to no firewall (median of interleaved rounds)"
set logscale xy
set xlabel "rules in the context"
set ylabel "time / no-firewall time (log)"
set title "allowed"
plot sel("connect_tcp", "toolwall") using 3:6 with linespoints lw 2 title "toolwall, TCP connect+close", \
     sel("connect_tcp", "nftables") using 3:6 with linespoints lw 2 title "nftables (cgroupv2 + set)", \
     sel("connect_tcp", "iptables") using 3:6 with linespoints lw 2 title "iptables (-m cgroup, rule per entry)", \
     sel("connect_udp", "toolwall") using 3:6 with linespoints dt 2 title "toolwall, UDP socket+connect+close", \
     sel("udp_reconnect", "toolwall") using 3:6 with linespoints dt 3 title "toolwall, UDP connect() alone"
set title "denied (none: refused by a closed port)"
plot sel("connect_tcp_denied", "toolwall") using 3:6 with linespoints lw 2 title "toolwall (EPERM)", \
     sel("connect_tcp_denied", "nftables") using 3:6 with linespoints lw 2 title "nftables (reject)", \
     sel("connect_tcp_denied", "iptables") using 3:6 with linespoints lw 2 title "iptables (REJECT)"
unset multiplot
unset logscale

# 2. throughput relative to no firewall.
set output out . "throughput.png"
set title "throughput relative to no firewall, at the largest rule count"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set xlabel ""
set ylabel "rate / no-firewall rate"
set key top right
set datafile missing "-"
pivot = "< awk -F'\t' '$1 == \"udp_sendto_rate\" || $1 == \"tcp_bulk\" { r[$1 SUBSEP $2] = $6; b[$1] = 1 } " . \
	"END { for (k in b) { printf \"%s\", k; n = split(\"none toolwall nftables iptables\", v, \" \"); " . \
	"for (i = 1; i <= n; i++) printf \"\\t%s\", ((k SUBSEP v[i]) in r ? r[k SUBSEP v[i]] : \"-\"); print \"\" } }' " . tsv
plot pivot using 2:xtic(1) title "none", '' using 3 title "toolwall", \
     '' using 4 title "nftables", '' using 5 title "iptables"

# 3. launch cost.
set output out . "launch.png"
set title "launch of /bin/true (hyperfine median)"
unset style
set style fill solid 0.8 border -1
set boxwidth 0.6
set logscale y
set yrange [0.1:*]
set ylabel "ms per launch (log)"
unset key
plot "< awk -F'\t' '$1 == \"launch\" && $4 != \"null\"' " . tsv using 0:4:xtic(2) with boxes lc 2, \
     '' using 0:4:4 with labels offset 0,1
unset logscale

# 4. compile-and-push.
set output out . "reload.png"
set title "policy compile-and-push (toolwall reload) and peers' ruleset load, one context"
set style data linespoints
set logscale xy
set xlabel "rules in the context"
set ylabel "ms (log)"
set key top left
set yrange [*:*]
plot sel("compile_push", "toolwall") using 3:4 lw 2 title "toolwall reload", \
     sel("compile_push", "nftables") using 3:4 lw 2 title "nft -f", \
     sel("compile_push", "iptables") using 3:4 lw 2 title "iptables-restore", \
     sel("compile_push_multi", "toolwall") using 3:4 with points pt 7 ps 2 title "toolwall reload, many contexts (x = contexts x rules)", \
     1000 with lines dt 2 lc rgb "red" title "1 s target"
