import Checkpoints
import Foundation
import RobustSynthCore

/// The shape of a ResNet, inferred from a state dict's keys and shapes.
public struct ResNetArchitecture: Sendable, CustomStringConvertible {
    /// "basic" or "bottleneck".
    public let block: String
    /// 18/34/50/101/152 when the block kind and blocks per stage match torchvision's, else nil.
    public let depth: Int?

    /// torchvision's ResNets: depth -> (block kind, blocks per stage).
    static let torchvision: [Int: (block: String, blocksPerStage: [Int])] = [
        18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]), 50: ("bottleneck", [3, 4, 6, 3]),
        101: ("bottleneck", [3, 4, 23, 3]), 152: ("bottleneck", [3, 8, 36, 3]),
    ]
    public let blocksPerStage: [Int]
    /// Each stage's width: conv1's output channels of its first block (a bottleneck's inner width;
    /// its output channels are whatever conv3 has, 4x for torchvision).
    public let widths: [Int]
    /// "imagenet" (7x7/2 conv, BN, ReLU, 3x3/2 max-pool) or "cifar" (3x3/1 conv, BN, ReLU).
    public let stem: String
    public let inputChannels: Int
    public let numClasses: Int
    /// Groups of every bottleneck's 3x3 convolution (conv2): 1 dense, 32 for ResNeXt-50 32x4d.
    /// Always 1 for basic blocks.
    public let groups: Int
    /// Each stage's output channels (conv3's for a bottleneck: 4x the width in torchvision's
    /// ResNets, 2x in WideResNet-50-2, 1x in -50-4; = width for basic blocks).
    public let outputs: [Int]
    /// The stem's output channels (64 in every torchvision ResNet, wide or grouped).
    public let stemWidth: Int

    public init(block: String, depth: Int?, blocksPerStage: [Int], widths: [Int], stem: String, inputChannels: Int,
                numClasses: Int, groups: Int = 1, outputs: [Int]? = nil, stemWidth: Int? = nil) {
        self.block = block; self.depth = depth; self.blocksPerStage = blocksPerStage; self.widths = widths
        self.stem = stem; self.inputChannels = inputChannels; self.numClasses = numClasses; self.groups = groups
        self.outputs = outputs ?? widths.map { block == "bottleneck" ? $0 * 4 : $0 }
        self.stemWidth = stemWidth ?? widths.first ?? 64
    }

    /// torchvision's name for this shape: "ResNet-50", "WideResNet-50-2", "ResNeXt-50 32x4d", ...,
    /// or "ResNet" for any other shape. `depth` is set (blocks per stage as torchvision's) for the
    /// wide and grouped ResNets too; the name says which of them it is.
    public var name: String {
        guard let d = depth else { return "ResNet" }
        // As before wide and grouped nets were read: torchvision's ResNets keep their names.
        if block == "basic" || (groups == 1 && outputs == widths.map({ $0 * 4 })) { return "ResNet-\(d)" }
        // torchvision's wide and grouped bottlenecks: stem 64, outputs 256 * 2^s, widths doubling.
        guard stemWidth == 64, outputs == [256, 512, 1024, 2048], widths.count == 4,
              widths == (0..<4).map({ widths[0] << $0 }) else { return "ResNet" }
        if groups == 1 { return widths[0] % 64 == 0 ? "WideResNet-\(d)-\(widths[0] / 64)" : "ResNet" }
        return widths[0] % groups == 0 ? "ResNeXt-\(d) \(groups)x\(widths[0] / groups)d" : "ResNet"
    }

    public var description: String {
        var extra = ""
        if groups != 1 { extra += ", groups \(groups)" }
        if outputs != widths.map({ block == "bottleneck" ? $0 * 4 : $0 }) { extra += ", outputs \(outputs)" }
        if stemWidth != (widths.first ?? 64) { extra += ", stem width \(stemWidth)" }
        return "\(name) (\(block) blocks \(blocksPerStage), widths \(widths)\(extra), \(stem) stem, "
            + "\(inputChannels) input channels, \(numClasses) classes)"
    }
}

/// Where the ResNet's keys live in a state dict.
public enum ResNetLayout: String, Sendable {
    /// `conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`, ..., `fc.weight`.
    case torchvision
    /// MadryLab robustness: `module.model.<torchvision key>` (the `module.` prefix may be absent),
    /// a duplicate `module.attacker.model.*` (ignored), `module.normalizer.new_mean/new_std`.
    case madry
}

public struct ResNetWeightsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A convolution and the eval-mode BatchNorm after it (eps 1e-5).
struct ConvBN {
    var weight: [Float]       // [outC, inC / groups, k, k]
    var inC: Int, outC: Int, kernel: Int, stride: Int, pad: Int
    var gamma: [Float], beta: [Float], mean: [Float], variance: [Float]
    var groups: Int = 1
    static let eps: Float = 1e-5
    // Folded into the convolution by the fast path, in C (rk_net_create), one layer at a time.
}

struct Block {
    var convs: [ConvBN]          // 2 (basic) or 3 (bottleneck)
    var downsample: ConvBN?
}

/// A ResNet's parameters, checked against the architecture they imply.
public struct ResNetWeights {
    public let layout: ResNetLayout
    public let architecture: ResNetArchitecture
    /// MadryLab's stored input normaliser (`module.normalizer.new_mean/new_std`), nil for torchvision.
    public let normalizer: (mean: [Float], std: [Float])?

    let stem: ConvBN
    let blocks: [Block]
    let fcWeight: [Float]        // [numClasses, features]
    let fcBias: [Float]

    /// From a loaded checkpoint; `layout` nil detects it from the keys.
    public static func from(_ checkpoint: Checkpoint, layout: ResNetLayout? = nil) throws -> ResNetWeights {
        var shapes = [String: [Int]]()
        for t in checkpoint.tensors { shapes[t.name] = t.shape }
        return try build(keys: shapes, layout: layout) { name in
            guard let t = checkpoint[name] else { throw ResNetWeightsError("missing key \(name)") }
            return try t.floats()
        }
    }

    /// From a plain state dict (name -> shape and float32 values, row-major).
    public static func from(tensors: [String: (shape: [Int], values: [Float])], layout: ResNetLayout? = nil)
        throws -> ResNetWeights
    {
        try build(keys: tensors.mapValues { $0.shape }, layout: layout) { name in
            guard let t = tensors[name] else { throw ResNetWeightsError("missing key \(name)") }
            guard t.values.count == t.shape.reduce(1, *) else {
                throw ResNetWeightsError("key \(name): shape \(t.shape) needs \(t.shape.reduce(1, *)) values, got \(t.values.count)")
            }
            return t.values
        }
    }

    /// Detects the layout: any `model.`/`module.model.` key means MadryLab.
    static func detectLayout(_ keys: some Collection<String>) -> ResNetLayout {
        keys.contains { $0.hasPrefix("module.model.") || $0.hasPrefix("model.") } ? .madry : .torchvision
    }

    static func build(keys: [String: [Int]], layout requested: ResNetLayout?,
                      values: (String) throws -> [Float]) throws -> ResNetWeights
    {
        let layout = requested ?? detectLayout(keys.keys)
        // The prefix in front of torchvision keys, and where a Madry normaliser lives.
        var prefix = ""
        var normPrefix: String? = nil
        if layout == .madry {
            if keys.keys.contains(where: { $0.hasPrefix("module.model.") }) {
                prefix = "module.model."; normPrefix = "module.normalizer."
            } else if keys.keys.contains(where: { $0.hasPrefix("model.") }) {
                prefix = "model."; normPrefix = "normalizer."
            } else {
                throw ResNetWeightsError("layout madry: no key starts with `module.model.` or `model.` "
                    + "(found e.g. \(keys.keys.sorted().prefix(3).joined(separator: ", ")))")
            }
        }
        // Model keys (prefix stripped), ignoring num_batches_tracked.
        var model = [String: [Int]]()
        for (k, s) in keys where k.hasPrefix(prefix) {
            let name = String(k.dropFirst(prefix.count))
            if name.hasSuffix("num_batches_tracked") { continue }
            model[name] = s
        }
        if layout == .torchvision {
            // Ignore nothing else silently except well-known non-model keys.
            for k in keys.keys where k.hasPrefix("module.") && model[k] != nil {
                throw ResNetWeightsError("key \(k) has a `module.` prefix: a DataParallel state dict? "
                    + "expected torchvision keys such as `conv1.weight` (or pass layout: .madry)")
            }
        }
        var used = Set<String>()

        func shape(_ name: String) -> [Int]? { model[name] }
        func need(_ name: String, _ expected: [Int]) throws -> [Float] {
            guard let s = model[name] else {
                throw ResNetWeightsError("missing key \(prefix)\(name) (expected shape \(expected))")
            }
            guard s == expected else {
                throw ResNetWeightsError("key \(prefix)\(name): expected shape \(expected), found \(s)")
            }
            used.insert(name)
            return try checkedValues(prefix + name)
        }
        // Non-finite weights or a negative running variance make PyTorch's logits NaN, but folding
        // BatchNorm into the convolutions can hide them (a NaN in a channel ReLU then zeroes), so
        // they are refused here, by key, rather than giving finite logits PyTorch would not.
        func checkedValues(_ key: String) throws -> [Float] {
            let v = try values(key)
            if let i = v.firstIndex(where: { !$0.isFinite }) {
                let n = v.lazy.filter { !$0.isFinite }.count
                throw ResNetWeightsError("key \(key) holds \(n) non-finite value\(n == 1 ? "" : "s") (the first, \(v[i]), at element \(i)); PyTorch's logits would be NaN or infinite")
            }
            if key.hasSuffix(".running_var"), let i = v.firstIndex(where: { $0 < 0 }) {
                throw ResNetWeightsError("key \(key) holds a negative BatchNorm running variance (\(v[i]) at element \(i)); PyTorch's logits would be NaN")
            }
            return v
        }
        func convBN(_ conv: String, _ bn: String, inC: Int, outC: Int, k: Int, stride: Int, pad: Int,
                    groups: Int = 1) throws -> ConvBN {
            ConvBN(weight: try need(conv + ".weight", [outC, inC / groups, k, k]),
                   inC: inC, outC: outC, kernel: k, stride: stride, pad: pad,
                   gamma: try need(bn + ".weight", [outC]), beta: try need(bn + ".bias", [outC]),
                   mean: try need(bn + ".running_mean", [outC]), variance: try need(bn + ".running_var", [outC]),
                   groups: groups)
        }

        // Stem.
        guard let c1 = shape("conv1.weight") else {
            throw ResNetWeightsError("missing key \(prefix)conv1.weight (expected [width, 3, 7, 7] or [width, 3, 3, 3]); "
                + "layout \(layout.rawValue), keys start with \(keys.keys.sorted().prefix(3).joined(separator: ", "))")
        }
        guard c1.count == 4, c1[2] == c1[3], c1[2] == 7 || c1[2] == 3 else {
            throw ResNetWeightsError("key \(prefix)conv1.weight: expected shape [width, channels, 7, 7] "
                + "(ImageNet stem) or [width, channels, 3, 3] (CIFAR stem), found \(c1)")
        }
        let stemKind = c1[2] == 7 ? "imagenet" : "cifar"
        let inputChannels = c1[1]
        let stem = try convBN("conv1", "bn1", inC: inputChannels, outC: c1[0], k: c1[2],
                              stride: stemKind == "imagenet" ? 2 : 1, pad: stemKind == "imagenet" ? 3 : 1)

        // Stages.
        let bottleneck = shape("layer1.0.conv3.weight") != nil
        var blocksPerStage = [Int]()
        var widths = [Int]()
        var outputs = [Int]()
        var groups: Int? = nil
        var blocks = [Block]()
        var c = stem.outC
        var stage = 1
        while shape("layer\(stage).0.conv1.weight") != nil {
            var j = 0
            guard let w0 = shape("layer\(stage).0.conv1.weight"), w0.count == 4 else {
                throw ResNetWeightsError("key \(prefix)layer\(stage).0.conv1.weight: expected a 4-d shape")
            }
            let width = w0[0]
            widths.append(width)
            while shape("layer\(stage).\(j).conv1.weight") != nil {
                let p = "layer\(stage).\(j)"
                let stride = (stage > 1 && j == 0) ? 2 : 1
                var convs = [ConvBN]()
                let outC: Int
                if bottleneck {
                    let o = shape(p + ".conv3.weight")?.first ?? width * 4
                    outC = o
                    // Grouped 3x3 (ResNeXt): conv2.weight [width, width / groups, 3, 3].
                    var g = 1
                    if let s2 = shape(p + ".conv2.weight"), s2.count == 4, s2[1] > 0, s2[1] < width, width % s2[1] == 0 {
                        g = width / s2[1]
                    }
                    if let g0 = groups, g0 != g {
                        throw ResNetWeightsError("key \(prefix)\(p).conv2.weight: \(g) groups (shape \(shape(p + ".conv2.weight")!)), "
                            + "but earlier blocks have \(g0); a ResNet with mixed groups is not supported")
                    }
                    groups = g
                    convs.append(try convBN(p + ".conv1", p + ".bn1", inC: c, outC: width, k: 1, stride: 1, pad: 0))
                    convs.append(try convBN(p + ".conv2", p + ".bn2", inC: width, outC: width, k: 3, stride: stride, pad: 1,
                                            groups: g))
                    convs.append(try convBN(p + ".conv3", p + ".bn3", inC: width, outC: o, k: 1, stride: 1, pad: 0))
                } else {
                    outC = width
                    convs.append(try convBN(p + ".conv1", p + ".bn1", inC: c, outC: width, k: 3, stride: stride, pad: 1))
                    convs.append(try convBN(p + ".conv2", p + ".bn2", inC: width, outC: width, k: 3, stride: 1, pad: 1))
                }
                var ds: ConvBN? = nil
                if shape(p + ".downsample.0.weight") != nil || stride != 1 || c != outC {
                    ds = try convBN(p + ".downsample.0", p + ".downsample.1", inC: c, outC: outC, k: 1, stride: stride, pad: 0)
                }
                blocks.append(Block(convs: convs, downsample: ds))
                c = outC
                j += 1
            }
            blocksPerStage.append(j)
            outputs.append(c)
            stage += 1
        }
        // fc.
        guard let fcShape = shape("fc.weight"), fcShape.count == 2 else {
            throw ResNetWeightsError("missing key \(prefix)fc.weight (expected shape [classes, \(c)])")
        }
        let numClasses = fcShape[0]
        let fcW = try need("fc.weight", [numClasses, c])
        let fcB = try need("fc.bias", [numClasses])

        let unused = model.keys.filter { !used.contains($0) }.sorted()
        if let first = unused.first {
            throw ResNetWeightsError("unexpected key \(prefix)\(first) with shape \(model[first]!) "
                + "(\(unused.count) unused key(s); inferred \(blocksPerStage.count) stage(s) \(blocksPerStage) "
                + "of \(bottleneck ? "bottleneck" : "basic") blocks)")
        }

        // Normaliser.
        var normalizer: (mean: [Float], std: [Float])? = nil
        if let np = normPrefix {
            let mk = np + "new_mean", sk = np + "new_std"
            if let ms = keys[mk], let ss = keys[sk] {
                guard ms.reduce(1, *) == inputChannels, ss.reduce(1, *) == inputChannels else {
                    throw ResNetWeightsError("key \(mk)/\(sk): expected [\(inputChannels), 1, 1], found \(ms) and \(ss)")
                }
                normalizer = (try checkedValues(mk), try checkedValues(sk))
            } else {
                let missing = keys[mk] == nil ? mk : sk
                throw ResNetWeightsError("missing key \(missing) (expected shape [\(inputChannels), 1, 1]): "
                    + "a MadryLab checkpoint stores its input normaliser there")
            }
        }

        let kind = bottleneck ? "bottleneck" : "basic"
        let depth = ResNetArchitecture.torchvision.first { $0.value.block == kind && $0.value.blocksPerStage == blocksPerStage }?.key
        let arch = ResNetArchitecture(block: kind, depth: stemKind == "imagenet" ? depth : nil,
                                      blocksPerStage: blocksPerStage, widths: widths, stem: stemKind,
                                      inputChannels: inputChannels, numClasses: numClasses, groups: groups ?? 1,
                                      outputs: outputs, stemWidth: stem.outC)
        return ResNetWeights(layout: layout, architecture: arch, normalizer: normalizer,
                             stem: stem, blocks: blocks, fcWeight: fcW, fcBias: fcB)
    }
}

extension ResNetWeights {
    /// Random weights (He-normal convs, random BN statistics) in torchvision layout for any ResNet
    /// shape: for benchmarks and tests without a checkpoint. `widths` are stage widths (a
    /// bottleneck's inner width); `outputs` each stage's output channels (nil: 4x the width for a
    /// bottleneck, the width for a basic block); `groups` of every bottleneck's 3x3 convolution;
    /// `stemWidth` the stem's output channels (nil: widths[0]).
    public static func random(block: String = "bottleneck", blocksPerStage: [Int] = [3, 4, 6, 3],
                              widths: [Int] = [64, 128, 256, 512], stem: String = "imagenet",
                              inputChannels: Int = 3, numClasses: Int = 1000, seed: UInt64 = 0,
                              groups: Int = 1, outputs: [Int]? = nil, stemWidth: Int? = nil) throws -> ResNetWeights
    {
        var rng = RandomStream(seed: seed)
        var sd = [String: (shape: [Int], values: [Float])]()
        func normal(_ n: Int, _ scale: Float) -> [Float] {
            var v = [Float](repeating: 0, count: n)
            var i = 0
            while i < n {   // Box-Muller, two at a time
                let u1 = max(rng.nextUniformFloat(), 1e-7), u2 = rng.nextUniformFloat()
                let r = (-2 * logf(u1)).squareRoot()
                v[i] = r * cosf(2 * .pi * u2) * scale
                if i + 1 < n { v[i + 1] = r * sinf(2 * .pi * u2) * scale }
                i += 2
            }
            return v
        }
        func uniform(_ n: Int, _ lo: Float, _ hi: Float) -> [Float] {
            (0..<n).map { _ in lo + (hi - lo) * rng.nextUniformFloat() }
        }
        func conv(_ name: String, _ o: Int, _ i: Int, _ k: Int, groups g: Int = 1) {
            let ig = i / g
            sd[name + ".weight"] = ([o, ig, k, k], normal(o * ig * k * k, (2 / Float(ig * k * k)).squareRoot()))
        }
        func bn(_ name: String, _ c: Int, last: Bool = false) {
            // Small gamma on a block's last BN keeps activations bounded through deep nets.
            sd[name + ".weight"] = ([c], uniform(c, last ? 0.1 : 0.5, last ? 0.3 : 1.0))
            sd[name + ".bias"] = ([c], normal(c, 0.1))
            sd[name + ".running_mean"] = ([c], normal(c, 0.1))
            sd[name + ".running_var"] = ([c], uniform(c, 0.5, 1.5))
        }
        let w0 = stemWidth ?? widths.first ?? 64
        conv("conv1", w0, inputChannels, stem == "imagenet" ? 7 : 3)
        bn("bn1", w0)
        var c = w0
        let bottleneck = block == "bottleneck"
        for (s, (n, w)) in zip(blocksPerStage, widths).enumerated() {
            for j in 0..<n {
                let p = "layer\(s + 1).\(j)"
                let stride = s > 0 && j == 0 ? 2 : 1
                let out = outputs?[s] ?? (bottleneck ? w * 4 : w)
                if bottleneck {
                    conv(p + ".conv1", w, c, 1); bn(p + ".bn1", w)
                    conv(p + ".conv2", w, w, 3, groups: groups); bn(p + ".bn2", w)
                    conv(p + ".conv3", out, w, 1); bn(p + ".bn3", out, last: true)
                } else {
                    conv(p + ".conv1", w, c, 3); bn(p + ".bn1", w)
                    conv(p + ".conv2", w, w, 3); bn(p + ".bn2", w, last: true)
                }
                if stride != 1 || c != out {
                    conv(p + ".downsample.0", out, c, 1); bn(p + ".downsample.1", out)
                }
                c = out
            }
        }
        sd["fc.weight"] = ([numClasses, c], normal(numClasses * c, (1 / Float(c)).squareRoot()))
        sd["fc.bias"] = ([numClasses], normal(numClasses, 0.01))
        return try from(tensors: sd, layout: .torchvision)
    }
}
