import Foundation
import ImageIO
import RobustSynthCore

/// Judges a finished run folder's results again, after the fact, with a judge the run did not
/// use: the k-NN of the spec's `judge:` on another folder, or the linear pixel judge. The
/// acceptance tests and Examples/*/RESULTS.md report both, so a rate is never one judge's quirk.
public enum RunJudging {
    public enum Method: String, CaseIterable, Sendable { case knn, linear }
    /// Which image of each sample is judged: the result, the start PGD began from (the degraded
    /// image of super-resolution and inpainting; the seed where the task starts at the seed), or
    /// the seed. Judging the start says what the task added.
    public enum Subject: String, CaseIterable, Sendable { case result, start, seed }

    public struct Summary: Codable, Equatable {
        public var method: String
        public var subject: String
        public var dataset: String
        /// The linear judge's feature side; the k-NN's k.
        public var size: Int?
        public var k: Int?
        public var judged: Int
        public var recognised: Int
        public var agreement: Double
        /// How often the judge gets real labelled images right (`check` folder), when asked.
        public var check_dataset: String?
        public var check_accuracy: Double?
    }

    /// The largest whole divisor of `side` that is at most 14: 16 -> 8 (the digits' native
    /// resolution), 28 -> 14, 224 -> 14. Small enough that the ridge system is solved at once.
    public static func defaultSize(side: Int) -> Int {
        (1...min(14, side)).last { side % $0 == 0 } ?? 1
    }

    public static func judge(run: String, dataset: String, method: Method, subject: Subject = .result, k: Int = 5,
                             size: Int? = nil, ridge: Float = 0.1, check: String? = nil) throws -> Summary {
        let manifestPath = (run as NSString).appendingPathComponent("manifest.json")
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw RunError("\(run) has no manifest.json: not a finished run folder (run `rsynth run` into it first)")
        }
        let records = try RunFolder.records(in: run)
        guard !records.isEmpty else { throw RunError("\(run) holds no samples") }
        let results = try records.map { record -> Tensor in
            let image: String
            switch subject {
            case .result: image = record.image
            case .start: image = record.start_image ?? record.seed_image
            case .seed: image = record.seed_image
            }
            return try ImageFile.read((run as NSString).appendingPathComponent(image)).tensor()
        }
        let labels = try folderLabels(dataset)
        let dims = Array(results[0].shape.suffix(3))   // [C, H, W] of a [1, C, H, W] image
        let side = dims[2]
        let classify: (Tensor) -> Int
        var summary = Summary(method: method.rawValue, subject: subject.rawValue, dataset: dataset, judged: 0, recognised: 0, agreement: 0)
        switch method {
        case .linear:
            let s = size ?? defaultSize(side: side)
            let judge = try LinearPixelJudge(dataset: dataset, labels: labels, size: s, ridge: ridge)
            classify = judge.classify
            summary.size = s
        case .knn:
            let shape = ImageShape(channels: dims[0], height: dims[1], width: dims[2])
            let judge = try NearestNeighbourJudge(dataset: dataset, labels: labels, shape: shape, k: k)
            classify = { judge.classify(Resample.classifierInput($0, height: shape.height, width: shape.width).data[...]) }
            summary.k = k
        }
        for (record, image) in zip(records, results) {
            // An item without a target class (inversion) is judged against its source's class.
            guard let want = record.target >= 0 ? record.target : record.source_label else { continue }
            summary.judged += 1
            if classify(image) == want { summary.recognised += 1 }
        }
        summary.agreement = summary.judged == 0 ? 0 : Double(summary.recognised) / Double(summary.judged)
        if let check {
            let data = try ImageFolderDataset(root: check, labels: labels)
            let right = try data.items.filter { classify(try ImageFile.read($0.path).tensor()) == $0.label }.count
            summary.check_dataset = check
            summary.check_accuracy = data.items.isEmpty ? 0 : Double(right) / Double(data.items.count)
        }
        return summary
    }

    /// Class folders named 0 ... K-1 (the demos), else ImageNet's names or WordNet ids.
    static func folderLabels(_ dataset: String) throws -> ClassLabels {
        let names = try FileChecks.entries(dataset).compactMap(\.name).filter { !$0.hasPrefix(".") }
        let numbers = names.compactMap(Int.init)
        if !numbers.isEmpty, numbers.count == names.count { return .numbered((numbers.max() ?? 0) + 1) }
        return .imageNet
    }

    public static func describe(_ s: Summary) -> String {
        let who = s.method == "linear" ? "the linear judge (ridge on \(s.size ?? 0)x\(s.size ?? 0) grey pixels of \(s.dataset))"
                                       : "\(s.k ?? 0)-NN on \(s.dataset)"
        let what = s.subject == "result" ? "results" : "\(s.subject) images"
        var text = String(format: "%d of %d %@ (%.1f%%) recognised as their target by %@", s.recognised, s.judged, what, s.agreement * 100, who)
        if let a = s.check_accuracy, let c = s.check_dataset { text += String(format: "; it is right on %.1f%% of the real images in %@", a * 100, c) }
        return text
    }
}
