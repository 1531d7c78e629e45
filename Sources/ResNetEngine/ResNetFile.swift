import Checkpoints

/// A ResNet's weights from a checkpoint file, with every error naming the file.
public enum ResNetFile {
    public static func weights(_ path: String, layout: ResNetLayout? = nil) throws -> ResNetWeights {
        guard !path.isEmpty else { throw ResNetError("no weights file given") }
        let checkpoint = try Checkpoint.load(path)   // CheckpointError already names the file
        do {
            return try ResNetWeights.from(checkpoint, layout: layout)
        } catch {
            throw ResNetError("\(path): \(error)")
        }
    }
}
