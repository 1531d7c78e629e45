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

    public enum Backend: String, Sendable, CaseIterable {
        /// oneDNN: BN folded, ReLU fused, blocked layouts, primitives and buffers reused per batch size.
        case onednn
        /// Plain NCHW loops; slow; for tests.
        case reference
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

    private var reference: ReferenceNet?
    private var fast: FastNet?
    private var lastBatch: Int?
    /// The sites the most recent forward was asked for, in the order asked (tap gradients align with it).
    private var lastTaps: [TapSite] = []
    private let tapTable: TapTable

    public init(weights: ResNetWeights, mean: [Float], std: [Float], inputSize: Int, backend: Backend = .onednn,
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
        self.backend = backend; self.winograd = winograd; self.precision = precision
        tapTable = TapTable(weights: weights, inputSize: inputSize)
        if backend == .reference && precision != .float32 {
            throw ResNetError("the reference backend computes in float32 only (asked for \(precision.rawValue))")
        }
        if backend == .reference {
            reference = ReferenceNet(weights: weights, mean: mean, std: std, inputSize: inputSize)
        }
        // Whether oneDNN has fast bfloat16 kernels for these layers depends on the CPU and the
        // channel counts, not the batch: find out now, before a run has started, not at its first step.
        if precision == .bfloat16 { _ = try fastNet(batch: 1) }
    }

    private func check(_ x: Tensor) throws {
        let s = inputShape
        guard x.shape.count == 4, x.shape[1] == s.channels, x.shape[2] == s.height, x.shape[3] == s.width,
              x.batch > 0 else {
            throw ResNetError("expected input [n, \(s.channels), \(s.height), \(s.width)], got \(x.shape)")
        }
    }

    /// The oneDNN net for batch size n and tap set `taps` (made on first use, then reused while both
    /// stay the same; no taps is exactly the net without them). A different key rebuilds it.
    func fastNet(batch n: Int, taps: TapSet = .none) throws -> FastNet {
        if let f = fast, f.batch == n, f.taps == taps { return f }
        fast = nil   // free the old one first
        let f = try FastNet(weights: weights, mean: mean, std: std, inputSize: inputSize, batch: n,
                            winograd: precision == .float32 && (winograd ?? (n >= 8)), bfloat16: precision == .bfloat16,
                            taps: taps)
        fast = f
        return f
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
        let logits: Tensor, values: [Tensor]
        switch backend {
        case .reference:
            logits = reference!.forward(x)
            values = sites.map { reference!.tap($0) }
        case .onednn:
            (logits, values) = try fastNet(batch: x.batch, taps: TapSet(sites)).forward(x, taps: sites)
        }
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
        switch backend {
        case .reference: return reference!.inputGradient(dlogits, tapGradients: grads)
        case .onednn: return try fastNet(batch: n, taps: TapSet(lastTaps)).backward(dlogits, tapGradients: grads)
        }
    }

    private func shapeOf(_ site: TapSite) -> [Int] { tapTable.entries.first { $0.site == site }!.shape }
    private func name(of site: TapSite) -> String { tapTable.entries.first { $0.site == site }!.name }

    /// The ReLU and max-pool decisions of the most recent forward (oneDNN backend), for tests that
    /// run the reference backward through exactly the same ones.
    func lastDecisions() throws -> ForwardDecisions {
        guard backend == .onednn, let n = lastBatch else { throw ResNetError("lastDecisions: no oneDNN forward yet") }
        return try fastNet(batch: n, taps: TapSet(lastTaps)).decisions()
    }

    /// Bytes the oneDNN net for the current batch size holds (0 before the first forward).
    public var engineBytes: Int { fast.map { Int(rk_net_bytes($0.net)) } ?? 0 }

    /// Which oneDNN implementation runs each layer (forward / backward-data); empty before a forward.
    public var implementationInfo: String {
        guard let f = fast, let s = rk_net_impl_info(f.net) else { return "" }
        return String(cString: s)
    }
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

/// The oneDNN net for one batch size (ResNetKernels' rk_net).
final class FastNet {
    let net: OpaquePointer
    let batch: Int
    let inputShape: [Int]
    let numClasses: Int
    /// The sites this net exports; C tap t is taps.sites[t] (blocks in order, then the representation).
    let taps: TapSet
    /// Each C tap's dims, [N, C, h, w] or [N, F], as the C side reports them.
    private var tapDims: [[Int]] = []

    init(weights: ResNetWeights, mean: [Float], std: [Float], inputSize: Int, batch: Int, winograd: Bool,
         bfloat16: Bool, taps: TapSet = .none) throws {
        self.batch = batch
        self.taps = taps
        let tapBlocks = taps.blocks.map { Int32($0) }
        let C = weights.architecture.inputChannels
        inputShape = [batch, C, inputSize, inputSize]
        numClasses = weights.architecture.numClasses
        // Every array the C side reads (conv weights and BN parameters, unfolded: rk_net_create
        // folds BN layer by layer, so no second copy of the model is ever made), pinned at once.
        var arrays = [[Float]]()
        func add(_ cb: ConvBN) -> Int {
            arrays += [cb.weight, cb.gamma, cb.beta, cb.mean, cb.variance]
            return arrays.count - 5
        }
        let stemIdx = add(weights.stem)
        let blockIdx = weights.blocks.map { b in b.convs.map(add) + [b.downsample.map(add) ?? -1] }
        arrays += [mean, std, weights.fcWeight, weights.fcBias]
        var err = [CChar](repeating: 0, count: 1024)
        let made: OpaquePointer? = withPinned(arrays) { p in
            func desc(_ cb: ConvBN, _ i: Int) -> rk_conv_desc {
                rk_conv_desc(in_c: Int32(cb.inC), out_c: Int32(cb.outC), kernel: Int32(cb.kernel),
                             stride: Int32(cb.stride), pad: Int32(cb.pad), weight: p[i], bias: nil,
                             bn_gamma: p[i + 1], bn_beta: p[i + 2], bn_mean: p[i + 3], bn_var: p[i + 4],
                             bn_eps: ConvBN.eps, groups: Int32(cb.groups))
            }
            var blocks = [rk_block_desc]()
            for (b, idx) in zip(weights.blocks, blockIdx) {
                var d = rk_block_desc()
                d.bottleneck = b.convs.count == 3 ? 1 : 0
                d.has_downsample = b.downsample == nil ? 0 : 1
                d.conv.0 = desc(b.convs[0], idx[0])
                d.conv.1 = desc(b.convs[1], idx[1])
                if b.convs.count == 3 { d.conv.2 = desc(b.convs[2], idx[2]) }
                if let ds = b.downsample { d.downsample = desc(ds, idx.last!) }
                blocks.append(d)
            }
            let tail = arrays.count - 4
            return blocks.withUnsafeBufferPointer { bp in tapBlocks.withUnsafeBufferPointer { tp in
                var d = rk_net_desc()
                d.batch = Int32(batch); d.in_c = Int32(C); d.in_h = Int32(inputSize); d.in_w = Int32(inputSize)
                d.mean = p[tail]; d.std = p[tail + 1]
                d.stem = desc(weights.stem, stemIdx)
                d.stem_maxpool = weights.architecture.stem == "imagenet" ? 1 : 0
                d.num_blocks = Int32(blocks.count); d.blocks = bp.baseAddress
                d.num_classes = Int32(weights.architecture.numClasses)
                d.fc_weight = p[tail + 2]; d.fc_bias = p[tail + 3]
                d.use_winograd = winograd ? 1 : 0
                d.relu_masks = 1
                d.bfloat16 = bfloat16 ? 1 : 0
                d.layout = ProcessInfo.processInfo.environment["RSYNTH_RESNET_LAYOUT"] == "nhwc" ? 1 : 0
                d.num_tap_blocks = Int32(tapBlocks.count)
                d.tap_blocks = tapBlocks.isEmpty ? nil : tp.baseAddress
                d.tap_representation = taps.representation ? 1 : 0
                return rk_net_create(&d, &err, FastNet.errLength)
            } }
        }
        guard let n = made else { throw ResNetError("oneDNN ResNet: " + String(cString: err)) }
        net = n
        var dims = [Int32](repeating: 0, count: 4)
        for t in 0..<Int(rk_net_tap_count(net)) {
            let nd = Int(rk_net_tap_dims(net, Int32(t), &dims))
            tapDims.append(dims.prefix(max(nd, 0)).map(Int.init))
        }
        precondition(tapDims.count == taps.sites.count, "rk_net exports \(tapDims.count) taps, asked for \(taps.sites.count)")
    }

    deinit { rk_net_destroy(net) }

    /// rk_net's error messages; kept, so that a step allocates only the arrays it returns.
    private var err = [CChar](repeating: 0, count: FastNet.errLength)
    private static let errLength = 512

    /// An array of n floats that `fill` writes completely (no zero-fill first: 4.8 MB for dx at batch 8).
    private func uninitialized(_ n: Int, _ fill: (UnsafeMutablePointer<Float>) -> Int32) -> ([Float], Int32) {
        var rc: Int32 = 0
        let a = [Float](unsafeUninitializedCapacity: n) { buf, count in
            rc = fill(buf.baseAddress!)
            count = n
        }
        return (a, rc)
    }

    /// x -> logits and, per site asked (each a member of `taps`), its value.
    func forward(_ x: Tensor, taps asked: [TapSite] = []) throws -> (logits: Tensor, taps: [Tensor]) {
        // Only the taps asked for are copied out (the others' ops are skipped).
        let wanted = Set(asked)
        let exported = taps.sites.indices.filter { wanted.contains(taps.sites[$0]) }
        var rc: Int32 = 0
        var values = [[Float]](repeating: [], count: taps.sites.count)
        let logits = [Float](unsafeUninitializedCapacity: batch * numClasses) { lbuf, lcount in
            let outs = uninitializedArrays(exported.map { tapDims[$0].reduce(1, *) }) { ptrs in
                var all = [UnsafeMutablePointer<Float>?](repeating: nil, count: taps.sites.count)
                for (k, t) in exported.enumerated() { all[t] = ptrs[k] }
                rc = taps.sites.isEmpty ? rk_net_forward(net, x.data, lbuf.baseAddress!, &err, FastNet.errLength)
                    : rk_net_forward_taps(net, x.data, lbuf.baseAddress!, all, &err, FastNet.errLength)
            }
            for (k, t) in exported.enumerated() { values[t] = outs[k] }
            lcount = batch * numClasses
        }
        guard rc == 0 else { throw ResNetError("oneDNN forward: " + String(cString: err)) }
        let tensors = asked.map { site -> Tensor in
            let t = taps.sites.firstIndex(of: site)!
            return Tensor(shape: tapDims[t], data: values[t])
        }
        return (Tensor(shape: [batch, numClasses], data: logits), tensors)
    }

    func decisions() throws -> ForwardDecisions {
        var dims = [Int32](repeating: 0, count: 4)
        var relu = [[UInt8]]()
        for site in 0..<Int(rk_net_relu_site_count(net)) {
            guard rk_net_relu_decisions(net, Int32(site), &dims, nil, &err, FastNet.errLength) == 0 else {
                throw ResNetError("ReLU site \(site): " + String(cString: err))
            }
            var m = [UInt8](repeating: 0, count: dims.reduce(1) { $0 * Int($1) })
            guard rk_net_relu_decisions(net, Int32(site), &dims, &m, &err, FastNet.errLength) == 0 else {
                throw ResNetError("ReLU site \(site): " + String(cString: err))
            }
            relu.append(m)
        }
        var pool: [UInt8]? = nil
        if rk_net_maxpool_choices(net, &dims, nil, &err, FastNet.errLength) == 0 {
            var c = [UInt8](repeating: 0, count: dims.reduce(1) { $0 * Int($1) })
            guard rk_net_maxpool_choices(net, &dims, &c, &err, FastNet.errLength) == 0 else {
                throw ResNetError("max-pool: " + String(cString: err))
            }
            pool = c
        }
        return ForwardDecisions(relu: relu, maxPool: pool)
    }

    /// dlogits and the gradients of some of `taps`' sites (the others zero) -> dx.
    func backward(_ dlogits: Tensor, tapGradients: [TapSite: [Float]] = [:]) throws -> Tensor {
        let grads = taps.sites.map { tapGradients[$0] }
        for (t, g) in grads.enumerated() where g != nil && g!.count != tapDims[t].reduce(1, *) {
            throw ResNetError("tap \(taps.sites[t]): gradient of \(g!.count) values for dims \(tapDims[t])")
        }
        let (dx, rc) = uninitialized(inputShape.reduce(1, *)) { dx in
            if taps.sites.isEmpty { return rk_net_backward(net, dlogits.data, dx, &err, FastNet.errLength) }
            return withPinned(grads) { rk_net_backward_taps(net, dlogits.data, $0, dx, &err, FastNet.errLength) }
        }
        guard rc == 0 else { throw ResNetError("oneDNN backward: " + String(cString: err)) }
        return Tensor(shape: inputShape, data: dx)
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

/// Arrays of the given sizes that `fill` writes completely (through the pointers it gets, all valid
/// for the duration of the call; no zero-fill first).
private func uninitializedArrays(_ counts: [Int], _ fill: ([UnsafeMutablePointer<Float>]) -> Void) -> [[Float]] {
    var pointers = [UnsafeMutablePointer<Float>]()
    var arrays = [[Float]](repeating: [], count: counts.count)
    func go(_ i: Int) {
        if i == counts.count { fill(pointers); return }
        arrays[i] = [Float](unsafeUninitializedCapacity: counts[i]) { buf, count in
            pointers.append(buf.baseAddress ?? UnsafeMutablePointer(bitPattern: 64)!)
            go(i + 1)
            count = counts[i]
        }
    }
    go(0)
    return arrays
}

/// Calls body with base pointers of the arrays present (nil for the absent ones), pinned as below.
private func withPinned<R>(_ arrays: [[Float]?], _ body: ([UnsafePointer<Float>?]) -> R) -> R {
    let present = arrays.indices.filter { arrays[$0] != nil }
    return withPinned(present.map { arrays[$0]! }) { p in
        var all = [UnsafePointer<Float>?](repeating: nil, count: arrays.count)
        for (k, i) in present.enumerated() { all[i] = p[k] }
        return body(all)
    }
}

/// Calls body with base pointers of all arrays, each pinned by a nested withUnsafeBufferPointer.
private func withPinned<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    var pointers = [UnsafePointer<Float>]()
    pointers.reserveCapacity(arrays.count)
    func go(_ i: Int) -> R {
        if i == arrays.count { return body(pointers) }
        return arrays[i].withUnsafeBufferPointer { bp in
            // An empty array has no base address; nothing reads it.
            pointers.append(bp.baseAddress ?? UnsafePointer(bitPattern: 64)!)
            return go(i + 1)
        }
    }
    return go(0)
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
