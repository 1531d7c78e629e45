/*
 * synth_plugin.h: the RobustSynth plugin ABI.
 *
 * Every plugin is a shared library that exports exactly one symbol:
 *
 *     const synth_plugin_descriptor *synth_plugin_entry(uint32_t host_abi_version);
 *
 * The host dlopens the library (RTLD_NOW | RTLD_LOCAL, never dlclose), calls the entry with
 * SYNTH_PLUGIN_ABI_VERSION and checks `abi_version` and `struct_size` of what comes back.
 *
 * Rules of the boundary (why: Swift has no stable ABI on Linux, C does):
 * - Structs only ever grow at the end; `struct_size` tells the host which fields exist.
 * - Tensors cross as caller-allocated float32 buffers in NCHW order plus their shape. A plugin
 *   writes only its outputs; input tensors are the caller's and must not be modified (the host
 *   passes them without a copy).
 * - Every call returns a synth_status; on failure the plugin's `last_error(context)` gives a
 *   message that stays owned by the plugin until its next call on that context.
 * - Nothing throws, longjmps or unwinds across the boundary.
 * - Parameters are declared in the descriptor; the host validates the spec against them and
 *   calls `create` through libffi with exactly these typed arguments, in declaration order:
 *       bool   -> int32_t (0 or 1)        int    -> int64_t
 *       double -> double                  string, path -> const char * (UTF-8, NUL-terminated)
 *       list of T -> two arguments: const T *items, int64_t count (strings: const char *const *)
 *   `create` returns the plugin's opaque context, or NULL after setting `create_error()`.
 */
#ifndef SYNTH_PLUGIN_H
#define SYNTH_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any change that old hosts or old plugins cannot read. Appending a field to the end
 * of a struct is not such a change: it is announced by struct_size instead. */
#define SYNTH_PLUGIN_ABI_VERSION 1u
#define SYNTH_PLUGIN_ENTRY_SYMBOL "synth_plugin_entry"

typedef int32_t synth_status;
#define SYNTH_OK 0
#define SYNTH_ERROR 1

typedef int32_t synth_kind;
#define SYNTH_KIND_CLASSIFIER 1
#define SYNTH_KIND_SEED_SAMPLER 2
#define SYNTH_KIND_CONSTRAINT 3
#define SYNTH_KIND_TASK 4

typedef int32_t synth_param_type;
#define SYNTH_PARAM_BOOL 1
#define SYNTH_PARAM_INT 2
#define SYNTH_PARAM_DOUBLE 3
#define SYNTH_PARAM_STRING 4
#define SYNTH_PARAM_PATH 5
/* OR-ed with one of the above: a list of that type, passed as (items, count). */
#define SYNTH_PARAM_LIST 0x100

/* A declared parameter. `default_json` is the default as JSON text ("0.5", "true", "\"a\"",
 * "[1, 2]") or NULL when the spec must give the value. For numbers (and each element of a
 * number list) `minimum`/`maximum` bound the value when `has_minimum`/`has_maximum` are set.
 * `choices` is NULL or a NULL-terminated list of the allowed strings. */
typedef struct synth_param_decl {
    const char *name;
    synth_param_type type;
    const char *default_json;
    int32_t has_minimum;
    int32_t has_maximum;
    double minimum;
    double maximum;
    const char *doc;
    const char *const *choices;
} synth_param_decl;

/* A dense float32 tensor, NCHW, in a buffer the caller owns. rank <= 4; unused dims are 1. */
typedef struct synth_tensor {
    float *data;
    int32_t rank;
    int64_t shape[4];
} synth_tensor;

/* ---- classifier -------------------------------------------------------------------------- */

typedef struct synth_classifier_info {
    int64_t channels, height, width; /* input shape of one example */
    int64_t num_classes;
} synth_classifier_info;

typedef struct synth_classifier_iface {
    uint32_t struct_size;
    synth_status (*info)(void *context, synth_classifier_info *out);
    /* x: [n, C, H, W] in [0, 1]; logits: [n, K]. Input normalisation is the classifier's. */
    synth_status (*forward)(void *context, const synth_tensor *x, synth_tensor *logits);
    /* Vector-Jacobian product of the most recent forward: dlogits [n, K] -> dx [n, C, H, W]. */
    synth_status (*input_gradient)(void *context, const synth_tensor *dlogits, synth_tensor *dx);
    /* Human name of a class, or NULL to use the host's table (ImageNet when K == 1000). */
    const char *(*class_name)(void *context, int64_t index);
    const char *(*last_error)(void *context);
    void (*destroy)(void *context);
} synth_classifier_iface;

/* ---- seed sampler -------------------------------------------------------------------------- */

typedef struct synth_seed_request {
    int64_t n;               /* number of seeds */
    const int64_t *classes;  /* [n] class index of each seed (class-conditional samplers) */
    const uint64_t *seeds;   /* [n] one random seed per sample: results never depend on batching */
    const int64_t *items;    /* [n] item index for finite sources (dataset images), else NULL */
} synth_seed_request;

typedef struct synth_seed_sampler_iface {
    uint32_t struct_size;
    /* Fill out [n, C, H, W] (the classifier's input shape) with values in [0, 1]. When
     * `labels` is not NULL, a source that knows the true class of what it returns writes it
     * there ([n]); others write -1. */
    synth_status (*sample)(void *context, const synth_seed_request *request, synth_tensor *out,
                           int64_t *labels);
    /* Number of items of a finite source (a dataset), or -1 for a distribution. */
    int64_t (*item_count)(void *context);
    const char *(*last_error)(void *context);
    void (*destroy)(void *context);
    /* Optional (NULL): the true class of every item of a finite source, labels[item_count],
     * so that tasks can choose items by class before anything is decoded. */
    synth_status (*item_labels)(void *context, int64_t *labels);
} synth_seed_sampler_iface;

/* ---- constraint ---------------------------------------------------------------------------- */

/* What a constraint sees of a batch: current iterate x, starting point x0 and, when the task
 * made one, a mask [n, 1, H, W] (1 inside the region the task rewrites, 0 elsewhere). */
typedef struct synth_batch {
    int64_t n, channels, height, width;
    const float *x0;
    const float *mask; /* may be NULL */
} synth_batch;

typedef struct synth_constraint_iface {
    uint32_t struct_size;
    /* Optional (NULL): add this constraint's penalty to loss[n] and its gradient to dx. */
    synth_status (*penalty)(void *context, const synth_batch *batch, const float *x, float *loss,
                            float *dx);
    /* Optional (NULL): project x in place onto the constraint set. */
    synth_status (*project)(void *context, const synth_batch *batch, float *x);
    const char *(*last_error)(void *context);
    void (*destroy)(void *context);
} synth_constraint_iface;

/* ---- task ---------------------------------------------------------------------------------- */

typedef struct synth_task_setup {
    int64_t num_classes;        /* of the classifier */
    int64_t channels, height, width;
    int64_t source_item_count;  /* the seed source's item_count (-1: a distribution) */
    const int64_t *source_item_labels; /* [source_item_count] true classes, or NULL if unknown */
    void *host;                 /* pass back to the functions below */
    /* A class written as text (index, name, WordNet id) to its index, or -1. */
    int64_t (*resolve_class)(void *host, const char *name);
    /* The closest class name to an unknown one ("did you mean"), or NULL. */
    const char *(*suggest_class)(void *host, const char *name);
    /* The name of class `index` (owned by the host, valid during the run). */
    const char *(*class_name)(void *host, int64_t index);
} synth_task_setup;

#define SYNTH_TARGET_SOURCE_LABEL (-1)

typedef struct synth_task_item {
    int64_t seed_class;   /* class to ask the seed sampler for, or -1 */
    int64_t source_item;  /* item of a finite source, or -1 */
    int64_t target;       /* class the optimisation drives towards; SYNTH_TARGET_SOURCE_LABEL:
                             the true class of the source item */
    int64_t group;        /* row of the run's grid (e.g. the class) */
} synth_task_item;

typedef struct synth_task_iface {
    uint32_t struct_size;
    /* Decide the work once the classifier and source are known; returns the item count. */
    synth_status (*plan)(void *context, const synth_task_setup *setup, int64_t *count);
    synth_status (*item)(void *context, int64_t index, synth_task_item *out);
    /* Turn seeds [n,C,H,W] into starting points x0 [n,C,H,W] (e.g. cut a patch, down- and
     * up-sample). The host zero-fills mask [n,1,H,W]; a task that rewrites a region marks it
     * with 1 there. `seeds` are the per-sample random seeds. */
    synth_status (*prepare)(void *context, const int64_t *items, const uint64_t *seeds,
                            const synth_tensor *source, synth_tensor *x0, synth_tensor *mask);
    /* Names of the constraint plugins this task needs, NULL-terminated (may be NULL). */
    const char *const *(*required_constraints)(void *context);
    /* Defaults for the optimiser when the spec gives none (Table 1 of the paper). */
    synth_status (*defaults)(void *context, int64_t *steps, double *step_size);
    const char *(*last_error)(void *context);
    void (*destroy)(void *context);
} synth_task_iface;

/* ---- descriptor ---------------------------------------------------------------------------- */

typedef struct synth_plugin_descriptor {
    uint32_t abi_version; /* SYNTH_PLUGIN_ABI_VERSION the plugin was built against */
    uint32_t struct_size; /* sizeof(synth_plugin_descriptor) as the plugin knows it */
    synth_kind kind;
    const char *name;     /* unique, e.g. "uniform" */
    const char *version;  /* the plugin's own version, e.g. "1.0.0" */
    const char *summary;  /* one line for `rsynth plugins` */
    const synth_param_decl *params;
    int32_t param_count;
    /* void *create(<typed parameters>); see the top of this file. */
    void (*create)(void);
    /* Message of the last failed create on this thread (owned by the plugin). */
    const char *(*create_error)(void);
    /* synth_classifier_iface / synth_seed_sampler_iface / synth_constraint_iface /
     * synth_task_iface, according to kind. */
    const void *iface;
} synth_plugin_descriptor;

typedef const synth_plugin_descriptor *(*synth_plugin_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* SYNTH_PLUGIN_H */
