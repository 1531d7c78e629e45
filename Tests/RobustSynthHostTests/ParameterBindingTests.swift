import Foundation
import RSynthTestSupport
import RobustSynthCore
@testable import RobustSynthHost
import XCTest

/// Values from a spec reach a C create function through libffi, typed and in order.
final class ParameterBindingTests: XCTestCase {
    var dir: URL!
    var catalog: PluginCatalog!

    override func setUpWithError() throws {
        dir = TestSupport.temporaryDirectory(name)
        _ = try TestSupport.buildCPlugin(TestSupport.fixture("plugins/probe_plugin.c"), into: dir, name: "probe")
        catalog = PluginCatalog.discover(pluginPaths: [dir.path, TestSupport.products.path], environment: [:])
    }

    func spec(_ with: String) -> String {
        """
        version: 1
        classifier: { plugin: linear }
        seed: { plugin: probe, with: { \(with) } }
        task: { plugin: generation, with: { classes: [1] } }
        constraints: [ { plugin: l2-ball, with: { eps: 1 } } ]
        """
    }

    func create(_ with: String) throws -> String {
        let specPath = dir.appendingPathComponent("spec.yaml")
        TestSupport.write(spec(with), to: specPath)
        let validated = try SpecValidator.validate(path: specPath.path, catalog: catalog).get()
        _ = try catalog.makeSeedSampler(validated.seed.plugin, validated.seed.values)
        return try String(contentsOf: dir.appendingPathComponent("received.txt"), encoding: .utf8)
    }

    func testEveryTypeArrivesIntact() throws {
        // validate checks that a path parameter names an existing file.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        TestSupport.write("x", to: dir.appendingPathComponent("data/x.bin"))
        let received = try create("""
            flag: true, count: 7, ratio: 0.25, label: beta, file: data/x.bin, flags: [true, false, true],
            counts: [-5, 9000000000], ratios: [0.5, 1e-9], names: [tench, "golf ball"], out: received.txt
            """)
        XCTAssertEqual(received, """
            flag=1 count=7 ratio=0.25 label=beta file=\(dir.path)/data/x.bin
            flags=1,0,1,
            counts=-5,9000000000,
            ratios=0.5,1.0000000000000001e-09,
            names=tench|golf ball|

            """)
    }

    func testDefaultsAreBoundWhenTheSpecOmitsThem() throws {
        let received = try create("ratio: 2, out: received.txt")
        XCTAssertEqual(received, """
            flag=0 count=3 ratio=2 label=alpha file=\(dir.path)/data.bin
            flags=
            counts=1,2,
            ratios=
            names=

            """)
    }

    func testACreateFailureCarriesThePluginsMessage() throws {
        XCTAssertThrowsError(try create("count: 13, ratio: 1, out: received.txt")) { error in
            XCTAssertEqual("\(error)", "plugin 'probe': 13 is unlucky")
        }
    }

    func testSwiftPluginsAreCalledThroughTheSameTypedCreate() throws {
        let linear = try catalog.classifier("linear", ["classes": .int(7), "size": .int(5), "channels": .int(1)])
        XCTAssertEqual(linear.inputShape, ImageShape(channels: 1, height: 5, width: 5))
        XCTAssertEqual(linear.numClasses, 7)
        // The gradient crossing the C boundary is the loss's: compare with central differences.
        var rng = RandomStream(seed: 3)
        var x = Tensor(shape: [1, 1, 5, 5], data: (0..<25).map { _ in rng.nextUniformFloat() })
        func loss(_ x: Tensor) throws -> Float { crossEntropy(logits: try linear.forward(x), targets: [4]).loss[0] }
        let (_, dlogits, _) = crossEntropy(logits: try linear.forward(x), targets: [4])
        let g = try linear.inputGradient(dlogits)
        for j in [0, 7, 24] {
            let keep = x.data[j]
            x.data[j] = keep + 1e-2; let up = try loss(x)
            x.data[j] = keep - 1e-2; let down = try loss(x)
            x.data[j] = keep
            XCTAssertEqual((up - down) / 2e-2, g.data[j], accuracy: 1e-3)
        }
    }
}
