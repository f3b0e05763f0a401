/* SPDX-License-Identifier: MIT */
#ifndef BUS_EXPORT_H
#define BUS_EXPORT_H

/* libbus is built with hidden visibility; only these symbols are public. */
#if defined(__GNUC__)
#define BUS_EXPORT __attribute__((visibility("default")))
#else
#define BUS_EXPORT
#endif

#endif /* BUS_EXPORT_H */
