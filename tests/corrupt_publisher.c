/* SPDX-License-Identifier: MIT */
/*
 * A hostile publisher for test_topic_record.sh, through the library's
 * internals (libbus/core/topic_ring.h):
 *
 *   corrupt_publisher BUS TOPIC
 *       publishes "before", then commits a cell whose header says more
 *       payload than the topic allows (a corrupt header, as a broken or
 *       malicious publisher leaves it), and prints the positions:
 *       "before P" and "corrupt Q".  Exit 0, or 1 with a sentence.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "topic.h"
#include "topic_ring.h"

int main(int argc, char **argv)
{
	struct bus_message_header header = {
		.header_length = sizeof(header),
		.header_version = BUS_MESSAGE_HEADER_VERSION,
		.delivery_count = 1,
	};
	struct bus_message m;
	bus_topic_t *t;
	bus_t *bus;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: corrupt_publisher BUS TOPIC\n");
		return 2;
	}
	ret = bus_connect(argv[1], &bus);
	if (ret == 0)
		ret = bus_topic_open(bus, argv[2], BUS_PRODUCER, NULL, &t);
	if (ret == 0)
		ret = bus_topic_loan(t, &m, BUS_FOREVER);
	if (ret == 0) {
		memcpy(m.payload, "before", 6);
		printf("before %" PRIu64 "\n", m.token);
		ret = bus_topic_commit(t, &m, 6);
	}
	if (ret == 0)
		ret = bus_topic_loan(t, &m, BUS_FOREVER);
	if (ret < 0) {
		fprintf(stderr, "corrupt_publisher: %s\n", bus_strerror(ret));
		return 1;
	}
	/* What bus_topic_commit() would do, with a length past the cell. */
	header.payload_length = t->geometry.settings.max_message + 1;
	header.sequence = m.token;
	bus__topic_write_header(bus__topic_cell(&t->geometry, m.token),
				&header);
	bus__topic_publish(t, m.token);
	printf("corrupt %" PRIu64 "\n", m.token);
	bus_topic_close(t);
	bus_disconnect(bus);
	return 0;
}
