/* SPDX-License-Identifier: MIT */
/* Creating and deleting topics. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "access_store.h"
#include "announcer.h"
#include "catalog.h"
#include "log.h"
#include "segments.h"
#include "topic_record.h"
#include "topics.h"
#include "wildcards.h"

int busd_topic_create(struct busd_catalog *catalog, const char *name,
		      const struct bus_topic_settings *settings,
		      const struct bus_access *access, char *detail,
		      size_t detail_size)
{
	struct busd_access resolved;
	struct busd_topic *topic;
	int ret;

	ret = bus__topic_settings_check(settings, detail, detail_size);
	if (!ret)
		ret = busd_access_resolve(access, &resolved, detail,
					  detail_size);
	if (ret)
		return ret;
	if (busd_registry_find(&catalog->registry, name) ||
	    busd_registry_find_topic(&catalog->registry, name)) {
		snprintf(detail, detail_size,
			 "a queue or topic named '%s' already exists on bus "
			 "'%s'",
			 name, catalog->bus_name);
		return -EEXIST;
	}
	ret = busd_segment_room_for(bus__topic_segment_size(settings), "topic",
				    name, detail, detail_size);
	if (ret)
		return ret;
	ret = busd_topic_segment_create(catalog->bus_name, name, settings,
					&topic, detail, detail_size);
	if (ret)
		return ret;
	topic->access = resolved;
	/* A recorded topic continues its journal's sequences before
	 * anybody sees it (busd/topic_record.h). */
	ret = busd_topic_record_open(catalog, topic, false, detail,
				     detail_size);
	if (ret) {
		busd_topic_segment_destroy(catalog->bus_name, topic);
		return ret;
	}
	ret = busd_registry_add_topic(&catalog->registry, topic);
	if (ret) {
		busd_topic_record_close(catalog, name, false);
		busd_topic_segment_destroy(catalog->bus_name, topic);
		snprintf(detail, detail_size, "out of memory");
		return ret;
	}
	busd_access_store_save(catalog);
	/* Before anyone can open it: wildcards miss none of its messages.
	 * Then wildcard subscribers look for new topics. */
	busd_wildcards_reserve(catalog->clients, topic);
	busd_announce_change(catalog->announce);
	busd_debug("topic '%s': %u slots of %u bytes, %s, %zu bytes of "
		   "shared memory",
		   name, settings->slots, settings->max_message,
		   settings->slow_subscriber == BUS_SLOW_SUBSCRIBER_OVERWRITE
			   ? "overwrite"
			   : "block",
		   topic->geometry.size);
	return 0;
}

/* As for queues, nobody is detached: the topic is gone for good. */
void busd_topic_delete(struct busd_catalog *catalog, struct busd_topic *topic)
{
	/* Its journal is written and closed; busctl delete removes it too
	 * (handlers.c). */
	busd_topic_record_close(catalog, topic->name, false);
	busd_registry_remove_topic(&catalog->registry, topic);
	busd_topic_segment_destroy(catalog->bus_name, topic);
	busd_access_store_save(catalog);
	busd_announce_change(catalog->announce);
}

static bool busd_topic_attached(const struct busd_topic *topic)
{
	const struct bus_topic_settings *s = &topic->geometry.settings;

	for (uint32_t i = 0; i < s->max_publishers; i++)
		if (topic->publishers[i])
			return true;
	for (uint32_t i = 0; i < s->max_subscribers; i++)
		if (topic->subscribers[i])
			return true;
	return false;
}

/*
 * A configured topic that a previous busd left (adopt.h): the config's
 * owner, group and mode apply; settings that differ hold while clients
 * still use the old segment.
 */
static int busd_topic_reconcile(struct busd_catalog *catalog,
				const struct busd_topic_config *config)
{
	struct busd_topic *topic =
		busd_registry_find_topic(&catalog->registry, config->name);
	char detail[256];
	int ret;

	ret = busd_access_resolve(&config->access, &topic->access, detail,
				  sizeof(detail));
	if (ret) {
		busd_refuse("topic '%s': %s", config->name, detail);
		return ret;
	}
	busd_access_store_save(catalog);
	if (!memcmp(&topic->geometry.settings, &config->settings,
		    sizeof(config->settings)))
		return 0;
	if (busd_topic_attached(topic)) {
		busd_warning("topic '%s' is in use and its settings differ "
			     "from the configuration: it is used as it is "
			     "(delete and create it, or restart busd once its "
			     "clients are gone)",
			     config->name);
		return 0;
	}
	busd_topic_delete(catalog, topic);
	ret = busd_topic_create(catalog, config->name, &config->settings,
				&config->access, detail, sizeof(detail));
	if (ret)
		busd_refuse("cannot create topic '%s': %s", config->name,
			    detail);
	return ret;
}

int busd_topics_start(struct busd_catalog *catalog,
		      const struct busd_config *config)
{
	uint64_t needed = 0, available;
	char detail[256];
	int ret;

	for (unsigned int i = 0; i < config->topic_count; i++) {
		/* An adopted topic has its room already. */
		if (busd_registry_find_topic(&catalog->registry,
					     config->topics[i].name))
			continue;
		needed += bus__topic_segment_size(&config->topics[i].settings);
	}
	ret = busd_segment_room(needed, &available);
	if (ret == -ENOSPC) {
		busd_refuse("/dev/shm has %llu MiB free but the configured "
			    "topics need %llu MiB",
			    busd_mib_down(available), busd_mib_up(needed));
		return ret;
	}
	for (unsigned int i = 0; i < config->topic_count; i++) {
		const struct busd_topic_config *topic = &config->topics[i];

		if (busd_registry_find_topic(&catalog->registry,
					     topic->name)) {
			ret = busd_topic_reconcile(catalog, topic);
			if (ret)
				return ret;
			continue;
		}
		ret = busd_topic_create(catalog, topic->name, &topic->settings,
					&topic->access, detail,
					sizeof(detail));
		if (ret) {
			busd_refuse("cannot create topic '%s': %s",
				    topic->name, detail);
			return ret;
		}
	}
	return 0;
}

void busd_topics_stop(struct busd_catalog *catalog)
{
	struct busd_registry *r = &catalog->registry;

	while (r->topic_count)
		busd_topic_delete(catalog, r->topics[r->topic_count - 1]);
}

int busd_topics_detach_client(struct busd_catalog *catalog, uint32_t client_id,
			      unsigned int *slots)
{
	struct busd_topic *topic;
	int padded = 0;

	for (uint32_t i = 0;
	     (topic = busd_registry_topic_at(&catalog->registry, i)); i++)
		padded += busd_topic_detach_client(topic, client_id, slots);
	return padded;
}
