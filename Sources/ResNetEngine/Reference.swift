import ResNetKernels
import RobustSynthCore

/// One activation, dense NCHW: data[n, c, h, w].
struct Activation {
    var data: [Float]
    var c: Int, h: Int, w: Int
}

/// The plain reference ResNet: NCHW loops (ResNetKernels' rk_ref_*), unfolded BatchNorm, every
/// step spelled out. Keeps the post-ReLU outputs (the ReLU masks) and the max-pool's argmax for
/// the input gradient. Slow; for tests on small nets.
final class ReferenceNet {
    let weights: ResNetWeights
    let mean: [Float], std: [Float]
    let inputSize: Int

    // Tape of the most recent forward.
    private var batch = 0
    private var stemOut: Activation? = nil          // post-ReLU stem conv output
    private var poolArgmax: [Int32] = []
    private var pooled: Activation? = nil           // max-pool output (ImageNet stem)
    private var blockTapes: [[Activation]] = []     // per block: post-ReLU outputs of its convs
    private var blockInputs: [Activation] = []      // needed only for shapes
    private var representation: [Float] = []        // [N, F] pooled features (the fc input)

    init(weights: ResNetWeights, mean: [Float], std: [Float], inputSize: Int) {
        self.weights = weights; self.mean = mean; self.std = std; self.inputSize = inputSize
    }

    private static func outSize(_ h: Int, _ cb: ConvBN) -> Int { (h + 2 * cb.pad - cb.kernel) / cb.stride + 1 }

    /// conv -> BN -> optional ReLU.   x[N,C,H,W] -> y[N,O,OH,OW]
    private func convBN(_ x: Activation, _ cb: ConvBN, relu: Bool) -> Activation {
        let oh = Self.outSize(x.h, cb), ow = Self.outSize(x.w, cb)
        var y = [Float](repeating: 0, count: batch * cb.outC * oh * ow)
        rk_ref_conv2d_forward_grouped(x.data, Int32(batch), Int32(x.c), Int32(x.h), Int32(x.w), cb.weight, nil,
                                      Int32(cb.outC), Int32(cb.kernel), Int32(cb.stride), Int32(cb.pad), Int32(cb.groups),
                                      &y, Int32(oh), Int32(ow))
        var z = [Float](repeating: 0, count: y.count)
        rk_ref_batchnorm_forward(y, Int32(batch), Int32(cb.outC), Int32(oh * ow), cb.gamma, cb.beta, cb.mean,
                                 cb.variance, ConvBN.eps, &z)
        if relu { rk_ref_relu_forward(&z, z.count) }
        return Activation(data: z, c: cb.outC, h: oh, w: ow)
    }

    /// Backward through BN then conv.   dy[N,O,OH,OW] -> dx[N,C,H,W] (H, W of the conv's input)
    private func convBNBackward(_ dy: Activation, _ cb: ConvBN, inH: Int, inW: Int) -> Activation {
        var g = [Float](repeating: 0, count: dy.data.count)
        rk_ref_batchnorm_backward(dy.data, Int32(batch), Int32(cb.outC), Int32(dy.h * dy.w), cb.gamma, cb.variance,
                                  ConvBN.eps, &g)
        var dx = [Float](repeating: 0, count: batch * cb.inC * inH * inW)
        rk_ref_conv2d_backward_data_grouped(g, Int32(batch), Int32(cb.outC), Int32(dy.h), Int32(dy.w), cb.weight,
                                            Int32(cb.inC), Int32(cb.kernel), Int32(cb.stride), Int32(cb.pad),
                                            Int32(cb.groups), &dx, Int32(inH), Int32(inW))
        return Activation(data: dx, c: cb.inC, h: inH, w: inW)
    }

    /// x[N,C,S,S] in [0,1] -> logits[N,K]
    func forward(_ x: Tensor) -> Tensor {
        let C = weights.architecture.inputChannels
        batch = x.batch
        let hw = inputSize * inputSize
        var xn = x.data
        for n in 0..<batch { for c in 0..<C { for i in 0..<hw {
            let k = (n * C + c) * hw + i
            xn[k] = (xn[k] - mean[c]) / std[c]
        } } }
        var a = convBN(Activation(data: xn, c: C, h: inputSize, w: inputSize), weights.stem, relu: true)
        stemOut = a
        if weights.architecture.stem == "imagenet" {
            let oh = (a.h + 2 - 3) / 2 + 1, ow = (a.w + 2 - 3) / 2 + 1
            var y = [Float](repeating: 0, count: batch * a.c * oh * ow)
            poolArgmax = [Int32](repeating: 0, count: y.count)
            rk_ref_maxpool_forward(a.data, Int32(batch), Int32(a.c), Int32(a.h), Int32(a.w), 3, 2, 1, &y, &poolArgmax,
                                   Int32(oh), Int32(ow))
            a = Activation(data: y, c: a.c, h: oh, w: ow)
            pooled = a
        }
        blockTapes = []; blockInputs = []
        for b in weights.blocks {
            blockInputs.append(a)
            var tape = [Activation]()
            var y = a
            for (i, cb) in b.convs.enumerated() {
                y = convBN(y, cb, relu: i < b.convs.count - 1)
                if i < b.convs.count - 1 { tape.append(y) }
            }
            let idt = b.downsample.map { convBN(a, $0, relu: false) } ?? a
            for k in 0..<y.data.count { y.data[k] = max(y.data[k] + idt.data[k], 0) }
            tape.append(y)
            blockTapes.append(tape)
            a = y
        }
        // Global average pool and fc.   a[N,F,h,w] -> logits[N,K]
        let F = a.c, K = weights.architecture.numClasses, plane = a.h * a.w
        var logits = [Float](repeating: 0, count: batch * K)
        representation = [Float](repeating: 0, count: batch * F)
        for n in 0..<batch {
            var feat = [Float](repeating: 0, count: F)
            for c in 0..<F {
                var s: Float = 0
                for i in 0..<plane { s += a.data[(n * F + c) * plane + i] }
                feat[c] = s / Float(plane)
            }
            representation[n * F..<(n + 1) * F] = feat[...]
            for k in 0..<K {
                var s = weights.fcBias[k]
                for c in 0..<F { s += weights.fcWeight[k * F + c] * feat[c] }
                logits[n * K + k] = s
            }
        }
        return Tensor(shape: [batch, K], data: logits)
    }

    /// A tap of the most recent forward: a block's output [N, C, h, w] or the representation [N, F].
    func tap(_ site: TapSite) -> Tensor {
        switch site {
        case .block(let b):
            let a = blockTapes[b].last!
            return Tensor(shape: [batch, a.c, a.h, a.w], data: a.data)
        case .representation:
            return Tensor(shape: [batch, representation.count / max(batch, 1)], data: representation)
        }
    }

    /// The decisions of the most recent forward.
    func decisions() -> ForwardDecisions {
        var relu = [stemOut!.data.map { UInt8($0 > 0 ? 1 : 0) }]
        for tape in blockTapes { relu += tape.map { t in t.data.map { UInt8($0 > 0 ? 1 : 0) } } }
        guard let p = pooled, let s = stemOut else { return ForwardDecisions(relu: relu, maxPool: nil) }
        var choices = [UInt8](repeating: 0, count: poolArgmax.count)
        for (i, a) in poolArgmax.enumerated() {
            let oh = (i / p.w) % p.h, ow = i % p.w, ih = Int(a) / s.w, iw = Int(a) % s.w
            choices[i] = UInt8((ih - (oh * 2 - 1)) * 3 + (iw - (ow * 2 - 1)))
        }
        return ForwardDecisions(relu: relu, maxPool: choices)
    }

    /// dlogits[N,K] -> dx[N,C,S,S] through the given decisions instead of this forward's own (the
    /// activations' values are not needed by the backward pass, only their signs and the argmax).
    func inputGradient(_ dlogits: Tensor, through d: ForwardDecisions) throws -> Tensor {
        let sites = 1 + blockTapes.reduce(0) { $0 + $1.count }
        guard d.relu.count == sites else { throw ResNetError("decisions for \(d.relu.count) ReLU sites, the net has \(sites)") }
        let (saved, savedTapes, savedArgmax) = (stemOut, blockTapes, poolArgmax)
        defer { stemOut = saved; blockTapes = savedTapes; poolArgmax = savedArgmax }
        func adopt(_ a: inout Activation, _ m: [UInt8], _ what: String) throws {
            guard m.count == a.data.count else { throw ResNetError("\(what): \(m.count) decisions for \(a.data.count) units") }
            a.data = m.map { Float($0) }
        }
        try adopt(&stemOut!, d.relu[0], "stem")
        var k = 1
        for b in blockTapes.indices { for t in blockTapes[b].indices { try adopt(&blockTapes[b][t], d.relu[k], "site \(k)"); k += 1 } }
        if let p = pooled, let s = stemOut, let choices = d.maxPool {
            guard choices.count == poolArgmax.count else { throw ResNetError("max-pool: \(choices.count) choices for \(poolArgmax.count) outputs") }
            for (i, c) in choices.enumerated() {
                let oh = (i / p.w) % p.h, ow = i % p.w, ih = oh * 2 - 1 + Int(c) / 3, iw = ow * 2 - 1 + Int(c) % 3
                guard c < 9, ih >= 0, ih < s.h, iw >= 0, iw < s.w else {
                    throw ResNetError("max-pool output \(i): window position \(c) is outside the input")
                }
                poolArgmax[i] = Int32(ih * s.w + iw)
            }
        }
        return inputGradient(dlogits)
    }

    /// dlogits[N,K] and each tap's gradient (same shape as the tap; absent = zero) -> dx[N,C,S,S]
    func inputGradient(_ dlogits: Tensor, tapGradients: [TapSite: [Float]] = [:]) -> Tensor {
        let K = weights.architecture.numClasses
        let last = blockTapes.last?.last ?? pooled ?? stemOut!
        let F = last.c, plane = last.h * last.w
        var g = Activation(data: [Float](repeating: 0, count: batch * F * plane), c: F, h: last.h, w: last.w)
        for n in 0..<batch { for c in 0..<F {
            var s: Float = 0
            for k in 0..<K { s += dlogits.data[n * K + k] * weights.fcWeight[k * F + c] }
            if let r = tapGradients[.representation] { s += r[n * F + c] }
            for i in 0..<plane { g.data[(n * F + c) * plane + i] = s / Float(plane) }
        } }
        for (bi, b) in weights.blocks.enumerated().reversed() {
            let tape = blockTapes[bi], input = blockInputs[bi]
            // g = d(block output): what flows back from later blocks plus the tap's own gradient
            if let t = tapGradients[.block(bi)] { for k in 0..<g.data.count { g.data[k] += t[k] } }
            rk_ref_relu_backward(&g.data, tape.last!.data, g.data.count)
            var d = g
            for i in stride(from: b.convs.count - 1, through: 0, by: -1) {
                let src = i > 0 ? tape[i - 1] : input
                d = convBNBackward(d, b.convs[i], inH: src.h, inW: src.w)
                if i > 0 { rk_ref_relu_backward(&d.data, tape[i - 1].data, d.data.count) }
            }
            let di = b.downsample.map { convBNBackward(g, $0, inH: input.h, inW: input.w) } ?? g
            for k in 0..<d.data.count { d.data[k] += di.data[k] }
            g = d
        }
        let s = stemOut!
        if let p = pooled {
            var dx = [Float](repeating: 0, count: batch * s.c * s.h * s.w)
            rk_ref_maxpool_backward(g.data, poolArgmax, Int32(batch), Int32(s.c), Int32(p.h), Int32(p.w), &dx,
                                    Int32(s.h), Int32(s.w))
            g = Activation(data: dx, c: s.c, h: s.h, w: s.w)
        }
        rk_ref_relu_backward(&g.data, s.data, g.data.count)
        var dx = convBNBackward(g, weights.stem, inH: inputSize, inW: inputSize).data
        let C = weights.architecture.inputChannels, hw = inputSize * inputSize
        for n in 0..<batch { for c in 0..<C { for i in 0..<hw { dx[(n * C + c) * hw + i] /= std[c] } } }
        return Tensor(shape: [batch, C, inputSize, inputSize], data: dx)
    }
}
