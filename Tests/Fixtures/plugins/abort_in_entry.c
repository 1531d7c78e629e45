/* A library whose synth_plugin_entry calls abort() (SIGABRT). */
#include <stdint.h>
#include <stdlib.h>

const void *synth_plugin_entry(uint32_t host) {
    (void)host;
    abort();
}
