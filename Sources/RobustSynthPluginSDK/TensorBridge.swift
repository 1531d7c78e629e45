import SynthPluginABI

/// Copies between the ABI's caller-owned buffers and Swift tensors.
extension synth_tensor {
    var dims: [Int] {
        withUnsafeBytes(of: shape) { raw in
            Array(raw.bindMemory(to: Int64.self).prefix(Int(rank))).map(Int.init)
        }
    }
    var elementCount: Int { dims.reduce(1, *) }
}

func tensor(from t: UnsafePointer<synth_tensor>) -> Tensor {
    let dims = t.pointee.dims
    let n = dims.reduce(1, *)
    return Tensor(shape: dims, data: Array(UnsafeBufferPointer(start: t.pointee.data, count: n)))
}

func tensor(_ data: UnsafePointer<Float>, shape: [Int]) -> Tensor {
    Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: data, count: shape.reduce(1, *))))
}

struct ShapeMismatch: Error, CustomStringConvertible {
    var what: String, expected: Int, got: Int
    var description: String { "\(what): plugin produced \(got) values, the host's buffer holds \(expected)" }
}

func copy(_ source: Tensor, into t: UnsafeMutablePointer<synth_tensor>, what: String) throws {
    let n = t.pointee.elementCount
    guard n == source.count else { throw ShapeMismatch(what: what, expected: n, got: source.count) }
    source.data.withUnsafeBufferPointer { t.pointee.data.update(from: $0.baseAddress!, count: n) }
}
