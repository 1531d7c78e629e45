/*
 * gaussian-noise: a seed sampler written in plain C against synth_plugin.h, built outside
 * SwiftPM. It shows everything a third-party plugin needs: one exported entry symbol, typed
 * parameters received as ordinary C arguments, a context, status codes and messages.
 *
 * Build (from the repository root):
 *     cc -std=c11 -O2 -shared -fPIC -I Sources/SynthPluginABI/include \
 *        Examples/c-plugin/gaussian_noise.c -o libgaussian_noise.so -lm
 * Use:
 *     rsynth plugins --plugin-path .
 *     seed: { plugin: gaussian-noise, with: { mean: 0.5, std: 0.2 } }
 *
 * Each pixel is N(mean, std^2) clamped to [0, 1] (per-channel means if `channel_means` is
 * given; one value for all channels of a pixel if `grey` is true). Every sample draws from its
 * own generator seeded by the host, so results never depend on batching.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_plugin.h"

typedef struct sampler {
    double mean, std;
    int grey;
    double channel_means[4];
    int64_t channel_count;
    char error[256];
} sampler;

static char create_error_text[256];

/* splitmix64: small, fast, good enough for noise. */
static uint64_t next_u64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_uniform(uint64_t *state) { return (double)(next_u64(state) >> 11) * 0x1.0p-53; }

static double next_normal(uint64_t *state) {
    double u1 = next_uniform(state), u2 = next_uniform(state);
    if (u1 <= 0) u1 = 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Parameters arrive in declaration order, typed as synth_plugin.h says. */
static void *gaussian_create(double mean, double std, int32_t grey, const double *channel_means, int64_t channel_count) {
    if (channel_count > 4) {
        snprintf(create_error_text, sizeof create_error_text,
                 "channel_means has %lld values; at most 4 channels are supported", (long long)channel_count);
        return NULL;
    }
    sampler *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(create_error_text, sizeof create_error_text, "out of memory");
        return NULL;
    }
    s->mean = mean;
    s->std = std;
    s->grey = grey;
    s->channel_count = channel_count;
    for (int64_t i = 0; i < channel_count; i++) s->channel_means[i] = channel_means[i];
    return s;
}

static const char *gaussian_create_error(void) { return create_error_text; }

/* out: [n, C, H, W]; labels: [n] or NULL. */
static synth_status gaussian_sample(void *context, const synth_seed_request *request, synth_tensor *out, int64_t *labels) {
    sampler *s = context;
    int64_t n = out->shape[0], c = out->shape[1], hw = out->shape[2] * out->shape[3];
    if (s->channel_count != 0 && s->channel_count != c) {
        snprintf(s->error, sizeof s->error, "channel_means has %lld values but the classifier takes %lld channels",
                 (long long)s->channel_count, (long long)c);
        return SYNTH_ERROR;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t state = request->seeds[i];
        float *x = out->data + i * c * hw;
        for (int64_t p = 0; p < hw; p++) {
            double z = next_normal(&state);
            for (int64_t k = 0; k < c; k++) {
                if (!s->grey && k > 0) z = next_normal(&state);
                double mu = s->channel_count ? s->channel_means[k] : s->mean;
                double v = mu + s->std * z;
                x[k * hw + p] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
            }
        }
        if (labels) labels[i] = -1;
    }
    return SYNTH_OK;
}

static int64_t gaussian_item_count(void *context) { (void)context; return -1; }
static const char *gaussian_last_error(void *context) { return ((sampler *)context)->error; }
static void gaussian_destroy(void *context) { free(context); }

static const synth_param_decl params[] = {
    {"mean", SYNTH_PARAM_DOUBLE, "0.5", 1, 1, 0.0, 1.0, "Mean of every pixel", NULL},
    {"std", SYNTH_PARAM_DOUBLE, "0.25", 1, 0, 0.0, 0.0, "Standard deviation before clamping to [0, 1]", NULL},
    {"grey", SYNTH_PARAM_BOOL, "false", 0, 0, 0.0, 0.0, "Same value in every channel of a pixel", NULL},
    {"channel_means", SYNTH_PARAM_LIST | SYNTH_PARAM_DOUBLE, "[]", 1, 1, 0.0, 1.0,
     "Per-channel means, overriding `mean` when given", NULL},
};

static const synth_seed_sampler_iface iface = {
    sizeof(synth_seed_sampler_iface), gaussian_sample, gaussian_item_count, gaussian_last_error, gaussian_destroy,
};

static const synth_plugin_descriptor descriptor = {
    SYNTH_PLUGIN_ABI_VERSION,
    sizeof(synth_plugin_descriptor),
    SYNTH_KIND_SEED_SAMPLER,
    "gaussian-noise",
    "1.0.0",
    "Per-pixel Gaussian noise, clamped to [0,1] (example plugin in plain C)",
    params,
    sizeof params / sizeof params[0],
    (void (*)(void))gaussian_create,
    gaussian_create_error,
    &iface,
};

const synth_plugin_descriptor *synth_plugin_entry(uint32_t host_abi_version) {
    (void)host_abi_version; /* the host compares versions and explains a mismatch */
    return &descriptor;
}
