/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's two paths (dashboard.h), for the metrics thread's
 * request handler.  The page is a constant in busd: it is handed to
 * libmicrohttpd as is, never copied.  The policy header keeps the page
 * to itself: no script, style, font or image from anywhere else, and
 * fetches to busd alone, so it works offline and leaks nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "dashboard.h"

#define BUSD_DASHBOARD_POLICY                              \
	"default-src 'none'; script-src 'unsafe-inline'; " \
	"style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'"

static enum MHD_Result busd_dashboard_queue(struct MHD_Connection *connection,
					    struct MHD_Response *response,
					    const char *content_type)
{
	enum MHD_Result ret;

	if (!response)
		return MHD_NO;
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type);
	/* Figures go stale in a second: no cache may keep them. */
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(response, "Content-Security-Policy",
				BUSD_DASHBOARD_POLICY);
	ret = MHD_queue_response(connection, MHD_HTTP_OK, response);
	MHD_destroy_response(response);
	return ret;
}

static enum MHD_Result busd_dashboard_page(struct MHD_Connection *connection)
{
	/* The cast drops const only for the library's signature: with
	 * PERSISTENT it never writes to or frees the buffer. */
	struct MHD_Response *response = MHD_create_response_from_buffer(
		busd_dashboard_index_html_size,
		(void *)busd_dashboard_index_html, MHD_RESPMEM_PERSISTENT);

	return busd_dashboard_queue(connection, response,
				    "text/html; charset=utf-8");
}

static enum MHD_Result busd_dashboard_api(struct MHD_Connection *connection,
					  const struct busd_catalog *catalog,
					  pthread_mutex_t *lock)
{
	static const char no_memory[] = "{\"error\": \"out of memory\"}\n";
	struct MHD_Response *response;
	size_t length = 0;
	char *state = busd_dashboard_state(catalog, lock, &length);
	enum MHD_Result ret;

	if (!state) {
		response = MHD_create_response_from_buffer(
			sizeof(no_memory) - 1, (void *)no_memory,
			MHD_RESPMEM_PERSISTENT);
		if (!response)
			return MHD_NO;
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
		ret = MHD_queue_response(
			connection, MHD_HTTP_INTERNAL_SERVER_ERROR, response);
		MHD_destroy_response(response);
		return ret;
	}
	response = MHD_create_response_from_buffer(length, state,
						   MHD_RESPMEM_MUST_FREE);
	if (!response)
		free(state);
	return busd_dashboard_queue(connection, response, "application/json");
}

bool busd_dashboard_serve(struct MHD_Connection *connection, const char *url,
			  const struct busd_catalog *catalog,
			  pthread_mutex_t *lock, enum MHD_Result *result)
{
	if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
		*result = busd_dashboard_page(connection);
		return true;
	}
	if (!strcmp(url, "/api/state")) {
		*result = busd_dashboard_api(connection, catalog, lock);
		return true;
	}
	return false;
}
