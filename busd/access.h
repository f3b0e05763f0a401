/* SPDX-License-Identifier: MIT */
/*
 * Who may use a queue or topic, and who may administer the bus.
 *
 * Each queue and topic has an owner, a group and a mode, read like a
 * file's: r (4) lets a process consume or subscribe (and observe), w (2)
 * lets it produce or publish; x means nothing.  The owner's bits apply to
 * a process whose uid is the owner, else the group's bits to a member of
 * the group (its primary or a supplementary group), else the others' bits.
 * Root passes every check, as with files.
 *
 * Creating and deleting (and later purging and routing) need admin
 * rights: busd's own effective uid, root, or membership of the group that
 * [bus] admin_group names.
 *
 * The credentials are the kernel's, never the client's word: uid and gid
 * from SO_PEERCRED and the supplementary groups from SO_PEERGROUPS, both as
 * they were when the client connected (or /proc/PID/status where the
 * kernel lacks SO_PEERGROUPS).  Segments stay 0600 and owned by busd;
 * clients only get them as file descriptors after these checks.
 */
#ifndef BUSD_ACCESS_H
#define BUSD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bus/bus.h"

#define BUSD_ACCESS_READ 04u
#define BUSD_ACCESS_WRITE 02u
/* The permission bits a mode may have: no setuid, setgid or sticky. */
#define BUSD_ACCESS_MODE_MASK 0777u
#define BUSD_ACCESS_MODE_DEFAULT 0660u
/* "No group", as chown(2) spells "leave it". */
#define BUSD_NO_GROUP ((gid_t)-1)

/* The owner, group and mode of one queue or topic. */
struct busd_access {
	uid_t owner;
	gid_t group;
	mode_t mode;
};

/* A connected process as the kernel saw it when it connected. */
struct busd_credentials {
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups; malloc'd, may be NULL */
	unsigned int group_count;
};

/*
 * The access asked for at creation (NULL, or only some fields given), with
 * busd's effective uid, its effective gid and 0660 for the rest.  -EINVAL
 * with a sentence in detail when the mode has bits above 0777.
 */
int busd_access_resolve(const struct bus_access *asked,
			struct busd_access *out, char *detail,
			size_t detail_size);

/* The same access in the public form, every field given. */
void busd_access_export(const struct busd_access *access,
			struct bus_access *out);

/*
 * 0 when who may do want (BUSD_ACCESS_READ and/or BUSD_ACCESS_WRITE),
 * -EACCES otherwise.
 */
int busd_access_check(const struct busd_access *access,
		      const struct busd_credentials *who, unsigned int want);

/* True when group is who's primary or one of its supplementary groups. */
bool busd_credentials_in_group(const struct busd_credentials *who,
			       gid_t group);

/*
 * True for root, busd's own effective uid, and members of admin_group
 * (BUSD_NO_GROUP: nobody by group).
 */
bool busd_credentials_admin(const struct busd_credentials *who,
			    gid_t admin_group);

/*
 * Fills who->groups for the peer of socket_fd: SO_PEERGROUPS, else the
 * Groups: line of /proc/PID/status.  0, or a negative errno (who keeps no
 * supplementary groups then).
 */
int busd_credentials_read_groups(struct busd_credentials *who, int socket_fd,
				 pid_t pid);

void busd_credentials_free(struct busd_credentials *who);

#endif /* BUSD_ACCESS_H */
