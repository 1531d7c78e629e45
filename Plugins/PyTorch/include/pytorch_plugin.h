/* The pytorch classifier plugin exports only the plugin entry (see synth_plugin.h). */
#ifndef RSYNTH_PYTORCH_PLUGIN_H
#define RSYNTH_PYTORCH_PLUGIN_H
#include "synth_plugin.h"
const synth_plugin_descriptor *synth_plugin_entry(uint32_t host_abi_version);
#endif
