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
 * Versions: this header is ABI 2. Every struct of ABI 1 is a prefix of its ABI 2 form, so the
 * host loads plugins of ABI 1 and 2 (SYNTH_PLUGIN_ABI_MIN_VERSION .. SYNTH_PLUGIN_ABI_VERSION):
 * it copies min(the plugin's struct_size, its own) bytes of every struct into a zeroed one, and a
 * field the plugin did not know reads as NULL / 0, which always means "absent, do as ABI 1 did".
 * A plugin built against this header may likewise meet a struct from the host that is shorter
 * or longer than its own: read only the first `struct_size` bytes of anything the host hands over.
 *
 * Rules of the boundary (why: Swift has no stable ABI on Linux, C does):
 * - Structs only ever grow at the end; `struct_size` tells the other side which fields exist.
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
 *   Strings and lists passed to `create` stay valid, unchanged, until the instance's `destroy`
 *   (ABI 2; under ABI 1 they lived only for the call, so an ABI 1 plugin copies them anyway).
 */
#ifndef SYNTH_PLUGIN_H
#define SYNTH_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any change that old hosts or old plugins cannot read. Appending a field to the end
 * of a struct is not such a change: it is announced by struct_size instead. ABI 2 appended
 * taps, objectives, step geometries, static facts and host services to ABI 1's structs. */
#define SYNTH_PLUGIN_ABI_VERSION 2u
/* The oldest plugin ABI this host still loads (its structs are prefixes of this header's). */
#define SYNTH_PLUGIN_ABI_MIN_VERSION 1u
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

/* ---- host services (ABI 2) ------------------------------------------------------------------ */

typedef int32_t synth_log_level;
#define SYNTH_LOG_INFO 0
#define SYNTH_LOG_WARNING 1

/* What the host offers every plugin: handed to the library once, through the descriptor's
 * `set_host_services`, right after loading and before any create; valid until the process
 * ends, callable from any instance and from create. Pass `host` back as the first argument. */
typedef struct synth_host_services {
    uint32_t struct_size;
    void *host;
    /* One line for the user (the host prefixes the plugin's name). */
    void (*log)(void *host, synth_log_level level, const char *message);
    /* Progress of a long piece of work inside the plugin (fitting, decoding a data set):
     * `fraction` in [0, 1], `what` a short label ("fitting seeds"). */
    void (*progress)(void *host, double fraction, const char *what);
    /* Non-zero once the user asked the run to stop (Ctrl-C): finish early, return an error. */
    int32_t (*cancelled)(void *host);
} synth_host_services;

/* ---- static facts (ABI 2) ------------------------------------------------------------------- */

/* Step geometries: the descent step a constraint pairs with (the robustness library's
 * attacker steps '2', 'inf' and 'unconstrained'); see synth_constraint_iface.step. */
typedef int32_t synth_step_geometry;
#define SYNTH_STEP_NONE 0           /* a penalty or projection only: pairs with any step */
#define SYNTH_STEP_L2 1             /* x - alpha * g / (||g||_2 + 1e-10) per example */
#define SYNTH_STEP_LINF 2           /* x - alpha * sign(g) */
#define SYNTH_STEP_UNCONSTRAINED 3  /* x - alpha * g */

/* What the host needs to know about a plugin before creating it, so that `rsynth validate`
 * never instantiates one. All fields optional (NULL / 0 = not stated). */
typedef struct synth_plugin_facts {
    uint32_t struct_size;
    /* task: names of the constraint plugins it needs, NULL-terminated. */
    const char *const *required_constraints;
    /* task: optimiser defaults when the spec gives none (0: the host's, 60 steps of 1). */
    int64_t default_steps;
    double default_step_size;
    /* classifier: the taps it may offer, NULL-terminated; each a name or an fnmatch(3) pattern
     * ("layer*.*"); the instance's tap_info says exactly which it has.
     * task: the taps it always reads, NULL-terminated. */
    const char *const *taps;
    /* task: the name of one of its string parameters whose value is a tap it reads (NULL: none). */
    const char *tap_parameter;
    /* constraint: the step it pairs with (SYNTH_STEP_*). At most one constraint of a pipeline
     * may state a step; with none, the host takes the L2 step (as ABI 1 always did). */
    synth_step_geometry step_geometry;
    /* task: non-zero when the targets of its items are not classes (SYNTH_TARGET_NONE). */
    int32_t targets_are_not_classes;
} synth_plugin_facts;

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
    /* ---- ABI 2: taps, named intermediate outputs. All four NULL: the classifier has none. ---- */
    /* Number of taps this instance offers. */
    int32_t (*tap_count)(void *context);
    /* Tap `index` (0 <= index < tap_count): its name (owned by the plugin, valid until destroy)
     * and the shape of one example in `shape` (rank and shape[]; data is left NULL): [C, H, W]
     * for a feature map, [F] for a vector such as `representation`. */
    synth_status (*tap_info)(void *context, int32_t index, const char **name, synth_tensor *shape);
    /* forward, also writing the taps named in names[ntaps] into taps[ntaps], each [n, <shape>]
     * in a buffer the host allocated. An unknown name is an error. */
    synth_status (*forward_taps)(void *context, const synth_tensor *x, synth_tensor *logits, int32_t ntaps,
                                 const char *const *names, synth_tensor *taps);
    /* The VJP of the most recent forward_taps, in one backward pass: dlogits [n, K] and one
     * gradient per tap of that call (dtaps[i].data NULL: zero) -> dx [n, C, H, W]. */
    synth_status (*input_gradient_taps)(void *context, const synth_tensor *dlogits, int32_t ntaps,
                                        const synth_tensor *dtaps, synth_tensor *dx);
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
    /* ---- ABI 2: the constraint owns its geometry ---- */
    /* Optional (NULL): the descent step of this geometry, in place, per example:
     * x[n,C,H,W] <- step(x, g, step_size), g[n,C,H,W] the gradient of each example's own loss.
     * Called only for the one constraint whose facts state a step geometry. */
    synth_status (*step)(void *context, const synth_batch *batch, float *x, const float *g, double step_size);
    /* Optional (NULL): the random start (optimizer.random_start): x[n,C,H,W] holds x0 on entry;
     * perturb it in place, drawing from seeds[n] (one per sample; step_size is the optimiser's,
     * which the unconstrained start uses). The host clamps to [0, 1] afterwards. */
    synth_status (*random_start)(void *context, const synth_batch *batch, const uint64_t *seeds, double step_size,
                                 float *x);
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
    /* ABI 2: the classifier's taps, so that plan() can check a unit or a channel against them:
     * tap_names[tap_count] and the shape of one example of each (tap_shapes[i].data NULL).
     * Valid for the instance's lifetime. Check struct_size before reading (ABI 1 hosts lack it). */
    uint32_t struct_size;
    int32_t tap_count;
    const char *const *tap_names;
    const synth_tensor *tap_shapes;
} synth_task_setup;

#define SYNTH_TARGET_SOURCE_LABEL (-1)
/* ABI 2: an item whose objective is not a class (feature visualisation, inversion). */
#define SYNTH_TARGET_NONE (-2)

typedef struct synth_task_item {
    int64_t seed_class;   /* class to ask the seed sampler for, or -1 */
    int64_t source_item;  /* item of a finite source, or -1 */
    int64_t target;       /* class the optimisation drives towards; SYNTH_TARGET_SOURCE_LABEL:
                             the true class of the source item */
    int64_t group;        /* row of the run's grid (e.g. the class) */
} synth_task_item;

typedef struct synth_objective_input synth_objective_input;
typedef struct synth_objective_output synth_objective_output;

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
    /* ---- ABI 2: objectives ---- */
    /* Optional (NULL: none): the taps the objective reads, NULL-terminated, valid until destroy;
     * may depend on the parameters. The host asks the classifier for them at every step. */
    const char *const *(*taps)(void *context);
    /* Optional (NULL: cross-entropy of the logits to each item's target, as ABI 1): what is
     * minimised, per sample. The constraints' penalties are added by the host afterwards. */
    synth_status (*objective)(void *context, const synth_objective_input *in,
                              const synth_objective_output *out);
} synth_task_iface;

/* What an objective sees of a batch of n samples at the current iterate x.
 *   items[n]        the task's item index of each sample (as in item())
 *   targets[n]      each item's target class, or SYNTH_TARGET_NONE
 *   x               [n, C, H, W] the iterate; mask [n, 1, H, W] from prepare() or NULL
 *   logits          [n, K]
 *   taps[ntaps]     each [n, <tap shape>], in the order of the task's taps()
 *   source_taps     the same taps of the source images (what the seed sampler gave, before
 *                   prepare), computed once per batch: e.g. the target of an inversion */
struct synth_objective_input {
    uint32_t struct_size;
    int64_t n;
    const int64_t *items;
    const int64_t *targets;
    const synth_tensor *x;
    const float *mask;
    const synth_tensor *logits;
    int32_t ntaps;
    const synth_tensor *taps;
    const synth_tensor *source_taps;
};

/* Where the objective writes, all in host buffers zeroed before the call:
 *   loss[n]          each sample's loss (lower is better)
 *   dlogits [n, K]   d loss / d logits
 *   dtaps[ntaps]     d loss / d tap, each [n, <tap shape>]
 *   dx [n, C, H, W]  any direct d loss / d x (terms of the pixels themselves), else leave 0 */
struct synth_objective_output {
    uint32_t struct_size;
    float *loss;
    synth_tensor *dlogits;
    synth_tensor *dtaps;
    synth_tensor *dx;
};

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
    /* ---- ABI 2 ---- */
    /* Optional (NULL): what validation needs without creating an instance. */
    const synth_plugin_facts *facts;
    /* Optional (NULL): receives the host's services once, before any create. */
    void (*set_host_services)(const synth_host_services *services);
} synth_plugin_descriptor;

typedef const synth_plugin_descriptor *(*synth_plugin_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* SYNTH_PLUGIN_H */
