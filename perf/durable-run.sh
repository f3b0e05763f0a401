#!/bin/sh
# SPDX-License-Identifier: MIT
#
# perf/durable-run.sh [BUILD_DIR] [REPS]
#
# What durable = yes costs, in one run on one file system (the data_dir in
# a temporary directory under $TMPDIR, default /tmp): 64-byte messages
# streamed into the same queue settings not durable and durable with sync
# = none, interval and always (a forked consumer acks them), and the
# confirm latency (one send + bus_flush) with sync = always against
# floor-fsync, a bare pwrite + fdatasync of the same bytes in the same
# directory.  Each repetition runs every case in turn; the medians and the
# ratio lines are printed (medians of min, p50, p99, p99.9 and max for the
# confirm and its floor).  Targets (issue 21): interval >= 0.5x not
# durable; confirm p50 <= 1.2x floor-fsync.  Also the catch-up replay
# speed: a subscription from a sequence reading COUNT 64-byte messages of
# a recorded topic from its journal (page cache warm), beside floor-read,
# a bare read(2) of the same files.
#
# It starts its own busd (a temporary BUS_RUNTIME_DIR and data_dir) and
# stops it by pid.
set -eu

build=${1:-build}
reps=${2:-3}
count=${STREAM_COUNT:-1000000}
confirms=${CONFIRM_COUNT:-2000}
slots=${SLOTS:-4096}
bench=$build/perf/durable-bench
for program in "$build/busd/busd" "$bench"; do
	if [ ! -x "$program" ]; then
		echo "durable-run.sh: $program is not built" >&2
		exit 2
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-durable-perf-XXXXXX")
bus=perf-durable-$$
busd_pid=
cleanup() {
	if [ -n "$busd_pid" ]; then
		kill "$busd_pid" 2>/dev/null || true
		wait "$busd_pid" 2>/dev/null || true
	fi
	rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]*
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export BUS_RUNTIME_DIR="$work/run"
mkdir -m 0700 "$BUS_RUNTIME_DIR"
queue() {
	printf '[queue %s]\nslots = %s\nmax_message = 64\n%s\n\n' "$1" \
		"$slots" "$2"
}
{
	printf '[bus]\ndata_dir = %s/data\n\n' "$work"
	queue plain ""
	queue none "durable = yes
sync = none"
	queue interval "durable = yes
sync = interval"
	queue always "durable = yes
sync = always"
	for rep in $(seq "$reps"); do
		printf '[topic catchup%s]\nslots = %s\nmax_message = 64\n' \
			"$rep" "$slots"
		printf 'record = yes\n\n'
	done
} >"$work/busd.conf"
"$build/busd/busd" -f -b "$bus" -c "$work/busd.conf" -d 2>"$work/busd.log" &
busd_pid=$!
for _ in $(seq 100); do
	[ -S "$BUS_RUNTIME_DIR/$bus.sock" ] && break
	sleep 0.05
done

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

for rep in $(seq "$reps"); do
	for q in plain none interval always; do
		"$bench" stream "$bus" "$q" "$count" |
			awk '{ print $2 }' >>"$work/stream.$q"
	done
	"$bench" confirm "$bus" always "$confirms" >>"$work/confirm"
	"$bench" floor-fsync "$work" "$confirms" >>"$work/floor"
	# Catch-up: a fresh recorded topic each time, so that its directory
	# holds exactly these messages; then the bare read of its files.
	"$bench" catch-up "$bus" "catchup$rep" "$count" |
		awk '{ print $2 }' >>"$work/catchup"
	"$bench" floor-read "$work/data/catchup$rep" >>"$work/read"
done

printf '%-28s %14s\n' case "msgs/s (median of $reps)"
for q in plain none interval always; do
	printf '%-28s %14s\n' "stream-$q" "$(median <"$work/stream.$q")"
done
# Fields of durable-bench: p50_ns N p99_ns N min_ns N p999_ns N max_ns N.
field() {
	awk -v f="$2" '{ print $f }' "$1" | median
}
c50=$(field "$work/confirm" 2)
f50=$(field "$work/floor" 2)
for case in confirm floor; do
	printf '%-28s p50 %s ns p99 %s ns min %s ns p99.9 %s ns max %s ns\n' \
		"$([ $case = confirm ] && echo confirm-always || echo floor-fsync)" \
		"$(field "$work/$case" 2)" "$(field "$work/$case" 4)" \
		"$(field "$work/$case" 6)" "$(field "$work/$case" 8)" \
		"$(field "$work/$case" 10)"
done
# The ratio of each repetition (confirm and floor ran back to back):
# steadier than the ratio of the medians while the disk's speed drifts.
paste -d '|' "$work/confirm" "$work/floor" |
	awk -F '|' '{ split($1, c, " "); split($2, f, " "); print c[2] / f[2] }' |
	median |
	awk '{ printf "ratio confirm / floor-fsync p50, median of the repetitions: %.2fx\n", $1 }'
plain=$(median <"$work/stream.plain")
for q in none interval always; do
	awk -v a="$(median <"$work/stream.$q")" -v b="$plain" -v q="$q" \
		'BEGIN { printf "ratio stream-%s / stream-plain: %.2fx\n", q, a / b }'
done
catchup=$(median <"$work/catchup")
# The floor in messages a second: its bytes/s over the bytes a message
# takes in the files read.
read_mps=$(awk -v n="$count" '{ print $2 / ($4 / n) }' "$work/read" | median)
printf '%-28s %14s\n' "catch-up-from-disk" "$catchup"
printf '%-28s %14s\n' "floor-read (msgs/s)" "$read_mps"
awk -v a="$catchup" -v b="$read_mps" \
	'BEGIN { printf "ratio catch-up / floor-read: %.2fx\n", a / b }'
awk -v a="$c50" -v b="$f50" \
	'BEGIN { printf "ratio confirm-always p50 / floor-fsync p50: %.2fx (target <= 1.2x)\n", a / b }'
