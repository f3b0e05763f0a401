/* SPDX-License-Identifier: MIT */
/* Closing connections that say nothing (hello_deadline.h). */
#include <errno.h>
#include <stdio.h>

#include "admission.h"
#include "client.h"
#include "clock.h"
#include "hello_deadline.h"
#include "log.h"

void busd_hello_deadline_init(struct busd_hello_deadline *deadline,
			      uint32_t timeout_ms, struct busd_loop *loop,
			      struct busd_admission *admission)
{
	deadline->timeout_ns = (uint64_t)timeout_ms * 1000000u;
	deadline->head = NULL;
	deadline->tail = NULL;
	deadline->op.kind = BUSD_OP_HELLO_DEADLINE;
	deadline->op.in_flight = false;
	deadline->op.client = NULL;
	deadline->loop = loop;
	deadline->admission = admission;
}

/* Arms the timeout for the head, unless one is in the ring already: it
 * fires no later than the head's deadline, and arms the next itself. */
static void busd_hello_deadline_arm(struct busd_hello_deadline *d)
{
	uint64_t at;

	if (!d->head || d->op.in_flight || d->loop->stop)
		return;
	at = d->head->hello_deadline_ns;
	d->when.tv_sec = (long long)(at / 1000000000u);
	d->when.tv_nsec = (long long)(at % 1000000000u);
	if (busd_loop_timeout_at(d->loop, &d->op, &d->when))
		busd_warning("cannot arm the HELLO deadline; silent "
			     "connections stay until the next one arrives");
}

void busd_hello_deadline_start(struct busd_hello_deadline *d,
			       struct busd_client *client)
{
	if (!d->timeout_ns || client->awaiting_hello)
		return;
	client->hello_deadline_ns =
		(uint64_t)bus__monotonic_ns() + d->timeout_ns;
	client->awaiting_hello = true;
	client->hello_prev = d->tail;
	client->hello_next = NULL;
	if (d->tail)
		d->tail->hello_next = client;
	else
		d->head = client;
	d->tail = client;
	busd_hello_deadline_arm(d);
}

void busd_hello_deadline_stop(struct busd_hello_deadline *d,
			      struct busd_client *client)
{
	if (!client->awaiting_hello)
		return;
	client->awaiting_hello = false;
	if (client->hello_prev)
		client->hello_prev->hello_next = client->hello_next;
	else
		d->head = client->hello_next;
	if (client->hello_next)
		client->hello_next->hello_prev = client->hello_prev;
	else
		d->tail = client->hello_prev;
	client->hello_next = NULL;
	client->hello_prev = NULL;
}

static void busd_hello_deadline_expire(struct busd_hello_deadline *d,
				       struct busd_client *client)
{
	char detail[BUS_CONTROL_DETAIL_MAX];

	snprintf(detail, sizeof(detail),
		 "it said nothing within busd's "
		 "hello_timeout_ms of %llu ms",
		 (unsigned long long)(d->timeout_ns / 1000000u));
	busd_admission_refuse(d->admission, client, BUSD_REFUSED_HELLO_TIMEOUT,
			      -ETIMEDOUT, detail);
	/* Dropping takes it off the list (busd_client_drop). */
	d->drop(d->owner, client, "said no HELLO in time");
}

void busd_hello_deadline_on_timeout(struct busd_hello_deadline *d, int result)
{
	uint64_t now = (uint64_t)bus__monotonic_ns();

	if (d->loop->stop || result == -ECANCELED)
		return;
	while (d->head && d->head->hello_deadline_ns <= now)
		busd_hello_deadline_expire(d, d->head);
	busd_hello_deadline_arm(d);
}
