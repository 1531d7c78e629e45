import ArgumentParser
import Foundation
import ResNetEngine
import RobustSynthCore
import RobustSynthHost

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time full PGD steps (forward + input gradient) of a classifier.",
        discussion: """
        Times S steps after one warm-up step on random inputs and prints the median milliseconds \
        per image-step, the CPU time per image-step (all threads) and the process's peak resident \
        memory. With --weights the classifier plugin is used as a pipeline would; without, \
        robust-resnet50 and resnet50 run a torchvision ResNet-50 with random weights. oneDNN's \
        threads follow OMP_NUM_THREADS. Tests/Fixtures/bench_pytorch.py times PyTorch on the \
        same step for comparison (see the README).
        """)
    @OptionGroup var paths: PluginPathOptions
    @Option(help: "Classifier plugin.", completion: PluginCompletion.names(of: .classifier)) var classifier: String = "robust-resnet50"
    @Option(help: "Weights file; without it, random ResNet-50 weights.", completion: .file(extensions: ["pt", "pth", "safetensors"])) var weights: String?
    @Option(name: .customLong("with"), help: ArgumentHelp("Another classifier parameter, name=value; repeatable.", valueName: "name=value"))
    var parameters: [String] = []
    @Option(help: "Images per step.") var batch = 8
    @Option(help: "Timed steps.") var steps = 5
    @Option(help: "Input size of the random-weight ResNet-50.") var size = 224
    @Option(help: ArgumentHelp("Shape of the random-weight model (torchvision's constructor name): resnet50, wide_resnet50_2, wide_resnet50_4, resnext50_32x4d, resnet18, ...", valueName: "arch"))
    var arch: String = "resnet50"
    @Option(help: "Winograd 3x3 convolutions of the random-weight ResNet-50: auto (from batch 8), on or off (float32 only).")
    var winograd: String = "auto"
    @Option(help: "Number format inside the random-weight ResNet-50: float32 or bfloat16 (AVX512-BF16 CPUs). With --weights, pass --with precision=bfloat16.")
    var precision: String = "float32"
    @Option(help: ArgumentHelp("Also return these taps (comma-separated, e.g. layer4,representation) from each forward and give each a random gradient in the backward (random-weight ResNet-50).", valueName: "names"))
    var taps: String?
    @Flag(help: "Also print which oneDNN implementation runs each layer and what the engine holds in memory (random-weight ResNet-50).")
    var info = false
    @Flag(help: "Print {\"ms_per_image_step\", \"cpu_ms_per_image_step\", \"peak_rss_mb\", ...} as JSON.") var json = false

    func run() throws {
        let model: Classifier
        // Without weights the ResNet plugins are replaced by the engine with random weights; any
        // other plugin is created as given (the pytorch plugin's factory builds its own model).
        let randomEngine = weights == nil && ["robust-resnet50", "resnet50"].contains(classifier)
        if randomEngine {
            // The issue's "random weights of the right shape": the engine directly, no plugin, so
            // plugin parameters do not apply and the engine's own switches do.
            guard parameters.isEmpty else {
                throw CommandError("--with sets a plugin parameter and needs --weights; without weights bench runs a random-weight ResNet-50, set by --arch, --size, --winograd and --precision")
            }
            guard let p = ResNet.Precision(rawValue: precision) else {
                throw CommandError("--precision: expected float32 or bfloat16, got '\(precision)'")
            }
            let w: Bool? = winograd == "on" ? true : winograd == "off" ? false : nil
            do {
                model = try ResNet(weights: ResNet.randomWeights(arch: arch), mean: ResNet.imageNetMean,
                                   std: ResNet.imageNetStd, inputSize: size, winograd: w, precision: p)
            } catch {
                throw CommandError("\(error)")
            }
        } else {
            guard size == 224, winograd == "auto", precision == "float32", arch == "resnet50" else {
                throw CommandError("--arch, --size, --winograd and --precision set the random-weight ResNet-50; for a plugin use --with (e.g. --with precision=bfloat16)")
            }
            model = try ClassifierOptions.makeClassifier(paths.catalog(), name: classifier, weights: weights,
                                                         assignments: parameters)
        }
        let tapNames = taps.map { $0.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) } } ?? []
        let net = model as? ResNet
        if !tapNames.isEmpty && net == nil {
            throw CommandError("--taps needs the random-weight ResNet-50 (the classifier plugins do not offer taps)")
        }
        let s = model.inputShape
        var rng = RandomStream(seed: 7)
        let x = Tensor(shape: [batch, s.channels, s.height, s.width], data: (0..<(batch * s.count)).map { _ in rng.nextUniformFloat() })
        var dlogits = Tensor(zeros: [batch, model.numClasses])
        for i in 0..<dlogits.count { dlogits.data[i] = (rng.nextUniformFloat() - 0.5) * 0.01 }
        // With taps: the same step plus the taps out and a gradient for each back in.
        var tapGradients = [Tensor?]()
        func step() throws {
            if let net, !tapNames.isEmpty {
                let out = try net.forward(x, taps: tapNames)
                if tapGradients.isEmpty {
                    tapGradients = out.taps.map { t in Tensor(shape: t.shape, data: t.data.map { _ in (rng.nextUniformFloat() - 0.5) * 0.01 }) }
                }
                _ = try net.inputGradient(dlogits, tapGradients: tapGradients)
            } else {
                _ = try model.forward(x); _ = try model.inputGradient(dlogits)
            }
        }
        // Peak memory counts from here: the model as loaded, then what the steps add.
        ProcessMemory.resetPeak()
        do { try step() } catch let e as ResNetError { throw CommandError(e.message) }   // warm-up: primitives, buffers
        var wall = [Double](), cpu = [Double]()
        for _ in 0..<max(steps, 1) {
            let (t0, c0) = (DispatchTime.now().uptimeNanoseconds, cpuSeconds())
            try step()
            wall.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(batch))
            cpu.append((cpuSeconds() - c0) * 1000 / Double(batch))
        }
        let ms = wall.sorted()[wall.count / 2], cpuMs = cpu.sorted()[cpu.count / 2]
        let peak = ProcessMemory.peakMB()
        if info, let net { print(net.implementationInfo) }
        if json {
            let tapsJSON = tapNames.map { "\"\($0)\"" }.joined(separator: ", ")
            print(String(format: "{\"classifier\": \"%@\", \"arch\": \"%@\", \"batch\": %d, \"steps\": %d, \"taps\": [%@], \"ms_per_image_step\": %.3f, \"cpu_ms_per_image_step\": %.3f, \"peak_rss_mb\": %.1f}",
                         classifier, randomEngine ? arch : "", batch, steps, tapsJSON, ms, cpuMs, peak))
        } else {
            let shape = (model as? ResNet).map { "\($0.weights.architecture.name)" } ?? "ResNet-50"
            print("\(classifier)\(randomEngine ? " (random \(shape) weights, --arch \(arch))" : ""), \(s) input, batch \(batch), \(steps) steps"
                + (tapNames.isEmpty ? "" : ", taps \(tapNames.joined(separator: ","))"))
            print(String(format: "%.1f ms per image-step (median), %.1f ms CPU per image-step, peak memory %.0f MB", ms, cpuMs, peak))
        }
    }
}

func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// This process's peak resident memory (Linux: VmHWM in /proc/self/status, which writing "5" to
/// /proc/self/clear_refs resets, so a benchmark can leave out how its model was made).
enum ProcessMemory {
    static func resetPeak() {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return }
        fputs("5", f)
        fclose(f)
    }

    static func peakMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) else {
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            return Double(usage.ru_maxrss) / 1024
        }
        return kb / 1024
    }
}
