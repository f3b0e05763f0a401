/* SPDX-License-Identifier: MIT */
/* Dead letters and ack timeouts: busd's periodic work (dead_letter.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "registry.h"
#include "dead_letter.h"
#include "detail.h"
#include "log.h"
#include "message_area.h"
#include "queue_cell.h"
#include "queue_dead_letter.h"

/* How often DEAD cells are looked for (a hint load per queue per tick). */
#define BUSD_DEAD_LETTER_TICK_NS UINT64_C(10000000)
/* Ack timeouts are looked at every eighth of the timeout, within these. */
#define BUSD_LEASE_TICK_MIN_NS UINT64_C(1000000)
#define BUSD_LEASE_TICK_MAX_NS UINT64_C(100000000)

/* Recovery of a previous busd's half-done work runs once, first. */
static bool busd_dead_letter_recovered;

int busd_dead_letter_check(const struct busd_registry *registry,
			   const char *name,
			   const struct bus_queue_settings *s, char *detail,
			   size_t detail_size)
{
	const struct busd_queue *target;
	const struct bus_queue_settings *t;

	/* The library's check says why in full; here only what it needs. */
	if (!s->dead_letter[0] ||
	    !memchr(s->dead_letter, '\0', sizeof(s->dead_letter)))
		return 0;
	if (!strcmp(s->dead_letter, name))
		return bus__detail(detail, detail_size, -EINVAL,
				   "queue '%s' cannot be its own dead-letter "
				   "queue",
				   name);
	target = busd_registry_find(registry, s->dead_letter);
	if (!target)
		return bus__detail(detail, detail_size, -ENOENT,
				   "dead-letter queue '%s' does not exist",
				   s->dead_letter);
	t = &target->geometry.settings;
	if (t->type != BUS_QUEUE_MPMC)
		return bus__detail(detail, detail_size, -EINVAL,
				   "dead-letter queue '%s' must be mpmc: busd "
				   "writes into it besides its producers",
				   s->dead_letter);
	if (t->max_message < s->max_message ||
	    t->header_room < busd_dead_letter_room_needed(s))
		return bus__detail(
			detail, detail_size, -EINVAL,
			"dead-letter queue '%s' must take messages of "
			"max_message %u and header_room %u%s",
			s->dead_letter, s->max_message,
			busd_dead_letter_room_needed(s),
			bus__queue_is_packed(s)
				? " (this spsc queue packs its messages: "
				  "its header_room is a limit, 512 when 0)"
				: "");
	return 0;
}

static bool busd_watches(const struct busd_queue *queue)
{
	const struct bus_queue_settings *s = &queue->geometry.settings;

	return s->dead_letter[0] || s->ack_timeout_ms;
}

static uint64_t busd_lease_tick(uint32_t ack_timeout_ms)
{
	uint64_t tick = (uint64_t)ack_timeout_ms * 1000000u / 8;

	if (tick < BUSD_LEASE_TICK_MIN_NS)
		return BUSD_LEASE_TICK_MIN_NS;
	return tick > BUSD_LEASE_TICK_MAX_NS ? BUSD_LEASE_TICK_MAX_NS : tick;
}

uint64_t busd_dead_letter_interval(const struct busd_registry *registry)
{
	uint64_t interval = 0;

	for (unsigned int i = 0; i < registry->count; i++) {
		const struct bus_queue_settings *s =
			&registry->queues[i]->geometry.settings;
		uint64_t tick = 0;

		if (s->ack_timeout_ms)
			tick = busd_lease_tick(s->ack_timeout_ms);
		if (s->dead_letter[0] &&
		    (!tick || tick > BUSD_DEAD_LETTER_TICK_NS))
			tick = BUSD_DEAD_LETTER_TICK_NS;
		if (tick && (!interval || tick < interval))
			interval = tick;
	}
	return interval;
}

static struct busd_queue_watch *busd_watch_of(struct busd_queue *queue)
{
	const struct bus__queue_geometry *g = &queue->geometry;
	struct busd_queue_watch *watch = queue->watch;

	if (watch)
		return watch;
	watch = calloc(1, sizeof(*watch));
	if (!watch)
		return NULL;
	if (g->settings.ack_timeout_ms) {
		watch->samples = calloc(g->slots, sizeof(*watch->samples));
		if (!watch->samples) {
			free(watch);
			return NULL;
		}
	}
	/* Look at once: DEAD cells may be there from before. */
	watch->dead_left = true;
	queue->watch = watch;
	return watch;
}

static const struct bus__queue_geometry *
busd_target_of(const struct busd_registry *registry,
	       const struct busd_queue *queue)
{
	const char *name = queue->geometry.settings.dead_letter;
	const struct busd_queue *target;

	if (!name[0])
		return NULL;
	target = busd_registry_find(registry, name);
	if (!target || target == queue ||
	    target->geometry.settings.type != BUS_QUEUE_MPMC)
		return NULL;
	return &target->geometry;
}

/* Settles what a busd that died mid-move or mid-take-back left. */
void busd_dead_letter_recover(struct busd_registry *registry)
{
	struct busd_registry *r = registry;
	uint32_t fixed = 0;

	/* Every record first: padding a target cell before its record is
	 * read would make an unfinished move look finished. */
	for (unsigned int i = 0; i < r->count; i++)
		busd_dead_letter_recover_move(&r->queues[i]->geometry,
					      busd_target_of(registry,
							     r->queues[i]));
	for (unsigned int i = 0; i < r->count; i++)
		fixed += busd_dead_letter_recover_cells(
			&r->queues[i]->geometry);
	if (fixed)
		busd_info("settled %u cell%s that a previous busd left in the "
			  "middle of a dead-letter move or lease take-back",
			  fixed, fixed == 1 ? "" : "s");
	busd_dead_letter_recovered = true;
}

static void busd_report_left(struct busd_queue *queue,
			     struct busd_queue_watch *watch,
			     const struct busd_dead_letter_pass *pass,
			     bool no_target)
{
	const char *target = queue->geometry.settings.dead_letter;
	uint32_t left = pass->waiting + pass->too_large;

	if (watch->warned)
		return;
	watch->warned = true;
	if (no_target)
		busd_warning("queue '%s': dead-letter queue '%s' does not "
			     "exist; messages past max_deliveries wait in "
			     "'%s' (dead_waiting)",
			     queue->name, target, queue->name);
	else if (pass->waiting)
		busd_warning("queue '%s': dead-letter queue '%s' is full; %u "
			     "message%s past max_deliveries wait in '%s' "
			     "(dead_waiting)",
			     queue->name, target, left, left == 1 ? "" : "s",
			     queue->name);
	else
		busd_warning("queue '%s': %u message%s past max_deliveries "
			     "do not fit dead-letter queue '%s' and wait",
			     queue->name, left, left == 1 ? "" : "s", target);
}

/* DEAD cells of a queue whose dead-letter queue is gone. */
static uint32_t busd_count_dead(const struct bus__queue_geometry *g)
{
	uint32_t dead = 0;

	for (uint32_t i = 0; i < g->slots; i++)
		dead += bus__cell_kind(bus__load_relaxed(
				&bus__queue_cell(g, i)->state)) ==
			BUS__CELL_DEAD;
	return dead;
}

static void busd_move_dead(struct busd_registry *registry,
			   struct busd_queue *queue,
			   struct busd_queue_watch *watch)
{
	const struct bus__queue_geometry *g = &queue->geometry;
	const struct bus__queue_geometry *target =
		busd_target_of(registry, queue);
	/* Acquire: pairs with the buriers' seq_cst raise; the DEAD states
	 * made before it are seen by the pass. */
	uint64_t pending = bus__load_acquire(&g->control->dead_pending);
	struct busd_dead_letter_pass pass = { 0 };

	if (pending == watch->dead_seen && !watch->dead_left)
		return;
	watch->dead_seen = pending;
	if (target)
		busd_dead_letter_move(g, target, &pass);
	else
		pass.waiting = busd_count_dead(g);
	if (pass.moved)
		busd_debug("queue '%s': moved %u message%s to dead-letter "
			   "queue '%s'",
			   queue->name, pass.moved, pass.moved == 1 ? "" : "s",
			   g->settings.dead_letter);
	if (pass.corrupt)
		busd_warning("queue '%s': dropped %u corrupt message%s past "
			     "max_deliveries",
			     queue->name, pass.corrupt,
			     pass.corrupt == 1 ? "" : "s");
	watch->dead_left = pass.waiting || pass.too_large;
	if (watch->dead_left)
		busd_report_left(queue, watch, &pass, !target);
	else
		watch->warned = false;
}

static uint64_t busd_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void busd_dead_letter_tick(struct busd_registry *registry)
{
	struct busd_registry *r = registry;
	uint64_t now = busd_monotonic_ns();

	if (!busd_dead_letter_recovered)
		busd_dead_letter_recover(registry);
	for (unsigned int i = 0; i < r->count; i++) {
		struct busd_queue *queue = r->queues[i];
		struct busd_queue_watch *watch;
		uint32_t taken;

		if (!busd_watches(queue))
			continue;
		watch = busd_watch_of(queue);
		if (!watch)
			continue; /* out of memory: next tick */
		if (watch->samples && now >= watch->next_scan_ns) {
			watch->next_scan_ns =
				now + busd_lease_tick(queue->geometry.settings
							      .ack_timeout_ms);
			taken = busd_lease_timeout_scan(&queue->geometry,
							watch->samples, now);
			if (taken)
				busd_info("queue '%s': took back %u lease%s "
					  "held past ack_timeout_ms (%u)",
					  queue->name, taken,
					  taken == 1 ? "" : "s",
					  queue->geometry.settings
						  .ack_timeout_ms);
		}
		if (queue->geometry.settings.dead_letter[0])
			busd_move_dead(registry, queue, watch);
	}
}
