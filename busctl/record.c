/* SPDX-License-Identifier: MIT */
/*
 * busctl record NAME DIR [-n COUNT] [--timeout SEC]
 *
 * Captures a topic's messages (as a subscriber: the topic is untouched)
 * or a queue's (as a consumer: this TAKES them from the queue) into a
 * journal directory (libbus/journal/), until SIGINT or SIGTERM, COUNT
 * messages or the timeout.  A queue's messages are acked only once they
 * are on disk (written and fdatasync'd), a batch at a time, so a crash
 * of busctl leaves them in the queue rather than losing them.
 *
 * Each message keeps its sequence, CLOCK_REALTIME publish time,
 * correlation id, delivery count, key, reply-to and headers.  Sequences
 * in a journal only grow: a queue's redelivered message (an older
 * sequence) is recorded under the next one.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "journal_cli.h"

/* Messages a queue recording holds before it waits for the disk and
 * acks them (fewer if the queue's max_unacked is lower). */
#define RECORD_BATCH 256

struct busctl_recorder {
	struct busctl *ctl;
	const char *name;
	const char *path;
	uint32_t kind;
	uint64_t count; /* -n, or UINT64_MAX */
	int has_count;
	int64_t timeout_ns;
	struct bus_journal_writer *writer;
	uint64_t recorded;
	uint64_t last_sequence; /* the journal's newest */
	int has_last;
	uint8_t extension[BUS_QUEUE_HEADER_ROOM_MAX];
};

/* Appends one received message; the journal's sequence it got. */
static int busctl_record_append(struct busctl_recorder *r,
				const struct bus_message *message)
{
	const struct bus_message_header *h = message->header;
	struct bus_journal_message m = {
		.sequence = h->sequence,
		.time_ns = busctl_journal_wall_ns(h->publish_time_ns),
		.correlation_id = h->correlation_id,
		.delivery_count = h->delivery_count,
		.flags = h->flags,
		.extension = r->extension,
		.payload = message->payload,
		.payload_length = message->length,
	};
	int err;

	m.extension_length = busctl_journal_extension(message, r->extension);
	if (r->has_last && m.sequence <= r->last_sequence)
		m.sequence = r->last_sequence + 1;
	while ((err = bus_journal_append_message(r->writer, &m)) == -EAGAIN)
		if ((err = bus_journal_reap(r->writer, 100)) < 0)
			break;
	if (err < 0)
		return err;
	r->last_sequence = m.sequence;
	r->has_last = 1;
	r->recorded++;
	return 0;
}

/* Submits and waits until everything appended is on disk. */
static int busctl_record_flush(struct busctl_recorder *r)
{
	int err;

	for (;;) {
		int due;

		err = bus_journal_submit(r->writer);
		if (err < 0)
			return err;
		if (!r->has_last ||
		    bus_journal_durable_sequence(r->writer) > r->last_sequence)
			return 0;
		due = bus_journal_sync_due_ms(r->writer);
		err = bus_journal_reap(r->writer, due > 0 ? due : 1);
		if (err < 0)
			return err;
	}
}

static int busctl_record_stopped(struct busctl_recorder *r, int err)
{
	if (err == -ETIMEDOUT || err == -EINTR) {
		if (!r->has_count)
			return 0;
		return busctl_error("record %s: %s after %llu of %llu "
				    "messages",
				    r->name,
				    err == -ETIMEDOUT ? "timed out"
						      : "interrupted",
				    (unsigned long long)r->recorded,
				    (unsigned long long)r->count);
	}
	return busctl_fail(r->ctl, err, "record %s", r->name);
}

/* -EAGAIN/-ETIMEDOUT/-EINTR per the deadline and the stop flag. */
static int busctl_record_wait_error(int err, int64_t wait, int64_t deadline)
{
	if (busctl_stop_requested())
		return -EINTR;
	if (err == -EAGAIN || err == -ETIMEDOUT || err == -EINTR)
		return wait == BUS_NOWAIT && deadline >= 0 ? -ETIMEDOUT
							   : -EAGAIN;
	return err;
}

static int busctl_record_topic(struct busctl_recorder *r)
{
	struct bus_subscribe_options options = { .no_latency = 1 };
	int64_t deadline = busctl_deadline(r->timeout_ns);
	bus_subscription_t *sub;
	struct bus_message message;
	uint64_t lost_total = 0;
	int err, status = 0;

	err = bus_subscribe(r->ctl->bus, r->name, &options, &sub);
	if (err < 0)
		return busctl_fail(r->ctl, err, "record %s", r->name);
	while (r->recorded < r->count) {
		int64_t wait = BUS_NOWAIT;
		uint64_t lost = 0;

		err = bus_subscription_receive(sub, &message, &lost, wait);
		if (err == -EAGAIN) {
			/* Idle: what is buffered goes to disk. */
			err = bus_journal_submit(r->writer);
			if (err == 0)
				err = bus_journal_reap(r->writer, 0);
			if (err < 0)
				break;
			wait = busctl_wait_ns(deadline);
			err = bus_subscription_receive(sub, &message, &lost,
						       wait);
		}
		if (err == -EBADMSG)
			continue;
		if (err < 0) {
			err = busctl_record_wait_error(err, wait, deadline);
			if (err == -EAGAIN)
				continue;
			break;
		}
		lost_total += lost;
		err = busctl_record_append(r, &message);
		bus_subscription_release(sub);
		if (err < 0)
			break;
		if (busctl_stop_requested()) {
			err = -EINTR;
			break;
		}
	}
	if (r->recorded >= r->count)
		err = 0;
	if (lost_total)
		busctl_error("record %s: %llu messages lost: this recorder "
			     "fell a whole ring behind",
			     r->name, (unsigned long long)lost_total);
	if (err < 0)
		status = busctl_record_stopped(r, err);
	bus_unsubscribe(sub);
	return status;
}

/* Receives up to a batch, records it, waits for the disk, acks it. */
static int busctl_record_queue_batch(struct busctl_recorder *r,
				     bus_queue_t *queue, int64_t deadline,
				     uint32_t batch)
{
	struct bus_message message, last;
	uint32_t held = 0;
	int err = 0;

	while (held < batch && r->recorded < r->count) {
		int64_t wait = held ? BUS_NOWAIT : busctl_wait_ns(deadline);

		err = bus_receive(queue, &message, wait);
		if (err == -EBADMSG)
			continue;
		if (err < 0) {
			if (held && (err == -EAGAIN || err == -ENOLCK))
				err = 0;
			else if (err != -ENOLCK)
				err = busctl_record_wait_error(err, wait,
							       deadline);
			break;
		}
		err = busctl_record_append(r, &message);
		if (err < 0) {
			bus_nack(queue, &message);
			break;
		}
		last = message;
		held++;
		if (busctl_stop_requested())
			break;
	}
	if (held) {
		int flushed = busctl_record_flush(r);

		/* Not on disk: they go back to the queue when the handle
		 * closes; on disk: taken. */
		if (flushed < 0)
			return flushed;
		bus_ack_through(queue, &last);
	}
	return err;
}

static int busctl_record_queue(struct busctl_recorder *r)
{
	int64_t deadline = busctl_deadline(r->timeout_ns);
	const struct bus_queue_settings *settings;
	bus_queue_t *queue;
	uint32_t batch = RECORD_BATCH;
	int err;

	err = bus_queue_open(r->ctl->bus, r->name, BUS_CONSUMER, NULL, &queue);
	if (err < 0)
		return busctl_fail(r->ctl, err, "record %s", r->name);
	settings = bus_queue_settings(queue);
	if (settings->max_unacked && settings->max_unacked < batch)
		batch = settings->max_unacked;
	do {
		err = busctl_record_queue_batch(r, queue, deadline, batch);
		if (err == -EAGAIN)
			err = 0;
		if (err == 0 && busctl_stop_requested())
			err = -EINTR;
	} while (err == 0 && r->recorded < r->count);
	bus_queue_close(queue);
	if (r->recorded >= r->count)
		err = 0;
	return err < 0 ? busctl_record_stopped(r, err) : 0;
}

static int busctl_record_parse(struct busctl_recorder *r, int argc,
			       char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":n:t:", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (busctl_parse_u64(optarg, &r->count))
				return busctl_usage_error(
					"record: bad -n '%s'", optarg);
			r->has_count = 1;
			break;
		case 't':
			if (busctl_parse_seconds(optarg, &r->timeout_ns))
				return busctl_usage_error("record: bad "
							  "--timeout '%s'",
							  optarg);
			break;
		default:
			return busctl_bad_option("record", c, argv);
		}
	}
	if (optind + 2 > argc)
		return busctl_usage_error("record: needs NAME and DIR");
	r->name = argv[optind++];
	r->path = argv[optind++];
	if (optind < argc)
		return busctl_usage_error("record: unexpected '%s'",
					  argv[optind]);
	return -1;
}

static int busctl_record_open(struct busctl_recorder *r)
{
	struct bus_journal_options options = {
		.directory = r->path,
		.name = r->name,
		.kind = r->kind == BUS_SEGMENT_TOPIC ? BUS_JOURNAL_TOPIC
						     : BUS_JOURNAL_QUEUE,
		.sync = BUS_JOURNAL_SYNC_INTERVAL,
	};
	struct bus_journal_recovery recovered;
	char detail[512] = "";
	int err;

	err = bus_journal_writer_open(&r->writer, &options, &recovered, detail,
				      sizeof(detail));
	if (err < 0)
		return busctl_error("record %s: %s: %s", r->name,
				    detail[0] ? detail : r->path,
				    err == -EBADMSG ? "corrupt journal"
						    : strerror(-err));
	if (recovered.torn_records)
		busctl_error("record %s: %s: cut a torn tail of %llu bytes "
			     "off the last recording",
			     r->name, r->path,
			     (unsigned long long)recovered.torn_bytes);
	/* Appending to an earlier recording: go on after its sequences. */
	r->has_last = recovered.next_sequence > 0;
	r->last_sequence = r->has_last ? recovered.next_sequence - 1 : 0;
	return 0;
}

int busctl_record(struct busctl *ctl, int argc, char **argv)
{
	struct busctl_recorder r = {
		.ctl = ctl,
		.count = UINT64_MAX,
		.timeout_ns = BUS_FOREVER,
	};
	int status = busctl_record_parse(&r, argc, argv), err;

	if (status >= 0)
		return status;
	if (busctl_check_name("record", r.name))
		return BUSCTL_EXIT_ERROR;
	signal(SIGPIPE, SIG_IGN);
	busctl_catch_stop_signals();
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = busctl_kind_of(ctl, r.name, &r.kind);
	if (err < 0)
		return busctl_fail(ctl, err, "record %s", r.name);
	if (busctl_record_open(&r))
		return BUSCTL_EXIT_ERROR;
	status = r.kind == BUS_SEGMENT_TOPIC ? busctl_record_topic(&r)
					     : busctl_record_queue(&r);
	err = bus_journal_writer_close(r.writer);
	if (err < 0 && status == 0)
		status = busctl_error("record %s: %s: %s", r.name, r.path,
				      strerror(-err));
	return status;
}
