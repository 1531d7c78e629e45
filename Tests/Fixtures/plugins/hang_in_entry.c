/* A library whose synth_plugin_entry never returns (a sleep loop). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <time.h>

const void *synth_plugin_entry(uint32_t host) {
    (void)host;
    struct timespec t = {1, 0};
    for (;;) nanosleep(&t, 0);
    return 0;
}
