#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_bridge.sh CASE BUSD BUSCTL BUSBRIDGE [RESPONDER]
#
# busbridge between two buses (two busd: two "hosts") through a private
# nats-server, every process real.  CASE is one of:
#
#   topics       bus A topics prices.* -> core NATS -> bus B topic, through
#                wildcards on both sides (bus pattern, NATS pattern)
#   queue_kills  queue A -> JetStream -> queue B while both bridges are
#                killed with -9 and restarted: every message arrives, and
#                the duplicates are counted (see below)
#   no_loop      both directions configured between A and B: a message
#                crosses once and never comes back
#   config       bad config files and start-up errors: exit 1 and a
#                clear sentence naming FILE:LINE
#   cluster      three nats-servers routed to each other, the bridges
#                given all three URLs; the one bridge A reached is killed
#                mid-stream: topic messages flow again after the
#                reconnect, every queue message arrives (stream of 3
#                replicas)
#   mqtt         MQTT clients through nats-server's MQTT listener:
#                mosquitto_pub -> NATS -> bus topic, bus topic -> NATS ->
#                mosquitto_sub, QoS 0 and 1 (skipped without
#                mosquitto-clients)
#   metrics      [bridge] metrics = 127.0.0.1:0 on both bridges: curl
#                scrapes /metrics before, during and after 2000 topic
#                messages (forwarded climbs and ends at 2000, lag back
#                to 0), and while nats-server is down and back (connected
#                0 then 1, a queue's lag 5 then 0, reconnects_total 1)
#   service      busctl request on bus A -> [export] service -> NATS
#                request -> [import] service on bus B -> a responder
#                (bridge_responder, the 5th argument) and back; without a
#                responder on NATS or on bus B the answer comes at once
#
# Each case starts its own nats-server (-p -1: the kernel picks a free
# port, read back from its log, so two tests never race for one) with its
# JetStream store in the case's temporary directory, and its own busd with
# unique bus names; every process is stopped by its pid and nothing is
# left in /dev/shm or on disk.  Exit 0 pass, 1 fail, 77 skip.
case_name=${1:-}
bridge=${4:-}
responder=${5:-}
name=bridge-$case_name
if [ ! -x "$bridge" ]; then
	echo "test_bridge: busbridge not built (no libnats-dev); skipped"
	exit 77
fi
if ! command -v nats-server >/dev/null 2>&1; then
	echo "test_bridge: nats-server not installed; skipped"
	exit 77
fi
shift # lib.sh reads BUSD and BUSCTL as $1 and $2
. "$(dirname "$0")/lib.sh"
bus_a="$bus-a"
bus_b="$bus-b"
pids=""	 # bridges and clients, stopped first
daemons="" # busd and nats-server, stopped after them

# stop PID...: SIGTERM, then SIGKILL after 5 s, and reap.
stop() {
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "$@"; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		[ $i -ge 50 ] && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}

# forget PID: a process this test stopped itself, off the exit lists, so
# that no pid the system may have reused is signalled at exit.
forget() {
	pids=$(echo " $pids " | sed "s/ $1 / /")
	daemons=$(echo " $daemons " | sed "s/ $1 / /")
}

# One at a time, bridges first, so that each goes while what it talks
# to is still there; lib.sh removes the buses' segments and $work.
on_exit() {
	for pid in $pids $daemons; do
		stop "$pid"
	done
	busd_pid= # one of $daemons, reaped above
}

check() {
	checks=$((checks + 1))
	if ! eval "$2"; then
		fail "$1"
	fi
}

# ---- the processes ------------------------------------------------------

# start_nats [PORT]: nats-server on 127.0.0.1 and PORT, or a free port
# the kernel picks (-p -1, read back from its log); sets nats_url,
# nats_port and nats_pid.  The same PORT and store again: a restart.
start_nats() {
	nats_log="$work/nats.log"
	[ -e "$nats_log" ] && nats_log="$work/nats.$(date +%s%N).log"
	nats-server -a 127.0.0.1 -p "${1:--1}" -js -sd "$work/jetstream" \
		>"$nats_log" 2>&1 &
	nats_pid=$!
	daemons="$nats_pid $daemons"
	i=0
	port=
	while [ -z "$port" ]; do
		if grep -q "Server is ready" "$nats_log"; then
			port=$(sed -n 's/.*Listening for client connections on [0-9.]*:\([0-9]*\).*/\1/p' \
				"$nats_log")
		fi
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 "$nats_pid" 2>/dev/null; then
			echo "FAIL: nats-server did not start within 10 s" >&2
			cat "$nats_log" >&2
			exit 1
		fi
		[ -z "$port" ] && sleep 0.1
	done
	nats_port=$port
	nats_url="nats://127.0.0.1:$port"
}

# restart_nats: kill -9 the nats-server and start it again on the same
# port with the same store, as a crash and a systemd restart would.
restart_nats() {
	kill -KILL "$nats_pid"
	wait "$nats_pid" 2>/dev/null
	daemons=$(echo "$daemons" | sed "s/\\b$nats_pid\\b//")
	start_nats "$nats_port"
}

# start_host_busd BUS CONFIG-TEXT: a busd that removes its segments on
# stop.
start_host_busd() {
	printf '%s\n' "$2" >"$work/$1.conf"
	"$busd" -f -d -b "$1" -c "$work/$1.conf" 2>"$work/$1.log" &
	busd_pid=$!
	daemons="$busd_pid $daemons"
	i=0
	until "$busctl" -b "$1" ls >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 "$busd_pid" 2>/dev/null; then
			echo "FAIL: busd $1 did not start within 10 s" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# start_bridge NAME: busbridge -c $work/NAME.conf, logging to NAME.log
# (appended: restarts keep one log); sets bridge_pid once it said it is
# bridging.
start_bridge() {
	: >>"$work/$1.log"
	lines=$(grep -c "bridging bus" "$work/$1.log")
	"$bridge" -c "$work/$1.conf" >>"$work/$1.log" 2>&1 &
	bridge_pid=$!
	i=0
	until [ "$(grep -c "bridging bus" "$work/$1.log")" -gt "$lines" ]; do
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 "$bridge_pid" 2>/dev/null; then
			echo "FAIL: busbridge $1 did not start within 10 s" >&2
			cat "$work/$1.log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# figures BRIDGE-PID LOG RULE: the last figures line of RULE, after a
# SIGUSR1 (busbridge prints them on stderr).
figures() {
	before=$(grep -c "figures: $3 " "$2")
	kill -USR1 "$1"
	i=0
	while [ "$(grep -c "figures: $3 " "$2")" -le "$before" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep "figures: $3 " "$2" | tail -n 1
}

# payloads FILE: busctl's lines without the [headers] it prints first.
payloads() {
	sed 's/^\[[^]]*\] //' "$1"
}

# ---- topics: A -> NATS -> B, wildcards on both sides --------------------
case_topics() {
	start_nats
	start_host_busd "$bus_a" "
[topic prices.eu]
slow_subscriber = overwrite
[topic prices.us]
slow_subscriber = overwrite
[topic news.eu]
slow_subscriber = overwrite
[topic prices.asia]
slow_subscriber = overwrite"
	start_host_busd "$bus_b" "
[topic prices]
slow_subscriber = overwrite
header_room = 128
[topic mirror.eu]
slow_subscriber = overwrite
header_room = 128
[topic mirror.us]
slow_subscriber = overwrite
header_room = 128"
	cat >"$work/a.conf" <<EOF
[bridge]
bus = $bus_a
nats = $nats_url
name = hostA

[export prices]
; every prices.* topic, and every one made later
from = topic prices.>

[export news]
from = topic news.eu
EOF
	cat >"$work/b.conf" <<EOF
[bridge]
bus = $bus_b
nats = $nats_url
name = hostB

[import prices]
from = shmbus.hostA.prices.*
to = topic prices

[import mirror]
; a topic for each subject: shmbus.hostA.prices.eu -> mirror.eu
from = shmbus.hostA.prices.>
to = topic mirror.>
EOF
	start_bridge a
	a_pid=$bridge_pid
	pids="$a_pid $pids"
	start_bridge b
	b_pid=$bridge_pid
	pids="$b_pid $pids"

	"$busctl" -b "$bus_b" sub prices -n 4 --timeout 10 >"$work/sub" \
		2>"$work/sub.err" &
	sub_pid=$!
	"$busctl" -b "$bus_b" sub mirror.eu -n 2 --timeout 10 \
		>"$work/sub.eu" 2>&1 &
	eu_pid=$!
	"$busctl" -b "$bus_b" sub mirror.us -n 2 --timeout 10 \
		>"$work/sub.us" 2>&1 &
	us_pid=$!
	# The subscriptions are in place once stat counts them.
	for topic in prices mirror.eu mirror.us; do
		wait_subscribers "$topic" 1 "$bus_b"
	done
	"$busctl" -b "$bus_a" pub prices.eu eu-1 eu-2
	"$busctl" -b "$bus_a" pub news.eu not-for-b
	"$busctl" -b "$bus_a" pub prices.us us-1 us-2
	wait "$sub_pid"
	payloads "$work/sub" | sort >"$work/got"
	printf 'eu-1\neu-2\nus-1\nus-2\n' >"$work/want"
	check "B's subscriber gets the four prices messages, nothing else" \
		'cmp -s "$work/want" "$work/got"'
	check "each carries Shmbus-Origin=hostA and Shmbus-Hops=1" \
		'[ "$(grep -c "Shmbus-Origin=hostA Shmbus-Hops=1" "$work/sub")" -eq 4 ]'
	line=$(figures "$a_pid" "$work/a.log" prices)
	check "A's export figures count 4 forwarded: $line" \
		'echo "$line" | grep -q "forwarded=4 failed=0 dropped=0"'
	line=$(figures "$a_pid" "$work/a.log" news)
	check "A's news export forwarded 1 (nobody imports it): $line" \
		'echo "$line" | grep -q "forwarded=1 "'
	line=$(figures "$b_pid" "$work/b.log" prices)
	check "B's import figures count 4 forwarded: $line" \
		'echo "$line" | grep -q "forwarded=4 failed=0 dropped=0"'

	# to = topic mirror.>: each subject to its own topic.
	wait "$eu_pid" "$us_pid"
	check "mirror.eu got prices.eu's messages alone: $(payloads "$work/sub.eu" | tr '\n' ' ')" \
		'[ "$(payloads "$work/sub.eu" | sort | tr "\n" " ")" = "eu-1 eu-2 " ]'
	check "mirror.us got prices.us's messages alone: $(payloads "$work/sub.us" | tr '\n' ' ')" \
		'[ "$(payloads "$work/sub.us" | sort | tr "\n" " ")" = "us-1 us-2 " ]'
	# A subject whose topic B lacks fails, counted and logged once;
	# once the topic exists (looked for again after 1 s), it flows.
	"$busctl" -b "$bus_a" pub prices.asia asia-1 asia-2
	i=0
	until figures "$b_pid" "$work/b.log" mirror | grep -q "failed=2"; do
		i=$((i + 1))
		[ $i -ge 50 ] && break
		sleep 0.1
	done
	line=$(figures "$b_pid" "$work/b.log" mirror)
	check "two messages for the missing mirror.asia failed: $line" \
		'echo "$line" | grep -q "forwarded=4 failed=2 dropped=0"'
	check "the missing topic logged once" \
		'[ "$(grep -c "topic .mirror.asia.: .*until it is created" "$work/b.log")" -eq 1 ]'
	"$busctl" -b "$bus_b" create mirror.asia --topic --header-room 128 \
		>/dev/null
	"$busctl" -b "$bus_b" sub mirror.asia -n 1 --timeout 10 \
		>"$work/sub.asia" 2>&1 &
	asia_pid=$!
	pids="$asia_pid $pids"
	sleep 1.2
	i=0
	while kill -0 "$asia_pid" 2>/dev/null && [ $i -lt 50 ]; do
		"$busctl" -b "$bus_a" pub prices.asia asia-3
		sleep 0.2
		i=$((i + 1))
	done
	check "a topic created later is used: mirror.asia got asia-3" \
		'payloads "$work/sub.asia" | grep -qx asia-3'
}

# ---- queues: A -> JetStream -> B through kill -9 ------------------------
#
# 20 kill -9 of the bridges (exporter and importer in turn) and 2 kill -9
# of nats-server, restarted on the same port with the same store, while
# the messages flow; every message must arrive.
#
# Duplicates on B come from the importing bridge (b) only: killed after
# it committed a message to queue B and before its ack reached JetStream,
# or its ack lost with a nats-server that died, JetStream delivers the
# message again after ack_wait.  The exporting bridge (a) killed after
# JetStream's ack and before its bus ack makes the bus deliver that
# message again, and a publish whose ack was lost with the server is sent
# again, but each carries the same Nats-Msg-Id (origin:queue:sequence)
# and JetStream drops the copy.
case_queue_kills() {
	count=${BRIDGE_TEST_MESSAGES:-5000}
	kills=${BRIDGE_TEST_KILLS:-20}
	# The kills after which nats-server dies too.
	nats_kills=" $((kills / 3)) $((2 * kills / 3)) "
	start_nats
	start_host_busd "$bus_a" "
[queue orders]
slots = 8192
max_message = 64"
	start_host_busd "$bus_b" "
[queue orders-in]
slots = 16384
max_message = 64
header_room = 128"
	cat >"$work/a.conf" <<EOF
[bridge]
bus = $bus_a
nats = $nats_url
name = hostA

[export orders]
from = queue orders
stream = ORDERS
in_flight = 32
EOF
	cat >"$work/b.conf" <<EOF
[bridge]
bus = $bus_b
nats = $nats_url
name = hostB

[import orders]
from = jetstream ORDERS orders-b
to = queue orders-in
ack_wait = 2
EOF
	start_bridge a
	a_pid=$bridge_pid
	start_bridge b
	b_pid=$bridge_pid
	pids="$a_pid $b_pid $pids"

	# Batches of 50 every 100 ms, some 10 s in all: the messages flow
	# while the bridges and the server die.
	(
		n=1
		while [ $n -le "$count" ]; do
			end=$((n + 49))
			[ $end -gt "$count" ] && end=$count
			seq "$n" "$end" | sed 's/^/m/'
			n=$((end + 1))
			sleep 0.1
		done
	) | "$busctl" -b "$bus_a" pub orders >"$work/pub.out" 2>"$work/pub.err" &
	pub_pid=$!
	pids="$pub_pid $pids"

	k=0
	kills_in_flow=0
	restarts=0
	restarts_in_flow=0
	while [ $k -lt "$kills" ]; do
		kill -0 "$pub_pid" 2>/dev/null &&
			kills_in_flow=$((kills_in_flow + 1))
		sleep 0.$((2 + k % 3))
		if [ $((k % 2)) -eq 0 ]; then
			kill -KILL "$a_pid"
			wait "$a_pid" 2>/dev/null
		else
			kill -KILL "$b_pid"
			wait "$b_pid" 2>/dev/null
		fi
		case "$nats_kills" in
		*" $k "*)
			kill -0 "$pub_pid" 2>/dev/null &&
				restarts_in_flow=$((restarts_in_flow + 1))
			restart_nats
			restarts=$((restarts + 1))
			;;
		esac
		# A bridge's first connect is not retried: it starts once the
		# server is back.
		if [ $((k % 2)) -eq 0 ]; then
			start_bridge a
			a_pid=$bridge_pid
		else
			start_bridge b
			b_pid=$bridge_pid
		fi
		pids="$a_pid $b_pid $pub_pid"
		k=$((k + 1))
	done
	wait "$pub_pid"
	pub_rc=$?
	pids="$a_pid $b_pid"
	check "busctl pub sent the $count messages" '[ "$pub_rc" -eq 0 ]'

	# Drain B until every message was seen (60 s at most), then once
	# more past ack_wait for the redeliveries still due.
	: >"$work/got.raw"
	i=0
	while [ $i -lt 30 ]; do
		"$busctl" -b "$bus_b" consume orders-in --timeout 2 \
			>>"$work/got.raw" 2>>"$work/consume.err"
		[ "$(payloads "$work/got.raw" | sort -u | wc -l)" -ge "$count" ] &&
			break
		i=$((i + 1))
	done
	"$busctl" -b "$bus_b" consume orders-in --timeout 3 \
		>>"$work/got.raw" 2>>"$work/consume.err"
	payloads "$work/got.raw" | sort >"$work/got"
	seq 1 "$count" | sed 's/^/m/' | sort >"$work/want"
	sort -u "$work/got" >"$work/got.unique"
	missing=$(comm -23 "$work/want" "$work/got.unique" | wc -l)
	extra=$(comm -13 "$work/want" "$work/got.unique" | wc -l)
	total=$(wc -l <"$work/got")
	duplicates=$((total - $(wc -l <"$work/got.unique")))
	check "every one of $count messages reached queue B ($missing missing)" \
		'[ "$missing" -eq 0 ]'
	check "nothing else reached queue B ($extra unknown)" \
		'[ "$extra" -eq 0 ]'
	check "the bridges were killed while messages flowed ($kills_in_flow of $kills)" \
		'[ "$kills_in_flow" -ge $((kills * 3 / 4)) ]'
	check "nats-server was restarted twice while messages flowed ($restarts_in_flow of $restarts)" \
		'[ "$restarts" -eq 2 ] && [ "$restarts_in_flow" -eq 2 ]'
	echo "queue_kills: $count messages, $kills kills -9 of the bridges" \
	     "($(( (kills + 1) / 2 )) of the exporter, $((kills / 2)) of the" \
	     "importer), $restarts kills -9 and restarts of nats-server;" \
	     "$missing lost, $duplicates duplicates on queue B"
	echo "queue_kills: duplicates come from the importer killed (or the" \
	     "server gone) between its commit to queue B and JetStream's" \
	     "taking its ack: JetStream delivers those again after ack_wait." \
	     "The exporter's re-sends carry the same Nats-Msg-Id and" \
	     "JetStream drops them."
	line=$(figures "$a_pid" "$work/a.log" orders)
	echo "queue_kills: last exporter: $line"
	line=$(figures "$b_pid" "$work/b.log" orders)
	echo "queue_kills: last importer: $line"
}

# ---- both directions: no ping-pong -------------------------------------
case_no_loop() {
	start_nats
	topics="
[topic t.x]
slow_subscriber = overwrite
header_room = 128"
	start_host_busd "$bus_a" "$topics"
	start_host_busd "$bus_b" "$topics"
	for side in a b; do
		if [ $side = a ]; then
			me=hostA; other=hostB; side_bus=$bus_a
		else
			me=hostB; other=hostA; side_bus=$bus_b
		fi
		cat >"$work/$side.conf" <<EOF
[bridge]
bus = $side_bus
nats = $nats_url
name = $me

[export out]
from = topic t.>

[import in]
from = shmbus.$other.>
to = topic t.x
EOF
	done
	start_bridge a
	a_pid=$bridge_pid
	start_bridge b
	b_pid=$bridge_pid
	pids="$a_pid $b_pid $pids"

	"$busctl" -b "$bus_a" sub t.x --timeout 3 >"$work/sub.a" 2>&1 &
	sub_a=$!
	"$busctl" -b "$bus_b" sub t.x --timeout 3 >"$work/sub.b" 2>&1 &
	sub_b=$!
	for side_bus in "$bus_a" "$bus_b"; do
		wait_subscribers t.x 2 "$side_bus"
	done
	"$busctl" -b "$bus_a" pub t.x ping
	wait "$sub_a" "$sub_b"
	check "A's subscriber sees ping once (no echo back): $(cat "$work/sub.a")" \
		'[ "$(payloads "$work/sub.a")" = ping ]'
	check "B's subscriber sees ping once: $(cat "$work/sub.b")" \
		'[ "$(payloads "$work/sub.b")" = ping ]'
	line=$(figures "$a_pid" "$work/a.log" in)
	check "A's import dropped its own message coming back: $line" \
		'echo "$line" | grep -q "forwarded=0 failed=0 dropped=1"'
	line=$(figures "$b_pid" "$work/b.log" out)
	check "B re-exported it once, as hop 2: $line" \
		'echo "$line" | grep -q "forwarded=1 "'
}

# ---- a three-server cluster: one server dies, the bridges go on --------

# free_port: a TCP port nobody on this host uses, from 20000-29999 (below
# the kernel's ephemeral range, so no client socket takes it meanwhile).
# Cluster routes need every port before the first server starts.
used_ports=" "
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 10000))
		hex=$(printf '%04X' "$p")
		case "$used_ports" in *" $p "*) continue ;; esac
		grep -q ":$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null ||
			break
	done
	used_ports="$used_ports$p "
	echo "$p"
}

# start_cluster: nats-servers n1, n2 and n3 on loopback, routed to each
# other, JetStream clustered (stores in the case's directory); sets
# cluster_urls, and port_N and pid_N of each.  Returns once a JetStream
# metadata leader is elected.
start_cluster() {
	routes=
	for n in 1 2 3; do
		eval "port_$n=$(free_port) route_$n=$(free_port)"
		eval "routes=\"\$routes\${routes:+, }nats-route://127.0.0.1:\$route_$n\""
	done
	cluster_urls=
	for n in 1 2 3; do
		eval "port=\$port_$n route=\$route_$n"
		cat >"$work/n$n.conf" <<EOF
server_name: n$n
listen: 127.0.0.1:$port
jetstream { store_dir: "$work/js$n" }
cluster { name: shmbus-test, listen: "127.0.0.1:$route", routes: [ $routes ] }
EOF
		nats-server -c "$work/n$n.conf" >"$work/n$n.log" 2>&1 &
		eval "pid_$n=$!"
		daemons="$! $daemons"
		cluster_urls="$cluster_urls${cluster_urls:+, }nats://127.0.0.1:$port"
	done
	i=0
	until [ "$(cat "$work"/n[123].log | grep -c "Server is ready")" -eq 3 ] &&
	      grep -q "metadata leader" "$work"/n[123].log; do
		i=$((i + 1))
		if [ $i -ge 150 ]; then
			echo "FAIL: the NATS cluster did not form within 15 s" >&2
			cat "$work"/n[123].log >&2
			exit 1
		fi
		sleep 0.1
	done
}

# connected_server LOG: which of n1..n3 the bridge of LOG last reached.
connected_server() {
	url=$(grep -o -E "(NATS at|NATS at nats://[0-9.:]* again|connected to NATS at) nats://[0-9.]*:[0-9]*" "$1" |
	      tail -n 1 | grep -o '[0-9]*$')
	for n in 1 2 3; do
		eval "[ \"\$port_$n\" = \"$url\" ] && echo $n"
	done
}

# paced PREFIX FIRST LAST DELAY: lines PREFIX FIRST..LAST, one every
# DELAY seconds, for busctl pub to publish as they come.
paced() {
	n=$2
	while [ "$n" -le "$3" ]; do
		echo "$1$n"
		n=$((n + 1))
		sleep "$4"
	done
}

case_cluster() {
	count=${BRIDGE_TEST_MESSAGES:-2000}
	start_cluster
	start_host_busd "$bus_a" "
[topic prices]
slow_subscriber = overwrite
[queue orders]
slots = 4096
max_message = 64"
	start_host_busd "$bus_b" "
[topic prices]
slow_subscriber = overwrite
header_room = 128
[queue orders-in]
slots = 8192
max_message = 64
header_room = 128"
	cat >"$work/a.conf" <<EOF
[bridge]
bus = $bus_a
nats = $cluster_urls
name = hostA

[export prices]
from = topic prices

[export orders]
from = queue orders
stream = ORDERS
replicas = 3
EOF
	cat >"$work/b.conf" <<EOF
[bridge]
bus = $bus_b
nats = $cluster_urls
name = hostB

[import prices]
from = shmbus.hostA.prices
to = topic prices

[import orders]
from = jetstream ORDERS orders-b
to = queue orders-in
ack_wait = 2
EOF
	start_bridge a
	a_pid=$bridge_pid
	start_bridge b
	b_pid=$bridge_pid
	pids="$a_pid $b_pid $pids"
	victim=$(connected_server "$work/a.log")
	b_server=$(connected_server "$work/b.log")
	check "bridge a names the server it reached ($victim)" '[ -n "$victim" ]'
	[ -n "$victim" ] || return

	"$busctl" -b "$bus_b" sub prices --timeout 30 >"$work/sub" \
		2>"$work/sub.err" &
	sub_pid=$!
	pids="$sub_pid $pids"
	wait_subscribers prices 1 "$bus_b"
	# Queue: batches of 50 every 100 ms; topic: one every 20 ms.
	(
		n=1
		while [ $n -le "$count" ]; do
			end=$((n + 49))
			[ $end -gt "$count" ] && end=$count
			seq "$n" "$end" | sed 's/^/m/'
			n=$((end + 1))
			sleep 0.1
		done
	) | "$busctl" -b "$bus_a" pub orders >/dev/null 2>"$work/pub.err" &
	qpub_pid=$!
	paced before 1 150 0.02 | "$busctl" -b "$bus_a" pub prices \
		>/dev/null 2>>"$work/pub.err" &
	tpub_pid=$!
	pids="$qpub_pid $tpub_pid $pids"
	sleep 1.5
	eval "victim_pid=\$pid_$victim"
	kill -KILL "$victim_pid"
	wait "$victim_pid" 2>/dev/null
	check "messages were flowing when server n$victim died" \
		'kill -0 "$qpub_pid" 2>/dev/null && kill -0 "$tpub_pid" 2>/dev/null'
	# Both bridges back on a living server (b only if it was on n$victim).
	for side in a b; do
		i=0
		while [ "$(connected_server "$work/$side.log")" = "$victim" ] &&
		      [ $i -lt 150 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	done
	moved_a=$(connected_server "$work/a.log")
	moved_b=$(connected_server "$work/b.log")
	check "bridge a reconnected to another server (n$victim -> n$moved_a)" \
		'[ "$moved_a" != "$victim" ]'
	check "bridge b is on a living server (n$b_server -> n$moved_b)" \
		'[ "$moved_b" != "$victim" ]'
	wait "$tpub_pid"
	# Interest crosses the routes a moment after a resubscription.
	sleep 1
	paced after 1 100 0.01 | "$busctl" -b "$bus_a" pub prices \
		>/dev/null 2>>"$work/pub.err"
	wait "$qpub_pid"
	qpub_rc=$?
	pids="$a_pid $b_pid $sub_pid"
	check "busctl pub sent the $count queue messages" '[ "$qpub_rc" -eq 0 ]'

	: >"$work/got.raw"
	i=0
	while [ $i -lt 30 ]; do
		"$busctl" -b "$bus_b" consume orders-in --timeout 2 \
			>>"$work/got.raw" 2>>"$work/consume.err"
		[ "$(payloads "$work/got.raw" | sort -u | wc -l)" -ge "$count" ] &&
			break
		i=$((i + 1))
	done
	payloads "$work/got.raw" | sort -u >"$work/got.unique"
	seq 1 "$count" | sed 's/^/m/' | sort >"$work/want"
	missing=$(comm -23 "$work/want" "$work/got.unique" | wc -l)
	duplicates=$(($(wc -l <"$work/got.raw") - $(wc -l <"$work/got.unique")))
	check "every one of $count queue messages arrived ($missing missing)" \
		'[ "$missing" -eq 0 ]'

	stop "$sub_pid"
	before=$(payloads "$work/sub" | grep -c '^before')
	after=$(payloads "$work/sub" | grep -c '^after')
	check "topic messages flow again after the reconnect: $after of 100" \
		'[ "$after" -eq 100 ]'
	echo "cluster: server n$victim (bridge a's) killed; a moved to" \
	     "n$moved_a, b on n$b_server then n$moved_b;" \
	     "topic: $before of 150 arrived across the kill" \
	     "($((150 - before)) dropped), $after of 100 after it;" \
	     "queue: $count of $count arrived, $duplicates duplicates"
}

# ---- MQTT through nats-server's MQTT listener ---------------------------

# start_nats_conf TEXT: nats-server with the config TEXT (which needs no
# listen line: 127.0.0.1 and a free port are added); sets nats_url and
# nats_pid, and mqtt_port when TEXT opens an MQTT listener.
start_nats_conf() {
	printf 'listen: 127.0.0.1:-1\n%s\n' "$1" >"$work/nats.conf"
	nats-server -c "$work/nats.conf" >"$work/nats.log" 2>&1 &
	nats_pid=$!
	daemons="$nats_pid $daemons"
	i=0
	until grep -q "Server is ready" "$work/nats.log"; do
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 "$nats_pid" 2>/dev/null; then
			echo "FAIL: nats-server did not start within 10 s" >&2
			cat "$work/nats.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	port=$(sed -n 's/.*Listening for client connections on [0-9.]*:\([0-9]*\).*/\1/p' \
		"$work/nats.log")
	nats_url="nats://127.0.0.1:$port"
	mqtt_port=$(sed -n 's/.*Listening for MQTT clients on [a-z]*:\/\/[0-9.]*:\([0-9]*\).*/\1/p' \
		"$work/nats.log")
}

# mqtt_subscribe QOS FILE: mosquitto_sub on quotes/eu for 2 messages,
# returning once the server acknowledged the subscription; sets msub_pid.
mqtt_subscribe() {
	# Line-buffered: its SUBACK line must reach FILE at once.
	stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -i "sub-q$1-$$" \
		-t quotes/eu \
		-q "$1" -C 2 -W 15 -d >"$2" 2>&1 &
	msub_pid=$!
	pids="$msub_pid $pids"
	i=0
	until grep -q "SUBACK" "$2"; do
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 "$msub_pid" 2>/dev/null; then
			fail "mosquitto_sub -q $1 did not subscribe within 10 s"
			cat "$2" >&2
			return 1
		fi
		sleep 0.1
	done
}

case_mqtt() {
	if ! command -v mosquitto_pub >/dev/null 2>&1 ||
	   ! command -v mosquitto_sub >/dev/null 2>&1; then
		echo "test_bridge mqtt: mosquitto_pub or mosquitto_sub not" \
		     "installed (Debian: mosquitto-clients); skipped"
		exit 77
	fi
	# The MQTT listener keeps sessions and QoS 1 messages in JetStream,
	# which needs a server_name.
	start_nats_conf "server_name: mqtt-test-$$
jetstream { store_dir: \"$work/jetstream\" }
mqtt { listen: \"127.0.0.1:-1\" }"
	check "nats-server opened its MQTT listener ($mqtt_port)" \
		'[ -n "$mqtt_port" ]'
	[ -n "$mqtt_port" ] || return
	start_host_busd "$bus_a" "
[topic prices]
slow_subscriber = overwrite
header_room = 128
[topic quotes.eu]
slow_subscriber = overwrite"
	cat >"$work/a.conf" <<EOF
[bridge]
bus = $bus_a
nats = $nats_url
name = hostA

; MQTT prices/eu is NATS prices.eu
[import mqtt-prices]
from = prices.>
to = topic prices

; bus quotes.eu -> NATS quotes.eu -> MQTT quotes/eu
[export quotes]
from = topic quotes.eu
to = {subject}
EOF
	start_bridge a
	a_pid=$bridge_pid
	pids="$a_pid $pids"

	# MQTT -> NATS -> bus, at QoS 0 and 1.
	"$busctl" -b "$bus_a" sub prices -n 3 --timeout 15 >"$work/sub" \
		2>"$work/sub.err" &
	sub_pid=$!
	pids="$sub_pid $pids"
	wait_subscribers prices 1 "$bus_a"
	mqtt_pub() {
		mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -i "pub-$$" "$@" \
			2>>"$work/mqtt_pub.err"
	}
	mqtt_pub -t prices/eu -m eu-qos0 -q 0
	mqtt_pub -t prices/eu -m eu-qos1 -q 1
	mqtt_pub -t prices/us -m us-qos1 -q 1
	wait "$sub_pid"
	payloads "$work/sub" | sort >"$work/got"
	printf 'eu-qos0\neu-qos1\nus-qos1\n' >"$work/want"
	check "mosquitto_pub -> bus topic prices: $(tr '\n' ' ' <"$work/got")" \
		'cmp -s "$work/want" "$work/got"'

	# bus -> NATS -> MQTT, to a QoS 0 and a QoS 1 subscription.
	mqtt_subscribe 0 "$work/msub0" || return
	msub0=$msub_pid
	mqtt_subscribe 1 "$work/msub1" || return
	msub1=$msub_pid
	"$busctl" -b "$bus_a" pub quotes.eu q-1 q-2
	wait "$msub0" "$msub1"
	for qos in 0 1; do
		grep -v -e '^Client ' -e '^Subscribed (mid' "$work/msub$qos" \
			>"$work/mgot$qos"
		check "busctl pub quotes.eu -> mosquitto_sub -q $qos: $(tr '\n' ' ' <"$work/mgot$qos")" \
			'[ "$(cat "$work/mgot$qos")" = "$(printf "q-1\nq-2")" ]'
	done
	line=$(figures "$a_pid" "$work/a.log" mqtt-prices)
	check "the import forwarded 3: $line" \
		'echo "$line" | grep -q "forwarded=3 failed=0 dropped=0"'
	line=$(figures "$a_pid" "$work/a.log" quotes)
	check "the export forwarded 2: $line" \
		'echo "$line" | grep -q "forwarded=2 failed=0 dropped=0"'
}

# ---- requests across buses: bus A requester -> NATS -> bus B responder --

# request_a MESSAGE: busctl request on bus A's service queue pricing;
# sets reply (its output), request_rc and request_ms.
request_a() {
	t0=$(date +%s%N)
	reply=$("$busctl" -b "$bus_a" request pricing "$1" --reply-to replies \
		--timeout 5 2>"$work/request.err")
	request_rc=$?
	request_ms=$((($(date +%s%N) - t0) / 1000000))
}

case_service() {
	if [ ! -x "$responder" ]; then
		echo "test_bridge service: bridge_responder not built; skipped"
		exit 77
	fi
	start_nats
	start_host_busd "$bus_a" "
[queue pricing]
header_room = 128
[queue replies]
header_room = 128"
	start_host_busd "$bus_b" "
[queue pricing]
header_room = 128
[queue bridge-replies]"
	cat >"$work/a.conf" <<EOF
[bridge]
bus = $bus_a
nats = $nats_url
name = hostA

[export pricing]
from = service pricing
to = svc.pricing
timeout_ms = 3000
EOF
	cat >"$work/b.conf" <<EOF
[bridge]
bus = $bus_b
nats = $nats_url
name = hostB

[import pricing]
from = service svc.pricing
to = queue pricing
reply_to = bridge-replies
timeout_ms = 2000
EOF
	start_bridge a
	a_pid=$bridge_pid
	pids="$a_pid $pids"

	# Nobody subscribes to svc.pricing: NATS says "no responders".
	request_a nobody
	check "no NATS responder: answered at once (${request_ms} ms), not after the 5 s time-out" \
		'[ "$request_ms" -lt 1500 ]'
	check "no NATS responder: the no-responder error (rc $request_rc: $(cat "$work/request.err"))" \
		'[ "$request_rc" -eq 1 ] && [ -z "$reply" ] && grep -q "nothing consumes" "$work/request.err"'

	# Bridge B subscribes, but nothing on bus B consumes the service.
	start_bridge b
	b_pid=$bridge_pid
	pids="$b_pid $pids"
	request_a nobody-on-b
	check "no bus responder on B: answered at once (${request_ms} ms)" \
		'[ "$request_ms" -lt 1500 ]'
	check "no bus responder on B: the no-responder error (rc $request_rc: $(cat "$work/request.err"))" \
		'[ "$request_rc" -eq 1 ] && [ -z "$reply" ] && grep -q "nothing consumes" "$work/request.err"'

	"$responder" "$bus_b" pricing 3 20 >"$work/responder.out" \
		2>"$work/responder.err" &
	responder_pid=$!
	pids="$responder_pid $pids"
	i=0
	until grep -q ready "$work/responder.out"; do
		i=$((i + 1))
		[ $i -ge 50 ] && break
		sleep 0.1
	done
	for word in eu us asia; do
		request_a "$word"
		check "request $word on bus A answered from bus B: '$reply' in ${request_ms} ms" \
			'[ "$request_rc" -eq 0 ] && [ "$reply" = "re:$word" ]'
	done
	wait "$responder_pid"
	responder_rc=$?
	check "the responder on B served 3 requests" '[ "$responder_rc" -eq 0 ]'
	pids="$a_pid $b_pid"
	line=$(figures "$a_pid" "$work/a.log" pricing)
	check "A's export: 3 answered, 2 without a responder: $line" \
		'echo "$line" | grep -q "forwarded=3 failed=2 dropped=0"'
	line=$(figures "$b_pid" "$work/b.log" pricing)
	check "B's import: 3 answered, 1 without a bus responder: $line" \
		'echo "$line" | grep -q "forwarded=3 failed=1 dropped=0"'
}

# ---- the Prometheus endpoint --------------------------------------------

# metrics_port LOG: the port a bridge logged for its endpoint.
metrics_port() {
	sed -n 's|.*metrics at http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' \
		"$1" | tail -n 1
}

# scrape PORT FILE: GET /metrics into FILE, the headers into FILE.head;
# fails unless the answer is 200.
scrape() {
	curl -s -f --max-time 5 -D "$2.head" -o "$2" \
		"http://127.0.0.1:$1/metrics"
}

# metric FILE LINE-START: the value of the sample whose name and labels
# are LINE-START ("" when absent).
metric() {
	grep -F "$2 " "$1" | awk '{ print $NF }' | tail -n 1
}

# wait_metric PORT LINE-START VALUE: up to 10 s until the sample has VALUE;
# leaves the last page in $work/page.
wait_metric() {
	i=0
	while [ $i -lt 100 ]; do
		if scrape "$1" "$work/page" &&
		   [ "$(metric "$work/page" "$2")" = "$3" ]; then
			return 0
		fi
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}

case_metrics() {
	if ! command -v curl >/dev/null 2>&1; then
		echo "test_bridge metrics: curl not installed; skipped"
		exit 77
	fi
	count=2000
	start_nats
	start_host_busd "$bus_a" "
[topic prices.eu]
slow_subscriber = overwrite
slots = 4096
[queue orders]"
	start_host_busd "$bus_b" "
[topic prices]
slow_subscriber = overwrite
header_room = 128"
	# A's URL carries a user and password (this nats-server asks for
	# none): they must show nowhere, neither in the log nor in the figures.
	secret_url=$(echo "$nats_url" | sed 's|nats://|nats://bridge:s3cret@|')
	cat >"$work/a.conf" <<EOF
[bridge]
bus = $bus_a
nats = $secret_url
name = hostA
metrics = 127.0.0.1:0

[export prices]
from = topic prices.eu

[export orders]
from = queue orders
stream = ORDERS
EOF
	cat >"$work/b.conf" <<EOF
[bridge]
bus = $bus_b
nats = $nats_url
name = hostB
metrics = 127.0.0.1:0

[import prices]
from = shmbus.hostA.prices.*
to = topic prices
EOF
	start_bridge a
	a_pid=$bridge_pid
	pids="$a_pid $pids"
	start_bridge b
	b_pid=$bridge_pid
	pids="$b_pid $pids"
	a_port=$(metrics_port "$work/a.log")
	b_port=$(metrics_port "$work/b.log")
	check "both bridges logged a port of their own ($a_port, $b_port)" \
		'[ -n "$a_port" ] && [ -n "$b_port" ] && [ "$a_port" != 0 ] && [ "$a_port" != "$b_port" ]'
	p="$work/page"
	pa='{rule="prices",direction="export"}'
	pb='{rule="prices",direction="import"}'
	oa='{rule="orders",direction="export"}'

	# Before any traffic.
	check "A answers 200 on /metrics" 'scrape "$a_port" "$p"'
	check "text format 0.0.4: $(grep -i content-type "$p.head" | tr -d '\r')" \
		'grep -qi "^content-type: text/plain; version=0.0.4" "$p.head"'
	check "every family has HELP and TYPE" \
		'[ "$(grep -c "^# TYPE shmbus_bridge_" "$p")" -eq 7 ] && [ "$(grep -c "^# HELP shmbus_bridge_" "$p")" -eq 7 ]'
	check "connected 1, reconnects 0, nothing forwarded yet" \
		'[ "$(metric "$p" shmbus_bridge_connected)" = 1 ] && [ "$(metric "$p" shmbus_bridge_reconnects_total)" = 0 ] && [ "$(metric "$p" "shmbus_bridge_forwarded_total$pa")" = 0 ]'
	check "every figure of a rule, lag included: $(grep -c "$pa" "$p") lines" \
		'for f in forwarded_total failed_total dropped_total in_flight lag; do grep -qF "shmbus_bridge_$f$pa " "$p" || exit 1; done'
	check "another path is 404" \
		'[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$a_port/other")" = 404 ]'

	# During: 2000 messages over about 2 s, scraped every 0.1 s; the
	# figure never goes back and never passes what was sent.
	(for i in $(seq 0 39); do
		seq $((i * 50 + 1)) $((i * 50 + 50))
		sleep 0.05
	done) | "$busctl" -b "$bus_a" pub prices.eu >/dev/null 2>&1 &
	pub_pid=$!
	last=0
	scrapes=0
	bad=""
	while kill -0 "$pub_pid" 2>/dev/null; do
		if scrape "$a_port" "$p"; then
			v=$(metric "$p" "shmbus_bridge_forwarded_total$pa")
			lag=$(metric "$p" "shmbus_bridge_lag$pa")
			scrapes=$((scrapes + 1))
			if [ -z "$v" ] || [ -z "$lag" ] || [ "$v" -lt "$last" ] ||
			   [ "$v" -gt $count ]; then
				bad="$bad forwarded=$v lag=$lag after $last;"
			fi
			last=${v:-$last}
		else
			bad="$bad a scrape failed;"
		fi
		sleep 0.1
	done
	wait "$pub_pid"
	check "$scrapes scrapes during traffic, each 200 and forwarded climbing ($last by the last):$bad" \
		'[ -z "$bad" ] && [ "$scrapes" -ge 5 ]'

	# After: every message counted on both sides, the lag back to 0.
	check "A forwarded all $count" \
		'wait_metric "$a_port" "shmbus_bridge_forwarded_total$pa" $count'
	check "A's topic lag back to 0" \
		'wait_metric "$a_port" "shmbus_bridge_lag$pa" 0'
	check "A failed and dropped nothing" \
		'[ "$(metric "$p" "shmbus_bridge_failed_total$pa")" = 0 ] && [ "$(metric "$p" "shmbus_bridge_dropped_total$pa")" = 0 ]'
	check "B's import forwarded all $count" \
		'wait_metric "$b_port" "shmbus_bridge_forwarded_total$pb" $count'
	check "B's import lag (nats.c's pending) back to 0" \
		'wait_metric "$b_port" "shmbus_bridge_lag$pb" 0'
	line=$(figures "$a_pid" "$work/a.log" prices)
	check "SIGUSR1's line agrees: $line" \
		'echo "$line" | grep -q "forwarded=$count failed=0 dropped=0"'

	# NATS away: connected 0, the queue's messages wait (lag 5); back:
	# connected 1, one reconnect, all 5 forwarded, lag 0.
	kill -KILL "$nats_pid"
	wait "$nats_pid" 2>/dev/null
	daemons=$(echo "$daemons" | sed "s/\\b$nats_pid\\b//")
	check "connected 0 while nats-server is down" \
		'wait_metric "$a_port" shmbus_bridge_connected 0'
	"$busctl" -b "$bus_a" pub orders o1 o2 o3 o4 o5
	check "queue lag 5 while NATS is away" \
		'wait_metric "$a_port" "shmbus_bridge_lag$oa" 5'
	start_nats "$nats_port"
	check "connected 1 again" \
		'wait_metric "$a_port" shmbus_bridge_connected 1'
	check "the 5 queue messages forwarded" \
		'wait_metric "$a_port" "shmbus_bridge_forwarded_total$oa" 5'
	check "queue lag back to 0" \
		'wait_metric "$a_port" "shmbus_bridge_lag$oa" 0'
	check "one reconnect counted" \
		'[ "$(metric "$p" shmbus_bridge_reconnects_total)" = 1 ]'

	# busctl bridge: the same figures, from each bridge's status topic.
	check "busctl bridge hostA: running, connected, 1 reconnect, $count and 5 forwarded, lags 0" \
		'wait_bridge "$bus_a" hostA ".state == \"running\" and .connected and .reconnects == 1 and (.rules[] | select(.rule == \"prices\") | .forwarded == $count and .failed == 0 and .lag == 0) and (.rules[] | select(.rule == \"orders\") | .kind == \"export-queue\" and .forwarded == 5 and .lag == 0)"'
	check "the NATS URL without its password, in busctl bridge and the log" \
		'jq -e ".nats | test(\"^nats://127.0.0.1:\")" "$work/bridge.json" >/dev/null && ! grep -q s3cret "$work/bridge.json" "$work/a.log"'
	"$busctl" -b "$bus_a" bridge >"$work/bridge.out" 2>&1
	check "busctl bridge as text: a line per rule with its figures: $(cat "$work/bridge.out")" \
		'grep -q "^bridge hostA (topic busbridge.hostA.a): running, connected, 1 reconnect," "$work/bridge.out" && grep -Eq "^  prices +export-topic +$count +0 +0 +0 +0$" "$work/bridge.out"'
	check "busctl bridge on bus B: its import, lag read from nats.c" \
		'wait_bridge "$bus_b" hostB "(.rules[0] | .rule == \"prices\" and .kind == \"import-core\" and .forwarded == $count and .lag == 0)"'
	# A second bridge of the same origin (busbridge.8: one for streams,
	# one for requests) keeps its figures apart: its default topic
	# carries its config's name.
	cat >"$work/c.conf" <<EOF
[bridge]
bus = $bus_a
nats = $nats_url
name = hostA

[export again]
from = topic prices.eu
to = other.{subject}
EOF
	start_bridge c
	c_pid=$bridge_pid
	pids="$c_pid $pids"
	check "two bridges of origin hostA: two status topics, each its own rules" \
		'wait_bridge "$bus_a" hostA "select(.topic == \"busbridge.hostA.c\") | .rules[0].rule == \"again\"" && [ "$(jq -s "[.[] | .topic] | sort == [\"busbridge.hostA.a\", \"busbridge.hostA.c\"]" "$work/bridge.json")" = true ]'
	check "no warning of a shared status topic" \
		'! grep -q "publishes its figures there too" "$work/c.log"'
	stop "$a_pid"
	forget "$a_pid"
	check "a bridge stopped cleanly says so, with its final figures" \
		'wait_bridge "$bus_a" hostA.a ".state == \"stopped\" and (.rules[] | select(.rule == \"prices\") | .forwarded == $count)"'
	kill -KILL "$b_pid"
	wait "$b_pid" 2>/dev/null
	forget "$b_pid"
	check "a bridge killed with -9 shows as stale after three intervals" \
		'wait_bridge "$bus_b" hostB ".state == \"stale\" and .age_ms > 3000" 60'
	"$busctl" -b "$bus_a" bridge nobody >"$work/bridge.out" 2>&1
	rc=$?
	check "busctl bridge of an unknown bridge: exit 1, naming its topic: $(cat "$work/bridge.out")" \
		'[ "$rc" -eq 1 ] && grep -q "busbridge.nobody" "$work/bridge.out"'
	"$busctl" -b "$bus_a" create busbridge.fake --topic >/dev/null &&
		"$busctl" -b "$bus_a" pub busbridge.fake "not figures" >/dev/null
	"$busctl" -b "$bus_a" bridge fake >"$work/bridge.out" 2>&1
	rc=$?
	check "a status topic holding something else: exit 1 and why: $(cat "$work/bridge.out")" \
		'[ "$rc" -eq 1 ] && grep -q "does not hold a bridge.s figures: line 1: " "$work/bridge.out"'
}

# wait_bridge BUS ORIGIN JQ [TRIES]: busctl --json bridge ORIGIN on BUS
# until JQ holds (TRIES x 0.1 s, default 50).
wait_bridge() {
	i=0
	while [ $i -lt "${4:-50}" ]; do
		"$busctl" -b "$1" --json bridge "$2" >"$work/bridge.json" 2>&1 &&
			jq -e "$3" "$work/bridge.json" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "  last: $(cat "$work/bridge.json")" >&2
	return 1
}

# ---- bad configs --------------------------------------------------------

# expect_refusal WHAT WORDS: busbridge -c $work/bad.conf exits 1, prints
# nothing on stdout, and its stderr holds WORDS.
expect_refusal() {
	checks=$((checks + 1))
	timeout 20 "$bridge" -c "$work/bad.conf" >"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" -ne 1 ] || [ -s "$work/out" ] ||
	   ! grep -qF -- "$2" "$work/err"; then
		fail "$1: expected exit 1 and '$2' on stderr; got $rc:"
		sed 's/^/  /' "$work/err" >&2
	fi
}

case_config() {
	start_host_busd "$bus_a" "
[queue orders]
[topic plain]"
	good="[bridge]
bus = $bus_a
nats = nats://127.0.0.1:1"
	f="$work/bad.conf"

	printf '%s\n[export x]\nfrom = queue orders\ncolour = red\n' "$good" >"$f"
	expect_refusal "unknown key" "bad.conf:6: unknown key 'colour' in [export x]; expected from, to, mode, stream, replicas, in_flight or timeout_ms"
	printf '%s\n[exporter x]\n' "$good" >"$f"
	expect_refusal "unknown section" "bad.conf:4: unknown section [exporter x]; expected [bridge], [export NAME] or [import NAME]"
	printf '%s\n[import x]\nfrom = a..b\nto = topic plain\n' "$good" >"$f"
	expect_refusal "empty subject token" "bad.conf:5: from = 'a..b' is not a NATS subject pattern"
	printf '%s\n[import x]\nfrom = a.>.b\nto = topic plain\n' "$good" >"$f"
	expect_refusal "'>' not last" "bad.conf:5: from = 'a.>.b' is not a NATS subject pattern"
	printf '%s\n[export x]\nfrom = topic plain\nto = out.{topic}\n' "$good" >"$f"
	expect_refusal "bad template" "bad.conf:4: [export x]: to = 'out.{topic}': only {name} and {subject} may stand in braces"
	printf '%s\n[export x]\nfrom = queue orders\nmode = core\n' "$good" >"$f"
	expect_refusal "queue over core" "a queue goes to JetStream only"
	printf '%s\n[export x]\nto = a.b\n' "$good" >"$f"
	expect_refusal "no from" "bad.conf:4: [export x] needs from = ..."
	printf '%s\nname = a.b\n[export x]\nfrom = queue orders\n' "$good" >"$f"
	expect_refusal "dotted origin" "bad.conf:4: name = 'a.b' is not an origin id"
	printf '%s\n[import x]\nfrom = a.*\nto = topic m.>\n' "$good" >"$f"
	expect_refusal "a topic per subject needs from ending in '>'" "bad.conf:4: [import x]: to = topic PREFIX.> maps the tokens that from's '>' matched"
	printf '%s\n[import x]\nfrom = a.>\nto = topic m/n.>\n' "$good" >"$f"
	expect_refusal "bad topic prefix" "bad.conf:6: to = 'topic m/n.>': the prefix before '.>' is not a topic name"
	printf '%s\nstatus_topic = a/b\n[export x]\nfrom = queue orders\n' "$good" >"$f"
	expect_refusal "bad status topic" "bad.conf:4: status_topic = 'a/b' is neither a topic name"
	printf '%s\n[export x]\nfrom = queue nope\n' "$good" >"$f"
	expect_refusal "unknown queue" "bad.conf:4: [export x]: bus $bus_a has no queue 'nope'"
	printf '%s\n[export x]\nfrom = topic nope\n' "$good" >"$f"
	expect_refusal "unknown topic" "bad.conf:4: [export x]: bus $bus_a has no topic 'nope'"
	printf '%s\n[import x]\nfrom = a.b\nto = topic plain\n' "$good" >"$f"
	expect_refusal "import target without header_room" "topic 'plain' has header_room 0; an import needs at least 128"
	printf '%s\n[export x]\nfrom = topic plain\n' "$good" >"$f"
	expect_refusal "unreachable NATS server" "cannot connect to NATS at nats://127.0.0.1:1"
	printf '[bridge]\nbus = no-such-bus-%s\n[export x]\nfrom = topic plain\n' $$ >"$f"
	expect_refusal "no busd" "cannot connect to bus no-such-bus-$$"
	printf '%s\nmetrics = localhost:x\n[export x]\nfrom = topic plain\n' "$good" >"$f"
	expect_refusal "bad metrics address" "bad.conf:4: metrics = 'localhost:x' is not HOST:PORT"
	printf '[bridge]\nbus = x\n[export x]\nfrom = topic plain\n\001\002\n' >"$f"
	expect_refusal "junk line" "bad.conf:5: expected [section] or key = value"
	expect_refusal_args() {
		checks=$((checks + 1))
		"$bridge" "$@" >"$work/out" 2>"$work/err"
		rc=$?
		if [ "$rc" -ne 1 ] || ! grep -qF -- "$want" "$work/err"; then
			fail "busbridge $*: expected exit 1 and '$want'"
		fi
	}
	want="-c FILE is required"
	expect_refusal_args
	want="cannot read the config file $work/none.conf"
	expect_refusal_args -c "$work/none.conf"
}

case "$case_name" in
topics) case_topics ;;
queue_kills) case_queue_kills ;;
no_loop) case_no_loop ;;
cluster) case_cluster ;;
mqtt) case_mqtt ;;
service) case_service ;;
metrics) case_metrics ;;
config) case_config ;;
*)
	echo "test_bridge: unknown case '$case_name'" >&2
	exit 1
	;;
esac

if [ "$failures" -ne 0 ]; then
	for log in "$work"/*.log; do
		echo "---- $(basename "$log")" >&2
		tail -n 20 "$log" >&2
	done
	echo "test_bridge $case_name: $failures of $checks checks failed" >&2
	exit 1
fi
echo "test_bridge $case_name: $checks checks passed"
exit 0
