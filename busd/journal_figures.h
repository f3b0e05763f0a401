/* SPDX-License-Identifier: MIT */
/*
 * A journal writer's figures into a queue's or topic's journal line
 * (include/bus/layout.h, struct bus_journal_line), for busctl stat and
 * Prometheus; shared by durable queues and recorded topics.
 */
#ifndef BUSD_JOURNAL_FIGURES_H
#define BUSD_JOURNAL_FIGURES_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/layout.h"
#include "journal.h"

/* What writers closed after a failure had counted, so that the line's
 * counters only grow across a reopen. */
struct busd_journal_carried {
	uint64_t bytes;
	uint64_t syncs;
	uint64_t errors;
};

/*
 * The counters and, with latency, the fdatasync p50 and p99 (a walk over
 * the histogram: callers do it at a tick).  Relaxed stores: figures, read
 * by whoever looks.  Nothing without a writer.
 */
void busd_journal_figures_publish(struct bus_journal_line *line,
				  const struct bus_journal_writer *writer,
				  const struct busd_journal_carried *carried,
				  bool latency);

/* A writer that failed is about to close: its figures, and the failed
 * write, are carried over, and the line's write_errors says so now. */
void busd_journal_figures_carry(struct bus_journal_line *line,
				const struct bus_journal_writer *writer,
				struct busd_journal_carried *carried);

#endif /* BUSD_JOURNAL_FIGURES_H */
