/* SPDX-License-Identifier: MIT */
/*
 * Reading a fuzzer's input a few bytes at a time.  Past the end every read
 * gives zeros, so a harness never has to check how much is left before it
 * asks; it stops when fuzz_input_done() says so.
 */
#ifndef BUS_FUZZ_INPUT_H
#define BUS_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_input {
	const uint8_t *data;
	size_t size;
	size_t at;
};

static inline bool fuzz_input_done(const struct fuzz_input *in)
{
	return in->at >= in->size;
}

static inline size_t fuzz_input_left(const struct fuzz_input *in)
{
	return in->at < in->size ? in->size - in->at : 0;
}

/* Copies up to size bytes into out, zeros for what is missing. */
static inline void fuzz_input_bytes(struct fuzz_input *in, void *out,
				    size_t size)
{
	size_t n = fuzz_input_left(in);

	if (n > size)
		n = size;
	memcpy(out, in->data + in->at, n);
	memset((uint8_t *)out + n, 0, size - n);
	in->at += n;
}

static inline uint8_t fuzz_input_u8(struct fuzz_input *in)
{
	uint8_t v;

	fuzz_input_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint16_t fuzz_input_u16(struct fuzz_input *in)
{
	uint16_t v;

	fuzz_input_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint32_t fuzz_input_u32(struct fuzz_input *in)
{
	uint32_t v;

	fuzz_input_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint64_t fuzz_input_u64(struct fuzz_input *in)
{
	uint64_t v;

	fuzz_input_bytes(in, &v, sizeof(v));
	return v;
}

#endif /* BUS_FUZZ_INPUT_H */
