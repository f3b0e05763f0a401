/* SPDX-License-Identifier: MIT */
/*
 * bridge_responder BUS SERVICE COUNT SECONDS: a bus responder for
 * tests/test_bridge.sh service.  Consumes up to COUNT requests from the
 * queue SERVICE on BUS, within SECONDS in all, and answers each with
 * "re:" and the request's payload (bus_reply()).  Prints "ready" once
 * attached as the queue's consumer.  Exit 0 after COUNT replies, 1 on an
 * error or the time-out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"

static int serve(bus_t *bus, const char *service, long count, long seconds)
{
	bus_responder_t *responder = NULL;
	bus_queue_t *queue = NULL;
	char reply[4096];
	int ret;

	ret = bus_queue_open(bus, service, BUS_CONSUMER, NULL, &queue);
	if (!ret)
		ret = bus_responder_open(bus, &responder);
	if (ret) {
		fprintf(stderr, "bridge_responder: %s\n", bus_strerror(ret));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (long served = 0; served < count;) {
		struct bus_message m;
		size_t length;

		ret = bus_receive(queue, &m, (int64_t)seconds * 1000000000);
		if (ret) {
			fprintf(stderr, "bridge_responder: %s after %ld\n",
				bus_strerror(ret), served);
			break;
		}
		length = m.length < sizeof(reply) - 3 ? m.length
						      : sizeof(reply) - 3;
		memcpy(reply, "re:", 3);
		memcpy(reply + 3, m.payload, length);
		ret = bus_reply(responder, &m, reply, length + 3, 1000000000);
		bus_ack(queue, &m);
		if (ret) {
			fprintf(stderr, "bridge_responder: reply: %s\n",
				bus_strerror(ret));
			break;
		}
		served++;
	}
	bus_responder_close(responder);
	bus_queue_close(queue);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	bus_t *bus = NULL;
	int ret;

	if (argc != 5) {
		fprintf(stderr, "usage: bridge_responder BUS SERVICE COUNT "
				"SECONDS\n");
		return 1;
	}
	ret = bus_connect(argv[1], &bus);
	if (ret) {
		fprintf(stderr, "bridge_responder: %s\n", bus_strerror(ret));
		return 1;
	}
	ret = serve(bus, argv[2], atol(argv[3]), atol(argv[4]));
	bus_disconnect(bus);
	return ret;
}
