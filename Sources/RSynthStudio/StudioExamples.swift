import Foundation
import RobustSynthHost

/// The example specs the form can start from: every `*.yaml` in the examples folder and one
/// level below (the repository's Examples/, or PREFIX/share/rsynth/examples once installed),
/// each read as a draft with its paths made absolute against its own folder, so the shipped
/// digit models and data are found wherever the studio was started.
public enum StudioExamples {
    public struct Example: Codable, Equatable {
        /// Relative to the examples folder, without ".yaml": "quickstart", "digits/inpainting".
        public var name: String
        /// The spec's first comment line, if any.
        public var title: String
        public var spec: [String: SpecValue]
    }

    /// The examples folder beside an rsynth executable: PREFIX/share/rsynth/examples for an
    /// installed one, the repository's Examples/ for one in .build/CONFIG/.
    public static func folder(besides executable: URL) -> String? {
        let bin = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [bin.deletingLastPathComponent().appendingPathComponent("share/rsynth/examples"),
                          bin.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Examples"),
                          bin.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Examples")]
        return candidates.map(\.path).first { FileManager.default.fileExists(atPath: $0 + "/quickstart.yaml") }
    }

    public static func list(_ folder: String, catalog: PluginCatalog) -> [Example] {
        let fm = FileManager.default
        var names = [String]()
        for first in ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).sorted() where !first.hasPrefix(".") {
            if first.hasSuffix(".yaml") { names.append(first) }
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: folder + "/" + first, isDirectory: &isDir), isDir.boolValue else { continue }
            for second in ((try? fm.contentsOfDirectory(atPath: folder + "/" + first)) ?? []).sorted()
            where second.hasSuffix(".yaml") && !second.hasPrefix(".") { names.append(first + "/" + second) }
        }
        return names.compactMap { rel in
            let path = folder + "/" + rel
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let spec = SpecDraft.parse(text, base: (path as NSString).deletingLastPathComponent, catalog: catalog) else { return nil }
            let title = text.split(separator: "\n").first { $0.hasPrefix("# ") && !$0.contains("yaml-language-server") }
                .map { String($0.dropFirst(2)) } ?? ""
            return Example(name: String(rel.dropLast(".yaml".count)), title: title, spec: spec)
        }
    }
}
