// SwiftPM wants a source file in every C target; the ABI itself is the header.
#include "synth_plugin.h"
