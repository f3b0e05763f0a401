/* SPDX-License-Identifier: MIT */
/* Who may read a journal, and removing one: busd/journal_access.h. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_access.h"
#include "log.h"

uint32_t busd_journal_file_mode(const struct busd_access *access)
{
	return 0600u | ((uint32_t)access->mode & 0044u);
}

/* Directories: x beside every r, and setgid (files take its group). */
static mode_t directory_mode(uint32_t file_mode)
{
	return (mode_t)(02700u | (file_mode & 0044u) |
			((file_mode & 0044u) >> 2));
}

void busd_journal_share(const char *directory, const char *name,
			const struct busd_access *access)
{
	uint32_t file_mode = busd_journal_file_mode(access);
	bool group_given = true;
	struct dirent *entry;
	DIR *dir;

	if (chown(directory, (uid_t)-1, access->group) != 0) {
		group_given = false;
		busd_warning("'%s': cannot give its journal %s the group %u: "
			     "%s; only busd's user and group may read it",
			     name, directory, (unsigned int)access->group,
			     strerror(errno));
	}
	if (chmod(directory, directory_mode(file_mode)) != 0)
		busd_warning("'%s': cannot set the mode of its journal %s: %s",
			     name, directory, strerror(errno));
	dir = opendir(directory);
	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		if (group_given)
			(void)fchownat(dirfd(dir), entry->d_name, (uid_t)-1,
				       access->group, AT_SYMLINK_NOFOLLOW);
		(void)fchmodat(dirfd(dir), entry->d_name, file_mode, 0);
	}
	closedir(dir);
}

void busd_journal_remove(const char *directory)
{
	DIR *dir = opendir(directory);
	struct dirent *entry;

	if (!dir)
		return;
	/* Every file, a settings file's leftover temporary (".NAME.tmp",
	 * durable_store.c, after a crash in a save) too: only "." and ".."
	 * stay, or the rmdir fails. */
	while ((entry = readdir(dir)))
		if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, ".."))
			unlinkat(dirfd(dir), entry->d_name, 0);
	closedir(dir);
	if (rmdir(directory))
		busd_warning("cannot remove the journal %s: %s", directory,
			     strerror(errno));
}
