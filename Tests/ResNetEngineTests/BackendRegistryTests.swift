import XCTest
import RobustSynthCore
@testable import ResNetEngine

/// A backend defined outside the engine, as a third party would: ReferenceNet's loops behind the
/// interface, counting the calls the ResNet makes into it.
private final class CountingBackend: ResNetBackendContext {
    nonisolated(unsafe) static var forwards = 0, gradients = 0
    static let entry = ResNetBackendEntry(name: "counting", summary: "the reference, counted", precisions: [.float32]) {
        CountingBackend($0)
    }
    private let net: ReferenceNet
    init(_ c: ResNetBackendConfig) { net = ReferenceNet(weights: c.weights, mean: c.mean, std: c.std, inputSize: c.inputSize) }

    func forward(_ x: Tensor, sites: [TapSite]) throws -> (logits: Tensor, taps: [Tensor]) {
        Self.forwards += 1
        return (net.forward(x), sites.map { net.tap($0) })
    }

    func inputGradient(_ dlogits: Tensor, batch n: Int, sites: [TapSite], tapGradients: [TapSite: [Float]]) throws -> Tensor {
        Self.gradients += 1
        return net.inputGradient(dlogits, tapGradients: tapGradients)
    }
}

/// The engine's backends are entries behind one interface (Backend.swift): the registry lists
/// them, the plugins' `backend` parameter offers exactly those, and a backend that is not in the
/// engine at all runs a ResNet, taps included, without any change to ResNet.swift.
final class BackendRegistryTests: XCTestCase {
    func testTheRegistryIsWhatTheParameterOffers() throws {
        XCTAssertEqual(ResNetBackends.all.map(\.name), ["onednn", "reference"])
        XCTAssertEqual(ResNet.Backend.allCases.map(\.rawValue), ["onednn", "reference"])
        XCTAssertNil(ResNet.Backend(rawValue: "cudnn"))
        let decl = EngineParameters.declarations.first { $0.name == "backend" }!
        XCTAssertEqual(decl.choices, ["onednn", "reference"])
        XCTAssertEqual(decl.doc, "onednn: the fast CPU engine; reference: plain loops (slow, for checking)")
        XCTAssertEqual(ResNetBackends.entry("onednn")?.precisions, [.float32, .bfloat16])
        XCTAssertEqual(ResNetBackends.entry("reference")?.precisions, [.float32])
    }

    func testABackendOfOnesOwnRunsAResNet() throws {
        let f = try Fixture.load("basic_imagenet"), t = try TapFixture.load("basic_imagenet")
        let w = try ResNetWeights.from(tensors: f.stateDict)
        let own = try ResNet(weights: w, mean: f.mean, std: f.std, inputSize: f.inputSize, backend: CountingBackend.entry)
        let reference = try ResNet(weights: w, mean: f.mean, std: f.std, inputSize: f.inputSize, backend: .reference)
        XCTAssertEqual(own.backend.rawValue, "counting")
        let (f0, g0) = (CountingBackend.forwards, CountingBackend.gradients)

        let x = f.tensor("input"), dl = f.tensor("dlogits")
        let out = try own.forward(x, taps: ["layer2", "representation"])
        let dx = try own.inputGradient(dl, tapGradients: [nil, out.taps[1]])
        XCTAssertEqual(CountingBackend.forwards - f0, 1)
        XCTAssertEqual(CountingBackend.gradients - g0, 1)
        // The same numbers as the registry's reference backend, and as PyTorch's (the fixture).
        let ref = try reference.forward(x, taps: ["layer2", "representation"])
        let refDx = try reference.inputGradient(dl, tapGradients: [nil, ref.taps[1]])
        XCTAssertEqual(out.logits.data, ref.logits.data)
        XCTAssertEqual(out.taps.map(\.data), ref.taps.map(\.data))
        XCTAssertEqual(dx.data, refDx.data)
        XCTAssertLessThan(relMaxDiff(out.logits.data, f.array("logits").values), 1e-5)
        XCTAssertLessThan(relL2(out.taps[0].data, t.tensor("tap/layer2").data), 1e-5)

        // The ResNet still checks what it hands the backend, whatever the backend.
        XCTAssertThrowsError(try own.forward(x, taps: ["layer9"]))
        XCTAssertThrowsError(try own.inputGradient(Tensor(shape: [1, 3], data: [0, 0, 0])))
        XCTAssertEqual(CountingBackend.forwards - f0, 1)
        XCTAssertEqual(CountingBackend.gradients - g0, 1)
    }

    func testAPrecisionABackendLacksIsRefusedNamingIt() throws {
        let w = try ResNetWeights.from(tensors: try Fixture.load("digits").stateDict)
        XCTAssertThrowsError(try ResNet(weights: w, mean: [0, 0, 0], std: [1, 1, 1], inputSize: 16,
                                        backend: CountingBackend.entry, precision: .bfloat16)) { error in
            XCTAssertEqual("\(error)", "the counting backend computes in float32 only (asked for bfloat16)")
        }
    }
}
