import Foundation
import XCTest
@testable import Checkpoints

/// The committed fixtures (written by Tests/Fixtures/make_checkpoint_fixtures.py) and their
/// expected contents as computed by PyTorch.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/checkpoints")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> Data { try Data(contentsOf: directory.appendingPathComponent(name)) }

    struct Tensor: Decodable {
        let name: String
        let shape: [Int]
        let dtype: String
        let values: [Double]
    }

    struct File: Decodable {
        let format: String
        let stateDictKey: String
        let tensors: [Tensor]
    }

    static func expected() throws -> [String: File] {
        try JSONDecoder().decode([String: File].self, from: bytes("expected.json"))
    }
}

/// A scratch directory per test, removed afterwards.
final class ScratchDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoints-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func write(_ data: Data, as name: String) throws -> String {
        let u = url.appendingPathComponent(name)
        try data.write(to: u)
        return u.path
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Asserts that loading throws a CheckpointError that names the file; returns its text.
@discardableResult
func assertCheckpointError(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
    do {
        let c = try Checkpoint.load(path)
        XCTFail("expected an error for \(path), loaded \(c.tensors.count) tensors", file: file, line: line)
        return nil
    } catch let e as CheckpointError {
        XCTAssertTrue(e.description.hasPrefix(path + ": "), "error does not name the file: \(e)", file: file, line: line)
        return e.description
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
        return nil
    }
}
