// swift-tools-version:6.0
import PackageDescription

// Each plugin is its own dynamic library (product "RSynth<Name>", file libRSynth<Name>.so),
// built from Plugins/<Name>. The host finds them next to the `rsynth` executable (installed:
// in ../lib/rsynth/plugins beside it, see scripts/install.sh).
// To add a plugin: one line here, one folder under Plugins/.
let plugins: [(name: String, dependencies: [Target.Dependency])] = [
    ("Uniform", ["RobustSynthPluginSDK", "ImageIO"]),
    ("L2Ball", ["RobustSynthPluginSDK"]),
    ("LinfBall", ["RobustSynthPluginSDK"]),
    ("Unconstrained", ["RobustSynthPluginSDK"]),
    ("Generation", ["RobustSynthPluginSDK"]),
    ("LinearClassifier", ["RobustSynthPluginSDK"]),
    ("MaskedPenalty", ["RobustSynthPluginSDK"]),
    ("Inpainting", ["RobustSynthPluginSDK", "ImageIO"]),
    ("SuperResolution", ["RobustSynthPluginSDK", "ImageIO"]),
    ("Translation", ["RobustSynthPluginSDK"]),
    ("RobustResNet50", ["RobustSynthPluginSDK", "ResNetEngine"]),
    ("ResNet50", ["RobustSynthPluginSDK", "ResNetEngine"]),
    ("DigitsResNet", ["RobustSynthPluginSDK", "ResNetEngine"]),
    ("UnivariateNormal", ["RobustSynthPluginSDK", "ImageIO"]),
    ("MultivariateNormal", ["RobustSynthPluginSDK", "ImageIO"]),
    ("DatasetImage", ["RobustSynthPluginSDK", "ImageIO"]),
    ("SketchToImage", ["RobustSynthPluginSDK", "ImageIO"]),
    ("PaintWithFeatures", ["RobustSynthPluginSDK", "ImageIO"]),
    ("RepresentationInversion", ["RobustSynthPluginSDK", "ImageIO"]),
    ("FeatureVisualization", ["RobustSynthPluginSDK"]),
]

let package = Package(
    name: "RobustSynth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rsynth", targets: ["rsynth"]),
        .library(name: "RobustSynthPluginSDK", targets: ["RobustSynthPluginSDK"]),
        // The parsers, for the libFuzzer package in Fuzz/ (which depends on this one by path).
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "ImageIO", targets: ["ImageIO"]),
        .library(name: "RobustSynthHost", targets: ["RobustSynthHost"]),
        // The `pytorch` classifier: plain C, loads the user's libpython at run time (no link to it).
        .library(name: "RSynthPyTorch", type: .dynamic, targets: ["PyTorchPlugin"]),
    ] + plugins.map { .library(name: "RSynth\($0.name)", type: .dynamic, targets: ["\($0.name)Plugin"]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // The C plugin ABI: one header, nothing else.
        .target(name: "SynthPluginABI"),
        // libffi, plus shims that hand Swift the ffi_type globals.
        .target(name: "CFFIBridge", linkerSettings: [.linkedLibrary("ffi")]),
        // Protocols, tensors, class labels, random streams, the PGD optimiser.
        .target(name: "RobustSynthCore"),
        // What a Swift plugin links: exports a Swift conformer through the C ABI.
        .target(name: "RobustSynthPluginSDK",
                dependencies: ["RobustSynthCore", "SynthPluginABI", "CFFIBridge"]),
        // Loader, discovery, spec parsing and validation, pipeline runner.
        .target(name: "RobustSynthHost",
                dependencies: ["RobustSynthCore", "SynthPluginABI", "CFFIBridge", "ImageIO",
                               .product(name: "Yams", package: "Yams")]),
        // PNG (libpng) and JPEG (libjpeg-turbo) behind a C wrapper that keeps setjmp/longjmp in C.
        .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg")]),
        // Images, resizing, image-folder datasets, seed-model fitting.
        .target(name: "ImageIO", dependencies: ["CImageCodecs", "RobustSynthCore"], exclude: ["README.md"]),
        // PyTorch zip / legacy (MadryLab) / safetensors readers: a data-only unpickler.
        .target(name: "Checkpoints"),
        // oneDNN kernels for the ResNet forward pass and input gradient.
        .target(name: "ResNetKernels", linkerSettings: [.linkedLibrary("dnnl")]),
        // ResNet family: layouts, reference implementation, fast path on ResNetKernels.
        .target(name: "ResNetEngine", dependencies: ["ResNetKernels", "Checkpoints", "RobustSynthCore"], exclude: ["README.md"]),
        // `rsynth studio`: the web app over a runs folder (Hummingbird).
        .target(name: "RSynthStudio", dependencies: ["RobustSynthHost", "ImageIO", .product(name: "Yams", package: "Yams"), .product(name: "Hummingbird", package: "hummingbird")]),
        .executableTarget(name: "rsynth",
                          dependencies: ["RobustSynthHost", "RobustSynthCore", "ImageIO", "Checkpoints",
                                         "ResNetEngine", "RSynthStudio",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "RobustSynthCoreTests", dependencies: ["RobustSynthCore"]),
        // Process and path helpers shared by the test targets that run the built rsynth.
        .target(name: "RSynthTestSupport", path: "Tests/RSynthTestSupport"),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "RobustSynthCore", "RSynthTestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "RSynthTestSupport"]),
        .testTarget(name: "ResNetEngineTests", dependencies: ["ResNetEngine", "Checkpoints", "RobustSynthCore", "RSynthTestSupport"]),
        .testTarget(name: "RobustSynthHostTests",
                    dependencies: ["RobustSynthHost", "RobustSynthCore", "SynthPluginABI", "ImageIO", "ResNetEngine", "RSynthTestSupport",
                                   "RSynthStudio"]),
        // Embeds CPython and calls PyTorch (Plugins/PyTorch/pytorch_plugin.c); python/ is #embed-ded.
        .target(name: "PyTorchPlugin", dependencies: ["SynthPluginABI"], path: "Plugins/PyTorch", exclude: ["python"],
                linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),
    ] + plugins.map {
        .target(name: "\($0.name)Plugin", dependencies: $0.dependencies, path: "Plugins/\($0.name)")
    },
    swiftLanguageModes: [.v5]
)
