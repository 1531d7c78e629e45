/* An ABI 2 task for the host's tests: every create appends a line to the file named by
 * $RSYNTH_TEST_CREATE_LOG (so a test can prove `rsynth validate` creates no instance), plan
 * logs through the host services, and its facts state a required constraint and defaults.
 * Generation of `count` samples of class 0 by cross-entropy (no objective of its own). */
#include <stdio.h>
#include <stdlib.h>

#include "synth_plugin.h"

static const synth_host_services *services;

typedef struct { int64_t count; char error[64]; } task;

static void *counting_create(int64_t count) {
    const char *log = getenv("RSYNTH_TEST_CREATE_LOG");
    if (log) {
        FILE *f = fopen(log, "a");
        if (f) { fprintf(f, "created\n"); fclose(f); }
    }
    task *t = calloc(1, sizeof *t);
    if (t) t->count = count;
    return t;
}
static const char *counting_create_error(void) { return "out of memory"; }

static synth_status counting_plan(void *c, const synth_task_setup *setup, int64_t *count) {
    task *t = c;
    (void)setup;
    if (services && services->struct_size >= sizeof *services) {
        char line[64];
        snprintf(line, sizeof line, "planned %lld items", (long long)t->count);
        services->log(services->host, SYNTH_LOG_INFO, line);
    }
    *count = t->count;
    return SYNTH_OK;
}
static synth_status counting_item(void *c, int64_t index, synth_task_item *out) {
    (void)c;
    out->seed_class = 0; out->source_item = -1; out->target = 0; out->group = 0;
    return index >= 0 ? SYNTH_OK : SYNTH_ERROR;
}
static synth_status counting_prepare(void *c, const int64_t *items, const uint64_t *seeds, const synth_tensor *source,
                                     synth_tensor *x0, synth_tensor *mask) {
    (void)c; (void)items; (void)seeds; (void)mask;
    int64_t n = 1;
    for (int i = 0; i < source->rank; i++) n *= source->shape[i];
    for (int64_t i = 0; i < n; i++) x0->data[i] = source->data[i];
    return SYNTH_OK;
}
static const char *counting_last_error(void *c) { return ((task *)c)->error; }
static void counting_destroy(void *c) { free(c); }
static void counting_set_host_services(const synth_host_services *s) { services = s; }

static const synth_param_decl params[] = {
    {"count", SYNTH_PARAM_INT, "2", 1, 1, 1, 1000, "Samples", NULL},
};
static const synth_task_iface iface = {
    .struct_size = sizeof iface, .plan = counting_plan, .item = counting_item, .prepare = counting_prepare,
    .last_error = counting_last_error, .destroy = counting_destroy,
};
static const char *const required[] = {"l2-ball", NULL};
static const synth_plugin_facts facts = {
    .struct_size = sizeof facts, .required_constraints = required, .default_steps = 3, .default_step_size = 0.25,
};
static const synth_plugin_descriptor descriptor = {
    .abi_version = SYNTH_PLUGIN_ABI_VERSION, .struct_size = sizeof descriptor, .kind = SYNTH_KIND_TASK,
    .name = "counting-task", .version = "1.0.0", .summary = "Logs its creations (host tests)", .params = params,
    .param_count = 1, .create = (void (*)(void))counting_create, .create_error = counting_create_error,
    .iface = &iface, .facts = &facts, .set_host_services = counting_set_host_services,
};
const synth_plugin_descriptor *synth_plugin_entry(uint32_t host) { (void)host; return &descriptor; }
