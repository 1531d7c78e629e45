import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ImageIO
import RobustSynthCore

/// What `validate` can check about a spec's files and classes without creating any plugin:
/// only stat, a checkpoint's first bytes and a classifier's sidecar JSON are read.
enum StaticChecks {
    enum Expect { case file, folder }

    /// A path parameter names a folder when its name or doc says so (dataset, folder,
    /// directory); every other path parameter names a file.
    /// The name decides first; the doc only where it speaks of a folder and not of a file.
    static func expectation(_ decl: ParameterDecl) -> Expect {
        let name = decl.name.lowercased(), doc = decl.doc.lowercased()
        if ["dataset", "folder", "dir"].contains(where: { name.contains($0) }) { return .folder }
        if doc.contains("file") { return .file }
        return ["folder", "directory"].contains { doc.contains($0) } ? .folder : .file
    }

    /// A path the plugin writes rather than reads (named out/output, or documented as written):
    /// it need not exist yet.
    static func isOutput(_ decl: ParameterDecl) -> Bool {
        let name = decl.name.lowercased(), doc = decl.doc.lowercased()
        return ["out", "output", "cache"].contains(name) || name.hasPrefix("out_") || name.hasSuffix("_out")
            || name.hasSuffix("_cache") || doc.contains("fitted models") || doc.contains("cache folder")
            || name.hasPrefix("output_") || doc.contains("write") || doc.contains("written")
    }

    /// nil when `path` is what is expected; else "cannot read 'PATH': REASON".
    static func pathProblem(_ path: String, _ expect: Expect) -> String? {
        switch expect {
        case .file: return FileChecks.notRegularFile(path).map { "cannot read '\(path)': \($0)" }
        case .folder: return FileChecks.folderProblem(path).map { "cannot read folder '\(path)': \($0)" }
        }
    }

    /// A weights parameter: named `weights` or documented as a checkpoint or state dict.
    static func isCheckpoint(_ decl: ParameterDecl) -> Bool {
        let doc = decl.doc.lowercased()
        return decl.name == "weights" || doc.contains("checkpoint") || doc.contains("state dict")
    }

    /// nil when the file starts as a checkpoint does (a PyTorch zip: PK\x03\x04; a legacy
    /// torch.save: a pickle's PROTO opcode 0x80; safetensors: an 8-byte header length, then '{').
    static func checkpointProblem(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return "cannot read '\(path)': \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 16)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return "cannot read '\(path)': \(String(cString: strerror(errno)))" }
        head = Array(head.prefix(n))
        if head.isEmpty { return "'\(path)' is not a checkpoint: the file is empty" }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return nil }
        if head.count >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5 { return nil }
        if head.count >= 9 && head[8] == UInt8(ascii: "{") {
            let length = head.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            if length >= 2 && length <= 100_000_000 { return nil }
        }
        let shown = head.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
        return "'\(path)' is not a checkpoint: it starts with \(shown), not as a PyTorch zip (50 4b 03 04), a legacy torch.save file (a pickle, 80 02) or a safetensors file (a header length, then '{')"
    }

    /// The classes of a classifier where they are known without creating it: a `classes` count
    /// parameter (linear), the `classes` list of the JSON beside its weights (digits-resnet),
    /// ImageNet's for the ResNet-50 plugins.
    static func labels(of use: PipelineSpec.PluginUse) -> ClassLabels? {
        let decls = use.plugin.info.parameters
        if decls.contains(where: { $0.name == "classes" && $0.type == .int }), case .int(let n)? = use.values["classes"], n > 0, n <= 100_000 {
            // As the run names them (PipelineRunner.labels): a 1000-class model is ImageNet's.
            return n == 1000 ? .imageNet : .numbered(Int(n))
        }
        if let w = decls.first(where: { $0.type == .path && isCheckpoint($0) }), case .string(let path)? = use.values[w.name], !path.isEmpty {
            let sidecar = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("json").path
            if FileChecks.notRegularFile(sidecar) == nil,
               let data = FileManager.default.contents(atPath: sidecar),
               let meta = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let classes = meta["classes"] as? [Any], !classes.isEmpty {
                return ClassLabels(names: classes.map { "\($0)" })
            }
        }
        if ["resnet50", "robust-resnet50"].contains(use.plugin.info.name) { return .imageNet }
        return nil
    }

    /// A task parameter that names classes: `classes`, `*_class` or `*_classes`, of strings.
    static func isClassParameter(_ decl: ParameterDecl) -> Bool {
        guard decl.type == .string || decl.type == .list(.string) else { return false }
        return decl.name == "classes" || decl.name.hasSuffix("_class") || decl.name.hasSuffix("_classes")
    }

    /// nil when `text` names one of `labels`; else why not.
    static func classProblem(_ text: String, _ labels: ClassLabels, classifier: String) -> String? {
        if labels.resolve(text) != nil { return nil }
        let t = text.trimmingCharacters(in: .whitespaces)
        let range = "\(labels.count) classes (0 to \(labels.count - 1))"
        if let i = Int(t) { return "class \(i) is out of range: classifier '\(classifier)' has \(range)" }
        var message = "classifier '\(classifier)' has no class '\(t)'"
        if let near = labels.suggestion(for: t) { message += " (did you mean '\(near)'?)" }
        else if labels.count <= 20 { message += "; its classes are " + labels.names.joined(separator: ", ") }
        return message
    }

    /// nil when the run folder `dir` exists as a writable folder or can be created.
    static func outputProblem(_ dir: String) -> String? {
        var path = dir
        while true {
            var st = stat()
            if stat(path, &st) == 0 {
                if (st.st_mode & S_IFMT) != S_IFDIR {
                    return path == dir ? "'\(dir)' is a file, not a folder" : "cannot create '\(dir)': '\(path)' is a file, not a folder"
                }
                if access(path, W_OK) != 0 {
                    return "cannot \(path == dir ? "write in" : "create") '\(dir)': '\(path)': \(String(cString: strerror(errno)))"
                }
                return nil
            }
            let code = errno
            if code != ENOENT && code != ENOTDIR { return "cannot use '\(dir)': '\(path)': \(String(cString: strerror(code)))" }
            var p = Substring(path)
            while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
            guard let slash = p.lastIndex(of: "/") else { path = "."; continue }
            path = slash == p.startIndex ? "/" : String(p[..<slash])
        }
    }
}
