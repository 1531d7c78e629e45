import ImageIO
import RobustSynthCore
import XCTest

final class ResampleTests: XCTestCase {
    func plane(_ h: Int, _ w: Int, _ v: [Float]) -> Tensor { Tensor(shape: [1, 1, h, w], data: v) }

    func assertClose(_ a: [Float], _ b: [Float], _ tol: Float = 1e-6, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: tol, file: file, line: line) }
    }

    func testAreaIntegerFactorIsExactBoxAverage() {
        let x = plane(4, 4, (0..<16).map(Float.init))
        let y = Resample.areaDown(x, height: 2, width: 2)
        XCTAssertEqual(y.shape, [1, 1, 2, 2])
        assertClose(y.data, [(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4, (8 + 9 + 12 + 13) / 4, (10 + 11 + 14 + 15) / 4])
        // [3, H, W] planes, factor 3 x 2
        let z = Tensor(shape: [3, 6, 4], data: (0..<72).map(Float.init))
        let r = Resample.areaDown(z, height: 2, width: 2)
        XCTAssertEqual(r.shape, [3, 2, 2])
        var expect = [Float]()
        for c in 0..<3 { for oy in 0..<2 { for ox in 0..<2 {
            var s: Float = 0
            for y in (oy * 3)..<(oy * 3 + 3) { for x in (ox * 2)..<(ox * 2 + 2) { s += Float(c * 24 + y * 4 + x) } }
            expect.append(s / 6)
        } } }
        assertClose(r.data, expect, 1e-5)
    }

    func testAreaGeneralWeights() {
        // 3 -> 2: output 0 covers [0, 1.5): 2/3 of x0 + 1/3 of x1; output 1: 1/3 x1 + 2/3 x2.
        let y = Resample.areaDown(plane(1, 3, [3, 6, 9]), height: 1, width: 2)
        assertClose(y.data, [3 * 2 / 3 + 6.0 / 3, 6.0 / 3 + 9 * 2 / 3])
        // 5 -> 2: [0, 2.5) and [2.5, 5)
        let z = Resample.areaDown(plane(1, 5, [1, 2, 3, 4, 5]), height: 1, width: 2)
        assertClose(z.data, [(1 + 2 + 1.5) / 2.5, (1.5 + 4 + 5) / 2.5], 1e-6)
    }

    func testNearestMatchesPyTorchIndexRule() {
        // torch.nn.functional.interpolate(mode='nearest') 3 -> 7: src = floor(dst * 3 / 7)
        let y = Resample.nearest(plane(1, 3, [10, 20, 30]), height: 1, width: 7)
        XCTAssertEqual(y.data, [10, 10, 10, 20, 20, 30, 30])
        // 2x2 -> 4x4: blocks
        let z = Resample.nearest(plane(2, 2, [1, 2, 3, 4]), height: 4, width: 4)
        XCTAssertEqual(z.data, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        // 4 -> 3 (down): floor(dst * 4 / 3) = 0, 1, 2
        XCTAssertEqual(Resample.nearest(plane(1, 4, [1, 2, 3, 4]), height: 1, width: 3).data, [1, 2, 3])
    }

    func testBilinear() {
        // PyTorch bilinear, align_corners=False, [0, 1] -> 4: [0, 0.25, 0.75, 1]
        assertClose(Resample.bilinear(plane(1, 2, [0, 1]), height: 1, width: 4).data, [0, 0.25, 0.75, 1])
        // Antialiased shrink 4 -> 2 (PIL / torchvision antialias=True): triangle of radius 2.
        let y = Resample.bilinear(plane(1, 4, [0, 1, 2, 3]), height: 1, width: 2)
        assertClose(y.data, [(0 * 0.75 + 1 * 0.75 + 2 * 0.25) / 1.75, (1 * 0.25 + 2 * 0.75 + 3 * 0.75) / 1.75], 1e-6)
        // Without antialiasing a 2x shrink averages the two middle neighbours.
        assertClose(Resample.bilinear(plane(1, 4, [0, 1, 2, 3]), height: 1, width: 2, antialias: false).data, [0.5, 2.5])
        // A constant stays constant.
        let c = Resample.bilinear(Tensor(repeating: 0.3, shape: [1, 3, 7, 9]), height: 5, width: 13)
        assertClose(c.data, [Float](repeating: 0.3, count: 3 * 5 * 13), 1e-6)
    }

    func testShorterSideCentreCropAndEvalTransform() {
        let x = Tensor(repeating: 0.5, shape: [1, 3, 300, 400])
        let r = Resample.resizeShorterSide(x, to: 256)
        XCTAssertEqual(r.shape, [1, 3, 256, 341])  // int(256 * 400 / 300)
        XCTAssertEqual(Resample.resizeShorterSide(Tensor(zeros: [3, 500, 375]), to: 256).shape, [3, 341, 256])
        // Centre crop: 341 wide -> left = round(58.5) = 58 (half to even), top = 16.
        let idx = Tensor(shape: [1, 1, 256, 341], data: (0..<(256 * 341)).map(Float.init))
        let c = Resample.centreCrop(idx, height: 224, width: 224)
        XCTAssertEqual(c.shape, [1, 1, 224, 224])
        XCTAssertEqual(c.data[0], Float(16 * 341 + 58))
        XCTAssertEqual(c.data[224 * 224 - 1], Float((16 + 223) * 341 + 58 + 223))
        let e = Resample.imageNetEval(x)
        XCTAssertEqual(e.shape, [1, 3, 224, 224])
        assertClose(e.data, [Float](repeating: 0.5, count: e.count), 1e-6)
        XCTAssertEqual(Resample.centreSquare(Tensor(zeros: [3, 10, 16])).shape, [3, 10, 10])
    }
}
