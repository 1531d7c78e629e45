import Foundation
import ImageIO
import RobustSynthCore

/// Reading and writing the files of a run folder; building its figures and manifest from the
/// sample records (so a resumed run, a single shard and merged shards all end the same way).
public enum RunFolder {
    static func name(_ index: Int) -> String { String(format: "%06d", index) }
    static func recordPath(_ dir: String, _ index: Int) -> String {
        (dir as NSString).appendingPathComponent("samples/\(name(index)).json")
    }

    /// Creates a folder (and its parents), or one sentence naming it and the OS's reason.
    static func makeFolder(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            var st = stat()
            let reason = stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR
                ? "it is a file, not a folder" : FileChecks.reason(error)
            throw RunError("cannot create folder \(path): \(reason)")
        }
    }

    /// Removes the temporary files that a killed run left in the folder and in samples/:
    /// AtomicFile's ".NAME.tmp-PID-TOKEN", and Foundation's ".dat.nosync..." of runs made
    /// before every file went through AtomicFile. Only for the holder of the folder's lock.
    static func removeTemporaryFiles(_ dir: String) {
        for folder in [dir, (dir as NSString).appendingPathComponent("samples")] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names where name.hasPrefix(".") && (name.contains(".tmp-") || name.hasPrefix(".dat.nosync")) {
                unlink((folder as NSString).appendingPathComponent(name))
            }
        }
    }

    /// What a run wrote in this process: the images as encoded and the records, so `finalize`
    /// does not decode again what it has just encoded (a resumed run's earlier samples, shards
    /// and merges are read from the folder). PNG is lossless: the same pixels either way.
    final class Written {
        var images = [String: RGBImage]()
        var records = [Int: SampleRecord]()
    }

    /// Writes a sample's images (and tensors), then its record last: the record marks it done.
    static func writeSample(dir: String, index: Int, source: Tensor, start: Tensor, result: Tensor, mask: Tensor?,
                            showStart: Bool, saveTensors: Bool, record: SampleRecord, written: Written? = nil) throws {
        var r = record
        let base = "samples/\(name(index))"
        func path(_ rel: String) -> String { (dir as NSString).appendingPathComponent(rel) }
        func png(_ t: Tensor, _ rel: String) throws {
            // Written first: `written?.images[rel] = try ...` would skip the write when nil.
            let image = try ImageFile.writePNG(t, to: path(rel))
            written?.images[rel] = image
        }
        r.image = base + ".png"
        r.seed_image = base + "-seed.png"
        try png(result, r.image)
        try png(source, r.seed_image)
        if showStart {
            r.start_image = base + "-start.png"
            try png(start, r.start_image!)
        }
        if saveTensors {
            r.seed_tensor = base + "-seed.npy"
            r.result_tensor = base + "-result.npy"
            try NPY.write(Tensor(shape: Array(start.shape.dropFirst()), data: start.data), to: path(r.seed_tensor!))
            try NPY.write(Tensor(shape: Array(result.shape.dropFirst()), data: result.data), to: path(r.result_tensor!))
            if let mask {
                r.mask_tensor = base + "-mask.npy"
                try NPY.write(Tensor(shape: Array(mask.shape.dropFirst()), data: mask.data), to: path(r.mask_tensor!))
            }
        }
        try JSONFiles.write(r, to: recordPath(dir, index))
        written?.records[index] = r
    }

    public static func records(in dir: String) throws -> [SampleRecord] { try records(in: dir, written: nil) }

    /// The results written so far, `samples/NNNNNN.png` by index, while a run is still going
    /// (the manifest lists them only at the end).
    public static func resultImages(in dir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: (dir as NSString).appendingPathComponent("samples"))) ?? []
        return names.filter { $0.hasSuffix(".png") && Int($0.dropLast(".png".count)) != nil }.sorted().map { "samples/" + $0 }
    }

    /// Every record in samples/, by name; one this process wrote is taken as it was written.
    static func records(in dir: String, written: Written?) throws -> [SampleRecord] {
        let samples = (dir as NSString).appendingPathComponent("samples")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: samples)) ?? []
        return try names.filter { $0.hasSuffix(".json") }.sorted().map {
            if let index = Int($0.dropLast(".json".count)), let r = written?.records[index] { return r }
            return try JSONFiles.read(SampleRecord.self, from: (samples as NSString).appendingPathComponent($0))
        }
    }

    static func judgeSummary(_ plan: RunPlan, _ records: [SampleRecord]) -> JudgeSummary? {
        guard let j = plan.judge else { return nil }
        let judged = records.filter { $0.judged_class != nil }
        // An item without a target class (inversion) is judged against its source's class.
        let recognised = judged.filter { $0.judged_class == ($0.target >= 0 ? $0.target : $0.source_label) }.count
        return JudgeSummary(dataset: j.dataset, k: j.k, judged: judged.count, recognised: recognised,
                            agreement: judged.isEmpty ? 0 : Double(recognised) / Double(judged.count))
    }

    /// Grid, loss CSV, loss plots, manifest and index.html from the records in `dir`.
    @discardableResult
    public static func finalize(dir: String, specPath: String, classifier: String, elapsed: Double,
                                shards: [String] = []) throws -> RunManifest {
        try finalize(dir: dir, specPath: specPath, classifier: classifier, elapsed: elapsed, shards: shards, written: nil)
    }

    static func finalize(dir: String, specPath: String, classifier: String, elapsed: Double,
                         shards: [String], written: Written?) throws -> RunManifest {
        func path(_ rel: String) -> String { (dir as NSString).appendingPathComponent(rel) }
        let plan = try JSONFiles.read(RunPlan.self, from: path("run.json"))
        let records = try self.records(in: dir, written: written)
        func image(_ rel: String?) -> RGBImage? { rel.flatMap { written?.images[$0] ?? (try? ImageFile.read(path($0))) } }

        // The paper's Figure 2 (a row of results per class, its class written to its left), or
        // source | start | result triplets with their class above, wrapped and paged.
        var pages = [RGBImage]()
        if plan.layout == "grid" {
            var rows = [[RGBImage]](), labels = [String]()
            for (g, name) in plan.group_names.enumerated() {
                let row = records.filter { $0.group == g }.compactMap { image($0.image) }
                if !row.isEmpty { rows.append(row); labels.append(name) }
            }
            if !rows.isEmpty {
                // Rows that share one name (feature visualisation's "all samples") say nothing.
                pages = [Set(labels).count > 1 ? ImageGrid.make(rows: rows, rowLabels: labels) : ImageGrid.make(rows: rows, gap: 2)]
            }
        } else {
            pages = ImageGrid.pages(records.map { r in
                ImageGrid.LabelledCell(images: [image(r.seed_image), image(r.start_image), image(r.image)].compactMap { $0 },
                                       label: RunFigures.caption(r))
            })
        }
        let pageNames = pages.indices.map { $0 == 0 ? "grid.png" : "grid-\($0 + 1).png" }
        for (page, name) in zip(pages, pageNames) { try ImageFile.writePNG(page, to: path(name)) }
        // Pages of an earlier finalize that this one no longer has (never the case as a run
        // grows, but merging fewer shards can make fewer pages).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where name.hasPrefix("grid-") && name.hasSuffix(".png") && !pageNames.contains(name) {
            unlink(path(name))
        }
        let gridName = pageNames.first
        try JSONFiles.writeData(Data(RunFigures.lossCSV(records).utf8), to: path("losses.csv"))
        var plots = [String]()
        for (g, groupName) in plan.group_names.enumerated() {
            let members = records.filter { $0.group == g }
            guard !members.isEmpty else { continue }
            let file = "loss-\(String(format: "%02d", g))-\(RunFigures.slug(groupName)).svg"
            try JSONFiles.writeData(Data(RunFigures.lossPlotSVG(title: "Loss per step: \(groupName)", members).utf8), to: path(file))
            plots.append(file)
        }
        let spec = (try? String(contentsOfFile: path("spec.yaml"), encoding: .utf8)) ?? ""
        var listed = records
        for i in listed.indices { listed[i].losses = [] }
        let manifest = RunManifest(
            rsynth_version: rsynthVersion, spec: spec, spec_path: specPath, classifier: classifier, plan: plan,
            shards: shards, complete: records.count == plan.total_samples,
            timings: .init(total_seconds: elapsed,
                           mean_seconds_per_sample: records.isEmpty ? 0 : records.map(\.seconds).reduce(0, +) / Double(records.count)),
            grid: gridName, grid_pages: pageNames.count > 1 ? pageNames : nil, loss_csv: "losses.csv", loss_plots: plots, judge: judgeSummary(plan, records), samples: listed)
        try JSONFiles.write(manifest, to: path("manifest.json"))
        try JSONFiles.writeData(Data(RunReport.html(manifest, records: records).utf8), to: path("index.html"))
        return manifest
    }
}
