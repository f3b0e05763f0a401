/* SPDX-License-Identifier: MIT */
/*
 * Waking the sleepers of a queue or topic side: the one move every waker
 * makes, the clients on the data path and busd when it recovers or closes.
 *
 * A sleeper raises its sleepers count, issues a full fence, and re-checks
 * the queue before it sleeps (wait.c); the waker changes the queue with a
 * seq_cst store or read-modify-write, or changes it and issues a full
 * fence, then reads the count with seq_cst.  Either way the two sides are
 * ordered in the single total order of seq_cst operations: the sleeper's
 * re-check sees the change, or the waker sees the count (the store-buffer
 * pattern).  The futex word is raised before the wake so that a sleeper
 * that read it before our change does not sleep at all.
 */
#ifndef BUS_WAKE_H
#define BUS_WAKE_H

#include <stdint.h>

#include "atomics.h"
#include "futex.h"

/*
 * Raises word and wakes everybody asleep on it.  seq_cst raise: pairs
 * with the sleeper's load of the word before its futex wait (wait.c), so
 * that one who read the old value does not sleep and one asleep is woken
 * and looks again.
 */
static inline void bus__wake_all(_Atomic uint32_t *word)
{
	bus__fetch_add_seq_cst(word, 1);
	bus__futex_wake_all(word);
}

/*
 * The same, only when sleeping (a side's sleepers count) says somebody
 * sleeps; the common case costs one load and no syscall.  seq_cst load:
 * pairs with the sleeper's raise of the count and its fence (wait.c), as
 * the comment above explains; the caller's change came before it.
 */
static inline void bus__wake_if_sleeping(_Atomic uint32_t *sleeping,
					 _Atomic uint32_t *word)
{
	if (bus__load_seq_cst(sleeping) == 0)
		return;
	bus__wake_all(word);
}

/*
 * Wakes both sides of a queue or topic (a cancel, a close, a recovery):
 * both words raised first (seq_cst, as bus__wake_all), then both woken,
 * so that a sleeper of either side that wakes finds both raised.
 */
static inline void bus__wake_both(_Atomic uint32_t *data_word,
				  _Atomic uint32_t *space_word)
{
	bus__fetch_add_seq_cst(data_word, 1);
	bus__fetch_add_seq_cst(space_word, 1);
	bus__futex_wake_all(data_word);
	bus__futex_wake_all(space_word);
}

#endif /* BUS_WAKE_H */
