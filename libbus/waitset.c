/* SPDX-License-Identifier: MIT */
/*
 * Waitsets: one sleep over the data futex words of many handles with
 * futex_waitv(2).  The protocol is wait.c's, member by member: load each
 * word, raise each sleepers count (and set our slot's sleeping flag, so
 * busd uncounts us if we die asleep), one full fence, look at every member
 * again, and only then sleep on the words as loaded.  A publisher that
 * commits after our fence sees a count and wakes the word; one that
 * committed before it is seen by the second look; one that wakes between
 * the load and the sleep changed the word, so futex_waitv returns at once.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "clock.h"
#include "futex.h"
#include "queue_ring.h"
#include "topic_catch_up.h"
#include "topic_ring.h"
#include "uring.h"
#include "wake.h"
#include "waitset.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
#endif
#define WAITV_MAX 128

/* The polling fallback's nap: no futex_waitv, or too many words. */
#define POLL_NS 50000
/* The look at a catch-up's disk while it waits for the recorder. */
#define POLL_DISK_NS 1000000

/* A waiter of the layout of <linux/futex.h>'s struct futex_waitv, which
 * older headers lack. */
struct waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

enum member_kind { MEMBER_QUEUE, MEMBER_SUBSCRIPTION, MEMBER_GROUP };

struct member {
	enum member_kind kind;
	void *handle;
	void *tag;
	const struct bus__waitset_group *group; /* MEMBER_GROUP's calls */
};

/* One word we sleep on, and the count we raise for it (NULL: none). */
struct sleep_word {
	_Atomic uint32_t *word;
	_Atomic uint32_t *sleepers;
	_Atomic uint32_t *sleeping;
	uint32_t expected;
	bool private_word;
};

struct bus_waitset {
	struct member *members;
	uint32_t count;
	uint32_t capacity;
	struct sleep_word *words;
	uint32_t words_capacity;
	_Atomic int cancelled;
	/* Our own word: bus_waitset_cancel() raises and wakes it. */
	_Atomic uint32_t wake;

	/* The file descriptor: an io_uring whose one request is a
	 * FUTEX_WAITV over the words (bus_waitset_arm). */
	struct bus__uring ring;
	bool has_ring;
	bool armed;	  /* registered as a sleeper on armed_count words */
	bool outstanding; /* the FUTEX_WAITV request has not completed */
	bool cancelling;  /* an ASYNC_CANCEL has not completed */
	uint32_t armed_count;
	struct waitv armed_v[WAITV_MAX];
};

/* user_data of the ring's requests. */
enum { RING_WAITV = 1, RING_NOP = 2, RING_CANCEL = 3 };

static void disarm(struct bus_waitset *ws);

/* Set once futex_waitv said ENOSYS: poll from then on. */
static _Atomic int no_waitv;

int bus_waitset_create(bus_waitset_t **out)
{
	if (!out)
		return -EINVAL;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void bus_waitset_destroy(bus_waitset_t *ws)
{
	if (!ws)
		return;
	disarm(ws);
	if (ws->has_ring)
		bus__uring_close(&ws->ring);
	free(ws->members);
	free(ws->words);
	free(ws);
}

static int add_member(struct bus_waitset *ws, enum member_kind kind,
		      const struct bus__waitset_group *group, void *handle,
		      void *tag)
{
	if (!ws || !handle)
		return -EINVAL;
	for (uint32_t i = 0; i < ws->count; i++)
		if (ws->members[i].handle == handle)
			return -EEXIST;
	disarm(ws);
	if (ws->count == ws->capacity) {
		uint32_t capacity = ws->capacity ? 2 * ws->capacity : 8;
		void *members =
			realloc(ws->members, capacity * sizeof(*ws->members));

		if (!members)
			return -ENOMEM;
		ws->members = members;
		ws->capacity = capacity;
	}
	ws->members[ws->count++] = (struct member){ kind, handle, tag, group };
	return 0;
}

static int add(struct bus_waitset *ws, enum member_kind kind, void *handle,
	       void *tag)
{
	return add_member(ws, kind, NULL, handle, tag);
}

int bus_waitset_add_queue(bus_waitset_t *ws, bus_queue_t *q, void *tag)
{
	if (q && q->role != BUS_CONSUMER)
		return -EINVAL;
	return add(ws, MEMBER_QUEUE, q, tag);
}

int bus_waitset_add_subscription(bus_waitset_t *ws, bus_subscription_t *s,
				 void *tag)
{
	return add(ws, MEMBER_SUBSCRIPTION, s, tag);
}

int bus__waitset_add_group(bus_waitset_t *ws,
			   const struct bus__waitset_group *calls, void *group,
			   void *tag)
{
	return add_member(ws, MEMBER_GROUP, calls, group, tag);
}

int bus_waitset_remove(bus_waitset_t *ws, const void *handle)
{
	if (!ws)
		return -EINVAL;
	disarm(ws);
	for (uint32_t i = 0; i < ws->count; i++) {
		if (ws->members[i].handle != handle)
			continue;
		ws->members[i] = ws->members[--ws->count];
		return 0;
	}
	return -ENOENT;
}

void bus_waitset_cancel(bus_waitset_t *ws)
{
	/* Relaxed: a flag with no data behind it, as a handle's in wait.c;
	 * the raise and wake that follow make a sleeper look again. */
	bus__store_relaxed(&ws->cancelled, 1);
	/* seq_cst raise (wake.h): pairs with the acquire load of our word
	 * in gather(); a waiter that read it before does not sleep. */
	bus__wake_all(&ws->wake);
}

void bus_waitset_uncancel(bus_waitset_t *ws)
{
	/* Relaxed: the caller's own thread waits next (one thread per
	 * handle); nothing is published with it. */
	bus__store_relaxed(&ws->cancelled, 0);
}

/* ---- readiness ----------------------------------------------------------- */

static bool segment_closed(_Atomic uint32_t *state)
{
	/* Acquire: as in wait.c's interrupted(). */
	return bus__load_acquire(state) != BUS_SEGMENT_OPEN;
}

static bool subscription_ready(struct bus_subscription *s)
{
	/* A catch-up reads the disk ahead (topic_catch_up.h). */
	if (s->catch_up)
		return bus__catch_up_pending(s) ||
		       segment_closed(&s->geometry.header->state);
	return bus__subscription_pending(s) ||
	       segment_closed(&s->geometry.header->state);
}

/* A member catching up that waits for the recorder: nothing wakes a
 * futex when the disk grows, so the wait looks again every POLL_DISK_NS. */
static bool waits_on_disk(const struct bus_waitset *ws)
{
	for (uint32_t i = 0; i < ws->count; i++)
		if (ws->members[i].kind == MEMBER_SUBSCRIPTION &&
		    bus__catch_up_waiting(ws->members[i].handle))
			return true;
	return false;
}

/* refresh: a wildcard whose topics changed lists them again (calls to
 * busd); without, a change alone makes it ready. */
static bool member_ready(const struct member *m, bool refresh)
{
	struct bus_subscription *const *members;
	uint32_t count;

	switch (m->kind) {
	case MEMBER_QUEUE: {
		struct bus_queue *q = m->handle;

		return bus__queue_pending(q) ||
		       segment_closed(&q->geometry.header->state);
	}
	case MEMBER_SUBSCRIPTION:
		return subscription_ready(m->handle);
	case MEMBER_GROUP:
		if (m->group->changed(m->handle)) {
			/* A failed listing is for the receive to report. */
			if (!refresh || m->group->refresh(m->handle))
				return true;
		}
		count = m->group->members(m->handle, &members);
		for (uint32_t i = 0; i < count; i++)
			if (subscription_ready(members[i]))
				return true;
		return false;
	}
	return false;
}

static uint32_t collect(struct bus_waitset *ws, void **ready, uint32_t max,
			bool refresh)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < ws->count && n < max; i++)
		if (member_ready(&ws->members[i], refresh))
			ready[n++] = ws->members[i].tag;
	return n;
}

/* ---- sleeping ------------------------------------------------------------ */

static int push_word(struct bus_waitset *ws, uint32_t *n,
		     struct sleep_word word)
{
	if (*n == ws->words_capacity) {
		uint32_t capacity = *n ? 2 * *n : 16;
		void *words =
			realloc(ws->words, capacity * sizeof(*ws->words));

		if (!words)
			return -ENOMEM;
		ws->words = words;
		ws->words_capacity = capacity;
	}
	ws->words[(*n)++] = word;
	return 0;
}

static struct sleep_word subscription_word(struct bus_subscription *s)
{
	struct bus_topic_control *c = s->geometry.control;

	return (struct sleep_word){ .word = &c->data_futex,
				    .sleepers = &c->subscribers_sleeping,
				    .sleeping = &s->slot->sleeping };
}

/* The words of every member, each with the value it holds now.  Acquire:
 * as in wait.c, pairs with a waker's raise of the word. */
static int gather(struct bus_waitset *ws, uint32_t *count)
{
	uint32_t n = 0;
	int ret;

	ret = push_word(ws, &n,
			(struct sleep_word){ .word = &ws->wake,
					     .private_word = true });
	for (uint32_t i = 0; !ret && i < ws->count; i++) {
		struct member *m = &ws->members[i];
		struct bus_queue *q;
		struct bus_subscription *const *members;
		uint32_t member_count, expected;

		switch (m->kind) {
		case MEMBER_QUEUE:
			q = m->handle;
			ret = push_word(
				ws, &n,
				(struct sleep_word){
					.word = &q->geometry.control
							 ->data_futex,
					.sleepers =
						&q->geometry.control
							 ->consumers_sleeping,
					.sleeping =
						&q->attachment->sleeping });
			break;
		case MEMBER_SUBSCRIPTION:
			ret = push_word(ws, &n, subscription_word(m->handle));
			break;
		case MEMBER_GROUP:
			/* Its writer always wakes this word: no count.  Expect
			 * the value the members reflect: any change wakes. */
			ret = push_word(ws, &n,
					(struct sleep_word){
						.word = m->group->word(
							m->handle, &expected),
						.expected = expected });
			member_count = m->group->members(m->handle, &members);
			for (uint32_t k = 0; !ret && k < member_count; k++)
				ret = push_word(ws, &n,
						subscription_word(members[k]));
			break;
		}
	}
	if (ret)
		return ret;
	for (uint32_t i = 0; i < n; i++)
		if (ws->words[i].sleepers || ws->words[i].private_word)
			/* Acquire: pairs with a waker's seq_cst raise of the
			 * word; what it changed before is seen on the next
			 * look, and a later raise fails the futex compare. */
			ws->words[i].expected =
				bus__load_acquire(ws->words[i].word);
	*count = n;
	return 0;
}

static void register_all(struct bus_waitset *ws, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct sleep_word *w = &ws->words[i];

		if (!w->sleepers)
			continue;
		/* seq_cst: wakers read the count with seq_cst (wait.c). */
		bus__fetch_add_seq_cst(w->sleepers, 1);
		/* Relaxed, set after the raise, cleared before the drop: only
		 * busd reads it, after our death (as wait.c). */
		bus__store_relaxed(w->sleeping,
				   bus__load_relaxed(w->sleeping) |
					   BUS_ATTACHMENT_SLEEPING_DATA);
	}
	/* Pairs with the publishers' seq_cst commit and count load (the
	 * store-buffer pattern of wait.c), for every member at once. */
	bus__fence_seq_cst();
}

static void unregister_all(struct bus_waitset *ws, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct sleep_word *w = &ws->words[i];

		if (!w->sleepers)
			continue;
		/* Relaxed, then the seq_cst drop: as register_all(); the
		 * drop pairs with the wakers' seq_cst load of the count
		 * (wake.h), as a queue sleeper's own drop in wait.c. */
		bus__store_relaxed(w->sleeping,
				   bus__load_relaxed(w->sleeping) &
					   ~BUS_ATTACHMENT_SLEEPING_DATA);
		bus__fetch_sub_seq_cst(w->sleepers, 1);
	}
}

/* Naps POLL_NS (never past the deadline): 0, -ETIMEDOUT or -EINTR. */
static int nap(int64_t deadline)
{
	int64_t now = bus__monotonic_ns(), until = now + POLL_NS;
	struct timespec ts;

	if (deadline >= 0 && now >= deadline)
		return -ETIMEDOUT;
	if (deadline >= 0 && until > deadline)
		until = deadline;
	ts = bus__timespec_of(until);
	if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		return -EINTR;
	return 0;
}

/* 0 when woken (or a word had changed), -ETIMEDOUT, -EINTR, -ENOSYS. */
static int sleep_words(struct bus_waitset *ws, uint32_t n, int64_t deadline)
{
	struct waitv v[WAITV_MAX];
	struct timespec absolute = bus__timespec_of(deadline);
	long rc;

	/* Relaxed: a process-wide hint that futex_waitv is missing; a
	 * stale 0 costs one failing call. */
	if (n > WAITV_MAX || bus__load_relaxed(&no_waitv))
		return -ENOSYS;
	for (uint32_t i = 0; i < n; i++)
		v[i] = (struct waitv){
			.val = ws->words[i].expected,
			.uaddr = (uintptr_t)ws->words[i].word,
			/* Shared futexes, but for our own word. */
			.flags = FUTEX_32 | (ws->words[i].private_word
						     ? FUTEX_PRIVATE_FLAG
						     : 0),
		};
	/* The timeout is absolute on CLOCK_MONOTONIC: restarts never
	 * stretch it. */
	rc = syscall(SYS_futex_waitv, v, n, 0,
		     deadline >= 0 ? &absolute : NULL, CLOCK_MONOTONIC);
	if (rc >= 0 || errno == EAGAIN)
		return 0;
	if (errno == ENOSYS) /* relaxed: the hint above */
		bus__store_relaxed(&no_waitv, 1);
	return -errno;
}

/* One round: 0 to look again, or -ETIMEDOUT, -EINTR, -ENOMEM. */
static int sleep_once(struct bus_waitset *ws, int64_t deadline)
{
	int64_t until = deadline;
	void *ignored;
	uint32_t n;
	int ret;

	if (waits_on_disk(ws)) {
		until = bus__monotonic_ns() + POLL_DISK_NS;
		if (deadline >= 0 && deadline < until)
			until = deadline;
	}

	ret = gather(ws, &n);
	if (ret)
		return ret;
	register_all(ws, n);
	ret = 0;
	/* Relaxed: as in bus_waitset_wait(). */
	if (!collect(ws, &ignored, 1, false) &&
	    !bus__load_relaxed(&ws->cancelled)) {
		ret = sleep_words(ws, n, until);
		if (ret == -ENOSYS)
			ret = nap(until);
		if (ret == -ETIMEDOUT && until != deadline)
			ret = 0; /* the disk's look, not the caller's end */
	}
	unregister_all(ws, n);
	return ret;
}

int bus_waitset_wait(bus_waitset_t *ws, int64_t timeout_ns, void **ready,
		     uint32_t max)
{
	int64_t deadline;
	uint32_t n;
	int ret;

	if (!ws || !ws->count || !ready || !max)
		return -EINVAL;
	/* The fd's registration ends here; bus_waitset_arm() renews it. */
	disarm(ws);
	deadline = bus__deadline_ns(timeout_ns);
	for (;;) {
		n = collect(ws, ready, max, true);
		if (n)
			return (int)n;
		/* Relaxed: as a handle's cancel flag in wait.c. */
		if (bus__load_relaxed(&ws->cancelled))
			return -ECANCELED;
		if (timeout_ns == 0)
			return -EAGAIN;
		ret = sleep_once(ws, deadline);
		if (ret == -ETIMEDOUT) {
			/* Something may have come with the deadline. */
			n = collect(ws, ready, max, true);
			return n ? (int)n : -ETIMEDOUT;
		}
		if (ret)
			return ret;
	}
}

/* ---- the file descriptor ------------------------------------------------- */

int bus_waitset_fd(bus_waitset_t *ws)
{
	int ret;

	if (!ws)
		return -EINVAL;
	if (!ws->has_ring) {
		ret = bus__uring_open(&ws->ring);
		if (ret)
			return ret;
		ws->has_ring = true;
	}
	return ws->ring.fd;
}

/* Takes every completion; notes which requests are over. */
static void drain(struct bus_waitset *ws)
{
	uint64_t user_data;
	int32_t res;

	while (bus__uring_reap(&ws->ring, &user_data, &res)) {
		if (user_data == RING_WAITV)
			ws->outstanding = false;
		else if (user_data == RING_CANCEL)
			ws->cancelling = false;
	}
}

static void disarm(struct bus_waitset *ws)
{
	if (!ws->armed)
		return;
	drain(ws);
	if (ws->outstanding &&
	    bus__uring_submit(&ws->ring, IORING_OP_ASYNC_CANCEL, RING_WAITV, 0,
			      RING_CANCEL) == 0)
		ws->cancelling = true;
	/* Both completions come soon: the cancel ends the wait.  Nothing
	 * may stay queued, or the fd would look readable for nothing. */
	while (ws->outstanding || ws->cancelling) {
		int ret = bus__uring_wait(&ws->ring);

		if (ret && ret != -EINTR) /* the ring is broken: give up */
			ws->outstanding = ws->cancelling = false;
		drain(ws);
	}
	unregister_all(ws, ws->armed_count);
	ws->armed = false;
}

int bus_waitset_arm(bus_waitset_t *ws)
{
	void *ignored;
	uint32_t n;
	int ret;

	if (!ws || !ws->has_ring || !ws->count)
		return -EINVAL;
	if (ws->armed)
		return 0;
	drain(ws);
	ret = gather(ws, &n);
	if (ret)
		return ret;
	if (n > WAITV_MAX)
		return -E2BIG;
	/* As a sleeper would: registered, fenced, one more look. */
	register_all(ws, n);
	ws->armed = true;
	ws->armed_count = n;
	/* Relaxed: as in bus_waitset_wait(). */
	if (collect(ws, &ignored, 1, false) ||
	    bus__load_relaxed(&ws->cancelled) || waits_on_disk(ws))
		/* Ready already: make the fd readable now. */
		return bus__uring_submit(&ws->ring, IORING_OP_NOP, 0, 0,
					 RING_NOP);
	for (uint32_t i = 0; i < n; i++)
		ws->armed_v[i] = (struct waitv){
			.val = ws->words[i].expected,
			.uaddr = (uintptr_t)ws->words[i].word,
			.flags = FUTEX_32 | (ws->words[i].private_word
						     ? FUTEX_PRIVATE_FLAG
						     : 0),
		};
	ret = bus__uring_submit(&ws->ring, BUS__IORING_OP_FUTEX_WAITV,
				(uintptr_t)ws->armed_v, n, RING_WAITV);
	if (ret) {
		unregister_all(ws, n);
		ws->armed = false;
		return ret;
	}
	ws->outstanding = true;
	return 0;
}
