import Foundation
import XCTest
@testable import Checkpoints

/// Hostile, truncated and corrupt files: always one CheckpointError naming the file, never a
/// crash, and nothing in a pickle is ever executed.
final class BadInputTests: XCTestCase {
    func load(_ data: Data, as name: String, in scratch: ScratchDirectory) throws -> String? {
        assertCheckpointError(try scratch.write(data, as: name))
    }

    // MARK: pickles that ask for code

    /// `fixture` is refused with exactly "PATH: refusing to load: PICKLE asks for GLOBAL, which can
    /// run code; nothing was executed", and the file its payload would touch does not appear.
    func assertRefused(_ fixture: String, pickle: String, global: String, marker: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        try? FileManager.default.removeItem(atPath: marker)
        let path = Fixtures.path(fixture)
        XCTAssertEqual(assertCheckpointError(path, file: file, line: line),
                       "\(path): refusing to load: \(pickle) asks for \(global), which can run code; nothing was executed",
                       file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), file: file, line: line)
    }

    func testMaliciousZipPickleIsRefusedAndRunsNothing() throws {
        assertRefused("evil_zip.pt", pickle: "data.pkl", global: "os.system", marker: "/tmp/robustsynth_pwned_zip")
    }

    func testMaliciousStackGlobalBesideAStateDictIsRefused() throws {
        assertRefused("evil_stack_global_zip.pt", pickle: "data.pkl", global: "builtins.eval",
                      marker: "/tmp/robustsynth_pwned_eval")
    }

    func testMaliciousLegacyPickleIsRefusedAndRunsNothing() throws {
        assertRefused("evil_legacy.pt", pickle: "the object pickle", global: "os.system",
                      marker: "/tmp/robustsynth_pwned_legacy")
    }

    func testCallOfAnUnknownGlobalIsAnInertPlaceholder() throws {
        // GLOBAL mymod.func, ('arg',), REDUCE, then BUILD with a state, then STOP.
        var pkl = Data([0x80, 0x02]) + Data("cmymod\nfunc\n".utf8)
        pkl += Data([0x8c, 3]) + Data("arg".utf8) + Data([0x85, 0x52, 0x7d, 0x62, 0x2e])
        var u = Unpickler(ByteReader(pkl), at: 0, context: "test.pkl") { _ in .none }
        guard case .opaque(let what) = try u.load() else { return XCTFail("expected a placeholder") }
        XCTAssertEqual(what, "an object made by mymod.func")

        let scratch = try ScratchDirectory()
        let zip = try ZipWriter.tinyZip(replacing: ["tiny_zip/data.pkl": pkl])
        let path = try scratch.write(zip, as: "placeholder.pt")
        XCTAssertEqual(assertCheckpointError(path),
                       "\(path): no state dict found: the file holds an object made by mymod.func, not a dict of tensors (save model.state_dict() instead of the model)")
    }

    func testUnknownOpcodeIsAClearError() throws {
        let scratch = try ScratchDirectory()
        let zip = try ZipWriter.tinyZip(replacing: ["tiny_zip/data.pkl": Data([0x80, 0x02, 0x7d, 0xff, 0x2e])])
        let path = try scratch.write(zip, as: "opcode.pt")
        XCTAssertEqual(assertCheckpointError(path), "\(path): unknown pickle opcode 0xff at byte 3 of data.pkl")
    }

    func testDeeplyNestedPickleIsRejectedNotOverflowed() throws {
        let pkl = Data([0x80, 0x02, 0x29]) + Data(repeating: 0x85, count: 100_000) + Data([0x2e])
        var u = Unpickler(ByteReader(pkl), at: 0, context: "test.pkl") { _ in .none }
        XCTAssertThrowsError(try u.load()) { error in
            XCTAssertTrue((error as? FormatError)?.message.contains("nested more than 1000 deep") == true, "\(error)")
        }
    }

    /// A container put inside itself would be a reference cycle that is never freed (the fuzzer
    /// found it as a leak: Fuzz/reproducers/FuzzCheckpoint/pickle_dict_contains_itself.pt). The
    /// dict as its own value, as its own key, and a list as its own item are each refused.
    func testAContainerInsideItselfIsRefused() throws {
        // PROTO 2, EMPTY_DICT, BINPUT 0, MARK, key, BINGET 0, SETITEMS, STOP: d = {"k": d}
        let dictValue = Data([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0, 0, 0, 0x6b, 0x68, 0x00, 0x75, 0x2e])
        // ... BINGET 0 as the key: {d: "v"}
        let dictKey = Data([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x68, 0x00, 0x58, 0x01, 0, 0, 0, 0x76, 0x75, 0x2e])
        // EMPTY_LIST, BINPUT 0, MARK, BINGET 0, APPENDS: l = [l]
        let list = Data([0x80, 0x02, 0x5d, 0x71, 0x00, 0x28, 0x68, 0x00, 0x65, 0x2e])
        for (pkl, what) in [(dictValue, "a dict contains itself"), (dictKey, "a dict contains itself"), (list, "a list contains itself")] {
            var u = Unpickler(ByteReader(pkl), at: 0, context: "test.pkl") { _ in .none }
            XCTAssertThrowsError(try u.load()) { error in
                XCTAssertTrue((error as? FormatError)?.message.contains("\(what) (unsupported)") == true, "\(error)")
            }
        }
        // A dict holding another dict, and a list holding another list, still load.
        let nested = Data([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0, 0, 0, 0x6b, 0x7d, 0x75, 0x2e])
        var u = Unpickler(ByteReader(nested), at: 0, context: "test.pkl") { _ in .none }
        guard case .dict(let d) = try u.load(), case .dict? = d["k"] else { return XCTFail("{'k': {}} did not load") }
    }

    // MARK: truncated and corrupt files

    func testTruncatedFixturesNameTheFile() throws {
        let zip = Fixtures.path("tiny_zip_truncated.pt")
        XCTAssertEqual(assertCheckpointError(zip),
                       "\(zip): truncated or corrupt zip archive: no end-of-central-directory record (the file has 1965 bytes)")
        let legacy = Fixtures.path("madry_legacy_truncated.pt")
        let legacyMessage = assertCheckpointError(legacy) ?? ""
        XCTAssertTrue(legacyMessage.contains("truncated or corrupt file: ") && legacyMessage.contains("storage '"), legacyMessage)
        let st = Fixtures.path("tiny_f32_truncated.safetensors")
        XCTAssertTrue(assertCheckpointError(st)?.contains("truncated safetensors file") == true)
    }

    /// Every prefix of each format, decoded in memory (files would make this slow), plus a few
    /// written to disk to check the path in the message.
    func testEveryTruncationOfEveryFormatIsAnError() throws {
        let scratch = try ScratchDirectory()
        for name in ["tiny_zip.pt", "madry_legacy.pt", "tiny_f16.safetensors", "views_zip.pt"] {
            let data = try Fixtures.bytes(name)
            for length in 0..<data.count {
                let path = "/in-memory/cut-\(length)-\(name)"
                do {
                    _ = try Checkpoint.decode(data.prefix(length), path: path)
                    return XCTFail("\(name) cut to \(length) bytes loaded without error")
                } catch let e as CheckpointError {
                    XCTAssertTrue(e.description.hasPrefix(path + ": "), e.description)
                    XCTAssertFalse(e.description.contains("unexpected error"), e.description)
                }
            }
            for length in [0, 7, data.count / 3, data.count - 1] {
                XCTAssertNotNil(try load(data.prefix(length), as: "cut-\(length)-\(name)", in: scratch))
            }
        }
    }

    func testRandomCorruptionNeverCrashes() throws {
        var rng = SplitMix64(seed: 42)
        for name in ["tiny_zip.pt", "madry_legacy.pt", "tiny_bf16.safetensors", "views_zip.pt", "dtypes_zip.pt"] {
            let original = try Fixtures.bytes(name)
            for _ in 0..<2000 {
                var data = original
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    data[Int(rng.next() % UInt64(data.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                let path = "/in-memory/corrupt-\(name)"
                do {
                    for t in try Checkpoint.decode(data, path: path).tensors { _ = try t.floats() }
                } catch let e as CheckpointError {
                    XCTAssertTrue(e.description.hasPrefix(path + ": "), "\(e)")
                    XCTAssertFalse(e.description.contains("unexpected error"), "\(e)")
                }
            }
        }
    }

    func testTensorReachingPastItsStorageIsAnError() throws {
        let scratch = try ScratchDirectory()
        let zip = try ZipWriter.tinyZip(replacing: ["tiny_zip/data/0": Data(count: 8)])
        let path = try scratch.write(zip, as: "short-storage.pt")
        XCTAssertEqual(assertCheckpointError(path),
                       "\(path): truncated or corrupt file: tensor 'conv1.weight' (shape [4, 3, 3, 3], float32) reaches past the end of its storage '0', which has 8 bytes")
    }

    func testHugeExpandedTensorIsRejected() {
        XCTAssertThrowsError(try CheckpointTensor(name: "x", shape: [1 << 40], strides: [0], dtype: .float32,
                                                  file: Data(count: 4), regionStart: 0, regionLength: 4,
                                                  firstElement: 0, what: "storage")) { error in
            XCTAssertTrue("\(error)".contains("has 1099511627776 elements"), "\(error)")
        }
        // A modest expanded tensor (stride 0) is fine and reads the one element repeatedly.
        let one = Data([0, 0, 0x80, 0x3f])
        XCTAssertEqual(try CheckpointTensor(name: "x", shape: [3], strides: [0], dtype: .float32, file: one,
                                            regionStart: 0, regionLength: 4, firstElement: 0, what: "storage").floats(),
                       [1, 1, 1])
    }

    func testCompressedZipEntriesAreRejected() throws {
        let scratch = try ScratchDirectory()
        let entries = try ZipWriter.entries(of: Fixtures.bytes("tiny_zip.pt"))
        let path = try scratch.write(ZipWriter.make(entries, method: 8), as: "deflated.pt")
        XCTAssertTrue(assertCheckpointError(path)?.contains("is compressed (method 8)") == true)
    }

    func testFilesThatAreNotCheckpoints() throws {
        let scratch = try ScratchDirectory()
        let empty = try scratch.write(Data(), as: "empty.pt")
        XCTAssertEqual(assertCheckpointError(empty), "\(empty): not a checkpoint: the file is empty")
        let html = try scratch.write(Data("<html><body>404</body></html>".utf8), as: "page.pt")
        XCTAssertEqual(assertCheckpointError(html),
                       "\(html): not a checkpoint: expected a PyTorch zip archive, a legacy PyTorch file or safetensors, but the file starts with 3c 68 74 6d 6c 3e 3c 62")
        let plainPickle = Fixtures.path("plain_protocol2.pkl")
        XCTAssertEqual(assertCheckpointError(plainPickle),
                       "\(plainPickle): not a PyTorch checkpoint: the file is a pickle without PyTorch's magic number")
        let missing = scratch.url.appendingPathComponent("missing.pt").path
        XCTAssertTrue(assertCheckpointError(missing)?.contains("cannot read the file") == true)
        XCTAssertNotNil(assertCheckpointError(scratch.url.path))
    }

    /// Regression: a safetensors header length whose low byte is 0x80 (a pickle's first byte)
    /// was once taken for a legacy PyTorch file.
    func testSafetensorsHeaderLengthStartingWith0x80() throws {
        var json = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        json += String(repeating: " ", count: 0x180 - json.utf8.count)
        var data = Data([0x80, 0x01, 0, 0, 0, 0, 0, 0]) + Data(json.utf8)
        data += Data([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0])  // 1.0, -2.0
        let c = try Checkpoint.decode(data, path: "/in-memory/x.safetensors")
        XCTAssertEqual(c.format, .safetensors)
        XCTAssertEqual(try c["w"]?.floats(), [1, -2])
    }

    /// Rewritten with zip64 extra fields and end records, and a different root folder name.
    func testZip64ArchiveWithAnotherRootLoadsLikeTheOriginal() throws {
        let scratch = try ScratchDirectory()
        let entries = try ZipWriter.entries(of: Fixtures.bytes("tiny_zip.pt")).map { e in
            (name: "archive/" + e.name.dropFirst("tiny_zip/".count), bytes: e.bytes)
        }
        let path = try scratch.write(ZipWriter.make(entries, zip64: true), as: "zip64.pt")
        let copy = try Checkpoint.load(path), original = try Checkpoint.load(Fixtures.path("tiny_zip.pt"))
        XCTAssertEqual(copy.tensors.map(\.name), original.tensors.map(\.name))
        for (a, b) in zip(copy.tensors, original.tensors) { XCTAssertEqual(try a.floats(), try b.floats()) }
    }
}

/// Deterministic random numbers for the corruption test.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
