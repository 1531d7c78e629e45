#include "ffi_bridge.h"

#include <ffi.h>
#include <stdlib.h>

static ffi_type *type_of(int32_t kind) {
    switch (kind) {
    case RS_FFI_SINT32: return &ffi_type_sint32;
    case RS_FFI_SINT64: return &ffi_type_sint64;
    case RS_FFI_DOUBLE: return &ffi_type_double;
    default: return &ffi_type_pointer;
    }
}

static ffi_type **types_of(const int32_t *kinds, int32_t n) {
    ffi_type **types = calloc(n > 0 ? (size_t)n : 1, sizeof(ffi_type *));
    if (!types) return NULL;
    for (int32_t i = 0; i < n; i++) types[i] = type_of(kinds[i]);
    return types;
}

int rs_ffi_call_pointer(void (*fn)(void), const int32_t *arg_kinds, int32_t nargs, void **arg_values,
                        void **result) {
    ffi_cif cif;
    ffi_type **types = types_of(arg_kinds, nargs);
    if (!types) return 1;
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)nargs, &ffi_type_pointer, types) != FFI_OK) {
        free(types);
        return 1;
    }
    ffi_arg ret = 0;
    ffi_call(&cif, fn, &ret, arg_values);
    *result = (void *)(uintptr_t)ret;
    free(types);
    return 0;
}

typedef struct closure_data {
    ffi_cif cif;
    ffi_type **types;
    rs_ffi_handler handler;
    void *user_data;
} closure_data;

static void trampoline(ffi_cif *cif, void *ret, void **args, void *user) {
    (void)cif;
    closure_data *data = user;
    *(void **)ret = data->handler(data->user_data, args);
}

void (*rs_ffi_make_closure(const int32_t *arg_kinds, int32_t nargs, rs_ffi_handler handler,
                           void *user_data))(void) {
    closure_data *data = calloc(1, sizeof *data);
    if (!data) return NULL;
    data->types = types_of(arg_kinds, nargs);
    data->handler = handler;
    data->user_data = user_data;
    if (!data->types ||
        ffi_prep_cif(&data->cif, FFI_DEFAULT_ABI, (unsigned)nargs, &ffi_type_pointer, data->types) != FFI_OK) {
        free(data->types);
        free(data);
        return NULL;
    }
    void *code = NULL;
    ffi_closure *closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
    if (!closure) return NULL;
    if (ffi_prep_closure_loc(closure, &data->cif, trampoline, data, code) != FFI_OK) return NULL;
    return (void (*)(void))code;
}
