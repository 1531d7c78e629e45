/// What PyTorch's pickles mean beyond plain data: storage persistent ids, and where in the
/// unpickled object the state dict lives. Shared by the zip and the legacy format.
enum TorchPickle {
    /// Turns a persistent id into a storage record (never reading its bytes).
    /// Zip: `('storage', StorageType, key, location, numel)`.
    /// Legacy: the same plus a sixth element, `None` or a view `(view_key, offset, view_size)`.
    static func storage(from pid: PickleValue, context: String) throws -> PickleValue {
        guard case .tuple(let t) = pid, let tag = t.items.first?.asString else {
            throw FormatError("corrupt pickle in \(context): unsupported persistent id (\(pid.kind))")
        }
        if tag == "module" { return .opaque("a module's source code") } // legacy whole-model saves
        let a = t.items
        guard tag == "storage", a.count >= 5, case .global(_, let typeName) = a[1],
              let key = a[2].asString ?? a[2].asInt.map(String.init), let numel = a[4].asInt, numel >= 0 else {
            throw FormatError("corrupt pickle in \(context): malformed storage persistent id")
        }
        var elementOffset = 0
        if a.count >= 6, let view = a[5].asTupleItems {
            guard view.count == 3, let offset = view[1].asInt, offset >= 0, (view[2].asInt ?? -1) >= 0 else {
                throw FormatError("corrupt pickle in \(context): malformed storage view of '\(key)'")
            }
            elementOffset = offset
        }
        return .storage(StorageRecord(key: key, typeName: typeName, dtype: TensorDType(storageName: typeName),
                                      elementOffset: elementOffset, numel: numel))
    }

    static let stateDictKeys = ["model", "state_dict", "model_state_dict"]

    /// The state dict: the top-level object if it is a dict of tensors, else the dict of tensors
    /// under one of `stateDictKeys`. Returns its key ("" for the top level) and its entries.
    static func findStateDict(_ root: PickleValue) throws -> (key: String, entries: [(String, TensorRecord)]) {
        guard case .dict(let top) = root else {
            throw FormatError("no state dict found: the file holds \(root.kind), not a dict of tensors (save model.state_dict() instead of the model)")
        }
        if let entries = tensorEntries(top) { return ("", entries) }
        for key in stateDictKeys {
            if case .dict(let inner)? = top[key], let entries = tensorEntries(inner) { return (key, entries) }
        }
        let keys = top.entries.prefix(8).map { $0.key.asString.map { "'\($0)'" } ?? $0.key.kind }
        var detail = ""
        for key in stateDictKeys {
            guard let v = top[key] else { continue }
            if case .dict(let inner) = v, let bad = inner.entries.first(where: { if case .tensor = $0.value { return false }; return true }) {
                detail = "; '\(key)' holds \(bad.value.kind) under \(bad.key.asString.map { "'\($0)'" } ?? bad.key.kind)"
            } else {
                detail = "; '\(key)' holds \(v.kind)"
            }
            break
        }
        if detail.isEmpty, top.entries.contains(where: { if case .tensor = $0.value { return true }; return false }),
           let bad = top.entries.first(where: { if case .tensor = $0.value { return false }; return true }) {
            detail = "; \(bad.key.asString.map { "'\($0)'" } ?? bad.key.kind) holds \(bad.value.kind)"
        }
        throw FormatError("no state dict found: the top-level dict (keys \(keys.joined(separator: ", "))\(top.entries.count > 8 ? ", ..." : "")) is not a dict of tensors and has no dict of tensors under 'model', 'state_dict' or 'model_state_dict'\(detail)")
    }

    /// The dict's entries if every key is a string and every value a tensor.
    private static func tensorEntries(_ dict: PickleDict) -> [(String, TensorRecord)]? {
        var out: [(String, TensorRecord)] = []
        out.reserveCapacity(dict.entries.count)
        for (k, v) in dict.entries {
            guard let name = k.asString, case .tensor(let t) = v else { return nil }
            out.append((name, t))
        }
        return out
    }

    /// Builds a checkpoint tensor from a record, given the byte range of its root storage.
    static func tensor(_ name: String, _ t: TensorRecord, file: ByteReader,
                       storageRange: (start: Int, length: Int)) throws -> CheckpointTensor {
        guard let dtype = t.storage.dtype else {
            throw FormatError("tensor '\(name)' is stored as \(t.storage.typeName), which this reader does not support")
        }
        guard let first = checkedAdd(t.storage.elementOffset, t.storageOffset) else {
            throw FormatError("tensor '\(name)' has an impossible storage offset")
        }
        return try CheckpointTensor(name: name, shape: t.shape, strides: t.strides, dtype: dtype,
                                    file: file.data, regionStart: storageRange.start,
                                    regionLength: storageRange.length, firstElement: first,
                                    what: "storage '\(t.storage.key)'")
    }
}
