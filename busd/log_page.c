/* SPDX-License-Identifier: MIT */
/* Making, taking over and closing the error log page. */
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "error_log.h"
#include "log.h"
#include "log_page.h"

static int busd_error_log_map(int fd, struct bus_log_page **out)
{
	void *base = mmap(NULL, sizeof(struct bus_log_page),
			  PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (base == MAP_FAILED)
		return -errno;
	*out = base;
	return 0;
}

/* A dead busd's page, if it is whole and ours. */
static int busd_error_log_adopt(int fd, struct bus_log_page **out)
{
	struct stat st;

	if (fstat(fd, &st) || st.st_uid != geteuid() ||
	    st.st_size != sizeof(struct bus_log_page) ||
	    busd_error_log_map(fd, out))
		return -EPROTO;
	/* Acquire: pairs with the release of the magic that made it. */
	if (bus__load_acquire(&(*out)->magic) != BUS_LOG_MAGIC) {
		munmap(*out, sizeof(struct bus_log_page));
		return -EPROTO;
	}
	return 0;
}

int busd_error_log_open(const char *bus_name, struct bus_log_page **out)
{
	char name[NAME_MAX + 2];
	int fd, ret;

	if (bus__log_name(name, sizeof(name), bus_name) < 0)
		return -ENAMETOOLONG;
	/* We hold the bus's lock: a page here is a dead busd's. */
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd >= 0) {
		ret = busd_error_log_adopt(fd, out);
		close(fd);
		if (!ret)
			goto attach;
		shm_unlink(name);
	}
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* shm_open's mode is masked by the umask: readers need r. */
	ret = fchmod(fd, 0644) ||
			      ftruncate(fd, sizeof(struct bus_log_page)) ?
		      -errno :
		      busd_error_log_map(fd, out);
	close(fd);
	if (ret) {
		shm_unlink(name);
		return ret;
	}
	/* Release: a reader that sees the magic sees a zeroed page. */
	bus__store_release(&(*out)->magic, BUS_LOG_MAGIC);
attach:
	busd_log_attach(*out);
	return 0;
}

void busd_error_log_close(const char *bus_name, struct bus_log_page *page,
			  int unlink)
{
	char name[NAME_MAX + 2];

	if (!page)
		return;
	busd_log_attach(NULL);
	munmap(page, sizeof(struct bus_log_page));
	if (unlink && bus__log_name(name, sizeof(name), bus_name) >= 0)
		shm_unlink(name);
}
