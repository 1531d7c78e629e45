import Foundation

/// torch.save's zip format (torch >= 1.6): `<root>/data.pkl` plus one entry per storage,
/// `<root>/data/<key>`. The root folder's name varies, so it is taken from data.pkl's path.
enum PyTorchZip {
    static func read(_ file: ByteReader) throws -> (stateDictKey: String, tensors: [CheckpointTensor]) {
        let archive = try ZipArchive(file)
        guard let pkl = archive.entries.first(where: {
            $0.name.hasSuffix("/data.pkl") && $0.name.dropLast("/data.pkl".count).firstIndex(of: "/") == nil
        }) else {
            throw FormatError("not a PyTorch checkpoint: the zip archive has no <root>/data.pkl entry")
        }
        let root = String(pkl.name.dropLast("data.pkl".count))  // keeps the trailing slash
        if let order = archive.entry(root + "byteorder") {
            let text = String(decoding: try file.bytes(order.dataOffset, order.size), as: UTF8.self)
            guard text == "little" else { throw FormatError("unsupported checkpoint: byte order '\(text)'; only little-endian files are supported") }
        }

        var unpickler = Unpickler(ByteReader(try file.bytes(pkl.dataOffset, pkl.size)), at: 0, context: "data.pkl") {
            try TorchPickle.storage(from: $0, context: "data.pkl")
        }
        let object = try unpickler.load()
        let (key, entries) = try TorchPickle.findStateDict(object)
        let tensors = try entries.map { name, record -> CheckpointTensor in
            guard let entry = archive.entry(root + "data/" + record.storage.key) else {
                throw FormatError("tensor '\(name)' uses storage '\(record.storage.key)', but the archive has no entry '\(root)data/\(record.storage.key)'")
            }
            return try TorchPickle.tensor(name, record, file: file, storageRange: (entry.dataOffset, entry.size))
        }
        return (key, tensors)
    }
}
