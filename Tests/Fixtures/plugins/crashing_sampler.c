/* A seed sampler ("crashing-sampler", uniform 0.5 grey) that writes through a NULL pointer in
 * its sample call number CRASHING_SAMPLER_AT (an environment variable; never when unset), so a
 * test can crash a run part-way and then resume it with the same spec. */
#include <stdlib.h>

#include "synth_plugin.h"

/* NULL, through a volatile pointer so that no compiler can prove it and drop the store. */
int *volatile crash_target = 0;
static long calls = 0;

static void *sampler_create(void) { return calloc(1, 8); }
static const char *sampler_create_error(void) { return "out of memory"; }

static synth_status sampler_sample(void *c, const synth_seed_request *r, synth_tensor *out, int64_t *labels) {
    (void)c; (void)r; (void)labels;
    const char *at = getenv("CRASHING_SAMPLER_AT");
    if (at && ++calls == atol(at)) *crash_target = 1;
    int64_t n = 1;
    for (int i = 0; i < out->rank; i++) n *= out->shape[i];
    for (int64_t i = 0; i < n; i++) out->data[i] = 0.5f;
    return SYNTH_OK;
}
static const char *sampler_last_error(void *c) { (void)c; return ""; }
static void sampler_destroy(void *c) { free(c); }

static const synth_seed_sampler_iface iface = {sizeof iface, sampler_sample, NULL, sampler_last_error, sampler_destroy};

static const synth_plugin_descriptor descriptor = {
    SYNTH_PLUGIN_ABI_VERSION, sizeof(synth_plugin_descriptor), SYNTH_KIND_SEED_SAMPLER, "crashing-sampler", "0.0.1",
    "Grey seeds; crashes in sample call CRASHING_SAMPLER_AT", NULL, 0,
    (void (*)(void))sampler_create, sampler_create_error, &iface,
};

const synth_plugin_descriptor *synth_plugin_entry(uint32_t host) { (void)host; return &descriptor; }
