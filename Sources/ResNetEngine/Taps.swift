/// Where a tap name points: a block's output (after its final ReLU) or the pooled representation.
/// A stage name (`layer3`) points at its last block, so two names can share one site.
public enum TapSite: Hashable, Comparable, Sendable {
    case block(Int)          // index into ResNetWeights.blocks
    case representation
}

/// The distinct sites a forward exports, sorted (blocks in forward order, then the representation):
/// the oneDNN net is built for one such set, and its C tap t is `sites[t]`.
struct TapSet: Hashable {
    let sites: [TapSite]
    init<S: Sequence>(_ s: S) where S.Element == TapSite { sites = Array(Set(s)).sorted() }
    static let none = TapSet([])
    var blocks: [Int] { sites.compactMap { if case .block(let b) = $0 { return b } else { return nil } } }
    var representation: Bool { sites.contains(.representation) }
}

/// The names a ResNet's taps go by (torchvision's module names) and their per-example shapes.
struct TapTable {
    /// In forward order: each block `layerS.I`, after a stage's last block the stage `layerS`, then
    /// `representation`.
    let entries: [(name: String, site: TapSite, shape: [Int])]
    let bySite: [String: (site: TapSite, shape: [Int])]
    /// For the error message: "layer1 ... layer4, layer1.0 ... layer4.2, representation".
    let summary: String

    init(weights: ResNetWeights, inputSize: Int) {
        // Spatial sizes as the engines compute them.
        func out(_ h: Int, _ cb: ConvBN) -> Int { (h + 2 * cb.pad - cb.kernel) / cb.stride + 1 }
        var h = out(inputSize, weights.stem)
        if weights.architecture.stem == "imagenet" { h = (h + 2 - 3) / 2 + 1 }
        var entries = [(name: String, site: TapSite, shape: [Int])]()
        var b = 0
        let stages = weights.architecture.blocksPerStage
        for (s, count) in stages.enumerated() {
            for i in 0..<count {
                let block = weights.blocks[b]
                let stride = block.convs.map(\.stride).max() ?? 1
                h = (h - 1) / stride + 1
                let shape = [block.convs.last!.outC, h, h]
                entries.append(("layer\(s + 1).\(i)", .block(b), shape))
                if i == count - 1 { entries.append(("layer\(s + 1)", .block(b), shape)) }
                b += 1
            }
        }
        entries.append(("representation", .representation, [weights.fcWeight.count / weights.architecture.numClasses]))
        self.entries = entries
        bySite = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, ($0.site, $0.shape)) })
        func range(_ first: String, _ last: String) -> String { first == last ? first : "\(first) ... \(last)" }
        summary = stages.isEmpty ? "representation" : range("layer1", "layer\(stages.count)") + ", "
            + range("layer1.0", "layer\(stages.count).\(stages.last! - 1)") + ", representation"
    }

    func site(_ name: String) throws -> (site: TapSite, shape: [Int]) {
        guard let s = bySite[name] else { throw ResNetError("no tap '\(name)' in this ResNet; it has \(summary)") }
        return s
    }
}
