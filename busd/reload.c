/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP: read the configuration file again and apply what can change
 * under running clients without losing a message or surprising one.
 *
 * Applied: the log level, admin_group, owner/group/mode of queues and
 * topics, routes and addresses, and queues and topics that are new in the
 * file.  Not applied, and logged as needing a restart: changed settings
 * of an existing queue or topic (its ring is laid out by them, and
 * clients have it mapped), and the [bus] keys that shape the socket, the
 * metrics endpoint and the connection limits.  Nothing is deleted: a
 * queue that left the file may still hold messages, so the operator
 * deletes it with busctl.  A file with errors changes nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "access_store.h"
#include "busd.h"
#include "log.h"
#include "log_file.h"
#include "queues.h"
#include "reload.h"
#include "routes.h"
#include "topics.h"

struct busd_reload_tally {
	unsigned int applied;
	unsigned int need_restart;
};

static void busd_reload_log_level(struct busd *busd,
				  const struct busd_config *next,
				  struct busd_reload_tally *t)
{
	int old = busd->config->bus.log_level;

	if (next->bus.log_level == old)
		return;
	if (busd->log_level_fixed) {
		busd_info("reload: log_level in the file changed, but the "
			  "command line's -l or -v wins");
		return;
	}
	busd_log_set_level(next->bus.log_level >= 0
				   ? (enum busd_log_level)next->bus.log_level
				   : BUSD_LOG_INFO);
	busd_info("reload: log_level is now %s",
		  busd_log_level_name(next->bus.log_level >= 0
					      ? next->bus.log_level
					      : BUSD_LOG_INFO));
	t->applied++;
}

/* [bus] keys that take effect only when busd starts. */
static void busd_reload_bus(struct busd *busd, const struct busd_config *next,
			    struct busd_reload_tally *t)
{
	const struct busd_bus_config *old = &busd->config->bus;
	const struct busd_bus_config *new = &next->bus;

	if (old->admin_group != new->admin_group) {
		busd->admin_group = new->admin_group;
		busd_info("reload: admin_group applied");
		t->applied++;
	}
	if (old->socket_mode != new->socket_mode ||
	    old->socket_group != new->socket_group) {
		busd_warning("reload: socket_mode and socket_group changed: "
			     "they apply when busd restarts");
		t->need_restart++;
	}
	if (old->metrics.length != new->metrics.length ||
	    memcmp(&old->metrics.address, &new->metrics.address,
		   old->metrics.length)) {
		busd_warning("reload: metrics changed: it applies when busd "
			     "restarts");
		t->need_restart++;
	}
	if (old->dashboard.length != new->dashboard.length ||
	    memcmp(&old->dashboard.address, &new->dashboard.address,
		   old->dashboard.length)) {
		busd_warning("reload: dashboard changed: it applies when busd "
			     "restarts");
		t->need_restart++;
	}
	if (old->limits.max_connections_per_user !=
		    new->limits.max_connections_per_user ||
	    old->limits.hello_timeout_ms != new->limits.hello_timeout_ms ||
	    old->limits.reserved_descriptors !=
		    new->limits.reserved_descriptors) {
		busd_warning("reload: the connection limits changed: they "
			     "apply when busd restarts");
		t->need_restart++;
	}
	if (strcmp(old->log_file, new->log_file)) {
		busd_warning("reload: log_file changed: it applies when busd "
			     "restarts");
		t->need_restart++;
	}
}

/* Owner, group and mode apply at once, as at start; a changed ring does
 * not. */
static void busd_reload_access(struct busd_access *current,
			       const struct bus_access *asked,
			       const char *kind, const char *name,
			       struct busd_reload_tally *t)
{
	struct busd_access resolved;
	char detail[256];

	if (busd_access_resolve(asked, &resolved, detail, sizeof(detail))) {
		busd_warning("reload: %s '%s': %s; its access is unchanged",
			     kind, name, detail);
		return;
	}
	if (!memcmp(&resolved, current, sizeof(resolved)))
		return;
	*current = resolved;
	busd_info("reload: %s '%s': owner %u, group %u, mode %04o", kind, name,
		  (unsigned int)resolved.owner, (unsigned int)resolved.group,
		  (unsigned int)resolved.mode);
	t->applied++;
}

static void busd_reload_queue(struct busd *busd,
			      const struct busd_queue_config *q,
			      struct busd_reload_tally *t)
{
	struct busd_queue *queue =
		busd_registry_find(&busd->catalog.registry, q->name);
	char detail[256];

	if (!queue) {
		if (busd_queue_create(&busd->catalog, q->name, &q->settings,
				      &q->access, detail, sizeof(detail))) {
			busd_error("reload: cannot create queue '%s': %s",
				   q->name, detail);
			return;
		}
		busd_info("reload: created queue '%s'", q->name);
		t->applied++;
		return;
	}
	busd_reload_access(&queue->access, &q->access, "queue", q->name, t);
	if (memcmp(&queue->geometry.settings, &q->settings,
		   sizeof(q->settings))) {
		busd_warning("reload: queue '%s': its settings changed; they "
			     "apply when it is deleted and created again, or "
			     "when busd restarts with it empty",
			     q->name);
		t->need_restart++;
	}
}

static void busd_reload_topic(struct busd *busd,
			      const struct busd_topic_config *c,
			      struct busd_reload_tally *t)
{
	struct busd_topic *topic =
		busd_registry_find_topic(&busd->catalog.registry, c->name);
	char detail[256];

	if (busd_registry_find(&busd->catalog.registry, c->name)) {
		busd_error("reload: '%s' is a queue; it cannot become a topic "
			   "while busd runs",
			   c->name);
		return;
	}
	if (!topic) {
		if (busd_topic_create(&busd->catalog, c->name, &c->settings,
				      &c->access, detail, sizeof(detail))) {
			busd_error("reload: cannot create topic '%s': %s",
				   c->name, detail);
			return;
		}
		busd_info("reload: created topic '%s'", c->name);
		t->applied++;
		return;
	}
	busd_reload_access(&topic->access, &c->access, "topic", c->name, t);
	if (memcmp(&topic->geometry.settings, &c->settings,
		   sizeof(c->settings))) {
		busd_warning("reload: topic '%s': its settings changed; they "
			     "apply when it is deleted and created again, or "
			     "when busd restarts with no clients on it",
			     c->name);
		t->need_restart++;
	}
}

static const struct bus_route *
busd_reload_find_route(const struct busd_config *config,
		       const struct bus_route *route)
{
	for (unsigned int i = 0; i < config->route_count; i++) {
		const struct bus_route *r = &config->routes[i].route;

		if (r->kind == route->kind && !strcmp(r->name, route->name))
			return r;
	}
	return NULL;
}

/*
 * The file's routes replace those of the file before; routes added at
 * run time (busctl route add) under other names stay.
 */
static void busd_reload_routes(struct busd *busd, struct busd_config *next,
			       struct busd_reload_tally *t)
{
	const struct busd_config *old = busd->config;
	char detail[256];

	for (unsigned int i = 0; i < old->route_count; i++) {
		const struct bus_route *r = &old->routes[i].route;

		if (busd_reload_find_route(next, r))
			continue;
		if (!busd_routes_delete(busd->routes, r->kind, r->name, detail,
					sizeof(detail))) {
			busd_info("reload: deleted route '%s'", r->name);
			t->applied++;
		}
	}
	for (unsigned int i = 0; i < next->route_count; i++) {
		struct bus_route *r = &next->routes[i].route;
		const struct bus_route *was = busd_reload_find_route(old, r);

		if (was && !memcmp(was, r, sizeof(*r)))
			continue;
		busd_routes_delete(busd->routes, r->kind, r->name, detail,
				   sizeof(detail));
		if (busd_routes_add(busd->routes, r, detail, sizeof(detail))) {
			busd_error("reload: route '%s': %s; %s", r->name,
				   detail,
				   was ? "it stays as it was"
				       : "the next reload tries again");
			/* The config busd keeps says what runs, so that the
			 * next reload sees the difference again. */
			if (was && !busd_routes_add(busd->routes, was, detail,
						    sizeof(detail))) {
				*r = *was;
			} else {
				next->routes[i] =
					next->routes[--next->route_count];
				i--;
			}
			continue;
		}
		busd_info("reload: %s route '%s'", was ? "changed" : "added",
			  r->name);
		t->applied++;
	}
}

/* Whether queue q can be made now: its dead-letter queue, if it names
 * one, must exist first. */
static bool busd_reload_queue_ready(const struct busd *busd,
				    const struct busd_queue_config *q)
{
	return !q->settings.dead_letter[0] ||
	       busd_registry_find(&busd->catalog.registry, q->name) ||
	       busd_registry_find(&busd->catalog.registry,
				  q->settings.dead_letter);
}

/* In passes, so that a new queue's new dead-letter queue is made before
 * it wherever the file puts them. */
static void busd_reload_queues(struct busd *busd,
			       const struct busd_config *next,
			       struct busd_reload_tally *t)
{
	bool *done = calloc(next->queue_count ? next->queue_count : 1, 1);
	bool progress = true;

	if (!done) {
		busd_error("reload: out of memory; queues unchanged");
		return;
	}
	while (progress) {
		progress = false;
		for (unsigned int i = 0; i < next->queue_count; i++) {
			if (done[i] ||
			    !busd_reload_queue_ready(busd, &next->queues[i]))
				continue;
			busd_reload_queue(busd, &next->queues[i], t);
			done[i] = progress = true;
		}
	}
	for (unsigned int i = 0; i < next->queue_count; i++)
		if (!done[i])
			busd_error("reload: cannot create queue '%s': its "
				   "dead-letter queue '%s' could not be made",
				   next->queues[i].name,
				   next->queues[i].settings.dead_letter);
	free(done);
}

/* What needs a restart stays in the kept config as busd runs it, so that
 * a later reload still reports it. */
static void busd_reload_keep_running(struct busd_bus_config *next,
				     const struct busd_bus_config *running)
{
	next->socket_mode = running->socket_mode;
	next->socket_group = running->socket_group;
	next->metrics = running->metrics;
	next->dashboard = running->dashboard;
	next->limits = running->limits;
	memcpy(next->log_file, running->log_file, sizeof(next->log_file));
}

static void busd_reload_apply(struct busd *busd, struct busd_config *next,
			      struct busd_reload_tally *t)
{
	busd_reload_log_level(busd, next, t);
	busd_reload_bus(busd, next, t);
	/* Routes may name new queues and topics: they come last. */
	busd_reload_queues(busd, next, t);
	for (unsigned int i = 0; i < next->topic_count; i++)
		busd_reload_topic(busd, &next->topics[i], t);
	busd_reload_routes(busd, next, t);
	busd_access_store_save(&busd->catalog);
	busd_reload_keep_running(&next->bus, &busd->config->bus);
}

int busd_reload(struct busd *busd)
{
	struct busd_reload_tally tally = { 0 };
	struct busd_config next;
	int ret;

	/* logrotate moved the file and signalled: write to a new one. */
	busd_log_file_reopen(busd->log_file);
	if (!busd->config_path) {
		busd_info("reload: no configuration file (-c) to read; log "
			  "file reopened");
		return 0;
	}
	busd_info("reload: reading %s", busd->config_path);
	ret = busd_config_read(&next, busd->config_path);
	if (ret) {
		busd_error("reload: %s has errors (above); nothing changed",
			   busd->config_path);
		return ret;
	}
	if (busd->log_file_fixed)
		memcpy(next.bus.log_file, busd->config->bus.log_file,
		       sizeof(next.bus.log_file));
	/* Scrapes must not walk the registry while it grows. */
	busd_stats_lock(&busd->stats_lock);
	busd_reload_apply(busd, &next, &tally);
	busd_stats_unlock(&busd->stats_lock);
	busd_config_free(busd->config);
	*busd->config = next;
	busd_info("reload: done: %u change%s applied, %u need%s a restart",
		  tally.applied, tally.applied == 1 ? "" : "s",
		  tally.need_restart, tally.need_restart == 1 ? "s" : "");
	return 0;
}
