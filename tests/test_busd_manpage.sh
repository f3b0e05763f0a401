#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busd_manpage.sh BUSD SOURCE_DIR
#
# docs/busd.8 keeps up with the program: every option busd --help lists,
# every configuration key busd/config.c (and the files it delegates to)
# accepts, every metric busd/metrics.c serves, busd's files and its
# signals appear in the man page.
set -u
busd=${1:-}
src=${2:-}
page="$src/docs/busd.8"
failures=0
checks=0

if [ ! -x "$busd" ] || [ ! -f "$page" ]; then
	echo "test_busd_manpage: busd or docs/busd.8 missing; skipped"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-manpage-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# The page as text: roff's escaped hyphens and quotes made plain.
sed -e 's/\\-/-/g' -e 's/\\(dq/"/g' -e 's/\\&//g' "$page" >"$work/page"

# mentions WHAT WORD...: each WORD appears in the page as a whole word.
mentions() {
	what=$1
	shift
	for word in "$@"; do
		checks=$((checks + 1))
		if ! grep -q -e "\(^\|[^A-Za-z0-9_-]\)$word\([^A-Za-z0-9_-]\|$\)" \
			"$work/page"; then
			failures=$((failures + 1))
			echo "FAIL: busd.8 does not mention the $what $word" >&2
		fi
	done
}

"$busd" --help >"$work/help" 2>&1
options=$(grep -o -e '--[a-z][a-z-]*' -e '\(^\| \)-[A-Za-z]\>' \
	"$work/help" | tr -d ' ' | sort -u)
[ -n "$options" ] || { echo "FAIL: no options in busd --help" >&2; exit 1; }
# shellcheck disable=SC2086
mentions option $options

config="$src/busd/config.c"
keys=$( {
	sed -n 's/.*BUSD_KEY(\([a-z_]*\),.*/\1/p' "$config"
	sed -n 's/.*BUSD_TOPIC_KEY(\([a-z_]*\),.*/\1/p' "$config"
	grep -o 'strcmp(\(key\|name\), "[a-z_]*")' "$config" \
		"$src/busd/route_config.c" | sed 's/.*"\([a-z_]*\)".*/\1/'
	sed -n 's/^[[:space:]]*{ "\([a-z_]*\)",.*/\1/p' \
		"$src/busd/admission_config.c"
} | grep -v '^field$' | sort -u)
[ -n "$keys" ] || { echo "FAIL: no keys found in $config" >&2; exit 1; }
# shellcheck disable=SC2086
mentions "configuration key" $keys
mentions section '\[bus\]' '\[queue NAME\]' '\[topic NAME\]' \
	'\[route NAME\]' '\[address NAME\]'

metrics=$( {
	sed -n 's/.*BUSD_QUEUE_METRIC(\([a-z_]*\), "\([a-z_]*\)".*/shmbus_queue_\1\2/p' \
		"$src/busd/metrics.c"
	sed -n 's/.*BUSD_TOPIC_METRIC(\([a-z_]*\), "\([a-z_]*\)".*/shmbus_topic_\1\2/p' \
		"$src/busd/metrics.c"
	grep -o 'shmbus_[a-z_]*[a-z]' "$src/busd/metrics.c" |
		grep -v '^shmbus_\(queue\|topic\)$'
	echo shmbus_queue_latency_seconds
	echo shmbus_topic_latency_seconds
} | sort -u)
# shellcheck disable=SC2086
mentions metric $metrics

# The page writes RUNTIME_DIR/BUS.sock as ".IB RUNTIME_DIR / BUS .sock".
mentions file 'BUS \.sock' 'BUS \.lock' 'BUS \.access' '%routes' '%log' \
	'announcement page'
mentions signal SIGHUP SIGTERM SIGINT
mentions variable BUS_RUNTIME_DIR BUS_SYSTEM_RUNTIME_DIR

echo "test_busd_manpage: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
