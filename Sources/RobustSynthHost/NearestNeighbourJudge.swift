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
    let points: [Float]   // [m, d]
    let labels: [Int]

    public init(dataset: String, labels classLabels: ClassLabels, shape: ImageShape, k: Int) throws {
        let data = try ImageFolderDataset(root: dataset, labels: classLabels)
        if !data.skipped.isEmpty {
            FileHandle.standardError.write(Data("rsynth: warning: judge: \(ImageFolderDataset.skippedText(data.skipped))\n".utf8))
        }
        var points = [Float]()
        points.reserveCapacity(data.items.count * shape.count)
        for item in data.items {
            points += Resample.classifierInput(try ImageFile.read(item.path).tensor(), height: shape.height, width: shape.width).data
        }
        self.k = k; self.dataset = dataset; self.shape = shape
        self.points = points
        self.labels = data.items.map(\.label)
    }

    /// The majority class of the k nearest images; a tie goes to the class of the nearest.
    public func classify(_ x: ArraySlice<Float>) -> Int {
        let d = shape.count
        precondition(x.count == d)
        var nearest = [(Float, Int)]()
        let base = x.startIndex
        points.withUnsafeBufferPointer { p in
            for i in 0..<labels.count {
                var s: Float = 0
                for j in 0..<d { let t = p[i * d + j] - x[base + j]; s += t * t }
                if nearest.count < k || s < nearest.last!.0 {
                    nearest.append((s, labels[i]))
                    nearest.sort { $0.0 < $1.0 }
                    if nearest.count > k { nearest.removeLast() }
                }
            }
        }
        var votes = [Int: Int]()
        for (_, l) in nearest { votes[l, default: 0] += 1 }
        let top = votes.values.max() ?? 0
        return nearest.first { votes[$0.1] == top }?.1 ?? -1
    }
}
