import Foundation
import RobustSynthCore

/// The fitted seed distribution of one class at resolution R (d = 3 * R * R values, CHW order).
public struct SeedClassModel: Sendable, Equatable {
    /// Class index in the labels the dataset was read with.
    public var label: Int
    public var name: String
    /// Number of images n the class was fitted on (at least 2).
    public var count: Int
    /// Per-pixel mean (d values).
    public var mean: [Float]
    /// Per-pixel unbiased variance (divided by n - 1).
    public var variance: [Float]
    /// The centred data matrix D, n x d row-major: row i = image i - mean. The empirical
    /// covariance is D^T D / (n - 1); it is never formed.
    public var centred: [Float]

    public init(label: Int, name: String, count: Int, mean: [Float], variance: [Float], centred: [Float]) {
        precondition(mean.count == variance.count && centred.count == count * mean.count)
        self.label = label; self.name = name; self.count = count
        self.mean = mean; self.variance = variance; self.centred = centred
    }

    public var dimension: Int { mean.count }

    /// Builds a class model from its n x d data (rows = images), in Double accumulation.
    public init(label: Int, name: String, rows: [Float], count n: Int, dimension d: Int) {
        precondition(n >= 2 && rows.count == n * d)
        var sum = [Double](repeating: 0, count: d)
        rows.withUnsafeBufferPointer { r in
            for i in 0..<n { for k in 0..<d { sum[k] += Double(r[i * d + k]) } }
        }
        let meanD = sum.map { $0 / Double(n) }
        var centred = rows
        var sq = [Double](repeating: 0, count: d)
        centred.withUnsafeMutableBufferPointer { c in
            for i in 0..<n {
                for k in 0..<d {
                    let v = Double(c[i * d + k]) - meanD[k]
                    c[i * d + k] = Float(v)
                    sq[k] += v * v
                }
            }
        }
        self.init(label: label, name: name, count: n, mean: meanD.map { Float($0) },
                  variance: sq.map { Float($0 / Double(n - 1)) }, centred: centred)
    }
}

/// Per-class seed distributions fitted on a dataset (the seed paper's class-conditional
/// univariate and multivariate normals), plus where they came from.
public struct SeedModel: Sendable, Equatable {
    /// How images were brought to R x R before fitting.
    public enum Preprocess: String, Sendable, CaseIterable {
        /// ImageNet eval transform (shorter side 256, centre 224), then area-average to R x R
        /// (for R = 56 an exact 4 x 4 box average, as MadryLab's notebook).
        case imageNetEval = "imagenet-eval"
        /// The largest centred square, area-averaged to R x R (small data sets).
        case centreSquare = "centre-square"

        var code: UInt32 { self == .imageNetEval ? 0 : 1 }
        init?(code: UInt32) {
            switch code { case 0: self = .imageNetEval; case 1: self = .centreSquare; default: return nil }
        }
    }

    public static let formatVersion: UInt32 = 1
    public static let magic: [UInt8] = Array("RSYNSEED".utf8)
    public static let endMarker: [UInt8] = Array("RSYNEND\0".utf8)

    public var resolution: Int
    public var preprocess: Preprocess
    public var datasetPath: String
    public var classes: [SeedClassModel]

    public init(resolution: Int, preprocess: Preprocess, datasetPath: String, classes: [SeedClassModel]) {
        self.resolution = resolution; self.preprocess = preprocess
        self.datasetPath = datasetPath; self.classes = classes
    }

    public var dimension: Int { 3 * resolution * resolution }

    /// The model of class index `label`, or nil.
    public func classModel(_ label: Int) -> SeedClassModel? { classes.first { $0.label == label } }

    // MARK: file format

    /// Writes the model atomically (see `SeedModelWriter` for the layout).
    public func write(to path: String) throws {
        let w = try SeedModelWriter(path: path, resolution: resolution, preprocess: preprocess,
                                    datasetPath: datasetPath, classCount: classes.count)
        do {
            for c in classes { try w.append(c) }
            try w.finish()
        } catch {
            w.abandon()
            throw error
        }
    }

    /// Reads a seed-model file. Another format version, a foreign file or a truncated file gives
    /// an `ImageError` naming the file.
    public static func read(_ path: String) throws -> SeedModel {
        if let why = FileChecks.notRegularFile(path) { throw ImageError("cannot read seed model '\(path)': \(why)") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw ImageError("cannot read seed model '\(path)': \(FileChecks.reason(error))")
        }
        return try decode(data, path: path)
    }

    /// Reads a seed model from bytes already in memory; `path` is only used to name it.
    public static func decode(_ data: Data, path: String) throws -> SeedModel {
        try data.withUnsafeBytes { raw -> SeedModel in
            var r = ByteReader(raw: raw, path: path)
            guard raw.count >= 8, Array(raw.prefix(8)) == magic else {
                throw ImageError("'\(path)' is not a RobustSynth seed-model file (no RSYNSEED signature)")
            }
            r.offset = 8
            let version = try r.u32("the format version")
            guard version == formatVersion else {
                throw ImageError("seed model '\(path)' has format version \(version); this build reads version \(formatVersion): fit it again with `rsynth seeds fit`")
            }
            let resolution = Int(try r.u32("the resolution"))
            let channels = try r.u32("the channel count")
            let pcode = try r.u32("the preprocessing")
            let classCount = Int(try r.u32("the class count"))
            guard channels == 3, resolution > 0, resolution <= 4096, let pre = Preprocess(code: pcode) else {
                throw ImageError("seed model '\(path)' has an invalid header (resolution \(resolution), channels \(channels), preprocessing \(pcode))")
            }
            let dataset = try r.string("the dataset path")
            let d = 3 * resolution * resolution
            var classes = [SeedClassModel]()
            for k in 0..<classCount {
                let what = "class \(k + 1) of \(classCount)"
                let label = Int(Int32(bitPattern: try r.u32(what)))
                let name = try r.string(what)
                let n = Int(try r.u32(what))
                guard n >= 2 else { throw ImageError("seed model '\(path)': \(what) (\(name)) has \(n) images; at least 2 are needed") }
                let mean = try r.floats(d, what)
                let variance = try r.floats(d, what)
                let centred = try r.floats(n * d, what)
                classes.append(SeedClassModel(label: label, name: name, count: n, mean: mean, variance: variance, centred: centred))
            }
            guard raw.count - r.offset >= 8 else {
                throw ImageError("seed model '\(path)' is truncated: the end marker is missing (\(raw.count) bytes)")
            }
            guard Array(raw[r.offset..<(r.offset + 8)]) == endMarker, raw.count == r.offset + 8 else {
                throw ImageError("seed model '\(path)' is damaged: unexpected bytes after the last class")
            }
            return SeedModel(resolution: resolution, preprocess: pre, datasetPath: dataset, classes: classes)
        }
    }
}

struct ByteReader {
    let raw: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    init(raw: UnsafeRawBufferPointer, path: String) { self.raw = raw; self.path = path }

    mutating func need(_ n: Int, _ what: String) throws {
        if n < 0 || raw.count - offset < n {
            throw ImageError("seed model '\(path)' is truncated: it has \(raw.count) bytes, but \(what) needs \(n) bytes at offset \(offset)")
        }
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what)
        let v = raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        offset += 4
        return UInt32(littleEndian: v)
    }

    mutating func string(_ what: String) throws -> String {
        let n = Int(try u32(what))
        try need(n, what)
        let s = String(decoding: raw[offset..<(offset + n)], as: UTF8.self)
        offset += n
        return s
    }

    mutating func floats(_ count: Int, _ what: String) throws -> [Float] {
        try need(count * 4, what)
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBytes { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count * 4)]))
        }
        offset += count * 4
        return out  // the file is little-endian, as is every platform Swift runs on here
    }
}

/// Streams a seed-model file class by class to a temporary name, renamed into place by `finish`.
///
/// Layout (all integers little-endian u32 unless said otherwise, floats IEEE float32 LE):
///
///     "RSYNSEED"                 8 bytes magic
///     version                    1
///     resolution R
///     channels                   3
///     preprocessing              0 = imagenet-eval, 1 = centre-square
///     class count K
///     dataset path               u32 byte length + UTF-8
///     K times:
///       class index              i32
///       class name               u32 byte length + UTF-8
///       count n                  (>= 2)
///       mean                     d floats (d = 3 R R, CHW order)
///       variance                 d floats (unbiased, / (n - 1))
///       D                        n x d floats, row i = image i - mean
///     "RSYNEND\0"                8 bytes end marker
public final class SeedModelWriter {
    public let path: String
    let temp: String
    let handle: FileHandle
    let dimension: Int
    let classCount: Int
    var written = 0
    var done = false

    public init(path: String, resolution: Int, preprocess: SeedModel.Preprocess, datasetPath: String, classCount: Int) throws {
        self.path = path
        self.temp = AtomicFile.temporaryPath(for: path)
        self.dimension = 3 * resolution * resolution
        self.classCount = classCount
        guard FileManager.default.createFile(atPath: temp, contents: nil),
              let h = FileHandle(forWritingAtPath: temp) else {
            throw ImageError("cannot write seed model '\(path)': cannot create a file in its folder")
        }
        handle = h
        var head = Data(SeedModel.magic)
        for v in [SeedModel.formatVersion, UInt32(resolution), 3, preprocess.code, UInt32(classCount)] { head.appendU32(v) }
        head.appendString(datasetPath)
        try put(head)
    }

    func put(_ d: Data) throws {
        do { try handle.write(contentsOf: d) } catch {
            throw ImageError("cannot write seed model '\(path)': \(FileChecks.reason(error))")
        }
    }

    public func append(_ c: SeedClassModel) throws {
        precondition(c.dimension == dimension && written < classCount)
        var head = Data()
        head.appendU32(UInt32(bitPattern: Int32(c.label)))
        head.appendString(c.name)
        head.appendU32(UInt32(c.count))
        try put(head)
        for array in [c.mean, c.variance, c.centred] {
            // in chunks, so a large D is not copied whole
            let chunk = 1 << 20
            var start = 0
            while start < array.count {
                let end = Swift.min(array.count, start + chunk)
                let d = array[start..<end].withUnsafeBytes { Data($0) }
                try put(d)
                start = end
            }
        }
        written += 1
    }

    /// Writes the end marker, closes and renames into place.
    public func finish() throws {
        precondition(written == classCount, "seed model: \(written) of \(classCount) classes written")
        try put(Data(SeedModel.endMarker))
        try? handle.close()
        done = true
        try AtomicFile.commit(temp, to: path, what: "seed model ")
    }

    /// Removes the temporary file (after an error).
    public func abandon() {
        if !done { try? handle.close(); unlink(temp); done = true }
    }

    deinit { abandon() }
}

extension Data {
    mutating func appendU32(_ v: UInt32) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }
    mutating func appendString(_ s: String) {
        let b = Array(s.utf8)
        appendU32(UInt32(b.count))
        append(contentsOf: b)
    }
}
