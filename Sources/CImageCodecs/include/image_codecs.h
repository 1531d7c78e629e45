#ifndef IMAGE_CODECS_H
#define IMAGE_CODECS_H
/*
 * PNG (libpng) and JPEG (libjpeg-turbo) behind plain C calls.
 *
 * libjpeg and libpng report errors by longjmp. Every setjmp lives in the same C function as the
 * library calls it guards, so a jump never crosses a Swift frame. Every function returns 0 on
 * success; on failure it returns non-zero and writes a message (no file name: the caller adds
 * it) into `err` (always NUL-terminated).
 */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Both decoders refuse an image whose header declares more than `max_pixels` pixels, before
 * the codec or this code allocates anything for its pixels: they return 2, with the declared size
 * in *out_width and *out_height (a truncated file of a few hundred bytes can declare 40000x40000). */

/* Decodes a JPEG held in memory to 8-bit interleaved RGB (grey, YCbCr and CMYK/YCCK inputs).
 * A truncated file ("Premature end of JPEG file") counts as an error. *out_pixels is malloc'd:
 * release it with ic_free. */
int ic_decode_jpeg(const unsigned char *data, size_t size, size_t max_pixels,
                   int *out_width, int *out_height, unsigned char **out_pixels,
                   char *err, size_t err_size);

/* Decodes a PNG held in memory: 1/2/4/8/16-bit grey, grey + alpha, RGB, RGBA and palette, all to
 * 8-bit RGB, with no gamma or colour-profile conversion (as PIL/torchvision read PNGs). Alpha and
 * tRNS are dropped (PIL's convert("RGB")); 16-bit samples become v * 255 / 65535, rounded.
 * libpng's low-level reader is used, with its setjmp in this function: the simplified png_image
 * API assumes a 16-bit file without gAMA is linear and gamma-encodes it (11 * 257 came out as 61
 * instead of 11), and converts 8-bit files that carry gAMA, which PIL does not. */
int ic_decode_png(const unsigned char *data, size_t size, size_t max_pixels,
                  int *out_width, int *out_height, unsigned char **out_pixels,
                  char *err, size_t err_size);

/* Writes 8-bit interleaved RGB as a PNG file at `path` (simplified API). */
int ic_write_png_rgb8(const char *path, const unsigned char *rgb, int width, int height,
                      char *err, size_t err_size);

/* Writes 8-bit interleaved RGB as a baseline JPEG file at `path` (quality 1-100). */
int ic_write_jpeg_rgb8(const char *path, const unsigned char *rgb, int width, int height,
                       int quality, char *err, size_t err_size);

/* Writes a baseline JPEG of 1 (grey), 3 (RGB) or 4 (CMYK, stored as given, with libjpeg's Adobe
 * marker) interleaved 8-bit components (used by tests for grey and CMYK files). */
int ic_write_jpeg(const char *path, const unsigned char *pixels, int width, int height,
                  int components, int quality, char *err, size_t err_size);

/* Writes a PNG of any colour type and bit depth through libpng's low-level API (used by tests
 * and fixtures). `rows` holds height rows of packed samples as the PNG stores them (16-bit
 * samples big-endian, sub-byte depths packed MSB first), `row_bytes` apart.
 * color_type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. palette: n_palette RGB triples;
 * trns: n_trns alpha bytes for a palette (may be NULL). */
int ic_write_png_raw(const char *path, int width, int height, int bit_depth, int color_type,
                     const unsigned char *rows, size_t row_bytes,
                     const unsigned char *palette, int n_palette,
                     const unsigned char *trns, int n_trns,
                     char *err, size_t err_size);

void ic_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
