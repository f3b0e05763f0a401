/* SPDX-License-Identifier: MIT */
/* Owner, group and mode checks, and the credentials they are made on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access.h"

/* Linux 4.13 has it; older headers lack the name. */
#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

/* ---- the access of a queue or topic ------------------------------------- */

int busd_access_resolve(const struct bus_access *asked,
			struct busd_access *out, char *detail,
			size_t detail_size)
{
	uint32_t given = asked ? asked->given : 0;

	out->owner = given & BUS_ACCESS_OWNER ? (uid_t)asked->owner
					      : geteuid();
	out->group = given & BUS_ACCESS_GROUP ? (gid_t)asked->group
					      : getegid();
	out->mode = given & BUS_ACCESS_MODE ? (mode_t)asked->mode
					    : BUSD_ACCESS_MODE_DEFAULT;
	/* (uid_t)-1 and (gid_t)-1 mean "nobody" to chown(2): refuse them
	 * rather than make a queue that only root can tell apart. */
	if (out->owner == (uid_t)-1 || out->group == (gid_t)-1) {
		snprintf(detail, detail_size,
			 "owner and group must be real "
			 "ids, not 4294967295");
		return -EINVAL;
	}
	if (out->mode & ~(mode_t)BUSD_ACCESS_MODE_MASK) {
		snprintf(detail, detail_size,
			 "mode %#o has bits above 0777; "
			 "only the permission bits apply",
			 (unsigned int)out->mode);
		return -EINVAL;
	}
	return 0;
}

void busd_access_export(const struct busd_access *access,
			struct bus_access *out)
{
	out->given = BUS_ACCESS_OWNER | BUS_ACCESS_GROUP | BUS_ACCESS_MODE;
	out->owner = (uint32_t)access->owner;
	out->group = (uint32_t)access->group;
	out->mode = (uint32_t)access->mode;
}

/* ---- checks ------------------------------------------------------------- */

bool busd_credentials_in_group(const struct busd_credentials *who, gid_t group)
{
	if (who->gid == group)
		return true;
	for (unsigned int i = 0; i < who->group_count; i++) {
		if (who->groups[i] == group)
			return true;
	}
	return false;
}

/*
 * As for files: the first class that matches decides, so an owner whose
 * own bits lack w is refused even when the group's bits have it.
 */
int busd_access_check(const struct busd_access *access,
		      const struct busd_credentials *who, unsigned int want)
{
	unsigned int bits;

	if (who->uid == 0)
		return 0;
	if (who->uid == access->owner)
		bits = (access->mode >> 6) & 7u;
	else if (busd_credentials_in_group(who, access->group))
		bits = (access->mode >> 3) & 7u;
	else
		bits = access->mode & 7u;
	return (bits & want) == want ? 0 : -EACCES;
}

bool busd_credentials_admin(const struct busd_credentials *who,
			    gid_t admin_group)
{
	if (who->uid == 0 || who->uid == geteuid())
		return true;
	return admin_group != BUSD_NO_GROUP &&
	       busd_credentials_in_group(who, admin_group);
}

/* ---- supplementary groups ----------------------------------------------- */

void busd_credentials_free(struct busd_credentials *who)
{
	free(who->groups);
	who->groups = NULL;
	who->group_count = 0;
}

/*
 * The kernel's copy from connect() time.  ERANGE tells the size needed;
 * the list may grow in between only if the peer connected again, which
 * it cannot do on the same socket, so one retry is enough.
 */
static int busd_read_peer_groups(struct busd_credentials *who, int socket_fd)
{
	socklen_t length = 64 * sizeof(gid_t);
	gid_t *groups = NULL;
	int error = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		gid_t *grown = realloc(groups, length ? length : 1);

		if (!grown) {
			free(groups);
			return -ENOMEM;
		}
		groups = grown;
		if (getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, groups,
			       &length) == 0) {
			who->groups = groups;
			who->group_count = length / sizeof(gid_t);
			return 0;
		}
		error = errno;
		if (error != ERANGE)
			break;
	}
	free(groups);
	return -error;
}

/* Appends one id to who->groups. */
static int busd_add_group(struct busd_credentials *who, gid_t group,
			  unsigned int *capacity)
{
	gid_t *grown;

	if (who->group_count == *capacity) {
		*capacity = *capacity ? *capacity * 2 : 16;
		grown = realloc(who->groups, *capacity * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		who->groups = grown;
	}
	who->groups[who->group_count++] = group;
	return 0;
}

/* "Groups:\t4 24 27\n": the ids after the colon. */
static int busd_parse_groups_line(struct busd_credentials *who,
				  const char *line)
{
	unsigned int capacity = 0;
	const char *p = line + strlen("Groups:");
	char *end;
	int ret;

	for (;;) {
		unsigned long id;

		p += strspn(p, " \t");
		if (*p < '0' || *p > '9')
			return 0;
		errno = 0;
		id = strtoul(p, &end, 10);
		if (errno || id > (gid_t)-1)
			return -EINVAL;
		ret = busd_add_group(who, (gid_t)id, &capacity);
		if (ret)
			return ret;
		p = end;
	}
}

static int busd_read_status_groups(struct busd_credentials *who, pid_t pid)
{
	char path[64], *line = NULL;
	size_t size = 0;
	FILE *file;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	file = fopen(path, "re");
	if (!file)
		return -errno;
	while (getline(&line, &size, file) > 0) {
		if (!strncmp(line, "Groups:", 7)) {
			ret = busd_parse_groups_line(who, line);
			break;
		}
	}
	free(line);
	fclose(file);
	if (ret)
		busd_credentials_free(who);
	return ret;
}

int busd_credentials_read_groups(struct busd_credentials *who, int socket_fd,
				 pid_t pid)
{
	int ret;

	busd_credentials_free(who);
	ret = busd_read_peer_groups(who, socket_fd);
	if (ret == -ENOPROTOOPT)
		ret = busd_read_status_groups(who, pid);
	return ret;
}
