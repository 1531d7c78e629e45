import Foundation

/// The environment variables that change how an engine computes, not what: oneDNN's own switches
/// (ONEDNN_* / DNNL_*, e.g. ONEDNN_MAX_CPU_ISA), the ResNet engine's (RSYNTH_RESNET_*: layout,
/// ReLU masks, the stem's backward) and the thread counts, which change the order of float sums.
/// Two runs of one spec give the same bytes only under the same values, so every run records them.
public enum EngineEnvironment {
    public static let prefixes = ["ONEDNN_", "DNNL_", "RSYNTH_RESNET_"]
    public static let names = ["OMP_NUM_THREADS"]

    /// Those that are set in `environment` (default: this process's), name to value.
    public static func current(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        environment.filter { name, _ in names.contains(name) || prefixes.contains { name.hasPrefix($0) } }
    }
}
