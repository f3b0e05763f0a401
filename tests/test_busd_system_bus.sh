#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busd_system_bus.sh BUSD BUSCTL
#
# A client whose own runtime directory has no busd reaches the system
# bus's (BUS_SYSTEM_RUNTIME_DIR stands in for /run/shmbus), and when no
# busd serves the bus at all the error names both socket paths it tried.
name=system_bus
. "$(dirname "$0")/lib.sh"

system="$work/system"
mkdir -m 0755 "$system"
# busd runs as the "system" busd: its runtime directory is the system one.
BUS_RUNTIME_DIR="$system" "$busd" -f -b "$bus" 2>"$work/busd.log" &
busd_pid=$!
wait_for_socket "$system/$bus.sock" || {
	echo "FAIL: busd did not start: $(cat "$work/busd.log")" >&2
	exit 1
}

# A client of another user's session: its own directory is empty.
export BUS_SYSTEM_RUNTIME_DIR="$system"
ctl ls
expect "busctl ls did not reach the system bus: $(cat "$work/err")" \
	[ "$rc" -eq 0 ]
ctl create reached
expect "busctl create on the system bus failed: $(cat "$work/err")" \
	[ "$rc" -eq 0 ]

stop_pid "$busd_pid"
busd_pid=
ctl ls
expect "busctl ls without any busd: exit $rc" [ "$rc" -eq 1 ]
expect "the error does not name the own socket: $(cat "$work/err")" \
	grep -qF "$BUS_RUNTIME_DIR/$bus.sock" "$work/err"
expect "the error does not name the system socket: $(cat "$work/err")" \
	grep -qF "$system/$bus.sock" "$work/err"
finish
