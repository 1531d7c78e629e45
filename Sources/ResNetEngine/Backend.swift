import RobustSynthCore

/// What every engine backend is given: one ResNet's weights and settings. A backend keeps what it
/// needs of it in its own context (the object `ResNetBackendEntry.make` returns).
public struct ResNetBackendConfig {
    public let weights: ResNetWeights
    public let mean: [Float], std: [Float]
    public let inputSize: Int
    /// Winograd for the 3x3 stride-1 convolutions: true/false, nil = the backend decides.
    public let winograd: Bool?
    public let precision: ResNet.Precision
}

/// The interface every backend implements; its instance is the backend's opaque context for one
/// ResNet (primitives, buffers, the tape of the most recent forward). `ResNet` checks shapes and
/// tap names before it calls in, so a backend sees only well-formed requests.
public protocol ResNetBackendContext: AnyObject {
    /// x [n,C,S,S] in [0,1] -> logits [n,K] and, in the order asked, each site's value ([n] + its shape).
    func forward(_ x: Tensor, sites: [TapSite]) throws -> (logits: Tensor, taps: [Tensor])
    /// The VJP of the most recent forward (batch n, which asked for `sites`): dlogits [n,K] and the
    /// gradients of some of those sites (the others zero) -> dx [n,C,S,S].
    func inputGradient(_ dlogits: Tensor, batch n: Int, sites: [TapSite], tapGradients: [TapSite: [Float]]) throws -> Tensor
    /// Bytes the backend holds for the current batch size (0 if it does not say).
    var bytes: Int { get }
    /// Which implementation runs each layer, in words; empty if the backend does not say.
    var implementationInfo: String { get }
    /// The ReLU and max-pool decisions of the most recent forward, for tests that replay them.
    func decisions(batch n: Int, sites: [TapSite]) throws -> ForwardDecisions
}

extension ResNetBackendContext {
    public var bytes: Int { 0 }
    public var implementationInfo: String { "" }
    public func decisions(batch n: Int, sites: [TapSite]) throws -> ForwardDecisions {
        throw ResNetError("this backend does not report its forward's decisions")
    }
}

/// One backend in the registry: its name (the classifier plugins' `backend` parameter), what it
/// is, the precisions it computes in, and how to make its context.
public struct ResNetBackendEntry: Sendable {
    public let name: String
    public let summary: String
    public let precisions: [ResNet.Precision]
    public let make: @Sendable (ResNetBackendConfig) throws -> ResNetBackendContext

    public init(name: String, summary: String, precisions: [ResNet.Precision],
                make: @escaping @Sendable (ResNetBackendConfig) throws -> ResNetBackendContext) {
        self.name = name; self.summary = summary; self.precisions = precisions; self.make = make
    }
}

/// Every backend, in the order `plugins describe` lists them; the first is the default. A new
/// backend (cuDNN, Metal, ...) is a file that defines its context and entry, plus one line here.
public enum ResNetBackends {
    public static let all: [ResNetBackendEntry] = [OneDNNBackend.entry, ReferenceBackend.entry]

    public static func entry(_ name: String) -> ResNetBackendEntry? { all.first { $0.name == name } }
}

extension ResNet {
    /// A backend's name: one of the registry's (`ResNetBackends.all`), or, for a ResNet made with
    /// an entry of its own, that entry's.
    public struct Backend: RawRepresentable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        public let rawValue: String
        /// nil for a name no backend in the registry has.
        public init?(rawValue: String) {
            guard ResNetBackends.entry(rawValue) != nil else { return nil }
            self.rawValue = rawValue
        }
        init(registered name: String) { rawValue = name }

        public static let onednn = Backend(registered: OneDNNBackend.entry.name)
        public static let reference = Backend(registered: ReferenceBackend.entry.name)
        public static var allCases: [Backend] { ResNetBackends.all.map { Backend(registered: $0.name) } }
        public var description: String { rawValue }
    }
}
