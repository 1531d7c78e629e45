/*
 * pytorch: a classifier plugin that runs any PyTorch model through PyTorch itself (eager mode),
 * by embedding the CPython of the user's environment.
 *
 * The library has no link-time dependency on Python: `create` asks the interpreter named by the
 * `python` parameter (default `python3` on PATH; a virtual environment's directory works too)
 * where its libpython is, in a child process (`python -c <helper> probe`), dlopens that library
 * with RTLD_GLOBAL (so torch's extension modules find the Python symbols), looks up the dozen
 * CPython functions below with dlsym and starts the interpreter with that environment's
 * sys.path. Without Python or torch the library still loads, is listed by `rsynth plugins`,
 * and `rsynth plugins describe pytorch` says "torch not found in <interpreter>".
 *
 * The Python side is python/rsynth_pytorch.py, compiled into this library with #embed; it
 * builds the model from the spec's factory ("package.module:callable" or "file.py:callable"),
 * loads the state dict (torch.load(weights_only=True)), and computes logits and the input
 * gradient by autograd, reading and writing the host's float32 buffers in place.
 *
 * THIS PLUGIN RUNS THE PYTHON CODE THE SPEC NAMES (the factory and whatever it imports), unlike
 * the native classifiers, whose checkpoint readers never run code.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pytorch_plugin.h"

extern char **environ;

#pragma clang diagnostic ignored "-Wc23-extensions"
static const char helper_source[] = {
#embed "python/rsynth_pytorch.py"
    , 0};
#define HELPER_NAME "rsynth_pytorch"
#define HELPER_FILE "rsynth_pytorch.py (embedded in the pytorch plugin)"

/* ---- the CPython functions used, found with dlsym (no Python headers needed) ----------------- */

typedef struct _object PyObject;
static struct {
    void (*Py_InitializeEx)(int);
    int (*Py_IsInitialized)(void);
    void *(*PyEval_SaveThread)(void);
    int (*PyGILState_Ensure)(void);
    void (*PyGILState_Release)(int);
    PyObject *(*Py_CompileString)(const char *, const char *, int);
    PyObject *(*PyImport_ExecCodeModuleEx)(const char *, PyObject *, const char *);
    PyObject *(*PyObject_CallMethod)(PyObject *, const char *, const char *, ...);
    PyObject *(*PyObject_GetAttrString)(PyObject *, const char *);
    const char *(*PyUnicode_AsUTF8)(PyObject *);
    long long (*PyLong_AsLongLong)(PyObject *);
    void (*Py_DecRef)(PyObject *);
    PyObject *(*PyErr_Occurred)(void);
    void (*PyErr_Fetch)(PyObject **, PyObject **, PyObject **);
    void (*PyErr_Clear)(void);
    PyObject *(*PyObject_Str)(PyObject *);
} py;
#define Py_file_input 257

/* ---- small helpers -------------------------------------------------------------------------- */

static char *format(const char *fmt, ...) {
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (s) vsnprintf(s, (size_t)n + 1, fmt, aq);
    va_end(aq);
    return s;
}

/* ---- probing an interpreter in a child process ------------------------------------------------ */

typedef struct probe_result {
    char *executable, *version, *libpython, *home, *paths, *torch, *torch_at;
    char *failure; /* set when the interpreter could not be asked */
} probe_result;

static void probe_free(probe_result *p) {
    free(p->executable); free(p->version); free(p->libpython); free(p->home); free(p->paths);
    free(p->torch); free(p->torch_at); free(p->failure);
    memset(p, 0, sizeof *p);
}

/* `python` as given: a command on PATH, an interpreter's path, or a virtual environment's folder. */
static char *interpreter_command(const char *python) {
    if (!python || !*python) python = "python3";
    struct stat st;
    if (strchr(python, '/') && stat(python, &st) == 0 && S_ISDIR(st.st_mode)) {
        const char *names[] = {"bin/python", "bin/python3", "Scripts/python.exe"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            char *candidate = format("%s/%s", python, names[i]);
            if (candidate && access(candidate, X_OK) == 0) return candidate;
            free(candidate);
        }
    }
    return strdup(python);
}

static char *line_value(const char *text, const char *key, int all) {
    size_t klen = strlen(key), cap = 0, len = 0;
    char *out = NULL;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t vn = n - klen - 1;
            if (len + vn + 2 > cap) {
                cap = (len + vn + 2) * 2;
                char *grown = realloc(out, cap);
                if (!grown) { free(out); return NULL; }
                out = grown;
            }
            if (len) out[len++] = '\n';
            memcpy(out + len, line + klen + 1, vn);
            len += vn;
            out[len] = 0;
            if (!all) return out;
        }
        line = end ? end + 1 : NULL;
    }
    return out;
}

static void probe(const char *python, double timeout_s, probe_result *r) {
    memset(r, 0, sizeof *r);
    char *command = interpreter_command(python);
    int fds[2];
    if (!command || pipe2(fds, O_CLOEXEC) != 0) {
        r->failure = format("cannot run %s: %s", python, strerror(errno));
        free(command);
        return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    char *argv[] = {command, "-c", (char *)helper_source, "probe", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, command, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        r->failure = format("cannot run the interpreter '%s': %s", command, strerror(rc));
        close(fds[0]);
        free(command);
        return;
    }
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int timed_out = 0;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = timeout_s - ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9);
        if (left <= 0) { timed_out = 1; break; }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int ready = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        if (len + 1024 > cap) {
            char *grown = out ? realloc(out, cap * 2) : NULL;
            if (!grown) break;
            out = grown;
            cap *= 2;
        }
        ssize_t got = read(fds[0], out + len, cap - len - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!out) { r->failure = format("out of memory"); free(command); return; }
    out[len] = 0;
    if (timed_out) {
        r->failure = format("the interpreter '%s' did not answer within %.0f s", command, timeout_s);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(out, "executable=")) {
        while (len && (out[len - 1] == '\n' || out[len - 1] == ' ')) out[--len] = 0;
        const char *tail = len > 600 ? out + len - 600 : out;
        r->failure = WIFEXITED(status) && WEXITSTATUS(status) == 127
                         ? format("cannot run the interpreter '%s': not found", command)
                         : format("the interpreter '%s' failed (%s %d): %s", command,
                                  WIFEXITED(status) ? "exit status" : "signal",
                                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
    } else {
        r->executable = line_value(out, "executable", 0);
        r->version = line_value(out, "version", 0);
        r->libpython = line_value(out, "libpython", 0);
        r->home = line_value(out, "home", 0);
        r->paths = line_value(out, "path", 1);
        r->torch = line_value(out, "torch", 0);
        r->torch_at = line_value(out, "torch_at", 0);
        if (!r->executable || !*r->executable) { free(r->executable); r->executable = strdup(command); }
    }
    free(out);
    free(command);
}

/* ---- the embedded interpreter (one per process) ---------------------------------------------- */

static pthread_mutex_t python_lock = PTHREAD_MUTEX_INITIALIZER;
static char *embedded_executable; /* the interpreter whose environment is embedded */
static PyObject *helper;          /* the rsynth_pytorch module */

/* The current Python exception as text (clears it). */
static char *python_error(const char *what) {
    if (!py.PyErr_Occurred || !py.PyErr_Occurred()) return format("%s failed", what);
    PyObject *type = NULL, *value = NULL, *tb = NULL;
    char *message = NULL;
    if (py.PyErr_Fetch) {
        py.PyErr_Fetch(&type, &value, &tb);
        PyObject *text = value ? py.PyObject_Str(value) : NULL;
        const char *s = text ? py.PyUnicode_AsUTF8(text) : NULL;
        message = format("%s failed: %s", what, s ? s : "a Python error");
        if (text) py.Py_DecRef(text);
        if (type) py.Py_DecRef(type);
        if (value) py.Py_DecRef(value);
        if (tb) py.Py_DecRef(tb);
    }
    if (py.PyErr_Occurred()) py.PyErr_Clear();
    return message ? message : format("%s failed", what);
}

/* Load libpython and start it, once; NULL on success, else a message. Caller holds python_lock. */
static char *start_python(const probe_result *p) {
    if (helper) {
        if (strcmp(embedded_executable, p->executable) != 0)
            return format("this process already runs the Python of %s; one process embeds one interpreter, so "
                          "every pytorch classifier of a run must name the same `python`", embedded_executable);
        return NULL;
    }
    if (!p->libpython || !*p->libpython)
        return format("%s (Python %s) has no shared libpython to embed (the interpreter is linked statically); "
                      "install its shared library (Debian: apt-get install libpython%.4s) or name another "
                      "interpreter with `python:`", p->executable, p->version ? p->version : "?",
                      p->version ? p->version : "3");
    void *lib = dlopen(p->libpython, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) return format("cannot load %s (the libpython of %s): %s", p->libpython, p->executable, dlerror());
#define FIND(name, required)                                                                           \
    do {                                                                                               \
        *(void **)&py.name = dlsym(lib, #name);                                                        \
        if (!py.name && (required)) return format("%s lacks the function %s", p->libpython, #name);   \
    } while (0)
    FIND(Py_InitializeEx, 1); FIND(Py_IsInitialized, 1); FIND(PyEval_SaveThread, 1);
    FIND(PyGILState_Ensure, 1); FIND(PyGILState_Release, 1); FIND(Py_CompileString, 1);
    FIND(PyImport_ExecCodeModuleEx, 1); FIND(PyObject_CallMethod, 1); FIND(PyObject_GetAttrString, 1);
    FIND(PyUnicode_AsUTF8, 1); FIND(PyLong_AsLongLong, 1); FIND(Py_DecRef, 1); FIND(PyErr_Occurred, 1);
    FIND(PyErr_Fetch, 0); FIND(PyErr_Clear, 1); FIND(PyObject_Str, 1);
#undef FIND
    int gil = -1;
    const char *old_home = getenv("PYTHONHOME");
    char *saved_home = old_home ? strdup(old_home) : NULL;
    if (py.Py_IsInitialized()) {
        gil = py.PyGILState_Ensure(); /* someone else started it: use theirs */
    } else {
        /* PYTHONHOME only for the start, so that the stdlib is the interpreter's own. No signal
         * handlers (0): Ctrl-C stays the host's. */
        if (p->home && *p->home) setenv("PYTHONHOME", p->home, 1);
        py.Py_InitializeEx(0);
        if (saved_home) setenv("PYTHONHOME", saved_home, 1); else unsetenv("PYTHONHOME");
    }
    char *error = NULL;
    PyObject *code = py.Py_CompileString(helper_source, HELPER_FILE, Py_file_input);
    PyObject *module = code ? py.PyImport_ExecCodeModuleEx(HELPER_NAME, code, HELPER_FILE) : NULL;
    if (code) py.Py_DecRef(code);
    if (!module) {
        error = python_error("loading " HELPER_FILE);
    } else {
        /* os.environ was read during the start: give it the host's PYTHONHOME back too. */
        PyObject *r = py.PyObject_CallMethod(module, "set_path", "ssz", p->paths ? p->paths : "", p->executable, saved_home);
        if (!r) error = python_error("setting sys.path");
        else py.Py_DecRef(r);
    }
    if (!error) {
        helper = module;
        embedded_executable = strdup(p->executable);
    } else if (module) {
        py.Py_DecRef(module);
    }
    free(saved_home);
    if (gil >= 0) py.PyGILState_Release(gil);
    else py.PyEval_SaveThread(); /* the start left this thread holding the GIL: let it go */
    return error;
}

/* ---- the classifier ------------------------------------------------------------------------- */

typedef struct instance {
    PyObject *model;
    int64_t channels, size, classes;
    char **class_names;
    int64_t class_count;
    char *error;
    /* The model's taps (Model.tap_list: named modules and `representation`), read at create. */
    int32_t tap_count;
    char **tap_names;
    synth_tensor *tap_shapes;
} instance;

/* Parses Model.tap_list()'s "name<TAB>d1,d2\n" lines into the instance; 0, or -1 if malformed. */
static int read_taps(instance *c, const char *text) {
    int32_t lines = 0;
    for (const char *q = text; *q; q++) lines += *q == '\n';
    c->tap_names = calloc((size_t)lines + 1, sizeof *c->tap_names);
    c->tap_shapes = calloc((size_t)lines + 1, sizeof *c->tap_shapes);
    if (!c->tap_names || !c->tap_shapes) return -1;
    const char *q = text;
    while (*q) {
        const char *tab = strchr(q, '\t'), *end = strchr(q, '\n');
        if (!tab || !end || tab > end) return -1;
        synth_tensor *shape = &c->tap_shapes[c->tap_count];
        const char *d = tab + 1;
        while (d < end) {
            char *next;
            long long v = strtoll(d, &next, 10);
            if (next == d || v <= 0 || shape->rank == 4) return -1;
            shape->shape[shape->rank++] = v;
            d = *next == ',' ? next + 1 : next;
        }
        if (shape->rank == 0 || (c->tap_names[c->tap_count] = strndup(q, (size_t)(tab - q))) == NULL) return -1;
        c->tap_count++;
        q = end + 1;
    }
    return 0;
}

static _Thread_local char *create_error_text;

static void set_create_error(char *message) {
    free(create_error_text);
    create_error_text = message;
}

static void set_error(instance *c, char *message) {
    free(c->error);
    c->error = message;
}

static const char *const device_choices[] = {"auto", "cpu", "cuda", NULL};
static const char *const precision_choices[] = {"float32", "bfloat16", NULL};

static void *pytorch_create(const char *model, const char *kwargs, const char *weights, const char *python,
                            const char *device, const char *precision, int64_t input_size, int64_t channels,
                            const double *mean, int64_t mean_count, const double *std, int64_t std_count,
                            const char *const *classes, int64_t class_count) {
    probe_result p;
    probe(python, 60, &p);
    if (p.failure) {
        set_create_error(format("%s; set `python:` to an interpreter or virtual environment with torch", p.failure));
        probe_free(&p);
        return NULL;
    }
    if (!p.torch) {
        set_create_error(format("torch not found in %s (Python %s); install it there (%s -m pip install torch "
                                "torchvision) or set `python:` to an interpreter or virtual environment that has it",
                                p.executable, p.version ? p.version : "?", p.executable));
        probe_free(&p);
        return NULL;
    }
    pthread_mutex_lock(&python_lock);
    char *error = start_python(&p);
    if (error) {
        pthread_mutex_unlock(&python_lock);
        set_create_error(error);
        probe_free(&p);
        return NULL;
    }
    int gil = py.PyGILState_Ensure();
    PyObject *m = py.PyObject_CallMethod(helper, "open_model", "ssssssLLKLKLL", p.executable, model, kwargs ? kwargs : "",
                               weights ? weights : "", device, precision, (long long)input_size, (long long)channels,
                               (unsigned long long)(uintptr_t)mean, (long long)mean_count,
                               (unsigned long long)(uintptr_t)std, (long long)std_count, (long long)class_count);
    instance *c = NULL;
    if (!m) {
        error = python_error("building the model");
    } else {
        PyObject *e = py.PyObject_GetAttrString(m, "error");
        const char *text = e ? py.PyUnicode_AsUTF8(e) : NULL;
        if (!text) error = python_error("reading the model's state");
        else if (*text) error = strdup(text);
        if (e) py.Py_DecRef(e);
        if (!error) {
            PyObject *k = py.PyObject_GetAttrString(m, "num_classes");
            long long classes_found = k ? py.PyLong_AsLongLong(k) : -1;
            if (k) py.Py_DecRef(k);
            c = calloc(1, sizeof *c);
            if (!c || classes_found <= 0) {
                error = classes_found <= 0 ? python_error("reading the number of classes") : strdup("out of memory");
                free(c);
                c = NULL;
            } else {
                c->model = m;
                PyObject *list = py.PyObject_CallMethod(m, "tap_list", NULL);
                const char *text = list ? py.PyUnicode_AsUTF8(list) : NULL;
                if (!text || read_taps(c, text) != 0) error = text ? strdup("the model's tap list is malformed") : python_error("listing the taps");
                if (list) py.Py_DecRef(list);
                c->channels = channels;
                c->size = input_size;
                c->classes = classes_found;
                if (class_count > 0) {
                    c->class_names = calloc((size_t)class_count, sizeof *c->class_names);
                    for (int64_t i = 0; c->class_names && i < class_count; i++) c->class_names[i] = strdup(classes[i]);
                    c->class_count = class_count;
                }
            }
        }
        if (c && error) { /* the taps could not be read */
            for (int32_t i = 0; i < c->tap_count; i++) free(c->tap_names[i]);
            free(c->tap_names);
            free(c->tap_shapes);
            for (int64_t i = 0; c->class_names && i < c->class_count; i++) free(c->class_names[i]);
            free(c->class_names);
            free(c);
            c = NULL;
        }
        if (!c) py.Py_DecRef(m);
    }
    py.PyGILState_Release(gil);
    pthread_mutex_unlock(&python_lock);
    probe_free(&p);
    if (!c) set_create_error(error ? error : strdup("building the model failed"));
    else free(error);
    return c;
}

static const char *pytorch_create_error(void) { return create_error_text ? create_error_text : ""; }

static synth_status pytorch_info(void *context, synth_classifier_info *out) {
    instance *c = context;
    out->channels = c->channels;
    out->height = c->size;
    out->width = c->size;
    out->num_classes = c->classes;
    return SYNTH_OK;
}

/* Calls a method of the model that returns "" or a message. */
static synth_status call(instance *c, PyObject *result, const char *what) {
    synth_status status = SYNTH_OK;
    if (!result) {
        set_error(c, python_error(what));
        return SYNTH_ERROR;
    }
    const char *text = py.PyUnicode_AsUTF8(result);
    if (!text) {
        set_error(c, python_error(what));
        status = SYNTH_ERROR;
    } else if (*text) {
        set_error(c, strdup(text));
        status = SYNTH_ERROR;
    }
    py.Py_DecRef(result);
    return status;
}

static synth_status pytorch_forward(void *context, const synth_tensor *x, synth_tensor *logits) {
    instance *c = context;
    if (x->rank != 4 || logits->shape[1] != c->classes || logits->shape[0] != x->shape[0]) {
        set_error(c, format("forward: x must be [n, %lld, %lld, %lld] and logits [n, %lld]", (long long)c->channels,
                            (long long)c->size, (long long)c->size, (long long)c->classes));
        return SYNTH_ERROR;
    }
    int gil = py.PyGILState_Ensure();
    synth_status s = call(c, py.PyObject_CallMethod(c->model, "forward", "KLLLLK", (unsigned long long)(uintptr_t)x->data,
                                                    (long long)x->shape[0], (long long)x->shape[1], (long long)x->shape[2],
                                                    (long long)x->shape[3], (unsigned long long)(uintptr_t)logits->data),
                          "forward");
    py.PyGILState_Release(gil);
    return s;
}

static synth_status pytorch_input_gradient(void *context, const synth_tensor *dlogits, synth_tensor *dx) {
    instance *c = context;
    if (dx->rank != 4 || dx->shape[0] != dlogits->shape[0] || dx->shape[1] != c->channels || dx->shape[2] != c->size ||
        dx->shape[3] != c->size) {
        set_error(c, format("input_gradient: dx must be [n, %lld, %lld, %lld]", (long long)c->channels, (long long)c->size,
                            (long long)c->size));
        return SYNTH_ERROR;
    }
    int gil = py.PyGILState_Ensure();
    synth_status s = call(c, py.PyObject_CallMethod(c->model, "input_gradient", "KLLK",
                                                    (unsigned long long)(uintptr_t)dlogits->data, (long long)dlogits->shape[0],
                                                    (long long)dlogits->shape[1], (unsigned long long)(uintptr_t)dx->data),
                          "input_gradient");
    py.PyGILState_Release(gil);
    return s;
}

/* "a,b,c": the addresses of tensors' buffers for the Python side (0 where data is NULL). */
static char *addresses(int32_t n, const synth_tensor *t) {
    size_t size = (size_t)n * 24 + 1, used = 0;
    char *text = malloc(size);
    if (!text) return NULL;
    text[0] = 0;
    for (int32_t i = 0; i < n; i++)
        used += (size_t)snprintf(text + used, size - used, "%s%llu", i ? "," : "", (unsigned long long)(uintptr_t)t[i].data);
    return text;
}

static int32_t pytorch_tap_count(void *context) { return ((instance *)context)->tap_count; }

static synth_status pytorch_tap_info(void *context, int32_t index, const char **name, synth_tensor *shape) {
    instance *c = context;
    if (index < 0 || index >= c->tap_count) {
        set_error(c, format("tap_info: index %d of %d taps", index, c->tap_count));
        return SYNTH_ERROR;
    }
    *name = c->tap_names[index];
    *shape = c->tap_shapes[index];
    shape->data = NULL;
    return SYNTH_OK;
}

/* forward_taps:   x [n, C, H, W] -> logits [n, K], taps[i] [n, <shape of tap names[i]>]. */
static synth_status pytorch_forward_taps(void *context, const synth_tensor *x, synth_tensor *logits, int32_t ntaps,
                                         const char *const *names, synth_tensor *taps) {
    instance *c = context;
    if (ntaps == 0) return pytorch_forward(context, x, logits);
    if (x->rank != 4 || logits->shape[1] != c->classes || logits->shape[0] != x->shape[0]) {
        set_error(c, format("forward_taps: x must be [n, %lld, %lld, %lld] and logits [n, %lld]", (long long)c->channels,
                            (long long)c->size, (long long)c->size, (long long)c->classes));
        return SYNTH_ERROR;
    }
    size_t length = 1;
    for (int32_t i = 0; i < ntaps; i++) length += strlen(names[i]) + 1;
    char *joined = malloc(length), *where = addresses(ntaps, taps);
    if (!joined || !where) {
        free(joined);
        free(where);
        set_error(c, strdup("out of memory"));
        return SYNTH_ERROR;
    }
    joined[0] = 0;
    for (int32_t i = 0; i < ntaps; i++) {
        if (i) strcat(joined, "\n");
        strcat(joined, names[i]);
    }
    int gil = py.PyGILState_Ensure();
    synth_status s = call(c, py.PyObject_CallMethod(c->model, "forward_taps", "KLLLLKss", (unsigned long long)(uintptr_t)x->data,
                                                    (long long)x->shape[0], (long long)x->shape[1], (long long)x->shape[2],
                                                    (long long)x->shape[3], (unsigned long long)(uintptr_t)logits->data,
                                                    joined, where),
                          "forward_taps");
    py.PyGILState_Release(gil);
    free(joined);
    free(where);
    return s;
}

/* input_gradient_taps:   dlogits [n, K], dtaps[i] [n, <tap shape>] (data NULL: zero) -> dx [n, C, H, W]. */
static synth_status pytorch_input_gradient_taps(void *context, const synth_tensor *dlogits, int32_t ntaps,
                                                const synth_tensor *dtaps, synth_tensor *dx) {
    instance *c = context;
    if (dx->rank != 4 || dx->shape[0] != dlogits->shape[0] || dx->shape[1] != c->channels || dx->shape[2] != c->size ||
        dx->shape[3] != c->size) {
        set_error(c, format("input_gradient_taps: dx must be [n, %lld, %lld, %lld]", (long long)c->channels,
                            (long long)c->size, (long long)c->size));
        return SYNTH_ERROR;
    }
    char *where = addresses(ntaps, dtaps);
    if (!where) {
        set_error(c, strdup("out of memory"));
        return SYNTH_ERROR;
    }
    int gil = py.PyGILState_Ensure();
    synth_status s = call(c, py.PyObject_CallMethod(c->model, "input_gradient_taps", "KLLKs",
                                                    (unsigned long long)(uintptr_t)dlogits->data, (long long)dlogits->shape[0],
                                                    (long long)dlogits->shape[1], (unsigned long long)(uintptr_t)dx->data, where),
                          "input_gradient_taps");
    py.PyGILState_Release(gil);
    free(where);
    return s;
}

static const char *pytorch_class_name(void *context, int64_t index) {
    instance *c = context;
    if (!c->class_names || index < 0 || index >= c->class_count) return NULL;
    return c->class_names[index];
}

static const char *pytorch_last_error(void *context) {
    instance *c = context;
    return c->error ? c->error : "";
}

static void pytorch_destroy(void *context) {
    instance *c = context;
    if (!c) return;
    int gil = py.PyGILState_Ensure();
    PyObject *r = py.PyObject_CallMethod(c->model, "close", NULL);
    if (r) py.Py_DecRef(r);
    else py.PyErr_Clear();
    py.Py_DecRef(c->model);
    py.PyGILState_Release(gil);
    for (int64_t i = 0; c->class_names && i < c->class_count; i++) free(c->class_names[i]);
    free(c->class_names);
    for (int32_t i = 0; i < c->tap_count; i++) free(c->tap_names[i]);
    free(c->tap_names);
    free(c->tap_shapes);
    free(c->error);
    free(c);
}

/* ---- the descriptor ------------------------------------------------------------------------- */

static const synth_param_decl params[] = {
    {"model", SYNTH_PARAM_STRING, NULL, 0, 0, 0, 0,
     "The factory that builds the torch.nn.Module: 'package.module:callable' (torchvision.models:resnet50, "
     "robustbench.utils:load_model) or 'path/to/file.py:callable' (relative to the working directory). "
     "Its code runs: name only code you trust",
     NULL},
    {"kwargs", SYNTH_PARAM_STRING, "\"{}\"", 0, 0, 0, 0,
     "Keyword arguments of the factory, a JSON object, e.g. '{\"num_classes\": 10}'", NULL},
    {"weights", SYNTH_PARAM_PATH, "\"\"", 0, 0, 0, 0,
     "Optional state dict loaded after the factory with torch.load(weights_only=True) (a 'state_dict' or 'model' "
     "entry and a 'module.' prefix are unwrapped); empty: the factory's own weights",
     NULL},
    {"python", SYNTH_PARAM_STRING, "\"python3\"", 0, 0, 0, 0,
     "The Python to embed: a command on PATH, an interpreter's path or a virtual environment's folder; its "
     "libpython, sys.path and torch are used",
     NULL},
    {"device", SYNTH_PARAM_STRING, "\"auto\"", 0, 0, 0, 0, "cpu, cuda, or auto (cuda when torch.cuda.is_available())",
     device_choices},
    {"precision", SYNTH_PARAM_STRING, "\"float32\"", 0, 0, 0, 0,
     "float32, or bfloat16 (torch.autocast; logits and gradients are returned as float32)", precision_choices},
    {"input_size", SYNTH_PARAM_INT, "224", 1, 1, 1, 4096, "Input height and width", NULL},
    {"channels", SYNTH_PARAM_INT, "3", 1, 1, 1, 64, "Input channels", NULL},
    {"mean", SYNTH_PARAM_LIST | SYNTH_PARAM_DOUBLE, "[0.485, 0.456, 0.406]", 0, 0, 0, 0,
     "Per-channel mean subtracted from [0,1] inputs before the model (ImageNet's by default; [0] for none)", NULL},
    {"std", SYNTH_PARAM_LIST | SYNTH_PARAM_DOUBLE, "[0.229, 0.224, 0.225]", 1, 0, 1e-6, 0,
     "Per-channel standard deviation inputs are divided by ([1] for none)", NULL},
    {"classes", SYNTH_PARAM_LIST | SYNTH_PARAM_STRING, "[]", 0, 0, 0, 0,
     "Class names, one per output; empty: ImageNet's when the model has 1000 outputs, else the indices", NULL},
};

static const synth_classifier_iface iface = {
    .struct_size = sizeof(synth_classifier_iface),
    .info = pytorch_info,
    .forward = pytorch_forward,
    .input_gradient = pytorch_input_gradient,
    .class_name = pytorch_class_name,
    .last_error = pytorch_last_error,
    .destroy = pytorch_destroy,
    .tap_count = pytorch_tap_count,
    .tap_info = pytorch_tap_info,
    .forward_taps = pytorch_forward_taps,
    .input_gradient_taps = pytorch_input_gradient_taps,
};

/* Any module of the model may be a tap: which ones it has is known once it is built. */
static const char *const any_tap[] = {"*", NULL};
static const synth_plugin_facts facts = {.struct_size = sizeof(synth_plugin_facts), .taps = any_tap};

#define SUMMARY "Any PyTorch model, run by PyTorch itself in the user's Python (CPU or CUDA); runs the factory's code"
static char summary[2048] = SUMMARY;

static synth_plugin_descriptor descriptor = {
    .abi_version = SYNTH_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(synth_plugin_descriptor),
    .kind = SYNTH_KIND_CLASSIFIER,
    .name = "pytorch",
    .version = "1.0.0",
    .summary = summary,
    .params = params,
    .param_count = (int32_t)(sizeof params / sizeof *params),
    .create = (void (*)(void))pytorch_create,
    .create_error = pytorch_create_error,
    .iface = &iface,
    .facts = &facts,
};

/* `rsynth plugins describe pytorch` sets RSYNTH_DESCRIBING=pytorch: only then is the default
 * interpreter asked (a child process, a few tens of milliseconds, torch located, not imported),
 * so listing plugins or running a spec never pays for it. */
static void describe_interpreter(void) {
    probe_result p;
    probe("python3", 8, &p);
    if (p.failure)
        snprintf(summary, sizeof summary, "%s.\ninterpreter: %s", SUMMARY, p.failure);
    else if (!p.torch)
        snprintf(summary, sizeof summary, "%s.\ninterpreter: python3 = %s (Python %s): torch not found in %s", SUMMARY,
                 p.executable, p.version ? p.version : "?", p.executable);
    else
        snprintf(summary, sizeof summary, "%s.\ninterpreter: python3 = %s (Python %s, libpython %s): torch %s (%s)",
                 SUMMARY, p.executable, p.version ? p.version : "?",
                 p.libpython && *p.libpython ? p.libpython : "not found", p.torch, p.torch_at ? p.torch_at : "");
    probe_free(&p);
}

__attribute__((visibility("default"))) const synth_plugin_descriptor *synth_plugin_entry(uint32_t host_abi_version) {
    (void)host_abi_version;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    const char *describing = getenv("RSYNTH_DESCRIBING");
    if (describing && strcmp(describing, "pytorch") == 0) pthread_once(&once, describe_interpreter);
    return &descriptor;
}
