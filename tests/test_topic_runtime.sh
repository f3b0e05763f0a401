#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Recorded topics created at run time (busd/durable_store.h): busctl
# create --topic --record keeps the topic's settings and access in
# DATA_DIR/NAME/topic.conf, so that after a reboot (busd killed, its
# segments gone) busd makes the topic again, its sequences continuing the
# journal, though the configuration does not list it; a catch-up from
# sequence 0 gets every message; the configuration wins when it lists the
# name; a corrupt file stops busd's start naming the file; busctl delete
# removes it.
#
#   sh test_topic_runtime.sh BUSD BUSCTL
name=topic_runtime
. "$(dirname "$0")/lib.sh"

write_conf() {
	printf '[bus]\ndata_dir = %s\n\n[topic listed]\nrecord = yes\n%s\n' \
		"$work/data" "${1:-}" >"$work/busd.conf"
}


# wait_recorded N: until rt's journal holds N messages (5 s at most).
wait_recorded() {
	for _ in $(seq 100); do
		"$busctl" dump "$work/data/rt" >"$work/out" 2>"$work/err"
		[ "$(wc -l <"$work/out")" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "the journal of rt did not reach $1 messages"
}

write_conf
start_busd -c "$work/busd.conf"
ctl create rt --topic --record --sync always --slots 64 \
	--slow-subscriber overwrite --mode 0640
expect_ok "create --topic --record at run time"
expect "the settings are kept beside the journal" \
	[ -f "$work/data/rt/topic.conf" ]
ctl pub rt a b c
expect_ok "pub a b c"
wait_recorded 3

# ---- a reboot: made again, settings and journal -------------------------
reboot_busd
start_busd -c "$work/busd.conf"
checks=$((checks + 1))
grep -q "topic 'rt': created at run time, made again from" "$busd_log" ||
	fail "busd says it made rt again from its file"
ctl stat rt
expect_in "^record  *yes (sync always" out "rt keeps its record and sync settings"
expect_in "^capacity  *64" out "rt keeps its slots"
expect_in "^mode  *0640" out "rt keeps its mode"
ctl --json stat rt
jq_check '.settings.slow_subscriber == "overwrite"' \
	"rt keeps its slow_subscriber policy"
ctl pub rt d
expect_ok "pub d after the reboot"
ctl sub rt --from 0 -n 4 --timeout 10
expect_status 0 "sub --from 0 after the reboot"
expect_stdout "sub --from 0: the journal, then the ring" "a\nb\nc\nd\n"
wait_recorded 4
checks=$((checks + 1))
[ "$(awk '{ print $1 }' "$work/out" | tr '\n' ' ')" = "0 1 2 3 " ] ||
	fail "the sequences continue the journal's: $(cat "$work/out")"

# ---- a clean stop and start: made again too (topics' segments go) -------
stop_busd
start_busd -c "$work/busd.conf"
ctl stat rt
expect_in "^record  *yes (sync always" out "rt is back after a clean restart"

# ---- the configuration wins --------------------------------------------
reboot_busd
write_conf "[topic rt]
record = yes
sync = none
slots = 64"
start_busd -c "$work/busd.conf"
ctl stat rt
expect_in "^record  *yes (sync none" out "the configuration's settings win"
checks=$((checks + 1))
grep -q "made again from" "$busd_log" &&
	fail "a configured topic is not made from its file"
stop_busd
write_conf

# ---- a corrupt file stops the start, naming it -------------------------
# (timeout: a busd that ignored the file would serve in the foreground)
rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]*
cp "$work/data/rt/topic.conf" "$work/topic.conf.good"
sed 's/^slots = .*/slots = many/' "$work/topic.conf.good" \
	>"$work/data/rt/topic.conf"
timeout 10 "$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a corrupt topic.conf"
expect_in "$work/data/rt/topic.conf: line [0-9]*: slots cannot be 'many'" \
	err "the refusal names the file, the line and the key"
grep -v '^slow_subscriber' "$work/topic.conf.good" >"$work/data/rt/topic.conf"
timeout 10 "$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a topic.conf without a key"
expect_in "topic.conf: no 'slow_subscriber' key" err \
	"the refusal names the key missing"
sed 's/^slots = .*/slots = 100/' "$work/topic.conf.good" \
	>"$work/data/rt/topic.conf"
timeout 10 "$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a topic.conf with settings a topic cannot have"
expect_in "topic.conf: .*slots" err "the refusal says why"
cp "$work/topic.conf.good" "$work/data/rt/topic.conf"

# ---- busctl delete removes it -------------------------------------------
start_busd -c "$work/busd.conf"
ctl delete rt
expect_ok "delete rt"
expect "delete removes the journal and its settings" \
	[ ! -e "$work/data/rt" ]
reboot_busd
start_busd -c "$work/busd.conf"
ctl stat rt
expect_error "rt stays deleted after a reboot" "rt"

# ---- a create that cannot keep its settings keeps the journal -------------
# "listed" was recorded while the config named it; the config no longer
# does.  A create of that name whose topic.conf cannot be written (a
# leftover temporary in the way) is refused, and must not take the old
# journal with it: the next create continues it.
ctl pub listed x y z
expect_ok "pub x y z into listed"
for _ in $(seq 100); do
	"$busctl" dump "$work/data/listed" >"$work/out" 2>/dev/null
	[ "$(wc -l <"$work/out")" -ge 3 ] && break
	sleep 0.05
done
stop_busd
printf '[bus]\ndata_dir = %s\n' "$work/data" >"$work/busd.conf"
start_busd -c "$work/busd.conf"
mkdir "$work/data/listed/.topic.conf.tmp"
ctl create listed --topic --record
expect_status 1 "create refused when its topic.conf cannot be written"
"$busctl" dump "$work/data/listed" 2>"$work/err" |
	awk '{ print $3 }' >"$work/out"
expect_stdout "the refused create left the old journal as it was" \
	"x\ny\nz\n"
rmdir "$work/data/listed/.topic.conf.tmp"
ctl create listed --topic --record
expect_ok "create again, the way clear"
ctl sub listed --from 0 -n 3 --timeout 10
expect_stdout "the journal goes on under the new topic" "x\ny\nz\n"
# A temporary a crash left behind does not keep the directory.
: >"$work/data/listed/.topic.conf.tmp"
ctl delete listed
expect_ok "delete listed"
expect "delete removes the directory, a leftover temporary too" \
	[ ! -e "$work/data/listed" ]
stop_busd
finish
