import Foundation
import ImageIO
import RobustSynthCore

/// An independent judge of results: k-nearest neighbours (Euclidean, on raw pixels at the
/// classifier's input size) over a folder of real labelled images. It never sees the classifier,
/// so "the judge recognises the target" is evidence that a person would too, not that the
/// classifier was fooled.
public final class NearestNeighbourJudge {
    public let k: Int
    public let dataset: String
    let shape: ImageShape
    let labels: [Int]
    /// The images eight at a time, transposed: blocks[b * d + j][lane] = pixel j of image 8b + lane
    /// (lanes past m are zero; their distances are dropped). The only copy of the images.
    let blocks: [SIMD8<Float>]
    let blockCount: Int

    /// Pixel j of image i, from `blocks`.
    func pixel(_ i: Int, _ j: Int) -> Float { blocks[(i / 8) * shape.count + j][i % 8] }

    /// The images as [m, d], rebuilt from `blocks` (for tests: the judge does not keep them twice).
    var points: [Float] { (0..<labels.count).flatMap { i in (0..<shape.count).map { j in pixel(i, j) } } }

    /// `cacheFolder`: where the decoded images are kept between runs (nil: decode every time).
    public convenience init(dataset: String, labels classLabels: ClassLabels, shape: ImageShape, k: Int,
                            cacheFolder: String? = JudgeImageCache.folder()) throws {
        let data = try ImageFolderDataset(root: dataset, labels: classLabels)
        if !data.skipped.isEmpty {
            FileHandle.standardError.write(Data("rsynth: warning: judge: \(ImageFolderDataset.skippedText(data.skipped))\n".utf8))
        }
        let (m, d) = (data.items.count, shape.count)
        // Decoded once per dataset and input size (JudgeImageCache), then read back.
        let cached = cacheFolder.flatMap { JudgeImageCache.path(items: data.items, shape: shape, folder: $0) }
        var points = cached.flatMap { JudgeImageCache.read($0, count: m, dimension: d) } ?? []
        if points.isEmpty {
            points.reserveCapacity(m * d)
            for item in data.items {
                points += Resample.classifierInput(try ImageFile.read(item.path).tensor(), height: shape.height, width: shape.width).data
            }
            if let cached, m > 0 { JudgeImageCache.write(points, count: m, dimension: d, to: cached) }
        }
        self.init(points: points, labels: data.items.map(\.label), shape: shape, k: k, dataset: dataset)
    }

    /// The judge of `points` ([m, d], d = shape.count) with their labels.
    init(points: [Float], labels: [Int], shape: ImageShape, k: Int, dataset: String) {
        precondition(points.count == labels.count * shape.count)
        self.k = k; self.dataset = dataset; self.shape = shape
        self.labels = labels
        let (m, d) = (labels.count, shape.count)
        blockCount = (m + 7) / 8
        var blocks = [SIMD8<Float>](repeating: .zero, count: blockCount * d)
        for i in 0..<m {
            for j in 0..<d { blocks[(i / 8) * d + j][i % 8] = points[i * d + j] }
        }
        self.blocks = blocks
    }

    /// The majority class of the k nearest images; a tie goes to the class of the nearest.
    public func classify(_ x: ArraySlice<Float>) -> Int {
        vote(nearest(squaredDistances(x)))
    }

    /// The squared distance from x to each image, [m]. Eight images at a time, one per SIMD lane,
    /// from `blocks`: each lane adds its d terms in the same order as `referenceSquaredDistances`,
    /// with the same roundings (separate multiply and add), so the two agree bit for bit; four
    /// blocks at a time keep it from waiting on one long chain of dependent additions.
    func squaredDistances(_ x: ArraySlice<Float>) -> [Float] {
        let d = shape.count
        precondition(x.count == d)
        let m = labels.count
        let xs = x.map { SIMD8<Float>(repeating: $0) }
        var out = [Float](repeating: 0, count: blockCount * 8)
        blocks.withUnsafeBufferPointer { p in
            xs.withUnsafeBufferPointer { q in
                // Four blocks at once: four independent chains of additions.
                var b = 0
                while b + 4 <= blockCount {
                    var a0 = SIMD8<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0
                    let (b0, b1, b2, b3) = (b * d, (b + 1) * d, (b + 2) * d, (b + 3) * d)
                    for j in 0..<d {
                        let x = q[j]
                        let t0 = p[b0 + j] - x, t1 = p[b1 + j] - x, t2 = p[b2 + j] - x, t3 = p[b3 + j] - x
                        a0 += t0 * t0; a1 += t1 * t1; a2 += t2 * t2; a3 += t3 * t3
                    }
                    for lane in 0..<8 {
                        out[b * 8 + lane] = a0[lane]; out[(b + 1) * 8 + lane] = a1[lane]
                        out[(b + 2) * 8 + lane] = a2[lane]; out[(b + 3) * 8 + lane] = a3[lane]
                    }
                    b += 4
                }
                for b in b..<blockCount {
                    var acc = SIMD8<Float>(repeating: 0)
                    let base = b * d
                    for j in 0..<d {
                        let t = p[base + j] - q[j]
                        acc += t * t
                    }
                    for lane in 0..<8 { out[b * 8 + lane] = acc[lane] }
                }
            }
        }
        return Array(out.prefix(m))
    }

    /// The plain loop `squaredDistances` must equal: image by image, term by term.
    func referenceSquaredDistances(_ x: ArraySlice<Float>) -> [Float] {
        let d = shape.count
        precondition(x.count == d)
        let base = x.startIndex
        return (0..<labels.count).map { i in
            var s: Float = 0
            for j in 0..<d { let t = pixel(i, j) - x[base + j]; s += t * t }
            return s
        }
    }

    /// The k smallest distances with their labels, nearest first (the first image wins a tie).
    func nearest(_ distances: [Float]) -> [(Float, Int)] {
        var nearest = [(Float, Int)]()
        for (i, s) in distances.enumerated() where nearest.count < k || s < nearest.last!.0 {
            nearest.append((s, labels[i]))
            nearest.sort { $0.0 < $1.0 }
            if nearest.count > k { nearest.removeLast() }
        }
        return nearest
    }

    func vote(_ nearest: [(Float, Int)]) -> Int {
        var votes = [Int: Int]()
        for (_, l) in nearest { votes[l, default: 0] += 1 }
        let top = votes.values.max() ?? 0
        return nearest.first { votes[$0.1] == top }?.1 ?? -1
    }
}
