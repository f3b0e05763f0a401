/* SPDX-License-Identifier: MIT */
/*
 * Going to the background without a race: the parent exits only when the
 * child says it is ready (its socket listens), with status 0, or when the
 * child fails, with status 1.  So `busd -b X && next-command` finds the bus
 * serving, or stops.  The child's own error message reaches the same
 * stderr.
 */
#ifndef BUSD_DAEMONIZE_H
#define BUSD_DAEMONIZE_H

/*
 * Forks.  The parent waits for the child's word and exits; the child
 * returns 0 with *ready_fd to pass to busd_daemon_ready().  A negative
 * errno if the fork itself failed.
 */
int busd_daemonize(int *ready_fd);

/* Tells the waiting parent that busd serves; ready_fd < 0 does nothing. */
void busd_daemon_ready(int ready_fd);

#endif /* BUSD_DAEMONIZE_H */
