// swift-tools-version:5.4
// (5.4, not newer: from 5.5 SwiftPM renames an executable's entry point to <module>_main and links
// with --defsym main=<module>_main, which fails here, where libFuzzer provides `main`.)
import PackageDescription

// libFuzzer targets for RobustSynth's parsers. A package of its own, so that the main package's
// `swift build --build-tests` never sees them: they only build with the sanitizer flags that
// Fuzz/run.sh passes (-sanitize=fuzzer,address -parse-as-library; libFuzzer provides `main`).
let fuzzers: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzCheckpoint", [.product(name: "Checkpoints", package: "RobustSynth")]),
    ("FuzzPNG", [.product(name: "ImageIO", package: "RobustSynth")]),
    ("FuzzJPEG", [.product(name: "ImageIO", package: "RobustSynth")]),
    ("FuzzSeedModel", [.product(name: "ImageIO", package: "RobustSynth")]),
    ("FuzzSpec", [.product(name: "RobustSynthHost", package: "RobustSynth")]),
]

let package = Package(
    name: "RobustSynthFuzz",
    products: fuzzers.map { .executable(name: $0.name, targets: [$0.name]) },
    dependencies: [.package(name: "RobustSynth", path: "..")],
    targets: fuzzers.map { .executableTarget(name: $0.name, dependencies: $0.dependencies) },
    swiftLanguageVersions: [.v5]
)
