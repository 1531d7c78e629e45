// STUB (branch `engine` only): the API of the Checkpoints target, being written on branch
// `checkpoints`. Drop this file when merging the real reader. `load` is not implemented here.
import Foundation

public enum TensorDType: String, Sendable { case float32, float16, bfloat16, float64, int64, int32, uint8, bool }

public enum CheckpointFormat: String, Sendable { case torchZip, torchLegacy, safetensors }

public struct CheckpointError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct CheckpointTensor {
    public let name: String
    public let shape: [Int]
    public let dtype: TensorDType
    public var count: Int { shape.reduce(1, *) }
    let values: [Float]
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name; self.shape = shape; self.dtype = .float32; self.values = values
    }
    public func floats() throws -> [Float] { values }
}

public struct Checkpoint {
    public let path: String
    public let format: CheckpointFormat
    public let tensors: [CheckpointTensor]
    public let stateDictKey: String
    public init(path: String, format: CheckpointFormat, tensors: [CheckpointTensor], stateDictKey: String) {
        self.path = path; self.format = format; self.tensors = tensors; self.stateDictKey = stateDictKey
    }
    public subscript(name: String) -> CheckpointTensor? { tensors.first { $0.name == name } }
    public static func load(_ path: String) throws -> Checkpoint {
        throw CheckpointError("Checkpoint.load is a stub on this branch (the reader lands on branch `checkpoints`)")
    }
}
