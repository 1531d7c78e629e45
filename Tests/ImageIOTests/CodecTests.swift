import Foundation
import ImageIO
import RobustSynthCore
import XCTest

final class CodecTests: XCTestCase {
    func testPNGRoundTripRGB8() throws {
        let dir = makeTempDir(self)
        let image = testImage(width: 13, height: 7, seed: 1)
        let path = dir + "/a.png"
        try ImageFile.writePNG(image, to: path)
        XCTAssertEqual(try ImageFile.read(path), image)
        // Atomic write: nothing but the file is left in the folder.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["a.png"])
        // Overwrite in place.
        let other = testImage(width: 5, height: 9, seed: 2)
        try ImageFile.writePNG(other, to: path)
        XCTAssertEqual(try ImageFile.read(path), other)
    }

    /// A gAMA chunk changes nothing (PIL and torchvision apply no gamma): the same 8-bit and
    /// 16-bit samples with and without gAMA 1/2.2 decode alike, 11 * 257 to 11.
    func testGammaChunkIsIgnored() throws {
        let dir = makeTempDir(self)
        for (depth, samples) in [(8, [11, 128, 250]), (16, [11 * 257, 128 * 257, 250 * 257])] {
            let plain = dir + "/g\(depth).png"
            try writeRawPNG(plain, width: 3, height: 1, bitDepth: depth, colorType: 0, samples: samples)
            let withGamma = dir + "/g\(depth)-gama.png"
            try Data(insertingGamma(45455, into: [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))))
                .write(to: URL(fileURLWithPath: withGamma))
            for path in [plain, withGamma] {
                XCTAssertEqual(try ImageFile.read(path).pixels, [11, 11, 11, 128, 128, 128, 250, 250, 250], path)
            }
        }
    }

    /// The PNG with a gAMA chunk (gamma * 100000, big-endian) right after IHDR.
    func insertingGamma(_ gamma: UInt32, into png: [UInt8]) -> [UInt8] {
        let ihdrEnd = 8 + 4 + 4 + 13 + 4   // signature, IHDR length, type, data, CRC
        let body: [UInt8] = Array("gAMA".utf8) + withUnsafeBytes(of: gamma.bigEndian, Array.init)
        var crc: UInt32 = 0xFFFF_FFFF   // CRC-32 (PNG's) of type + data
        for b in body {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        let chunk = withUnsafeBytes(of: UInt32(4).bigEndian, Array.init) + body + withUnsafeBytes(of: crc.bigEndian, Array.init)
        return Array(png[..<ihdrEnd]) + chunk + Array(png[ihdrEnd...])
    }

    /// Every PNG colour type at 8 and 16 bits (and packed palettes), written by libpng's
    /// low-level writer, decoded to 8-bit RGB. Expected values are computed here independently:
    /// grey g -> (g, g, g); alpha dropped; palette index -> its colour; 16-bit v -> v / 257.
    func testPNGVariantsDecodeToRGB8() throws {
        let dir = makeTempDir(self)
        let w = 6, h = 5
        func expect16(_ v: Int) -> Int { Int((Double(v) / 257).rounded()) }
        for depth in [8, 16] {
            let maxv = depth == 8 ? 255 : 65535
            func sample(_ i: Int, _ c: Int) -> Int { (i * 37 + c * 101 + 11) * (maxv / 255) % (maxv + 1) }
            func to8(_ v: Int) -> Int { depth == 8 ? v : expect16(v) }
            for (colorType, channels) in [(0, 1), (4, 2), (2, 3), (6, 4)] {
                var s = [Int]()
                for i in 0..<(w * h) {
                    for c in 0..<channels {
                        // alpha opaque, so that a 16-bit alpha path cannot blend
                        let isAlpha = (colorType == 4 && c == 1) || (colorType == 6 && c == 3)
                        s.append(isAlpha ? maxv : sample(i, c))
                    }
                }
                let path = dir + "/t\(colorType)_\(depth).png"
                try writeRawPNG(path, width: w, height: h, bitDepth: depth, colorType: colorType, samples: s)
                let im = try ImageFile.read(path)
                XCTAssertEqual(im.width, w); XCTAssertEqual(im.height, h)
                for i in 0..<(w * h) {
                    for c in 0..<3 {
                        let src = (colorType == 0 || colorType == 4) ? s[i * channels] : s[i * channels + c]
                        let got = Int(im.pixels[3 * i + c])
                        XCTAssertLessThanOrEqual(abs(got - to8(src)), depth == 8 ? 0 : 1,
                                                 "type \(colorType) depth \(depth) pixel \(i) channel \(c)")
                    }
                }
            }
        }
        // Non-opaque 8-bit alpha is dropped, not composited (PIL's convert("RGB")).
        let rgba: [Int] = [10, 20, 30, 0, 200, 100, 50, 128]
        try writeRawPNG(dir + "/alpha.png", width: 2, height: 1, bitDepth: 8, colorType: 6, samples: rgba)
        XCTAssertEqual(try ImageFile.read(dir + "/alpha.png").pixels, [10, 20, 30, 200, 100, 50])
        let rgba16: [Int] = [2570, 5140, 7710, 0, 51400, 25700, 12850, 32768]
        try writeRawPNG(dir + "/alpha16.png", width: 2, height: 1, bitDepth: 16, colorType: 6, samples: rgba16)
        XCTAssertEqual(try ImageFile.read(dir + "/alpha16.png").pixels, [10, 20, 30, 200, 100, 50])
        // Grey at 1, 2 and 4 bits scales to 0...255 (v * 255 / (2^depth - 1)).
        for depth in [1, 2, 4] {
            let maxv = (1 << depth) - 1
            let g = (0..<8).map { $0 % (maxv + 1) }
            try writeRawPNG(dir + "/g\(depth).png", width: 8, height: 1, bitDepth: depth, colorType: 0, samples: g)
            let im = try ImageFile.read(dir + "/g\(depth).png")
            XCTAssertEqual(im.pixels, g.flatMap { v in [UInt8](repeating: UInt8(v * 255 / maxv), count: 3) }, "grey depth \(depth)")
        }
        // Palettes at 1, 2, 4 and 8 bits, with a tRNS chunk on the 8-bit one.
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 99, 199]
        for depth in [1, 2, 4, 8] {
            let colours = Swift.min(4, 1 << depth)
            let idx = (0..<(w * h)).map { ($0 * 3 + $0 / 4) % colours }
            let path = dir + "/p\(depth).png"
            try writeRawPNG(path, width: w, height: h, bitDepth: depth, colorType: 3, samples: idx,
                            palette: Array(palette.prefix(3 * colours)), trns: depth == 8 ? [255, 128] : [])
            let im = try ImageFile.read(path)
            for i in 0..<(w * h) {
                XCTAssertEqual(Array(im.pixels[(3 * i)..<(3 * i + 3)]), Array(palette[(3 * idx[i])..<(3 * idx[i] + 3)]),
                               "palette depth \(depth) pixel \(i)")
            }
        }
    }

    func testJPEGFlatColourDecodesWithinTolerance() throws {
        let dir = makeTempDir(self)
        let path = dir + "/flat.jpg"
        try ImageFile.writeJPEG(RGBImage(width: 24, height: 16, red: 200, green: 100, blue: 50), to: path, quality: 95)
        let im = try ImageFile.read(path)
        XCTAssertEqual(im.width, 24); XCTAssertEqual(im.height, 16)
        // A flat block has only a DC coefficient; YCbCr rounding costs at most a few levels.
        for i in 0..<(24 * 16) {
            XCTAssertLessThanOrEqual(abs(Int(im.pixels[3 * i]) - 200), 3)
            XCTAssertLessThanOrEqual(abs(Int(im.pixels[3 * i + 1]) - 100), 3)
            XCTAssertLessThanOrEqual(abs(Int(im.pixels[3 * i + 2]) - 50), 3)
        }
        // A noisy textured image survives quality 95 (4:2:0 chroma) within a mean error of ~8 levels.
        let tex = testImage(width: 32, height: 32, seed: 3)
        try ImageFile.writeJPEG(tex, to: dir + "/tex.jpg", quality: 95)
        let back = try ImageFile.read(dir + "/tex.jpg")
        let mae = zip(tex.pixels, back.pixels).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(tex.pixels.count)
        XCTAssertLessThan(mae, 12)
    }

    /// Grey JPEGs become (g, g, g); CMYK JPEGs with an Adobe marker hold inverted values (as
    /// Photoshop writes them, and as PIL reads them): R = C' K' / 255 with C' the stored value.
    func testJPEGGreyAndCMYK() throws {
        let dir = makeTempDir(self)
        try writeRawJPEG(dir + "/g.jpg", width: 16, height: 8, components: 1, bytes: [UInt8](repeating: 90, count: 128))
        let g = try ImageFile.read(dir + "/g.jpg")
        XCTAssertEqual(g.width, 16); XCTAssertEqual(g.height, 8)
        XCTAssertTrue(g.pixels.allSatisfy { abs(Int($0) - 90) <= 1 }, "\(g.pixels.prefix(6))")
        // Stored C'M'Y'K' = (255, 128, 0, 200) -> R = 200, G = 128 * 200 / 255 = 100, B = 0.
        let cmyk: [UInt8] = (0..<(16 * 16)).flatMap { _ -> [UInt8] in [255, 128, 0, 200] }
        try writeRawJPEG(dir + "/c.jpg", width: 16, height: 16, components: 4, bytes: cmyk)
        let c = try ImageFile.read(dir + "/c.jpg")
        for i in 0..<(16 * 16) {
            XCTAssertLessThanOrEqual(abs(Int(c.pixels[3 * i]) - 200), 3)
            XCTAssertLessThanOrEqual(abs(Int(c.pixels[3 * i + 1]) - 100), 3)
            XCTAssertLessThanOrEqual(abs(Int(c.pixels[3 * i + 2]) - 0), 3)
        }
    }

    func testErrorMessagesNameTheFileAndReason() throws {
        let dir = makeTempDir(self)
        let text = dir + "/notes.png"
        try "not an image".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImageFile.read(text)) { e in
            XCTAssertEqual("\(e)", "cannot read image '\(text)': not a PNG or JPEG file (it starts with 6e 6f 74 20)")
        }
        XCTAssertThrowsError(try ImageFile.read(dir + "/missing.jpg")) { e in
            XCTAssertEqual("\(e)", "cannot read image '\(dir)/missing.jpg': no such file")
        }
        let empty = dir + "/empty.jpg"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        XCTAssertThrowsError(try ImageFile.read(empty)) { e in
            XCTAssertEqual("\(e)", "cannot read image '\(empty)': the file is empty")
        }
        // A truncated JPEG (libjpeg's longjmp caught in C, reported as text).
        try ImageFile.writeJPEG(testImage(width: 64, height: 64, seed: 4), to: dir + "/full.jpg")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/full.jpg"))
        let cut = dir + "/cut.jpg"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try ImageFile.read(cut)) { e in
            XCTAssertEqual("\(e)", "cannot read image '\(cut)': JPEG: Premature end of JPEG file")
        }
        // A JPEG with a damaged header.
        var bad = [UInt8](bytes)
        for i in 2..<40 { bad[i] = 0xFF }
        let badPath = dir + "/bad.jpg"
        try Data(bad).write(to: URL(fileURLWithPath: badPath))
        XCTAssertThrowsError(try ImageFile.read(badPath)) { e in
            XCTAssertTrue("\(e)".hasPrefix("cannot read image '\(badPath)': JPEG: "), "\(e)")
        }
        // A truncated PNG.
        try ImageFile.writePNG(testImage(width: 40, height: 40, seed: 5), to: dir + "/full.png")
        let png = try Data(contentsOf: URL(fileURLWithPath: dir + "/full.png"))
        let cutPNG = dir + "/cut.png"
        try png.prefix(png.count / 2).write(to: URL(fileURLWithPath: cutPNG))
        XCTAssertThrowsError(try ImageFile.read(cutPNG)) { e in
            XCTAssertTrue("\(e)".hasPrefix("cannot read image '\(cutPNG)': PNG: "), "\(e)")
        }
        // Writing into a folder that does not exist.
        XCTAssertThrowsError(try ImageFile.writePNG(testImage(width: 2, height: 2, seed: 6), to: dir + "/no/such/x.png")) { e in
            XCTAssertTrue("\(e)".hasPrefix("cannot write PNG '\(dir)/no/such/x.png': "), "\(e)")
        }
    }

    func testTensorConversions() {
        let im = RGBImage(width: 2, height: 1, pixels: [0, 51, 255, 10, 20, 30])
        let t = im.tensor()
        XCTAssertEqual(t.shape, [1, 3, 1, 2])
        // NCHW planes: R = [0, 10], G = [51, 20], B = [255, 30]
        XCTAssertEqual(t.data, [0, 10, 51, 20, 255, 30].map { Float($0) / 255 })
        XCTAssertEqual(RGBImage(tensor: t), im)
        // [3, H, W] works too; values are clamped and rounded.
        let u = Tensor(shape: [3, 1, 2], data: [-0.5, 0.5, 1.7, 0.5 / 255, 0.49 / 255, 1])
        XCTAssertEqual(RGBImage(tensor: u).pixels, [0, 255, 0, 128, 1, 255])  // 0.5 rounds up (as save_image)
        // Example index of a batch.
        let batch = Tensor.concatenate([im.tensor(), RGBImage(width: 2, height: 1, red: 1, green: 2, blue: 3).tensor()])
        XCTAssertEqual(RGBImage(tensor: batch, index: 1).pixels, [1, 2, 3, 1, 2, 3])
        XCTAssertEqual(RGBImage.images(from: batch).count, 2)
    }

    func testNPYHeaderAndData() throws {
        let t = Tensor(shape: [2, 3, 1, 1], data: [1, -2, 0.5, 3, 4, 5])
        let d = NPY.encode(t)
        let bytes = [UInt8](d)
        XCTAssertEqual(Array(bytes[0..<8]), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 1, 1), }"), header)
        XCTAssertTrue(header.hasSuffix(" \n"))
        XCTAssertEqual(bytes.count, 10 + headerLength + 24)
        XCTAssertEqual(Array(bytes[(10 + headerLength)..<(14 + headerLength)]), [0, 0, 0x80, 0x3F])  // 1.0f LE
        XCTAssertTrue(String(decoding: NPY.encode(Tensor(shape: [3], data: [1, 2, 3])), as: UTF8.self).contains("'shape': (3,)"))
        let dir = makeTempDir(self)
        try NPY.write(t, to: dir + "/t.npy")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/t.npy")), d)
    }

    func testGrid() {
        let a = RGBImage(width: 2, height: 2, red: 255, green: 0, blue: 0)
        let b = RGBImage(width: 2, height: 2, red: 0, green: 0, blue: 255)
        let g = ImageGrid.make(rows: [[a, b, a], [b, a]], gap: 1, scale: 2, background: (9, 9, 9))
        XCTAssertEqual(g.width, 3 * 4 + 2); XCTAssertEqual(g.height, 2 * 4 + 1)
        func px(_ x: Int, _ y: Int) -> [UInt8] { Array(g.pixels[(3 * (y * g.width + x))..<(3 * (y * g.width + x) + 3)]) }
        XCTAssertEqual(px(0, 0), [255, 0, 0]); XCTAssertEqual(px(3, 3), [255, 0, 0])
        XCTAssertEqual(px(4, 0), [9, 9, 9])          // gap column
        XCTAssertEqual(px(5, 0), [0, 0, 255])
        XCTAssertEqual(px(0, 4), [9, 9, 9])          // gap row
        XCTAssertEqual(px(0, 5), [0, 0, 255])
        XCTAssertEqual(px(13, 8), [9, 9, 9])         // padding of the short second row
        // Automatic scale-up of tiny images to at least minCellSize.
        let auto = ImageGrid.make([a, b], columns: 2, gap: 2, minCellSize: 7)
        XCTAssertEqual(auto.width, 2 * 8 + 2)
    }
}
