#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_units.sh PACKAGING_DIR BUSD
#
# The systemd units (busd's and busgate's): `systemd-analyze security
# --offline=yes` rates each below an exposure of 3.0; none turns on what
# would lose the queues (RemoveIPC=, DynamicUser=, PrivateIPC=); the runtime directory outlives
# a restart; busd@ needs its configuration file, and busd -c refuses a
# missing one rather than serve an empty bus.  Skipped (77) without a
# systemd-analyze that has --offline (systemd 250).
set -u
units=${1:-}
busd=${2:-}
failures=0
checks=0

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "test_units: systemd-analyze is missing; skipped"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-units-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

expect() {
	message=$1
	shift
	checks=$((checks + 1))
	"$@" || fail "$message"
}

for unit in busd.service busd@.service; do
	sed 's|@BUSD_PATH@|/usr/bin/busd|' "$units/$unit.in" >"$work/$unit"
	systemd-analyze security --offline=yes --no-pager "$work/$unit" \
		>"$work/report" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
		"$work/report")
	if [ -z "$score" ]; then
		if grep -q "offline" "$work/report"; then
			echo "test_units: systemd-analyze has no --offline; skipped"
			exit 77
		fi
		fail "$unit: no exposure level in: $(cat "$work/report")"
		continue
	fi
	expect "$unit: exposure $score, must be below 3.0" \
		awk -v s="$score" 'BEGIN { exit !(s < 3.0) }'
	for setting in RemoveIPC=yes DynamicUser=yes PrivateIPC=yes \
		PrivateUsers=yes ProtectProc=invisible; do
		expect "$unit sets $setting, which breaks the bus" \
			sh -c "! grep -q '^$setting' '$work/$unit'"
	done
	for setting in User=shmbus Group=shmbus RuntimeDirectory=shmbus \
		RuntimeDirectoryPreserve=yes NoNewPrivileges=yes \
		"CapabilityBoundingSet=$" ProtectSystem=strict \
		SystemCallFilter=@system-service \
		Environment=BUS_RUNTIME_DIR=/run/shmbus; do
		expect "$unit lacks $setting" grep -q "^$setting" "$work/$unit"
	done
done

# busgate's unit: a client of busd's bus, as a user of its own: not as
# busd's user, whom busd treats as admin, since without a users file every
# local user acts as the gateway's user.
sed 's|@BUSGATE_PATH@|/usr/bin/busgate|' "$units/busgate.service.in" \
	>"$work/busgate.service"
systemd-analyze security --offline=yes --no-pager "$work/busgate.service" \
	>"$work/report" 2>&1
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	"$work/report")
expect "busgate.service: exposure '$score', must be below 3.0" \
	awk -v s="$score" 'BEGIN { exit !(s != "" && s < 3.0) }'
for setting in RemoveIPC=yes DynamicUser=yes PrivateIPC=yes \
	PrivateUsers=yes ProtectProc=invisible RuntimeDirectory=; do
	expect "busgate.service sets $setting, which breaks the bus" \
		sh -c "! grep -q '^$setting' '$work/busgate.service'"
done
for setting in Type=notify User=busgate Group=busgate \
	"ExecStart=/usr/bin/busgate -c /etc/shmbus/busgate.conf$"; do
	expect "busgate.service lacks $setting" \
		grep -q "^$setting" "$work/busgate.service"
done

expect "busd@ does not read /etc/shmbus/%i.conf with -c" \
	grep -q '^ExecStart=.* -c /etc/shmbus/%i.conf$' "$work/busd@.service"
expect "busd@ does not assert its configuration file" \
	grep -q '^AssertPathExists=/etc/shmbus/%i.conf$' "$work/busd@.service"

if [ -x "$busd" ]; then
	BUS_RUNTIME_DIR="$work" timeout 20 "$busd" -f -b "t-units-$$" \
		-c "$work/missing.conf" >"$work/out" 2>"$work/err"
	rc=$?
	expect "busd -c MISSING: exit $rc, expected 1" [ "$rc" -eq 1 ]
	expect "busd -c MISSING: $(cat "$work/err")" \
		grep -q "cannot read $work/missing.conf: No such file" \
		"$work/err"
fi
echo "test_units: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
