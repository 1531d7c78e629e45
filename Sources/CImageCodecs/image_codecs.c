#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

static void set_err(char *err, size_t err_size, const char *msg) {
    if (err && err_size) {
        snprintf(err, err_size, "%s", msg);
    }
}

void ic_free(void *p) { free(p); }

/* ---------------------------------------------------------------- JPEG */

struct ic_jpeg_error {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void ic_jpeg_error_exit(j_common_ptr cinfo) {
    struct ic_jpeg_error *e = (struct ic_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

/* Warnings are ignored except a truncated file, which PIL also refuses by default. */
static void ic_jpeg_emit_message(j_common_ptr cinfo, int level) {
    struct ic_jpeg_error *e = (struct ic_jpeg_error *)cinfo->err;
    if (level < 0) {
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
            (*cinfo->err->format_message)(cinfo, e->message);
            longjmp(e->jump, 1);
        }
        cinfo->err->num_warnings++;
    }
}

int ic_decode_jpeg(const unsigned char *data, size_t size, size_t max_pixels,
                   int *out_width, int *out_height, unsigned char **out_pixels,
                   char *err, size_t err_size) {
    struct jpeg_decompress_struct cinfo;
    struct ic_jpeg_error jerr;
    /* volatile: modified between setjmp and longjmp. */
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile row = NULL;

    *out_pixels = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = ic_jpeg_error_exit;
    jerr.mgr.emit_message = ic_jpeg_emit_message;
    jerr.message[0] = 0;
    if (setjmp(jerr.jump)) {
        set_err(err, err_size, jerr.message[0] ? jerr.message : "JPEG decoding failed");
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    /* Before jpeg_start_decompress, which allocates whole-image buffers for progressive files. */
    if ((size_t)cinfo.image_width * (size_t)cinfo.image_height > max_pixels) {
        *out_width = (int)cinfo.image_width;
        *out_height = (int)cinfo.image_height;
        set_err(err, err_size, "too many pixels");
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    int comps = cinfo.output_components;
    if (w <= 0 || h <= 0 || (size_t)w * (size_t)h > ((size_t)1 << 31)) {
        set_err(err, err_size, "JPEG has an unsupported size");
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    pixels = malloc((size_t)w * h * 3);
    row = malloc((size_t)w * comps);
    if (!pixels || !row) {
        set_err(err, err_size, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return 1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        int y = (int)cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        unsigned char *dst = pixels + (size_t)y * w * 3;
        if (comps == 3) {
            memcpy(dst, row, (size_t)w * 3);
        } else if (comps == 1) {
            for (int x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
        } else { /* CMYK: Adobe files store inverted values. */
            int inverted = cinfo.saw_Adobe_marker;
            for (int x = 0; x < w; x++) {
                int c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (!inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                dst[3 * x] = (unsigned char)((c * k + 127) / 255);
                dst[3 * x + 1] = (unsigned char)((m * k + 127) / 255);
                dst[3 * x + 2] = (unsigned char)((yy * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *out_width = w;
    *out_height = h;
    *out_pixels = pixels;
    return 0;
}

int ic_write_jpeg(const char *path, const unsigned char *pixels, int width, int height,
                  int components, int quality, char *err, size_t err_size) {
    struct jpeg_compress_struct cinfo;
    struct ic_jpeg_error jerr;
    FILE *volatile file = NULL;

    if (components != 1 && components != 3 && components != 4) {
        set_err(err, err_size, "JPEG components must be 1 (grey), 3 (RGB) or 4 (CMYK)");
        return 1;
    }
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = ic_jpeg_error_exit;
    jerr.message[0] = 0;
    if (setjmp(jerr.jump)) {
        set_err(err, err_size, jerr.message[0] ? jerr.message : "JPEG encoding failed");
        jpeg_destroy_compress(&cinfo);
        if (file) fclose(file);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    file = fopen(path, "wb");
    if (!file) {
        set_err(err, err_size, "cannot open the file for writing");
        jpeg_destroy_compress(&cinfo);
        return 1;
    }
    jpeg_stdio_dest(&cinfo, file);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = {(JSAMPROW)(pixels + (size_t)cinfo.next_scanline * width * components)};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(file) != 0) {
        set_err(err, err_size, "error while closing the file");
        return 1;
    }
    return 0;
}

int ic_write_jpeg_rgb8(const char *path, const unsigned char *rgb, int width, int height,
                       int quality, char *err, size_t err_size) {
    return ic_write_jpeg(path, rgb, width, height, 3, quality, err, err_size);
}

/* ---------------------------------------------------------------- PNG */

struct ic_png_error {
    jmp_buf jump;
    char message[256];
};

static void ic_png_error_fn(png_structp png, png_const_charp msg) {
    struct ic_png_error *e = (struct ic_png_error *)png_get_error_ptr(png);
    snprintf(e->message, sizeof e->message, "%s", msg);
    longjmp(e->jump, 1);
}

static void ic_png_warning_fn(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

struct ic_png_source {
    const unsigned char *data;
    size_t size, pos;
};

static void ic_png_read_fn(png_structp png, png_bytep out, size_t length) {
    struct ic_png_source *src = (struct ic_png_source *)png_get_io_ptr(png);
    if (length > src->size - src->pos) png_error(png, "unexpected end of file");
    memcpy(out, src->data + src->pos, length);
    src->pos += length;
}

/* The bytes up to the first chunk whose declared length (plus CRC) runs past the end, or all. */
static size_t ic_png_readable_prefix(const unsigned char *data, size_t size) {
    size_t pos = 8;  /* after the signature */
    while (pos <= size && size - pos >= 8) {
        size_t length = ((size_t)data[pos] << 24) | ((size_t)data[pos + 1] << 16) |
                        ((size_t)data[pos + 2] << 8) | (size_t)data[pos + 3];
        if (length > size - pos - 8 || size - pos - 8 - length < 4) return pos;
        int iend = memcmp(data + pos + 4, "IEND", 4) == 0;
        pos += 12 + length;
        if (iend) break;
    }
    return size;
}

int ic_decode_png(const unsigned char *data, size_t size, size_t max_pixels,
                  int *out_width, int *out_height, unsigned char **out_pixels,
                  char *err, size_t err_size) {
    struct ic_png_error perr;
    struct ic_png_source src = {data, size, 0};
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    png_structp png;
    png_infop info = NULL;

    *out_pixels = NULL;
    perr.message[0] = 0;
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &perr, ic_png_error_fn, ic_png_warning_fn);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        set_err(err, err_size, "out of memory");
        png_destroy_read_struct(&png, &info, NULL);
        return 1;
    }
    if (setjmp(perr.jump)) {
        set_err(err, err_size, perr.message[0] ? perr.message : "PNG decoding failed");
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        return 1;
    }
    png_set_read_fn(png, &src, ic_png_read_fn);
    /* libpng allocates a chunk's declared length before reading its data: an 84-byte file
     * declaring a 1.4 GB tEXt chunk asked malloc for 1.4 GB (found by Fuzz/FuzzPNG). Such a
     * chunk can never be read from these bytes, so libpng is only shown the file up to the first
     * chunk that runs past its end: it reads the header as before (the pixel limit still comes
     * first) and stops there with the same "unexpected end of file" as before, allocating
     * nothing. Decompressed ancillary chunks (zTXt, iCCP, ...) are capped at libpng's
     * recommended 8 MB. */
    src.size = ic_png_readable_prefix(data, size);
    png_set_chunk_malloc_max(png, 8000000);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    if ((size_t)w * (size_t)h > max_pixels) {
        *out_width = (int)(w > 0x7fffffff ? 0x7fffffff : w);
        *out_height = (int)(h > 0x7fffffff ? 0x7fffffff : h);
        set_err(err, err_size, "too many pixels");
        png_destroy_read_struct(&png, &info, NULL);
        return 2;
    }
    if (w == 0 || h == 0 || (size_t)w * h > ((size_t)1 << 31)) png_error(png, "unsupported image size");
    /* Everything to 8-bit RGB, without gamma or colour-profile conversion (as PIL and
     * torchvision read PNGs): palette -> RGB, 1/2/4-bit grey -> 8-bit, 16 -> 8 bits
     * (png_set_scale_16: v * 255 / 65535 rounded), grey -> RGB, alpha and tRNS dropped. */
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_scale_16(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected row layout after conversion");
    pixels = malloc((size_t)w * h * 3);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *out_width = (int)w;
    *out_height = (int)h;
    *out_pixels = pixels;
    return 0;
}

int ic_write_png_rgb8(const char *path, const unsigned char *rgb, int width, int height,
                      char *err, size_t err_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&image, path, 0, rgb, 0, NULL)) {
        set_err(err, err_size, image.message[0] ? image.message : "PNG encoding failed");
        png_image_free(&image);
        return 1;
    }
    png_image_free(&image);
    return 0;
}

int ic_write_png_raw(const char *path, int width, int height, int bit_depth, int color_type,
                     const unsigned char *rows, size_t row_bytes,
                     const unsigned char *palette, int n_palette,
                     const unsigned char *trns, int n_trns,
                     char *err, size_t err_size) {
    struct ic_png_error perr;
    perr.message[0] = 0;
    FILE *volatile file = fopen(path, "wb");
    if (!file) {
        set_err(err, err_size, "cannot open the file for writing");
        return 1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &perr, ic_png_error_fn,
                                              ic_png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        set_err(err, err_size, "out of memory");
        png_destroy_write_struct(&png, &info);
        fclose(file);
        return 1;
    }
    if (setjmp(perr.jump)) {
        set_err(err, err_size, perr.message[0] ? perr.message : "PNG encoding failed");
        png_destroy_write_struct(&png, &info);
        fclose(file);
        return 1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE && palette && n_palette > 0) {
        png_color colors[256];
        for (int i = 0; i < n_palette && i < 256; i++) {
            colors[i].red = palette[3 * i];
            colors[i].green = palette[3 * i + 1];
            colors[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, colors, n_palette);
        if (trns && n_trns > 0) png_set_tRNS(png, info, trns, n_trns, NULL);
    }
    png_write_info(png, info);
    for (int y = 0; y < height; y++) {
        png_write_row(png, rows + (size_t)y * row_bytes);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (fclose(file) != 0) {
        set_err(err, err_size, "error while closing the file");
        return 1;
    }
    return 0;
}
