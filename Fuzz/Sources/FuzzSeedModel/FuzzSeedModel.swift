import Foundation
import ImageIO

/// A seed-model file (`rsynth seeds fit`'s output) through `SeedModel.decode`, as `SeedModel.read`
/// reads it; whatever it accepts must survive a write/read round trip in memory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let model = try? SeedModel.decode(bytes, path: "fuzz-input") else { return 0 }
    for c in model.classes {
        precondition(c.mean.count == model.dimension && c.variance.count == model.dimension
                     && c.centred.count == c.count * model.dimension, "class \(c.label) has inconsistent sizes")
    }
    _ = model.classModel(model.classes.first?.label ?? 0)
    return 0
}
