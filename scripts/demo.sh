#!/usr/bin/env bash
# A short tour: start busd on its built-in default (bus "default" with one
# MPMC queue "default"), publish from two producer processes, consume with a
# consumer process, show the queue's figures, and stop busd.
#
#   scripts/demo.sh            (after cmake -S . -B build && cmake --build build)
#
# BUILD_DIR picks another build folder; BUS_NAME another bus.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BUSD="$BUILD_DIR/busd/busd"
BUSCTL="$BUILD_DIR/busctl/busctl"
BUS=${BUS_NAME:-default}
QUEUE=default

for program in "$BUSD" "$BUSCTL"; do
	if [ ! -x "$program" ]; then
		echo "demo: $program is missing; build first:" >&2
		echo "  cmake -S . -B build && cmake --build build -j2" >&2
		exit 1
	fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-demo.XXXXXX")
BUSD_PID=""

cleanup() {
	if [ -n "$BUSD_PID" ] && kill -0 "$BUSD_PID" 2>/dev/null; then
		kill -TERM "$BUSD_PID"
		wait "$BUSD_PID" || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# The directory libbus uses for control sockets (see bus_runtime_dir()).
default_runtime_dir() {
	if [ -n "${BUS_RUNTIME_DIR:-}" ]; then
		echo "$BUS_RUNTIME_DIR"
	elif [ "$(id -u)" -eq 0 ]; then
		echo /run/shmbus
	elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then
		echo "$XDG_RUNTIME_DIR/shmbus"
	else
		echo "/tmp/shmbus-$(id -u)"
	fi
}

# Use the default runtime directory when we may write there (or create
# it); else a private one for this demo only.
RUNTIME_DIR=$(default_runtime_dir)
if { [ -d "$RUNTIME_DIR" ] && [ -w "$RUNTIME_DIR" ]; } ||
	{ [ ! -e "$RUNTIME_DIR" ] && [ -w "$(dirname "$RUNTIME_DIR")" ]; }; then
	:
else
	export BUS_RUNTIME_DIR="$WORK/run"
	mkdir -p "$BUS_RUNTIME_DIR"
	echo "demo: $RUNTIME_DIR is not writable; using $BUS_RUNTIME_DIR"
fi

if "$BUSCTL" -b "$BUS" ls >/dev/null 2>&1; then
	echo "demo: a busd already serves bus '$BUS'; stop it, or run" \
		"BUS_NAME=demo $0" >&2
	exit 1
fi

echo "== starting busd (bus '$BUS', built-in configuration)"
"$BUSD" -f -b "$BUS" 2>"$WORK/busd.log" &
BUSD_PID=$!
for _ in $(seq 100); do
	"$BUSCTL" -b "$BUS" stat "$QUEUE" >/dev/null 2>&1 && break
	if ! kill -0 "$BUSD_PID" 2>/dev/null; then
		cat "$WORK/busd.log" >&2
		BUSD_PID=""
		echo "demo: busd did not start" >&2
		exit 1
	fi
	sleep 0.1
done
echo "busd runs as pid $BUSD_PID"
"$BUSCTL" -b "$BUS" ls

echo "== a consumer waits for 5 messages on queue '$QUEUE'"
"$BUSCTL" -b "$BUS" consume "$QUEUE" -n 5 --timeout 10 >"$WORK/received" &
CONSUMER_PID=$!

echo "== producer 1 publishes 3 messages given as arguments"
"$BUSCTL" -b "$BUS" pub "$QUEUE" "order 1: 2 coffees" "order 2: 1 tea" \
	"order 3: 3 croissants"
echo "== producer 2 publishes 2 lines from its stdin"
printf 'payment for order 1\npayment for order 2\n' |
	"$BUSCTL" -b "$BUS" pub "$QUEUE"

wait "$CONSUMER_PID"
echo "== the consumer printed (and acked):"
sed 's/^/  /' "$WORK/received"

echo "== busctl stat $QUEUE"
"$BUSCTL" -b "$BUS" stat "$QUEUE"

echo "== stopping busd (pid $BUSD_PID)"
kill -TERM "$BUSD_PID"
wait "$BUSD_PID" || true
BUSD_PID=""
echo "done"
