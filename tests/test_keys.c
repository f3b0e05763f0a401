/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of routing keys, reply-to names, user headers, correlation ids
 * and expiry deadlines in a message's header room, on local memfd queues
 * and topics (no busd): set on a loan, read on receive, in place and from
 * a topic's copies; bad input and corrupt rooms.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "local_queue.h"
#include "local_topic.h"
#include "test_common.h"

struct queue_fixture {
	struct local_queue queue;
	bus_queue_t *producer;
	bus_queue_t *consumer;
};

static struct queue_fixture *queue_make(uint32_t slots, uint32_t room)
{
	struct queue_fixture *f = test_calloc(1, sizeof(*f));
	struct bus_queue_settings settings;

	local_queue_settings(&settings, BUS_QUEUE_MPMC, slots, 64,
			     BUS_OVERFLOW_REJECT, slots);
	settings.header_room = room;
	assert_ret(local_queue_create(&f->queue, &settings), 0);
	assert_ret(local_queue_attach(&f->queue, BUS_PRODUCER, 0, NULL,
				      &f->producer),
		   0);
	assert_ret(local_queue_attach(&f->queue, BUS_CONSUMER, 0, NULL,
				      &f->consumer),
		   0);
	return f;
}

static void queue_free(struct queue_fixture *f)
{
	local_queue_detach(&f->queue, f->producer);
	local_queue_detach(&f->queue, f->consumer);
	local_queue_destroy(&f->queue);
	test_free(f);
}

static void commit_text(bus_queue_t *q, struct bus_message *m,
			const char *text)
{
	memcpy(m->payload, text, strlen(text));
	assert_ret(bus_commit(q, m, (uint32_t)strlen(text)), 0);
}

static void test_keys_set_and_read_on_a_queue(void **state)
{
	struct queue_fixture *f = queue_make(4, 256);
	char buf[256], name[64];
	struct bus_message m;

	assert_ret(bus_loan(f->producer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_add_header(&m, "color", "red"), 0);
	assert_ret(bus_message_set_key(&m, "orders.eu.red"), 0);
	assert_ret(bus_message_add_header(&m, "tenant", ""), 0);
	assert_ret(bus_message_set_reply_to(&m, "replies.7"), 0);
	/* A second key replaces the first. */
	assert_ret(bus_message_set_key(&m, "orders.us.red"), 0);
	assert_ret(bus_message_set_correlation(&m, 42), 0);
	commit_text(f->producer, &m, "payload");

	assert_ret(bus_receive(f->consumer, &m, BUS_NOWAIT), 0);
	assert_int_equal(m.length, 7);
	assert_memory_equal(m.payload, "payload", 7);
	assert_int_equal(m.header->correlation_id, 42);
	assert_ret(bus_message_key(&m, buf, sizeof(buf)), 13);
	assert_string_equal(buf, "orders.us.red");
	assert_ret(bus_message_reply_to(&m, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "replies.7");
	assert_ret(bus_message_header_get(&m, "color", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "red");
	assert_ret(bus_message_header_get(&m, "tenant", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_ret(bus_message_header_get(&m, "size", buf, sizeof(buf)),
		   -ENOENT);
	assert_ret(bus_message_header_at(&m, 1, name, sizeof(name), buf,
					 sizeof(buf)),
		   0);
	assert_string_equal(name, "tenant");
	assert_ret(bus_message_header_at(&m, 2, name, sizeof(name), buf,
					 sizeof(buf)),
		   -ENOENT);
	/* Too small a buffer. */
	assert_ret(bus_message_key(&m, buf, 5), -EMSGSIZE);
	assert_ret(bus_ack(f->consumer, &m), 0);
	queue_free(f);
}

static void test_keys_plain_message_reuses_a_keyed_slot_clean(void **state)
{
	struct queue_fixture *f = queue_make(2, 64);
	struct bus_message m;
	char buf[64];

	assert_ret(bus_loan(f->producer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_set_key(&m, "a.b"), 0);
	assert_ret(bus_message_set_correlation(&m, 7), 0);
	assert_ret(bus_message_set_ttl(&m, 1000000000), 0);
	commit_text(f->producer, &m, "x");
	assert_ret(bus_receive(f->consumer, &m, BUS_NOWAIT), 0);
	assert_true(m.header->expiry_ns != 0);
	assert_ret(bus_ack(f->consumer, &m), 0);
	/* Two plain sends: the second lands in the keyed slot again. */
	for (int i = 0; i < 2; i++) {
		assert_ret(bus_send(f->producer, "y", 1, BUS_NOWAIT), 0);
		assert_ret(bus_receive(f->consumer, &m, BUS_NOWAIT), 0);
		assert_ret(bus_message_key(&m, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "");
		assert_int_equal(m.header->correlation_id, 0);
		assert_int_equal(m.header->expiry_ns, 0);
		assert_int_equal(m.header->extension_length, 0);
		assert_ret(bus_ack(f->consumer, &m), 0);
	}
	queue_free(f);
}

static void test_keys_need_header_room(void **state)
{
	struct queue_fixture *f = queue_make(4, 0);
	struct bus_message m;
	char buf[8];

	assert_ret(bus_loan(f->producer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_set_key(&m, "a"), -EMSGSIZE);
	assert_ret(bus_message_add_header(&m, "a", "b"), -EMSGSIZE);
	/* The correlation id lives in the header itself. */
	assert_ret(bus_message_set_correlation(&m, 9), 0);
	commit_text(f->producer, &m, "z");
	assert_ret(bus_receive(f->consumer, &m, BUS_NOWAIT), 0);
	assert_int_equal(m.header->correlation_id, 9);
	assert_ret(bus_message_key(&m, buf, sizeof(buf)), 0);
	assert_ret(bus_ack(f->consumer, &m), 0);
	queue_free(f);
}

static void test_keys_bad_input_is_refused(void **state)
{
	struct queue_fixture *f = queue_make(4, 4096);
	char long_key[BUS_MESSAGE_KEY_MAX + 2];
	struct bus_message m;
	char name[8];

	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	assert_ret(bus_loan(f->producer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_set_key(&m, NULL), -EINVAL);
	assert_ret(bus_message_set_key(&m, ""), -EINVAL);
	assert_ret(bus_message_set_key(&m, "a..b"), -EINVAL);
	assert_ret(bus_message_set_key(&m, ".a"), -EINVAL);
	assert_ret(bus_message_set_key(&m, "a.*"), -EINVAL);
	assert_ret(bus_message_set_key(&m, "a.>"), -EINVAL);
	assert_ret(bus_message_set_key(&m, "a b"), -EINVAL);
	assert_ret(bus_message_set_key(&m, long_key), -EINVAL);
	long_key[BUS_MESSAGE_KEY_MAX] = '\0';
	assert_ret(bus_message_set_key(&m, long_key), 0);
	assert_ret(bus_message_add_header(&m, "", "v"), -EINVAL);
	assert_ret(bus_message_add_header(&m, "a=b", "v"), -EINVAL);
	assert_ret(bus_message_add_header(&m, "a", NULL), -EINVAL);
	assert_ret(bus_message_set_reply_to(&m, "no/slash"), -EINVAL);
	assert_ret(bus_message_set_ttl(&m, -1), -EINVAL);
	for (unsigned int i = 0; i < BUS_MESSAGE_HEADERS_MAX; i++) {
		snprintf(name, sizeof(name), "h%u", i);
		assert_ret(bus_message_add_header(&m, name, "v"), 0);
	}
	assert_ret(bus_message_add_header(&m, "one", "more"), -E2BIG);
	commit_text(f->producer, &m, "");
	assert_ret(bus_receive(f->consumer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_header_get(&m, "h15", name, sizeof(name)), 1);
	assert_ret(bus_ack(f->consumer, &m), 0);
	queue_free(f);
}

static void test_keys_corrupt_room_is_ebadmsg(void **state)
{
	struct queue_fixture *f = queue_make(4, 64);
	struct bus_message_header *h;
	struct bus_message m;
	char buf[64];

	assert_ret(bus_loan(f->producer, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_set_key(&m, "a.b"), 0);
	assert_ret(bus_message_add_header(&m, "n", "v"), 0);
	commit_text(f->producer, &m, "x");
	assert_ret(bus_receive(f->consumer, &m, BUS_NOWAIT), 0);
	h = (struct bus_message_header *)m.header;
	/* A hostile producer: a length past the room, then a key length
	 * past the extension, then a header past it. */
	h->extension_length = 65;
	assert_ret(bus_message_key(&m, buf, sizeof(buf)), -EBADMSG);
	h->extension_length = 11;
	((uint8_t *)(h + 1))[0] = 200;
	assert_ret(bus_message_key(&m, buf, sizeof(buf)), -EBADMSG);
	((uint8_t *)(h + 1))[0] = 3;
	((uint8_t *)(h + 1))[7] = 60; /* the header's name length */
	assert_ret(bus_message_header_get(&m, "n", buf, sizeof(buf)),
		   -EBADMSG);
	/* A view that is not of a slot. */
	m.payload = (uint8_t *)m.header - 8;
	assert_ret(bus_message_key(&m, buf, sizeof(buf)), -EINVAL);
	m.payload = (uint8_t *)(h + 1) + 64;
	assert_ret(bus_ack(f->consumer, &m), 0);
	queue_free(f);
}

/* ---- topics ------------------------------------------------------------- */

static void publish_keyed(bus_topic_t *t, const char *key, const char *text)
{
	struct bus_message m;

	assert_ret(bus_topic_loan(t, &m, BUS_NOWAIT), 0);
	assert_ret(bus_message_set_key(&m, key), 0);
	assert_ret(bus_message_add_header(&m, "k", key), 0);
	memcpy(m.payload, text, strlen(text));
	assert_ret(bus_topic_commit(t, &m, (uint32_t)strlen(text)), 0);
}

static void expect_keyed(bus_subscription_t *s, const char *key,
			 const char *text)
{
	struct bus_message m;
	char buf[64];

	assert_ret(bus_subscription_receive(s, &m, NULL, BUS_NOWAIT), 0);
	assert_int_equal(m.length, strlen(text));
	assert_memory_equal(m.payload, text, m.length);
	assert_ret(bus_message_key(&m, buf, sizeof(buf)), (long)strlen(key));
	assert_string_equal(buf, key);
	assert_ret(bus_message_header_get(&m, "k", buf, sizeof(buf)),
		   (long)strlen(key));
	assert_string_equal(buf, key);
	assert_ret(bus_subscription_release(s), 0);
}

static void topic_case(enum bus_slow_subscriber policy)
{
	struct bus_topic_settings settings;
	struct local_topic topic;
	bus_subscription_t *sub;
	bus_topic_t *pub;

	local_topic_settings(&settings, 8, 64, policy, 1, 0);
	settings.header_room = 100; /* two lines */
	assert_ret(local_topic_create(&topic, &settings), 0);
	assert_ret(local_topic_publisher(&topic, 0, NULL, &pub), 0);
	assert_ret(local_topic_subscribe(&topic, 0, NULL, &sub), 0);
	publish_keyed(pub, "prices.eu", "one");
	assert_ret(bus_publish(pub, "two", 3, BUS_NOWAIT), 0);
	publish_keyed(pub, "prices.us.fx", "three");
	expect_keyed(sub, "prices.eu", "one");
	{
		struct bus_message m;
		char buf[8];

		assert_ret(bus_subscription_receive(sub, &m, NULL, BUS_NOWAIT),
			   0);
		assert_ret(bus_message_key(&m, buf, sizeof(buf)), 0);
	}
	expect_keyed(sub, "prices.us.fx", "three");
	bus_unsubscribe(sub);
	bus_topic_close(pub);
	local_topic_destroy(&topic);
}

/* Block: read in place. */
static void test_keys_topic_in_place(void **state)
{
	topic_case(BUS_SLOW_SUBSCRIBER_BLOCK);
}

/* Overwrite: read from the subscription's checked copy. */
static void test_keys_topic_copy(void **state)
{
	topic_case(BUS_SLOW_SUBSCRIBER_OVERWRITE);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_set_and_read_on_a_queue),
		cmocka_unit_test(
			test_keys_plain_message_reuses_a_keyed_slot_clean),
		cmocka_unit_test(test_keys_need_header_room),
		cmocka_unit_test(test_keys_bad_input_is_refused),
		cmocka_unit_test(test_keys_corrupt_room_is_ebadmsg),
		cmocka_unit_test(test_keys_topic_in_place),
		cmocka_unit_test(test_keys_topic_copy),
	};

	return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
