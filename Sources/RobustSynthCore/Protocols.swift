/// The four kinds of piece a pipeline is composed of. Plugins implement them (in Swift through
/// the SDK, in C through synth_plugin.h); the host wraps every loaded plugin back into one of
/// these protocols, so the rest of the host sees only Swift.

public enum PluginKind: String, Sendable, CaseIterable {
    case classifier
    case seedSampler = "seed-sampler"
    case constraint
    case task
}

/// What a plugin says about itself.
public struct PluginInfo: Sendable {
    public var name: String
    public var kind: PluginKind
    public var version: String
    public var summary: String
    public var parameters: [ParameterDecl]
    /// What validation needs without creating an instance; nil where the plugin states none
    /// (plugins built for ABI 1).
    public var facts: PluginFacts?

    public init(name: String, kind: PluginKind, version: String, summary: String, parameters: [ParameterDecl],
                facts: PluginFacts? = PluginFacts()) {
        self.name = name; self.kind = kind; self.version = version
        self.summary = summary; self.parameters = parameters; self.facts = facts
    }
}

/// A plugin's static facts (synth_plugin_facts): known before any instance exists.
public struct PluginFacts: Sendable, Equatable {
    /// task: the constraint plugins it needs.
    public var requiredConstraints: [String]
    /// task: optimiser defaults (nil: the host's, 60 steps of 1).
    public var defaultSteps: Int?
    public var defaultStepSize: Double?
    /// classifier: the taps it may offer (names or fnmatch patterns); task: the taps it always reads.
    public var taps: [String]
    /// task: the string parameter whose value names a tap it reads.
    public var tapParameter: String?
    /// constraint: the step it pairs with.
    public var stepGeometry: StepGeometry
    /// task: its items' targets are not classes.
    public var targetsAreNotClasses: Bool

    public init(requiredConstraints: [String] = [], defaultSteps: Int? = nil, defaultStepSize: Double? = nil,
                taps: [String] = [], tapParameter: String? = nil, stepGeometry: StepGeometry = .none,
                targetsAreNotClasses: Bool = false) {
        self.requiredConstraints = requiredConstraints; self.defaultSteps = defaultSteps
        self.defaultStepSize = defaultStepSize; self.taps = taps; self.tapParameter = tapParameter
        self.stepGeometry = stepGeometry; self.targetsAreNotClasses = targetsAreNotClasses
    }
}

/// The host's services as a plugin sees them (synth_host_services); set by the SDK when the
/// host hands them over, no-ops before that (and in tests that use plugins' code directly).
public enum HostServices {
    nonisolated(unsafe) public static var logHandler: ((String, Bool) -> Void)?
    nonisolated(unsafe) public static var progressHandler: ((Double, String) -> Void)?
    nonisolated(unsafe) public static var cancelledHandler: (() -> Bool)?

    /// One line for the user; `warning` marks it as such.
    public static func log(_ message: String, warning: Bool = false) { logHandler?(message, warning) }
    /// Progress of a long piece of work, fraction in [0, 1].
    public static func progress(_ fraction: Double, _ what: String) { progressHandler?(fraction, what) }
    /// Whether the user asked the run to stop.
    public static var isCancelled: Bool { cancelledHandler?() ?? false }
}

/// Shape of one example: channels, height, width.
public struct ImageShape: Equatable, Sendable, CustomStringConvertible {
    public var channels: Int, height: Int, width: Int
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels; self.height = height; self.width = width
    }
    public var count: Int { channels * height * width }
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// A named intermediate output of a classifier ("tap") and the shape of one example of it:
/// [C, H, W] for a feature map (`layer3`, `layer3.2`), [F] for a vector (`representation`).
public struct TapInfo: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public init(name: String, shape: [Int]) { self.name = name; self.shape = shape }
}

/// A differentiable image classifier. Inputs are in [0, 1]; normalisation is inside.
public protocol Classifier: AnyObject {
    var inputShape: ImageShape { get }
    var numClasses: Int { get }
    /// The class's name, or nil to use the host's table (ImageNet when there are 1000).
    func className(_ index: Int) -> String?
    /// x: [n, C, H, W] -> logits [n, K].
    func forward(_ x: Tensor) throws -> Tensor
    /// Vector-Jacobian product of the most recent forward: dlogits [n, K] -> dx [n, C, H, W].
    func inputGradient(_ dlogits: Tensor) throws -> Tensor
    /// The taps this classifier offers (none by default).
    var taps: [TapInfo] { get }
    /// x -> logits and the taps named, in that order, each [n] + its shape.
    func forward(_ x: Tensor, taps: [String]) throws -> (logits: Tensor, taps: [Tensor])
    /// VJP of the most recent forward in one backward pass: dlogits and, aligned with the taps
    /// that forward returned, each tap's gradient (nil: zero) -> dx [n, C, H, W].
    func inputGradient(_ dlogits: Tensor, tapGradients: [Tensor?]) throws -> Tensor
}

extension Classifier {
    public var taps: [TapInfo] { [] }

    public func forward(_ x: Tensor, taps names: [String]) throws -> (logits: Tensor, taps: [Tensor]) {
        if let name = names.first { throw PluginError(Self.unknownTapMessage(name, offered: taps)) }
        return (try forward(x), [])
    }

    public func inputGradient(_ dlogits: Tensor, tapGradients: [Tensor?]) throws -> Tensor {
        guard tapGradients.allSatisfy({ $0 == nil }) else {
            throw PluginError("gradients for \(tapGradients.count) taps given, but this classifier offers none")
        }
        return try inputGradient(dlogits)
    }

    /// "no tap 'layer9' (did you mean 'layer1'?); it offers layer1, layer2, ...". A model with
    /// many taps (every module of a ViT through the `pytorch` plugin) lists its first
    /// `unknownTapListLimit` (24) and the count, so the error stays one readable line.
    public static func unknownTapMessage(_ name: String, offered: [TapInfo]) -> String {
        if offered.isEmpty { return "no tap '\(name)': this classifier offers no taps" }
        var message = "no tap '\(name)'"
        let names = offered.map(\.name)
        if let near = closestMatch(to: name, in: names) { message += " (did you mean '\(near)'?)" }
        if names.count <= unknownTapListLimit { return message + "; it offers " + names.joined(separator: ", ") }
        return message + "; it offers \(names.count) taps: " + names.prefix(unknownTapListLimit).joined(separator: ", ") + ", ..."
    }
}

/// How many tap names an unknown-tap error lists before it gives only their count.
let unknownTapListLimit = 24

public struct SeedRequest: Sendable {
    /// Class of each seed (class-conditional samplers).
    public var classes: [Int]
    /// One random seed per sample.
    public var seeds: [UInt64]
    /// Item index per sample, for finite sources (datasets); nil for distributions.
    public var items: [Int]?
    public init(classes: [Int], seeds: [UInt64], items: [Int]? = nil) {
        self.classes = classes; self.seeds = seeds; self.items = items
    }
    public var count: Int { seeds.count }
}

/// Where optimisation starts: a distribution per class, or a finite source of real images.
public protocol SeedSampler: AnyObject {
    /// Number of items of a finite source, nil for a distribution.
    var itemCount: Int? { get }
    /// The true class of every item of a finite source, where known.
    var itemLabels: [Int]? { get }
    /// Fills [n, C, H, W] with values in [0, 1]; labels are the true classes where known.
    func sample(_ request: SeedRequest, shape: ImageShape) throws -> (images: Tensor, labels: [Int]?)
}

extension SeedSampler {
    /// A distribution: no items, no labels.
    public var itemCount: Int? { nil }
    public var itemLabels: [Int]? { nil }
}

/// What a constraint sees of a batch besides the current iterate.
public struct ConstraintBatch: Sendable {
    public var x0: Tensor
    /// [n, 1, H, W]: 1 inside the region the task rewrites, 0 elsewhere; nil when none.
    public var mask: Tensor?
    public init(x0: Tensor, mask: Tensor?) { self.x0 = x0; self.mask = mask }
}

/// A term of the loss (penalty), a projection applied after every step, and the step geometry
/// that pairs with it (as the robustness library pairs L2Step, LinfStep and UnconstrainedStep
/// with their projections).
public protocol Constraint: AnyObject {
    var hasPenalty: Bool { get }
    var hasProjection: Bool { get }
    /// Adds the per-example penalty to `loss` and its gradient with respect to x to `gradient`.
    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws
    /// Projects x in place onto the constraint set.
    func project(_ batch: ConstraintBatch, x: inout Tensor) throws
    /// The step this constraint pairs with; `.none` for penalties and projections that fit any.
    var stepGeometry: StepGeometry { get }
    /// The descent step, in place (default: the geometry's step, `StepGeometry.apply`).
    func step(_ batch: ConstraintBatch, x: inout Tensor, gradient: Tensor, stepSize: Double) throws
    /// Whether `randomStart` does anything.
    var hasRandomStart: Bool { get }
    /// Perturbs x (= x0 on entry) in place, drawing from one seed per sample (`RandomStart`).
    func randomStart(_ batch: ConstraintBatch, x: inout Tensor, seeds: [UInt64], stepSize: Double) throws
}

extension Constraint {
    public var stepGeometry: StepGeometry { .none }
    public func step(_ batch: ConstraintBatch, x: inout Tensor, gradient: Tensor, stepSize: Double) throws {
        stepGeometry.apply(&x, gradient: gradient, stepSize: stepSize)
    }
    public var hasRandomStart: Bool { false }
    public func randomStart(_ batch: ConstraintBatch, x: inout Tensor, seeds: [UInt64], stepSize: Double) throws {}
}

public struct TaskSetup: Sendable {
    public var numClasses: Int
    public var inputShape: ImageShape
    /// The seed source's item count (nil for a distribution).
    public var sourceItemCount: Int?
    /// True class of every source item, where the source knows them.
    public var sourceItemLabels: [Int]?
    /// A class written as text (index, name, WordNet id) to its index.
    public var resolveClass: @Sendable (String) -> Int?
    /// The closest class name to an unknown one, for "did you mean".
    public var suggestClass: @Sendable (String) -> String?
    public var className: @Sendable (Int) -> String
    /// The classifier's taps (empty where it offers none, or under an ABI 1 host).
    public var taps: [TapInfo]
    public init(numClasses: Int, inputShape: ImageShape, sourceItemCount: Int?, sourceItemLabels: [Int]? = nil,
                resolveClass: @escaping @Sendable (String) -> Int?,
                suggestClass: @escaping @Sendable (String) -> String?,
                className: @escaping @Sendable (Int) -> String, taps: [TapInfo] = []) {
        self.numClasses = numClasses; self.inputShape = inputShape; self.sourceItemCount = sourceItemCount
        self.sourceItemLabels = sourceItemLabels
        self.resolveClass = resolveClass; self.suggestClass = suggestClass; self.className = className
        self.taps = taps
    }

    /// The tap `name` of the classifier, or "no tap 'x'; it offers ...".
    public func requireTap(_ name: String) throws -> TapInfo {
        guard let t = taps.first(where: { $0.name == name }) else {
            throw PluginError(taps.isEmpty ? "reads tap '\(name)', but the classifier offers no taps"
                                           : "no tap '\(name)' in the classifier; it offers " + taps.map(\.name).joined(separator: ", "))
        }
        return t
    }

    /// The source's item count, for tasks that start from real images; throws where the seed
    /// source is a distribution.
    public func requireSourceItems() throws -> Int {
        guard let n = sourceItemCount else {
            throw PluginError("needs real images: use a finite seed source such as dataset-image")
        }
        return n
    }

    /// Resolves `text` or throws "unknown class 'x' (did you mean 'y'?)".
    public func requireClass(_ text: String) throws -> Int {
        if let i = resolveClass(text) { return i }
        if let s = suggestClass(text) { throw PluginError("unknown class '\(text)' (did you mean '\(s)'?)") }
        throw PluginError("unknown class '\(text)'")
    }
}

/// One sample of a run.
public struct TaskItem: Equatable, Sendable {
    /// Class to draw a seed of, or nil.
    public var seedClass: Int?
    /// Item of a finite source, or nil.
    public var sourceItem: Int?
    /// Class the optimisation drives towards, or `TaskItem.sourceLabel`: the true class of the
    /// source item (known once it is loaded).
    public var target: Int
    /// Row of the run's grid.
    public var group: Int
    public static let sourceLabel = -1
    /// The target of an item whose objective is not a class (feature visualisation, inversion).
    public static let noTarget = -2

    public init(seedClass: Int?, sourceItem: Int?, target: Int, group: Int) {
        self.seedClass = seedClass; self.sourceItem = sourceItem; self.target = target; self.group = group
    }
}

/// A synthesis task: decides the samples, turns seeds into starting points, names the
/// constraints it needs. (The design calls this protocol `Task`; Swift's concurrency library
/// owns that name.)
public protocol SynthesisTask: AnyObject {
    func plan(_ setup: TaskSetup) throws -> [TaskItem]
    /// seeds/source: [n, C, H, W] -> x0 [n, C, H, W] and optionally a mask [n, 1, H, W].
    func prepare(items: [Int], seeds: [UInt64], source: Tensor) throws -> (x0: Tensor, mask: Tensor?)
    var requiredConstraints: [String] { get }
    var defaultSteps: Int { get }
    var defaultStepSize: Double { get }
    /// The classifier taps the objective reads, in the order `ObjectiveInput.taps` holds them.
    var taps: [String] { get }
    /// What is minimised per sample (default: cross-entropy to each item's target). The
    /// constraints' penalties are added afterwards by the optimiser.
    func objective(_ input: ObjectiveInput) throws -> ObjectiveOutput
}

extension SynthesisTask {
    public var taps: [String] { [] }
    public func objective(_ input: ObjectiveInput) throws -> ObjectiveOutput {
        try Objectives.crossEntropy(input)
    }
}

/// An error a plugin reports; the host adds the plugin's name.
public struct PluginError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A classifier that only loads and configures another one (the ResNet plugins): everything is
/// passed to `base`; `className` may still be given.
public protocol ForwardingClassifier: Classifier {
    var base: Classifier { get }
}

extension ForwardingClassifier {
    public var inputShape: ImageShape { base.inputShape }
    public var numClasses: Int { base.numClasses }
    public func className(_ index: Int) -> String? { base.className(index) }
    public func forward(_ x: Tensor) throws -> Tensor { try base.forward(x) }
    public func inputGradient(_ dlogits: Tensor) throws -> Tensor { try base.inputGradient(dlogits) }
    public var taps: [TapInfo] { base.taps }
    public func forward(_ x: Tensor, taps names: [String]) throws -> (logits: Tensor, taps: [Tensor]) {
        try base.forward(x, taps: names)
    }
    public func inputGradient(_ dlogits: Tensor, tapGradients: [Tensor?]) throws -> Tensor {
        try base.inputGradient(dlogits, tapGradients: tapGradients)
    }
}
