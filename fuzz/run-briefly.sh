#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fuzz/run-briefly.sh [SECONDS] [TARGET...]
#
# Builds the libFuzzer targets with clang in build-fuzz/ (or $BUILD_DIR)
# and runs each for SECONDS (default 30) from its seed corpus.  New inputs
# go to a scratch directory, not into fuzz/corpus/.  A crash, a sanitizer
# report or a timeout ends that target's run, makes the script exit 1 once
# every target has run, and leaves the input as
# $BUILD_DIR/fuzz-artifacts/TARGET-crash-... (or -timeout-...) to replay:
#
#   build-fuzz/fuzz/TARGET FILE
#
# Targets: fuzz_queue_segment fuzz_topic_segment fuzz_config fuzz_requests
# fuzz_stomp_frame fuzz_bridge_status fuzz_journal_record
# fuzz_durable_recover fuzz_durable_store fuzz_packed_record (default: all
# ten).
set -eu

cd "$(dirname "$0")/.."
seconds=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-fuzz_queue_segment fuzz_topic_segment fuzz_config fuzz_requests fuzz_stomp_frame fuzz_bridge_status fuzz_journal_record fuzz_durable_recover fuzz_durable_store fuzz_packed_record}
build=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-2}

case $seconds in
'' | *[!0-9]*)
	echo "run-briefly.sh: SECONDS must be a whole number, not '$seconds'" >&2
	exit 2
	;;
esac

CC=${CC:-clang} cmake -S . -B "$build" -DBUS_BUILD_FUZZ=ON \
	-DBUS_BUILD_TESTS=OFF -DBUS_BUILD_PERF=OFF >/dev/null
# shellcheck disable=SC2086 # one word per target
cmake --build "$build" -j"$jobs" --target $targets fuzz_make_seeds

scratch=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

# Fresh seeds of the current layout besides the checked-in corpus.
mkdir -p "$scratch/seeds" "$scratch/topic-seeds" "$scratch/request-seeds"
"$build/fuzz/fuzz_make_seeds" "$scratch/seeds" "$scratch/topic-seeds" \
	"$scratch/request-seeds"

failed=0
for target in $targets; do
	echo "== $target: $seconds s"
	mkdir -p "$scratch/$target"
	extra=
	max_len=4096
	if [ "$target" = fuzz_queue_segment ]; then
		extra="$scratch/seeds"
		max_len=16384 # a raw seed is a whole segment
	elif [ "$target" = fuzz_topic_segment ]; then
		extra="$scratch/topic-seeds"
		max_len=16384 # a raw seed is a whole segment
	elif [ "$target" = fuzz_journal_record ] ||
		[ "$target" = fuzz_durable_recover ]; then
		max_len=16384 # a seed is a small journal file
	elif [ "$target" = fuzz_requests ]; then
		extra="$scratch/request-seeds"
		max_len=16384 # a step with a route is 1.4 KiB
	fi
	# -close_fd_mask=1 silences the harness's stdout; libFuzzer and the
	# sanitizers still report on stderr.
	status=0
	# shellcheck disable=SC2086 # $extra is one directory or nothing
	"$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 \
		-max_len="$max_len" -close_fd_mask=1 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$target-" \
		"$scratch/$target" "fuzz/corpus/$target" $extra \
		>"$scratch/$target.log" 2>&1 || status=$?
	# The log without progress lines and the suggested dictionary.
	sed -e '/^###### Recommended dictionary/,/^###### End of/d' \
		-e '/^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\)/d' \
		-e '/^INFO: /d' -e '/NEW_FUNC/d' "$scratch/$target.log"
	if [ "$status" -ne 0 ]; then
		echo "run-briefly.sh: $target failed (exit $status);" \
			"the input is in $artifacts/" >&2
		failed=1
	fi
done
exit "$failed"
