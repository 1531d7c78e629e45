import SynthPluginABI

/// The version of rsynth, written here and nowhere else: run manifests record it, `rsynth
/// --version` prints it, and scripts/install.sh and scripts/make-deb.sh read it from the built
/// `rsynth --version`.
public let rsynthVersion = "0.1.0"

/// What `rsynth --version` prints: the version, then the plugin ABI this host was built with and
/// the oldest it still loads (SYNTH_PLUGIN_ABI_VERSION and SYNTH_PLUGIN_ABI_MIN_VERSION of
/// synth_plugin.h).
public var rsynthVersionDescription: String {
    "rsynth \(rsynthVersion)\nplugin ABI \(SYNTH_PLUGIN_ABI_VERSION) (loads plugins built for ABI \(SYNTH_PLUGIN_ABI_MIN_VERSION) to \(SYNTH_PLUGIN_ABI_VERSION))"
}
