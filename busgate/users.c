/* SPDX-License-Identifier: MIT */
/*
 * Logins: the users file, one login a line,
 *
 *   LOGIN:CRYPT-HASH:USER[:GROUP]
 *
 * where the hash is checked with crypt(3) (any method libcrypt knows:
 * yescrypt, SHA-512, ...; make one with mkpasswd or openssl passwd -6),
 * and USER (and GROUP, else USER's own) are the unix user and group that
 * the login acts as on the bus: busd checks each queue's owner, group
 * and mode against the credentials of the socket a client connected
 * with, so busgate connects to busd once per login, with its effective
 * ids switched to that user's for the connect(2).  Acting as a user other
 * than busgate's own needs root (or CAP_SETUID and CAP_SETGID); busgate
 * refuses such a file at start-up otherwise.
 */
#include <crypt.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"

/* Supplementary groups kept across the switch. */
#define GROUPS_MAX 256

static int parse_line(char *line, struct gate_identity *id, char *why,
		      size_t why_size)
{
	char *fields[4] = { 0 };
	unsigned int count = 0;
	char *at = line, *colon;
	struct passwd *pw;

	while (count < 4) {
		fields[count++] = at;
		colon = strchr(at, ':');
		if (!colon)
			break;
		*colon = '\0';
		at = colon + 1;
	}
	if (count < 3 || !*fields[0] || !*fields[1] || !*fields[2]) {
		snprintf(why, why_size, "expected LOGIN:HASH:USER[:GROUP]");
		return -EINVAL;
	}
	if (strlen(fields[0]) >= sizeof(id->login) ||
	    strlen(fields[1]) >= sizeof(id->hash)) {
		snprintf(why, why_size, "login or hash too long");
		return -EINVAL;
	}
	strcpy(id->login, fields[0]);
	strcpy(id->hash, fields[1]);
	pw = getpwnam(fields[2]);
	if (!pw) {
		snprintf(why, why_size, "no unix user '%.64s'", fields[2]);
		return -EINVAL;
	}
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	if (fields[3] && *fields[3]) {
		struct group *gr = getgrnam(fields[3]);

		if (!gr) {
			snprintf(why, why_size, "no unix group '%.64s'",
				 fields[3]);
			return -EINVAL;
		}
		id->gid = gr->gr_gid;
	}
	if (geteuid() != 0 && (id->uid != geteuid() || id->gid != getegid())) {
		snprintf(why, why_size,
			 "acting as another user or group "
			 "than busgate's own needs root");
		return -EPERM;
	}
	return 0;
}

int gate_users_load(struct gate_users *users, const char *path)
{
	char line[1024], why[160];
	unsigned int number = 0, errors = 0;
	FILE *file;

	memset(users, 0, sizeof(*users));
	users->self.uid = geteuid();
	users->self.gid = getegid();
	strcpy(users->self.login, "(loopback)");
	if (!path || !*path)
		return 0;
	file = fopen(path, "re");
	if (!file) {
		int error = -errno;

		gate_log(0, "%s: %s", path, strerror(errno));
		return error;
	}
	users->from_file = true;
	while (fgets(line, sizeof(line), file)) {
		struct gate_identity *grown;
		size_t n = strcspn(line, "\r\n");

		number++;
		line[n] = '\0';
		if (!n || line[0] == '#')
			continue;
		grown = realloc(users->entries,
				(users->count + 1) * sizeof(*grown));
		if (!grown) {
			errors++;
			break;
		}
		users->entries = grown;
		memset(&grown[users->count], 0, sizeof(*grown));
		if (parse_line(line, &grown[users->count], why, sizeof(why))) {
			gate_log(0, "%s:%u: %s", path, number, why);
			errors++;
			continue;
		}
		users->count++;
	}
	fclose(file);
	return errors ? -EINVAL : 0;
}

void gate_users_free(struct gate_users *users)
{
	for (unsigned int i = 0; i < users->count; i++)
		if (users->entries[i].bus)
			bus_disconnect(users->entries[i].bus);
	if (users->self.bus)
		bus_disconnect(users->self.bus);
	free(users->entries);
	users->entries = NULL;
	users->count = 0;
}

/* Compares without stopping at the first difference. */
static bool same_text(const char *a, const char *b)
{
	size_t n = strlen(a);
	unsigned char diff = n != strlen(b);

	for (size_t i = 0; i < n && b[i]; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return !diff;
}

int gate_users_check(struct gate_users *users, const char *login,
		     const char *passcode, struct gate_identity **out)
{
	struct crypt_data data;
	const char *hash;

	if (!users->from_file) {
		*out = &users->self;
		return 0;
	}
	if (!login || !passcode)
		return -EACCES;
	for (unsigned int i = 0; i < users->count; i++) {
		struct gate_identity *id = &users->entries[i];

		if (strcmp(id->login, login))
			continue;
		memset(&data, 0, sizeof(data));
		hash = crypt_r(passcode, id->hash, &data);
		if (!hash || hash[0] == '*' || !same_text(hash, id->hash))
			return -EACCES;
		*out = id;
		return 0;
	}
	return -EACCES;
}

/* bus_connect() with the effective ids of identity, so that busd reads
 * them off the socket (SO_PEERCRED, SO_PEERGROUPS). */
static int connect_as(struct gate_identity *identity, const char *bus_name,
		      bus_t **out)
{
	gid_t groups[GROUPS_MAX];
	int count = getgroups(GROUPS_MAX, groups);
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int ret;

	if (count < 0)
		return -errno;
	if (setgroups(1, &identity->gid) || setegid(identity->gid) ||
	    seteuid(identity->uid)) {
		ret = -errno;
		goto restore;
	}
	ret = bus_connect(bus_name, out);
restore:
	/* Undoing what was done can only fail if root was lost, and
	 * then nothing further is safe. */
	if (seteuid(uid) || setegid(gid) || setgroups((size_t)count, groups)) {
		gate_log(0, "cannot take back root's ids: %s",
			 strerror(errno));
		abort();
	}
	return ret;
}

int gate_identity_bus(struct gate_identity *identity, const char *bus_name,
		      bus_t **out)
{
	int ret;

	if (!identity->bus) {
		if (identity->uid == geteuid() && identity->gid == getegid())
			ret = bus_connect(bus_name, &identity->bus);
		else
			ret = connect_as(identity, bus_name, &identity->bus);
		if (ret)
			return ret;
	}
	identity->bus_users++;
	*out = identity->bus;
	return 0;
}

/* The last connection of an identity disconnects its bus, so that a
 * login after busd restarted connects to the new busd; a handle kept
 * forever would stay on the old one. */
void gate_identity_release(struct gate_identity *identity)
{
	if (!identity->bus_users || --identity->bus_users)
		return;
	bus_disconnect(identity->bus);
	identity->bus = NULL;
}
