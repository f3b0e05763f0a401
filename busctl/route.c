/* SPDX-License-Identifier: MIT */
/*
 * busctl route ls [--json]
 * busctl route add NAME --from ADDRESS [--key PATTERN] --to TARGET[,...]
 *                       [--header NAME=VALUE]...
 * busctl route del NAME
 * busctl route unroutable ADDRESS TARGET
 * busctl route unroutable ADDRESS --delete
 *
 * ls reads the route table in shared memory; add, del and unroutable ask
 * busd, which wants admin rights (as create and delete do).  Changes apply
 * to the next message of every running publisher.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "busctl.h"

static void busctl_route_print_text(const struct bus_route *r)
{
	if (r->kind == BUS_ROUTE_UNROUTABLE) {
		printf("address %s unroutable -> %s\n", r->name,
		       r->targets[0]);
		return;
	}
	printf("route %s: %s [%s] ->", r->name, r->from,
	       r->key[0] ? r->key : "*any*");
	for (uint32_t i = 0; i < r->target_count; i++)
		printf("%s%s", i ? "," : " ", r->targets[i]);
	for (uint32_t i = 0; i < r->match_count; i++)
		printf(" if %s=%s", r->matches[i].name, r->matches[i].value);
	putchar('\n');
}

static void busctl_route_print_json(const struct bus_route *r, int first)
{
	printf("%s{\"kind\":\"%s\",\"name\":", first ? "" : ",",
	       r->kind == BUS_ROUTE_UNROUTABLE ? "unroutable" : "route");
	busctl_json_string(stdout, r->name);
	printf(",\"from\":");
	busctl_json_string(stdout, r->from);
	printf(",\"key\":");
	busctl_json_string(stdout, r->key);
	printf(",\"to\":[");
	for (uint32_t i = 0; i < r->target_count; i++) {
		if (i)
			putchar(',');
		busctl_json_string(stdout, r->targets[i]);
	}
	printf("],\"headers\":{");
	for (uint32_t i = 0; i < r->match_count; i++) {
		if (i)
			putchar(',');
		busctl_json_string(stdout, r->matches[i].name);
		putchar(':');
		busctl_json_string(stdout, r->matches[i].value);
	}
	printf("}}");
}

static int busctl_route_ls(struct busctl *ctl, int json)
{
	struct bus_route r;
	uint32_t i;
	int err;

	if (json)
		putchar('[');
	for (i = 0; (err = bus_route_get(ctl->bus, i, &r)) == 0; i++) {
		if (json)
			busctl_route_print_json(&r, i == 0);
		else
			busctl_route_print_text(&r);
	}
	if (json)
		printf("]\n");
	if (err != -ENOENT)
		return busctl_fail(ctl, err, "route ls");
	return busctl_flush_stdout();
}

/* "a,b" into the targets. */
static int busctl_route_targets(struct bus_route *r, const char *list)
{
	const char *item = list;

	while (*item) {
		size_t length = strcspn(item, ",");

		if (!length || length > BUS_NAME_MAX ||
		    r->target_count == BUS_ROUTE_TARGETS_MAX)
			return -EINVAL;
		memcpy(r->targets[r->target_count], item, length);
		r->targets[r->target_count++][length] = '\0';
		item += length + (item[length] == ',');
	}
	return r->target_count ? 0 : -EINVAL;
}

static int busctl_route_match(struct bus_route *r, const char *pair)
{
	const char *equals = strchr(pair, '=');
	struct bus_route_match *m;

	if (!equals || equals == pair ||
	    (size_t)(equals - pair) > BUS_MESSAGE_HEADER_NAME_MAX ||
	    strlen(equals + 1) > BUS_NAME_MAX ||
	    r->match_count == BUS_ROUTE_MATCHES_MAX)
		return -EINVAL;
	m = &r->matches[r->match_count++];
	memcpy(m->name, pair, (size_t)(equals - pair));
	strcpy(m->value, equals + 1);
	return 0;
}

static int busctl_route_add_parse(struct bus_route *r, int argc, char **argv)
{
	static const struct option options[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "key", required_argument, NULL, 'k' },
		{ "to", required_argument, NULL, 't' },
		{ "header", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":f:k:t:H:", options, NULL)) !=
	       -1) {
		int bad = 0;

		switch (c) {
		case 'f':
			bad = strlen(optarg) > BUS_NAME_MAX;
			if (!bad)
				strcpy(r->from, optarg);
			break;
		case 'k':
			bad = strlen(optarg) > BUS_NAME_MAX;
			if (!bad)
				strcpy(r->key, optarg);
			break;
		case 't':
			bad = busctl_route_targets(r, optarg) != 0;
			break;
		case 'H':
			bad = busctl_route_match(r, optarg) != 0;
			break;
		default:
			return busctl_bad_option("route add", c, argv);
		}
		if (bad)
			return busctl_usage_error("route add: bad value '%s'",
						  optarg);
	}
	if (optind + 1 != argc)
		return busctl_usage_error("route add: expected one NAME");
	if (strlen(argv[optind]) > BUS_NAME_MAX)
		return busctl_usage_error("route add: name too long");
	strcpy(r->name, argv[optind]);
	if (!r->from[0] || !r->target_count)
		return busctl_usage_error("route add: --from and --to are "
					  "needed");
	return -1;
}

static int busctl_route_add(struct busctl *ctl, int argc, char **argv)
{
	struct bus_route r = { .kind = BUS_ROUTE_RULE };
	int status = busctl_route_add_parse(&r, argc, argv);
	int err;

	if (status >= 0)
		return status;
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = bus_route_add(ctl->bus, &r);
	if (err < 0)
		return busctl_fail(ctl, err, "route add %s", r.name);
	return BUSCTL_EXIT_OK;
}

static int busctl_route_delete(struct busctl *ctl, uint32_t kind,
			       const char *name)
{
	int err;

	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = bus_route_delete(ctl->bus, kind, name);
	if (err < 0)
		return busctl_fail(ctl, err, "route del %s", name);
	return BUSCTL_EXIT_OK;
}

static int busctl_route_unroutable(struct busctl *ctl, int argc, char **argv)
{
	struct bus_route r = { .kind = BUS_ROUTE_UNROUTABLE,
			       .target_count = 1 };
	int err;

	if (argc != 4)
		return busctl_usage_error("route unroutable: expected ADDRESS "
					  "and TARGET (or --delete)");
	if (!strcmp(argv[3], "--delete"))
		return busctl_route_delete(ctl, BUS_ROUTE_UNROUTABLE, argv[2]);
	if (strlen(argv[2]) > BUS_NAME_MAX || strlen(argv[3]) > BUS_NAME_MAX)
		return busctl_usage_error("route unroutable: name too long");
	strcpy(r.name, argv[2]);
	strcpy(r.from, argv[2]);
	strcpy(r.targets[0], argv[3]);
	if (busctl_connect(ctl) < 0)
		return BUSCTL_EXIT_ERROR;
	err = bus_route_add(ctl->bus, &r);
	if (err < 0)
		return busctl_fail(ctl, err, "route unroutable %s", r.name);
	return BUSCTL_EXIT_OK;
}

int busctl_route_is_address(struct busctl *ctl, const char *name)
{
	struct bus_route r;

	for (uint32_t i = 0; bus_route_get(ctl->bus, i, &r) == 0; i++)
		if (!strcmp(r.from, name))
			return 1;
	return 0;
}

int busctl_route_send(struct busctl *ctl, bus_address_t *address,
		      const char *name, const struct busctl_meta *meta,
		      const void *data, size_t length, int64_t timeout_ns)
{
	struct bus_route_report report;
	struct bus_message m;
	int err, first = 0;

	err = bus_address_loan(address, meta->key, &m, timeout_ns);
	if (err < 0)
		return err;
	if (err == 0 && meta->reply_to)
		err = bus_message_set_reply_to(&m, meta->reply_to);
	if (err == 0 && meta->ttl_ns)
		err = bus_message_set_ttl(&m, meta->ttl_ns);
	if (err == 0 && meta->correlation)
		err = bus_message_set_correlation(&m, meta->correlation);
	for (unsigned int i = 0; err == 0 && i < meta->count; i++)
		err = bus_message_add_header(&m, meta->names[i],
					     meta->values[i]);
	/* Too long: the commit says -EMSGSIZE and leaves the loan open;
	 * busctl then stops, and closing the address discards it. */
	memcpy(m.payload, data, length < m.capacity ? length : m.capacity);
	report.matched = 0;
	if (err == 0)
		err = bus_address_commit(address, &m, (uint32_t)length,
					 &report);
	if (err < 0 && report.matched == 0)
		return err;
	for (uint32_t i = 0; i < report.matched; i++) {
		int status = report.targets[i].status;

		if (!status)
			continue;
		first = first ? first : status;
		if (status != -ETIMEDOUT && status != -EINTR)
			busctl_error("pub %s: target %s did not take the "
				     "message: %s",
				     name, report.targets[i].name,
				     bus_strerror(status));
	}
	(void)ctl;
	return first;
}

int busctl_route(struct busctl *ctl, int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "ls")) {
		/* main.c took --json out of argv already. */
		int json = ctl->json;

		if (argc > 2)
			return busctl_usage_error("route ls: unexpected '%s'",
						  argv[2]);
		if (busctl_connect(ctl) < 0)
			return BUSCTL_EXIT_ERROR;
		return busctl_route_ls(ctl, json);
	}
	if (!strcmp(what, "add"))
		return busctl_route_add(ctl, argc - 1, argv + 1);
	if (!strcmp(what, "del") && argc == 3)
		return busctl_route_delete(ctl, BUS_ROUTE_RULE, argv[2]);
	if (!strcmp(what, "unroutable"))
		return busctl_route_unroutable(ctl, argc, argv);
	return busctl_usage_error("route: expected ls, add NAME ..., del NAME "
				  "or unroutable ADDRESS TARGET");
}
