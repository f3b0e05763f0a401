/* SPDX-License-Identifier: MIT */
/*
 * busd's log in a file (--log-file FILE, or [bus] log_file) instead of
 * the stderr it was started with: the file becomes stderr, so every line,
 * libbus's and the metrics thread's too, goes there.  SIGHUP opens it
 * again, for logrotate's "move, then signal".
 */
#ifndef BUSD_LOG_FILE_H
#define BUSD_LOG_FILE_H

/* Appends to path (made 0640 if new) from now on.  0, or a negative errno
 * after saying why on the old stderr. */
int busd_log_file_open(const char *path);

/* The same again, after a rotation; NULL or "" does nothing.  A failure
 * is logged and the old file kept. */
void busd_log_file_reopen(const char *path);

#endif /* BUSD_LOG_FILE_H */
