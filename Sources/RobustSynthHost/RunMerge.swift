import Foundation

/// Joins shard folders of one spec: their sample files are copied into one folder and the
/// figures and manifest rebuilt, so the result equals a single run's, byte for byte for images.
public enum RunMerge {
    public static func merge(shards: [String], into out: String) throws -> RunManifest {
        let fm = FileManager.default
        guard let first = shards.first else { throw RunError("name at least one shard folder") }
        func plan(_ dir: String) throws -> RunPlan {
            do { return try JSONFiles.read(RunPlan.self, from: (dir as NSString).appendingPathComponent("run.json")) }
            catch { throw RunError("\(dir) is not a run folder (no readable run.json)") }
        }
        let reference = try plan(first)
        for s in shards.dropFirst() where try plan(s).spec_fingerprint != reference.spec_fingerprint {
            throw RunError("\(s) is a run of a different spec than \(first)")
        }
        // The output folder is ours for the whole merge, as a run's folder is.
        let lock = try RunFolderLock.acquire(out)
        defer { lock.release() }
        if let existing = try? plan(out), existing.spec_fingerprint != reference.spec_fingerprint {
            throw RunError("output folder \(out) holds a run of a different spec")
        }
        try RunFolder.makeFolder((out as NSString).appendingPathComponent("samples"))
        for file in ["run.json", "spec.yaml"] {
            let dst = (out as NSString).appendingPathComponent(file)
            try? fm.removeItem(atPath: dst)
            try fm.copyItem(atPath: (first as NSString).appendingPathComponent(file), toPath: dst)
        }
        var elapsed = 0.0
        for s in shards {
            let samples = (s as NSString).appendingPathComponent("samples")
            // Hidden files are temporaries of writes a killed shard left (see RunFolder.removeTemporaryFiles).
            for name in try fm.contentsOfDirectory(atPath: samples).sorted() where !name.hasPrefix(".") {
                let dst = (out as NSString).appendingPathComponent("samples/\(name)")
                if fm.fileExists(atPath: dst) { try fm.removeItem(atPath: dst) }
                try fm.copyItem(atPath: (samples as NSString).appendingPathComponent(name), toPath: dst)
            }
            if let m = try? JSONFiles.read(RunManifest.self, from: (s as NSString).appendingPathComponent("manifest.json")) {
                elapsed += m.timings.total_seconds
            }
        }
        let m = try? JSONFiles.read(RunManifest.self, from: (first as NSString).appendingPathComponent("manifest.json"))
        return try RunFolder.finalize(dir: out, specPath: m?.spec_path ?? "", classifier: m?.classifier ?? "",
                                      elapsed: elapsed, shards: shards)
    }
}
