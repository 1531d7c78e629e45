import Foundation
import ImageIO
import RobustSynthCore

/// Runs a validated spec into a run folder:
///   run.json                what the run is (spec fingerprint, plan, plugin versions)
///   spec.yaml               the spec as given
///   samples/NNNNNN.png      each result; -seed.png and -start.png beside it; .json its record
///   grid.png, losses.csv, loss-<group>.svg, manifest.json
/// Every file is written atomically; a sample counts as done once its record exists, so an
/// interrupted run started again skips what is finished and ends with the same files.
public struct RunOptions {
    public var outputDirectory: String
    /// Run only items with index % count == index (0-based), for job arrays.
    public var shard: (index: Int, count: Int) = (0, 1)
    public var saveTensors = false
    public var quiet = false
    /// Set: each phase's wall time is added to it (`rsynth run --profile`).
    public var profile: RunProfile?
    /// Seconds between progress lines off a terminal.
    public var progressInterval: TimeInterval = Progress.logInterval
    public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
}

public struct RunSummary {
    public let directory: String
    public let manifest: RunManifest
    public let ranSamples: Int
    public let skippedSamples: Int
}

public final class PipelineRunner {
    let spec: PipelineSpec
    let catalog: PluginCatalog
    let options: RunOptions

    public init(spec: PipelineSpec, catalog: PluginCatalog, options: RunOptions) {
        self.spec = spec; self.catalog = catalog; self.options = options
    }

    static func fingerprint(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(format: "fnv1a64:%016llx", h)
    }

    /// The class names of a classifier: its own, ImageNet's for 1000 classes, else numbers.
    public static func labels(of classifier: Classifier) -> ClassLabels {
        if let first = classifier.className(0) {
            var names = [first]
            for i in 1..<max(classifier.numClasses, 1) { names.append(classifier.className(i) ?? String(i)) }
            return ClassLabels(names: names)
        }
        return classifier.numClasses == 1000 ? .imageNet : .numbered(classifier.numClasses)
    }

    /// Holds the run folder's lock for the whole run; a start that fails before writing
    /// anything leaves no folder behind.
    public func run() throws -> RunSummary {
        let lock = try RunFolderLock.acquire(options.outputDirectory)
        var wrote = false
        do {
            let summary = try run(wrote: &wrote)
            lock.release()
            return summary
        } catch {
            if !wrote { lock.abandon() } else { lock.release() }
            throw error
        }
    }

    func run(wrote: inout Bool) throws -> RunSummary {
        let started = Date()
        let dir = options.outputDirectory
        let fm = FileManager.default
        let fingerprint = PipelineRunner.fingerprint(spec.text)

        // A folder that holds another spec's run is never touched.
        let planPath = (dir as NSString).appendingPathComponent("run.json")
        if let existing = try? JSONFiles.read(RunPlan.self, from: planPath), existing.spec_fingerprint != fingerprint {
            throw RunError("output folder \(dir) holds a run of a different spec (its spec.yaml differs from \(spec.path)); choose another output folder or remove it")
        }

        // Compose: every piece is a plugin; failures name the plugin.
        let profile = options.profile
        func timed<T>(_ phase: RunProfile.Phase, _ body: () throws -> T) rethrows -> T {
            guard let profile else { return try body() }
            return try profile.time(phase, body)
        }
        let (hostedClassifier, sampler, task, hostedConstraints) = try timed(.compose) {
            (try catalog.makeClassifier(spec.classifier.plugin, spec.classifier.values),
             try catalog.makeSeedSampler(spec.seed.plugin, spec.seed.values),
             try catalog.makeTask(spec.task.plugin, spec.task.values),
             try spec.constraints.map { try catalog.makeConstraint($0.plugin, $0.values) })
        }
        let classifier: Classifier = profile.map { ProfiledClassifier(hostedClassifier, $0) } ?? hostedClassifier
        let constraints: [Constraint] = profile.map { p in hostedConstraints.map { ProfiledConstraint($0, p) } } ?? hostedConstraints
        let objective: (ObjectiveInput) throws -> ObjectiveOutput = profile.map { p in
            { input in try p.time(.objective) { try task.objective(input) } }
        } ?? task.objective
        let taskName = spec.task.plugin.info.name
        // An ABI 1 task states no facts, so validation could not check these before creating it.
        let present = Set(spec.constraints.map(\.plugin.info.name))
        if let missing = task.requiredConstraints.first(where: { !present.contains($0) }) {
            throw RunError("task '\(taskName)' needs a '\(missing)' constraint: add { plugin: \(missing), with: {...} } under 'constraints'")
        }
        let taps = task.taps
        for name in taps where !classifier.taps.contains(where: { $0.name == name }) {
            throw RunError("task '\(taskName)' reads tap '\(name)', but classifier '\(spec.classifier.plugin.info.name)': \(HostedClassifier.unknownTapMessage(name, offered: classifier.taps))")
        }
        let labels = PipelineRunner.labels(of: classifier)
        let shape = classifier.inputShape
        let setup = TaskSetup(numClasses: classifier.numClasses, inputShape: shape, sourceItemCount: sampler.itemCount,
                              sourceItemLabels: sampler.itemLabels,
                              resolveClass: { labels.resolve($0) }, suggestClass: { labels.suggestion(for: $0) },
                              className: { labels.name($0) }, taps: classifier.taps)
        var items = try task.plan(setup)
        // Items whose target is "the true class of the source image" get it now, before any work.
        if items.contains(where: { $0.target == TaskItem.sourceLabel }) {
            guard let known = setup.sourceItemLabels else {
                throw RunError("plugin '\(spec.task.plugin.info.name)' needs the true class of each source image, but seed source '\(spec.seed.plugin.info.name)' does not know them: use a labelled source such as dataset-image")
            }
            for i in items.indices where items[i].target == TaskItem.sourceLabel {
                guard let s = items[i].sourceItem, s >= 0, s < known.count else {
                    throw RunError("plugin '\(spec.task.plugin.info.name)': item \(i) asks for its source's class but names no source item")
                }
                items[i].target = known[s]
            }
        }
        for (i, item) in items.enumerated() where item.target != TaskItem.noTarget && (item.target < 0 || item.target >= classifier.numClasses) {
            throw RunError("plugin '\(spec.task.plugin.info.name)': item \(i) targets class \(item.target), but the classifier has \(classifier.numClasses) classes")
        }
        if let n = sampler.itemCount, let bad = items.first(where: { ($0.sourceItem ?? 0) >= n }) {
            throw RunError("plugin '\(spec.task.plugin.info.name)' asks for source item \(bad.sourceItem!), but '\(spec.seed.plugin.info.name)' has \(n)")
        }
        let settings = PGDSettings(steps: spec.optimizer.steps ?? task.defaultSteps,
                                   stepSize: spec.optimizer.stepSize ?? task.defaultStepSize,
                                   useBest: spec.optimizer.useBest, randomStart: spec.optimizer.randomStart,
                                   rule: spec.optimizer.rule, schedule: spec.optimizer.schedule)
        if spec.optimizer.stop?.probability != nil, let bad = items.firstIndex(where: { $0.target < 0 }) {
            throw RunError("'optimizer.stop.probability' needs a target class, but sample \(bad) of task '\(taskName)' has none: use 'patience' (and 'min_delta') to stop when the loss stalls")
        }
        let groupCount = (items.map(\.group).max() ?? -1) + 1
        // A group is named after its class when all its samples share one (generation rows).
        let groupNames = (0..<groupCount).map { g -> String in
            let targets = Set(items.filter { $0.group == g }.map(\.target))
            return targets.count == 1 && targets.first! >= 0 ? labels.name(targets.first!) : "all samples"
        }
        let plan = RunPlan(
            spec_fingerprint: fingerprint, total_samples: items.count,
            layout: sampler.itemCount == nil ? "grid" : "rows", group_names: groupNames,
            plugins: pluginRecords(), optimizer: OptimizerRecord(steps: settings.steps, step_size: settings.stepSize,
                                                                 use_best: settings.useBest, batch_size: spec.optimizer.batchSize,
                                                                 seed: spec.optimizer.seed,
                                                                 step_geometry: (constraints.first { $0.stepGeometry != .none }?.stepGeometry ?? .l2).rawValue,
                                                                 random_start: settings.randomStart,
                                                                 stop: spec.optimizer.stop.map {
                                                                     StopRecord(probability: $0.probability, patience: $0.patience,
                                                                                min_delta: $0.patience == nil ? nil : $0.minDelta)
                                                                 },
                                                                 rule: StepRuleRecord(settings.rule),
                                                                 schedule: settings.schedule == .constant ? nil : settings.schedule.rawValue),
            judge: spec.judge.map { JudgeRecord(dataset: $0.dataset, k: $0.k) },
            engine_environment: EngineEnvironment.current())
        let judge = try timed(.judgeLoad) {
            try spec.judge.map { try NearestNeighbourJudge(dataset: $0.dataset, labels: labels, shape: shape, k: $0.k) }
        }

        wrote = true
        try RunFolder.makeFolder((dir as NSString).appendingPathComponent("samples"))
        // Temporary files of a run that was killed: nobody else writes here while we hold the lock.
        RunFolder.removeTemporaryFiles(dir)
        try JSONFiles.write(plan, to: planPath)
        try JSONFiles.writeData(Data(spec.text.utf8), to: (dir as NSString).appendingPathComponent("spec.yaml"))

        let mine = items.indices.filter { $0 % options.shard.count == options.shard.index }
        let todo = mine.filter { !fm.fileExists(atPath: RunFolder.recordPath(dir, $0)) }
        let progress = Progress(total: mine.count, label: spec.task.plugin.info.name, stepsPerItem: settings.steps + 1,
                                interval: options.progressInterval)
        progress.enabled = !options.quiet
        var done = mine.count - todo.count
        var stepsDone = done * (settings.steps + 1)
        progress.update(done: done, stepsDone: stepsDone, force: true)

        // A pool of samples in flight (PGDPool): a sample that finishes is written out at once
        // and its slot refilled from `todo`, so with early stopping every engine call still runs
        // at batch_size; without it the pool's calls are exactly one batch after another.
        let batchSize = spec.optimizer.batchSize
        let stop = spec.optimizer.stop
        let pad = stop != nil
        struct Entered { let source: Tensor; let start: Tensor; let mask: Tensor?; let seed: UInt64; let sourceLabel: Int? }
        var entered = [Int: Entered]()
        let written = RunFolder.Written()
        var next = 0
        var interrupted = false
        let pool = try PGDPool(classifier: classifier, constraints: constraints, taps: taps, objective: objective,
                               settings: settings, stop: stop, batchSize: batchSize, padToBatch: pad)
        let poolStarted = ContinuousClock.now
        do {
            try pool.run(admit: { free in
                if Interruption.isRequested { interrupted = true; return nil }
                guard next < todo.count else { return nil }
                let batch = Array(todo[next..<min(next + free, todo.count)])
                next += batch.count
                let seeds = batch.map { RandomStream.sampleSeed(run: spec.optimizer.seed, index: $0) }
                let request = SeedRequest(classes: batch.map { items[$0].seedClass ?? max(items[$0].target, 0) }, seeds: seeds,
                                          items: sampler.itemCount == nil ? nil : batch.map { items[$0].sourceItem ?? $0 })
                let (source, sourceLabels, x0, mask) = try timed(.seeds) {
                    let (source, sourceLabels) = try sampler.sample(request, shape: shape)
                    let (x0, mask) = try task.prepare(items: batch, seeds: seeds, source: source)
                    return (source, sourceLabels, x0, mask)
                }
                // The taps of the source images: what an objective compares with (an inversion's
                // target); at the pool's one batch size when it pads, as every other engine call.
                var sourceTaps: [Tensor]?
                if !taps.isEmpty {
                    let rows = Array(0..<batch.count) + (pad ? [Int](repeating: 0, count: max(batchSize - batch.count, 0)) : [])
                    let values = try classifier.forward(rows.count == batch.count ? source : source.gather(rows), taps: taps).taps
                    sourceTaps = rows.count == batch.count ? values : values.map { $0.gather(Array(0..<batch.count)) }
                }
                for (k, index) in batch.enumerated() {
                    entered[index] = Entered(source: source.example(k), start: x0.example(k), mask: mask?.example(k),
                                             seed: seeds[k], sourceLabel: sourceLabels?[k])
                }
                return PGDAdmission(ids: batch, x0: x0, mask: mask, targets: batch.map { items[$0].target }, items: batch,
                                    sourceTaps: sourceTaps, seeds: seeds)
            }, report: { call in
                stepsDone += call.evaluations
                progress.plannedSteps -= call.stepsSaved
                // Forced once a batch is done (as before); with early stopping samples finish all the time.
                progress.update(done: done, stepsDone: stepsDone, loss: call.meanLoss, force: call.finished > 0 && !pad)
            }, finish: { result in
                let index = result.id
                let item = items[index]
                let e = entered.removeValue(forKey: index)!
                let judged = timed(.judging) { judge?.classify(result.x.data[result.x.exampleRange(0)]) }
                try timed(.sampleFiles) { try RunFolder.writeSample(
                    dir: dir, index: index, source: e.source, start: e.start, result: result.x,
                    mask: e.mask, showStart: e.start != e.source, saveTensors: options.saveTensors,
                    record: SampleRecord(index: index, target: item.target,
                                         target_name: item.target >= 0 ? labels.name(item.target) : "none",
                                         group: item.group, group_name: groupNames[item.group], seed: e.seed,
                                         source_label: e.sourceLabel, final_loss: result.loss,
                                         initial_loss: result.lossHistory[0], target_probability: result.targetProbability,
                                         image: "", seed_image: "", start_image: nil, seed_tensor: nil, result_tensor: nil, mask_tensor: nil,
                                         losses: result.lossHistory, seconds: result.seconds,
                                         judged_class: judged, stopped_at: result.stoppedAt),
                    written: written) }
                done += 1
            })
        } catch let e as NonFiniteValue {
            progress.finish()
            throw RunError("sample \(e.example): \(e.what) is not finite (NaN or infinite) at step \(e.step), from classifier '\(spec.classifier.plugin.info.name)', task '\(taskName)' and the constraints; finished samples are kept, the run can be resumed")
        }
        if let profile {
            // The pool's own work: its time less every phase measured inside it (none of them
            // runs before it).
            let inside = [RunProfile.Phase.seeds, .forward, .backward, .objective, .steps, .judging, .sampleFiles]
                .map(profile.seconds).reduce(0, +)
            profile.add(.pool, max(RunProfile.elapsed(since: poolStarted) - inside, 0))
        }
        if interrupted { progress.finish(); throw RunInterrupted(done: done, total: mine.count) }
        progress.finish()
        let manifest = try timed(.finalize) {
            try RunFolder.finalize(dir: dir, specPath: spec.path, classifier: spec.classifier.plugin.info.name,
                                   elapsed: Date().timeIntervalSince(started), shards: [], written: written)
        }
        return RunSummary(directory: dir, manifest: manifest, ranSamples: todo.count, skippedSamples: mine.count - todo.count)
    }

    func pluginRecords() -> [PluginRecord] {
        func record(_ section: String, _ use: PipelineSpec.PluginUse) -> PluginRecord {
            PluginRecord(section: section, name: use.plugin.info.name, version: use.plugin.info.version,
                         library: URL(fileURLWithPath: use.plugin.library).lastPathComponent,
                         parameters: use.given.mapValues(\.json))
        }
        return [record("classifier", spec.classifier), record("seed", spec.seed), record("task", spec.task)]
            + spec.constraints.map { record("constraints", $0) }
    }
}

public struct RunError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
