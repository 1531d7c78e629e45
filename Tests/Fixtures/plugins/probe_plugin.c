/* A test plugin that declares one parameter of every type and writes what it receives to the
 * file named by its last parameter, so a test can check the libffi binding value by value. */
#include <stdio.h>
#include <stdlib.h>

#include "synth_plugin.h"

static char create_error_text[128] = "";

static void *probe_create(int32_t flag, int64_t count, double ratio, const char *label, const char *file,
                          const int32_t *flags, int64_t nflags, const int64_t *counts, int64_t ncounts,
                          const double *ratios, int64_t nratios, const char *const *names, int64_t nnames,
                          const char *out) {
    FILE *f = fopen(out, "w");
    if (!f) {
        snprintf(create_error_text, sizeof create_error_text, "cannot write %s", out);
        return NULL;
    }
    fprintf(f, "flag=%d count=%lld ratio=%.17g label=%s file=%s\n", flag, (long long)count, ratio, label, file);
    fprintf(f, "flags=");
    for (int64_t i = 0; i < nflags; i++) fprintf(f, "%d,", flags[i]);
    fprintf(f, "\ncounts=");
    for (int64_t i = 0; i < ncounts; i++) fprintf(f, "%lld,", (long long)counts[i]);
    fprintf(f, "\nratios=");
    for (int64_t i = 0; i < nratios; i++) fprintf(f, "%.17g,", ratios[i]);
    fprintf(f, "\nnames=");
    for (int64_t i = 0; i < nnames; i++) fprintf(f, "%s|", names[i]);
    fprintf(f, "\n");
    fclose(f);
    if (count == 13) {
        snprintf(create_error_text, sizeof create_error_text, "13 is unlucky");
        return NULL;
    }
    return calloc(1, 8);
}

static const char *probe_create_error(void) { return create_error_text; }

static synth_status probe_sample(void *c, const synth_seed_request *r, synth_tensor *out, int64_t *labels) {
    (void)c; (void)r; (void)labels;
    int64_t n = 1;
    for (int i = 0; i < out->rank; i++) n *= out->shape[i];
    for (int64_t i = 0; i < n; i++) out->data[i] = 0.5f;
    return SYNTH_OK;
}
static const char *probe_last_error(void *c) { (void)c; return ""; }
static void probe_destroy(void *c) { free(c); }

static const char *const choices[] = {"alpha", "beta", NULL};

static const synth_param_decl params[] = {
    {"flag", SYNTH_PARAM_BOOL, "false", 0, 0, 0, 0, "a bool", NULL},
    {"count", SYNTH_PARAM_INT, "3", 1, 1, 0, 100, "an int in [0, 100]", NULL},
    {"ratio", SYNTH_PARAM_DOUBLE, NULL, 1, 0, 0, 0, "a required double >= 0", NULL},
    {"label", SYNTH_PARAM_STRING, "\"alpha\"", 0, 0, 0, 0, "one of alpha, beta", choices},
    {"file", SYNTH_PARAM_PATH, "\"data.bin\"", 0, 0, 0, 0, "a path", NULL},
    {"flags", SYNTH_PARAM_LIST | SYNTH_PARAM_BOOL, "[]", 0, 0, 0, 0, "bools", NULL},
    {"counts", SYNTH_PARAM_LIST | SYNTH_PARAM_INT, "[1, 2]", 0, 0, 0, 0, "ints", NULL},
    {"ratios", SYNTH_PARAM_LIST | SYNTH_PARAM_DOUBLE, "[]", 0, 0, 0, 0, "doubles", NULL},
    {"names", SYNTH_PARAM_LIST | SYNTH_PARAM_STRING, "[]", 0, 0, 0, 0, "strings", NULL},
    {"out", SYNTH_PARAM_PATH, NULL, 0, 0, 0, 0, "where to write what was received", NULL},
};

static const synth_seed_sampler_iface iface = {sizeof iface, probe_sample, NULL, probe_last_error, probe_destroy};

static const synth_plugin_descriptor descriptor = {
    SYNTH_PLUGIN_ABI_VERSION, sizeof(synth_plugin_descriptor), SYNTH_KIND_SEED_SAMPLER, "probe", "0.0.1",
    "Records the parameters it is created with", params, sizeof params / sizeof params[0],
    (void (*)(void))probe_create, probe_create_error, &iface,
};

const synth_plugin_descriptor *synth_plugin_entry(uint32_t host) { (void)host; return &descriptor; }
