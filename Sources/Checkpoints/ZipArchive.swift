import Foundation

/// The central directory of a zip archive, read by hand: PyTorch stores every entry uncompressed
/// (and 64-byte aligned) so an entry is just a byte range of the file that can be used in place.
/// Handles zip64 (PyTorch writes a zip64 end record even for tiny files).
struct ZipArchive {
    struct Entry {
        let name: String
        let dataOffset: Int   // where the entry's bytes start in the file
        let size: Int
    }

    let entries: [Entry]
    private let index: [String: Int]

    func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    static func looksLikeZip(_ r: ByteReader) -> Bool {
        r.count >= 4 && r.data.prefix(4).elementsEqual([0x50, 0x4b, 0x03, 0x04])
    }

    init(_ r: ByteReader) throws {
        // End of central directory: 22 bytes plus a comment of up to 65535 bytes at the very end.
        let eocd = try Self.findEndRecord(r)
        var total = try r.u16(eocd + 10)
        var cdSize = try r.u32(eocd + 12)
        var cdOffset = try r.u32(eocd + 16)

        // A zip64 locator sits 20 bytes before the classic record and points at the zip64 record.
        if eocd >= 20, try r.u32(eocd - 20) == 0x0706_4b50 {
            let z64 = try r.u64(eocd - 20 + 8, "the zip64 end record's offset")
            guard try r.u32(z64, "the zip64 end record") == 0x0606_4b50 else {
                throw FormatError("corrupt zip archive: the zip64 end-of-central-directory record is missing at offset \(z64)")
            }
            total = try r.u64(z64 + 32, "the zip64 end record")
            cdSize = try r.u64(z64 + 40, "the zip64 end record")
            cdOffset = try r.u64(z64 + 48, "the zip64 end record")
        }
        try r.check(cdOffset, cdSize, "the zip central directory")

        var entries: [Entry] = []
        var index: [String: Int] = [:]
        var p = cdOffset
        for _ in 0..<total {
            guard try r.u32(p, "a zip central directory entry") == 0x0201_4b50 else {
                throw FormatError("corrupt zip archive: bad central directory entry at offset \(p)")
            }
            let method = try r.u16(p + 10)
            var compressed = try r.u32(p + 20)
            var size = try r.u32(p + 24)
            let nameLength = try r.u16(p + 28)
            let extraLength = try r.u16(p + 30)
            let commentLength = try r.u16(p + 32)
            var localOffset = try r.u32(p + 42)
            let nameData = try r.bytes(p + 46, nameLength, "a zip entry name")
            let name = String(decoding: nameData, as: UTF8.self)

            // zip64 extra field (id 1): 64-bit values for exactly the fields that read 0xFFFFFFFF.
            var q = p + 46 + nameLength
            let extraEnd = q + extraLength
            while q + 4 <= extraEnd {
                let id = try r.u16(q), length = try r.u16(q + 2)
                if id == 1 {
                    var f = q + 4
                    if size == 0xFFFF_FFFF { size = try r.u64(f, "a zip64 extra field"); f += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try r.u64(f, "a zip64 extra field"); f += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try r.u64(f, "a zip64 extra field"); f += 8 }
                }
                q += 4 + length
            }
            guard method == 0, compressed == size else {
                throw FormatError("unsupported zip archive: entry '\(name)' is compressed (method \(method)); PyTorch stores entries uncompressed")
            }
            // The data follows the local header, whose own name and extra lengths may differ
            // from the central directory's (PyTorch pads the local extra field for alignment).
            guard try r.u32(localOffset, "a zip local header") == 0x0403_4b50 else {
                throw FormatError("corrupt zip archive: bad local header for entry '\(name)' at offset \(localOffset)")
            }
            let dataOffset = localOffset + 30 + (try r.u16(localOffset + 26)) + (try r.u16(localOffset + 28))
            try r.check(dataOffset, size, "zip entry '\(name)'")
            index[name] = entries.count
            entries.append(Entry(name: name, dataOffset: dataOffset, size: size))
            p += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        self.index = index
    }

    private static func findEndRecord(_ r: ByteReader) throws -> Int {
        let last = r.count - 22
        if last >= 0 {
            let first = max(0, last - 65535)
            var p = last
            while p >= first {
                if r.data[p] == 0x50, r.data[p + 1] == 0x4b, r.data[p + 2] == 0x05, r.data[p + 3] == 0x06 { return p }
                p -= 1
            }
        }
        throw FormatError("truncated or corrupt zip archive: no end-of-central-directory record (the file has \(r.count) bytes)")
    }
}
