/* A plugin built against a future ABI version (99): the host must refuse it with both
 * versions named, and go on with the others. */
#include <stdint.h>

struct future_descriptor { uint32_t abi_version; uint32_t struct_size; char rest[256]; };
static const struct future_descriptor descriptor = {99, sizeof(struct future_descriptor), {0}};

const void *synth_plugin_entry(uint32_t host) { (void)host; return &descriptor; }
