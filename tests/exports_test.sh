#!/bin/bash
# Every function bus.h declares with BUS_EXPORT is exported by libbus.so,
# and libbus.so exports nothing else: the version script
# (libbus/libbus.map) and the header must agree.
#
#   exports_test.sh INCLUDE_DIR LIBBUS_SO
set -euo pipefail

header="$1/bus/bus.h"
library="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v nm >/dev/null; then
	echo "exports_test: no nm: skipped"
	exit 77
fi
# Declarations may span lines: join the header, then take the name before
# each "(" that follows BUS_EXPORT.
tr '\n' ' ' <"$header" | grep -o 'BUS_EXPORT[^(;]*(' |
	grep -o 'bus_[a-z0-9_]*[[:space:]]*($' | tr -d ' (' |
	sort -u >"$work/declared"
nm -D --defined-only "$library" | awk '$2 == "T" { print $3 }' |
	sed 's/@.*//' | sort -u >"$work/exported"

status=0
if comm -23 "$work/declared" "$work/exported" | grep .; then
	echo "exports_test: declared in bus.h but not exported (add them" \
		"to libbus/libbus.map)" >&2
	status=1
fi
if comm -13 "$work/declared" "$work/exported" | grep .; then
	echo "exports_test: exported but not declared with BUS_EXPORT" >&2
	status=1
fi
[ "$status" -eq 0 ] && echo "exports_test: $(wc -l <"$work/declared")" \
	"functions, all exported"
exit "$status"
