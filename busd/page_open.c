/* SPDX-License-Identifier: MIT */
/* Taking over a dead busd's page, or making a new one (page_open.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "page_open.h"

static _Atomic uint64_t *magic_of(void *page, size_t magic_offset)
{
	return (_Atomic uint64_t *)(void *)((char *)page + magic_offset);
}

/* The page fd opened, if it is whole and ours: 0 and *out, or -EPROTO. */
static int adopt(int fd, size_t size, size_t magic_offset, uint64_t magic,
		 bool (*whole)(const void *page), void **out)
{
	struct stat st;
	void *base;

	if (fstat(fd, &st) || st.st_uid != geteuid() ||
	    (size_t)st.st_size != size)
		return -EPROTO;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -EPROTO;
	/* Acquire: pairs with the release of the busd that made it. */
	if (bus__load_acquire(magic_of(base, magic_offset)) != magic ||
	    (whole && !whole(base))) {
		munmap(base, size);
		return -EPROTO;
	}
	*out = base;
	return 0;
}

static int create(const char *name, size_t size, void **out)
{
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
	void *base;
	int ret = 0;

	if (fd < 0)
		return -errno;
	/* shm_open's mode is masked by the umask: readers need r. */
	if (fchmod(fd, 0644) || ftruncate(fd, (off_t)size))
		ret = -errno;
	if (!ret) {
		base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			    0);
		if (base == MAP_FAILED)
			ret = -errno;
		else
			*out = base;
	}
	close(fd);
	if (ret)
		shm_unlink(name);
	return ret;
}

int busd_page_open(const char *name, size_t size, size_t magic_offset,
		   uint64_t magic, bool (*whole)(const void *page), void **out,
		   bool *adopted)
{
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);

	*adopted = false;
	if (fd >= 0) {
		int ret = adopt(fd, size, magic_offset, magic, whole, out);

		close(fd);
		if (!ret) {
			*adopted = true;
			return 0;
		}
		shm_unlink(name);
	}
	return create(name, size, out);
}

void busd_page_publish(void *page, size_t magic_offset, uint64_t magic)
{
	bus__store_release(magic_of(page, magic_offset), magic);
}
