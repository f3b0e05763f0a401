/* SPDX-License-Identifier: MIT */
/*
 * Who may use each queue and topic, kept where a restarted busd finds it.
 *
 * The owner, group and mode of a name created at run time exist nowhere
 * but in busd's memory, and a segment's header is no place for them: any
 * producer may write it.  So busd rewrites RUNTIME_DIR/BUS.access (one
 * "name owner group mode" line per name; mode in octal) whenever a name
 * is created or deleted, by writing a new file and renaming it over the
 * old, and reads it back when it adopts the segments a previous busd left.
 */
#ifndef BUSD_ACCESS_STORE_H
#define BUSD_ACCESS_STORE_H

#include "access.h"

struct busd_catalog;

/* Writes the file for the registry as it is now; logs a failure. */
void busd_access_store_save(const struct busd_catalog *catalog);

/* The stored access of name: 0, or -ENOENT when the file has none. */
int busd_access_store_find(const char *bus_name, const char *name,
			   struct busd_access *access);

/* Removes the file (a clean stop that kept nothing). */
void busd_access_store_remove(const char *bus_name);

#endif /* BUSD_ACCESS_STORE_H */
