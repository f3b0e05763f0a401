/* SPDX-License-Identifier: MIT */
/* What fuzz_requests.c and its checks (fuzz_requests_check.c) share. */
#ifndef BUS_FUZZ_REQUESTS_H
#define BUS_FUZZ_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "busd.h"
#include "fuzz_request_format.h"

struct fuzz_peer {
	enum fuzz_peer_kind kind;
	int fd; /* the harness's end of the socket pair */
	struct busd_client *client;
	bool greeted;		  /* busd answered its HELLO */
	uint64_t last_generation; /* the latest a reply gave it */
};

struct fuzz_session {
	struct busd busd;
	struct fuzz_peer peers[FUZZ_PEERS];
};

/* Says what went wrong and aborts, so that libFuzzer keeps the input. */
__attribute__((noreturn)) void fuzz_fail(const char *what);

/*
 * Reads busd's reply to the first length bytes of request from the peer's
 * end and checks it: one reply of the right op, a valid status, a
 * sentence with every refusal, a segment's fd only where the access rules
 * allow it, admin requests granted to admins alone.  Closes any fd.
 */
void fuzz_check_reply(const struct busd *busd, struct fuzz_peer *peer,
		      const struct bus_control_request *request,
		      size_t length);

/* Every slot lent is held by a client still connected, and no two
 * connected clients have one id. */
void fuzz_check_slots(const struct busd *busd);

#endif /* BUS_FUZZ_REQUESTS_H */
