import Foundation
import RSynthTestSupport
import XCTest

/// A run folder has one owner: a second run (or a merge) into a folder in use is refused at
/// once naming the holder; a run killed with SIGKILL leaves no lock behind, and running again
/// ends with the files of a run never stopped.
final class RunFolderLockTests: XCTestCase {
    func spec(steps: Int, seed: Int = 0) -> String {
        """
        version: 1
        classifier: { plugin: linear, with: { classes: 20, size: 16 } }
        seed: { plugin: uniform }
        task: { plugin: generation, with: { classes: [1, 2, 3, 4], per_class: 4 } }
        constraints: [ { plugin: l2-ball, with: { eps: 4 } } ]
        optimizer: { steps: \(steps), step_size: 0.2, batch_size: 2, seed: \(seed) }

        """
    }

    func start(_ spec: URL, _ out: URL) throws -> Process {
        let p = Process()
        p.executableURL = TestSupport.rsynth
        p.arguments = ["run", spec.path, "--out", out.path, "--quiet"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// The lock file's line once the holder has written it ("PID TIME").
    func holderLine(_ out: URL, pid: Int32) -> String? {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOf: out.appendingPathComponent(".lock"), encoding: .utf8),
               text.hasPrefix("\(pid) "), text.hasSuffix("\n") { return text }
            usleep(5_000)
        }
        return nil
    }

    func testASecondRunIntoAFolderInUseIsRefusedAtOnceNamingTheHolder() throws {
        let dir = TestSupport.temporaryDirectory()
        let a = dir.appendingPathComponent("a.yaml"), b = dir.appendingPathComponent("b.yaml")
        TestSupport.write(spec(steps: 2000), to: a)
        TestSupport.write(spec(steps: 3, seed: 1), to: b)
        let out = dir.appendingPathComponent("run")
        let first = try start(a, out)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let line = try XCTUnwrap(holderLine(out, pid: first.processIdentifier), "the first run never took the lock")
        let stamp = line.split(separator: " ")[1].dropLast()
        let expected = "rsynth: error: run folder \(out.path) is in use by rsynth process \(first.processIdentifier) (started \(stamp)); wait for it or choose another --out\n"
        // The same spec and another spec: both refused, at once, and neither touches the folder.
        for other in [a, b] {
            let began = Date()
            let r = try TestSupport.rsynth(["run", other.path, "--out", out.path, "--quiet"])
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(r.stderr, expected)
            XCTAssertEqual(r.stdout, "")
            XCTAssertLessThan(Date().timeIntervalSince(began), 20, "the refusal waited")
            XCTAssertTrue(first.isRunning, "the first run should still be running")
        }
        // A merge into a folder in use is refused the same way.
        let m = try TestSupport.rsynth(["merge", "--out", out.path, out.path])
        XCTAssertEqual(m.status, 1)
        XCTAssertEqual(m.stderr, expected)
        let plan = try TestSupport.json(out.appendingPathComponent("run.json"))
        XCTAssertEqual((plan["optimizer"] as? [String: Any])?["steps"] as? Int, 2000)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
    }

    /// Everything a run leaves but its timings: sample images and records, grid, losses.
    func contents(_ run: URL) throws -> [String: NSObject] {
        var files = [String: NSObject]()
        let samples = run.appendingPathComponent("samples")
        for name in try FileManager.default.contentsOfDirectory(atPath: samples.path) {
            let url = samples.appendingPathComponent(name)
            if name.hasSuffix(".json") {
                var record = try TestSupport.json(url)
                record["seconds"] = nil
                files["samples/" + name] = record as NSDictionary
            } else {
                files["samples/" + name] = try Data(contentsOf: url) as NSData
            }
        }
        for name in ["grid.png", "losses.csv", "run.json", "spec.yaml"] {
            files[name] = try Data(contentsOf: run.appendingPathComponent(name)) as NSData
        }
        var manifest = try TestSupport.json(run.appendingPathComponent("manifest.json"))
        manifest["timings"] = nil
        manifest["samples"] = (manifest["samples"] as? [[String: Any]])?.map { s -> NSDictionary in
            var s = s
            s["seconds"] = nil
            return s as NSDictionary
        }
        files["manifest.json"] = manifest as NSDictionary
        return files
    }

    func testARunKilledAtAnyPointResumesToTheFilesOfAnUninterruptedRun() throws {
        let dir = TestSupport.temporaryDirectory()
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(spec(steps: 300), to: specPath)
        let whole = dir.appendingPathComponent("whole")
        let w = try TestSupport.rsynth(["run", specPath.path, "--out", whole.path, "--quiet"])
        XCTAssertEqual(w.status, 0, w.stderr)
        let expected = try contents(whole)
        XCTAssertEqual(expected.keys.filter { $0.hasSuffix(".png") && $0.hasPrefix("samples/") }.count, 32)

        for delay in [0.5, 1.5, 3.0] {
            let out = dir.appendingPathComponent("killed-\(delay)")
            let p = try start(specPath, out)
            usleep(UInt32(delay * 1_000_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the run ended before the kill at \(delay) s")
            // The kernel dropped the dead run's lock: running again is not refused, and finishes.
            let r = try TestSupport.rsynth(["run", specPath.path, "--out", out.path, "--quiet"])
            XCTAssertEqual(r.status, 0, "after a kill at \(delay) s: \(r.stderr)")
            let got = try contents(out)
            XCTAssertEqual(Set(got.keys), Set(expected.keys), "after a kill at \(delay) s")
            for (name, value) in expected {
                XCTAssertEqual(got[name], value, "\(name) after a kill at \(delay) s")
            }
        }
    }

    /// What a run killed in the middle of a write leaves, a temporary file (AtomicFile's, or
    /// Foundation's of older runs), is removed by the next owner of the folder; other files stay.
    func testTemporaryFilesOfAKilledWriteAreRemovedByTheNextRun() throws {
        let dir = TestSupport.temporaryDirectory()
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(spec(steps: 2), to: specPath)
        let out = dir.appendingPathComponent("run")
        XCTAssertEqual(try TestSupport.rsynth(["run", specPath.path, "--out", out.path, "--quiet"]).status, 0)
        let leftovers = ["samples/.000003.png.tmp-4242-k3x9", ".manifest.json.tmp-77-0", "samples/.dat.nosync677.WOZJI1"]
        let kept = ["samples/.keep", "notes.txt"]
        for name in leftovers + kept { TestSupport.write("x", to: out.appendingPathComponent(name)) }
        let r = try TestSupport.rsynth(["run", specPath.path, "--out", out.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in leftovers { XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name) }
        for name in kept { XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name) }
    }
}
