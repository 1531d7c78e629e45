import Foundation
import ResNetKernels
import RobustSynthCore

/// The oneDNN backend: BN folded, ReLU fused, blocked layouts, primitives and buffers reused per
/// batch size (ResNetKernels' rk_net, one per batch size and tap set, rebuilt when either changes).
final class OneDNNBackend: ResNetBackendContext {
    static let entry = ResNetBackendEntry(
        name: "onednn", summary: "the fast CPU engine", precisions: [.float32, .bfloat16],
        make: { try OneDNNBackend($0) })

    private let config: ResNetBackendConfig
    private var fast: FastNet?

    init(_ config: ResNetBackendConfig) throws {
        self.config = config
        // Whether oneDNN has fast bfloat16 kernels for these layers depends on the CPU and the
        // channel counts, not the batch: find out now, before a run has started, not at its first step.
        if config.precision == .bfloat16 { _ = try fastNet(batch: 1) }
    }

    /// The oneDNN net for batch size n and tap set `taps` (made on first use, then reused while both
    /// stay the same; no taps is exactly the net without them). A different key rebuilds it.
    func fastNet(batch n: Int, taps: TapSet = .none) throws -> FastNet {
        if let f = fast, f.batch == n, f.taps == taps { return f }
        fast = nil   // free the old one first
        let c = config
        let f = try FastNet(weights: c.weights, mean: c.mean, std: c.std, inputSize: c.inputSize, batch: n,
                            winograd: c.precision == .float32 && (c.winograd ?? (n >= 8)),
                            bfloat16: c.precision == .bfloat16, taps: taps)
        fast = f
        return f
    }

    func forward(_ x: Tensor, sites: [TapSite]) throws -> (logits: Tensor, taps: [Tensor]) {
        try fastNet(batch: x.batch, taps: TapSet(sites)).forward(x, taps: sites)
    }

    func inputGradient(_ dlogits: Tensor, batch n: Int, sites: [TapSite], tapGradients: [TapSite: [Float]]) throws -> Tensor {
        try fastNet(batch: n, taps: TapSet(sites)).backward(dlogits, tapGradients: tapGradients)
    }

    var bytes: Int { fast.map { Int(rk_net_bytes($0.net)) } ?? 0 }

    var implementationInfo: String {
        guard let f = fast, let s = rk_net_impl_info(f.net) else { return "" }
        return String(cString: s)
    }

    func decisions(batch n: Int, sites: [TapSite]) throws -> ForwardDecisions {
        try fastNet(batch: n, taps: TapSet(sites)).decisions()
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

