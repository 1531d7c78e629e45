import Foundation

public enum TensorDType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// The type's names in the formats: PyTorch's typed storage class (`torch.FloatStorage`, ...)
    /// and safetensors' dtype code.
    private var names: (storage: String, safetensors: String) {
        switch self {
        case .float32: return ("FloatStorage", "F32")
        case .float16: return ("HalfStorage", "F16")
        case .bfloat16: return ("BFloat16Storage", "BF16")
        case .float64: return ("DoubleStorage", "F64")
        case .int64: return ("LongStorage", "I64")
        case .int32: return ("IntStorage", "I32")
        case .int16: return ("ShortStorage", "I16")
        case .int8: return ("CharStorage", "I8")
        case .uint8: return ("ByteStorage", "U8")
        case .bool: return ("BoolStorage", "BOOL")
        }
    }

    init?(storageName: String) {
        guard let t = Self.allCases.first(where: { $0.names.storage == storageName }) else { return nil }
        self = t
    }

    /// Element sizes of storage types that can be walked past but not converted, so a legacy
    /// file holding, say, a complex optimizer buffer still loads.
    static func storageElementSize(_ storageName: String) -> Int? {
        if let t = TensorDType(storageName: storageName) { return t.byteSize }
        switch storageName {
        case "ComplexFloatStorage": return 8
        case "ComplexDoubleStorage": return 16
        case "QInt8Storage", "QUInt8Storage", "QUInt4x2Storage", "QUInt2x4Storage": return 1
        case "QInt32Storage": return 4
        default: return nil
        }
    }

    init?(safetensorsCode: String) {
        guard let t = Self.allCases.first(where: { $0.names.safetensors == safetensorsCode }) else { return nil }
        self = t
    }

    /// Converts the little-endian element at `p` to Float (rounding float64 and wide integers to
    /// nearest, as PyTorch's `.float()` does).
    @inline(__always)
    func load(_ p: UnsafeRawPointer) -> Float {
        switch self {
        case .float32: return Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        case .float16: return halfToFloat(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
        case .bfloat16: return Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self))) << 16)
        case .float64: return Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))))
        case .int64: return Float(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
        case .int32: return Float(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
        case .int16: return Float(Int16(littleEndian: p.loadUnaligned(as: Int16.self)))
        case .int8: return Float(p.load(as: Int8.self))
        case .uint8: return Float(p.load(as: UInt8.self))
        case .bool: return p.load(as: UInt8.self) != 0 ? 1 : 0
        }
    }
}

/// IEEE half to single by bit manipulation (Swift's Float16 is not available on every platform).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int(h >> 10) & 0x1f
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }  // inf/nan
    if exponent == 0 {
        // Zero or subnormal: value = mantissa * 2^-24, exact in Float.
        let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
}
