/// The data a pickle can describe, and nothing that can run. Calls the unpickler does not
/// understand become `.opaque` placeholders that remember only what they would have called.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case bigInt([UInt8])              // two's complement, little-endian (LONG1/LONG4 beyond 64 bits)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    case global(module: String, name: String)
    case opaque(String)               // inert stand-in for an object built by an unknown callable
    case storage(StorageRecord)
    case tensor(TensorRecord)

    /// Nesting depth, kept so that a hostile pickle cannot build values deep enough to overflow
    /// the stack when they are torn down.
    var depth: Int {
        switch self {
        case .tuple(let t): return t.depth
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        default: return 0
        }
    }

    /// A short description for error messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int, .bigInt: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .global(let m, let n): return "the global \(m).\(n)"
        case .opaque(let what): return what
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        }
    }

    var asInt: Int? {
        if case .int(let v) = self { return Int(exactly: v) }
        if case .bool(let b) = self { return b ? 1 : 0 }
        return nil
    }

    var asString: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var asTupleItems: [PickleValue]? {
        if case .tuple(let t) = self { return t.items }
        if case .list(let l) = self { return l.items }
        return nil
    }
}

final class PickleTuple {
    let items: [PickleValue]
    let depth: Int
    init(_ items: [PickleValue]) {
        self.items = items
        depth = 1 + (items.map(\.depth).max() ?? 0)
    }
}

/// Lists and dicts are references because pickles fill them after creation (APPEND, SETITEM) while
/// the memo also holds them. Once one is nested in another container it is frozen: pickle always
/// fills a container before nesting it, so freezing keeps every recorded depth exact.
final class PickleList {
    var items: [PickleValue] = []
    var depth = 1
    var frozen = false
}

final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]
    var depth = 1
    var frozen = false

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let s) = key {
            if let i = stringIndex[s] { entries[i].value = value; return }
            stringIndex[s] = entries.count
        }
        entries.append((key, value))
        depth = max(depth, 1 + max(key.depth, value.depth))
    }

    subscript(_ key: String) -> PickleValue? { stringIndex[key].map { entries[$0].value } }
}

/// A storage named by a persistent id; its bytes live outside the pickle (zip entry or the legacy
/// file's storage section) and are located later, and only for state-dict tensors.
struct StorageRecord {
    let key: String               // zip: data/<key>; legacy: the root storage key
    let typeName: String          // e.g. "FloatStorage"
    let dtype: TensorDType?       // nil for storage types this reader cannot convert
    let elementOffset: Int        // legacy views of a root storage start this many elements in
    let numel: Int
}

/// `_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)`, recorded, not built.
struct TensorRecord {
    let storage: StorageRecord
    let storageOffset: Int
    let shape: [Int]
    let strides: [Int]
}
