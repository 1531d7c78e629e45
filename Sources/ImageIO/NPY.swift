import Foundation
import RobustSynthCore

/// NumPy `.npy` files (format version 1.0, little-endian float32, C order).
public enum NPY {
    /// The bytes of a version 1.0 `.npy` file holding `tensor` as '<f4'.
    public static func encode(_ tensor: Tensor) -> Data {
        let dims = tensor.shape.map(String.init)
        let shapeText = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let len = UInt16(header.utf8.count)
        d.append(contentsOf: [UInt8(len & 0xFF), UInt8(len >> 8)])
        d.append(contentsOf: Array(header.utf8))
        tensor.data.withUnsafeBufferPointer { b in
            for v in b {
                let bits = v.bitPattern.littleEndian
                withUnsafeBytes(of: bits) { d.append(contentsOf: $0) }
            }
        }
        return d
    }

    /// Writes `tensor` as a `.npy` file, atomically.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicFile.write(encode(tensor), to: path)
    }
}
