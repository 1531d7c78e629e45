import Foundation

/// torch.save's legacy format (torch <= 1.5, MadryLab's robust checkpoints): five pickles back to
/// back (magic number, protocol version, system info, the object, the list of storage keys), then
/// each storage in that list's order as an int64 element count followed by its raw elements.
enum LegacyFormat {
    /// 0x1950a86a20f9469cfc6c as LONG1 stores it: little-endian two's complement.
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    static func looksLikeLegacy(_ r: ByteReader) -> Bool {
        r.count >= 2 && r.data[0] == 0x80  // a pickle's PROTO opcode
    }

    /// Storage types seen in the object pickle, by root key: they fix each storage's element size,
    /// which the storage section needs to be walked (the optimizer's storages included).
    private final class StorageTypes {
        var byKey: [String: String] = [:]
    }

    static func read(_ file: ByteReader) throws -> (stateDictKey: String, tensors: [CheckpointTensor]) {
        var position = 0
        func unpickle(_ context: String, _ persistentLoad: @escaping (PickleValue) throws -> PickleValue = {
            _ in throw FormatError("corrupt legacy checkpoint: unexpected persistent id in a header pickle")
        }) throws -> PickleValue {
            var u = Unpickler(file, at: position, context: context, persistentLoad: persistentLoad)
            let v = try u.load()
            position = u.position
            return v
        }

        guard case .bigInt(let m) = try unpickle("the magic-number pickle"), m == magic else {
            throw FormatError("not a PyTorch checkpoint: the file is a pickle without PyTorch's magic number")
        }
        let proto = try unpickle("the protocol-version pickle")
        guard proto.asInt == 1001 else {
            throw FormatError("unsupported legacy checkpoint: protocol version \(proto.asInt.map(String.init) ?? proto.kind), expected 1001")
        }
        if case .dict(let info) = try unpickle("the system-info pickle"), case .bool(false)? = info["little_endian"] {
            throw FormatError("unsupported legacy checkpoint: written on a big-endian machine")
        }

        let types = StorageTypes()
        let object = try unpickle("the object pickle") { pid in
            let v = try TorchPickle.storage(from: pid, context: "the object pickle")
            if case .storage(let s) = v { types.byKey[s.key] = s.typeName }
            return v
        }
        guard let keyItems = try unpickle("the storage-key pickle").asTupleItems else {
            throw FormatError("corrupt legacy checkpoint: the storage-key pickle is not a list")
        }

        // Walk every storage (bounds-checking each) without reading any of their bytes.
        var ranges: [String: (start: Int, length: Int)] = [:]
        for item in keyItems {
            guard let key = item.asString else { throw FormatError("corrupt legacy checkpoint: a storage key is not a string") }
            guard let typeName = types.byKey[key] else {
                throw FormatError("corrupt legacy checkpoint: storage '\(key)' is listed but no tensor uses it")
            }
            guard let size = TensorDType.storageElementSize(typeName) else {
                throw FormatError("unsupported legacy checkpoint: storage '\(key)' has type \(typeName)")
            }
            let count = try file.u64(position, "the element count of storage '\(key)'")
            guard let length = checkedMul(count, size) else {
                throw FormatError("corrupt legacy checkpoint: storage '\(key)' claims \(count) elements")
            }
            try file.check(position + 8, length, "storage '\(key)' (\(count) \(typeName) elements)")
            ranges[key] = (position + 8, length)
            position += 8 + length
        }

        let (stateKey, entries) = try TorchPickle.findStateDict(object)
        let tensors = try entries.map { name, record -> CheckpointTensor in
            guard let range = ranges[record.storage.key] else {
                throw FormatError("corrupt legacy checkpoint: tensor '\(name)' uses storage '\(record.storage.key)', which is not in the storage list")
            }
            return try TorchPickle.tensor(name, record, file: file, storageRange: range)
        }
        return (stateKey, tensors)
    }
}
