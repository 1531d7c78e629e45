import RobustSynthCore

/// A validated pipeline spec: every plugin found and of the right kind, every parameter typed
/// and in range. Built only by SpecValidator.
public struct PipelineSpec {
    public struct PluginUse {
        public let plugin: LoadedPlugin
        public let values: ParameterValues
        /// Values exactly as the spec gave them (for the manifest).
        public let given: [String: ParameterValue]
    }

    public struct Optimizer: Equatable {
        /// nil: the task's default (the paper's Table 1).
        public var steps: Int?
        public var stepSize: Double?
        public var useBest: Bool = true
        public var randomStart: Bool = false
        public var batchSize: Int = 8
        public var seed: UInt64 = 0
        /// Early stopping (`stop: { probability: P }` and/or `{ patience: N, min_delta: D }`); nil: every sample runs all steps.
        public var stop: StopRule?
        /// The step rule and step-size schedule (StepRules.swift); the defaults are the paper's step.
        public var rule: StepRule = .plain
        public var schedule: StepSchedule = .constant
    }

    public let path: String
    /// The spec's text, kept for the manifest and for comparing runs.
    public let text: String
    public let classifier: PluginUse
    public let seed: PluginUse
    public let task: PluginUse
    public let constraints: [PluginUse]
    public let optimizer: Optimizer
    /// Output folder as written (relative to the working directory), nil when not given.
    public let outputDirectory: String?
    /// The k-NN judge's image folder (resolved) and k, when the spec asks for one.
    public let judge: (dataset: String, k: Int)?
}

/// The keys a spec may have, for validation and for the JSON Schema.
enum SpecKeys {
    static let top = ["version", "classifier", "seed", "task", "constraints", "optimizer", "output", "judge"]
    static let required = ["version", "classifier", "seed", "task"]
    static let pluginUse = ["plugin", "with"]
}
