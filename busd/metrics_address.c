/* SPDX-License-Identifier: MIT */
/*
 * The [bus] metrics and dashboard values: where the Prometheus endpoint
 * and the dashboard listen (see metrics.h).  Apart from metrics.c so that the configuration parser, and
 * its fuzzer, need no HTTP library.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static int busd_metrics_parse_port(const char *text, uint16_t *port)
{
	unsigned long value;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *end || value > 65535)
		return -EINVAL;
	*port = (uint16_t)value;
	return 0;
}

static int busd_metrics_ipv4(const char *host, uint16_t port,
			     struct busd_metrics_address *out)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&out->address;

	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
		return -EINVAL;
	if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
		return -EACCES;
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	out->length = sizeof(*in);
	return 0;
}

static int busd_metrics_ipv6(const char *host, uint16_t port,
			     struct busd_metrics_address *out)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->address;

	if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
		return -EINVAL;
	if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
		return -EACCES;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	out->length = sizeof(*in6);
	return 0;
}

int busd_metrics_parse_address(const char *text,
			       struct busd_metrics_address *out, char *why,
			       size_t why_size)
{
	return busd_http_parse_address("metrics", text, out, why, why_size);
}

int busd_http_parse_address(const char *key, const char *text,
			    struct busd_metrics_address *out, char *why,
			    size_t why_size)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	size_t host_length;
	uint16_t port;
	int ret;

	memset(out, 0, sizeof(*out));
	host_length = colon ? (size_t)(colon - text) : 0;
	if (!colon || host_length == 0 || host_length >= sizeof(host) ||
	    busd_metrics_parse_port(colon + 1, &port)) {
		snprintf(why, why_size,
			 "%s must be ADDRESS:PORT, like "
			 "127.0.0.1:9464 or [::1]:9464, not '%s'",
			 key, text);
		return -EINVAL;
	}
	memcpy(host, text, host_length);
	host[host_length] = '\0';
	if (host[0] == '[' && host[host_length - 1] == ']') {
		host[host_length - 1] = '\0';
		ret = busd_metrics_ipv6(host + 1, port, out);
	} else {
		ret = busd_metrics_ipv4(host, port, out);
	}
	if (ret == -EACCES)
		snprintf(why, why_size,
			 "%s address '%s' is not loopback: "
			 "the endpoint has no authentication, so it listens "
			 "only on 127.0.0.0/8 or [::1]",
			 key, host);
	else if (ret)
		snprintf(why, why_size,
			 "%s address '%s' is not an IPv4 "
			 "address, localhost or [IPv6]",
			 key, host);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret ? -EINVAL : 0;
}
