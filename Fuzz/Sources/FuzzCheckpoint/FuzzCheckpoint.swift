import Checkpoints
import Foundation

/// FUZZ_REPORT=1: say what each input gave, on stderr (to check seeds).
private let report = ProcessInfo.processInfo.environment["FUZZ_REPORT"] != nil

/// Any bytes: the checkpoint opener picks the format (zip, safetensors, legacy pickle) as
/// `Checkpoint.load` does, and every tensor it accepts is materialised. Errors are fine; a crash,
/// a sanitizer report or a runaway allocation is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let checkpoint: Checkpoint
    do { checkpoint = try Checkpoint.decode(bytes, path: "fuzz-input") } catch {
        if report { FileHandle.standardError.write(Data("refused: \(error)\n".utf8)) }
        return 0
    }
    if report { FileHandle.standardError.write(Data("\(checkpoint.format.rawValue): \(checkpoint.tensors.map { "\($0.name)\($0.shape)" })\n".utf8)) }
    for tensor in checkpoint.tensors {
        guard let values = try? tensor.floats() else { continue }
        precondition(values.count == tensor.count, "floats() gave \(values.count) values for \(tensor.shape)")
        _ = checkpoint[tensor.name]
    }
    return 0
}
