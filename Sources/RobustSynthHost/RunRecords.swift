import Foundation
import ImageIO
import RobustSynthCore

/// What a run folder holds about one finished sample (samples/NNNNNN.json). The manifest and
/// the figures are rebuilt from these, so resuming, sharding and merging need nothing else.
public struct SampleRecord: Codable, Equatable {
    public var index: Int
    public var target: Int
    public var target_name: String
    public var group: Int
    public var group_name: String
    public var seed: UInt64
    /// True class of the source image, where the seed source knows it.
    public var source_label: Int?
    public var final_loss: Float
    public var initial_loss: Float
    public var target_probability: Float
    /// Paths relative to the run folder.
    public var image: String
    public var seed_image: String
    public var start_image: String?
    public var seed_tensor: String?
    public var result_tensor: String?
    /// [1, H, W], 1 where the task rewrote the image (inpainting), with --save-tensors.
    public var mask_tensor: String?
    public var losses: [Float]
    public var seconds: Double
    /// The k-NN judge's class for the result, when the spec has a judge.
    public var judged_class: Int?
    /// The step at which an early-stopping rule held (`losses` ends there); nil (absent) when
    /// the sample ran all its steps.
    public var stopped_at: Int? = nil
}

/// What a run is, written when it starts (run.json); the same in every shard of a spec.
public struct RunPlan: Codable, Equatable {
    public var spec_fingerprint: String
    public var total_samples: Int
    /// "grid": one row per group of results (generation); "rows": source | start | result per sample.
    public var layout: String
    public var group_names: [String]
    public var plugins: [PluginRecord]
    public var optimizer: OptimizerRecord
    public var judge: JudgeRecord?
    /// The environment switches set for this run that change the engines' arithmetic (layout,
    /// masks, oneDNN's ISA and threads; EngineEnvironment), name to value; nil in older runs.
    public var engine_environment: [String: String]? = nil
}

public struct JudgeRecord: Codable, Equatable {
    public var dataset: String
    public var k: Int
}

/// How often the judge recognised the target in the results.
public struct JudgeSummary: Codable, Equatable {
    public var dataset: String
    public var k: Int
    public var judged: Int
    public var recognised: Int
    public var agreement: Double
}

public struct PluginRecord: Codable, Equatable {
    public var section: String
    public var name: String
    public var version: String
    public var library: String
    public var parameters: [String: String]
}

public struct OptimizerRecord: Codable, Equatable {
    public var steps: Int
    public var step_size: Double
    public var use_best: Bool
    public var batch_size: Int
    public var seed: UInt64
    /// The step geometry and whether the run started at a random point (nil in runs made
    /// before rsynth recorded them: the L2 step from x0).
    public var step_geometry: String? = nil
    public var random_start: Bool? = nil
    /// The early-stopping rules (absent when none).
    public var stop: StopRecord? = nil
    /// The step rule and the step-size schedule (absent for the paper's: plain, constant).
    public var rule: StepRuleRecord? = nil
    public var schedule: String? = nil
}

public struct StepRuleRecord: Codable, Equatable {
    public var name: String
    public var momentum: Double?
    public var beta1: Double?
    public var beta2: Double?

    /// nil for the plain rule, so that a run without a rule records what it always did.
    init?(_ rule: StepRule) {
        switch rule {
        case .plain: return nil
        case .momentum(let mu): name = "momentum"; momentum = mu
        case .adam(let b1, let b2): name = "adam"; beta1 = b1; beta2 = b2
        }
    }
}

public struct StopRecord: Codable, Equatable {
    public var probability: Double?
    public var patience: Int?
    public var min_delta: Double?
}

/// The manifest of a run folder (manifest.json).
public struct RunManifest: Codable {
    public var rsynth_version: String
    public var spec: String
    public var spec_path: String
    public var classifier: String
    public var plan: RunPlan
    public var shards: [String]
    public var complete: Bool
    public var timings: Timings
    public var grid: String?
    /// Every page of the grid, the first being `grid`, where there is more than one (a rows
    /// figure of many samples); absent otherwise.
    public var grid_pages: [String]? = nil
    public var loss_csv: String
    public var loss_plots: [String]
    public var judge: JudgeSummary?
    public var samples: [SampleRecord]

    public struct Timings: Codable {
        public var total_seconds: Double
        public var mean_seconds_per_sample: Double
    }
}

enum JSONFiles {
    static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try writeData(encoder.encode(value), to: path)
    }
    static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        if let why = FileChecks.notRegularFile(path) { throw RunError("cannot read \(path): \(why)") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RunError("cannot read \(path): \(FileChecks.reason(error))")
        }
        return try JSONDecoder().decode(type, from: data)
    }
    /// Writes atomically; a failure is one sentence with the path and the OS's reason.
    /// Atomically, with AtomicFile's temporary names, which a run folder's next owner removes
    /// if a killed run left one behind (RunFolderLock).
    static func writeData(_ data: Data, to path: String) throws {
        do { try AtomicFile.write(data, to: path) } catch let e as ImageError {
            throw RunError(e.message)   // "cannot write 'PATH': reason"
        }
    }
}
