import Foundation
import RobustSynthHost

/// The run folders under the studio's runs folder (a folder with a manifest.json, at most two
/// levels down), newest first, each summarised for the gallery from its manifest.
public enum RunGallery {
    public struct Entry: Codable, Equatable {
        /// The folder, relative to the runs folder (the run page is `files/<path>/index.html`).
        public var path: String
        /// The manifest's modification time, seconds since 1970.
        public var modified: Double
        public var task: String
        public var classifier: String
        public var seed: String
        /// Each constraint with its parameters, e.g. "l2-ball eps: 12.0".
        public var constraints: [String]
        /// The classes the samples target (generation rows, translation targets).
        public var classes: [String]
        public var samples: Int
        public var total: Int
        public var complete: Bool
        public var seconds: Double
        /// The k-NN judge's share recognised as the target, when the spec has a judge.
        public var agreement: Double?
        public var grid: String?
    }

    /// Every run under `root`, newest first; a folder whose manifest cannot be read is skipped.
    /// With a cache, a manifest is decoded only when its modification time or size changed.
    public static func scan(_ root: String, cache: Cache? = nil) -> [Entry] {
        let fm = FileManager.default
        var folders = [String]()
        for first in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where !first.hasPrefix(".") {
            folders.append(first)
            let sub = root + "/" + first
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: sub, isDirectory: &isDir), isDir.boolValue,
                  !fm.fileExists(atPath: sub + "/manifest.json") else { continue }
            for second in (try? fm.contentsOfDirectory(atPath: sub)) ?? [] where !second.hasPrefix(".") {
                folders.append(first + "/" + second)
            }
        }
        var entries = [Entry]()
        for rel in folders {
            let manifestPath = root + "/" + rel + "/manifest.json"
            guard let attributes = try? fm.attributesOfItem(atPath: manifestPath),
                  let modified = attributes[.modificationDate] as? Date else { continue }
            let key = Cache.Key(modified: modified.timeIntervalSince1970, size: (attributes[.size] as? Int) ?? -1)
            if let hit = cache?.lookup(rel, key) { entries.append(hit); continue }
            guard let data = fm.contents(atPath: manifestPath),
                  let m = try? JSONDecoder().decode(RunManifest.self, from: data) else { continue }
            let e = entry(rel, m, modified: key.modified)
            cache?.store(rel, key, e)
            entries.append(e)
        }
        return entries.sorted { ($0.modified, $1.path) > ($1.modified, $0.path) }
    }

    /// Gallery entries by run folder, valid while the manifest's modification time and size
    /// stay the same (a finished or resumed run rewrites its manifest). Shared by the server's
    /// concurrent requests, hence the lock.
    public final class Cache: @unchecked Sendable {
        struct Key: Equatable { let modified: Double; let size: Int }
        private var entries = [String: (Key, Entry)]()
        private let lock = NSLock()
        public init() {}

        func lookup(_ path: String, _ key: Key) -> Entry? {
            lock.lock(); defer { lock.unlock() }
            guard let (k, e) = entries[path], k == key else { return nil }
            return e
        }

        func store(_ path: String, _ key: Key, _ entry: Entry) {
            lock.lock(); defer { lock.unlock() }
            entries[path] = (key, entry)
        }
    }

    static func entry(_ path: String, _ m: RunManifest, modified: Double) -> Entry {
        let plugins = m.plan.plugins
        func name(_ section: String) -> String { plugins.first { $0.section == section }?.name ?? "" }
        let constraints = plugins.filter { $0.section == "constraints" }.map { p in
            ([p.name] + p.parameters.keys.sorted().map { "\($0): \(p.parameters[$0]!)" }).joined(separator: " ")
        }
        var classes = [String]()
        for s in m.samples where s.target >= 0 && !classes.contains(s.target_name) { classes.append(s.target_name) }
        return Entry(path: path, modified: modified, task: name("task"), classifier: name("classifier"), seed: name("seed"),
                     constraints: constraints, classes: classes, samples: m.samples.count, total: m.plan.total_samples,
                     complete: m.complete, seconds: m.timings.total_seconds, agreement: m.judge?.agreement, grid: m.grid)
    }

    /// The entries that match every filter given: task, classifier (exact names), class (one of
    /// the targets).
    public static func filter(_ entries: [Entry], task: String?, classifier: String?, targetClass: String?) -> [Entry] {
        entries.filter { e in
            (task.map { e.task == $0 } ?? true) && (classifier.map { e.classifier == $0 } ?? true)
                && (targetClass.map { e.classes.contains($0) } ?? true)
        }
    }
}
