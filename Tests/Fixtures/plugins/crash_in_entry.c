/* A library whose synth_plugin_entry writes through a NULL pointer (SIGSEGV): the host must
 * report it and go on with the other plugins. */
#include <stdint.h>

/* NULL, through a volatile pointer so that no compiler can prove it and drop the store. */
int *volatile crash_target = 0;

const void *synth_plugin_entry(uint32_t host) {
    *crash_target = (int)host;
    return 0;
}
