import Foundation
import ImageIO
import RobustSynthCore
import RSynthTestSupport
import XCTest
@testable import RobustSynthHost

/// The second judge (a linear classifier on pixels) and `rsynth judge`, which re-judges a run.
final class JudgeTests: XCTestCase {
    /// Cholesky solve against a system whose solution is known: G = A Aᵀ + I for a fixed A,
    /// B = G X for a chosen X, so the solve must give X back.
    func testRidgeSolveRecoversAKnownSolution() throws {
        let n = 4, k = 2
        let a: [Double] = [2, 0, 1, 3, -1, 4, 0, 2, 0.5, 1, 3, -2, 1, 1, 1, 1]
        var g = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for p in 0..<n { g[i * n + j] += a[i * n + p] * a[j * n + p] } }; g[i * n + i] += 1 }
        let x: [Double] = [1, -2, 0.5, 3, -1, 0, 2, 0.25]
        var b = [Double](repeating: 0, count: n * k)
        for i in 0..<n { for c in 0..<k { for p in 0..<n { b[i * k + c] += g[i * n + p] * x[p * k + c] } } }
        let w = try LinearPixelJudge.solveSPD(g, b, n: n, columns: k)
        for (got, want) in zip(w, x) { XCTAssertEqual(got, want, accuracy: 1e-9) }
        var notPD = g
        notPD[0] = -1
        XCTAssertThrowsError(try LinearPixelJudge.solveSPD(notPD, b, n: n, columns: k))
    }

    /// Two classes told apart only by where the light is (left or right half) under heavy noise:
    /// a nearest neighbour on single noisy images errs, a linear template does not.
    func makeHalves(_ root: URL, count: Int, seed: UInt64) throws {
        var rng = RandomStream(seed: seed)
        for label in 0..<2 {
            let dir = root.appendingPathComponent("\(label)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 0..<count {
                var t = Tensor(zeros: [3, 8, 8])
                for y in 0..<8 { for x in 0..<8 {
                    let lit = (x < 4) == (label == 0)
                    let v = Float(min(max((lit ? 0.6 : 0.4) + 0.35 * (rng.nextUniformFloat() - 0.5) * 2, 0), 1))
                    for c in 0..<3 { t.data[c * 64 + y * 8 + x] = v }
                } }
                try ImageFile.writePNG(t, to: dir.appendingPathComponent("\(i).png").path)
            }
        }
    }

    func testLinearJudgeLearnsTemplatesFromImageFolders() throws {
        let dir = TestSupport.temporaryDirectory()
        try makeHalves(dir.appendingPathComponent("train"), count: 60, seed: 1)
        try makeHalves(dir.appendingPathComponent("test"), count: 40, seed: 2)
        let judge = try LinearPixelJudge(dataset: dir.appendingPathComponent("train").path, labels: .numbered(2), size: 8)
        let test = try ImageFolderDataset(root: dir.appendingPathComponent("test").path, labels: .numbered(2))
        let right = try test.items.filter { judge.classify(try ImageFile.read($0.path).tensor()) == $0.label }.count
        // Each pixel's class means differ by 0.2 against noise of std 0.2: 64 pixels averaged
        // give a margin of 8 standard deviations, so every test image is classified right.
        XCTAssertEqual(right, test.items.count)
        // Features: 2x2 area means of the grey values (the digits' 16 -> 8).
        var t = Tensor(zeros: [3, 4, 4])
        for i in 0..<16 { for c in 0..<3 { t.data[c * 16 + i] = Float(i) } }
        XCTAssertEqual(LinearPixelJudge.features(t, size: 2), [2.5, 4.5, 10.5, 12.5])
        XCTAssertEqual(RunJudging.defaultSize(side: 16), 8)
        XCTAssertEqual(RunJudging.defaultSize(side: 28), 14)
        XCTAssertEqual(RunJudging.defaultSize(side: 224), 14)
        XCTAssertEqual(RunJudging.defaultSize(side: 13), 13)
    }

    func testJudgeCommandErrorsNameTheProblem() throws {
        let dir = TestSupport.temporaryDirectory()
        let digits = TestSupport.root.appendingPathComponent("Examples/digits/data/train").path
        var r = try TestSupport.rsynth(["judge", dir.path, "--dataset", digits])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "rsynth: error: \(dir.path) has no manifest.json: not a finished run folder (run `rsynth run` into it first)\n")
        r = try TestSupport.rsynth(["judge", dir.path, "--dataset", digits, "--method", "svm"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.hasPrefix("Error: --method must be linear or knn, got 'svm'\n"), r.stderr)
    }
}
