#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, broker class: the guarantees the README gives for brokered
# credentials, attacked from inside tool calls by code that has read the
# broker's source (tests/escape/attacks/broker.py).
#   - the value is never within a call's reach: not in the broker's
#     process (/proc, ptrace, process_vm_readv, pidfd_getfd), not in its
#     CA key or state
#   - the broker serves only connections the kernel redirected to it, and
#     swaps only the placeholders of that connection's own call (not those
#     of another call of the same context)
#   - the value goes only into the header of the credential's template (or
#     the password of Basic auth), never into the query, path, body, a
#     cookie, a second header of that name or Proxy-Authorization
#   - the read scope holds whatever the method's spelling or a pipeline;
#     a request cut off by a refusal behind it still has its record
#   - no domain fronting on a kept-alive connection nor by an absolute-form
#     target; no HTTP/2; no plain HTTP to a TLS service
# Each attack asserts the refusal, its request record where the broker
# writes one, and that neither the audit log, the call's output nor the
# service got a credential value. What tests/kernel/test_brokered.sh proves
# (the swap, cross-context and ended-call placeholders, Host/SNI fronting,
# CR/LF and folding injection, CL+TE smuggling, a read-scope POST) is not
# repeated here.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/brokered.sh"
source "$HERE/lib.sh" # attempt, record, no_secret (not esc_setup: bk_env_up starts the daemon)

B=$ESC_ATTACKS/broker.py
bk_env_up || { tap_summary; exit 1; }
T=$TW_WORK

# svc_clean NAME N: the requests the service got after its Nth carry no
# credential value (the service records every header it receives)
svc_clean()
{
	local got
	got=$(tail -n +"$(($2 + 1))" "$T/svc.log" 2>/dev/null)
	if [[ $got == *"$TW_SECRET_TRACKER"* || $got == *"$TW_SECRET_WAREHOUSE"* ]]; then
		not_ok "$1: no value at the service" "$(cut -c 1-300 <<<"$got")"
	else
		ok "$1: no value at the service ($(($(svc_n svc) - $2)) requests reached it)"
	fi
}

# svc_since N: METHODPATH of each request the service got after its Nth
svc_since()
{
	$PY -c 'import json, sys
print(" ".join(r["method"] + r["path"] for r in map(json.loads, open(sys.argv[1]).readlines()[int(sys.argv[2]):])))' "$T/svc.log" "$1"
}

# bka NAME CTX RECORD -- CMD...: CMD in a call of CTX must print BLOCKED;
# then its request record (RECORD: "K=V;K~S;..." with event=request and
# the context added; "-" when the broker writes none), no value in the
# audit log or the call's output, none at the service.
bka()
{
	local name=$1 ctx=$2 rec=$3 n terms
	shift 3
	[[ ${1:-} == -- ]] && shift
	n=$(svc_n svc)
	attempt "$name" "$ctx" "BLOCKED*" -- "$@"
	printf '#   %s\n' "$(head -1 "$TW_WORK/esc.out.$ESC_N")" # how
	if [[ $rec != - ]]; then
		IFS=';' read -ra terms <<<"event=request;context=$ctx;$rec"
		record "$name" "${terms[@]}"
	fi
	no_secret "$name"
	svc_clean "$name" "$n"
}

# ---- 1. the broker's process ---------------------------------------------------
BPID=$(bk pid)
BCOMM=$(cat "/proc/$BPID/comm")
bka "find the broker by scanning /proc (comm, cmdline)" $WS - -- $ESC_PY "$B" scan "$BCOMM"
for w in environ mem fd ptrace vmread getfd; do
	bka "reach the broker (host pid $BPID) for its $w" $WS - -- $ESC_PY "$B" proc "$BPID" "$BCOMM" $w
done
# Outside toolwall too the agent account cannot: the broker runs as another
# account and is not dumpable.
for w in environ mem ptrace vmread; do
	b=$(esc_bare $ESC_PY "$B" proc "$BPID" "$BCOMM" $w)
	[[ $b == BLOCKED* ]] && ok "(no toolwall) the agent account cannot read the broker's $w either: ${b#BLOCKED }" ||
		not_ok "(no toolwall) the agent account cannot read the broker's $w either" "got '$b'"
done

# ---- 2. the broker's CA key and state --------------------------------------------
bka "read the broker's CA key or list its directory (TOOLWALL_BROKER_DIR)" $WS - -- \
	$ESC_PY "$B" files "$T/broker/ca.key" "$T/broker"
bka "read the product's broker directory (/var/lib/toolwall/broker)" $WS - -- \
	$ESC_PY "$B" files /var/lib/toolwall/broker/ca.key /var/lib/toolwall/broker
bka "read the values' stores the broker reads" $WS - -- \
	$ESC_PY "$B" files "$TW_STORES/agent/tracker-agent" "$TW_STORES/agent"

# ---- 3. straight to the broker's port -------------------------------------------
BPORT=$(bk port)
for a in 127.0.0.1 ::1; do
	bka "connect to the broker's port on $a directly, own placeholder, Host $SVC4:$PORT" $WS - -- \
		$ESC_PY "$B" direct $a "$BPORT"
done

# ---- 4. another call's placeholder, same context, while it runs ------------------
VICTIM=b-victim-$$
rm -f "$T/shared/ph-victim" "$T/shared/victim-go"
twx $WS "$VICTIM" sh -c "printf %s \"\$TRACKER_TOKEN\" >$T/shared/ph-victim; while [ ! -e $T/shared/victim-go ]; do sleep 0.1; done" \
	>/dev/null 2>&1 &
V=$!
if tw_eventually test -s "$T/shared/ph-victim"; then
	n=$(svc_n svc)
	bka "use the placeholder of another running call of $WS" $WS "path=/foreign;decision=allow" -- \
		$ESC_PY "$B" foreign "$T/shared/ph-victim"
	got=$(svc_hdr svc $((n + 1)) authorization 2>&1)
	[[ $got == "Bearer $(cat "$T/shared/ph-victim")" ]] &&
		ok "the service got the other call's placeholder as it was sent" ||
		not_ok "the service got the other call's placeholder as it was sent" "$got"
	out=$($ESC_AC "$TW_LOG" "$VICTIM" --count 0 event=request 2>&1) &&
		ok "no request record names the victim call" || not_ok "no request record names the victim call" "$out"
	# Outside toolwall, with the victim's placeholder, straight to the
	# broker's port (the calls' connect hooks refuse loopback, so only a
	# process outside them tests the broker's own check): the kernel did
	# not redirect that connection, the broker closes it.
	n=$(svc_n svc)
	for a in 127.0.0.1 ::1; do
		b=$(esc_bare $ESC_PY "$B" direct $a "$BPORT" "$T/shared/ph-victim")
		[[ $b == BLOCKED* ]] && ok "(no toolwall) the victim's placeholder straight to the broker on $a: ${b#BLOCKED }" ||
			not_ok "(no toolwall) the victim's placeholder straight to the broker on $a" "got '$b'"
	done
	svc_clean "straight to the broker" "$n"
else
	not_ok "victim call writes its placeholder"
fi
touch "$T/shared/victim-go"
wait $V

# ---- 5. the placeholder outside the template header ------------------------------
for k in query path body cookie auth2 proxyauth; do
	case $k in
	auth2) what="a second Authorization header (the first not a placeholder)" ;;
	proxyauth) what=Proxy-Authorization ;;
	body) what="the body of a POST to the write service" ;;
	*) what="the $k" ;;
	esac
	bka "a placeholder in $what stays a placeholder" $WS "path~/where-$k;decision=allow" -- \
		$ESC_PY "$B" where $k
done

# ---- 6. the read scope -------------------------------------------------------------
# (a method the parser does not know is a malformed request: 400; a GET
# that asks, in a header or the query, to be taken for another method is
# refused: services and frameworks honour those)
n0=$(svc_n svc)
while IFS='|' read -r k rec name; do
	bka "read scope: $name" $DATA "$rec" -- $ESC_PY "$B" scope "$k"
done <<'TABLE'
lowerpost|decision=deny;status=400;reason~malformed request|a lower-case "post" is not a method, refused
patch|method=PATCH;decision=deny;status=403;reason~scope read|PATCH refused
foo|decision=deny;status=400;reason~malformed request|a custom method FOO refused
override|method=GET;decision=deny;status=403;reason~header X-HTTP-Method-Override|a GET with X-HTTP-Method-Override: POST refused
overridelc|method=GET;decision=deny;status=403;reason~header X-Method-Override|a GET with x-method-override: DELETE refused
overrideq|method=GET;decision=deny;status=403;reason~query parameter _method|a GET with ?_method=DELETE refused
overrideu|method=GET;decision=deny;status=403;reason~header X-HTTP-Method-Override|a GET with X_HTTP_Method_Override: PUT (as CGI sees it) refused
overridepct|method=GET;decision=deny;status=403;reason~query parameter _method|a GET with ?%5Fmethod%3DDELETE (the name encoded) refused
TABLE
got=$(svc_since "$n0")
[[ $got != *scope-override* ]] && ok "the service never got a GET that asked for another method (got: ${got:-nothing})" ||
	not_ok "the service never got an override GET" "got: $got"
n=$(svc_n svc)
attempt "read scope: GET then POST pipelined in one TLS write: the POST refused" $DATA "BLOCKED*" -- \
	$ESC_PY "$B" scope pipeline
record "pipelined POST" event=request context=$DATA method=POST decision=deny status=403
record "the GET before it, dropped with it" event=request context=$DATA method=GET path=/scope-pipe-get \
	decision=allow status=502 "reason~not answered"
got=$(svc_since "$n")
[[ $got != *POST* ]] && ok "the service never got the pipelined POST (got: ${got:-nothing})" ||
	not_ok "the service never got the pipelined POST" "got: $got"
no_secret "pipelined POST"
# The GET was answered (a 50 MB body still streaming) when the POST came:
# it reached the service with its value, and keeps its record.
n=$(svc_n svc)
attempt "read scope: a POST behind a GET being answered, same connection" $DATA "BLOCKED*" -- \
	$ESC_PY "$B" scope pipecut
record "the POST behind a GET" event=request context=$DATA method=POST path=/scope-cut-post decision=deny status=403
record "the GET cut off by the refused POST" event=request context=$DATA method=GET path=/big decision=allow \
	status=502 "reason~not answered"
got=$(svc_since "$n")
[[ $got == "GET/big?n=50000000" ]] && ok "the service got the GET and never the POST behind it" ||
	not_ok "the service got the GET and never the POST behind it" "got: $got"
no_secret "the POST behind a GET"

# ---- 7. fronting on a kept-alive connection, absolute-form targets ----------------
n=$(svc_n svc)
attempt "fronting on a kept-alive connection: a second request with Host paste.example" $WS "BLOCKED*" -- \
	$ESC_PY "$B" front keepalive
record "kept-alive fronting" event=request context=$WS path=/front-ka2 decision=deny status=403 "reason~domain fronting"
got=$(svc_since "$n")
[[ $got == GET/front-ka1 ]] && ok "the service got the first request only" || not_ok "kept-alive fronting at the service" "got: $got"
while IFS='|' read -r k why name; do
	bka "$name" $WS "decision=deny;status=403;reason~$why" -- $ESC_PY "$B" front "$k"
done <<'TABLE'
absolute|request target https://paste.example|an absolute-form target naming paste.example, Host the service's
absolute-host|request target https://paste.example|an absolute-form target and Host both naming paste.example
userinfo|with userinfo (domain fronting)|an absolute-form target with the service's address as userinfo of paste.example
hostph|Host [placeholder]|a placeholder as the Host name (quoted by the refusal, masked)
sniph|TLS server name [placeholder]|a placeholder as the TLS server name (quoted by the refusal, masked)
TABLE

# ---- 8. HTTP/2 -------------------------------------------------------------------
bka "HTTP/2: ALPN offering only h2" $WS - -- $ESC_PY "$B" h2 alpn
bka "HTTP/2: the prior-knowledge preface (PRI * HTTP/2.0)" $WS "decision=deny" -- $ESC_PY "$B" h2 preface

# ---- 9. plain HTTP to the TLS service ----------------------------------------------
bka "plain HTTP to the TLS service's port" $WS - -- $ESC_PY "$B" plain

# ---- the whole log --------------------------------------------------------------
# (the path, a Host or an SNI above held placeholders; a record holds none)
got=$(grep '"event":"request"' "$TW_LOG" | grep -oE '"(path|reason)":"[^"]*"' | grep -E "$PH_RE")
[[ -z $got ]] && ok "no placeholder in a request record (path, Host or SNI in the reason)" ||
	not_ok "no placeholder in a request record (path, Host or SNI in the reason)" "$got"
if grep -qF -e "$TW_SECRET_TRACKER" -e "$TW_SECRET_WAREHOUSE" "$TW_LOG" "$T/daemon.out"; then
	not_ok "no credential value in the audit log or the daemon's output"
else
	ok "no credential value in the audit log or the daemon's output"
fi
tap_summary
