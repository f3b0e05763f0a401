#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl_top.sh BUSD BUSCTL
#
# busctl top in a real terminal, driven through tmux: in a 60x12 window
# no line wraps (a long name is cut and ends in '~'), the rows page (j, k,
# PgDn, PgUp) under a key line that says which rows show, s cycles the
# sort, and q quits.  Exit 0 pass, 1 fail, 77 skip (no tmux).
name=test_busctl_top
if ! command -v tmux >/dev/null 2>&1; then
	echo "$name: tmux is not installed; skipped"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

long=a-queue-name-much-longer-than-a-sixty-column-terminal-allows
conf="[bus]
[queue $long]
slots = 16"
for n in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20; do
	conf="$conf
[queue q$n]
slots = 16"
done
start_busd_with_conf
# q20 the deepest: first once sorted by depth.
"$busctl" -b "$bus" pub q20 a b c d e >/dev/null

tmux_socket="$work/tmux.sock"
on_exit() {
	tmux -S "$tmux_socket" kill-server 2>/dev/null
	return 0
}
tmux -S "$tmux_socket" -f /dev/null new-session -d -s top -x 60 -y 12 \
	"env BUS_RUNTIME_DIR='$BUS_RUNTIME_DIR' '$busctl' -b '$bus' top --interval 100; \
	 echo \$? >'$work/top.status'; sleep 30"

screen() {
	tmux -S "$tmux_socket" capture-pane -p -J -t top >"$work/out"
}

# wait_for REGEX WHAT: until the screen shows REGEX (5 s at most).
wait_for() {
	checks=$((checks + 1))
	i=0
	while :; do
		screen
		grep -q -- "$1" "$work/out" && return 0
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			fail "$2: the screen never showed '$1'"
			return 1
		fi
		sleep 0.05
	done
}

key() {
	tmux -S "$tmux_socket" send-keys -t top "$@"
}

wait_for "^NAME " "top draws its header"
wait_for "rows 1-9 of 21" "9 rows fit a 12-line window, with a key line"
checks=$((checks + 1))
# -J joins wrapped lines, so a line past 60 columns is one that wrapped.
awk 'length($0) > 60 { bad = 1 } END { exit bad }' "$work/out" ||
	fail "a line of top wrapped at 60 columns"
expect_in "^a-queu[a-z-]*~ queue" out "a long name is cut, ending in ~"
expect_not_in "$long" out "the long name is not shown whole"
expect_in "^rows 1-9 of 21  sort name" out "sorted by name at first"

key j
wait_for "rows 2-10 of 21" "j scrolls one row down"
key NPage
wait_for "rows 11-19 of 21" "PgDn scrolls a page"
key NPage
wait_for "rows 13-21 of 21" "PgDn stops at the last page"
key PPage
wait_for "rows 4-12 of 21" "PgUp scrolls a page back"
key k
wait_for "rows 3-11 of 21" "k scrolls one row up"

key s
wait_for "^rows .* sort depth" "s sorts by depth"
wait_for "rows 1-9 of 21" "a new sort starts at the top"
checks=$((checks + 1))
sed -n 3p "$work/out" | grep -q "^q20 " || fail "q20, the deepest, comes first"
key s
wait_for "^rows .* sort rate" "s again sorts by rate"

key q
checks=$((checks + 1))
i=0
while [ ! -s "$work/top.status" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
if [ ! -s "$work/top.status" ]; then
	fail "q did not end top"
elif [ "$(cat "$work/top.status")" != 0 ]; then
	fail "top ended on q with status $(cat "$work/top.status")"
fi

finish
