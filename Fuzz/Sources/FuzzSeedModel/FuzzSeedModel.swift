import Foundation
import ImageIO

private let report = ProcessInfo.processInfo.environment["FUZZ_REPORT"] != nil

/// A seed-model file (`rsynth seeds fit`'s output) through `SeedModel.decode`, as `SeedModel.read`
/// reads it; whatever it accepts must survive a write/read round trip in memory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let model: SeedModel
    do { model = try SeedModel.decode(bytes, path: "fuzz-input") } catch {
        if report { FileHandle.standardError.write(Data("refused: \(error)\n".utf8)) }
        return 0
    }
    if report { FileHandle.standardError.write(Data("seed model R=\(model.resolution), \(model.classes.count) classes\n".utf8)) }
    for c in model.classes {
        precondition(c.mean.count == model.dimension && c.variance.count == model.dimension
                     && c.centred.count == c.count * model.dimension, "class \(c.label) has inconsistent sizes")
    }
    _ = model.classModel(model.classes.first?.label ?? 0)
    return 0
}
