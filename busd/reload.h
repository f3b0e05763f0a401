/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP: reads busd's configuration file again and applies what is safe
 * to change while clients run (see reload.c for what and why), logging
 * each change and each one that needs a restart.
 */
#ifndef BUSD_RELOAD_H
#define BUSD_RELOAD_H

struct busd;

/* 0, or a negative errno when the file could not be read or had errors
 * (then nothing changed). */
int busd_reload(struct busd *busd);

#endif /* BUSD_RELOAD_H */
