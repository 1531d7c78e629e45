#include "image_codecs.h"

#include <png.h>
#include <stdio.h>
#include <string.h>

int ic_write_png_rgb8(const char *path, const uint8_t *pixels, int width, int height, char *error, size_t error_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&image, path, 0, pixels, 0, NULL)) {
        snprintf(error, error_size, "%s", image.message);
        png_image_free(&image);
        return 1;
    }
    return 0;
}

#include <stdlib.h>

int ic_read_png_rgb8(const char *path, uint8_t **pixels, int *width, int *height, char *error, size_t error_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) {
        snprintf(error, error_size, "%s", image.message);
        return 1;
    }
    image.format = PNG_FORMAT_RGB;
    uint8_t *buffer = malloc(PNG_IMAGE_SIZE(image));
    if (!buffer) { png_image_free(&image); snprintf(error, error_size, "out of memory"); return 1; }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL)) {
        snprintf(error, error_size, "%s", image.message);
        free(buffer);
        return 1;
    }
    *pixels = buffer;
    *width = (int)image.width;
    *height = (int)image.height;
    return 0;
}
