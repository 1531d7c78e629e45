import Foundation
import RSynthTestSupport
@testable import RobustSynthHost
import RobustSynthCore
import XCTest

/// The `pytorch` classifier (Plugins/PyTorch): a C plugin that embeds the user's CPython and runs
/// the model in PyTorch eager. Its logits and input gradients are checked against PyTorch run in
/// a process of its own (Tests/Fixtures/pytorch/reference.py) and, on a ResNet, against the
/// native engine; a generation spec runs end to end; bad input gets one message, pinned here.
///
/// These tests need an interpreter with torch and torchvision: RSYNTH_TEST_PYTHON, else
/// ~/.cache/rsynth-torch-venv/bin/python (what `.ci/run` creates), else /root/torch-venv/bin/python.
/// Without one they fail, saying how to make one (Tests/run-tests.sh makes it).
final class PyTorchPluginTests: XCTestCase {
    struct Torch { let python: String; let version: String; let cudaBuilt: Bool; let cudaAvailable: Bool }
    struct Missing: Error, CustomStringConvertible { let description: String }

    nonisolated(unsafe) static var torchProbe: Result<Torch, Missing>?
    nonisolated(unsafe) static var references = [String: URL]()
    static let work = TestSupport.temporaryDirectory("PyTorchPluginTests")

    static var candidates: [String] {
        let env = ProcessInfo.processInfo.environment
        if let p = env["RSYNTH_TEST_PYTHON"], !p.isEmpty { return [p] }
        return [NSHomeDirectory() + "/.cache/rsynth-torch-venv/bin/python", "/root/torch-venv/bin/python"]
    }

    /// The interpreter with torch and torchvision, found once per test process.
    func torch() throws -> Torch {
        if Self.torchProbe == nil {
            var tried = [String]()
            for python in Self.candidates {
                guard FileManager.default.isExecutableFile(atPath: python) else { tried.append("\(python): no such interpreter"); continue }
                let r = try TestSupport.run(URL(fileURLWithPath: python), ["-c",
                    "import torch, torchvision; print(torch.__version__, torch.backends.cuda.is_built(), torch.cuda.is_available())"])
                let words = r.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                if r.status == 0, words.count == 3 {
                    Self.torchProbe = .success(Torch(python: python, version: words[0], cudaBuilt: words[1] == "True",
                                                     cudaAvailable: words[2] == "True"))
                    break
                }
                tried.append("\(python): \(r.stderr.split(separator: "\n").last ?? "failed")")
            }
            if Self.torchProbe == nil {
                Self.torchProbe = .failure(Missing(description: """
                    no Python with torch and torchvision for the pytorch plugin's tests (\(tried.joined(separator: "; "))). \
                    Set RSYNTH_TEST_PYTHON to one (`python3 -m venv ~/.cache/rsynth-torch-venv && \
                    ~/.cache/rsynth-torch-venv/bin/pip install torch torchvision`, which Tests/run-tests.sh does)
                    """))
            }
        }
        return try Self.torchProbe!.get()
    }

    /// Runs reference.py for one architecture once: its state dict and x, dlogits, logits, dx.
    func reference(_ arch: String, size: Int, batch: Int, seed: Int) throws -> URL {
        let t = try torch()
        if let dir = Self.references[arch] { return dir }
        let r = try TestSupport.run(URL(fileURLWithPath: t.python),
                                    [TestSupport.fixture("pytorch/reference.py").path, arch, "\(size)", "\(batch)", "\(seed)", Self.work.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        Self.references[arch] = Self.work
        return Self.work
    }

    func floats(_ dir: URL, _ arch: String, _ name: String) throws -> [Float] {
        let data = try Data(contentsOf: dir.appendingPathComponent("\(arch)-\(name).f32"))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func catalog() -> PluginCatalog { PluginCatalog.discover(pluginPaths: [TestSupport.products.path], environment: [:]) }

    func pytorch(_ model: String, _ extra: [String: ParameterValue] = [:]) throws -> HostedClassifier {
        var values: [String: ParameterValue] = ["model": .string(model), "python": .string(try torch().python), "device": .string("cpu")]
        for (k, v) in extra { values[k] = v }
        return try catalog().classifier("pytorch", values)
    }

    /// The plugin's message for a classifier that cannot be created.
    func createError(_ model: String, _ extra: [String: ParameterValue] = [:]) throws -> String {
        do {
            _ = try pytorch(model, extra)
            XCTFail("\(model) was created")
            return ""
        } catch let e as HostedPluginError {
            XCTAssertEqual(e.plugin, "pytorch")
            return e.message
        }
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    /// Logits and dlogits^T d logits / d x of the plugin for the reference batch.
    func run(_ c: HostedClassifier, _ dir: URL, _ arch: String, size: Int, batch: Int) throws -> (logits: [Float], dx: [Float]) {
        let x = Tensor(shape: [batch, 3, size, size], data: try floats(dir, arch, "x"))
        let logits = try c.forward(x)
        let dx = try c.inputGradient(Tensor(shape: logits.shape, data: try floats(dir, arch, "dlogits")))
        return (logits.data, dx.data)
    }

    // MARK: - (a) ResNet: the same weights in PyTorch and in the native engine

    /// torchvision's ResNet-50 (random weights, saved by reference.py), in the plugin and in the native `resnet50` plugin.
    func testResNet50AgreesWithPyTorchAndWithTheNativeEngine() throws {
        let dir = try reference("resnet50", size: 64, batch: 2, seed: 0)
        let weights = dir.appendingPathComponent("resnet50.pt").path
        let plugin = try pytorch("torchvision.models:resnet50", ["weights": .string(weights), "input_size": .int(64)])
        XCTAssertEqual(plugin.numClasses, 1000)
        XCTAssertNil(plugin.className(1))   // the host's ImageNet table
        let ours = try run(plugin, dir, "resnet50", size: 64, batch: 2)
        // Random ResNet-50 logits reach a few hundred (reference.py prints them): differences are
        // taken relative to the largest logit and gradient value.
        let pyLogits = try floats(dir, "resnet50", "logits"), pyDx = try floats(dir, "resnet50", "dx")
        let logitScale = pyLogits.map(abs).max()!, dxScale = pyDx.map(abs).max()!
        XCTAssertGreaterThan(logitScale, 1)
        XCTAssertLessThanOrEqual(Self.maxDifference(ours.logits, pyLogits) / logitScale, 1e-5)
        XCTAssertLessThanOrEqual(Self.maxDifference(ours.dx, pyDx) / dxScale, 1e-5)

        let native = try catalog().classifier("resnet50", ["weights": .string(weights), "input_size": .int(64)])
        let theirs = try run(native, dir, "resnet50", size: 64, batch: 2)
        print("ResNet-50: pytorch plugin vs native engine, max logit difference \(Self.maxDifference(ours.logits, theirs.logits)) of max |logit| \(logitScale)")
        XCTAssertLessThanOrEqual(Self.maxDifference(ours.logits, theirs.logits) / logitScale, 1e-4)
        // Gradients: float32 implementations differ in rounding (and a ReLU at zero may flip).
        let scale = ours.dx.map(abs).max() ?? 1
        XCTAssertLessThanOrEqual(Self.maxDifference(ours.dx, theirs.dx) / scale, 1e-3)
    }

    /// Taps through forward hooks: torchvision's module names, and `representation` (the input of
    /// `fc`); their values and a backward pass from them agree with the native engine's taps on
    /// the same weights (whose own taps match PyTorch's forward hooks, TapObjectiveTests).
    func testResNet50TapsAgreeWithTheNativeEngine() throws {
        let dir = try reference("resnet50", size: 64, batch: 2, seed: 0)
        let weights = dir.appendingPathComponent("resnet50.pt").path
        let plugin = try pytorch("torchvision.models:resnet50", ["weights": .string(weights), "input_size": .int(64)])
        let native = try catalog().classifier("resnet50", ["weights": .string(weights), "input_size": .int(64)])
        let offered = Dictionary(uniqueKeysWithValues: plugin.taps.map { ($0.name, $0.shape) })
        XCTAssertEqual(offered["layer1"], [256, 16, 16])
        XCTAssertEqual(offered["layer4"], [2048, 2, 2])
        XCTAssertEqual(offered["layer3.2"], [1024, 4, 4])
        XCTAssertEqual(offered["layer1.0.conv1"], [64, 16, 16])
        XCTAssertEqual(offered["representation"], [2048])
        XCTAssertEqual(offered["relu"], [64, 32, 32], "the stem's ReLU is a module of its own, called once")
        // A module called more than once has no single output: each Bottleneck's shared ReLU.
        XCTAssertNil(offered["layer1.0.relu"])

        let names = ["layer1", "layer2", "layer3.2", "layer4", "representation"]
        let x = Tensor(shape: [2, 3, 64, 64], data: try floats(dir, "resnet50", "x"))
        let ours = try plugin.forward(x, taps: names), theirs = try native.forward(x, taps: names)
        for (i, name) in names.enumerated() {
            XCTAssertEqual(ours.taps[i].shape, [2] + offered[name]!, name)
            let scale = theirs.taps[i].data.map(abs).max()!
            XCTAssertGreaterThan(scale, 0, name)
            XCTAssertLessThanOrEqual(Self.maxDifference(ours.taps[i].data, theirs.taps[i].data) / scale, 1e-4, name)
        }
        // d/dx of <a, layer4> + <b, representation> with the logits' gradient zero: one backward
        // pass from two taps, against the native engine's.
        var rng = RandomStream(seed: 7)
        func random(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float(rng.nextUniform()) - 0.5 })
        }
        let dl = Tensor(zeros: ours.logits.shape)
        let dtaps: [Tensor?] = [nil, nil, nil, random(ours.taps[3].shape), random(ours.taps[4].shape)]
        let dxOurs = try plugin.inputGradient(dl, tapGradients: dtaps)
        _ = try native.forward(x, taps: names)
        let dxTheirs = try native.inputGradient(dl, tapGradients: dtaps)
        let scale = dxTheirs.data.map(abs).max()!
        XCTAssertGreaterThan(scale, 0)
        XCTAssertLessThanOrEqual(Self.maxDifference(dxOurs.data, dxTheirs.data) / scale, 1e-3)
        // And the taps' gradient is really used: without it, dx is zero.
        _ = try plugin.forward(x, taps: names)
        XCTAssertEqual(try plugin.inputGradient(dl, tapGradients: [nil, nil, nil, nil, nil]).data.map(abs).max(), 0)
        // A name the model does not have, from the plugin itself (the host lists the rest).
        XCTAssertThrowsError(try plugin.forward(x, taps: ["layer5"]))
    }

    // MARK: - (b) ConvNeXt and ViT: PyTorch in another process, and PGD

    func checkAgainstPyTorch(_ arch: String, seed: Int) throws {
        let dir = try reference(arch, size: 224, batch: 1, seed: seed)
        let plugin = try pytorch("torchvision.models:\(arch)", ["weights": .string(dir.appendingPathComponent("\(arch).pt").path)])
        XCTAssertEqual(plugin.numClasses, 1000)
        let ours = try run(plugin, dir, arch, size: 224, batch: 1)
        XCTAssertLessThanOrEqual(Self.maxDifference(ours.logits, try floats(dir, arch, "logits")), 1e-5)
        XCTAssertLessThanOrEqual(Self.maxDifference(ours.dx, try floats(dir, arch, "dx")), 1e-5)
        XCTAssertGreaterThan(ours.dx.map(abs).max() ?? 0, 1e-4)   // not a vacuous comparison

        // It classifies, and targeted L2 PGD steps on it lower the cross-entropy to the target.
        var x = Tensor(shape: [1, 3, 224, 224], data: try floats(dir, arch, "x"))
        let target = 1   // goldfish
        func crossEntropy(_ z: [Float]) -> (loss: Float, dz: [Float]) {
            let m = z.max()!
            let e = z.map { exp($0 - m) }, s = e.reduce(0, +)
            var dz = e.map { $0 / s }
            let loss = -log(dz[target])
            dz[target] -= 1
            return (loss, dz)
        }
        var losses = [Float]()
        for _ in 0..<3 {
            let z = try plugin.forward(x)
            let (loss, dz) = crossEntropy(z.data)
            losses.append(loss)
            let g = try plugin.inputGradient(Tensor(shape: z.shape, data: dz))
            let norm = sqrt(g.data.map { $0 * $0 }.reduce(0, +)) + 1e-10
            for i in x.data.indices { x.data[i] = min(1, max(0, x.data[i] - 2 * g.data[i] / norm)) }
        }
        losses.append(crossEntropy(try plugin.forward(x).data).loss)
        XCTAssertLessThan(losses.last!, losses.first!, "\(arch) losses \(losses)")
    }

    func testConvNeXtTinyMatchesPyTorchAndRunsPGD() throws { try checkAgainstPyTorch("convnext_tiny", seed: 1) }

    func testViTB16MatchesPyTorchAndRunsPGD() throws { try checkAgainstPyTorch("vit_b_16", seed: 2) }

    // MARK: - (c) a generation spec, end to end

    /// A representation task on a PyTorch model, through the plugin's taps: representation
    /// inversion of 4 digits with torchvision's ResNet-18 (its weights from reference.py) lowers
    /// every sample's relative distance; `rsynth validate` accepts the spec before the model is
    /// built, and a tap the model lacks stops the run with the names it has.
    func testAnInversionRunsThroughThePluginsTaps() throws {
        let t = try torch()
        _ = try reference("resnet18", size: 64, batch: 2, seed: 0)
        let digits = TestSupport.root.appendingPathComponent("Examples/digits/data/test").path
        func spec(_ tap: String) -> URL {
            let url = Self.work.appendingPathComponent("inversion-\(tap).yaml")
            TestSupport.write("""
                version: 1
                classifier:
                  plugin: pytorch
                  with: { model: "torchvision.models:resnet18", weights: resnet18.pt, python: "\(t.python)", device: cpu, input_size: 32 }
                seed:       { plugin: dataset-image, with: { dataset: \(digits), labels: "10", transform: resize } }
                task:       { plugin: representation-inversion, with: { count: 4, tap: \(tap), start: noise } }
                constraints:
                  - { plugin: l2-ball, with: { eps: 1000 } }
                optimizer:  { steps: 5, step_size: 0.5, batch_size: 4, seed: 0 }

                """, to: url)
            return url
        }
        let good = spec("representation")
        let v = try TestSupport.rsynth(["validate", good.path])
        XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        let run = Self.work.appendingPathComponent("inversion-run")
        let r = try TestSupport.rsynth(["run", good.path, "--out", run.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let samples = try TestSupport.json(run.appendingPathComponent("manifest.json"))["samples"] as! [[String: Any]]
        XCTAssertEqual(samples.count, 4)
        for s in samples {
            let before = s["initial_loss"] as! Double, after = s["final_loss"] as! Double
            XCTAssertGreaterThan(before, 0.05, "a random start is far from the digit's representation")
            XCTAssertLessThan(after, 0.8 * before, "\(s)")
        }
        let bad = try TestSupport.rsynth(["run", spec("layer9").path, "--out", Self.work.appendingPathComponent("inversion-bad").path, "--quiet"])
        XCTAssertEqual(bad.status, 1)
        // ResNet-18's every module is a tap: the error counts them and lists the first 24.
        XCTAssertTrue(bad.stderr.contains("rsynth: error: task 'representation-inversion' reads tap 'layer9', but classifier 'pytorch': no tap 'layer9' (did you mean 'layer1'?); it offers 60 taps: conv1, bn1, relu, maxpool, layer1, layer1.0, "), bad.stderr)
        XCTAssertTrue(bad.stderr.contains(", ...\n"), bad.stderr)
    }

    func testAGenerationSpecRuns() throws {
        let t = try torch()
        let dir = try reference("resnet18", size: 64, batch: 2, seed: 0)
        let run = Self.work.appendingPathComponent("generation")
        let spec = Self.work.appendingPathComponent("generation.yaml")
        TestSupport.write("""
            version: 1
            classifier:
              plugin: pytorch
              with: { model: "torchvision.models:resnet18", weights: resnet18.pt, python: "\(t.python)", device: cpu, input_size: 32 }
            seed:       { plugin: uniform }
            task:       { plugin: generation, with: { classes: [goldfish, "golf ball"], per_class: 1 } }
            constraints:
              - { plugin: l2-ball, with: { eps: 4 } }
            optimizer:  { steps: 3, step_size: 1, batch_size: 2, seed: 0 }
            output:     { dir: \(run.path) }
            """, to: spec)
        _ = dir
        let r = try TestSupport.rsynth(["run", spec.path])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let manifest = try TestSupport.json(run.appendingPathComponent("manifest.json"))
        XCTAssertTrue("\(manifest)".contains("pytorch"), "\(manifest)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("grid.png").path))
    }

    // MARK: - (d) bad input: one message each

    func testAFactoryThatDoesNotExist() throws {
        let noModule = try createError("no_such_package.models:resnet")
        XCTAssertTrue(noModule.hasPrefix("model 'no_such_package.models:resnet': cannot import module 'no_such_package.models'; Python's traceback ends:\n"), noModule)
        XCTAssertTrue(noModule.hasSuffix("\n    ModuleNotFoundError: No module named 'no_such_package'"), noModule)
        XCTAssertEqual(try createError("torchvision.models:resnet5000"),
                       "model 'torchvision.models:resnet5000': module 'torchvision.models' has no 'resnet5000' (did you mean 'resnet50'?)")
        XCTAssertEqual(try createError("torchvision.models.resnet50"),
                       "model 'torchvision.models.resnet50' is not 'package.module:callable' or 'file.py:callable'")
        let file = TestSupport.fixture("pytorch/models.py").path
        XCTAssertEqual(try createError("/nonexistent/models.py:tiny"), "model '/nonexistent/models.py:tiny': no file /nonexistent/models.py")
        XCTAssertEqual(try createError("\(file):not_a_module"),
                       "model '\(file):not_a_module': the factory returned str, not a torch.nn.Module")
    }

    func testAFactoryThatRaises() throws {
        let file = TestSupport.fixture("pytorch/models.py").path
        let m = try createError("\(file):raises")
        XCTAssertTrue(m.hasPrefix("model '\(file):raises': the factory raised; Python's traceback ends:\n"), m)
        XCTAssertTrue(m.contains("in raises\n"), m)
        XCTAssertTrue(m.hasSuffix("\n    RuntimeError: the checkpoint server is down"), m)
        let kwargs = try createError("\(file):tiny", ["kwargs": .string("{\"clases\": 3}")])
        XCTAssertTrue(kwargs.hasSuffix("\n    TypeError: tiny() got an unexpected keyword argument 'clases'"), kwargs)
        XCTAssertEqual(try createError("\(file):tiny", ["kwargs": .string("[3]")]), "kwargs is not a JSON object: '[3]'")
    }

    func testAModelThatIsNotAClassifierOrWantsAnotherSize() throws {
        let file = TestSupport.fixture("pytorch/models.py").path
        XCTAssertEqual(try createError("\(file):features", ["input_size": .int(16)]),
                       "model '\(file):features' returns a tensor of shape [1, 4, 16, 16] for a batch of 1, not logits [N, classes]: is it a classifier?")
        let vit = try createError("torchvision.models:vit_b_16", ["input_size": .int(32)])
        XCTAssertTrue(vit.hasPrefix("model 'torchvision.models:vit_b_16' fails on one 3x32x32 input (input_size 32); Python's traceback ends:\n"), vit)
        XCTAssertTrue(vit.hasSuffix("\n    AssertionError: Wrong image height! Expected 224 but got 32!"), vit)
        XCTAssertEqual(try createError("\(file):tiny", ["classes": .list([.string("cat"), .string("dog")])]),
                       "classes names 2 classes but model '\(file):tiny' has 10 outputs")
        // Weights of another architecture.
        let dir = try reference("resnet18", size: 64, batch: 2, seed: 0)
        let w = dir.appendingPathComponent("resnet18.pt").path
        let wrong = try createError("torchvision.models:resnet34", ["weights": .string(w)])
        XCTAssertTrue(wrong.hasPrefix("weights \(w) do not fit model 'torchvision.models:resnet34': Error(s) in loading state_dict for ResNet: Missing key(s) in state_dict:"), wrong)
        // A user's factory with kwargs and class names works.
        let tiny = try pytorch("\(file):tiny", ["kwargs": .string("{\"classes\": 2}"), "classes": .list([.string("cat"), .string("dog")]),
                                                "input_size": .int(8)])
        XCTAssertEqual(tiny.numClasses, 2)
        XCTAssertEqual(tiny.className(1), "dog")
        XCTAssertEqual(try tiny.forward(Tensor(zeros: [3, 3, 8, 8])).shape, [3, 2])
        // bfloat16 autocast: float32 out, close to float32's logits and gradient.
        let x = Tensor(shape: [2, 3, 8, 8], data: (0..<384).map { Float($0 % 17) / 17 })
        let half = try pytorch("\(file):tiny", ["precision": .string("bfloat16"), "input_size": .int(8)])
        let full = try pytorch("\(file):tiny", ["input_size": .int(8)])
        let (zh, zf) = (try half.forward(x), try full.forward(x))
        XCTAssertNotEqual(zh.data, zf.data)
        XCTAssertLessThan(Self.maxDifference(zh.data, zf.data), 0.05)
        let dl = Tensor(shape: [2, 10], data: (0..<20).map { Float($0 % 3) - 1 })
        let (gh, gf) = (try half.inputGradient(dl), try full.inputGradient(dl))
        XCTAssertLessThan(Self.maxDifference(gh.data, gf.data), 0.05 * (gf.data.map(abs).max() ?? 1))
        XCTAssertThrowsError(try full.inputGradient(dl)) { XCTAssertTrue("\($0)".contains("input_gradient without a forward before it"), "\($0)") }
    }

    /// device: cuda without a GPU is refused saying why; with one (a machine torch sees a GPU
    /// on) it runs and gives the CPU's logits. auto runs either way.
    func testCUDAIsRefusedWithoutAGPUAndRunsWithOne() throws {
        let t = try torch()
        let file = TestSupport.fixture("pytorch/models.py").path
        if t.cudaAvailable {
            let x = Tensor(shape: [2, 3, 8, 8], data: (0..<384).map { Float($0 % 17) / 17 })
            let gpu = try pytorch("\(file):tiny", ["device": .string("cuda"), "input_size": .int(8)])
            let cpu = try pytorch("\(file):tiny", ["device": .string("cpu"), "input_size": .int(8)])
            XCTAssertLessThan(Self.maxDifference(try gpu.forward(x).data, try cpu.forward(x).data), 1e-4)
            XCTAssertEqual(try pytorch("\(file):tiny", ["device": .string("auto"), "input_size": .int(8)]).numClasses, 10)
            return
        }
        let m = try createError("\(file):tiny", ["device": .string("cuda")])
        let python = try TestSupport.run(URL(fileURLWithPath: t.python), ["-c", "import sys; print(sys.executable)"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if t.cudaBuilt {
            XCTAssertEqual(m, "device: cuda, but torch \(t.version) in \(python) sees no GPU (torch.cuda.is_available() is False); use device: cpu or auto")
        } else {
            XCTAssertEqual(m, "device: cuda, but torch \(t.version) in \(python) is a CPU-only build; install a CUDA build of torch or use device: cpu")
        }
        // auto falls back to the CPU.
        XCTAssertEqual(try pytorch("\(file):tiny", ["device": .string("auto"), "input_size": .int(8)]).numClasses, 10)
    }

    // MARK: - which Python: describe, and an interpreter without torch

    func testDescribeSaysWhichPythonAndTorch() throws {
        let t = try torch()
        let bin = Self.work.appendingPathComponent("bin-with-torch")
        // A script, not a symbolic link: a link elsewhere to a venv's python is not in the venv.
        TestSupport.write("#!/bin/sh\nexec \"\(t.python)\" \"$@\"\n", to: bin.appendingPathComponent("python3"))
        chmod(bin.appendingPathComponent("python3").path, 0o755)
        let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let with = try TestSupport.rsynth(["plugins", "describe", "pytorch"], environment: ["PATH": path])
        XCTAssertEqual(with.status, 0, with.stderr)
        XCTAssertTrue(with.stdout.contains("interpreter: python3 = "), with.stdout)
        XCTAssertTrue(with.stdout.contains("): torch \(t.version) ("), with.stdout)

        // An interpreter without torch (the same one, without its site-packages).
        let bare = Self.work.appendingPathComponent("bin-without-torch")
        TestSupport.write("#!/bin/sh\nexec \"\(t.python)\" -S \"$@\"\n", to: bare.appendingPathComponent("python3"))
        chmod(bare.appendingPathComponent("python3").path, 0o755)
        let without = try TestSupport.rsynth(["plugins", "describe", "pytorch"], environment: ["PATH": bare.path + ":/usr/bin:/bin"])
        XCTAssertEqual(without.status, 0, without.stderr)
        let executable = try TestSupport.run(URL(fileURLWithPath: t.python), ["-S", "-c", "import sys; print(sys.executable)"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(without.stdout.contains("(Python "), without.stdout)
        XCTAssertTrue(without.stdout.contains("): torch not found in \(executable)\n"), without.stdout)
        let create = try createError("torchvision.models:resnet18", ["python": .string(bare.appendingPathComponent("python3").path)])
        XCTAssertTrue(create.hasPrefix("torch not found in \(executable) (Python "), create)
        XCTAssertTrue(create.hasSuffix("install it there (\(executable) -m pip install torch torchvision) or set `python:` to an interpreter or virtual environment that has it"), create)

        // No Python at all: the plugin still loads and says so.
        let none = try TestSupport.rsynth(["plugins", "describe", "pytorch"], environment: ["PATH": "/nonexistent"])
        XCTAssertEqual(none.status, 0, none.stderr)
        XCTAssertTrue(none.stdout.contains("interpreter: cannot run the interpreter 'python3': No such file or directory\n"), none.stdout)
        let list = try TestSupport.rsynth(["plugins"], environment: ["PATH": "/nonexistent"])
        XCTAssertTrue(list.stdout.contains("pytorch"), list.stdout)
        XCTAssertFalse(list.stdout.contains("failed to load"), list.stdout)
    }
}
