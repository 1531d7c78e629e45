import Foundation
import RSynthTestSupport
import XCTest

/// Paths that are not what they should be, through the rsynth executable: each is one sentence
/// naming the path and the OS's reason, never a Foundation error code, and nothing blocks.
final class HostileFilesCLITests: XCTestCase {
    func runSpec(dataset: String = "") -> String {
        """
        version: 1
        classifier: { plugin: linear, with: { classes: 10, size: 16 } }
        seed: \(dataset.isEmpty ? "{ plugin: uniform }" : "{ plugin: dataset-image, with: { dataset: \(dataset), labels: \"10\", transform: resize } }")
        task: { plugin: generation, with: { classes: [0, 1], per_class: 1 } }
        constraints: [ { plugin: l2-ball, with: { eps: 2 } } ]
        optimizer: { steps: 2, step_size: 0.5 }

        """
    }

    func testWeightsThatAreAFolderFIFOOrLoopAreRefusedInOneSentence() throws {
        let dir = TestSupport.temporaryDirectory()
        let folder = dir.appendingPathComponent("weights.pt").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let fifo = dir.appendingPathComponent("fifo.pt").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let loop = dir.appendingPathComponent("loop.pt").path
        XCTAssertEqual(symlink("loop.pt", loop), 0)
        for (path, reason) in [(folder, "it is a folder, not a file"), (fifo, "it is a FIFO (named pipe), not a regular file"),
                               (loop, "Too many levels of symbolic links")] {
            let i = try TestSupport.rsynth(["inspect", path])
            XCTAssertEqual(i.status, 1)
            XCTAssertEqual(i.stderr, "Error: \(path): cannot read the file (\(reason))\n")
            let c = try TestSupport.rsynth(["classify", "--classifier", "digits-resnet", "--weights", path, fifo])
            XCTAssertEqual(c.status, 1)
            XCTAssertEqual(c.stderr, "Error: plugin 'digits-resnet': \(path): cannot read the file (\(reason))\n")
        }
    }

    func testAnOutputFolderThatCannotBeOneIsOneSentence() throws {
        let dir = TestSupport.temporaryDirectory()
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(runSpec(), to: specPath)
        let file = dir.appendingPathComponent("file").path
        TestSupport.write("x", to: URL(fileURLWithPath: file))
        var cases = [
            (file, "rsynth: error: output folder \(file) is a file, not a folder\n"),
            (file + "/run", "rsynth: error: cannot create output folder \(file)/run: \(file) is a file, not a folder\n"),
            ("/proc/rsynth-run", "rsynth: error: cannot create output folder /proc/rsynth-run: No such file or directory\n"),
            ("/proc/self", "rsynth: error: cannot write in output folder /proc/self: No such file or directory\n"),
        ]
        if getuid() != 0 {   // root writes anywhere
            let locked = dir.appendingPathComponent("locked").path
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
            chmod(locked, 0o555)
            cases.append((locked + "/run", "rsynth: error: cannot create output folder \(locked)/run: Permission denied\n"))
        }
        for (out, message) in cases {
            let r = try TestSupport.rsynth(["run", specPath.path, "--out", out, "--quiet"])
            XCTAssertEqual(r.status, 1, out)
            XCTAssertEqual(r.stderr, message)
            XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"))
        }
    }

    func testARunListsTheDatasetEntriesItSkips() throws {
        let dir = TestSupport.temporaryDirectory()
        let ds = dir.appendingPathComponent("ds").path
        let png = try Data(contentsOf: TestSupport.root.appendingPathComponent("Examples/digits/figures").appendingPathComponent(
            try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: TestSupport.root.appendingPathComponent("Examples/digits/figures").path)
                .sorted().first { $0.hasSuffix(".png") })))
        for c in ["0", "1"] {
            try FileManager.default.createDirectory(atPath: ds + "/" + c, withIntermediateDirectories: true)
            try png.write(to: URL(fileURLWithPath: ds + "/\(c)/a.png"))
        }
        XCTAssertEqual(mkfifo(ds + "/0/fifo.png", 0o644), 0)
        try FileManager.default.createDirectory(atPath: ds + "/1/folder.png", withIntermediateDirectories: true)
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(runSpec(dataset: "ds"), to: specPath)
        let r = try TestSupport.rsynth(["run", specPath.path, "--out", dir.appendingPathComponent("run").path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "rsynth: warning: plugin 'dataset-image': skipped 2 entries of the dataset: \(ds)/0/fifo.png: it is a FIFO (named pipe), not a regular file; \(ds)/1/folder.png: it is a folder, not a file\n")
    }
}
