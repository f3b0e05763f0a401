/* SPDX-License-Identifier: MIT */
/*
 * The one place where memory orders are spelled.  Every caller names, in a
 * comment, what its acquire or release pairs with; these wrappers only make
 * the order visible in the function name.
 */
#ifndef BUS_ATOMICS_H
#define BUS_ATOMICS_H

#include <stdatomic.h>
#include <stdbool.h>

#define bus__load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define bus__load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define bus__store_relaxed(p, v) \
	atomic_store_explicit((p), (v), memory_order_relaxed)
#define bus__store_release(p, v) \
	atomic_store_explicit((p), (v), memory_order_release)

/* Sequentially consistent single operations: used where a store must be
 * ordered before a later load of another word without a separate fence
 * (the wake-up checks; see queue_ring.c). */
#define bus__store_seq_cst(p, v) \
	atomic_store_explicit((p), (v), memory_order_seq_cst)
#define bus__load_seq_cst(p) atomic_load_explicit((p), memory_order_seq_cst)

/* Read-modify-writes. */
#define bus__fetch_add_relaxed(p, v) \
	atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define bus__fetch_sub_relaxed(p, v) \
	atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define bus__fetch_add_seq_cst(p, v) \
	atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define bus__fetch_sub_seq_cst(p, v) \
	atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)

/* Strong compare-and-swap; on failure *expected gets the current value,
 * read with acquire so the caller may act on what it sees. */
#define bus__cas_acq_rel(p, expected, desired)                              \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), \
						memory_order_acq_rel,       \
						memory_order_acquire)
#define bus__cas_seq_cst(p, expected, desired)                              \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), \
						memory_order_seq_cst,       \
						memory_order_seq_cst)
#define bus__cas_relaxed(p, expected, desired)                              \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), \
						memory_order_relaxed,       \
						memory_order_relaxed)

/* A full fence: orders an earlier store before a later load (the
 * store-buffer case that acquire and release do not cover). */
#define bus__fence_seq_cst() atomic_thread_fence(memory_order_seq_cst)

/* The seqlock's fences (topic_ring.c): release orders a claim before the
 * relaxed stores of the data that follow it; acquire orders relaxed loads
 * of data before a second look at the state word.  No instruction on
 * x86-64; they keep the compiler from moving the accesses. */
#define bus__fence_release() atomic_thread_fence(memory_order_release)
#define bus__fence_acquire() atomic_thread_fence(memory_order_acquire)

/*
 * One spin of a polling loop.  PAUSE tells the core that this is a spin:
 * leaving the loop then costs no memory-order pipeline flush, and a
 * hyperthread sibling gets the core meanwhile.
 */
static inline void bus__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Keeps the compiler from caching a load across spin iterations. */
#define bus__compiler_barrier() atomic_signal_fence(memory_order_seq_cst)

#endif /* BUS_ATOMICS_H */
