import Foundation
import RSynthTestSupport
import XCTest
@testable import Checkpoints

/// Issue 11's hostile checkpoints, each built here in a scratch folder: out-of-range or
/// overflowing offsets, shapes and strides, expanded-tensor and pickle memory bombs. Each gives one
/// error naming the file and the tensor (pinned), both from the library and from `rsynth inspect`,
/// which must exit 1 without crashing; the bombs must fail before any large allocation.
final class HostileInputTests: XCTestCase {
    // MARK: builders

    /// A safetensors file: the JSON header as given (one line), then `data`.
    static func safetensors(_ header: String, data: Data = Data(count: 8)) -> Data {
        var length = UInt64(header.utf8.count).littleEndian
        return Data(bytes: &length, count: 8) + Data(header.utf8) + data
    }

    /// Just enough of pickle protocol 2 to write a state dict of `_rebuild_tensor_v2` calls.
    enum Pickle {
        static func str(_ s: String) -> Data {
            var n = UInt32(s.utf8.count).littleEndian
            return Data([0x58]) + Data(bytes: &n, count: 4) + Data(s.utf8)
        }
        static func int(_ v: Int) -> Data {  // LONG1 with 8 bytes: any Int
            var le = Int64(v).littleEndian
            return Data([0x8a, 8]) + Data(bytes: &le, count: 8)
        }
        static func tuple(_ items: [Data]) -> Data { Data([0x28]) + items.reduce(Data(), +) + Data([0x74]) }
        static func global(_ module: String, _ name: String) -> Data { Data("c\(module)\n\(name)\n".utf8) }

        struct Tensor { var name: String; var storage = "0"; var numel = 1; var offset = 0; var shape: [Int]; var strides: [Int] }

        static func stateDict(_ tensors: [Tensor]) -> Data {
            var out = Data([0x80, 0x02, 0x7d, 0x28])  // PROTO 2, EMPTY_DICT, MARK
            for t in tensors {
                let pid = tuple([str("storage"), global("torch", "FloatStorage"), str(t.storage), str("cpu"), int(t.numel)])
                let args = Data([0x28]) + pid + Data([0x51]) + int(t.offset)
                    + tuple(t.shape.map(int)) + tuple(t.strides.map(int)) + Data([0x89, 0x7d, 0x74])
                out += str(t.name) + global("torch._utils", "_rebuild_tensor_v2") + args + Data([0x52])
            }
            return out + Data([0x75, 0x2e])  // SETITEMS, STOP
        }
    }

    /// A torch.save zip archive: archive/data.pkl and the storages archive/data/<key>.
    static func torchZip(pickle: Data, storages: [String: Data] = ["0": Data(count: 4)]) -> Data {
        ZipWriter.make([(name: "archive/data.pkl", bytes: pickle), (name: "archive/byteorder", bytes: Data("little".utf8))]
                       + storages.sorted { $0.key < $1.key }.map { (name: "archive/data/\($0.key)", bytes: $0.value) })
    }

    /// The file is refused with exactly `message` (after "PATH: ") by the library and by
    /// `rsynth inspect`, which exits 1 with that one line while limited to 1 GiB of address space
    /// (rsynth itself starts in under 200 MB), so nothing large was allocated first.
    func assertRefused(_ data: Data, as name: String, _ message: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write(data, as: name)
        XCTAssertEqual(assertCheckpointError(path, file: file, line: line), "\(path): \(message)", file: file, line: line)
        let r = try TestSupport.rsynth(["inspect", path], memoryLimitMiB: 1024)
        XCTAssertEqual(r.status, 1, "rsynth inspect: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr, "Error: \(path): \(message)\n", file: file, line: line)
    }

    // MARK: safetensors offsets and shapes

    func testSafetensorsNegativeOffsetsAreRefused() throws {
        // 100 bytes before the data: the header itself, which was once read as weights.
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[25],"data_offsets":[-100,0]}}"#), as: "header.safetensors",
                          "corrupt safetensors file: tensor 'w' has data_offsets [-100, 0]; they must satisfy 0 <= begin <= end")
        // Far before the mapped file: once a SIGSEGV.
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[-4000000008,-4000000000]}}"#), as: "before.safetensors",
                          "corrupt safetensors file: tensor 'w' has data_offsets [-4000000008, -4000000000]; they must satisfy 0 <= begin <= end")
        // end - begin overflows: once a SIGILL while building the error text.
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[-9223372036854775808,0]}}"#), as: "min.safetensors",
                          "corrupt safetensors file: tensor 'w' has data_offsets [-9223372036854775808, 0]; they must satisfy 0 <= begin <= end")
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#), as: "reversed.safetensors",
                          "corrupt safetensors file: tensor 'w' has data_offsets [8, 4]; they must satisfy 0 <= begin <= end")
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#), as: "past.safetensors",
                          "truncated safetensors file: tensor 'w' needs bytes 0..<16 of the data, but only 8 bytes follow the header")
    }

    func testSafetensorsHugeShapesAreRefusedNotOverflowed() throws {
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}"#), as: "huge.safetensors",
                          "corrupt safetensors file: tensor 'w' has shape [4611686018427387904] of F32, which needs more than 9223372036854775807 bytes")
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#), as: "overflow.safetensors",
                          "corrupt safetensors file: tensor 'w' has shape [4611686018427387904, 4], more elements than a 64-bit count holds")
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[-2,-1],"data_offsets":[0,8]}}"#), as: "negative.safetensors",
                          "corrupt safetensors file: tensor 'w' has a negative size in shape [-2, -1]")
        try assertRefused(Self.safetensors(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#), as: "mismatch.safetensors",
                          "corrupt safetensors file: tensor 'w' has 8 bytes but shape [3] of F32 needs 12")
    }

    // MARK: pickled tensor geometry (zip; the legacy format shares the code)

    func testStorageOffsetsAndStridesThatOverflowAreRefused() throws {
        let offset = Pickle.stateDict([.init(name: "w", offset: 1 << 62, shape: [2], strides: [1])])
        try assertRefused(Self.torchZip(pickle: offset), as: "offset.pt",
                          "truncated or corrupt file: tensor 'w' (shape [2], float32) reaches past the end of its storage '0', which has 4 bytes")
        let stride = Pickle.stateDict([.init(name: "w", shape: [3], strides: [1 << 62])])
        try assertRefused(Self.torchZip(pickle: stride), as: "stride.pt",
                          "tensor 'w' has impossible strides [4611686018427387904] for shape [3]")
        let negative = Pickle.stateDict([.init(name: "w", offset: -1, shape: [1], strides: [1])])
        try assertRefused(Self.torchZip(pickle: negative), as: "negative-offset.pt",
                          "corrupt pickle in data.pkl: _rebuild_tensor_v2 called with a malformed offset, size or stride (opcode 0x52 at byte 140)")
        let shape = Pickle.stateDict([.init(name: "w", shape: [1 << 62, 8], strides: [0, 0])])
        try assertRefused(Self.torchZip(pickle: shape), as: "shape.pt", "tensor 'w' has too many elements (shape [4611686018427387904, 8])")
    }

    // MARK: memory bombs

    /// A few kilobytes of stride-0 tensors describing a very wide net once reached 7.8 GB.
    func testExpandedTensorsCannotDescribeGigabytes() throws {
        let wide = Pickle.stateDict([.init(name: "fc.weight", shape: [100_000, 4096], strides: [0, 0])])
        try assertRefused(Self.torchZip(pickle: wide), as: "wide.pt",
                          "refusing to load: tensor 'fc.weight' has 409600000 elements (shape [100000, 4096], strides [0, 0]) but its storage '0' holds only 1; at most 16 times the storage (or 65536 elements) is accepted")
        // Each tensor within the small allowance, but together far more than the file could hold.
        let many = Pickle.stateDict((0..<300).map { .init(name: "layer\($0).weight", shape: [256, 256], strides: [0, 0]) })
        let data = Self.torchZip(pickle: many)
        try assertRefused(data, as: "many.pt",
                          "refusing to load: its 300 tensors describe 19660800 elements in all, more than the 16777216 allowed for a \(data.count)-byte file (4 per byte, at least 16777216); views or expanded tensors repeat the same storage")
        // A modest expansion still loads.
        let scratch = try ScratchDirectory()
        let ok = try scratch.write(Self.torchZip(pickle: Pickle.stateDict([.init(name: "b", shape: [16], strides: [0])]),
                                                 storages: ["0": Data([0, 0, 0x80, 0x3f])]), as: "ok.pt")
        XCTAssertEqual(try Checkpoint.load(ok)["b"]?.floats(), [Float](repeating: 1, count: 16))
    }

    /// 10 MB of DUP once took 1.3 GB; MEMOIZE and APPENDS grow the memo and a list the same way.
    func testPickleStackMemoAndContainersAreBounded() throws {
        let dup = Data([0x80, 0x02, 0x7d]) + Data(repeating: 0x32, count: 10_000_000) + Data([0x2e])
        try assertRefused(Self.torchZip(pickle: dup), as: "dup.pt",
                          "refusing to load: data.pkl builds more than 1048576 values on its stack (at byte 1048578), far more than any checkpoint needs")
        let memo = Data([0x80, 0x04, 0x7d]) + Data(repeating: 0x94, count: 2_000_000) + Data([0x2e])
        try assertRefused(Self.torchZip(pickle: memo), as: "memo.pt",
                          "refusing to load: data.pkl builds more than 262144 memo entries (at byte 262147), far more than any checkpoint needs")
        let batch = Data([0x28]) + Data(repeating: 0x4e, count: 1000) + Data([0x65])  // MARK, 1000 x None, APPENDS
        let list = Data([0x80, 0x02, 0x5d]) + Data((0..<5000).map { _ in batch }.joined()) + Data([0x2e])
        try assertRefused(Self.torchZip(pickle: list), as: "list.pt",
                          "refusing to load: data.pkl builds more than 2097152 items in its containers (at byte 2102199), far more than any checkpoint needs")
    }
}
