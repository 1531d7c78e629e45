import CImageCodecs
import Foundation
import RobustSynthCore

/// An 8-bit RGB image, pixels interleaved row by row (R, G, B, R, G, B, ...).
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// A flat-colour image.
    public init(width: Int, height: Int, red: UInt8, green: UInt8, blue: UInt8) {
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { p[3 * i] = red; p[3 * i + 1] = green; p[3 * i + 2] = blue }
        self.init(width: width, height: height, pixels: p)
    }

    /// The image as a tensor [1, 3, H, W] (NCHW), value = byte / 255.
    public func tensor() -> Tensor {
        let n = width * height
        var data = [Float](repeating: 0, count: 3 * n)
        pixels.withUnsafeBufferPointer { src in
            data.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    dst[i] = Float(src[3 * i]) / 255
                    dst[n + i] = Float(src[3 * i + 1]) / 255
                    dst[2 * n + i] = Float(src[3 * i + 2]) / 255
                }
            }
        }
        return Tensor(shape: [1, 3, height, width], data: data)
    }

    /// Example `index` of an image tensor [N, 3, H, W] or [3, H, W] (values in [0, 1]) as bytes:
    /// round(clamp(v, 0, 1) * 255), NaN as 0. Callers that save results use
    /// `ImageFile.requireFinite` first, so a NaN is reported rather than drawn.
    public init(tensor: Tensor, index: Int = 0) {
        let s = tensor.shape
        precondition((s.count == 4 && s[1] == 3) || (s.count == 3 && s[0] == 3),
                     "RGBImage(tensor:) needs [N,3,H,W] or [3,H,W], got \(s)")
        let h = s[s.count - 2], w = s[s.count - 1], n = h * w
        let base = s.count == 4 ? index * 3 * n : 0
        var p = [UInt8](repeating: 0, count: 3 * n)
        tensor.data.withUnsafeBufferPointer { src in
            for i in 0..<n {
                for c in 0..<3 {
                    // NaN (which min/max pass through, and UInt8() traps on) becomes 0.
                    let x = src[base + c * n + i]
                    let v = x.isNaN ? 0 : Swift.min(Swift.max(x, 0), 1)
                    p[3 * i + c] = UInt8((v * 255).rounded())
                }
            }
        }
        self.init(width: w, height: h, pixels: p)
    }

    /// Every example of an image tensor [N, 3, H, W] as an image.
    public static func images(from tensor: Tensor) -> [RGBImage] {
        (0..<tensor.batch).map { RGBImage(tensor: tensor, index: $0) }
    }

    /// Nearest-neighbour enlargement by an integer factor.
    public func scaledUp(by factor: Int) -> RGBImage {
        precondition(factor >= 1)
        if factor == 1 { return self }
        let w2 = width * factor, h2 = height * factor
        var p = [UInt8](repeating: 0, count: w2 * h2 * 3)
        for y in 0..<h2 {
            let sy = y / factor
            for x in 0..<w2 {
                let s = 3 * (sy * width + x / factor), d = 3 * (y * w2 + x)
                p[d] = pixels[s]; p[d + 1] = pixels[s + 1]; p[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(width: w2, height: h2, pixels: p)
    }
}

/// A failure to read, decode, write or interpret an image or image-derived file.
/// The message names the file and the reason.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    /// For an image that could not be read: why, without the file name (which `message` has).
    public var reason: String?
    public init(_ message: String) { self.message = message }

    /// "cannot read image 'PATH': REASON", keeping the reason apart for callers that list files.
    static func unreadable(_ path: String, _ reason: String) -> ImageError {
        var e = ImageError("cannot read image '\(path)': \(reason)")
        e.reason = reason
        return e
    }
    public var description: String { message }
    public var localizedDescription: String { message }
}

/// Reading and writing image files.
public enum ImageFile {
    /// File name extensions (lower case) that `read` understands.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// The most pixels a decoded image may have: 64 megapixels (192 MB of RGB), or the positive
    /// integer in the environment variable RSYNTH_MAX_IMAGE_PIXELS. Checked against the size a file's
    /// header declares before any pixel buffer is allocated, so a small file cannot claim gigabytes.
    public static let defaultMaxPixels = 64 << 20
    public static let maxPixelsVariable = "RSYNTH_MAX_IMAGE_PIXELS"

    public static func maxPixels() throws -> Int {
        guard let text = ProcessInfo.processInfo.environment[maxPixelsVariable] else { return defaultMaxPixels }
        guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n > 0 else {
            throw ImageError("\(maxPixelsVariable) must be a positive number of pixels, got '\(text)'")
        }
        return n
    }

    /// Reads a PNG or JPEG (recognised by content, not name) as 8-bit RGB.
    public static func read(_ path: String) throws -> RGBImage {
        try decode(readBytes(path), name: path)
    }

    /// Decodes PNG or JPEG bytes; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String) throws -> RGBImage {
        let isPNG = bytes.count >= 8 && bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let isJPEG = bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF
        guard isPNG || isJPEG else {
            if bytes.isEmpty { throw ImageError.unreadable(name, "the file is empty") }
            let head = bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ImageError.unreadable(name, "not a PNG or JPEG file (it starts with \(head))")
        }
        let limit: Int
        do { limit = try maxPixels() } catch let e as ImageError { throw ImageError.unreadable(name, e.message) }
        var w: Int32 = 0, h: Int32 = 0
        var out: UnsafeMutablePointer<UInt8>?
        var err = [CChar](repeating: 0, count: 512)
        let rc = bytes.withUnsafeBufferPointer { b in
            isPNG ? ic_decode_png(b.baseAddress, b.count, limit, &w, &h, &out, &err, err.count)
                  : ic_decode_jpeg(b.baseAddress, b.count, limit, &w, &h, &out, &err, err.count)
        }
        if rc == 2 {
            throw ImageError.unreadable(name, "\(isPNG ? "PNG" : "JPEG"): the header declares \(w)x\(h) pixels, more than the limit of \(limit) (set \(maxPixelsVariable) to raise it)")
        }
        guard rc == 0, let out else {
            let reason = String(cString: err)
            throw ImageError.unreadable(name, "\(isPNG ? "PNG" : "JPEG"): \(reason)")
        }
        defer { ic_free(out) }
        let n = Int(w) * Int(h) * 3
        return RGBImage(width: Int(w), height: Int(h), pixels: Array(UnsafeBufferPointer(start: out, count: n)))
    }

    /// Throws unless every value of `tensor` is finite: an image written from NaN or infinity
    /// would hide a failed computation behind black or white pixels.
    public static func requireFinite(_ tensor: Tensor, for path: String) throws {
        guard let i = tensor.data.firstIndex(where: { !$0.isFinite }) else { return }
        let bad = tensor.data.lazy.filter { !$0.isFinite }.count
        var index = [Int](repeating: 0, count: tensor.shape.count), rest = i
        for d in tensor.shape.indices.reversed() where tensor.shape[d] > 0 {
            index[d] = rest % tensor.shape[d]; rest /= tensor.shape[d]
        }
        throw ImageError("cannot write image '\(path)': the tensor \(tensor.shape) has \(bad) non-finite value\(bad == 1 ? "" : "s") (the first, \(tensor.data[i]), at \(index))")
    }

    /// Example `index` of an image tensor as a PNG, refused if it holds NaN or infinity; returns
    /// the 8-bit image written (what reading the file back gives).
    @discardableResult
    public static func writePNG(_ tensor: Tensor, index: Int = 0, to path: String) throws -> RGBImage {
        try requireFinite(tensor, for: path)
        let image = RGBImage(tensor: tensor, index: index)
        try writePNG(image, to: path)
        return image
    }

    /// Writes an 8-bit RGB PNG atomically (a temporary name in the same folder, then rename).
    public static func writePNG(_ image: RGBImage, to path: String) throws {
        try AtomicFile.write(to: path) { temp in
            var err = [CChar](repeating: 0, count: 512)
            let rc = image.pixels.withUnsafeBufferPointer {
                ic_write_png_rgb8(temp, $0.baseAddress, Int32(image.width), Int32(image.height), &err, err.count)
            }
            if rc != 0 { throw ImageError("cannot write PNG '\(path)': \(String(cString: err))") }
        }
    }

    /// Writes an 8-bit RGB baseline JPEG atomically.
    public static func writeJPEG(_ image: RGBImage, to path: String, quality: Int = 90) throws {
        try AtomicFile.write(to: path) { temp in
            var err = [CChar](repeating: 0, count: 512)
            let rc = image.pixels.withUnsafeBufferPointer {
                ic_write_jpeg_rgb8(temp, $0.baseAddress, Int32(image.width), Int32(image.height),
                                   Int32(quality), &err, err.count)
            }
            if rc != 0 { throw ImageError("cannot write JPEG '\(path)': \(String(cString: err))") }
        }
    }

    /// The bytes of a regular file. Anything else (a folder, a FIFO, a device) is refused
    /// without blocking: checked with stat first, opened O_NONBLOCK and checked again (fstat).
    static func readBytes(_ path: String) throws -> [UInt8] {
        if let why = FileChecks.notRegularFile(path) { throw ImageError.unreadable(path, why) }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError.unreadable(path, String(cString: strerror(errno))) }
        var st = stat()
        if fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw ImageError.unreadable(path, FileChecks.kindProblem(st.st_mode) ?? "it is not a regular file")
        }
        let fh = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            let data = try fh.readToEnd() ?? Data()
            return [UInt8](data)
        } catch {
            throw ImageError.unreadable(path, FileChecks.reason(error))
        }
    }
}

/// Atomic file replacement: write a temporary file in the destination's folder, then rename.
public enum AtomicFile {
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-" + token
    }

    /// Calls `body` with a temporary path, then renames it onto `path`. On failure the temporary
    /// file is removed and `path` is untouched.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        let temp = temporaryPath(for: path)
        do {
            try body(temp)
        } catch {
            unlink(temp)
            throw error
        }
        try commit(temp, to: path, what: "")
    }

    /// Renames the finished temporary file onto `path`; on failure removes it and throws
    /// "cannot write WHAT'PATH': reason".
    public static func commit(_ temp: String, to path: String, what: String) throws {
        if rename(temp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw ImageError("cannot write \(what)'\(path)': \(reason)")
        }
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { temp in
            guard FileManager.default.createFile(atPath: temp, contents: data) else {
                throw ImageError("cannot write '\(path)': cannot create a file in its folder")
            }
        }
    }
}
