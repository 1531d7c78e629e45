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

    public init(name: String, kind: PluginKind, version: String, summary: String, parameters: [ParameterDecl]) {
        self.name = name; self.kind = kind; self.version = version
        self.summary = summary; self.parameters = parameters
    }
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
}

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

/// A term of the loss (penalty) and/or a projection applied after every step.
public protocol Constraint: AnyObject {
    var hasPenalty: Bool { get }
    var hasProjection: Bool { get }
    /// Adds the per-example penalty to `loss` and its gradient with respect to x to `gradient`.
    func penalty(_ batch: ConstraintBatch, x: Tensor, loss: inout [Float], gradient: inout Tensor) throws
    /// Projects x in place onto the constraint set.
    func project(_ batch: ConstraintBatch, x: inout Tensor) throws
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
    public init(numClasses: Int, inputShape: ImageShape, sourceItemCount: Int?, sourceItemLabels: [Int]? = nil,
                resolveClass: @escaping @Sendable (String) -> Int?,
                suggestClass: @escaping @Sendable (String) -> String?,
                className: @escaping @Sendable (Int) -> String) {
        self.numClasses = numClasses; self.inputShape = inputShape; self.sourceItemCount = sourceItemCount
        self.sourceItemLabels = sourceItemLabels
        self.resolveClass = resolveClass; self.suggestClass = suggestClass; self.className = className
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
}
