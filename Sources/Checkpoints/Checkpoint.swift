import Foundation

public enum CheckpointFormat: String, Sendable {
    case pytorchZip = "pytorch-zip", pytorchLegacy = "pytorch-legacy", safetensors
}

/// A model's state dict read from a PyTorch (zip or legacy) or safetensors file, in pure Swift.
///
/// Safety: pickles are interpreted as data only (see `Unpickler`). Unknown classes and calls become
/// inert placeholders, so a training checkpoint holding, say, an `argparse.Namespace` or lambdas
/// pickled by dill still loads; a pickle that names a code-running global (os.system,
/// builtins.eval, ...) is refused with an error, because nothing legitimate in a checkpoint needs
/// one and the user should know. Every
/// offset and length is bounds-checked; a malformed file gives one `CheckpointError`, not a crash.
///
/// Memory: the file is memory-mapped and tensors only record where their elements lie; the
/// elements are converted on `floats()`. (Like any mapping, the file must not be truncated by
/// another process while a checkpoint from it is alive.)
public struct Checkpoint: Sendable {
    public let path: String
    public let format: CheckpointFormat
    /// The state dict, in file order.
    public let tensors: [CheckpointTensor]
    /// Where the state dict was found: "" (top level) or e.g. "model" / "state_dict".
    public let stateDictKey: String
    private let index: [String: Int]

    public subscript(name: String) -> CheckpointTensor? { index[name].map { tensors[$0] } }

    init(path: String, format: CheckpointFormat, tensors: [CheckpointTensor], stateDictKey: String) {
        self.path = path
        self.format = format
        self.tensors = tensors
        self.stateDictKey = stateDictKey
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// Reads the file's state dict. The file is memory-mapped; tensor bytes are converted only
    /// when `CheckpointTensor.floats()` is called. Throws `CheckpointError` naming the file.
    public static func load(_ path: String) throws -> Checkpoint {
        // Only a regular file: stat first, so a FIFO is refused rather than opened (which would
        // block until a writer came) and a folder gets the OS's reason, not a Foundation code.
        if let why = notRegularFile(path) { throw CheckpointError(path: path, "cannot read the file (\(why))") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw CheckpointError(path: path, "cannot read the file (\(String(cString: strerror(EIO))))")
        }
        return try decode(data, path: path)
    }

    /// nil when `path` is a regular file (after symlinks); else the reason it cannot be read.
    public static func notRegularFile(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            return code == ENOENT ? "no such file" : String(cString: strerror(code))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            // Readable? (open with O_NONBLOCK: never waits, whatever the file is.)
            let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { return String(cString: strerror(errno)) }
            close(fd)
            return nil
        case S_IFDIR: return "it is a folder, not a file"
        case S_IFIFO: return "it is a FIFO (named pipe), not a regular file"
        default: return "it is not a regular file"
        }
    }

    /// Tensors may share storages (tied weights, views) and expand them (stride 0), so the values
    /// a file describes can exceed what it holds. Materialised, they must stay within
    /// `elementsPerFileByte` per byte of the file, or `smallTotalElements` for small files: a
    /// hostile file of a few kilobytes cannot describe gigabytes of weights.
    public static let elementsPerFileByte = 4
    public static let smallTotalElements = 1 << 24

    /// Reads a checkpoint from bytes already in memory; `path` is only used to name it.
    public static func decode(_ data: Data, path: String) throws -> Checkpoint {
        let file = ByteReader(data)
        do {
            let checkpoint = try decodeFormat(file, path: path)
            var total = 0
            for t in checkpoint.tensors { total = checkedAdd(total, t.count) ?? Int.max }
            let limit = max(checkedMul(file.count, elementsPerFileByte) ?? Int.max, smallTotalElements)
            guard total <= limit else {
                throw FormatError("refusing to load: its \(checkpoint.tensors.count) tensors describe \(total) elements in all, more than the \(limit) allowed for a \(file.count)-byte file (\(elementsPerFileByte) per byte, at least \(smallTotalElements)); views or expanded tensors repeat the same storage")
            }
            return checkpoint
        } catch let e as FormatError {
            throw CheckpointError(path: path, e.message)
        } catch {
            throw CheckpointError(path: path, "unexpected error: \(error)")
        }
    }

    private static func decodeFormat(_ file: ByteReader, path: String) throws -> Checkpoint {
        if file.count == 0 { throw FormatError("not a checkpoint: the file is empty") }
        if ZipArchive.looksLikeZip(file) {
            let (key, tensors) = try PyTorchZip.read(file)
            return Checkpoint(path: path, format: .pytorchZip, tensors: tensors, stateDictKey: key)
        }
        // safetensors before legacy: its header length's low byte may well be 0x80, a pickle's
        // first byte, while a legacy file never has "{" at byte 8.
        if Safetensors.looksLikeSafetensors(file) {
            return Checkpoint(path: path, format: .safetensors, tensors: try Safetensors.read(file), stateDictKey: "")
        }
        if LegacyFormat.looksLikeLegacy(file) {
            let (key, tensors) = try LegacyFormat.read(file)
            return Checkpoint(path: path, format: .pytorchLegacy, tensors: tensors, stateDictKey: key)
        }
        let head = file.data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw FormatError("not a checkpoint: expected a PyTorch zip archive, a legacy PyTorch file or safetensors, but the file starts with \(head)")
    }
}
