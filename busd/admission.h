/* SPDX-License-Identifier: MIT */
/*
 * Who may hold a connection to busd: the control plane's limits.
 *
 * Anyone who may open the control socket could otherwise take every file
 * descriptor busd has (each connection costs a socket and a pidfd), and
 * then no client at all, root's busctl included, gets in.  Three limits,
 * after nats-server's and RabbitMQ's connection limits, keep busd
 * reachable:
 *
 *   max_connections_per_user  connections one uid may hold at once;
 *   reserved_descriptors      the last descriptors below RLIMIT_NOFILE,
 *                             which only root, busd's own user and the
 *                             admin group may take (busd raises its soft
 *                             limit to the hard one at start);
 *   hello_timeout_ms          how long a connection may stay silent
 *                             before HELLO (busd/hello_deadline.h).
 *
 * The first two are checked when busd accepts a connection, on the
 * kernel's credentials (SO_PEERCRED and the groups, busd/access.h) and
 * before busd opens the peer's pidfd, so a refusal costs busd nothing that
 * it keeps.  Admins pass both: they are the ones who must get in to repair
 * things.  A refused connection gets a HELLO reply with the reason (-EUSERS
 * or -ECONNREFUSED and a sentence) before busd closes it, so that the
 * client says why instead of "no busd serves this bus"; a client of an
 * older version reads it too, as the reply to its HELLO.
 *
 * Every refusal is counted by uid and reason (the Prometheus endpoint shows
 * them) and logged as a warning, at most one line per reason every
 * BUSD_ADMISSION_WARNING_INTERVAL_NS, which also says how many refusals it
 * left out, so that a flood of connections cannot flood the log.
 *
 * Everything here runs on busd's loop thread, except the copy for the
 * metrics thread, which the loop and busd_admission_snapshot() take under
 * the metrics lock (busd/metrics.h).
 */
#ifndef BUSD_ADMISSION_H
#define BUSD_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct busd_client;
struct busd_stats_lock;

#define BUSD_MAX_CONNECTIONS_PER_USER_DEFAULT 256u
#define BUSD_HELLO_TIMEOUT_MS_DEFAULT 5000u
#define BUSD_RESERVED_DESCRIPTORS_DEFAULT 64u

/* At most one warning per reason this often (10 s). */
#define BUSD_ADMISSION_WARNING_INTERVAL_NS UINT64_C(10000000000)

/* The [bus] keys of this file; 0 turns a limit off. */
struct busd_limits {
	uint32_t max_connections_per_user;
	uint32_t hello_timeout_ms;
	uint32_t reserved_descriptors;
	unsigned int given; /* keys set by the file, one bit each */
};

/* Why a connection was refused or closed; the metrics' reason label. */
enum busd_refusal {
	BUSD_REFUSED_PER_USER = 0,  /* max_connections_per_user */
	BUSD_REFUSED_RESERVE,	    /* reserved_descriptors */
	BUSD_REFUSED_HELLO_TIMEOUT, /* hello_timeout_ms */
	BUSD_REFUSAL_COUNT,
};

/* The figures of one uid. */
struct busd_admission_user {
	uid_t uid;
	uint32_t connections; /* admitted and not yet closed */
	uint64_t refused[BUSD_REFUSAL_COUNT];
};

struct busd_admission_warning {
	uint64_t last_ns;  /* when the last line went out; 0: never */
	uint64_t left_out; /* refusals since then without a line */
};

struct busd_admission {
	struct busd_limits limits;
	/* One entry per uid that holds a connection or was ever refused:
	 * as many as the users of this host, so a plain array will do. */
	struct busd_admission_user *users;
	unsigned int user_count;
	unsigned int user_capacity;
	/* /proc/self/fd, kept open: counting what busd holds must not need
	 * a descriptor when they run short.  -1 when /proc is missing. */
	int fd_dir;
	struct busd_admission_warning warnings[BUSD_REFUSAL_COUNT];
	/* The daemon's: [bus] admin_group (a reload changes it), and the
	 * lock the metrics thread reads these figures under. */
	const gid_t *admin_group;
	struct busd_stats_lock *lock;
};

/* ---- configuration (busd/admission_config.c) ---------------------------- */

void busd_limits_default(struct busd_limits *limits);

/*
 * Sets one [bus] key of this file.  0; -ENOENT when key is not one of
 * them; -EEXIST when it was set before; -EINVAL with a sentence in why.
 */
int busd_limits_set(struct busd_limits *limits, const char *key,
		    const char *value, char *why, size_t why_size);

/* The names of the keys, for config.c's "it has ..." sentence. */
#define BUSD_LIMITS_KEY_NAMES \
	"max_connections_per_user, hello_timeout_ms, reserved_descriptors"

/* ---- admitting --------------------------------------------------------- */

/* Takes the limits and opens /proc/self/fd.  Never fails: without /proc
 * the reserve is not enforced, which busd logs. */
void busd_admission_init(struct busd_admission *admission,
			 const struct busd_limits *limits,
			 const gid_t *admin_group,
			 struct busd_stats_lock *lock);
void busd_admission_exit(struct busd_admission *admission);

/*
 * Decides on a client whose credentials are known and that holds its
 * socket alone.  0: admitted, and counted until busd_admission_leave().
 * Otherwise the client has been sent its refusal, which is counted and
 * logged, and the caller drops it: -EUSERS (its uid holds
 * max_connections_per_user), -ECONNREFUSED (busd is down to its reserve
 * of descriptors), or -ENOMEM.
 */
int busd_admission_admit(struct busd_admission *admission,
			 struct busd_client *client);

/* An admitted client is gone. */
void busd_admission_leave(struct busd_admission *admission,
			  struct busd_client *client);

/*
 * Sends client a HELLO reply with status error and detail, shuts the
 * socket and reads what is left in it, so that closing it does not reset
 * the connection and throw the reply away.  Counts and logs the refusal
 * under reason.  The caller drops the client.
 */
void busd_admission_refuse(struct busd_admission *admission,
			   struct busd_client *client,
			   enum busd_refusal reason, int error,
			   const char *detail);

/*
 * A copy of the per-uid figures for the metrics thread; the caller holds
 * the metrics lock and frees *users.  0 or -ENOMEM.
 */
int busd_admission_snapshot(const struct busd_admission *admission,
			    struct busd_admission_user **users,
			    unsigned int *count);

/* The metrics' label for a reason: "per_user", "reserve", ... */
const char *busd_refusal_label(enum busd_refusal reason);

#endif /* BUSD_ADMISSION_H */
