#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busd_delete.sh BUSD BUSCTL
#
# Guarded deletes (busctl delete --if-empty / --if-unused, busd checks and
# deletes in one step), create --if-not-exists, and what clients attached
# to a deleted queue or topic hear: that it was deleted (-EIDRM), not that
# no busd serves the bus.
name=delete
. "$(dirname "$0")/lib.sh"

start_busd

ctl create q
ctl create q --if-not-exists
expect "create --if-not-exists of an existing queue: exit $rc: $(cat "$work/err")" \
	[ "$rc" -eq 0 ]
ctl create q
expect "create of an existing queue without --if-not-exists: exit $rc" \
	[ "$rc" -eq 1 ]

ctl pub q one
ctl delete q --if-empty
expect "delete --if-empty of a queue holding a message: exit $rc" \
	[ "$rc" -eq 1 ]
expect "delete --if-empty: no reason in: $(cat "$work/err")" \
	grep -q "holds 1 queued" "$work/err"
ctl stat q
expect "delete --if-empty deleted the queue" [ "$rc" -eq 0 ]

# A consumer waits on the (now empty) queue.
ctl consume q -n 1
"$busctl" -b "$bus" consume q -n 1 --timeout 20 >"$work/consumer.out" \
	2>"$work/consumer.err" &
consumer=$!
for _ in $(seq 100); do
	ctl stat q --json
	grep -q '"consumers": *1' "$work/out" && break
	sleep 0.05
done
ctl delete q --if-unused
expect "delete --if-unused with a consumer attached: exit $rc" [ "$rc" -eq 1 ]
expect "delete --if-unused: no reason in: $(cat "$work/err")" \
	grep -q "1 consumers attached" "$work/err"
ctl delete q --if-empty
expect "delete --if-empty of an empty queue: exit $rc: $(cat "$work/err")" \
	[ "$rc" -eq 0 ]
wait "$consumer"
expect "the consumer of a deleted queue: exit $?" [ $? -eq 1 ]
expect "the consumer was not told the queue was deleted: $(cat "$work/consumer.err")" \
	grep -q "was deleted" "$work/consumer.err"
expect "the consumer was told no busd serves the bus" \
	sh -c "! grep -q 'no busd serves' '$work/consumer.err'"

ctl create t --topic
"$busctl" -b "$bus" sub t -n 1 --timeout 20 >"$work/sub.out" \
	2>"$work/sub.err" &
sub=$!
for _ in $(seq 100); do
	ctl stat t --json
	grep -q '"subscribers": *1' "$work/out" && break
	sleep 0.05
done
ctl delete t --if-unused
expect "delete --if-unused of a topic with a subscriber: exit $rc" \
	[ "$rc" -eq 1 ]
ctl delete t
wait "$sub"
expect "the subscriber was not told the topic was deleted: $(cat "$work/sub.err")" \
	grep -q "was deleted" "$work/sub.err"
finish
