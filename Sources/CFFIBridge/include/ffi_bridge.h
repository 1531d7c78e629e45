// A narrow bridge to libffi: call a C function whose argument types are known only at run
// time, and make a C function pointer with such a signature that forwards to a handler.
// Swift never touches ffi_type globals (Swift 6 rejects them as shared mutable state).
#ifndef FFI_BRIDGE_H
#define FFI_BRIDGE_H

#include <stdint.h>

#define RS_FFI_POINTER 0
#define RS_FFI_SINT32 1
#define RS_FFI_SINT64 2
#define RS_FFI_DOUBLE 3

// Calls fn(args...) -> void *. arg_values[i] points at a value of kind arg_kinds[i].
// Returns 0 on success, nonzero when libffi rejects the signature.
int rs_ffi_call_pointer(void (*fn)(void), const int32_t *arg_kinds, int32_t nargs, void **arg_values,
                        void **result);

// A handler receives the user data and a pointer to each argument, and returns the result.
typedef void *(*rs_ffi_handler)(void *user_data, void **args);

// Makes a function with signature void *(args of arg_kinds...) that calls handler(user_data,
// args). The closure lives forever (plugins are never unloaded). NULL on failure.
void (*rs_ffi_make_closure(const int32_t *arg_kinds, int32_t nargs, rs_ffi_handler handler,
                           void *user_data))(void);

#endif
