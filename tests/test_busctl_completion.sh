#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_busctl_completion.sh COMPLETION BUSCTL
#
# The bash completion offers what busctl accepts: every command of
# `busctl --help`, the global options, and for each command exactly the
# options of the Options block of `busctl help COMMAND` (plus the global
# ones); values of --type, --overflow, --sort.  Exit 0 pass, 1 fail.
set -u
completion=$1
busctl=$2
failures=0
checks=0

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

# shellcheck source=/dev/null
. "$completion" || { echo "FAIL: cannot source $completion" >&2; exit 1; }

# complete WORD...: what _busctl offers for the last word of busctl WORD...
complete_words() {
	COMP_WORDS=("$busctl" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_busctl
	printf '%s\n' "${COMPREPLY[@]}" | sort -u
}

# The flags column of a help text's Options block, one option a line.
help_options() {
	awk -v block="$1" '$0 == block ":" { on = 1; next }
		/^$/ { on = 0 }
		on && /^  -/ { sub(/^  /, ""); split($0, f, "  "); print f[1] }' |
		grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' |
		sed 's/^[^-]*//' | sort -u
}

summary=$("$busctl" --help)
commands=$(sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' <<<"$summary" |
	sort -u)
globals=$(help_options "Global options (before or after the command)" \
	<<<"$summary")

checks=$((checks + 1))
[ "$(complete_words "")" = "$commands" ] ||
	fail "busctl <TAB> offers $(complete_words "" | tr '\n' ' '), not the commands"
checks=$((checks + 1))
[ "$(complete_words -)" = "$globals" ] ||
	fail "busctl -<TAB> offers $(complete_words - | tr '\n' ' ')"

for c in $commands; do
	want=$( (help_options Options < <("$busctl" help "$c");
		echo "$globals") | sort -u)
	got=$(complete_words "$c" -)
	checks=$((checks + 1))
	[ "$got" = "$want" ] ||
		fail "busctl $c -<TAB> offers '$(tr '\n' ' ' <<<"$got")', busctl help $c lists '$(tr '\n' ' ' <<<"$want")'"
	# -b before or after the command changes nothing.
	got=$(complete_words -b some-bus "$c" -)
	checks=$((checks + 1))
	[ "$got" = "$want" ] || fail "busctl -b BUS $c -<TAB>"
done

# Not two empty lists that agree.
checks=$((checks + 1))
grep -qx -- --ttl <<<"$(complete_words pub -)" ||
	fail "busctl pub -<TAB> does not offer --ttl"
checks=$((checks + 1))
[ "$(wc -l <<<"$commands")" -ge 14 ] || fail "busctl --help lists the commands"

checks=$((checks + 1))
[ "$(complete_words create q --overflow "")" = "$(printf 'block\ndrop-oldest\nreject')" ] ||
	fail "--overflow values"
checks=$((checks + 1))
[ "$(complete_words top --sort "")" = "$(printf 'depth\nname\nrate')" ] ||
	fail "--sort values"
checks=$((checks + 1))
[ "$(complete_words help p)" = "$(printf 'peek\npub\npurge')" ] ||
	fail "help <command>"

if [ "$failures" -ne 0 ]; then
	echo "test_busctl_completion: $failures of $checks checks failed" >&2
	exit 1
fi
echo "test_busctl_completion: $checks checks passed"
