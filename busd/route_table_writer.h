/* SPDX-License-Identifier: MIT */
/* busd writes the route table page that publishing clients read. */
#ifndef BUSD_ROUTE_TABLE_WRITER_H
#define BUSD_ROUTE_TABLE_WRITER_H

#include <stdint.h>

#include "route_table.h"

/* Writes count entries as one change (the seqlock's write side). */
void busd_route_table_write(struct bus_route_table *table,
			    const struct bus_route *entries, uint32_t count);

#endif /* BUSD_ROUTE_TABLE_WRITER_H */
