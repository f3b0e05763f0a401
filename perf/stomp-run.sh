#!/bin/sh
# SPDX-License-Identifier: MIT
#
# perf/stomp-run.sh [BUILD_DIR] [REPS]
#
# busgate against RabbitMQ's STOMP plugin, in the same run, with the same
# client (stomp-bench): a round trip (SEND to a queue the client is
# subscribed to, wait for the MESSAGE; 64-byte bodies) and a stream (a
# producer process sends as fast as the server takes, a consumer counts).
# tcp-echo is the round trip's floor: the same bytes echoed over loopback
# TCP by a plain process.  Each repetition runs the cases in turn; the medians over the
# repetitions and the ratio lines are printed.  Targets: busgate's round
# trip p50 <= 0.5x RabbitMQ's, busgate's stream >= 3x RabbitMQ's msgs/s.
#
# It starts its own busd and busgate (free loopback ports, a temporary
# BUS_RUNTIME_DIR) and, where rabbitmq-server is installed, its own
# RabbitMQ node (own epmd, node, AMQP and STOMP ports, data under the
# temporary directory), and stops each by pid.  Without rabbitmq-server
# the RabbitMQ rows say "skipped: rabbitmq-server is not installed" and
# no ratio is printed.  RABBITMQ_SERVER names another rabbitmq-server
# script (default /usr/lib/rabbitmq/bin/rabbitmq-server, Debian's).
set -eu

build=${1:-build}
reps=${2:-3}
rt_count=${RT_COUNT:-20000}
stream_count=${STREAM_COUNT:-200000}
size=64
bench=$build/perf/stomp-bench
for program in "$build/busd/busd" "$build/busgate/busgate" "$bench"; do
	if [ ! -x "$program" ]; then
		echo "stomp-run.sh: $program is not built" >&2
		exit 2
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-stomp-perf-XXXXXX")
bus=perf-stomp-$$
busd_pid= gate_pid= epmd_pid= rabbit_pid=
cleanup() {
	for pid in $gate_pid $busd_pid; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -s "$work/rabbit.pid" ]; then
		kill "$(cat "$work/rabbit.pid")" 2>/dev/null || true
	fi
	for pid in $rabbit_pid $epmd_pid; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus":* \
		/dev/shm/shmbus."$bus"%*
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket();
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

export BUS_RUNTIME_DIR="$work/run" BUS_SYSTEM_RUNTIME_DIR="$work/nosys"
mkdir -m 0700 "$BUS_RUNTIME_DIR"
"$build/busd/busd" -f -b "$bus" 2>"$work/busd.log" &
busd_pid=$!
for _ in $(seq 100); do
	[ -S "$BUS_RUNTIME_DIR/$bus.sock" ] && break
	sleep 0.05
done
"$build/busgate/busgate" -b "$bus" -l 127.0.0.1:0 -w off \
	2>"$work/busgate.log" &
gate_pid=$!
gate_port=
for _ in $(seq 100); do
	gate_port=$(sed -n 's/.*STOMP listening on .* port \([0-9]*\).*/\1/p' \
		"$work/busgate.log")
	[ -n "$gate_port" ] && break
	sleep 0.05
done
[ -n "$gate_port" ] || { echo "busgate did not start" >&2; exit 1; }

rabbit_port=
rabbit_note="skipped: rabbitmq-server is not installed"
rabbit_bin=${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}
if [ -x "$rabbit_bin" ] && command -v epmd >/dev/null 2>&1; then
	epmd_port=$(free_port)
	rabbit_port=$(free_port)
	cat >"$work/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$(free_port)
stomp.listeners.tcp.1 = 127.0.0.1:$rabbit_port
CONF
	echo '[rabbitmq_stomp].' >"$work/enabled_plugins"
	ERL_EPMD_PORT=$epmd_port epmd -port "$epmd_port" \
		>"$work/epmd.log" 2>&1 &
	epmd_pid=$!
	HOME=$work ERL_EPMD_PORT=$epmd_port \
	RABBITMQ_NODENAME=shmbusperf$$@localhost \
	RABBITMQ_DIST_PORT=$(free_port) \
	RABBITMQ_MNESIA_BASE=$work/mnesia RABBITMQ_LOG_BASE=$work/log \
	RABBITMQ_ENABLED_PLUGINS_FILE=$work/enabled_plugins \
	RABBITMQ_CONFIG_FILE=$work/rabbitmq RABBITMQ_PID_FILE=$work/rabbit.pid \
	RABBITMQ_PLUGINS_EXPAND_DIR=$work/plugins \
		"$rabbit_bin" >"$work/rabbit.log" 2>&1 &
	rabbit_pid=$!
	started=
	for _ in $(seq 240); do
		if (printf 'CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\0' |
		    timeout 2 /usr/bin/python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(sys.stdin.buffer.read())
sys.exit(0 if s.recv(9) == b"CONNECTED" else 1)' "$rabbit_port") \
		    2>/dev/null; then
			started=1
			break
		fi
		sleep 0.5
	done
	if [ -z "$started" ]; then
		rabbit_note="skipped: RabbitMQ did not start (see its log)"
		rabbit_port=
		tail -5 "$work/rabbit.log" >&2
	fi
fi

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

: >"$work/rows"
for rep in $(seq "$reps"); do
	echo "repetition $rep of $reps" >&2
	"$bench" floor - - "$rt_count" "$size" | sed 's/^/tcp-echo /' \
		>>"$work/rows"
	"$bench" rt 127.0.0.1 "$gate_port" "$rt_count" "$size" |
		sed 's/^/busgate /' >>"$work/rows"
	[ -n "$rabbit_port" ] && "$bench" rt 127.0.0.1 "$rabbit_port" \
		"$rt_count" "$size" guest guest | sed 's/^/rabbitmq /' >>"$work/rows"
	"$bench" stream 127.0.0.1 "$gate_port" "$stream_count" "$size" |
		sed 's/^/busgate /' >>"$work/rows"
	# RabbitMQ streams far slower: a tenth of the messages keeps the
	# run short and still lasts seconds.
	[ -n "$rabbit_port" ] && "$bench" stream 127.0.0.1 "$rabbit_port" \
		"$((stream_count / 10))" "$size" guest guest |
		sed 's/^/rabbitmq /' >>"$work/rows"
done

printf '%-9s %-7s %10s %10s %10s %10s %10s %12s\n' server case min_ns \
	p50_ns p99_ns p99.9_ns max_ns msgs/s
for server in tcp-echo busgate rabbitmq; do
	if [ "$server" = rabbitmq ] && [ -z "$rabbit_port" ]; then
		echo "rabbitmq  $rabbit_note"
		continue
	fi
	set -- $(for column in 4 5 6 7 8; do
		awk -v c=$column -v s=$server '$1 == s && $2 == "rt" {print $c}' \
			"$work/rows" | median
	done)
	printf '%-9s %-7s %10s %10s %10s %10s %10s %12s\n' "$server" rt \
		"$1" "$2" "$3" "$4" "$5" -
	[ "$server" = tcp-echo ] && continue
	eval "${server}_rt_p50=$2"
	rate=$(awk -v s=$server '$1 == s && $2 == "stream" {print $5}' \
		"$work/rows" | median)
	printf '%-9s %-7s %10s %10s %10s %10s %10s %12s\n' "$server" stream \
		- - - - - "$rate"
	eval "${server}_rate=$rate"
done
if [ -n "$rabbit_port" ]; then
	awk -v g="$busgate_rt_p50" -v r="$rabbitmq_rt_p50" 'BEGIN {
		printf "ratio rt-p50 busgate/rabbitmq %.3f (target <= 0.5) %s\n",
			g / r, (g / r <= 0.5) ? "met" : "MISSED" }'
	awk -v g="$busgate_rate" -v r="$rabbitmq_rate" 'BEGIN {
		printf "ratio stream busgate/rabbitmq %.1f (target >= 3) %s\n",
			g / r, (g / r >= 3) ? "met" : "MISSED" }'
fi
