import Foundation
import XCTest
@testable import Checkpoints

/// Every good fixture loads and matches PyTorch's own names, shapes, dtypes and values exactly
/// (values are compared as the float32 that PyTorch's `.float()` gives for the stored dtype).
final class FixtureLoadingTests: XCTestCase {
    func check(_ fileName: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try XCTUnwrap(Fixtures.expected()[fileName], "no expectations for \(fileName)")
        let checkpoint = try Checkpoint.load(Fixtures.path(fileName))
        XCTAssertEqual(checkpoint.path, Fixtures.path(fileName), file: file, line: line)
        XCTAssertEqual(checkpoint.format.rawValue, expected.format, file: file, line: line)
        XCTAssertEqual(checkpoint.stateDictKey, expected.stateDictKey, file: file, line: line)
        XCTAssertEqual(checkpoint.tensors.map(\.name), expected.tensors.map(\.name), file: file, line: line)
        for want in expected.tensors {
            let got = try XCTUnwrap(checkpoint[want.name], "missing \(want.name)", file: file, line: line)
            XCTAssertEqual(got.shape, want.shape, want.name, file: file, line: line)
            XCTAssertEqual(got.dtype.rawValue, want.dtype, want.name, file: file, line: line)
            XCTAssertEqual(got.count, want.values.count, want.name, file: file, line: line)
            let values = try got.floats()
            XCTAssertEqual(values, want.values.map { Float($0) }, want.name, file: file, line: line)
        }
    }

    func testLegacyStorageView() throws { try check("legacy_storage_view.pt") }
    func testZipStateDict() throws { try check("tiny_zip.pt") }
    func testLegacyMadryLabCheckpoint() throws { try check("madry_legacy.pt") }
    /// MadryLab saved from GPU: torch.cuda.FloatStorage, location 'cuda:0'; read on the CPU as is.
    func testLegacyMadryLabCheckpointSavedFromGPU() throws { try check("madry_legacy_cuda.pt") }
    func testSafetensorsFloat32() throws { try check("tiny_f32.safetensors") }
    func testSafetensorsFloat16() throws { try check("tiny_f16.safetensors") }
    func testSafetensorsBFloat16() throws { try check("tiny_bf16.safetensors") }
    func testSafetensorsFloat64() throws { try check("tiny_f64.safetensors") }
    func testZipViewsWithOffsetsAndStrides() throws { try check("views_zip.pt") }
    func testZipStorageDTypes() throws { try check("dtypes_zip.pt") }
    func testZipTrainingCheckpointWithUnknownClassStaysInert() throws { try check("with_args_zip.pt") }

    /// dill pickles lambdas and closures by value (code objects, cells, builtins getattr/setattr):
    /// a training checkpoint holding some beside its state dict loads, and none of it runs.
    func testDillCheckpointWithPickledFunctionsLoadsInert() throws {
        let pwned = "/tmp/robustsynth_pwned_dill_code"
        try? FileManager.default.removeItem(atPath: pwned)
        try check("dill_with_code.pt")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pwned))
    }

    func testZeroDimNumBatchesTracked() throws {
        let c = try Checkpoint.load(Fixtures.path("tiny_zip.pt"))
        let t = try XCTUnwrap(c["bn1.num_batches_tracked"])
        XCTAssertEqual(t.shape, [])
        XCTAssertEqual(t.dtype, .int64)
        XCTAssertEqual(t.count, 1)
        XCTAssertEqual(try t.floats(), [7])
    }

    func testMadryLabLayoutKeysAndSharedStorages() throws {
        let c = try Checkpoint.load(Fixtures.path("madry_legacy.pt"))
        XCTAssertEqual(c.format, .pytorchLegacy)
        XCTAssertEqual(c.stateDictKey, "model")
        XCTAssertEqual(c.tensors.first?.name, "module.normalizer.new_mean")
        XCTAssertEqual(c["module.normalizer.new_std"]?.shape, [3, 1, 1])
        // The attacker copy shares storage with the model copy: same values.
        XCTAssertEqual(try c["module.attacker.model.conv1.weight"]?.floats(), try c["module.model.conv1.weight"]?.floats())
        // Optimizer momentum buffers are walked past, never part of the state dict.
        XCTAssertFalse(c.tensors.contains { $0.name.contains("momentum") })
        XCTAssertNil(c["optimizer"])
    }

    func testSubscriptOfUnknownNameIsNil() throws {
        XCTAssertNil(try Checkpoint.load(Fixtures.path("tiny_zip.pt"))["no.such.key"])
    }

    func testFixturesStaySmall() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.directory.path)
        let total = try names.reduce(0) { $0 + (try Fixtures.bytes($1).count) }
        XCTAssertLessThan(total, 300_000)
    }
}
