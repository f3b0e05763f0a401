/* SPDX-License-Identifier: MIT */
/* Mapping one of busd's pages read-only (page_map.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomics.h"
#include "page_map.h"

int bus__page_map(const char *name, size_t size, size_t magic_offset,
		  uint64_t magic, bool exact_size, const void **out)
{
	struct stat st;
	void *base;
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (exact_size && (fstat(fd, &st) || (size_t)st.st_size != size)) {
		close(fd);
		return -EPROTO;
	}
	base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return -errno;
	/* Acquire: pairs with busd's release of the magic. */
	if (bus__load_acquire(
		    (const _Atomic uint64_t *)(const void *)((const char *)
								     base +
							     magic_offset)) !=
	    magic) {
		munmap(base, size);
		return -EPROTO;
	}
	*out = base;
	return 0;
}
