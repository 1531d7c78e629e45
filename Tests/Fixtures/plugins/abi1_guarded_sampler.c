/* A seed sampler built against the ABI 1 header (Tests/Fixtures/plugins/abi1/synth_plugin.h, a
 * copy of synth_plugin.h as it was at version 1). Its descriptor and interface table are placed
 * at the very end of a page followed by an inaccessible one, so a host that read past the
 * struct_size they state would crash instead of reading stray bytes. Fills every seed with
 * `value`. Build with -I Tests/Fixtures/plugins/abi1. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS under -std=c11 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "synth_plugin.h"

#if SYNTH_PLUGIN_ABI_VERSION != 1
#error "build this fixture against the ABI 1 header"
#endif

typedef struct { float value; } sampler;

static void *constant_create(double value) {
    sampler *s = malloc(sizeof *s);
    if (s) s->value = (float)value;
    return s;
}
static const char *constant_create_error(void) { return "out of memory"; }

static synth_status constant_sample(void *c, const synth_seed_request *r, synth_tensor *out, int64_t *labels) {
    int64_t n = 1;
    for (int i = 0; i < out->rank; i++) n *= out->shape[i];
    for (int64_t i = 0; i < n; i++) out->data[i] = ((sampler *)c)->value;
    if (labels) for (int64_t i = 0; i < r->n; i++) labels[i] = -1;
    return SYNTH_OK;
}
static int64_t constant_item_count(void *c) { (void)c; return -1; }
static const char *constant_last_error(void *c) { (void)c; return ""; }
static void constant_destroy(void *c) { free(c); }

static const synth_param_decl params[] = {
    {"value", SYNTH_PARAM_DOUBLE, "0.25", 1, 1, 0, 1, "The value of every pixel", NULL},
};

/* `size` bytes of `value` copied to the end of a readable page that a PROT_NONE page follows. */
static void *guarded_copy(const void *value, size_t size) {
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (mprotect(p + page, (size_t)page, PROT_NONE) != 0) return NULL;
    char *at = p + page - size;
    memcpy(at, value, size);
    return at;
}

const synth_plugin_descriptor *synth_plugin_entry(uint32_t host) {
    (void)host;
    static const synth_plugin_descriptor *made;
    if (made) return made;
    synth_seed_sampler_iface iface = {sizeof iface, constant_sample, constant_item_count, constant_last_error,
                                      constant_destroy, NULL};
    const void *guarded_iface = guarded_copy(&iface, sizeof iface);
    synth_plugin_descriptor d = {SYNTH_PLUGIN_ABI_VERSION, sizeof d, SYNTH_KIND_SEED_SAMPLER, "abi1-constant", "1.0.0",
                                 "A constant seed, built against the ABI 1 header", params, 1,
                                 (void (*)(void))constant_create, constant_create_error, guarded_iface};
    made = guarded_copy(&d, sizeof d);
    return made;
}
