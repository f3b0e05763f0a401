/* SPDX-License-Identifier: MIT */
/*
 * The input format of fuzz_requests, shared with the seed generator.
 *
 * An input is three peers and a list of steps.  A request is 1344 bytes,
 * mostly the route of ROUTE_ADD, so a step spells out only the fields it
 * sets; the rest of the packet is zero.
 *
 *   bytes 0-2      the kind of peer 0, 1 and 2, modulo FUZZ_PEER_KIND_COUNT
 *                  (the table below); each connects before the first step
 *
 * Then up to FUZZ_STEPS_MAX steps, until the input ends:
 *
 *   u8 selector    bits 0-1: the peer that sends (0-2); 3: a hang-up, of
 *                  the peer the next byte names (modulo 3), which then
 *                  connects again as a new client of the same kind; no
 *                  more fields follow
 *   u16 length     only with FUZZ_ODD_LENGTH in the selector: the packet
 *                  has 1 + length % FUZZ_PACKET_MAX bytes, and those past
 *                  a request are what the peer's previous packet left, as
 *                  with recv(); without it, the packet is one request
 *   u32 magic, u32 version
 *                  only with FUZZ_RAW_HEADER; without it, the right ones
 *   u8 op
 *   u8 role
 *   u32 attachment
 *   u32 index
 *   u8 n, n bytes  the name, n modulo (BUS_NAME_MAX + 2): 64 bytes leave
 *                  no room for its NUL
 *   u8 generation  FUZZ_GENERATION_ZERO, FUZZ_GENERATION_CURRENT (the
 *                  generation of the queue or topic now of that name, as
 *                  a client that opened it holds), FUZZ_GENERATION_LAST
 *                  (the latest one a reply gave this peer), or anything
 *                  else: a u64 follows
 *   u16 n, n bytes the settings, topic settings or route (the request's
 *                  union), n modulo (FUZZ_UNION_MAX + 1)
 *   u8 n, n bytes  the access, n modulo (sizeof(struct bus_access) + 1)
 *
 * Integers are little-endian, as the fuzzer's host writes them.
 */
#ifndef BUS_FUZZ_REQUEST_FORMAT_H
#define BUS_FUZZ_REQUEST_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "control_protocol.h"

#define FUZZ_PEERS 3
#define FUZZ_STEPS_MAX 64
#define FUZZ_HANG_UP 3u
#define FUZZ_PEER_MASK 3u
#define FUZZ_RAW_HEADER 4u
#define FUZZ_ODD_LENGTH 8u

/* What busd's recv() may deliver: a request and one spare byte. */
#define FUZZ_PACKET_MAX (sizeof(struct bus_control_request) + 1)
#define FUZZ_UNION_MAX                                  \
	(offsetof(struct bus_control_request, access) - \
	 offsetof(struct bus_control_request, settings))

enum fuzz_generation {
	FUZZ_GENERATION_ZERO = 0,
	FUZZ_GENERATION_CURRENT = 1,
	FUZZ_GENERATION_LAST = 2,
};

/* [bus] admin_group of the built-in configuration. */
#define FUZZ_ADMIN_GID 2000u
/* The group of some queues and topics there, and the uid owning them. */
#define FUZZ_SHARED_GID 3000u
#define FUZZ_OWNER_UID 1002u

/*
 * Who a peer is.  busd reads credentials from the socket; the harness
 * writes these over what SO_PEERCRED said, as a peer of that uid would
 * have made the kernel say.
 */
enum fuzz_peer_kind {
	FUZZ_PEER_ROOT,	    /* uid 0: admin, passes every access check */
	FUZZ_PEER_ADMIN,    /* admin by a supplementary group */
	FUZZ_PEER_OWNER,    /* owns some queues and topics */
	FUZZ_PEER_MEMBER,   /* in their group */
	FUZZ_PEER_STRANGER, /* none of these */
	FUZZ_PEER_KIND_COUNT,
};

struct fuzz_peer_identity {
	uid_t uid;
	gid_t gid;
	gid_t group; /* a supplementary group; 0: none */
};

static const struct fuzz_peer_identity fuzz_peer_identities[] = {
	[FUZZ_PEER_ROOT] = { 0, 0, 0 },
	[FUZZ_PEER_ADMIN] = { 1001, 1001, FUZZ_ADMIN_GID },
	[FUZZ_PEER_OWNER] = { FUZZ_OWNER_UID, 1002, 0 },
	[FUZZ_PEER_MEMBER] = { 1003, 1003, FUZZ_SHARED_GID },
	[FUZZ_PEER_STRANGER] = { 1004, 1004, 0 },
};

/* request_seeds.c: writes the seeds of fuzz_requests into dir. */
void fuzz_write_request_seeds(const char *dir);

#endif /* BUS_FUZZ_REQUEST_FORMAT_H */
