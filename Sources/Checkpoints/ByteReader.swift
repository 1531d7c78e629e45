import Foundation

/// Bounds-checked little-endian reads from a byte buffer. Every length and offset in a checkpoint
/// is untrusted, so nothing here may trap: arithmetic is overflow-checked and every access is
/// checked against the buffer's size before it happens.
struct ByteReader {
    let data: Data          // always rebased to start at index 0
    var count: Int { data.count }

    init(_ data: Data) {
        self.data = data.startIndex == 0 ? data : Data(data)
    }

    /// Throws unless `[offset, offset + length)` lies inside the buffer.
    func check(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws {
        guard offset >= 0, length >= 0, let end = checkedAdd(offset, length), end <= count else {
            throw FormatError("truncated or corrupt file: \(what()) needs \(length) bytes at offset \(offset), but the file has \(count) bytes")
        }
    }

    func u8(_ offset: Int, _ what: @autoclosure () -> String = "a field") throws -> UInt8 {
        try check(offset, 1, what())
        return data[offset]
    }

    func uint(_ offset: Int, size: Int, _ what: @autoclosure () -> String = "a field") throws -> UInt64 {
        try check(offset, size, what())
        var v: UInt64 = 0
        for i in stride(from: size - 1, through: 0, by: -1) { v = (v << 8) | UInt64(data[offset + i]) }
        return v
    }

    func u16(_ offset: Int, _ what: @autoclosure () -> String = "a field") throws -> Int {
        Int(try uint(offset, size: 2, what()))
    }

    func u32(_ offset: Int, _ what: @autoclosure () -> String = "a field") throws -> Int {
        Int(try uint(offset, size: 4, what()))
    }

    /// A 64-bit length or offset; values beyond Int.max cannot be valid in any file.
    func u64(_ offset: Int, _ what: @autoclosure () -> String = "a field") throws -> Int {
        let v = try uint(offset, size: 8, what())
        guard let i = Int(exactly: v) else { throw FormatError("corrupt file: \(what()) at offset \(offset) is \(v), too large") }
        return i
    }

    func bytes(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String = "a field") throws -> Data {
        try check(offset, length, what())
        return data.subdata(in: offset..<(offset + length))
    }
}

func checkedAdd(_ a: Int, _ b: Int) -> Int? {
    let (r, o) = a.addingReportingOverflow(b)
    return o ? nil : r
}

func checkedMul(_ a: Int, _ b: Int) -> Int? {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    return o ? nil : r
}
