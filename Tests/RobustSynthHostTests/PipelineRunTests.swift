import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import XCTest

/// Whole runs through the rsynth executable: a third-party C plugin in a pipeline, the
/// invariants of the results, resume, shards and merge, and failures that leave nothing behind.
final class PipelineRunTests: XCTestCase {
    func spec(seed: String = "{ plugin: uniform }", classes: String = "[3, 8]", steps: Int = 15, eps: Double = 2,
              batch: Int = 3) -> String {
        """
        version: 1
        classifier: { plugin: linear, with: { classes: 10, size: 16 } }
        seed: \(seed)
        task: { plugin: generation, with: { classes: \(classes), per_class: 4 } }
        constraints:
          - { plugin: l2-ball, with: { eps: \(eps) } }
        optimizer: { steps: \(steps), step_size: 0.5, batch_size: \(batch), seed: 5 }

        """
    }

    func l2(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
    }

    func testCExamplePluginBuiltWithCCRunsInAPipeline() throws {
        let dir = TestSupport.temporaryDirectory()
        // Exactly the build command documented at the top of the example.
        _ = try TestSupport.buildCPlugin(TestSupport.root.appendingPathComponent("Examples/c-plugin/gaussian_noise.c"),
                                         into: dir, name: "gaussian_noise")
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(spec(seed: "{ plugin: gaussian-noise, with: { std: 0.1, channel_means: [0.2, 0.5, 0.8] } }"), to: specPath)
        let out = dir.appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", specPath.path, "--plugin-path", dir.path, "--out", out.path, "--save-tensors", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("8 samples run, 0 already done, 8 of 8 in \(out.path)\n"), r.stdout)

        let manifest = try TestSupport.json(out.appendingPathComponent("manifest.json"))
        let plugins = (manifest["plan"] as! [String: Any])["plugins"] as! [[String: Any]]
        XCTAssertEqual(plugins.map { $0["name"] as! String }, ["linear", "gaussian-noise", "generation", "l2-ball"])
        XCTAssertEqual(plugins[1]["library"] as? String, "libgaussian_noise.so")
        let samples = manifest["samples"] as! [[String: Any]]
        XCTAssertEqual(samples.count, 8)
        XCTAssertEqual(samples.map { $0["target"] as! Int }, [3, 3, 3, 3, 8, 8, 8, 8])
        var channelMeans = [Double](repeating: 0, count: 3)
        for s in samples {
            let seed = try TestSupport.readNPY(out.appendingPathComponent(s["seed_tensor"] as! String))
            let result = try TestSupport.readNPY(out.appendingPathComponent(s["result_tensor"] as! String))
            XCTAssertEqual(seed.shape, [3, 16, 16])
            XCTAssertEqual(result.shape, [3, 16, 16])
            XCTAssertTrue(result.values.allSatisfy { $0 >= 0 && $0 <= 1 })
            XCTAssertLessThanOrEqual(l2(result.values, seed.values), 2 + 1e-4)
            XCTAssertLessThan(s["final_loss"] as! Double, s["initial_loss"] as! Double)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(s["image"] as! String).path))
            for c in 0..<3 { channelMeans[c] += seed.values[(c * 256)..<((c + 1) * 256)].map(Double.init).reduce(0, +) / 256 / 8 }
        }
        // The C plugin's parameters arrived: per-channel means of its seeds (std 0.1 over 2048
        // pixels per channel: standard error 0.002; clamping at 0 and 1 is negligible here).
        for (got, want) in zip(channelMeans, [0.2, 0.5, 0.8]) { XCTAssertEqual(got, want, accuracy: 0.01) }
        for file in ["grid.png", "losses.csv", "loss-00-3.svg", "loss-01-8.svg", "spec.yaml", "run.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        let csv = try String(contentsOf: out.appendingPathComponent("losses.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "sample,target,step,loss")
        XCTAssertEqual(csv.count, 1 + 8 * 16)
    }

    func testResumedAndShardedRunsEqualASingleRunByteForByte() throws {
        let dir = TestSupport.temporaryDirectory()
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(spec(), to: specPath)
        func run(_ out: String, _ extra: [String] = []) throws -> TestSupport.Output {
            let r = try TestSupport.rsynth(["run", specPath.path, "--out", dir.appendingPathComponent(out).path, "--quiet"] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return r
        }
        try run("single")
        try run("shard0", ["--shard", "0/2"])
        try run("shard1", ["--shard", "1/2"])
        let merged = try TestSupport.rsynth(["merge", "--out", dir.appendingPathComponent("merged").path,
                                             dir.appendingPathComponent("shard0").path, dir.appendingPathComponent("shard1").path])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        // An interrupted run is a folder with some samples done: finish it.
        try run("resumed", ["--shard", "0/2"])
        let resumed = try run("resumed")
        XCTAssertTrue(resumed.stdout.hasPrefix("4 samples run, 4 already done, 8 of 8"), resumed.stdout)

        let single = dir.appendingPathComponent("single")
        let names = try FileManager.default.contentsOfDirectory(atPath: single.appendingPathComponent("samples").path)
            .filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertEqual(names.count, 16)
        for other in ["merged", "resumed"] {
            for name in names + ["../grid.png"] {
                let a = try Data(contentsOf: single.appendingPathComponent("samples/\(name)"))
                let b = try Data(contentsOf: dir.appendingPathComponent("\(other)/samples/\(name)"))
                XCTAssertEqual(a, b, "\(other)/\(name)")
            }
            let csvA = try String(contentsOf: single.appendingPathComponent("losses.csv"), encoding: .utf8)
            let csvB = try String(contentsOf: dir.appendingPathComponent("\(other)/losses.csv"), encoding: .utf8)
            XCTAssertEqual(csvA, csvB, other)
        }
    }

    /// The environment switches that change an engine's arithmetic are in run.json's plan and the
    /// manifest, and nothing else from the environment is.
    func testTheEnginesEnvironmentSwitchesAreRecorded() throws {
        let dir = TestSupport.temporaryDirectory()
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(spec(steps: 2), to: specPath)
        let out = dir.appendingPathComponent("run")
        let set = ["RSYNTH_RESNET_F32_MASKS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2", "RSYNTH_UNRELATED": "x", "HOMEWARD": "y"]
        let r = try TestSupport.rsynth(["run", specPath.path, "--out", out.path, "--quiet"], environment: set)
        XCTAssertEqual(r.status, 0, r.stderr)
        var inherited = EngineEnvironment.current()
        inherited["RSYNTH_RESNET_F32_MASKS"] = "1"; inherited["ONEDNN_MAX_CPU_ISA"] = "AVX2"
        let plan = try TestSupport.json(out.appendingPathComponent("run.json"))
        XCTAssertEqual(plan["engine_environment"] as? [String: String], inherited)
        let manifest = try TestSupport.json(out.appendingPathComponent("manifest.json"))
        XCTAssertEqual((manifest["plan"] as? [String: Any])?["engine_environment"] as? [String: String], inherited)
        XCTAssertEqual(EngineEnvironment.current(["OMP_NUM_THREADS": "2", "DNNL_VERBOSE": "1", "PATH": "/bin", "XONEDNN_A": "1"]),
                       ["OMP_NUM_THREADS": "2", "DNNL_VERBOSE": "1"])
    }

    func testAFolderHoldingAnotherSpecsRunIsRefused() throws {
        let dir = TestSupport.temporaryDirectory()
        let a = dir.appendingPathComponent("a.yaml"), b = dir.appendingPathComponent("b.yaml")
        TestSupport.write(spec(steps: 3), to: a)
        TestSupport.write(spec(steps: 4), to: b)
        let out = dir.appendingPathComponent("run").path
        XCTAssertEqual(try TestSupport.rsynth(["run", a.path, "--out", out, "--quiet"]).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/samples/000000.png"))
        let r = try TestSupport.rsynth(["run", b.path, "--out", out, "--quiet"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "rsynth: error: output folder \(out) holds a run of a different spec (its spec.yaml differs from \(b.path)); choose another output folder or remove it\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/samples/000000.png")), before)
    }

    func testAPluginFailureNamesThePluginAndWritesNothing() throws {
        let dir = TestSupport.temporaryDirectory()
        let specPath = dir.appendingPathComponent("spec.yaml")
        // (An unknown class is caught by validation now, at its line and column; an empty list
        // is only found by the plugin when it is created.)
        TestSupport.write(spec(classes: "[]"), to: specPath)
        let out = dir.appendingPathComponent("run")
        let r = try TestSupport.rsynth(["run", specPath.path, "--out", out.path, "--quiet"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "rsynth: error: plugin 'generation': 'classes' is empty: name at least one class\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }
}

/// Ctrl-C part way through, then the same command again: the same files as a run never stopped.
final class InterruptionTests: XCTestCase {
    func testAnInterruptedRunResumesToTheSameFiles() throws {
        let dir = TestSupport.temporaryDirectory()
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write("""
            version: 1
            classifier: { plugin: linear, with: { classes: 20, size: 16 } }
            seed: { plugin: uniform }
            task: { plugin: generation, with: { classes: [1, 2, 3, 4], per_class: 4 } }
            constraints: [ { plugin: l2-ball, with: { eps: 4 } } ]
            optimizer: { steps: 100, step_size: 0.2, batch_size: 2 }

            """, to: specPath)
        let whole = dir.appendingPathComponent("whole"), stopped = dir.appendingPathComponent("stopped")
        XCTAssertEqual(try TestSupport.rsynth(["run", specPath.path, "--out", whole.path, "--quiet"]).status, 0)

        let p = Process()
        p.executableURL = TestSupport.rsynth
        p.arguments = ["run", specPath.path, "--out", stopped.path, "--quiet"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Interrupt once the first of eight batches is on disk: seven batches of 100 steps are
        // still to run, far longer than the signal takes to arrive.
        let firstRecord = stopped.appendingPathComponent("samples/000000.json").path
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: firstRecord) && Date() < deadline { usleep(2_000) }
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 130)
        XCTAssertTrue(message.hasPrefix("rsynth: interrupted after "), message)
        XCTAssertTrue(message.hasSuffix(" of 16 samples; run the same command again to resume\n"), message)
        let done = try FileManager.default.contentsOfDirectory(atPath: stopped.appendingPathComponent("samples").path)
        XCTAssertFalse(done.contains { $0.contains(".tmp") }, "a temporary file was left: \(done)")

        let resumed = try TestSupport.rsynth(["run", specPath.path, "--out", stopped.path, "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let names = try FileManager.default.contentsOfDirectory(atPath: whole.appendingPathComponent("samples").path)
            .filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertEqual(names.count, 32)
        for name in names.map({ "samples/\($0)" }) + ["grid.png", "losses.csv"] {
            XCTAssertEqual(try Data(contentsOf: whole.appendingPathComponent(name)),
                           try Data(contentsOf: stopped.appendingPathComponent(name)), name)
        }
    }
}
