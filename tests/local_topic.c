/* SPDX-License-Identifier: MIT */
/* A topic segment private to one process, for tests without busd. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "local_topic.h"

void local_topic_settings(struct bus_topic_settings *settings, uint32_t slots,
			  uint32_t max_message,
			  enum bus_slow_subscriber policy,
			  uint32_t max_publishers, uint32_t history)
{
	bus_topic_settings_default(settings);
	settings->slots = slots;
	settings->max_message = max_message;
	settings->slow_subscriber = policy;
	settings->max_publishers = max_publishers;
	settings->max_subscribers = 8;
	settings->history = history;
}

int local_topic_create(struct local_topic *topic,
		       const struct bus_topic_settings *settings)
{
	char detail[256];
	int ret;

	memset(topic, 0, sizeof(*topic));
	topic->fd = -1;
	ret = bus__topic_settings_check(settings, detail, sizeof(detail));
	if (ret)
		return ret;
	topic->settings = *settings;
	topic->size = bus__topic_segment_size(settings);
	topic->fd = memfd_create("shmbus-test-topic", MFD_CLOEXEC);
	if (topic->fd < 0)
		return -errno;
	if (ftruncate(topic->fd, (off_t)topic->size)) {
		ret = -errno;
		goto fail;
	}
	topic->base = mmap(NULL, topic->size, PROT_READ | PROT_WRITE,
			   MAP_SHARED, topic->fd, 0);
	if (topic->base == MAP_FAILED) {
		ret = -errno;
		topic->base = NULL;
		goto fail;
	}
	busd_topic_segment_init(topic->base, topic->size, "test", "local",
				settings);
	ret = bus__topic_segment_validate(topic->base, topic->size,
					  &topic->geometry, detail,
					  sizeof(detail));
	if (ret)
		goto fail;
	return 0;
fail:
	local_topic_destroy(topic);
	return ret;
}

void local_topic_destroy(struct local_topic *topic)
{
	if (topic->base)
		munmap(topic->base, topic->size);
	topic->base = NULL;
	if (topic->fd >= 0)
		close(topic->fd);
	topic->fd = -1;
}

static struct busd_topic_identity identity(uint32_t client_id)
{
	return (struct busd_topic_identity){
		.client_id = client_id,
		.pid = (int32_t)getpid(),
		.uid = (uint32_t)getuid(),
	};
}

int local_topic_publisher(struct local_topic *topic, uint32_t nth,
			  const struct bus_queue_options *options,
			  bus_topic_t **out)
{
	struct busd_topic_identity who = identity(100 + nth);
	int ret;

	if (nth >= topic->settings.max_publishers)
		return -EINVAL;
	busd_topic_publisher_start(&topic->geometry, nth, &who);
	ret = bus__topic_handle_create(&topic->geometry, BUS_PRODUCER, nth,
				       who.client_id, options, out);
	if (ret)
		busd_topic_publisher_detach(&topic->geometry, nth);
	else
		(*out)->local_detach = busd_topic_publisher_detach;
	return ret;
}

int local_topic_observer(struct local_topic *topic, bus_topic_t **out)
{
	return bus__topic_handle_create(&topic->geometry, BUS_OBSERVER,
					UINT32_MAX, 0, NULL, out);
}

int local_topic_subscribe(struct local_topic *topic, uint32_t nth,
			  const struct bus_subscribe_options *options,
			  bus_subscription_t **out)
{
	struct busd_topic_identity who = identity(200 + nth);
	int ret;

	if (nth >= topic->settings.max_subscribers)
		return -EINVAL;
	busd_topic_subscriber_start(&topic->geometry, nth, &who);
	ret = bus__subscription_create(&topic->geometry, nth, who.client_id,
				       options, out);
	if (ret)
		busd_topic_subscriber_detach(&topic->geometry, nth);
	else
		(*out)->local_detach = busd_topic_subscriber_detach;
	return ret;
}
