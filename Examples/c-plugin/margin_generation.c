/*
 * margin-generation: a task written in plain C with an objective of its own (plugin ABI 2).
 * Class-conditional generation that minimises the Carlini-Wagner margin instead of the
 * cross-entropy:
 *
 *     loss_i = max( max_{j != t} z_ij - z_it , -kappa )        z = logits [n, K], t = target
 *
 * so a sample stops being pushed once its target leads every other class by kappa. The host
 * calls `objective` at every step with the logits (and any taps the task names) and adds the
 * constraints' penalties; the task writes each sample's loss and d loss / d logits.
 *
 * Build (from the repository root), then use it like any task:
 *     cc -std=c11 -O2 -shared -fPIC -I Sources/SynthPluginABI/include \
 *        Examples/c-plugin/margin_generation.c -o libmargin_generation.so
 *     rsynth run Examples/c-plugin/margin.yaml --plugin-path .
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "synth_plugin.h"

typedef struct task {
    const char *const *classes; /* the host keeps create's strings alive until destroy (ABI 2) */
    int64_t class_count, per_class;
    double kappa;
    int64_t *targets;           /* [item count], from plan */
    int64_t count;
    char error[256];
} task;

static char create_error_text[256];

static void *margin_create(const char *const *classes, int64_t class_count, int64_t per_class, double kappa) {
    if (class_count == 0) {
        snprintf(create_error_text, sizeof create_error_text, "'classes' is empty: name at least one class");
        return NULL;
    }
    task *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(create_error_text, sizeof create_error_text, "out of memory");
        return NULL;
    }
    t->classes = classes;
    t->class_count = class_count;
    t->per_class = per_class;
    t->kappa = kappa;
    return t;
}

static const char *margin_create_error(void) { return create_error_text; }

static synth_status margin_plan(void *context, const synth_task_setup *setup, int64_t *count) {
    task *t = context;
    free(t->targets);
    t->count = t->class_count * t->per_class;
    t->targets = malloc(sizeof(int64_t) * (size_t)t->count);
    if (!t->targets) { snprintf(t->error, sizeof t->error, "out of memory"); return SYNTH_ERROR; }
    for (int64_t c = 0; c < t->class_count; c++) {
        int64_t k = setup->resolve_class(setup->host, t->classes[c]);
        if (k < 0) {
            const char *near = setup->suggest_class(setup->host, t->classes[c]);
            snprintf(t->error, sizeof t->error, near ? "unknown class '%s' (did you mean '%s'?)" : "unknown class '%s'",
                     t->classes[c], near);
            return SYNTH_ERROR;
        }
        for (int64_t j = 0; j < t->per_class; j++) t->targets[c * t->per_class + j] = k;
    }
    *count = t->count;
    return SYNTH_OK;
}

static synth_status margin_item(void *context, int64_t index, synth_task_item *out) {
    task *t = context;
    if (index < 0 || index >= t->count) { snprintf(t->error, sizeof t->error, "no item %lld", (long long)index); return SYNTH_ERROR; }
    out->seed_class = t->targets[index];
    out->source_item = -1;
    out->target = t->targets[index];
    out->group = index / t->per_class;
    return SYNTH_OK;
}

/* The seeds are the starting points. source, x0: [n, C, H, W]. */
static synth_status margin_prepare(void *context, const int64_t *items, const uint64_t *seeds, const synth_tensor *source,
                                   synth_tensor *x0, synth_tensor *mask) {
    (void)context; (void)items; (void)seeds; (void)mask;
    int64_t n = 1;
    for (int i = 0; i < source->rank; i++) n *= source->shape[i];
    for (int64_t i = 0; i < n; i++) x0->data[i] = source->data[i];
    return SYNTH_OK;
}

/* logits [n, K] -> loss [n], dlogits [n, K] (zeroed by the host). */
static synth_status margin_objective(void *context, const synth_objective_input *in, const synth_objective_output *out) {
    task *t = context;
    const int64_t n = in->n, k = in->logits->shape[1];
    for (int64_t i = 0; i < n; i++) {
        const float *z = in->logits->data + i * k;
        float *dz = out->dlogits->data + i * k;
        int64_t target = in->targets[i], best = target == 0 ? 1 : 0;
        for (int64_t j = 0; j < k; j++)
            if (j != target && z[j] > z[best]) best = j;
        double margin = (double)z[best] - (double)z[target];
        if (margin > -t->kappa) {
            out->loss[i] = (float)margin;
            dz[best] = 1.0f;
            dz[target] = -1.0f;
        } else {
            out->loss[i] = (float)-t->kappa;   /* flat: the gradient is zero */
        }
    }
    return SYNTH_OK;
}

static const char *margin_last_error(void *context) { return ((task *)context)->error; }
static void margin_destroy(void *context) {
    task *t = context;
    free(t->targets);
    free(t);
}

static const synth_param_decl params[] = {
    {"classes", SYNTH_PARAM_LIST | SYNTH_PARAM_STRING, NULL, 0, 0, 0, 0, "Classes to generate (one grid row each)", NULL},
    {"per_class", SYNTH_PARAM_INT, "4", 1, 1, 1, 10000, "Samples per class", NULL},
    {"kappa", SYNTH_PARAM_DOUBLE, "5", 1, 0, 0, 0, "Stop pushing once the target leads every other logit by this much", NULL},
};

static const synth_task_iface iface = {
    .struct_size = sizeof(synth_task_iface),
    .plan = margin_plan,
    .item = margin_item,
    .prepare = margin_prepare,
    .last_error = margin_last_error,
    .destroy = margin_destroy,
    .objective = margin_objective,
};

static const char *const required[] = {"l2-ball", NULL};

static const synth_plugin_facts facts = {
    .struct_size = sizeof(synth_plugin_facts),
    .required_constraints = required,
    .default_steps = 40,
    .default_step_size = 0.5,
};

static const synth_plugin_descriptor descriptor = {
    .abi_version = SYNTH_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(synth_plugin_descriptor),
    .kind = SYNTH_KIND_TASK,
    .name = "margin-generation",
    .version = "1.0.0",
    .summary = "Class-conditional generation by the Carlini-Wagner logit margin (example task in plain C)",
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .create = (void (*)(void))margin_create,
    .create_error = margin_create_error,
    .iface = &iface,
    .facts = &facts,
};

const synth_plugin_descriptor *synth_plugin_entry(uint32_t host_abi_version) {
    (void)host_abi_version;
    return &descriptor;
}
