import Checkpoints
import Foundation
import ResNetKernels
import RobustSynthCore

public struct ResNetError: Error, CustomStringConvertible, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A ResNet classifier in inference mode: forward to logits and the vector-Jacobian product back
/// to the [0,1] input pixels. Normalisation (x - mean)/std is inside.
public final class ResNet: Classifier {
    /// oneDNN only: the number format of weights, activations and gradients inside the net. The
    /// input, the logits and the input gradient are float32 either way.
    public enum Precision: String, Sendable, CaseIterable {
        case float32
        /// About twice as fast on CPUs with AVX512-BF16; gradients about 3% (relative L2) from float32
        /// (measured in Sources/ResNetEngine/README.md). Made for PGD, where a step's direction
        /// matters, not its last digits.
        case bfloat16
    }

    public let weights: ResNetWeights
    public let mean: [Float], std: [Float]
    public let inputSize: Int
    public let backend: Backend
    /// oneDNN only: Winograd (jit_wino_4x3) for the 3x3 stride-1 convolutions; nil = automatic:
    /// on for batches of 8 or more, where it measured faster (see Sources/ResNetEngine/README.md).
    public let winograd: Bool?
    public let precision: Precision
    public var inputShape: ImageShape {
        ImageShape(channels: weights.architecture.inputChannels, height: inputSize, width: inputSize)
    }
    public var numClasses: Int { weights.architecture.numClasses }
    public var architecture: ResNetArchitecture { weights.architecture }
    public func className(_ index: Int) -> String? { nil }

    /// The backend's context (ResNetBackends): primitives, buffers, the last forward's tape.
    private let engine: ResNetBackendContext
    private var lastBatch: Int?
    /// The sites the most recent forward was asked for, in the order asked (tap gradients align with it).
    private var lastTaps: [TapSite] = []
    private let tapTable: TapTable

    /// A ResNet on one of the registry's backends (`ResNetBackends.all`).
    public convenience init(weights: ResNetWeights, mean: [Float], std: [Float], inputSize: Int, backend: Backend = .onednn,
                            winograd: Bool? = nil, precision: Precision = .float32) throws
    {
        try self.init(weights: weights, mean: mean, std: std, inputSize: inputSize,
                      backend: ResNetBackends.entry(backend.rawValue)!, winograd: winograd, precision: precision)
    }

    /// A ResNet on the backend `entry` makes, in the registry or not (a backend of one's own).
    public init(weights: ResNetWeights, mean: [Float], std: [Float], inputSize: Int, backend entry: ResNetBackendEntry,
                winograd: Bool? = nil, precision: Precision = .float32) throws
    {
        let C = weights.architecture.inputChannels
        guard mean.count == C, std.count == C else {
            throw ResNetError("mean and std need \(C) values each (got \(mean.count) and \(std.count))")
        }
        guard std.allSatisfy({ $0 != 0 }) else { throw ResNetError("std must not contain zeros: \(std)") }
        let minSize = weights.architecture.stem == "imagenet" ? 4 : 1
        guard inputSize >= minSize else { throw ResNetError("input size \(inputSize) is too small") }
        self.weights = weights; self.mean = mean; self.std = std; self.inputSize = inputSize
        self.backend = Backend(registered: entry.name); self.winograd = winograd; self.precision = precision
        tapTable = TapTable(weights: weights, inputSize: inputSize)
        guard entry.precisions.contains(precision) else {
            throw ResNetError("the \(entry.name) backend computes in \(entry.precisions.map(\.rawValue).joined(separator: " or ")) only (asked for \(precision.rawValue))")
        }
        engine = try entry.make(ResNetBackendConfig(weights: weights, mean: mean, std: std, inputSize: inputSize,
                                                    winograd: winograd, precision: precision))
    }

    private func check(_ x: Tensor) throws {
        let s = inputShape
        guard x.shape.count == 4, x.shape[1] == s.channels, x.shape[2] == s.height, x.shape[3] == s.width,
              x.batch > 0 else {
            throw ResNetError("expected input [n, \(s.channels), \(s.height), \(s.width)], got \(x.shape)")
        }
    }

    /// x[n,C,H,W] in [0,1] -> logits[n,K]
    public func forward(_ x: Tensor) throws -> Tensor {
        try forward(x, taps: []).logits
    }

    /// dlogits[n,K] -> dx[n,C,H,W], the VJP of the most recent forward (its taps' gradients zero).
    public func inputGradient(_ dlogits: Tensor) throws -> Tensor {
        try inputGradient(dlogits, tapGradients: [Tensor?](repeating: nil, count: lastTaps.count))
    }

    /// Every tap this net offers, in forward order, with its per-example shape: each block
    /// `layerS.I` (torchvision's names; its output after the final ReLU) [C, H, W], after a stage's
    /// last block the stage `layerS` (the same tensor) [C, H, W], then `representation` (the pooled
    /// vector that feeds fc) [F].
    public var tapShapes: [(name: String, shape: [Int])] { tapTable.entries.map { ($0.name, $0.shape) } }

    /// x[n,C,H,W] -> logits [n,K] and, in the order asked, each tap's value [n] + shape. Unknown name: throws ResNetError("no tap 'x' in this ResNet; it has layer1 ... layer4, layer1.0 ... layer4.2, representation") (list them compactly).
    public func forward(_ x: Tensor, taps: [String]) throws -> (logits: Tensor, taps: [Tensor]) {
        let sites = try taps.map { try tapTable.site($0).site }
        try check(x)
        lastBatch = x.batch
        lastTaps = []
        let (logits, values) = try engine.forward(x, sites: sites)
        lastTaps = sites
        return (logits, values)
    }

    /// VJP of the most recent forward: dlogits [n,K] and, aligned with the taps that forward was asked for, each tap's gradient ([n]+shape) or nil (zero) -> dx [n,C,H,W].
    public func inputGradient(_ dlogits: Tensor, tapGradients: [Tensor?]) throws -> Tensor {
        guard let n = lastBatch else { throw ResNetError("inputGradient called before forward") }
        guard dlogits.shape == [n, numClasses] else {
            throw ResNetError("expected dlogits [\(n), \(numClasses)] (the last forward's batch), got \(dlogits.shape)")
        }
        guard tapGradients.count == lastTaps.count else {
            throw ResNetError("\(tapGradients.count) tap gradient(s) for the last forward's \(lastTaps.count) tap(s)")
        }
        // One gradient per site: a name asked twice (or a stage and its last block) adds up.
        var grads = [TapSite: [Float]]()
        for (i, (site, g)) in zip(lastTaps, tapGradients).enumerated() {
            guard let g else { continue }
            let shape = [n] + shapeOf(site)
            guard g.shape == shape else {
                throw ResNetError("tap gradient \(i) (\(name(of: site))): expected \(shape), got \(g.shape)")
            }
            if let a = grads[site] { grads[site] = zip(a, g.data).map { $0 + $1 } } else { grads[site] = g.data }
        }
        return try engine.inputGradient(dlogits, batch: n, sites: lastTaps, tapGradients: grads)
    }

    private func shapeOf(_ site: TapSite) -> [Int] { tapTable.entries.first { $0.site == site }!.shape }
    private func name(of site: TapSite) -> String { tapTable.entries.first { $0.site == site }!.name }

    /// The ReLU and max-pool decisions of the most recent forward, for tests that run the
    /// reference backward through exactly the same ones.
    func lastDecisions() throws -> ForwardDecisions {
        guard let n = lastBatch else { throw ResNetError("lastDecisions: no forward yet") }
        return try engine.decisions(batch: n, sites: lastTaps)
    }

    /// Bytes the backend holds for the current batch size (0 before the first forward).
    public var engineBytes: Int { engine.bytes }

    /// Which implementation runs each layer (oneDNN: forward / backward-data); empty before a forward.
    public var implementationInfo: String { engine.implementationInfo }
}

extension ResNet {
    /// What this CPU (as oneDNN sees it, after ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA) offers bfloat16.
    public enum BFloat16Kernels: Int, Sendable {
        /// Below AVX-512: oneDNN has no bfloat16 convolutions; .bfloat16 is refused.
        case none = 0
        /// AVX-512 core: fast kernels for layers whose channel counts are multiples of 16.
        case avx512 = 1
        /// AMX: fast kernels for small channel counts (8) too.
        case amx = 2
    }

    /// The instruction set oneDNN uses here, by oneDNN's name (e.g. "avx2"), and its bfloat16 kernels.
    public static var cpuISA: (name: String, bfloat16: BFloat16Kernels) {
        var name = [CChar](repeating: 0, count: 64)
        let level = rk_cpu_isa(&name, name.count)
        return (String(cString: name), BFloat16Kernels(rawValue: Int(level)) ?? .none)
    }
}

extension ResNet {
    /// ResNet-50-shaped random weights (torchvision layout, 1000 classes): the benchmark's model.
    public static func randomWeights(depth: Int = 50, numClasses: Int = 1000, seed: UInt64 = 0) throws -> ResNetWeights {
        guard let (block, blocks) = ResNetArchitecture.torchvision[depth] else { throw ResNetError("no torchvision ResNet of depth \(depth)") }
        return try ResNetWeights.random(block: block, blocksPerStage: blocks, numClasses: numClasses, seed: seed)
    }

    /// The torchvision constructors' names `randomWeights(arch:)` knows.
    public static let randomArchitectures = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                                             "wide_resnet50_2", "wide_resnet50_4", "wide_resnet101_2",
                                             "resnext50_32x4d", "resnext101_32x8d"]

    /// Random weights in the shape of torchvision's constructor `arch` (e.g. "wide_resnet50_2",
    /// "resnext50_32x4d", "resnet50"; see `randomArchitectures`), torchvision layout.
    public static func randomWeights(arch: String, numClasses: Int = 1000, seed: UInt64 = 0) throws -> ResNetWeights {
        if arch.hasPrefix("resnet"), let d = Int(arch.dropFirst(6)), ResNetArchitecture.torchvision[d] != nil {
            return try randomWeights(depth: d, numClasses: numClasses, seed: seed)
        }
        // wide_resnet<d>_<k>: base width 64k; resnext<d>_<g>x<b>d: groups g, base width b.
        var depth = 0, groups = 1, perGroup = 64
        let parts = arch.split(separator: "_")
        if arch.hasPrefix("wide_resnet"), parts.count == 3, let d = Int(parts[1].dropFirst(6)), let k = Int(parts[2]), k > 0 {
            depth = d; perGroup = 64 * k
        } else if arch.hasPrefix("resnext"), parts.count == 2, let d = Int(parts[0].dropFirst(7)),
                  parts[1].hasSuffix("d"), case let gb = parts[1].dropLast().split(separator: "x"), gb.count == 2,
                  let g = Int(gb[0]), let b = Int(gb[1]), g > 0, b > 0 {
            depth = d; groups = g; perGroup = b * g
        }
        guard let (block, blocks) = ResNetArchitecture.torchvision[depth], block == "bottleneck" else {
            throw ResNetError("no torchvision ResNet '\(arch)': expected one of \(randomArchitectures.joined(separator: ", "))")
        }
        return try ResNetWeights.random(block: block, blocksPerStage: blocks, widths: (0..<4).map { perGroup << $0 },
                                        numClasses: numClasses, seed: seed, groups: groups,
                                        outputs: (0..<4).map { 256 << $0 }, stemWidth: 64)
    }
}

extension ResNet {
    /// ImageNet's normalisation (torchvision's standard models).
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    /// Loads a checkpoint (torch zip, MadryLab legacy, safetensors) and builds the classifier.
    /// Normalisation: `mean`/`std` if given, else the checkpoint's MadryLab normaliser, else
    /// ImageNet's (3-channel models only).
    public static func load(_ path: String, inputSize: Int = 224, mean: [Float]? = nil, std: [Float]? = nil,
                            layout: ResNetLayout? = nil, backend: Backend = .onednn,
                            precision: Precision = .float32) throws -> ResNet
    {
        let w = try ResNetFile.weights(path, layout: layout)
        let fallback: (mean: [Float], std: [Float])? = w.architecture.inputChannels == 3 ? (imageNetMean, imageNetStd) : nil
        guard let m = mean ?? w.normalizer?.mean ?? fallback?.mean, let s = std ?? w.normalizer?.std ?? fallback?.std else {
            throw ResNetError("\(path): \(w.architecture.inputChannels) input channels and no normaliser: pass mean and std")
        }
        return try ResNet(weights: w, mean: m, std: s, inputSize: inputSize, backend: backend, precision: precision)
    }
}
