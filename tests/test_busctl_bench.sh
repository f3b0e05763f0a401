#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl_bench.sh BUSD BUSCTL [BUILD_DIR]
#
# busctl bench against a private busd, with a small --count: the table has
# the floor's row and every bus row, the round trips with their ratio to
# the floor; --json gives one valid object per case (python3 -m json.tool
# --json-lines); bad options are usage errors; SIGINT in the middle of a
# case exits 130 and leaves no temporary queue or topic behind.  With
# BUILD_DIR it first installs that build into a temporary prefix and runs
# the installed busd and busctl instead.  Needs two CPUs (exit 77 otherwise).
# Exit 0 pass, 1 fail.
name=test_busctl_bench
build=${3:-}
if [ "$(nproc)" -lt 2 ]; then
	echo "$name: needs two CPUs; skipped"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
bench_pid=

on_exit() {
	stop_pid "$bench_pid"
}

if [ -n "$build" ]; then
	if ! cmake --install "$build" --prefix "$work/prefix" \
		>"$work/install.log" 2>&1; then
		cat "$work/install.log" >&2
		echo "FAIL: cmake --install $build" >&2
		exit 1
	fi
	busctl="$work/prefix/bin/busctl"
	busd="$work/prefix/bin/busd"
	if [ ! -x "$busctl" ] || [ ! -x "$busd" ]; then
		echo "FAIL: no busctl or busd in $work/prefix/bin" >&2
		exit 1
	fi
fi

start_busd

# no_leftovers WHEN: nothing of busctl bench's is on the bus or in /dev/shm.
no_leftovers() {
	"$busctl" -b "$bus" ls >"$work/ls" 2>&1 || fail "$1: busctl ls failed"
	grep -q busctl-bench "$work/ls" &&
		fail "$1: temporary queues left: $(cat "$work/ls")"
	for segment in /dev/shm/shmbus."$bus":busctl-bench*; do
		[ -e "$segment" ] && fail "$1: $segment left behind"
	done
}

# ---- the table --------------------------------------------------------

if ! "$busctl" -b "$bus" bench --count 2000 >"$work/table" \
	2>"$work/err"; then
	fail "bench: $(cat "$work/err")"
fi
cat "$work/table"
for row in "^floor-spin  *busy  *round trip" \
	"^roundtrip  *busy  *round trip .*x  *[<0-9.]*x$" \
	"^roundtrip  *spin-futex  *round trip .*x  *[<0-9.]*x$" \
	"^roundtrip  *futex  *round trip .*x  *[<0-9.]*x$" \
	"^stream  *spin-futex  *publish to receive" \
	"^stream-batch/64  *spin-futex" "^fanout-1  *spin-futex"; do
	grep -q -e "$row" "$work/table" || fail "no row '$row' in the table"
done
grep -q "^case .*min .*p50 .*p99 .*p99.9 .*max .*msgs/s .*p50/floor" \
	"$work/table" || fail "no header line"
no_leftovers "after the table"

# ---- JSON ---------------------------------------------------------------

if ! "$busctl" -b "$bus" bench --count 1000 --size 128 --json \
	>"$work/json" 2>"$work/err"; then
	fail "bench --json: $(cat "$work/err")"
fi
if command -v python3 >/dev/null 2>&1; then
	python3 -m json.tool --json-lines "$work/json" >/dev/null ||
		fail "bench --json is not one JSON object per line"
	python3 - "$work/json" <<'PY' || fail "bench --json: wrong figures"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
names = [(r["case"], r["wait"], r["batch"]) for r in rows]
assert names == [("floor-spin", "busy", 1), ("roundtrip", "busy", 1),
                 ("roundtrip", "spin-futex", 1), ("roundtrip", "futex", 1),
                 ("stream", "spin-futex", 1),
                 ("stream-batch", "spin-futex", 64),
                 ("fanout-1", "spin-futex", 1)], names
for r in rows:
    assert r["count"] > 0 and r["msgs_per_s"] > 0, r
    assert 0 < r["min_ns"] <= r["p50_ns"] <= r["p99_ns"] <= r["p999_ns"] \
        <= r["max_ns"], r
    assert all(isinstance(r[k], int) for k in ("min_ns", "p50_ns",
               "p99_ns", "p999_ns", "max_ns")), r
    assert r["size"] == (56 if r["case"] == "floor-spin" else 128), r
    if r["case"] == "roundtrip":
        assert r["p50_vs_floor"] > 0 and r["floor_p50_ns"] > 0, r
PY
fi
no_leftovers "after --json"

# ---- usage errors ----------------------------------------------------------

for bad in "--size 7" "--size 0" "--count 0" "--cpus 1" "--cpus 1,1" \
	"--frobnicate" "extra"; do
	# shellcheck disable=SC2086 # the options split on purpose
	"$busctl" -b "$bus" bench $bad >/dev/null 2>"$work/err"
	rc=$?
	[ "$rc" -eq 2 ] || fail "bench $bad: exit $rc, expected 2"
	grep -q "^busctl: bench: " "$work/err" ||
		fail "bench $bad: no 'busctl: bench:' line: $(cat "$work/err")"
done

# ---- Ctrl-C in the middle of a bus case ------------------------------------

# Long enough that the interrupt lands in the bus cases, after the floor.
"$busctl" -b "$bus" bench --count 100000000 >"$work/stopped" \
	2>"$work/err" &
bench_pid=$!
for _ in $(seq 200); do
	"$busctl" -b "$bus" ls 2>/dev/null | grep -q busctl-bench && break
	sleep 0.05
done
kill -INT "$bench_pid"
wait "$bench_pid"
rc=$?
bench_pid=
[ "$rc" -eq 130 ] || fail "SIGINT: exit $rc, expected 130"
grep -q "stopped by signal 2" "$work/err" ||
	fail "SIGINT: no 'stopped by signal' line: $(cat "$work/err")"
no_leftovers "after SIGINT"

stop_pid "$busd_pid"
busd_pid=
if [ "$failures" -ne 0 ]; then
	echo "test_busctl_bench: $failures failure(s)"
	exit 1
fi
echo "test_busctl_bench: ok"
exit 0
