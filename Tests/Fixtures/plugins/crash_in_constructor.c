/* A library whose static constructor writes through a NULL pointer: it crashes inside dlopen,
 * before any entry could be called. */
#include <stdint.h>

/* NULL, through a volatile pointer so that no compiler can prove it and drop the store. */
int *volatile crash_target = 0;

__attribute__((constructor)) void crash_on_load(void) { *crash_target = 1; }

const void *synth_plugin_entry(uint32_t host) { (void)host; return 0; }
