import Foundation
import ImageIO
import RobustSynthCore
import RSynthTestSupport
import XCTest

/// Issue 11's hostile images and non-finite tensors: a header that declares a huge image is
/// refused before any pixel buffer exists (the limit is RSYNTH_MAX_IMAGE_PIXELS, 64 megapixels by
/// default), and NaN never reaches a UInt8 conversion.
final class HostileImageTests: XCTestCase {
    static let limitMessage = "more than the limit of 67108864 (set RSYNTH_MAX_IMAGE_PIXELS to raise it)"

    /// A real 16x16 JPEG whose SOF0 claims 40000x40000, its end marker cut off (once a 4.8 GB abort).
    func hugeJPEG(_ dir: String) throws -> String {
        try ImageFile.writeJPEG(RGBImage(width: 16, height: 16, red: 9, green: 99, blue: 199), to: dir + "/small.jpg")
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/small.jpg")))
        let sof = try XCTUnwrap((0..<(b.count - 1)).first { b[$0] == 0xFF && b[$0 + 1] == 0xC0 })
        b[sof + 5] = 0x9C; b[sof + 6] = 0x40; b[sof + 7] = 0x9C; b[sof + 8] = 0x40  // height, width: 40000
        let path = dir + "/huge.jpg"
        try Data(b.prefix(b.count - 2)).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A real 100x100 PNG whose IHDR (CRC fixed) claims 16000x16000.
    func hugePNG(_ dir: String) throws -> String {
        try ImageFile.writePNG(RGBImage(width: 100, height: 100, red: 1, green: 2, blue: 3), to: dir + "/small.png")
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/small.png")))
        // Signature (8), IHDR length (4), "IHDR" (4) at 12, width at 16, height at 20, CRC at 29.
        for (at, v) in [(16, UInt32(16000)), (20, UInt32(16000)), (29, Self.crc32(b[12..<29], patching: [16: 16000, 20: 16000]))] {
            for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i))) }
        }
        let path = dir + "/huge.png"
        try Data(b).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// CRC-32 (PNG's) of `bytes` with the big-endian words at the given file offsets replaced.
    static func crc32(_ bytes: ArraySlice<UInt8>, patching: [Int: UInt32]) -> UInt32 {
        var data = Array(bytes)
        for (at, v) in patching { for i in 0..<4 { data[at - bytes.startIndex + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i))) } }
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    func testHugeDeclaredImagesAreRefusedBeforeDecoding() throws {
        let dir = makeTempDir(self)
        let jpeg = try hugeJPEG(dir), png = try hugePNG(dir)
        XCTAssertThrowsError(try ImageFile.read(jpeg)) { e in
            XCTAssertEqual("\(e)", "cannot read image '\(jpeg)': JPEG: the header declares 40000x40000 pixels, \(Self.limitMessage)")
        }
        XCTAssertThrowsError(try ImageFile.read(png)) { e in
            XCTAssertEqual("\(e)", "cannot read image '\(png)': PNG: the header declares 16000x16000 pixels, \(Self.limitMessage)")
        }
        // rsynth classify, limited to 1 GiB of address space: one line, exit 1, nothing allocated first.
        let model = TestSupport.root.appendingPathComponent("Examples/digits/models/digits-robust.pt").path
        for (path, format, size) in [(jpeg, "JPEG", "40000x40000"), (png, "PNG", "16000x16000")] {
            let r = try TestSupport.rsynth(["classify", "--classifier", "digits-resnet", "--weights", model, path], memoryLimitMiB: 1024)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertEqual(r.stderr, "Error: cannot read image '\(path)': \(format): the header declares \(size) pixels, \(Self.limitMessage)\n")
        }
    }

    func testPixelLimitComesFromTheEnvironment() throws {
        let dir = makeTempDir(self)
        let path = dir + "/valid.png"
        try ImageFile.writePNG(RGBImage(width: 100, height: 100, red: 1, green: 2, blue: 3), to: path)
        defer { unsetenv("RSYNTH_MAX_IMAGE_PIXELS") }
        setenv("RSYNTH_MAX_IMAGE_PIXELS", "9999", 1)
        XCTAssertThrowsError(try ImageFile.read(path)) { e in
            XCTAssertEqual("\(e)", "cannot read image '\(path)': PNG: the header declares 100x100 pixels, more than the limit of 9999 (set RSYNTH_MAX_IMAGE_PIXELS to raise it)")
        }
        setenv("RSYNTH_MAX_IMAGE_PIXELS", "10000", 1)
        XCTAssertEqual(try ImageFile.read(path).width, 100)
        setenv("RSYNTH_MAX_IMAGE_PIXELS", "lots", 1)
        XCTAssertThrowsError(try ImageFile.read(path)) { e in
            XCTAssertEqual("\(e)", "cannot read image '\(path)': RSYNTH_MAX_IMAGE_PIXELS must be a positive number of pixels, got 'lots'")
        }
        unsetenv("RSYNTH_MAX_IMAGE_PIXELS")
        XCTAssertEqual(try ImageFile.maxPixels(), 64 << 20)
    }

    /// NaN once trapped the host ("Float value cannot be converted to UInt8").
    func testNaNNeverTrapsAndIsNotSaved() throws {
        let t = Tensor(shape: [1, 3, 1, 2], data: [.nan, 0.5, -.infinity, .infinity, 1, .nan])
        XCTAssertEqual(RGBImage(tensor: t).pixels, [0, 0, 255, 128, 255, 0])
        let dir = makeTempDir(self)
        let path = dir + "/nan.png"
        XCTAssertThrowsError(try ImageFile.writePNG(t, to: path)) { e in
            XCTAssertEqual("\(e)", "cannot write image '\(path)': the tensor [1, 3, 1, 2] has 4 non-finite values (the first, nan, at [0, 0, 0, 0])")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let one = Tensor(shape: [3, 1, 1], data: [0, 0, .nan])
        XCTAssertThrowsError(try ImageFile.requireFinite(one, for: "x.png")) { e in
            XCTAssertEqual("\(e)", "cannot write image 'x.png': the tensor [3, 1, 1] has 1 non-finite value (the first, nan, at [2, 0, 0])")
        }
        try ImageFile.writePNG(Tensor(shape: [1, 3, 1, 1], data: [0, 0.5, 1]), to: path)
        XCTAssertEqual(try ImageFile.read(path).pixels, [0, 128, 255])
    }
}
