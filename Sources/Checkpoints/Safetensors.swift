import Foundation

/// safetensors: an 8-byte little-endian header length N, N bytes of JSON naming each tensor's
/// dtype, shape and byte range (relative to the end of the header), then the data.
enum Safetensors {
    static let maxHeader = 100_000_000  // the reference implementation's own limit

    static func looksLikeSafetensors(_ r: ByteReader) -> Bool {
        guard r.count >= 9, r.data[8] == UInt8(ascii: "{"), let n = try? r.u64(0) else { return false }
        return n <= maxHeader
    }

    static func read(_ file: ByteReader) throws -> [CheckpointTensor] {
        let n = try file.u64(0, "the safetensors header length")
        guard n <= maxHeader else { throw FormatError("corrupt safetensors file: header length \(n) is implausible") }
        guard 8 + n <= file.count else {
            throw FormatError("truncated safetensors file: the header needs \(n) bytes but only \(file.count - 8) follow")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: try file.bytes(8, n)) }
        catch { throw FormatError("corrupt safetensors file: the header is not valid JSON") }
        guard let header = json as? [String: Any] else { throw FormatError("corrupt safetensors file: the header is not a JSON object") }

        let dataStart = 8 + n
        let dataLength = file.count - dataStart
        var found: [(begin: Int, tensor: CheckpointTensor)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let code = info["dtype"] as? String,
                  let shape = intArray(info["shape"]), let offsets = intArray(info["data_offsets"]),
                  offsets.count == 2 else {
                throw FormatError("corrupt safetensors file: bad header entry for '\(name)'")
            }
            guard let dtype = TensorDType(safetensorsCode: code) else {
                throw FormatError("unsupported safetensors dtype '\(code)' for tensor '\(name)'")
            }
            // Offsets are relative to the end of the header: 0 <= begin <= end <= the data's size.
            // Checked before any subtraction, so no value in the file can overflow or point
            // before the data (into the header or outside the mapped file).
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end else {
                throw FormatError("corrupt safetensors file: tensor '\(name)' has data_offsets [\(begin), \(end)]; they must satisfy 0 <= begin <= end")
            }
            guard end <= dataLength else {
                throw FormatError("truncated safetensors file: tensor '\(name)' needs bytes \(begin)..<\(end) of the data, but only \(dataLength) bytes follow the header")
            }
            var strides = [Int](repeating: 1, count: shape.count)
            var count = 1
            for d in shape.indices.reversed() {
                strides[d] = count
                guard shape[d] >= 0 else {
                    throw FormatError("corrupt safetensors file: tensor '\(name)' has a negative size in shape \(shape)")
                }
                guard let c = checkedMul(count, shape[d]) else {
                    throw FormatError("corrupt safetensors file: tensor '\(name)' has shape \(shape), more elements than a 64-bit count holds")
                }
                count = c
            }
            guard let needed = checkedMul(count, dtype.byteSize) else {
                throw FormatError("corrupt safetensors file: tensor '\(name)' has shape \(shape) of \(code), which needs more than \(Int.max) bytes")
            }
            guard needed == end - begin else {
                throw FormatError("corrupt safetensors file: tensor '\(name)' has \(end - begin) bytes but shape \(shape) of \(code) needs \(needed)")
            }
            let tensor = try CheckpointTensor(name: name, shape: shape, strides: strides, dtype: dtype,
                                              file: file.data, regionStart: dataStart + begin,
                                              regionLength: end - begin, firstElement: 0, what: "byte range")
            found.append((begin, tensor))
        }
        // JSON objects are unordered; the data's order is the file's order.
        return found.sorted { ($0.begin, $0.tensor.name) < ($1.begin, $1.tensor.name) }.map(\.tensor)
    }

    private static func intArray(_ v: Any?) -> [Int]? {
        guard let a = v as? [Any] else { return nil }
        var out: [Int] = []
        for x in a {
            guard let n = x as? NSNumber, let i = Int(exactly: n.doubleValue), Double(n.int64Value) == n.doubleValue else { return nil }
            out.append(i)
        }
        return out
    }
}
