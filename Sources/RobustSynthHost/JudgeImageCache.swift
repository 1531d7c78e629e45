import Foundation
import ImageIO
import RobustSynthCore

/// The k-NN judge's training images, decoded and resized to the classifier's input, kept in the
/// cache folder ($RSYNTH_CACHE_DIR, else $XDG_CACHE_HOME/rsynth, else ~/.cache/rsynth) as one
/// file per dataset and input size, so a run reads one file instead of decoding every image
/// again (1437 PNGs, about 0.14 s of a 2 s digits run).
///
/// judge-v1-KEY.f32: "RSJUDGE1", then m and d (UInt64, little-endian), then m*d float32. KEY
/// hashes the input shape and every image's real path, label, size and modification time, so a
/// changed, added or removed image makes another key. A file whose length is not exactly what
/// its header says is ignored and written again; it is written atomically.
public enum JudgeImageCache {
    static let magic = Array("RSJUDGE1".utf8)

    public static func folder(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        PluginScanner.cacheFolder(environment: environment)
    }

    /// The file for these images at this shape, or nil when an image cannot be stat'ed (then
    /// the caller decodes and gets the image's own error).
    static func path(items: [ImageFolderDataset.Item], shape: ImageShape, folder: String) -> String? {
        // One line per image, tab-separated, hashed as spec fingerprints are (FNV-1a, 64 bits).
        var key = "v1 \(shape.channels)x\(shape.height)x\(shape.width) \(items.count)\n"
        for item in items {
            guard let id = FileIdentity(item.path) else { return nil }
            key += "\(id.path)\t\(item.label)\t\(id.size)\t\(id.mtimeNs)\n"
        }
        let hash = PipelineRunner.fingerprint(key).dropFirst("fnv1a64:".count)
        return (folder as NSString).appendingPathComponent("judge-v1-\(hash).f32")
    }

    /// The m*d floats stored, or nil (no file, or not one of ours of this size).
    static func read(_ path: String, count m: Int, dimension d: Int) -> [Float]? {
        guard let data = FileManager.default.contents(atPath: path), data.count == 24 + m * d * 4 else { return nil }
        let bytes = [UInt8](data)
        guard Array(bytes[0..<8]) == magic else { return nil }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        guard u64(8) == UInt64(m), u64(16) == UInt64(d) else { return nil }
        var out = [Float](repeating: 0, count: m * d)
        out.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[24...])) } }
        return out
    }

    /// Best effort: a cache that cannot be written only costs the next run the decoding.
    static func write(_ points: [Float], count m: Int, dimension d: Int, to path: String) {
        var data = Data(magic)
        for v in [UInt64(m), UInt64(d)] { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        points.withUnsafeBytes { data.append(contentsOf: $0) }
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? AtomicFile.write(data, to: path)
    }
}
