/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "announcer.h"
#include "atomics.h"
#include "futex.h"

/* A previous busd's page, if it is whole; raised, so clients list again. */
static int busd_announce_adopt(int fd, struct bus_announce **out)
{
	struct stat st;
	void *base;

	if (fstat(fd, &st) || st.st_uid != geteuid() ||
	    st.st_size != BUS_ANNOUNCE_SIZE)
		return -EPROTO;
	base = mmap(NULL, BUS_ANNOUNCE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	/* Acquire: pairs with the release of the busd that made it. */
	if (bus__load_acquire(&((struct bus_announce *)base)->magic) !=
	    BUS_ANNOUNCE_MAGIC) {
		munmap(base, BUS_ANNOUNCE_SIZE);
		return -EPROTO;
	}
	close(fd);
	*out = base;
	busd_announce_change(*out);
	return 0;
}

int busd_announce_open(const char *bus_name, struct bus_announce **out)
{
	char name[NAME_MAX + 2];
	void *base;
	int fd, ret;

	ret = bus__announce_name(name, sizeof(name), bus_name);
	if (ret < 0)
		return ret;
	/* We hold the bus's lock: a page left here is a dead busd's, and
	 * its wildcard clients may still watch it: take it over. */
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd >= 0 && busd_announce_adopt(fd, out) == 0)
		return 0;
	if (fd >= 0)
		close(fd);
	shm_unlink(name);
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* shm_open's mode is masked by the umask: readers need r. */
	if (fchmod(fd, 0644) || ftruncate(fd, BUS_ANNOUNCE_SIZE)) {
		ret = -errno;
		goto fail;
	}
	base = mmap(NULL, BUS_ANNOUNCE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	close(fd);
	*out = base;
	/* Release: a client that sees the magic sees a zeroed page. */
	bus__store_release(&(*out)->magic,
			   BUS_ANNOUNCE_MAGIC);
	return 0;
fail:
	close(fd);
	shm_unlink(name);
	return ret;
}

void busd_announce_change(struct bus_announce *page)
{
	if (!page)
		return;
	/* seq_cst: the topic is in the registry (bus_list answers it)
	 * before the raise; a waiter that registered and then saw the old
	 * value sleeps on it and is woken here.  busd is off the hot path:
	 * it always wakes. */
	bus__fetch_add_seq_cst(&page->topics_generation, 1);
	bus__futex_wake_all(&page->topics_generation);
}

void busd_announce_close(const char *bus_name, struct bus_announce *page)
{
	char name[NAME_MAX + 2];

	/* None when we never got the lock: the page is another busd's. */
	if (!page)
		return;
	/* Wake wildcard sleepers: they find their topics closed. */
	busd_announce_change(page);
	munmap(page, BUS_ANNOUNCE_SIZE);
	if (bus__announce_name(name, sizeof(name), bus_name) >= 0)
		shm_unlink(name);
}
