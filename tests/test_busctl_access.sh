#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl_access.sh BUSD BUSCTL
#
# busctl and access control: create --owner/--group/--mode, stat showing
# owner, group and mode (text and --json), and what another user sees: a
# one-line "permission denied" naming who may not do what, and ls that
# still lists what it may not read.  Needs root and setpriv(1) to act as
# uid 65534.  Exit 0 pass, 1 fail, 77 skip.
name=test_busctl_access
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	echo "$name: needs root and setpriv; skipped"
	exit 77
fi
# The unprivileged busctl must reach the socket.
runtime_mode=0755
. "$(dirname "$0")/lib.sh"

# as_nobody ARGS...: busctl on $bus as uid and gid 65534.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$busctl" -b "$bus" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}

# expect_line WHAT REGEX: some line of stdout matches.
expect_line() {
	checks=$((checks + 1))
	grep -qE -- "$2" "$work/out" || fail "$1: no line matches '$2'"
}

cat >"$work/busd.conf" <<EOF
[queue orders]
mode = 0660

[queue public]
owner = 65534
group = 65534
mode = 0644
EOF
start_busd -d -c "$work/busd.conf"

# ---- stat shows owner, group and mode ------------------------------------
ctl stat public
expect_ok "stat public"
expect_line "stat public: owner" '^owner +65534'
expect_line "stat public: group" '^group +65534'
expect_line "stat public: mode" '^mode +0644$'

ctl stat orders --json
expect_ok "stat orders --json"
expect_line "stat --json: owner" '"owner": 0,'
expect_line "stat --json: group" '"group": 0,'
expect_line "stat --json: mode" '"mode": "0660"'

# ---- create with access --------------------------------------------------
ctl create mine --owner 65534 --mode 0600
expect_ok "create --owner --mode"
ctl stat mine
expect_line "created: owner" '^owner +65534'
expect_line "created: mode" '^mode +0600$'
ctl create feed --topic --mode 0640
expect_ok "create --topic --mode"
ctl stat feed
expect_line "topic: mode" '^mode +0640$'
ctl create bad --mode 0999
checks=$((checks + 1))
[ "$rc" -eq 2 ] || fail "create --mode 0999: expected a usage error"

# ---- another user ---------------------------------------------------------
as_nobody consume orders -n 1 --timeout 1
expect_error "consume without r" \
	"permission denied: user 65534 may not consume from queue 'orders' (owner 0, group 0, mode 0660)"
as_nobody pub orders x
expect_error "pub without w" "may not produce to queue 'orders'"
as_nobody pub public hello
expect_ok "the owner of a 0644 queue produces"
as_nobody create other
expect_error "create without admin rights" "may not create queue 'other'"
as_nobody delete orders
expect_error "delete without admin rights" "may not delete 'orders'"
as_nobody stat orders
expect_error "stat without r" "may not observe queue 'orders'"
as_nobody ls
expect_ok "ls lists what it may not read"
expect_line "ls: orders listed" '^orders +queue'
as_nobody pub mine hello
expect_ok "the owner of 'mine' produces"
as_nobody consume mine -n 1 --timeout 5
expect_ok "the owner of 'mine' consumes"

stop_busd
rc=$?
checks=$((checks + 1))
[ "$rc" -eq 0 ] || fail "busd: SIGTERM should end it with exit 0"
finish
