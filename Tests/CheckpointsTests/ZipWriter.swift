import Foundation
@testable import Checkpoints

/// A minimal stored-only zip writer for building test archives (optionally in zip64 form), and a
/// way to take a fixture archive apart with the reader under test.
enum ZipWriter {
    static func entries(of data: Data) throws -> [(name: String, bytes: Data)] {
        let r = ByteReader(data)
        return try ZipArchive(r).entries.map { ($0.name, try r.bytes($0.dataOffset, $0.size)) }
    }

    static func make(_ entries: [(name: String, bytes: Data)], zip64: Bool = false, method: UInt16 = 0) -> Data {
        var out = Data()
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { out.append(contentsOf: $0) } }
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { out.append(contentsOf: $0) } }
        let big = 0xFFFF_FFFF
        var offsets: [Int] = []
        for (name, bytes) in entries {
            offsets.append(out.count)
            let nameBytes = Data(name.utf8)
            u32(0x0403_4b50); u16(45); u16(0); u16(Int(method)); u16(0); u16(0); u32(0)
            u32(zip64 ? big : bytes.count); u32(zip64 ? big : bytes.count)
            u16(nameBytes.count); u16(zip64 ? 20 : 0)
            out.append(nameBytes)
            if zip64 { u16(1); u16(16); u64(bytes.count); u64(bytes.count) }
            out.append(bytes)
        }
        let cdStart = out.count
        for ((name, bytes), offset) in zip(entries, offsets) {
            let nameBytes = Data(name.utf8)
            u32(0x0201_4b50); u16(45); u16(45); u16(0); u16(Int(method)); u16(0); u16(0); u32(0)
            u32(zip64 ? big : bytes.count); u32(zip64 ? big : bytes.count)
            u16(nameBytes.count); u16(zip64 ? 28 : 0); u16(0); u16(0); u16(0); u32(0)
            u32(zip64 ? big : offset)
            out.append(nameBytes)
            if zip64 { u16(1); u16(24); u64(bytes.count); u64(bytes.count); u64(offset) }
        }
        let cdSize = out.count - cdStart
        if zip64 {
            let record = out.count
            u32(0x0606_4b50); u64(44); u16(45); u16(45); u32(0); u32(0)
            u64(entries.count); u64(entries.count); u64(cdSize); u64(cdStart)
            u32(0x0706_4b50); u32(0); u64(record); u32(1)
        }
        u32(0x0605_4b50); u16(0); u16(0)
        u16(zip64 ? 0xFFFF : entries.count); u16(zip64 ? 0xFFFF : entries.count)
        u32(zip64 ? big : cdSize); u32(zip64 ? big : cdStart); u16(0)
        return out
    }

    /// tiny_zip.pt with its data.pkl (and optionally other entries) replaced.
    static func tinyZip(replacing replacements: [String: Data]) throws -> Data {
        let entries = try entries(of: Fixtures.bytes("tiny_zip.pt")).map { e in
            (name: e.name, bytes: replacements[e.name] ?? e.bytes)
        }
        return make(entries)
    }
}
