/// A problem in a spec file at a 1-based line and column, printed as compilers do:
/// `SPEC:LINE:COLUMN: error: message`.
public struct Diagnostic: Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }

    public var description: String { "\(file):\(line):\(column): error: \(message)" }
}

/// All the problems of a spec; thrown when a spec cannot be run.
public struct SpecErrors: Error, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
