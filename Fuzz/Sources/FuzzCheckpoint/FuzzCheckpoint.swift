import Checkpoints
import Foundation

/// Any bytes: the checkpoint opener picks the format (zip, safetensors, legacy pickle) as
/// `Checkpoint.load` does, and every tensor it accepts is materialised. Errors are fine; a crash,
/// a sanitizer report or a runaway allocation is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let checkpoint = try? Checkpoint.decode(bytes, path: "fuzz-input") else { return 0 }
    for tensor in checkpoint.tensors {
        guard let values = try? tensor.floats() else { continue }
        precondition(values.count == tensor.count, "floats() gave \(values.count) values for \(tensor.shape)")
        _ = checkpoint[tensor.name]
    }
    return 0
}
