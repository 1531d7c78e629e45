import Foundation

/// One tensor of a state dict. It keeps a reference to the (memory-mapped) file and where its
/// elements lie; the bytes are converted only when `floats()` is called, so a loaded checkpoint
/// costs little memory until its tensors are used.
public struct CheckpointTensor: Sendable {
    /// Full key as stored, e.g. "module.model.layer1.0.conv1.weight".
    public let name: String
    public let shape: [Int]
    public let dtype: TensorDType
    public var count: Int { shape.reduce(1, *) }  // checked for overflow at load

    private let file: Data
    private let firstByte: Int       // the element at index (0, 0, ...)
    private let strides: [Int]       // in elements
    private let contiguous: Bool
    /// Expanded tensors (stride 0) describe more elements than their storage holds, and `floats()`
    /// materialises them all. A tensor may describe at most `expansionFactor` times its storage's
    /// elements, or `smallExpandedCount` elements whatever its storage, so a tiny hostile file
    /// cannot ask for gigabytes (a 17.8 KB file once reached 7.8 GB).
    public static let expansionFactor = 16
    public static let smallExpandedCount = 1 << 16

    /// Validates the geometry against its storage region, so `floats()` can never read outside it.
    init(name: String, shape: [Int], strides: [Int], dtype: TensorDType, file: Data,
         regionStart: Int, regionLength: Int, firstElement: Int, what: String) throws {
        guard shape.count == strides.count, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw FormatError("tensor '\(name)' has a malformed shape \(shape) or strides \(strides)")
        }
        // The readers check their regions; this is the last line before raw pointers are used.
        guard regionStart >= 0, regionLength >= 0, let regionEnd = checkedAdd(regionStart, regionLength),
              regionEnd <= file.count, firstElement >= 0 else {
            throw FormatError("corrupt file: tensor '\(name)' has its \(what) at bytes \(regionStart) (length \(regionLength), first element \(firstElement)), outside the file's \(file.count) bytes")
        }
        var count = 1
        var lastElement = firstElement  // index of the furthest element reached
        for (size, stride) in zip(shape, strides) {
            guard let c = checkedMul(count, size) else { throw FormatError("tensor '\(name)' has too many elements (shape \(shape))") }
            count = c
            if size > 0, let reach = checkedMul(size - 1, stride), let l = checkedAdd(lastElement, reach) {
                lastElement = l
            } else if size > 0 {
                throw FormatError("tensor '\(name)' has impossible strides \(strides) for shape \(shape)")
            }
        }
        let size = dtype.byteSize
        let held = regionLength / size
        // More elements than the storage holds is only possible with zero strides (expanded
        // tensors); cap those so a hostile file cannot make floats() allocate without bound.
        let allowed = max(checkedMul(held, Self.expansionFactor) ?? Int.max, Self.smallExpandedCount)
        guard count <= max(held, allowed) else {
            throw FormatError("refusing to load: tensor '\(name)' has \(count) elements (shape \(shape), strides \(strides)) but its \(what) holds only \(held); at most \(Self.expansionFactor) times the storage (or \(Self.smallExpandedCount) elements) is accepted")
        }
        if count > 0 {
            guard let endByte = checkedMul(lastElement, size).flatMap({ checkedAdd($0, size) }),
                  endByte <= regionLength else {
                throw FormatError("truncated or corrupt file: tensor '\(name)' (shape \(shape), \(dtype.rawValue)) reaches past the end of its \(what), which has \(regionLength) bytes")
            }
        }
        var expected = 1
        var contiguous = true
        for (s, st) in zip(shape, strides).reversed() {
            if s != 1 && st != expected { contiguous = false }
            expected = expected &* s  // only meaningful when count > 0, where it cannot overflow
        }
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.file = file
        self.firstByte = count > 0 ? regionStart + firstElement * size : regionStart  // in range: checked above
        self.strides = strides
        self.contiguous = contiguous
    }

    /// The elements converted to Float32, row-major and contiguous (strided views are gathered).
    public func floats() throws -> [Float] {
        let n = count
        guard n > 0 else { return [] }
        let dtype = self.dtype, size = dtype.byteSize
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            file.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let base = raw.baseAddress! + firstByte
                if contiguous {
                    if dtype == .float32 && Int(littleEndian: 1) == 1 {
                        UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: base, byteCount: n * 4)
                    } else {
                        for i in 0..<n { out[i] = dtype.load(base + i * size) }
                    }
                } else {
                    // Walk the index space in row-major order with an odometer over the strides.
                    var index = [Int](repeating: 0, count: shape.count)
                    var offset = 0
                    for i in 0..<n {
                        out[i] = dtype.load(base + offset * size)
                        var d = shape.count - 1
                        while d >= 0 {
                            index[d] += 1
                            offset += strides[d]
                            if index[d] < shape[d] { break }
                            offset -= strides[d] * shape[d]
                            index[d] = 0
                            d -= 1
                        }
                    }
                }
            }
            initialized = n
        }
    }
}
