import Foundation
import XCTest
import Checkpoints

/// A full-size file (ResNet-50's 25.6 M parameters, about 100 MB) is mapped, not read, when
/// loaded, and every tensor's values come back exactly. The test writes the file itself as
/// safetensors (no PyTorch needed). Full-size PyTorch zip and MadryLab legacy files go through
/// the same storage code and are checked against PyTorch by Tests/Fixtures/check_full_size_parity.py.
final class LargeCheckpointTests: XCTestCase {
    /// ResNet-50's largest tensors and enough others to reach its parameter count.
    let shapes: [(String, [Int])] = [("fc.weight", [1000, 2048]), ("fc.bias", [1000])]
        + (0..<9).map { ("layer4.\($0).conv2.weight", [512, 512, 3, 3]) }
        + (0..<6).map { ("layer3.\($0).conv2.weight", [256, 256, 3, 3]) }

    /// value of element i of tensor t: exactly representable, different everywhere.
    func value(_ t: Int, _ i: Int) -> Float { Float((i &* 7919 &+ t &* 104_729) % 65_536) / 256 - 128 }

    func write(_ path: String) throws {
        var header = [String: Any]()
        var offset = 0
        for (name, shape) in shapes {
            let bytes = shape.reduce(1, *) * 4
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        FileManager.default.createFile(atPath: path, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? h.close() }
        var length = UInt64(json.count).littleEndian
        h.write(Data(bytes: &length, count: 8))
        h.write(json)
        for (t, (_, shape)) in shapes.enumerated() {
            let n = shape.reduce(1, *)
            var values = [Float](repeating: 0, count: n)
            for i in 0..<n { values[i] = value(t, i) }
            values.withUnsafeBytes { h.write(Data($0)) }
        }
    }

    /// Resident set size in MB (/proc/self/statm).
    func residentMegabytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = s.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return -1 }
        return pages * 4096 / 1_000_000
    }

    func testAFullSizeFileIsMappedNotReadAndReadsBackExactly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rsynth-large-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("large.safetensors").path
        try write(path)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        XCTAssertGreaterThan(size, 95_000_000)

        let before = residentMegabytes()
        let c = try Checkpoint.load(path)
        let grown = residentMegabytes() - before
        XCTAssertLessThan(grown, 20, "loading a \(size / 1_000_000) MB file made the process \(grown) MB larger: it was read, not mapped")
        XCTAssertEqual(c.tensors.count, shapes.count)
        XCTAssertEqual(c.tensors.map(\.count).reduce(0, +), size / 4 - 200, accuracy: 2000)
        for (t, (name, shape)) in shapes.enumerated() {
            let tensor = try XCTUnwrap(c[name], name)
            XCTAssertEqual(tensor.shape, shape, name)
            let v = try tensor.floats()
            let n = v.count
            for i in [0, 1, n / 2, n - 1] { XCTAssertEqual(v[i], value(t, i), "\(name)[\(i)]") }
        }
    }
}
