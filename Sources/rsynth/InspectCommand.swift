import ArgumentParser
import Checkpoints
import Foundation
import ResNetEngine

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a checkpoint: format, layout, architecture, and every tensor.",
        discussion: "Reads PyTorch zip (.pt/.pth), PyTorch legacy (MadryLab robustness) and safetensors files without Python; nothing in the file is ever executed.")
    @Argument(help: "The checkpoint file.") var weights: String

    func run() throws {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.load(weights) } catch { throw CommandError("\(error)") }
        let floating: Set<TensorDType> = [.float32, .float16, .bfloat16, .float64]
        let parameters = checkpoint.tensors.filter { floating.contains($0.dtype) }.map(\.count).reduce(0, +)
        print("file:         \(weights)")
        print("format:       \(checkpoint.format.rawValue)")
        print("state dict:   \(checkpoint.stateDictKey.isEmpty ? "top level" : "under '\(checkpoint.stateDictKey)'")")
        do {
            let w = try ResNetWeights.from(checkpoint)
            print("layout:       \(w.layout.rawValue)")
            print("architecture: \(w.architecture)")
            if let n = w.normalizer {
                func list(_ v: [Float]) -> String { "[" + v.map { String(format: "%.4f", $0) }.joined(separator: ", ") + "]" }
                print("normaliser:   mean \(list(n.mean)), std \(list(n.std))")
            }
        } catch {
            print("architecture: not a ResNet this engine reads (\(error))")
        }
        print("tensors:      \(checkpoint.tensors.count)")
        print("parameters:   \(parameters) floating-point values (\(String(format: "%.1f", Double(parameters) / 1e6)) M)")
        print("")
        let width = checkpoint.tensors.map(\.name.count).max() ?? 4
        for t in checkpoint.tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            print(t.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + shape.padding(toLength: 20, withPad: " ", startingAt: 0) + "  " + t.dtype.rawValue)
        }
    }
}
