#!/bin/sh
# Fails when the client library holds supervisor code.
#
#   check-symbols.sh LIBBUS_SO LIBBUS_A SUPERVISOR_A
#
# The rule: what only busd runs (busd/, the busd_supervisor library:
# recovery, the dead-letter mover, segment initialisation, the page
# writers, the TSC measurement) is named busd_*.  This checks that the
# rule holds there (every global symbol of SUPERVISOR_A is busd_*), then
# that no busd_* symbol is in libbus.so (dynamic and full symbol tables)
# or libbus.a, nor any of the names those functions had in libbus before
# they moved.
set -eu

so=$1
archive=$2
supervisor=$3
status=0

# Names from before the move (libbus/queue_recovery.c and friends).
old_names='bus__queue_detach|bus__topic_publisher_detach|bus__topic_subscriber_detach|bus__topic_publisher_start|bus__topic_subscriber_start|bus__queue_segment_init|bus__topic_segment_init|bus__queue_close_segment|bus__topic_close_segment|bus__segment_mark_deleted|bus__dead_letter_move|bus__dead_letter_recover_move|bus__dead_letter_recover_cells|bus__lease_timeout_scan|bus__route_table_write|bus__log_append|bus__clock_measure'

# Global definitions (nm's upper-case kinds but U), one name a line.
defined() {
	nm "$@" 2>/dev/null | awk 'NF >= 3 && $2 ~ /^[A-TV-Z]$/ { print $3 }'
}

not_busd=$(defined "$supervisor" | grep -v '^busd_' || true)
if [ -n "$not_busd" ]; then
	echo "busd_supervisor defines globals not named busd_*:" >&2
	echo "$not_busd" >&2
	status=1
fi
count=$(defined "$supervisor" | grep -c '^busd_' || true)
if [ "$count" -eq 0 ]; then
	echo "busd_supervisor defines no busd_* function: wrong library?" >&2
	status=1
fi

check() {
	what=$1
	shift
	found=$(nm "$@" 2>/dev/null |
		awk 'NF >= 3 { print $3 }' |
		grep -E "^busd_|^($old_names)(\$|\\.)" | sort -u || true)
	if [ -n "$found" ]; then
		echo "$what holds supervisor code:" >&2
		echo "$found" >&2
		status=1
	else
		echo "$what: $(nm "$@" 2>/dev/null | awk 'NF >= 3' | wc -l) symbols, none of busd's"
	fi
}

check "libbus.so (dynamic symbols)" -D "$so"
check "libbus.so (symbol table)" "$so"
check "libbus.a" "$archive"
echo "busd_supervisor: $count busd_* functions"
exit $status
