/* SPDX-License-Identifier: MIT */
/*
 * What busgate's destination files share: a parsed destination (dest.c),
 * the queues and topics made on first use, and the error sentence for a
 * failed bus call.  subscribe.c, send.c and ack.c are the bus side of
 * SUBSCRIBE/UNSUBSCRIBE, SEND and ACK/NACK.
 */
#ifndef BUSGATE_DEST_H
#define BUSGATE_DEST_H

#include "gate.h"

enum dest_kind {
	DEST_QUEUE,
	DEST_TOPIC,
	DEST_EXCHANGE,
	DEST_TEMP,
};

struct dest {
	enum dest_kind kind;
	bool wildcard;
	char name[BUS_NAME_MAX + 1]; /* the bus's name or pattern */
	char key[BUS_MESSAGE_KEY_MAX + 1];
};

/* Parses a destination header; -EINVAL with a sentence in *why. */
int gate_dest_parse(struct gate_conn *conn, const char *s, struct dest *d,
		    const char **why);
/* Creates a queue or topic with auto_create's settings (0 if it exists). */
int gate_queue_make(struct gate_conn *conn, const char *name);
int gate_topic_make(struct gate_conn *conn, const char *name);
/* bus_queue_open(), making the queue first when make and it is missing. */
int gate_queue_open(struct gate_conn *conn, const char *name,
		    enum bus_role role, bool make, bus_queue_t **out);
/* ERROR for a failed bus call on what, with libbus's detail; closes. */
void gate_fail_bus(struct gate_conn *conn, struct stomp_frame *frame,
		   const char *what, int error);

/* subscribe.c */
struct gate_sub *gate_sub_find(struct gate_conn *conn, const char *id);
/* The connection's own queue behind /temp-queue/NAME, made and
 * subscribed to on first use; 0, or -1 when the connection failed. */
int gate_temp_queue_ensure(struct gate_conn *conn, struct stomp_frame *frame,
			   const char *reply_to, const struct dest *d);

#endif /* BUSGATE_DEST_H */
