import CImageCodecs
import Foundation
import RobustSynthCore

/// An 8-bit RGB image, pixels interleaved row by row.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3)
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// From a [3, H, W] or [1, 3, H, W] tensor in [0, 1]: round(clamp(v) * 255).
    public init(tensor t: Tensor) {
        let h = t.shape[t.shape.count - 2], w = t.shape[t.shape.count - 1]
        var px = [UInt8](repeating: 0, count: h * w * 3)
        for c in 0..<3 { for i in 0..<(h * w) {
            px[i * 3 + c] = UInt8((min(max(t.data[c * h * w + i], 0), 1) * 255).rounded())
        } }
        self.init(width: w, height: h, pixels: px)
    }
}

public struct ImageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum ImageFile {
    public static func read(_ path: String) throws -> RGBImage {
        var px: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0
        var error = [CChar](repeating: 0, count: 256)
        if ic_read_png_rgb8(path, &px, &w, &h, &error, error.count) != 0 {
            throw ImageError("\(path): cannot read image: \(String(cString: error))")
        }
        defer { free(px) }
        return RGBImage(width: Int(w), height: Int(h), pixels: Array(UnsafeBufferPointer(start: px, count: Int(w * h * 3))))
    }

    /// Writes a PNG atomically: a temporary name in the same folder, then rename.
    public static func writePNG(_ image: RGBImage, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        var error = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer {
            ic_write_png_rgb8(tmp, $0.baseAddress, Int32(image.width), Int32(image.height), &error, error.count)
        }
        if status != 0 { throw ImageError("\(path): cannot write PNG: \(String(cString: error))") }
        if rename(tmp, path) != 0 { throw ImageError("\(path): cannot rename \(tmp): \(String(cString: strerror(errno)))") }
    }
}

public enum NPYFile {
    /// Writes float32 little-endian .npy (format 1.0), atomically.
    public static func write(_ t: Tensor, to path: String) throws {
        let shape = t.shape.map(String.init).joined(separator: ", ") + (t.shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape)), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        t.data.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
