#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl_manpage.sh BUSCTL_1 BUSCTL
#
# docs/busctl.1 documents what busctl accepts: every command that
# `busctl --help` lists has a ".SS busctl COMMAND" section, every option
# in the Options block of `busctl help COMMAND` appears in that section,
# and every option the section names is one the command (or busctl
# itself) accepts.  Each global option is in GLOBAL OPTIONS.
# Exit 0 pass, 1 fail.
set -u
page=$1
busctl=$2
failures=0
checks=0
work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-manpage-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

# Options in text on stdin: words that start with - or -- and a letter,
# not inside another word (drop-oldest is no option).
options_in() {
	grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' |
		sed 's/^[^-]*//' | sort -u
}

# The flags column of an Options block (text after two spaces is prose).
help_options() {
	awk -v block="$1" '$0 == block ":" { on = 1; next }
		/^$/ { on = 0 }
		on && /^  -/ { sub(/^  /, ""); split($0, f, "  "); print f[1] }' |
		options_in
}

# The troff section from ".SS "busctl COMMAND" to the next .SS or .SH,
# with \- as -.
man_section() {
	sed 's/\\-/-/g' "$page" | awk -v c="$1" '
		/^\.S[SH]/ { on = 0 }
		index($0, ".SS \"busctl " c " ") == 1 ||
		index($0, ".SS \"busctl " c "\"") == 1 { on = 1 }
		on' | sed 's/\\f[BIRP]//g'
}

"$busctl" --help >"$work/summary" || { echo "FAIL: busctl --help" >&2; exit 1; }
commands=$(sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' "$work/summary")
help_options "Global options (before or after the command)" \
	<"$work/summary" >"$work/global"
checks=$((checks + 1))
[ -s "$work/global" ] || fail "no global options found in busctl --help"

sed -n '/^\.SH GLOBAL OPTIONS/,/^\.SH COMMANDS/p' "$page" |
	sed 's/\\-/-/g; s/\\f[BIRP]//g' | options_in >"$work/man-global"
for o in $(cat "$work/global"); do
	checks=$((checks + 1))
	grep -qx -- "$o" "$work/man-global" ||
		fail "global option $o is not in GLOBAL OPTIONS of busctl.1"
done

for c in $commands; do
	"$busctl" help "$c" >"$work/help" 2>&1 ||
		fail "busctl help $c failed"
	help_options Options <"$work/help" >"$work/accepts"
	man_section "$c" >"$work/section"
	checks=$((checks + 1))
	if [ ! -s "$work/section" ]; then
		fail "busctl.1 has no section .SS \"busctl $c ...\""
		continue
	fi
	options_in <"$work/section" >"$work/documented"
	for o in $(cat "$work/accepts"); do
		checks=$((checks + 1))
		grep -qx -- "$o" "$work/documented" ||
			fail "busctl $c accepts $o; its section in busctl.1 does not say so"
	done
	for o in $(cat "$work/documented"); do
		checks=$((checks + 1))
		grep -qx -- "$o" "$work/accepts" ||
			grep -qx -- "$o" "$work/global" ||
			fail "busctl.1 documents $o for $c, which busctl help $c does not list"
	done
done

# No section for a command busctl does not have.
for c in $(sed 's/\\-/-/g' "$page" |
	sed -n 's/^\.SS "busctl \([a-z-]*\).*/\1/p'); do
	checks=$((checks + 1))
	echo "$commands" | grep -qx -- "$c" ||
		fail "busctl.1 documents a command '$c' that busctl --help does not list"
done

if [ "$failures" -ne 0 ]; then
	echo "test_busctl_manpage: $failures of $checks checks failed" >&2
	exit 1
fi
echo "test_busctl_manpage: $checks checks passed"
