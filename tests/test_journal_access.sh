#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_journal_access.sh BUSD BUSCTL
#
# Who may read a journal (busd/journal_access.h): busd hands the journal
# directory to a reader with r on the name, and the reader opens the files
# with its own rights, so the files must give r to whom the name's mode
# gives it.  Another user (uid and gid 65534) catches up on a recorded
# topic readable by others and on one readable by its group, and dumps a
# durable queue readable by others; a topic it may not read stays refused.
# Needs root and setpriv(1).  Exit 0 pass, 1 fail, 77 skip.
name=test_journal_access
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	echo "$name: needs root and setpriv; skipped"
	exit 77
fi
runtime_mode=0755
. "$(dirname "$0")/lib.sh"

# as_nobody ARGS...: busctl on $bus as uid and gid 65534.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$busctl" -b "$bus" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}

cat >"$work/busd.conf" <<EOF
[bus]
data_dir = $work/data

[topic shared]
record = yes
mode = 0644

[topic grouped]
record = yes
group = 65534
mode = 0640

[topic private]
record = yes
mode = 0640

[queue jobs]
durable = yes
mode = 0644
EOF
start_busd -d -c "$work/busd.conf"

for topic in shared grouped private; do
	for word in one two three; do
		ctl_ok pub "$topic" "$word"
	done
done
ctl_ok pub jobs job1

# The files as busd left them: read bits where the mode gives r.
mode_of() {
	stat -c %a "$1"
}
file=$(ls "$work/data/shared"/*.journal | head -n 1)
checks=$((checks + 1))
[ "$(mode_of "$file")" = 644 ] || fail "shared: file mode $(mode_of "$file")"
checks=$((checks + 1))
[ "$(mode_of "$work/data/shared")" = 2755 ] ||
	fail "shared: directory mode $(mode_of "$work/data/shared")"
file=$(ls "$work/data/grouped"/*.journal | head -n 1)
checks=$((checks + 1))
[ "$(stat -c %g "$file")" = 65534 ] || fail "grouped: file group"

as_nobody sub shared --from 0 -n 3 --timeout 10
expect_ok "others' r: catch-up"
expect_stdout "others' r: every message" 'one\ntwo\nthree\n'
as_nobody sub grouped --from 0 -n 3 --timeout 10
expect_ok "the group's r: catch-up"
expect_stdout "the group's r: every message" 'one\ntwo\nthree\n'
as_nobody dump jobs
expect_ok "others' r: dump of a durable queue"
expect_in job1 out "dump jobs"
as_nobody sub private --from 0 -n 1 --timeout 2
expect_error "no r: refused" "private"

stop_busd
rc=$?
checks=$((checks + 1))
[ "$rc" -eq 0 ] || fail "busd: SIGTERM should end it with exit 0"
finish
