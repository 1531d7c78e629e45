/// The one error type this module throws. Its text always starts with the file's path, so a user
/// who loads several checkpoints knows which one is broken.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(path: String, _ problem: String) {
        description = "\(path): \(problem)"
    }
}

/// What the format readers throw internally; `Checkpoint.load` adds the path. Keeping the path out
/// of the readers lets them work on bytes alone.
struct FormatError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
