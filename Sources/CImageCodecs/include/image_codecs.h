// PNG and JPEG through libpng / libjpeg. setjmp/longjmp stay inside this C target.
#ifndef IMAGE_CODECS_H
#define IMAGE_CODECS_H
#include <stddef.h>
#include <stdint.h>

// Writes 8-bit RGB pixels (row-major, interleaved) as a PNG. Returns 0, or nonzero with a
// message in `error` (NUL-terminated, at most error_size bytes).
int ic_write_png_rgb8(const char *path, const uint8_t *pixels, int width, int height, char *error, size_t error_size);

// Reads a PNG as 8-bit RGB into a malloc'ed buffer (*pixels; the caller frees it).
int ic_read_png_rgb8(const char *path, uint8_t **pixels, int *width, int *height, char *error, size_t error_size);
#endif
