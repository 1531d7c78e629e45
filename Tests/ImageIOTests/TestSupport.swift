import CImageCodecs
import Foundation
import ImageIO
import RobustSynthCore
import XCTest

/// A fresh temporary folder, removed when the test ends.
func makeTempDir(_ test: XCTestCase, _ name: String = "imageio") -> String {
    let path = NSTemporaryDirectory() + "rsynth-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func mkdir(_ path: String) {
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
}

/// Writes a PNG of any colour type / bit depth with libpng's low-level writer (the C helper).
/// `samples` are the sample values row by row (0...255 or 0...65535), packed here.
func writeRawPNG(_ path: String, width: Int, height: Int, bitDepth: Int, colorType: Int, samples: [Int],
                 palette: [UInt8] = [], trns: [UInt8] = []) throws {
    let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]!
    precondition(samples.count == width * height * channels)
    let rowBytes = (width * channels * bitDepth + 7) / 8
    var bytes = [UInt8](repeating: 0, count: rowBytes * height)
    for y in 0..<height {
        for i in 0..<(width * channels) {
            let v = samples[y * width * channels + i]
            switch bitDepth {
            case 16:
                bytes[y * rowBytes + 2 * i] = UInt8(v >> 8); bytes[y * rowBytes + 2 * i + 1] = UInt8(v & 0xFF)
            case 8:
                bytes[y * rowBytes + i] = UInt8(v)
            default:  // 1, 2, 4: MSB first
                let bit = i * bitDepth
                bytes[y * rowBytes + bit / 8] |= UInt8(v << (8 - bitDepth - bit % 8))
            }
        }
    }
    var err = [CChar](repeating: 0, count: 256)
    let rc = ic_write_png_raw(path, Int32(width), Int32(height), Int32(bitDepth), Int32(colorType), bytes, rowBytes,
                              palette.isEmpty ? nil : palette, Int32(palette.count / 3),
                              trns.isEmpty ? nil : trns, Int32(trns.count), &err, err.count)
    if rc != 0 { throw ImageError("writeRawPNG: \(String(cString: err))") }
}

/// A deterministic test image: smooth gradients plus noise, so that statistics are non-trivial.
func testImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
    var rng = RandomStream(seed: seed)
    let base = (0..<3).map { _ in rng.nextUniform() * 200 }
    var p = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<3 {
                let v = base[c] + Double(x * (c + 1) + y * (3 - c)) * 0.8 + rng.nextUniform() * 40
                p[3 * (y * width + x) + c] = UInt8(Swift.min(255, Swift.max(0, v)).rounded())
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: p)
}

/// Writes a grey (1), RGB (3) or CMYK (4) JPEG with the C helper (libjpeg).
func writeRawJPEG(_ path: String, width: Int, height: Int, components: Int, bytes: [UInt8], quality: Int = 95) throws {
    var err = [CChar](repeating: 0, count: 256)
    if ic_write_jpeg(path, bytes, Int32(width), Int32(height), Int32(components), Int32(quality), &err, err.count) != 0 {
        throw ImageError("writeRawJPEG: \(String(cString: err))")
    }
}
