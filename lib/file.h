/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file.h - input of unknown size read into memory, bounded: /proc files report a size
 * of 0, pipes none, and a decompressor's output is known only at its end, so each is
 * read into a buffer that grows by doubling up to a cap the caller chooses.
 * file_grow_bounded is one growth step (for loops that fill the buffer themselves,
 * such as inflate), file_read_fd the whole read loop over a file descriptor. And the
 * one write loop the store and the spill share, file_pwrite_all.
 */
#ifndef SMOLDER_LIB_FILE_H
#define SMOLDER_LIB_FILE_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

/* Grow *@buf, full at *@cap bytes, to @first bytes when it has none, else to twice
 * *@cap but at most @max.
 * @return 0, -EFBIG (*@cap is @max already) or -ENOMEM (*@buf unchanged). */
static inline int file_grow_bounded(unsigned char **buf, size_t *cap, size_t first, size_t max)
{
	unsigned char *b;
	size_t n;

	if (*cap >= max)
		return -EFBIG;
	n = !*cap ? first : *cap > max / 2 ? max : *cap * 2;
	b = realloc(*buf, n);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*cap = n;
	return 0;
}

/* Write the @len bytes at @buf to @fd at offset @off, through short writes and EINTR.
 * @return 0 or a negative errno (-EIO for a write that made no progress). */
static inline int file_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const unsigned char *b = buf;

	while (len) {
		ssize_t n = pwrite(fd, b, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		b += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* file_read_fd flags */
#define FILE_READ_TRUNCATE 0x1 /* at @max bytes, stop and keep them, rather than -EFBIG */

/*
 * Read @fd from where it is to its end into a buffer of @first bytes (at least 1) that
 * doubles as it fills, up to @max bytes. EINTR is retried; @fd is left open.
 * @return 0 with *@out (malloc'd, the caller frees it; never NULL) holding *@len
 * bytes; -EFBIG when @fd has more than fits in @max bytes (without FILE_READ_TRUNCATE),
 * -ENOMEM, or the negative errno of a failed read. On error *@out is untouched.
 */
static inline int file_read_fd(int fd, size_t first, size_t max, unsigned flags,
			       unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	for (;;) {
		ssize_t r;

		if (n == cap) {
			err = file_grow_bounded(&buf, &cap, first, max);
			if (err == -EFBIG && (flags & FILE_READ_TRUNCATE)) {
				err = 0;
				break;
			}
			if (err)
				goto cleanup;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	buf = NULL;
cleanup:
	free(buf);
	return err;
}

#endif /* SMOLDER_LIB_FILE_H */
